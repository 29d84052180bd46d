"""SHA256SUMS reading and checking, against files written by sha256sum."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from migration.delivery.errors import DeliveryError, ManifestError
from migration.delivery.manifest import (
    check_manifest,
    read_manifest,
    read_manifest_entries,
    sha256_file,
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "ITAC").mkdir()
    (tmp_path / "ITAC" / "DOSSIER.csv.enc").write_bytes(b"dossier")
    (tmp_path / "ITAC" / "nom avec espace.enc").write_bytes(b"space")
    return tmp_path


def sha256sum(folder: Path, *options: str) -> str:
    names = ["ITAC/DOSSIER.csv.enc", "ITAC/nom avec espace.enc"]
    result = subprocess.run(
        ["sha256sum", *options, *names], cwd=folder, check=True, capture_output=True, text=True
    )
    return result.stdout


EXPECTED = {
    "ITAC/DOSSIER.csv.enc": hashlib.sha256(b"dossier").hexdigest(),
    "ITAC/nom avec espace.enc": hashlib.sha256(b"space").hexdigest(),
}


@pytest.mark.parametrize("options", [(), ("--binary",), ("--tag",)])
def test_sha256sum_output_read(tree: Path, options: tuple[str, ...]) -> None:
    (tree / "SHA256SUMS").write_text(sha256sum(tree, *options))

    assert read_manifest(tree / "SHA256SUMS") == EXPECTED


def test_crlf_blank_lines_and_dot_slash(tree: Path) -> None:
    digest = EXPECTED["ITAC/DOSSIER.csv.enc"].upper()
    (tree / "SHA256SUMS").write_bytes(f"\r\n{digest}  ./ITAC/DOSSIER.csv.enc\r\n\r\n".encode())

    assert read_manifest(tree / "SHA256SUMS") == {"ITAC/DOSSIER.csv.enc": digest.lower()}


def test_windows_separators_normalised(tree: Path) -> None:
    digest = EXPECTED["ITAC/DOSSIER.csv.enc"]
    (tree / "SHA256SUMS").write_text(f"{digest} *ITAC\\DOSSIER.csv.enc\n")

    assert read_manifest(tree / "SHA256SUMS") == {"ITAC/DOSSIER.csv.enc": digest}


def test_escaped_name_read(tmp_path: Path) -> None:
    (tmp_path / "a\\b").write_bytes(b"x")
    result = subprocess.run(
        ["sha256sum", "a\\b"], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    assert result.stdout.startswith("\\")
    (tmp_path / "SHA256SUMS").write_text(result.stdout)

    assert read_manifest(tmp_path / "SHA256SUMS") == {"a\\b": hashlib.sha256(b"x").hexdigest()}


def test_entries_keep_line_numbers(tree: Path) -> None:
    (tree / "SHA256SUMS").write_text("\n" + sha256sum(tree))

    entries = read_manifest_entries(tree / "SHA256SUMS")

    assert entries["ITAC/DOSSIER.csv.enc"].line == 2
    assert entries["ITAC/nom avec espace.enc"].line == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc  ITAC/x.enc\n", r"^SHA256SUMS, line 1: not a SHA-256 line"),
        (f"{'0' * 64}  ITAC/x\n{'1' * 63}  y\n", r"^SHA256SUMS, line 2: not a SHA-256 line"),
        (f"{'0' * 64}  ../x.enc\n", r"^SHA256SUMS, line 1: the path '\.\./x\.enc' is not inside"),
        (f"{'0' * 64}  /etc/passwd\n", r"^SHA256SUMS, line 1: the path '/etc/passwd' is not"),
        (
            f"{'0' * 64}  ITAC/x.enc\n{'1' * 64}  ITAC/x.enc\n",
            r"^SHA256SUMS, line 2: ITAC/x\.enc is already listed on line 1 with another",
        ),
    ],
)
def test_bad_manifest_rejected(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "SHA256SUMS").write_text(text)

    with pytest.raises(ManifestError, match=message):
        read_manifest(tmp_path / "SHA256SUMS")


def test_same_entry_twice_accepted(tmp_path: Path) -> None:
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  x\n{'0' * 64}  ./x\n")

    assert read_manifest(tmp_path / "SHA256SUMS") == {"x": "0" * 64}


def test_not_utf8_rejected(tmp_path: Path) -> None:
    (tmp_path / "SHA256SUMS").write_bytes(b"\xff\xfe\n")

    with pytest.raises(ManifestError, match=r"^SHA256SUMS, line 1: not UTF-8 text"):
        read_manifest(tmp_path / "SHA256SUMS")


def test_missing_manifest_rejected(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="manifest not found"):
        read_manifest(tmp_path / "SHA256SUMS")


@pytest.mark.parametrize("chunk_size", [1, 3, 1 << 20])
def test_sha256_file_streams(tmp_path: Path, chunk_size: int) -> None:
    data = bytes(range(256)) * 40
    (tmp_path / "f").write_bytes(data)

    assert sha256_file(tmp_path / "f", chunk_size=chunk_size) == hashlib.sha256(data).hexdigest()


def test_check_manifest_returns_digests(tree: Path) -> None:
    (tree / "SHA256SUMS").write_text(sha256sum(tree))
    entries = read_manifest_entries(tree / "SHA256SUMS")

    assert check_manifest(tree, entries.values()) == EXPECTED


def test_check_manifest_names_every_failure(tree: Path) -> None:
    (tree / "SHA256SUMS").write_text(sha256sum(tree))
    entries = read_manifest_entries(tree / "SHA256SUMS")
    (tree / "ITAC" / "DOSSIER.csv.enc").write_bytes(b"altered")
    (tree / "ITAC" / "nom avec espace.enc").unlink()

    with pytest.raises(DeliveryError) as raised:
        check_manifest(tree, entries.values())

    message = str(raised.value)
    assert "ITAC/DOSSIER.csv.enc does not match its SHA-256 on line 1 of SHA256SUMS" in message
    assert "ITAC/nom avec espace.enc is listed on line 2 of SHA256SUMS but missing" in message
