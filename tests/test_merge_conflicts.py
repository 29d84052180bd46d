"""A wrong mapping key that merges rows of different entities, seen by a whole run.

The mapping builds the address key from the département alone, so the addresses of every
dossier of one département become one `adresse` row. The run still loads and reconciles, and
its log, resume.json, HTML pages and XLSX workbook must name the keys that merged different values.
"""

import json
import logging
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from migration.reports.labels import LABELS
from migration.reports.report import write_reports
from migration.run import RunOptions, run_migration

ROOT = Path(__file__).resolve().parents[1]
DELIVERY = ROOT / "sample_data" / "delivery"
PASSWORD = "reprise-57-demo"
RIGHT_KEY = "      id_adresse: {surrogate: [NUM_DOSSIER], namespace: adresse.itac}\n"
WRONG_KEY = "      id_adresse: {surrogate: [ADR_DEPARTEMENT], namespace: adresse.itac}\n"


def wrong_key_mapping(folder: Path) -> Path:
    text = (ROOT / "mappings" / "itac.yaml").read_text(encoding="utf-8")
    assert text.count(RIGHT_KEY) == 1
    path = folder / "itac.yaml"
    path.write_text(text.replace(RIGHT_KEY, WRONG_KEY), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def wrong_key_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wrong_key")
    options = RunOptions(
        delivery=DELIVERY,
        target_url=f"sqlite:///{folder / 'mdph.sqlite3'}",
        reports_dir=folder / "rapports",
        mappings={"ITAC": wrong_key_mapping(folder)},
        workers=1,
    )
    # caplog cannot be used by a module fixture, so the run's records are kept here.
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("migration")
    logger.addHandler(handler)
    try:
        outcome = run_migration(options, PASSWORD)
    finally:
        logger.removeHandler(handler)
    return outcome, folder, records


@pytest.fixture(scope="module")
def conflict(wrong_key_run):
    outcome, _, _ = wrong_key_run
    [entry] = [e for e in outcome.summary["merge_conflicts"] if e["table"] == "adresse"]
    return entry


@pytest.fixture(scope="module")
def addresses(wrong_key_run) -> list[str]:
    """The street values loaded into the target, which no report or log may show."""
    _, folder, _ = wrong_key_run
    engine = sa.create_engine(f"sqlite:///{folder / 'mdph.sqlite3'}")
    with engine.connect() as connection:
        values = connection.execute(sa.text("SELECT voie FROM adresse")).scalars().all()
    engine.dispose()
    return [value for value in values if value]


def test_run_loads_and_reconciles(wrong_key_run):
    outcome, _, _ = wrong_key_run
    assert outcome.status == "success"
    assert all(table["reconciled"] for table in outcome.summary["tables"])


def test_summary_counts_conflicting_keys(wrong_key_run, conflict):
    outcome, _, _ = wrong_key_run
    dossier = next(
        t
        for t in outcome.summary["tables"]
        if (t["application"], t["table"]) == ("ITAC", "DOSSIER")
    )
    assert conflict["rule_id"] == "mapping.merge_conflict"
    # The sample has one département, so every ITAC address gets the same key.
    assert conflict["keys"] == conflict["merged_keys"] == 1
    assert conflict["rows"] == dossier["loaded"]
    columns = {column["column"]: column for column in conflict["columns"]}
    assert columns["voie"]["keys"] == conflict["keys"]
    assert columns["voie"]["personal"] is True
    assert "departement" not in columns  # the column the key is built from always agrees
    assert columns["id_individu"]["personal"] is False  # different persons under one key
    assert conflict["sources"] == [
        {"application": "ITAC", "table": "DOSSIER", "keys": conflict["keys"]}
    ]


def test_summary_examples_show_keys_and_lines_only(wrong_key_run, conflict, addresses):
    _, folder, _ = wrong_key_run
    example = conflict["examples"][0]
    assert re.fullmatch(r"[0-9a-f]{32}", example["key"])
    assert "voie" in example["columns"]
    assert len(example["rows"]) == 10
    assert example["more_rows"] > 0
    written = json.loads((folder / "rapports" / "resume.json").read_text(encoding="utf-8"))
    text = json.dumps(written["merge_conflicts"], ensure_ascii=False)
    for value in addresses:
        assert value not in text


def test_one_warning_per_table_without_values(wrong_key_run, conflict, addresses):
    _, _, records = wrong_key_run
    warnings = [r for r in records if r.name == "migration.mapping.merge_conflicts"]
    adresse = [r for r in warnings if r.getMessage().startswith("adresse:")]
    assert len(adresse) == 1
    message = adresse[0].getMessage()
    assert adresse[0].levelno == logging.WARNING
    assert f"{conflict['keys']} of the {conflict['merged_keys']} keys" in message
    assert f"voie ({conflict['keys']})" in message
    for value in addresses:
        assert value not in message


def test_summary_page_says_keys_merge_different_values(wrong_key_run, conflict):
    _, folder, _ = wrong_key_run
    french = LABELS["fr"]
    page = (folder / "rapports" / "rapport_qualite.html").read_text(encoding="utf-8")
    forms = french["merge_conflict_text"]
    form = forms["one"] if conflict["keys"] == 1 else forms["other"]
    sentence = f"{conflict['keys']} " + form.format(table="adresse", rows=conflict["rows"])
    decisions = page[page.index('id="decisions"') : page.index('id="targets"')]
    assert sentence in decisions
    assert 'id="merge-conflicts"' in decisions
    assert "<code>voie</code>" in decisions
    assert conflict["examples"][0]["key"] in decisions


def test_source_table_page_lists_conflicts(wrong_key_run, conflict):
    _, folder, _ = wrong_key_run
    [page] = (folder / "rapports" / "tables").glob("*-itac-dossier.html")
    text = page.read_text(encoding="utf-8")
    section = text[text.index('id="merge-conflicts"') : text.index('id="findings"')]
    assert LABELS["fr"]["merge_conflicts_title"] in section
    assert "<code>adresse</code>" in section
    assert conflict["examples"][0]["key"] in section


def test_workbook_has_one_row_per_column(wrong_key_run, conflict, addresses):
    _, folder, _ = wrong_key_run
    french = LABELS["fr"]
    workbook = load_workbook(folder / "rapports" / "rapport_qualite.xlsx", read_only=True)
    rows = list(workbook[french["sheet_merge_conflicts"]].iter_rows(values_only=True))
    workbook.close()
    by_column = {row[1]: row for row in rows[1:] if row[0] == "adresse"}
    assert set(by_column) == {column["column"] for column in conflict["columns"]}
    assert by_column["voie"][2:6] == (
        conflict["keys"],
        conflict["keys"],
        conflict["merged_keys"],
        conflict["rows"],
    )
    assert "ITAC.DOSSIER" in by_column["voie"][6]
    assert conflict["examples"][0]["key"] in by_column["voie"][7]
    text = repr(rows)
    for value in addresses:
        assert value not in text


def test_english_report_says_keys_merge_different_values(wrong_key_run, conflict, tmp_path):
    outcome, _, _ = wrong_key_run
    write_reports(outcome.summary, tmp_path, language="en")
    english = LABELS["en"]
    page = (tmp_path / "rapport_qualite.html").read_text(encoding="utf-8")
    forms = english["merge_conflict_text"]
    form = forms["one"] if conflict["keys"] == 1 else forms["other"]
    assert f"{conflict['keys']} " + form.format(table="adresse", rows=conflict["rows"]) in page
    workbook = load_workbook(tmp_path / "rapport_qualite.xlsx", read_only=True)
    assert english["sheet_merge_conflicts"] in workbook.sheetnames
    workbook.close()
