"""Figures and lineage read from the target database for the report.

The report shows the database's own counts next to the summary's (so a reader sees both agree),
a size-capped lineage index for the look-up page, and the persons merged across applications.
Nothing here reads a personal column: keys are surrogate or file keys, and a key column the
schema or dictionary marks as personal is masked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from migration.errors import MdphRepriseError
from migration.reading.findings import mask_nir, mask_value
from migration.target.product_tables import LINEAGE_TABLE, REJECT_TABLE, RUN_TABLE

logger = logging.getLogger(__name__)

MAX_INDEX_LINEAGE_ROWS = 20_000
"""Lineage rows embedded in the look-up page, shared by the target tables. Beyond this the page
shows how many it leaves out and points to `mdph-reprise lineage`."""
MAX_INDEX_REJECT_ROWS = 5_000
MAX_MERGED_PERSONS = 2_000
MAX_REJECT_SAMPLES = 20
"""Rejected rows shown per source table, with the values of the columns their rule names."""
PERSON_TABLE = "individu"


def read_database_facts(
    engine: sa.Engine,
    summary: Mapping,
    schema=None,
    *,
    mask_personal: bool = True,
    max_lineage_rows: int = MAX_INDEX_LINEAGE_ROWS,
    max_reject_rows: int = MAX_INDEX_REJECT_ROWS,
) -> dict[str, Any] | None:
    """Read the counts, lineage index and cross-application persons of the summary's run.

    Returns None when the database lacks the product tables. When the lineage in the database
    belongs to another run (this run did not load), only that fact is returned, under "stale".
    """
    from migration.target.schema import build_product_metadata, load_target_schema

    schema = schema or load_target_schema()
    # Only the product tables are queried by their columns. The target tables are counted by
    # name, so their tables and constraints are not built.
    tables = build_product_metadata().tables
    lineage, rejects, runs = tables[LINEAGE_TABLE], tables[REJECT_TABLE], tables[RUN_TABLE]
    run_id = summary.get("run_id")
    try:
        with engine.connect() as connection:
            names = set(sa.inspect(connection).get_table_names())
            if not {LINEAGE_TABLE, REJECT_TABLE, RUN_TABLE} <= names:
                return None
            # A load may replace some applications only, so lineage rows of several runs can
            # coexist; the report counts and indexes the rows of its own run.
            # Both queries use the index on run_id; listing the distinct run ids would read
            # every lineage row.
            own = connection.execute(
                sa.select(sa.literal(1)).where(lineage.c.run_id == run_id).limit(1)
            ).first()
            if own is None:
                latest = connection.execute(sa.select(sa.func.max(lineage.c.run_id))).scalar()
                if latest is not None:
                    return {"run_id": run_id, "stale": latest}
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-counts") as pool:
                # The counts scan the target tables and the run's lineage. On PostgreSQL they
                # run on a second connection while this one reads the index and the persons,
                # so the server runs both on two cores. SQLite takes them in turn.
                counting = None
                if engine.dialect.name == "postgresql":
                    counting = pool.submit(_counts_apart, engine, tables, schema, run_id)
                groups = _lineage_groups(connection, lineage, run_id)
                facts = {
                    "run_id": run_id,
                    "stale": None,
                    "counts": None,
                    "index": _index(
                        connection,
                        lineage,
                        rejects,
                        run_id,
                        groups,
                        _key_columns(schema, summary),
                        mask_personal,
                        max_lineage_rows,
                        max_reject_rows,
                    ),
                    "merged": _merged_persons(connection, lineage),
                    "run_recorded": connection.execute(
                        sa.select(sa.func.count()).select_from(runs).where(runs.c.run_id == run_id)
                    ).scalar_one()
                    == 1,
                }
                if counting is None:
                    counts = _counts(connection, tables, schema, run_id)
                else:
                    counts = counting.result()
            counts["lineage_rows"] = sum(group[-1] for group in groups)
            facts["counts"] = counts
    except sa.exc.SQLAlchemyError as error:
        logger.warning(
            "the report shows no database figures: reading the target database failed (%s)",
            type(error).__name__,
        )
        return None
    return facts


def _lineage_groups(connection, lineage, run_id) -> list[tuple[str, str, str, str, int]]:
    """Count the lineage rows of a run by target table, application, source table and file.

    One pass over the run's lineage gives its row count, the share of each target table and
    the file of each source table, which would otherwise take a pass each.
    """
    columns = [
        lineage.c.target_table,
        lineage.c.application,
        lineage.c.source_table,
        lineage.c.source_file,
    ]
    query = sa.select(*columns, sa.func.count()).where(lineage.c.run_id == run_id)
    return [tuple(row) for row in connection.execute(query.group_by(*columns))]


def _counts_apart(engine: sa.Engine, tables, schema, run_id) -> dict[str, Any]:
    """Return `_counts` read on a connection of its own."""
    with engine.connect() as connection:
        return _counts(connection, tables, schema, run_id)


def _counts(connection, tables, schema, run_id) -> dict[str, Any]:
    """Count the rows of each target table, and the source lines of the run's lineage and
    rejects per source table. The caller fills in the run's lineage rows (`lineage_rows`)."""
    lineage, rejects = tables[LINEAGE_TABLE], tables[REJECT_TABLE]
    targets = {
        name: connection.execute(
            sa.select(sa.func.count()).select_from(sa.table(name))
        ).scalar_one()
        for name in schema.table_order()
    }
    loaded = {
        f"{app}.{table}": count
        for app, table, count in connection.execute(
            sa.select(
                lineage.c.application,
                lineage.c.source_table,
                sa.func.count(sa.distinct(lineage.c.source_line)),
            )
            .where(lineage.c.run_id == run_id)
            .group_by(lineage.c.application, lineage.c.source_table)
        )
    }
    rejected_query = (
        sa.select(
            rejects.c.application,
            rejects.c.source_table,
            sa.func.count(sa.distinct(rejects.c.source_line)),
        )
        .where(rejects.c.run_id == run_id)
        .group_by(rejects.c.application, rejects.c.source_table)
    )
    rejected = {f"{app}.{table}": count for app, table, count in connection.execute(rejected_query)}
    return {
        "targets": targets,
        "loaded": loaded,
        "rejected": rejected,
        "lineage_rows": None,
        "reject_rows": connection.execute(
            sa.select(sa.func.count()).select_from(rejects).where(rejects.c.run_id == run_id)
        ).scalar_one(),
    }


