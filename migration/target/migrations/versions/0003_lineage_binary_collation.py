"""Binary collation for the key columns of the lineage on PostgreSQL.

The lineage holds as many rows as all target tables together, and its keys are codes and
hexadecimal digests, never words. With the database's language collation, PostgreSQL compares
them through the C library and cannot shorten the keys it sorts, so building and maintaining
the lineage indexes was the slowest part of a large load. The binary "C" collation compares
bytes: equality, which every lineage query uses, is the same. SQLite compares text as bytes
already, so nothing changes there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KEY_COLUMNS = {
    "target_table": 64,
    "target_key": 255,
    "application": 20,
    "source_table": 64,
    "run_id": 64,
}


def _set_collation(collation: str | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, length in KEY_COLUMNS.items():
        op.alter_column(
            "reprise_lignage",
            name,
            type_=sa.String(length, collation=collation),
            existing_type=sa.String(length),
            existing_nullable=False,
        )


def upgrade() -> None:
    _set_collation("C")


def downgrade() -> None:
    _set_collation("default")
