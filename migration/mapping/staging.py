"""Mapped frames written to a private folder as soon as they are mapped.

A worker process that maps a large application would otherwise hold every mapped frame until
it hands the application back. Staged, each frame is on disk once it is mapped, and the main
process reads it back when assembly reaches its table.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from migration.delivery.workdir import open_private_file


@dataclass
class StagedFrame:
    """A mapped frame written to a private file; `load` reads it back once."""

    path: Path
    rows: int

    def __len__(self) -> int:
        return self.rows

    def read(self) -> pd.DataFrame:
        """Read the frame back and keep its file."""
        with self.path.open("rb") as handle:
            # The file was written by this run, in its private work folder.
            return pickle.load(handle)

    def load(self) -> pd.DataFrame:
        """Read the frame back and delete its file."""
        try:
            return self.read()
        finally:
            self.delete()

    def delete(self) -> None:
        """Delete the file of the frame."""
        self.path.unlink(missing_ok=True)


class KeptFrame(StagedFrame):
    """A staged frame whose file stays when the frame is loaded or discarded.

    A Dagster load reads its frames this way, so that a load that the removal check stops can
    run again on the same files. The step deletes the files itself, with their folder.
    """

    def delete(self) -> None:
        pass


def loaded(frame: pd.DataFrame | StagedFrame) -> pd.DataFrame:
    """Return `frame` itself, or the frame a StagedFrame contains, deleting its file."""
    return frame.load() if isinstance(frame, StagedFrame) else frame


def peeked(frame: pd.DataFrame | StagedFrame) -> pd.DataFrame:
    """Return `frame` itself, or the frame a StagedFrame contains, keeping its file."""
    return frame.read() if isinstance(frame, StagedFrame) else frame


class TableRows:
    """The rows of one target table, as a list of frames of at most a chunk each.

    A large run stages each frame in a private file, so the rows of a table are read back one
    frame at a time and never exist in memory together. `len` gives the row count without
    reading them.
    """

    def __init__(self, columns: list[str], parts: list[pd.DataFrame | StagedFrame] | None = None):
        self.columns = columns
        self.parts: list[pd.DataFrame | StagedFrame] = parts or []

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts)

    def taken(self) -> Iterator[pd.DataFrame]:
        """Yield the frames in order, removing each one first. A staged file is deleted once
        read, so the rows can be taken once."""
        while self.parts:
            yield loaded(self.parts.pop(0))

    def peek(self) -> Iterator[pd.DataFrame]:
        """Yield the frames in order, keeping them and their files for another pass."""
        for part in list(self.parts):
            yield peeked(part)

    def frame(self) -> pd.DataFrame:
        """Take every frame and return them in one frame."""
        parts = list(self.taken())
        if not parts:
            return pd.DataFrame(columns=self.columns)
        return pd.concat(parts, ignore_index=True)

    def discard(self) -> None:
        """Delete the files of the staged frames not taken yet."""
        while self.parts:
            part = self.parts.pop(0)
            if isinstance(part, StagedFrame):
                part.delete()

    def keeping_files(self) -> TableRows:
        """Return the same rows in a TableRows whose staged files stay once read (`KeptFrame`)."""
        parts = [
            KeptFrame(part.path, part.rows) if isinstance(part, StagedFrame) else part
            for part in self.parts
        ]
        return TableRows(self.columns, parts)


class FrameStage:
    """Write each mapped frame to its own file (mode 0600) in `folder`, named after `prefix`
    (the application, so two workers can share the folder), a number and the target table.

    `inspect`, when given, receives each frame and its target table's name before the frame is
    written. The worker checks there the values that the target would reject.
    """

    def __init__(
        self,
        folder: Path,
        prefix: str,
        inspect: Callable[[str, pd.DataFrame], None] | None = None,
    ) -> None:
        self.folder = folder
        self.prefix = prefix
        self.inspect = inspect
        self._count = 0

    def __call__(self, target: str, frame: pd.DataFrame) -> StagedFrame:
        if self.inspect is not None:
            self.inspect(target, frame)
        self._count += 1
        path = self.folder / f"{self.prefix}-{self._count}-{target}.pickle"
        with open_private_file(path) as handle:
            pickle.dump(frame, handle, protocol=pickle.HIGHEST_PROTOCOL)
        return StagedFrame(path, len(frame))
