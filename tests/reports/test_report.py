"""Tests of the run quality report (resume.json and rapport_qualite.html)."""

import copy
import json
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from migration.reports import ReportError, render_html, write_reports
from migration.reports.formatting import format_duration, format_number
from migration.reports.labels import LABELS

NNBSP = "\u202f"
# A NIR as the pipeline masks personal values: digits become 9, letters A or a.
MASKED_NIR = "999999999999999"

# (application, table, file, read, rejects by rule, warnings by rule, filtered)
SAMPLE_TABLES = [
    (
        "ITAC",
        "DOSSIER",
        "DOSSIER.csv",
        412,
        {"key.duplicate": 2},
        {"id.nir": 7, "type.date_placeholder": 5},
        0,
    ),
    ("ITAC", "DEMANDE", "DEMANDE.csv", 1010, {"fk.dangling": 4}, {}, 0),
    ("ITAC", "CONCLUSION", "CONCLUSION.csv", 12480, {}, {}, 0),
    ("ITAC", "SUIVI", "SUIVI.csv", 230, {"fk.dangling": 2}, {}, 0),
    ("ITAC", "HISTORIQUE", "HISTORIQUE.csv", 3120, {"type.date": 3, "code.unknown": 3}, {}, 0),
    ("OPALES", "ENFANT", "ENFANT.csv", 640, {}, {"id.nir": 3}, 0),
    ("OPALES", "DEMANDE", "DEMANDE.csv", 1500, {"key.duplicate": 2}, {}, 10),
    ("OPALES", "FINESS_STRUCTURE", "FINESS.csv", 1234567, {}, {}, 0),
]
RULES = [
    ("key.duplicate", "error", "Clé primaire déjà vue plus haut dans le fichier"),
    ("fk.dangling", "error", "Clé étrangère absente de la table référencée"),
    ("type.date", "error", "Date invalide dans les formats déclarés"),
    ("code.unknown", "error", "Code absent de la liste de codes"),
    ("id.nir", "warning", "NIR dont la clé ou le format est invalide"),
    ("type.date_placeholder", "warning", "Date fictive telle que 00/00/0000"),
]
SEVERITIES = {rule_id: severity for rule_id, severity, _ in RULES}
# Column and value of the examples of each rule; only NIR is a personal column.
RULE_EXAMPLES = {
    "key.duplicate": ("NUM_DOSSIER", "5700001234"),
    "fk.dangling": ("NUM_DOSSIER", "5799999999"),
    "type.date": ("DATE_DECISION", "31/02/2005"),
    "code.unknown": ("CODE_TYPE_DEMANDE", "99"),
    "id.nir": ("NIR", MASKED_NIR),
    "type.date_placeholder": ("DATE_OUVERTURE", "00/00/0000"),
}


