"""Reject reasons: stored as they always were, shown in the report's language."""

import json
import re
from string import Formatter

import pandas as pd
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from migration.lineage.run_record import finish_run
from migration.mapping.engine import SourceTable, map_target
from migration.mapping.language import load_mapping
from migration.mapping.reasons import MAPPING_REASONS, parse_reject_reason
from migration.reading.csv_reader import LINE_COLUMN
from migration.reading.findings import FINDING_DETAILS, finding_detail
from migration.reports import render_site, write_reports
from migration.reports.coverage import expression_descriptions
from migration.reports.formatting import format_finding_detail, format_reject_reason
from migration.reports.labels import LABELS
from migration.run import RunOptions, run_migration
from migration.target.engine import create_target_engine
from migration.target.frames import invalid_values
from migration.target.reasons import TARGET_VALUE_REASONS
from migration.target.schema import load_target_schema
from tests.reports.sample_run import DELIVERY, PASSWORD, ROOT
from tests.reports.summaries import build_summary, site

PARENT_MISSING_FR = "ligne parente absente ou rejetée dans "
PARENT_MISSING_EN = "parent row missing or rejected in "
TOO_LONG = {
    "fr": "le texte dépasse les 10 caractères de la colonne",
    "en": "the text is longer than the 10 characters of the column",
}


@pytest.fixture(scope="module")
def too_long_run(tmp_path_factory):
    """Run the sample delivery with an ITAC mapping whose address numbers are too long.

    The database would reject the address of a dossier (mapping.target_value), so the dossier
    is dropped and its demands lose their parent (mapping.parent_missing).
    """
    folder = tmp_path_factory.mktemp("too_long_run")
    text = (ROOT / "mappings" / "itac.yaml").read_text(encoding="utf-8")
    mapping = folder / "itac.yaml"
    too_long = "      numero: {concat: [ADR_NUMERO, ADR_VOIE]}\n"
    mapping.write_text(text.replace("      numero: ADR_NUMERO\n", too_long, 1), encoding="utf-8")
    url = f"sqlite:///{folder / 'mdph.sqlite3'}"
    options = RunOptions(
        delivery=DELIVERY,
        target_url=url,
        reports_dir=folder / "run_reports",
        mappings={"ITAC": mapping},
    )
    outcome = run_migration(options, PASSWORD)
    engine = create_target_engine(url)
    finish_run(engine, outcome.summary)
    yield outcome.summary, engine
    engine.dispose()


def lookup_rejects(summary, engine, language):
    """Return the reject rows of the lineage page's index, rendered in `language`."""
    _, _, pages = render_site(summary, language, engine=engine)
    html = pages["lineage.html"]
    text = re.search(r'<script type="application/json" id="lineage-index">(.*?)</script>', html)
    return json.loads(text.group(1))["rejects"]


def stored_reasons(engine, run_id, rule_id):
    query = sa.text("SELECT reason FROM reprise_rejet WHERE run_id = :run AND rule_id = :rule")
    with engine.connect() as connection:
        return {row.reason for row in connection.execute(query, {"run": run_id, "rule": rule_id})}


def test_reasons_stored_as_before(too_long_run):
    summary, engine = too_long_run

    too_long = stored_reasons(engine, summary["run_id"], "mapping.target_value")
    missing = stored_reasons(engine, summary["run_id"], "mapping.parent_missing")

    assert too_long == {TOO_LONG["en"]}
    assert missing
    for reason in missing:
        assert reason.startswith(PARENT_MISSING_FR), reason


def test_lineage_reject_reasons_in_report_language(too_long_run):
    summary, engine = too_long_run

    french = lookup_rejects(summary, engine, "fr")
    english = lookup_rejects(summary, engine, "en")

    rules = [row[4] for row in french]
    assert "mapping.target_value" in rules
    assert "mapping.parent_missing" in rules
    assert [row[4] for row in english] == rules
    for fr_row, en_row in zip(french, english, strict=True):
        if fr_row[4] == "mapping.target_value":
            assert fr_row[7] == TOO_LONG["fr"]
            assert en_row[7] == TOO_LONG["en"]
        elif fr_row[4] == "mapping.parent_missing":
            table = fr_row[7].removeprefix(PARENT_MISSING_FR)
            assert fr_row[7] == PARENT_MISSING_FR + table
            assert en_row[7] == PARENT_MISSING_EN + table


MAPPING = """\
application: ITAC
targets:
  - target: individu
    source: DOSSIER
    columns:
      sexe: {code: SEXE, map: {M: "1"}}
      rang: {to_integer: RANG}
"""


def test_mapping_reject_reasons_in_report_language(tmp_path):
    path = tmp_path / "itac.yaml"
    path.write_text(MAPPING, encoding="utf-8")
    mapping = load_mapping(path)
    rows = pd.DataFrame(
        {"SEXE": ["M", "Z", "M"], "RANG": ["1", "2", "x"], LINE_COLUMN: [2, 3, 4]}, dtype=object
    )
    tables = {"DOSSIER": SourceTable("ITAC", "DOSSIER", "DOSSIER.csv", rows)}
    _, rejects, _, _ = map_target(mapping, mapping.targets[0], tables, required=["nom"])
    descriptions = expression_descriptions({"mappings": {"ITAC": {"file": str(path)}}})

    def shown(language):
        phrases = LABELS[language]["reject_reason_phrases"]
        return {
            format_reject_reason(reason, phrases, descriptions, language)
            for reason in rejects["reason"]
        }

    assert set(rejects["reason"]) == {
        "code sans traduction : traduction de code (copie de SEXE)",
        "conversion impossible : to_integer de copie de RANG",
        "colonne cible obligatoire nom vide",
    }
    assert shown("fr") == set(rejects["reason"])
    assert shown("en") == {
        "code without a translation: code translation (copy of SEXE)",
        "conversion failed: to_integer of copy of RANG",
        "required target column nom is empty",
    }


