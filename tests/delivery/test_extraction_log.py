"""Parsing of the extraction batch's log."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from migration.delivery.errors import ExtractionLogError
from migration.delivery.extraction_log import TableCount, parse_extraction_log
from tests.delivery.helpers import FIXTURES


def write_log(folder: Path, lines: list[str], newline: str = "\r\n") -> Path:
    path = folder / "EXTRACTION_ITAC.log"
    path.write_bytes((newline.join(lines) + newline).encode("cp1252"))
    return path


GOOD = [
    "EXTRACTION ITAC - DEPARTEMENT 057",
    "DEBUT 14/10/2008 22:01:17",
    "TABLE DOSSIER;DOSSIER.csv;412",
    "TABLE DEMANDE;DEMANDE.csv;1010",
    "FIN 14/10/2008 22:14:02",
    "CODE RETOUR 0",
]


def test_fixture_log_parsed() -> None:
    log = parse_extraction_log(FIXTURES / "EXTRACTION_ITAC.log")

    assert log.application == "ITAC"
    assert log.departement == "057"
    assert log.started_at == datetime(2008, 10, 14, 22, 1, 17)
    assert log.finished_at == datetime(2008, 10, 14, 22, 14, 2)
    assert log.return_code == 0
    assert log.tables == {"DOSSIER": TableCount("DOSSIER", "DOSSIER.csv", 3, 3)}
    assert log.succeeded


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_counts_and_lines_kept(tmp_path: Path, newline: str) -> None:
    log = parse_extraction_log(write_log(tmp_path, GOOD, newline))

    assert log.tables["DOSSIER"] == TableCount("DOSSIER", "DOSSIER.csv", 412, 3)
    assert log.tables["DEMANDE"] == TableCount("DEMANDE", "DEMANDE.csv", 1010, 4)
    assert log.path == tmp_path / "EXTRACTION_ITAC.log"


def test_unfinished_batch_read(tmp_path: Path) -> None:
    log = parse_extraction_log(write_log(tmp_path, GOOD[:4]))

    assert log.finished_at is None
    assert log.return_code is None
    assert len(log.tables) == 2
    assert not log.succeeded


def test_failed_batch_read(tmp_path: Path) -> None:
    log = parse_extraction_log(write_log(tmp_path, [*GOOD[:5], "CODE RETOUR 12"]))

    assert log.return_code == 12
    assert not log.succeeded


def test_blank_lines_and_spaces_ignored(tmp_path: Path) -> None:
    lines = ["", GOOD[0] + "  ", GOOD[1], "", *GOOD[2:], ""]

    log = parse_extraction_log(write_log(tmp_path, lines))

    assert log.tables["DOSSIER"].line == 5
    assert log.return_code == 0


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ["DEBUT 14/10/2008 22:01:17", *GOOD[1:]],
            r"line 1: expected the first line 'EXTRACTION <APPLICATION> - DEPARTEMENT <NNN>'",
        ),
        (
            [*GOOD[:2], "TABLE DOSSIER;DOSSIER.csv;4l2", *GOOD[3:]],
            r"line 3: record count '4l2' of table DOSSIER is not a number",
        ),
        (
            [*GOOD[:2], "TABLE DOSSIER;DOSSIER.csv", *GOOD[3:]],
            r"line 3: expected 'TABLE <table>;<file>;<number of records>'",
        ),
        (
            [GOOD[0], "DEBUT 31/02/2008 22:01:17", *GOOD[2:]],
            r"line 2: DEBUT time '31/02/2008 22:01:17' is not a date-time dd/mm/yyyy hh:mm:ss",
        ),
        (
            [*GOOD[:3], "TABLE DOSSIER;DOSSIER2.csv;1", *GOOD[4:]],
            r"line 4: table DOSSIER is already listed on line 3",
        ),
        ([GOOD[0], GOOD[2], GOOD[1], *GOOD[3:]], r"line 2: TABLE line before the DEBUT line"),
        ([*GOOD[:2], GOOD[4], GOOD[2], GOOD[5]], r"line 4: TABLE line after the FIN line"),
        ([GOOD[0], GOOD[4], GOOD[1]], r"line 2: FIN line before the DEBUT line"),
        ([*GOOD, "CODE RETOUR 0"], r"line 7: second CODE RETOUR line \(the first is on line 6\)"),
        ([*GOOD[:5], "CODE RETOUR zéro"], r"line 6: CODE RETOUR 'zéro' is not a whole number"),
        ([*GOOD[:2], "ERREUR ORA-01555", *GOOD[2:]], r"line 3: unexpected line; expected"),
        ([*GOOD[:2], GOOD[0], *GOOD[2:]], r"line 3: second EXTRACTION line"),
    ],
)
def test_bad_log_names_line(tmp_path: Path, lines: list[str], message: str) -> None:
    path = write_log(tmp_path, lines)

    with pytest.raises(ExtractionLogError, match=f"^EXTRACTION_ITAC\\.log, {message}"):
        parse_extraction_log(path)


def test_log_without_start_rejected(tmp_path: Path) -> None:
    path = write_log(tmp_path, [GOOD[0], GOOD[5]])

    with pytest.raises(
        ExtractionLogError, match=r"^EXTRACTION_ITAC\.log: the log has no DEBUT line"
    ):
        parse_extraction_log(path)


def test_empty_log_rejected(tmp_path: Path) -> None:
    (tmp_path / "EXTRACTION_ITAC.log").write_bytes(b"\r\n")

    with pytest.raises(
        ExtractionLogError, match=r"^EXTRACTION_ITAC\.log: the extraction log is empty"
    ):
        parse_extraction_log(tmp_path / "EXTRACTION_ITAC.log")


def test_undecodable_byte_names_line(tmp_path: Path) -> None:
    path = tmp_path / "EXTRACTION_ITAC.log"
    path.write_bytes(b"EXTRACTION ITAC - DEPARTEMENT 057\r\nDEBUT \x81\r\n")

    with pytest.raises(ExtractionLogError, match=r"line 2: byte at column 7 is not valid cp1252"):
        parse_extraction_log(path)


def test_other_encoding_accepted(tmp_path: Path) -> None:
    path = tmp_path / "EXTRACTION_ITAC.log"
    text = "\n".join([*GOOD[:2], "TABLE ÉTABLISSEMENT;ETAB.csv;2", *GOOD[4:]]) + "\n"
    path.write_bytes(text.encode("utf-8"))

    assert "ÉTABLISSEMENT" in parse_extraction_log(path, encoding="utf-8").tables


def test_missing_log_rejected(tmp_path: Path) -> None:
    with pytest.raises(ExtractionLogError, match="extraction log not found"):
        parse_extraction_log(tmp_path / "EXTRACTION_ITAC.log")
