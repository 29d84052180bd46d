"""Mapping coverage: which source columns feed the target, and which target columns are fed.

Built from the mapping files, data dictionaries and target schema named in the run summary.
A source column is "mapped" when its value feeds a target column, "join_or_filter" when only
join keys, lookup matches or filters read it (its value is not loaded, and its
`dropped_columns` reason is shown if the mapping gives one), "dropped" when the mapping file
drops it (or its whole table) with a reason, and "unmapped" otherwise: an unmapped column is
data that no one decided to keep or drop, so the report lists it under what needs a decision.
migration.mapping.coverage gives each column its status, as for `mdph-reprise mapping coverage`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from migration.errors import MdphRepriseError
from migration.mapping.coverage import (
    DROPPED,
    JOIN_OR_FILTER,
    MAPPED,
    UNMAPPED,
    ColumnUses,
    column_status,
    dropped_reason,
    source_column_uses,
)

logger = logging.getLogger(__name__)


def mapping_coverage(summary: Mapping, schema=None) -> dict[str, Any] | None:
    """Return the mapping coverage of a run, or None when its mapping files cannot be read.

    Returns:
        {"sources": [{"application", "table", "columns": [{"name", "status", "reason",
        "targets": ["table.column", ...], "read_by": [{"kind", "target", "with"}]}],
        "mapped", "join_or_filter", "dropped", "unmapped"}],
        "targets": [{"table", "columns": [{"name", "personal", "sources": [{"application",
        "source_table", "source_columns", "transformation"}]}], "fed", "total"}],
        "totals": {"mapped", "join_or_filter", "dropped", "unmapped", "target_fed",
        "target_total"}}

    "read_by" lists the joins, lookups and filters that read a column, whatever its status.
    """
    from migration.dictionary.model import load_dictionary
    from migration.mapping.checks import _column_refs
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

    target_sources: dict[tuple[str, str], list[dict]] = {}
    for application, mapping in mappings.items():
        for target in mapping.targets:
            for column, expression in target.columns.items():
                refs = sorted(
                    {_qualified(target.source, ref.name) for ref in _column_refs(expression)}
                )
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
        uses = source_column_uses(mapping, dictionary.tables)
        for table in dictionary.tables.values():
            columns = []
            for column in table.columns:
                column_uses = uses.get((table.name, column.name)) or ColumnUses()
                status, reason = column_status(
                    column_uses, dropped_reason(mapping, table.name, column.name)
                )
                columns.append(
                    {
                        "name": column.name,
                        "status": status,
                        "reason": reason,
                        "targets": sorted(column_uses.targets),
                        "read_by": column_uses.read_by,
                    }
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


_STATUSES = (MAPPED, JOIN_OR_FILTER, DROPPED, UNMAPPED)


def expression_descriptions(summary: Mapping) -> dict[str, dict[str, str]]:
    """Map the French description of each expression of a run's mappings to its descriptions.

    The coverage and the reject reasons mapping.unknown_code and mapping.conversion hold
    French descriptions (`Expr.describe()`). The report looks them up here to show them in its
    own language: {"copie de NOM": {"fr": "copie de NOM", "en": "copy of NOM"}, ...}. A mapping
    file that cannot be read adds nothing, and its descriptions are then shown as stored.
    """
    from migration.mapping.expressions import DESCRIPTIONS, Expr, walk
    from migration.mapping.language import load_mapping

    descriptions: dict[str, dict[str, str]] = {}
    for application, path in _files(summary.get("mappings")).items():
        try:
            mapping = load_mapping(Path(path))
        except MdphRepriseError as error:
            logger.warning("no translated descriptions for the %s mapping: %s", application, error)
            continue
        for target in mapping.targets:
            for expression in target.columns.values():
                for node in walk(expression):
                    if isinstance(node, Expr):
                        descriptions[node.describe()] = {
                            language: node.describe(language) for language in DESCRIPTIONS
                        }
    return descriptions


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
