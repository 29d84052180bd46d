"""Fixtures of the sample-delivery tests: runs of sample_data/generate.py into temporary folders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from migration.dictionary.model import Dictionary, load_dictionary

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "sample_data" / "generate.py"
BUNDLED = REPO / "sample_data" / "delivery"
BUNDLED_EXPECTED = REPO / "sample_data" / "expected.json"
README = REPO / "sample_data" / "README.md"
PASSWORD = "reprise-57-demo"


def run_generator(*args: str) -> subprocess.CompletedProcess:
    """Run the generator with the test's Python; return the finished process."""
    return subprocess.run(
        [sys.executable, str(GENERATOR), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def generate_into(out: Path, *args: str) -> Path:
    """Generate a delivery into `out` and return `out`; fail with the generator's stderr."""
    result = run_generator("--out", str(out), *args)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def default_plaintext(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default sample (seed 57, 650 persons) written as plaintext files."""
    return generate_into(tmp_path_factory.mktemp("plaintext") / "delivery", "--plaintext-only")


@pytest.fixture(scope="session")
def default_encrypted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default sample written encrypted into a temporary folder."""
    return generate_into(tmp_path_factory.mktemp("encrypted") / "delivery")


@pytest.fixture(scope="session")
def dictionaries() -> dict[str, Dictionary]:
    """The bundled ITAC and OPALES data dictionaries."""
    return {"ITAC": load_dictionary("itac"), "OPALES": load_dictionary("opales")}