def _index(connection, lineage, rejects, run_id, groups, keys, mask, max_rows, max_rejects):
    """Read up to max_rows lineage rows, shared by target table, and up to max_rejects rejects.

    A reject row gets its source key from the primary key columns of its raw values. The other
    raw values are dropped here, except in the samples of rejected rows (masked by default).
    """
    personal = keys
    per_table: dict[str, int] = {}
    for target_table, *_, count in groups:
        per_table[target_table] = per_table.get(target_table, 0) + count
    rows = []
    for target_table, share in _shares(per_table, max_rows).items():
        # The primary key's index gives the rows in key order without reading the table, so a
        # large lineage costs no more than a small one. Ordered by source line, the query
        # would scan the rows of every application. The rows are sorted by source line here.
        query = (
            sa.select(
                lineage.c.target_table,
                lineage.c.target_key,
                lineage.c.application,
                lineage.c.source_table,
                lineage.c.source_line,
                lineage.c.source_key,
            )
            .where(lineage.c.target_table == target_table, lineage.c.run_id == run_id)
            .order_by(
                lineage.c.target_key,
                lineage.c.application,
                lineage.c.source_table,
                lineage.c.source_line,
            )
            .limit(share)
        )
        # Sorted by application, source table, source line and target key. The rows are read
        # by position, because attribute access on SQLAlchemy rows is slower, and the index
        # has up to MAX_INDEX_LINEAGE_ROWS rows.
        selected = sorted(connection.execute(query).all(), key=itemgetter(2, 3, 4, 1))
        target_personal = (target_table,) in personal["targets"]
        for table_name, target_key, application, source_table, source_line, source_key in selected:
            source_personal = (application, source_table) in personal["sources"]
            rows.append(
                [
                    table_name,
                    _key(target_key, target_personal, mask),
                    application,
                    source_table,
                    source_line,
                    _key(source_key, source_personal, mask),
                ]
            )
    # Each source table gets its share of the rejects, as each target table does of the
    # lineage, so the rejects of one large table do not push the others out of the page.
    per_source = {
        (application, table): count
        for application, table, count in connection.execute(
            sa.select(rejects.c.application, rejects.c.source_table, sa.func.count())
            .where(rejects.c.run_id == run_id)
            .group_by(rejects.c.application, rejects.c.source_table)
        )
    }
    reject_rows = []
    samples: dict[str, list] = {}
    for (application, table), share in sorted(_shares(per_source, max_rejects).items()):
        reject_query = (
            sa.select(
                rejects.c.application,
                rejects.c.source_table,
                rejects.c.source_file,
                rejects.c.source_line,
                rejects.c.rule_id,
                rejects.c.column_name,
                rejects.c.target_table,
                rejects.c.reason,
                rejects.c.raw_values,
            )
            .where(
                rejects.c.run_id == run_id,
                rejects.c.application == application,
                rejects.c.source_table == table,
            )
            .order_by(rejects.c.source_line, rejects.c.id)
            .limit(share)
        )
        for row in connection.execute(reject_query):
            source = (row.application, row.source_table)
            source_key = _key(
                _raw_key(row.raw_values, keys["source_keys"].get(source)),
                source in personal["sources"],
                mask,
            )
            reject_rows.append([*row[:8], source_key])
            sample = samples.setdefault(f"{row.application}.{row.source_table}", [])
            if len(sample) < MAX_REJECT_SAMPLES:
                # A table unknown to the dictionaries has every column treated as personal.
                personal_names = keys["personal_columns"].get(source)
                values = _column_values(
                    row.raw_values,
                    row.column_name,
                    personal_names,
                    mask,
                    keys["nir_columns"].get(source, set()),
                )
                sample.append(
                    {
                        "line": row.source_line,
                        "rule_id": row.rule_id,
                        "key": source_key,
                        "values": values,
                        # A mapping reject names target columns, whose values are not stored.
                        "target_columns": _target_columns(row, values),
                        "reason": row.reason if row.target_table else None,
                        # The whole row only when the user asked for personal values in clear.
                        "row": None if mask else _raw_row(row.raw_values),
                    }
                )
    total_rejects = sum(per_source.values())
    return {
        "lineage": rows,
        "rejects": reject_rows,
        "files": _files(connection, rejects, run_id, groups),
        "reject_samples": samples,
        "total_lineage": sum(per_table.values()),
        "total_rejects": total_rejects,
        "truncated": len(rows) < sum(per_table.values()) or len(reject_rows) < total_rejects,
    }


