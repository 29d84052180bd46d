"""Mapped frames written to a private folder as soon as they are mapped.

A worker process that maps a large application would otherwise hold every mapped frame until
it hands the application back. Staged, each frame is on disk once it is mapped, and the main
process reads it back when assembly reaches its table.
"""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Callable
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

    def load(self) -> pd.DataFrame:
        """Read the frame back and delete its file."""
        try:
            with self.path.open("rb") as handle:
                # The file was written by this run, in its private work folder.
                return pickle.load(handle)
        finally:
            self.path.unlink(missing_ok=True)


def loaded(frame: pd.DataFrame | StagedFrame) -> pd.DataFrame:
    """Return `frame` itself, or the frame a StagedFrame holds."""
    return frame.load() if isinstance(frame, StagedFrame) else frame


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
        self._numbers = itertools.count(1)

    def __call__(self, target: str, frame: pd.DataFrame) -> StagedFrame:
        if self.inspect is not None:
            self.inspect(target, frame)
        path = self.folder / f"{self.prefix}-{next(self._numbers)}-{target}.pickle"
        with open_private_file(path) as handle:
            pickle.dump(frame, handle, protocol=pickle.HIGHEST_PROTOCOL)
        return StagedFrame(path, len(frame))
