"""Archive safety: unsafe entries, links, decompression bombs, duplicates, nesting."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from migration.delivery.archives import ArchiveLimits, check_entry_name
from migration.delivery.errors import ArchiveLimitError, DeliveryError, UnsafeArchiveError
from migration.delivery.intake import open_delivery
from tests.delivery.helpers import (
    DOSSIER_PLAINTEXT,
    FIXTURE_PASSWORD,
    build_delivery,
    files_under,
    need_tool,
)

CONFIG_AUTO = 'departement: "057"\napplications:\n  ITAC: {dossier: ITAC}\n'


def open_fixture(tmp_path: Path, fixture: str, name: str, **limits: object):
    delivery = build_delivery(tmp_path, {f"ITAC/{name}": fixture}, config=CONFIG_AUTO)
    work = tmp_path / "work"
    archive_limits = ArchiveLimits(**limits) if limits else None  # type: ignore[arg-type]
    return open_delivery(delivery, FIXTURE_PASSWORD, work, limits=archive_limits), work


@pytest.mark.parametrize(
    ("fixture", "name", "message"),
    [
        ("traversal.zip", "ITAC.zip", r"^ITAC/ITAC\.zip: unsafe archive entry '\.\./\.\./ESCAPE"),
        ("absolute.tar", "ITAC.tar", r"^ITAC/ITAC\.tar: unsafe archive entry '/tmp/DOSSIER"),
        ("symlink.zip", "ITAC.zip", r"^ITAC/ITAC\.zip: archive entry 'LIEN\.csv' is a symbolic"),
    ],
)
def test_unsafe_entry_rejected(tmp_path: Path, fixture: str, name: str, message: str) -> None:
    with pytest.raises(UnsafeArchiveError, match=message):
        open_fixture(tmp_path, fixture, name)

    assert files_under(tmp_path / "work") == []
    assert not (tmp_path / "ESCAPE.csv").exists()
    assert not (tmp_path.parent / "ESCAPE.csv").exists()


def test_bomb_ratio_rejected(tmp_path: Path) -> None:
    with pytest.raises(ArchiveLimitError, match=r"declares a compression ratio of \d+:1, more"):
        open_fixture(tmp_path, "bomb.zip", "ZEROS.zip")

    assert files_under(tmp_path / "work") == []


def test_bomb_accepted_under_higher_ratio(tmp_path: Path) -> None:
    opened, _ = open_fixture(tmp_path, "bomb.zip", "ZEROS.zip", max_ratio=5000.0)

    zeros = opened.applications["ITAC"].files["ZEROS.csv"]
    assert zeros.size_plaintext == 20_000_000


def test_total_size_limit(tmp_path: Path) -> None:
    with pytest.raises(ArchiveLimitError, match=r"declares 335 bytes of files, more than the"):
        open_fixture(tmp_path, "zipcrypto.zip", "ITAC.zip", max_total_size=300)

    assert files_under(tmp_path / "work") == []


def test_size_limit_while_writing(tmp_path: Path) -> None:
    # openssl enc declares no size: the limit stops the writing itself.
    with pytest.raises(ArchiveLimitError, match=r"the file exceeds 100 bytes \(--max-size\)"):
        open_fixture(tmp_path, "pbkdf2-sha256.csv.enc", "DOSSIER.csv.enc", max_file_size=100)

    assert files_under(tmp_path / "work") == []


def test_nesting_limit(tmp_path: Path) -> None:
    with pytest.raises(ArchiveLimitError, match="more than 2 nested"):
        open_fixture(tmp_path, "ITAC.tar.gz.enc", "ITAC.tar.gz.enc", max_depth=2)


def test_duplicate_names_rejected(tmp_path: Path) -> None:
    need_tool("zip")
    source = tmp_path / "source"
    for folder in ("a", "b"):
        (source / folder).mkdir(parents=True)
        (source / folder / "DOSSIER.csv").write_bytes(DOSSIER_PLAINTEXT)
    subprocess.run(["zip", "-q", "-r", "dup.zip", "a", "b"], cwd=source, check=True)
    delivery = build_delivery(tmp_path, {}, config=CONFIG_AUTO, manifest=False)
    (delivery / "ITAC").mkdir()
    (delivery / "ITAC" / "dup.zip").write_bytes((source / "dup.zip").read_bytes())

    with pytest.raises(UnsafeArchiveError, match="have the same file name"):
        open_delivery(delivery, FIXTURE_PASSWORD, tmp_path / "work")


def test_subfolder_entries_flattened(tmp_path: Path) -> None:
    need_tool("zip")
    source = tmp_path / "source"
    (source / "ITAC").mkdir(parents=True)
    (source / "ITAC" / "DOSSIER.csv").write_bytes(DOSSIER_PLAINTEXT)
    subprocess.run(["zip", "-q", "-r", "itac.zip", "ITAC"], cwd=source, check=True)
    delivery = build_delivery(tmp_path, {}, config=CONFIG_AUTO, manifest=False)
    (delivery / "ITAC").mkdir()
    (delivery / "ITAC" / "itac.zip").write_bytes((source / "itac.zip").read_bytes())

    opened = open_delivery(delivery, FIXTURE_PASSWORD, tmp_path / "work")

    dossier = opened.applications["ITAC"].files["DOSSIER.csv"]
    assert dossier.entry == "ITAC/DOSSIER.csv"
    assert dossier.plaintext_path == tmp_path / "work" / "ITAC" / "DOSSIER.csv"


@pytest.mark.parametrize(
    "name", ["../x.csv", "a/../../x.csv", "/etc/passwd", "C:\\x.csv", "a\\..\\..\\x.csv", "a\0b"]
)
def test_unsafe_names(name: str) -> None:
    with pytest.raises(UnsafeArchiveError, match="unsafe archive entry"):
        check_entry_name(name, "x.zip")


@pytest.mark.parametrize(
    ("name", "base"), [("DOSSIER.csv", "DOSSIER.csv"), ("ITAC/DOSSIER.csv", "DOSSIER.csv")]
)
def test_safe_names(name: str, base: str) -> None:
    assert check_entry_name(name, "x.zip") == base


@pytest.mark.parametrize(
    "limits",
    [{"max_total_size": 0}, {"max_ratio": 0.5}, {"max_entries": True}],
)
def test_bad_limits_rejected(limits: dict) -> None:
    with pytest.raises(DeliveryError, match="archive limit"):
        ArchiveLimits(**limits)
