"""Decryption of openssl enc files made by the real openssl command line."""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import py7zr
import pytest

from migration.delivery.crypto import (
    EncryptionParameters,
    decrypt_openssl_enc,
    decrypt_openssl_enc_stream,
    derive_key_iv,
    detect_format,
    ensure_decryptable,
    looks_like_text,
    probe_openssl_enc,
)
from migration.delivery.errors import DecryptionError, DeliveryError
from tests.delivery.helpers import (
    DOSSIER_PLAINTEXT,
    FIXTURE_PASSWORD,
    FIXTURES,
    WRONG_PASSWORD,
    requires_openssl,
)

# fixture file -> (keyword arguments of decrypt_openssl_enc, openssl enc options)
CASES = {
    "pbkdf2-sha256.csv.enc": ({}, ["-aes-256-cbc", "-pbkdf2"]),
    "pbkdf2-sha512-iter1000.csv.enc": (
        {"digest": "sha512", "iterations": 1000},
        ["-aes-256-cbc", "-pbkdf2", "-iter", "1000", "-md", "sha512"],
    ),
    "legacy-md5.csv.enc": (
        {"kdf": "evp-bytes-to-key", "digest": "md5"},
        ["-aes-256-cbc", "-md", "md5"],
    ),
    "legacy-sha256.csv.enc": (
        {"kdf": "evp-bytes-to-key", "digest": "sha256"},
        ["-aes-256-cbc", "-md", "sha256"],
    ),
    "aes128-cbc.csv.enc": ({"cipher": "aes-128-cbc"}, ["-aes-128-cbc", "-pbkdf2"]),
    "aes192-cbc.csv.enc": ({"cipher": "aes-192-cbc"}, ["-aes-192-cbc", "-pbkdf2"]),
    "aes256-ctr.csv.enc": ({"cipher": "aes-256-ctr"}, ["-aes-256-ctr", "-pbkdf2"]),
    "base64.csv.enc": ({}, ["-aes-256-cbc", "-pbkdf2", "-a"]),
}


def run_openssl(options: list[str], data: bytes, password: str = FIXTURE_PASSWORD):
    return subprocess.run(
        ["openssl", "enc", *options, "-pass", "env:OPENSSL_TEST_PASSWORD"],
        input=data,
        capture_output=True,
        env={**os.environ, "OPENSSL_TEST_PASSWORD": password},
        check=False,
    )


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_fixture_decrypts_to_original(fixture: str) -> None:
    options, _ = CASES[fixture]
    data = (FIXTURES / fixture).read_bytes()

    assert decrypt_openssl_enc(data, FIXTURE_PASSWORD, **options) == DOSSIER_PLAINTEXT


@pytest.mark.parametrize("fixture", sorted(CASES))
@pytest.mark.parametrize("chunk_size", [1, 7, 16, 1 << 20])
def test_stream_decrypts_in_chunks(fixture: str, chunk_size: int) -> None:
    options, _ = CASES[fixture]
    output = io.BytesIO()

    written = decrypt_openssl_enc_stream(
        FIXTURES / fixture,
        output,
        FIXTURE_PASSWORD,
        params=EncryptionParameters(**options),
        chunk_size=chunk_size,
    )

    assert output.getvalue() == DOSSIER_PLAINTEXT
    assert written == len(DOSSIER_PLAINTEXT)


def test_stream_source_accepts_open_file() -> None:
    output = io.BytesIO()
    with (FIXTURES / "pbkdf2-sha256.csv.enc").open("rb") as stream:
        decrypt_openssl_enc_stream(stream, output, FIXTURE_PASSWORD)

    assert output.getvalue() == DOSSIER_PLAINTEXT


def test_whole_padding_block_removed() -> None:
    data = (FIXTURES / "bloc32.csv.enc").read_bytes()

    assert len(data) == 16 + 48
    assert decrypt_openssl_enc(data, FIXTURE_PASSWORD) == (FIXTURES / "BLOC32.csv").read_bytes()


@requires_openssl
@pytest.mark.parametrize("fixture", sorted(CASES))
def test_openssl_decrypts_committed_fixture(fixture: str) -> None:
    _, openssl_options = CASES[fixture]
    result = run_openssl(["-d", *openssl_options], (FIXTURES / fixture).read_bytes())

    assert result.returncode == 0, result.stderr
    assert result.stdout == DOSSIER_PLAINTEXT


@requires_openssl
@pytest.mark.parametrize("fixture", sorted(CASES))
def test_fresh_openssl_output_decrypts(fixture: str) -> None:
    options, openssl_options = CASES[fixture]
    plaintext = os.urandom(1000) + DOSSIER_PLAINTEXT
    result = run_openssl(["-e", "-salt", *openssl_options], plaintext, password="Pâques-2008 !")

    assert result.returncode == 0, result.stderr
    assert decrypt_openssl_enc(result.stdout, "Pâques-2008 !", **options) == plaintext


