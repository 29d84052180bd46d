"""Read and write data dictionaries as spreadsheets: an XLSX workbook or a set of CSV files.

The layout has one row per source column, plus optional sheets for code lists, tables,
plausibility checks and dictionary properties (see `docs/dictionaries.md`):

- `columns`: table, file, column, type, length, precision, scale, nullable, date_formats,
  date_placeholders, code_list, identifier, personal, primary_key, unique_key, foreign_key,
  description;
- `codes`: code_list, code, label;
- `tables`: table, file, description, header, record_tag, skip_lines, encoding, delimiter;
- `checks`: table, rule, start, end, date, birth, at, min_age, max_age;
- `about`: property, value (application, version, source, encoding, delimiter, date_formats,
  date_placeholders).

A workbook contains these as sheets. As CSV, the columns file `NAME.csv` or `NAME_columns.csv` is
read with its companions `NAME_codes.csv`, `NAME_tables.csv`, `NAME_checks.csv` and
`NAME_about.csv` when they exist next to it.

Every cell is read as text. An XLSX cell that holds a number, a date or TRUE/FALSE is a finding,
because the spreadsheet may already have turned the code 01 into 1. Whole numbers are accepted
only where a number is expected (length, precision, scale, skip_lines, ages, key positions),
and TRUE/FALSE only in yes/no columns.
"""

from __future__ import annotations

import csv
import datetime
import difflib
import io
import logging
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from migration.dictionary.errors import DictionaryError, DictionaryImportError, Finding
from migration.dictionary.model import Dictionary
from migration.dictionary.sheet_builder import LIST_SEPARATOR, Cell, Sheet, build_document
from migration.dictionary.writer import PLAUSIBILITY_KEYS, document_from_dictionary

logger = logging.getLogger(__name__)

HEADERS = {
    "columns": (
        "table",
        "file",
        "column",
        "type",
        "length",
        "precision",
        "scale",
        "nullable",
        "date_formats",
        "date_placeholders",
        "code_list",
        "identifier",
        "personal",
        "primary_key",
        "unique_key",
        "foreign_key",
        "description",
    ),
    "codes": ("code_list", "code", "label"),
    "tables": (
        "table",
        "file",
        "description",
        "header",
        "record_tag",
        "skip_lines",
        "encoding",
        "delimiter",
    ),
    "checks": ("table", "rule", *PLAUSIBILITY_KEYS),
    "about": ("property", "value"),
}
REQUIRED_HEADERS = {
    "columns": ("table", "column", "type"),
    "codes": ("code_list", "code", "label"),
    "tables": ("table",),
    "checks": ("table", "rule"),
    "about": ("property", "value"),
}
COMPANION_SHEETS = ("codes", "tables", "checks", "about")
# Headers whose XLSX cells may hold a whole number, and those that may hold TRUE/FALSE.
INTEGER_HEADERS = frozenset(
    {"length", "precision", "scale", "skip_lines", "min_age", "max_age", "primary_key"}
)
BOOLEAN_HEADERS = frozenset({"nullable", "personal", "header", "primary_key"})


def csv_companions(path: Path) -> dict[str, Path]:
    """Return where the companion CSV files of a columns file are looked for.

    `itac.csv` and `itac_columns.csv` both have the companions `itac_codes.csv`,
    `itac_tables.csv`, `itac_checks.csv` and `itac_about.csv`.
    """
    base = path.stem.removesuffix("_columns")
    return {kind: path.with_name(f"{base}_{kind}{path.suffix}") for kind in COMPANION_SHEETS}


def read_sheets(
    path: Path,
    *,
    codes: Path | None = None,
    tables: Path | None = None,
    checks: Path | None = None,
    about: Path | None = None,
    application: str | None = None,
    encoding: str = "utf-8-sig",
) -> dict[str, Any]:
    """Read a dictionary written as an XLSX workbook or as CSV files, into a document.

    Args:
        path: the `.xlsx` workbook, or the `.csv` file of the columns.
        codes: CSV file of the code lists, instead of the companion next to `path`.
        tables: CSV file of the tables, instead of the companion.
        checks: CSV file of the plausibility checks, instead of the companion.
        about: CSV file of the dictionary properties, instead of the companion.
        application: the application name; overrides the `about` sheet.
        encoding: encoding of the CSV files; UTF-8 with or without a byte order mark by default.

    Returns:
        The dictionary document, ready for `writer.write_dictionary`.

    Raises:
        DictionaryError: a file cannot be read or a sheet lacks a required column header.
        DictionaryImportError: cells break the format; every finding names its cell.
    """
    path = Path(path)
    explicit = {"codes": codes, "tables": tables, "checks": checks, "about": about}
    findings: list[Finding] = []
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        csv_options = [f"--{kind}" for kind, value in explicit.items() if value is not None]
        if csv_options:
            raise DictionaryError(
                f"{path}: {', '.join(csv_options)} only apply to CSV files; a workbook "
                "contains its code lists, tables, checks and properties as sheets"
            )
        sheets = _read_workbook(path, findings)
    elif suffix == ".csv":
        sheets = _read_csv_files(path, explicit, encoding, findings)
    else:
        raise DictionaryError(
            f"{path}: unknown dictionary file type {path.suffix!r}; give a .xlsx workbook, a "
            ".csv file of columns or a .json Data Package"
        )
    document = build_document(sheets, findings, application, label=str(path))
    if findings:
        raise DictionaryImportError(findings)
    return document


