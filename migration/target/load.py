"""Load the mapped rows, rejects and lineage of a run into the target database.

One transaction covers the whole load, so the target either holds the complete result of this
run or is left as it was:

1. take the load lock (PostgreSQL advisory lock, or BEGIN IMMEDIATE on SQLite) so that two runs
   never interleave;
2. create the missing tables and check that existing ones have the expected columns;
3. delete every row of the target tables, children first, then insert every frame, parents
   first;
4. replace the lineage, replace the run row and rejects of this run id, keeping other runs.

SQLite receives batched executemany inserts; PostgreSQL receives COPY ... FROM STDIN in CSV
format on the raw psycopg2 connection of the same transaction.
"""

from __future__ import annotations

import bisect
import io
import json
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa

from migration.target.db_errors import DatabaseFailure, describe_failure
from migration.target.engine import SQLITE_BEGIN_OPTION, describe_url
from migration.target.errors import TargetError
from migration.target.frames import PreparedTable, prepare_frame, prepare_record
from migration.target.model import TargetSchema
from migration.target.product_tables import (
    LINEAGE_TABLE,
    PRODUCT_TABLES,
    REJECT_ID_COLUMN,
    REJECT_TABLE,
    RUN_TABLE,
)
from migration.target.schema import build_metadata

logger = logging.getLogger(__name__)

LOAD_LOCK_KEY = 0x6D64706872657072
"""Key of the PostgreSQL advisory lock held by every load: the ASCII bytes of "mdphrepr"."""

SQLITE_CHUNK_ROWS = 10_000
POSTGRESQL_CHUNK_ROWS = 50_000

_DATABASE_ERRORS: tuple[type[BaseException], ...] = (sa.exc.SQLAlchemyError,)
try:
    import psycopg2

    _DATABASE_ERRORS += (psycopg2.Error,)
except ImportError:  # SQLite loads work without psycopg2
    psycopg2 = None


@dataclass
class LoadResult:
    """Rows written by a load: per target table, and the reject and lineage rows."""

    rows: dict[str, int]
    rejects: int = 0
    lineage: int = 0


def load_run(
    engine: sa.Engine,
    schema: TargetSchema,
    frames: dict[str, pd.DataFrame],
    rejects: pd.DataFrame,
    lineage: pd.DataFrame,
    run: dict[str, Any],
) -> LoadResult:
    """Replace the content of the target database with the result of one run.

    Args:
        engine: an engine from `create_target_engine`.
        schema: the target schema the frames follow.
        frames: target table name -> frame with that table's columns. A table without a frame
            is emptied.
        rejects: the reprise_rejet rows of this run, without `id`. A missing `run_id` column
            is filled with the run's id.
        lineage: the reprise_lignage rows of this run, filled the same way.
        run: the reprise_run row. A password in `target_url` is hidden before writing, and a
            dict or list in `summary_json` is written as JSON.

    Raises:
        TargetError: a frame does not fit its table (raised before the database is touched), or
            the database rejected the load. The load is then rolled back and the message names
            the table, the constraint and the SQL statement, never a row value.
    """
    started = time.monotonic()
    metadata = build_metadata(schema)
    prepared = _prepare(schema, frames, rejects, lineage, run)
    order = schema.table_order()

    loader = _Loader(engine.dialect, metadata, prepared)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            loader.connection = connection
            loader.step = _Step("starting the load transaction")
            with connection.begin():
                loader.run(order)
                loader.step = _Step("committing the load")
    except _DATABASE_ERRORS as exc:
        # The transaction is rolled back by now; the error is built from the loader's state.
        raise loader.error(exc) from None

    result = LoadResult(
        rows={name: len(prepared[name].rows) for name in order},
        rejects=len(prepared[REJECT_TABLE].rows),
        lineage=len(prepared[LINEAGE_TABLE].rows),
    )
    logger.info(
        "loaded run %s into %s: %d target rows in %d tables, %d rejects, %d lineage rows in %.1f s",
        run.get("run_id"),
        describe_url(engine.url),
        sum(result.rows.values()),
        len(result.rows),
        result.rejects,
        result.lineage,
        time.monotonic() - started,
    )
    return result


