"""Assembly of hand-built mapped frames: fallen source rows, missing parents, merged keys.

Each table comes in several frames, in memory and staged in a private folder, so that the two
passes of assembly read rows across frame boundaries.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from migration.mapping.assemble import assemble
from migration.mapping.engine import REJECT_COLUMNS, MappedApplication
from migration.mapping.staging import FrameStage, TableRows
from tests.target.pipeline_rows import SCHEMA


def _frame(rows: list[dict], table: str, source: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["_application"] = "ITAC"
    frame["_source_table"] = source
    frame["_source_file"] = f"{source}.csv"
    frame["_source_key"] = frame["_line"].astype(str)
    return frame


def _person(key: str, line: int, name: str = "MARTIN") -> dict:
    return {
        "id_individu": key,
        "nom_naissance": name,
        "sexe": "1",
        "date_naissance": dt.date(1970, 1, line),
        "_line": line,
    }


def _dossier(key: str, person: str, line: int) -> dict:
    return {
        "id_dossier": key,
        "id_individu": person,
        "application": "ITAC",
        "numero_origine": key,
        "statut": "ouvert",
        "_line": line,
    }


def _demande(key: str, dossier: str, line: int) -> dict:
    return {
        "id_demande": key,
        "id_dossier": dossier,
        "numero_origine": key,
        "date_depot": dt.date(2007, 3, line),
        "typdem2": "10",
        "code_origine": "AAH",
        "_line": line,
    }


def _mapped() -> MappedApplication:
    """Rows of three source tables, in frames of two rows at most.

    - DOSSIER line 2 gives individual i2 and dossier d2; its dossier row points at individual
      i9, which no row gives, so the source row falls and takes i2 with it;
    - DEMANDE line 4 points at d2, so it falls too;
    - DOSSIER line 5 gives dossier d5 and a demande that points at d8, which no row gives: the
      source row falls with d5, and DEMANDE line 6, which points at d5, falls in the next round;
    - DOSSIER line 3 gives i1 again, merged with the i1 of line 1;
    - DEMANDE line 3 was rejected by validation.
    """
    individuals = [_person("i1", 1), _person("i2", 2), _person("i1", 3, name="MARTIN-DURAND")]
    dossiers = [
        _dossier("d1", "i1", 1),
        _dossier("d2", "i9", 2),
        _dossier("d3", "i1", 3),
        _dossier("d5", "i1", 5),
    ]
    demandes = [
        _demande("a1", "d1", 1),
        _demande("a2", "d3", 2),
        _demande("a3", "d1", 3),
        _demande("a4", "d2", 4),
        _demande("a5", "d3", 5),
        _demande("a6", "d5", 6),
    ]
    mapped = MappedApplication("ITAC", values_checked=True)
    for table, rows, source in (
        ("individu", individuals, "DOSSIER"),
        ("dossier", dossiers, "DOSSIER"),
        ("demande", demandes, "DEMANDE"),
    ):
        mapped.frames[table] = [
            _frame(rows[start : start + 2], table, source) for start in range(0, len(rows), 2)
        ]
    mapped.frames["demande"].append(_frame([_demande("a8", "d8", 5)], "demande", "DOSSIER"))
    return mapped


REJECTED_BY_VALIDATION = pd.DataFrame(
    {"application": ["ITAC"], "source_table": ["DEMANDE"], "source_line": [3]}
)


def _staged(mapped: MappedApplication, folder) -> MappedApplication:
    stage = FrameStage(folder, "mapped-ITAC")
    mapped.frames = {
        table: [stage(table, frame) for frame in frames] for table, frames in mapped.frames.items()
    }
    return mapped


def _rows(frames) -> dict[str, pd.DataFrame]:
    result = {}
    for name, rows in frames.items():
        frame = rows.frame() if isinstance(rows, TableRows) else rows
        result[name] = frame.reset_index(drop=True)
    return result


@pytest.fixture(params=["memory", "staged"])
def assembly(request, tmp_path):
    mapped = _mapped()
    if request.param == "staged":
        mapped = _staged(mapped, tmp_path)
    result = assemble(
        [mapped], SCHEMA, REJECTED_BY_VALIDATION, release_mapped=True, stage_folder=tmp_path
    )
    result.frames = _rows(result.frames)
    return result


def test_fallen_source_row_drops_all_rows(assembly):
    frames = assembly.frames
    assert sorted(frames["individu"]["id_individu"]) == ["i1"]
    assert sorted(frames["dossier"]["id_dossier"]) == ["d1", "d3"]
    assert sorted(frames["demande"]["id_demande"]) == ["a1", "a2", "a5"]


def test_missing_parent_rejected_with_value(assembly):
    rejects = assembly.rejects[REJECT_COLUMNS].sort_values("source_line")
    assert rejects[["source_table", "source_line", "target_table", "value"]].values.tolist() == [
        ["DOSSIER", 2, "dossier", "i9"],
        ["DEMANDE", 4, "demande", "d2"],
        ["DOSSIER", 5, "demande", "d8"],
        ["DEMANDE", 6, "demande", "d5"],
    ]
    assert set(rejects["rule_id"]) == {"mapping.parent_missing"}
    assert rejects["source_file"].tolist() == [
        "DOSSIER.csv",
        "DEMANDE.csv",
        "DOSSIER.csv",
        "DEMANDE.csv",
    ]
    assert rejects["column_name"].tolist() == ["id_individu"] + ["id_dossier"] * 3


def test_repeated_key_merged_with_conflict(assembly):
    individu = assembly.frames["individu"]
    assert individu["nom_naissance"].tolist() == ["MARTIN"]
    conflicts = assembly.merge_conflicts["individu"]
    assert conflicts.keys == 1
    assert conflicts.columns == {"nom_naissance": 1, "date_naissance": 1}


def test_lineage_per_target_and_source_row(assembly):
    lineage = assembly.lineage.to_frame()
    columns = ["target_table", "target_key", "source_line"]
    pairs = sorted(lineage[columns].itertuples(index=False, name=None))
    assert pairs == [
        ("demande", "a1", 1),
        ("demande", "a2", 2),
        ("demande", "a5", 5),
        ("dossier", "d1", 1),
        ("dossier", "d3", 3),
        ("individu", "i1", 1),
        ("individu", "i1", 3),
    ]


def test_staged_rows_read_frame_by_frame(tmp_path):
    (tmp_path / "mapped").mkdir()
    mapped = _staged(_mapped(), tmp_path / "mapped")
    result = assemble([mapped], SCHEMA, REJECTED_BY_VALIDATION, stage_folder=tmp_path)

    demande = result.frames["demande"]
    assert isinstance(demande, TableRows)
    assert len(demande) == 3
    assert len(demande.parts) == 2
    # The mapped frames are read and deleted; the assembled ones wait for the loader.
    assert not list((tmp_path / "mapped").iterdir())
    assert len(list(tmp_path.glob("assembled-*"))) == sum(
        len(rows.parts) for rows in result.frames.values()
    )


def test_refused_value_drops_source_row(tmp_path):
    mapped = _mapped()
    mapped.values_checked = False
    # Line 1 of DOSSIER gives an individual whose sex is outside the SEXE code list.
    mapped.frames["individu"][0].loc[0, "sexe"] = "X"

    result = assemble([mapped], SCHEMA, REJECTED_BY_VALIDATION)

    refused = result.rejects[result.rejects["rule_id"] == "mapping.target_value"]
    assert refused[["source_table", "source_line", "column_name"]].values.tolist() == [
        ["DOSSIER", 1, "sexe"]
    ]
    # The other rows of DOSSIER line 1 fall with it, and the demandes of d1 lose their parent.
    assert "d1" not in set(result.frames["dossier"]["id_dossier"])
    assert sorted(result.frames["demande"]["id_demande"]) == ["a2", "a5"]
    missing = result.rejects[result.rejects["rule_id"] == "mapping.parent_missing"]
    assert ["DEMANDE", 1, "d1"] in missing[["source_table", "source_line", "value"]].values.tolist()
