"""Compare the rows of a load with the rows already in the target tables.

Rows are matched by primary key and compared by a digest of their CSV rendering
(`csv_format.row_digests`). The old rows are compared as they are read. Only a 128-bit hash of
each new row's key and its digest (`NewRows`, 40 bytes a row), and the foreign key values of
the old rows that the load does not deliver again, or keeps as they were, stay in memory.

Which old rows a load may change or remove depends on the applications it replaces:

- `applications=None` replaces the whole content. Every old row that the load does not
  deliver again is removed.
- `applications={"OPALES"}` replaces the rows that come from OPALES alone, according to the
  lineage table. The rows of the other applications are kept as they are. An old row that
  also comes from another application, such as an individual merged across ITAC and OPALES,
  is kept as it is even if the load delivers other values, because the values from the other
  application would be lost. An old row without lineage is kept when the load does not
  deliver it, and updated when it does.

An old row is also kept, instead of removed, while a row that stays in a child table still
references it, so a partial load never breaks a foreign key.

NOTE: a kept shared row does not receive the new values of the replaced application. Only a
load that replaces all of its applications updates it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa

from migration.frame_keys import HashIndex, text_hashes
from migration.target.csv_format import (
    DIGEST_SIZE,
    RENDERERS,
    Renderer,
    column_row_digests,
    row_digests,
)
from migration.target.errors import TargetError
from migration.target.frames import PreparedTable
from migration.target.model import TargetTable
from migration.target.product_tables import LINEAGE_TABLE

logger = logging.getLogger(__name__)

READ_CHUNK_ROWS = 20_000
CHANGE_KINDS = ("added", "changed", "removed", "unchanged", "kept")


@dataclass
class TableChanges:
    """What a load does to one target table.

    `added` and `changed` are positions in the prepared rows; `removed` and
    `kept_by_reference` are primary keys of old rows. After the load the table holds
    added + changed + unchanged + kept + not_delivered rows.

    Attributes:
        unchanged: old rows that the load delivers again with the same values.
        kept: old rows that the load delivers with other values or would remove, left as they
            were because they also come from an application it does not replace, or because a
            row that stays in a child table references them.
        kept_delivered: the rows of `kept` that the load delivers, so that each delivered row
            is added, changed, unchanged or one of these.
        not_delivered: old rows that the load does not deliver and does not replace, because
            they come from other applications only or have no lineage.
    """

    table: str
    added: list[int] | range = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    removed: list[tuple] = field(default_factory=list)
    unchanged: int = 0
    kept: int = 0
    kept_delivered: int = 0
    not_delivered: int = 0
    kept_by_reference: list[tuple] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Return the counts reported for the table: added, changed, removed, unchanged, kept.

        "kept" counts every old row left as it was for the applications the load does not
        replace, so "unchanged" counts only rows delivered again. The rows delivered are
        added + changed + unchanged + `kept_delivered`.
        """
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
            "unchanged": self.unchanged,
            "kept": self.kept + self.not_delivered,
        }


def key_text(key: tuple) -> str:
    """Return a primary key as the lineage table writes it: values joined by "|"."""
    return "|".join(str(value) for value in key)


def renderers_of(prepared: PreparedTable) -> list[Renderer]:
    """Return the CSV renderers of the prepared columns."""
    return [RENDERERS[prepared.table.column(name).type] for name in prepared.columns]


class OldRows:
    """What planning keeps of the rows already in one table.

    The old rows are compared with the load as they are read, so only the rows that the load
    leaves as they were, or may remove, keep their foreign key values here.
    """

    def __init__(self) -> None:
        # Old rows the load does not deliver again: key -> foreign key values.
        self.not_delivered: dict[tuple, tuple] = {}
        # Old rows the load delivers with other values but keeps: key -> foreign key values,
        # and the positions of their new rows, which are not written.
        self.kept_delivered: dict[tuple, tuple] = {}
        self.kept_positions: set[int] = set()


