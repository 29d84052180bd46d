"""Fixtures shared by the dictionary tests."""

from __future__ import annotations

import pytest

from migration.dictionary.model import Dictionary, load_dictionary


@pytest.fixture(params=["itac", "opales"])
def bundled(request) -> Dictionary:
    """Each bundled dictionary in turn."""
    return load_dictionary(request.param)
