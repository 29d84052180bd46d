"""Source tables mapped in chunks give the rows, rejects and filtered rows of whole tables."""

from __future__ import annotations

import pandas as pd
import pytest

import migration.mapping.engine as engine
from migration.delivery.intake import open_delivery
from migration.dictionary.model import load_dictionary
from migration.mapping.engine import apply_mapping
from migration.mapping.language import load_mapping
from migration.steps import DEFAULT_MAPPINGS, read_application, validate_application
from tests.target.pipeline_rows import SAMPLE_DELIVERY, SAMPLE_PASSWORD, SCHEMA


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """The validated tables of each application of the sample delivery."""
    opened = open_delivery(SAMPLE_DELIVERY, SAMPLE_PASSWORD, tmp_path_factory.mktemp("work"))
    result = {}
    for name, application in opened.applications.items():
        dictionary = load_dictionary(application.dictionary)
        reads = read_application(name, application.folder, dictionary)
        result[name] = validate_application(name, dictionary, reads)
    return result


def _rows(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("application", list(DEFAULT_MAPPINGS))
def test_chunks_match_whole_tables(validated, application, monkeypatch):
    mapping = load_mapping(DEFAULT_MAPPINGS[application])
    tables = validated[application]
    whole = apply_mapping(mapping, dict(tables.tables), tables.dictionary, SCHEMA)
    monkeypatch.setattr(engine, "MAP_CHUNK_ROWS", 7)

    chunked = apply_mapping(mapping, dict(tables.tables), tables.dictionary, SCHEMA)

    assert list(chunked.frames) == list(whole.frames)
    for target, frames in whole.frames.items():
        pieces = chunked.frames[target]
        assert len(pieces) >= len(frames), target
        expected = _rows(frames)
        assert len(expected) > 0, target
        pd.testing.assert_frame_equal(_rows(pieces), expected, obj=target)
    pd.testing.assert_frame_equal(chunked.rejects, whole.rejects)
    pd.testing.assert_frame_equal(chunked.filters, whole.filters)
    assert chunked.unknown_codes == whole.unknown_codes


def test_source_table_cut_into_chunks(validated, monkeypatch):
    monkeypatch.setattr(engine, "MAP_CHUNK_ROWS", 7)
    tables = validated["ITAC"].tables
    name = max(tables, key=lambda table: len(tables[table].rows))

    chunks = list(engine._source_chunks(tables, name))

    total = len(tables[name].rows)
    assert len(chunks) == -(-total // 7)
    assert [len(chunk[name].rows) for chunk in chunks[:-1]] == [7] * (len(chunks) - 1)
    assert sum(len(chunk[name].rows) for chunk in chunks) == total
