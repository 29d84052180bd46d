"""Convert data dictionaries to and from a Frictionless Data Package (`datapackage.json`).

Each table becomes a tabular resource with a Table Schema, as version 2 of the Data Package
standard (datapackage.org) defines them. Text and code are `string`, and a code list becomes
`constraints.enum` plus `categories` with the labels. Integer is `integer`, decimal is `number`
with `decimalChar: ","`, and date is `date` with the strftime pattern as `format`. Keys become
`primaryKey`, `uniqueKeys` and `foreignKeys`. Whatever Table Schema has no property for
(personal data, identifier kinds, code list names, precision, record tags, plausibility checks)
is kept under the custom property `mdph` of the package, resource or field, so a package
written here reads back to the same dictionary.

A package written by another tool is read from its standard properties only, without guessing:
a property the product cannot honour (a `number` with a decimal point, a `boolean` field, a
date `format` of `any`) is a finding.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from migration.dictionary.errors import DictionaryError, DictionaryImportError, Finding
from migration.dictionary.model import Column, Dictionary, Table
from migration.dictionary.writer import PLAUSIBILITY_KEYS

PACKAGE_PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
RESOURCE_PROFILE = "https://datapackage.org/profiles/2.0/dataresource.json"
SCHEMA_PROFILE = "https://datapackage.org/profiles/2.0/tableschema.json"
DIALECT_PROFILE = "https://datapackage.org/profiles/2.0/tabledialect.json"
CUSTOM = "mdph"
FIELD_TYPES = {"text": "string", "code": "string", "integer": "integer", "decimal": "number"}
# Defaults of the standard when a resource does not declare them.
STANDARD_ENCODING = "utf-8"
STANDARD_DELIMITER = ","
ISO_DATE = "%Y-%m-%d"


def to_data_package(dictionary: Dictionary) -> dict[str, Any]:
    """Describe a dictionary as a Data Package descriptor, one tabular resource per table."""
    resource_names = _resource_names(dictionary)
    package: dict[str, Any] = {
        "$schema": PACKAGE_PROFILE,
        "name": _slug(dictionary.application) or "dictionary",
        "title": dictionary.application,
    }
    if dictionary.version:
        package["version"] = dictionary.version
    if dictionary.sources:
        package["sources"] = [{"title": source} for source in dictionary.sources]
    package[CUSTOM] = {
        "application": dictionary.application,
        "code_lists": {name: dict(codes) for name, codes in dictionary.code_lists.items()},
    }
    package["resources"] = [
        _resource(dictionary, table, resource_names) for table in dictionary.tables.values()
    ]
    return package


def _resource_names(dictionary: Dictionary) -> dict[str, str]:
    """Give each table a resource name that version 1 of the standard accepts too."""
    names: dict[str, str] = {}
    for table in dictionary.tables:
        name = _slug(table) or "table"
        candidate, number = name, 2
        while candidate in names.values():
            candidate, number = f"{name}-{number}", number + 1
        names[table] = candidate
    return names


def _slug(text: str) -> str:
    return re.sub(r"[^-a-z0-9._]+", "_", text.lower()).strip("_")


def _resource(dictionary: Dictionary, table: Table, names: dict[str, str]) -> dict[str, Any]:
    dialect: dict[str, Any] = {
        "$schema": DIALECT_PROFILE,
        "delimiter": table.delimiter,
        "header": table.header,
    }
    if table.skip_lines:
        dialect["commentRows"] = list(range(1, table.skip_lines + 1))
    if table.header:
        dialect["headerRows"] = [table.skip_lines + 1]

    schema: dict[str, Any] = {
        "$schema": SCHEMA_PROFILE,
        "fields": [_field(dictionary, column) for column in table.columns],
        "missingValues": [""],
    }
    if table.primary_key:
        schema["primaryKey"] = list(table.primary_key)
    if table.unique_keys:
        schema["uniqueKeys"] = [list(key) for key in table.unique_keys]
    if table.foreign_keys:
        schema["foreignKeys"] = [
            {
                "fields": list(key.columns),
                "reference": {"resource": names[key.ref_table], "fields": list(key.ref_columns)},
            }
            for key in table.foreign_keys
        ]

    resource: dict[str, Any] = {
        "$schema": RESOURCE_PROFILE,
        "name": names[table.name],
        "title": table.name,
        "type": "table",
        "path": table.file,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": table.encoding,
    }
    if table.description:
        resource["description"] = table.description
    resource["dialect"] = dialect
    resource["schema"] = schema

    custom: dict[str, Any] = {
        "table": table.name,
        "skip_lines": table.skip_lines,
        "record_tag": table.record_tag,
    }
    if table.plausibility:
        custom["plausibility"] = [
            {"rule": check.rule}
            | {
                key: getattr(check, key)
                for key in PLAUSIBILITY_KEYS
                if getattr(check, key) is not None
            }
            for check in table.plausibility
        ]
    resource[CUSTOM] = custom
    return resource


def _field(dictionary: Dictionary, column: Column) -> dict[str, Any]:
    field: dict[str, Any] = {"name": column.name, "type": FIELD_TYPES.get(column.type, "date")}
    if column.description:
        field["description"] = column.description
    constraints: dict[str, Any] = {"required": not column.nullable}
    custom: dict[str, Any] = {"type": column.type, "personal": column.personal}

    if column.type in ("text", "code") and column.length is not None:
        constraints["maxLength"] = column.length
    elif column.length is not None:
        custom["length"] = column.length
    if column.code_list is not None:
        custom["code_list"] = column.code_list

    if column.type == "code":
        codes = dictionary.codes(column)
        constraints["enum"] = list(codes)
        field["categories"] = [{"value": code, "label": label} for code, label in codes.items()]
    if column.type == "decimal":
        field["decimalChar"] = ","
        field["bareNumber"] = True
        for key in ("precision", "scale"):
            if getattr(column, key) is not None:
                custom[key] = getattr(column, key)
    if column.type == "date":
        field["format"] = column.date_formats[0] if column.date_formats else ISO_DATE
        custom["date_formats"] = list(column.date_formats)
        if column.date_placeholders:
            field["missingValues"] = ["", *column.date_placeholders]
    if column.identifier is not None:
        custom["identifier"] = column.identifier
    field["constraints"] = constraints
    field[CUSTOM] = custom
    return field


def write_data_package(dictionary: Dictionary, path: Path) -> Path:
    """Write the Data Package descriptor of a dictionary as JSON (UTF-8, indented)."""
    path = Path(path)
    text = json.dumps(to_data_package(dictionary), ensure_ascii=False, indent=2) + "\n"
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise DictionaryError(f"{path}: cannot write the Data Package ({error.strerror})") from None
    return path


def read_data_package(path: Path, application: str | None = None) -> dict[str, Any]:
    """Read a `datapackage.json` file into a dictionary document.

    Raises:
        DictionaryError: the file cannot be read or is not JSON.
        DictionaryImportError: properties break the format; each finding names its place.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise DictionaryError(f"{path}: cannot read the Data Package ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise DictionaryError(f"{path}: not UTF-8 text ({error.reason})") from None
    try:
        package = json.loads(text)
    except json.JSONDecodeError as error:
        raise DictionaryError(
            f"{path}: line {error.lineno}, column {error.colno}: invalid JSON ({error.msg})"
        ) from None
    return from_data_package(package, application=application, source=str(path))


def from_data_package(
    package: dict[str, Any], *, application: str | None = None, source: str = "datapackage.json"
) -> dict[str, Any]:
    """Turn a Data Package descriptor into a dictionary document.

    Args:
        package: the parsed `datapackage.json`.
        application: the application name; by default the package's `mdph.application`, else
            its `title`.
        source: the file name used in findings.

    Raises:
        DictionaryImportError: properties the product cannot honour; each finding gives the
            place in the package, such as `resources[2].schema.fields[4].type`.
    """
    reader = _PackageReader(source)
    document = reader.read(package, application)
    if reader.findings:
        raise DictionaryImportError(reader.findings)
    return document


class _PackageReader:
    def __init__(self, source: str):
        self.source = source
        self.findings: list[Finding] = []

    def problem(self, pointer: str, message: str) -> None:
        self.findings.append(Finding(file=self.source, message=message, pointer=pointer))

    def read(self, package: Any, application: str | None) -> dict[str, Any]:
        if not isinstance(package, dict) or not isinstance(package.get("resources"), list):
            self.problem("resources", "a Data Package needs a list of resources")
            return {}
        custom = _custom(package)
        name = application or custom.get("application") or package.get("title")
        if not name:
            self.problem("title", "no application name; give --application NAME")
        document: dict[str, Any] = {"application": str(name or "")}
        if package.get("version") is not None:
            document["version"] = str(package["version"])
        sources = [
            source.get("title") or source.get("path")
            for source in package.get("sources") or []
            if isinstance(source, dict)
        ]
        if sources:
            document["sources"] = [str(source) for source in sources if source]
        code_lists = custom.get("code_lists") or {}

        document["code_lists"] = {
            str(list_name): {str(code): str(label) for code, label in codes.items()}
            for list_name, codes in code_lists.items()
            if isinstance(codes, dict)
        }

        tables_by_resource = {}
        for index, resource in enumerate(package["resources"]):
            if isinstance(resource, dict):
                table_name = _custom(resource).get("table") or resource.get("name")
                tables_by_resource[resource.get("name")] = str(table_name or f"table{index + 1}")

        document["tables"] = {}
        for index, resource in enumerate(package["resources"]):
            pointer = f"resources[{index}]"
            if not isinstance(resource, dict):
                self.problem(pointer, "a resource must be an object")
                continue
            table_name = tables_by_resource[resource.get("name")]
            if table_name in document["tables"]:
                self.problem(pointer, f"table {table_name} is described twice")
                continue
            document["tables"][table_name] = self.table(
                resource, pointer, table_name, tables_by_resource, document["code_lists"]
            )
        return document

    def table(self, resource, pointer, name, tables_by_resource, code_lists) -> dict[str, Any]:
        custom = _custom(resource)
        table: dict[str, Any] = {}
        path = resource.get("path")
        if not isinstance(path, str) or not path:
            self.problem(f"{pointer}.path", "a resource needs one file path (a string)")
        table["file"] = path if isinstance(path, str) else ""
        if resource.get("description"):
            table["description"] = str(resource["description"])
        dialect = resource.get("dialect") or {}
        if not isinstance(dialect, dict):
            self.problem(f"{pointer}.dialect", "write the dialect inline, as an object")
            dialect = {}
        table["header"] = bool(dialect.get("header", True))
        table["record_tag"] = custom.get("record_tag")
        table["skip_lines"] = self.skip_lines(dialect, custom, pointer)
        table["encoding"] = str(resource.get("encoding") or STANDARD_ENCODING)
        table["delimiter"] = str(dialect.get("delimiter") or STANDARD_DELIMITER)

        schema = resource.get("schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list):
            self.problem(f"{pointer}.schema", "write the Table Schema inline, with its fields")
            schema = {"fields": []}
        extra_missing = [value for value in schema.get("missingValues", [""]) if value != ""]
        if extra_missing:
            self.problem(
                f"{pointer}.schema.missingValues",
                "only the empty string is read as a missing value; declare other values on "
                "date fields, where they become date placeholders",
            )

        table["primary_key"] = _names(schema.get("primaryKey"))
        table["unique_keys"] = [_names(key) for key in schema.get("uniqueKeys") or []]
        table["foreign_keys"] = []
        for key_index, key in enumerate(schema.get("foreignKeys") or []):
            key_pointer = f"{pointer}.schema.foreignKeys[{key_index}]"
            reference = key.get("reference") if isinstance(key, dict) else None
            if not isinstance(reference, dict):
                self.problem(key_pointer, "a foreign key needs fields and a reference")
                continue
            resource_name = reference.get("resource")
            if resource_name in (None, ""):
                ref_table = name
            elif resource_name in tables_by_resource:
                ref_table = tables_by_resource[resource_name]
            else:
                self.problem(
                    f"{key_pointer}.reference.resource",
                    f"foreign key to unknown resource {resource_name!r}",
                )
                continue
            table["foreign_keys"].append(
                {
                    "columns": _names(key.get("fields")),
                    "references": {"table": ref_table, "columns": _names(reference.get("fields"))},
                }
            )

        if custom.get("plausibility"):
            table["plausibility"] = list(custom["plausibility"])
        table["columns"] = [
            self.column(field, f"{pointer}.schema.fields[{field_index}]", name, code_lists)
            for field_index, field in enumerate(schema["fields"])
        ]
        return table

    def skip_lines(self, dialect: dict, custom: dict, pointer: str) -> int:
        """Return the lines before the header or data, from `mdph` or the dialect's row lists."""
        if "skip_lines" in custom:
            value = custom["skip_lines"]
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
            self.problem(f"{pointer}.{CUSTOM}.skip_lines", "must be a whole number, 0 or more")
            return 0
        comment_rows = dialect.get("commentRows") or []
        header_rows = dialect.get("headerRows") or [1]
        if comment_rows and comment_rows != list(range(1, len(comment_rows) + 1)):
            self.problem(
                f"{pointer}.dialect.commentRows",
                "only leading comment rows (1, 2, ...) can be skipped",
            )
        skipped = len(comment_rows)
        if dialect.get("header", True) and header_rows != [skipped + 1]:
            self.problem(
                f"{pointer}.dialect.headerRows",
                "the header must be one row right after the skipped rows",
            )
        return skipped

    def column(self, field, pointer: str, table: str, code_lists: dict) -> dict[str, Any]:
        if not isinstance(field, dict) or not field.get("name"):
            self.problem(pointer, "a field needs a name")
            return {"name": ""}
        custom = _custom(field)
        constraints = field.get("constraints") or {}
        column: dict[str, Any] = {"name": str(field["name"])}
        column_type = custom.get("type") or self.column_type(field, pointer)
        column["type"] = column_type

        if column_type == "code":
            column["code_list"] = self.code_list(field, pointer, table, custom, code_lists)
        elif custom.get("code_list"):
            column["code_list"] = custom["code_list"]
        length = constraints.get("maxLength", custom.get("length"))
        if length is not None:
            column["length"] = length
        for key in ("precision", "scale"):
            if custom.get(key) is not None:
                column[key] = custom[key]
        if column_type == "decimal" and field.get("decimalChar", ".") != ",":
            self.problem(
                f"{pointer}.decimalChar",
                'decimals are read with a decimal comma; set "decimalChar": "," or type string',
            )

        if column_type == "date":
            column["date_formats"] = custom.get("date_formats") or [
                self.date_format(field, pointer)
            ]
            placeholders = [value for value in field.get("missingValues", [""]) if value != ""]
            column["date_placeholders"] = placeholders
        elif any(value != "" for value in field.get("missingValues", [""])):
            self.problem(
                f"{pointer}.missingValues",
                "only date fields may declare missing values other than the empty string",
            )

        if constraints.get("required"):
            column["nullable"] = False
        if custom.get("personal"):
            column["personal"] = True
        if custom.get("identifier"):
            column["identifier"] = custom["identifier"]
        if field.get("description"):
            column["description"] = str(field["description"])
        return column

    def column_type(self, field: dict, pointer: str) -> str:
        field_type = field.get("type", "string")
        constraints = field.get("constraints") or {}
        if field_type == "string":
            return "code" if "enum" in constraints or field.get("categories") else "text"
        if field_type == "integer":
            return "integer"
        if field_type == "number":
            return "decimal"
        if field_type == "date":
            return "date"
        self.problem(
            f"{pointer}.type",
            f"field type {field_type!r} has no dictionary type; use string, integer, number or "
            "date (string keeps any value as text)",
        )
        return "text"

    def code_list(self, field, pointer, table: str, custom: dict, code_lists: dict) -> str:
        codes = self.field_codes(field, pointer)
        name = custom.get("code_list") or f"{table}_{field['name']}"
        if name in code_lists:
            if codes and list(code_lists[name]) != list(codes):
                self.problem(
                    f"{pointer}.constraints.enum",
                    f"the codes differ from those of code list {name}",
                )
            return name
        if not codes:
            self.problem(pointer, "a code field needs constraints.enum or categories")
        code_lists[name] = codes
        return name

    def field_codes(self, field: dict, pointer: str) -> dict[str, str]:
        enum = (field.get("constraints") or {}).get("enum") or []
        labels: dict[str, str] = {}
        for category in field.get("categories") or []:
            if isinstance(category, dict):
                labels[category.get("value")] = str(category.get("label", ""))
            else:
                labels[category] = ""
        values = list(enum) or list(labels)
        for value in values:
            if not isinstance(value, str):
                self.problem(
                    f"{pointer}.constraints.enum",
                    f"code {value!r} is a {type(value).__name__}; codes must be strings",
                )
        return {value: labels.get(value, "") for value in values if isinstance(value, str)}

    def date_format(self, field: dict, pointer: str) -> str:
        date_format = field.get("format", "default")
        if date_format == "default":
            return ISO_DATE
        if date_format == "any":
            self.problem(
                f"{pointer}.format",
                'format "any" would make the product guess dates; give the pattern, like %d/%m/%Y',
            )
            return ISO_DATE
        return str(date_format).removeprefix("fmt:")


def _custom(descriptor: Any) -> dict[str, Any]:
    value = descriptor.get(CUSTOM) if isinstance(descriptor, dict) else None
    return value if isinstance(value, dict) else {}


def _names(value: Any) -> list[str]:
    """Read a Table Schema list of field names, which may be a single string."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]
