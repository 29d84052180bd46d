"""Tests of target engine creation: URL checks, connectivity errors, SQLite settings."""

from __future__ import annotations

import sqlite3
import uuid

import pytest
from sqlalchemy.engine import make_url

from migration.target.engine import (
    HIDDEN_URL,
    SQLITE_BEGIN_OPTION,
    create_target_engine,
    describe_url,
)
from migration.target.errors import TargetError


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://reprise:s3cret@db.example/mdph", "postgresql://reprise:***@db.example/mdph"),
        ("sqlite:///output/mdph.sqlite", "sqlite:///output/mdph.sqlite"),
        ("postgresql://reprise@db/mdph", "postgresql://reprise@db/mdph"),
        ("postgresql://reprise:s3cret@db:abc/mdph", "postgresql://reprise:***@db:abc/mdph"),
        (
            "postgresql://reprise@db/mdph?password=s3cret",
            "postgresql://reprise@db/mdph?password=***",
        ),
        (
            "postgresql://reprise@db/mdph?sslmode=require&PassWord=s3cret",
            "postgresql://reprise@db/mdph?PassWord=***&sslmode=require",
        ),
        (
            "postgresql://reprise@db/mdph?sslpassword=s3cret&sslmode=require",
            "postgresql://reprise@db/mdph?sslmode=require&sslpassword=***",
        ),
        (
            "postgresql://reprise@db:abc/mdph?password=s3cret",
            "postgresql://reprise@db:abc/mdph?password=***",
        ),
        ("postgresql://reprise:pa@s3cret@db/mdph", HIDDEN_URL),
        ("postgresql://reprise:pa@s3/cret@db/mdph", HIDDEN_URL),
        ("postgresql://reprise:pa@s3/cr#et@db/mdph", HIDDEN_URL),
        ("postgresql://reprise:pa/s3cret@db/mdph", "postgresql://reprise:***@db/mdph"),
        ("sqlite:////srv/m@dph/base.sqlite3", "sqlite:////srv/m%40dph/base.sqlite3"),
        ("postgresql://reprise:pa/s3cret@db:abc/mdph", HIDDEN_URL),
        ("postgresql//reprise:s3cret@db/mdph", HIDDEN_URL),
    ],
)
def test_describe_url_hides_password(url, expected):
    assert describe_url(url) == expected


def test_describe_url_accepts_url_object():
    url = make_url("postgresql://reprise:s3cret@db/mdph")

    assert describe_url(url) == "postgresql://reprise:***@db/mdph"


def assert_one_line_without_password(message: str) -> None:
    assert "\n" not in message
    assert "s3cret" not in message
    assert "--target or MDPH_TARGET_URL" in message


def test_unreachable_server_raises_one_line():
    url = "postgresql://postgres:s3cret@127.0.0.1:1/x"

    with pytest.raises(TargetError) as error:
        create_target_engine(url)

    message = str(error.value)
    assert_one_line_without_password(message)
    assert "cannot connect to the target database postgresql://postgres:***@127.0.0.1:1/x" in (
        message
    )
    assert error.value.__cause__ is None


def test_unreachable_server_hides_query_password():
    url = "postgresql://postgres@127.0.0.1:1/x?password=s3cret"

    with pytest.raises(TargetError) as error:
        create_target_engine(url)

    message = str(error.value)
    assert_one_line_without_password(message)
    assert "postgresql://postgres@127.0.0.1:1/x?password=***" in message


@pytest.mark.postgres
def test_engine_url_hides_query_password(postgres_url):
    # The test server trusts the user, so the password given in the query is not checked.
    url = make_url(postgres_url).update_query_dict({"password": "s3cret"})
    engine = create_target_engine(url.render_as_string(hide_password=False))
    try:
        shown = describe_url(engine.url)
    finally:
        engine.dispose()

    assert "s3cret" not in shown
    assert shown.endswith("?password=***")


@pytest.mark.postgres
def test_unknown_database_raises(postgres_url):
    name = f"mdph_reprise_absent_{uuid.uuid4().hex[:8]}"
    url = make_url(postgres_url).set(database=name, password="s3cret")
    text = url.render_as_string(hide_password=False)

    with pytest.raises(TargetError) as error:
        create_target_engine(text)

    message = str(error.value)
    assert_one_line_without_password(message)
    assert f'database "{name}" does not exist' in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "invalid target database URL: it does not parse"),
        ("postgresql://u:s3cret@h:abc/db", "invalid port 'abc' in the target database URL"),
        ("postgresql://u:s3cret@[::1]:abc/db", "invalid port 'abc' in the target database URL"),
        ("postgresql://u:pa@s3cret@h/db", 'percent-encode each "@"'),
        ("postgresql://u:pa@s3/cret@h/db", 'percent-encode each "@"'),
        ("postgresql://u:s3cret@h/db@x?sslmode=require", 'more than one "@"'),
        ("postgresql://u:Ab@s3/Ef#cret@127.0.0.1:1/db", 'more than one "@"'),
        ("postgresql://u:Ab@s3/Ef?cret@127.0.0.1:1/db", 'more than one "@"'),
        ("postgresql://u@h/db?password=Pa@s3/cret#x", 'more than one "@"'),
        ("postgresql://u:s3cret/db", 'the text after ":" in host:port is not a port number'),
        ("mysql://u:s3cret@localhost/db", "unsupported target database 'mysql'"),
        ("postgresql+psycopg://u:s3cret@localhost/db", "unsupported PostgreSQL driver 'psycopg'"),
    ],
)
def test_invalid_url_raises(url, expected):
    with pytest.raises(TargetError) as error:
        create_target_engine(url)

    message = str(error.value)
    assert_one_line_without_password(message)
    assert expected in message


def test_sqlite_missing_folder_raises(tmp_path):
    url = f"sqlite:///{tmp_path / 'absent' / 'mdph.sqlite'}"

    with pytest.raises(TargetError) as error:
        create_target_engine(url)

    message = str(error.value)
    assert_one_line_without_password(message)
    assert f"the folder {tmp_path / 'absent'} of the SQLite target database" in message


def test_sqlite_file_not_a_database_raises(tmp_path):
    path = tmp_path / "notdb.sqlite3"
    path.write_text("hello\n")

    with pytest.raises(TargetError) as error:
        create_target_engine(f"sqlite:///{path}")

    message = str(error.value)
    assert_one_line_without_password(message)
    assert f"the target file {path} is not an SQLite database" in message
    assert "give the name of a new file" in message
    assert path.read_text() == "hello\n"


def test_sqlite_engine_enforces_foreign_keys(sqlite_engine):
    with sqlite_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_sqlite_begin_immediate_takes_write_lock(tmp_path):
    path = tmp_path / "target.sqlite"
    engine = create_target_engine(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with engine.connect() as connection:
            connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            with connection.begin():
                with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                    other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
        engine.dispose()


def test_sqlite_plain_begin_is_deferred(tmp_path):
    path = tmp_path / "target.sqlite"
    engine = create_target_engine(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with engine.connect() as connection, connection.begin():
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()
        engine.dispose()
