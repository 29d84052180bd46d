"""Tests of loading the lineage given as LineageParts, one part per target table."""

from __future__ import annotations

import multiprocessing
import os

import pandas as pd
import pytest
import sqlalchemy as sa

from migration.mapping.lineage_parts import LineageParts
from migration.target import load as load_module
from migration.target.engine import create_target_engine
from migration.target.errors import TargetError
from migration.target.load import load_run
from migration.target.product_tables import LINEAGE_TABLE
from migration.target.schema import load_target_schema
from tests.target.sample_rows import read_tables, rejects_frame, run_record, target_frames
from tests.target.test_changes import lineage_of, only_opales

SCHEMA = load_target_schema()


def as_parts(lineage: pd.DataFrame, folder=None) -> LineageParts:
    """Split a lineage frame into one part per target table, without its run id, as assembly
    gives it. With `folder`, the parts are staged there."""
    parts = LineageParts(folder)
    for _, part in lineage.drop(columns="run_id").groupby("target_table", sort=False):
        parts.add(part.reset_index(drop=True))
    return parts


def load(engine, frames, run_id, lineage, applications=None, helper=None):
    return load_run(
        engine,
        SCHEMA,
        frames,
        rejects_frame(run_id).iloc[:0],
        lineage,
        run_record(run_id),
        applications=applications,
        helper=helper,
    )


def staged(parts: list[pd.DataFrame], folder) -> LineageParts:
    """Stage `parts` in `folder`, in that order."""
    lineage = LineageParts(folder)
    for part in parts:
        lineage.add(part)
    return lineage


def helper_pool():
    """A pool of one forked process, whose `apply_async` the loader takes as its helper."""
    return multiprocessing.get_context("fork").Pool(1)


def load_twice(engine, make_lineage) -> list:
    """Load every row as run-0001, then the OPALES rows without the establishments as run-0002.

    The second load keeps the rows of ITAC, and the establishments because rows still
    reference them, each with its lineage.
    """
    frames = target_frames()
    first = load(engine, frames, "run-0001", make_lineage(lineage_of(frames, "run-0001")))
    opales = only_opales(target_frames())
    opales["etablissement"] = opales["etablissement"].iloc[:0]
    lineage = make_lineage(lineage_of(opales, "run-0002", ["OPALES"]))
    second = load(engine, opales, "run-0002", lineage, applications=["OPALES"])
    return [first, second]


def test_staged_parts_load_like_one_frame(engine, tmp_path):
    reference = create_target_engine(f"sqlite:///{tmp_path / 'frame.sqlite'}")
    stage = tmp_path / "stage"
    stage.mkdir()

    by_frame = load_twice(reference, lambda frame: frame)
    by_parts = load_twice(engine, lambda frame: as_parts(frame, stage))

    assert [result.lineage for result in by_parts] == [result.lineage for result in by_frame]
    assert by_parts[1].lineage > 0
    expected = read_tables(reference, SCHEMA, skip_columns=["id"])
    content = read_tables(engine, SCHEMA, skip_columns=["id"])
    assert content.keys() == expected.keys()
    for table in expected:
        assert content[table] == expected[table], table
    # The rows kept by reference keep the lineage of the first load.
    assert by_parts[1].changes["etablissement"]["kept"] == 2
    runs = {row[-1] for row in content[LINEAGE_TABLE] if row[0] == "etablissement"}
    assert runs == {"run-0001"}
    assert list(stage.iterdir()) == []
    reference.dispose()


def record_lineage_conversions(monkeypatch) -> list[int]:
    """Patch the loader to record the row count of each lineage frame that this process
    converts, and return the list it fills."""
    converted = []
    prepare_frame = load_module.prepare_frame

    def recording_prepare_frame(table, frame, *args, **kwargs):
        if table.name == LINEAGE_TABLE:
            converted.append(len(frame))
        return prepare_frame(table, frame, *args, **kwargs)

    monkeypatch.setattr(load_module, "prepare_frame", recording_prepare_frame)
    return converted


