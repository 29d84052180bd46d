"""The row lineage of an assembly, held one part per target table.

The lineage has one row per target row and source row, as many rows as every target table
together. Assembly computes it one target table at a time. A run writes each part to a private
file as soon as it is computed, and the loader reads the parts back one at a time, so the
whole lineage never exists in memory. The source lines that reconciliation counts are
computed as each part is added and kept beside the parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from migration.mapping.staging import FrameStage, StagedFrame

LINEAGE_COLUMNS = [
    "target_table",
    "target_key",
    "application",
    "source_table",
    "source_file",
    "source_line",
    "source_key",
]
SOURCE_TABLE_KEY = ["application", "source_table"]


class LineageParts:
    """The lineage rows of an assembly, as a list of frames with the columns LINEAGE_COLUMNS.

    With `folder` (a private folder), each part is written there (mode 0600) as it is added,
    and iterating reads each part back once and deletes its file, so the parts can be
    iterated only once. Without `folder`, the parts stay in memory and can be iterated again.

    Beside the parts it stores the row count (`len`), the first row (`first_row`), the
    applications and the distinct source lines of each source table (`source_lines`), so
    that the steps before the load never read the parts.
    """

    def __init__(self, folder: Path | None = None, stage: FrameStage | None = None) -> None:
        self.folder = folder
        if stage is None and folder is not None:
            stage = FrameStage(folder, "lineage")
        # Several LineageParts of one process may share a stage, whose numbers keep the names
        # of their files apart.
        self._stage = stage
        self._parts: list[pd.DataFrame | StagedFrame] = []
        self._rows = 0
        self._first_row: pd.DataFrame | None = None
        self._read = False
        self.applications: set[str] = set()
        # (application, source table) -> sorted distinct source lines of each part, merged
        # into one array by `source_lines`.
        self._lines: dict[tuple[str, str], list[np.ndarray]] = {}

    @classmethod
    def of_frames(cls, frames: Iterable[pd.DataFrame]) -> LineageParts:
        """Return the parts `frames`, kept in memory."""
        parts = cls()
        for frame in frames:
            parts.add(frame)
        return parts

    @classmethod
    def joined(cls, folder: Path | None, stage: FrameStage | None, parts: list[LineageParts]):
        """Return the parts of every LineageParts of `parts`, in that order, none of them read.

        Assembly computes the lineage of each target table apart, some tables in another
        process, and joins them in the order of the tables. `stage` stages the parts added
        later; its file names must differ from those of the joined parts.
        """
        joined = cls(folder, stage)
        for other in parts:
            if other._read:
                raise RuntimeError("lineage parts already read cannot be joined")
            if joined._first_row is None:
                joined._first_row = other._first_row
            joined._rows += other._rows
            joined.applications |= other.applications
            for key, lines in other._lines.items():
                joined._lines.setdefault(key, []).extend(lines)
            joined._parts += other._parts
        return joined

    def __len__(self) -> int:
        return self._rows

    def add(self, part: pd.DataFrame) -> None:
        """Record the counts of `part`, then stage it or keep it. An empty part is skipped."""
        if part.empty:
            return
        if self._read:
            raise RuntimeError("lineage parts cannot be added once the staged parts are read")
        if self._first_row is None:
            # A copy, because a slice of `part` would keep the whole part in memory.
            self._first_row = part.head(1).copy()
        self._rows += len(part)
        self.applications.update(part["application"].dropna().unique())
        for key, lines in part.groupby(SOURCE_TABLE_KEY, sort=False)["source_line"]:
            distinct = np.unique(lines.to_numpy(dtype="int64"))
            self._lines.setdefault(key, []).append(distinct)
        target = str(part["target_table"].iat[0])
        self._parts.append(part if self._stage is None else self._stage(target, part))

    @property
    def first_row(self) -> pd.DataFrame:
        """The first lineage row, as a frame of one row, or of none when there is no row."""
        if self._first_row is None:
            return pd.DataFrame(columns=LINEAGE_COLUMNS)
        return self._first_row

    def source_lines(self) -> dict[tuple[str, str], np.ndarray]:
        """Return the sorted distinct source lines of each (application, source table).

        Rows with a null application or source table are left out, as `DataFrame.groupby`
        leaves them out.
        """
        merged = {}
        for key, arrays in self._lines.items():
            if len(arrays) > 1:
                arrays[:] = [np.unique(np.concatenate(arrays))]
            merged[key] = arrays[0]
        return merged

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """Yield the parts in the order they were added.

        A staged part is read back from its file, which is then deleted. The generator keeps
        no reference to a part it has yielded, so a caller that drops each part frees it
        before the next one is read.
        """
        if self._stage is None:
            yield from self._parts
            return
        if self._read:
            raise RuntimeError("the staged lineage parts were already read, and each is read once")
        self._read = True
        while self._parts:
            yield self._parts.pop(0).load()

    def staged_parts(self) -> list[StagedFrame]:
        """Return the staged parts in order, for a reader that reads and deletes their files
        itself. The parts then count as read. Parts kept in memory give an empty list."""
        if self._stage is None:
            return []
        if self._read:
            raise RuntimeError("the staged lineage parts were already read, and each is read once")
        self._read = True
        parts, self._parts = self._parts, []
        return parts

    def to_frame(self) -> pd.DataFrame:
        """Return every part in one frame. Staged parts are read and their files deleted."""
        parts = list(self)
        if not parts:
            return pd.DataFrame(columns=LINEAGE_COLUMNS)
        return pd.concat(parts, ignore_index=True)[LINEAGE_COLUMNS]

    def discard(self) -> None:
        """Delete the files of the staged parts not read yet. Parts in memory stay."""
        if self._stage is None:
            return
        self._read = True
        while self._parts:
            self._parts.pop(0).path.unlink(missing_ok=True)
