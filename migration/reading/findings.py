"""Findings: one record per problem found in a source row, shared by every step.

A finding names the table, source file, line, column, rule id and severity, and keeps the raw
value. Reports mask the value when the column holds personal data; the rejects table, which
lives in the MDPH's protected database, keeps it.

The findings of `DETAIL_RULES` have no single value to keep, so their value is an English detail
built from a template of `FINDING_DETAILS` ("9 fields, 16 expected"). The log and resume.json
keep it in English. The report finds its template again and shows the phrase of the same code
in its language.
A changed template therefore needs its old form kept under a code.
"""

from __future__ import annotations

import pandas as pd

FINDING_COLUMNS = ["application", "table", "file", "line", "column", "rule_id", "severity", "value"]
ERROR = "error"
WARNING = "warning"

# Rules whose finding value is a detail of `FINDING_DETAILS`, not a value of the source row.
DETAIL_RULES = frozenset(
    {"csv.field_count", "csv.quote", "csv.nul", "csv.truncated", "key.duplicate", "key.unique"}
)

# Code -> stored template of a finding detail.
FINDING_DETAILS = {
    "field_count": "{fields} fields, {expected} expected",
    "quote_in_unquoted_field": "quote inside an unquoted field",
    "text_after_closing_quote": "text after the closing quote of a field instead of '{delimiter}'",
    "quoted_field_not_closed": "a quoted field is not closed before the end of the file",
    "field_too_long": "a field is longer than the limit of {limit} characters",
    "csv_error": "the record cannot be parsed: {error}",
    "nul_byte": "NUL byte in the record",
    "truncated": (
        "the last record has no line end, unlike the lines before it: the file may be truncated; "
        "claim a new delivery from the sender"
    ),
    "key_repeated": "same key as line {line}",
}


def finding_detail(code: str, /, **parameters: object) -> str:
    """Return the stored detail of a finding: the template of `code` with its parameters."""
    return FINDING_DETAILS[code].format(**parameters)


def empty_findings() -> pd.DataFrame:
    """Return an empty findings frame with the standard columns."""
    return pd.DataFrame({name: pd.Series(dtype=object) for name in FINDING_COLUMNS})


def make_findings(
    *,
    application: str,
    table: str,
    file: str,
    lines: pd.Series | list[int],
    column: str | None,
    rule_id: str,
    severity: str,
    values: pd.Series | list | None = None,
) -> pd.DataFrame:
    """Build a findings frame for many lines of one table that break the same rule."""
    lines = list(lines)
    if values is None:
        values = [None] * len(lines)
    return pd.DataFrame(
        {
            "application": application,
            "table": table,
            "file": file,
            "line": pd.Series(lines, dtype="int64"),
            "column": column,
            "rule_id": rule_id,
            "severity": severity,
            "value": pd.Series(list(values), dtype=object),
        },
        columns=FINDING_COLUMNS,
    )


def concat_findings(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate findings frames, skipping empty ones, keeping the standard columns."""
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return empty_findings()
    return pd.concat(frames, ignore_index=True)[FINDING_COLUMNS]


def mask_value(value: object) -> str | None:
    """Mask a personal value: digits become 9, letters A or a, other characters stay.

    The pattern shows an analyst the shape of a bad value (`99/99/9999`)
    without showing the value; `2,601E+13` becomes `9,999A+99`.
    """
    return _mask(value, "9")


# The character that replaces each digit of a masked NIR, because fifteen nines read as a NIR
# value, not as a mask.
NIR_MASK = "\u2022"


def mask_nir(value: object) -> str | None:
    """Mask a NIR as `mask_value` masks other values, with `NIR_MASK` in place of each digit.

    A NIR keeps its length, letters (A or a) and separators, so `2 64 02 2A 123 456 78` becomes
    `• •• •• •A ••• ••• ••`. A value that `mask_value` masked already gives the same result.
    """
    return _mask(value, NIR_MASK)


def _mask(value: object, digit: str) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    masked = []
    for char in str(value):
        if char.isdigit():
            masked.append(digit)
        elif char.isalpha():
            masked.append("A" if char.isupper() else "a")
        else:
            masked.append(char)
    return "".join(masked)
