"""Describe a database error without quoting any value it carries.

PostgreSQL puts row values in the detail and context of many errors ("Key (nir)=(...) already
exists", "Failing row contains (...)"), and in the primary message of data errors ("invalid
input syntax for type date: ..."). Those values are personal data, so the description here is
built only from the SQLSTATE code and the names of the constraint, table and column. SQLite
constraint messages ("NOT NULL constraint failed: individu.nom_naissance") name the table,
column or constraint but no value, so their text is kept.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

import sqlalchemy as sa

try:
    import psycopg2
    from psycopg2 import errorcodes
except ImportError:  # psycopg2 is a dependency, but SQLite loads work without it
    psycopg2 = None
    errorcodes = None

# The context of a COPY error starts with "COPY table, line N" and may go on with
# ", column C: <value>"; only the table, line and column are read.
_COPY_CONTEXT = re.compile(
    r"COPY (?P<table>[^,]+), line (?P<line>\d+)(?:, column (?P<column>\w+))?"
)
_SQLITE_COLUMN = re.compile(r"constraint failed: (?P<table>\w+)\.(?P<column>\w+)")
_SQLITE_DATATYPE = re.compile(r"column (?P<table>\w+)\.(?P<column>\w+)")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (?P<constraint>\w+)")


@dataclass
class DatabaseFailure:
    """What failed, in terms safe to show: no row value.

    Attributes:
        kind: not_null, unique, foreign_key, check, datatype, locked or other.
        summary: a short description of the failure.
        constraint: the name of the constraint that failed, when the database gives it.
        column: the column involved, when the database gives it.
        copy_line: for a PostgreSQL COPY, the line of the data where the error happened.
    """

    kind: str
    summary: str
    constraint: str | None = None
    column: str | None = None
    copy_line: int | None = None


def describe_failure(exc: BaseException) -> DatabaseFailure:
    """Classify an SQLAlchemy, psycopg2 or sqlite3 error."""
    original = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    if psycopg2 is not None and isinstance(original, psycopg2.Error):
        return _describe_postgresql(original)
    if isinstance(original, sqlite3.Error):
        return _describe_sqlite(original)
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        # A Python error while binding parameters; its text may quote a value.
        return DatabaseFailure("other", f"{type(exc.orig).__name__} while binding parameters")
    return DatabaseFailure("other", type(original).__name__)


def _describe_postgresql(error) -> DatabaseFailure:
    code = error.pgcode
    diag = error.diag
    if code is None:
        # No SQLSTATE: a client-side error such as a lost connection, whose text has no row value.
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        return DatabaseFailure("other", lines[0] if lines else type(error).__name__)

    copy_line = None
    column = diag.column_name
    match = _COPY_CONTEXT.match(diag.context or "")
    if match:
        copy_line = int(match.group("line"))
        column = column or match.group("column")
    constraint = diag.constraint_name
    name = (errorcodes.lookup(code) or "").lower().replace("_", " ") or "database error"

    if code == errorcodes.NOT_NULL_VIOLATION:
        kind, summary = "not_null", f"column {column} is NULL but declared NOT NULL"
    elif code == errorcodes.FOREIGN_KEY_VIOLATION:
        kind, summary = "foreign_key", f"foreign key {constraint} is violated"
    elif code == errorcodes.UNIQUE_VIOLATION:
        kind, summary = "unique", f"duplicate key: constraint {constraint} is violated"
    elif code == errorcodes.CHECK_VIOLATION:
        kind, summary = "check", f"check constraint {constraint} is violated"
    elif code == errorcodes.LOCK_NOT_AVAILABLE or code == errorcodes.DEADLOCK_DETECTED:
        kind, summary = "locked", f"{name} (SQLSTATE {code})"
    elif code == errorcodes.STRING_DATA_RIGHT_TRUNCATION:
        kind = "datatype"
        summary = f"a value in column {column} is longer than the column's length (SQLSTATE {code})"
    elif code == errorcodes.NUMERIC_VALUE_OUT_OF_RANGE:
        kind = "datatype"
        summary = f"a value in column {column} exceeds the column's precision (SQLSTATE {code})"
    elif code.startswith("22"):
        where = f" in column {column}" if column else ""
        kind, summary = "datatype", f"invalid value{where}: {name} (SQLSTATE {code})"
    else:
        kind, summary = "other", f"{name} (SQLSTATE {code})"
    return DatabaseFailure(kind, summary, constraint, column, copy_line)


def _describe_sqlite(error: sqlite3.Error) -> DatabaseFailure:
    text = str(error)
    error_name = getattr(error, "sqlite_errorname", "") or ""
    if error_name == "SQLITE_CONSTRAINT_NOTNULL":
        match = _SQLITE_COLUMN.search(text)
        column = match.group("column") if match else None
        return DatabaseFailure(
            "not_null", f"column {column} is NULL but declared NOT NULL", None, column
        )
    if error_name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
        # SQLite names the columns, not the constraint; the caller knows the primary key name.
        return DatabaseFailure("unique", f"duplicate key ({text})")
    if error_name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return DatabaseFailure("foreign_key", "a foreign key is violated")
    if error_name == "SQLITE_CONSTRAINT_CHECK":
        match = _SQLITE_CHECK.search(text)
        constraint = match.group("constraint") if match else None
        return DatabaseFailure("check", f"check constraint {constraint} is violated", constraint)
    if error_name == "SQLITE_CONSTRAINT_DATATYPE":
        match = _SQLITE_DATATYPE.search(text)
        column = match.group("column") if match else None
        return DatabaseFailure("datatype", text, None, column)
    if error_name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return DatabaseFailure(
            "locked", f"{text} (another process is writing to this database; retry when it is done)"
        )
    return DatabaseFailure("other", text)
