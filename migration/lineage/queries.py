"""Row lineage queries over the target database: where a target row came from, where a source
row went.

The target database holds four product tables for this: `reprise_lignage` (one row per target
row and source row that produced it), `reprise_rejet` (one row per rule that rejected a source
row, with the row's raw values), `reprise_filtre` (one row per mapping filter that left out a
source row that nothing loaded or rejected) and `reprise_run` (one row per run, with its JSON
summary). A load replaces the lineage and the filtered rows of the applications it loads, so
those rows belong to the last run that loaded their application. Rejects and runs of earlier
runs are kept, and the queries here read those of the run the lineage belongs to.

Personal values (columns marked `personal` in the target schema or the data dictionary) are
masked in every result unless the caller passes `show_personal=True`.
"""

from __future__ import annotations

import datetime
import difflib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from migration.errors import MdphRepriseError
from migration.lineage.errors import LineageError
from migration.reading.findings import mask_nir, mask_value
from migration.target.engine import describe_url
from migration.target.model import TargetSchema
from migration.target.product_tables import FILTER_TABLE, LINEAGE_TABLE, REJECT_TABLE, RUN_TABLE
from migration.target.schema import build_metadata, build_product_metadata, load_target_schema

logger = logging.getLogger(__name__)

KEY_SEPARATOR = "|"
"""Separator of the parts of a composite key, as the assembly writes `target_key`."""

STATUS_LOADED = "loaded"
STATUS_REJECTED = "rejected"
STATUS_FILTERED = "filtered"
STATUS_NOT_FOUND = "not_found"


@dataclass
class SourceRow:
    """A source row as lineage records it: application, table, file, line and key."""

    application: str
    source_table: str
    source_file: str | None
    source_line: int | None
    source_key: str | None


@dataclass
class TargetRef:
    """A target row produced by a source row."""

    target_table: str
    target_key: str
    source_line: int
    source_key: str | None


@dataclass
class RejectRef:
    """A rule that rejected a source row, with the row's raw values (masked by default)."""

    source_line: int | None
    source_file: str | None
    rule_id: str
    severity: str
    column_name: str | None
    reason: str
    target_table: str | None
    raw_values: dict[str, Any] | None


@dataclass
class FilterRef:
    """A mapping filter that left out a source row, with its reason.

    `target_table` is None when the mapping drops the whole source table.
    """

    source_line: int
    source_file: str
    source_key: str | None
    target_table: str | None
    reason: str


@dataclass
class TargetTrace:
    """Where one target row came from."""

    run_id: str | None
    table: str
    key: str
    row: dict[str, Any] | None
    sources: list[SourceRow] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.row is not None or bool(self.sources)

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self)) | {"found": self.found}


@dataclass
class SourceTrace:
    """Where one source row (by line) or every source row with one key went."""

    run_id: str | None
    application: str
    table: str
    line: int | None
    key: str | None
    status: str
    targets: list[TargetRef] = field(default_factory=list)
    rejects: list[RejectRef] = field(default_factory=list)
    filters: list[FilterRef] = field(default_factory=list)

    @property
    def lines(self) -> list[dict[str, Any]]:
        """Each source line found, with "loaded", "rejected" or "filtered" (a key may match
        several)."""
        statuses = {target.source_line: STATUS_LOADED for target in self.targets}
        for reject in self.rejects:
            statuses.setdefault(reject.source_line, STATUS_REJECTED)
        for filtered in self.filters:
            statuses.setdefault(filtered.source_line, STATUS_FILTERED)
        return [
            {"line": line, "status": status}
            for line, status in sorted(statuses.items(), key=lambda item: item[0] or 0)
        ]

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self)) | {"lines": self.lines}


def product_tables(schema: TargetSchema | None = None) -> dict[str, sa.Table]:
    """Return the SQLAlchemy tables of the target schema and of the product tables, by name."""
    metadata = build_metadata(schema or load_target_schema())
    return dict(metadata.tables)


def current_run_id(
    connection: sa.Connection, tables: dict[str, sa.Table], application: str | None = None
) -> str | None:
    """Return the latest run id of the lineage (of one application when given), else the
    latest run, else None.

    A load may replace the rows of some applications only, so the lineage of each application
    can come from a different run.
    """
    lineage = tables[LINEAGE_TABLE]
    query = sa.select(sa.func.max(lineage.c.run_id))
    if application is not None:
        query = query.where(lineage.c.application == application)
    run_id = connection.execute(query).scalar()
    if run_id is not None:
        return run_id
    runs = tables[RUN_TABLE]
    latest = sa.select(runs.c.run_id).order_by(runs.c.started_at.desc()).limit(1)
    return connection.execute(latest).scalar()


