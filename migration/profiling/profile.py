"""Per-column profiles of a source table, compared with what the dictionary declares.

No value of a personal column reaches a profile: it has no most frequent values and no
minimum or maximum. The length distribution and the yearly date histogram are aggregates that
count values without showing any, so personal columns keep them (a birth date becomes a birth
year count).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.util import hash_array

from migration.dictionary.model import Dictionary, Table

TOP_VALUES = 5
MAX_LENGTH_BINS = 40
"""Distinct lengths kept in a profile's `lengths`; longer tails are summed into the last bin."""
# Distinct values of a column counted by their text; beyond, by a hash (see ColumnCounts).
EXACT_DISTINCT = 50_000


def profile_table(rows: pd.DataFrame, table: Table, dictionary: Dictionary) -> dict[str, Any]:
    """Profile the text values of a table: nulls, distinct values, lengths, ranges, codes."""
    columns = [
        profile_column(
            rows[column.name], column, dictionary, rows[column.name].value_counts(sort=False)
        )
        for column in table.columns
    ]
    return {"rows": len(rows), "columns": columns}


def profile_column(
    values: pd.Series, column, dictionary: Dictionary, counts_all: pd.Series
) -> dict[str, Any]:
    """Profile one column from its values and their `value_counts` (`counts_all`)."""
    counts = ColumnCounts(column, dictionary)
    counts.add(len(values), counts_all)
    return counts.profile()


