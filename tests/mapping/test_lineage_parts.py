"""Tests of LineageParts: lineage rows held one part per target table, staged or in memory."""

from __future__ import annotations

import stat

import numpy as np
import pandas as pd
import pytest

from migration.mapping.lineage_parts import LINEAGE_COLUMNS, LineageParts


def lineage_part(target: str, rows: list[tuple]) -> pd.DataFrame:
    """Return the lineage rows of one target table: (key, application, table, line) each."""
    return pd.DataFrame(
        {
            "target_table": target,
            "target_key": [key for key, _, _, _ in rows],
            "application": [application for _, application, _, _ in rows],
            "source_table": [table for _, _, table, _ in rows],
            "source_file": [f"{application}/{table}.csv" for _, application, table, _ in rows],
            "source_line": pd.Series([line for _, _, _, line in rows], dtype="int64"),
            "source_key": [f"S{line}" for _, _, _, line in rows],
        }
    ).astype({column: object for column in LINEAGE_COLUMNS if column != "source_line"})


def sample_parts() -> list[pd.DataFrame]:
    """Two parts whose source lines overlap: DOSSIER line 3 gives an individu and a dossier."""
    individu = lineage_part(
        "individu",
        [("I1", "ITAC", "DOSSIER", 3), ("I2", "ITAC", "DOSSIER", 2), ("I2", "OPALES", "ENFANT", 5)],
    )
    dossier = lineage_part("dossier", [("D1", "ITAC", "DOSSIER", 3), ("D2", "ITAC", "DOSSIER", 7)])
    return [individu, dossier]


def test_parts_in_memory_iterate_again():
    individu, dossier = sample_parts()
    parts = LineageParts.of_frames([individu, individu.iloc[:0], dossier])

    assert len(parts) == 5
    for _ in range(2):
        read = list(parts)
        assert len(read) == 2
        pd.testing.assert_frame_equal(read[0], individu)
        pd.testing.assert_frame_equal(read[1], dossier)
    expected = pd.concat([individu, dossier], ignore_index=True)
    pd.testing.assert_frame_equal(parts.to_frame(), expected)
    pd.testing.assert_frame_equal(parts.first_row, individu.head(1))


def test_parts_keep_source_lines_and_applications():
    parts = LineageParts.of_frames(sample_parts())

    lines = parts.source_lines()

    assert sorted(lines) == [("ITAC", "DOSSIER"), ("OPALES", "ENFANT")]
    assert lines[("ITAC", "DOSSIER")].tolist() == [2, 3, 7]
    assert lines[("ITAC", "DOSSIER")].dtype == np.int64
    assert lines[("OPALES", "ENFANT")].tolist() == [5]
    assert parts.applications == {"ITAC", "OPALES"}
    # A second call gives the same lines from the merged arrays.
    assert parts.source_lines()[("ITAC", "DOSSIER")].tolist() == [2, 3, 7]


def test_source_lines_match_groupby_of_whole_lineage():
    parts = LineageParts.of_frames(sample_parts())
    whole = parts.to_frame()

    grouped = whole.groupby(["application", "source_table"])["source_line"]
    expected = {key: np.unique(lines.to_numpy(dtype="int64")) for key, lines in grouped}

    lines = parts.source_lines()
    assert lines.keys() == expected.keys()
    for key, array in expected.items():
        np.testing.assert_array_equal(lines[key], array)


def test_empty_parts_give_empty_lineage():
    parts = LineageParts()

    assert len(parts) == 0
    assert list(parts) == []
    assert list(parts.to_frame().columns) == LINEAGE_COLUMNS
    assert parts.to_frame().empty
    assert list(parts.first_row.columns) == LINEAGE_COLUMNS
    assert parts.first_row.empty
    assert parts.source_lines() == {}
    assert parts.applications == set()


def test_staged_parts_are_private_files_read_once(tmp_path):
    individu, dossier = sample_parts()
    parts = LineageParts(tmp_path)

    parts.add(individu)
    parts.add(dossier)

    files = sorted(tmp_path.iterdir())
    assert len(files) == 2
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    read = iter(parts)
    pd.testing.assert_frame_equal(next(read), individu)
    # A part's file is deleted once the part is read back.
    assert len(list(tmp_path.iterdir())) == 1
    pd.testing.assert_frame_equal(next(read), dossier)
    assert list(read) == []
    assert list(tmp_path.iterdir()) == []
    # The counts stay once the parts are read.
    assert len(parts) == 5
    assert parts.source_lines()[("ITAC", "DOSSIER")].tolist() == [2, 3, 7]
    with pytest.raises(RuntimeError, match="already read"):
        list(parts)


def test_staged_parts_to_frame_matches_memory(tmp_path):
    staged = LineageParts(tmp_path)
    for part in sample_parts():
        staged.add(part)

    in_memory = LineageParts.of_frames(sample_parts())

    pd.testing.assert_frame_equal(staged.to_frame(), in_memory.to_frame())
    pd.testing.assert_frame_equal(staged.first_row, in_memory.first_row)
    assert list(tmp_path.iterdir()) == []


def test_discard_deletes_unread_parts(tmp_path):
    parts = LineageParts(tmp_path)
    for part in sample_parts():
        parts.add(part)
    read = iter(parts)
    next(read)

    parts.discard()

    assert list(tmp_path.iterdir()) == []
    assert len(parts) == 5
    with pytest.raises(RuntimeError, match="already read"):
        list(parts)


def test_discard_keeps_parts_in_memory():
    parts = LineageParts.of_frames(sample_parts())

    parts.discard()

    assert len(parts.to_frame()) == 5


def test_joined_parts_keep_their_order_counts_and_files(tmp_path):
    """Lineage computed apart, as a helper process computes some tables' lineage, is joined in
    the order given, with the counts of every part, and each staged file is read once."""
    from migration.mapping.staging import FrameStage

    individu, dossier = sample_parts()
    mine = LineageParts(tmp_path, FrameStage(tmp_path, "lineage"))
    mine.add(dossier)
    helper = LineageParts(tmp_path, FrameStage(tmp_path, "helper-lineage"))
    helper.add(individu)
    empty = LineageParts(tmp_path, FrameStage(tmp_path, "lineage"))

    joined = LineageParts.joined(tmp_path, FrameStage(tmp_path, "lineage"), [empty, helper, mine])

    assert len(joined) == 5
    assert joined.applications == {"ITAC", "OPALES"}
    assert joined.source_lines()[("ITAC", "DOSSIER")].tolist() == [2, 3, 7]
    pd.testing.assert_frame_equal(joined.first_row, individu.head(1))
    assert len(list(tmp_path.iterdir())) == 2
    expected = pd.concat([individu, dossier], ignore_index=True)
    pd.testing.assert_frame_equal(joined.to_frame(), expected)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="already read cannot be joined"):
        LineageParts.joined(tmp_path, None, [joined])
