"""Engines on real SQLite and PostgreSQL databases for the target tests."""

from __future__ import annotations

import pytest

from migration.target.engine import create_target_engine


@pytest.fixture
def sqlite_engine(tmp_path):
    """Engine on a new SQLite file."""
    engine = create_target_engine(f"sqlite:///{tmp_path / 'target.sqlite'}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine(postgres_url):
    """Engine on the session's PostgreSQL test database, emptied before and after the test.

    Other tests of the session load into the same database and may leave rows behind, and a
    load compares its rows with those already there.
    """
    engine = create_target_engine(postgres_url)
    _empty(engine)
    yield engine
    _empty(engine)
    engine.dispose()


def _empty(engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request):
    """Engine on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_engine")
    return request.getfixturevalue("postgres_engine")
