"""Per-column profiles of a source table, compared with what the dictionary declares.

No value of a personal column reaches a profile: it has no most frequent values and no
minimum or maximum. The length distribution and the yearly date histogram are aggregates that
count values without showing any, so personal columns keep them (a birth date becomes a birth
year count).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from migration.dictionary.model import Dictionary, Table

TOP_VALUES = 5
MAX_LENGTH_BINS = 40
"""Distinct lengths kept in a profile's `lengths`; longer tails are summed into the last bin."""


def profile_table(rows: pd.DataFrame, table: Table, dictionary: Dictionary) -> dict[str, Any]:
    """Profile the text values of a table: nulls, distinct values, lengths, ranges, codes."""
    columns = [
        profile_column(rows[column.name], column, dictionary, rows[column.name].value_counts())
        for column in table.columns
    ]
    return {"rows": len(rows), "columns": columns}


def profile_column(
    values: pd.Series, column, dictionary: Dictionary, counts_all: pd.Series
) -> dict[str, Any]:
    """Profile one column from its values and their `value_counts` (`counts_all`)."""
    nulls = len(values) - int(counts_all.sum())
    lengths = pd.Series(counts_all.index, dtype=object).str.len()
    # The most frequent values of a personal column are not listed, even masked, because a
    # masked name only shows its length, which the length distribution already gives.
    counts = counts_all.head(0 if column.personal else TOP_VALUES)
    top = [{"value": value, "count": int(count)} for value, count in counts.items()]
    profile: dict[str, Any] = {
        "name": column.name,
        "type": column.type,
        "personal": column.personal,
        "nulls": nulls,
        "distinct": len(counts_all),
        "min_length": int(lengths.min()) if len(counts_all) else None,
        "max_length": int(lengths.max()) if len(counts_all) else None,
        "declared_length": column.length,
        "min": None,
        "max": None,
        "top": top,
        "code_coverage": None,
        "lengths": _length_distribution(counts_all),
        "date_histogram": None,
    }
    if column.type == "date":
        profile["date_histogram"] = _date_histogram(counts_all, column)
    if not column.personal and len(counts_all) and column.type in ("text", "code", "integer"):
        distinct = pd.Series(counts_all.index, dtype=object)
        profile["min"], profile["max"] = str(distinct.min()), str(distinct.max())
    if column.type == "code":
        codes = dictionary.codes(column)
        used = set(counts_all.index)
        profile["code_coverage"] = {
            "declared": len(codes),
            "used": len(used & set(codes)),
            "unknown": sorted(used - set(codes)) if not column.personal else [],
        }
    return profile


def _length_distribution(counts: pd.Series) -> list[dict[str, int]]:
    """Count the values of each length, shortest first: [{"length": n, "count": c}, ...].

    Beyond MAX_LENGTH_BINS distinct lengths, the longest ones are added to the last bin, whose
    "length" is then the shortest length it covers and which gets "and_longer": true.
    """
    if counts.empty:
        return []
    lengths = pd.Series(counts.index, dtype=object).str.len().to_numpy()
    by_length = pd.Series(counts.to_numpy(), index=lengths).groupby(level=0).sum().sort_index()
    bins = [{"length": int(length), "count": int(count)} for length, count in by_length.items()]
    if len(bins) > MAX_LENGTH_BINS:
        tail = bins[MAX_LENGTH_BINS - 1 :]
        last = {"length": tail[0]["length"], "count": sum(b["count"] for b in tail)}
        bins = bins[: MAX_LENGTH_BINS - 1] + [last | {"and_longer": True}]
    return bins


def _date_histogram(counts: pd.Series, column) -> dict[str, Any]:
    """Count the dates of each year, in the column's declared formats.

    Returns {"granularity": "year", "bins": [{"period": "2006", "count": n}, ...],
    "placeholders": n, "invalid": n}. Placeholder dates (00/00/0000) and values that parse in
    no declared format are counted apart, as the validation step treats them.
    """
    placeholders = counts[counts.index.isin(list(column.date_placeholders))]
    candidates = counts[~counts.index.isin(list(column.date_placeholders))]
    years: dict[str, int] = {}
    remaining = candidates
    for date_format in column.date_formats:
        if remaining.empty:
            break
        texts = pd.Series(remaining.index, dtype=object)
        stamps = pd.to_datetime(texts, format=date_format, errors="coerce")
        exact = (stamps.notna() & (stamps.dt.strftime(date_format) == texts)).to_numpy()
        parsed_counts = remaining.to_numpy()[exact]
        for year, count in zip(stamps[exact].dt.year, parsed_counts, strict=True):
            years[str(int(year))] = years.get(str(int(year)), 0) + int(count)
        remaining = remaining[~exact]
    return {
        "granularity": "year",
        "bins": [{"period": year, "count": years[year]} for year in sorted(years)],
        "placeholders": int(placeholders.sum()),
        "invalid": int(remaining.sum()),
    }
