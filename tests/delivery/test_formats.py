"""Every delivery format, produced by the real openssl, gpg, zip and 7z tools, decrypts exactly."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from migration.delivery.crypto import decrypt_openssl_enc, detect_format, detect_format_bytes
from migration.delivery.errors import DecryptionError, TruncatedFileError
from migration.delivery.intake import inspect_delivery, open_delivery
from tests.delivery.helpers import (
    DOSSIER_PLAINTEXT,
    FIXTURE_PASSWORD,
    FIXTURES,
    LOG_PLAINTEXT,
    WRONG_PASSWORD,
    build_delivery,
    files_under,
    need_tool,
    tool_env,
)

# Configuration naming only the applications: every format is found from the bytes.
CONFIG_AUTO = 'departement: "057"\napplications:\n  ITAC: {dossier: ITAC}\n'

# fixture -> (path in the delivery, plaintext files it gives, layers of DOSSIER.csv)
ARCHIVES = {
    "zipcrypto.zip": ("ITAC/ITAC.zip", ("zip",)),
    "winzip-aes.zip": ("ITAC/ITAC.zip", ("zip",)),
    "aes.7z": ("ITAC/ITAC.7z", ("7z",)),
    "aes-headers.7z": ("ITAC/ITAC.7z", ("7z",)),
    "ITAC.tar.gz.enc": (
        "ITAC/ITAC.tar.gz.enc",
        ("openssl-enc aes-256-cbc, PBKDF2-HMAC-SHA256, 10000 iterations", "gzip", "tar"),
    ),
}
SINGLE_FILES = {
    "gpg-binary.csv.gpg": ("ITAC/DOSSIER.csv.gpg", "openpgp"),
    "gpg-armored.csv.asc": ("ITAC/DOSSIER.csv.asc", "openpgp-armored"),
}
# openssl enc ciphers beyond the AES-CBC ones of test_crypto: fixture -> cipher
OPENSSL_CIPHERS = {
    "aes256-cfb.csv.enc": "aes-256-cfb",
    "aes256-ofb.csv.enc": "aes-256-ofb",
    "camellia256-cbc.csv.enc": "camellia-256-cbc",
    "des-ede3-cbc.csv.enc": "des-ede3-cbc",
    "chacha20.csv.enc": "chacha20",
}


def config_with_cipher(cipher: str) -> str:
    return CONFIG_AUTO + f"chiffrement: {{cipher: {cipher}, kdf: pbkdf2}}\n"


@pytest.mark.parametrize("fixture", sorted(ARCHIVES))
def test_archive_fixture_decrypts(tmp_path: Path, fixture: str) -> None:
    relative, layers = ARCHIVES[fixture]
    delivery = build_delivery(tmp_path, {relative: fixture}, config=CONFIG_AUTO)

    opened = open_delivery(delivery, FIXTURE_PASSWORD, tmp_path / "work")

    files = opened.applications["ITAC"].files
    assert sorted(files) == ["DOSSIER.csv", "EXTRACTION_ITAC.log"]
    assert files["DOSSIER.csv"].plaintext_path.read_bytes() == DOSSIER_PLAINTEXT
    assert files["EXTRACTION_ITAC.log"].plaintext_path.read_bytes() == LOG_PLAINTEXT
    assert files["DOSSIER.csv"].layers == layers
    assert files["DOSSIER.csv"].delivered == relative
    assert files["DOSSIER.csv"].manifest_status == "ok"
    assert opened.applications["ITAC"].log is not None
    assert files_under(tmp_path / "work") == ["ITAC/DOSSIER.csv", "ITAC/EXTRACTION_ITAC.log"]


@pytest.mark.parametrize("fixture", sorted(SINGLE_FILES))
def test_openpgp_fixture_decrypts(tmp_path: Path, fixture: str) -> None:
    need_tool("gpg")
    relative, layer = SINGLE_FILES[fixture]
    delivery = build_delivery(tmp_path, {relative: fixture}, config=CONFIG_AUTO)

    opened = open_delivery(delivery, FIXTURE_PASSWORD, tmp_path / "work")

    dossier = opened.applications["ITAC"].files["DOSSIER.csv"]
    assert dossier.plaintext_path.read_bytes() == DOSSIER_PLAINTEXT
    assert dossier.layers == (layer,)


@pytest.mark.parametrize("fixture", sorted(OPENSSL_CIPHERS))
def test_other_cipher_fixture_decrypts(fixture: str) -> None:
    data = (FIXTURES / fixture).read_bytes()

    assert decrypt_openssl_enc(data, FIXTURE_PASSWORD, cipher=OPENSSL_CIPHERS[fixture]) == (
        DOSSIER_PLAINTEXT
    )


def test_folder_of_mixed_files(tmp_path: Path) -> None:
    need_tool("gpg")
    delivery = build_delivery(
        tmp_path,
        {
            "ITAC/DOSSIER.csv.gpg": "gpg-binary.csv.gpg",
            "ITAC/EXTRACTION_ITAC.log.enc": "EXTRACTION_ITAC.log.enc",
        },
        config=None,
    )

    opened = open_delivery(delivery, FIXTURE_PASSWORD, tmp_path / "work")

    files = opened.applications["ITAC"].files
    assert files["DOSSIER.csv"].plaintext_path.read_bytes() == DOSSIER_PLAINTEXT
    assert files["EXTRACTION_ITAC.log"].plaintext_path.read_bytes() == LOG_PLAINTEXT
    assert opened.encryption is not None
    assert opened.encryption.kdf == "pbkdf2"


def test_top_level_archive_found(tmp_path: Path) -> None:
    delivery = build_delivery(tmp_path, {"ITAC.7z": "aes-headers.7z"}, config=None)

    opened = open_delivery(delivery, FIXTURE_PASSWORD, tmp_path / "work")

    itac = opened.applications["ITAC"]
    assert itac.folder == tmp_path / "work" / "ITAC"
    assert itac.files["DOSSIER.csv"].plaintext_path.read_bytes() == DOSSIER_PLAINTEXT
    assert itac.delivered[0].relative == "ITAC.7z"
    assert itac.delivered[0].manifest_status == "ok"


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("zipcrypto.zip", "zip"),
        ("aes-headers.7z", "7z"),
        ("gpg-binary.csv.gpg", "openpgp"),
        ("gpg-armored.csv.asc", "openpgp-armored"),
        ("ITAC.tar.gz.enc", "openssl-enc"),
        ("absolute.tar", "tar"),
    ],
)
def test_format_from_bytes_not_name(tmp_path: Path, fixture: str, expected: str) -> None:
    renamed = tmp_path / "DOSSIER.csv"
    shutil.copyfile(FIXTURES / fixture, renamed)

    assert detect_format(renamed) == expected


@pytest.mark.parametrize(
    "text", ["Œuvre;Nom\r\n", "Ãlvaro;x\r\n", "Áron;y\r\n", "ÉTAB;z\r\n", "Œ\r\nsuite"]
)
def test_windows_1252_text_not_openpgp(text: str) -> None:
    # 0x8C, 0xC1, 0xC3 and 0xC9 start OpenPGP packets and are also Windows-1252 letters.
    assert detect_format_bytes(text.encode("cp1252")) in ("plaintext", "unknown")


def run_tool(command: list[str], cwd: Path, stdin: bytes | None = None) -> None:
    result = subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")


def fresh_plaintext(folder: Path) -> bytes:
    data = os.urandom(3000).hex().encode() + b"\r\n" + DOSSIER_PLAINTEXT
    (folder / "DOSSIER.csv").write_bytes(data)
    return data


def make_zipcrypto(folder: Path) -> str:
    need_tool("zip")
    run_tool(["zip", "-q", "-P", FIXTURE_PASSWORD, "out.zip", "DOSSIER.csv"], folder)
    return "out.zip"


def make_seven(folder: Path, *options: str) -> str:
    need_tool("7z")
    name = "out.zip" if "-tzip" in options else "out.7z"
    password = f"{FIXTURE_PASSWORD}\n".encode()
    run_tool(["7z", "a", "-bso0", "-bsp0", *options, "-p", name, "DOSSIER.csv"], folder, password)
    return name


def make_gpg(folder: Path, *options: str) -> str:
    need_tool("gpg")
    home = folder / "gnupg"
    home.mkdir(mode=0o700)
    command = [
        "gpg",
        "--homedir",
        str(home),
        "--batch",
        "--quiet",
        "--pinentry-mode",
        "loopback",
        "--passphrase-fd",
        "0",
        "--symmetric",
        *options,
        "--output",
        "out.gpg",
        "DOSSIER.csv",
    ]
    run_tool(command, folder, FIXTURE_PASSWORD.encode())
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)
    shutil.rmtree(home, ignore_errors=True)
    return "out.gpg"


FRESH = {
    "zip ZipCrypto": lambda folder: make_zipcrypto(folder),
    "7z WinZip AES": lambda folder: make_seven(folder, "-tzip", "-mem=AES256"),
    "7z AES-256": lambda folder: make_seven(folder, "-t7z", "-mhe=off"),
    "7z encrypted headers": lambda folder: make_seven(folder, "-t7z", "-mhe=on"),
    "gpg -c": lambda folder: make_gpg(folder),
    "gpg -c --armor": lambda folder: make_gpg(folder, "--armor"),
    "gpg -c AES-128 SHA-512": lambda folder: make_gpg(
        folder, "--cipher-algo", "AES128", "--s2k-digest-algo", "SHA512"
    ),
}


@pytest.mark.parametrize("tool", sorted(FRESH))
def test_fresh_tool_output_decrypts(tmp_path: Path, tool: str) -> None:
    source = tmp_path / "source"
    source.mkdir()
    plaintext = fresh_plaintext(source)
    name = FRESH[tool](source)
    delivery = build_delivery(tmp_path, {}, config=CONFIG_AUTO, manifest=False)
    (delivery / "ITAC").mkdir()
    # The name only gives the plaintext name of a single-file layer: an archive is recognised
    # by its bytes under any name.
    delivered = "DOSSIER.csv.gpg" if name.endswith(".gpg") else "LIVRAISON.bin"
    shutil.copyfile(source / name, delivery / "ITAC" / delivered)

    opened = open_delivery(delivery, FIXTURE_PASSWORD, tmp_path / "work")

    assert opened.applications["ITAC"].files["DOSSIER.csv"].plaintext_path.read_bytes() == (
        plaintext
    )


@pytest.mark.parametrize("cipher", sorted(OPENSSL_CIPHERS.values()))
def test_fresh_openssl_cipher_decrypts(tmp_path: Path, cipher: str) -> None:
    need_tool("openssl")
    plaintext = fresh_plaintext(tmp_path)
    command = ["openssl", "enc", "-e", f"-{cipher}", "-pbkdf2", "-pass", "env:FIXTURE_PASSWORD"]
    result = subprocess.run(
        [*command, "-in", str(tmp_path / "DOSSIER.csv")],
        capture_output=True,
        env=tool_env(FIXTURE_PASSWORD=FIXTURE_PASSWORD),
        check=True,
    )
    delivery = build_delivery(tmp_path, {}, config=config_with_cipher(cipher), manifest=False)
    (delivery / "ITAC").mkdir()
    (delivery / "ITAC" / "DOSSIER.csv.enc").write_bytes(result.stdout)

    opened = open_delivery(delivery, FIXTURE_PASSWORD, tmp_path / "work")

    assert opened.applications["ITAC"].files["DOSSIER.csv"].plaintext_path.read_bytes() == (
        plaintext
    )
    assert opened.encryption is not None
    assert opened.encryption.cipher == cipher


ALL_ENCRYPTED = {
    **{f: v[0] for f, v in ARCHIVES.items()},
    **{f: v[0] for f, v in SINGLE_FILES.items()},
}


@pytest.mark.parametrize("fixture", sorted(ALL_ENCRYPTED))
def test_wrong_password_names_file(tmp_path: Path, fixture: str) -> None:
    if fixture in SINGLE_FILES:
        need_tool("gpg")
    relative = ALL_ENCRYPTED[fixture]
    delivery = build_delivery(tmp_path, {relative: fixture}, config=CONFIG_AUTO)

    with pytest.raises(DecryptionError) as raised:
        open_delivery(delivery, WRONG_PASSWORD, tmp_path / "work")

    # The file matches SHA256SUMS, so damage is ruled out.
    message = str(raised.value)
    assert message.startswith(f"{relative}: wrong password")
    assert "or the file is damaged" not in message
    assert "matches its SHA-256 in SHA256SUMS, so it arrived as the sender wrote it" in message
    assert "environment variable MDPH_DELIVERY_PASSWORD" in message
    assert "--password-file" in message
    assert files_under(tmp_path / "work") == []


@pytest.mark.parametrize("fixture", sorted(ALL_ENCRYPTED))
def test_wrong_password_without_manifest(tmp_path: Path, fixture: str) -> None:
    if fixture in SINGLE_FILES:
        need_tool("gpg")
    relative = ALL_ENCRYPTED[fixture]
    delivery = build_delivery(tmp_path, {relative: fixture}, config=CONFIG_AUTO, manifest=False)

    with pytest.raises(DecryptionError) as raised:
        open_delivery(delivery, WRONG_PASSWORD, tmp_path / "work")

    message = str(raised.value)
    assert message.startswith(f"{relative}: wrong password, or the file is damaged")
    assert "SHA256SUMS has no SHA-256 of the file" in message
    assert "environment variable MDPH_DELIVERY_PASSWORD" in message
    assert "--password-file" in message
    assert files_under(tmp_path / "work") == []


@pytest.mark.parametrize("fixture", sorted(ALL_ENCRYPTED))
def test_truncated_file_names_file(tmp_path: Path, fixture: str) -> None:
    if fixture in SINGLE_FILES:
        need_tool("gpg")
    relative = ALL_ENCRYPTED[fixture]
    delivery = build_delivery(tmp_path, {relative: fixture}, config=CONFIG_AUTO, manifest=False)
    target = delivery / relative
    target.write_bytes(target.read_bytes()[: target.stat().st_size * 2 // 3])

    with pytest.raises(DecryptionError) as raised:
        open_delivery(delivery, FIXTURE_PASSWORD, tmp_path / "work")

    message = str(raised.value)
    assert message.startswith(f"{relative}: ")
    assert "truncated" in message or "damaged" in message
    assert files_under(tmp_path / "work") == []


@pytest.mark.parametrize("fixture", sorted(ALL_ENCRYPTED))
def test_flipped_byte_detected(tmp_path: Path, fixture: str) -> None:
    # ZIP, 7-Zip and OpenPGP carry CRCs or an MDC; the openssl tar.gz has gzip's CRC.
    if fixture in SINGLE_FILES:
        need_tool("gpg")
    relative = ALL_ENCRYPTED[fixture]
    delivery = build_delivery(tmp_path, {relative: fixture}, config=CONFIG_AUTO, manifest=False)
    target = delivery / relative
    data = bytearray(target.read_bytes())
    middle = len(data) // 2
    data[middle] ^= 0x01 if fixture.endswith(".asc") else 0xFF
    if fixture.endswith(".asc"):
        # In armoured text, swap one base64 letter of the body for another.
        lines = bytes(data).split(b"\n")
        lines[3] = (b"B" if lines[3][:1] != b"B" else b"C") + lines[3][1:]
        data = bytearray(b"\n".join(lines))
    target.write_bytes(bytes(data))

    with pytest.raises(DecryptionError) as raised:
        open_delivery(delivery, FIXTURE_PASSWORD, tmp_path / "work")

    assert str(raised.value).startswith(f"{relative}: ")
    assert files_under(tmp_path / "work") == []


def test_stream_cipher_truncation_hint(tmp_path: Path) -> None:
    # Without a declared cipher, a ChaCha20 file looks like truncated CBC, so the message
    # gives both causes.
    delivery = build_delivery(tmp_path, {"ITAC/DOSSIER.csv.enc": "chacha20.csv.enc"}, config=None)

    with pytest.raises(TruncatedFileError, match="may use a stream cipher"):
        open_delivery(delivery, FIXTURE_PASSWORD, tmp_path / "work")


def test_inspect_collects_every_failure(tmp_path: Path) -> None:
    delivery = build_delivery(
        tmp_path,
        {
            "ITAC/DOSSIER.csv.enc": "pbkdf2-sha256.csv.enc",
            "ITAC/EXTRACTION_ITAC.log.enc": "EXTRACTION_ITAC.log.enc",
            "ITAC/ESCAPE.zip": "traversal.zip",
            "ITAC/ZEROS.zip": "bomb.zip",
        },
        config=CONFIG_AUTO,
    )
    cut = delivery / "ITAC" / "EXTRACTION_ITAC.log.enc"
    cut.write_bytes(cut.read_bytes()[:-5])

    opened = inspect_delivery(delivery, FIXTURE_PASSWORD, tmp_path / "work")

    kinds = {file.relative: file.error_kind for file in opened.delivered}
    assert kinds == {
        "ITAC/DOSSIER.csv.enc": None,
        "ITAC/ESCAPE.zip": "unsafe_entry",
        "ITAC/EXTRACTION_ITAC.log.enc": "manifest",
        "ITAC/ZEROS.zip": "limit",
    }
    assert files_under(tmp_path / "work") == ["ITAC/DOSSIER.csv"]


@pytest.mark.parametrize(
    ("manifest", "ending"),
    [
        (True, r"No file of the delivery could be decrypted \(2 tried\)$"),
        (False, r"\(2 tried\), so the password is most likely wrong$"),
    ],
)
def test_inspect_wrong_password_raises(tmp_path: Path, manifest: bool, ending: str) -> None:
    delivery = build_delivery(
        tmp_path,
        {"ITAC/DOSSIER.csv.enc": "pbkdf2-sha256.csv.enc", "ITAC/ITAC.7z": "aes.7z"},
        config=CONFIG_AUTO,
        manifest=manifest,
    )

    with pytest.raises(DecryptionError, match=ending):
        inspect_delivery(delivery, WRONG_PASSWORD, tmp_path / "work")
    assert files_under(tmp_path / "work") == []
