"""Text keys of the rows of a frame, for matching rows on one or several columns."""

from __future__ import annotations

import pandas as pd


def join_key(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Return one text key per row: the value of a single column, or the values joined by '|'.

    Built column by column, because a row-wise join is orders of magnitude slower.
    """
    key = frame[columns[0]].astype(str)
    for column in columns[1:]:
        key = key + "|" + frame[column].astype(str)
    return key.astype(object)


def key_values(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Return one key per row, as `join_key` builds it, or None where a part of the key is null."""
    if len(columns) == 1:
        return frame[columns[0]].astype(object)
    return join_key(frame, columns).where(frame[columns].notna().all(axis=1), None)
