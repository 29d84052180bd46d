"""Static checks of a mapping file against the source dictionary and the target schema.

Every problem is a MappingError carrying the file, line and column of the YAML node at fault,
with the closest known name when a name is unknown.
"""

from __future__ import annotations

from collections.abc import Iterator

from migration.dictionary.model import Dictionary
from migration.mapping import expressions as ex
from migration.mapping.errors import MappingError, MappingProblemsError, did_you_mean
from migration.mapping.inference import output_type
from migration.mapping.language import MappingFile, TargetMapping


def check_mapping(
    mapping: MappingFile,
    dictionary: Dictionary,
    schema,
    strict: bool = False,
    coverage: bool = True,
) -> list[MappingError]:
    """Return every problem of a mapping, or with strict raise them.

    With strict, a single problem is raised as it is, and several as one MappingProblemsError.
    With `coverage` false, source tables and columns that nothing maps or drops are not
    problems.
    """
    problems = _once_per_anchor(mapping, _problems(mapping, dictionary, schema))
    if not problems and coverage:
        problems = list(_coverage_problems(mapping, dictionary, schema))
    if strict and len(problems) == 1:
        raise problems[0]
    if strict and problems:
        raise MappingProblemsError(problems)
    return problems


def merge_key_warnings(mapping: MappingFile, dictionary: Dictionary, schema) -> list[str]:
    """Warn about each target whose surrogate key is built from no key of its source table.

    Several source rows can then give the same target key, and assembly merges them into one
    row that keeps the first non-null value of each column (rule mapping.merge_conflict). That
    is right when those rows describe one entity, and wrong when each row is a different one.
    Only a primary key filled with `surrogate` is checked: a key copied from a source column,
    such as a FINESS number, names the entity on purpose, and rows that share it are one. A
    source table without a primary or unique key in the dictionary is not checked either, nor
    is a target that does not fill every column of its primary key.
    """
    warnings = []
    for target in mapping.targets:
        if target.target not in schema.tables or target.source not in dictionary.tables:
            continue
        source = dictionary.tables[target.source]
        source_keys = [set(key) for key in (source.primary_key, *source.unique_keys) if key]
        target_key = list(schema.tables[target.target].primary_key)
        if not source_keys or any(name not in target.columns for name in target_key):
            continue
        if not any(isinstance(target.columns[name], ex.Surrogate) for name in target_key):
            continue
        used = set().union(*(target.columns[name].source_columns() for name in target_key))
        if any(key <= used for key in source_keys):
            continue
        built_from = ", ".join(sorted(used)) or "no source column"
        first = target.columns[target_key[0]]
        warnings.append(
            f"{mapping.path}:{first.line}:{first.column}: warning: the key "
            f"{', '.join(target_key)} of "
            f"{target.target} is built from {built_from}, which is not a key of "
            f"{target.source} ({', '.join(source.primary_key or source.unique_keys[0])}). Rows "
            f"of {target.source} that share it give one {target.target} row, with the first "
            "non-null value of each column. Build the key from a key of the source table "
            "unless these rows describe the same entity"
        )
    return warnings


def _once_per_anchor(mapping: MappingFile, problems) -> list[MappingError]:
    """Drop the repeats of a problem inside a reused anchor and add where it is reused.

    An alias (`*name`) gives the anchor's node itself, so a problem of that node is found once
    for the anchor and once for each alias, at the anchor's line and column.
    """
    unique = []
    seen = set()
    for problem in problems:
        key = (problem.line, problem.column, problem.detail)
        if key in seen:
            continue
        seen.add(key)
        anchor = mapping.anchor_at(problem.line, problem.column)
        if anchor is not None:
            lines = ", ".join(str(line) for line in anchor.alias_lines)
            plural = "s" if len(anchor.alias_lines) > 1 else ""
            problem = MappingError(
                problem.path,
                problem.line,
                problem.column,
                f"{problem.detail} (in anchor &{anchor.name} at line {anchor.start[0]}, "
                f"reused with *{anchor.name} at line{plural} {lines})",
            )
        unique.append(problem)
    return unique


