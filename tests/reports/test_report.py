"""Tests of the run quality report written from a summary alone (no database).

The pages, resume.json and the XLSX workbook are checked here on synthetic summaries; the
report of a real run is checked in test_sample_report.py.
"""

import copy
import json
import re
import time

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from migration.identity.reasons import REASON_CODES
from migration.reports import ReportError, render_html, summary_markdown, write_reports
from migration.reports.charts import COLORS
from migration.reports.database import _column_values
from migration.reports.formatting import (
    format_decimals_in_text,
    format_duration,
    format_number,
    plural,
)
from migration.reports.labels import LABELS
from migration.reports.masking import mask_summary
from tests.reports.summaries import (
    MASKED_NIR,
    NNBSP,
    RULES,
    SAMPLE_TABLES,
    broken_links,
    build_summary,
    parse,
    site,
)

TABLE_PAGE = "tables/table-1-itac-dossier.html"
SUIVI_PAGE = "tables/table-4-itac-suivi.html"


def decisions_of(html):
    return html[html.index('id="decisions"') : html.index('id="targets"')]


def file_text(path):
    """Return the text of a report file; for the workbook, every cell value joined."""
    if path.suffix == ".xlsx":
        workbook = load_workbook(path, read_only=True)
        return "\n".join(
            str(value)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        )
    return path.read_text(encoding="utf-8")


@pytest.fixture
def summary():
    return build_summary()


def test_json_round_trips(tmp_path, summary):
    paths = write_reports(summary, tmp_path / "reports")

    written = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert paths["json"] == tmp_path / "reports" / "resume.json"
    assert {key: written[key] for key in summary} == summary
    assert set(written) - set(summary) == {
        "mapping_coverage",
        "changes",
        "load_changes",
        "database",
    }


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


def test_internal_links_resolve(summary):
    pages = site(summary)

    assert broken_links(pages) == []
    for name, html in pages.items():
        page = parse(html)
        assert len(page.ids) == len(set(page.ids)), f"duplicate id in {name}"


def test_every_table_has_page_linked(summary):
    pages = site(summary)
    summary_page = pages["rapport_qualite.html"]

    table_pages = sorted(name for name in pages if name.startswith("tables/"))
    assert len(table_pages) == len(SAMPLE_TABLES)
    for name in table_pages:
        assert f'href="{name}"' in summary_page, name


def test_same_table_name_twice_gets_two_pages():
    row = SAMPLE_TABLES[0]
    pages = site(build_summary([row, row]))

    assert len([name for name in pages if name.startswith("tables/")]) == 2
    assert broken_links(pages) == []


def test_no_external_resource(summary):
    summary["tables"][0]["table"] = "https://cdn.example.org/x.js"

    for name, html in site(summary).items():
        page = parse(html)
        for tag, attribute, value in page.attributes:
            if attribute in ("src", "href", "action", "poster", "data", "srcset", "xlink:href"):
                assert not re.match(r"\s*(https?:|//)", value, re.IGNORECASE), (name, tag, value)
            if tag == "link":
                assert (attribute, value) in (("rel", "icon"), ("href", "data:,")), (name, value)
        for tag in ("img", "iframe", "object", "embed"):
            assert tag not in page.tags, (name, tag)
        assert "src=" not in html.split("<script", 1)[-1].split(">", 1)[0], name
        style = html[html.index("<style>") : html.index("</style>")] if "<style>" in html else ""
        assert "@import" not in style, name
        assert "url(" not in style, name
        assert "default-src 'none'" in html, name


def test_script_only_on_lineage_page(summary):
    for name, html in site(summary).items():
        if name != "lineage.html":
            assert "<script" not in html, name


def test_french_labels_by_default(summary):
    pages = site(summary)
    html = pages["rapport_qualite.html"] + pages[TABLE_PAGE]

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
    pages = site(summary, language="en")
    html = pages["rapport_qualite.html"] + pages[TABLE_PAGE]

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
    for name, page in pages.items():
        assert '<html lang="en">' in page, name
        assert "Synthèse" not in page, name


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
    pages = site({})
    html = pages["rapport_qualite.html"]

    assert "Résultat de réconciliation inconnu" in html
    assert "Le résumé ne contient aucune table source." in html
    assert "Pas d'exécution précédente à comparer." in "".join(parse(pages["changes.html"]).text)
    assert "la base cible n'a pas été lue" in "".join(parse(pages["lineage.html"]).text)
    assert broken_links(pages) == []


