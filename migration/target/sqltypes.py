"""SQLAlchemy column types that work on PostgreSQL and in SQLite STRICT tables.

A STRICT table accepts only the column types INTEGER, REAL, TEXT, BLOB and ANY. These types
render native types on PostgreSQL (VARCHAR(n), DATE, NUMERIC(p, s), BOOLEAN, TIMESTAMP WITH
TIME ZONE) and TEXT or INTEGER on SQLite, so a value reads back as the same Python object from
either database.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.types import TypeDecorator


class TargetDate(sa.Date):
    """A date: DATE on PostgreSQL; on SQLite, TEXT in ISO 8601 form (YYYY-MM-DD)."""

    cache_ok = True


class TargetBoolean(sa.Boolean):
    """A boolean: BOOLEAN on PostgreSQL; on SQLite, INTEGER 0 or 1."""

    cache_ok = True


@compiles(TargetDate, "sqlite")
def _compile_date_sqlite(type_, compiler, **kw):
    return "TEXT"


@compiles(TargetBoolean, "sqlite")
def _compile_boolean_sqlite(type_, compiler, **kw):
    return "INTEGER"


class TargetText(TypeDecorator):
    """Text: VARCHAR(length) or TEXT on PostgreSQL; TEXT on SQLite, where a CHECK constraint
    enforces the length."""

    impl = sa.String
    cache_ok = True

    def __init__(self, length: int | None = None, binary: bool = False):
        super().__init__(length)
        self.binary = binary

    def load_dialect_impl(self, dialect):
        # The plain type, not dialect.type_descriptor(): the PostgreSQL dialect would adapt Text
        # to its String class and render VARCHAR without a length.
        if dialect.name == "sqlite" or self.impl.length is None:
            return sa.Text()
        # A binary column compares bytes (COLLATE "C"), which sorts codes faster than a
        # language collation; SQLite compares text as bytes already.
        return sa.String(self.impl.length, collation="C" if self.binary else None)


class TargetDecimal(TypeDecorator):
    """An exact decimal: NUMERIC(precision, scale) on PostgreSQL; on SQLite, TEXT holding the
    decimal in fixed-point notation, because SQLite stores numbers as binary floats.

    SQLite cannot check the precision, so the loader checks it before writing.
    """

    impl = sa.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(
            sa.Numeric(self.impl.precision, self.impl.scale, asdecimal=True)
        )

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        return format(Decimal(value), "f")

    def process_result_value(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        return Decimal(value)


class TargetTimestamp(TypeDecorator):
    """A timezone-aware datetime: TIMESTAMP WITH TIME ZONE on PostgreSQL; on SQLite, TEXT in
    ISO 8601 form, converted to UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        return value.astimezone(dt.UTC).isoformat()

    def process_result_value(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        return dt.datetime.fromisoformat(value)


def sql_type(column) -> sa.types.TypeEngine:
    """Return the SQLAlchemy type of a TargetColumn."""
    if column.type == "text":
        return TargetText(column.length, binary=getattr(column, "binary", False))
    if column.type == "integer":
        return sa.Integer()
    if column.type == "decimal":
        return TargetDecimal(column.precision, column.scale)
    if column.type == "date":
        return TargetDate()
    if column.type == "boolean":
        return TargetBoolean(create_constraint=False)
    if column.type == "timestamp":
        return TargetTimestamp()
    raise ValueError(f"unknown column type {column.type!r}")
