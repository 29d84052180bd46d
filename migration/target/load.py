"""Load the mapped rows, rejects, filtered rows and lineage of a run into the target database.

One database transaction covers the whole load, so the target either holds the complete
result of this run or is left as it was, whether the load fails, is interrupted or its process
is killed. PostgreSQL rolls back the transaction of a client that disappears, and SQLite rolls
back an unfinished transaction the next time the file is opened. Inside that transaction:

1. Take the load lock (a PostgreSQL advisory lock, or BEGIN IMMEDIATE on SQLite), so two loads
   into one database never interleave. The second one waits, or fails with a clear message
   once `lock_timeout` has passed.
2. Create or upgrade the product tables with the Alembic revisions (`versioning.py`), create
   the target tables if the database has none of them, and compare every table that existed
   with the target schema (`compare.py`). Any difference stops the load with the full list.
3. Table by table, parents first, convert the delivered rows one frame at a time. Into a
   table that was empty, insert them at once. Otherwise compare them with the rows already
   there, by primary key and content digest (`changes.py`), then update the changed rows and
   insert the added ones.
4. Once every table is written, keep the removed rows that a row staying in a child table
   references, refuse a load that would remove too many rows (which rolls it back), then,
   children first, delete the removed rows.
5. Replace the lineage and the filtered rows of the applications the load replaces and the
   rejects of this run id, and record the counts of added, changed, removed, unchanged and
   kept rows per table in reprise_chargement.

Rerunning a delivery therefore writes no target row at all, and a redelivery touches only the
rows that differ. SQLite receives batched executemany statements. PostgreSQL receives
COPY ... FROM STDIN in CSV format on the raw psycopg2 connection of the same transaction, and
updates and deletes go through temporary staging tables.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from migration.delivery.workdir import open_private_file
from migration.target.changes import (
    CHANGE_KINDS,
    NewRows,
    OldRows,
    TableChanges,
    check_unique_keys,
    compare_rows,
    keep_referenced_rows,
    key_text,
    log_kept_rows,
    referencing_rows,
    renderers_of,
)
from migration.target.compare import compare_tables
from migration.target.csv_format import (
    column_csv_lines,
    physical_line_count,
    physical_line_ends,
)
from migration.target.db_errors import DatabaseFailure, describe_failure
from migration.target.engine import SQLITE_BEGIN_OPTION, describe_url
from migration.target.errors import TargetError, TooManyRemovalsError
from migration.target.frames import PreparedTable, prepare_frame, prepare_record
from migration.target.model import TargetSchema
from migration.target.product_tables import (
    FILTER_ID_COLUMN,
    FILTER_TABLE,
    LINEAGE_TABLE,
    LOAD_TABLE,
    PRODUCT_TABLES,
    REJECT_ID_COLUMN,
    REJECT_TABLE,
    RUN_TABLE,
)
from migration.target.schema import build_metadata
from migration.target.versioning import upgrade_product_tables

if TYPE_CHECKING:
    from migration.mapping.lineage_parts import LineageParts
    from migration.mapping.staging import StagedFrame, TableRows

logger = logging.getLogger(__name__)

LOAD_LOCK_KEY = 0x6D64706872657072
"""Key of the PostgreSQL advisory lock held by every load: the ASCII bytes of "mdphrepr"."""

SQLITE_CHUNK_ROWS = 10_000
# Rows a COPY renders at a time: small enough that PostgreSQL works on one piece while the
# next is rendered, large enough that the calls per piece cost nothing.
COPY_PIECE_ROWS = 5_000
# Smaller tables are left out of the removal check per table: a few rows removed from a table
# of reference codes are a large share without being a mistake.
REMOVAL_CHECK_MIN_ROWS = 100
# How the error of a rejected removal tells a user of the CLI to lift the removal check.
CLI_REMOVAL_OVERRIDE = "give --allow-removals"
COPY_READ_SIZE = 1 << 20
"""Characters psycopg2 reads from the body of a COPY per call while copying."""
# From this many rows on, a PostgreSQL table that is filled from empty, the lineage and the
# filtered rows get their rows with keys and indexes built once at the end rather than row by
# row.
BULK_ROWS = 20_000
BULK_SORT_MEMORY = "256MB"  # for those builds, in the load transaction only

# Names under which the loader keeps rows that are not rows of a frame, so that an error
# names their table without pointing at a row of a frame.
_KEPT_LINEAGE = "kept lineage"
_LINEAGE_LABEL = "the lineage frame"
_REMOVED_KEYS = "removed keys"

_DATABASE_ERRORS: tuple[type[BaseException], ...] = (sa.exc.SQLAlchemyError,)
try:
    import psycopg2

    _DATABASE_ERRORS += (psycopg2.Error,)
except ImportError:  # SQLite loads work without psycopg2
    psycopg2 = None


@dataclass
class LoadResult:
    """What a load wrote.

    Attributes:
        rows: target table -> rows the load delivered for it.
        rejects: reject rows written for this run.
        filters: reprise_filtre rows written for this run.
        lineage: lineage rows written for this run.
        changes: target table -> counts of the rows the load "added", "changed", "removed",
            and left "unchanged" or "kept" (see `migration.target.changes`), compared with the
            content before the load, as the load writes them into reprise_chargement.
        kept_delivered: target table -> the "kept" rows that the load delivers, left as they
            were because another application also gives them.
    """

    rows: dict[str, int]
    rejects: int = 0
    filters: int = 0
    lineage: int = 0
    changes: dict[str, dict[str, int]] = field(default_factory=dict)
    kept_delivered: dict[str, int] = field(default_factory=dict)

    def reported_changes(self) -> dict[str, dict[str, int]]:
        """Return `changes` with each table's "kept_delivered" count, as the summary reports
        them: the rows delivered are added + changed + unchanged + kept_delivered."""
        return {
            name: {**counts, "kept_delivered": self.kept_delivered.get(name, 0)}
            for name, counts in self.changes.items()
        }


def load_run(
    engine: sa.Engine,
    schema: TargetSchema,
    frames: dict[str, pd.DataFrame | TableRows],
    rejects: pd.DataFrame,
    lineage: pd.DataFrame | LineageParts,
    run: dict[str, Any],
    *,
    filters: pd.DataFrame | None = None,
    applications: Iterable[str] | None = None,
    lock_timeout: float | None = None,
    release_frames: bool = False,
    max_removed_share: float | None = None,
    removal_override: str = CLI_REMOVAL_OVERRIDE,
    helper: Callable | None = None,
) -> LoadResult:
    """Load the result of one run into the target database, in one transaction.

    Args:
        engine: an engine from `create_target_engine`.
        schema: the target schema the frames follow.
        frames: target table name -> frame with that table's columns, or the `TableRows` of
            an assembly, whose frames are converted and written one at a time into a table
            that was empty before the load. A table without a frame is delivered empty.
        rejects: the reprise_rejet rows of this run, without `id`. A missing `run_id` column
            is filled with the run's id.
        lineage: the reprise_lignage rows of this run, filled the same way: one frame, or
            the `LineageParts` of an assembly, which are converted and written one part at a
            time.
        filters: the reprise_filtre rows of this run, without `id`, filled the same way: the
            source rows that a mapping filter left out and that no other mapping loaded or
            rejected. None writes none. Either way the load deletes the filtered rows of the
            applications it replaces, as it does their lineage.
        run: the reprise_run row. A password in `target_url` is hidden before writing, and a
            dict or list in `summary_json` is written as JSON. Its `applications` column is
            filled from `applications`.
        applications: the applications whose rows this load replaces, for a delivery of some
            applications only, such as ["OPALES"]; rows that also come from another
            application are kept. None (the default) replaces the whole content. The lineage
            and filters frames must hold rows of these applications only.
        lock_timeout: seconds to wait for another load of the same database before failing;
            None waits on PostgreSQL as long as the other load runs, and keeps the SQLite
            timeout of the URL (5 s unless `?timeout=` says otherwise).
        release_frames: remove each frame from `frames` once it is converted, so that the
            frames of a caller that keeps no other reference to them are freed one by one
            instead of staying beside the converted rows. A `TableRows` is always taken.
        max_removed_share: the largest share (0 to 1) of the rows already in the target
            tables that the load may remove. A load that would remove more, such as a small
            test delivery run against a full target by mistake, raises TooManyRemovalsError
            once every table is compared, and the load is rolled back. None allows any
            removal.
        removal_override: the instruction that the error of a rejected removal gives to lift
            `max_removed_share`. The default names the option of the CLI.
        helper: a function like `multiprocessing.Pool.apply_async` whose process shares the
            files of the staged lineage parts. On PostgreSQL that process converts the parts
            while the target tables load, and the load copies what it wrote.

    Raises:
        TargetError: a frame does not fit its table, the existing database differs from the
            schema, or the database rejected the load. The frames of the target tables are
            checked as each table is loaded, and the lineage once they are written, so such
            an error stops the load inside its transaction; the rejects, the filtered rows
            and the run row are checked before the database is touched.
            The load is then rolled back and the message names the table, the constraint and
            the SQL statement, never a row value.
        TooManyRemovalsError: the load would remove more than `max_removed_share`.
    """
    started = time.monotonic()
    scope = None if applications is None else frozenset(applications)
    metadata = build_metadata(schema)
    if filters is None:
        filters = pd.DataFrame()
    prepared, lineage = _prepare(schema, frames, rejects, lineage, filters, run, scope)
    del rejects, filters
    order = schema.table_order()

    loader = _Loader(engine.dialect, metadata, prepared, schema, scope)
    loader.lineage = lineage
    # The loader takes each table's frames as it loads them; a caller that keeps no reference
    # of its own to the frames (see `migration.run`) frees them there, one table at a time.
    loader.frames = frames if release_frames else dict(frames)
    del lineage, frames
    loader.max_removed_share = max_removed_share
    loader.removal_override = removal_override
    loader.helper = helper
    try:
        with engine.connect() as connection:
            restore_timeout = None
            if connection.dialect.name == "sqlite":
                connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
                if lock_timeout is not None:
                    restore_timeout = _set_sqlite_busy_timeout(connection, lock_timeout)
            loader.connection = connection
            loader.lock_timeout = lock_timeout
            loader.step = _Step("starting the load transaction")
            try:
                with connection.begin():
                    loader.run(order)
                    loader.step = _Step("committing the load")
            finally:
                if restore_timeout is not None:
                    _set_sqlite_busy_timeout(connection, restore_timeout)
    except _DATABASE_ERRORS as exc:
        # The transaction is rolled back by now; the error is built from the loader's state.
        raise loader.error(exc) from None
    finally:
        loader.discard_rendered_parts()

    if loader.keys_in_place:
        # A warning shows without --verbose, because a load as the owner would be faster.
        logger.warning(
            "copied the rows of %s with their keys and indexes in place, because the role %s "
            "does not own these tables or the tables they reference. A load as their owner "
            "is faster, because it builds the keys once after the copy",
            ", ".join(loader.keys_in_place),
            loader.role,
        )
    changes = {name: loader.plans[name].counts() for name in order}
    result = LoadResult(
        rows=dict(loader.row_counts),
        rejects=len(prepared[REJECT_TABLE].rows),
        filters=len(prepared[FILTER_TABLE].rows),
        lineage=loader.lineage_rows,
        changes=changes,
        kept_delivered={name: loader.plans[name].kept_delivered for name in order},
    )
    totals = {kind: sum(counts[kind] for counts in changes.values()) for kind in CHANGE_KINDS}
    logger.info(
        "loaded run %s into %s in %.1f s: %d rows added, %d changed, %d removed, %d unchanged, "
        "%d kept in %d tables; %d rejects, %d filtered rows, %d lineage rows",
        run.get("run_id"),
        describe_url(engine.url),
        time.monotonic() - started,
        totals["added"],
        totals["changed"],
        totals["removed"],
        totals["unchanged"],
        totals["kept"],
        len(order),
        result.rejects,
        result.filters,
        result.lineage,
    )
    return result


def _set_sqlite_busy_timeout(connection: sa.Connection, seconds: float) -> float:
    """Set the SQLite busy timeout of the connection and return the previous one, in seconds.

    The raw DBAPI connection is used because a statement on `connection` would begin the
    load transaction before the timeout applies to its BEGIN IMMEDIATE.
    """
    dbapi_connection = connection.connection.dbapi_connection
    previous = dbapi_connection.execute("PRAGMA busy_timeout").fetchone()[0]
    dbapi_connection.execute(f"PRAGMA busy_timeout = {max(0, int(seconds * 1000))}")
    return previous / 1000


def _prepare(
    schema, frames, rejects, lineage, filters, run, scope
) -> tuple[dict[str, PreparedTable], pd.DataFrame | LineageParts]:
    """Check the inputs other than the target rows before any database work.

    Returns the prepared rows of the product tables but the lineage, and the lineage: a frame
    with its run id, or the parts as given. The target rows are converted one table at a time
    as they are loaded (see `_Loader.load_table`). The lineage is the largest input, so it is
    converted only once the target rows are written and released (see
    `_Loader.replace_lineage`); its columns and first row are checked here.
    """
    unknown = sorted(name for name in frames if name not in schema.tables)
    if unknown:
        product = [name for name in unknown if name in PRODUCT_TABLES]
        hint = "; pass rejects, lineage and run separately" if product else ""
        raise TargetError(
            f"frames given for tables that schema {schema.name} does not have: "
            f"{', '.join(unknown)}{hint}; its tables are {', '.join(schema.tables)}"
        )
    if scope is not None:
        if not scope:
            raise TargetError(
                "applications is empty; name the applications whose rows the load replaces, "
                "or pass None to replace the whole content"
            )
        if isinstance(lineage, pd.DataFrame):
            lineage_applications = _applications_of(lineage)
        else:
            lineage_applications = lineage.applications
        _check_scope(lineage_applications, scope, "lineage")
        _check_scope(_applications_of(filters), scope, "filters")

    prepared: dict[str, PreparedTable] = {}
    run_row = dict(run)
    if "target_url" in run_row and run_row["target_url"] is not None:
        run_row["target_url"] = describe_url(str(run_row["target_url"]))
    if isinstance(run_row.get("summary_json"), dict | list):
        run_row["summary_json"] = json.dumps(
            run_row["summary_json"], ensure_ascii=False, sort_keys=True, default=str
        )
    run_row["applications"] = None if scope is None else ",".join(sorted(scope))
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
    prepared[FILTER_TABLE] = prepare_frame(
        PRODUCT_TABLES[FILTER_TABLE],
        _with_run_id(filters, run_id, "filters"),
        {},
        generated=[FILTER_ID_COLUMN],
        label="the filters frame",
    )
    if isinstance(lineage, pd.DataFrame):
        lineage = _with_run_id(lineage, run_id, "lineage")
        first_row = lineage.head(1)
    else:
        first_row = _with_run_id(lineage.first_row, run_id, "lineage")
    # Its columns and first row now, every value when the lineage is written.
    prepare_frame(PRODUCT_TABLES[LINEAGE_TABLE], first_row, {}, label=_LINEAGE_LABEL)
    return prepared, lineage


def _applications_of(frame: pd.DataFrame) -> set[str]:
    """Return the applications of the rows of `frame`, none when it has no such column."""
    if "application" not in frame.columns:
        return set()
    return set(frame["application"].dropna())


def _check_scope(applications: set[str], scope: frozenset[str], label: str) -> None:
    """Raise TargetError when the rows of `label` come from an application the load does not
    replace.

    The load deletes the previous rows of the replaced applications only, so a row of another
    application would sit beside the rows of an earlier load.
    """
    others = sorted(applications - scope)
    if others:
        raise TargetError(
            f"the {label} frame has rows of the applications {', '.join(others)}, "
            f"which this load does not replace (applications {', '.join(sorted(scope))})"
            "; add them to applications, or drop their rows"
        )


def _taken(items: list) -> Iterator:
    """Yield the items of `items`, removing each one from the list first, so that a caller
    that drops an item frees it."""
    while items:
        yield items.pop(0)


def _with_run_id(frame: pd.DataFrame, run_id: Any, label: str) -> pd.DataFrame:
    if "run_id" not in frame.columns:
        # A shallow copy gains the column without copying the others: a deep copy of the
        # lineage doubled its memory for as long as it was being prepared.
        frame = frame.copy(deep=False)
        frame["run_id"] = run_id
        return frame
    others = frame["run_id"].dropna().unique().tolist()
    if any(value != run_id for value in others) or frame["run_id"].isna().any():
        raise TargetError(
            f"the {label} frame has rows whose run_id is not the run's id {run_id!r}; "
            "a load writes the rows of one run only"
        )
    return frame


def _renderer(prepared: PreparedTable, columns: Sequence[str]) -> Callable:
    """Return a function rendering the prepared rows at some positions as COPY CSV lines of
    `columns`."""
    indexes = [prepared.columns.index(column) for column in columns]
    renderers = renderers_of(prepared)
    renderers = [renderers[i] for i in indexes]

    def render(chunk: Sequence[int]) -> list[str]:
        return column_csv_lines(prepared.column_values(indexes, chunk), renderers)

    return render


def _prepared_lineage(part: pd.DataFrame, run_id: Any, first_row: int) -> PreparedTable:
    """Convert a lineage part, whose first row follows `first_row` rows of earlier parts."""
    return prepare_frame(
        PRODUCT_TABLES[LINEAGE_TABLE],
        _with_run_id(part, run_id, "lineage"),
        {},
        label=_LINEAGE_LABEL,
        first_row=first_row,
    )


def render_lineage_part(part: StagedFrame, run_id: Any, first_row: int, path: Path) -> int:
    """Convert a staged lineage part, write its COPY body to `path` (mode 0600) and delete
    the part's file. Return the part's row count.

    A helper process runs this while the main process loads the target tables, so the
    lineage is converted before its turn comes (see `load_run`). The part's file goes once
    the body is written, so the work folder contains each part once.
    """
    prepared = _prepared_lineage(part.read(), run_id, first_row)
    columns = PRODUCT_TABLES[LINEAGE_TABLE].column_names
    body = _CopyBody(_renderer(prepared, columns), range(prepared.count))
    with open_private_file(path) as handle:
        while text := body.read(COPY_READ_SIZE):
            handle.write(text.encode("utf-8"))
    part.delete()
    return prepared.count


def _lineage_of_body(path: Path) -> pd.DataFrame:
    """Read back the lineage rows of a COPY body that `render_lineage_part` wrote.

    An error reads them to find the row of a failed line. An empty field becomes NULL, so a
    quoted empty text does too, and a record with too many or too few fields is cut or
    padded. Rendered again, each row then still spans the same lines.
    """
    columns = PRODUCT_TABLES[LINEAGE_TABLE].column_names
    width = len(columns)
    with path.open(encoding="utf-8", newline="") as handle:
        records = [(record + [""] * width)[:width] for record in csv.reader(handle)]
    frame = pd.DataFrame(records, columns=columns, dtype=object)
    frame = frame.where(frame != "", None)
    frame["source_line"] = [None if line is None else int(line) for line in frame["source_line"]]
    return frame


@dataclass
class _RenderedPart:
    """A staged lineage part whose COPY body a helper process writes to `path`."""

    part: StagedFrame
    path: Path
    first_row: int
    pending: Any  # the helper's result; `get` gives the row count

    def delete(self) -> None:
        self.part.delete()
        self.path.unlink(missing_ok=True)


@dataclass
class _Step:
    """The statement being executed, so an error can name it and the rows it was writing.

    `positions` are the positions, in the prepared rows of `table`, of the rows the statement
    writes; `copy` the body of a COPY, whose errors give a physical line number. The prepared
    rows of a lineage part follow `first_row` rows of the earlier parts, so an error numbers
    its row in the whole lineage.
    """

    action: str = "starting the load"
    table: str | None = None
    statement: str | None = None
    positions: Sequence[int] | None = None
    copy: _CopyBody | None = None
    first_row: int = 0
    # For a COPY of a body that another process wrote, reads its rows back from the body and
    # converts them again, so that an error finds the row behind a failed line.
    reprepare: Callable[[], tuple[PreparedTable, _CopyBody]] | None = None


class _CopyBody:
    """The CSV body of one COPY, rendered a piece at a time as psycopg2 reads it.

    PostgreSQL parses and inserts the rows it has received while the next piece is rendered,
    so the two run side by side on two cores. A COPY per 50,000 rows, each rendered whole
    before it was sent, made them take turns: the target tables of 0.5 million source rows
    took 1.87 s to copy instead of 1.16 s (bench/steps.py). Only the physical line each piece
    ends on is kept, so an error's line number leads back to its row without keeping the text.
    """

    def __init__(self, render: Callable[[Sequence[int]], list[str]], positions: Sequence[int]):
        self.render = render
        self.positions = positions
        self.rendered = 0  # rows rendered so far
        self.pending = ""  # rendered text not yet read
        self.piece_ends: list[int] = []  # physical line each rendered piece ends on
        self.piece_starts: list[int] = []  # index in `positions` of each piece's first row

    def read(self, size: int = -1) -> str:
        while (size < 0 or len(self.pending) < size) and self.rendered < len(self.positions):
            self._render_piece()
        if size < 0 or len(self.pending) <= size:
            text, self.pending = self.pending, ""
        else:
            text, self.pending = self.pending[:size], self.pending[size:]
        return text

    def _render_piece(self) -> None:
        start = self.rendered
        stop = min(start + COPY_PIECE_ROWS, len(self.positions))
        lines = self.render(self.positions[start:stop])
        text = "\n".join(lines) + "\n"
        first_row = lines[0] if start == 0 else None
        previous = self.piece_ends[-1] if self.piece_ends else 0
        self.piece_starts.append(start)
        self.piece_ends.append(previous + physical_line_count(text, first_row))
        self.pending += text
        self.rendered = stop

    def position_of_line(self, line: int) -> int | None:
        """Return the position of the row that PostgreSQL's physical `line` belongs to."""
        piece = bisect.bisect_left(self.piece_ends, line)
        if piece >= len(self.piece_ends):
            return None
        start = self.piece_starts[piece]
        stop = self.piece_starts[piece + 1] if piece + 1 < len(self.piece_starts) else self.rendered
        ends = physical_line_ends(
            self.render(self.positions[start:stop]),
            first_line=self.piece_ends[piece - 1] if piece else 0,
            starts_copy=piece == 0,
        )
        index = bisect.bisect_left(ends, line)
        return self.positions[start + index] if index < len(ends) else None


