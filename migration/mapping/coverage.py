"""Coverage of a mapping: what it uses of the source and fills of the target.

Every source column must be mapped or listed under `dropped_columns` with a reason. Every
source table must feed a target or be listed under `dropped_tables`. `mapping check` reports
the others. Target columns that no target mapping fills are listed for information, since
another application's mapping may fill them.
"""

from __future__ import annotations

from migration.dictionary.model import Dictionary
from migration.mapping import expressions as ex
from migration.mapping.checks import _codes_kept_by_filter, _walk
from migration.mapping.language import MappingFile


def mapping_coverage(mapping: MappingFile, dictionary: Dictionary, schema) -> dict:
    """Return used, dropped and unused source columns, unfilled target columns, untranslated
    source codes."""
    used: dict[str, set[str]] = {name: set() for name in dictionary.tables}
    filled: dict[str, set[str]] = {}
    untranslated = []
    for target in mapping.targets:
        if target.source not in used:
            continue
        filled.setdefault(target.target, set()).update(target.columns)
        for join in target.joins:
            used[target.source].update(join.keys)
            used.setdefault(join.table, set()).update(join.keys.values())
        nodes = [node for expression in target.columns.values() for node in _walk(expression)]
        if target.filter is not None:
            nodes += list(_walk(target.filter))
        for node in nodes:
            if isinstance(node, ex.ColumnRef):
                table, _, column = node.name.rpartition(".")
                used.setdefault(table or target.source, set()).add(column)
            elif isinstance(node, ex.Lookup) and node.table in used:
                used[node.table].update({node.match, node.value})
            elif isinstance(node, ex.CodeMap):
                untranslated.extend(_untranslated(node, target, dictionary))

    tables = {}
    for name, table in dictionary.tables.items():
        dropped = dict(mapping.dropped_columns.get(name, {}))
        if name in mapping.dropped_tables:
            dropped = {column: mapping.dropped_tables[name] for column in table.column_names}
        mapped = [column for column in table.column_names if column in used[name]]
        unused = [c for c in table.column_names if c not in used[name] and c not in dropped]
        tables[name] = {"mapped": mapped, "dropped": dropped, "unused": unused}
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
        "unmapped_tables": unmapped_tables,
        "target_columns_never_filled": {k: v for k, v in never_filled.items() if v},
        "untranslated_codes": untranslated,
    }


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