def _prepare(schema, frames, rejects, lineage, run) -> dict[str, PreparedTable]:
    """Check every input against its table before any database work."""
    unknown = sorted(name for name in frames if name not in schema.tables)
    if unknown:
        product = [name for name in unknown if name in PRODUCT_TABLES]
        hint = "; pass rejects, lineage and run separately" if product else ""
        raise TargetError(
            f"frames given for tables that schema {schema.name} does not have: "
            f"{', '.join(unknown)}{hint}; its tables are {', '.join(schema.tables)}"
        )

    prepared: dict[str, PreparedTable] = {}
    for name, table in schema.tables.items():
        frame = frames.get(name)
        if frame is None:
            frame = pd.DataFrame(columns=table.column_names)
        prepared[name] = prepare_frame(table, frame, schema.code_lists)

    run_row = dict(run)
    if "target_url" in run_row and run_row["target_url"] is not None:
        run_row["target_url"] = describe_url(str(run_row["target_url"]))
    if isinstance(run_row.get("summary_json"), dict | list):
        run_row["summary_json"] = json.dumps(
            run_row["summary_json"], ensure_ascii=False, sort_keys=True, default=str
        )
    prepared[RUN_TABLE] = prepare_record(
        PRODUCT_TABLES[RUN_TABLE], run_row, {}, label="the run record"
    )
    run_id = run_row.get("run_id")

    prepared[REJECT_TABLE] = prepare_frame(
        PRODUCT_TABLES[REJECT_TABLE],
        _with_run_id(rejects, run_id, "rejects"),
        {},
        generated=[REJECT_ID_COLUMN],
        label="the rejects frame",
    )
    prepared[LINEAGE_TABLE] = prepare_frame(
        PRODUCT_TABLES[LINEAGE_TABLE],
        _with_run_id(lineage, run_id, "lineage"),
        {},
        label="the lineage frame",
    )
    return prepared


def _with_run_id(frame: pd.DataFrame, run_id: Any, label: str) -> pd.DataFrame:
    if "run_id" not in frame.columns:
        frame = frame.copy()
        frame["run_id"] = run_id
        return frame
    others = frame["run_id"].dropna().unique().tolist()
    if any(value != run_id for value in others) or frame["run_id"].isna().any():
        raise TargetError(
            f"the {label} frame has rows whose run_id is not the run's id {run_id!r}; "
            "a load writes the rows of one run only"
        )
    return frame


@dataclass
class _Step:
    """The statement being executed, so an error can name it."""

    action: str = "starting the load"
    table: str | None = None
    statement: str | None = None
    chunk_start: int = 0
    chunk_line_ends: list[int] = field(default_factory=list)