def run_summary(engine: sa.Engine, run_id: str | None = None) -> dict | None:
    """Return the JSON summary stored with a run (the current run by default), or None."""
    tables = product_tables()
    with _connect(engine) as connection:
        run_id = run_id or current_run_id(connection, tables)
        if run_id is None:
            return None
        runs = tables[RUN_TABLE]
        text = connection.execute(
            sa.select(runs.c.summary_json).where(runs.c.run_id == run_id)
        ).scalar()
    return _parse_summary(text, run_id)


def previous_run_summary(engine: sa.Engine, run_id: str) -> dict | None:
    """Return the summary of the last successful run started before `run_id`, or None.

    The report compares a delivery with this one to list what changed.
    """
    # The product tables alone: the target tables of the schema are not read here.
    runs = build_product_metadata().tables[RUN_TABLE]
    with _connect(engine) as connection:
        started = connection.execute(
            sa.select(runs.c.started_at).where(runs.c.run_id == run_id)
        ).scalar()
        query = sa.select(runs.c.run_id, runs.c.summary_json).where(
            runs.c.run_id != run_id, runs.c.status == "success"
        )
        if started is not None:
            query = query.where(runs.c.started_at < started)
        row = connection.execute(query.order_by(runs.c.started_at.desc()).limit(1)).first()
    if row is None:
        return None
    return _parse_summary(row.summary_json, row.run_id)


def trace_target(
    engine: sa.Engine,
    table: str,
    key: str,
    *,
    show_personal: bool = False,
    schema: TargetSchema | None = None,
) -> TargetTrace:
    """Find a target row by its primary key and the source rows that produced it.

    Args:
        engine: an engine on the target database.
        table: a table of the target schema, e.g. "individu".
        key: the primary key value; the parts of a composite key are joined with "|".
        show_personal: return personal column values in clear (for use inside the MDPH only).
        schema: the target schema; the bundled reference schema by default.

    Raises:
        LineageError: the table is not in the target schema, the key has the wrong number of
            parts, or the database lacks the lineage tables.
    """
    schema = schema or load_target_schema()
    if table not in schema.tables:
        raise LineageError(
            f"unknown target table {table!r}; the target schema {schema.name} has the tables "
            f"{', '.join(schema.tables)}"
        )
    target = schema.tables[table]
    parts = key.split(KEY_SEPARATOR) if len(target.primary_key) > 1 else [key]
    if len(parts) != len(target.primary_key):
        raise LineageError(
            f"table {table} has the primary key ({', '.join(target.primary_key)}): give "
            f"{len(target.primary_key)} values joined with {KEY_SEPARATOR!r}"
        )
    tables = product_tables(schema)
    sql_table = tables[table]
    lineage = tables[LINEAGE_TABLE]
    with _connect(engine) as connection:
        run_id = current_run_id(connection, tables)
        condition = sa.and_(
            *(
                sql_table.c[name] == value
                for name, value in zip(target.primary_key, parts, strict=True)
            )
        )
        found = connection.execute(sa.select(sql_table).where(condition)).mappings().first()
        rows = connection.execute(
            sa.select(lineage)
            .where(lineage.c.target_table == table, lineage.c.target_key == key)
            .order_by(lineage.c.application, lineage.c.source_table, lineage.c.source_line)
        ).mappings()
        sources = [
            SourceRow(
                row["application"],
                row["source_table"],
                row["source_file"],
                row["source_line"],
                row["source_key"],
            )
            for row in rows
        ]
    values = None
    if found is not None:
        personal = {column.name for column in target.columns if column.personal}
        nirs = {column.name for column in target.columns if column.identifier == "nir"}
        values = {
            name: _shown(value, name in personal and not show_personal, name in nirs)
            for name, value in found.items()
        }
    logger.info("traced target row of %s: %d source rows", table, len(sources))
    return TargetTrace(run_id, table, key, values, sources)


def _known_source_table(application: str, table: str) -> tuple[str, str]:
    """Check an application and table name against the bundled dictionaries, ignoring case."""
    from migration.dictionary.model import load_dictionary

    application = application.upper()
    if application not in ("ITAC", "OPALES"):
        raise LineageError(f"unknown application {application!r}; use ITAC or OPALES")
    tables = list(load_dictionary(application.lower()).tables)
    by_upper = {name.upper(): name for name in tables}
    if table.upper() in by_upper:
        return application, by_upper[table.upper()]
    raise LineageError(unknown_table_message(application, table, tables))


