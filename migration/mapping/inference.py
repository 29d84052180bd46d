"""The type each mapping expression produces, for the static checks of `mapping check`.

Source columns have the type their dictionary declares (text and code columns are text);
every text function gives text. `None` means the type is not known before running (a
lookup, a constant null).
"""

from __future__ import annotations

from migration.dictionary.model import Dictionary
from migration.mapping import expressions as ex

SOURCE_TYPES = {
    "text": "text",
    "code": "text",
    "integer": "integer",
    "decimal": "decimal",
    "date": "date",
}
CONVERSION_TYPES = {
    "to_text": "text",
    "to_integer": "integer",
    "to_decimal": "decimal",
    "to_date": "date",
    "format_date": "text",
}


def output_type(expression: ex.Expr, dictionary: Dictionary, source: str) -> str | None:
    """Return the type an expression produces: text, integer, decimal, date, or None."""
    if isinstance(expression, ex.ColumnRef):
        table, _, column = expression.name.rpartition(".")
        table = table or source
        try:
            return SOURCE_TYPES[dictionary.tables[table].column(column).type]
        except KeyError:
            return None
    if isinstance(expression, ex.Const):
        return None if expression.value is None else "text"
    if isinstance(expression, ex.Convert):
        return CONVERSION_TYPES[expression.kind]
    if isinstance(expression, ex.Coalesce):
        return _common([output_type(a, dictionary, source) for a in expression.arguments])
    if isinstance(expression, ex.When):
        branches = [value for _, value in expression.branches]
        if expression.otherwise is not None:
            branches.append(expression.otherwise)
        return _common([output_type(b, dictionary, source) for b in branches])
    if isinstance(expression, ex.Lookup):
        return None
    return "text"


def _common(types: list[str | None]) -> str | None:
    known = {kind for kind in types if kind is not None}
    return known.pop() if len(known) == 1 else None