@pytest.mark.parametrize("key", list(build_summary()))
def test_summary_without_key_renders(key, summary):
    del summary[key]

    assert broken_links(site(summary)) == []


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
    pages = site(summary)
    html = "".join(pages.values())

    assert "ARCHIVE" in html
    assert "new_key" in html
    assert "texte libre" in html
    assert "mismatch" in html
    assert broken_links(pages) == []


def test_wrong_types_render():
    summary = {"tables": 5, "delivery": [], "rules": "x", "identity": 3, "targets": {"a": 1}}

    pages = site(summary)

    assert "Le résumé ne contient aucune table source." in pages["rapport_qualite.html"]


def test_values_html_escaped(summary):
    summary["tables"][0]["table"] = "<script>alert(1)</script>"
    summary["tables"][0]["findings_by_rule"][0]["examples"][0]["value"] = '"><b>x</b>'
    summary["run_id"] = "<i>run</i>"
    pages = site(summary)

    for name, html in pages.items():
        page = parse(html)
        assert "<script>alert" not in html, name
        assert "b" not in page.tags, name
        assert "i" not in page.tags, name
        if name != "lineage.html":
            assert "script" not in page.tags, name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["rapport_qualite.html"]
    assert broken_links(pages) == []


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
    html = site(summary)["run.html"]

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
    decisions = decisions_of(html)

    assert "Écart de réconciliation" in html
    assert "ITAC.CONCLUSION" in decisions
    assert "5 lignes ni chargées, ni rejetées, ni filtrées" in decisions


def test_verdict_blocked_lists_problems(summary):
    summary["status"] = "blocked"
    summary["blocking"] = ["DOSSIER.csv, line 1: header <NIR> missing"]

    html = render_html(summary)
    decisions = decisions_of(html)

    assert "Reprise bloquée" in html
    assert "Problèmes bloquants" in decisions
    assert "DOSSIER.csv, line 1: header &lt;NIR&gt; missing" in decisions


def test_verdict_removals_shows_load_error(summary):
    summary["status"] = "removals_rejected"
    summary["load_error"] = (
        "the load would remove 600 of the 700 rows in the target tables (86%); nothing was loaded"
    )

    html = render_html(summary)
    decisions = decisions_of(html)
    english = render_html(summary, "en")
    markdown = summary_markdown(summary)

    assert "Chargement arrêté : trop de suppressions" in html
    assert "arrêtée avant le chargement, qui aurait supprimé trop de lignes" in html
    assert summary["load_error"] in decisions
    assert "relancer avec --allow-removals" in decisions
    assert "Load stopped: too many removals" in english
    assert summary["load_error"] in decisions_of(english)
    assert f"- Chargement arrêté: {summary['load_error']}" in markdown


def test_gap_of_run_not_loaded(summary):
    summary["status"] = "blocked"
    summary["blocking"] = ["DOSSIER.csv, line 1: header <NIR> missing"]
    summary["loaded"] = False
    for table in summary["tables"]:
        table["would_load"], table["loaded"] = table["loaded"], 0
    lossy = summary["tables"][2]
    lossy["would_load"] -= 5
    lossy["reconciled"] = False

    html = render_html(summary)
    decisions = decisions_of(html)

    assert html.count(f'class="bad">{LABELS["fr"]["gap"]} ') == 1
    assert "ITAC.CONCLUSION" in decisions
    assert "5 lignes ni chargées, ni rejetées, ni filtrées" in decisions
    assert decisions.count("lignes ni chargées, ni rejetées, ni filtrées") == 1


def test_ambiguous_identities_need_decision(summary):
    summary["identity"]["ambiguous"] = 3

    html = render_html(summary)
    decisions = decisions_of(html)

    assert "3 rapprochements ambigus de personnes à trancher à la main" in decisions


@pytest.mark.parametrize(
    ("language", "count", "expected", "wrong"),
    [
        ("fr", 1, "1 rapprochement ambigu de personnes", "rapprochements ambigus"),
        ("fr", 2, "2 rapprochements ambigus de personnes", "rapprochement ambigu "),
        ("en", 1, "1 ambiguous person match to", "matches"),
        ("en", 2, "2 ambiguous person matches to", "match to"),
    ],
)
def test_ambiguous_count_agrees_with_noun(summary, language, count, expected, wrong):
    summary["identity"]["ambiguous"] = count

    decisions = decisions_of(render_html(summary, language=language))
    markdown = summary_markdown(summary, language)

    assert expected in decisions
    assert wrong not in decisions
    assert expected in markdown
    assert wrong not in markdown


def test_single_reject_and_gap_in_singular(summary):
    suivi = summary["tables"][3]
    suivi["reject_reasons"] = [{"rule_id": "fk.dangling", "count": 1}]
    suivi["rejected"] = 1
    suivi["loaded"] = suivi["read"] - 2
    suivi["reconciled"] = False

    decisions = decisions_of(render_html(summary))

    assert "1 ligne rejetée, à corriger à la source ou à accepter comme perdue" in decisions
    assert "1 ligne ni chargée, ni rejetée, ni filtrée" in decisions