MAX_LISTED_TABLES = 12
"""Maximum number of table names that an error lists; with more tables it lists the closest."""


def unknown_table_message(application: str, table: str, tables: list[str]) -> str:
    """Build the error for a table name that an application lacks, with the names to use.

    The message lists every table when there are at most MAX_LISTED_TABLES, else the five
    closest to `table`.
    """
    by_upper = {name.upper(): name for name in tables}
    if len(tables) <= MAX_LISTED_TABLES:
        label, listed = "its tables are", tables
    else:
        label = f"the closest of its {len(tables)} tables are"
        closest = difflib.get_close_matches(table.upper(), list(by_upper), n=5, cutoff=0)
        listed = [by_upper[name] for name in closest]
    message = f"{application} has no table {table!r}"
    close = difflib.get_close_matches(table.upper(), list(by_upper), n=1)
    if close:
        return f"{message}; did you mean {by_upper[close[0]]}? {label.capitalize()} " + (
            ", ".join(listed)
        )
    return f"{message}; {label} " + ", ".join(listed)


def trace_source(
    engine: sa.Engine,
    application: str,
    table: str,
    line_or_key: int | str,
    *,
    show_personal: bool = False,
) -> SourceTrace:
    """Find the target rows, the rejects or the filters of a source row, by line or by key.

    An int is a physical line of the source file (the line where the record starts); a str is
    the value of the table's primary key (parts joined with "|"), which may match several lines
    when the source has duplicates. The status is "loaded" when a target row comes from the
    row, else "rejected" when a rule of the lineage's run rejected it, else "filtered" when
    `reprise_filtre` has a row for it, else "not_found", as for a line past the end of the file.

    Raises:
        LineageError: the database lacks the lineage tables, or lacks `reprise_filtre` (a
            database that an earlier release loaded) for a row that is neither loaded nor
            rejected.
    """
    application, table = _known_source_table(application, table)
    line = line_or_key if isinstance(line_or_key, int) else None
    key = None if isinstance(line_or_key, int) else str(line_or_key)
    tables = product_tables()
    lineage = tables[LINEAGE_TABLE]
    rejects_table = tables[REJECT_TABLE]
    filters_table = tables[FILTER_TABLE]
    with _connect(engine) as connection:
        run_id = current_run_id(connection, tables, application)
        same_table = sa.and_(lineage.c.application == application, lineage.c.source_table == table)
        lineage_rows = connection.execute(
            sa.select(lineage)
            .where(same_table, _line_or_key(lineage, line, key))
            .order_by(lineage.c.source_line, lineage.c.target_table, lineage.c.target_key)
        ).mappings()
        targets = [
            TargetRef(row["target_table"], row["target_key"], row["source_line"], row["source_key"])
            for row in lineage_rows
        ]
        reject_query = sa.select(rejects_table).where(
            rejects_table.c.application == application,
            rejects_table.c.source_table == table,
        )
        if run_id is not None:
            reject_query = reject_query.where(rejects_table.c.run_id == run_id)
        if line is not None:
            reject_query = reject_query.where(rejects_table.c.source_line == line)
        summary_text = None
        if run_id is not None:
            runs = tables[RUN_TABLE]
            summary_text = connection.execute(
                sa.select(runs.c.summary_json).where(runs.c.run_id == run_id)
            ).scalar()
        reject_rows = list(connection.execute(reject_query.order_by(rejects_table.c.id)).mappings())
        # None when the database has no filter table, which a load by an earlier release
        # leaves. No run id is needed: a load replaces all the filtered rows of the
        # applications it loads, so the rows of one application come from one run.
        filter_rows = None
        if sa.inspect(connection).has_table(FILTER_TABLE):
            filter_query = sa.select(filters_table).where(
                filters_table.c.application == application,
                filters_table.c.source_table == table,
                _line_or_key(filters_table, line, key),
            )
            ordered = filter_query.order_by(filters_table.c.source_line, filters_table.c.id)
            filter_rows = list(connection.execute(ordered).mappings())
    summary = _parse_summary(summary_text, run_id) or {}
    dictionary = _dictionary_of(summary, application)
    source_table = dictionary.tables.get(table) if dictionary is not None else None
    if key is not None:
        key_columns = list(source_table.primary_key) if source_table is not None else []
        reject_rows = [row for row in reject_rows if _raw_key(row, key_columns) == key]
    rejects = [
        RejectRef(
            row["source_line"],
            row["source_file"],
            row["rule_id"],
            row["severity"],
            row["column_name"],
            row["reason"],
            row["target_table"],
            _raw_values(row["raw_values"], source_table, show_personal),
        )
        for row in reject_rows
    ]
    filters = [
        FilterRef(
            row["source_line"],
            row["source_file"],
            row["source_key"],
            row["target_table"],
            row["reason"],
        )
        for row in filter_rows or []
    ]
    if targets:
        status = STATUS_LOADED
    elif rejects:
        status = STATUS_REJECTED
    elif filters:
        status = STATUS_FILTERED
    elif filter_rows is None:
        where = f"line {line}" if line is not None else f"key {key!r}"
        raise LineageError(
            f"{application}.{table} {where} has no target row and no reject, and the target "
            f"database {describe_url(engine.url)} has no table {FILTER_TABLE}, so whether a "
            "mapping filtered it is unknown: an earlier release of mdph-reprise loaded the "
            "database. Run `mdph-reprise run` into it again to record the filtered rows"
        )
    else:
        status = STATUS_NOT_FOUND
    logger.info(
        "traced source row of %s.%s: %s, %d target rows, %d rejects, %d filters",
        application,
        table,
        status,
        len(targets),
        len(rejects),
        len(filters),
    )
    return SourceTrace(run_id, application, table, line, key, status, targets, rejects, filters)


