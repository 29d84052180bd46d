"""The examples of a value the target refuses name the refused value, never an empty one.

The mapping fills `adresse.voie` with the street repeated, longer than the 120 characters of the
column, so the run rejects those rows with mapping.target_value.
"""

import json
from pathlib import Path

import pytest
from markupsafe import escape
from openpyxl import load_workbook

from migration.reading.findings import mask_value
from migration.reports.formatting import format_reject_reason
from migration.reports.labels import LABELS
from migration.reports.report import write_reports
from migration.run import RunOptions, run_migration

ROOT = Path(__file__).resolve().parents[1]
DELIVERY = ROOT / "sample_data" / "delivery"
PASSWORD = "reprise-57-demo"
VOIE = "      voie: {trim: ADR_VOIE}\n"
LONG_VOIE = "      voie: {concat: [ADR_VOIE, ADR_VOIE, ADR_VOIE, ADR_VOIE, ADR_VOIE, ADR_VOIE]}\n"
REASON = "the text is longer than the 120 characters of the column"
# The reason is stored as REASON and shown in the report's language.
FRENCH_REASON = format_reject_reason(REASON, LABELS["fr"]["reject_reason_phrases"], {}, "fr")


@pytest.fixture(scope="module")
def refused_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("refused")
    text = (ROOT / "mappings" / "itac.yaml").read_text(encoding="utf-8")
    assert text.count(VOIE) == 1
    mapping = folder / "itac.yaml"
    mapping.write_text(text.replace(VOIE, LONG_VOIE), encoding="utf-8")
    options = RunOptions(
        delivery=DELIVERY,
        target_url=f"sqlite:///{folder / 'mdph.sqlite3'}",
        reports_dir=folder / "rapports",
        mappings={"ITAC": mapping},
        workers=1,
    )
    outcome = run_migration(options, PASSWORD)
    assert outcome.status == "success"
    return outcome, folder / "rapports"


@pytest.fixture(scope="module")
def finding(refused_run):
    outcome, _ = refused_run
    dossier = next(
        t
        for t in outcome.summary["tables"]
        if (t["application"], t["table"]) == ("ITAC", "DOSSIER")
    )
    return next(f for f in dossier["findings_by_rule"] if f["rule_id"] == "mapping.target_value")


def test_summary_example_keeps_the_masked_value(refused_run, finding):
    _, reports = refused_run
    written = json.loads((reports / "resume.json").read_text(encoding="utf-8"))
    dossier = next(t for t in written["tables"] if t["table"] == "DOSSIER")
    [stored] = [f for f in dossier["findings_by_rule"] if f["rule_id"] == "mapping.target_value"]
    assert stored["examples"]
    for example in stored["examples"]:
        assert example["target_table"] == "adresse"
        assert example["column"] == "voie"
        assert example["reason"] == REASON
        assert example["value_kept"] is True
        assert example["personal"] is True
        assert len(example["value"]) > 120
        # The street is personal: its shape is shown, not its letters.
        assert mask_value(example["value"]) == example["value"]


def test_table_page_example_shows_column_reason_and_value(refused_run, finding):
    _, reports = refused_run
    french = LABELS["fr"]
    [page] = (reports / "tables").glob("*-itac-dossier.html")
    text = page.read_text(encoding="utf-8")
    findings = text[text.index('id="findings"') : text.index('id="charts"')]
    row = findings[findings.index("<code>mapping.target_value</code>") :].split("</tr>")[0]
    assert f"{french['target_column']} adresse.voie" in row
    assert FRENCH_REASON in row
    assert REASON not in row
    assert str(escape(finding["examples"][0]["value"])) in row
    assert french["empty_value"] not in row


def test_reject_sample_says_the_value_was_not_kept(refused_run):
    _, reports = refused_run
    french = LABELS["fr"]
    [page] = (reports / "tables").glob("*-itac-dossier.html")
    text = page.read_text(encoding="utf-8")
    samples = text[text.index('id="reject-samples"') : text.index('id="findings"')]
    rows = [row for row in samples.split("<tr>") if "<code>mapping.target_value</code>" in row]
    assert rows
    for row in rows:
        assert f"{french['target_column']} adresse.voie" in row
        assert french["value_not_kept"] in row
        assert FRENCH_REASON in row
        assert french["empty_value"] not in row
        assert '<span class="muted">—</span>' not in row


