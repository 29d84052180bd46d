"""Data dictionaries of the legacy applications: tables, columns, codes and keys.

A dictionary is a YAML file (see the bundled `data/itac.yaml` and `data/opales.yaml`). Every
value of a source file is read as text and converted by the type and formats declared here,
never by inference.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import pickle
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from migration.dictionary.errors import DictionaryError, DictionaryFileError
from migration.yaml_files import describe_yaml_error, safe_load

COLUMN_TYPES = ("text", "code", "integer", "decimal", "date")
IDENTIFIER_KINDS = ("nir", "finess", "uai", "insee_commune", "departement", "postal_code")
BUNDLED = {"itac": "itac.yaml", "opales": "opales.yaml"}


@dataclass(frozen=True)
class Column:
    """One column of a source table, as the dictionary declares it."""

    name: str
    type: str = "text"
    length: int | None = None
    nullable: bool = True
    personal: bool = False
    identifier: str | None = None
    code_list: str | None = None
    precision: int | None = None
    scale: int | None = None
    date_formats: tuple[str, ...] = ()
    date_placeholders: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class ForeignKey:
    """Columns of a table that must match the key of another table of the same dictionary."""

    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


PLAUSIBILITY_RULES = ("date_order", "after_birth", "age_range")


@dataclass(frozen=True)
class PlausibilityCheck:
    """A declared plausibility check of a table.

    `date_order`: `start` must not be after `end` in the same row. `after_birth`: `date` must
    not be before the birth date `birth` (TABLE.COLUMN) of the row its foreign key points at.
    `age_range`: the age in whole years at `at`, computed from `birth`, must lie within
    `min_age` and `max_age`.
    """

    rule: str
    start: str | None = None
    end: str | None = None
    date: str | None = None
    birth: str | None = None
    at: str | None = None
    min_age: int | None = None
    max_age: int | None = None


@dataclass
class Table:
    """One source table: its file, layout, columns and keys."""

    name: str
    file: str
    columns: list[Column]
    description: str = ""
    header: bool = True
    record_tag: str | None = None
    skip_lines: int = 0
    encoding: str = "cp1252"
    delimiter: str = ";"
    primary_key: tuple[str, ...] = ()
    unique_keys: list[tuple[str, ...]] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    plausibility: list[PlausibilityCheck] = field(default_factory=list)

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


@dataclass
class Dictionary:
    """A data dictionary of one application (ITAC or OPALES)."""

    application: str
    version: str
    path: Path
    sha256: str
    code_lists: dict[str, dict[str, str]]
    tables: dict[str, Table]
    sources: list[str] = field(default_factory=list)

    def codes(self, column: Column) -> dict[str, str]:
        return self.code_lists[column.code_list] if column.code_list else {}


TOP_KEYS = {"application", "version", "sources", "defaults", "code_lists", "tables", "description"}
TABLE_KEYS = {
    "file",
    "description",
    "header",
    "record_tag",
    "skip_lines",
    "encoding",
    "delimiter",
    "primary_key",
    "unique_keys",
    "foreign_keys",
    "plausibility",
    "columns",
}
COLUMN_KEYS = {
    "name",
    "type",
    "length",
    "nullable",
    "personal",
    "identifier",
    "code_list",
    "precision",
    "scale",
    "date_formats",
    "date_placeholders",
    "description",
}


def _check_keys(raw: dict, allowed: set[str], where: str) -> None:
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise DictionaryError(f"{where}: unknown key {key!r}{hint}")


def _bool(raw: dict, key: str, default: bool, where: str) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise DictionaryError(f"{where}: {key} must be true or false, not {value!r}")
    return value


def _integer(raw: dict, key: str, where: str, default: int | None = None) -> int | None:
    value = raw.get(key, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise DictionaryError(f"{where}: {key} must be a whole number of 0 or more, not {value!r}")
    return value


def _text(raw: dict, key: str, where: str, default: str | None = None) -> str | None:
    value = raw.get(key, default)
    if value is not None and not isinstance(value, str):
        raise DictionaryError(f"{where}: {key} must be text, not {value!r}; quote it in the YAML")
    return value


def _names(raw: dict, key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DictionaryError(f"{where}: {key} must be a list of names, not {value!r}")
    return tuple(value)


def is_bundled_name(path_or_name: str | Path) -> bool:
    """Tell whether a dictionary reference names a bundled dictionary rather than a file."""
    return not Path(path_or_name).suffix and str(path_or_name).lower() in BUNDLED


def bundled_dictionary_path(name: str) -> Path:
    """Return the path of a dictionary shipped with the product (`itac` or `opales`)."""
    try:
        file_name = BUNDLED[name.lower()]
    except KeyError:
        raise DictionaryError(
            f"no bundled dictionary named {name!r}; choose one of {', '.join(BUNDLED)} "
            "or give the path of a dictionary file"
        ) from None
    return Path(str(resources.files("migration.dictionary") / "data" / file_name))


def load_dictionary(path_or_name: str | Path) -> Dictionary:
    """Load and check a data dictionary from a YAML file or a bundled dictionary name.

    Raises:
        DictionaryFileError: the file cannot be read (not found, a folder, no permission).
        DictionaryError: the file is not valid YAML, or breaks the format. The message names
            the file with the line and column, or the table and column, at fault.
    """
    path = Path(path_or_name)
    if is_bundled_name(path_or_name):
        path = bundled_dictionary_path(str(path_or_name))
    try:
        raw_bytes = path.read_bytes()
    except OSError as error:
        raise DictionaryFileError(path, error, bundled=BUNDLED) from None
    # Each caller gets its own copy, so a change to one dictionary never reaches another.
    return pickle.loads(_pickled_dictionary(path, raw_bytes))


@functools.lru_cache(maxsize=16)
def _pickled_dictionary(path: Path, raw_bytes: bytes) -> bytes:
    """Parse and check a dictionary file's content, and return the Dictionary pickled.

    A run loads each dictionary several times: to check the mappings, for the lineage events
    and twice for the report. Parsing and checking took about 12 ms per bundled dictionary
    (measured on a 2-core machine) and unpickling the result takes under 1 ms. The result
    depends on the path and the content alone, so the results of the 16 last pairs are kept.
    """
    try:
        document = safe_load(raw_bytes)
    except yaml.YAMLError as error:
        problem = describe_yaml_error(error, raw_bytes, "data dictionary")
        raise DictionaryError(problem.located(path)) from None
    dictionary = _parse_dictionary(document, path, hashlib.sha256(raw_bytes).hexdigest())
    return pickle.dumps(dictionary, protocol=pickle.HIGHEST_PROTOCOL)


def _parse_dictionary(document: Any, path: Path, sha256: str) -> Dictionary:
    if not isinstance(document, dict):
        raise DictionaryError(f"{path}: a data dictionary must be a YAML mapping")
    _check_keys(document, TOP_KEYS, str(path))
    for key in ("application", "tables"):
        if key not in document:
            raise DictionaryError(f"{path}: missing top-level key {key!r}")
    for key in ("tables", "code_lists", "defaults"):
        if document.get(key) is not None and not isinstance(document[key], dict):
            raise DictionaryError(f"{path}: {key} must be a mapping")
    _text(document, "application", str(path))
    _text(document, "version", str(path))
    _names(document, "sources", str(path))
    defaults = document.get("defaults") or {}
    code_lists = _parse_code_lists(document.get("code_lists") or {}, path)
    tables = {}
    for name, spec in document["tables"].items():
        tables[str(name)] = _parse_table(str(name), spec, defaults, code_lists, path)
    dictionary = Dictionary(
        application=str(document["application"]),
        version=str(document.get("version", "")),
        path=path,
        sha256=sha256,
        code_lists=code_lists,
        tables=tables,
        sources=[str(source) for source in document.get("sources") or []],
    )
    _check_foreign_keys(dictionary)
    _check_plausibility(dictionary)
    return dictionary


def _parse_code_lists(raw: dict, path: Path) -> dict[str, dict[str, str]]:
    code_lists: dict[str, dict[str, str]] = {}
    for name, codes in raw.items():
        if not isinstance(codes, dict):
            raise DictionaryError(f"{path}: code list {name}: expected a mapping of code to label")
        for code in codes:
            if not isinstance(code, str):
                raise DictionaryError(
                    f"{path}: code list {name}: code {code!r} is a {type(code).__name__}, "
                    'not a string; quote it in the YAML (for example "01")'
                )
        code_lists[str(name)] = {code: str(label) for code, label in codes.items()}
    return code_lists


def _parse_table(name: str, spec: dict, defaults: dict, code_lists: dict, path: Path) -> Table:
    where = f"{path}: table {name}"
    if not isinstance(spec, dict) or "file" not in spec or "columns" not in spec:
        raise DictionaryError(f"{where}: a table needs 'file' and 'columns'")
    _check_keys(spec, TABLE_KEYS, where)
    if not isinstance(spec["columns"], list) or not spec["columns"]:
        raise DictionaryError(f"{where}: columns must be a non-empty list")
    for key in ("file", "description", "record_tag", "encoding", "delimiter"):
        _text(spec, key, where)
    columns = [_parse_column(raw, defaults, code_lists, where) for raw in spec["columns"]]
    names = [column.name for column in columns]
    duplicates = sorted({column for column in names if names.count(column) > 1})
    if duplicates:
        raise DictionaryError(f"{where}: duplicate columns {', '.join(duplicates)}")
    table = Table(
        name=name,
        file=str(spec["file"]),
        columns=columns,
        description=str(spec.get("description", "")),
        header=_bool(spec, "header", True, where),
        record_tag=spec.get("record_tag"),
        skip_lines=_integer(spec, "skip_lines", where, 0),
        encoding=str(spec.get("encoding", defaults.get("encoding", "cp1252"))),
        delimiter=str(spec.get("delimiter", defaults.get("delimiter", ";"))),
        primary_key=_names(spec, "primary_key", where),
        unique_keys=[tuple(key) for key in spec.get("unique_keys") or []],
        foreign_keys=[_parse_foreign_key(raw, where) for raw in spec.get("foreign_keys") or []],
        plausibility=[_parse_plausibility(raw, where) for raw in spec.get("plausibility") or []],
    )
    for key in [table.primary_key, *table.unique_keys]:
        for column in key:
            if column not in names:
                raise DictionaryError(f"{where}: key column {column} is not a column of the table")
    return table


def _parse_column(raw: dict, defaults: dict, code_lists: dict, where: str) -> Column:
    if not isinstance(raw, dict) or "name" not in raw:
        raise DictionaryError(f"{where}: every column needs a 'name'")
    name = _text(raw, "name", where)
    where = f"{where}, column {name}"
    _check_keys(raw, COLUMN_KEYS, where)
    column_type = raw.get("type", "text")
    if column_type not in COLUMN_TYPES:
        raise DictionaryError(
            f"{where}: unknown type {column_type!r}; use one of " + ", ".join(COLUMN_TYPES)
        )
    identifier = raw.get("identifier")
    if identifier is not None and identifier not in IDENTIFIER_KINDS:
        raise DictionaryError(
            f"{where}: unknown identifier kind {identifier!r}; use one of "
            + ", ".join(IDENTIFIER_KINDS)
        )
    code_list = _text(raw, "code_list", where)
    if column_type == "code" and code_list not in code_lists:
        raise DictionaryError(
            f"{where}: type code needs a code_list defined under code_lists (got {code_list!r})"
        )
    if code_list is not None and code_list not in code_lists:
        raise DictionaryError(f"{where}: code list {code_list!r} is not under code_lists")
    if column_type != "date" and ("date_formats" in raw or "date_placeholders" in raw):
        raise DictionaryError(f"{where}: date_formats and date_placeholders need type date")
    formats = raw.get("date_formats") or defaults.get("date_formats") or ["%d/%m/%Y"]
    placeholders = raw.get("date_placeholders", defaults.get("date_placeholders")) or []
    return Column(
        name=name,
        type=column_type,
        length=_integer(raw, "length", where),
        nullable=_bool(raw, "nullable", True, where),
        personal=_bool(raw, "personal", False, where),
        identifier=identifier,
        code_list=code_list,
        precision=_integer(raw, "precision", where),
        scale=_integer(raw, "scale", where),
        date_formats=tuple(str(item) for item in formats) if column_type == "date" else (),
        date_placeholders=tuple(str(item) for item in placeholders)
        if column_type == "date"
        else (),
        description=_text(raw, "description", where, "") or "",
    )


def _parse_foreign_key(raw: dict, where: str) -> ForeignKey:
    try:
        references = raw["references"]
        return ForeignKey(
            columns=tuple(raw["columns"]),
            ref_table=str(references["table"]),
            ref_columns=tuple(references["columns"]),
        )
    except (KeyError, TypeError):
        raise DictionaryError(
            f"{where}: a foreign key needs 'columns' and 'references: {{table, columns}}'"
        ) from None


def _parse_plausibility(raw: dict, where: str) -> PlausibilityCheck:
    rule = raw.get("rule") if isinstance(raw, dict) else None
    if rule not in PLAUSIBILITY_RULES:
        raise DictionaryError(
            f"{where}: plausibility rule {rule!r} is unknown; use one of "
            + ", ".join(PLAUSIBILITY_RULES)
        )
    needed = {
        "date_order": ("start", "end"),
        "after_birth": ("date", "birth"),
        "age_range": ("birth", "at"),
    }[rule]
    missing = [key for key in needed if not raw.get(key)]
    if missing:
        raise DictionaryError(f"{where}: plausibility rule {rule} needs {', '.join(missing)}")
    return PlausibilityCheck(
        rule=rule,
        start=raw.get("start"),
        end=raw.get("end"),
        date=raw.get("date"),
        birth=raw.get("birth"),
        at=raw.get("at"),
        min_age=raw.get("min_age"),
        max_age=raw.get("max_age"),
    )


def _check_plausibility(dictionary: Dictionary) -> None:
    for table in dictionary.tables.values():
        where = f"{dictionary.path}: table {table.name}, plausibility"
        for check in table.plausibility:
            for name in (check.start, check.end, check.date, check.at):
                if name and name not in table.column_names:
                    raise DictionaryError(f"{where} {check.rule}: {name} is not a column")
            if check.birth and "." in check.birth:
                ref_table, ref_column = check.birth.split(".", 1)
                if not any(key.ref_table == ref_table for key in table.foreign_keys):
                    raise DictionaryError(
                        f"{where} {check.rule}: no foreign key from {table.name} to {ref_table}"
                    )
                if ref_column not in dictionary.tables[ref_table].column_names:
                    raise DictionaryError(f"{where} {check.rule}: {check.birth} is not a column")
            elif check.birth and check.birth not in table.column_names:
                raise DictionaryError(f"{where} {check.rule}: {check.birth} is not a column")


def _check_foreign_keys(dictionary: Dictionary) -> None:
    for table in dictionary.tables.values():
        for key in table.foreign_keys:
            where = f"{dictionary.path}: table {table.name}, foreign key {', '.join(key.columns)}"
            if key.ref_table not in dictionary.tables:
                raise DictionaryError(f"{where}: unknown table {key.ref_table}")
            ref_names = dictionary.tables[key.ref_table].column_names
            for column in key.columns:
                if column not in table.column_names:
                    raise DictionaryError(f"{where}: {column} is not a column of {table.name}")
            for column in key.ref_columns:
                if column not in ref_names:
                    raise DictionaryError(f"{where}: {column} is not a column of {key.ref_table}")
            if len(key.columns) != len(key.ref_columns):
                raise DictionaryError(f"{where}: column counts differ")