def test_single_changed_table_in_singular(summary):
    previous = copy.deepcopy(summary)
    previous["run_id"] = "previous-run"
    summary["tables"][0]["read"] += 1
    summary["tables"][0]["loaded"] += 1

    english = site(summary, "en", previous=previous)["rapport_qualite.html"]
    french = site(summary, previous=previous)["rapport_qualite.html"]

    assert "1 table source modifiée." in french
    assert "1 source table changed." in english


@pytest.mark.parametrize(
    ("language", "count", "form"),
    [("fr", 0, "one"), ("fr", 1, "one"), ("fr", 2, "other"), ("fr", None, "other")]
    + [("en", 0, "other"), ("en", 1, "one"), ("en", 2, "other")],
)
def test_plural_form_follows_language(language, count, form):
    assert plural(count, {"one": "one", "other": "other"}, language) == form


def with_review(summary):
    """Add one identity candidate to review, with the reasons the identity module writes."""
    summary["identity"]["for_review"] = 1
    summary["identity"]["review"] = [
        {
            "id_individu_itac": "f8afcb665a4a28c188af0588b5fee787",
            "id_individu_opales": "52948f7cb48786eec831beb3db44b683",
            "source_itac": "5700011179",
            "source_opales": "E570000316",
            "score": 0.98,
            "reasons": ["nom proche (0.94)", "prénoms proches (0.90)", "même date de naissance"],
        }
    ]
    return summary


@pytest.mark.parametrize(
    ("language", "score", "reasons", "wrong"),
    [
        ("fr", "0,98", "nom proche (0,94), prénoms proches (0,90)", "0.9"),
        ("en", "0.98", "similar name (0.94), similar first names (0.90)", "0,9"),
    ],
)
def test_review_numbers_use_page_format(summary, language, score, reasons, wrong):
    html = site(with_review(summary), language)["identity.html"]
    review = html[html.index('id="review"') :]

    assert f'<td class="num">{score}</td>' in review
    assert reasons in review
    assert wrong not in review


def test_review_reasons_in_french_workbook(tmp_path, summary):
    paths = write_reports(with_review(summary), tmp_path)

    text = file_text(paths["xlsx"])

    assert "nom proche (0,94), prénoms proches (0,90)" in text
    assert "(0.94)" not in text


def with_every_reason(summary):
    """Add an identity candidate to review with every reason the identity module stores."""
    summary = with_review(summary)
    reasons = []
    for phrase, code in REASON_CODES.items():
        reasons.append(f"{phrase} (0.94)" if code.startswith("similar") else phrase)
    summary["identity"]["review"][0]["reasons"] = reasons
    return summary


@pytest.mark.parametrize(("language", "other"), [("fr", "en"), ("en", "fr")])
def test_review_reasons_in_report_language(summary, language, other):
    html = site(with_every_reason(summary), language)["identity.html"]
    review = html[html.index('id="review"') : html.index('id="merged"')]
    names = LABELS[language]["match_reasons"]
    decimal = "0,94" if language == "fr" else "0.94"

    for code in REASON_CODES.values():
        if code.startswith("similar"):
            assert f"{names[code]} ({decimal})" in review, code
        else:
            assert names[code] in review, code
    for code, phrase in LABELS[other]["match_reasons"].items():
        if phrase != names[code]:
            assert phrase not in review, code


def test_review_reasons_in_english_workbook(tmp_path, summary):
    paths = write_reports(with_every_reason(summary), tmp_path, language="en")

    text = file_text(paths["xlsx"])

    assert "same NIR, same name, similar name (0.94), same first names" in text
    assert "several possible candidates" in text
    assert "nom proche" not in text
    assert "plusieurs candidats" not in text


def test_unknown_review_reason_shown_as_stored(summary):
    summary = with_review(summary)
    summary["identity"]["review"][0]["reasons"] = ["motif inconnu (0.5)", "nom proche (0.94)"]

    html = site(summary, "en")["identity.html"]

    assert "motif inconnu (0.5), similar name (0.94)" in html


def test_decimals_in_text_formatted():
    assert format_decimals_in_text("nom proche (0.94)", "fr") == "nom proche (0,94)"
    assert format_decimals_in_text("nom proche (0.94)", "en") == "nom proche (0.94)"
    assert format_decimals_in_text("version 1.2.3, 12 lignes", "fr") == "version 1.2.3, 12 lignes"


