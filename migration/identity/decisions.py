"""Identity decisions recorded by a person, read back from the target database.

A person reviewing candidate pairs writes `merge` or `separate` for a pair of individual keys
in the table `reprise_decision_identite`; every later run applies it.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

logger = logging.getLogger(__name__)

DECISIONS_TABLE = "reprise_decision_identite"


def read_identity_decisions(engine: sa.Engine) -> dict[tuple[str, str], str]:
    """Return (ITAC key, OPALES key) -> decision; empty when the table does not exist yet."""
    if not sa.inspect(engine).has_table(DECISIONS_TABLE):
        return {}
    table = sa.Table(DECISIONS_TABLE, sa.MetaData(), autoload_with=engine)
    first, second = _key_columns(table)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table.c[first], table.c[second], table.c.decision))
        decisions = {
            (a, b): decision for a, b, decision in rows if decision in ("merge", "separate")
        }
    logger.info("read %d identity decisions", len(decisions))
    return decisions


def _key_columns(table: sa.Table) -> tuple[str, str]:
    # NOTE: the column names follow the product table's migration; the first two key columns
    # are the ITAC then the OPALES individual.
    names = [c.name for c in table.columns if c.name.startswith("id_individu")]
    if len(names) < 2:
        raise KeyError(f"{DECISIONS_TABLE} has no pair of id_individu columns")
    return names[0], names[1]
