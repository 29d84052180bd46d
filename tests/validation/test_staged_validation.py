"""An application validated one table at a time gives what validating it whole gives.

The staged run keeps, of each table it has freed, only its keys as hashes and the columns that
other tables' plausibility checks read. These tests compare it with the whole validation on
the sample delivery: findings, profiles, counts, raw rows kept, accepted rows and mapped rows.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

import migration.profiling.profile as profile
import migration.steps as steps
from migration.dictionary.model import ForeignKey, load_dictionary
from migration.mapping.language import load_mapping
from migration.reading.csv_reader import LINE_COLUMN
from migration.reading.findings import ERROR
from migration.steps import (
    DEFAULT_MAPPINGS,
    map_application,
    parents_first,
    read_application,
    validate_application,
    validate_application_staged,
)
from tests.sample_delivery import generate_plaintext
from tests.target.pipeline_rows import SCHEMA

POLICIES = {
    "default": None,
    "changed": {"severites": {"fk.dangling": "warning"}, "desactivees": ["plausibility.age"]},
}


@pytest.fixture(scope="module")
def plaintext(tmp_path_factory) -> Path:
    return generate_plaintext(tmp_path_factory.mktemp("sample") / "delivery")


def _validated(plaintext: Path, application: str, policy, stage: Path | None):
    dictionary = load_dictionary(application.lower())
    folder = plaintext / application
    if stage is None:
        reads = read_application(application, folder, dictionary)
        return validate_application(application, dictionary, reads, policy)
    return validate_application_staged(application, folder, dictionary, stage, policy=policy)


@pytest.mark.parametrize(
    ("application", "policy", "exact_distinct"),
    [("ITAC", "default", 50_000), ("OPALES", "changed", 50_000), ("ITAC", "changed", 3)],
)
def test_staged_validation_matches_whole(
    plaintext, tmp_path, monkeypatch, application, policy, exact_distinct
):
    """Chunks of 40 rows. With 3 values counted exactly, every column's counts turn to hashes
    in the whole table at once, and chunk by chunk in the staged run."""
    monkeypatch.setattr(steps, "READ_CHUNK_ROWS", 40)
    monkeypatch.setattr(profile, "EXACT_DISTINCT", exact_distinct)
    whole = _validated(plaintext, application, POLICIES[policy], None)
    staged = _validated(plaintext, application, POLICIES[policy], tmp_path)

    if exact_distinct == 3:
        tops = [column["top"] for table in whole.profiles.values() for column in table["columns"]]
        assert any(top and top[0]["count"] > 1 for top in tops)

    assert staged.findings["rule_id"].isin(["fk.dangling", "plausibility.after_birth"]).any()
    pd.testing.assert_frame_equal(
        staged.findings.reset_index(drop=True), whole.findings.reset_index(drop=True)
    )
    assert staged.profiles == whole.profiles
    assert list(staged.reads) == list(whole.reads)
    assert list(staged.tables) == list(whole.tables)
    errors = whole.findings[whole.findings["severity"] == ERROR]
    for name, read in whole.reads.items():
        kept = read.keeping_lines(set(errors.loc[errors["table"] == name, "line"]))
        assert staged.reads[name].read == read.read, name
        pd.testing.assert_frame_equal(staged.reads[name].rows, kept.rows, obj=name)
        table = staged.tables[name]
        assert table.rows.empty and list(table.rows.columns) == list(whole.tables[name].rows)
        parts = table.staged.parts
        assert all(len(part) <= 40 for part in parts), name
        pd.testing.assert_frame_equal(table.all_rows(), whole.tables[name].rows, obj=name)


@pytest.mark.parametrize("application", ["ITAC", "OPALES"])
def test_staged_tables_map_like_whole_tables(plaintext, tmp_path, monkeypatch, application):
    """Mapping reads the staged chunks and joins, and leaves no staged source file behind."""
    monkeypatch.setattr(steps, "READ_CHUNK_ROWS", 40)
    mapping = load_mapping(DEFAULT_MAPPINGS[application])
    whole = map_application(_validated(plaintext, application, None, None), mapping, SCHEMA)
    stage = tmp_path / "stage"
    stage.mkdir()
    validated = _validated(plaintext, application, None, stage)
    staged = map_application(validated, mapping, SCHEMA, release_sources=True)

    # ITAC's targets join tables; OPALES drops a table, whose filter records come from chunks.
    assert any(target.joins for target in mapping.targets) or mapping.dropped_tables
    assert list(staged.frames) == list(whole.frames)
    for target, frames in whole.frames.items():
        expected = pd.concat(frames)
        assert len(staged.frames[target]) > 1 or len(expected) <= 40, target
        pd.testing.assert_frame_equal(pd.concat(staged.frames[target]), expected, obj=target)
    pd.testing.assert_frame_equal(staged.rejects, whole.rejects)
    pd.testing.assert_frame_equal(staged.filters, whole.filters)
    assert staged.unknown_codes == whole.unknown_codes
    assert list(stage.iterdir()) == []


def test_referenced_tables_go_first():
    dictionary = load_dictionary("itac")
    order = parents_first(dictionary)

    assert sorted(order) == sorted(dictionary.tables)
    for name in order:
        for key in dictionary.tables[name].foreign_keys:
            assert order.index(key.ref_table) < order.index(name), (name, key.ref_table)
    # SUIVI references ETABLISSEMENT, which the dictionary lists after it.
    assert list(dictionary.tables).index("SUIVI") < list(dictionary.tables).index("ETABLISSEMENT")


def test_cycle_of_foreign_keys_validates_whole(plaintext, tmp_path):
    """Two tables that reference each other leave no table to take first. The function
    returns None, so the caller validates the application whole, and nothing is staged."""
    dictionary = load_dictionary("itac")
    dossier = dictionary.tables["DOSSIER"]
    back = ForeignKey(("NUM_DOSSIER",), "DEMANDE", ("NUM_DOSSIER",))
    tables = dict(dictionary.tables)
    tables["DOSSIER"] = dataclasses.replace(dossier, foreign_keys=[*dossier.foreign_keys, back])
    cyclic = dataclasses.replace(dictionary, tables=tables)

    assert parents_first(cyclic) is None
    assert validate_application_staged("ITAC", plaintext / "ITAC", cyclic, tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_staged_rows_keep_their_lines(plaintext, tmp_path):
    validated = _validated(plaintext, "ITAC", None, tmp_path)
    rows = validated.tables["DEMANDE"].all_rows()
    assert rows[LINE_COLUMN].is_monotonic_increasing
    assert rows.index.is_unique
