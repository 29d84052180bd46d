"""Column lineage and key figures as Dagster asset metadata.

Dagster is imported inside the functions, so the rest of `migration` stays importable without
it. The target tables are one Dagster asset (`loaded_tables`), so its columns are named
TABLE.COLUMN (`individu.nom_naissance`) and point at the source table assets (`itac_dossier`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def source_asset_name(application: str, table: str) -> str:
    """Return the Dagster asset name of a source table, e.g. itac_dossier."""
    return f"{application}_{table}".lower()


def column_deps(
    lineage: Mapping[str, Mapping[str, list[dict]]],
    asset_name: Callable[[str, str], str] = source_asset_name,
) -> dict[str, list[tuple[str, str]]]:
    """Return, per TABLE.COLUMN of the target, the (source asset, source column) pairs it reads.

    Args:
        lineage: the result of `migration.mapping.lineage.column_lineage`.
        asset_name: the asset name of an (application, source table) pair.
    """
    deps: dict[str, list[tuple[str, str]]] = {}
    for table, columns in lineage.items():
        for column, sources in columns.items():
            pairs: list[tuple[str, str]] = []
            for source in sources:
                for qualified in source["source_columns"]:
                    source_table, _, source_column = qualified.partition(".")
                    pair = (asset_name(source["application"], source_table), source_column)
                    if pair not in pairs:
                        pairs.append(pair)
            deps[f"{table}.{column}"] = pairs
    return deps


def dagster_column_lineage(
    lineage: Mapping[str, Mapping[str, list[dict]]],
    asset_name: Callable[[str, str], str] = source_asset_name,
) -> Any:
    """Return a `dagster.TableColumnLineage` for the `dagster/column_lineage` metadata key.

    Target columns with no source column (constants) are left out: Dagster shows lineage only.
    """
    import dagster as dg

    deps = column_deps(lineage, asset_name)
    return dg.TableColumnLineage(
        deps_by_column={
            column: [
                dg.TableColumnDep(asset_key=dg.AssetKey(asset), column_name=source_column)
                for asset, source_column in pairs
            ]
            for column, pairs in deps.items()
            if pairs
        }
    )


def dagster_target_schema(schema) -> Any:
    """Return a `dagster.TableSchema` of every target column, named TABLE.COLUMN."""
    import dagster as dg

    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                f"{table.name}.{column.name}",
                column.type,
                description=column.description or None,
            )
            for table in schema.tables.values()
            for column in table.columns
        ]
    )
