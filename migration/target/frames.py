"""Turn the frames given to the loader into rows of checked Python values.

Each value becomes None (for None, pandas NA, NaT or NaN) or the Python type of its column:
str, int, decimal.Decimal, datetime.date, bool or an aware datetime.datetime (given as such or
as ISO 8601 text with a UTC offset). A value of
another type, a decimal that does not fit the declared precision and scale, or a code outside
the column's code list raises TargetError before the database is touched. NOT NULL, lengths,
keys and foreign keys are left to the database, which checks them inside the load transaction.
"""

from __future__ import annotations

import datetime as dt
import difflib
import numbers
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from types import NoneType
from typing import Any

import numpy as np
import pandas as pd

from migration.target.errors import TargetError
from migration.target.model import TargetColumn, TargetTable
from migration.target.reasons import target_value_reason


class RowView(Sequence):
    """The rows of a prepared table as tuples, built from its columns when asked for."""

    def __init__(self, values: list[list], count: int) -> None:
        self._values = values
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, position):
        if isinstance(position, slice):
            return list(zip(*(column[position] for column in self._values), strict=True))
        if position < -self._count or position >= self._count:
            raise IndexError(position)
        return tuple(column[position] for column in self._values)

    def __iter__(self) -> Iterator[tuple]:
        return zip(*self._values, strict=True)


class PreparedTable:
    """The rows to write into one table, held column by column.

    `columns` gives the order of the values; `values` holds one list per column. A list of
    tuples would cost a tuple per row on top of the values, and the COPY and the digests
    work column by column anyway. `rows` gives the same rows as tuples, for the paths that
    go row by row (SQLite inserts, updates, error messages).
    """

    def __init__(
        self,
        table: TargetTable,
        columns: list[str],
        rows: Iterable[tuple] = (),
        *,
        values: list[list] | None = None,
    ) -> None:
        self.table = table
        self.columns = columns
        if values is None:
            rows = list(rows)
            values = [list(column) for column in zip(*rows, strict=True)] if rows else []
            values = values or [[] for _ in columns]
        self.values = values
        self.count = len(values[0]) if values else 0

    @property
    def rows(self) -> RowView:
        return RowView(self.values, self.count)

    def column_values(self, indexes: Sequence[int], positions: Sequence[int]) -> list[list]:
        """Return the values at `positions` of the columns at `indexes`, column by column."""
        if isinstance(positions, range) and positions.step == 1:
            return [self.values[i][positions.start : positions.stop] for i in indexes]
        return [[self.values[i][p] for p in positions] for i in indexes]

    def key_of(self, position: int) -> str | None:
        """Return the primary key of a row as text, or None when a key column is personal."""
        table = self.table
        if any(table.column(name).personal for name in table.primary_key):
            return None
        if not all(name in self.columns for name in table.primary_key):
            return None
        row = self.rows[position]
        parts = [f"{name}={row[self.columns.index(name)]!r}" for name in table.primary_key]
        return ", ".join(parts)


class _InvalidValue(Exception):
    """A value that cannot be written to its column; the reason never quotes the value."""


def prepare_frame(
    table: TargetTable,
    frame: pd.DataFrame,
    code_lists: dict[str, dict[str, str]],
    *,
    generated: Iterable[str] = (),
    label: str | None = None,
    first_row: int = 0,
) -> PreparedTable:
    """Check a frame against its table and convert it to rows.

    Args:
        table: the table the frame is written to.
        frame: one column per table column, in any order. Missing nullable columns become NULL.
        code_lists: the schema's code lists, for columns that declare one.
        generated: columns the database fills (an autoincrement key); the frame must not
            carry them.
        label: how error messages name the frame; defaults to "the <table> frame".
        first_row: for a frame that is one part of a larger one, the number of rows of the
            parts before it, so that an error numbers its row in the larger frame.

    Raises:
        TargetError: unknown, generated or missing columns, a value of the wrong type, a
            decimal that does not fit its column, or a code outside the column's code list.
    """
    label = label or f"the {table.name} frame"
    generated = set(generated)
    writable = [column for column in table.columns if column.name not in generated]
    carried = sorted(str(name) for name in frame.columns if name in generated)
    if carried:
        raise TargetError(
            f"{label} carries the columns {', '.join(carried)}, which the database assigns; "
            "drop them from the frame"
        )
    _check_frame_columns(table, frame, writable, label)

    names = [column.name for column in writable]
    count = len(frame)
    values_by_column = []
    for column in writable:
        if column.name in frame.columns:
            values = _convert_column(
                table, column, frame[column.name], code_lists, label, first_row
            )
        else:
            values = [None] * count
        values_by_column.append(values)
    return PreparedTable(table, names, values=values_by_column)


