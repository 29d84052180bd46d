"""open_delivery and decrypt_delivery on small deliveries built from openssl fixtures."""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from pathlib import Path

import pytest

from migration.delivery.config import DEFAULT_ATTEMPTS, normalize_departement, same_departement
from migration.delivery.crypto import EncryptionParameters
from migration.delivery.errors import DecryptionError, DeliveryError, ManifestError
from migration.delivery.intake import decrypt_delivery, inspect_delivery, open_delivery
from migration.delivery.workdir import PrivateWorkdir
from tests.delivery.helpers import (
    CONFIG_PBKDF2,
    DOSSIER_PLAINTEXT,
    FIXTURE_PASSWORD,
    FIXTURES,
    LOG_PLAINTEXT,
    WRONG_PASSWORD,
    build_delivery,
    files_under,
    write_manifest,
)

CONFIG_CTR = CONFIG_PBKDF2.replace("cipher: aes-256-cbc", "cipher: aes-256-ctr")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_decrypts_into_workdir(itac_delivery: Path, workdir: Path) -> None:
    delivery = open_delivery(itac_delivery, FIXTURE_PASSWORD, workdir)

    itac = delivery.applications["ITAC"]
    dossier = itac.files["DOSSIER.csv"]
    assert delivery.encrypted
    assert delivery.departement == "057"
    assert delivery.encryption == EncryptionParameters()
    assert itac.folder == workdir / "ITAC"
    assert itac.dictionary == "itac"
    assert sorted(itac.files) == ["DOSSIER.csv", "EXTRACTION_ITAC.log"]
    assert dossier.plaintext_path == workdir / "ITAC" / "DOSSIER.csv"
    assert dossier.plaintext_path.read_bytes() == DOSSIER_PLAINTEXT
    assert dossier.encrypted_path == itac_delivery / "ITAC" / "DOSSIER.csv.enc"
    assert dossier.sha256_plaintext == sha256(DOSSIER_PLAINTEXT)
    assert dossier.sha256_encrypted == sha256((FIXTURES / "pbkdf2-sha256.csv.enc").read_bytes())
    assert dossier.size_plaintext == len(DOSSIER_PLAINTEXT)
    assert dossier.manifest_status == "ok"
    assert itac.files["EXTRACTION_ITAC.log"].plaintext_path.read_bytes() == LOG_PLAINTEXT


def test_plaintext_files_private(itac_delivery: Path, workdir: Path) -> None:
    open_delivery(itac_delivery, FIXTURE_PASSWORD, workdir)

    assert mode_of(workdir) == 0o700
    assert mode_of(workdir / "ITAC") == 0o700
    assert mode_of(workdir / "ITAC" / "DOSSIER.csv") == 0o600
    assert mode_of(workdir / "ITAC" / "EXTRACTION_ITAC.log") == 0o600


def test_log_parsed(itac_delivery: Path, workdir: Path) -> None:
    log = open_delivery(itac_delivery, FIXTURE_PASSWORD, workdir).applications["ITAC"].log

    assert log is not None
    assert log.application == "ITAC"
    assert log.tables["DOSSIER"].records == 3
    assert log.tables["DOSSIER"].file == "DOSSIER.csv"
    assert log.return_code == 0


def test_progress_events_reported(itac_delivery: Path, workdir: Path) -> None:
    events: list[tuple[str, dict]] = []

    open_delivery(
        itac_delivery, FIXTURE_PASSWORD, workdir, progress=lambda e, **i: events.append((e, i))
    )
    reading = [info for event, info in events if event == "bytes"]
    events = [(event, info) for event, info in events if event != "bytes"]

    assert reading[-1] == {
        "application": "ITAC",
        "path": "ITAC/EXTRACTION_ITAC.log.enc",
        "done": 160,
        "total": 160,
    }
    assert [event for event, _ in events] == [
        "verify",
        "verify",
        "decrypt",
        "decrypted",
        "decrypt",
        "decrypted",
        "log",
    ]
    assert events[2][1] == {"application": "ITAC", "path": "ITAC/DOSSIER.csv.enc"}
    assert events[3][1] == {"application": "ITAC", "name": "DOSSIER.csv", "size": 204}
    assert events[6][1] == {"application": "ITAC", "tables": 1}


def test_wrong_password_leaves_nothing(itac_delivery: Path, workdir: Path) -> None:
    with pytest.raises(DecryptionError) as raised:
        open_delivery(itac_delivery, WRONG_PASSWORD, workdir)

    assert str(raised.value) == (
        "ITAC/DOSSIER.csv.enc: wrong password: the file matches its SHA-256 in SHA256SUMS, so "
        "it arrived as the sender wrote it. Check the delivery password given in the environment "
        "variable MDPH_DELIVERY_PASSWORD or in a file named by --password-file; if it is right, "
        "compare the chiffrement settings of livraison.yaml with the sender's"
    )
    assert files_under(workdir) == []


