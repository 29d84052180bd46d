"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_url():
    """Yield the URL of a fresh PostgreSQL database, dropped at the end of the session.

    The server comes from MDPH_TEST_POSTGRES_URL (default: postgres on 127.0.0.1:5432, database
    test), whose user must be allowed to create databases. An unreachable server skips the
    tests, except under CI=true where it fails them.
    """
    admin_url = make_url(os.environ.get("MDPH_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    if admin_url.drivername == "postgresql":
        # SQLAlchemy 2.1 picks psycopg 3 for a bare postgresql:// URL, so psycopg2 is set here.
        admin_url = admin_url.set(drivername="postgresql+psycopg2")
    shown_url = admin_url.render_as_string(hide_password=True)
    name = f"mdph_reprise_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", hide_parameters=True)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.DBAPIError as exc:
        admin.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else repr(exc)
        message = f"PostgreSQL test server {shown_url} is not usable: {reason}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true, so PostgreSQL tests must run)")
        pytest.skip(message + "; point MDPH_TEST_POSTGRES_URL at a reachable server to run them")

    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