class NewRows:
    """The keys and digests of the new rows of one table, gathered frame by frame.

    Each key is held as a 128-bit hash of its text, with the row's digest (16 bytes each), so
    that a table's rows can be compared with the old rows without holding its values. Two
    different keys with the same 128-bit hash are beyond any real table.
    """

    def __init__(self, table: TargetTable) -> None:
        self.table = table
        self.count = 0
        self._hashes: list[np.ndarray] = []
        self._digests: list[bytes] = []
        self.digests = b""
        self._index = HashIndex(np.empty((0, 2), dtype=np.uint64))

    def add(self, prepared: PreparedTable) -> None:
        """Record the keys and digests of the next prepared rows."""
        indexes = [prepared.columns.index(name) for name in self.table.primary_key]
        if indexes:
            keys = list(zip(*(prepared.values[i] for i in indexes), strict=True))
        else:
            keys = [()] * prepared.count
        self._hashes.append(_key_hashes(keys))
        self._digests.append(_digests_of(prepared, renderers_of(prepared)))
        self.count += prepared.count

    def finish(self) -> None:
        """Sort the keys for the lookups.

        Raises:
            TargetError: two rows share a primary key.
        """
        hashes = np.concatenate(self._hashes) if self._hashes else np.empty((0, 2), np.uint64)
        self._hashes.clear()
        self.digests = b"".join(self._digests)
        self._digests.clear()
        self._index = HashIndex(hashes)
        repeated = self._index.repeated()
        if len(repeated):
            at = int(repeated[0])
            first, second = sorted(int(self._index.order[at + i]) for i in (0, 1))
            name = self.table.name
            raise TargetError(
                f"duplicate key: constraint pk_{name} is violated at row {second + 1} of the "
                f"{name} frame, which repeats the key of row {first + 1}; fix the mapping or "
                f"the source rows behind table {name} and run again",
                table=name,
                constraint=f"pk_{name}",
            )

    def positions_of(self, keys: list[tuple]) -> np.ndarray:
        """Return the position of the new row of each key, or -1 where none has it."""
        return self._index.positions_of(_key_hashes(keys))


def _key_hashes(keys: list[tuple]) -> np.ndarray:
    """Return two 64-bit hashes of the text of each key, as an array of shape (n, 2)."""
    return text_hashes([key_text(key) for key in keys])


def check_unique_keys(prepared: PreparedTable, first_row: int = 0) -> None:
    """Raise TargetError when two prepared rows share a primary key.

    `first_row` is the number of rows of the same table before these, for the message.
    """
    _positions_by_key(prepared, first_row)


def referencing_rows(
    metadata: sa.MetaData,
    prepared: PreparedTable,
    plans: dict[str, TableChanges],
    first_row: int = 0,
) -> dict[int, list[tuple[int, tuple]]]:
    """Return, for each foreign key of the prepared rows' table (by its number), the rows
    (position in the table, key) that reference a removed row of the parent.

    The parents must be planned already; `first_row` is the position of the first prepared
    row in its table. `keep_referenced_rows` takes them, without the rows kept as they were.
    """
    found: dict[int, list[tuple[int, tuple]]] = {}
    for number, constraint in enumerate(_foreign_keys(metadata.tables[prepared.table.name])):
        plan = plans.get(constraint.referred_table.name)
        if plan is None or not plan.removed:
            continue
        wanted = set(plan.removed)
        indexes = [prepared.columns.index(element.parent.name) for element in constraint.elements]
        columns = [prepared.values[i] for i in indexes]
        found[number] = [
            (first_row + position, values)
            for position, values in enumerate(zip(*columns, strict=True))
            if values in wanted
        ]
    return found


def log_kept_rows(order: list[str], plans: dict[str, TableChanges]) -> None:
    for name in order:
        plan = plans[name]
        if plan.kept:
            logger.warning(
                "table %s: %d rows kept as they were because they also come from an "
                "application this load does not replace, or are still referenced",
                name,
                plan.kept,
            )


def _positions_by_key(prepared: PreparedTable, first_row: int = 0) -> dict[tuple, int]:
    indexes = [prepared.columns.index(name) for name in prepared.table.primary_key]
    positions: dict[tuple, int] = {}
    if indexes:
        keys = zip(*(prepared.values[i] for i in indexes), strict=True)
    else:
        keys = (() for _ in range(prepared.count))
    for position, key in enumerate(keys):
        if key in positions:
            name = prepared.table.name
            shown = prepared.key_of(position)
            where = f" ({shown})" if shown else ""
            raise TargetError(
                f"duplicate key: constraint pk_{name} is violated at row "
                f"{first_row + position + 1} of the {name} frame{where}, which repeats the key "
                f"of row {first_row + positions[key] + 1}; "
                f"fix the mapping or the source rows behind table {name} and run again",
                table=name,
                constraint=f"pk_{name}",
            )
        positions[key] = position
    return positions


def _foreign_keys(table: sa.Table) -> list[sa.ForeignKeyConstraint]:
    """Return the foreign keys to other tables, in a fixed order, without self-references."""
    constraints = [
        constraint
        for constraint in table.foreign_key_constraints
        if constraint.referred_table.name != table.name
    ]
    return sorted(constraints, key=lambda constraint: str(constraint.name))


def _lineage_applications(
    connection: sa.Connection, metadata: sa.MetaData, name: str
) -> dict[str, set[str]]:
    lineage = metadata.tables[LINEAGE_TABLE]
    statement = (
        sa.select(lineage.c.target_key, lineage.c.application)
        .where(lineage.c.target_table == name)
        .distinct()
    )
    sources: dict[str, set[str]] = defaultdict(set)
    for key, application in connection.execute(statement):
        sources[key].add(application)
    return sources