def test_description_of_unknown_mapping_shown_as_stored():
    phrases = LABELS["en"]["reject_reason_phrases"]
    reason = "code sans traduction : traduction de code (copie de SEXE)"

    shown = format_reject_reason(reason, phrases, {}, "en")

    assert shown == "code without a translation: traduction de code (copie de SEXE)"


def test_unknown_reject_reason_shown_as_stored():
    phrases = LABELS["en"]["reject_reason_phrases"]
    reason = "Valeur absente dans une colonne obligatoire"

    assert format_reject_reason(reason, phrases, {}, "en") == reason


def placeholders(template):
    return sorted({name for _, name, _, _ in Formatter().parse(template) if name})


@pytest.mark.parametrize("language", ["fr", "en"])
def test_reject_phrases_keep_parameters(language):
    phrases = LABELS[language]["reject_reason_phrases"]
    stored = {**MAPPING_REASONS, **TARGET_VALUE_REASONS}

    assert not set(MAPPING_REASONS) & set(TARGET_VALUE_REASONS)
    assert set(phrases) == set(stored)
    for code, template in stored.items():
        assert placeholders(phrases[code]) == placeholders(template), code


def test_stored_reasons_parse_back():
    examples = {
        "unknown_code": {"description": "traduction de code (copie de SEXE)"},
        "conversion_failed": {"description": "to_date (%d/%m/%Y) de copie de DATE"},
        "required_empty": {"column": "nom_naissance"},
        "parent_missing": {"table": "dossier"},
        "text_too_long": {"length": "120"},
        "personal_not_a_code": {"code_list": "SEXE"},
        "not_a_code": {"code": "'M'", "code_list": "SEXE"},
        "decimal_scale": {"scale": "2"},
        "decimal_precision": {"precision": "12", "scale": "2"},
        "wrong_type": {"expected": "datetime.date", "actual": "str"},
    }
    for code, template in {**MAPPING_REASONS, **TARGET_VALUE_REASONS}.items():
        parameters = examples.get(code, {})
        reason = template.format(**parameters)

        assert parse_reject_reason(reason) == (code, parameters), reason


def test_invalid_values_reasons_parse():
    schema = load_target_schema()
    table = schema.tables["individu"]
    frame = pd.DataFrame(
        {
            "nom_naissance": ["x" * 61, "Martin"],
            "sexe": ["1", "M"],
            "date_naissance": ["1964-02-29", None],
        },
        dtype=object,
    )

    found = invalid_values(table, frame, schema.code_lists)

    assert len(found) == 3
    for _, _, reason in found:
        assert parse_reject_reason(reason) is not None, reason


DETAIL_EXAMPLES = {
    "field_count": {"fields": "9", "expected": "16"},
    "text_after_closing_quote": {"delimiter": ";"},
    "field_too_long": {"limit": "131072"},
    "csv_error": {"error": "line contains NUL"},
    "key_repeated": {"line": "12"},
}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_finding_detail_phrases_keep_parameters(language):
    phrases = LABELS[language]["finding_detail_phrases"]

    assert set(phrases) == set(FINDING_DETAILS)
    for code, template in FINDING_DETAILS.items():
        assert placeholders(phrases[code]) == placeholders(template), code


def test_finding_details_shown_in_french():
    phrases = LABELS["fr"]["finding_detail_phrases"]
    for code in FINDING_DETAILS:
        parameters = DETAIL_EXAMPLES.get(code, {})
        stored = finding_detail(code, **parameters)

        assert format_finding_detail(stored, phrases) == phrases[code].format(**parameters)
        assert format_finding_detail(stored, phrases) != stored, code


def test_unknown_finding_detail_shown_as_stored():
    phrases = LABELS["fr"]["finding_detail_phrases"]

    assert format_finding_detail("3 champs", phrases) == "3 champs"


def field_count_summary():
    summary = build_summary()
    summary["tables"][0]["findings_by_rule"].append(
        {
            "rule_id": "csv.field_count",
            "severity": "error",
            "count": 1,
            "examples": [{"line": 12, "column": None, "value": "9 fields, 16 expected"}],
        }
    )
    return summary


def test_field_count_detail_in_french_page():
    html = site(field_count_summary())["tables/table-1-itac-dossier.html"]

    assert "ligne 12\u00a0: 9 champs, 16 attendus" in html
    assert "9 fields" not in html


def test_field_count_detail_in_french_workbook(tmp_path):
    paths = write_reports(field_count_summary(), tmp_path / "reports")

    sheet = load_workbook(paths["xlsx"], read_only=True)["Constats"]
    cells = [str(value) for row in sheet.iter_rows(values_only=True) for value in row]
    assert any("ligne 12 : 9 champs, 16 attendus" in cell for cell in cells)
    assert not any("9 fields" in cell for cell in cells)
