"""Inventory of a decrypted delivery against its data dictionaries and extraction logs.

``openssl enc`` in CBC mode has no integrity check, and a damaged block can decrypt to text, so
the plaintext itself is verified:

- every table file the dictionary names is present, and files it does not name are listed;
- each file is decoded whole, strictly, as UTF-8 and then as Windows-1252 (never with errors
  ignored): the encoding found is compared with the dictionary's;
- its line endings, NUL bytes, byte order mark and mojibake signatures (UTF-8 read as
  Windows-1252, such as ``Ã©``) are counted;
- its records are counted with the ``csv`` module (a quoted field may span lines, so records
  are not physical lines), its header is compared with the dictionary's columns and its
  delimiter with the declared one;
- a last record without a line end, after lines that end with one, is a defect because the
  file may have been cut inside it;
- the record count is compared with the extraction log, and each delivered file with the
  SHA256SUMS manifest.

Each problem is a ``Finding``. A ``defect`` is a technical non-conformity of the delivery, the
kind a claim to the sender may list. A ``remark`` is worth knowing but is no ground for a claim,
because data quality is the receiver's business. Findings carry counts, line numbers, file and
column names, never a value of the data.
"""

from __future__ import annotations

import codecs
import csv
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from migration.delivery.config import same_departement
from migration.delivery.intake import (
    ERROR_MANIFEST,
    ApplicationDelivery,
    DecryptedFile,
    DeliveredFile,
    Delivery,
)
from migration.delivery.unpack import plaintext_name
from migration.dictionary.model import Dictionary, Table, load_dictionary

logger = logging.getLogger(__name__)

DEFECT = "defect"
REMARK = "remark"

CHUNK_SIZE = 1 << 20
DELIMITER_CANDIDATES = (";", ",", "\t", "|")
# Windows-1252 characters for the bytes 0x80-0x9F, which UTF-8 continuation bytes become.
_CP1252_C1 = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
# UTF-8 text decoded as Windows-1252 or Latin-1: Ã or Â then a continuation byte's character,
# â€ then one (curly quotes, dashes), and the replacement character of a lossy conversion.
MOJIBAKE = re.compile(
    "Ã[\u00a0-\u00bf" + _CP1252_C1 + "]|Â[\u00a0-\u00bf]|â€[" + _CP1252_C1 + "\u00a0-\u00bf]|\ufffd"
)
_MOJIBAKE_STARTS = ("Ã", "Â", "â€", "\ufffd")


@dataclass(frozen=True)
class Finding:
    """One result of the inventory: a defect or a remark, with JSON-ready parameters.

    ``message`` is English, for logs and the command line; ``code`` and ``params`` let a
    report word it in another language.
    """

    code: str
    severity: str
    message: str
    application: str | None = None
    file: str | None = None
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ByteScan:
    """Result of one pass over a file's bytes: encoding, line endings, NUL bytes, BOM.

    ``encoding`` is ``"ascii"``, ``"utf-8"``, ``"utf-8-sig"`` (with a byte order mark),
    ``"cp1252"`` or ``None`` when the file decodes in neither. The ``*_error`` values are
    ``(line, byte offset)`` of the first byte that does not decode.
    """

    size: int
    encoding: str | None
    utf8_error: tuple[int, int] | None
    cp1252_error: tuple[int, int] | None
    bom: bool
    crlf: int
    lf: int
    cr: int
    nul: int

    @property
    def line_endings(self) -> str:
        """``"CRLF"``, ``"LF"``, ``"CR"``, ``"mixed"`` or ``"none"``."""
        kinds = [
            name for name, count in (("CRLF", self.crlf), ("LF", self.lf), ("CR", self.cr)) if count
        ]
        if not kinds:
            return "none"
        return kinds[0] if len(kinds) == 1 else "mixed"