@requires_openssl
@pytest.mark.parametrize(
    ("params", "openssl_options"),
    [
        (EncryptionParameters(), ["-aes-256-cbc", "-pbkdf2"]),
        (
            EncryptionParameters("aes-128-cbc", "pbkdf2", "sha512", 1000),
            ["-aes-128-cbc", "-pbkdf2", "-iter", "1000", "-md", "sha512"],
        ),
        (
            EncryptionParameters(kdf="evp-bytes-to-key", digest="md5"),
            ["-aes-256-cbc", "-md", "md5"],
        ),
        (
            EncryptionParameters("aes-192-ctr", "evp-bytes-to-key"),
            ["-aes-192-ctr", "-md", "sha256"],
        ),
    ],
)
def test_key_and_iv_match_openssl(params: EncryptionParameters, openssl_options: list[str]) -> None:
    salt = bytes.fromhex("0011223344556677")
    result = run_openssl(["-e", *openssl_options, "-S", salt.hex(), "-P"], b"")
    printed = dict(re.findall(r"^(\w+)\s*=\s*([0-9A-F]+)$", result.stdout.decode(), re.MULTILINE))

    key, iv = derive_key_iv(FIXTURE_PASSWORD, salt, params)

    assert printed["key"] == key.hex().upper()
    assert printed["iv"] == iv.hex().upper()


@pytest.mark.parametrize(
    "fixture", ["pbkdf2-sha256.csv.enc", "base64.csv.enc", "legacy-md5.csv.enc"]
)
def test_wrong_password_names_file(fixture: str) -> None:
    options, _ = CASES[fixture]
    data = (FIXTURES / fixture).read_bytes()

    with pytest.raises(DecryptionError) as raised:
        decrypt_openssl_enc(data, WRONG_PASSWORD, **options, name=f"ITAC/{fixture}")

    assert str(raised.value) == f"ITAC/{fixture}: wrong password, or the file is damaged"


def test_ctr_wrong_password_yields_non_text() -> None:
    # CTR has no padding, so only the text check of the caller can catch a wrong password.
    data = (FIXTURES / "aes256-ctr.csv.enc").read_bytes()

    plaintext = decrypt_openssl_enc(data, WRONG_PASSWORD, cipher="aes-256-ctr")

    assert len(plaintext) == len(DOSSIER_PLAINTEXT)
    assert not looks_like_text(plaintext)
    assert looks_like_text(DOSSIER_PLAINTEXT)


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (5, r"x\.enc: the file is truncated or damaged: its encrypted data \(203 bytes\)"),
        (208, r"x\.enc: the file is truncated or damaged: its encrypted data \(0 bytes\)"),
        (214, r"x\.enc: the file is truncated: 10 bytes, shorter than the 16-byte"),
        (224, r"x\.enc: the file is empty"),
        (16, r"x\.enc: wrong password, or the file is damaged"),
    ],
)
def test_truncated_file_fails_cleanly(cut: int, message: str) -> None:
    data = (FIXTURES / "pbkdf2-sha256.csv.enc").read_bytes()
    assert len(data) == 224

    with pytest.raises(DecryptionError, match=message):
        decrypt_openssl_enc(data[: len(data) - cut], FIXTURE_PASSWORD, name="x.enc")


def test_truncated_base64_fails_cleanly() -> None:
    text = (FIXTURES / "base64.csv.enc").read_bytes().rstrip()

    with pytest.raises(DecryptionError, match=r"x\.enc: the base64 text is truncated"):
        decrypt_openssl_enc(text[:-3], FIXTURE_PASSWORD, name="x.enc")


def test_damaged_base64_fails_cleanly() -> None:
    text = bytearray((FIXTURES / "base64.csv.enc").read_bytes())
    text[40] = ord("#")

    with pytest.raises(DecryptionError, match=r"x\.enc: .* characters that are not base64"):
        decrypt_openssl_enc(bytes(text), FIXTURE_PASSWORD, name="x.enc")


def flip_last_block_byte(data: bytes) -> bytes:
    damaged = bytearray(data)
    damaged[-3] ^= 0x01
    return bytes(damaged)


def test_flipped_last_block_byte_fails() -> None:
    damaged = flip_last_block_byte((FIXTURES / "pbkdf2-sha256.csv.enc").read_bytes())

    with pytest.raises(DecryptionError, match=r"^x\.enc: wrong password, or the file is damaged$"):
        decrypt_openssl_enc(damaged, FIXTURE_PASSWORD, name="x.enc")


@requires_openssl
def test_openssl_rejects_flipped_byte_too() -> None:
    damaged = flip_last_block_byte((FIXTURES / "pbkdf2-sha256.csv.enc").read_bytes())

    result = run_openssl(["-d", "-aes-256-cbc", "-pbkdf2"], damaged)

    assert result.returncode != 0
    assert b"bad decrypt" in result.stderr


