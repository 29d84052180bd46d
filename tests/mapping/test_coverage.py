"""Coverage of a mapping: which source columns it loads, only reads, drops or leaves undecided."""

from pathlib import Path

import pytest

from migration.dictionary.model import load_dictionary
from migration.mapping.checks import check_mapping
from migration.mapping.coverage import mapping_coverage
from migration.mapping.language import load_mapping
from migration.target.schema import load_target_schema

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
NUM_ETAB_REASON = "remplacé par le numéro FINESS de l'établissement"


def coverage_of(path: Path, application: str) -> dict:
    return mapping_coverage(load_mapping(path), load_dictionary(application), load_target_schema())


def edited_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (MAPPINGS / f"{name}.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def itac():
    return coverage_of(MAPPINGS / "itac.yaml", "itac")


def test_join_only_column_counted_apart(itac):
    suivi = itac["source_tables"]["SUIVI"]

    assert "NUM_ETAB" not in suivi["mapped"]
    assert "NUM_ETAB" not in suivi["dropped"]
    assert "NUM_ETAB" not in suivi["unused"]
    assert suivi["join_or_filter"] == {
        "NUM_ETAB": {
            "read_by": [
                {"kind": "join", "target": "suivi_orientation", "with": "ETABLISSEMENT.NUM_ETAB"}
            ],
            "reason": NUM_ETAB_REASON,
        }
    }


def test_joined_table_key_lists_each_join(itac):
    etablissement = itac["source_tables"]["ETABLISSEMENT"]

    assert etablissement["join_or_filter"]["NUM_ETAB"]["read_by"] == [
        {"kind": "join", "target": "orientation", "with": "CONCLUSION.NUM_ETAB"},
        {"kind": "join", "target": "suivi_orientation", "with": "SUIVI.NUM_ETAB"},
    ]
    assert "NUM_ETAB" not in etablissement["mapped"]
    assert "NUM_ETAB" not in etablissement["dropped"]


def test_loaded_join_key_stays_mapped(itac):
    demande = itac["source_tables"]["DEMANDE"]

    assert "NUM_DEMANDE" in demande["mapped"]
    assert "NUM_DEMANDE" not in demande["join_or_filter"]


def test_totals_count_each_column_once(itac):
    tables = itac["source_tables"].values()
    columns = sum(
        len(load_dictionary("itac").tables[name].columns) for name in itac["source_tables"]
    )

    assert itac["totals"] == {
        "mapped": sum(len(table["mapped"]) for table in tables),
        "join_or_filter": 3,
        "dropped": sum(len(table["dropped"]) for table in tables),
        "unused": 0,
    }
    assert sum(itac["totals"].values()) == columns


def test_filter_only_column_counted_apart(tmp_path):
    path = edited_copy(
        tmp_path,
        "itac",
        "  - target: adresse\n    source: DOSSIER\n",
        "  - target: adresse\n    source: DOSSIER\n"
        "    filter: {not: {is_null: NUM_CAF}}\n"
        "    filter_reason: adresse connue de la CAF seulement\n",
    )

    dossier = coverage_of(path, "itac")["source_tables"]["DOSSIER"]

    assert dossier["join_or_filter"]["NUM_CAF"] == {
        "read_by": [{"kind": "filter", "target": "adresse", "with": None}],
        "reason": "le numéro CAF n'est pas repris, la CAF le retransmet à chaque échange",
    }
    assert "NUM_CAF" not in dossier["dropped"]


def test_lookup_match_column_counted_apart(tmp_path):
    path = edited_copy(
        tmp_path,
        "opales",
        "      uai: UAI\n",
        "      uai: {lookup: {table: RAMSESE, match: Code_postal, "
        "value: Identifiant_de_l_etablissement}, key: UAI}\n",
    )

    coverage = coverage_of(path, "opales")
    ramsese = coverage["source_tables"]["RAMSESE"]

    assert ramsese["join_or_filter"]["Code_postal"] == {
        "read_by": [{"kind": "lookup", "target": "scolarisation", "with": "SCOLARISATION.UAI"}],
        "reason": "adresse de l'école non reprise",
    }
    assert "Identifiant_de_l_etablissement" in ramsese["mapped"]
    assert "UAI" in coverage["source_tables"]["SCOLARISATION"]["mapped"]


def test_undropped_join_key_needs_no_decision(tmp_path):
    line = f"  SUIVI:\n    NUM_ETAB: {NUM_ETAB_REASON}\n"
    path = edited_copy(tmp_path, "itac", line, "")

    coverage = coverage_of(path, "itac")
    problems = check_mapping(load_mapping(path), load_dictionary("itac"), load_target_schema())

    suivi = coverage["source_tables"]["SUIVI"]
    assert suivi["join_or_filter"]["NUM_ETAB"]["reason"] is None
    assert suivi["unused"] == []
    assert [str(problem) for problem in problems] == []
