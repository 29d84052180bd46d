"""Keys whose merged target rows disagree on a value, counted while rows are merged by key."""

import logging

import pandas as pd
import pytest

import migration.mapping.assemble as assemble_module
from migration.mapping.assemble import _merge_rows
from migration.mapping.engine import ORIGIN_COLUMNS
from migration.mapping.merge_conflicts import (
    MAX_CONFLICT_EXAMPLES,
    MERGE_CONFLICT_RULE,
    log_merge_conflicts,
)
from migration.reading.csv_reader import LINE_COLUMN
from migration.target.model import TargetColumn, TargetTable
from migration.target.schema import load_target_schema

SCHEMA = load_target_schema()
ADRESSE = SCHEMA.tables["adresse"]


def target_rows(table, rows: list[dict], source_table: str = "DOSSIER") -> pd.DataFrame:
    """Build the rows of a target table as assembly stores them: objects, None when missing."""
    frame = pd.DataFrame(rows, dtype=object).reindex(
        columns=[column.name for column in table.columns]
    )
    frame = frame.astype(object).where(frame.notna(), None)
    frame["_application"] = "ITAC"
    frame["_source_table"] = source_table
    frame["_source_file"] = f"{source_table}.csv"
    frame[LINE_COLUMN] = range(2, 2 + len(frame))
    frame["_source_key"] = [str(line) for line in frame[LINE_COLUMN]]
    return frame[[column.name for column in table.columns] + ORIGIN_COLUMNS]


def address(key: str, voie: str | None, code_postal: str | None = "57000") -> dict:
    return {
        "id_adresse": key,
        "id_individu": "p1",
        "voie": voie,
        "code_postal": code_postal,
        "departement": "057",
    }


def test_rows_that_agree_are_no_conflict():
    frame = target_rows(ADRESSE, [address("a1", "1 rue Haute"), address("a1", "1 rue Haute")])

    merged, conflicts = _merge_rows(frame, ADRESSE)

    assert len(merged) == 1
    assert conflicts is None


def test_case_and_accents_no_conflict():
    frame = target_rows(
        ADRESSE, [address("a1", "1 rue de l'Église"), address("a1", "1  RUE DE L'EGLISE")]
    )

    merged, conflicts = _merge_rows(frame, ADRESSE)

    assert merged["voie"].tolist() == ["1 rue de l'Église"]
    assert conflicts is None


def test_other_letters_conflict():
    frame = target_rows(ADRESSE, [address("a1", "1 rue Haute"), address("a1", "1 RUE BASSE")])

    _, conflicts = _merge_rows(frame, ADRESSE)

    assert conflicts.columns == {"voie": 1}


def test_null_beside_a_value_is_no_conflict():
    frame = target_rows(ADRESSE, [address("a1", None, None), address("a1", "1 rue Haute")])

    merged, conflicts = _merge_rows(frame, ADRESSE)

    assert merged["voie"].tolist() == ["1 rue Haute"]
    assert conflicts is None


def test_different_values_are_counted_per_column():
    frame = target_rows(
        ADRESSE,
        [
            address("a1", "1 rue Haute"),
            address("a2", "5 place Carnot"),
            address("a1", "9 rue Basse", code_postal="57100"),
            address("a2", "5 place Carnot", code_postal="57050"),
            address("a3", "2 allée Verte"),
        ],
    )

    merged, conflicts = _merge_rows(frame, ADRESSE)

    assert merged["id_adresse"].tolist() == ["a1", "a2", "a3"]
    assert merged["voie"].tolist() == ["1 rue Haute", "5 place Carnot", "2 allée Verte"]
    assert conflicts.table == "adresse"
    assert conflicts.merged_keys == 2
    assert conflicts.keys == 2
    assert conflicts.rows == 4
    assert conflicts.columns == {"code_postal": 2, "voie": 1}
    assert conflicts.personal_columns == ["code_postal", "voie"]
    assert conflicts.sources == {("ITAC", "DOSSIER"): 2}


def test_examples_give_keys_columns_and_lines_only():
    frame = target_rows(
        ADRESSE, [address("a1", "1 rue Haute"), address("a1", "9 rue Basse", code_postal="57100")]
    )

    _, conflicts = _merge_rows(frame, ADRESSE)
    summary = conflicts.summary()

    assert summary["rule_id"] == MERGE_CONFLICT_RULE
    assert summary["examples"] == [
        {
            "key": "a1",
            "columns": ["voie", "code_postal"],
            "rows": [
                {"application": "ITAC", "table": "DOSSIER", "line": 2},
                {"application": "ITAC", "table": "DOSSIER", "line": 3},
            ],
            "more_rows": 0,
        }
    ]
    text = repr(summary)
    for value in ("rue Haute", "rue Basse", "57100"):
        assert value not in text


def test_examples_are_capped():
    rows = [address(f"a{n}", voie) for n in range(10) for voie in ("1 rue Haute", "2 rue Basse")]
    frame = target_rows(ADRESSE, rows)

    _, conflicts = _merge_rows(frame, ADRESSE)

    assert conflicts.keys == 10
    assert len(conflicts.examples) == MAX_CONFLICT_EXAMPLES


def test_personal_key_is_masked_in_examples():
    table = TargetTable(
        name="personne",
        description=None,
        columns=[
            TargetColumn("nir", "text", personal=True, nullable=False),
            TargetColumn("nom", "text", personal=True),
        ],
        primary_key=["nir"],
    )
    frame = target_rows(table, [{"nir": "185057", "nom": "Martin"}, {"nir": "185057", "nom": "X"}])

    _, conflicts = _merge_rows(frame, table)

    assert conflicts.key_personal is True
    assert conflicts.examples[0]["key"] == "999999"


def test_table_without_repeated_keys_is_not_compared(monkeypatch):
    def compare(*args):
        raise AssertionError("rows compared although no key repeats")

    monkeypatch.setattr(assemble_module, "find_merge_conflicts", compare)
    frame = target_rows(ADRESSE, [address("a1", "1 rue Haute"), address("a2", "9 rue Basse")])

    merged, conflicts = _merge_rows(frame, ADRESSE)

    assert len(merged) == 2
    assert conflicts is None


def test_warning_names_table_and_columns_without_values(caplog):
    frame = target_rows(
        ADRESSE, [address("a1", "1 rue Haute"), address("a1", "9 rue Basse", code_postal="57100")]
    )
    _, conflicts = _merge_rows(frame, ADRESSE)

    with caplog.at_level(logging.WARNING, logger="migration.mapping.merge_conflicts"):
        log_merge_conflicts(conflicts)

    [record] = caplog.records
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    assert message.startswith("adresse: 1 of the 1 keys given by several rows")
    assert "voie (1)" in message
    assert "code_postal (1)" in message
    assert "ITAC.DOSSIER" in message
    for value in ("rue Haute", "rue Basse", "57100", "a1"):
        assert value not in message


@pytest.mark.parametrize("name", ["individu", "adresse", "dossier"])
def test_merged_rows_keep_first_value(name):
    """Merging keeps the first non-null value of each column, in source order, as before."""
    table = SCHEMA.tables[name]
    key = table.primary_key[0]
    other = next(column.name for column in table.columns if column.name not in table.primary_key)
    frame = target_rows(
        table, [{key: "k", other: None}, {key: "k", other: "b"}, {key: "k", other: "c"}]
    )

    merged, _ = _merge_rows(frame, table)

    assert merged[other].tolist() == ["b"]