def test_run_metadata_shown(summary):
    html = site(summary)["run.html"]
    run = html[html.index('id="run"') :]

    assert "20081014T220117-ab12cd" in run
    assert "0.1.0" in run
    assert "sqlite:////abs/output/mdph.sqlite3" in run
    assert "mdph_reference 1.0" in run
    assert "efefef" in run
    assert "mappings/itac.yaml" in run


def test_rules_keep_catalogue_order(summary):
    html = site(summary)["run.html"]
    rules = html[html.index('id="rules"') : html.index('id="filters"')]
    positions = [rules.index(f"<code>{rule_id}</code>") for rule_id, _, _ in RULES]

    assert positions == sorted(positions)


def test_decisions_list_rejects_by_rule(summary):
    html = render_html(summary)
    decisions = decisions_of(html)

    assert "ITAC.HISTORIQUE" in decisions
    assert "type.date" in decisions
    assert "code.unknown" in decisions
    assert "Date invalide dans les formats déclarés" in decisions
    assert "ITAC.CONCLUSION" not in decisions
    assert "OPALES.ENFANT" not in decisions


def test_decisions_show_unexplained_rejects(summary):
    summary["tables"][0]["reject_reasons"] = []

    html = render_html(summary)
    decisions = decisions_of(html)

    assert "rejets sans motif détaillé" in decisions


def test_decisions_list_bad_delivery_file(summary):
    summary["delivery"]["files"][1]["manifest"] = "mismatch"
    summary["delivery"]["files"][2]["log_records"] = 12481

    html = render_html(summary)
    decisions = decisions_of(html)

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
    html = site(summary)[TABLE_PAGE]

    assert "5700000004" in html
    assert "5700000005" not in html
    assert "+ 15 autres exemples non affichés" in html


def test_rule_descriptions_shown_in_findings(summary):
    html = site(summary)[TABLE_PAGE]
    section = html[html.index('id="findings"') : html.index('id="charts"')]

    assert "NIR dont la clé ou le format est invalide" in section
    assert "avertissement" in section
    assert f"ligne 35, colonne NIR\u00a0: <code>{MASKED_NIR}</code>" in section


def rule_bar_colors(html):
    """Map each bar of the findings-by-rule chart of a table page to its fill colour."""
    start = html.index("<title>Constats par règle</title>")
    chart = html[start : html.index("</svg>", start)]
    bars = re.findall(r'<g><title>([^<:]+):[^<]*</title>.*?<rect [^>]*fill="([^"]+)"', chart)
    return dict(bars)


def test_rule_chart_bars_follow_severity(summary):
    colors = rule_bar_colors(site(summary)[TABLE_PAGE])

    assert colors["id.nir"] == COLORS["warn"]
    assert colors["type.date_placeholder"] == COLORS["warn"]
    assert colors["key.duplicate"] == COLORS["bad"]


def test_code_coverage_shown(summary):
    html = site(summary)[TABLE_PAGE]
    section = html[html.index('id="profile"') : html.index('id="columns-fate"')]

    assert "2 / 2 codes utilisés" in section
    assert "13 / 13 codes utilisés" in section
    assert "codes inconnus\u00a0:</span> <code>99</code>" in section


def fate_row(html, column):
    """Return the row of a column in the table page's "columns-fate" section."""
    section = html[html.index('id="columns-fate"') :]
    section = section[: section.index("</section>")]
    return next(row for row in section.split("<tr>") if f"<td><code>{column}</code></td>" in row)


@pytest.mark.parametrize(
    ("language", "status", "join_with"),
    [
        ("fr", "jointure ou filtre seulement, non reprise", "\u00a0: jointure avec"),
        ("en", "join or filter only, not loaded", ": join with"),
    ],
)
def test_join_key_fate_shown_apart(summary, language, status, join_with):
    pages = site(summary, language)
    row = fate_row(pages[SUIVI_PAGE], "NUM_ETAB")
    totals = pages["coverage.html"]
    totals = totals[totals.index('id="coverage-totals"') : totals.index("</dl>")]
    label = LABELS[language]["coverage_join_or_filter"]

    assert f'<td class="status-join_or_filter">{status}</td>' in row
    assert f"<code>suivi_orientation</code>{join_with} <code>ETABLISSEMENT.NUM_ETAB</code>" in row
    assert "remplacé par le numéro FINESS de l&#39;établissement" in row
    assert f"<dt>{label}</dt><dd>3</dd>" in totals


