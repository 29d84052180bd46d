"""Write a data dictionary as YAML in the layout of the bundled dictionaries.

A dictionary goes through three forms: the `Dictionary` model, the plain "document" (the
mapping that the YAML file holds, which sheet and Data Package imports produce) and the YAML
text. The writer quotes every code, and every string that YAML would read as something else
(`NO`, `010`, `2008.1`), so the file reads back to the same model.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from migration.dictionary.errors import DictionaryError, DictionaryImportError, Finding
from migration.dictionary.model import (
    Column,
    Dictionary,
    PlausibilityCheck,
    Table,
    load_dictionary,
)

# Values the model uses when a key is missing from a table, a column or `defaults`.
MODEL_ENCODING = "cp1252"
MODEL_DELIMITER = ";"
MODEL_DATE_FORMATS = ("%d/%m/%Y",)
# Names written without quotes in flow lists and as keys, when YAML reads them back as text.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
# Keys of a plausibility check besides its rule, in the order they are written.
PLAUSIBILITY_KEYS = ("start", "end", "date", "birth", "at", "min_age", "max_age")


def document_from_dictionary(dictionary: Dictionary) -> dict[str, Any]:
    """Build the document of a loaded dictionary, with shared settings moved to `defaults`.

    The most common encoding, delimiter and date formats become the defaults. Date placeholders
    become a default only when every date column has the same ones, because a sheet cell left
    empty means "the default" and could not say "none".
    """
    defaults = _choose_defaults(dictionary)
    document: dict[str, Any] = {"application": dictionary.application}
    if dictionary.version:
        document["version"] = dictionary.version
    if dictionary.sources:
        document["sources"] = list(dictionary.sources)
    document["defaults"] = defaults
    document["code_lists"] = {name: dict(codes) for name, codes in dictionary.code_lists.items()}
    document["tables"] = {
        name: _table_document(table, defaults) for name, table in dictionary.tables.items()
    }
    return document


def _choose_defaults(dictionary: Dictionary) -> dict[str, Any]:
    tables = list(dictionary.tables.values())
    dates = [column for table in tables for column in table.columns if column.type == "date"]
    defaults: dict[str, Any] = {
        "encoding": _most_common([table.encoding for table in tables], MODEL_ENCODING),
        "delimiter": _most_common([table.delimiter for table in tables], MODEL_DELIMITER),
        "date_formats": list(
            _most_common([column.date_formats for column in dates], MODEL_DATE_FORMATS)
        ),
    }
    placeholders = {column.date_placeholders for column in dates}
    if len(placeholders) == 1 and () not in placeholders:
        defaults["date_placeholders"] = list(placeholders.pop())
    return defaults


def _most_common(values: list, fallback):
    # Counter.most_common keeps first-seen order among ties, so the choice is stable.
    return Counter(values).most_common(1)[0][0] if values else fallback


def _table_document(table: Table, defaults: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {"file": table.file}
    if table.description:
        document["description"] = table.description
    document["header"] = table.header
    document["record_tag"] = table.record_tag
    document["skip_lines"] = table.skip_lines
    if table.encoding != defaults["encoding"]:
        document["encoding"] = table.encoding
    if table.delimiter != defaults["delimiter"]:
        document["delimiter"] = table.delimiter
    document["primary_key"] = list(table.primary_key)
    document["unique_keys"] = [list(key) for key in table.unique_keys]
    document["foreign_keys"] = [
        {
            "columns": list(key.columns),
            "references": {"table": key.ref_table, "columns": list(key.ref_columns)},
        }
        for key in table.foreign_keys
    ]
    if table.plausibility:
        document["plausibility"] = [_check_document(check) for check in table.plausibility]
    document["columns"] = [_column_document(column, defaults) for column in table.columns]
    return document


def _check_document(check: PlausibilityCheck) -> dict[str, Any]:
    document: dict[str, Any] = {"rule": check.rule}
    for key in PLAUSIBILITY_KEYS:
        if getattr(check, key) is not None:
            document[key] = getattr(check, key)
    return document


def _column_document(column: Column, defaults: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {"name": column.name, "type": column.type}
    if column.code_list is not None:
        document["code_list"] = column.code_list
    for key in ("length", "precision", "scale"):
        if getattr(column, key) is not None:
            document[key] = getattr(column, key)
    if column.type == "date":
        if list(column.date_formats) != defaults["date_formats"]:
            document["date_formats"] = list(column.date_formats)
        if list(column.date_placeholders) != defaults.get("date_placeholders", []):
            document["date_placeholders"] = list(column.date_placeholders)
    if not column.nullable:
        document["nullable"] = False
    if column.personal:
        document["personal"] = True
    if column.identifier is not None:
        document["identifier"] = column.identifier
    if column.description:
        document["description"] = column.description
    return document


def dump_dictionary(document: dict[str, Any], comment: str | None = None) -> str:
    """Render a dictionary document as YAML text, codes and ambiguous strings quoted.

    Args:
        document: a mapping with the keys of the dictionary format, as `document_from_dictionary`
            or an import returns it.
        comment: text put at the top of the file as `#` comment lines.
    """
    lines: list[str] = []
    if comment:
        lines += [f"# {line}".rstrip() for line in comment.splitlines()]
    lines.append(f"application: {_scalar(document['application'])}")
    if "version" in document:
        lines.append(f"version: {_quoted(str(document['version']))}")
    if document.get("sources"):
        lines.append("sources:")
        lines += [f"  - {_quoted(str(source))}" for source in document["sources"]]
    if document.get("defaults"):
        lines.append("defaults:")
        for key, value in document["defaults"].items():
            lines.append(f"  {key}: {_flow(value)}")
    lines.append("")
    lines.append("code_lists:" if document.get("code_lists") else "code_lists: {}")
    for name, codes in (document.get("code_lists") or {}).items():
        lines.append(f"  {_key(name)}:")
        lines += [f"    {_quoted(code)}: {_scalar(label)}" for code, label in codes.items()]
    lines.append("")
    lines.append("tables:")
    for name, table in document["tables"].items():
        lines.append(f"  {_key(name)}:")
        lines += _table_lines(table)
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _table_lines(table: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in table.items():
        if key == "columns":
            lines.append("    columns:")
            for column in value:
                items = list(column.items())
                first_key, first_value = items[0]
                lines.append(f"      - {first_key}: {_scalar(first_value)}")
                lines += [f"        {key}: {_flow(item)}" for key, item in items[1:]]
        elif key in ("foreign_keys", "plausibility") and value:
            lines.append(f"    {key}:")
            lines += [f"      - {_flow(item)}" for item in value]
        else:
            lines.append(f"    {key}: {_flow(value)}")
    return lines


def _flow(value: Any) -> str:
    """Render a value on one line, lists and mappings in YAML flow style."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow_item(item) for item in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{_key(key)}: {_flow_item(item)}" for key, item in value.items()) + "}"
        )
    return _scalar(value)