def _coverage_problems(mapping: MappingFile, dictionary: Dictionary, schema):
    from migration.mapping.coverage import mapping_coverage

    coverage = mapping_coverage(mapping, dictionary, schema)
    # An unmapped table is reported at dropped_tables, where it can be listed, else at targets.
    line, column = mapping.position("dropped_tables")
    if line is None:
        line, column = mapping.position("targets")
    for name in coverage["unmapped_tables"]:
        yield MappingError(
            mapping.path,
            line,
            column,
            f"source table {name} feeds no target; map it or list it under dropped_tables "
            "with a reason",
        )
    for name, table in coverage["source_tables"].items():
        if name in coverage["unmapped_tables"] or not table["unused"]:
            continue
        # A table with an unused column feeds a target, so the column is reported at the first one.
        first_target = next(target for target in mapping.targets if target.source == name)
        for column_name in table["unused"]:
            yield MappingError(
                mapping.path,
                first_target.line,
                1,
                f"source column {name}.{column_name} is neither mapped nor listed under "
                "dropped_columns with a reason",
            )


def _problems(mapping: MappingFile, dictionary: Dictionary, schema) -> Iterator[MappingError]:
    path = mapping.path
    for target in mapping.targets:
        if target.target not in schema.tables:
            yield MappingError(
                path,
                *target.target_position,
                f"unknown target table {target.target!r}"
                + did_you_mean(target.target, schema.tables),
            )
            continue
        if target.source not in dictionary.tables:
            yield MappingError(
                path,
                *target.source_position,
                f"unknown source table {target.source!r} in the {dictionary.application} "
                f"dictionary{did_you_mean(target.source, dictionary.tables)}",
            )
            continue
        yield from _check_target(mapping, target, dictionary, schema)
    for section in ("dropped_tables", "dropped_columns"):
        for table_name in getattr(mapping, section):
            if table_name not in dictionary.tables:
                yield MappingError(
                    path,
                    *mapping.position(section, table_name),
                    f"{section}: unknown source table {table_name!r}"
                    + did_you_mean(table_name, dictionary.tables),
                )
    for table_name, columns in mapping.dropped_columns.items():
        if table_name not in dictionary.tables:
            continue
        for column in columns:
            if column not in dictionary.tables[table_name].column_names:
                yield MappingError(
                    path,
                    *mapping.position("dropped_columns", table_name, column),
                    f"dropped_columns: {table_name} has no column {column!r}"
                    + did_you_mean(column, dictionary.tables[table_name].column_names),
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
                + did_you_mean(name, target_columns),
            )
        for reference in _column_refs(expression):
            if reference.name not in available:
                yield MappingError(
                    path,
                    reference.line,
                    reference.column,
                    f"source table {target.source} has no column {reference.name!r}"
                    + did_you_mean(reference.name, available),
                )
    if target.filter is not None:
        for reference in _condition_refs(target.filter):
            if reference.name not in available:
                yield MappingError(
                    path,
                    reference.line,
                    reference.column,
                    f"filter: source table {target.source} has no column {reference.name!r}"
                    + did_you_mean(reference.name, available),
                )
    for name, expression in target.columns.items():
        if name in target_columns:
            yield from _check_types(mapping, target, name, expression, dictionary, schema)
        yield from _check_lookups(mapping, target, expression, dictionary, schema)
    for column in table.columns:
        if not column.nullable and column.name not in target.columns:
            yield MappingError(
                path,
                target.line,
                1,
                f"target {target.target}: required column {column.name!r} is not mapped",
            )


def _check_types(mapping, target, name, expression, dictionary, schema):
    """Type mismatches, and code translations that miss source or target codes."""
    path = mapping.path
    column = schema.tables[target.target].column(name)
    produced = output_type(expression, dictionary, target.source)
    if produced is not None and produced != column.type:
        hint = {
            ("date", "text"): "; use format_date to write it as text",
            ("text", "date"): '; use to_date with its format, e.g. format: "%d/%m/%Y"',
            ("text", "integer"): "; use to_integer",
            ("text", "decimal"): "; use to_decimal",
        }.get((produced, column.type), "")
        yield MappingError(
            path,
            expression.line,
            expression.column,
            f"target {target.target}.{name} is {column.type} but the expression gives "
            f"{produced}{hint}",
        )
    for code_map in _code_maps(expression):
        yield from _check_code_map(mapping, target, name, code_map, dictionary, schema)