def test_join_key_same_in_json_and_workbook(tmp_path, summary):
    paths = write_reports(summary, tmp_path)
    coverage = json.loads(paths["json"].read_text(encoding="utf-8"))["mapping_coverage"]
    sheet = load_workbook(paths["xlsx"], read_only=True)["Couverture"]
    rows = list(sheet.iter_rows(values_only=True))

    suivi = next(s for s in coverage["sources"] if s["table"] == "SUIVI")
    column = next(c for c in suivi["columns"] if c["name"] == "NUM_ETAB")
    assert column["status"] == "join_or_filter"
    assert coverage["totals"]["join_or_filter"] == 3
    assert rows[0] == (
        "Application",
        "Table",
        "Colonne",
        "Statut",
        "Colonnes cibles alimentées",
        "Lue par",
        "Motif",
    )
    assert ("ITAC", "SUIVI", "NUM_ETAB") in [row[:3] for row in rows]
    row = next(row for row in rows if row[:3] == ("ITAC", "SUIVI", "NUM_ETAB"))
    assert row[3:] == (
        "jointure ou filtre seulement, non reprise",
        None,
        "suivi_orientation\u00a0: jointure avec ETABLISSEMENT.NUM_ETAB",
        "remplacé par le numéro FINESS de l'établissement",
    )


def test_code_coverage_other_formats_render(summary):
    columns = summary["tables"][0]["profile"]["columns"]
    columns[2]["code_coverage"] = 0.75
    columns[3]["code_coverage"] = {"unknown": [f"X{index}" for index in range(25)]}

    html = site(summary)[TABLE_PAGE]

    assert "0,75" in html
    assert "<code>X9</code>" in html
    assert "<code>X10</code>" not in html
    assert "+ 15" in html


def test_personal_code_column_unknown_masked(summary):
    column = summary["tables"][0]["profile"]["columns"][3]
    column["personal"] = True
    column["code_coverage"]["unknown"] = ["AB12"]

    html = "".join(site(summary).values())

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

    for path in tmp_path.rglob("*.*"):
        text = file_text(path)
        assert "295109912611193" not in text, path.name
        assert "185057800608436" not in text, path.name
    for path in (paths["json"], paths["xlsx"], tmp_path / TABLE_PAGE):
        assert MASKED_NIR in file_text(path), path.name
    assert summary == original, "write_reports changed the caller's summary"


def test_mask_personal_false_keeps_values(summary):
    findings = summary["tables"][0]["findings_by_rule"]
    nir_finding = next(f for f in findings if f["rule_id"] == "id.nir")
    nir_finding["examples"][0]["value"] = "295109912611193"

    assert "295109912611193" not in site(summary)[TABLE_PAGE]
    shown = site(summary, mask_personal=False)
    assert "295109912611193" in shown[TABLE_PAGE]
    assert 'id="personal-warning"' in shown["rapport_qualite.html"]
    assert 'id="personal-warning"' not in site(summary)["rapport_qualite.html"]


def test_pipeline_masks_kept_unchanged(summary):
    findings = summary["tables"][0]["findings_by_rule"]
    nir_finding = next(f for f in findings if f["rule_id"] == "id.nir")
    nir_finding["examples"][0]["value"] = "•,•••A+••"
    nir_finding["examples"][1]["value"] = "••/••/••••"

    html = site(summary)[TABLE_PAGE]

    assert "•,•••A+••" in html
    assert "••/••/••••" in html


def test_target_password_hidden(tmp_path, summary):
    summary["target"] = "postgresql://reprise:s3cr3t-pw@127.0.0.1:5432/mdph"

    paths = write_reports(summary, tmp_path)

    for path in tmp_path.rglob("*.*"):
        assert "s3cr3t-pw" not in file_text(path), path.name
    for path in (paths["json"], paths["xlsx"], tmp_path / "run.html"):
        assert "postgresql://reprise:***@127.0.0.1:5432/mdph" in file_text(path), path.name


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
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "changes.html",
        "coverage.html",
        "identity.html",
        "index.html",
        "lineage.html",
        "rapport_qualite.html",
        "rapport_qualite.xlsx",
        "resume.json",
        "run.html",
        "tables",
    ]
    assert len(list((tmp_path / "tables").iterdir())) == len(SAMPLE_TABLES)


def test_rerun_lists_changes_from_folder(tmp_path, summary):
    write_reports(summary, tmp_path)
    second = copy.deepcopy(summary)
    second["run_id"] = "second-run"
    second["tables"][0]["read"] += 10
    second["tables"][0]["loaded"] += 10

    paths = write_reports(second, tmp_path)
    changes = json.loads(paths["json"].read_text(encoding="utf-8"))["changes"]
    html = (tmp_path / "changes.html").read_text(encoding="utf-8")

    assert changes["previous_run_id"] == summary["run_id"]
    assert changes["changed_tables"] == 1
    assert changes["tables"][0]["counts"]["read"]["delta"] == 10
    assert summary["run_id"] in html
    assert "+10" in html


