"""The accept and decrypt commands: exit codes, messages, progress, no plaintext on failure."""

from __future__ import annotations

import argparse
import io
import os
import stat
from pathlib import Path

import pytest

from migration.acceptance.commands import (
    ProgressBars,
    add_accept_parser,
    add_decrypt_parser,
    byte_size,
)
from migration.delivery.password import PASSWORD_ENV_VAR
from migration.errors import MdphRepriseError
from tests.acceptance.test_report import PASSWORD, SAMPLE, copy_sample, rewrite_manifest
from tests.delivery.helpers import files_under
from tests.sample_delivery import generate_plaintext


def run(argv: list[str]) -> int:
    """Parse and run like the mdph-reprise entry point: errors become exit code 2."""
    parser = argparse.ArgumentParser(prog="mdph-reprise", allow_abbrev=False)
    commands = parser.add_subparsers(dest="command", required=True)
    add_accept_parser(commands)
    add_decrypt_parser(commands)
    try:
        args = parser.parse_args(argv)
        return args.handler(args)
    except MdphRepriseError as error:
        print(f"error: {error}")
        return error.exit_code
    except SystemExit as exit_:
        return int(exit_.code or 0)


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV_VAR, PASSWORD)


@pytest.mark.usefixtures("password")
def test_accept_conforming_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = run(["accept", str(SAMPLE), "--received", "2008-10-15", "--reports", str(tmp_path)])

    output = capsys.readouterr().out
    assert code == 0
    assert "verdict: conforme" in output
    assert "claim deadline: 2008-11-05" in output
    assert (tmp_path / "rapport_recette.html").is_file()


@pytest.mark.usefixtures("password")
def test_accept_warns_receipt_before_extraction(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = run(["accept", str(SAMPLE), "--received", "2008-01-15", "--reports", str(tmp_path)])

    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning: ")]
    assert code == 0
    assert warnings == [
        "warning: the date of receipt --received 2008-01-15 is before the extraction date "
        "2008-10-14 in livraison.yaml, most likely a typing error; check it and run accept "
        "again, because the claim deadline counts from the date of receipt"
    ]
    html = (tmp_path / "rapport_recette.html").read_text(encoding="utf-8")
    assert "<h2>Avertissements</h2>" in html
    assert "antérieure à la date d&#39;extraction (14 octobre 2008)" in html


@pytest.mark.usefixtures("password")
def test_accept_with_defect_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    delivery = copy_sample(tmp_path)
    (delivery / "OPALES" / "RAMSESE.csv.enc").unlink()

    code = run(["accept", str(delivery), "--received", "2008-10-15", "--reports", str(tmp_path)])

    output = capsys.readouterr().out
    assert code == 1
    assert "verdict: réclamation" in output
    assert "defect: OPALES/RAMSESE.csv.enc is listed in SHA256SUMS but missing" in output
    assert (tmp_path / "projet_reclamation.txt").is_file()


@pytest.mark.usefixtures("password")
def test_accept_truncated_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    delivery = generate_plaintext(tmp_path / "livraison")
    suivi = delivery / "ITAC" / "SUIVI.csv"
    suivi.write_bytes(suivi.read_bytes()[:-3])
    rewrite_manifest(delivery)
    reports = tmp_path / "rapports"

    code = run(["accept", str(delivery), "--received", "2008-10-15", "--reports", str(reports)])

    output = capsys.readouterr().out
    assert code == 1
    assert "verdict: réclamation" in output
    assert "defect: ITAC/SUIVI.csv: line 32: the last record has no line end" in output
    assert "claim a new delivery" in output
    letter = (reports / "projet_reclamation.txt").read_text(encoding="utf-8")
    assert "le fichier est peut-être tronqué" in letter


def test_accept_wrong_password_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv(PASSWORD_ENV_VAR, "not-the-password")
    workdir = tmp_path / "work"
    workdir.mkdir(mode=0o700)

    code = run(
        [
            "accept",
            str(SAMPLE),
            "--received",
            "2008-10-15",
            "--reports",
            str(tmp_path / "rapports"),
            "--workdir",
            str(workdir),
        ]
    )

    output = capsys.readouterr().out
    assert code == 2
    assert "wrong password: the file matches its SHA-256 in SHA256SUMS" in output
    assert "MDPH_DELIVERY_PASSWORD or in a file named by --password-file" in output
    assert "not-the-password" not in output
    assert list(workdir.iterdir()) == []
    assert not (tmp_path / "rapports" / "rapport_recette.json").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["--received", "15/10/2008"],
        ["--received", "2008-10-15", "--password", PASSWORD],
        ["--received", "2008-10-15", "--passw", "x"],
        ["--received", "2008-10-15", "--max-size", "lots"],
    ],
)
def test_accept_bad_usage_exits_2(tmp_path: Path, argv: list[str]) -> None:
    assert run(["accept", str(SAMPLE), "--reports", str(tmp_path), *argv]) == 2


