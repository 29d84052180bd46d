"""Load counts per target table, identity decisions, and the applications a load replaced.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from migration.target.sqltypes import TargetText, TargetTimestamp

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _text(name, length, nullable=True, comment=None):
    return sa.Column(name, TargetText(length), nullable=nullable, comment=comment)


def _count(name, comment):
    return sa.Column(name, sa.Integer(), nullable=False, comment=comment)


def _length_checks(table, columns):
    """CHECK constraints that give SQLite STRICT tables the VARCHAR lengths of PostgreSQL."""
    return [
        sa.CheckConstraint(
            f"length({column.name}) <= {column.type.impl.length}",
            name=op.f(f"ck_{table}_{column.name}_length"),
        ).ddl_if(dialect="sqlite")
        for column in columns
        if isinstance(column.type, TargetText) and column.type.impl.length is not None
    ]


def upgrade() -> None:
    # A column without a length needs no CHECK, so SQLite can add it without rebuilding the table.
    op.add_column(
        "reprise_run",
        _text(
            "applications",
            None,
            comment="applications whose rows the load replaced, comma-separated; "
            "NULL when the load replaced the whole content",
        ),
    )

    load_columns = [
        _text("run_id", 64, nullable=False),
        _text("target_table", 64, nullable=False),
        _count("added", "rows whose primary key was not in the table"),
        _count("changed", "rows whose non-key columns were updated"),
        _count("removed", "rows deleted because the load no longer delivers them"),
        _count("unchanged", "rows left as they were, delivered again or not concerned"),
        _count(
            "kept",
            "rows left as they were although the load changed or dropped them, because they "
            "also come from an application the load did not replace, or are still referenced",
        ),
    ]
    op.create_table(
        "reprise_chargement",
        *load_columns,
        sa.PrimaryKeyConstraint("run_id", "target_table", name=op.f("pk_reprise_chargement")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["reprise_run.run_id"], name=op.f("fk_reprise_chargement_run_id")
        ),
        *_length_checks("reprise_chargement", load_columns),
        comment="What one load changed in one target table, compared with the previous content.",
        sqlite_strict=True,
    )

    decision_columns = [
        _text(
            "id_individu_1",
            255,
            nullable=False,
            comment="first individual's key; the ITAC one for an ITAC-OPALES pair",
        ),
        _text(
            "id_individu_2",
            255,
            nullable=False,
            comment="second individual's key; the OPALES one for an ITAC-OPALES pair",
        ),
        _text("decision", 10, nullable=False, comment="merge or separate"),
        _text("decided_by", 100, nullable=False, comment="who decided"),
        sa.Column("decided_at", TargetTimestamp(), nullable=False),
        _text("comment", None),
    ]
    op.create_table(
        "reprise_decision_identite",
        *decision_columns,
        sa.PrimaryKeyConstraint(
            "id_individu_1", "id_individu_2", name=op.f("pk_reprise_decision_identite")
        ),
        *_length_checks("reprise_decision_identite", decision_columns),
        sa.CheckConstraint(
            "decision IN ('merge', 'separate')",
            name=op.f("ck_reprise_decision_identite_decision_code"),
        ),
        comment="An analyst's decision on whether two individuals are one person; identity "
        "resolution applies it on later runs.",
        sqlite_strict=True,
    )


def downgrade() -> None:
    op.drop_table("reprise_decision_identite")
    op.drop_table("reprise_chargement")
    with op.batch_alter_table("reprise_run") as batch:
        batch.drop_column("applications")