def _line_or_key(table: sa.Table, line: int | None, key: str | None) -> sa.ColumnElement[bool]:
    """Return the condition on the rows of `table` at a source line, else with a source key."""
    if line is not None:
        return table.c.source_line == line
    return table.c.source_key == key


@contextmanager
def _connect(engine: sa.Engine) -> Iterator[sa.Connection]:
    """Open a connection, turning missing product tables into an error that says what to do."""
    with engine.connect() as connection:
        names = set(sa.inspect(connection).get_table_names())
        missing = sorted({LINEAGE_TABLE, REJECT_TABLE, RUN_TABLE} - names)
        if missing:
            url = describe_url(engine.url)
            raise LineageError(
                f"the target database {url} has no table {', '.join(missing)}; run "
                "`mdph-reprise run` into it first, or pass the --target URL of a loaded database"
            )
        yield connection


def _parse_summary(text: str | None, run_id: str | None) -> dict | None:
    if not text:
        return None
    try:
        summary = json.loads(text)
    except ValueError:
        logger.warning("the summary of run %s in %s is not valid JSON", run_id, RUN_TABLE)
        return None
    return summary if isinstance(summary, dict) else None


def _dictionary_of(summary: dict, application: str):
    """Load the data dictionary the run used for an application, or the bundled one."""
    from migration.dictionary.model import BUNDLED, load_dictionary

    entry = (summary.get("dictionaries") or {}).get(application) or {}
    candidates = [entry.get("file")]
    if application.lower() in BUNDLED:
        candidates.append(application.lower())
    for candidate in filter(None, candidates):
        try:
            return load_dictionary(candidate)
        except MdphRepriseError:
            continue
    return None


def _raw_key(row, key_columns: list[str]) -> str | None:
    if not key_columns or not row["raw_values"]:
        return None
    try:
        values = json.loads(row["raw_values"])
    except ValueError:
        return None
    parts = [values.get(column) for column in key_columns]
    if any(part is None for part in parts):
        return None
    return KEY_SEPARATOR.join(str(part) for part in parts)


def _raw_values(text: str | None, table, show_personal: bool) -> dict[str, Any] | None:
    """Parse a reject's raw values, masking personal columns unless `show_personal`.

    Every value is masked when the table is unknown. A key that is not a column of the table
    is masked too, because it may be the raw text of a malformed record, with every column.
    Those values and the NIR columns show each digit as `NIR_MASK`, because they may contain a
    NIR, and fifteen nines would read as one.
    """
    if not text:
        return None
    try:
        values = json.loads(text)
    except ValueError:
        return None
    if show_personal or not isinstance(values, dict):
        return values
    columns = {} if table is None else {column.name: column for column in table.columns}
    masked_values = {}
    for name, value in values.items():
        column = columns.get(name)
        if column is None:
            masked_values[name] = _shown(value, masked=True, nir=True)
        else:
            masked_values[name] = _shown(value, column.personal, column.identifier == "nir")
    return masked_values


def _shown(value: Any, masked: bool, nir: bool = False) -> Any:
    if masked and value is not None:
        return mask_nir(_plain(value)) if nir else mask_value(_plain(value))
    return value


def _plain(value: Any) -> Any:
    """Turn dates, decimals and nested containers into JSON types."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
