"""Turn the rows of dictionary sheets into a dictionary document, with a finding per bad cell.

The checks here repeat those of the model (`model.load_dictionary`) where a cell is at fault,
so that the author learns the sheet, row and column to fix. The model checks the result again
when it is written.
"""

from __future__ import annotations

import codecs
import difflib
import re
from dataclasses import dataclass
from typing import Any

from migration.dictionary.errors import Finding
from migration.dictionary.model import COLUMN_TYPES, IDENTIFIER_KINDS, PLAUSIBILITY_RULES

# Separator of the values of a cell that contains a list (date formats, keys).
LIST_SEPARATOR = "|"


@dataclass(frozen=True)
class Cell:
    """The text of one cell and where it is, for findings."""

    text: str
    row: int
    column: str
    header: str


@dataclass
class Sheet:
    """The data rows of one sheet (or CSV file), each a mapping of header to cell."""

    kind: str
    file: str
    name: str | None
    header_row: int
    rows: list[dict[str, Cell]]

    def finding(self, cell: Cell, message: str) -> Finding:
        """Build a finding located at a cell of this sheet."""
        return Finding(
            file=self.file,
            message=message,
            sheet=self.name,
            row=cell.row,
            column=cell.column,
            header=cell.header,
        )


TRUE_WORDS = frozenset({"yes", "y", "true", "oui", "o", "1", "x"})
FALSE_WORDS = frozenset({"no", "n", "false", "non", "0"})
ABOUT_PROPERTIES = (
    "application",
    "version",
    "source",
    "encoding",
    "delimiter",
    "date_formats",
    "date_placeholders",
)
PLAUSIBILITY_NEEDS = {
    "date_order": ("start", "end"),
    "after_birth": ("date", "birth"),
    "age_range": ("birth", "at"),
}
# TABLE.COLUMN, or NAME=TABLE.COLUMN for one column of a composite foreign key called NAME.
_FOREIGN_KEY = re.compile(r"^(?:(?P<group>[^=]+?)\s*=\s*)?(?P<table>[^.=\s]+)\.(?P<column>\S+)$")
_UNIQUE_KEY = re.compile(r"^(?P<name>[^:]+?)(?:\s*:\s*(?P<position>\d+))?$")


def build_document(
    sheets: dict[str, Sheet], findings: list[Finding], application: str | None, label: str
) -> dict[str, Any]:
    """Build the dictionary document from the sheets read, appending findings to `findings`."""
    return _Builder(sheets, findings, label).build(application)


