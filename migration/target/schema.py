"""Load a target schema from YAML, check it, and turn it into SQLAlchemy tables.

The YAML layout::

    name: mdph_reference
    version: "1.0"
    code_lists:
      SEXE: {"1": masculin, "2": féminin}
    tables:
      individu:
        description: ...
        primary_key: [id_individu]
        foreign_keys:
          - {columns: [id_individu], references: {table: individu, columns: [id_individu]}}
        indexes: [[nom_naissance, prenoms]]      # optional
        columns:
          - {name: id_individu, type: text, length: 32, nullable: false}
          - {name: sexe, type: text, length: 1, code_list: SEXE}

Column keys: name, type (text, integer, decimal, date, boolean, timestamp), length (text),
precision and scale (decimal, both required), nullable (default true), personal (default
false), identifier (an identifier kind of the data dictionaries, such as nir, so that a masked
value reads as masked), code_list, description. Codes are strings, so quote them ("1", not 1).

`data/target_schema.schema.json` describes the same layout as a JSON Schema, for editors and
for vendors checking their own schemas. The checks of `schema_checks.py` go further: foreign
keys must reference a primary key with columns of the same types, and must not form a cycle.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from migration.target.errors import TargetError
from migration.target.model import ForeignKey, TargetColumn, TargetSchema, TargetTable
from migration.target.product_tables import (
    AUTOINCREMENT_COLUMNS,
    PRODUCT_CODE_LISTS,
    PRODUCT_TABLES,
)
from migration.target.schema_checks import check_schema_data
from migration.target.sqltypes import sql_type
from migration.yaml_files import safe_load

__all__ = [
    "ForeignKey",
    "TargetColumn",
    "TargetSchema",
    "TargetTable",
    "build_metadata",
    "build_product_metadata",
    "dump_target_schema",
    "load_target_schema",
    "schema_from_dict",
    "schema_to_dict",
]

REFERENCE_SCHEMA = "mdph_reference.yaml"

NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


def load_target_schema(path: Path | None = None) -> TargetSchema:
    """Read and check a target schema YAML file.

    Args:
        path: the YAML file; None reads the bundled reference schema `mdph_reference`.

    Raises:
        TargetError: the file cannot be read, is not valid YAML, or breaks the layout described
            in this module. The message names the file and lists every problem with its table
            and column.
    """
    if path is None:
        source = resources.files("migration.target").joinpath("data").joinpath(REFERENCE_SCHEMA)
        label = str(source)
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise TargetError(f"cannot read the bundled target schema {label}: {exc}") from exc
    else:
        label = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise TargetError(f"target schema file not found: {label}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise TargetError(f"cannot read the target schema file {label}: {exc}") from exc

    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f", line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise TargetError(f"{label}{where}: invalid YAML: {problem}") from None

    return schema_from_dict(data, label)


def schema_from_dict(data: Any, label: str = "<target schema>") -> TargetSchema:
    """Build a TargetSchema from parsed YAML; `label` names the source in error messages.

    Raises:
        TargetError: listing every problem found.
    """
    schema, problems = check_schema_data(data)
    if problems:
        if len(problems) == 1:
            message = f"invalid target schema {label}: {problems[0]}"
        else:
            lines = "\n".join(f"  - {problem}" for problem in problems)
            message = f"invalid target schema {label}, {len(problems)} problems:\n{lines}"
        raise TargetError(message)
    return schema


def schema_to_dict(schema: TargetSchema) -> dict[str, Any]:
    """Return the YAML structure of `schema`, leaving out keys that hold their default."""
    tables: dict[str, Any] = {}
    for table in schema.tables.values():
        entry: dict[str, Any] = {}
        if table.description is not None:
            entry["description"] = table.description
        entry["primary_key"] = list(table.primary_key)
        if table.foreign_keys:
            entry["foreign_keys"] = [
                {
                    "columns": list(fk.columns),
                    "references": {"table": fk.ref_table, "columns": list(fk.ref_columns)},
                }
                for fk in table.foreign_keys
            ]
        if table.indexes:
            entry["indexes"] = [list(index) for index in table.indexes]
        entry["columns"] = [_column_to_dict(column) for column in table.columns]
        tables[table.name] = entry
    return {
        "name": schema.name,
        "version": schema.version,
        "code_lists": {name: dict(codes) for name, codes in schema.code_lists.items()},
        "tables": tables,
    }


def dump_target_schema(schema: TargetSchema, path: Path) -> None:
    """Write `schema` as YAML that `load_target_schema` reads back to an equal schema."""
    text = yaml.safe_dump(schema_to_dict(schema), allow_unicode=True, sort_keys=False)
    Path(path).write_text(text, encoding="utf-8")


def _column_to_dict(column: TargetColumn) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": column.name, "type": column.type}
    for key in ("length", "precision", "scale", "code_list", "description"):
        value = getattr(column, key)
        if value is not None:
            entry[key] = value
    if not column.nullable:
        entry["nullable"] = False
    if column.personal:
        entry["personal"] = True
    if column.identifier:
        entry["identifier"] = column.identifier
    return entry


def build_metadata(schema: TargetSchema) -> sa.MetaData:
    """Build the SQLAlchemy tables of `schema` and of the product tables.

    Every table has its primary key, foreign keys, NOT NULL columns and an index on each foreign
    key that does not start the primary key. Constraint names follow NAMING_CONVENTION, so
    errors can name them (pk_individu, fk_adresse_id_individu). On SQLite the tables are STRICT,
    and CHECK constraints enforce what PostgreSQL types enforce natively: text length
    (ck_<table>_<column>_length), valid ISO dates and booleans stored as 0 or 1. The code lists
    of the product tables are CHECK constraints on both databases (ck_<table>_<column>_code).
    """
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for name in schema.table_order():
        _add_table(metadata, schema.tables[name])
    _add_product_tables(metadata)
    return metadata


def build_product_metadata() -> sa.MetaData:
    """Build the SQLAlchemy tables of the product tables alone, as `build_metadata` does."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    _add_product_tables(metadata)
    return metadata


