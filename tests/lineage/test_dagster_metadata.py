"""Column lineage as Dagster metadata, from the bundled mappings."""

import dagster as dg

from migration.lineage.dagster_metadata import (
    column_deps,
    dagster_column_lineage,
    dagster_target_schema,
)
from migration.mapping.lineage import column_lineage
from migration.steps import DEFAULT_MAPPINGS
from migration.target.schema import load_target_schema

LINEAGE = column_lineage(list(DEFAULT_MAPPINGS.values()))


def test_deps_point_at_source_table_assets():
    deps = column_deps(LINEAGE)

    assert deps["individu.nom_naissance"] == [
        ("itac_dossier", "NOM_NAISSANCE"),
        ("itac_archive", "NOM_NAISSANCE"),
        ("opales_enfant", "NOM"),
    ]
    assert deps["dossier.application"] == []


def test_dagster_column_lineage_value():
    lineage = dagster_column_lineage(LINEAGE)
    value = dg.MetadataValue.column_lineage(lineage)

    assert isinstance(lineage, dg.TableColumnLineage)
    deps = value.lineage.deps_by_column["individu.nir"]
    assert dg.TableColumnDep(asset_key=dg.AssetKey("itac_dossier"), column_name="NIR") in deps
    assert "dossier.application" not in value.lineage.deps_by_column


def test_dagster_target_schema_names_table_columns():
    schema = dagster_target_schema(load_target_schema())

    names = [column.name for column in schema.columns]
    assert "individu.id_individu" in names
    assert len(names) == sum(len(t.columns) for t in load_target_schema().tables.values())