def test_rerun_removes_pages_of_gone_tables(tmp_path, summary):
    write_reports(summary, tmp_path)
    summary["tables"] = summary["tables"][:2]

    write_reports(summary, tmp_path)

    assert len(list((tmp_path / "tables").iterdir())) == 2


def test_workbook_has_same_counts(tmp_path, summary):
    paths = write_reports(summary, tmp_path)
    sheet = load_workbook(paths["xlsx"], read_only=True)["Synthèse"]
    rows = list(sheet.iter_rows(values_only=True))

    assert rows[0][:9] == (
        "Application",
        "Table",
        "Fichier",
        "Lues",
        "Chargées",
        "Rejetées",
        "Filtrées",
        "Avertissements",
        "Réconcilié",
    )
    by_name = {f"{row[0]}.{row[1]}": row for row in rows[1:]}
    for table in summary["tables"]:
        row = by_name[f"{table['application']}.{table['table']}"]
        assert row[3:8] == tuple(
            table[key] for key in ("read", "loaded", "rejected", "filtered", "warnings")
        )


@pytest.mark.parametrize("language", ["fr", "en"])
def test_workbook_headers_all_named(tmp_path, summary, language):
    paths = write_reports(with_review(summary), tmp_path, language=language)
    workbook = load_workbook(paths["xlsx"], read_only=True)

    for sheet in workbook.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        width = max(len(row) for row in rows)
        header = rows[0] + (None,) * (width - len(rows[0]))
        assert None not in header, sheet.title
        assert "" not in header, sheet.title


def test_workbook_summary_has_total_row(tmp_path, summary):
    paths = write_reports(summary, tmp_path)
    rows = list(
        load_workbook(paths["xlsx"], read_only=True)["Synthèse"].iter_rows(values_only=True)
    )

    total = rows[-1]
    tables = summary["tables"]
    assert total[0] == "Total"
    assert total[1:3] == (None, None)
    for index, key in enumerate(("read", "loaded", "rejected", "filtered", "warnings"), start=3):
        assert total[index] == sum(table[key] for table in tables), key
    assert total[8] is None
    assert len(rows) == len(tables) + 2


def test_workbook_profile_headers_translated(tmp_path, summary):
    paths = write_reports(summary, tmp_path)
    header = next(
        load_workbook(paths["xlsx"], read_only=True)["Profils"].iter_rows(values_only=True)
    )

    assert "min_length" not in header
    assert "max_length" not in header
    assert header[8:10] == ("Longueur min", "Longueur max")


@pytest.mark.parametrize(
    ("language", "severities", "status"),
    [
        ("fr", {"erreur", "avertissement"}, "terminée"),
        ("en", {"error", "warning"}, "finished"),
    ],
)
def test_workbook_labels_in_report_language(tmp_path, summary, language, severities, status):
    paths = write_reports(summary, tmp_path, language)
    workbook = load_workbook(paths["xlsx"], read_only=True)
    t = LABELS[language]
    findings = list(workbook[t["sheet_findings"]].iter_rows(values_only=True))
    run = dict(list(workbook[t["sheet_run"]].iter_rows(values_only=True))[1:])

    column = findings[0].index(t["severity"])
    assert {row[column] for row in findings[1:]} == severities
    assert run[t["status"]] == status


@pytest.mark.parametrize("date_extraction", [None, "None"])
def test_unknown_extraction_date_shown_unknown(tmp_path, summary, date_extraction):
    summary["delivery"]["date_extraction"] = date_extraction

    paths = write_reports(summary, tmp_path)
    run_page = (tmp_path / "run.html").read_text(encoding="utf-8")
    workbook = load_workbook(paths["xlsx"], read_only=True)
    run = dict(list(workbook["Exécution"].iter_rows(values_only=True))[1:])

    assert "extraction</dt><dd>inconnue</dd>" in run_page
    assert "None" not in run_page
    assert "None" not in (tmp_path / "rapport_qualite.html").read_text(encoding="utf-8")
    assert run["Date d'extraction"] == "inconnue"


def test_workbook_keeps_formula_text_as_text(tmp_path, summary):
    summary["tables"][0]["findings_by_rule"][0]["examples"][0]["value"] = "=HYPERLINK(1)"

    paths = write_reports(summary, tmp_path)
    workbook = load_workbook(paths["xlsx"])
    cells = [cell for row in workbook["Constats"].iter_rows() for cell in row]

    assert all(cell.data_type != "f" for cell in cells)


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
    pages = site(summary)
    elapsed = time.perf_counter() - started

    assert elapsed < 10.0, f"{elapsed:.2f} s for 100 tables"
    assert len([name for name in pages if name.startswith("tables/")]) == 100
    assert len(pages["rapport_qualite.html"]) < 500_000
    assert max(len(html) for html in pages.values()) < 1_000_000


