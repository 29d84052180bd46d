"""A load that fails into a SQLite file: the file the run created goes, an older one stays."""

import pytest
import sqlalchemy as sa

from migration import run as run_module
from migration.run import RunOptions, run_migration
from migration.target.errors import TargetError
from tests.sample_delivery import generate_plaintext


def _failing_load(engine, *args, **kwargs):
    # A full disk stops SQLite in the middle of the load, with a journal beside the file.
    database = engine.url.database
    with open(f"{database}-journal", "wb") as journal:
        journal.write(b"pages of the rolled-back load")
    raise TargetError("inserting into table dossier failed: database or disk is full")


def test_failed_load_removes_new_sqlite_file(tmp_path, monkeypatch):
    delivery = generate_plaintext(tmp_path / "delivery", persons=60)
    database = tmp_path / "mdph.sqlite3"
    monkeypatch.setattr(run_module, "load_run", _failing_load)

    with pytest.raises(TargetError, match="database or disk is full"):
        run_migration(RunOptions(delivery, f"sqlite:///{database}", tmp_path / "r"), "unused")

    assert not database.exists()
    assert not (tmp_path / "mdph.sqlite3-journal").exists()


def test_failed_load_keeps_existing_sqlite_file(tmp_path, monkeypatch):
    delivery = generate_plaintext(tmp_path / "delivery", persons=60)
    database = tmp_path / "mdph.sqlite3"
    url = f"sqlite:///{database}"
    assert run_migration(RunOptions(delivery, url, tmp_path / "r1"), "unused").succeeded
    monkeypatch.setattr(run_module, "load_run", _failing_load)

    with pytest.raises(TargetError, match="database or disk is full"):
        run_migration(RunOptions(delivery, url, tmp_path / "r2"), "unused")

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        runs = connection.execute(sa.text("SELECT count(*) FROM reprise_run")).scalar_one()
    engine.dispose()
    assert runs == 1
