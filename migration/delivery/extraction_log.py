"""Parse the extraction batch's log delivered with each application.

The log is Windows-1252 text with CRLF line ends (LF alone is accepted)::

    EXTRACTION ITAC - DEPARTEMENT 057
    DEBUT 14/10/2008 22:01:17
    TABLE DOSSIER;DOSSIER.csv;412
    FIN 14/10/2008 22:14:02
    CODE RETOUR 0

Each TABLE line gives the table, its file and its number of records (data records, header
excluded, not physical lines). A log without FIN or CODE RETOUR is read, with those values left
to ``None``, because it is the trace of a batch that did not finish, which the acceptance
report must show. Any other kind of line is rejected.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from migration.delivery.errors import ExtractionLogError

logger = logging.getLogger(__name__)

TIMESTAMP_FORMAT = "%d/%m/%Y %H:%M:%S"

_HEADER = re.compile(r"EXTRACTION (?P<application>\S+) - DEPARTEMENT (?P<departement>\S+)")
_START = re.compile(r"DEBUT (?P<timestamp>.+)")
_TABLE = re.compile(r"TABLE (?P<body>.*)")
_END = re.compile(r"FIN (?P<timestamp>.+)")
_RETURN_CODE = re.compile(r"CODE RETOUR (?P<code>.*)")
_EXPECTED_LINES = "EXTRACTION, DEBUT, TABLE, FIN or CODE RETOUR"


@dataclass(frozen=True)
class TableCount:
    """One TABLE line: table name, file name, number of records and the line it is on."""

    table: str
    file: str
    records: int
    line: int = 0


@dataclass
class ExtractionLog:
    """The content of an extraction log.

    ``finished_at`` and ``return_code`` are ``None`` when the log has no FIN or no CODE RETOUR
    line.
    """

    application: str
    departement: str
    started_at: datetime
    finished_at: datetime | None
    return_code: int | None
    tables: dict[str, TableCount] = field(default_factory=dict)
    path: Path | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the batch finished with return code 0."""
        return self.finished_at is not None and self.return_code == 0


class _LogParser:
    """Line-by-line state of one log being parsed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.application: str | None = None
        self.departement: str | None = None
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.return_code: int | None = None
        self.tables: dict[str, TableCount] = {}
        self.seen: dict[str, int] = {}

    def error(self, number: int, message: str) -> ExtractionLogError:
        return ExtractionLogError(f"{self.name}, line {number}: {message}")

    def once(self, keyword: str, number: int) -> None:
        if keyword in self.seen:
            raise self.error(
                number, f"second {keyword} line (the first is on line {self.seen[keyword]})"
            )
        self.seen[keyword] = number

    def feed(self, line: str, number: int) -> None:
        if self.application is None:
            self.read_header(line, number)
        elif match := _START.fullmatch(line):
            self.once("DEBUT", number)
            self.started_at = self.read_timestamp(match["timestamp"], "DEBUT", number)
        elif match := _TABLE.fullmatch(line):
            self.read_table(match["body"], number)
        elif match := _END.fullmatch(line):
            self.once("FIN", number)
            if self.started_at is None:
                raise self.error(number, "FIN line before the DEBUT line")
            self.finished_at = self.read_timestamp(match["timestamp"], "FIN", number)
        elif match := _RETURN_CODE.fullmatch(line):
            self.once("CODE RETOUR", number)
            code = match["code"].strip()
            if not re.fullmatch(r"-?[0-9]+", code):
                raise self.error(number, f"CODE RETOUR {code!r} is not a whole number")
            self.return_code = int(code)
        elif _HEADER.fullmatch(line):
            raise self.error(number, "second EXTRACTION line (the first is the first line)")
        else:
            raise self.error(number, f"unexpected line; expected {_EXPECTED_LINES}")

    def read_header(self, line: str, number: int) -> None:
        match = _HEADER.fullmatch(line)
        if match is None:
            raise self.error(
                number, "expected the first line 'EXTRACTION <APPLICATION> - DEPARTEMENT <NNN>'"
            )
        self.application = match["application"]
        self.departement = match["departement"]

    def read_timestamp(self, text: str, keyword: str, number: int) -> datetime:
        try:
            return datetime.strptime(text.strip(), TIMESTAMP_FORMAT)
        except ValueError:
            raise self.error(
                number, f"{keyword} time {text.strip()!r} is not a date-time dd/mm/yyyy hh:mm:ss"
            ) from None

    def read_table(self, body: str, number: int) -> None:
        if self.started_at is None:
            raise self.error(number, "TABLE line before the DEBUT line")
        if self.finished_at is not None:
            raise self.error(number, "TABLE line after the FIN line")
        parts = body.split(";")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise self.error(number, "expected 'TABLE <table>;<file>;<number of records>'")
        table, file_name, count = parts
        if not re.fullmatch(r"[0-9]+", count):
            raise self.error(number, f"record count {count!r} of table {table} is not a number")
        if table in self.tables:
            first = self.tables[table].line
            raise self.error(number, f"table {table} is already listed on line {first}")
        self.tables[table] = TableCount(table, file_name, int(count), number)

    def result(self, path: Path | None) -> ExtractionLog:
        if self.application is None or self.departement is None:
            raise ExtractionLogError(f"{self.name}: the extraction log is empty")
        if self.started_at is None:
            raise ExtractionLogError(f"{self.name}: the log has no DEBUT line")
        if self.finished_at is None or self.return_code is None:
            logger.warning(
                "%s has no FIN or CODE RETOUR line: the extraction did not finish", self.name
            )
        return ExtractionLog(
            application=self.application,
            departement=self.departement,
            started_at=self.started_at,
            finished_at=self.finished_at,
            return_code=self.return_code,
            tables=self.tables,
            path=path,
        )


def parse_extraction_log(path: Path, encoding: str = "cp1252") -> ExtractionLog:
    """Parse an extraction log file.

    Args:
        path: The log file (plaintext).
        encoding: Text encoding of the log.

    Raises:
        ExtractionLogError: The file is missing, cannot be decoded, or a line does not follow
            the layout; the message names the file and the line.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ExtractionLogError(f"{path}: extraction log not found") from None
    return parse_extraction_log_bytes(raw, name=path.name, encoding=encoding, path=path)


def parse_extraction_log_bytes(
    raw: bytes, *, name: str, encoding: str = "cp1252", path: Path | None = None
) -> ExtractionLog:
    """Parse the bytes of an extraction log; ``name`` is used in error messages."""
    parser = _LogParser(name)
    for number, raw_line in enumerate(raw.split(b"\n"), start=1):
        try:
            line = raw_line.decode(encoding)
        except UnicodeDecodeError as error:
            raise parser.error(
                number,
                f"byte at column {error.start + 1} is not valid {encoding}; check the encoding",
            ) from None
        line = line.rstrip("\r").strip()
        if line:
            parser.feed(line, number)
    return parser.result(path)
