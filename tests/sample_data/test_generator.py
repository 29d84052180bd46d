"""sample_data/generate.py: reproducible output, encryption, checksums, file format and logs."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.sample_data.conftest import (
    BUNDLED,
    BUNDLED_EXPECTED,
    PASSWORD,
    generate_into,
    run_generator,
)

ITAC_FILES = [
    "DOSSIER",
    "DEMANDE",
    "CONCLUSION",
    "SUIVI",
    "ETABLISSEMENT",
    "HISTORIQUE",
    "ARCHIVE",
]
OPALES_FILES = [
    "ENFANT",
    "REPRESENTANT",
    "DEMANDE",
    "DECISION",
    "ORIENTATION",
    "SCOLARISATION",
    "AES",
    "FINESS",
    "RAMSESE",
]
DELIVERY_FILES = sorted(
    [f"ITAC/{name}.csv" for name in ITAC_FILES]
    + ["ITAC/EXTRACTION_ITAC.log"]
    + [f"OPALES/{name}.csv" for name in OPALES_FILES]
    + ["OPALES/EXTRACTION_OPALES.log"]
)


def relative_files(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def test_same_seed_gives_same_bytes(tmp_path: Path) -> None:
    first = generate_into(tmp_path / "first", "--persons", "80", "--seed", "3")
    second = generate_into(tmp_path / "second", "--persons", "80", "--seed", "3")

    files = relative_files(first)
    assert files == relative_files(second)
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_other_seed_gives_other_data(tmp_path: Path) -> None:
    first = generate_into(tmp_path / "first", "--persons", "80", "--seed", "3", "--plaintext-only")
    second = generate_into(
        tmp_path / "second", "--persons", "80", "--seed", "4", "--plaintext-only"
    )

    dossier = "ITAC/DOSSIER.csv"
    assert (first / dossier).read_bytes() != (second / dossier).read_bytes()


def test_bundled_delivery_rebuilds_byte_for_byte(default_encrypted: Path) -> None:
    bundled_files = relative_files(BUNDLED)

    assert bundled_files == sorted(
        [f"{name}.enc" for name in DELIVERY_FILES] + ["SHA256SUMS", "livraison.yaml"]
    )
    assert relative_files(default_encrypted) == sorted([*bundled_files, "expected.json"])
    for name in bundled_files:
        assert (default_encrypted / name).read_bytes() == (BUNDLED / name).read_bytes(), name
    assert (default_encrypted / "expected.json").read_bytes() == BUNDLED_EXPECTED.read_bytes()


def test_bundled_delivery_is_small() -> None:
    size = sum(path.stat().st_size for path in BUNDLED.rglob("*") if path.is_file())

    assert size < 600_000


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")
@pytest.mark.parametrize("name", DELIVERY_FILES)
def test_encrypted_file_decrypts_with_openssl(
    name: str, default_plaintext: Path, tmp_path: Path
) -> None:
    encrypted = BUNDLED / f"{name}.enc"
    decrypted = tmp_path / "plain"
    environment = {**os.environ, "MDPH_DELIVERY_PASSWORD": PASSWORD}

    result = subprocess.run(
        [
            "openssl",
            "enc",
            "-d",
            "-aes-256-cbc",
            "-pbkdf2",
            "-in",
            str(encrypted),
            "-out",
            str(decrypted),
            "-pass",
            "env:MDPH_DELIVERY_PASSWORD",
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )

    assert result.returncode == 0, result.stderr
    assert encrypted.read_bytes()[:8] == b"Salted__"
    assert decrypted.read_bytes() == (default_plaintext / name).read_bytes()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")
def test_wrong_password_fails_openssl(tmp_path: Path) -> None:
    environment = {**os.environ, "MDPH_DELIVERY_PASSWORD": "not-the-password"}

    result = subprocess.run(
        [
            "openssl",
            "enc",
            "-d",
            "-aes-256-cbc",
            "-pbkdf2",
            "-in",
            str(BUNDLED / "ITAC" / "DOSSIER.csv.enc"),
            "-out",
            str(tmp_path / "plain"),
            "-pass",
            "env:MDPH_DELIVERY_PASSWORD",
        ],
        env=environment,
        capture_output=True,
        check=False,
        timeout=30,
    )

    assert result.returncode != 0


def test_sha256sums_match_encrypted_files() -> None:
    lines = (BUNDLED / "SHA256SUMS").read_text(encoding="ascii").splitlines()
    sums = dict(reversed(line.split("  ", 1)) for line in lines)

    assert sorted(sums) == [f"{name}.enc" for name in DELIVERY_FILES]
    for name, digest in sums.items():
        assert hashlib.sha256((BUNDLED / name).read_bytes()).hexdigest() == digest, name


def test_plaintext_run_sums_plaintext_files(default_plaintext: Path) -> None:
    lines = (default_plaintext / "SHA256SUMS").read_text(encoding="ascii").splitlines()
    sums = dict(reversed(line.split("  ", 1)) for line in lines)

    assert sorted(sums) == DELIVERY_FILES
    for name, digest in sums.items():
        assert hashlib.sha256((default_plaintext / name).read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("name", DELIVERY_FILES)
def test_file_is_cp1252_with_crlf(name: str, default_plaintext: Path) -> None:
    data = (default_plaintext / name).read_bytes()

    data.decode("cp1252")  # raises on bytes cp1252 does not define
    assert data.endswith(b"\r\n")
    assert data.count(b"\n") == data.count(b"\r\n")
    assert data.count(b"\r") == data.count(b"\r\n")
    assert not data.startswith(b"\xef\xbb\xbf")


def test_accents_are_cp1252_bytes(default_plaintext: Path) -> None:
    dossier = (default_plaintext / "ITAC" / "DOSSIER.csv").read_bytes()
    everything = b"".join((default_plaintext / name).read_bytes() for name in DELIVERY_FILES)

    assert "é".encode("cp1252") in dossier
    with pytest.raises(UnicodeDecodeError):
        dossier.decode("utf-8")
    assert "œ".encode("cp1252") in everything or "Œ".encode("cp1252") in everything


def count_records(path: Path, first_lines: int) -> int:
    text = path.read_bytes().decode("cp1252")
    return len(list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))) - first_lines


@pytest.mark.parametrize("application", ["ITAC", "OPALES"])
def test_log_counts_equal_records(application: str, default_plaintext: Path) -> None:
    log = (default_plaintext / application / f"EXTRACTION_{application}.log").read_bytes()
    lines = log.decode("cp1252").split("\r\n")
    tables = [line[len("TABLE ") :].split(";") for line in lines if line.startswith("TABLE ")]
    expected_files = ITAC_FILES if application == "ITAC" else OPALES_FILES

    assert lines[0] == f"EXTRACTION {application} - DEPARTEMENT 057"
    assert lines[1].startswith("DEBUT 14/10/2008 ")
    assert lines[-3].startswith("FIN 14/10/2008 ")
    assert lines[-2:] == ["CODE RETOUR 0", ""]
    assert [table for table, _, _ in tables] == expected_files
    for table, file_name, count in tables:
        assert file_name == f"{table}.csv"
        # Every file has one first line that is not a record: the header, or for FINESS the
        # line finess;etalab;N;date.
        assert count_records(default_plaintext / application / file_name, 1) == int(count), table


def test_finess_first_line_gives_record_count(default_plaintext: Path) -> None:
    text = (default_plaintext / "OPALES" / "FINESS.csv").read_bytes().decode("cp1252")
    first_line, rest = text.split("\r\n", 1)
    tag, source, count, day = first_line.split(";")
    records = list(csv.reader(io.StringIO(rest, newline=""), delimiter=";"))

    assert (tag, source, day) == ("finess", "etalab", "2008-10-14")
    assert int(count) == len(records)
    assert {record[0] for record in records} == {"structureet", "geolocalisation"}
    assert {len(r) for r in records if r[0] == "structureet"} == {32}
    assert {len(r) for r in records if r[0] == "geolocalisation"} == {6}


def test_manifest_declares_encryption() -> None:
    manifest = yaml.safe_load((BUNDLED / "livraison.yaml").read_text(encoding="utf-8"))

    assert manifest["departement"] == "057"
    assert manifest["date_extraction"] == "2008-10-14"
    assert manifest["chiffrement"] == {
        "format": "openssl-enc",
        "cipher": "aes-256-cbc",
        "kdf": "pbkdf2",
        "digest": "sha256",
        "iterations": 10000,
    }
    assert manifest["applications"] == {
        "ITAC": {"dossier": "ITAC", "dictionnaire": "itac", "journal": "EXTRACTION_ITAC.log"},
        "OPALES": {
            "dossier": "OPALES",
            "dictionnaire": "opales",
            "journal": "EXTRACTION_OPALES.log",
        },
    }


def test_plaintext_manifest_declares_no_encryption(default_plaintext: Path) -> None:
    manifest = yaml.safe_load((default_plaintext / "livraison.yaml").read_text(encoding="utf-8"))

    assert manifest["chiffrement"] == {"format": "none"}


def test_out_elsewhere_leaves_bundled_files(tmp_path: Path) -> None:
    before = BUNDLED_EXPECTED.read_bytes()

    out = generate_into(tmp_path / "other", "--persons", "70", "--seed", "9")

    assert json.loads((out / "expected.json").read_text(encoding="utf-8"))["persons"] == 70
    assert BUNDLED_EXPECTED.read_bytes() == before


def test_rerun_replaces_files_of_other_mode(tmp_path: Path) -> None:
    out = generate_into(tmp_path / "delivery", "--persons", "70")
    generate_into(out, "--persons", "70", "--plaintext-only")

    assert relative_files(out) == sorted(
        [*DELIVERY_FILES, "SHA256SUMS", "livraison.yaml", "expected.json"]
    )


def records_of(out: Path) -> tuple[int, int]:
    """Return (persons, records across all tables) from a run's expected.json."""
    expected = json.loads((out / "expected.json").read_text(encoding="utf-8"))
    return expected["persons"], sum(table["read"] for table in expected["tables"].values())


def test_rows_picks_persons_for_records(tmp_path: Path) -> None:
    out = generate_into(tmp_path / "rows", "--rows", "20000", "--plaintext-only")

    persons, records = records_of(out)
    assert persons == 2899  # 20000 / 6.9, rounded up
    assert records >= 20_000
    assert records < 20_000 * 1.02


def test_few_rows_give_minimum_persons(tmp_path: Path) -> None:
    out = generate_into(tmp_path / "few", "--rows", "10", "--plaintext-only")

    persons, records = records_of(out)
    assert persons == 60
    assert records >= 10


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--persons", "10", "--out", "{tmp}"], "--persons must be at least"),
        (["--plaintext-only"], "--plaintext-only needs --out"),
        (["--persons", "many", "--out", "{tmp}"], "invalid int value"),
        (["--rows", "0", "--out", "{tmp}"], "--rows must be a positive number"),
        (["--rows", "9000", "--persons", "900", "--out", "{tmp}"], "not allowed with argument"),
    ],
)
def test_bad_arguments_exit_2(arguments: list[str], message: str, tmp_path: Path) -> None:
    result = run_generator(*(argument.format(tmp=tmp_path) for argument in arguments))

    assert result.returncode == 2
    assert message in result.stderr