def build_table(application, table, file, read, rejects, warnings, filtered):
    """Return one table entry of a run summary, masked the way the pipeline masks."""
    rejected = sum(rejects.values())
    findings = []
    for rule_id, count in {**rejects, **warnings}.items():
        column, value = RULE_EXAMPLES[rule_id]
        examples = [
            {"line": 35 + index, "column": column, "value": value} for index in range(min(count, 3))
        ]
        findings.append(
            {
                "rule_id": rule_id,
                "severity": SEVERITIES[rule_id],
                "count": count,
                "examples": examples,
            }
        )
    return {
        "application": application,
        "table": table,
        "file": file,
        "read": read,
        "loaded": read - rejected - filtered,
        "rejected": rejected,
        "filtered": filtered,
        "warnings": sum(warnings.values()),
        "reconciled": True,
        "findings_by_rule": findings,
        "reject_reasons": [
            {"rule_id": rule_id, "count": count} for rule_id, count in rejects.items()
        ],
        "profile": {
            "rows": read,
            "columns": [
                {
                    "name": "NUM_DOSSIER",
                    "type": "text",
                    "declared_length": 10,
                    "personal": False,
                    "nulls": 0,
                    "distinct": read - 2,
                    "min_length": 10,
                    "max_length": 10,
                    "min": "5700000001",
                    "max": "5700012480",
                    "top": [{"value": "5700000007", "count": 2}],
                    "code_coverage": None,
                },
                {
                    "name": "NIR",
                    "type": "text",
                    "declared_length": 15,
                    "personal": True,
                    "nulls": 3,
                    "distinct": read - 3,
                    "min_length": 15,
                    "max_length": 15,
                    "min": None,
                    "max": None,
                    "top": [{"value": MASKED_NIR, "count": 1}],
                    "code_coverage": None,
                },
                {
                    "name": "SEXE",
                    "type": "code",
                    "declared_length": None,
                    "personal": False,
                    "nulls": 0,
                    "distinct": 2,
                    "min_length": 1,
                    "max_length": 1,
                    "min": "1",
                    "max": "2",
                    "top": [{"value": "1", "count": 210}, {"value": "2", "count": 202}],
                    "code_coverage": {"declared": 2, "used": 2, "unknown": []},
                },
                {
                    "name": "CODE_TYPE_DEMANDE",
                    "type": "code",
                    "declared_length": 2,
                    "personal": False,
                    "nulls": 0,
                    "distinct": 14,
                    "min_length": 2,
                    "max_length": 2,
                    "min": "01",
                    "max": "99",
                    "top": [{"value": "11", "count": 95}],
                    "code_coverage": {"declared": 13, "used": 13, "unknown": ["99"]},
                },
            ],
        },
    }


def build_summary(tables=SAMPLE_TABLES):
    """Return a run summary shaped like the one the pipeline writes after a successful run."""
    return {
        "run_id": "20081014T220117-ab12cd",
        "started_at": "2008-10-14T22:01:17+00:00",
        "finished_at": "2008-10-14T22:14:02+00:00",
        "product_version": "0.1.0",
        "status": "success",
        "blocking": [],
        "delivery": {
            "path": "/srv/reprise/livraison-057",
            "departement": "057",
            "date_extraction": "2008-10-14",
            "files": [
                {
                    "application": application,
                    "file": file,
                    "sha256_encrypted": "ab" * 32,
                    "sha256_plaintext": "cd" * 32,
                    "manifest": "ok",
                    "log_records": read,
                    "records": read,
                }
                for application, _, file, read, *_ in tables
            ],
        },
        "target": "sqlite:////abs/output/mdph.sqlite3",
        "target_schema": {"name": "mdph_reference", "version": "1.0"},
        "dictionaries": {
            "ITAC": {"file": "migration/dictionary/data/itac.yaml", "sha256": "ef" * 32},
            "OPALES": {"file": "migration/dictionary/data/opales.yaml", "sha256": "12" * 32},
        },
        "mappings": {"ITAC": {"file": "mappings/itac.yaml", "sha256": "34" * 32}},
        "tables": [build_table(*row) for row in tables],
        "targets": [{"table": "individu", "rows": 640}, {"table": "demande", "rows": 2504}],
        "identity": {"cross_application": 4, "by_nir": 2, "by_identity": 2, "ambiguous": 0},
        "rules": [
            {"rule_id": rule_id, "severity": severity, "description": description}
            for rule_id, severity, description in RULES
        ],
        "filters": [],
    }