def compare_rows(
    connection: sa.Connection,
    metadata: sa.MetaData,
    new: NewRows,
    applications: frozenset[str] | None,
) -> tuple[TableChanges, OldRows]:
    """Plan the changes of one table, comparing each old row with the load as it is read.

    `new` holds the keys and digests of the load's rows (`NewRows.finish` done). `removed` is
    tentative: `keep_referenced_rows` moves to `kept` the removed rows that a row staying in
    a child table references, once every table is planned. Only `new` and what `OldRows`
    keeps stay in memory, not the keys and digests of every old row.
    """
    name = new.table.name
    table = metadata.tables[name]
    plan = TableChanges(name)
    old = OldRows()
    columns = [column.name for column in new.table.columns]
    key_indexes = [columns.index(column) for column in new.table.primary_key]
    reference_indexes = [
        [columns.index(element.parent.name) for element in constraint.elements]
        for constraint in _foreign_keys(table)
    ]
    renderers = [RENDERERS[new.table.column(column).type] for column in columns]
    statement = sa.select(*(table.c[column] for column in columns))
    result = connection.execute(statement, execution_options={"yield_per": READ_CHUNK_ROWS})
    sources: dict[str, set[str]] | None = None
    delivered_again = np.zeros(new.count, dtype=bool)
    new_digests = new.digests

    def owned(key: tuple) -> bool:
        """Return whether the load replaces every application that the old row comes from."""
        if applications is None:
            return True
        return sources.get(key_text(key), set()) <= applications

    for partition in result.partitions():
        rows = [tuple(row) for row in partition]
        if sources is None and applications is not None:
            sources = _lineage_applications(connection, metadata, name)
        keys = [tuple(row[i] for i in key_indexes) for row in rows]
        positions = new.positions_of(keys).tolist()
        digests = row_digests(rows, renderers)
        for row, key, digest, position in zip(rows, keys, digests, positions, strict=True):
            if position >= 0:
                delivered_again[position] = True
                start = position * DIGEST_SIZE
                if digest == new_digests[start : start + DIGEST_SIZE]:
                    plan.unchanged += 1
                elif owned(key):
                    plan.changed.append(position)
                else:
                    plan.kept += 1
                    plan.kept_delivered += 1
                    old.kept_delivered[key] = _references(row, reference_indexes)
                    old.kept_positions.add(position)
                continue
            old.not_delivered[key] = _references(row, reference_indexes)
            if applications is None:
                plan.removed.append(key)
                continue
            found = sources.get(key_text(key), set())
            if found and found <= applications:
                plan.removed.append(key)
            elif found & applications:
                plan.kept += 1
            else:
                plan.not_delivered += 1
    plan.added = np.flatnonzero(~delivered_again).tolist()
    plan.changed.sort()
    return plan, old


def _references(row: tuple, reference_indexes: list[list[int]]) -> tuple:
    return tuple(tuple(row[i] for i in indexes) for indexes in reference_indexes)


def _digests_of(prepared: PreparedTable, renderers: list[Renderer]) -> bytes:
    """Return the digests of the prepared rows, end to end, DIGEST_SIZE bytes each.

    The rows are rendered a chunk at a time, so their CSV text never exists for the whole
    table at once.
    """
    parts = []
    for start in range(0, prepared.count, READ_CHUNK_ROWS):
        chunk = range(start, min(start + READ_CHUNK_ROWS, prepared.count))
        values = prepared.column_values(range(len(prepared.columns)), chunk)
        parts.extend(column_row_digests(values, renderers))
    return b"".join(parts)


def keep_referenced_rows(
    metadata: sa.MetaData,
    order: list[str],
    old: dict[str, OldRows],
    plans: dict[str, TableChanges],
    references: dict[str, dict[int, list[tuple[int, tuple]]]],
) -> None:
    """Move to `kept` every removed row that a row staying in a child table references.

    `references` gives what `referencing_rows` found for each table's new rows.
    """
    children: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for name in order:
        for number, constraint in enumerate(_foreign_keys(metadata.tables[name])):
            children[constraint.referred_table.name].append((name, number))

    for name in reversed(order):
        plan = plans[name]
        if not plan.removed or not children.get(name):
            continue
        removed = set(plan.removed)
        referenced: set[tuple] = set()
        for child, number in children[name]:
            referenced |= {
                key
                for position, key in references.get(child, {}).get(number, [])
                if key in removed and position not in old[child].kept_positions
            }
            referenced |= _old_references(old[child], plans[child], number, removed)
        if referenced:
            still_needed = [key for key in plan.removed if key in referenced]
            plan.removed = [key for key in plan.removed if key not in referenced]
            plan.kept_by_reference.extend(still_needed)
            plan.kept += len(still_needed)


def _old_references(old: OldRows, plan: TableChanges, number: int, wanted) -> set[tuple]:
    """Return the keys of `wanted` that foreign key `number` of the child's old rows that stay
    references: the rows the load does not deliver again and does not remove."""
    found: set[tuple] = set()
    removed = set(plan.removed)
    for rows in (old.not_delivered, old.kept_delivered):
        for key, references in rows.items():
            if key not in removed and references[number] in wanted:
                found.add(references[number])
    return found
