"""Static checks of a mapping file against the source dictionary and the target schema.

Every problem is a MappingError carrying the file, line and column of the YAML node at fault,
with the closest known name when a name is unknown.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from migration.dictionary.model import Dictionary
from migration.mapping import expressions as ex
from migration.mapping.errors import MappingError
from migration.mapping.language import MappingFile, TargetMapping


def check_mapping(
    mapping: MappingFile, dictionary: Dictionary, schema, strict: bool = False
) -> list[MappingError]:
    """Return every problem of a mapping; with strict, raise the first one instead."""
    problems = list(_problems(mapping, dictionary, schema))
    if strict and problems:
        raise problems[0]
    return problems


def _did_you_mean(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _problems(mapping: MappingFile, dictionary: Dictionary, schema) -> Iterator[MappingError]:
    path = mapping.path
    for target in mapping.targets:
        if target.target not in schema.tables:
            yield MappingError(
                path,
                target.line,
                1,
                f"unknown target table {target.target!r}"
                + _did_you_mean(target.target, schema.tables),
            )
            continue
        if target.source not in dictionary.tables:
            yield MappingError(
                path,
                target.line,
                1,
                f"unknown source table {target.source!r} in the {dictionary.application} "
                f"dictionary{_did_you_mean(target.source, dictionary.tables)}",
            )
            continue
        yield from _check_target(mapping, target, dictionary, schema)
    for table_name in mapping.dropped_tables:
        if table_name not in dictionary.tables:
            yield MappingError(
                path, None, None, f"dropped_tables: unknown source table {table_name!r}"
            )
    for table_name, columns in mapping.dropped_columns.items():
        if table_name not in dictionary.tables:
            yield MappingError(
                path, None, None, f"dropped_columns: unknown source table {table_name!r}"
            )
            continue
        for column in columns:
            if column not in dictionary.tables[table_name].column_names:
                yield MappingError(
                    path,
                    None,
                    None,
                    f"dropped_columns: {table_name} has no column {column!r}"
                    + _did_you_mean(column, dictionary.tables[table_name].column_names),
                )


def _check_target(mapping, target: TargetMapping, dictionary: Dictionary, schema):
    path = mapping.path
    table = schema.tables[target.target]
    available = set(dictionary.tables[target.source].column_names)
    for join in target.joins:
        if join.table not in dictionary.tables:
            yield MappingError(path, target.line, 1, f"unknown join table {join.table!r}")
            continue
        available |= {f"{join.table}.{name}" for name in dictionary.tables[join.table].column_names}
    target_columns = {column.name: column for column in table.columns}
    for name, expression in target.columns.items():
        if name not in target_columns:
            yield MappingError(
                path,
                expression.line,
                expression.column,
                f"target table {target.target} has no column {name!r}"
                + _did_you_mean(name, target_columns),
            )
        for reference in _column_refs(expression):
            if reference.name not in available:
                yield MappingError(
                    path,
                    reference.line,
                    reference.column,
                    f"source table {target.source} has no column {reference.name!r}"
                    + _did_you_mean(reference.name, available),
                )
    if target.filter is not None:
        for reference in _condition_refs(target.filter):
            if reference.name not in available:
                yield MappingError(
                    path,
                    reference.line,
                    reference.column,
                    f"filter: source table {target.source} has no column {reference.name!r}"
                    + _did_you_mean(reference.name, available),
                )
    for column in table.columns:
        if not column.nullable and column.name not in target.columns:
            yield MappingError(
                path,
                target.line,
                1,
                f"target {target.target}: required column {column.name!r} is not mapped",
            )


def _column_refs(expression) -> Iterator[ex.ColumnRef]:
    if isinstance(expression, ex.ColumnRef):
        yield expression
        return
    for value in vars(expression).values():
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, tuple):
                for part in item:
                    yield from _nested_refs(part)
            else:
                yield from _nested_refs(item)


def _nested_refs(item) -> Iterator[ex.ColumnRef]:
    if isinstance(item, ex.Expr):
        yield from _column_refs(item)
    elif isinstance(item, ex.Condition):
        yield from _condition_refs(item)


def _condition_refs(condition: ex.Condition) -> Iterator[ex.ColumnRef]:
    for argument in condition.arguments:
        yield from _nested_refs(argument)
