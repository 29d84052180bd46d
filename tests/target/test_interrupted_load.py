"""A load killed with SIGKILL while it writes leaves the database unchanged, and a rerun gives
the content of an uninterrupted load: on PostgreSQL in the middle of a COPY, on SQLite in the
middle of the inserts."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from migration.target.schema import build_metadata
from tests.target.killable_load import SCHEMA, load_synthetic
from tests.target.pipeline_rows import ROOT

PERSONS = 60_000
BASELINE_PERSONS = 1_000


@pytest.fixture
def databases(postgres_url):
    """Create two new databases on the test server and yield their URLs."""
    url = make_url(postgres_url)
    names = [f"mdph_reprise_kill_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield [url.set(database=name).render_as_string(hide_password=False) for name in names]
    with admin.connect() as connection:
        for name in names:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def snapshot(url: str) -> dict[str, tuple]:
    """Row count and MD5 of the sorted rows of every table of a load."""
    engine = sa.create_engine(url)
    content = {}
    with engine.connect() as connection:
        for name in build_metadata(SCHEMA).tables:
            content[name] = tuple(
                connection.execute(
                    sa.text(
                        f"SELECT count(*), md5(string_agg(t::text, E'\\n' ORDER BY t::text)) "
                        f'FROM "{name}" t'
                    )
                ).one()
            )
    engine.dispose()
    return content


def load_backends(monitor: sa.Connection, database: str) -> list[tuple[int, str, str]]:
    rows = monitor.execute(
        sa.text(
            "SELECT pid, state, query FROM pg_stat_activity "
            "WHERE datname = :database AND application_name = 'mdph-reprise'"
        ),
        {"database": database},
    )
    return [tuple(row) for row in rows]


def kill_during_copy(url: str, table: str, timeout: float = 60) -> None:
    """Run the large load in a subprocess and SIGKILL it while it copies into `table`."""
    database = make_url(url).database
    monitor_engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.target.killable_load", url, str(PERSONS), "run-big"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        with monitor_engine.connect() as monitor:
            deadline = time.monotonic() + timeout
            while True:
                active = [
                    query
                    for _, state, query in load_backends(monitor, database)
                    if state == "active" and query.startswith(f"COPY {table} ")
                ]
                if active:
                    break
                assert process.poll() is None, "the load ended before it copied into " + table
                assert time.monotonic() < deadline, "the load never copied into " + table
                time.sleep(0.005)
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=10) == -signal.SIGKILL

            # The server notices the closed socket and rolls the transaction back.
            deadline = time.monotonic() + 10
            while load_backends(monitor, database):
                assert time.monotonic() < deadline, "the killed load's session is still open"
                time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        monitor_engine.dispose()


@pytest.mark.postgres
def test_killed_copy_leaves_database_unchanged(databases):
    interrupted, uninterrupted = databases
    for url in databases:
        load_synthetic(url, BASELINE_PERSONS, "run-base")
    before = snapshot(interrupted)

    kill_during_copy(interrupted, "dossier")

    assert snapshot(interrupted) == before
    rerun = load_synthetic(interrupted, PERSONS, "run-big")
    load_synthetic(uninterrupted, PERSONS, "run-big")
    assert rerun.changes["individu"]["added"] == PERSONS - BASELINE_PERSONS
    assert rerun.changes["individu"]["unchanged"] == BASELINE_PERSONS
    after = snapshot(interrupted)
    assert after["dossier"][0] == PERSONS
    assert after == snapshot(uninterrupted)


def sqlite_snapshot(path) -> dict[str, tuple]:
    """Row count and digest of the sorted rows of every table of a load, read with sqlite3."""
    connection = sqlite3.connect(path)
    try:
        content = {}
        for name in build_metadata(SCHEMA).tables:
            rows = sorted(repr(row) for row in connection.execute(f'SELECT * FROM "{name}"'))
            digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            content[name] = (len(rows), digest)
        return content
    finally:
        connection.close()


def test_killed_sqlite_load_leaves_file_unchanged(tmp_path):
    interrupted = tmp_path / "interrupted.sqlite"
    uninterrupted = tmp_path / "uninterrupted.sqlite"
    urls = [f"sqlite:///{path}" for path in (interrupted, uninterrupted)]
    for url in urls:
        load_synthetic(url, BASELINE_PERSONS, "run-base")
    before = sqlite_snapshot(interrupted)
    journal = tmp_path / "interrupted.sqlite-journal"

    process = subprocess.Popen(
        [sys.executable, "-m", "tests.target.killable_load", urls[0], str(PERSONS), "run-big"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    size_before = interrupted.stat().st_size
    try:
        # Pages that no longer fit in SQLite's cache go to the file before the commit, with a
        # rollback journal beside it: kill the load once 1 MB of its rows is in the file.
        deadline = time.monotonic() + 60
        while not journal.exists() or interrupted.stat().st_size < size_before + 1_000_000:
            assert process.poll() is None, "the load ended before it wrote 1 MB"
            assert time.monotonic() < deadline, "the load never wrote 1 MB"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert journal.exists()
    assert interrupted.stat().st_size > size_before
    assert sqlite_snapshot(interrupted) == before
    load_synthetic(urls[0], PERSONS, "run-big")
    load_synthetic(urls[1], PERSONS, "run-big")
    assert sqlite_snapshot(interrupted) == sqlite_snapshot(uninterrupted)