class PageParser(HTMLParser):
    """Collect the tags, ids, internal links and attributes of an HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.ids = []
        self.hrefs = []
        self.attributes = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            self.attributes.append((tag, name, value or ""))
            if name == "id":
                self.ids.append(value)
            if name == "href":
                self.hrefs.append(value)

    def handle_data(self, data):
        self.text.append(data)


def parse(html):
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


@pytest.fixture
def summary():
    return build_summary()


def test_json_round_trips(tmp_path, summary):
    paths = write_reports(summary, tmp_path / "reports")

    assert paths["json"] == tmp_path / "reports" / "resume.json"
    assert json.loads(paths["json"].read_text(encoding="utf-8")) == summary


def test_numpy_and_pandas_values_written_plain(tmp_path, summary):
    table = summary["tables"][0]
    table["read"] = np.int64(412)
    table["loaded"] = np.int64(410)
    table["profile"]["columns"][0]["min"] = float("nan")
    summary["finished_at"] = pd.NaT
    summary["delivery"]["path"] = tmp_path / "livraison"

    paths = write_reports(summary, tmp_path / "reports")
    written = json.loads(paths["json"].read_text(encoding="utf-8"))
    html = paths["html"].read_text(encoding="utf-8")

    assert written["tables"][0]["read"] == 412
    assert written["tables"][0]["profile"]["columns"][0]["min"] is None
    assert written["finished_at"] is None
    assert written["delivery"]["path"] == str(tmp_path / "livraison")
    assert '<td class="num">412</td>' in html
    assert '<td class="num">410</td>' in html


def test_json_keeps_accents_in_utf8(tmp_path, summary):
    paths = write_reports(summary, tmp_path)

    raw = paths["json"].read_bytes()
    assert "Clé primaire".encode() in raw
    assert b"\\u00e9" not in raw


def test_html_file_written(tmp_path, summary):
    paths = write_reports(summary, tmp_path / "a" / "b")

    assert paths["html"] == tmp_path / "a" / "b" / "rapport_qualite.html"
    assert paths["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_internal_anchors_resolve(summary):
    page = parse(render_html(summary))

    assert len(page.ids) == len(set(page.ids)), "duplicate id"
    assert page.hrefs, "no link at all"
    for href in page.hrefs:
        assert href.startswith("#"), href
        assert href[1:] in page.ids, href


def test_every_table_has_section_in_toc(summary):
    html = render_html(summary)
    page = parse(html)

    table_ids = [identifier for identifier in page.ids if identifier.startswith("table-")]
    assert len(table_ids) == len(SAMPLE_TABLES)
    for identifier in table_ids:
        assert f'href="#{identifier}"' in html


def test_same_table_name_twice_gets_unique_ids():
    row = SAMPLE_TABLES[0]
    page = parse(render_html(build_summary([row, row])))

    assert len(page.ids) == len(set(page.ids))
    assert len([i for i in page.ids if i.startswith("table-")]) == 2


def test_no_external_resource(summary):
    summary["tables"][0]["table"] = "https://cdn.example.org/x.js"
    html = render_html(summary)
    page = parse(html)

    for tag, name, value in page.attributes:
        if name in ("src", "href", "action", "poster", "data", "srcset", "xlink:href"):
            assert not re.match(r"\s*(https?:|//)", value, re.IGNORECASE), (tag, name, value)
    for tag in ("script", "link", "img", "iframe", "object", "embed"):
        assert tag not in page.tags, tag
    style = html[html.index("<style>") : html.index("</style>")]
    assert "@import" not in style
    assert "url(" not in style
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:|//)", html, re.IGNORECASE)


def test_french_labels_by_default(summary):
    html = render_html(summary)

    assert '<html lang="fr">' in html
    for label in (
        "Réconciliation correcte",
        "Lignes lues",
        "Chargées",
        "Rejetées",
        "Filtrées",
        "Avertissements",
        "Réconcilié",
        "À décider",
        "Profil des colonnes",
    ):
        assert label in html, label
    assert "Rows read" not in html


def test_english_labels(summary):
    html = render_html(summary, language="en")

    assert '<html lang="en">' in html
    for label in (
        "Reconciliation passed",
        "Rows read",
        "Loaded",
        "Rejected",
        "Filtered",
        "Reconciled",
        "Needs a decision",
        "Column profile",
    ):
        assert label in html, label
    assert "Lignes lues" not in html


def test_label_dictionaries_have_same_keys():
    french, english = LABELS["fr"], LABELS["en"]

    assert set(french) == set(english)
    for key, value in french.items():
        if isinstance(value, dict):
            assert set(value) == set(english[key]), key


def test_unsupported_language_raises(summary):
    with pytest.raises(ReportError, match="'de'"):
        render_html(summary, language="de")


def test_summary_not_mapping_raises():
    with pytest.raises(ReportError, match="mapping"):
        render_html(["not", "a", "summary"])


def test_empty_summary_renders():
    html = render_html({})
    page = parse(html)

    assert "Résultat de réconciliation inconnu" in html
    assert "Le résumé ne contient aucune table source." in html
    for href in page.hrefs:
        assert href[1:] in page.ids, href


@pytest.mark.parametrize("key", list(build_summary()))
def test_summary_without_key_renders(key, summary):
    del summary[key]
    page = parse(render_html(summary))

    for href in page.hrefs:
        assert href[1:] in page.ids, href


def test_sparse_table_entries_render():
    summary = {
        "status": "success",
        "tables": [
            {"table": "ARCHIVE"},
            {"application": "OPALES", "read": 3, "findings_by_rule": [{"rule_id": "x"}]},
            {"profile": {"columns": [{"name": "A"}, {}]}, "reject_reasons": [{}]},
            "not a table",
        ],
        "delivery": {"files": [{}, {"file": "X.csv", "manifest": "mismatch"}]},
        "identity": {"by_nir": 1, "new_key": "valeur"},
        "filters": [{"table": "DEMANDE", "count": 10}, "texte libre"],
        "dictionaries": {"ITAC": {}},
        "rules": [{"description": "sans id"}],
    }
    html = render_html(summary)
    page = parse(html)

    assert "ARCHIVE" in html
    assert "new_key" in html
    assert "texte libre" in html
    assert "mismatch" in html
    for href in page.hrefs:
        assert href[1:] in page.ids, href


def test_wrong_types_render():
    summary = {"tables": 5, "delivery": [], "rules": "x", "identity": 3, "targets": {"a": 1}}

    html = render_html(summary)

    assert "Le résumé ne contient aucune table source." in html


def test_values_html_escaped(summary):
    summary["tables"][0]["table"] = "<script>alert(1)</script>"
    summary["tables"][0]["findings_by_rule"][0]["examples"][0]["value"] = '"><b>x</b>'
    summary["run_id"] = "<i>run</i>"
    html = render_html(summary)
    page = parse(html)

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "script" not in page.tags
    assert "b" not in page.tags
    assert "i" not in page.tags
    for href in page.hrefs:
        assert href[1:] in page.ids, href


def test_numbers_french_format(summary):
    html = render_html(summary)

    assert f"1{NNBSP}234{NNBSP}567" in html
    assert f"12{NNBSP}480" in html
    assert "1,234,567" not in html


def test_numbers_english_format(summary):
    html = render_html(summary, language="en")

    assert "1,234,567" in html
    assert f"1{NNBSP}234{NNBSP}567" not in html


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        (0, "fr", "0"),
        (999, "fr", "999"),
        (1000, "fr", f"1{NNBSP}000"),
        (-12345, "fr", f"-12{NNBSP}345"),
        (1234567.25, "fr", f"1{NNBSP}234{NNBSP}567,25"),
        (1234567.25, "en", "1,234,567.25"),
        (0.5, "fr", "0,5"),
        (2.0, "fr", "2"),
        (None, "fr", "—"),
        (True, "fr", "True"),
        ("412", "fr", "412"),
    ],
)
def test_format_number(value, language, expected):
    assert format_number(value, language) == expected


def test_dates_french_format(summary):
    html = render_html(summary)

    assert "14/10/2008 22:01:17 UTC" in html
    assert "12 min 45 s" in html


def test_duration_mixed_timezones_is_none():
    assert format_duration("2008-10-14T22:01:17+00:00", "2008-10-14T22:14:02") is None


def test_verdict_gap_from_status(summary):
    summary["status"] = "reconciliation_failed"

    html = render_html(summary)

    assert "Écart de réconciliation" in html
    assert "Réconciliation correcte" not in html


def test_verdict_gap_from_table(summary):
    table = summary["tables"][2]
    table["loaded"] -= 5
    table["reconciled"] = False
    html = render_html(summary)
    decisions = html[html.index('id="decisions"') : html.index('id="tables"')]

    assert "Écart de réconciliation" in html
    assert "ITAC.CONCLUSION" in decisions
    assert "5 lignes ni chargées, ni rejetées, ni filtrées" in decisions


def test_verdict_blocked_lists_problems(summary):
    summary["status"] = "blocked"
    summary["blocking"] = ["DOSSIER.csv, line 1: header <NIR> missing"]

    html = render_html(summary)
    decisions = html[html.index('id="decisions"') : html.index('id="tables"')]

    assert "Reprise bloquée" in html
    assert "Problèmes bloquants" in decisions
    assert "DOSSIER.csv, line 1: header &lt;NIR&gt; missing" in decisions


def test_ambiguous_identities_need_decision(summary):
    summary["identity"]["ambiguous"] = 3

    html = render_html(summary)
    decisions = html[html.index('id="decisions"') : html.index('id="tables"')]

    assert "3 rapprochements ambigus de personnes à trancher à la main" in decisions


def test_run_metadata_shown(summary):
    html = render_html(summary)
    run = html[html.index('id="run"') :]

    assert "20081014T220117-ab12cd" in run
    assert "0.1.0" in run
    assert "sqlite:////abs/output/mdph.sqlite3" in run
    assert "mdph_reference 1.0" in run
    assert "efefef" in run
    assert "mappings/itac.yaml" in run


def test_rules_keep_catalogue_order(summary):
    html = render_html(summary)
    rules = html[html.index('id="rules"') : html.index('id="filters"')]
    positions = [rules.index(f"<code>{rule_id}</code>") for rule_id, _, _ in RULES]

    assert positions == sorted(positions)


def test_decisions_list_rejects_by_rule(summary):
    html = render_html(summary)
    decisions = html[html.index('id="decisions"') : html.index('id="tables"')]

    assert "ITAC.HISTORIQUE" in decisions
    assert "type.date" in decisions
    assert "code.unknown" in decisions
    assert "Date invalide dans les formats déclarés" in decisions
    assert "ITAC.CONCLUSION" not in decisions
    assert "OPALES.ENFANT" not in decisions


def test_decisions_show_unexplained_rejects(summary):
    summary["tables"][0]["reject_reasons"] = []

    html = render_html(summary)
    decisions = html[html.index('id="decisions"') : html.index('id="tables"')]

    assert "rejets sans motif détaillé" in decisions


def test_decisions_list_bad_delivery_file(summary):
    summary["delivery"]["files"][1]["manifest"] = "mismatch"
    summary["delivery"]["files"][2]["log_records"] = 12481

    html = render_html(summary)
    decisions = html[html.index('id="decisions"') : html.index('id="tables"')]

    assert "DEMANDE.csv" in decisions
    assert "CONCLUSION.csv" in decisions
    assert "DOSSIER.csv" not in decisions


def test_nothing_to_decide_message():
    row = ("ITAC", "CONCLUSION", "CONCLUSION.csv", 10, {}, {}, 0)

    html = render_html(build_summary([row]))

    assert "Rien à décider" in html


def test_examples_capped_with_remainder(summary):
    finding = summary["tables"][0]["findings_by_rule"][0]
    finding["examples"] = [
        {"line": line, "column": "NUM_DOSSIER", "value": f"57{line:08d}"} for line in range(20)
    ]
    html = render_html(summary)

    assert "5700000004" in html
    assert "5700000005" not in html
    assert "+ 15 autres exemples non affichés" in html


def test_rule_descriptions_shown_in_findings(summary):
    html = render_html(summary)
    section = html[html.index('id="table-1-itac-dossier"') : html.index('id="table-2-')]

    assert "NIR dont la clé ou le format est invalide" in section
    assert "avertissement" in section
    assert f"ligne 35, colonne NIR\u00a0: <code>{MASKED_NIR}</code>" in section


def test_code_coverage_shown(summary):
    html = render_html(summary)
    section = html[html.index('id="table-1-itac-dossier"') : html.index('id="table-2-')]

    assert "2 / 2 codes utilisés" in section
    assert "13 / 13 codes utilisés" in section
    assert "codes inconnus\u00a0:</span> <code>99</code>" in section


def test_code_coverage_other_formats_render(summary):
    columns = summary["tables"][0]["profile"]["columns"]
    columns[2]["code_coverage"] = 0.75
    columns[3]["code_coverage"] = {"unknown": [f"X{index}" for index in range(25)]}

    html = render_html(summary)

    assert "0,75" in html
    assert "<code>X9</code>" in html
    assert "<code>X10</code>" not in html
    assert "+ 15" in html


def test_personal_code_column_unknown_masked(summary):
    column = summary["tables"][0]["profile"]["columns"][3]
    column["personal"] = True
    column["code_coverage"]["unknown"] = ["AB12"]

    html = render_html(summary)

    assert "AB12" not in html
    assert "<code>AA99</code>" in html


def test_unmasked_personal_values_masked(tmp_path, summary):
    table = summary["tables"][0]
    nir_finding = next(f for f in table["findings_by_rule"] if f["rule_id"] == "id.nir")
    nir_finding["examples"][0]["value"] = "295109912611193"
    nir_column = table["profile"]["columns"][1]
    nir_column["min"] = "185057800608436"
    nir_column["top"] = [{"value": "295109912611193", "count": 2}]
    original = copy.deepcopy(summary)
    paths = write_reports(summary, tmp_path)

    for path in paths.values():
        text = path.read_text(encoding="utf-8")
        assert "295109912611193" not in text, path.name
        assert "185057800608436" not in text, path.name
        assert MASKED_NIR in text, path.name
    assert summary == original, "write_reports changed the caller's summary"


def test_mask_personal_false_keeps_values(summary):
    findings = summary["tables"][0]["findings_by_rule"]
    nir_finding = next(f for f in findings if f["rule_id"] == "id.nir")
    nir_finding["examples"][0]["value"] = "295109912611193"

    assert "295109912611193" not in render_html(summary)
    assert "295109912611193" in render_html(summary, mask_personal=False)


def test_pipeline_masks_kept_unchanged(summary):
    findings = summary["tables"][0]["findings_by_rule"]
    nir_finding = next(f for f in findings if f["rule_id"] == "id.nir")
    nir_finding["examples"][0]["value"] = "9,999A+99"
    nir_finding["examples"][1]["value"] = "99/99/9999"

    html = render_html(summary)

    assert "9,999A+99" in html
    assert "99/99/9999" in html


def test_target_password_hidden(tmp_path, summary):
    summary["target"] = "postgresql://reprise:s3cr3t-pw@127.0.0.1:5432/mdph"

    paths = write_reports(summary, tmp_path)

    for path in paths.values():
        text = path.read_text(encoding="utf-8")
        assert "s3cr3t-pw" not in text, path.name
        assert "postgresql://reprise:***@127.0.0.1:5432/mdph" in text, path.name


def test_out_dir_is_file_raises(tmp_path, summary):
    blocker = tmp_path / "reports"
    blocker.write_text("not a folder")

    with pytest.raises(ReportError, match="report folder"):
        write_reports(summary, blocker)


def test_rerun_overwrites_reports(tmp_path, summary):
    write_reports(summary, tmp_path)
    summary["run_id"] = "second-run"

    paths = write_reports(summary, tmp_path, language="en")

    assert json.loads(paths["json"].read_text(encoding="utf-8"))["run_id"] == "second-run"
    assert "second-run" in paths["html"].read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rapport_qualite.html", "resume.json"]


def test_hundred_tables_render_fast():
    rows = [
        (
            "ITAC",
            f"TABLE_{index:03d}",
            f"T{index:03d}.csv",
            100_000 + index,
            {"fk.dangling": 4},
            {"id.nir": 7},
            0,
        )
        for index in range(100)
    ]
    summary = build_summary(rows)
    for table in summary["tables"]:
        table["profile"]["columns"] *= 10

    started = time.perf_counter()
    html = render_html(summary)
    elapsed = time.perf_counter() - started
    page = parse(html)

    assert elapsed < 2.0, f"{elapsed:.2f} s for 100 tables"
    assert len([i for i in page.ids if i.startswith("table-")]) == 100
    assert len(html) < 3_000_000


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_chromium_renders_page(tmp_path, summary):
    paths = write_reports(summary, tmp_path)

    result = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            paths["html"].as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "Réconciliation correcte" in result.stdout