def test_accept_impossible_date_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["accept", str(SAMPLE), "--reports", str(tmp_path), "--received", "2008-02-30"]

    code = run(argv)

    error = capsys.readouterr().err
    assert code == 2
    assert "'2008-02-30' is not a valid calendar date (day is out of range for month)" in error
    assert "not a date in the form" not in error


def test_accept_malformed_date_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["accept", str(SAMPLE), "--reports", str(tmp_path), "--received", "15/10/2008"]

    code = run(argv)

    error = capsys.readouterr().err
    assert code == 2
    assert "'15/10/2008' is not a date in the form YYYY-MM-DD" in error


@pytest.mark.usefixtures("password")
def test_accept_warns_receipt_after_today(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = run(["accept", str(SAMPLE), "--received", "2099-01-01", "--reports", str(tmp_path)])

    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning: " in line]
    assert code == 0
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: the date of receipt --received 2099-01-01 is after")


@pytest.mark.usefixtures("password")
def test_accept_unknown_departement(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["accept", str(SAMPLE), "--received", "2008-10-15", "--reports", str(tmp_path)]

    code = run([*argv, "--departement", "Moselle"])

    assert code == 2
    assert "'Moselle' is not a département code" in capsys.readouterr().out


@pytest.mark.usefixtures("password")
def test_decrypt_writes_private_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "clair"

    code = run(["decrypt", str(SAMPLE), "--out", str(out)])

    assert code == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(out / "ITAC" / "DOSSIER.csv").st_mode) == 0o600
    assert len(files_under(out)) == 18
    assert "sha256" in capsys.readouterr().out


@pytest.mark.usefixtures("password")
def test_decrypt_failure_leaves_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    delivery = copy_sample(tmp_path)
    (delivery / "SHA256SUMS").unlink()
    target = delivery / "OPALES" / "SCOLARISATION.csv.enc"
    target.write_bytes(target.read_bytes()[:-7])
    out = tmp_path / "clair"

    code = run(["decrypt", str(delivery), "--out", str(out)])

    assert code == 2
    assert "OPALES/SCOLARISATION.csv.enc: the file is truncated" in capsys.readouterr().out
    assert files_under(out) == []


@pytest.mark.usefixtures("password")
def test_decrypt_reports_defects(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    delivery = copy_sample(tmp_path)
    (delivery / "ITAC" / "SUIVI.csv.enc").unlink()
    (delivery / "SHA256SUMS").unlink()

    code = run(["decrypt", str(delivery), "--out", str(tmp_path / "clair")])

    captured = capsys.readouterr()
    assert code == 1
    assert "defect: ITAC/SUIVI.csv: table file missing" in captured.err
    assert (tmp_path / "clair" / "ITAC" / "DOSSIER.csv").is_file()


def test_progress_bar_drawn_for_large_files() -> None:
    stream = io.StringIO()
    stream.isatty = lambda: True  # type: ignore[method-assign]
    bars = ProgressBars(stream, min_bytes=100)

    bars("decrypt", application="ITAC", path="ITAC/DOSSIER.csv.enc")
    bars("bytes", application="ITAC", path="ITAC/DOSSIER.csv.enc", done=50, total=200)
    bars("bytes", application="ITAC", path="ITAC/DOSSIER.csv.enc", done=200, total=200)
    bars("decrypted", application="ITAC", name="DOSSIER.csv", size=180)
    bars("bytes", application="ITAC", path="ITAC/small.enc", done=10, total=10)

    text = stream.getvalue()
    assert "ITAC/DOSSIER.csv.enc" in text
    assert "/200" in text
    assert "small.enc" not in text


@pytest.mark.parametrize(
    ("text", "size"), [("1048576", 1 << 20), ("500M", 500 << 20), ("20G", 20 << 30), ("1.5k", 1536)]
)
def test_byte_size_parsed(text: str, size: int) -> None:
    assert byte_size(text) == size


@pytest.mark.usefixtures("password")
def test_accept_unwritable_report_leaves_no_part(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    reports = tmp_path / "rapports"
    reports.mkdir()
    # A folder in place of the HTML page's temporary file makes its write fail, as a full disk
    # does, once the JSON file is written.
    (reports / ".rapport_recette.html.tmp").mkdir()

    code = run(["accept", str(SAMPLE), "--received", "2008-10-15", "--reports", str(reports)])

    assert code == 2
    assert "error: cannot write the acceptance report in " in capsys.readouterr().out
    assert sorted(path.name for path in reports.iterdir()) == [".rapport_recette.html.tmp"]