def prepare_record(
    table: TargetTable, record: dict[str, Any], code_lists: dict[str, dict[str, str]], label: str
) -> PreparedTable:
    """Check a single row given as a dict (the run row) and convert it like a frame."""
    frame = pd.DataFrame([dict(record)], dtype=object)
    return prepare_frame(table, frame, code_lists, label=label)


def _check_frame_columns(table, frame, writable: list[TargetColumn], label: str) -> None:
    labels = list(frame.columns)
    duplicated = sorted({str(name) for name in labels if labels.count(name) > 1})
    if duplicated:
        raise TargetError(f"{label} has duplicated columns {duplicated}; keep one of each")

    known = [column.name for column in writable]
    unknown = [str(name) for name in labels if name not in known]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1)
            hints.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
        raise TargetError(
            f"{label} has columns that table {table.name} does not have: {', '.join(hints)}; "
            f"its columns are {', '.join(known)}"
        )

    if len(frame) == 0:
        return
    missing = [
        column.name for column in writable if not column.nullable and column.name not in labels
    ]
    if missing:
        raise TargetError(
            f"{label} lacks the NOT NULL columns {', '.join(missing)} of table {table.name}"
        )


def _convert_column(
    table: TargetTable,
    column: TargetColumn,
    series: pd.Series,
    code_lists: dict[str, dict[str, str]],
    label: str,
    first_row: int = 0,
) -> list[Any]:
    convert = _CONVERTERS[column.type]
    codes = code_lists.get(column.code_list) if column.code_list else None
    nulls = series.isna().tolist()
    values = series.tolist()

    fast = _FAST_CONVERTERS.get(column.type)
    if fast is not None:
        present = values
        if any(nulls) and not _nulls_are_none(values, nulls):
            present = [
                None if is_null else value for value, is_null in zip(values, nulls, strict=True)
            ]
        converted = fast(present)
        if converted is not None and (codes is None or _all_codes(converted, codes)):
            return converted

    # The slow path converts value by value, to name the first row with a problem.
    converted = []
    first_problem: tuple[int, str] | None = None
    problem_count = 0
    for position, (value, is_null) in enumerate(zip(values, nulls, strict=True)):
        if is_null:
            converted.append(None)
            continue
        try:
            result = convert(value, column)
            if codes is not None and result not in codes:
                raise _InvalidValue(_unknown_code_reason(result, column))
        except _InvalidValue as exc:
            problem_count += 1
            if first_problem is None:
                first_problem = (position, str(exc))
            converted.append(None)
            continue
        converted.append(result)

    if first_problem is not None:
        position, reason = first_problem
        others = ""
        if problem_count > 1:
            others = f" ({problem_count - 1} more rows have a problem in this column)"
        raise TargetError(
            f"{label}, column {column.name}, row {first_row + position + 1}: {reason}{others}; "
            f"fix the mapping that produces table {table.name}",
            table=table.name,
        )
    return converted