def test_workbook_example_shows_column_reason_and_value(refused_run, finding):
    _, reports = refused_run
    french = LABELS["fr"]
    workbook = load_workbook(reports / "rapport_qualite.xlsx", read_only=True)
    rows = list(workbook[french["sheet_findings"]].iter_rows(values_only=True))
    workbook.close()
    [row] = [r for r in rows if r[1] == "DOSSIER" and r[2] == "mapping.target_value"]
    examples = row[6]
    assert f"{french['target_column']} adresse.voie" in examples
    assert FRENCH_REASON in examples
    assert REASON not in examples
    assert finding["examples"][0]["value"] in examples
    assert french["empty_value"] not in examples


def test_english_report_says_value_not_kept(refused_run, tmp_path):
    outcome, reports = refused_run
    english = LABELS["en"]
    from migration.target.engine import create_target_engine

    engine = create_target_engine(f"sqlite:///{reports.parent / 'mdph.sqlite3'}")
    write_reports(outcome.summary, tmp_path, language="en", engine=engine)
    engine.dispose()
    [page] = (tmp_path / "tables").glob("*-itac-dossier.html")
    text = page.read_text(encoding="utf-8")
    samples = text[text.index('id="reject-samples"') : text.index('id="findings"')]
    assert f"{english['target_column']} adresse.voie" in samples
    assert english["value_not_kept"] in samples
    findings = text[text.index('id="findings"') : text.index('id="charts"')]
    row = findings[findings.index("<code>mapping.target_value</code>") :].split("</tr>")[0]
    assert english["empty_value"] not in row
    assert REASON in row


def test_missing_parent_example_shows_the_key(refused_run):
    """A row whose parent address row fell is rejected with the key it points at."""
    outcome, _ = refused_run
    examples = [
        example
        for table in outcome.summary["tables"]
        for rule in table["findings_by_rule"]
        if rule["rule_id"] == "mapping.parent_missing"
        for example in rule["examples"]
    ]
    assert examples
    for example in examples:
        assert example["value_kept"] is True
        assert example["value"] is not None


def test_rows_rejected_after_validation_keep_raw_text(refused_run, tmp_path):
    """A row rejected for a refused value in mapping, or whose parent fell in assembly, gets
    its raw text from its file again.

    The workers keep the raw text of the rows with a validation error only, so the run reads
    these rows again from the decrypted file before the work folder goes.
    """
    import sqlalchemy as sa

    from migration.delivery.intake import open_delivery
    from migration.dictionary.model import load_dictionary
    from migration.reading.csv_reader import LINE_COLUMN, read_table

    _, reports = refused_run
    engine = sa.create_engine(f"sqlite:///{reports.parent / 'mdph.sqlite3'}")
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text(
                "SELECT application, source_table, source_line, raw_values, rule_id "
                "FROM reprise_rejet "
                "WHERE rule_id IN ('mapping.parent_missing', 'mapping.target_value')"
            )
        ).all()
    engine.dispose()
    assert {row[4] for row in stored} == {"mapping.parent_missing", "mapping.target_value"}
    delivery = open_delivery(DELIVERY, PASSWORD, tmp_path)
    expected = {}
    for application, table_name in {(row[0], row[1]) for row in stored}:
        folder = delivery.applications[application]
        table = load_dictionary(folder.dictionary).tables[table_name]
        rows = read_table(application, table, folder.folder / table.file).rows
        for values in rows[[*table.column_names, LINE_COLUMN]].itertuples(index=False):
            expected[(application, table_name, int(values[-1]))] = dict(
                zip(table.column_names, values[:-1], strict=True)
            )
    for application, table_name, line, raw, _ in stored:
        assert raw is not None
        assert json.loads(raw) == expected[(application, table_name, line)]


def test_malformed_record_is_not_read_again(tmp_path, caplog):
    """A record rejected as malformed has no raw row, so the run does not read its file again
    to look for one."""
    import logging

    from tests.sample_delivery import generate_plaintext
    from tests.target.pipeline_rows import edit_csv

    delivery = generate_plaintext(tmp_path / "delivery", persons=300)

    def add_field(lines):
        lines[3] += ";EXTRA"
        return lines

    edit_csv(delivery / "ITAC" / "DEMANDE.csv", add_field)
    options = RunOptions(
        delivery=delivery,
        target_url=f"sqlite:///{tmp_path / 'mdph.sqlite3'}",
        reports_dir=tmp_path / "rapports",
        workers=1,
    )
    with caplog.at_level(logging.INFO, logger="migration.steps"):
        outcome = run_migration(options, "")
    assert outcome.status == "success"
    demande = next(t for t in outcome.summary["tables"] if t["table"] == "DEMANDE")
    assert "csv.field_count" in {r["rule_id"] for r in demande["reject_reasons"]}
    assert not [r for r in caplog.records if "read again" in r.getMessage()]