def test_loader_converts_one_part_at_a_time(sqlite_engine, monkeypatch):
    converted = record_lineage_conversions(monkeypatch)
    frames = target_frames()
    parts = as_parts(lineage_of(frames, "run-0001"))

    result = load(sqlite_engine, frames, "run-0001", parts)

    sizes = [len(part) for part in parts]
    assert len(sizes) > 1
    # The first row is checked before the load, then each part is converted alone.
    assert converted == [1, *sizes]
    assert result.lineage == sum(sizes)


def test_bad_value_in_later_part_rolls_back(engine):
    frames = target_frames()
    load(engine, frames, "run-0001", lineage_of(frames, "run-0001"))
    before = read_tables(engine, SCHEMA)
    frames["droit"] = frames["droit"].iloc[:-1]
    parts = list(as_parts(lineage_of(frames, "run-0002")))
    first, second = parts[0], parts[1]
    second.loc[1, "source_line"] = 2**31

    with pytest.raises(TargetError) as error:
        load(engine, frames, "run-0002", LineageParts.of_frames(parts))

    message = str(error.value)
    # The row is numbered in the whole lineage: the first part comes before it.
    row = len(first) + 2
    assert f"the lineage frame, column source_line, row {row}: the integer is outside" in message
    # The removed droit row and the first part were written, then rolled back.
    assert read_tables(engine, SCHEMA) == before


def test_bad_first_row_raises_before_database(engine):
    frames = target_frames()
    parts = list(as_parts(lineage_of(frames, "run-0001")))
    parts[0].loc[0, "source_line"] = 2**31

    with pytest.raises(TargetError, match="the lineage frame, column source_line, row 1: "):
        load(engine, frames, "run-0001", LineageParts.of_frames(parts))

    assert sa.inspect(engine).get_table_names() == []


def test_run_id_of_later_part_is_checked(sqlite_engine):
    frames = target_frames()
    parts = list(as_parts(lineage_of(frames, "run-0001")))
    parts[1] = parts[1].assign(run_id="run-0000")

    with pytest.raises(TargetError, match="lineage frame has rows whose run_id is not"):
        load(sqlite_engine, frames, "run-0001", LineageParts.of_frames(parts))

    # The load had created the tables, and the rollback removed them.
    assert sa.inspect(sqlite_engine).get_table_names() == []


def test_parts_outside_applications_raise(sqlite_engine):
    frames = target_frames()
    parts = as_parts(lineage_of(frames, "run-0001"))

    with pytest.raises(TargetError, match="lineage frame has rows of the applications ITAC"):
        load(sqlite_engine, frames, "run-0001", parts, applications=["OPALES"])

    assert sa.inspect(sqlite_engine).get_table_names() == []


@pytest.mark.postgres
def test_postgresql_bulk_parts_build_keys_once(postgres_engine, monkeypatch):
    """Keys and indexes of the lineage are dropped before the first part and built once
    after the last."""
    from migration.target.compare import compare_database

    statements = []
    sa.event.listen(
        postgres_engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *args: statements.append(statement),
    )
    frames = target_frames()
    lineage = lineage_of(frames, "run-0001")
    parts = as_parts(lineage)
    # Each part alone is below the threshold, their total is above it.
    monkeypatch.setattr(load_module, "BULK_ROWS", max(len(part) for part in parts) + 1)
    assert len(parts) >= load_module.BULK_ROWS

    result = load(postgres_engine, frames, "run-0001", parts)

    for name in ["fk_reprise_lignage_run_id", "pk_reprise_lignage"]:
        assert len([s for s in statements if f"DROP CONSTRAINT {name}" in s]) == 1, name
        assert len([s for s in statements if f"ADD CONSTRAINT {name}" in s]) == 1, name
    start = next(i for i, s in enumerate(statements) if "DROP CONSTRAINT pk_reprise_lignage" in s)
    rebuilt = [s for s in statements[start:] if s.startswith("CREATE INDEX ix_reprise_lignage")]
    assert len(rebuilt) == 2
    assert result.lineage == len(lineage)
    stored = read_tables(postgres_engine, SCHEMA)[LINEAGE_TABLE]
    assert len(stored) == len(lineage)
    assert compare_database(postgres_engine, SCHEMA) == []