def test_run_page_links_events_file_only_when_written(tmp_path, summary):
    write_reports(summary, tmp_path)
    assert 'href="openlineage.jsonl"' not in (tmp_path / "run.html").read_text(encoding="utf-8")

    (tmp_path / "openlineage.jsonl").write_text("{}\n", encoding="utf-8")
    write_reports(summary, tmp_path)

    assert 'href="openlineage.jsonl"' in (tmp_path / "run.html").read_text(encoding="utf-8")


def add_refused_value(summary, value="12 rue des Lilas", **example):
    """Add a mapping.target_value finding to ITAC.DOSSIER, as the pipeline writes it."""
    table = summary["tables"][0]
    table["findings_by_rule"].append(
        {
            "rule_id": "mapping.target_value",
            "severity": "error",
            "count": 1,
            "examples": [
                {
                    "line": 5,
                    "target_table": "adresse",
                    "column": "voie",
                    "reason": "the text is longer than the 120 characters of the column",
                    "value": value,
                    "value_kept": True,
                    "personal": True,
                    **example,
                }
            ],
        }
    )


def add_merge_conflict(summary, key="0f3a9c", key_personal=False):
    summary["merge_conflicts"] = [
        {
            "rule_id": "mapping.merge_conflict",
            "table": "adresse",
            "merged_keys": 3,
            "keys": 2,
            "rows": 400,
            "key_personal": key_personal,
            "columns": [
                {"column": "voie", "keys": 2, "personal": True},
                {"column": "code_postal", "keys": 1, "personal": True},
            ],
            "sources": [{"application": "ITAC", "table": "DOSSIER", "keys": 2}],
            "examples": [
                {
                    "key": key,
                    "columns": ["voie", "code_postal"],
                    "rows": [
                        {"application": "ITAC", "table": "DOSSIER", "line": 2},
                        {"application": "ITAC", "table": "DOSSIER", "line": 9},
                    ],
                    "more_rows": 3,
                }
            ],
        }
    ]


def test_refused_value_example_names_target_column_and_reason(summary):
    add_refused_value(summary, value="99 aaa aaa Aaaaaa")

    page = site(summary)[TABLE_PAGE]

    row = page[page.index("<code>mapping.target_value</code>") :].split("</tr>")[0]
    assert "colonne cible adresse.voie" in row
    assert "<code>99 aaa aaa Aaaaaa</code>" in row
    # Stored in English, the reason shows in the page's language.
    assert "le texte dépasse les 120 caractères de la colonne" in row
    assert LABELS["fr"]["empty_value"] not in row


def test_value_not_kept_is_not_shown_as_empty(tmp_path, summary):
    add_refused_value(summary, value=None, value_kept=False)

    paths = write_reports(summary, tmp_path, language="en")

    page = (tmp_path / TABLE_PAGE).read_text(encoding="utf-8")
    row = page[page.index("<code>mapping.target_value</code>") :].split("</tr>")[0]
    assert LABELS["en"]["value_not_kept"] in row
    assert LABELS["en"]["empty_value"] not in row
    workbook = load_workbook(paths["xlsx"], read_only=True)
    rows = list(workbook[LABELS["en"]["sheet_findings"]].iter_rows(values_only=True))
    workbook.close()
    [finding] = [r for r in rows if r[2] == "mapping.target_value"]
    assert finding[6] == (
        "line 5 target column adresse.voie: (value not kept) "
        "(the text is longer than the 120 characters of the column)"
    )


def test_personal_target_value_masked_again(tmp_path, summary):
    add_refused_value(summary, value="12 rue des Lilas")

    write_reports(summary, tmp_path)

    for path in tmp_path.rglob("*.*"):
        assert "rue des Lilas" not in file_text(path), path.name
    assert "99 aaa aaa Aaaaa" in file_text(tmp_path / TABLE_PAGE)


def test_merge_conflicts_need_a_decision(summary):
    add_merge_conflict(summary)

    pages = site(summary)

    decisions = decisions_of(pages["rapport_qualite.html"])
    assert "2 clés de la table adresse regroupent 400 lignes aux valeurs différentes" in decisions
    assert "<code>voie</code> (2)" in decisions
    assert "<code>0f3a9c</code>" in decisions
    assert 'href="tables/table-1-itac-dossier.html"' in decisions
    page = pages[TABLE_PAGE]
    section = page[page.index('id="merge-conflicts"') : page.index('id="findings"')]
    assert "ITAC.DOSSIER ligne 2, ITAC.DOSSIER ligne 9 + 3" in section
    assert 'href="../tables/table-1-itac-dossier.html"' in section
    assert 'id="merge-conflicts"' not in pages[SUIVI_PAGE]