class ColumnCounts:
    """The counts of one column's values, added chunk by chunk, and the profile they give.

    `add` takes the `value_counts(sort=False)` of each chunk. The values are counted exactly up
    to EXACT_DISTINCT distinct values. Beyond, each distinct value is kept as a 64-bit hash
    with its count and the rank of its first appearance (24 bytes), and the text of the values
    that repeat only: the column then lists among its most frequent values only values that
    repeat. The other parts of the profile (nulls, lengths, range, codes, years) are sums,
    minimums and maximums, which chunks add up exactly.

    NOTE: two distinct values with the same 64-bit hash would count as one in `distinct`. At a
    million distinct values in a column the odds are below one in ten million, and only the
    profile's count would show it, never a row.
    """

    def __init__(self, column, dictionary: Dictionary) -> None:
        self.column = column
        self.codes = dictionary.codes(column) if column.type == "code" else {}
        self.rows = self.nulls = 0
        self.exact: pd.Series | None = pd.Series(dtype="int64")
        # Beyond EXACT_DISTINCT: sorted hashes of the distinct values, with their counts and
        # first ranks, and the text of the values that repeat by hash.
        self.hashes = np.empty(0, dtype=np.uint64)
        self.counts = np.empty(0, dtype=np.int64)
        self.first = np.empty(0, dtype=np.int64)
        self.repeated: dict[int, str] = {}
        self.offered = 0
        self.lengths = pd.Series(dtype="int64")
        self.minimum: str | None = None
        self.maximum: str | None = None
        self.used: set[str] = set()
        self.years: dict[str, int] = {}
        self.placeholders = self.invalid = 0

    @property
    def distinct(self) -> int:
        return len(self.exact) if self.exact is not None else len(self.hashes)

    def add(self, rows: int, counts: pd.Series) -> None:
        """Add the counts of the next chunk of `rows` rows."""
        self.rows += rows
        self.nulls += rows - int(counts.sum())
        if not len(counts):
            return

        # Plain Python on the distinct values: pandas string methods cost more per call.
        texts = counts.index.tolist()
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        by_length = np.bincount(lengths, weights=counts.to_numpy(dtype=np.float64))
        present = np.flatnonzero(by_length)
        found = pd.Series(by_length[present].astype(np.int64), index=present)
        self.lengths = self.lengths.add(found, fill_value=0).astype("int64")

        if self.column.type in ("text", "code", "integer"):
            low, high = min(texts), max(texts)
            self.minimum = low if self.minimum is None else min(self.minimum, low)
            self.maximum = high if self.maximum is None else max(self.maximum, high)
        if self.column.type == "code":
            self.used |= set(counts.index)
        if self.column.type == "date":
            years, placeholders, invalid = _years(counts, self.column)
            for year, count in years.items():
                self.years[year] = self.years.get(year, 0) + count
            self.placeholders += placeholders
            self.invalid += invalid

        if self.exact is not None:
            merged = pd.concat([self.exact, counts]).groupby(level=0, sort=False).sum()
            if len(merged) <= EXACT_DISTINCT:
                self.exact = merged.astype("int64")
                return
            self.exact = None
            counts = merged
        self._add_hashed(counts)

    def _add_hashed(self, counts: pd.Series) -> None:
        hashes = hash_array(counts.index.to_numpy(dtype=object), categorize=False)
        added = counts.to_numpy(dtype="int64")
        # Ranks grow with every value offered, so a value's first rank orders it after the
        # values that appeared before it.
        ranks = np.arange(self.offered, self.offered + len(counts), dtype="int64")
        self.offered += len(counts)
        at = np.searchsorted(self.hashes, hashes)
        found = np.zeros(len(hashes), dtype=bool)
        if len(self.hashes):
            inside = np.minimum(at, len(self.hashes) - 1)
            found = (at < len(self.hashes)) & (self.hashes[inside] == hashes)
        before = self.counts[at[found]]
        self.counts[at[found]] = before + added[found]
        repeats = np.zeros(len(hashes), dtype=bool)
        repeats[np.flatnonzero(found)[before == 1]] = True
        repeats[~found] = added[~found] > 1
        new = np.flatnonzero(~found)
        order = new[np.argsort(hashes[new], kind="stable")]
        where = np.searchsorted(self.hashes, hashes[order])
        self.hashes = np.insert(self.hashes, where, hashes[order])
        self.counts = np.insert(self.counts, where, added[order])
        self.first = np.insert(self.first, where, ranks[order])
        # The text of a value is kept once it repeats, from the chunk where it does.
        if not self.column.personal:
            values = counts.index.to_numpy(dtype=object)
            for position in np.flatnonzero(repeats):
                self.repeated[int(hashes[position])] = values[position]

    def top(self) -> list[dict[str, Any]]:
        """Return the TOP_VALUES most frequent values, most frequent first, then in order of
        first appearance. A personal column lists none."""
        if self.column.personal:
            return []
        if self.exact is not None:
            ranked = self.exact.sort_values(ascending=False, kind="stable").head(TOP_VALUES)
            return [{"value": value, "count": int(count)} for value, count in ranked.items()]
        repeated = np.flatnonzero(self.counts > 1)
        ranked = repeated[np.lexsort((self.first[repeated], -self.counts[repeated]))]
        return [
            {"value": self.repeated[int(self.hashes[at])], "count": int(self.counts[at])}
            for at in ranked[:TOP_VALUES]
        ]

    def profile(self) -> dict[str, Any]:
        """Build the profile of the column from every chunk added."""
        column = self.column
        present = len(self.lengths) > 0
        profile: dict[str, Any] = {
            "name": column.name,
            "type": column.type,
            "personal": column.personal,
            # The identifier kind ("nir", ...), by which the report masks a NIR as a NIR.
            "identifier": column.identifier,
            "nulls": self.nulls,
            "distinct": self.distinct,
            "min_length": int(self.lengths.index.min()) if present else None,
            "max_length": int(self.lengths.index.max()) if present else None,
            "declared_length": column.length,
            "min": None,
            "max": None,
            # The most frequent values of a personal column are not listed, even masked,
            # because a masked name only shows its length, which `lengths` already gives.
            "top": self.top(),
            "top_repeated_only": self.exact is None and not column.personal,
            "code_coverage": None,
            "lengths": _length_distribution(self.lengths),
            "date_histogram": None,
        }
        if column.type == "date":
            bins = [{"period": year, "count": self.years[year]} for year in sorted(self.years)]
            profile["date_histogram"] = {
                "granularity": "year",
                "bins": bins,
                "placeholders": self.placeholders,
                "invalid": self.invalid,
            }
        if not column.personal and present and column.type in ("text", "code", "integer"):
            profile["min"], profile["max"] = self.minimum, self.maximum
        if column.type == "code":
            profile["code_coverage"] = {
                "declared": len(self.codes),
                "used": len(self.used & set(self.codes)),
                "unknown": sorted(self.used - set(self.codes)) if not column.personal else [],
            }
        return profile


def _length_distribution(by_length: pd.Series) -> list[dict[str, int]]:
    """Count the values of each length, shortest first: [{"length": n, "count": c}, ...].

    Beyond MAX_LENGTH_BINS distinct lengths, the longest ones are added to the last bin, whose
    "length" is then the shortest length it covers and which gets "and_longer": true.
    """
    if by_length.empty:
        return []
    by_length = by_length.sort_index()
    bins = [{"length": int(length), "count": int(count)} for length, count in by_length.items()]
    if len(bins) > MAX_LENGTH_BINS:
        tail = bins[MAX_LENGTH_BINS - 1 :]
        last = {"length": tail[0]["length"], "count": sum(b["count"] for b in tail)}
        bins = bins[: MAX_LENGTH_BINS - 1] + [last | {"and_longer": True}]
    return bins


def _years(counts: pd.Series, column) -> tuple[dict[str, int], int, int]:
    """Count the dates of each year, in the column's declared formats.

    Returns the count of each year, then of placeholder dates (00/00/0000) and of values that
    parse in no declared format, which are counted apart, as the validation step treats them.
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
    return years, int(placeholders.sum()), int(remaining.sum())