def invalid_values(
    table: TargetTable, frame: pd.DataFrame, code_lists: dict[str, dict[str, str]]
) -> list[tuple[int, str, str]]:
    """List the values of a frame that its table would refuse, without raising.

    Checks what `prepare_frame` checks (Python type, NUL characters, integer range, decimal
    precision and scale, code lists) and the text lengths the database enforces, so a caller
    can reject the source rows behind them before loading. NULL in a NOT NULL column is left
    out: the mapping rejects it with mapping.required. Columns of the expected type are
    screened in bulk first, so a large frame costs a few vectorised passes per column.

    Returns:
        (row position, column, reason) for each invalid value, by column then row. The reason
        never quotes the value of a personal column.
    """
    problems: list[tuple[int, str, str]] = []
    for column in table.columns:
        if column.name not in frame.columns:
            continue
        series = frame[column.name]
        suspects = _suspect_positions(series, column, code_lists)
        if suspects is None:
            values = series.tolist()
            suspects = [i for i, is_null in enumerate(series.isna().tolist()) if not is_null]
        else:
            values = series.iloc[suspects].tolist() if len(suspects) else []
            values = dict(zip(suspects, values, strict=True))
        # Values repeat (codes, dates, keys of parents), so each distinct one is checked once.
        # Decimals are checked one by one: 1.5 and 1.50 are equal but differ in scale.
        reasons: dict = {}
        for position in suspects:
            value = values[position]
            if column.type == "decimal" or not isinstance(value, Hashable):
                reason = _refusal(value, column, code_lists)
            else:
                key = (type(value), value)
                if key not in reasons:
                    reasons[key] = _refusal(value, column, code_lists)
                reason = reasons[key]
            if reason is not None:
                problems.append((position, column.name, reason))
    return problems


def _suspect_positions(
    series: pd.Series, column: TargetColumn, code_lists: dict
) -> list[int] | None:
    """Positions of the values that may be refused, found with vectorised tests, or None.

    A text column of str values and an integer column of numbers are screened in bulk: only
    the values with a NUL character, too long, outside the code list or outside the integer
    range are left for the value-by-value check. Other columns return None: every value is
    checked.
    """
    present = series.notna()
    if column.type == "text":
        values = series[present].tolist()
        if not set(map(type, values)) <= {str}:
            return None
        # Most columns have no suspect value at all: whole-column tests say so in one pass
        # each, and only a column that has one is tested value by value.
        length = column.length
        codes = code_lists.get(column.code_list) if column.code_list else None
        unknown = set(values) - set(codes) if codes is not None else set()
        has_nul = "\x00" in "".join(values)
        too_long = length is not None and max(map(len, values), default=0) > length
        if not (unknown or has_nul or too_long):
            return []
        length = length if too_long else None
        positions = np.flatnonzero(present.to_numpy()).tolist()
        return [
            position
            for position, value in zip(positions, values, strict=True)
            if "\x00" in value or (length is not None and len(value) > length) or value in unknown
        ]
    if column.type == "integer" and series.dtype.kind in "iuf" and series.dtype != bool:
        numbers_ = series.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            suspect = (numbers_ != np.floor(numbers_)) | (numbers_ < -(2**31)) | (numbers_ >= 2**31)
        return np.flatnonzero(suspect & present.to_numpy()).tolist()
    exact = _EXACT_TYPES.get(column.type)
    if exact is not None and set(map(type, series[present].tolist())) <= {exact}:
        return []
    return None


# A bool is an int and a datetime is a date in Python, so the screens compare exact types.
_EXACT_TYPES = {"date": dt.date, "boolean": bool}


def _refusal(value: Any, column: TargetColumn, code_lists: dict) -> str | None:
    """Return why the database would refuse one value of a column, or None."""
    codes = code_lists.get(column.code_list) if column.code_list else None
    try:
        result = _CONVERTERS[column.type](value, column)
        if codes is not None and result not in codes:
            raise _InvalidValue(_unknown_code_reason(result, column))
        if column.length is not None and len(result) > column.length:
            raise _InvalidValue(target_value_reason("text_too_long", length=column.length))
    except _InvalidValue as exc:
        return str(exc)
    return None


def _unknown_code_reason(code: str, column: TargetColumn) -> str:
    if column.personal:
        return target_value_reason("personal_not_a_code", code_list=column.code_list)
    return target_value_reason("not_a_code", code=repr(code), code_list=column.code_list)


def _type_name(value: Any) -> str:
    return type(value).__name__


def _wrong_type(expected: str, value: Any) -> _InvalidValue:
    return _InvalidValue(
        target_value_reason("wrong_type", expected=expected, actual=_type_name(value))
    )


def _to_text(value: Any, column: TargetColumn) -> str:
    if not isinstance(value, str):
        raise _wrong_type("str", value)
    if "\x00" in value:
        raise _InvalidValue(target_value_reason("text_with_nul"))
    return str(value)