class _Loader:
    def __init__(self, dialect: sa.Dialect, metadata: sa.MetaData, prepared) -> None:
        self.connection: sa.Connection | None = None
        self.dialect = dialect
        self.metadata = metadata
        self.prepared: dict[str, PreparedTable] = prepared
        self.step = _Step("connecting to the target database")

    def run(self, order: list[str]) -> None:
        self.lock()
        self.create_tables()

        # NOTE: every target table is replaced in full. A real MDPH will want finer-grained
        # replacement (only the rows of one application, or a diff against the previous
        # delivery when a corrected delivery arrives); that needs the lineage to drive deletes.
        # DELETE, unlike TRUNCATE, keeps the old rows readable by other sessions until the
        # commit; it is the slowest step of a rerun on large PostgreSQL tables.
        for name in reversed(order):
            self.execute(f"emptying table {name}", name, self.metadata.tables[name].delete())
        for name in order:
            self.insert(name)

        run_record = self.prepared[RUN_TABLE]
        run_id = run_record.rows[0][run_record.columns.index("run_id")]
        lineage = self.metadata.tables[LINEAGE_TABLE]
        rejects = self.metadata.tables[REJECT_TABLE]
        runs = self.metadata.tables[RUN_TABLE]
        self.execute("emptying the lineage", LINEAGE_TABLE, lineage.delete())
        self.execute(
            "deleting the rejects of this run id",
            REJECT_TABLE,
            rejects.delete().where(rejects.c.run_id == run_id),
        )
        self.execute(
            "deleting the run row of this run id",
            RUN_TABLE,
            runs.delete().where(runs.c.run_id == run_id),
        )
        for name in (RUN_TABLE, REJECT_TABLE, LINEAGE_TABLE):
            self.insert(name)

    def lock(self) -> None:
        if self.dialect.name == "postgresql":
            self.step = _Step("taking the load lock", statement="SELECT pg_advisory_xact_lock")
            self.connection.execute(
                sa.select(sa.func.pg_advisory_xact_lock(sa.literal(LOAD_LOCK_KEY, sa.BigInteger)))
            )
        elif self.dialect.name == "sqlite":
            # BEGIN IMMEDIATE, emitted by the engine, already holds the write lock.
            enforced = self.connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
            if not enforced:
                raise TargetError(
                    "the SQLite engine does not enforce foreign keys; create it with "
                    "migration.target.engine.create_target_engine"
                )

    def create_tables(self) -> None:
        self.step = _Step("creating the missing tables")
        self.metadata.create_all(self.connection)
        self.step = _Step("checking the existing tables")
        # NOTE: only column names are compared; a table created by an older schema with other
        # types, lengths or constraints passes this check and fails later, or not at all.
        inspector = sa.inspect(self.connection)
        for name, table in self.metadata.tables.items():
            found = {column["name"] for column in inspector.get_columns(name)}
            expected = {column.name for column in table.columns}
            if found != expected:
                missing = sorted(expected - found)
                unexpected = sorted(found - expected)
                display_url = describe_url(self.connection.engine.url)
                raise TargetError(
                    f"table {name} of the target database {display_url} does not match the target "
                    f"schema: missing columns {missing}, unexpected columns {unexpected}; load "
                    "into a new database or drop the table",
                    table=name,
                )

    def execute(self, action: str, table: str, statement: sa.Executable) -> None:
        self.step = _Step(action, table, str(statement.compile(dialect=self.dialect)))
        self.connection.execute(statement)

    def insert(self, name: str) -> None:
        prepared = self.prepared[name]
        if not prepared.rows:
            return
        if self.dialect.name == "postgresql":
            self.copy_postgresql(prepared)
        else:
            self.insert_many(prepared)
        logger.info("wrote %d rows into %s", len(prepared.rows), name)

    def insert_many(self, prepared: PreparedTable) -> None:
        table = self.metadata.tables[prepared.table.name]
        statement = table.insert()
        columns = prepared.columns
        text = str(statement.compile(dialect=self.dialect, column_keys=columns))
        for start in range(0, len(prepared.rows), SQLITE_CHUNK_ROWS):
            chunk = prepared.rows[start : start + SQLITE_CHUNK_ROWS]
            self.step = _Step(f"inserting into table {table.name}", table.name, text, start)
            self.connection.execute(
                statement, [dict(zip(columns, row, strict=True)) for row in chunk]
            )

    def copy_postgresql(self, prepared: PreparedTable) -> None:
        table = self.metadata.tables[prepared.table.name]
        preparer = self.dialect.identifier_preparer
        column_list = ", ".join(preparer.quote(name) for name in prepared.columns)
        statement = (
            f"COPY {preparer.format_table(table)} ({column_list}) FROM STDIN WITH (FORMAT csv)"
        )
        dbapi_connection = self.connection.connection.dbapi_connection
        with dbapi_connection.cursor() as cursor:
            for start in range(0, len(prepared.rows), POSTGRESQL_CHUNK_ROWS):
                chunk = prepared.rows[start : start + POSTGRESQL_CHUNK_ROWS]
                buffer, line_ends = _csv_buffer(chunk)
                self.step = _Step(
                    f"copying into table {table.name}", table.name, statement, start, line_ends
                )
                cursor.copy_expert(statement, buffer)

    def error(self, exc: BaseException) -> TargetError:
        """Build the TargetError for a database error raised during the current step."""
        step = self.step
        failure = describe_failure(exc)
        statement = step.statement or getattr(exc, "statement", None)
        prepared = self.prepared.get(step.table) if step.table else None
        constraint = failure.constraint

        where = ""
        if prepared is not None and step.action.startswith(("inserting", "copying")):
            position, found_constraint = self.locate(failure, prepared, step)
            constraint = constraint or found_constraint
            if constraint and failure.kind == "foreign_key":
                failure.summary = f"foreign key {constraint} is violated"
            if position is not None:
                key = prepared.key_of(position)
                key_text = f" ({key})" if key else ""
                where = f" at row {position + 1} of the {step.table} frame{key_text}"
        if failure.kind == "unique" and constraint is None and prepared is not None:
            # The primary key is the only unique constraint of these tables.
            constraint = f"pk_{prepared.table.name}"
            failure.summary = f"duplicate key: constraint {constraint} is violated"

        if failure.kind == "locked":
            advice = "wait for the other run to finish and run again"
        elif failure.kind == "other" or step.table is None:
            advice = "check the target database and run again"
        else:
            advice = f"fix the mapping or the source rows behind table {step.table} and run again"
        message = (
            f"{step.action} failed{where}: {failure.summary}; the load was rolled back and the "
            f"target database is unchanged; {advice}. Statement: {_one_line(statement)}"
        )
        return TargetError(message, table=step.table, constraint=constraint, statement=statement)

    def locate(self, failure: DatabaseFailure, prepared: PreparedTable, step: _Step):
        """Find the row behind a failure: from the COPY line, else by checking the rows."""
        if failure.copy_line is not None and step.chunk_line_ends:
            index = bisect.bisect_left(step.chunk_line_ends, failure.copy_line)
            if index < len(step.chunk_line_ends):
                return step.chunk_start + index, None
        return find_violation(prepared, self.prepared, self.metadata, failure)