class _Loader:
    def __init__(self, dialect, metadata, prepared, schema, scope) -> None:
        self.connection: sa.Connection | None = None
        self.dialect: sa.Dialect = dialect
        self.metadata: sa.MetaData = metadata
        self.prepared: dict[str, PreparedTable] = prepared
        self.schema: TargetSchema = schema
        self.scope: frozenset[str] | None = scope
        self.lock_timeout: float | None = None
        self.max_removed_share: float | None = None
        self.removal_override = CLI_REMOVAL_OVERRIDE
        self.plans: dict[str, TableChanges] = {}
        # Tables of a large copy that kept their keys because the role does not own them.
        self.keys_in_place: list[str] = []
        self.role: str | None = None
        self.step = _Step("connecting to the target database")
        self._stage_numbers = itertools.count(1)
        # The lineage, converted once the target rows are written (`replace_lineage`), and
        # the count of its rows written.
        self.lineage: pd.DataFrame | LineageParts | None = None
        self.lineage_rows = 0
        # A function like `multiprocessing.Pool.apply_async`, and the lineage parts it
        # converts while the target tables load (`render_lineage_ahead`).
        self.helper: Callable | None = None
        self.ahead: list[_RenderedPart] = []
        # Rows of each target table, kept when its prepared rows are released.
        self.row_counts: dict[str, int] = {}
        # The frames of the target tables, taken one table at a time (`load_table`).
        self.frames: dict[str, pd.DataFrame | TableRows] = {}
        # What planning keeps of each table's old rows, and the keys of removed parent rows
        # that each table's new rows reference (see `changes.keep_referenced_rows`).
        self.old: dict[str, OldRows] = {}
        self.references: dict[str, dict[int, list[tuple[int, tuple]]]] = {}

    @property
    def postgresql(self) -> bool:
        return self.dialect.name == "postgresql"

    def run(self, order: list[str]) -> None:
        self.render_lineage_ahead()
        self.lock()
        self.prepare_tables(order)
        empty = self.empty_tables(order)
        rows = {name: len(self.frames.get(name, ())) for name in order}
        filled = [
            name
            for name in order
            if self.postgresql and name in empty and rows[name] >= BULK_ROWS and self.owns(name)
        ]
        self.write_run_row()
        with self.constraints_built_after(filled):
            for name in order:
                self.load_table(name, name in empty)
            self.step = _Step("deciding which removed rows are still referenced")
            keep_referenced_rows(self.metadata, order, self.old, self.plans, self.references)
            self.old, self.references = {}, {}
            log_kept_rows(order, self.plans)
            for name in order:
                counts = self.plans[name].counts()
                logger.info(
                    "table %s: %d rows added, %d changed, %d to remove, %d unchanged, %d kept",
                    name,
                    counts["added"],
                    counts["changed"],
                    counts["removed"],
                    counts["unchanged"],
                    counts["kept"],
                )
            # Every row is written by now, so a refused removal rolls all of them back.
            self.check_removals(order)
            for name in reversed(order):
                self.delete_rows(name, self.plans[name].removed)

        self.replace_lineage(order)
        self.replace_filters()
        run_id = self.run_id
        rejects = self.metadata.tables[REJECT_TABLE]
        self.execute(
            "deleting the rejects of this run id",
            REJECT_TABLE,
            rejects.delete().where(rejects.c.run_id == run_id),
        )
        self.insert_rows(REJECT_TABLE, range(len(self.prepared[REJECT_TABLE].rows)))
        self.write_load_counts(order)

    def empty_tables(self, order: list[str]) -> set[str]:
        """Return the target tables that hold no row before the load."""
        empty = set()
        for name in order:
            table = self.metadata.tables[name]
            statement = sa.select(sa.literal(1)).select_from(table).limit(1)
            if self.execute("checking whether the table is empty", name, statement).first() is None:
                empty.add(name)
        return empty

    def load_table(self, name: str, empty: bool) -> None:
        """Convert, compare and write the rows of one target table, one frame at a time.

        Into a table that was empty every row is added, so each frame is written as soon as
        it is converted. Otherwise every frame is converted once to gather the keys and
        digests of its rows (`NewRows`), the old rows are compared with them, and the frames
        that hold changed or added rows are converted again to write those rows.
        """
        table = self.schema.tables[name]
        source = self.frames.pop(name, None)
        if source is None:
            source = pd.DataFrame(columns=table.column_names)
        self.references[name] = {}
        if empty:
            self.add_rows(name, _frames_of(source, keep=False))
        else:
            self.change_rows(name, source)
        self.release(name)

    def convert(self, name: str, frame: pd.DataFrame, first_row: int) -> PreparedTable:
        """Convert a frame of target table `name`, whose first row is row `first_row` + 1."""
        self.step = _Step(f"converting the rows of table {name}", name)
        prepared = prepare_frame(
            self.schema.tables[name], frame, self.schema.code_lists, first_row=first_row
        )
        self.prepared[name] = prepared
        return prepared

    def note_references(self, name: str, prepared: PreparedTable, first_row: int) -> None:
        """Keep the rows of `prepared` that reference a removed parent row."""
        found = referencing_rows(self.metadata, prepared, self.plans, first_row)
        for number, rows in found.items():
            self.references[name].setdefault(number, []).extend(rows)

    def add_rows(self, name: str, frames: Iterable[pd.DataFrame]) -> None:
        """Insert every row of `frames` into table `name`, which had no row."""
        plan, count = TableChanges(name), 0
        self.plans[name], self.old[name] = plan, OldRows()
        for frame in frames:
            prepared = self.convert(name, frame, count)
            del frame
            check_unique_keys(prepared, count)
            self.note_references(name, prepared, count)
            self.insert_rows(name, range(prepared.count), first_row=count)
            count += prepared.count
            del prepared
            self.release(name)
        plan.added = range(count)
        self.row_counts[name] = count

    def change_rows(self, name: str, source: pd.DataFrame | TableRows) -> None:
        """Compare the rows of `source` with the rows of table `name`, and write the changes."""
        new = NewRows(self.schema.tables[name])
        for frame in _frames_of(source, keep=True):
            prepared = self.convert(name, frame, new.count)
            del frame
            # A key repeated within the frame is named here; across frames, by `finish`.
            check_unique_keys(prepared, new.count)
            self.note_references(name, prepared, new.count)
            new.add(prepared)
            del prepared
            self.release(name)
        self.step = _Step(f"comparing the rows of table {name} with the target", name)
        new.finish()
        plan, old = compare_rows(self.connection, self.metadata, new, self.scope)
        self.plans[name], self.old[name] = plan, old
        self.row_counts[name] = new.count
        del new
        if not plan.changed and not plan.added:
            _discard(source)
            return
        changed = np.asarray(plan.changed, dtype=np.int64)
        added = np.asarray(plan.added, dtype=np.int64)
        first_row = 0
        for frame in _frames_of(source, keep=False):
            last_row = first_row + len(frame)
            here = [
                (rows[np.searchsorted(rows, first_row) : np.searchsorted(rows, last_row)])
                - first_row
                for rows in (changed, added)
            ]
            if any(len(rows) for rows in here):
                self.convert(name, frame, first_row)
                del frame
                self.update_rows(name, here[0].tolist(), first_row=first_row)
                self.insert_rows(name, here[1].tolist(), first_row=first_row)
                self.release(name)
            first_row = last_row

    def release(self, name: str) -> None:
        """Drop the prepared rows of target table `name`; the step of a COPY refers to them."""
        table = self.schema.tables[name]
        self.prepared[name] = PreparedTable(table, [column.name for column in table.columns])
        self.step = _Step(f"loading table {name}", name)

    def check_removals(self, order: list[str]) -> None:
        """Raise TooManyRemovalsError when the load would remove more than `max_removed_share`
        of the rows already in the target, or of one table that holds at least
        REMOVAL_CHECK_MIN_ROWS rows of the applications it replaces.

        The check per table catches a delivery of one application that would replace most of
        that application's rows while the other application's rows keep the total share low.
        """
        if self.max_removed_share is None:
            return
        counts = {name: self.plans[name].counts() for name in order}
        existing = sum(
            count["changed"] + count["removed"] + count["unchanged"] + count["kept"]
            for count in counts.values()
        )
        removed = sum(count["removed"] for count in counts.values())
        if existing and removed > self.max_removed_share * existing:
            self.refuse_removal(removed, existing, "in the target tables")
        for name, count in counts.items():
            # The kept rows belong to the applications that the load does not replace.
            replaced = count["changed"] + count["removed"] + count["unchanged"]
            if replaced < REMOVAL_CHECK_MIN_ROWS:
                continue
            if count["removed"] > self.max_removed_share * replaced:
                self.refuse_removal(count["removed"], replaced, f"in table {name}")

    def refuse_removal(self, removed: int, existing: int, where: str) -> None:
        raise TooManyRemovalsError(
            f"the load would remove {removed:,} of the {existing:,} rows {where} "
            f"({removed / existing:.1%}); nothing was loaded. Check that the target database "
            f"belongs to this delivery, or {self.removal_override} to replace its content"
        )

    @property
    def run_id(self) -> Any:
        run_record = self.prepared[RUN_TABLE]
        return run_record.rows[0][run_record.columns.index("run_id")]

    def lock(self) -> None:
        if self.postgresql:
            self.step = _Step("taking the load lock", statement="SELECT pg_advisory_xact_lock")
            if self.lock_timeout is not None:
                milliseconds = f"{max(1, int(self.lock_timeout * 1000))}ms"
                self.connection.execute(
                    sa.select(sa.func.set_config("lock_timeout", milliseconds, True))
                )
            key = sa.literal(LOAD_LOCK_KEY, sa.BigInteger)
            taken = self.connection.execute(sa.select(sa.func.pg_try_advisory_xact_lock(key)))
            if not taken.scalar():
                logger.info(
                    "another load of %s holds the load lock; waiting for it to finish",
                    describe_url(self.connection.engine.url),
                )
                self.connection.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
            if self.lock_timeout is not None:
                self.connection.execute(sa.select(sa.func.set_config("lock_timeout", "0", True)))
        elif self.dialect.name == "sqlite":
            # BEGIN IMMEDIATE, emitted by the engine, already holds the write lock.
            enforced = self.connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
            if not enforced:
                raise TargetError(
                    "the SQLite engine does not enforce foreign keys; create it with "
                    "migration.target.engine.create_target_engine"
                )

    def prepare_tables(self, order: list[str]) -> None:
        self.step = _Step("reading the tables of the target database")
        existing = set(sa.inspect(self.connection).get_table_names())

        self.step = _Step("creating or upgrading the product tables")
        upgrade_product_tables(self.connection)

        present = [name for name in order if name in existing]
        if not present:
            self.step = _Step("creating the target tables")
            self.metadata.create_all(
                self.connection, tables=[self.metadata.tables[name] for name in order]
            )
        self.step = _Step("comparing the target database with the target schema")
        checked = [name for name in self.metadata.tables if name in existing]
        if present:
            checked += [name for name in order if name not in existing]
        problems = compare_tables(self.connection, self.metadata, checked)
        if problems:
            display_url = describe_url(self.connection.engine.url)
            listed = "\n".join(f"  - {problem}" for problem in problems)
            raise TargetError(
                f"the target database {display_url} does not match target schema "
                f"{self.schema.name} {self.schema.version}, "
                f"{len(problems)} difference{'s' if len(problems) > 1 else ''}:\n"
                f"{listed}\nmigrate the database to the schema, or load into a new database; "
                "nothing was loaded"
            )

    def execute(self, action: str, table: str, statement: sa.Executable, parameters=None):
        self.step = _Step(action, table, str(statement.compile(dialect=self.dialect)))
        return self.connection.execute(statement, parameters)

    def write_run_row(self) -> None:
        runs = self.metadata.tables[RUN_TABLE]
        record = self.prepared[RUN_TABLE]
        exists = self.execute(
            "reading the run row of this run id",
            RUN_TABLE,
            sa.select(runs.c.run_id).where(runs.c.run_id == self.run_id),
        ).first()
        if exists is None:
            self.insert_rows(RUN_TABLE, [0])
            return
        # An update, not a delete and insert: lineage kept from an earlier load of the same
        # run id still references the row.
        values = dict(zip(record.columns, record.rows[0], strict=True))
        self.execute(
            "updating the run row of this run id",
            RUN_TABLE,
            runs.update().where(runs.c.run_id == self.run_id).values(values),
        )

    def write_load_counts(self, order: list[str]) -> None:
        counts = self.metadata.tables[LOAD_TABLE]
        self.execute(
            "deleting the load counts of this run id",
            LOAD_TABLE,
            counts.delete().where(counts.c.run_id == self.run_id),
        )
        rows = [
            (self.run_id, name, *(self.plans[name].counts()[kind] for kind in CHANGE_KINDS))
            for name in order
        ]
        self.prepared[LOAD_TABLE] = PreparedTable(
            PRODUCT_TABLES[LOAD_TABLE], ["run_id", "target_table", *CHANGE_KINDS], rows
        )
        self.insert_rows(LOAD_TABLE, range(len(rows)))

    def replace_lineage(self, order: list[str]) -> None:
        """Replace the lineage of the applications the load replaces, one part at a time.

        Each part is converted, written and released before the next one is read, so only one
        part of the lineage is in memory. The lineage of rows kept by reference is read before
        the delete and written back after the new rows.
        """
        lineage = self.metadata.tables[LINEAGE_TABLE]
        kept = self.read_kept_lineage(order)
        statement = lineage.delete()
        if self.scope is not None:
            statement = statement.where(lineage.c.application.in_(sorted(self.scope)))
        self.execute("deleting the lineage of the replaced applications", LINEAGE_TABLE, statement)
        bulk = self.bulk_copy_tables(LINEAGE_TABLE, len(self.lineage))
        with self.constraints_built_after(bulk):
            self.write_lineage_parts()
        if kept.rows:
            self.prepared[_KEPT_LINEAGE] = kept
            self.insert_rows(_KEPT_LINEAGE, range(len(kept.rows)), table_name=LINEAGE_TABLE)
        if bulk:
            self.analyze(LINEAGE_TABLE, "gathering the statistics of the lineage")

    def render_lineage_ahead(self) -> None:
        """Have the helper process convert the staged lineage parts into COPY bodies, one
        file beside each part, while this process loads the target tables.

        Otherwise the main process converts the lineage only after the target tables are
        written, and PostgreSQL waits for it. Converted ahead, the lineage uses the core that
        is idle while PostgreSQL builds the keys of the target tables.
        """
        lineage = self.lineage
        if self.helper is None or not self.postgresql or isinstance(lineage, pd.DataFrame):
            return
        if not len(lineage):
            return
        first_row = 0
        for part in lineage.staged_parts():
            path = part.path.with_suffix(".copy.csv")
            pending = self.helper(render_lineage_part, (part, self.run_id, first_row, path))
            self.ahead.append(_RenderedPart(part, path, first_row, pending))
            first_row += len(part)

    def write_lineage_parts(self) -> None:
        """Convert and insert the lineage, one part at a time, and release it."""
        table = PRODUCT_TABLES[LINEAGE_TABLE]
        released = PreparedTable(table, [column.name for column in table.columns])
        self.prepared[LINEAGE_TABLE] = released
        if self.ahead:
            self.lineage = None
            self.copy_rendered_parts()
            return
        if isinstance(self.lineage, pd.DataFrame):
            # The run id is already added and checked (see `_prepare`).
            parts, add_run_id = _taken([self.lineage]), False
        else:
            parts, add_run_id = iter(self.lineage), True
        self.lineage = None
        self.step = _Step("converting the lineage rows", LINEAGE_TABLE)
        for part in parts:
            if add_run_id:
                part = _with_run_id(part, self.run_id, "lineage")
            prepared = prepare_frame(
                table, part, {}, label=_LINEAGE_LABEL, first_row=self.lineage_rows
            )
            del part
            self.prepared[LINEAGE_TABLE] = prepared
            self.insert_rows(LINEAGE_TABLE, range(prepared.count), first_row=self.lineage_rows)
            self.lineage_rows += prepared.count
            del prepared
            self.prepared[LINEAGE_TABLE] = released
            # The step of a COPY refers to the rows it wrote, which must not stay in memory
            # while the next part is read.
            self.step = _Step("converting the lineage rows", LINEAGE_TABLE)

    def copy_rendered_parts(self) -> None:
        """COPY the lineage bodies that the helper process wrote, in order, deleting each part
        and body once copied."""
        columns = PRODUCT_TABLES[LINEAGE_TABLE].column_names
        statement = self.copy_statement(self.metadata.tables[LINEAGE_TABLE], columns)
        while self.ahead:
            rendered = self.ahead[0]
            self.step = _Step("converting the lineage rows", LINEAGE_TABLE)
            rows = rendered.pending.get()

            def reprepare(rendered=rendered) -> tuple[PreparedTable, _CopyBody]:
                frame = _lineage_of_body(rendered.path)
                prepared = _prepared_lineage(frame, self.run_id, rendered.first_row)
                body = _CopyBody(_renderer(prepared, columns), range(prepared.count))
                # Rendered through, the body knows the line each of its pieces ends on.
                while body.read(COPY_READ_SIZE):
                    pass
                return prepared, body

            self.step = _Step(
                f"copying into table {LINEAGE_TABLE}",
                LINEAGE_TABLE,
                statement,
                range(rows),
                first_row=rendered.first_row,
                reprepare=reprepare,
            )
            dbapi_connection = self.connection.connection.dbapi_connection
            with dbapi_connection.cursor() as cursor, rendered.path.open("rb") as body:
                cursor.copy_expert(statement, body, size=COPY_READ_SIZE)
            self.lineage_rows += rows
            rendered.delete()
            self.ahead.pop(0)

    def discard_rendered_parts(self) -> None:
        """Delete the staged parts and bodies of the lineage that were not copied."""
        while self.ahead:
            self.ahead.pop(0).delete()

    def replace_filters(self) -> None:
        """Replace the filtered rows of the applications the load replaces, as the lineage."""
        filters = self.metadata.tables[FILTER_TABLE]
        statement = filters.delete()
        if self.scope is not None:
            statement = statement.where(filters.c.application.in_(sorted(self.scope)))
        self.execute(
            "deleting the filtered rows of the replaced applications", FILTER_TABLE, statement
        )
        if self.insert_product_rows(FILTER_TABLE):
            self.analyze(FILTER_TABLE, "gathering the statistics of the filtered rows")

    def insert_product_rows(self, name: str) -> bool:
        """Insert every prepared row of product table `name`, and return whether its keys and
        indexes were built after the copy (see `bulk_copy_tables`).
        """
        count = len(self.prepared[name].rows)
        bulk = self.bulk_copy_tables(name, count)
        with self.constraints_built_after(bulk):
            self.insert_rows(name, range(count))
        return bool(bulk)

    def bulk_copy_tables(self, name: str, rows: int) -> list[str]:
        """Return [name] when `rows` rows go into product table `name` with its keys and
        indexes built after the copy, as they are from BULK_ROWS rows on in a PostgreSQL table
        that the role owns, else [].
        """
        return [name] if rows >= BULK_ROWS and self.owns(name) else []

    def analyze(self, name: str, action: str) -> None:
        """Gather the statistics of a table that a bulk copy filled.

        The report and the lineage commands query the lineage and the filtered rows right after
        the commit, before autovacuum has sampled them. Without statistics PostgreSQL takes the
        new rows for a few and plans bitmap scans over all of them; ANALYZE samples a fixed
        number of rows, so it costs about the same at any size.
        """
        table = self.metadata.tables[name]
        self.execute(
            action, name, sa.text(f"ANALYZE {self.dialect.identifier_preparer.format_table(table)}")
        )

    def owns(self, name: str) -> bool:
        """Tell whether the role may drop and rebuild the keys of a PostgreSQL table.

        Only the owner of the table and of the tables its foreign keys reference, a member of
        the owning role or a superuser may. Any other role that was granted INSERT copies the
        rows with the keys in place, which is slower but loads the same rows.
        """
        if not self.postgresql:
            return False
        table = self.metadata.tables[name]
        preparer = self.dialect.identifier_preparer
        names = {preparer.format_table(table)} | {
            preparer.format_table(key.referred_table) for key in table.foreign_key_constraints
        }
        self.step = _Step("checking who owns the table", name)
        owner, role = self.connection.execute(
            sa.text(
                "SELECT bool_and(pg_has_role(relowner, 'USAGE')) AND count(*) = :tables, "
                "current_user FROM pg_class WHERE oid = ANY(CAST(:names AS regclass[]))"
            ),
            {"names": sorted(names), "tables": len(names)},
        ).one()
        if not owner:
            logger.info(
                "table %s: the role %s does not own it or a table it references, so its rows "
                "are copied with its keys in place, which is slower for a large load",
                name,
                role,
            )
            self.role = role
            self.keys_in_place.append(name)
        return bool(owner)

    @contextlib.contextmanager
    def constraints_built_after(self, names: list[str]):
        """Drop the keys and indexes of tables `names` for the block, then build them again.

        PostgreSQL checks a foreign key and updates every index row by row during a COPY,
        which made most of the time of a large copy; built afterwards, a key or an index is
        one sort or one join. It all happens inside the load transaction, so no unchecked row
        can be committed. Two rows of a frame with the same primary key are refused before
        (when planning the changes), so a duplicate never waits for the rebuild. A primary key
        that a foreign key of another table references stays, and so do foreign keys that
        point at these tables: an insert does not fire them.
        """
        if not names:
            yield
            return
        tables = [self.metadata.tables[name] for name in names]
        foreign_keys = [
            key
            for table in tables
            for key in sorted(table.foreign_key_constraints, key=lambda k: k.name or "")
        ]
        referenced = {
            key.referred_table.name
            for table in self.metadata.tables.values()
            if table.name not in names
            for key in table.foreign_key_constraints
        }
        primary_keys = [
            table.primary_key
            for table in tables
            if table.name not in referenced and table.primary_key.name is not None
        ]
        indexes = [
            index for table in tables for index in sorted(table.indexes, key=lambda i: i.name)
        ]
        self.connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{BULK_SORT_MEMORY}'")
        for key in foreign_keys:
            self.alter(key.table.name, f"dropping foreign key {key.name}", DropConstraint(key))
        for index in indexes:
            self.alter(index.table.name, f"dropping index {index.name}", DropIndex(index))
        for key in primary_keys:
            self.alter(key.table.name, f"dropping primary key {key.name}", DropConstraint(key))
        yield
        started = time.perf_counter()
        for key in primary_keys:
            self.alter(key.table.name, f"adding primary key {key.name}", AddConstraint(key))
        for index in indexes:
            self.alter(index.table.name, f"building index {index.name}", CreateIndex(index))
        for key in foreign_keys:
            self.alter(key.table.name, f"adding foreign key {key.name}", AddConstraint(key))
        logger.debug(
            "built %d primary keys, %d indexes and %d foreign keys of %s in %.1f s",
            len(primary_keys),
            len(indexes),
            len(foreign_keys),
            ", ".join(names),
            time.perf_counter() - started,
        )

    def alter(self, table: str, action: str, statement) -> None:
        self.execute(f"{action} around the bulk copy", table, statement)

    def read_kept_lineage(self, order: list[str]) -> PreparedTable:
        """Read the lineage of rows kept because they are still referenced, to write it back."""
        lineage = self.metadata.tables[LINEAGE_TABLE]
        columns = [column.name for column in PRODUCT_TABLES[LINEAGE_TABLE].columns]
        rows: list[tuple] = []
        for name in order:
            keys = [key_text(key) for key in self.plans[name].kept_by_reference]
            for start in range(0, len(keys), 500):
                statement = sa.select(*(lineage.c[column] for column in columns)).where(
                    lineage.c.target_table == name,
                    lineage.c.target_key.in_(keys[start : start + 500]),
                )
                if self.scope is not None:
                    statement = statement.where(lineage.c.application.in_(sorted(self.scope)))
                result = self.execute("reading the lineage of kept rows", LINEAGE_TABLE, statement)
                rows.extend(tuple(row) for row in result)
        return PreparedTable(PRODUCT_TABLES[LINEAGE_TABLE], columns, rows)

    def insert_rows(
        self,
        name: str,
        positions: Sequence[int],
        table_name: str | None = None,
        first_row: int = 0,
    ) -> None:
        """Insert the prepared rows of `name` at `positions` into its table.

        `first_row` is the number of rows of the same frame written before these (see
        `_Step`).
        """
        if not positions:
            return
        prepared = self.prepared[name]
        table = self.metadata.tables[table_name or name]
        if self.postgresql:
            action = f"copying into table {table.name}"
            self.copy_rows(name, table, prepared.columns, positions, action, first_row)
        else:
            self.insert_many(name, table, positions, first_row)
        logger.debug("wrote %d rows into %s", len(positions), table.name)

    def insert_many(
        self, name: str, table: sa.Table, positions: Sequence[int], first_row: int = 0
    ) -> None:
        prepared = self.prepared[name]
        statement = table.insert()
        columns = prepared.columns
        text = str(statement.compile(dialect=self.dialect, column_keys=columns))
        action = f"inserting into table {table.name}"
        for start in range(0, len(positions), SQLITE_CHUNK_ROWS):
            chunk = positions[start : start + SQLITE_CHUNK_ROWS]
            self.step = _Step(action, name, text, chunk, first_row=first_row)
            chunk_values = prepared.column_values(range(len(columns)), chunk)
            self.connection.execute(
                statement,
                [dict(zip(columns, row, strict=True)) for row in zip(*chunk_values, strict=True)],
            )

    def copy_rows(
        self,
        name: str,
        table: sa.Table,
        columns: list[str],
        positions: Sequence[int],
        action: str,
        first_row: int = 0,
    ) -> None:
        """COPY the prepared rows of `name` at `positions` (only `columns`) into `table`."""
        prepared = self.prepared[name]
        statement = self.copy_statement(table, columns)
        body = _CopyBody(_renderer(prepared, columns), positions)
        self.step = _Step(action, name, statement, positions, copy=body, first_row=first_row)
        dbapi_connection = self.connection.connection.dbapi_connection
        with dbapi_connection.cursor() as cursor:
            cursor.copy_expert(statement, body, size=COPY_READ_SIZE)

    def copy_statement(self, table: sa.Table, columns: Sequence[str]) -> str:
        """Return the COPY statement that reads CSV rows of `columns` into `table`."""
        preparer = self.dialect.identifier_preparer
        column_list = ", ".join(preparer.quote(column) for column in columns)
        return f"COPY {preparer.format_table(table)} ({column_list}) FROM STDIN WITH (FORMAT csv)"

    def update_rows(self, name: str, positions: Sequence[int], first_row: int = 0) -> None:
        """Update the rows of `name` at `positions`, matched by primary key.

        `first_row` is the number of rows of the same frame before these (see `_Step`).
        """
        if not positions:
            return
        prepared = self.prepared[name]
        table = self.metadata.tables[name]
        key = prepared.table.primary_key
        values = [column for column in prepared.columns if column not in key]
        if self.postgresql:
            stage = self.create_stage(table, prepared.columns)
            self.copy_rows(
                name,
                stage,
                prepared.columns,
                positions,
                f"copying the changed rows of table {name} into a staging table",
                first_row,
            )
            statement = (
                table.update()
                .values({column: stage.c[column] for column in values})
                .where(*(table.c[column] == stage.c[column] for column in key))
            )
            self.step = _Step(
                f"updating table {name}",
                name,
                str(statement.compile(dialect=self.dialect)),
                positions,
                first_row=first_row,
            )
            self.connection.execute(statement)
            self.drop_stage(stage)
        else:
            statement = (
                table.update()
                .values({column: sa.bindparam(f"value_{i}") for i, column in enumerate(values)})
                .where(
                    *(table.c[column] == sa.bindparam(f"key_{i}") for i, column in enumerate(key))
                )
            )
            text = str(statement.compile(dialect=self.dialect))
            value_indexes = [prepared.columns.index(column) for column in values]
            key_indexes = [prepared.columns.index(column) for column in key]
            for start in range(0, len(positions), SQLITE_CHUNK_ROWS):
                chunk = positions[start : start + SQLITE_CHUNK_ROWS]
                parameters = []
                for position in chunk:
                    row = prepared.rows[position]
                    entry = {f"value_{i}": row[j] for i, j in enumerate(value_indexes)}
                    entry.update({f"key_{i}": row[j] for i, j in enumerate(key_indexes)})
                    parameters.append(entry)
                self.step = _Step(f"updating table {name}", name, text, chunk, first_row=first_row)
                self.connection.execute(statement, parameters)
        logger.debug("updated %d rows of %s", len(positions), name)

    def delete_rows(self, name: str, keys: list[tuple]) -> None:
        """Delete the rows of `name` whose primary keys are `keys`."""
        if not keys:
            return
        prepared = self.prepared[name]
        table = self.metadata.tables[name]
        key = prepared.table.primary_key
        action = f"deleting the removed rows of table {name}"
        if self.postgresql:
            stage = self.create_stage(table, key)
            staged = PreparedTable(prepared.table, list(key), keys)
            self.prepared[_REMOVED_KEYS] = staged
            self.copy_rows(
                _REMOVED_KEYS,
                stage,
                list(key),
                range(len(keys)),
                f"copying the removed keys of table {name} into a staging table",
            )
            statement = table.delete().where(
                *(table.c[column] == stage.c[column] for column in key)
            )
            self.execute(action, name, statement)
            self.drop_stage(stage)
        else:
            statement = table.delete().where(
                *(table.c[column] == sa.bindparam(f"key_{i}") for i, column in enumerate(key))
            )
            for start in range(0, len(keys), SQLITE_CHUNK_ROWS):
                chunk = keys[start : start + SQLITE_CHUNK_ROWS]
                parameters = [{f"key_{i}": value for i, value in enumerate(k)} for k in chunk]
                self.execute(action, name, statement, parameters)
        logger.debug("deleted %d rows of %s", len(keys), name)

    def create_stage(self, table: sa.Table, columns: Sequence[str]) -> sa.Table:
        """Create a temporary table with `columns` of `table`, dropped at the latest on commit."""
        stage = sa.Table(
            f"reprise_stage_{next(self._stage_numbers)}",
            sa.MetaData(),
            *(sa.Column(column, table.c[column].type) for column in columns),
            prefixes=["TEMPORARY"],
            postgresql_on_commit="DROP",
        )
        self.step = _Step(f"creating a staging table for table {table.name}", table.name)
        stage.create(self.connection)
        return stage

    def drop_stage(self, stage: sa.Table) -> None:
        self.step = _Step("dropping a staging table")
        stage.drop(self.connection)

    def error(self, exc: BaseException) -> TargetError:
        """Build the TargetError for a database error raised during the current step."""
        step = self.step
        if step.reprepare is not None and step.table is not None:
            # The rows of a COPY that another process converted: they are converted again
            # here, so the error names the row behind the failed line.
            try:
                self.prepared[step.table], step.copy = step.reprepare()
            except Exception as error:
                logger.warning("could not find the lineage row behind the error: %s", error)
        failure = describe_failure(exc)
        statement = step.statement or getattr(exc, "statement", None)
        prepared = self.prepared.get(step.table) if step.table else None
        constraint = failure.constraint
        table = prepared.table.name if prepared is not None else step.table

        where = ""
        in_frame = step.table not in (_KEPT_LINEAGE, _REMOVED_KEYS)
        if prepared is not None and step.positions is not None and in_frame:
            position, found_constraint = self.locate(failure, prepared, step)
            constraint = constraint or found_constraint
            if constraint and failure.kind == "foreign_key":
                failure.summary = f"foreign key {constraint} is violated"
            if position is not None:
                key = prepared.key_of(position)
                key_text_shown = f" ({key})" if key else ""
                row = step.first_row + position + 1
                where = f" at row {row} of the {table} frame{key_text_shown}"
        if failure.kind == "unique" and constraint is None and prepared is not None:
            # The primary key is the only unique constraint of these tables.
            constraint = f"pk_{prepared.table.name}"
            failure.summary = f"duplicate key: constraint {constraint} is violated"

        if failure.kind == "locked":
            advice = "wait for the other run to finish and run again"
        elif failure.kind == "other" or table is None:
            advice = "check the target database and run again"
        else:
            advice = f"fix the mapping or the source rows behind table {table} and run again"
        message = (
            f"{step.action} failed{where}: {failure.summary}; the load was rolled back and the "
            f"target database is unchanged; {advice}. Statement: {_one_line(statement)}"
        )
        return TargetError(message, table=table, constraint=constraint, statement=statement)

    def locate(self, failure: DatabaseFailure, prepared: PreparedTable, step: _Step):
        """Find the row behind a failure: from the COPY line, else by checking the rows."""
        if failure.copy_line is not None and step.copy is not None:
            position = step.copy.position_of_line(failure.copy_line)
            if position is not None:
                return position, None
        return find_violation(prepared, self.prepared, self.metadata, failure, step.positions)