def _read_csv_files(
    path: Path, explicit: dict[str, Path | None], encoding: str, findings: list[Finding]
) -> dict[str, Sheet]:
    sheets = {"columns": _read_csv_sheet(path, "columns", encoding, findings)}
    for kind, companion in csv_companions(path).items():
        given = explicit.get(kind)
        if given is not None:
            sheets[kind] = _read_csv_sheet(Path(given), kind, encoding, findings)
        elif companion.is_file():
            logger.info("reading the %s of the dictionary from %s", kind, companion)
            sheets[kind] = _read_csv_sheet(companion, kind, encoding, findings)
    return sheets


def _read_csv_sheet(path: Path, kind: str, encoding: str, findings: list[Finding]) -> Sheet:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DictionaryError(f"{path}: cannot read the {kind} file ({error.strerror})") from None
    try:
        text = raw.decode(encoding)
    except LookupError:
        raise DictionaryError(f"unknown encoding {encoding!r}; give a Python codec name") from None
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DictionaryError(
            f"{path}: line {line}: byte 0x{raw[error.start]:02x} is not valid {encoding}; save "
            "the file as UTF-8, or give its encoding (for example --encoding cp1252)"
        ) from None
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", ",", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records = []
    start = 1
    try:
        for values in reader:
            records.append((start, values))
            start = reader.line_num + 1
    except csv.Error as error:
        raise DictionaryError(f"{path}: line {reader.line_num}: invalid CSV ({error})") from None
    return _make_sheet(kind, str(path), None, records, lambda index: str(index + 1), findings)


def _read_workbook(path: Path, findings: list[Finding]) -> dict[str, Sheet]:
    try:
        workbook = openpyxl.load_workbook(path, data_only=True)
    except OSError as error:
        raise DictionaryError(f"{path}: cannot read the workbook ({error.strerror})") from None
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise DictionaryError(f"{path}: not a readable XLSX workbook ({error})") from None
    try:
        by_name = {name.strip().lower(): name for name in workbook.sheetnames}
        columns_name = by_name.get("columns")
        if columns_name is None and len(workbook.sheetnames) == 1:
            columns_name = workbook.sheetnames[0]
        if columns_name is None:
            raise DictionaryError(
                f"{path}: no sheet named 'columns' (sheets: {', '.join(workbook.sheetnames)}); "
                "rename the sheet that lists the columns"
            )
        names = {"columns": columns_name}
        names.update({kind: by_name[kind] for kind in COMPANION_SHEETS if kind in by_name})
        sheets = {}
        for kind, name in names.items():
            records = list(enumerate(workbook[name].iter_rows(min_row=1, values_only=True), 1))
            sheets[kind] = _make_sheet(
                kind, str(path), name, records, lambda index: get_column_letter(index + 1), findings
            )
        return sheets
    finally:
        workbook.close()


def _make_sheet(kind, file, name, records, column_label, findings: list[Finding]) -> Sheet:
    """Find the header row, check the headers and turn the rows below it into cells."""
    records = [(row, list(values)) for row, values in records]
    header_index = next(
        (i for i, (_, values) in enumerate(records) if any(_is_filled(v) for v in values)), None
    )
    where = f"{file}" + (f", sheet {name}" if name else "")
    if header_index is None:
        raise DictionaryError(
            f"{where}: the {kind} sheet is empty; its first row must name the columns "
            + ", ".join(HEADERS[kind])
        )

    header_row, header_values = records[header_index]
    headers = _read_headers(kind, file, name, header_row, header_values, column_label, findings)
    missing = [header for header in REQUIRED_HEADERS[kind] if header not in headers]
    if missing:
        raise DictionaryError(
            f"{where}, row {header_row}: missing column header "
            + ", ".join(repr(header) for header in missing)
            + f"; the header row of the {kind} sheet needs "
            + ", ".join(REQUIRED_HEADERS[kind])
            + " (all headers: "
            + ", ".join(HEADERS[kind])
            + ")"
        )

    rows = []
    for row_number, values in records[header_index + 1 :]:
        if any(_is_filled(value) for value in values):
            rows.append(_read_row(file, name, row_number, values, headers, column_label, findings))
    return Sheet(kind, file, name, header_row, rows)


