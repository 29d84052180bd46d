"""Reading and checking livraison.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migration.delivery.config import (
    DEFAULT_ATTEMPTS,
    encryption_attempts,
    encryption_parameters,
    read_delivery_config,
)
from migration.delivery.crypto import EncryptionParameters
from migration.delivery.errors import DeliveryConfigError, DeliveryError
from tests.delivery.helpers import CONFIG_PBKDF2

FULL_CONFIG = """\
departement: "057"
emetteur: "Ministère du travail"
date_extraction: "2008-10-14"
chiffrement:
  format: openssl-enc
  cipher: aes-256-cbc
  kdf: pbkdf2
  digest: sha256
  iterations: 10000
applications:
  ITAC: {dossier: ITAC, dictionnaire: itac, journal: EXTRACTION_ITAC.log}
  OPALES: {dossier: OPALES, dictionnaire: opales, journal: EXTRACTION_OPALES.log}
"""


def make_delivery(tmp_path: Path, config: str | None, folders: tuple[str, ...] = ()) -> Path:
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    for folder in folders:
        (delivery / folder).mkdir()
    if config is not None:
        (delivery / "livraison.yaml").write_text(config, encoding="utf-8")
    return delivery


def test_full_config_read(tmp_path: Path) -> None:
    delivery = make_delivery(tmp_path, FULL_CONFIG)

    config = read_delivery_config(delivery)

    assert config["path"] == str(delivery / "livraison.yaml")
    assert config["departement"] == "057"
    assert config["emetteur"] == "Ministère du travail"
    assert config["date_extraction"] == "2008-10-14"
    assert config["chiffrement"] == {
        "format": "openssl-enc",
        "cipher": "aes-256-cbc",
        "kdf": "pbkdf2",
        "digest": "sha256",
        "iterations": 10000,
    }
    assert config["applications"] == {
        "ITAC": {"dossier": "ITAC", "dictionnaire": "itac", "journal": "EXTRACTION_ITAC.log"},
        "OPALES": {
            "dossier": "OPALES",
            "dictionnaire": "opales",
            "journal": "EXTRACTION_OPALES.log",
        },
    }
    assert encryption_parameters(config) == EncryptionParameters()
    assert json.loads(json.dumps(config)) == config


def test_defaults_without_file(tmp_path: Path) -> None:
    delivery = make_delivery(tmp_path, None, folders=("itac", "OPALES", "autre"))

    config = read_delivery_config(delivery)

    assert config["path"] is None
    assert config["departement"] is None
    assert config["chiffrement"] is None
    assert encryption_parameters(config) is None
    assert config["applications"] == {
        "ITAC": {"dossier": "itac", "dictionnaire": "itac", "journal": "EXTRACTION_ITAC.log"},
        "OPALES": {
            "dossier": "OPALES",
            "dictionnaire": "opales",
            "journal": "EXTRACTION_OPALES.log",
        },
    }


def test_partial_config_completed(tmp_path: Path) -> None:
    text = (
        'departement: "02A"\n'
        "date_extraction: 2008-10-14\n"
        "chiffrement: {kdf: evp-bytes-to-key, digest: md5}\n"
    )
    delivery = make_delivery(tmp_path, text, folders=("ITAC",))

    config = read_delivery_config(delivery)

    assert config["departement"] == "02A"
    assert config["date_extraction"] == "2008-10-14"
    assert encryption_parameters(config) == EncryptionParameters(
        "aes-256-cbc", "evp-bytes-to-key", "md5", 10000
    )
    assert list(config["applications"]) == ["ITAC"]


def test_plaintext_format_read(tmp_path: Path) -> None:
    text = "chiffrement:\n  format: none  # plaintext\n"

    config = read_delivery_config(make_delivery(tmp_path, text, folders=("ITAC",)))

    assert config["chiffrement"] == {"format": "none"}
    assert encryption_parameters(config) is None


def test_application_defaults_filled(tmp_path: Path) -> None:
    text = "applications:\n  ITAC:\n  OPALES: {dossier: enfants}\n"

    config = read_delivery_config(make_delivery(tmp_path, text))

    assert config["applications"]["ITAC"] == {
        "dossier": "ITAC",
        "dictionnaire": "itac",
        "journal": "EXTRACTION_ITAC.log",
    }
    assert config["applications"]["OPALES"]["dossier"] == "enfants"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "departement: 057\n",
            r"line 1, column 14: departement: expected a quoted code such as \"057\", found the "
            r"int 47 \(YAML reads unquoted 057 as a number\)",
        ),
        ('departement: "Moselle"\n', r"line 1, column 14: departement: 'Moselle' is not a"),
        ("date_extraction: 14/10/2008\n", r"line 1, column 18: date_extraction: '14/10/2008'"),
        ("emetteur: 12\n", r"line 1, column 11: emetteur: expected text, found the int 12"),
        (
            "chiffrement:\n  cypher: aes-256-cbc\n",
            r"line 2, column 3: chiffrement\.cypher: unknown key; expected one of format, "
            r"cipher, kdf, digest, iterations \(did you mean cipher\?\)",
        ),
        (
            "chiffrement:\n  kdf: scrypt\n",
            r"line 2, column 8: chiffrement\.kdf: 'scrypt' is not supported; use one of "
            r"pbkdf2, evp-bytes-to-key",
        ),
        (
            "chiffrement:\n  iterations: '10000'\n",
            r"line 2, column 15: chiffrement\.iterations: expected a whole number",
        ),
        ("chiffrement:\n  iterations: yes\n", r"chiffrement\.iterations: expected a whole number"),
        ("chiffrement:\n  format: rar\n", r"chiffrement\.format: 'rar' is not a known format"),
        ("chiffrement:\n  format: rot13\n", r"chiffrement\.format: 'rot13' is not a known"),
        ("chiffrement: aes\n", r"line 1, column 14: chiffrement: expected a mapping"),
        ("applications: [ITAC]\n", r"line 1, column 15: applications: expected a mapping"),
        (
            "applications:\n  ITAC: {dosier: ITAC}\n",
            r"line 2, column 10: applications\.ITAC\.dosier: unknown key.*did you mean dossier",
        ),
        ("applications:\n  ITAC: {dossier: ../x}\n", r"applications\.ITAC\.dossier: must be a"),
        (
            "applications:\n  SCOLA: {dossier: SCOLA}\n",
            r"applications\.SCOLA: unknown application: give the data dictionary",
        ),
        ("applications:\n  ITAC: {journal: 12}\n", r"applications\.ITAC\.journal: expected text"),
        ("applications:\n  I/TAC: {}\n", r"application name 'I/TAC' must be letters, digits"),
        ("[1, 2]\n", r"^livraison\.yaml, line 1, column 1: expected a mapping"),
        (
            'departement: "057"\ndepartement: "067"\n',
            r"line 2, column 1: departement: key given twice",
        ),
        ("chiffrement:\n  kdf: [pbkdf2\n", r"^livraison\.yaml, line 3, column 1: .*fix the YAML"),
    ],
)
def test_bad_config_names_line(tmp_path: Path, text: str, message: str) -> None:
    delivery = make_delivery(tmp_path, text, folders=("ITAC",))

    with pytest.raises(DeliveryConfigError, match=message):
        read_delivery_config(delivery)


def test_unknown_top_key_only_warned(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    delivery = make_delivery(tmp_path, CONFIG_PBKDF2 + "chifrement: {}\n")

    config = read_delivery_config(delivery)

    assert config["chiffrement"]["kdf"] == "pbkdf2"
    assert "unknown key 'chifrement' ignored (did you mean chiffrement?)" in caplog.text


def test_misspelt_top_key_rejected(tmp_path: Path) -> None:
    delivery = make_delivery(tmp_path, CONFIG_PBKDF2 + "règles:\n  desactivees: [id.nir]\n")

    with pytest.raises(DeliveryConfigError, match=r"line \d+, column 1: règles: unknown key; "):
        read_delivery_config(delivery)


def test_unrelated_top_key_only_warned(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    delivery = make_delivery(tmp_path, CONFIG_PBKDF2 + "commentaire: livraison de test\n")

    config = read_delivery_config(delivery)

    assert config["departement"] == "057"
    assert "unknown key 'commentaire' ignored" in caplog.text


def test_empty_file_uses_discovery(tmp_path: Path) -> None:
    delivery = make_delivery(tmp_path, "", folders=("OPALES",))

    config = read_delivery_config(delivery)

    assert list(config["applications"]) == ["OPALES"]
    assert config["chiffrement"] is None


def test_no_application_found(tmp_path: Path) -> None:
    delivery = make_delivery(tmp_path, None, folders=("autre",))

    with pytest.raises(DeliveryError, match=r"no ITAC or OPALES folder \(or ITAC\.\* or"):
        read_delivery_config(delivery)


def test_missing_delivery_folder(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError, match="delivery folder not found"):
        read_delivery_config(tmp_path / "absent")


def test_file_given_as_delivery_folder(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# not a delivery\n", encoding="utf-8")

    with pytest.raises(DeliveryError, match="README.md: is a file, not a delivery folder"):
        read_delivery_config(readme)


def test_not_utf8_rejected(tmp_path: Path) -> None:
    delivery = make_delivery(tmp_path, None, folders=("ITAC",))
    (delivery / "livraison.yaml").write_bytes('emetteur: "Ministère"\n'.encode("cp1252"))

    with pytest.raises(DeliveryConfigError, match="not UTF-8 text; save it as UTF-8"):
        read_delivery_config(delivery)


def attempts_for(tmp_path: Path, chiffrement: str | None) -> tuple[EncryptionParameters, ...]:
    text = None if chiffrement is None else f"chiffrement: {chiffrement}\n"
    return encryption_attempts(read_delivery_config(make_delivery(tmp_path, text, ("ITAC",))))


def test_attempts_without_declaration(tmp_path: Path) -> None:
    attempts = attempts_for(tmp_path, None)

    assert attempts == DEFAULT_ATTEMPTS
    assert [params.describe() for params in attempts[:3]] == [
        "aes-256-cbc, PBKDF2-HMAC-SHA256, 10000 iterations",
        "aes-256-cbc, EVP_BytesToKey-SHA256",
        "aes-256-cbc, EVP_BytesToKey-MD5",
    ]


@pytest.mark.parametrize(
    ("chiffrement", "expected"),
    [
        (
            "{cipher: aes-128-cbc, kdf: pbkdf2, digest: sha512, iterations: 1000}",
            [EncryptionParameters("aes-128-cbc", "pbkdf2", "sha512", 1000)],
        ),
        (
            "{kdf: pbkdf2, iterations: 1000}",
            [
                EncryptionParameters("aes-256-cbc", "pbkdf2", "sha256", 1000),
                EncryptionParameters("aes-256-cbc", "pbkdf2", "sha512", 1000),
                EncryptionParameters("aes-256-cbc", "pbkdf2", "sha1", 1000),
            ],
        ),
        (
            "{kdf: evp-bytes-to-key}",
            [
                EncryptionParameters("aes-256-cbc", "evp-bytes-to-key", "sha256"),
                EncryptionParameters("aes-256-cbc", "evp-bytes-to-key", "md5"),
                EncryptionParameters("aes-256-cbc", "evp-bytes-to-key", "sha1"),
            ],
        ),
        ("{format: none}", []),
    ],
)
def test_declared_keys_narrow_attempts(tmp_path: Path, chiffrement: str, expected: list) -> None:
    assert list(attempts_for(tmp_path, chiffrement)) == expected


def test_cipher_replaces_every_candidate(tmp_path: Path) -> None:
    attempts = attempts_for(tmp_path, "{cipher: camellia-256-cbc}")

    assert len(attempts) == len(DEFAULT_ATTEMPTS)
    assert {params.cipher for params in attempts} == {"camellia-256-cbc"}
