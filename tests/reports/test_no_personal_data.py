"""No NIR, name or birth date of the sample delivery in clear in what a default run writes.

The personal values come from the decrypted sample itself: every NIR, birth name, usage name,
first name and birth date of its tables. They are searched in the HTML pages, resume.json, the
XLSX workbook and the OpenLineage events of a default `mdph-reprise -v run`, in its captured
output and logs, and in the full report (with the lineage look-up) of the sample run.

A value that also appears in a non-personal column of the delivery is left out of the search,
because finding it would not show a leak. Examples: a first name that is also a street name, a
birth date that is also a decision date.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from migration.delivery.intake import open_delivery
from migration.delivery.workdir import PrivateWorkdir
from migration.dictionary.model import load_dictionary
from migration.reading.csv_reader import read_table
from tests.reports.sample_run import DELIVERY, PASSWORD

NAME_COLUMN = re.compile(r"NOM|PRENOM")
BIRTH_COLUMN = re.compile(r"NAISS")
MIN_NAME_LENGTH = 4
"""Shorter names (Li, Eva) are substrings of ordinary words and would match by chance."""


@pytest.fixture(scope="module")
def personal_values(tmp_path_factory):
    """{"nir": set, "name": set, "birth_date": set} of the sample, read from its plaintext."""
    found = {"nir": set(), "name": set(), "birth_date": set()}
    ordinary: set[str] = set()
    with PrivateWorkdir(parent=tmp_path_factory.mktemp("plaintext")) as workdir:
        delivery = open_delivery(DELIVERY, PASSWORD, workdir.path)
        for application in delivery.applications.values():
            dictionary = load_dictionary(application.dictionary)
            for table in dictionary.tables.values():
                rows = read_table(application.name, table, application.folder / table.file).rows
                for column in table.columns:
                    values = {str(value) for value in rows[column.name].dropna()}
                    if not column.personal:
                        ordinary.update(values)
                        for value in values:
                            ordinary.update(value.split())
                    elif column.identifier == "nir":
                        found["nir"].update(value for value in values if len(value) >= 13)
                    elif column.type == "date" and BIRTH_COLUMN.search(column.name):
                        found["birth_date"].update(values)
                    elif column.type == "text" and NAME_COLUMN.search(column.name):
                        for value in values:
                            found["name"].update(
                                part for part in value.split() if len(part) >= MIN_NAME_LENGTH
                            )
    for kind in found:
        found[kind] -= ordinary
    found["birth_date"] |= {_iso(value) for value in found["birth_date"] if _iso(value)}
    found["birth_date"] -= ordinary
    return found


def _iso(value: str) -> str | None:
    """Return a dd/mm/yyyy date as yyyy-mm-dd, the form the target database stores."""
    match = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", value)
    return f"{match[3]}-{match[2]}-{match[1]}" if match else None


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """Run `mdph-reprise -v run` on the sample with default options; return output and folder."""
    output = tmp_path_factory.mktemp("default_run") / "out"
    environment = dict(os.environ, MDPH_DELIVERY_PASSWORD=PASSWORD)
    environment.pop("MDPH_TARGET_URL", None)
    environment.pop("MDPH_OPENLINEAGE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "migration.cli",
            "-v",
            "run",
            str(DELIVERY),
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout + result.stderr, output


def texts_of(folder: Path) -> dict[str, str]:
    """The text of every report file under folder (XLSX as its cell values), by path."""
    texts = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".html", ".json", ".jsonl"):
            texts[str(path)] = path.read_text(encoding="utf-8")
        elif path.suffix == ".xlsx":
            workbook = load_workbook(path, read_only=True)
            texts[str(path)] = "\n".join(
                str(value)
                for sheet in workbook.worksheets
                for row in sheet.iter_rows(values_only=True)
                for value in row
                if value is not None
            )
    return texts


def leaks(texts: dict[str, str], values: dict[str, set]) -> list[tuple[str, str, str]]:
    """Return (file, kind, value) for each personal value found as a whole word in a text."""
    found = []
    for kind, searched in values.items():
        pattern = re.compile(
            r"(?<![\w/-])(" + "|".join(map(re.escape, sorted(searched))) + r")(?![\w/-])"
        )
        for name, text in texts.items():
            for match in pattern.finditer(text):
                found.append((name, kind, match.group(1)[:3] + "…"))
    return found


def test_sample_has_personal_values(personal_values):
    assert len(personal_values["nir"]) > 100
    assert len(personal_values["name"]) > 100
    assert len(personal_values["birth_date"]) > 100


def test_search_finds_a_planted_value(personal_values):
    nir = sorted(personal_values["nir"])[0]
    name = sorted(personal_values["name"])[0]

    found = leaks({"planted": f"x {nir} y {name}."}, personal_values)

    assert {kind for _, kind, _ in found} == {"nir", "name"}


def test_default_run_reports_hold_no_personal_value(default_run, personal_values):
    _, output = default_run
    texts = texts_of(output)

    assert any(name.endswith(".xlsx") for name in texts)
    assert len([name for name in texts if name.endswith(".html")]) > 7
    assert leaks(texts, personal_values) == []


def test_default_run_logs_hold_no_personal_value(default_run, personal_values):
    logs, _ = default_run

    assert " INFO " in logs, "the run did not log with -v"
    assert leaks({"logs": logs}, personal_values) == []


def test_full_report_holds_no_personal_value(sample_report, personal_values):
    texts = texts_of(sample_report.reports)

    assert any(name.endswith("lineage.html") for name in texts)
    assert any(name.endswith("openlineage.jsonl") for name in texts)
    assert leaks(texts, personal_values) == []


def test_show_personal_option_shows_values(sample_report, personal_values, tmp_path):
    from migration.reports import write_reports

    write_reports(
        sample_report.outcome.summary, tmp_path, mask_personal=False, engine=sample_report.engine
    )
    found = leaks(texts_of(tmp_path), personal_values)

    assert {kind for _, kind, _ in found} == {"nir", "name", "birth_date"}
    assert all(name.endswith(".html") for name, _, _ in found)