class _Builder:
    def __init__(self, sheets: dict[str, Sheet], findings: list[Finding], label: str):
        self.sheets = sheets
        self.findings = findings
        self.label = label
        self.code_lists: dict[str, dict[str, str]] = {}
        self.tables: dict[str, dict[str, Any]] = {}
        # Where each table and column was declared, to place the findings of later checks.
        self.table_cells: dict[str, tuple[Sheet, Cell]] = {}
        self.column_cells: dict[tuple[str, str], dict[str, Cell]] = {}

    def problem(self, sheet: Sheet, cell: Cell, message: str) -> None:
        self.findings.append(sheet.finding(cell, message))

    def build(self, application: str | None) -> dict[str, Any]:
        document: dict[str, Any] = {}
        about = self.read_about()
        if application:
            about["application"] = application
        if not about.get("application"):
            self.findings.append(
                Finding(
                    file=self.label,
                    message="no application name; add the row 'application' to the about "
                    "sheet or give --application NAME",
                )
            )
        document["application"] = about.get("application", "")
        for key in ("version", "sources", "defaults"):
            if key in about:
                document[key] = about[key]
        self.read_codes()
        self.read_tables()
        self.read_columns()
        self.read_checks()
        self.check_references()
        document["code_lists"] = self.code_lists
        document["tables"] = self.tables
        return document

    def read_about(self) -> dict[str, Any]:
        about: dict[str, Any] = {}
        sheet = self.sheets.get("about")
        if sheet is None:
            return about
        defaults: dict[str, Any] = {}
        seen: set[str] = set()
        for row in sheet.rows:
            cell, value = row["property"], row["value"]
            name = cell.text.strip().lower()
            text = value.text.strip()
            if name not in ABOUT_PROPERTIES:
                self.problem(
                    sheet,
                    cell,
                    f"unknown property {name!r}{_suggest(name, ABOUT_PROPERTIES)}; use one of "
                    + ", ".join(ABOUT_PROPERTIES),
                )
                continue
            if name in seen and name != "source":
                self.problem(sheet, cell, f"property {name} is given twice")
                continue
            seen.add(name)
            if name == "application":
                about["application"] = text
            elif name == "version":
                about["version"] = text
            elif name == "source":
                about.setdefault("sources", []).append(text)
            elif name == "encoding":
                if self.check_encoding(sheet, value):
                    defaults["encoding"] = text
            elif name == "delimiter":
                if self.check_delimiter(sheet, value):
                    defaults["delimiter"] = value.text
            elif name == "date_formats":
                formats = self.date_formats(sheet, value)
                if formats:
                    defaults["date_formats"] = formats
            else:
                defaults["date_placeholders"] = _split(text)
        if defaults:
            about["defaults"] = defaults
        return about

    def read_codes(self) -> None:
        sheet = self.sheets.get("codes")
        if sheet is None:
            return
        for row in sheet.rows:
            name = row["code_list"].text.strip()
            code = row["code"].text
            if not name:
                self.problem(sheet, row["code_list"], "missing code list name")
                continue
            codes = self.code_lists.setdefault(name, {})
            if not code.strip():
                self.problem(sheet, row["code"], f"missing code in code list {name}")
                continue
            if code != code.strip():
                self.problem(
                    sheet,
                    row["code"],
                    f"code {code!r} of code list {name} has leading or trailing spaces, which "
                    "no value of a source file would match; remove them",
                )
                continue
            if code in codes:
                self.problem(sheet, row["code"], f"code {code!r} is twice in code list {name}")
                continue
            codes[code] = row["label"].text.strip()

    def read_tables(self) -> None:
        sheet = self.sheets.get("tables")
        if sheet is None:
            return
        for row in sheet.rows:
            name = row["table"].text.strip()
            if not name:
                self.problem(sheet, row["table"], "missing table name")
                continue
            if name in self.tables:
                self.problem(sheet, row["table"], f"table {name} is listed twice")
                continue
            table: dict[str, Any] = {}
            if row.get("file") and row["file"].text.strip():
                table["file"] = row["file"].text.strip()
            if row.get("description") and row["description"].text.strip():
                table["description"] = row["description"].text.strip()
            header = self.yes_no(sheet, row.get("header"), default=True)
            table["header"] = True if header is None else header
            record_tag = row["record_tag"].text.strip() if row.get("record_tag") else ""
            table["record_tag"] = record_tag or None
            skip_lines = self.integer(sheet, row.get("skip_lines"), minimum=0)
            table["skip_lines"] = skip_lines or 0
            if row.get("encoding") and row["encoding"].text.strip():
                if self.check_encoding(sheet, row["encoding"]):
                    table["encoding"] = row["encoding"].text.strip()
            if row.get("delimiter") and row["delimiter"].text:
                if self.check_delimiter(sheet, row["delimiter"]):
                    table["delimiter"] = row["delimiter"].text
            self.tables[name] = table
            self.table_cells[name] = (sheet, row["table"])

    def read_columns(self) -> None:
        sheet = self.sheets["columns"]
        keys: dict[str, dict[str, list]] = {}
        for row in sheet.rows:
            table_name = row["table"].text.strip()
            name = row["column"].text.strip()
            if not table_name:
                self.problem(sheet, row["table"], "missing table name")
                continue
            if not name:
                self.problem(sheet, row["column"], f"missing column name in table {table_name}")
                continue
            table = self.table_for_column_row(sheet, row, table_name)
            if (table_name, name) in self.column_cells:
                self.problem(sheet, row["column"], f"column {name} is twice in table {table_name}")
                continue
            self.column_cells[(table_name, name)] = row
            table["columns"].append(self.column(sheet, row, table_name, name))
            table_keys = keys.setdefault(table_name, {"primary": [], "unique": [], "foreign": []})
            self.collect_keys(sheet, row, name, table_keys)
        for table_name, table in self.tables.items():
            if "columns" not in table:
                sheet_of_table, cell = self.table_cells[table_name]
                self.problem(
                    sheet_of_table, cell, f"table {table_name} has no rows in the columns sheet"
                )
                table["columns"] = []
            if "file" not in table:
                sheet_of_table, cell = self.table_cells[table_name]
                self.problem(
                    sheet_of_table,
                    cell,
                    f"table {table_name} has no file; fill the file column of the tables or "
                    "columns sheet",
                )
            table_keys = keys.get(table_name, {"primary": [], "unique": [], "foreign": []})
            self.finish_keys(sheet, table_name, table, table_keys)
            table["columns"] = table.pop("columns")

    def table_for_column_row(self, sheet: Sheet, row: dict[str, Cell], name: str) -> dict:
        table = self.tables.get(name)
        if table is None:
            table = {"header": True, "record_tag": None, "skip_lines": 0}
            self.tables[name] = table
            self.table_cells[name] = (sheet, row["table"])
        table.setdefault("columns", [])
        file_cell = row.get("file")
        file_name = file_cell.text.strip() if file_cell else ""
        if file_name and "file" not in table:
            table["file"] = file_name
        elif file_name and file_name != table["file"]:
            self.problem(
                sheet,
                file_cell,
                f"file {file_name!r} differs from {table['file']!r} given for table {name} "
                "before; a table has one file",
            )
        return table

    def column(self, sheet: Sheet, row: dict[str, Cell], table: str, name: str) -> dict:
        column: dict[str, Any] = {"name": name}
        type_cell = row["type"]
        column_type = type_cell.text.strip().lower() or "text"
        if column_type not in COLUMN_TYPES:
            self.problem(
                sheet,
                type_cell,
                f"unknown type {type_cell.text.strip()!r}{_suggest(column_type, COLUMN_TYPES)}; "
                f"use one of {', '.join(COLUMN_TYPES)}",
            )
            column_type = "text"
        column["type"] = column_type

        code_list = _text(row, "code_list")
        if code_list:
            column["code_list"] = code_list
        elif column_type == "code":
            self.problem(
                sheet,
                row.get("code_list") or type_cell,
                f"column {name} has type code but no code_list; name a list of the codes sheet",
            )
        for key, minimum in (("length", 1), ("precision", 1), ("scale", 0)):
            value = self.integer(sheet, row.get(key), minimum=minimum)
            if value is not None:
                column[key] = value

        for key in ("date_formats", "date_placeholders"):
            cell = row.get(key)
            if cell is None or not cell.text.strip():
                continue
            if column_type != "date":
                self.problem(
                    sheet,
                    cell,
                    f"{key} only applies to date columns; clear the cell or set the type to date",
                )
            elif key == "date_formats":
                column[key] = self.date_formats(sheet, cell)
            else:
                column[key] = _split(cell.text)

        nullable = self.yes_no(sheet, row.get("nullable"), default=True)
        if nullable is False:
            column["nullable"] = False
        if self.yes_no(sheet, row.get("personal"), default=False):
            column["personal"] = True
        identifier = _text(row, "identifier").lower()
        if identifier and identifier not in IDENTIFIER_KINDS:
            self.problem(
                sheet,
                row["identifier"],
                f"unknown identifier kind {identifier!r}{_suggest(identifier, IDENTIFIER_KINDS)}; "
                f"use one of {', '.join(IDENTIFIER_KINDS)}",
            )
        elif identifier:
            column["identifier"] = identifier
        description = _text(row, "description")
        if description:
            column["description"] = description
        return column

    def collect_keys(self, sheet: Sheet, row: dict[str, Cell], name: str, keys: dict) -> None:
        cell = row.get("primary_key")
        if cell is not None and cell.text.strip():
            text = cell.text.strip()
            if text.isdigit() and int(text) > 0:
                keys["primary"].append((int(text), name, cell))
            elif text.lower() in TRUE_WORDS:
                keys["primary"].append((None, name, cell))
            elif text.lower() not in FALSE_WORDS:
                self.problem(
                    sheet,
                    cell,
                    f"primary_key {text!r} is neither yes/no nor a position (1, 2, ...)",
                )
        cell = row.get("unique_key")
        for item in _split(cell.text) if cell is not None else []:
            match = _UNIQUE_KEY.match(item)
            if match is None:
                self.problem(sheet, cell, f"unique_key {item!r} is not NAME or NAME:POSITION")
                continue
            position = match["position"]
            keys["unique"].append((match["name"], int(position) if position else None, name, cell))
        cell = row.get("foreign_key")
        for item in _split(cell.text) if cell is not None else []:
            match = _FOREIGN_KEY.match(item)
            if match is None:
                self.problem(
                    sheet,
                    cell,
                    f"foreign_key {item!r} is not TABLE.COLUMN (or NAME=TABLE.COLUMN for a key "
                    "of several columns)",
                )
                continue
            group = match["group"] or f"{name}#{len(keys['foreign'])}"
            keys["foreign"].append((group, match["table"], match["column"], name, cell))

    def finish_keys(self, sheet: Sheet, table_name: str, table: dict, keys: dict) -> None:
        primary = keys["primary"]
        positions = [position for position, _, _ in primary]
        if primary and None in positions and any(p is not None for p in positions):
            self.problem(
                sheet,
                primary[0][2],
                f"primary key of {table_name}: use either yes on each column or positions "
                "1, 2, ... on each column, not both",
            )
        elif primary and None not in positions and len(set(positions)) != len(positions):
            self.problem(
                sheet, primary[0][2], f"primary key of {table_name}: a position is used twice"
            )
        elif None not in positions:
            primary = sorted(primary, key=lambda item: item[0])
        table["primary_key"] = [name for _, name, _ in primary]

        unique: dict[str, list] = {}
        for key_name, position, column, cell in keys["unique"]:
            unique.setdefault(key_name, []).append((position, column, cell))
        table["unique_keys"] = []
        for key_name, members in unique.items():
            if any(position is not None for position, _, _ in members):
                if any(position is None for position, _, _ in members):
                    self.problem(
                        sheet,
                        members[0][2],
                        f"unique key {key_name} of {table_name}: give a position to every "
                        "column or to none",
                    )
                members = sorted(members, key=lambda item: item[0] or 0)
            table["unique_keys"].append([column for _, column, _ in members])

        # NOTE: keys come out in the row order of their first column, so a YAML dictionary that
        # lists its foreign or unique keys in another order imports with the keys reordered.
        foreign: dict[str, list] = {}
        for group, ref_table, ref_column, column, cell in keys["foreign"]:
            foreign.setdefault(group, []).append((ref_table, ref_column, column, cell))
        table["foreign_keys"] = []
        for group, members in foreign.items():
            ref_tables = {ref_table for ref_table, _, _, _ in members}
            if len(ref_tables) > 1:
                self.problem(
                    sheet,
                    members[0][3],
                    f"foreign key {group} of {table_name} points at several tables "
                    f"({', '.join(sorted(ref_tables))}); one key references one table",
                )
                continue
            table["foreign_keys"].append(
                {
                    "columns": [column for _, _, column, _ in members],
                    "references": {
                        "table": members[0][0],
                        "columns": [ref_column for _, ref_column, _, _ in members],
                    },
                    "_cells": [cell for _, _, _, cell in members],
                }
            )

    def read_checks(self) -> None:
        sheet = self.sheets.get("checks")
        if sheet is None:
            return
        for row in sheet.rows:
            table_name = row["table"].text.strip()
            if table_name not in self.tables:
                self.problem(
                    sheet,
                    row["table"],
                    f"unknown table {table_name!r}{_suggest(table_name, self.tables)}",
                )
                continue
            rule = row["rule"].text.strip()
            if rule not in PLAUSIBILITY_RULES:
                self.problem(
                    sheet,
                    row["rule"],
                    f"unknown plausibility rule {rule!r}; use one of "
                    + ", ".join(PLAUSIBILITY_RULES),
                )
                continue
            check: dict[str, Any] = {"rule": rule}
            for key in ("start", "end", "date", "birth", "at"):
                value = _text(row, key)
                if value:
                    check[key] = value
            for key in ("min_age", "max_age"):
                value = self.integer(sheet, row.get(key), minimum=0)
                if value is not None:
                    check[key] = value
            missing = [key for key in PLAUSIBILITY_NEEDS[rule] if key not in check]
            if missing:
                self.problem(
                    sheet, row["rule"], f"rule {rule} needs {', '.join(missing)} to be filled"
                )
                continue
            self.check_check_columns(sheet, row, table_name, check)
            self.tables[table_name].setdefault("plausibility", []).append(check)

    def check_check_columns(self, sheet, row, table_name: str, check: dict) -> None:
        columns = {column["name"] for column in self.tables[table_name]["columns"]}
        for key in ("start", "end", "date", "at", "birth"):
            value = check.get(key)
            if value is None or (key == "birth" and "." in value):
                continue
            if value not in columns:
                self.problem(
                    sheet,
                    row[key],
                    f"{value!r} is not a column of {table_name}{_suggest(value, columns)}",
                )
        birth = check.get("birth", "")
        if "." in birth:
            ref_table, ref_column = birth.split(".", 1)
            targets = {
                key["references"]["table"] for key in self.tables[table_name]["foreign_keys"]
            }
            if ref_table not in targets:
                self.problem(
                    sheet,
                    row["birth"],
                    f"{birth} needs a foreign key from {table_name} to {ref_table}",
                )
            elif ref_column not in {c["name"] for c in self.tables[ref_table]["columns"]}:
                self.problem(sheet, row["birth"], f"{ref_column!r} is not a column of {ref_table}")

    def check_references(self) -> None:
        columns_sheet = self.sheets["columns"]
        codes_sheet = self.sheets.get("codes")
        for table_name, table in self.tables.items():
            for column in table["columns"]:
                code_list = column.get("code_list")
                if code_list is None or code_list in self.code_lists:
                    continue
                cell = self.column_cells[(table_name, column["name"])]["code_list"]
                where = (
                    "the codes sheet" if codes_sheet is not None else "a codes sheet (none found)"
                )
                self.problem(
                    columns_sheet,
                    cell,
                    f"code list {code_list!r} is not in {where}"
                    + _suggest(code_list, self.code_lists),
                )
            for key in table["foreign_keys"]:
                cells = key.pop("_cells")
                ref_table = key["references"]["table"]
                if ref_table not in self.tables:
                    self.problem(
                        columns_sheet,
                        cells[0],
                        f"foreign key to unknown table {ref_table!r}"
                        + _suggest(ref_table, self.tables),
                    )
                    continue
                ref_names = [c["name"] for c in self.tables[ref_table]["columns"]]
                for ref_column, cell in zip(key["references"]["columns"], cells, strict=True):
                    if ref_column not in ref_names:
                        self.problem(
                            columns_sheet,
                            cell,
                            f"foreign key to unknown column {ref_column!r} of {ref_table}"
                            + _suggest(ref_column, ref_names),
                        )

    def yes_no(self, sheet: Sheet, cell: Cell | None, default: bool) -> bool | None:
        if cell is None or not cell.text.strip():
            return default
        word = cell.text.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        self.problem(sheet, cell, f"{cell.text.strip()!r} is not yes or no")
        return default

    def integer(self, sheet: Sheet, cell: Cell | None, minimum: int) -> int | None:
        if cell is None or not cell.text.strip():
            return None
        text = cell.text.strip()
        if not text.isdigit() or int(text) < minimum:
            self.problem(sheet, cell, f"{text!r} is not a whole number of at least {minimum}")
            return None
        return int(text)

    def date_formats(self, sheet: Sheet, cell: Cell) -> list[str]:
        formats = _split(cell.text)
        for date_format in formats:
            if "%" not in date_format:
                self.problem(
                    sheet,
                    cell,
                    f"date format {date_format!r} has no strftime directive; write it like "
                    "%d/%m/%Y",
                )
        return formats

    def check_encoding(self, sheet: Sheet, cell: Cell) -> bool:
        try:
            codecs.lookup(cell.text.strip())
        except LookupError:
            self.problem(
                sheet, cell, f"unknown encoding {cell.text.strip()!r}; use a name like cp1252"
            )
            return False
        return True

    def check_delimiter(self, sheet: Sheet, cell: Cell) -> bool:
        if len(cell.text) != 1:
            self.problem(sheet, cell, f"delimiter {cell.text!r} must be one character, like ;")
            return False
        return True


def _text(row: dict[str, Cell], header: str) -> str:
    cell = row.get(header)
    return cell.text.strip() if cell is not None else ""


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]


def _suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