def test_wrong_password_unlisted_file_names_both_causes(itac_delivery: Path, workdir: Path) -> None:
    (itac_delivery / "SHA256SUMS").unlink()

    with pytest.raises(DecryptionError) as raised:
        open_delivery(itac_delivery, WRONG_PASSWORD, workdir)

    assert str(raised.value) == (
        "ITAC/DOSSIER.csv.enc: wrong password, or the file is damaged (SHA256SUMS has no "
        "SHA-256 of the file to rule out damage). Check the password given in the environment "
        "variable MDPH_DELIVERY_PASSWORD or in a file named by --password-file"
    )
    assert files_under(workdir) == []


def test_wrong_password_names_given_source(itac_delivery: Path, workdir: Path) -> None:
    source = "in the environment variable PART_PASSWORD_054"

    with pytest.raises(DecryptionError) as raised:
        inspect_delivery(itac_delivery, WRONG_PASSWORD, workdir, password_source=source)

    message = str(raised.value)
    assert (
        "so it arrived as the sender wrote it. Check the delivery password given " + source
        in message
    )
    assert "--password-file" not in message
    assert "No file of the delivery could be decrypted (2 tried)" in message


def test_ctr_wrong_password_caught(tmp_path: Path, workdir: Path) -> None:
    delivery = build_delivery(
        tmp_path, {"ITAC/DOSSIER.csv.enc": "aes256-ctr.csv.enc"}, config=CONFIG_CTR
    )

    with pytest.raises(DecryptionError, match=r"^ITAC/DOSSIER\.csv\.enc: wrong password"):
        open_delivery(delivery, WRONG_PASSWORD, workdir)
    assert files_under(workdir) == []


def test_ctr_right_password_decrypts(tmp_path: Path, workdir: Path) -> None:
    delivery = build_delivery(
        tmp_path, {"ITAC/DOSSIER.csv.enc": "aes256-ctr.csv.enc"}, config=CONFIG_CTR
    )

    opened = open_delivery(delivery, FIXTURE_PASSWORD, workdir)

    assert opened.applications["ITAC"].files["DOSSIER.csv"].plaintext_path.read_bytes() == (
        DOSSIER_PLAINTEXT
    )


@pytest.mark.parametrize("cut", [5, 16])
def test_truncated_file_leaves_nothing(itac_delivery: Path, workdir: Path, cut: int) -> None:
    target = itac_delivery / "ITAC" / "DOSSIER.csv.enc"
    target.write_bytes(target.read_bytes()[:-cut])
    write_manifest(itac_delivery)

    with pytest.raises(DecryptionError, match=r"^ITAC/DOSSIER\.csv\.enc: "):
        open_delivery(itac_delivery, FIXTURE_PASSWORD, workdir)
    assert files_under(workdir) == []


def test_manifest_mismatch_stops_before_decrypting(itac_delivery: Path, workdir: Path) -> None:
    target = itac_delivery / "ITAC" / "EXTRACTION_ITAC.log.enc"
    damaged = bytearray(target.read_bytes())
    damaged[20] ^= 0xFF
    target.write_bytes(bytes(damaged))

    with pytest.raises(ManifestError) as raised:
        open_delivery(itac_delivery, FIXTURE_PASSWORD, workdir)

    assert "ITAC/EXTRACTION_ITAC.log.enc does not match its SHA-256" in str(raised.value)
    assert "ITAC/DOSSIER.csv.enc" not in str(raised.value)
    assert files_under(workdir) == []


def test_listed_file_missing(itac_delivery: Path, workdir: Path) -> None:
    (itac_delivery / "ITAC" / "DOSSIER.csv.enc").unlink()

    with pytest.raises(DeliveryError, match=r"ITAC/DOSSIER\.csv\.enc is listed on line 1 of"):
        open_delivery(itac_delivery, FIXTURE_PASSWORD, workdir)
    assert files_under(workdir) == []


def test_unlisted_file_marked_absent(itac_delivery: Path, workdir: Path) -> None:
    manifest = itac_delivery / "SHA256SUMS"
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text("".join(line for line in lines if "DOSSIER" not in line))

    files = open_delivery(itac_delivery, FIXTURE_PASSWORD, workdir).applications["ITAC"].files

    assert files["DOSSIER.csv"].manifest_status == "absent"
    assert files["DOSSIER.csv"].sha256_encrypted == sha256(
        (FIXTURES / "pbkdf2-sha256.csv.enc").read_bytes()
    )
    assert files["EXTRACTION_ITAC.log"].manifest_status == "ok"


