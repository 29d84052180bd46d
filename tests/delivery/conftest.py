"""Pytest fixtures of the delivery tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.delivery.helpers import build_delivery


@pytest.fixture
def itac_delivery(tmp_path: Path) -> Path:
    """A delivery with ITAC/DOSSIER.csv.enc and ITAC/EXTRACTION_ITAC.log.enc (PBKDF2)."""
    return build_delivery(
        tmp_path,
        {
            "ITAC/DOSSIER.csv.enc": "pbkdf2-sha256.csv.enc",
            "ITAC/EXTRACTION_ITAC.log.enc": "EXTRACTION_ITAC.log.enc",
        },
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A private, not yet created work folder."""
    return tmp_path / "work"
