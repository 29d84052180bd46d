"""Coverage of a mapping: what it uses of the source and fills of the target.

Every source column must be read by the mapping or listed under `dropped_columns` with a
reason. Every source table must feed a target or be listed under `dropped_tables`. `mapping
check` reports the others. Target columns that no target mapping fills are listed for
information, since another application's mapping may fill them.

Each source column gets one status, the first that applies:

- mapped: its value feeds at least one target column;
- join_or_filter: only joins (as a key), lookups (as the match column) or filters read it, so
  no target column receives its value. It needs no decision, and its `dropped_columns` reason,
  if any, is kept to say why its value is not loaded;
- dropped: listed under `dropped_columns`, or its table under `dropped_tables`;
- unmapped (`unused` in the output of `mapping coverage`): none of the above, so someone must
  decide to map or drop it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from migration.dictionary.model import Dictionary
from migration.mapping import expressions as ex
from migration.mapping.checks import _codes_kept_by_filter
from migration.mapping.language import MappingFile

MAPPED, JOIN_OR_FILTER, DROPPED, UNMAPPED = "mapped", "join_or_filter", "dropped", "unmapped"


@dataclass
class ColumnUses:
    """The target columns that one source column feeds, and the joins, lookups and filters
    that read it."""

    # "target.column" names that the column's value feeds.
    targets: set[str] = field(default_factory=set)
    # Joins, lookups and filters that read the column, in file order, each as
    # {"kind": "join" | "lookup" | "filter", "target": name, "with": "TABLE.COLUMN" or None}.
    # "with" is the column that a join key is compared with, or the columns of a lookup's key.
    read_by: list[dict] = field(default_factory=list)

    def add_read(self, kind: str, target: str, other: str | None) -> None:
        read = {"kind": kind, "target": target, "with": other}
        if read not in self.read_by:
            self.read_by.append(read)


def source_column_uses(
    mapping: MappingFile, source_tables: Collection[str]
) -> dict[tuple[str, str], ColumnUses]:
    """Collect, per (source table, column), the target columns it feeds and the joins, lookups
    and filters that read it. Targets whose source table is not in `source_tables` are
    skipped, and so are lookups into target tables."""
    uses: dict[tuple[str, str], ColumnUses] = {}

    def uses_of(table: str, column: str) -> ColumnUses:
        return uses.setdefault((table, column), ColumnUses())

    for target in mapping.targets:
        if target.source not in source_tables:
            continue
        for join in target.joins:
            for main, joined in join.keys.items():
                main_uses = uses_of(target.source, main)
                main_uses.add_read("join", target.target, f"{join.table}.{joined}")
                uses_of(join.table, joined).add_read(
                    "join", target.target, f"{target.source}.{main}"
                )
        if target.filter is not None:
            _record(uses_of, target, ex.walk(target.filter), None, source_tables)
        for column, expression in target.columns.items():
            fed = f"{target.target}.{column}"
            _record(uses_of, target, ex.walk(expression), fed, source_tables)
    return uses


def _record(uses_of, target, nodes, fed: str | None, source_tables: Collection[str]) -> None:
    """Record the source columns that the nodes of one expression read: as feeding the target
    column `fed`, or as read by the target's filter when `fed` is None."""
    for node in nodes:
        if isinstance(node, ex.ColumnRef):
            table, column = _split(target.source, node.name)
        elif isinstance(node, ex.Lookup) and node.table in source_tables:
            keys = sorted(
                ".".join(_split(target.source, name)) for name in node.key.source_columns()
            )
            uses_of(node.table, node.match).add_read(
                "lookup", target.target, ", ".join(keys) or None
            )
            table, column = node.table, node.value
        else:
            continue
        if fed is None:
            uses_of(table, column).add_read("filter", target.target, None)
        else:
            uses_of(table, column).targets.add(fed)


