"""Column lineage derived from mapping files: which source columns feed each target column."""

from __future__ import annotations

from pathlib import Path

from migration.mapping.checks import _column_refs
from migration.mapping.language import load_mapping


def column_lineage(mapping_paths: list[Path]) -> dict[str, dict[str, list[dict]]]:
    """Return, per target table and column, its sources and the transformation applied."""
    lineage: dict[str, dict[str, list[dict]]] = {}
    for path in mapping_paths:
        mapping = load_mapping(path)
        for target in mapping.targets:
            columns = lineage.setdefault(target.target, {})
            for name, expression in target.columns.items():
                sources = sorted(
                    {_qualified(target.source, ref.name) for ref in _column_refs(expression)}
                )
                columns.setdefault(name, []).append(
                    {
                        "application": mapping.application,
                        "source_table": target.source,
                        "source_columns": sources,
                        "transformation": expression.describe(),
                    }
                )
    return lineage


def _qualified(source_table: str, column: str) -> str:
    return column if "." in column else f"{source_table}.{column}"