def find_violation(
    prepared: PreparedTable,
    all_prepared: dict[str, PreparedTable],
    metadata: sa.MetaData,
    failure: DatabaseFailure,
) -> tuple[int | None, str | None]:
    """Return (row position, constraint name) of the first row that breaks the failed rule.

    The database does not always say which row failed (SQLite never does, PostgreSQL not for a
    foreign key checked at the end of a COPY), so the rows are checked here. Since the load
    empties every target table first, a parent key exists only if the parent frame has it.
    """
    table = prepared.table
    columns = prepared.columns
    rows = prepared.rows

    if failure.kind == "not_null" and failure.column in columns:
        index = columns.index(failure.column)
        return next((i for i, row in enumerate(rows) if row[index] is None), None), None

    if failure.kind == "unique":
        key_indexes = [columns.index(name) for name in table.primary_key if name in columns]
        seen: set[tuple] = set()
        for position, row in enumerate(rows):
            key = tuple(row[i] for i in key_indexes)
            if key in seen:
                return position, None
            seen.add(key)
        return None, None

    if failure.kind == "foreign_key":
        for constraint in metadata.tables[table.name].foreign_key_constraints:
            if failure.constraint and constraint.name != failure.constraint:
                continue
            position = _first_dangling_row(prepared, all_prepared, constraint)
            if position is not None:
                return position, str(constraint.name)
        return None, None

    if failure.kind == "check" and failure.constraint:
        for column in table.columns:
            if column.length and failure.constraint.endswith(f"_{column.name}_length"):
                return _first_too_long_row(prepared, column.name, column.length), None
    return None, None


def _first_too_long_row(prepared: PreparedTable, column: str, length: int) -> int | None:
    index = prepared.columns.index(column)
    for position, row in enumerate(prepared.rows):
        if row[index] is not None and len(row[index]) > length:
            return position
    return None


def _first_dangling_row(prepared, all_prepared, constraint: sa.ForeignKeyConstraint):
    child_columns = [element.parent.name for element in constraint.elements]
    parent_columns = [element.column.name for element in constraint.elements]
    parent_name = constraint.referred_table.name
    parent = all_prepared.get(parent_name)
    parent_keys: set[tuple] = set()
    if parent is not None:
        parent_indexes = [parent.columns.index(name) for name in parent_columns]
        parent_keys = {tuple(row[i] for i in parent_indexes) for row in parent.rows}
    child_indexes = [prepared.columns.index(name) for name in child_columns]
    for position, row in enumerate(prepared.rows):
        key = tuple(row[i] for i in child_indexes)
        if None not in key and key not in parent_keys:
            return position
    return None


def _csv_buffer(rows: list[tuple]) -> tuple[io.StringIO, list[int]]:
    """Render rows as COPY CSV: strings always quoted, NULL as an unquoted empty field.

    Also returns, for each row, the physical line on which it ends, because PostgreSQL counts
    physical lines in the context of a COPY error and a quoted field may hold line breaks.
    """
    buffer = io.StringIO()
    line_ends = []
    line = 0
    for row in rows:
        text = ",".join(_csv_field(value) for value in row)
        line += text.count("\n") + 1
        line_ends.append(line)
        buffer.write(text)
        buffer.write("\n")
    buffer.seek(0)
    return buffer, line_ends


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _one_line(statement: str | None) -> str:
    if not statement:
        return "(unknown)"
    return " ".join(statement.split())