def _read_headers(kind, file, name, row, values, column_label, findings) -> list[str | None]:
    """Return the known header of each column, None where it is empty, unknown or repeated."""
    headers: list[str | None] = []
    for index, value in enumerate(values):
        header = _normalise_header(value)
        cell = Cell(str(value or ""), row, column_label(index), header or "")
        if not header:
            headers.append(None)
        elif header not in HEADERS[kind]:
            headers.append(None)
            findings.append(_header_finding(file, name, cell, header, kind))
        elif header in headers:
            headers.append(None)
            findings.append(_finding(file, name, cell, f"duplicate column header {header!r}"))
        else:
            headers.append(header)
    return headers


def _read_row(file, name, row_number, values, headers, column_label, findings) -> dict[str, Cell]:
    row: dict[str, Cell] = {}
    for index, value in enumerate(values):
        header = headers[index] if index < len(headers) else None
        cell = Cell("", row_number, column_label(index), header or "")
        if header is None:
            if _is_filled(value):
                message = (
                    "value in a column without a known header; remove it (in a CSV file, "
                    "quote a cell that contains the delimiter)"
                )
                findings.append(_finding(file, name, cell, message))
            continue

        text = _cell_text(value, header, lambda message, c=cell: _finding(file, name, c, message))
        if isinstance(text, Finding):
            # The finding stops the import. Keeping the value's text avoids follow-on findings.
            findings.append(text)
            text = str(value)
        row[header] = Cell(text, row_number, cell.column, header)

    # A short CSV record still gets every header, with empty cells.
    for index, header in enumerate(headers):
        if header is not None and header not in row:
            row[header] = Cell("", row_number, column_label(index), header)
    return row


def _normalise_header(value: Any) -> str:
    return str(value).strip().lower().replace(" ", "_").replace("-", "_") if value else ""