@pytest.mark.postgres
def test_helper_converts_the_parts_while_the_targets_load(
    postgres_engine, sqlite_engine, tmp_path, monkeypatch
):
    stage = tmp_path / "stage"
    stage.mkdir()
    frames = target_frames()
    lineage = lineage_of(frames, "run-0001")

    with helper_pool() as pool:
        # Patched after the fork: the helper converts with the real function, unseen here.
        converted = record_lineage_conversions(monkeypatch)
        result = load(
            postgres_engine, frames, "run-0001", as_parts(lineage, stage), helper=pool.apply_async
        )
    # This process checked the first row only; the helper converted every part.
    assert converted == [1]
    load(sqlite_engine, target_frames(), "run-0001", lineage)
    assert result.lineage == len(lineage)
    assert read_tables(postgres_engine, SCHEMA) == read_tables(sqlite_engine, SCHEMA)
    # Each staged part and the body written beside it are deleted once copied.
    assert list(stage.iterdir()) == []


@pytest.mark.postgres
def test_helper_error_in_later_part_rolls_back(postgres_engine, tmp_path):
    stage = tmp_path / "stage"
    stage.mkdir()
    frames = target_frames()
    parts = list(as_parts(lineage_of(frames, "run-0001")))
    parts[1].loc[1, "source_line"] = 2**31

    with helper_pool() as pool, pytest.raises(TargetError) as error:
        load(postgres_engine, frames, "run-0001", staged(parts, stage), helper=pool.apply_async)

    # The helper numbers the row in the whole lineage, as the load does without it.
    row = len(parts[0]) + 2
    assert f"the lineage frame, column source_line, row {row}: the integer is outside" in str(
        error.value
    )
    # The load had created the tables, and the rollback removed them.
    assert sa.inspect(postgres_engine).get_table_names() == []
    assert list(stage.iterdir()) == []


@pytest.mark.postgres
def test_failed_copy_of_a_helper_body_names_its_row(postgres_engine, tmp_path, monkeypatch):
    stage = tmp_path / "stage"
    stage.mkdir()
    frames = target_frames()
    parts = list(as_parts(lineage_of(frames, "run-0001")))
    parent = os.getpid()
    renderer = load_module._renderer

    def breaking_renderer(prepared, columns):
        render = renderer(prepared, columns)
        if os.getpid() == parent:
            return render
        target_table = prepared.column_values([columns.index("target_table")], [0])[0][0]
        if target_table != parts[1]["target_table"].iat[0]:
            return render
        # In the helper, the second row of the second part gets a field too many, which
        # PostgreSQL refuses on the COPY's line 2.
        return lambda chunk: [
            line + (",x" if row == 1 else "")
            for row, line in zip(chunk, render(chunk), strict=True)
        ]

    monkeypatch.setattr(load_module, "_renderer", breaking_renderer)
    with helper_pool() as pool, pytest.raises(TargetError) as error:
        load(postgres_engine, frames, "run-0001", staged(parts, stage), helper=pool.apply_async)

    message = str(error.value)
    assert "bad copy file format" in message
    second = parts[1].iloc[1]
    key = f"target_key='{second['target_key']}'"
    assert f"at row {len(parts[0]) + 2} of the reprise_lignage frame (" in message
    assert key in message
    assert list(stage.iterdir()) == []


def test_rendered_part_replaces_its_staged_file(tmp_path):
    parts = list(as_parts(lineage_of(target_frames(), "run-0001")))
    part = staged(parts, tmp_path).staged_parts()[0]
    body = part.path.with_suffix(".copy.csv")

    rows = load_module.render_lineage_part(part, "run-0001", 0, body)

    assert rows == len(parts[0])
    # The work folder holds each part once: as its staged file, then as its COPY body.
    assert not part.path.exists()
    assert body.stat().st_mode & 0o777 == 0o600
    # An error reads the body back to find the row of a failed line.
    expected = parts[0].assign(run_id="run-0001")
    read_back = load_module._lineage_of_body(body)
    assert list(read_back.columns) == list(expected.columns)
    assert read_back.values.tolist() == expected.astype(object).values.tolist()
