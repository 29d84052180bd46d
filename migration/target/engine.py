"""Create the engine of the target database: SQLite for the demo, PostgreSQL for real use.

This module is the one place that creates target engines, so every engine hides statement
parameters in its errors (they are personal data) and, on SQLite, enforces foreign keys.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from migration.target.errors import TargetError

logger = logging.getLogger(__name__)

SQLITE_BEGIN_OPTION = "mdph_sqlite_begin"
"""Connection execution option holding the SQLite BEGIN mode ("IMMEDIATE" for loads)."""

HIDDEN_URL = "(URL not shown: its password cannot be located)"
"""Text that `describe_url` returns for a URL it cannot show without risking its password."""

_FIX = "check --target or MDPH_TARGET_URL"
_EXAMPLES = "sqlite:///output/mdph.sqlite or postgresql://user:password@host:5432/database"
_MANY_AT_SIGNS = (
    'invalid target database URL: more than one "@", so the password cannot be told from the '
    'host and the URL is not shown; percent-encode each "@" in the user name, password or '
    f"query as %40 (user:pa%40ss@host/db); {_FIX}"
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_PASSWORD_IN_URL = re.compile(r"(?P<head>://[^/?#@]*?:)[^/?#@]*@")
# libpq and psycopg2 also take the password as a query parameter (?password=...), and libpq
# the passphrase of a client key as sslpassword.
_PASSWORD_KEY = re.compile(r"pass(?:word|wd)", re.IGNORECASE)
_PASSWORD_IN_QUERY = re.compile(
    r"(?P<head>[?&][^=&#]*pass(?:word|wd)[^=&#]*=)[^&#]*", re.IGNORECASE
)


def describe_url(url: str | URL) -> str:
    """Return `url` as text with its password replaced by ***.

    The password of "user:password@" and the value of a query parameter such as password or
    sslpassword are hidden. A string that SQLAlchemy cannot parse is cleaned of anything
    between "user:" and "@" and of those query values when its authority (the text between
    "://" and the next "/", "?" or "#") contains exactly one "@". Any other string, a URL
    whose host contains "@" and a server URL with more than one "@" are replaced by
    `HIDDEN_URL`, because where their password ends is unknown.
    """
    if isinstance(url, URL):
        if url.host and "@" in url.host:
            return HIDDEN_URL
        text = url.render_as_string(hide_password=True)
    else:
        text = str(url)
        if not text:
            return text
        if _several_at_signs(text):
            return HIDDEN_URL
        try:
            parsed = make_url(text)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            if _authority(text).count("@") != 1:
                return HIDDEN_URL
            text = _PASSWORD_IN_URL.sub(r"\g<head>***@", text)
        else:
            return describe_url(parsed)
    return _PASSWORD_IN_QUERY.sub(r"\g<head>***", text)


def parse_target_url(url: str | URL) -> URL:
    """Parse a target database URL, rejecting the forms whose password could be misread.

    Raises:
        TargetError: the URL does not parse, a server URL has more than one "@", or the port
            is not a number. The one-line message never contains the URL's text, only the port
            when the URL has exactly one "@" before it.
    """
    if isinstance(url, URL):
        parsed = url
    else:
        text = str(url)
        authority = _authority(text)
        if authority.count("@") > 1 or _several_at_signs(text):
            raise TargetError(_MANY_AT_SIGNS)
        try:
            parsed = make_url(text)
        except ArgumentError:
            hint = "" if _SCHEME.match(text) else ' (no "://" after the dialect name)'
            raise TargetError(
                f"invalid target database URL: it does not parse{hint}, so it is not shown; "
                f"{_FIX} (expected the form {_EXAMPLES})"
            ) from None
        except ValueError:  # SQLAlchemy's int() of the port
            raise TargetError(_invalid_port(authority)) from None
    if parsed.host and "@" in parsed.host:
        raise TargetError(_MANY_AT_SIGNS)
    return parsed


def refuse_password_argument(url: str, option: str = "--target") -> None:
    """Raise TargetError when a URL given on the command line contains a password.

    Other users of the machine can read a process's arguments, and the workers of a run copy
    them. A malformed URL gets the error of `parse_target_url` first, which hides it.
    """
    parsed = parse_target_url(url)
    in_query = any(_PASSWORD_KEY.search(str(key)) for key in parsed.query)
    if parsed.password or in_query:
        raise TargetError(
            f"{option} contains a database password, which other users of this machine can read "
            "in the list of processes, so it is not used; put the URL in MDPH_TARGET_URL, or "
            "the password in ~/.pgpass (mode 600) or PGPASSWORD, and run again"
        )


def _several_at_signs(text: str) -> bool:
    """Tell whether a server URL has more than one "@" after its "://".

    SQLAlchemy ends the password at the first "@", so the rest of a password holding "@"
    (u:a@b/c@host/db, or u:a@b#c@host/db) would become the host, the database or the query,
    and reach connection errors. SQLite URLs are left out, because a file path may hold "@".
    """
    match = _SCHEME.match(text)
    if match is None or text.lower().startswith("sqlite"):
        return False
    return text[match.end() :].count("@") > 1


def _authority(text: str) -> str:
    """Return the text between "://" and the next "/", "?" or "#", or "" without "://"."""
    match = _SCHEME.match(text)
    if match is None:
        return ""
    return re.split(r"[/?#]", text[match.end() :], maxsplit=1)[0]


def _invalid_port(authority: str) -> str:
    if authority.count("@") != 1:
        # Without "user:password@", the text after ":" may be a password, so it is not shown.
        return (
            'invalid target database URL: the text after ":" in host:port is not a port '
            "number, so it is not shown; if it is a password, write user:password@host; "
            f"{_FIX} (expected the form {_EXAMPLES})"
        )
    host_port = authority.rpartition("@")[2]
    if host_port.startswith("["):  # [IPv6 address]:port
        port = host_port.partition("]")[2].removeprefix(":")
    else:
        port = host_port.partition(":")[2]
    return (
        f"invalid port {port!r} in the target database URL: a port is a number from 1 to "
        f"65535, such as 5432; {_FIX}"
    )


def create_target_engine(url: str | URL) -> sa.Engine:
    """Create an engine for the target database and check at once that it can connect.

    Only SQLite (the standard `sqlite3` module) and PostgreSQL through psycopg2 are supported,
    because the loader uses psycopg2's COPY for PostgreSQL. On SQLite, foreign keys are enforced
    on every connection, and a connection whose `mdph_sqlite_begin` execution option is
    "IMMEDIATE" starts its transactions with BEGIN IMMEDIATE.

    Raises:
        TargetError: the URL is invalid (see `parse_target_url`) or names an unsupported
            database, the SQLite file's folder does not exist or the file is not an SQLite
            database, or the server is unreachable or rejects the connection. The one-line
            message shows the URL with its password hidden.
    """
    parsed = parse_target_url(url)
    display_url = describe_url(parsed)

    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _check_sqlite_path(parsed, display_url)
    elif backend == "postgresql":
        # SQLAlchemy 2.1 picks psycopg (version 3) for a bare postgresql:// URL, but the loader
        # needs psycopg2's copy_expert, so the driver is set explicitly.
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg2")
        driver = parsed.get_driver_name()
        if driver != "psycopg2":
            raise TargetError(
                f"unsupported PostgreSQL driver {driver!r} in target URL {display_url}: use "
                f"postgresql:// or postgresql+psycopg2://; {_FIX}"
            )
    else:
        raise TargetError(
            f"unsupported target database {backend!r} in URL {display_url}: use sqlite:/// or "
            f"postgresql://; {_FIX}"
        )

    options: dict = {"hide_parameters": True}
    if backend == "postgresql":
        options["connect_args"] = {"application_name": "mdph-reprise", "client_encoding": "utf8"}
    try:
        engine = sa.create_engine(parsed, **options)
    except Exception as exc:  # NoSuchModuleError, ArgumentError on bad query options
        raise TargetError(
            f"cannot use target database URL {display_url}: {_first_line(exc, url)}; {_FIX}"
        ) from None
    if backend == "sqlite":
        _configure_sqlite(engine)

    # SQLite opens a file lazily: only reading the schema finds a file that is not a database.
    probe = "SELECT count(*) FROM sqlite_master" if backend == "sqlite" else "SELECT 1"
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(probe)
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        if getattr(exc.orig, "sqlite_errorname", None) == "SQLITE_NOTADB":
            raise TargetError(
                f"the target file {parsed.database} is not an SQLite database; check the path "
                f"in --target or MDPH_TARGET_URL, or give the name of a new file for a new "
                "database"
            ) from None
        reason = _first_line(exc.orig, url)
        raise TargetError(
            f"cannot connect to the target database {display_url}: {reason}; {_FIX}"
        ) from None
    logger.info("connected to the target database %s", display_url)
    return engine


def _check_sqlite_path(parsed: URL, display_url: str) -> None:
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    folder = Path(database).expanduser().resolve().parent
    if not folder.is_dir():
        raise TargetError(
            f"the folder {folder} of the SQLite target database {display_url} does not exist; "
            f"create it or {_FIX}"
        )


def _configure_sqlite(engine: sa.Engine) -> None:
    # The sqlite3 module of Python 3.11 opens transactions itself, only before DML and always in
    # DEFERRED mode. Switching it to autocommit and emitting BEGIN from the "begin" event gives
    # SQLAlchemy control over when a transaction starts and in which mode.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "")
        if mode not in ("", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValueError(f"invalid SQLite BEGIN mode {mode!r}")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


def _first_line(exc: BaseException, url: str | URL) -> str:
    """Return the first non-empty line of an error message, without the URL's passwords."""
    text = str(exc).strip()
    line = next((part.strip() for part in text.splitlines() if part.strip()), type(exc).__name__)
    line = _PASSWORD_IN_QUERY.sub(r"\g<head>***", _PASSWORD_IN_URL.sub(r"\g<head>***@", line))
    for password in _passwords(url):
        line = line.replace(password, "***")
    return line


def _passwords(url: str | URL) -> list[str]:
    """Return the password of `url` and the values of its password query parameters."""
    try:
        parsed = make_url(url)
    except Exception:  # the URL did not parse; describe_url already redacted what it could
        return []
    found = [str(parsed.password)] if parsed.password else []
    for key, value in parsed.query.items():
        if _PASSWORD_KEY.search(key):
            values = value if isinstance(value, tuple) else (value,)
            found += [str(item) for item in values if item]
    return found