def test_missing_salt_header_rejected() -> None:
    with pytest.raises(DecryptionError, match=r"x\.enc: not an OpenSSL enc file with a salt"):
        decrypt_openssl_enc(DOSSIER_PLAINTEXT, FIXTURE_PASSWORD, name="x.enc")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cipher": "bf-cbc"}, "cipher 'bf-cbc' is not supported"),
        ({"kdf": "scrypt"}, "key derivation 'scrypt' is not supported"),
        ({"digest": "sha3"}, "digest 'sha3' is not supported"),
        ({"iterations": 0}, "iterations must be at least 1"),
        ({"iterations": True}, "iterations must be a whole number"),
    ],
)
def test_bad_parameters_rejected(options: dict, message: str) -> None:
    with pytest.raises(DeliveryError, match=message):
        EncryptionParameters(**options)


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_probe_accepts_right_parameters(fixture: str) -> None:
    params = EncryptionParameters(**CASES[fixture][0])

    assert probe_openssl_enc(FIXTURES / fixture, FIXTURE_PASSWORD, params)


@pytest.mark.parametrize(
    "params",
    [
        EncryptionParameters(),
        EncryptionParameters(kdf="evp-bytes-to-key", digest="sha256"),
        EncryptionParameters(digest="sha512", iterations=1000),
    ],
)
def test_probe_rejects_wrong_parameters(params: EncryptionParameters) -> None:
    assert not probe_openssl_enc(FIXTURES / "legacy-md5.csv.enc", FIXTURE_PASSWORD, params)


def test_probe_rejects_wrong_password() -> None:
    fixture = FIXTURES / "pbkdf2-sha256.csv.enc"

    assert not probe_openssl_enc(fixture, WRONG_PASSWORD, EncryptionParameters())


def write_gpg_message(folder: Path) -> Path:
    (folder / "plain.csv").write_bytes(DOSSIER_PLAINTEXT)
    (folder / "pass.txt").write_text(FIXTURE_PASSWORD)
    subprocess.run(
        [
            "gpg",
            "--batch",
            "--homedir",
            str(folder),
            "--pinentry-mode",
            "loopback",
            "--passphrase-file",
            str(folder / "pass.txt"),
            "--symmetric",
            "--output",
            str(folder / "plain.csv.gpg"),
            str(folder / "plain.csv"),
        ],
        check=True,
        capture_output=True,
    )
    return folder / "plain.csv.gpg"


def test_detect_format_from_bytes(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        archive.writestr("DOSSIER.csv", DOSSIER_PLAINTEXT)
    with py7zr.SevenZipFile(tmp_path / "a.7z", "w") as archive:
        archive.writestr(DOSSIER_PLAINTEXT, "DOSSIER.csv")
    (tmp_path / "a.gz").write_bytes(gzip.compress(DOSSIER_PLAINTEXT))
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "binary").write_bytes(bytes(range(256)))
    # Names do not matter: an archive named .enc is still an archive.
    shutil.copyfile(tmp_path / "a.zip", tmp_path / "zip.csv.enc")

    assert detect_format(FIXTURES / "pbkdf2-sha256.csv.enc") == "openssl-enc"
    assert detect_format(FIXTURES / "base64.csv.enc") == "openssl-enc-base64"
    assert detect_format(FIXTURES / "DOSSIER.csv") == "plaintext"
    assert detect_format(tmp_path / "zip.csv.enc") == "zip"
    assert detect_format(tmp_path / "a.7z") == "7z"
    assert detect_format(tmp_path / "a.gz") == "gzip"
    assert detect_format(tmp_path / "empty") == "empty"
    assert detect_format(tmp_path / "binary") == "unknown"


@pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")
def test_detect_format_openpgp(tmp_path: Path) -> None:
    assert detect_format(write_gpg_message(tmp_path)) == "openpgp"


@pytest.mark.parametrize(
    ("file_format", "message"),
    [
        ("openpgp-public-key", r"^x\.enc: the OpenPGP file is encrypted for a key pair"),
        ("plaintext", r"^x\.enc: the file is not encrypted"),
        ("empty", r"^x\.enc: the file is empty"),
        ("unknown", r"^x\.enc: unknown file format"),
    ],
)
def test_unsupported_formats_rejected(file_format: str, message: str) -> None:
    with pytest.raises(DeliveryError, match=message):
        ensure_decryptable(file_format, "x.enc")


@pytest.mark.parametrize(
    "file_format",
    ["openssl-enc", "openssl-enc-base64", "openpgp", "openpgp-armored", "zip", "7z", "tar", "gzip"],
)
def test_supported_formats_accepted(file_format: str) -> None:
    ensure_decryptable(file_format, "x.enc")
