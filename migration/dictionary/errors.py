"""Errors raised while reading, importing or writing a data dictionary."""

from __future__ import annotations

from dataclasses import dataclass

from migration.errors import MdphRepriseError


class DictionaryError(MdphRepriseError):
    """A data dictionary file is missing, is not valid YAML or does not follow the format."""


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