def test_no_manifest_accepted(tmp_path: Path, workdir: Path) -> None:
    delivery = build_delivery(
        tmp_path, {"ITAC/DOSSIER.csv.enc": "pbkdf2-sha256.csv.enc"}, manifest=False
    )

    opened = open_delivery(delivery, FIXTURE_PASSWORD, workdir)

    assert opened.applications["ITAC"].files["DOSSIER.csv"].manifest_status == "absent"
    assert opened.manifest == {}


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("pbkdf2-sha256.csv.enc", DEFAULT_ATTEMPTS[0]),
        ("legacy-sha256.csv.enc", DEFAULT_ATTEMPTS[1]),
        ("legacy-md5.csv.enc", DEFAULT_ATTEMPTS[2]),
        ("base64.csv.enc", DEFAULT_ATTEMPTS[0]),
    ],
)
def test_undeclared_encryption_found_by_trial(
    tmp_path: Path, workdir: Path, fixture: str, expected: EncryptionParameters
) -> None:
    delivery = build_delivery(tmp_path, {"ITAC/DOSSIER.csv.enc": fixture}, config=None)

    opened = open_delivery(delivery, FIXTURE_PASSWORD, workdir)

    assert opened.encryption == expected
    assert opened.config["path"] is None
    assert opened.applications["ITAC"].files["DOSSIER.csv"].plaintext_path.read_bytes() == (
        DOSSIER_PLAINTEXT
    )


def test_trial_with_wrong_password_names_attempts(tmp_path: Path, workdir: Path) -> None:
    delivery = build_delivery(tmp_path, {"ITAC/DOSSIER.csv.enc": "legacy-md5.csv.enc"}, config=None)

    with pytest.raises(DecryptionError) as raised:
        open_delivery(delivery, WRONG_PASSWORD, workdir)

    message = str(raised.value)
    assert message.startswith("ITAC/DOSSIER.csv.enc: wrong password (tried ")
    assert "so it arrived as the sender wrote it" in message
    assert "--password-file" in message
    assert "EVP_BytesToKey-MD5" in message
    assert "declare the encryption under chiffrement" in message
    assert files_under(workdir) == []


def test_departement_from_log_without_config(tmp_path: Path, workdir: Path) -> None:
    delivery = build_delivery(
        tmp_path,
        {
            "ITAC/DOSSIER.csv.enc": "pbkdf2-sha256.csv.enc",
            "ITAC/EXTRACTION_ITAC.log.enc": "EXTRACTION_ITAC.log.enc",
        },
        config=None,
    )

    assert open_delivery(delivery, FIXTURE_PASSWORD, workdir).departement == "057"


@pytest.mark.parametrize(
    ("declared", "normalized", "warned"),
    [('"57"', "057", False), ('"057"', "057", False), ('"067"', "067", True)],
)
def test_departement_compared_without_leading_zero(
    tmp_path: Path,
    workdir: Path,
    caplog: pytest.LogCaptureFixture,
    declared: str,
    normalized: str,
    warned: bool,
) -> None:
    # The extraction log of the fixture gives département 057.
    config = CONFIG_PBKDF2.replace('departement: "057"', f"departement: {declared}")
    delivery = build_delivery(
        tmp_path,
        {
            "ITAC/DOSSIER.csv.enc": "pbkdf2-sha256.csv.enc",
            "ITAC/EXTRACTION_ITAC.log.enc": "EXTRACTION_ITAC.log.enc",
        },
        config=config,
    )

    with caplog.at_level("WARNING", logger="migration.delivery.intake"):
        opened = open_delivery(delivery, FIXTURE_PASSWORD, workdir)

    assert opened.departement == normalized
    messages = [record.getMessage() for record in caplog.records]
    warnings = [message for message in messages if "declares département" in message]
    assert bool(warnings) is warned, warnings


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("57", "057", True),
        ("057", "57", True),
        ("2A", "02A", True),
        ("2a", "2A", True),
        ("2A", "2B", False),
        ("971", "971", True),
        ("971", "71", False),
        ("974", "97", False),
        ("01", "1", False),
    ],
)
def test_same_departement(first: str, second: str, same: bool) -> None:
    assert same_departement(first, second) is same


