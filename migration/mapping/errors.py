"""Errors raised while reading or applying a mapping file."""

from __future__ import annotations

from pathlib import Path

from migration.errors import MdphRepriseError


class MappingError(MdphRepriseError):
    """A mapping file is invalid; the message starts with file, line and column of the YAML."""

    def __init__(self, path: Path | str, line: int | None, column: int | None, message: str):
        self.path, self.line, self.column, self.detail = Path(path), line, column, message
        where = str(path)
        if line is not None:
            where += f":{line}:{column or 1}"
        super().__init__(f"{where}: {message}")
