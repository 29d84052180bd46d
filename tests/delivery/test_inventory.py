"""Inventory of a decrypted delivery: encodings, records, headers, log counts, missing tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration.delivery.intake import inspect_delivery
from migration.delivery.inventory import (
    CHUNK_SIZE,
    DEFECT,
    REMARK,
    DeliveryInventory,
    inventory_delivery,
    scan_bytes,
)
from tests.delivery.helpers import (
    DOSSIER_PLAINTEXT,
    FIXTURE_PASSWORD,
    FIXTURES,
    LOG_PLAINTEXT,
    build_delivery,
    write_manifest,
)

MINI = {"ITAC": str(FIXTURES / "mini_itac.yaml")}
CONFIG_PLAIN = 'departement: "057"\nchiffrement: {format: none}\napplications:\n  ITAC: {}\n'
ARCHIVE_CSV = b"NUM_DOSSIER\r\n5700000009\r\n"
REF_CSV = b"ref;etalab;3;2008-10-14\r\na;01\r\nb;02;deux\r\nb;03;trois\r\n"
LOG = (
    "EXTRACTION ITAC - DEPARTEMENT 057\r\nDEBUT 14/10/2008 22:01:17\r\n"
    "TABLE DOSSIER;DOSSIER.csv;3\r\nTABLE ARCHIVE;ARCHIVE.csv;1\r\nTABLE REF;REF.csv;3\r\n"
    "FIN 14/10/2008 22:14:02\r\nCODE RETOUR 0\r\n"
)


def plain_delivery(tmp_path: Path, files: dict[str, bytes]) -> Path:
    delivery = tmp_path / "delivery"
    (delivery / "ITAC").mkdir(parents=True)
    (delivery / "livraison.yaml").write_text(CONFIG_PLAIN, encoding="utf-8")
    for name, data in files.items():
        (delivery / "ITAC" / name).write_bytes(data)
    write_manifest(delivery)
    return delivery


def good_files(**changes: bytes | None) -> dict[str, bytes]:
    files = {
        "DOSSIER.csv": DOSSIER_PLAINTEXT,
        "ARCHIVE.csv": ARCHIVE_CSV,
        "REF.csv": REF_CSV,
        "EXTRACTION_ITAC.log": LOG.encode("cp1252"),
    }
    files.update(changes)  # type: ignore[arg-type]
    return {name: data for name, data in files.items() if data is not None}


def take_inventory(tmp_path: Path, files: dict[str, bytes]) -> DeliveryInventory:
    delivery = plain_delivery(tmp_path, files)
    opened = inspect_delivery(delivery, "unused", tmp_path / "work")
    return inventory_delivery(opened, MINI)


def codes(inventory: DeliveryInventory, severity: str | None = None) -> list[str]:
    return sorted(
        finding.code
        for finding in inventory.all_findings
        if severity is None or finding.severity == severity
    )


def test_conforming_delivery(tmp_path: Path) -> None:
    inventory = take_inventory(tmp_path, good_files())

    itac = inventory.applications["ITAC"]
    dossier = itac.files["DOSSIER.csv"]
    assert codes(inventory) == []
    assert inventory.conforming
    assert dossier.encoding == "cp1252"
    assert dossier.line_endings == "CRLF"
    assert dossier.delimiter == ";"
    assert dossier.header_ok
    assert dossier.readable
    assert dossier.complete
    assert dossier.matches_manifest
    assert itac.files["EXTRACTION_ITAC.log"].role == "log"
    assert itac.files["ARCHIVE.csv"].encoding == "ascii"


def test_records_not_physical_lines(tmp_path: Path) -> None:
    # DOSSIER.csv has a quoted field with a CRLF inside: 5 physical lines, 3 records.
    assert DOSSIER_PLAINTEXT.count(b"\r\n") == 5

    dossier = take_inventory(tmp_path, good_files()).applications["ITAC"].files["DOSSIER.csv"]

    assert dossier.records == 3
    assert dossier.log_records == 3


def test_tagged_file_counted_by_tag(tmp_path: Path) -> None:
    ref = take_inventory(tmp_path, good_files()).applications["ITAC"].files["REF.csv"]

    assert ref.tables == ["REF_A", "REF_B"]
    assert ref.records == 3
    assert ref.records_by_table == {"REF_A": 1, "REF_B": 2}
    assert ref.header_ok is None


def test_missing_table_is_defect(tmp_path: Path) -> None:
    inventory = take_inventory(tmp_path, good_files(**{"ARCHIVE.csv": None}))

    missing = [f for f in inventory.all_findings if f.code == "table.missing"]
    assert len(missing) == 1
    assert missing[0].severity == DEFECT
    assert missing[0].file == "ARCHIVE.csv"
    assert missing[0].params == {"tables": ["ARCHIVE"]}
    assert not inventory.conforming


def test_unexpected_file_is_remark(tmp_path: Path) -> None:
    inventory = take_inventory(tmp_path, good_files(**{"NOTES.txt": b"notes\r\n"}))

    assert codes(inventory) == ["file.unexpected"]
    assert codes(inventory, REMARK) == ["file.unexpected"]
    assert inventory.conforming


def test_utf8_file_is_encoding_mismatch(tmp_path: Path) -> None:
    utf8 = DOSSIER_PLAINTEXT.decode("cp1252").encode("utf-8")

    inventory = take_inventory(tmp_path, good_files(**{"DOSSIER.csv": utf8}))

    dossier = inventory.applications["ITAC"].files["DOSSIER.csv"]
    assert dossier.encoding == "utf-8"
    assert not dossier.readable
    # Read as the declared Windows-1252, each accent becomes two characters such as "Ã©".
    assert codes(inventory) == ["encoding.mismatch", "text.mojibake"]


def test_undecodable_byte_located(tmp_path: Path) -> None:
    # 0x81 is undefined in Windows-1252 and not valid UTF-8 after an ASCII byte.
    data = DOSSIER_PLAINTEXT.replace(b"3 place", b"3 pl\x81ce")

    inventory = take_inventory(tmp_path, good_files(**{"DOSSIER.csv": data}))

    finding = next(f for f in inventory.all_findings if f.code == "encoding.invalid")
    assert finding.params["line"] == 5
    assert finding.params["offset"] == data.index(b"\x81")
    assert inventory.applications["ITAC"].files["DOSSIER.csv"].records == 3


def test_mojibake_counted(tmp_path: Path) -> None:
    # UTF-8 bytes of "é" saved through Windows-1252: "Ã©".
    data = DOSSIER_PLAINTEXT.replace("LEFÈVRE".encode("cp1252"), "LEFÃ©VRE".encode("cp1252"))

    inventory = take_inventory(tmp_path, good_files(**{"DOSSIER.csv": data}))

    finding = next(f for f in inventory.all_findings if f.code == "text.mojibake")
    assert finding.severity == REMARK
    assert finding.params == {"count": 1, "line": 2}
    assert "LEF" not in finding.message


def test_header_mismatch_names_columns(tmp_path: Path) -> None:
    data = DOSSIER_PLAINTEXT.replace(b"PRENOMS", b"PRENOM")

    inventory = take_inventory(tmp_path, good_files(**{"DOSSIER.csv": data}))

    finding = next(f for f in inventory.all_findings if f.code == "csv.header")
    assert finding.params["missing"] == ["PRENOMS"]
    assert finding.params["unexpected"] == ["PRENOM"]
    assert finding.params["line"] == 1


def test_bom_reported(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + ARCHIVE_CSV

    inventory = take_inventory(tmp_path, good_files(**{"ARCHIVE.csv": data}))

    # Read as the declared Windows-1252, the BOM sticks to the first column name.
    assert codes(inventory) == ["csv.header", "encoding.bom", "encoding.mismatch"]
    header = next(f for f in inventory.all_findings if f.code == "csv.header")
    assert header.params["missing"] == ["NUM_DOSSIER"]


def test_wrong_delimiter(tmp_path: Path) -> None:
    data = DOSSIER_PLAINTEXT.replace(b";", b",")

    inventory = take_inventory(tmp_path, good_files(**{"DOSSIER.csv": data}))

    dossier = inventory.applications["ITAC"].files["DOSSIER.csv"]
    assert dossier.delimiter == ","
    assert "csv.delimiter" in codes(inventory, DEFECT)


def test_count_differs_from_log(tmp_path: Path) -> None:
    log = LOG.replace("DOSSIER.csv;3", "DOSSIER.csv;4").encode()

    inventory = take_inventory(tmp_path, good_files(**{"EXTRACTION_ITAC.log": log}))

    finding = next(f for f in inventory.all_findings if f.code == "count.log_mismatch")
    assert finding.params == {"records": 3, "expected": 4, "line": 3}
    assert inventory.applications["ITAC"].files["DOSSIER.csv"].complete is False


def test_unparsable_record_counts_for_log(tmp_path: Path) -> None:
    # An opening quote that is never closed: the third record runs to the end of the file.
    data = DOSSIER_PLAINTEXT.replace(b"5700000003;", b'5700000003;"')

    inventory = take_inventory(tmp_path, good_files(**{"DOSSIER.csv": data}))

    dossier = inventory.applications["ITAC"].files["DOSSIER.csv"]
    assert dossier.malformed_records == 1
    assert dossier.complete is True
    assert "count.log_mismatch" not in codes(inventory)


def test_last_record_without_line_end_is_defect(tmp_path: Path) -> None:
    # Cut inside the last field: the record count and the field count still hold.
    data = DOSSIER_PLAINTEXT[:-4]

    inventory = take_inventory(tmp_path, good_files(**{"DOSSIER.csv": data}))

    finding = next(f for f in inventory.all_findings if f.code == "csv.truncated")
    assert finding.severity == DEFECT
    assert finding.params == {"line": 5}  # the second record spans lines 3 and 4
    assert "the file may be truncated; claim a new delivery" in finding.message
    assert not inventory.conforming
    assert inventory.applications["ITAC"].files["DOSSIER.csv"].complete is True


@pytest.mark.parametrize(
    "data",
    [ARCHIVE_CSV, b"NUM_DOSSIER\r\n", b"NUM_DOSSIER"],
    ids=["line end", "header only", "header without line end"],
)
def test_final_line_end_or_no_record_passes(tmp_path: Path, data: bytes) -> None:
    inventory = take_inventory(tmp_path, good_files(**{"ARCHIVE.csv": data}))

    assert "csv.truncated" not in codes(inventory)


@pytest.mark.parametrize(
    ("log", "code"),
    [
        (LOG.replace("CODE RETOUR 0", "CODE RETOUR 12"), "log.return_code"),
        (LOG.replace("FIN 14/10/2008 22:14:02\r\nCODE RETOUR 0\r\n", ""), "log.unfinished"),
        (LOG.replace("DEPARTEMENT 057", "DEPARTEMENT 067"), "log.departement"),
        (LOG.replace("TABLE REF;", "TABLE AUTRE;AUTRE.csv;2\r\nTABLE REF;"), "log.file_missing"),
        (LOG.replace("DEBUT", "ERREUR"), "log.invalid"),
        (None, "log.missing"),
    ],
)
def test_log_defects(tmp_path: Path, log: str | None, code: str) -> None:
    data = None if log is None else log.encode()

    inventory = take_inventory(tmp_path, good_files(**{"EXTRACTION_ITAC.log": data}))

    assert code in codes(inventory, DEFECT)


def test_manifest_problems(tmp_path: Path) -> None:
    delivery = plain_delivery(tmp_path, good_files())
    (delivery / "ITAC" / "ARCHIVE.csv").unlink()
    (delivery / "ITAC" / "REF.csv").write_bytes(REF_CSV + b"a;04\r\n")

    inventory = inventory_delivery(inspect_delivery(delivery, "unused", tmp_path / "w"), MINI)

    assert "manifest.missing_file" in codes(inventory, DEFECT)
    assert "manifest.mismatch" in codes(inventory, DEFECT)
    assert inventory.applications["ITAC"].files["REF.csv"].matches_manifest is False


def test_no_manifest_is_remark(tmp_path: Path) -> None:
    delivery = plain_delivery(tmp_path, good_files())
    (delivery / "SHA256SUMS").unlink()

    inventory = inventory_delivery(inspect_delivery(delivery, "unused", tmp_path / "w"), MINI)

    assert codes(inventory) == ["manifest.absent"]
    assert inventory.conforming


def test_failed_file_not_reported_missing(tmp_path: Path) -> None:
    delivery = build_delivery(
        tmp_path,
        {
            "ITAC/DOSSIER.csv.enc": "pbkdf2-sha256.csv.enc",
            "ITAC/ARCHIVE.csv.enc": "bloc32.csv.enc",
            "ITAC/EXTRACTION_ITAC.log.enc": "EXTRACTION_ITAC.log.enc",
        },
    )
    damaged = delivery / "ITAC" / "ARCHIVE.csv.enc"
    damaged.write_bytes(damaged.read_bytes()[:-1])
    write_manifest(delivery)

    opened = inspect_delivery(delivery, FIXTURE_PASSWORD, tmp_path / "work")
    inventory = inventory_delivery(opened, MINI)

    assert "file.truncated" in codes(inventory, DEFECT)
    assert "table.missing" in codes(inventory)  # REF.csv only
    missing = [f.file for f in inventory.all_findings if f.code == "table.missing"]
    assert missing == ["REF.csv"]
    assert opened.applications["ITAC"].files["EXTRACTION_ITAC.log"].plaintext_path.read_bytes() == (
        LOG_PLAINTEXT
    )


def test_scan_across_chunk_boundary(tmp_path: Path) -> None:
    # A CRLF and a two-byte UTF-8 character both straddle the 1 MiB read boundary.
    path = tmp_path / "big.csv"
    path.write_bytes(b"a" * (CHUNK_SIZE - 1) + b"\r\n" + b"x" * (CHUNK_SIZE - 1) + "é\r\n".encode())

    scan = scan_bytes(path)

    assert scan.encoding == "utf-8"
    assert scan.crlf == 2
    assert scan.lf == 0
    assert scan.cr == 0
    assert scan.line_endings == "CRLF"


def test_scan_truncated_utf8_at_end(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_bytes(b"abc\r\n" + "é".encode()[:1])

    scan = scan_bytes(path)

    assert scan.encoding == "cp1252"
    assert scan.utf8_error == (2, 5)


def test_scan_mixed_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"a\r\nb\nc\rd\r\n")

    scan = scan_bytes(path)

    assert (scan.crlf, scan.lf, scan.cr) == (2, 1, 1)
    assert scan.line_endings == "mixed"