def _add_product_tables(metadata: sa.MetaData) -> None:
    for table in PRODUCT_TABLES.values():
        _add_table(metadata, table, PRODUCT_CODE_LISTS)


def _add_table(
    metadata: sa.MetaData, table: TargetTable, checked_code_lists: dict | None = None
) -> sa.Table:
    columns = []
    checks = []
    for column in table.columns:
        autoincrement = AUTOINCREMENT_COLUMNS.get(table.name) == column.name
        column_type = (
            sa.BigInteger().with_variant(sa.Integer(), "sqlite")
            if autoincrement
            else sql_type(column)
        )
        sql_column = sa.Column(
            column.name,
            column_type,
            nullable=column.nullable,
            autoincrement=autoincrement,
            comment=column.description,
        )
        columns.append(sql_column)
        checks.extend(_sqlite_checks(column, sql_column))
        if checked_code_lists and column.code_list in checked_code_lists:
            codes = sorted(checked_code_lists[column.code_list])
            checks.append(sa.CheckConstraint(sql_column.in_(codes), name=f"{column.name}_code"))

    constraints: list[sa.schema.SchemaItem] = [sa.PrimaryKeyConstraint(*table.primary_key)]
    for fk in table.foreign_keys:
        targets = [f"{fk.ref_table}.{name}" for name in fk.ref_columns]
        constraints.append(sa.ForeignKeyConstraint(fk.columns, targets))

    sql_table = sa.Table(
        table.name,
        metadata,
        *columns,
        *constraints,
        *checks,
        comment=table.description,
        sqlite_strict=True,
    )

    index_columns = [list(index) for index in table.indexes]
    for fk in table.foreign_keys:
        if list(fk.columns) != table.primary_key[: len(fk.columns)]:
            index_columns.append(list(fk.columns))
    seen: set[tuple[str, ...]] = set()
    for names in index_columns:
        if tuple(names) in seen:
            continue
        seen.add(tuple(names))
        sa.Index(None, *(sql_table.c[name] for name in names))
    return sql_table


def _sqlite_checks(column: TargetColumn, sql_column: sa.Column) -> list[sa.CheckConstraint]:
    if column.type == "text" and column.length is not None:
        expression = sa.func.length(sql_column) <= column.length
        name = f"{column.name}_length"
    elif column.type == "date":
        # date(x) alone returns '1964-02-30' unchanged; a '+0 days' shift normalizes it.
        expression = sa.func.date(sql_column, "+0 days") == sql_column
        name = f"{column.name}_date"
    elif column.type == "boolean":
        expression = sql_column.in_([0, 1])
        name = f"{column.name}_boolean"
    else:
        return []
    # `info` records the dialect for migration.target.compare, which reads back only the
    # constraints a database was given.
    check = sa.CheckConstraint(expression, name=name, info={"dialect": "sqlite"})
    return [check.ddl_if(dialect="sqlite")]