def _flow_item(value: Any) -> str:
    if isinstance(value, str):
        plain = _NAME.match(value) and _reads_back(f"[{value}]", [value])
        return value if plain else _quoted(value)
    return _flow(value)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    plain = text[:1].isalnum() and _reads_back(f"key: {text}", {"key": text})
    return text if plain else _quoted(text)


def _key(name: Any) -> str:
    text = str(name)
    plain = _NAME.match(text) and _reads_back(f"{text}: value", {text: "value"})
    return text if plain else _quoted(text)


def _quoted(text: str) -> str:
    # A JSON string literal is also a valid YAML double-quoted scalar, escapes included.
    return json.dumps(text, ensure_ascii=False)


def _reads_back(line: str, expected: Any) -> bool:
    """Tell whether a plain (unquoted) rendering loads back to exactly the expected value."""
    if "\n" in line or "\r" in line or "\t" in line or line != line.strip():
        return False
    try:
        return yaml.safe_load(line) == expected
    except yaml.YAMLError:
        return False


def write_dictionary(document: dict[str, Any], path: Path, source: str | None = None) -> Dictionary:
    """Check a dictionary document with the model, then write it to `path` as canonical YAML.

    The document is loaded through `load_dictionary` first, so what is written is exactly what
    the product will read. The canonical form (`document_from_dictionary`) is written, and read
    back once more to prove that it loads to the same model. Nothing is written on error.

    Args:
        document: the dictionary document to write.
        path: the YAML file to create or replace.
        source: the file the document was imported from, named in the error and the comment.

    Raises:
        DictionaryImportError: the model rejects the document; the finding names `source`.
        DictionaryError: the file cannot be written.
    """
    path = Path(path)
    label = source or str(path)
    checked = _load_text(dump_dictionary(document), path, label)
    comment = (
        f"Data dictionary {checked.application}, written by mdph-reprise"
        + (f" from {Path(source).name}" if source else "")
        + '.\nCodes are quoted strings: "01" is a code, 01 would be a number.'
    )
    text = dump_dictionary(document_from_dictionary(checked), comment)
    written = _load_text(text, path, label)
    differences = describe_differences(checked, written)
    if differences:
        # Only a bug in this writer gets here. The details name tables and columns, no values.
        raise DictionaryError(
            f"{label}: the YAML written for the dictionary does not read back the same "
            f"({'; '.join(differences[:5])}); please report this with the input file"
        )
    # Written beside the target and renamed, so a failed write leaves no half-written file.
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise DictionaryError(f"{path}: cannot write the dictionary ({error.strerror})") from None
    written.path = path
    return written


