"""The pytest settings of pyproject.toml: temporary folders kept only for failed tests."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = """
def test_passes(tmp_path):
    (tmp_path / "passed.txt").write_text("x")


def test_fails(tmp_path):
    (tmp_path / "failed.txt").write_text("x")
    assert FAIL
"""


def run_pytest(folder: Path, fail: bool) -> subprocess.CompletedProcess:
    """Run pytest with the project's settings on two small tests, one failing when `fail`."""
    (folder / "test_sample.py").write_text(TESTS.replace("FAIL", str(not fail)))
    # PYTEST_DEBUG_TEMPROOT moves the root of the temporary folders out of the user's one.
    env = {**os.environ, "PYTEST_DEBUG_TEMPROOT": str(folder / "temproot")}
    command = [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml")]
    command += ["--rootdir", str(folder), "-p", "no:cacheprovider", str(folder)]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=folder)


def kept_files(folder: Path) -> list[str]:
    return sorted(path.name for path in (folder / "temproot").rglob("*.txt"))


def test_passing_run_keeps_no_folder(tmp_path):
    (tmp_path / "temproot").mkdir()

    result = run_pytest(tmp_path, fail=False)

    assert result.returncode == 0, result.stdout
    assert not list((tmp_path / "temproot").glob("pytest-of-*/pytest-[0-9]*"))


def test_failed_test_keeps_its_folder(tmp_path):
    (tmp_path / "temproot").mkdir()

    result = run_pytest(tmp_path, fail=True)

    assert result.returncode == 1, result.stdout
    assert kept_files(tmp_path) == ["failed.txt"]
