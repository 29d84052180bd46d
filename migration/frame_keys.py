"""Text keys of the rows of a frame, for matching rows on one or several columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.util import hash_array, hash_pandas_object


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


# Two keys of 16 characters, for the two halves of a 128-bit hash.
_HASH_KEYS = ("mdph-reprise-k01", "mdph-reprise-k02")


def text_hashes(texts) -> np.ndarray:
    """Return two 64-bit hashes of each text, as an array of shape (n, 2)."""
    texts = np.asarray(texts, dtype=object)
    if not len(texts):
        return np.empty((0, 2), dtype=np.uint64)
    return np.column_stack(
        [hash_array(texts, encoding="utf8", hash_key=key, categorize=False) for key in _HASH_KEYS]
    )


def row_hashes(rows: pd.DataFrame) -> np.ndarray:
    """Return two 64-bit hashes of the values of each row, as an array of shape (n, 2).

    The columns are hashed apart and combined, so ("a|", "b") and ("a", "|b") differ.
    """
    if not len(rows):
        return np.empty((0, 2), dtype=np.uint64)
    texts = rows if all(map(pd.api.types.is_object_dtype, rows.dtypes)) else rows.astype(str)
    return np.column_stack(
        [
            hash_pandas_object(texts, index=False, hash_key=key, categorize=False).to_numpy()
            for key in _HASH_KEYS
        ]
    )


class HashIndex:
    """A sorted index of 128-bit hashes (16 bytes per entry, whatever the key's length).

    Two different keys with the same 128-bit hash are beyond any real table, so a lookup in the
    index returns what a lookup of the keys themselves would.
    """

    def __init__(self, hashes: np.ndarray) -> None:
        self.order = np.lexsort((hashes[:, 1], hashes[:, 0]))
        self.first = hashes[self.order, 0]
        self.second = hashes[self.order, 1]

    def __len__(self) -> int:
        return len(self.first)

    def repeated(self) -> np.ndarray:
        """Return the sorted positions of the entries whose hash equals the next entry's."""
        return np.flatnonzero(
            (self.first[1:] == self.first[:-1]) & (self.second[1:] == self.second[:-1])
        )

    def positions_of(self, hashes: np.ndarray) -> np.ndarray:
        """Return, for each hash, the position it was given at in the index, or -1."""
        count = len(self.first)
        if not count or not len(hashes):
            return np.full(len(hashes), -1, dtype=np.int64)
        at = np.searchsorted(self.first, hashes[:, 0])
        inside = np.minimum(at, count - 1)
        same_first = (at < count) & (self.first[inside] == hashes[:, 0])
        same = same_first & (self.second[inside] == hashes[:, 1])
        positions = np.where(same, self.order[inside], -1).astype(np.int64)
        # Where several entries share the first half, the sorted run is searched on the second.
        for index in np.flatnonzero(same_first & ~same):
            here = int(at[index]) + 1
            while here < count and self.first[here] == hashes[index, 0]:
                if self.second[here] == hashes[index, 1]:
                    positions[index] = self.order[here]
                    break
                here += 1
        return positions


class KeySet:
    """The distinct non-null keys of a column, or of several joined as `key_values` joins them,
    held as 128-bit hashes: an index that a table's foreign keys are checked against once the
    rows it was built from are freed."""

    def __init__(self, keys: pd.Series) -> None:
        self._index = HashIndex(self.hashes_of(keys))

    @staticmethod
    def hashes_of(keys: pd.Series) -> np.ndarray:
        """Return the hashes of the non-null keys, which `from_hashes` takes in parts."""
        return text_hashes(keys.dropna().astype(str).to_numpy(dtype=object))

    @classmethod
    def from_hashes(cls, parts: list[np.ndarray]) -> KeySet:
        """Build the set of the keys whose hashes `hashes_of` gave, chunk by chunk."""
        keys = cls(pd.Series([], dtype=object))
        if parts:
            keys._index = HashIndex(np.concatenate(parts))
        return keys

    def __len__(self) -> int:
        return len(self._index)

    def contains(self, keys: pd.Series) -> pd.Series:
        """Return, for each key, whether the set contains it (False for a null key)."""
        present = keys.notna().to_numpy()
        found = np.zeros(len(keys), dtype=bool)
        texts = keys[present].astype(str).to_numpy(dtype=object)
        found[present] = self._index.positions_of(text_hashes(texts)) >= 0
        return pd.Series(found, index=keys.index)