def _frames_of(source: pd.DataFrame | TableRows, keep: bool) -> Iterator[pd.DataFrame]:
    """Yield the frames of `source`: one frame, or those of a `TableRows`, read and kept for
    another pass (`keep`) or taken."""
    if isinstance(source, pd.DataFrame):
        yield source
    elif keep:
        yield from source.peek()
    else:
        yield from source.taken()


def _discard(source: pd.DataFrame | TableRows) -> None:
    if not isinstance(source, pd.DataFrame):
        source.discard()


def find_violation(
    prepared: PreparedTable,
    all_prepared: dict[str, PreparedTable],
    metadata: sa.MetaData,
    failure: DatabaseFailure,
    positions: Sequence[int] | None = None,
) -> tuple[int | None, str | None]:
    """Return (row position, constraint name) of the first row that breaks the failed rule.

    The database does not always say which row failed (SQLite never does, PostgreSQL not for a
    foreign key checked at the end of a COPY), so the rows at `positions` (default all) are
    checked here.

    NOTE: a parent key counts as present only if the parent frame has it. A load that
    replaces some applications keeps parents that only the database holds, so for such a load
    the row named for a foreign key failure may be the wrong one.
    """
    table = prepared.table
    columns = prepared.columns
    rows = prepared.rows
    if positions is None:
        positions = range(len(rows))
    candidates = [(position, rows[position]) for position in positions]

    if failure.kind == "not_null" and failure.column in columns:
        index = columns.index(failure.column)
        return next((p for p, row in candidates if row[index] is None), None), None

    if failure.kind == "unique":
        key_indexes = [columns.index(name) for name in table.primary_key if name in columns]
        seen: set[tuple] = set()
        for position, row in candidates:
            key = tuple(row[i] for i in key_indexes)
            if key in seen:
                return position, None
            seen.add(key)
        return None, None

    if failure.kind == "foreign_key" and table.name in metadata.tables:
        for constraint in metadata.tables[table.name].foreign_key_constraints:
            if failure.constraint and constraint.name != failure.constraint:
                continue
            position = _first_dangling_row(prepared, candidates, all_prepared, constraint)
            if position is not None:
                return position, str(constraint.name)
        return None, None

    if failure.kind == "check" and failure.constraint:
        for column in table.columns:
            if column.length and failure.constraint.endswith(f"_{column.name}_length"):
                index = columns.index(column.name)
                position = next(
                    (
                        p
                        for p, row in candidates
                        if row[index] is not None and len(row[index]) > column.length
                    ),
                    None,
                )
                return position, None
    return None, None


def _first_dangling_row(prepared, candidates, all_prepared, constraint: sa.ForeignKeyConstraint):
    child_columns = [element.parent.name for element in constraint.elements]
    parent_columns = [element.column.name for element in constraint.elements]
    parent_name = constraint.referred_table.name
    parent = all_prepared.get(parent_name)
    parent_keys: set[tuple] = set()
    if parent is not None:
        parent_indexes = [parent.columns.index(name) for name in parent_columns]
        parent_keys = {tuple(row[i] for i in parent_indexes) for row in parent.rows}
    child_indexes = [prepared.columns.index(name) for name in child_columns]
    for position, row in candidates:
        key = tuple(row[i] for i in child_indexes)
        if None not in key and key not in parent_keys:
            return position
    return None


def _one_line(statement: str | None) -> str:
    if not statement:
        return "(unknown)"
    return " ".join(statement.split())
