"""Per-column profiles of a source table, compared with what the dictionary declares.

Values of personal columns are masked (see `mask_value`) before they reach a profile.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from migration.dictionary.model import Dictionary, Table
from migration.reading.findings import mask_value

TOP_VALUES = 5


def profile_table(rows: pd.DataFrame, table: Table, dictionary: Dictionary) -> dict[str, Any]:
    """Profile the text values of a table: nulls, distinct values, lengths, ranges, codes."""
    columns = [_profile_column(rows[column.name], column, dictionary) for column in table.columns]
    return {"rows": len(rows), "columns": columns}


def _profile_column(values: pd.Series, column, dictionary: Dictionary) -> dict[str, Any]:
    present = values.dropna()
    counts_all = present.value_counts()
    lengths = pd.Series(counts_all.index, dtype=object).str.len()
    counts = counts_all.head(TOP_VALUES)
    top = [
        {"value": mask_value(value) if column.personal else value, "count": int(count)}
        for value, count in counts.items()
    ]
    profile: dict[str, Any] = {
        "name": column.name,
        "type": column.type,
        "personal": column.personal,
        "nulls": int(values.isna().sum()),
        "distinct": len(counts_all),
        "min_length": int(lengths.min()) if len(present) else None,
        "max_length": int(lengths.max()) if len(present) else None,
        "declared_length": column.length,
        "min": None,
        "max": None,
        "top": top,
        "code_coverage": None,
    }
    if not column.personal and len(present) and column.type in ("text", "code", "integer"):
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
