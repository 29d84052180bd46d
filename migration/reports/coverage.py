"""Mapping coverage: which source columns feed the target, and which target columns are fed.

Built from the mapping files, data dictionaries and target schema named in the run summary.
A source column is "mapped" when an expression, join key or filter of its table's mappings reads
it, "dropped" when the mapping file drops it (or its whole table) with a reason, and
"unmapped" otherwise: an unmapped column is data that no one decided to keep or drop, so the
report lists it under what needs a decision.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from migration.errors import MdphRepriseError

logger = logging.getLogger(__name__)

MAPPED, DROPPED, UNMAPPED = "mapped", "dropped", "unmapped"


def mapping_coverage(summary: Mapping, schema=None) -> dict[str, Any] | None:
    """Return the mapping coverage of a run, or None when its mapping files cannot be read.

    Returns:
        {"sources": [{"application", "table", "columns": [{"name", "status", "reason",
        "targets": ["table.column", ...]}], "mapped", "dropped", "unmapped"}],
        "targets": [{"table", "columns": [{"name", "personal", "sources": [{"application",
        "source_table", "source_columns", "transformation"}]}], "fed", "total"}],
        "totals": {"mapped", "dropped", "unmapped", "target_fed", "target_total"}}
    """
    from migration.dictionary.model import load_dictionary
    from migration.mapping.checks import _column_refs, _condition_refs
    from migration.mapping.language import load_mapping
    from migration.target.schema import load_target_schema

    mapping_files = _files(summary.get("mappings"))
    dictionary_files = _files(summary.get("dictionaries"))
    if not mapping_files:
        return None
    try:
        schema = schema or load_target_schema()
        mappings = {app: load_mapping(Path(path)) for app, path in mapping_files.items()}
        dictionaries = {
            app: load_dictionary(dictionary_files.get(app) or mappings[app].dictionary)
            for app in mappings
        }
    except MdphRepriseError as error:
        logger.warning("no mapping coverage in the report: %s", error)
        return None

    feeds: dict[tuple[str, str, str], set[str]] = {}
    read_columns: dict[tuple[str, str], set[str]] = {}
    target_sources: dict[tuple[str, str], list[dict]] = {}
    for application, mapping in mappings.items():
        for target in mapping.targets:
            used = read_columns.setdefault((application, target.source), set())
            for join in target.joins:
                used.update(join.keys)
                read_columns.setdefault((application, join.table), set()).update(join.keys.values())
            if target.filter is not None:
                used.update(ref.name for ref in _condition_refs(target.filter))
            for column, expression in target.columns.items():
                refs = sorted(
                    {_qualified(target.source, ref.name) for ref in _column_refs(expression)}
                )
                for qualified in refs:
                    table, _, name = qualified.partition(".")
                    feeds.setdefault((application, table, name), set()).add(
                        f"{target.target}.{column}"
                    )
                    read_columns.setdefault((application, table), set()).add(name)
                target_sources.setdefault((target.target, column), []).append(
                    {
                        "application": application,
                        "source_table": target.source,
                        "source_columns": refs,
                        "transformation": expression.describe(),
                    }
                )

    sources = []
    for application, dictionary in dictionaries.items():
        mapping = mappings[application]
        for table in dictionary.tables.values():
            dropped_table = mapping.dropped_tables.get(table.name)
            dropped_columns = mapping.dropped_columns.get(table.name, {})
            columns = []
            for column in table.columns:
                targets = sorted(feeds.get((application, table.name, column.name), set()))
                used = column.name in read_columns.get((application, table.name), set())
                if targets or used:
                    status, reason = MAPPED, None
                elif dropped_table is not None:
                    status, reason = DROPPED, dropped_table
                elif column.name in dropped_columns:
                    status, reason = DROPPED, dropped_columns[column.name]
                else:
                    status, reason = UNMAPPED, None
                columns.append(
                    {"name": column.name, "status": status, "reason": reason, "targets": targets}
                )
            sources.append(
                {
                    "application": application,
                    "table": table.name,
                    "columns": columns,
                    **{key: sum(1 for c in columns if c["status"] == key) for key in _STATUSES},
                }
            )

    targets = []
    for table in schema.tables.values():
        columns = [
            {
                "name": column.name,
                "personal": column.personal,
                "sources": target_sources.get((table.name, column.name), []),
            }
            for column in table.columns
        ]
        targets.append(
            {
                "table": table.name,
                "columns": columns,
                "fed": sum(1 for column in columns if column["sources"]),
                "total": len(columns),
            }
        )
    totals = {key: sum(source[key] for source in sources) for key in _STATUSES}
    totals["target_fed"] = sum(target["fed"] for target in targets)
    totals["target_total"] = sum(target["total"] for target in targets)
    return {"sources": sources, "targets": targets, "totals": totals}


_STATUSES = (MAPPED, DROPPED, UNMAPPED)


def _files(raw: object) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {
        str(app): str(entry["file"])
        for app, entry in raw.items()
        if isinstance(entry, Mapping) and entry.get("file")
    }


def _qualified(source_table: str, column: str) -> str:
    return column if "." in column else f"{source_table}.{column}"