def _to_integer(value: Any, column: TargetColumn) -> int:
    if isinstance(value, bool | np.bool_):
        raise _InvalidValue(target_value_reason("wrong_type", expected="int", actual="bool"))
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif isinstance(value, float) and value.is_integer():
        # pandas turns an integer column holding NaN into floats.
        number = int(value)
    else:
        raise _wrong_type("int", value)
    # INTEGER is 32 bits on PostgreSQL and 64 bits on SQLite; the narrower range applies to both.
    if not -(2**31) <= number < 2**31:
        raise _InvalidValue(target_value_reason("integer_out_of_range"))
    return number


def _to_decimal(value: Any, column: TargetColumn) -> Decimal:
    if isinstance(value, float):
        raise _InvalidValue(target_value_reason("float_for_decimal"))
    if isinstance(value, bool) or not isinstance(value, Decimal | numbers.Integral):
        raise _wrong_type("decimal.Decimal", value)
    number = Decimal(int(value)) if isinstance(value, numbers.Integral) else value
    if not number.is_finite():
        raise _InvalidValue(target_value_reason("decimal_not_finite"))
    if column.scale is None:
        return number

    # Rounding would change the amount, so a value with too many decimals is an error.
    try:
        quantized = number.quantize(Decimal(1).scaleb(-column.scale))
    except InvalidOperation:
        quantized = None
    if quantized is None or quantized != number:
        raise _InvalidValue(target_value_reason("decimal_scale", scale=column.scale))
    if column.precision is not None and len(quantized.as_tuple().digits) > column.precision:
        raise _InvalidValue(
            target_value_reason("decimal_precision", precision=column.precision, scale=column.scale)
        )
    return quantized


def _to_date(value: Any, column: TargetColumn) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None or value.time() != dt.time(0):
            raise _InvalidValue(target_value_reason("datetime_for_date"))
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise _wrong_type("datetime.date", value)


def _to_boolean(value: Any, column: TargetColumn) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise _wrong_type("bool", value)


def _to_timestamp(value: Any, column: TargetColumn) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _InvalidValue(target_value_reason("timestamp_not_iso")) from None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, dt.datetime):
        raise _wrong_type("datetime.datetime", value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise _InvalidValue(target_value_reason("timestamp_without_zone"))
    return value


def _nulls_are_none(values: list[Any], nulls: list[bool]) -> bool:
    """Return whether every missing value is None already, as in assembled frames.

    Counting is one C call each, where replacing NaN and the like is a Python loop.
    """
    return values.count(None) == sum(nulls)


def _all_codes(values: list[Any], codes: dict[str, str]) -> bool:
    return {value for value in values if value is not None} <= codes.keys()


# Fast paths: check a whole column at once and return it unchanged, or None when some value
# needs the per-value converter (to be converted, or to be reported). A bool is an int and a
# datetime is a date in Python, so the checks compare exact types.
def _fast_text(values: list[Any]) -> list[Any] | None:
    if not set(map(type, values)) <= {str, NoneType}:
        return None
    if "\x00" in "".join(filter(None, values)):
        return None
    return values


def _fast_integer(values: list[Any]) -> list[Any] | None:
    if not set(map(type, values)) <= {int, NoneType}:
        return None
    present = [value for value in values if value is not None]
    if present and not (-(2**31) <= min(present) and max(present) < 2**31):
        return None
    return values


def _fast_exact_type(kind: type) -> Callable[[list[Any]], list[Any] | None]:
    def check(values: list[Any]) -> list[Any] | None:
        if set(map(type, values)) <= {kind, NoneType}:
            return values
        return None

    return check


_FAST_CONVERTERS: dict[str, Callable[[list[Any]], list[Any] | None]] = {
    "text": _fast_text,
    "integer": _fast_integer,
    "date": _fast_exact_type(dt.date),
    "boolean": _fast_exact_type(bool),
}


_CONVERTERS: dict[str, Callable[[Any, TargetColumn], Any]] = {
    "text": _to_text,
    "integer": _to_integer,
    "decimal": _to_decimal,
    "date": _to_date,
    "boolean": _to_boolean,
    "timestamp": _to_timestamp,
}
