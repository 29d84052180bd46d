"""Vectorised validation of source tables against their data dictionary.

`validate_table` checks one table's values (required, length, types, codes, identifiers,
primary key) and converts them to Python values by the declared types. `check_foreign_keys`
checks references between the tables of one application. Both return findings; a row with
any finding of severity error is rejected downstream.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from migration.dictionary.model import Column, Dictionary, Table
from migration.frame_keys import KeySet, key_values
from migration.reading.csv_reader import LINE_COLUMN, TableRead
from migration.reading.findings import ERROR, concat_findings, make_findings
from migration.validation.identifiers import CHECKS
from migration.validation.rules import RULES

_INTEGER = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?(\d+)(?:,(\d+))?$")
_SCIENTIFIC = re.compile(r"^-?\d+(?:[.,]\d+)?E[+-]?\d+$", re.IGNORECASE)


ColumnCounted = Callable[[Column, pd.Series], None]


@dataclass
class TableValidation:
    """Validation result of one table: findings and the rows converted to Python values."""

    findings: pd.DataFrame
    typed: pd.DataFrame


def validate_table(
    read: TableRead, dictionary: Dictionary, on_column: ColumnCounted | None = None
) -> TableValidation:
    """Check every column of a table read as text and convert it by its declared type.

    The values of each column are counted once (`value_counts`). When `on_column` is given,
    it is called with each column and its counts in turn, so profiling reuses the counts while
    only one column's counts are in memory.
    """
    rows = read.rows
    typed = pd.DataFrame({LINE_COLUMN: rows[LINE_COLUMN]}, index=rows.index)
    found = []
    for column in read.table.columns:
        values = rows[column.name]
        counts = values.value_counts()
        distinct = pd.Series(counts.index, dtype=object)
        column_findings, converted = _check_column(read, dictionary, column, values, distinct)
        if on_column is not None:
            on_column(column, counts)
        found.extend(column_findings)
        typed[column.name] = converted
    found.append(_check_primary_key(read))
    found.extend(_check_unique_keys(read))
    return TableValidation(concat_findings(found), typed)


def _check_column(
    read: TableRead, dictionary: Dictionary, column: Column, values: pd.Series, distinct: pd.Series
) -> tuple[list[pd.DataFrame], pd.Series]:
    """Check one column, given its distinct non-null values in `distinct`.

    The rules test the distinct values, then find the rows that contain a bad one. A column of
    a million rows with a few thousand distinct values therefore costs a few thousand tests.
    """
    lines = read.rows[LINE_COLUMN]
    found: list[pd.DataFrame] = []

    def add(mask: pd.Series, rule_id: str) -> None:
        if mask.any():
            found.append(
                make_findings(
                    application=read.application,
                    table=read.table.name,
                    file=read.path.name,
                    lines=lines[mask],
                    column=column.name,
                    rule_id=rule_id,
                    severity=RULES[rule_id].severity,
                    values=values[mask],
                )
            )

    def add_values(bad: pd.Series, rule_id: str) -> None:
        if len(bad):
            add(values.isin(bad), rule_id)

    present = values.notna()
    if not column.nullable:
        add(~present, "column.required")
    if column.length is not None:
        add_values(distinct[distinct.str.len() > column.length], "column.length")
    if column.type in ("text", "code", "integer"):
        add_values(distinct[distinct.map(_looks_scientific)], "spreadsheet.scientific")

    converted = values
    if column.type == "date":
        converted, invalid, placeholder = _convert_dates(values, column, distinct)
        add(invalid, "type.date")
        add(placeholder, "type.date_placeholder")
        if not column.nullable:
            add(placeholder, "column.required")
    elif column.type == "integer":
        integers = {value: int(value) for value in distinct if _INTEGER.match(value)}
        converted = values.map(pd.Series(integers, dtype=object))
        invalid = present & converted.isna()
        add(invalid, "type.integer")
        converted = converted.where(~converted.isna(), None)
    elif column.type == "decimal":
        decimals = {
            value: Decimal(value.replace(",", "."))
            for value in distinct
            if _is_decimal(value, column)
        }
        converted = values.map(pd.Series(decimals, dtype=object))
        invalid = present & converted.isna()
        add(invalid, "type.decimal")
        converted = converted.where(~converted.isna(), None)
    elif column.type == "code":
        add_values(distinct[~distinct.isin(list(dictionary.codes(column)))], "code.unknown")
    if column.identifier is not None:
        add_values(distinct[CHECKS[column.identifier](distinct)], f"id.{column.identifier}")
    return found, converted.astype(object)


def _looks_scientific(value: str) -> bool:
    return ("E" in value or "e" in value) and _SCIENTIFIC.match(value) is not None


def _convert_dates(
    values: pd.Series, column: Column, distinct: pd.Series
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse dates in the declared formats, strictly: the value must round-trip exactly.

    Dates repeat a lot (a few thousand distinct days in a million rows), so each distinct
    value is parsed once and the results are mapped back onto the column.
    """
    present = values.notna()
    placeholders = distinct.isin(list(column.date_placeholders))
    if placeholders.any():
        placeholder = values.isin(distinct[placeholders])
    else:
        placeholder = pd.Series(False, index=values.index)
    candidates = distinct[~placeholders]
    dates: dict[str, datetime.date] = {}
    for date_format in column.date_formats:
        remaining = candidates[~candidates.isin(list(dates))]
        if remaining.empty:
            break
        stamps = pd.to_datetime(remaining, format=date_format, errors="coerce")
        exact = stamps.notna() & (stamps.dt.strftime(date_format) == remaining)
        for text, stamp in zip(remaining[exact], stamps[exact], strict=True):
            dates[text] = datetime.date(stamp.year, stamp.month, stamp.day)
    parsed = values.map(dates).astype(object)
    parsed = parsed.where(parsed.notna(), None)
    invalid = present & ~placeholder & parsed.isna()
    return parsed, invalid, placeholder


