"""Column profiles counted chunk by chunk give the profile of the whole column."""

from __future__ import annotations

import pandas as pd
import pytest

from migration.dictionary.model import Column, load_dictionary
from migration.profiling import profile
from migration.profiling.profile import ColumnCounts

DICTIONARY = load_dictionary("itac")
VALUES = ["B", "A", None, "C", "A", "D", "E", "C", "F", "B", None, "G", "A", "longer value"]


def _profile(column: Column, values: list, chunk: int | None) -> dict:
    counts = ColumnCounts(column, DICTIONARY)
    chunk = chunk or len(values)
    for start in range(0, len(values), chunk):
        part = pd.Series(values[start : start + chunk], dtype=object)
        counts.add(len(part), part.value_counts(sort=False))
    return counts.profile()


@pytest.mark.parametrize("exact_distinct", [50_000, 2])
@pytest.mark.parametrize("chunk", [1, 2, 3, 5])
def test_chunks_give_the_whole_profile(monkeypatch, exact_distinct, chunk):
    """Every value that repeats does so in other chunks than its first, one row at a time."""
    monkeypatch.setattr(profile, "EXACT_DISTINCT", exact_distinct)
    column = Column("LIBELLE", type="text", length=10)

    assert _profile(column, VALUES, chunk) == _profile(column, VALUES, None)


def test_most_frequent_values_then_first_seen():
    result = _profile(Column("LIBELLE", type="text"), VALUES, 3)

    assert result["top"] == [
        {"value": "A", "count": 3},
        {"value": "B", "count": 2},
        {"value": "C", "count": 2},
        {"value": "D", "count": 1},
        {"value": "E", "count": 1},
    ]
    assert (result["nulls"], result["distinct"]) == (2, 8)
    assert (result["min"], result["max"], result["max_length"]) == ("A", "longer value", 12)


def test_many_distinct_values_list_those_that_repeat(monkeypatch):
    monkeypatch.setattr(profile, "EXACT_DISTINCT", 2)
    result = _profile(Column("LIBELLE", type="text"), VALUES, 4)

    assert result["top"] == [
        {"value": "A", "count": 3},
        {"value": "B", "count": 2},
        {"value": "C", "count": 2},
    ]
    assert result["distinct"] == 8


def test_personal_column_keeps_no_value(monkeypatch):
    monkeypatch.setattr(profile, "EXACT_DISTINCT", 2)
    counts = ColumnCounts(Column("NOM", type="text", personal=True), DICTIONARY)
    for start in range(0, len(VALUES), 4):
        part = pd.Series(VALUES[start : start + 4], dtype=object)
        counts.add(len(part), part.value_counts(sort=False))

    result = counts.profile()
    assert result["top"] == []
    assert result["min"] is None
    assert counts.repeated == {}
    assert result["distinct"] == 8
