"""Render rows of Python values as PostgreSQL COPY CSV, and digest rows to detect changes.

The rendering is column by column, one list comprehension per column, because a function call
per value made it the slowest step of a PostgreSQL load. NULL is an unquoted empty field. A
string is quoted when it is empty or holds a quote, a comma, a line end or a backslash, so the
empty string, "NULL", "\\N" and "\\." survive; other strings are written as they are. The
same text, with timestamps in UTC, is what `row_digests` hashes, so a row read back from either
database has the digest of the row that was written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any

Renderer = Callable[[Sequence[Any]], list[str]]


_QUOTED = ('"', ",", "\n", "\r", "\\")
"""Characters that make a text value quoted: the CSV quote, delimiter and line ends, and the
backslash of PostgreSQL's end-of-data marker."""
_NEEDS_QUOTES = re.compile("[" + re.escape("".join(_QUOTED)) + "]")


def _text(values: Sequence[Any]) -> list[str]:
    # Each value's rendering depends on that value alone, so a row has the same digest
    # whichever rows it is rendered with. Most columns (keys, codes) hold no value that needs
    # quotes; a few scans of the joined column say so without a Python test per value.
    present = [value for value in values if value is not None] if None in values else values
    joined = "\x00".join(present)
    if "" in present or any(character in joined for character in _QUOTED):
        return ["" if value is None else _text_field(value) for value in values]
    if len(present) == len(values):
        return list(values)
    return ["" if value is None else value for value in values]


def _text_field(value: str) -> str:
    if value and not _NEEDS_QUOTES.search(value):
        return value
    return '"' + value.replace('"', '""') + '"'


def _plain(values: Sequence[Any]) -> list[str]:
    return ["" if value is None else str(value) for value in values]


def _decimal(values: Sequence[Any]) -> list[str]:
    return ["" if value is None else format(value, "f") for value in values]


def _date(values: Sequence[Any]) -> list[str]:
    return ["" if value is None else value.isoformat() for value in values]


def _boolean(values: Sequence[Any]) -> list[str]:
    return ["" if value is None else ("true" if value else "false") for value in values]


def _timestamp(values: Sequence[Any]) -> list[str]:
    return ["" if value is None else value.astimezone(dt.UTC).isoformat() for value in values]


RENDERERS: dict[str, Renderer] = {
    "text": _text,
    "integer": _plain,
    "decimal": _decimal,
    "date": _date,
    "boolean": _boolean,
    "timestamp": _timestamp,
}
"""Column type of a target schema -> function rendering a column of values as CSV fields."""


def csv_lines(rows: Sequence[tuple], renderers: Sequence[Renderer]) -> list[str]:
    """Render rows (tuples in the order of `renderers`) as CSV lines without line ends.

    A text value may contain line breaks, so a line can span several physical lines.
    """
    if not rows:
        return []
    return column_csv_lines(list(zip(*rows, strict=True)), renderers)


def column_csv_lines(columns: Sequence[Sequence[Any]], renderers: Sequence[Renderer]) -> list[str]:
    """Render rows given column by column (one sequence per renderer) as CSV lines."""
    if not columns or not len(columns[0]):
        return []
    rendered = [render(values) for render, values in zip(renderers, columns, strict=True)]
    return [",".join(fields) for fields in zip(*rendered, strict=True)]


def csv_text(rows: Sequence[tuple], renderers: Sequence[Renderer]) -> str:
    """Render rows as the body of a COPY ... FROM STDIN WITH (FORMAT csv)."""
    lines = csv_lines(rows, renderers)
    if not lines:
        return ""
    return "\n".join(lines) + "\n"


# Bytes of the digest of one row.
DIGEST_SIZE = 16


def row_digests(rows: Sequence[tuple], renderers: Sequence[Renderer]) -> list[bytes]:
    """Return a DIGEST_SIZE-byte BLAKE2b digest of each row's CSV rendering.

    Two rows with the same primary key have the same digest exactly when their other columns
    hold equal values, so comparing digests finds the changed rows without keeping old rows.
    """
    return _digests(csv_lines(rows, renderers))


def column_row_digests(
    columns: Sequence[Sequence[Any]], renderers: Sequence[Renderer]
) -> list[bytes]:
    """Return `row_digests` of rows given column by column."""
    return _digests(column_csv_lines(columns, renderers))


def _digests(lines: list[str]) -> list[bytes]:
    return [
        hashlib.blake2b(line.encode("utf-8"), digest_size=DIGEST_SIZE).digest() for line in lines
    ]


def physical_line_ends(
    lines: Sequence[str], *, first_line: int = 0, starts_copy: bool = True
) -> list[int]:
    """Return, for each CSV line of a COPY, the line number PostgreSQL gives its errors.

    PostgreSQL (copyfromparse.c, CopyReadLineText, checked on 15) counts a line break inside a
    quoted field only if it matches the line end of the data, which it learns at the first
    unquoted line end: inside the first row it counts CR characters, afterwards LF characters
    (the line end written here). For lines that continue a COPY, `first_line` is the physical
    line the earlier lines end on and `starts_copy` is False.
    """
    ends = []
    line = first_line
    for number, text in enumerate(lines):
        line += text.count("\r" if number == 0 and starts_copy else "\n") + 1
        ends.append(line)
    return ends


def physical_line_count(text: str, first_row: str | None) -> int:
    """Return the physical lines PostgreSQL counts in `text`, CSV lines each ended by LF.

    `first_row` is the first CSV line of the COPY when `text` starts it, else None.
    """
    count = text.count("\n")
    if first_row is not None:
        count += first_row.count("\r") - first_row.count("\n")
    return count
