"""Errors raised while reading or applying a mapping file."""

from __future__ import annotations

import difflib
from pathlib import Path

from migration.errors import MdphRepriseError


def did_you_mean(name: str, known) -> str:
    """Return "; did you mean 'X'?" with the known name closest to `name`, or "" if none is."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


class MappingError(MdphRepriseError):
    """A mapping file is invalid; the message starts with file, line and column of the YAML."""

    def __init__(self, path: Path | str, line: int | None, column: int | None, message: str):
        self.path, self.line, self.column, self.detail = Path(path), line, column, message
        where = str(path)
        if line is not None:
            where += f":{line}:{column or 1}"
        super().__init__(f"{where}: {message}")


class MappingSyntaxError(MappingError):
    """A mapping file that is not UTF-8 text or not valid YAML, so it has no content to check.

    Like a MappingFileError, it stops `mapping check` and `mapping coverage` with exit code 2
    instead of being reported as a problem of the mapping.
    """


class MappingProblemsError(MappingError):
    """Several problems of one mapping file, raised together so that all can be fixed at once.

    The message lists one problem per line, as `mapping check` prints them; the path, line,
    column and detail attributes are those of the first problem.
    """

    def __init__(self, problems: list[MappingError]):
        first = problems[0]
        others = "".join(f"\n{problem}" for problem in problems[1:])
        super().__init__(first.path, first.line, first.column, first.detail + others)
        self.problems = list(problems)


class MappingFileError(MdphRepriseError):
    """A mapping file cannot be read (not found, a folder, no permission).

    It is not a MappingError because there is no content to check, so `mapping check` stops
    with exit code 2 instead of reporting a problem of the mapping.
    """

    def __init__(self, path: Path | str, error: OSError):
        self.path = Path(path)
        if isinstance(error, FileNotFoundError):
            message = "mapping file not found; check the path"
        elif isinstance(error, IsADirectoryError):
            message = "is a folder, not a mapping file; give the path of a .yaml file"
        elif isinstance(error, PermissionError):
            message = "permission denied when reading the mapping file; check its permissions"
        else:
            message = f"cannot read the mapping file ({error.strerror}); check the path"
        super().__init__(f"{path}: {message}")