def _check_code_map(mapping, target, name, code_map: ex.CodeMap, dictionary, schema):
    path = mapping.path
    argument = code_map.argument
    if isinstance(argument, ex.ColumnRef):
        table_name, _, column_name = argument.name.rpartition(".")
        table = dictionary.tables.get(table_name or target.source)
        if table is not None and column_name in table.column_names:
            source_column = table.column(column_name)
            expected = set(dictionary.codes(source_column))
            kept = _codes_kept_by_filter(target.filter, argument.name)
            if kept is not None:
                expected &= kept
            missing = sorted(expected - set(code_map.table))
            if missing and code_map.unknown == "reject":
                yield MappingError(
                    path,
                    code_map.line,
                    code_map.column,
                    f"code map of {argument.name} does not translate {', '.join(missing)} "
                    f"from code list {source_column.code_list}; add them or set unknown: "
                    "default or keep",
                )
    target_column = schema.tables[target.target].column(name)
    if target_column.code_list and target_column.code_list in schema.code_lists:
        allowed = set(schema.code_lists[target_column.code_list])
        produced = {code for code in code_map.table.values() if code is not None}
        if code_map.default is not None:
            produced.add(code_map.default)
        outside = sorted(produced - allowed)
        if outside:
            yield MappingError(
                path,
                code_map.line,
                code_map.column,
                f"{target.target}.{name} takes codes of {target_column.code_list}; "
                f"{', '.join(outside)} is not one of them",
            )


def _codes_kept_by_filter(condition: ex.Condition | None, column: str) -> set[str] | None:
    """Return the codes of `column` that a filter of in, eq or and lets through, or None."""
    if condition is None:
        return None
    if condition.operator == "in" and _is_column(condition.arguments[0], column):
        return set(condition.arguments[1])
    if condition.operator == "eq":
        left, right = condition.arguments
        if _is_column(left, column) and isinstance(right, ex.Const):
            return {right.value}
    if condition.operator == "and":
        kept = None
        for part in condition.arguments:
            codes = _codes_kept_by_filter(part, column)
            if codes is not None:
                kept = codes if kept is None else kept & codes
        return kept
    return None


def _is_column(expression, column: str) -> bool:
    return isinstance(expression, ex.ColumnRef) and expression.name == column


def _check_lookups(mapping, target, expression, dictionary, schema):
    path = mapping.path
    earlier = set()
    for other in mapping.targets:
        if other is target:
            break
        earlier.add(other.target)
    for lookup in _lookups(expression):
        if lookup.table.startswith("target:"):
            name = lookup.table.removeprefix("target:")
            if name not in earlier:
                yield MappingError(
                    path,
                    lookup.line,
                    lookup.column,
                    f"lookup: target {name!r} must be mapped earlier in this file",
                )
                continue
            columns = schema.tables[name].column_names
        elif lookup.table in dictionary.tables:
            columns = dictionary.tables[lookup.table].column_names
        else:
            yield MappingError(
                path,
                lookup.line,
                lookup.column,
                f"lookup: unknown source table {lookup.table!r}"
                + did_you_mean(lookup.table, dictionary.tables),
            )
            continue
        for column in (lookup.match, lookup.value):
            if column not in columns:
                yield MappingError(
                    path,
                    lookup.line,
                    lookup.column,
                    f"lookup: {lookup.table} has no column {column!r}"
                    + did_you_mean(column, columns),
                )


def _code_maps(expression) -> Iterator[ex.CodeMap]:
    return (node for node in ex.walk(expression) if isinstance(node, ex.CodeMap))


def _lookups(expression) -> Iterator[ex.Lookup]:
    return (node for node in ex.walk(expression) if isinstance(node, ex.Lookup))


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