def _is_filled(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _header_finding(file, name, cell: Cell, header: str, kind: str) -> Finding:
    close = difflib.get_close_matches(header, HEADERS[kind], n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return _finding(
        file,
        name,
        cell,
        f"unknown column header {header!r}; {hint}the {kind} sheet takes "
        + ", ".join(HEADERS[kind]),
    )


def _finding(file, name, cell: Cell, message: str) -> Finding:
    return Finding(
        file=file,
        message=message,
        sheet=name,
        row=cell.row,
        column=cell.column,
        header=cell.header or None,
    )


def _cell_text(value: Any, header: str, make_finding) -> str | Finding:
    """Return the text of a cell, or a finding when the spreadsheet stored something else."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        if header in BOOLEAN_HEADERS:
            return "yes" if value else "no"
        return make_finding(
            "the cell holds TRUE/FALSE, not text; format the cell as Text and type the value"
        )
    if isinstance(value, int | float):
        if header in INTEGER_HEADERS and float(value).is_integer():
            return str(int(value))
        return make_finding(
            f"the cell holds the number {value!r}, not text, so a code such as 01 may have "
            "lost its leading zero; format the cell as Text and type the value again"
        )
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        return make_finding(
            "the cell holds a date or time, not text; format the cell as Text and type the value"
        )
    return make_finding(
        f"the cell holds a {type(value).__name__} value, not text; format the cell as Text"
    )


def export_sheets(dictionary: Dictionary, path: Path) -> list[Path]:
    """Write a dictionary in the sheet layout: an XLSX workbook or CSV files, by suffix.

    A `.csv` path gets the columns, and its companions (see `csv_companions`) get the code
    lists, tables, checks and properties. The CSV files are UTF-8 with a byte order mark and
    `;` delimiters, which spreadsheets open as they are. Cells equal to the defaults in the
    `about` sheet are left empty.

    Returns:
        The files written, the columns file first.

    Raises:
        DictionaryError: the suffix is neither .csv nor .xlsx, or a file cannot be written.
    """
    path = Path(path)
    tables = sheet_rows(dictionary)
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            _write_workbook(tables, path)
            return [path]
        if suffix == ".csv":
            written = [path]
            _write_csv(path, "columns", tables["columns"])
            for kind, companion in csv_companions(path).items():
                _write_csv(companion, kind, tables[kind])
                written.append(companion)
            return written
    except OSError as error:
        raise DictionaryError(f"{path}: cannot write the sheets ({error.strerror})") from None
    raise DictionaryError(f"{path}: the sheets are written as .xlsx or .csv, not {path.suffix!r}")


def sheet_rows(dictionary: Dictionary) -> dict[str, list[list[str]]]:
    """Lay a dictionary out as the rows of each sheet, without the header rows."""
    defaults = document_from_dictionary(dictionary)["defaults"]
    rows: dict[str, list[list[str]]] = {kind: [] for kind in HEADERS}
    rows["about"].append(["application", dictionary.application])
    if dictionary.version:
        rows["about"].append(["version", dictionary.version])
    rows["about"] += [["source", source] for source in dictionary.sources]
    rows["about"].append(["encoding", defaults["encoding"]])
    rows["about"].append(["delimiter", defaults["delimiter"]])
    rows["about"].append(["date_formats", _join(defaults["date_formats"])])
    if "date_placeholders" in defaults:
        rows["about"].append(["date_placeholders", _join(defaults["date_placeholders"])])

    for name, codes in dictionary.code_lists.items():
        rows["codes"] += [[name, code, label] for code, label in codes.items()]

    for table in dictionary.tables.values():
        rows["tables"].append(
            [
                table.name,
                table.file,
                table.description,
                _yes_no(table.header),
                table.record_tag or "",
                str(table.skip_lines),
                "" if table.encoding == defaults["encoding"] else table.encoding,
                "" if table.delimiter == defaults["delimiter"] else table.delimiter,
            ]
        )
        rows["columns"] += _column_rows(table, defaults)
        for check in table.plausibility:
            values = [getattr(check, key) for key in PLAUSIBILITY_KEYS]
            rows["checks"].append(
                [table.name, check.rule, *("" if value is None else str(value) for value in values)]
            )
    return rows


def _column_rows(table, defaults: dict[str, Any]) -> list[list[str]]:
    in_order = list(table.primary_key) == [c for c in table.column_names if c in table.primary_key]
    unique: dict[str, list[str]] = {name: [] for name in table.column_names}
    for number, key in enumerate(table.unique_keys, 1):
        key_in_order = list(key) == [c for c in table.column_names if c in key]
        for position, column in enumerate(key, 1):
            unique[column].append(f"U{number}" if key_in_order else f"U{number}:{position}")
    foreign: dict[str, list[str]] = {name: [] for name in table.column_names}
    for number, key in enumerate(table.foreign_keys, 1):
        prefix = "" if len(key.columns) == 1 else f"F{number}="
        for column, ref_column in zip(key.columns, key.ref_columns, strict=True):
            foreign[column].append(f"{prefix}{key.ref_table}.{ref_column}")
    rows = []
    for column in table.columns:
        if column.name not in table.primary_key:
            primary = ""
        elif in_order:
            primary = "yes"
        else:
            primary = str(table.primary_key.index(column.name) + 1)
        formats = placeholders = ""
        if column.type == "date":
            if list(column.date_formats) != defaults["date_formats"]:
                formats = _join(column.date_formats)
            if list(column.date_placeholders) != defaults.get("date_placeholders", []):
                placeholders = _join(column.date_placeholders)
        rows.append(
            [
                table.name,
                table.file,
                column.name,
                column.type,
                _number(column.length),
                _number(column.precision),
                _number(column.scale),
                _yes_no(column.nullable),
                formats,
                placeholders,
                column.code_list or "",
                column.identifier or "",
                _yes_no(column.personal),
                primary,
                _join(unique[column.name]),
                _join(foreign[column.name]),
                column.description,
            ]
        )
    return rows


def _join(values) -> str:
    return f" {LIST_SEPARATOR} ".join(values)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _write_csv(path: Path, kind: str, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADERS[kind])
        writer.writerows(rows)


def _write_workbook(rows: dict[str, list[list[str]]], path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for kind in HEADERS:
        sheet = workbook.create_sheet(kind)
        for column_index, header in enumerate(HEADERS[kind], 1):
            cell = sheet.cell(row=1, column=column_index, value=header)
            cell.font = Font(bold=True)
            letter = get_column_letter(column_index)
            # Text format on the whole column, so codes typed later keep their leading zeros.
            sheet.column_dimensions[letter].number_format = "@"
            width = max([len(header)] + [len(row[column_index - 1]) for row in rows[kind]])
            sheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)
        for row_index, values in enumerate(rows[kind], 2):
            for column_index, value in enumerate(values, 1):
                if value == "":
                    continue
                cell = sheet.cell(row=row_index, column=column_index, value=value)
                # A string starting with "=" would otherwise be stored as a formula.
                cell.data_type = "s"
                cell.number_format = "@"
        sheet.freeze_panes = "A2"
    workbook.save(path)