@pytest.mark.parametrize(
    ("code", "normalized"),
    [
        ("57", "057"),
        ("057", "057"),
        (" 57 ", "057"),
        ("2a", "02A"),
        ("02A", "02A"),
        ("971", "971"),
    ],
)
def test_normalize_departement(code: str, normalized: str) -> None:
    assert normalize_departement(code) == normalized


def test_missing_log_leaves_none(tmp_path: Path, workdir: Path) -> None:
    delivery = build_delivery(tmp_path, {"ITAC/DOSSIER.csv.enc": "pbkdf2-sha256.csv.enc"})

    opened = open_delivery(delivery, FIXTURE_PASSWORD, workdir)

    assert opened.applications["ITAC"].log is None
    assert opened.departement == "057"


def test_plaintext_delivery_used_in_place(tmp_path: Path, workdir: Path) -> None:
    delivery = build_delivery(
        tmp_path,
        {"ITAC/DOSSIER.csv": "DOSSIER.csv", "ITAC/EXTRACTION_ITAC.log": "EXTRACTION_ITAC.log"},
        config=None,
    )

    opened = open_delivery(delivery, "unused", workdir)

    itac = opened.applications["ITAC"]
    dossier = itac.files["DOSSIER.csv"]
    assert not opened.encrypted
    assert not itac.encrypted
    assert opened.encryption is None
    assert itac.folder == delivery / "ITAC"
    assert dossier.plaintext_path == delivery / "ITAC" / "DOSSIER.csv"
    assert dossier.encrypted_path is None
    assert dossier.sha256_encrypted is None
    assert dossier.sha256_plaintext == sha256(DOSSIER_PLAINTEXT)
    assert dossier.manifest_status == "ok"
    assert itac.log is not None
    assert itac.log.tables["DOSSIER"].records == 3
    assert not workdir.exists()


def test_plaintext_format_declared(tmp_path: Path, workdir: Path) -> None:
    config = "chiffrement:\n  format: none\n"
    delivery = build_delivery(tmp_path, {"ITAC/DOSSIER.csv": "DOSSIER.csv"}, config=config)

    opened = open_delivery(delivery, "unused", workdir)

    assert not opened.encrypted
    assert opened.applications["ITAC"].files["DOSSIER.csv"].plaintext_path.read_bytes() == (
        DOSSIER_PLAINTEXT
    )


def test_plaintext_format_with_enc_rejected(tmp_path: Path, workdir: Path) -> None:
    config = "chiffrement:\n  format: none\n"
    delivery = build_delivery(
        tmp_path, {"ITAC/DOSSIER.csv.enc": "pbkdf2-sha256.csv.enc"}, config=config
    )

    with pytest.raises(DeliveryError, match="declares chiffrement format none .* ITAC contains"):
        open_delivery(delivery, FIXTURE_PASSWORD, workdir)
    assert not workdir.exists()


def test_applications_subset(tmp_path: Path, workdir: Path) -> None:
    config = CONFIG_PBKDF2 + "  OPALES: {dossier: OPALES}\n"
    delivery = build_delivery(
        tmp_path,
        {
            "ITAC/DOSSIER.csv.enc": "pbkdf2-sha256.csv.enc",
            "OPALES/ENFANT.csv.enc": "pbkdf2-sha256.csv.enc",
        },
        config=config,
    )
    # An altered OPALES file must not stop taking in ITAC alone.
    (delivery / "OPALES" / "ENFANT.csv.enc").write_bytes(b"altered")

    opened = open_delivery(delivery, FIXTURE_PASSWORD, workdir, applications=["ITAC"])

    assert list(opened.applications) == ["ITAC"]
    assert files_under(workdir) == ["ITAC/DOSSIER.csv"]
    with pytest.raises(ManifestError, match=r"OPALES/ENFANT\.csv\.enc does not match"):
        open_delivery(delivery, FIXTURE_PASSWORD, tmp_path / "work2")


def test_unknown_application_rejected(itac_delivery: Path, workdir: Path) -> None:
    with pytest.raises(DeliveryError, match="application OPALES is not in the delivery"):
        open_delivery(itac_delivery, FIXTURE_PASSWORD, workdir, applications=["OPALES"])


def test_missing_application_folder(tmp_path: Path, workdir: Path) -> None:
    config = CONFIG_PBKDF2 + "  OPALES: {dossier: OPALES}\n"
    delivery = build_delivery(
        tmp_path, {"ITAC/DOSSIER.csv.enc": "pbkdf2-sha256.csv.enc"}, config=config
    )

    with pytest.raises(DeliveryError, match="folder of application OPALES not found"):
        open_delivery(delivery, FIXTURE_PASSWORD, workdir)