def test_merge_conflicts_in_english(summary):
    add_merge_conflict(summary)

    decisions = decisions_of(site(summary, language="en")["rapport_qualite.html"])

    assert "2 keys of table adresse merge 400 rows with different values" in decisions


def test_merge_conflicts_sheet(tmp_path, summary):
    add_merge_conflict(summary)

    paths = write_reports(summary, tmp_path)

    workbook = load_workbook(paths["xlsx"], read_only=True)
    rows = list(workbook[LABELS["fr"]["sheet_merge_conflicts"]].iter_rows(values_only=True))
    workbook.close()
    assert rows[1:] == [
        (
            "adresse",
            "voie",
            2,
            2,
            3,
            400,
            "ITAC.DOSSIER (2)",
            "clé 0f3a9c: voie, code_postal (ITAC.DOSSIER ligne 2, ITAC.DOSSIER ligne 9 + 3)",
        ),
        (
            "adresse",
            "code_postal",
            1,
            2,
            3,
            400,
            "ITAC.DOSSIER (2)",
            "clé 0f3a9c: voie, code_postal (ITAC.DOSSIER ligne 2, ITAC.DOSSIER ligne 9 + 3)",
        ),
    ]


def test_personal_merge_key_masked_again(tmp_path, summary):
    add_merge_conflict(summary, key="185057800608436", key_personal=True)

    write_reports(summary, tmp_path)

    for path in tmp_path.rglob("*.*"):
        assert "185057800608436" not in file_text(path), path.name
    assert MASKED_NIR in file_text(tmp_path / "resume.json")


def test_merge_conflicts_in_markdown(summary):
    add_merge_conflict(summary)

    text = summary_markdown(summary)

    assert (
        "- 2 clés de la table adresse regroupent 400 lignes aux valeurs différentes "
        "(`voie`, `code_postal`)"
    ) in text


def test_repeated_values_note_shown(summary):
    column = summary["tables"][0]["profile"]["columns"][0]
    column["top_repeated_only"] = True

    assert "(valeurs répétées seulement, trop de valeurs distinctes)" in site(summary)[TABLE_PAGE]
    column["top_repeated_only"] = False
    assert "valeurs répétées seulement" not in site(summary)[TABLE_PAGE]


def test_key_detail_on_personal_column_not_masked(summary):
    summary["tables"][0]["findings_by_rule"].append(
        {
            "rule_id": "key.unique",
            "severity": "error",
            "count": 2,
            "examples": [
                {"line": 9, "column": "NIR", "value": "same key as line 4"},
                {"line": 11, "column": "NIR", "value": "164022A12345678"},
            ],
        }
    )

    masked = mask_summary(summary)

    examples = masked["tables"][0]["findings_by_rule"][-1]["examples"]
    assert examples[0]["value"] == "same key as line 4"
    assert examples[1]["value"] == "••••••A••••••••"


def test_key_detail_shown_in_french(summary):
    finding = summary["tables"][0]["findings_by_rule"][0]
    finding["examples"] = [{"line": 9, "column": "NUM_DOSSIER", "value": "same key as line 4"}]

    html = site(summary)[TABLE_PAGE]

    assert "ligne 9, colonne NUM_DOSSIER\u00a0: même clé que la ligne 4" in html


def test_nir_masked_with_nir_mask(summary):
    finding = summary["tables"][0]["findings_by_rule"][-1]
    finding["examples"] = [
        {"line": 35, "column": "NIR", "value": "2 64 02 2A 123 456 78"},
        {"line": 36, "column": "NIR", "value": "999999999999999"},
    ]

    masked = mask_summary(summary)

    examples = masked["tables"][0]["findings_by_rule"][-1]["examples"]
    assert examples[0]["value"] == "• •• •• •A ••• ••• ••"
    assert examples[1]["value"] == MASKED_NIR


def test_reject_sample_masks_nir_as_nir():
    raw = json.dumps({"NIR": "164022A12345678", "NOM": "Martin", "NUM_DOSSIER": "5700000001"})

    values = _column_values(raw, "NIR, NOM, NUM_DOSSIER", {"NIR", "NOM"}, True, {"NIR"})

    assert values == [
        ["NIR", "••••••A••••••••"],
        ["NOM", "Aaaaaa"],
        ["NUM_DOSSIER", "5700000001"],
    ]
