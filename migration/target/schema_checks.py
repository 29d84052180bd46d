"""Check the structure of a parsed target schema and build its model.

Every problem is collected with the table and column it concerns, so one run of the check
reports all of them.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from migration.dictionary.model import IDENTIFIER_KINDS
from migration.target.errors import TargetError
from migration.target.model import (
    COLUMN_TYPES,
    ForeignKey,
    TargetColumn,
    TargetSchema,
    TargetTable,
)
from migration.target.product_tables import PRODUCT_TABLES

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_NAME_LENGTH = 63
"""PostgreSQL truncates identifiers longer than 63 bytes, so longer names are rejected."""

_SCHEMA_KEYS = {"name", "version", "description", "code_lists", "tables"}
_TABLE_KEYS = {"description", "primary_key", "foreign_keys", "indexes", "columns"}
_COLUMN_KEYS = {
    "name",
    "type",
    "length",
    "precision",
    "scale",
    "nullable",
    "personal",
    "identifier",
    "code_list",
    "description",
}
_FOREIGN_KEY_KEYS = {"columns", "references"}
_REFERENCE_KEYS = {"table", "columns"}


def check_schema_data(data: Any) -> tuple[TargetSchema, list[str]]:
    """Build a TargetSchema from parsed YAML and list its problems (empty when valid).

    When the list is not empty, the schema is only as complete as the valid parts allow.
    """
    checker = _SchemaChecker()
    schema = checker.check(data)
    return schema, checker.problems


class _SchemaChecker:
    """Collects every problem of a parsed schema instead of stopping at the first one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}" if where else text)

    def check(self, data: Any) -> TargetSchema:
        if not isinstance(data, dict):
            self.problem("", "the file must contain a mapping with keys name, version, tables")
            return TargetSchema("", "", {}, {})
        self.check_keys("", data, _SCHEMA_KEYS, required={"name", "version", "tables"})

        name = data.get("name")
        if "name" in data and (not isinstance(name, str) or not name):
            self.problem("name", "must be a non-empty string")
        version = data.get("version")
        if "version" in data and not isinstance(version, str):
            self.problem("version", f'must be a string; quote it (version: "{version}")')

        code_lists = self.check_code_lists(data.get("code_lists", {}))
        tables = self.check_tables(data.get("tables"), code_lists)
        schema = TargetSchema(
            name=name if isinstance(name, str) else "",
            version=version if isinstance(version, str) else "",
            code_lists=code_lists,
            tables=tables,
        )
        if not self.problems:
            try:
                schema.table_order()
            except TargetError as exc:
                self.problem("foreign_keys", str(exc))
        return schema

    def check_keys(self, where: str, mapping: dict, allowed: set[str], required=()) -> None:
        for key in mapping:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                if mapping[key] is None:
                    hint += " (inside {...}, quote a value that contains a comma)"
                self.problem(where, f"unknown key {key!r}{hint}")
        for key in sorted(required):
            if key not in mapping:
                self.problem(where, f"missing key {key!r}")

    def check_name(self, where: str, name: Any) -> bool:
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            self.problem(where, f"invalid name {name!r}: use letters, digits and underscores")
            return False
        if len(name) > MAX_NAME_LENGTH:
            self.problem(where, f"name longer than {MAX_NAME_LENGTH} characters")
            return False
        return True

    def check_code_lists(self, data: Any) -> dict[str, dict[str, str]]:
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.problem("code_lists", "must be a mapping of list name to {code: label}")
            return {}
        code_lists: dict[str, dict[str, str]] = {}
        for list_name, codes in data.items():
            where = f"code list {list_name!r}"
            if not isinstance(codes, dict) or not codes:
                self.problem(where, "must be a non-empty mapping of code to label")
                continue
            checked: dict[str, str] = {}
            for code, label in codes.items():
                if not isinstance(code, str):
                    self.problem(where, f'code {code!r} is not a string; quote it ("{code}")')
                    continue
                if not isinstance(label, str):
                    self.problem(where, f"the label of code {code!r} must be a string")
                    continue
                checked[code] = label
            code_lists[str(list_name)] = checked
        return code_lists

    def check_tables(self, data: Any, code_lists: dict[str, dict[str, str]]):
        if data is None:
            return {}
        if not isinstance(data, dict) or not data:
            self.problem("tables", "must be a non-empty mapping of table name to table")
            return {}

        tables: dict[str, TargetTable] = {}
        for table_name, entry in data.items():
            where = f"table {table_name!r}"
            if not self.check_name(where, table_name):
                continue
            if table_name in PRODUCT_TABLES:
                self.problem(where, "this name is reserved for a table of mdph-reprise itself")
                continue
            if not isinstance(entry, dict):
                self.problem(where, "must be a mapping with keys description, primary_key, columns")
                continue
            table = self.check_table(table_name, entry, code_lists)
            if table is not None:
                tables[table_name] = table

        for table in tables.values():
            for fk in table.foreign_keys:
                self.check_reference(table, fk, tables)
        return tables

    def check_table(self, name: str, entry: dict, code_lists) -> TargetTable | None:
        where = f"table {name!r}"
        self.check_keys(where, entry, _TABLE_KEYS, required={"primary_key", "columns"})
        description = entry.get("description")
        if description is not None and not isinstance(description, str):
            self.problem(where, "description must be a string")
            description = None

        raw_columns = entry.get("columns")
        if not isinstance(raw_columns, list) or not raw_columns:
            if "columns" in entry:
                self.problem(where, "columns must be a non-empty list")
            return None
        columns: list[TargetColumn] = []
        for position, raw_column in enumerate(raw_columns, start=1):
            column = self.check_column(name, position, raw_column, code_lists)
            if column is None:
                continue
            if column.name in {existing.name for existing in columns}:
                self.problem(f"{where}, column {column.name!r}", "declared twice")
                continue
            columns.append(column)
        by_name = {column.name: column for column in columns}

        primary_key = self.check_column_list(f"{where}, primary_key", entry.get("primary_key"))
        for column_name in primary_key:
            if column_name not in by_name:
                self.problem(f"{where}, primary_key", f"unknown column {column_name!r}")
            elif by_name[column_name].nullable:
                self.problem(
                    f"{where}, column {column_name!r}",
                    "is in the primary key, so declare it nullable: false",
                )

        foreign_keys = []
        for position, raw_fk in enumerate(entry.get("foreign_keys") or [], start=1):
            fk = self.check_foreign_key(f"{where}, foreign key {position}", raw_fk, by_name)
            if fk is not None:
                foreign_keys.append(fk)

        indexes = []
        for position, raw_index in enumerate(entry.get("indexes") or [], start=1):
            index_where = f"{where}, index {position}"
            index = self.check_column_list(index_where, raw_index)
            for column_name in index:
                if column_name not in by_name:
                    self.problem(index_where, f"unknown column {column_name!r}")
            if index:
                indexes.append(index)

        return TargetTable(
            name=name,
            description=description,
            columns=columns,
            primary_key=primary_key,
            foreign_keys=foreign_keys,
            indexes=indexes,
        )

    def check_column_list(self, where: str, value: Any) -> list[str]:
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(item, str) for item in value)
        ):
            self.problem(where, "must be a non-empty list of column names")
            return []
        if len(set(value)) != len(value):
            self.problem(where, "lists a column twice")
        return list(value)

    def check_column(self, table: str, position: int, raw: Any, code_lists):
        where = f"table {table!r}, column {position}"
        if not isinstance(raw, dict):
            self.problem(where, "must be a mapping with keys name and type")
            return None
        name = raw.get("name")
        if "name" not in raw or not self.check_name(where, name):
            if "name" not in raw:
                self.problem(where, "missing key 'name'")
            return None
        where = f"table {table!r}, column {name!r}"
        self.check_keys(where, raw, _COLUMN_KEYS, required={"type"})

        column_type = raw.get("type")
        if "type" in raw and column_type not in COLUMN_TYPES:
            close = difflib.get_close_matches(str(column_type), COLUMN_TYPES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.problem(
                where, f"unknown type {column_type!r} (use one of {', '.join(COLUMN_TYPES)}){hint}"
            )

        if column_type not in COLUMN_TYPES:
            column_type = None  # skip the checks that depend on the type
        length = raw.get("length")
        if length is not None and column_type is not None:
            if column_type != "text":
                self.problem(where, "length applies only to text columns")
            elif not _is_positive_int(length):
                self.problem(where, f"length must be a positive integer, not {length!r}")

        precision, scale = raw.get("precision"), raw.get("scale")
        if column_type == "decimal":
            if not _is_positive_int(precision):
                self.problem(where, "a decimal column needs precision, a positive integer")
            if isinstance(scale, bool) or not isinstance(scale, int) or scale < 0:
                self.problem(where, "a decimal column needs scale, an integer >= 0")
            elif _is_positive_int(precision) and scale > precision:
                self.problem(where, f"scale {scale} is larger than precision {precision}")
        elif column_type is not None and (precision is not None or scale is not None):
            self.problem(where, "precision and scale apply only to decimal columns")

        flags = {}
        for key, default in (("nullable", True), ("personal", False)):
            value = raw.get(key, default)
            if not isinstance(value, bool):
                self.problem(where, f"{key} must be true or false, not {value!r}")
                value = default
            flags[key] = value

        identifier = raw.get("identifier")
        if identifier is not None and identifier not in IDENTIFIER_KINDS:
            kinds = ", ".join(IDENTIFIER_KINDS)
            self.problem(where, f"unknown identifier kind {identifier!r}; use one of {kinds}")
            identifier = None

        code_list = raw.get("code_list")
        if code_list is not None:
            if code_list not in code_lists:
                close = difflib.get_close_matches(str(code_list), sorted(code_lists), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.problem(where, f"unknown code list {code_list!r}{hint}")
            elif column_type is not None and column_type != "text":
                self.problem(where, "a column with a code list must be of type text")
            elif _is_positive_int(length):
                too_long = [code for code in code_lists[code_list] if len(code) > length]
                if too_long:
                    self.problem(
                        where,
                        f"codes {too_long} of code list {code_list!r} are longer than the "
                        f"column length {length}",
                    )

        description = raw.get("description")
        if description is not None and not isinstance(description, str):
            self.problem(where, "description must be a string")
            description = None

        return TargetColumn(
            name=name,
            type=column_type or "text",
            length=length if column_type == "text" and _is_positive_int(length) else None,
            precision=precision if column_type == "decimal" else None,
            scale=scale if column_type == "decimal" else None,
            nullable=flags["nullable"],
            personal=flags["personal"],
            identifier=identifier,
            code_list=code_list if code_list in code_lists else None,
            description=description,
        )

    def check_foreign_key(self, where: str, raw: Any, by_name: dict[str, TargetColumn]):
        if not isinstance(raw, dict):
            self.problem(where, "must be a mapping {columns: [...], references: {...}}")
            return None
        self.check_keys(where, raw, _FOREIGN_KEY_KEYS, required={"columns", "references"})
        columns = self.check_column_list(f"{where}, columns", raw.get("columns"))
        for column_name in columns:
            if column_name not in by_name:
                self.problem(where, f"unknown column {column_name!r}")
        reference = raw.get("references")
        if not isinstance(reference, dict):
            if "references" in raw:
                self.problem(where, "references must be a mapping {table: ..., columns: [...]}")
            return None
        self.check_keys(f"{where}, references", reference, _REFERENCE_KEYS, {"table", "columns"})
        ref_table = reference.get("table")
        ref_columns = self.check_column_list(f"{where}, references", reference.get("columns"))
        if not isinstance(ref_table, str) or not columns or not ref_columns:
            return None
        if len(columns) != len(ref_columns):
            self.problem(where, "columns and references.columns must have the same length")
            return None
        return ForeignKey(columns=columns, ref_table=ref_table, ref_columns=ref_columns)

    def check_reference(self, table: TargetTable, fk: ForeignKey, tables) -> None:
        where = f"table {table.name!r}, foreign key {fk.columns}"
        parent = tables.get(fk.ref_table)
        if parent is None:
            close = difflib.get_close_matches(fk.ref_table, sorted(tables), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.problem(where, f"references unknown table {fk.ref_table!r}{hint}")
            return
        if list(fk.ref_columns) != list(parent.primary_key):
            self.problem(
                where,
                f"must reference the primary key {parent.primary_key} of table "
                f"{parent.name!r}, not {fk.ref_columns}",
            )
            return
        for child_name, parent_name in zip(fk.columns, fk.ref_columns, strict=True):
            try:
                child_type = table.column(child_name).type
                parent_type = parent.column(parent_name).type
            except KeyError:  # an invalid column, already reported
                continue
            if child_type != parent_type:
                self.problem(
                    where,
                    f"column {child_name!r} is {child_type} but {parent.name}.{parent_name} "
                    f"is {parent_type}",
                )


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
