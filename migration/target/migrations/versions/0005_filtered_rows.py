"""The source rows that a mapping filter left out, one row per filter.

Until this revision the filtered rows were only counted per reason in the run summary, so the
lineage could not tell whether one given source row was filtered.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from migration.target.sqltypes import TargetText

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _text(name, length, nullable=True, comment=None, binary=False):
    return sa.Column(name, TargetText(length, binary=binary), nullable=nullable, comment=comment)


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
    # The key columns compare as bytes on PostgreSQL, as those of reprise_lignage (0003).
    columns = [
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        _text("run_id", 64, nullable=False, binary=True),
        _text("application", 20, nullable=False, binary=True),
        _text("source_table", 64, nullable=False, binary=True),
        _text("source_file", 255, nullable=False),
        sa.Column("source_line", sa.Integer(), nullable=False),
        _text("source_key", 255, comment="the source row's key, as in reprise_lignage"),
        _text(
            "target_table",
            64,
            comment="target table whose mapping filtered the row; NULL when the mapping "
            "drops the whole source table",
        ),
        _text("reason", None, nullable=False, comment="the filter_reason of the mapping"),
    ]
    op.create_table(
        "reprise_filtre",
        *columns,
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reprise_filtre")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["reprise_run.run_id"], name=op.f("fk_reprise_filtre_run_id")
        ),
        *_length_checks("reprise_filtre", columns),
        comment="A source row that a mapping filter left out: neither loaded nor rejected, "
        "one row per filter.",
        sqlite_strict=True,
    )
    op.create_index(
        op.f("ix_reprise_filtre_application_source_table_source_line"),
        "reprise_filtre",
        ["application", "source_table", "source_line"],
    )
    op.create_index(op.f("ix_reprise_filtre_run_id"), "reprise_filtre", ["run_id"])


def downgrade() -> None:
    op.drop_table("reprise_filtre")