def test_shared_workdir_rejected(itac_delivery: Path, workdir: Path) -> None:
    workdir.mkdir(mode=0o755)
    os.chmod(workdir, 0o755)

    with pytest.raises(DeliveryError, match=r"accessible to group or others \(mode 0755\)"):
        open_delivery(itac_delivery, FIXTURE_PASSWORD, workdir)
    assert files_under(workdir) == []


def test_zip_named_enc_unpacked(tmp_path: Path, workdir: Path) -> None:
    # The format comes from the bytes: a ZIP file named .enc is unpacked as a ZIP file.
    delivery = build_delivery(tmp_path, {}, manifest=False)
    (delivery / "ITAC").mkdir()
    with zipfile.ZipFile(delivery / "ITAC" / "DOSSIER.csv.enc", "w") as archive:
        archive.writestr("DOSSIER.csv", DOSSIER_PLAINTEXT)

    opened = open_delivery(delivery, FIXTURE_PASSWORD, workdir)

    dossier = opened.applications["ITAC"].files["DOSSIER.csv"]
    assert dossier.plaintext_path.read_bytes() == DOSSIER_PLAINTEXT
    assert dossier.layers == ("zip",)
    assert dossier.entry == "DOSSIER.csv"


def test_plaintext_next_to_encrypted_ignored(itac_delivery: Path, workdir: Path) -> None:
    (itac_delivery / "ITAC" / "LISEZMOI.txt").write_text("notes")

    files = open_delivery(itac_delivery, FIXTURE_PASSWORD, workdir).applications["ITAC"].files

    assert "LISEZMOI.txt" not in files


def test_rerun_replaces_files(itac_delivery: Path, workdir: Path) -> None:
    open_delivery(itac_delivery, FIXTURE_PASSWORD, workdir)
    (workdir / "ITAC" / "DOSSIER.csv").write_bytes(b"stale")

    open_delivery(itac_delivery, FIXTURE_PASSWORD, workdir)

    assert (workdir / "ITAC" / "DOSSIER.csv").read_bytes() == DOSSIER_PLAINTEXT
    assert files_under(workdir) == ["ITAC/DOSSIER.csv", "ITAC/EXTRACTION_ITAC.log"]


def test_inside_private_workdir(itac_delivery: Path, tmp_path: Path) -> None:
    with PrivateWorkdir(tmp_path) as private:
        opened = open_delivery(itac_delivery, FIXTURE_PASSWORD, private.path)
        path = opened.applications["ITAC"].files["DOSSIER.csv"].plaintext_path
        assert path.read_bytes() == DOSSIER_PLAINTEXT

    assert not path.exists()
    assert not private.path.exists()


def test_decrypt_delivery_creates_private_folder(itac_delivery: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "clair" / "livraison"

    opened = decrypt_delivery(itac_delivery, FIXTURE_PASSWORD, out_dir)

    assert mode_of(out_dir) == 0o700
    assert files_under(out_dir) == ["ITAC/DOSSIER.csv", "ITAC/EXTRACTION_ITAC.log"]
    assert (out_dir / "ITAC" / "DOSSIER.csv").read_bytes() == DOSSIER_PLAINTEXT
    assert opened.applications["ITAC"].folder == out_dir / "ITAC"


def test_decrypt_delivery_rejects_shared_folder(itac_delivery: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "clair"
    out_dir.mkdir()
    os.chmod(out_dir, 0o750)

    with pytest.raises(DeliveryError, match="chmod 700"):
        decrypt_delivery(itac_delivery, FIXTURE_PASSWORD, out_dir)
    assert files_under(out_dir) == []


def test_file_that_fails_after_others_decrypted_is_claimed(
    itac_delivery: Path, workdir: Path
) -> None:
    # The sender cut the log after encrypting it, then computed SHA256SUMS on the cut file.
    log = itac_delivery / "ITAC" / "EXTRACTION_ITAC.log.enc"
    data = log.read_bytes()
    log.write_bytes(data[: (len(data) // 16 - 1) * 16])
    write_manifest(itac_delivery)

    with pytest.raises(DecryptionError) as raised:
        open_delivery(itac_delivery, FIXTURE_PASSWORD, workdir)

    message = str(raised.value)
    assert message.startswith(
        "ITAC/EXTRACTION_ITAC.log.enc: does not decrypt with the password that decrypted 1 "
        "other file of the delivery"
    )
    assert "although it matches its SHA-256 in SHA256SUMS" in message
    assert message.endswith("claim a new delivery (mdph-reprise accept writes the claim)")
    assert files_under(workdir) == []
