"""open_delivery on the bundled synthetic delivery in sample_data/delivery/."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from migration.delivery.intake import open_delivery
from migration.delivery.workdir import PrivateWorkdir

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "delivery"
SAMPLE_PASSWORD = "reprise-57-demo"

pytestmark = pytest.mark.skipif(
    not SAMPLE.is_dir(), reason="sample_data/delivery/ has not been generated"
)


def count_records(path: Path) -> int:
    """Count CSV records after the first line (the header, or FINESS's ``finess;etalab`` line)."""
    with path.open(encoding="cp1252", newline="") as stream:
        return sum(1 for _ in csv.reader(stream, delimiter=";", quotechar='"')) - 1


def test_sample_delivery_opens(tmp_path: Path) -> None:
    encrypted = sorted(SAMPLE.glob("*/*.enc"))

    with PrivateWorkdir(tmp_path) as workdir:
        delivery = open_delivery(SAMPLE, SAMPLE_PASSWORD, workdir.path)
        files = [file for app in delivery.applications.values() for file in app.files.values()]

        assert delivery.encrypted
        assert delivery.departement == "057"
        assert sorted(delivery.applications) == ["ITAC", "OPALES"]
        assert sorted(file.encrypted_path for file in files) == encrypted
        for file in files:
            assert file.manifest_status == "ok", file.name
            digest = hashlib.sha256(file.plaintext_path.read_bytes()).hexdigest()
            assert digest == file.sha256_plaintext, file.name


def test_sample_logs_match_files(tmp_path: Path) -> None:
    with PrivateWorkdir(tmp_path) as workdir:
        delivery = open_delivery(SAMPLE, SAMPLE_PASSWORD, workdir.path)

        for name, application in delivery.applications.items():
            log = application.log
            assert log is not None, name
            assert log.application == name
            assert log.departement == "057"
            assert log.return_code == 0
            assert log.finished_at is not None
            assert log.tables, name
            for table in log.tables.values():
                assert table.file in application.files, f"{name} {table.table}"
                plaintext = application.files[table.file].plaintext_path
                assert count_records(plaintext) == table.records, f"{name} {table.table}"
