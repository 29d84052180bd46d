"""The filter records of the mapping engine, on small source tables."""

import pandas as pd

from migration.mapping.engine import FILTER_COLUMNS, SourceTable, apply_mapping
from migration.mapping.language import load_mapping
from migration.reading.csv_reader import LINE_COLUMN
from migration.target.schema import load_target_schema
from tests.mapping.test_language import HEADER

FINESS_FILTER_MAPPING = (
    "application: ITAC\n"
    "targets:\n"
    "  - target: etablissement\n"
    "    source: ETABLISSEMENT\n"
    "    filter: {not: {is_null: FINESS}}\n"
    "    filter_reason: sans FINESS\n"
    "    columns:\n"
    "      finess: FINESS\n"
    "      raison_sociale: RAISON_SOCIALE\n"
)


def source_table(name, rows, primary_key) -> SourceTable:
    frame = pd.DataFrame(rows, dtype=object)
    frame[LINE_COLUMN] = range(2, 2 + len(frame))
    return SourceTable("ITAC", name, f"{name}.csv", frame, primary_key)


def test_filter_record_carries_source_key(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(FINESS_FILTER_MAPPING, encoding="utf-8")
    etablissements = source_table(
        "ETABLISSEMENT",
        [
            {"NUM_ETAB": "E1", "FINESS": "570000001", "RAISON_SOCIALE": "ESAT"},
            {"NUM_ETAB": "E2", "FINESS": None, "RAISON_SOCIALE": "Foyer"},
        ],
        ("NUM_ETAB",),
    )

    mapped = apply_mapping(
        load_mapping(path), {"ETABLISSEMENT": etablissements}, None, load_target_schema()
    )

    filters = mapped.filters
    assert list(filters.columns) == FILTER_COLUMNS
    assert len(filters) == 1
    record = filters.iloc[0]
    assert record["source_line"] == 3
    assert record["source_key"] == "E2"
    assert record["target_table"] == "etablissement"
    assert record["reason"] == "sans FINESS"


def test_dropped_table_rows_have_keys(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        HEADER + "      id_individu: NUM_DOSSIER\n"
        "dropped_tables:\n  ARCHIVE: archives reprises ailleurs\n",
        encoding="utf-8",
    )
    dossiers = source_table("DOSSIER", [{"NUM_DOSSIER": "D1"}], ("NUM_DOSSIER",))
    archives = source_table(
        "ARCHIVE", [{"NUM_ARCHIVE": "A1", "ANNEE": "2001"}, {"NUM_ARCHIVE": "A2"}], ()
    )

    mapped = apply_mapping(load_mapping(path), {"DOSSIER": dossiers, "ARCHIVE": archives}, None)

    filters = mapped.filters
    assert filters["source_line"].tolist() == [2, 3]
    # A table without a primary key is keyed by its line, as in the lineage.
    assert filters["source_key"].tolist() == ["2", "3"]
    assert filters["target_table"].isna().all()
    assert (filters["reason"] == "archives reprises ailleurs").all()


def test_derived_key_shared_by_references(tmp_path):
    """A derived key is one str object, however many rows refer to it."""
    from tests.target.pipeline_rows import SAMPLE_DELIVERY, SAMPLE_PASSWORD, pipeline_rows

    rows = pipeline_rows(SAMPLE_DELIVERY, tmp_path / "work", SAMPLE_PASSWORD, ["ITAC"])
    itac = rows.mapped[0].frames
    individus = {key: key for frame in itac["individu"] for key in frame["id_individu"]}
    references = [key for frame in itac["dossier"] for key in frame["id_individu"].dropna()]

    assert references and all(key in individus for key in references)
    assert all(key is individus[key] for key in references)


def test_lookup_value_may_be_its_match_column(tmp_path):
    """A lookup that returns its own match column keeps the keys the other table has."""
    path = tmp_path / "m.yaml"
    path.write_text(
        HEADER + "      id_individu: NUM_DOSSIER\n"
        "      nir: {lookup: {table: ETABLISSEMENT, match: FINESS, value: FINESS}, key: FINESS}\n",
        encoding="utf-8",
    )
    dossiers = source_table(
        "DOSSIER",
        [{"NUM_DOSSIER": "D1", "FINESS": "570000001"}, {"NUM_DOSSIER": "D2", "FINESS": "1"}],
        ("NUM_DOSSIER",),
    )
    etablissements = source_table("ETABLISSEMENT", [{"FINESS": "570000001"}], ())

    mapped = apply_mapping(
        load_mapping(path), {"DOSSIER": dossiers, "ETABLISSEMENT": etablissements}, None
    )

    [frame] = mapped.frames["individu"]
    assert frame["nir"].tolist() == ["570000001", None]
