"""Errors raised while reading, importing or writing a data dictionary."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from migration.errors import MdphRepriseError


class DictionaryError(MdphRepriseError):
    """A data dictionary file is missing, is not valid YAML or does not follow the format."""


class DictionaryFileError(DictionaryError):
    """A data dictionary file cannot be read (not found, a folder, no permission).

    `problem` describes the failure and `fix` the next step. A caller that knows where the
    path came from, such as the `dictionary` key of a mapping file, can give its own fix.
    """

    def __init__(self, path: Path | str, error: OSError, bundled: Iterable[str] = ()):
        self.path = Path(path)
        self.error = error
        if isinstance(error, FileNotFoundError):
            self.problem = "data dictionary not found"
            self.fix = "check the path"
            if bundled:
                self.fix += f", or give a bundled dictionary name ({', '.join(bundled)})"
        elif isinstance(error, IsADirectoryError):
            self.problem = "is a folder, not a data dictionary file"
            self.fix = "give the path of the dictionary's .yaml file in that folder"
        elif isinstance(error, PermissionError):
            self.problem = "permission denied when reading the data dictionary"
            self.fix = "check the file's permissions"
        else:
            self.problem = f"cannot read the data dictionary ({error.strerror or error})"
            self.fix = "check the path"
        super().__init__(f"{self.path}: {self.problem}; {self.fix}")


class DictionaryImportError(DictionaryError):
    """A dictionary sheet or Data Package was read, but some of its cells break the format.

    The import writes nothing; `findings` lists every problem, each with its file, sheet, row
    and column.
    """

    exit_code = 1

    def __init__(self, findings: list[Finding]):
        self.findings = list(findings)
        lines = [f"{len(self.findings)} problem(s) in the dictionary; nothing was written:"]
        super().__init__("\n".join(lines + [f"  {finding}" for finding in self.findings]))


@dataclass(frozen=True)
class Finding:
    """One problem in a cell of a dictionary sheet or a property of a Data Package.

    `column` is the letter of an XLSX column or the number of a CSV column. `pointer` is the
    place in a Data Package, such as `resources[2].schema.fields[4].type`.
    """

    file: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    header: str | None = None
    pointer: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.sheet is not None:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}" + (f" ({self.header})" if self.header else ""))
        elif self.header is not None:
            parts.append(f"column {self.header}")
        if self.pointer is not None:
            parts.append(self.pointer)
        return ", ".join(parts) + f": {self.message}"
