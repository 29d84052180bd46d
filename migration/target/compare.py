"""Compare an existing database with the tables of a target schema and the product tables.

The comparison covers what a load relies on: every table and column, column types as the
database renders them, NULL and NOT NULL, primary keys, foreign keys and CHECK constraints,
and on SQLite the STRICT flag and the text of each CHECK (where text lengths live). Indexes
only speed up lookups, so a missing index is logged as a warning, not reported. Tables of the
database that neither the schema nor the product declares are left alone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from migration.target.model import TargetSchema
from migration.target.schema import build_metadata

logger = logging.getLogger(__name__)


def compare_database(
    bind: sa.Engine | sa.Connection, schema: TargetSchema, *, tables: list[str] | None = None
) -> list[str]:
    """List every difference between the database and `schema` plus the product tables.

    Args:
        bind: an engine, or a connection (for instance inside the load transaction).
        schema: the target schema the database should follow.
        tables: compare only these tables (target or product); default all of them.

    Returns:
        One sentence per difference, naming the table and the column or constraint, such as
        "table individu, column sexe: type VARCHAR(2) in the database, VARCHAR(1) expected".
        An empty list means the database matches.
    """
    metadata = build_metadata(schema)
    with _connect(bind) as connection:
        return compare_tables(connection, metadata, tables)


def compare_tables(
    connection: sa.Connection, metadata: sa.MetaData, tables: list[str] | None = None
) -> list[str]:
    """List the differences between the database and tables of `metadata` (default all)."""
    names = list(metadata.tables) if tables is None else tables
    inspector = sa.inspect(connection)
    existing = set(inspector.get_table_names())
    problems: list[str] = []
    for name in names:
        if name not in existing:
            problems.append(f"table {name} is missing")
            continue
        comparison = _TableComparison(connection, inspector, metadata.tables[name])
        problems.extend(comparison.run())
    return problems


@contextmanager
def _connect(bind: sa.Engine | sa.Connection) -> Iterator[sa.Connection]:
    if isinstance(bind, sa.Connection):
        yield bind
    else:
        with bind.connect() as connection:
            yield connection


class _TableComparison:
    def __init__(self, connection: sa.Connection, inspector, table: sa.Table) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.inspector = inspector
        self.table = table
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        self.problems.append(f"table {self.table.name}{text}")

    def run(self) -> list[str]:
        self.compare_columns()
        self.compare_primary_key()
        self.compare_foreign_keys()
        self.compare_checks()
        self.compare_indexes()
        if self.dialect.name == "sqlite":
            self.compare_strict()
        return self.problems

    def compare_columns(self) -> None:
        found = {column["name"]: column for column in self.inspector.get_columns(self.table.name)}
        for column in self.table.columns:
            reflected = found.get(column.name)
            if reflected is None:
                self.problem(f": column {column.name} is missing")
                continue
            expected_type = _type_text(column.type, self.dialect)
            found_type = _type_text(reflected["type"], self.dialect)
            if expected_type != found_type:
                self.problem(
                    f", column {column.name}: type {found_type} in the database, "
                    f"{expected_type} expected"
                )
            if bool(reflected["nullable"]) != bool(column.nullable):
                found_null = "NULL" if reflected["nullable"] else "NOT NULL"
                expected_null = "NULL" if column.nullable else "NOT NULL"
                self.problem(
                    f", column {column.name}: {found_null} in the database, {expected_null} "
                    "expected"
                )
        for name in found:
            if name not in self.table.columns:
                self.problem(f": column {name} is not in the target schema")

    def compare_primary_key(self) -> None:
        expected = [column.name for column in self.table.primary_key.columns]
        found = self.inspector.get_pk_constraint(self.table.name).get("constrained_columns") or []
        if list(found) != expected:
            shown = ", ".join(found) if found else "none"
            self.problem(
                f": primary key ({shown}) in the database, ({', '.join(expected)}) expected"
            )

    def compare_foreign_keys(self) -> None:
        expected = {_foreign_key_text(fk) for fk in self.table.foreign_key_constraints}
        found = {
            _reflected_foreign_key_text(fk)
            for fk in self.inspector.get_foreign_keys(self.table.name)
        }
        for text in sorted(expected - found):
            self.problem(f": foreign key {text} is missing")
        for text in sorted(found - expected):
            self.problem(f": foreign key {text} is not in the target schema")

    def compare_checks(self) -> None:
        expected = {
            str(constraint.name): constraint
            for constraint in self.table.constraints
            if isinstance(constraint, sa.CheckConstraint)
            and constraint.info.get("dialect") in (None, self.dialect.name)
        }
        found = {
            check["name"]: check["sqltext"]
            for check in self.inspector.get_check_constraints(self.table.name)
            if check.get("name")
        }
        for name, constraint in sorted(expected.items()):
            if name not in found:
                self.problem(f": CHECK constraint {name} is missing")
            elif self.dialect.name == "sqlite":
                # PostgreSQL rewrites the text of a CHECK, so only SQLite's text is compared.
                expected_text = _normalize(
                    str(
                        constraint.sqltext.compile(
                            dialect=self.dialect,
                            compile_kwargs={"include_table": False, "literal_binds": True},
                        )
                    )
                )
                if _normalize(found[name]) != expected_text:
                    self.problem(
                        f": CHECK constraint {name} is ({_normalize(found[name])}) in the "
                        f"database, ({expected_text}) expected"
                    )

    def compare_indexes(self) -> None:
        found = {
            tuple(index["column_names"]) for index in self.inspector.get_indexes(self.table.name)
        }
        for index in self.table.indexes:
            columns = tuple(column.name for column in index.columns)
            if columns not in found:
                logger.warning(
                    "table %s has no index on (%s): loads and lookups will be slower",
                    self.table.name,
                    ", ".join(columns),
                )

    def compare_strict(self) -> None:
        rows = self.connection.exec_driver_sql(
            "SELECT strict FROM pragma_table_list WHERE schema = 'main' AND name = ?",
            (self.table.name,),
        ).all()
        if rows and not rows[0][0]:
            self.problem(": not a STRICT table, so SQLite would store values of any type")


def _type_text(type_: sa.types.TypeEngine, dialect: sa.Dialect) -> str:
    try:
        text = type_.compile(dialect=dialect)
    except sa.exc.CompileError:
        text = repr(type_)
    return _normalize(text).upper()


def _normalize(text: str) -> str:
    text = re.sub(r"\s+", " ", text.strip())
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for character in text:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth < 0:
            return False
    return depth == 0


def _foreign_key_text(constraint: sa.ForeignKeyConstraint) -> str:
    columns = [element.parent.name for element in constraint.elements]
    referred = [element.column.name for element in constraint.elements]
    return _fk_text(columns, constraint.referred_table.name, referred)


def _reflected_foreign_key_text(reflected: dict) -> str:
    return _fk_text(
        reflected["constrained_columns"], reflected["referred_table"], reflected["referred_columns"]
    )


def _fk_text(columns, referred_table: str, referred_columns) -> str:
    return f"({', '.join(columns)}) -> {referred_table} ({', '.join(referred_columns)})"
