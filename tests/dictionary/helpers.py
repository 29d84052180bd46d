"""Helpers shared by the dictionary tests."""

from __future__ import annotations

from pathlib import Path

from migration.dictionary.model import Dictionary

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def assert_same_dictionary(expected: Dictionary, actual: Dictionary) -> None:
    """Assert that two loaded dictionaries are equal field by field, path and checksum aside."""
    assert actual.application == expected.application
    assert actual.version == expected.version
    assert actual.sources == expected.sources
    assert actual.code_lists == expected.code_lists
    assert list(actual.tables) == list(expected.tables)
    for name, table in expected.tables.items():
        assert actual.tables[name] == table, f"table {name} differs"
