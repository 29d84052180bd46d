"""Comments of the load counts: "kept" now includes the rows of the applications not replaced.

Up to revision 0003 a partial load counted the rows of the applications it did not replace as
"unchanged". It now counts them as "kept", so that "unchanged" counts only the rows delivered
again. The counts of the runs already recorded keep their former meaning. Only PostgreSQL stores
column comments, so nothing changes on SQLite.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COMMENTS = {
    "unchanged": "rows the load delivered again with the same values",
    "kept": "rows left as they were for the applications the load did not replace: rows of "
    "those applications only or without lineage, rows that also come from one of them, "
    "and rows still referenced",
}
FORMER_COMMENTS = {
    "unchanged": "rows left as they were, delivered again or not concerned",
    "kept": "rows left as they were although the load changed or dropped them, because they "
    "also come from an application the load did not replace, or are still referenced",
}


def _set_comments(comments: dict[str, str]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, comment in comments.items():
        op.alter_column(
            "reprise_chargement",
            name,
            comment=comment,
            existing_type=sa.Integer(),
            existing_nullable=False,
        )


def upgrade() -> None:
    _set_comments(COMMENTS)


def downgrade() -> None:
    _set_comments(FORMER_COMMENTS)
