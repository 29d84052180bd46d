"""A redelivery of OPALES alone, after a full run: the children still merge with the adults."""

import re
from pathlib import Path

import sqlalchemy as sa

from migration.run import STATUS_REMOVALS_REJECTED, RunOptions, run_migration
from tests.sample_delivery import generate_plaintext, without_itac

ROOT = Path(__file__).resolve().parents[1]


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()
    engine.dispose()
    return count


def test_opales_alone_keeps_one_person_per_person(tmp_path):
    full = generate_plaintext(tmp_path / "full")
    opales = without_itac(full, tmp_path / "opales")

    url = f"sqlite:///{tmp_path / 'mdph.sqlite3'}"
    first = run_migration(RunOptions(full, url, tmp_path / "r1"), "unused")
    assert first.succeeded
    people = _count(url, "individu")

    again = run_migration(RunOptions(opales, url, tmp_path / "r2"), "unused")
    assert again.succeeded, again.summary.get("blocking")
    assert (
        again.summary["identity"]["cross_application"]
        == first.summary["identity"]["cross_application"]
    )
    assert _count(url, "individu") == people
    assert again.summary["changes"]["individu"]["added"] == 0
    assert again.summary["changes"]["individu"]["removed"] == 0


def test_small_opales_delivery_cannot_replace_opales_rows(tmp_path):
    full = generate_plaintext(tmp_path / "full")
    small = without_itac(generate_plaintext(tmp_path / "small60", persons=60), tmp_path / "small")
    url = f"sqlite:///{tmp_path / 'mdph.sqlite3'}"
    assert run_migration(RunOptions(full, url, tmp_path / "r1"), "unused").succeeded
    children = _count(url, "representant_legal")

    stopped = run_migration(RunOptions(small, url, tmp_path / "r2"), "unused")
    assert stopped.status == STATUS_REMOVALS_REJECTED
    assert re.search(
        r"rows in table \w+ \(\d+\.\d%\); nothing was loaded", stopped.summary["load_error"]
    )
    # individu also contains the adults of ITAC, which the check leaves out of the OPALES rows.
    assert "rows in table individu" in stopped.summary["load_error"]
    assert stopped.reports["html"].exists()

    assert _count(url, "representant_legal") == children
    allowed = RunOptions(small, url, tmp_path / "r3", allow_removals=True)
    assert run_migration(allowed, "unused").succeeded
    assert _count(url, "representant_legal") < children