def _shares(counts: Mapping[str, int], budget: int) -> dict[str, int]:
    """Split a row budget between tables: small tables get all their rows, and what they leave
    is shared by the larger ones."""
    shares = {}
    remaining = budget
    ordered = sorted(counts.items(), key=lambda item: item[1])
    for position, (name, count) in enumerate(ordered):
        share = min(count, remaining // (len(ordered) - position))
        shares[name] = share
        remaining -= share
    return dict(sorted(shares.items()))


def _files(connection, rejects, run_id, groups) -> dict[str, str]:
    """Return the source file of each APPLICATION.TABLE, so index rows need not repeat it."""
    files = {f"{application}.{table}": file for _, application, table, file, _ in groups}
    query = (
        sa.select(rejects.c.application, rejects.c.source_table, rejects.c.source_file)
        .where(rejects.c.run_id == run_id)
        .distinct()
    )
    for application, source_table, source_file in connection.execute(query):
        files[f"{application}.{source_table}"] = source_file
    return files


def _merged_persons(connection, lineage) -> dict[str, Any]:
    """Target persons fed by rows of more than one application, with those source rows."""
    merged_keys = (
        sa.select(lineage.c.target_key)
        .where(lineage.c.target_table == PERSON_TABLE)
        .group_by(lineage.c.target_key)
        .having(sa.func.count(sa.distinct(lineage.c.application)) > 1)
    )
    keys = [row[0] for row in connection.execute(merged_keys.order_by(lineage.c.target_key))]
    shown = keys[:MAX_MERGED_PERSONS]
    sources: dict[str, list] = {key: [] for key in shown}
    if shown:
        query = (
            sa.select(
                lineage.c.target_key,
                lineage.c.application,
                lineage.c.source_table,
                lineage.c.source_line,
                lineage.c.source_key,
            )
            .where(lineage.c.target_table == PERSON_TABLE, lineage.c.target_key.in_(shown))
            .order_by(lineage.c.target_key, lineage.c.application, lineage.c.source_line)
        )
        for row in connection.execute(query):
            sources[row.target_key].append(
                [row.application, row.source_table, row.source_line, row.source_key]
            )
    return {
        "total": len(keys),
        "rows": [{"target_key": key, "sources": sources[key]} for key in shown],
    }


def _key_columns(schema, summary: Mapping) -> dict[str, Any]:
    """Return the key and personal columns of each source table, and the target and source
    tables whose primary key has a personal column."""
    from migration.dictionary.model import load_dictionary

    targets = {
        (table.name,)
        for table in schema.tables.values()
        if any(table.column(name).personal for name in table.primary_key)
    }
    sources = set()
    source_keys: dict[tuple[str, str], tuple[str, ...]] = {}
    personal_columns: dict[tuple[str, str], set[str]] = {}
    nir_columns: dict[tuple[str, str], set[str]] = {}
    for application, entry in (summary.get("dictionaries") or {}).items():
        if not isinstance(entry, Mapping) or not entry.get("file"):
            continue
        try:
            dictionary = load_dictionary(entry["file"])
        except MdphRepriseError:
            # Without the dictionary the keys cannot be judged, so all are masked.
            sources.update((application, name) for name in _source_tables(summary, application))
            continue
        for table in dictionary.tables.values():
            source_keys[(application, table.name)] = tuple(table.primary_key)
            personal_columns[(application, table.name)] = {
                column.name for column in table.columns if column.personal
            }
            nir_columns[(application, table.name)] = {
                column.name for column in table.columns if column.identifier == "nir"
            }
            if any(table.column(name).personal for name in table.primary_key):
                sources.add((application, table.name))
    return {
        "targets": targets,
        "sources": sources,
        "source_keys": source_keys,
        "personal_columns": personal_columns,
        "nir_columns": nir_columns,
    }


def _column_values(
    raw_values: str | None,
    column_names: str | None,
    personal: set[str] | None,
    mask: bool,
    nir: set[str] = frozenset(),
) -> list[list]:
    """Return [[column, value], ...] of the columns a reject names, from its raw values.

    Values of personal columns are masked when mask is true, those of the `nir` columns as
    NIRs. With no dictionary for the table (personal is None), every value is masked.
    """
    if not raw_values or not column_names:
        return []
    try:
        values = json.loads(raw_values)
    except ValueError:
        return []
    if not isinstance(values, dict):
        return []
    shown = []
    for name in column_names.split(", "):
        if name in values:
            hidden = mask and (personal is None or name in personal)
            if hidden and name in nir and values[name] is not None:
                shown.append([name, mask_nir(values[name])])
            else:
                shown.append([name, _key(values[name], hidden, mask)])
    return shown


def _target_columns(row, values: list[list]) -> list[str]:
    """Return TABLE.COLUMN for each column a mapping reject names that is not a source column.

    The rejects table keeps the raw source row, not the target value, so the report names
    these columns and states that their value was not kept.
    """
    if not row.target_table or not row.column_name:
        return []
    shown = {name for name, _ in values}
    return [
        f"{row.target_table}.{name}" for name in row.column_name.split(", ") if name not in shown
    ]


def _raw_row(raw_values: str | None) -> list[list] | None:
    try:
        values = json.loads(raw_values) if raw_values else None
    except ValueError:
        return None
    return [[name, value] for name, value in values.items()] if isinstance(values, dict) else None


def _raw_key(raw_values: str | None, columns: tuple[str, ...] | None) -> str | None:
    if not raw_values or not columns:
        return None
    try:
        values = json.loads(raw_values)
    except ValueError:
        return None
    parts = [values.get(column) if isinstance(values, dict) else None for column in columns]
    if any(part is None for part in parts):
        return None
    return "|".join(str(part) for part in parts)


def _source_tables(summary: Mapping, application: str) -> list[str]:
    return [
        str(table.get("table"))
        for table in summary.get("tables") or []
        if isinstance(table, Mapping) and table.get("application") == application
    ]


def _key(value: object, personal: bool, mask: bool) -> object:
    if personal and mask and value is not None:
        return mask_value(value)
    return value