@dataclass
class FileInventory:
    """The checks of one plaintext file. ``role`` is ``"table"``, ``"log"`` or ``"unexpected"``.

    ``records`` counts the records after the skipped lines and the header (all tags of a tagged
    file). ``readable`` means decrypted, decoded whole in the declared encoding, parsed, with the
    expected header. ``complete`` means the record count matches the extraction log, and is
    ``None`` without a count to compare.
    """

    application: str
    name: str
    role: str
    size: int
    sha256: str
    delivered: str | None
    sha256_delivered: str | None
    manifest_status: str | None
    layers: tuple[str, ...] = ()
    tables: list[str] = field(default_factory=list)
    encoding: str | None = None
    declared_encoding: str | None = None
    bom: bool = False
    line_endings: str | None = None
    line_ending_counts: dict[str, int] = field(default_factory=dict)
    delimiter: str | None = None
    declared_delimiter: str | None = None
    records: int | None = None
    records_by_table: dict[str, int] = field(default_factory=dict)
    header_ok: bool | None = None
    blank_lines: int = 0
    field_count_mismatches: int = 0
    unknown_tag_records: int = 0
    malformed_records: int = 0
    mojibake_lines: int = 0
    nul_bytes: int = 0
    log_records: int | None = None
    readable: bool = True
    complete: bool | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def conforming(self) -> bool:
        return not any(finding.severity == DEFECT for finding in self.findings)

    @property
    def matches_manifest(self) -> bool | None:
        """Whether SHA256SUMS lists the delivered file with this SHA-256; ``None`` if unlisted."""
        return None if self.manifest_status in (None, "absent") else self.manifest_status == "ok"

    def add(self, finding_code: str, severity: str, message: str, **params: object) -> None:
        self.findings.append(
            Finding(
                finding_code,
                severity,
                f"{self.application}/{self.name}: {message}",
                self.application,
                self.name,
                dict(params),
            )
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["conforming"] = self.conforming
        data["matches_manifest"] = self.matches_manifest
        data["layers"] = list(self.layers)
        return data


@dataclass
class ApplicationInventory:
    """The inventory of one application: its files and the findings that concern it."""

    name: str
    dictionary: str
    dictionary_version: str
    files: dict[str, FileInventory]
    delivered: list[DeliveredFile]
    log: dict | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def all_findings(self) -> list[Finding]:
        return [*self.findings, *(f for file in self.files.values() for f in file.findings)]


@dataclass
class DeliveryInventory:
    """The inventory of a whole delivery."""

    path: str
    departement: str | None
    manifest_present: bool
    applications: dict[str, ApplicationInventory]
    findings: list[Finding] = field(default_factory=list)

    @property
    def all_findings(self) -> list[Finding]:
        found = list(self.findings)
        for application in self.applications.values():
            found += application.all_findings
        return found

    @property
    def defects(self) -> list[Finding]:
        return [finding for finding in self.all_findings if finding.severity == DEFECT]

    @property
    def conforming(self) -> bool:
        return not self.defects


def inventory_delivery(
    delivery: Delivery, dictionaries: Mapping[str, str | Path] | None = None
) -> DeliveryInventory:
    """Check every plaintext file of an opened delivery against its dictionary and log.

    Args:
        delivery: The result of ``inspect_delivery`` (or ``open_delivery``); its plaintext
            files must still exist.
        dictionaries: Data dictionary (bundled name or path) per application, replacing the
            one livraison.yaml names.

    Raises:
        DictionaryError: A data dictionary cannot be loaded.
    """
    dictionaries = dictionaries or {}
    inventory = DeliveryInventory(
        path=str(delivery.path),
        departement=delivery.departement,
        manifest_present=delivery.manifest_present,
        applications={},
    )
    if not delivery.manifest_present:
        inventory.findings.append(
            Finding(
                "manifest.absent",
                REMARK,
                "the delivery has no SHA256SUMS manifest: the files cannot be checked against "
                "the sender's checksums",
            )
        )
    folders = {
        settings["dossier"]: name for name, settings in delivery.config["applications"].items()
    }
    for missing in delivery.missing:
        top = missing.split("/", 1)[0].split(".", 1)[0]
        inventory.findings.append(
            Finding(
                "manifest.missing_file",
                DEFECT,
                f"{missing} is listed in SHA256SUMS but missing from the delivery",
                application=folders.get(top),
                file=missing,
                params={"path": missing},
            )
        )
    for name, application in delivery.applications.items():
        dictionary = load_dictionary(dictionaries.get(name, application.dictionary))
        inventory.applications[name] = _inventory_application(
            application, dictionary, delivery.departement, delivery.manifest_present
        )
    return inventory


def _inventory_application(
    application: ApplicationDelivery,
    dictionary: Dictionary,
    departement: str | None,
    manifest_present: bool,
) -> ApplicationInventory:
    name = application.name
    result = ApplicationInventory(
        name=name,
        dictionary=str(dictionary.path.name),
        dictionary_version=dictionary.version,
        files={},
        delivered=application.delivered,
        log=_log_summary(application),
    )
    tables_by_file: dict[str, list[Table]] = {}
    for table in dictionary.tables.values():
        tables_by_file.setdefault(table.file, []).append(table)
    log_counts = (
        {count.file: count for count in application.log.tables.values()} if application.log else {}
    )

    failed = [file for file in application.delivered if not file.ok]
    for delivered in application.delivered:
        if delivered.error is not None:
            result.findings.append(_delivered_finding(delivered))
        elif manifest_present and delivered.manifest_status == "absent":
            result.findings.append(
                Finding(
                    "manifest.unlisted",
                    REMARK,
                    f"{delivered.relative} is not listed in SHA256SUMS",
                    name,
                    delivered.relative,
                    {"path": delivered.relative},
                )
            )
    # Files that a failed delivered file would have given: a failed archive may hold any.
    lost = {plaintext_name(file.path.name) for file in failed}
    archive_failed = any(
        name_ not in tables_by_file and name_ != application.journal for name_ in lost
    )

    for file_name, decrypted in sorted(application.files.items()):
        tables = tables_by_file.get(file_name, [])
        if tables:
            role = "table"
        elif file_name == application.journal:
            role = "log"
        else:
            role = "unexpected"
        inventory = _new_file_inventory(decrypted, role, tables)
        result.files[file_name] = inventory
        if role == "unexpected":
            inventory.add(
                "file.unexpected",
                REMARK,
                "file not described by the data dictionary",
                name=file_name,
            )
            continue
        scan = scan_bytes(decrypted.plaintext_path)
        _record_scan(inventory, scan, tables[0] if tables else None)
        if role == "table":
            _check_records(inventory, decrypted.plaintext_path, tables, scan)
            _compare_with_log(inventory, log_counts.get(file_name), application.log is not None)

    for file_name, tables in tables_by_file.items():
        if file_name in application.files or file_name in lost or archive_failed:
            continue
        result.findings.append(
            Finding(
                "table.missing",
                DEFECT,
                f"{name}/{file_name}: table file missing from the delivery "
                f"({', '.join(table.name for table in tables)})",
                name,
                file_name,
                {"tables": [table.name for table in tables]},
            )
        )
    _check_log(result, application, departement, tables_by_file, lost, archive_failed)
    return result


def _new_file_inventory(decrypted: DecryptedFile, role: str, tables: list[Table]) -> FileInventory:
    return FileInventory(
        application=decrypted.application,
        name=decrypted.name,
        role=role,
        size=decrypted.size_plaintext,
        sha256=decrypted.sha256_plaintext,
        delivered=decrypted.delivered,
        sha256_delivered=decrypted.sha256_encrypted,
        manifest_status=decrypted.manifest_status,
        layers=decrypted.layers,
        tables=[table.name for table in tables],
    )


def _delivered_finding(delivered: DeliveredFile) -> Finding:
    kind = delivered.error_kind or "format"
    code = "manifest.mismatch" if kind == ERROR_MANIFEST else f"file.{kind}"
    return Finding(
        code,
        DEFECT,
        delivered.error or "",
        delivered.application,
        delivered.relative,
        {"path": delivered.relative, "format": delivered.format},
    )


def _log_summary(application: ApplicationDelivery) -> dict | None:
    log = application.log
    if log is None:
        return None
    return {
        "file": application.journal,
        "application": log.application,
        "departement": log.departement,
        "started_at": log.started_at.isoformat(),
        "finished_at": log.finished_at.isoformat() if log.finished_at else None,
        "return_code": log.return_code,
        "tables": {table: count.records for table, count in log.tables.items()},
    }


def _check_log(
    result: ApplicationInventory,
    application: ApplicationDelivery,
    departement: str | None,
    tables_by_file: dict[str, list[Table]],
    lost: set[str],
    archive_failed: bool,
) -> None:
    name = application.name
    journal = application.journal

    def add(finding_code: str, message: str, **params: object) -> None:
        text = f"{name}/{journal}: {message}"
        result.findings.append(Finding(finding_code, DEFECT, text, name, journal, dict(params)))

    if application.log_error is not None:
        add("log.invalid", application.log_error.split(": ", 1)[-1], reason=application.log_error)
        return
    log = application.log
    if log is None:
        if journal not in lost and not archive_failed:
            add("log.missing", "extraction log missing from the delivery")
        return
    if log.finished_at is None or log.return_code is None:
        add(
            "log.unfinished",
            "the extraction log has no FIN or CODE RETOUR line: the batch did not finish",
        )
    elif log.return_code != 0:
        add(
            "log.return_code",
            f"the extraction ended with CODE RETOUR {log.return_code}",
            code=log.return_code,
        )
    if log.application != name:
        add(
            "log.application", f"the log names application {log.application}", found=log.application
        )
    if departement and not same_departement(log.departement, departement):
        add(
            "log.departement",
            f"the log names département {log.departement}, the delivery {departement}",
            found=log.departement,
            expected=departement,
        )
    for count in log.tables.values():
        if count.file in application.files or count.file in lost or archive_failed:
            continue
        if count.file in tables_by_file:
            continue  # already reported as table.missing
        add(
            "log.file_missing",
            f"line {count.line} lists {count.file}, which is not in the delivery",
            line=count.line,
            listed=count.file,
        )


def _record_scan(inventory: FileInventory, scan: ByteScan, table: Table | None) -> None:
    declared = _codec_name(table.encoding if table else "cp1252")
    inventory.encoding = scan.encoding
    inventory.declared_encoding = declared
    inventory.bom = scan.bom
    inventory.line_endings = scan.line_endings
    inventory.line_ending_counts = {"crlf": scan.crlf, "lf": scan.lf, "cr": scan.cr}
    inventory.nul_bytes = scan.nul

    if scan.encoding is None:
        line, offset = (scan.utf8_error if declared == "utf-8" else scan.cp1252_error) or (0, 0)
        inventory.readable = False
        inventory.add(
            "encoding.invalid",
            DEFECT,
            f"line {line}: byte at offset {offset} is not valid {declared} (nor UTF-8 or "
            "Windows-1252): the file cannot be decoded",
            line=line,
            offset=offset,
            expected=declared,
        )
    elif scan.encoding != "ascii" and _codec_name(scan.encoding) != declared:
        inventory.readable = False
        inventory.add(
            "encoding.mismatch",
            DEFECT,
            f"the file is {scan.encoding}, the data dictionary declares {declared}",
            found=scan.encoding,
            expected=declared,
        )
    if scan.bom:
        inventory.add("encoding.bom", REMARK, "the file starts with a UTF-8 byte order mark")
    if scan.nul:
        inventory.add("text.nul", REMARK, f"{scan.nul} NUL bytes", count=scan.nul)
    if scan.line_endings == "mixed":
        inventory.add(
            "text.line_endings",
            REMARK,
            f"mixed line endings ({scan.crlf} CRLF, {scan.lf} LF, {scan.cr} CR)",
            crlf=scan.crlf,
            lf=scan.lf,
            cr=scan.cr,
        )


def _codec_name(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return {"utf-8-sig": "utf-8"}.get(name, name)


def scan_bytes(path: Path) -> ByteScan:
    """Read a file once and find its encoding, line endings, NUL bytes and byte order mark.

    The whole file is decoded, strictly, as UTF-8 and as Windows-1252: a file is UTF-8 only
    when every byte decodes as UTF-8.
    """
    decoders = {
        "utf-8": codecs.getincrementaldecoder("utf-8")("strict"),
        "cp1252": codecs.getincrementaldecoder("cp1252")("strict"),
    }
    errors: dict[str, int] = {}
    size = crlf = lf = cr = nul = 0
    ascii_only = True
    bom = False
    previous_cr = False
    with Path(path).open("rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK_SIZE), b""):
            if size == 0:
                bom = chunk.startswith(codecs.BOM_UTF8)
            crlf += chunk.count(b"\r\n") + (1 if previous_cr and chunk.startswith(b"\n") else 0)
            lf += chunk.count(b"\n")
            cr += chunk.count(b"\r")
            nul += chunk.count(b"\0")
            previous_cr = chunk.endswith(b"\r")
            ascii_only = ascii_only and chunk.isascii()
            for name, decoder in decoders.items():
                if name in errors:
                    continue
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as error:
                    pending = len(error.object) - len(chunk)
                    errors[name] = size - pending + error.start
            size += len(chunk)
    for name, decoder in decoders.items():
        if name not in errors:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as error:
                errors[name] = size - len(error.object) + error.start

    encoding: str | None
    if "utf-8" not in errors and ascii_only:
        encoding = "ascii"
    elif "utf-8" not in errors:
        encoding = "utf-8-sig" if bom else "utf-8"
    elif "cp1252" not in errors:
        encoding = "cp1252"
    else:
        encoding = None
    located = {name: (_line_of_offset(path, offset), offset) for name, offset in errors.items()}
    return ByteScan(
        size=size,
        encoding=encoding,
        utf8_error=located.get("utf-8"),
        cp1252_error=located.get("cp1252"),
        bom=bom,
        crlf=crlf,
        lf=lf - crlf,
        cr=cr - crlf,
        nul=nul,
    )


def _line_of_offset(path: Path, offset: int) -> int:
    line = 1
    remaining = offset
    with Path(path).open("rb") as stream:
        while remaining > 0:
            chunk = stream.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            line += chunk.count(b"\n")
            remaining -= len(chunk)
    return line


def _check_records(
    inventory: FileInventory, path: Path, tables: list[Table], scan: ByteScan
) -> None:
    """Count records with the csv module; check header, delimiter, tags and field counts."""
    table = tables[0]
    inventory.declared_delimiter = table.delimiter
    # Undecodable files are parsed as Latin-1, which maps every byte to one character: the
    # record structure (delimiters, quotes, line ends are ASCII) is the same in any
    # ASCII-compatible encoding, so the counts still hold.
    # The records are parsed in the declared encoding when the whole file decodes in it, as
    # the reading step will, so a byte order mark or a UTF-8 file shows as it will be read.
    declared = _codec_name(table.encoding)
    decodes = {"utf-8": scan.utf8_error is None, "cp1252": scan.cp1252_error is None}
    encoding = table.encoding if decodes.get(declared) else scan.encoding or "latin-1"
    tags = {t.record_tag: t for t in tables if t.record_tag is not None}
    counts = {t.name: 0 for t in tables}
    first_mojibake: int | None = None
    first_malformed: int | None = None
    # Start line of the record read last, when it is a data record.
    last_record: int | None = None
    records = 0
    header_seen = not table.header

    with path.open("r", encoding=encoding, errors="strict", newline="") as handle:
        for _ in range(table.skip_lines):
            handle.readline()
        physical = [table.skip_lines]

        def lines() -> Iterator[str]:
            nonlocal first_mojibake
            for line in handle:
                physical[0] += 1
                if any(start in line for start in _MOJIBAKE_STARTS) and MOJIBAKE.search(line):
                    inventory.mojibake_lines += 1
                    if first_mojibake is None:
                        first_mojibake = physical[0]
                if first_line[0] is None:
                    first_line[0] = line
                last_line[0] = line
                yield line

        first_line: list[str | None] = [None]
        last_line: list[str] = [""]
        reader = csv.reader(
            lines(), delimiter=table.delimiter, quotechar='"', doublequote=True, strict=True
        )
        while True:
            start = physical[0] + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error:
                inventory.malformed_records += 1
                first_malformed = first_malformed or start
                last_record = None
                continue
            last_record = None
            if not fields:
                inventory.blank_lines += 1
                continue
            if not header_seen:
                header_seen = True
                _check_header(inventory, fields, table, start)
                continue
            records += 1
            last_record = start
            if tags:
                tagged = tags.get(fields[0])
                if tagged is None:
                    inventory.unknown_tag_records += 1
                    continue
                counts[tagged.name] += 1
                expected = len(tagged.columns)
            else:
                counts[table.name] += 1
                expected = len(table.columns)
            if len(fields) != expected:
                inventory.field_count_mismatches += 1

    inventory.records = records
    inventory.records_by_table = counts
    # Only the last line of a file can lack a line end, so a record that starts after line 1
    # follows lines that end with one: the file was most likely cut inside that record.
    if last_record is not None and last_record > 1 and not last_line[0].endswith(("\n", "\r")):
        inventory.add(
            "csv.truncated",
            DEFECT,
            f"line {last_record}: the last record has no line end, unlike the lines before it: "
            "the file may be truncated; claim a new delivery from the sender",
            line=last_record,
        )
    inventory.delimiter = _sniff_delimiter(first_line[0] or "")
    if inventory.delimiter is not None and inventory.delimiter != table.delimiter:
        inventory.readable = False
        inventory.add(
            "csv.delimiter",
            DEFECT,
            f"the fields are separated by {inventory.delimiter!r}, the data dictionary declares "
            f"{table.delimiter!r}",
            found=inventory.delimiter,
            expected=table.delimiter,
        )
    if inventory.malformed_records:
        inventory.add(
            "csv.malformed",
            REMARK,
            f"{inventory.malformed_records} records cannot be parsed (stray quote or NUL), the "
            f"first on line {first_malformed}",
            count=inventory.malformed_records,
            line=first_malformed,
        )
    if inventory.field_count_mismatches:
        inventory.add(
            "csv.field_count",
            REMARK,
            f"{inventory.field_count_mismatches} records do not have the dictionary's number of "
            "fields",
            count=inventory.field_count_mismatches,
        )
    if inventory.unknown_tag_records:
        inventory.add(
            "csv.unknown_tag",
            REMARK,
            f"{inventory.unknown_tag_records} records have a tag the dictionary does not know",
            count=inventory.unknown_tag_records,
        )
    if inventory.blank_lines:
        inventory.add(
            "text.blank_lines",
            REMARK,
            f"{inventory.blank_lines} blank lines",
            count=inventory.blank_lines,
        )
    if inventory.mojibake_lines:
        inventory.add(
            "text.mojibake",
            REMARK,
            f"{inventory.mojibake_lines} lines contain mojibake (UTF-8 read as Windows-1252, "
            f"such as Ã©), the first is line {first_mojibake}",
            count=inventory.mojibake_lines,
            line=first_mojibake,
        )


def _check_header(inventory: FileInventory, fields: list[str], table: Table, line: int) -> None:
    expected = table.column_names
    if fields == expected:
        inventory.header_ok = True
        return
    inventory.header_ok = False
    inventory.readable = False
    found = [name.lstrip("\ufeff") for name in fields]
    missing = [name for name in expected if name not in found]
    extra = [name for name in found if name not in expected]
    if not missing and not extra:
        detail = (
            "the columns are in another order"
            if found != expected
            else "a byte order mark precedes the first column"
        )
    else:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra[:10])}")
        detail = "; ".join(parts)
    inventory.add(
        "csv.header",
        DEFECT,
        f"line {line}: the header does not match the data dictionary ({detail})",
        line=line,
        missing=missing,
        unexpected=extra[:10],
        reordered=not missing and not extra,
    )


def _sniff_delimiter(line: str) -> str | None:
    counts = {candidate: line.count(candidate) for candidate in DELIMITER_CANDIDATES}
    best = max(counts, key=lambda candidate: counts[candidate])
    return best if counts[best] else None


def _compare_with_log(inventory: FileInventory, count, has_log: bool) -> None:
    if count is None:
        if has_log:
            inventory.add("log.file_unlisted", REMARK, "the extraction log does not list this file")
        return
    inventory.log_records = count.records
    # A record that cannot be parsed is still a record of the extraction, as `run` counts it.
    records = inventory.records + inventory.malformed_records
    inventory.complete = records == count.records
    if not inventory.complete:
        inventory.add(
            "count.log_mismatch",
            DEFECT,
            f"{records} records, the extraction log gives {count.records} (line {count.line})",
            records=records,
            expected=count.records,
            line=count.line,
        )