def _is_decimal(value: str | None, column: Column) -> bool:
    if value is None:
        return True
    match = _DECIMAL.match(value)
    if not match:
        return False
    integer_digits, decimals = match.group(1), match.group(2) or ""
    if column.scale is not None and len(decimals) > column.scale:
        return False
    if column.precision is not None:
        return len(integer_digits.lstrip("0")) + (column.scale or 0) <= column.precision
    return True


def _check_primary_key(read: TableRead) -> pd.DataFrame:
    key = list(read.table.primary_key)
    if not key or read.rows.empty:
        return make_findings(
            application=read.application,
            table=read.table.name,
            file=read.path.name,
            lines=[],
            column=None,
            rule_id="key.duplicate",
            severity=ERROR,
        )
    duplicated = read.rows.duplicated(subset=key, keep="first") & read.rows[key].notna().all(axis=1)
    return make_findings(
        application=read.application,
        table=read.table.name,
        file=read.path.name,
        lines=read.rows.loc[duplicated, LINE_COLUMN],
        column=", ".join(key),
        rule_id="key.duplicate",
        severity=RULES["key.duplicate"].severity,
        values=key_values(read.rows.loc[duplicated], key),
    )


def _check_unique_keys(read: TableRead) -> list[pd.DataFrame]:
    found = []
    for key in read.table.unique_keys:
        columns = list(key)
        present = read.rows[columns].notna().all(axis=1)
        duplicated = read.rows.duplicated(subset=columns, keep="first") & present
        found.append(
            make_findings(
                application=read.application,
                table=read.table.name,
                file=read.path.name,
                lines=read.rows.loc[duplicated, LINE_COLUMN],
                column=", ".join(columns),
                rule_id="key.unique",
                severity=RULES["key.unique"].severity,
                values=key_values(read.rows.loc[duplicated], columns),
            )
        )
    return found


def check_foreign_keys(
    reads: dict[str, TableRead],
    dictionary: Dictionary,
    known: dict[tuple[str, tuple[str, ...]], KeySet] | None = None,
) -> pd.DataFrame:
    """Check every declared foreign key between tables of one application.

    `known` gives the keys of referenced tables that are not in `reads`, by table and columns:
    a run that validates one table at a time keeps only those keys of the tables it has freed.
    """
    found = []
    for name, read in reads.items():
        table: Table = read.table
        for key in table.foreign_keys:
            columns, ref_columns = list(key.columns), list(key.ref_columns)
            values = key_values(read.rows, columns)
            if key.ref_table in reads:
                keys = set(key_values(reads[key.ref_table].rows, ref_columns).dropna())
                referenced = values.isin(keys)
            elif known is not None and (key.ref_table, tuple(ref_columns)) in known:
                referenced = known[(key.ref_table, tuple(ref_columns))].contains(values)
            else:
                continue
            dangling = values.notna() & ~referenced
            found.append(
                make_findings(
                    application=read.application,
                    table=name,
                    file=read.path.name,
                    lines=read.rows.loc[dangling, LINE_COLUMN],
                    column=", ".join(columns),
                    rule_id="fk.dangling",
                    severity=RULES["fk.dangling"].severity,
                    values=values[dangling],
                )
            )
    return concat_findings(found)
