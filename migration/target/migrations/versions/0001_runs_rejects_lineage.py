"""Runs, rejects and lineage: the product tables of mdph-reprise 0.1.0.

A database written by 0.1.0 has these tables but no version table; the loader checks that they
match this revision and stamps it before upgrading.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from migration.target.sqltypes import TargetText, TargetTimestamp

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _text(name, length, nullable=True, comment=None):
    return sa.Column(name, TargetText(length), nullable=nullable, comment=comment)


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


def _create(name, columns, *constraints, comment):
    op.create_table(
        name,
        *columns,
        *constraints,
        *_length_checks(name, columns),
        comment=comment,
        sqlite_strict=True,
    )


def upgrade() -> None:
    _create(
        "reprise_run",
        [
            _text("run_id", 64, nullable=False),
            sa.Column("started_at", TargetTimestamp(), nullable=False),
            sa.Column("finished_at", TargetTimestamp()),
            _text("status", 20, nullable=False),
            _text("product_version", 40),
            _text("delivery_path", 1000),
            _text("departement", 3),
            _text("target_url", 1000, comment="target database URL with its password hidden"),
            _text("summary_json", None, comment="JSON summary of the run"),
        ],
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_reprise_run")),
        comment="One run of mdph-reprise on a delivery.",
    )
    _create(
        "reprise_rejet",
        [
            sa.Column(
                "id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=False,
                autoincrement=True,
            ),
            _text("run_id", 64, nullable=False),
            _text("application", 20, nullable=False),
            _text("source_table", 64, nullable=False),
            _text("source_file", 255),
            sa.Column("source_line", sa.Integer()),
            _text("target_table", 64),
            _text("rule_id", 64, nullable=False),
            _text("severity", 10, nullable=False),
            _text("column_name", 64),
            _text("reason", None, nullable=False),
            _text("raw_values", None, comment="JSON object of the source row's raw values"),
        ],
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reprise_rejet")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["reprise_run.run_id"], name=op.f("fk_reprise_rejet_run_id")
        ),
        comment="A source row that was not loaded, with the rule that rejected it.",
    )
    op.create_index(op.f("ix_reprise_rejet_run_id"), "reprise_rejet", ["run_id"])
    op.create_index(
        op.f("ix_reprise_rejet_application_source_table"),
        "reprise_rejet",
        ["application", "source_table"],
    )
    _create(
        "reprise_lignage",
        [
            _text("target_table", 64, nullable=False),
            _text("target_key", 255, nullable=False),
            _text("application", 20, nullable=False),
            _text("source_table", 64, nullable=False),
            _text("source_file", 255, nullable=False),
            sa.Column("source_line", sa.Integer(), nullable=False),
            _text("source_key", 255),
            _text("run_id", 64, nullable=False),
        ],
        sa.PrimaryKeyConstraint(
            "target_table",
            "target_key",
            "application",
            "source_table",
            "source_line",
            name=op.f("pk_reprise_lignage"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["reprise_run.run_id"], name=op.f("fk_reprise_lignage_run_id")
        ),
        comment="Which source row produced which target row: one row per pair.",
    )
    op.create_index(
        op.f("ix_reprise_lignage_application_source_table_source_line"),
        "reprise_lignage",
        ["application", "source_table", "source_line"],
    )
    op.create_index(op.f("ix_reprise_lignage_run_id"), "reprise_lignage", ["run_id"])


def downgrade() -> None:
    op.drop_table("reprise_lignage")
    op.drop_table("reprise_rejet")
    op.drop_table("reprise_run")
