"""Tests of loading target rows given as TableRows, several frames per table, as assembly
gives them to a large run."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from migration.mapping.staging import FrameStage, TableRows
from migration.target.engine import create_target_engine
from migration.target.errors import TargetError
from migration.target.load import load_run
from migration.target.schema import load_target_schema
from tests.target.sample_rows import read_tables, rejects_frame, run_record, target_frames
from tests.target.test_changes import lineage_of, only_opales

SCHEMA = load_target_schema()


def as_table_rows(frames: dict[str, pd.DataFrame], folder=None, size: int = 2) -> dict:
    """Cut each frame into frames of `size` rows, staged in `folder` when given."""
    stage = None if folder is None else FrameStage(folder, "assembled")
    result = {}
    for name, frame in frames.items():
        parts = [
            frame.iloc[start : start + size].reset_index(drop=True)
            for start in range(0, len(frame), size)
        ]
        if stage is not None:
            parts = [stage(name, part) for part in parts]
        result[name] = TableRows(list(frame.columns), parts)
    return result


def load(engine, frames, run_id: str, lineage_frames=None):
    return load_run(
        engine,
        SCHEMA,
        frames,
        rejects_frame(run_id).iloc[:0],
        lineage_of(lineage_frames or target_frames(), run_id),
        run_record(run_id),
    )


def test_staged_table_rows_load_like_frames(engine, tmp_path):
    reference = create_target_engine(f"sqlite:///{tmp_path / 'frames.sqlite'}")
    stage = tmp_path / "stage"
    stage.mkdir()
    rows = as_table_rows(target_frames(), stage, size=1)
    assert max(len(table.parts) for table in rows.values()) > 2

    expected = load(reference, target_frames(), "run-0001")
    result = load(engine, rows, "run-0001")

    assert result.rows == expected.rows
    assert result.changes == expected.changes
    assert read_tables(engine, SCHEMA) == read_tables(reference, SCHEMA)
    # Each staged frame is read once, then its file is deleted.
    assert list(stage.iterdir()) == []
    reference.dispose()


def _redelivery(engine, make_rows) -> list:
    """Load every row, then a redelivery of OPALES with changed, added and removed rows; the
    establishments it leaves out stay, because rows still reference them."""
    first = load(engine, make_rows(target_frames()), "run-0001")
    opales = {
        name: frame.reset_index(drop=True) for name, frame in only_opales(target_frames()).items()
    }
    opales["etablissement"] = opales["etablissement"].iloc[:0]
    demandes = opales["demande"]
    demandes.loc[demandes["id_demande"] == "DM0002", "numero_origine"] = "NOUVEAU"
    opales["droit"] = opales["droit"].iloc[:-1]
    added = opales["demande"].iloc[[0]].assign(id_demande="DM9999")
    opales["demande"] = pd.concat([opales["demande"], added], ignore_index=True)
    second = load_run(
        engine,
        SCHEMA,
        make_rows(opales),
        rejects_frame("run-0002").iloc[:0],
        lineage_of(opales, "run-0002", ["OPALES"]),
        run_record("run-0002"),
        applications=["OPALES"],
    )
    return [first, second]


def test_redelivery_in_frames_matches_one_frame(engine, tmp_path):
    reference = create_target_engine(f"sqlite:///{tmp_path / 'frames.sqlite'}")
    stage = tmp_path / "stage"
    stage.mkdir()

    expected = _redelivery(reference, lambda frames: frames)
    results = _redelivery(engine, lambda frames: as_table_rows(frames, stage, size=1))

    changes = results[1].changes
    assert changes == expected[1].changes
    assert changes["demande"]["changed"] == 1
    assert changes["demande"]["added"] == 1
    assert changes["droit"]["removed"] == 1
    assert changes["etablissement"]["kept"] == 2
    assert read_tables(engine, SCHEMA) == read_tables(reference, SCHEMA)
    assert list(stage.iterdir()) == []
    reference.dispose()


def test_rerun_key_repeated_across_frames(engine):
    load(engine, target_frames(), "run-0001")
    before = read_tables(engine, SCHEMA)
    frames = target_frames()
    frames["demande"].loc[2, "id_demande"] = frames["demande"].loc[0, "id_demande"]

    with pytest.raises(TargetError) as error:
        load(engine, as_table_rows(frames), "run-0002")

    message = str(error.value)
    assert "constraint pk_demande is violated at row 3 of the demande frame" in message
    assert "repeats the key of row 1" in message
    assert read_tables(engine, SCHEMA) == before


def test_bad_value_in_later_frame(engine):
    frames = target_frames()
    frames["demande"].loc[2, "date_depot"] = "31/02/2007"

    with pytest.raises(TargetError) as error:
        load(engine, as_table_rows(frames), "run-0001")

    # The third row is the first of the second frame; the rows count from the first frame.
    assert "the demande frame, column date_depot, row 3:" in str(error.value)
    assert "31/02/2007" not in str(error.value)
    # The tables were created inside the load transaction, so the rollback removed them too.
    assert sa.inspect(engine).get_table_names() == []


def test_repeated_key_in_later_frame(sqlite_engine):
    frames = target_frames()
    demandes = frames["demande"]
    more = demandes.assign(id_demande=[f"DM9{number:03d}" for number in range(len(demandes))])
    frames["demande"] = pd.concat([demandes, more], ignore_index=True)
    assert len(frames["demande"]) == 6
    frames["demande"].loc[5, "id_demande"] = frames["demande"].loc[4, "id_demande"]

    with pytest.raises(TargetError) as error:
        load(sqlite_engine, as_table_rows(frames), "run-0001")

    # Rows 5 and 6 make the third frame; the rows count from the first frame.
    message = str(error.value)
    assert "constraint pk_demande is violated at row 6 of the demande frame" in message
    assert "repeats the key of row 5" in message


def test_key_repeated_across_frames_rolls_back(engine):
    frames = target_frames()
    frames["demande"].loc[2, "id_demande"] = frames["demande"].loc[0, "id_demande"]

    with pytest.raises(TargetError) as error:
        load(engine, as_table_rows(frames), "run-0001")

    message = str(error.value)
    assert "demande" in message
    assert "the load was rolled back" in message
    # The tables were created inside the load transaction, so the rollback removed them too.
    assert sa.inspect(engine).get_table_names() == []