def column_status(uses: ColumnUses | None, dropped_reason: str | None) -> tuple[str, str | None]:
    """Return the status of a source column and the reason shown with it."""
    if uses is not None and uses.targets:
        return MAPPED, None
    if uses is not None and uses.read_by:
        return JOIN_OR_FILTER, dropped_reason
    if dropped_reason is not None:
        return DROPPED, dropped_reason
    return UNMAPPED, None


def dropped_reason(mapping: MappingFile, table: str, column: str) -> str | None:
    """Return why the mapping drops a source column (or its whole table), or None."""
    if table in mapping.dropped_tables:
        return mapping.dropped_tables[table]
    return mapping.dropped_columns.get(table, {}).get(column)


def mapping_coverage(mapping: MappingFile, dictionary: Dictionary, schema) -> dict:
    """Return the mapped, join-or-filter-only, dropped and unused source columns with their
    totals, the unmapped source tables, the unfilled target columns and the untranslated
    source codes."""
    uses = source_column_uses(mapping, dictionary.tables)
    filled: dict[str, set[str]] = {}
    untranslated = []
    for target in mapping.targets:
        if target.source not in dictionary.tables:
            continue
        filled.setdefault(target.target, set()).update(target.columns)
        nodes = [node for expression in target.columns.values() for node in ex.walk(expression)]
        if target.filter is not None:
            nodes += list(ex.walk(target.filter))
        for node in nodes:
            if isinstance(node, ex.CodeMap):
                untranslated.extend(_untranslated(node, target, dictionary))

    tables = {}
    totals = {MAPPED: 0, JOIN_OR_FILTER: 0, DROPPED: 0, "unused": 0}
    for name, table in dictionary.tables.items():
        entry = {MAPPED: [], JOIN_OR_FILTER: {}, DROPPED: {}, "unused": []}
        for column in table.column_names:
            column_uses = uses.get((name, column))
            status, reason = column_status(column_uses, dropped_reason(mapping, name, column))
            if status == MAPPED:
                entry[MAPPED].append(column)
            elif status == JOIN_OR_FILTER:
                entry[JOIN_OR_FILTER][column] = {"read_by": column_uses.read_by, "reason": reason}
            elif status == DROPPED:
                entry[DROPPED][column] = reason
            else:
                entry["unused"].append(column)
        for key, columns in entry.items():
            totals[key] += len(columns)
        tables[name] = entry
    unmapped_tables = [
        name
        for name in dictionary.tables
        if name not in mapping.dropped_tables and not any(t.source == name for t in mapping.targets)
    ]
    never_filled = {
        name: [c.name for c in schema.tables[name].columns if c.name not in columns]
        for name, columns in filled.items()
        if name in schema.tables
    }
    return {
        "application": mapping.application,
        "source_tables": tables,
        "totals": totals,
        "unmapped_tables": unmapped_tables,
        "target_columns_never_filled": {k: v for k, v in never_filled.items() if v},
        "untranslated_codes": untranslated,
    }


def _split(source_table: str, name: str) -> tuple[str, str]:
    """Split `TABLE.COLUMN`, or a bare column of the target's source table."""
    table, _, column = name.rpartition(".")
    return table or source_table, column


def _untranslated(code_map: ex.CodeMap, target, dictionary: Dictionary) -> list[dict]:
    argument = code_map.argument
    if not isinstance(argument, ex.ColumnRef):
        return []
    table_name, _, column_name = argument.name.rpartition(".")
    table = dictionary.tables.get(table_name or target.source)
    if table is None or column_name not in table.column_names:
        return []
    codes = set(dictionary.codes(table.column(column_name)))
    kept = _codes_kept_by_filter(target.filter, argument.name)
    if kept is not None:
        codes &= kept
    missing = sorted(codes - set(code_map.table))
    if not missing:
        return []
    return [
        {
            "target": target.target,
            "column": argument.name,
            "codes": missing,
            "policy": code_map.unknown,
        }
    ]