def _load_text(text: str, path: Path, label: str) -> Dictionary:
    temporary = path.with_name(f".{path.name}.check.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
    except OSError as error:
        raise DictionaryError(f"{path}: cannot write the dictionary ({error.strerror})") from None
    try:
        return load_dictionary(temporary)
    except DictionaryError as error:
        message = str(error).replace(f"{temporary}: ", "", 1)
        raise DictionaryImportError([Finding(file=label, message=message)]) from None
    finally:
        temporary.unlink(missing_ok=True)


def describe_differences(expected: Dictionary, actual: Dictionary) -> list[str]:
    """List how two loaded dictionaries differ, field by field; empty when they are equal.

    The file path and its SHA-256 are not compared, since a copy in another format has its own.
    """
    differences = []
    for key in ("application", "version", "sources"):
        if getattr(expected, key) != getattr(actual, key):
            differences.append(f"{key} differs")
    for name in expected.code_lists.keys() | actual.code_lists.keys():
        if expected.code_lists.get(name) != actual.code_lists.get(name):
            differences.append(f"code list {name} differs")
    if list(expected.tables) != list(actual.tables):
        differences.append(
            f"tables differ: {', '.join(expected.tables)} and {', '.join(actual.tables)}"
        )
    for name in expected.tables.keys() & actual.tables.keys():
        differences += _table_differences(expected.tables[name], actual.tables[name])
    return differences


def _table_differences(expected: Table, actual: Table) -> list[str]:
    differences = []
    for key in expected.__dataclass_fields__:
        if key == "columns":
            continue
        if getattr(expected, key) != getattr(actual, key):
            differences.append(f"table {expected.name}: {key} differs")
    if expected.column_names != actual.column_names:
        differences.append(f"table {expected.name}: column names or order differ")
        return differences
    for left, right in zip(expected.columns, actual.columns, strict=True):
        for key in left.__dataclass_fields__:
            if getattr(left, key) != getattr(right, key):
                differences.append(f"table {expected.name}, column {left.name}: {key} differs")
    return differences
