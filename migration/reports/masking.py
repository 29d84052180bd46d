"""Second line of defence against personal values and secrets in the written report.

The pipeline masks personal values before it builds the summary. This module masks them again
in a copy of the summary, for the columns the table profile marks as personal, and hides the
password of the target database URL, so that neither resume.json nor the HTML page can carry
one even when an upstream step leaves a value unmasked.
"""

import datetime
from collections.abc import Mapping, MutableMapping
from pathlib import PurePath

import pandas as pd

from migration.reading.findings import DETAIL_RULES, mask_nir, mask_value
from migration.reports.formatting import hide_url_password, parse_finding_detail
from migration.reports.view import as_list, as_mapping


def mask_summary(summary: Mapping, mask_personal: bool = True) -> dict:
    """Return a plain copy of summary with its target password hidden and personal values masked.

    The copy holds only JSON types (see plain_copy).

    The mask is the pipeline's own (digits become 9, letters A or a, and the digits of a NIR
    `NIR_MASK`), so a value the pipeline already masked is left unchanged and its shape stays
    visible. A NIR column is one whose profile has the identifier "nir". It covers the min,
    max, top values and unknown codes of the profile columns marked personal, the finding
    examples on those columns or marked personal, and the example keys of merge conflicts on a
    personal key. A finding detail (see `DETAIL_RULES`) names no value of the row and is left
    as it is.

    NOTE: a table without a profile gives no personal flags, so its examples are written as the
    summary gives them.
    """
    masked = plain_copy(summary)
    if masked.get("target"):
        masked["target"] = hide_url_password(masked["target"])
    if not mask_personal:
        return masked
    for table in as_list(masked.get("tables")):
        if isinstance(table, Mapping):
            _mask_table(table)
    for entry in as_list(masked.get("merge_conflicts")):
        _mask_merge_conflicts(entry)
    return masked


def plain_copy(value: object) -> object:
    """Copy value into dicts, lists, str, int, float, bool and None only.

    NumPy and pandas scalars become Python numbers (so counts stay numbers), NaN and NaT become
    None, dates become ISO 8601 text, paths and any other object become str(value).
    """
    if isinstance(value, Mapping):
        return {str(key): plain_copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain_copy(item) for item in value]
    if isinstance(value, str):
        return str(value)
    if value is None or isinstance(value, bool | int):
        return value
    if pd.isna(value) is True:
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    item = getattr(value, "item", None)
    if callable(item):
        # NumPy scalars such as int64, float64 and bool_.
        return plain_copy(item())
    return str(value)


def _mask_table(table: Mapping) -> None:
    personal_columns = set()
    nir_columns = set()
    for column in as_list(as_mapping(table.get("profile")).get("columns")):
        if not isinstance(column, MutableMapping) or column.get("personal") is not True:
            continue
        personal_columns.add(column.get("name"))
        mask = mask_value
        if column.get("identifier") == "nir":
            nir_columns.add(column.get("name"))
            mask = mask_nir
        for key in ("min", "max"):
            _mask_key(column, key, mask)
        for entry in as_list(column.get("top")):
            _mask_key(entry, "value", mask)
        coverage = column.get("code_coverage")
        if isinstance(coverage, MutableMapping) and isinstance(coverage.get("unknown"), list):
            coverage["unknown"] = [mask(code) for code in coverage["unknown"]]
    for finding in as_list(table.get("findings_by_rule")):
        detail_rule = as_mapping(finding).get("rule_id") in DETAIL_RULES
        for example in as_list(as_mapping(finding).get("examples")):
            if not isinstance(example, Mapping):
                continue
            if detail_rule and parse_finding_detail(str(example.get("value"))) is not None:
                continue
            # A mapping reject names a target column, which the pipeline marks as personal.
            if example.get("column") in nir_columns:
                _mask_key(example, "value", mask_nir)
            elif example.get("column") in personal_columns or example.get("personal") is True:
                _mask_key(example, "value")


def _mask_merge_conflicts(entry: object) -> None:
    """Mask the example keys of a target table whose primary key has a personal column."""
    if not isinstance(entry, Mapping) or entry.get("key_personal") is not True:
        return
    for example in as_list(entry.get("examples")):
        _mask_key(example, "key")


def _mask_key(record: object, key: str, mask=mask_value) -> None:
    if isinstance(record, MutableMapping) and record.get(key) not in (None, ""):
        record[key] = mask(record[key])
