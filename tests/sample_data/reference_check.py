"""A small, independent checker of a plaintext delivery against the data dictionaries.

It applies the validation rules one row at a time with the standard library and python-stdnum,
so the sample's expected numbers can be checked without the product's validator.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from stdnum import luhn
from stdnum.fr import nir

from migration.dictionary.model import Column, Dictionary, Table

ERROR_RULES = {
    "csv.field_count",
    "column.required",
    "column.length",
    "type.date",
    "type.integer",
    "type.decimal",
    "code.unknown",
    "key.duplicate",
    "fk.dangling",
}
UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_DEPARTEMENTS = {f"{n:02d}" for n in range(1, 96) if n != 20} | {"2A", "2B"}
_COMMUNE = re.compile(r"(?:\d{2}|2[AB])\d{3}|97[1-6]\d{2}|99\d{3}")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")


def uai_is_valid(value: str) -> bool:
    """Return True for 7 digits followed by the key letter of (number mod 23)."""
    return len(value) == 8 and value[:7].isdigit() and value[7] == UAI_LETTERS[int(value[:7]) % 23]


def _identifier_is_valid(kind: str, value: str) -> bool:
    if kind == "nir":
        return nir.is_valid(value)
    if kind == "finess":
        return len(value) == 9 and value.isdigit() and luhn.is_valid(value)
    if kind == "uai":
        return uai_is_valid(value)
    if kind == "insee_commune":
        return bool(_COMMUNE.fullmatch(value)) and (
            value[:2] in _DEPARTEMENTS or value[:2] in ("97", "99")
        )
    if kind == "postal_code":
        return len(value) == 5 and value.isdigit() and "01" <= value[:2] <= "98"
    if kind == "departement":
        code = value[1:] if len(value) == 3 and value[0] == "0" else value
        return code in _DEPARTEMENTS or value in {"971", "972", "973", "974", "976"}
    raise ValueError(kind)


@dataclass
class TableResult:
    """What the checker found in one table."""

    rows: list[dict[str, str]]
    findings: Counter = field(default_factory=Counter)  # (column, rule) -> count
    error_rows: set[int] = field(default_factory=set)
    warning_rows: set[int] = field(default_factory=set)
    duplicate_rows: set[int] = field(default_factory=set)
    lines: list[int] = field(default_factory=list)
    pending: list[tuple[int, str, str]] = field(default_factory=list)
    located: set[tuple[int, str, str]] = field(default_factory=set)  # (line, column, rule)

    def add(self, index: int, column: str, rule: str) -> None:
        """Count a finding on the record at `index` and remember its line."""
        self.findings[(column, rule)] += 1
        self.located.add((self.lines[index], column, rule))


def read_records(path: Path, table: Table) -> list[list[str]]:
    """Return the data records of a table file (after skipped lines, header and tag filter)."""
    return [record for _, record in read_records_with_lines(path, table)]


def read_records_with_lines(path: Path, table: Table) -> list[tuple[int, list[str]]]:
    """Return (physical line where the record starts, record) for each data record."""
    text = path.read_bytes().decode(table.encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=table.delimiter, strict=True)
    numbered = []
    previous_end = 0
    for record in reader:
        numbered.append((previous_end + 1, record))
        previous_end = reader.line_num
    numbered = numbered[table.skip_lines :]
    if table.header:
        (_, header), numbered = numbered[0], numbered[1:]
        assert header == table.column_names, f"{table.name}: header {header}"
    if table.record_tag:
        numbered = [(line, r) for line, r in numbered if r and r[0] == table.record_tag]
    return numbered


def load_rows(root: Path, application: str, table: Table) -> list[dict[str, str]]:
    """Return the records of one table as dictionaries keyed by column name."""
    records = read_records(root / application / table.file, table)
    return [dict(zip(table.column_names, record, strict=False)) for record in records]


def check_delivery(root: Path, application: str, dictionary: Dictionary) -> dict[str, TableResult]:
    """Check every table of one application folder; return the findings per table."""
    results = {}
    for name, table in dictionary.tables.items():
        numbered = read_records_with_lines(root / application / table.file, table)
        results[name] = _check_table(table, [record for _, record in numbered], dictionary)
        results[name].lines = [line for line, _ in numbered]
        results[name].located = {
            (results[name].lines[index], column, rule)
            for index, column, rule in results[name].pending
        }
    for name, table in dictionary.tables.items():
        result = results[name]
        for key in table.foreign_keys:
            parent = results[key.ref_table].rows
            known = {tuple(row[column] for column in key.ref_columns) for row in parent}
            for index, row in enumerate(result.rows):
                value = tuple(row[column] for column in key.columns)
                if all(value) and value not in known:
                    result.add(index, ",".join(key.columns), "fk.dangling")
                    result.error_rows.add(index)
    return results


def _check_table(table: Table, records: list[list[str]], dictionary: Dictionary) -> TableResult:
    result = TableResult(rows=[])
    seen_keys: set[tuple[str, ...]] = set()
    for index, record in enumerate(records):
        if len(record) != len(table.columns):
            result.findings[("", "csv.field_count")] += 1
            result.pending.append((index, "", "csv.field_count"))
            result.error_rows.add(index)
            result.rows.append({})
            continue
        row = dict(zip(table.column_names, record, strict=True))
        result.rows.append(row)
        for column in table.columns:
            for rule in _check_value(column, row[column.name], dictionary):
                result.findings[(column.name, rule)] += 1
                result.pending.append((index, column.name, rule))
                (result.error_rows if rule in ERROR_RULES else result.warning_rows).add(index)
        key = tuple(row[column] for column in table.primary_key)
        if key in seen_keys:
            result.findings[(",".join(table.primary_key), "key.duplicate")] += 1
            result.pending.append((index, ",".join(table.primary_key), "key.duplicate"))
            result.error_rows.add(index)
            result.duplicate_rows.add(index)
        seen_keys.add(key)
    return result


def _check_value(column: Column, value: str, dictionary: Dictionary) -> list[str]:
    if value == "":
        return [] if column.nullable else ["column.required"]
    rules = []
    if column.length is not None and len(value) > column.length:
        rules.append("column.length")
    if column.type == "date":
        if value in column.date_placeholders:
            rules.append("type.date_placeholder")
        elif not any(_parses(value, layout) for layout in column.date_formats):
            rules.append("type.date")
    elif column.type == "integer" and not re.fullmatch(r"-?\d+", value):
        rules.append("type.integer")
    elif column.type == "decimal":
        whole = (column.precision or 18) - (column.scale or 0)
        pattern = rf"-?\d{{1,{whole}}}(,\d{{1,{column.scale or 0}}})?"
        if not re.fullmatch(pattern, value):
            rules.append("type.decimal")
    elif column.type == "code" and value not in dictionary.codes(column):
        rules.append("code.unknown")
    if column.identifier and not _identifier_is_valid(column.identifier, value):
        rules.append(f"id.{column.identifier}")
    if _SCIENTIFIC.fullmatch(value):
        rules.append("spreadsheet.scientific")
    return rules


def _parses(value: str, layout: str) -> bool:
    try:
        datetime.strptime(value, layout)
    except ValueError:
        return False
    return True
