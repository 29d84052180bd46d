"""The pieces the report adds to the summary: profile distributions, charts, mapping coverage,
changes between runs and the Markdown summary for Dagster."""

import copy
import json
import re

import pandas as pd
import pytest
import yaml

from migration.dictionary.model import load_dictionary
from migration.profiling.profile import MAX_LENGTH_BINS, profile_table
from migration.reports import summary_markdown, write_reports
from migration.reports.changes import compare_runs
from migration.reports.charts import COLORS, MAX_BARS, bar_chart, histogram
from migration.reports.coverage import mapping_coverage
from tests.reports.summaries import ROOT, build_summary, parse, site


@pytest.fixture(scope="module")
def dossier():
    dictionary = load_dictionary("itac")
    return dictionary, dictionary.tables["DOSSIER"]


def profile_of(dossier, values, column):
    dictionary, table = dossier
    rows = pd.DataFrame({c.name: [None] * len(values) for c in table.columns}, dtype=object)
    rows[column] = values
    profile = profile_table(rows, table, dictionary)
    return next(c for c in profile["columns"] if c["name"] == column)


def test_date_histogram_counts_years(dossier):
    values = ["01/02/2003", "05/06/2003", "01/01/1999", "00/00/0000", "31/02/2003", None]

    column = profile_of(dossier, values, "DATE_OUVERTURE")

    assert column["date_histogram"] == {
        "granularity": "year",
        "bins": [{"period": "1999", "count": 1}, {"period": "2003", "count": 2}],
        "placeholders": 1,
        "invalid": 1,
    }


def test_personal_date_keeps_only_years(dossier):
    column = profile_of(dossier, ["02/04/1984", "03/04/1984"], "DATE_NAISSANCE")

    assert column["date_histogram"]["bins"] == [{"period": "1984", "count": 2}]
    assert "02/04/1984" not in str(column)


def test_lengths_count_values(dossier):
    column = profile_of(dossier, ["Anne", "Paul", "Chloé", None], "PRENOMS")

    assert column["lengths"] == [{"length": 4, "count": 2}, {"length": 5, "count": 1}]
    assert column["date_histogram"] is None


def test_lengths_tail_summed_into_last_bin(dossier):
    values = ["x" * length for length in range(1, MAX_LENGTH_BINS + 11)]

    lengths = profile_of(dossier, values, "ADR_VOIE")["lengths"]

    assert len(lengths) == MAX_LENGTH_BINS
    assert lengths[-1] == {"length": MAX_LENGTH_BINS, "count": 11, "and_longer": True}


def test_bar_chart_escapes_labels_and_caps_bars():
    items = [("<b>x</b>", 5)] + [(f"v{index}", 1) for index in range(MAX_BARS + 5)]

    svg = str(bar_chart(items, title="T & co", other_label="autres"))

    assert "<b>" not in svg
    assert "&lt;b&gt;x&lt;/b&gt;" in svg
    assert "T &amp; co" in svg
    assert svg.count("<rect") == MAX_BARS
    assert ">autres<" in svg


def test_bar_chart_item_colors_and_other_bar():
    items = [(f"v{index}", 1) for index in range(MAX_BARS + 5)]
    item_colors = ["warn"] * len(items)

    svg = str(bar_chart(items, title="T", color="muted", item_colors=item_colors))

    fills = re.findall(r'<rect [^>]*fill="([^"]+)"', svg)
    assert fills[: MAX_BARS - 1] == [COLORS["warn"]] * (MAX_BARS - 1)
    assert fills[-1] == COLORS["muted"]


def test_bar_chart_rejects_wrong_color_count():
    with pytest.raises(ValueError, match="got 1 for 2 items"):
        bar_chart([("a", 1), ("b", 2)], title="T", item_colors=["bad"])


def test_empty_charts_draw_nothing():
    assert str(bar_chart([], title="x")) == ""
    assert str(histogram([], title="x")) == ""


def test_coverage_of_bundled_mappings():
    coverage = mapping_coverage(build_summary())

    dossier = next(s for s in coverage["sources"] if s["table"] == "DOSSIER")
    nir = next(c for c in dossier["columns"] if c["name"] == "NIR")
    assert nir["status"] == "mapped"
    assert nir["targets"] == ["individu.nir"]
    assert coverage["totals"]["unmapped"] == 0


def test_coverage_counts_join_keys_apart():
    coverage = mapping_coverage(build_summary())

    suivi = next(s for s in coverage["sources"] if s["table"] == "SUIVI")
    num_etab = next(c for c in suivi["columns"] if c["name"] == "NUM_ETAB")
    assert num_etab["status"] == "join_or_filter"
    assert num_etab["reason"] == "remplacé par le numéro FINESS de l'établissement"
    assert num_etab["targets"] == []
    assert num_etab["read_by"] == [
        {"kind": "join", "target": "suivi_orientation", "with": "ETABLISSEMENT.NUM_ETAB"}
    ]
    assert suivi["join_or_filter"] == 1
    assert suivi["mapped"] + suivi["join_or_filter"] + suivi["dropped"] == len(suivi["columns"])
    assert coverage["totals"]["join_or_filter"] == 3


def test_coverage_shows_join_reads_of_mapped_column():
    coverage = mapping_coverage(build_summary())

    demande = next(s for s in coverage["sources"] if s["table"] == "DEMANDE")
    num_demande = next(c for c in demande["columns"] if c["name"] == "NUM_DEMANDE")
    assert num_demande["status"] == "mapped"
    assert {"kind": "join", "target": "droit", "with": "CONCLUSION.NUM_DEMANDE"} in num_demande[
        "read_by"
    ]


def test_coverage_lists_undecided_column(tmp_path):
    mapping = yaml.safe_load((ROOT / "mappings" / "itac.yaml").read_text(encoding="utf-8"))
    adresse = next(t for t in mapping["targets"] if t["target"] == "adresse")
    del adresse["columns"]["telephone"]
    path = tmp_path / "itac.yaml"
    path.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    summary = build_summary()
    summary["mappings"] = {"ITAC": {"file": str(path)}}

    coverage = mapping_coverage(summary)

    dossier = next(s for s in coverage["sources"] if s["table"] == "DOSSIER")
    telephone = next(c for c in dossier["columns"] if c["name"] == "TELEPHONE")
    target = next(t for t in coverage["targets"] if t["table"] == "adresse")
    assert telephone["status"] == "unmapped"
    assert dossier["unmapped"] == 1
    assert next(c for c in target["columns"] if c["name"] == "telephone")["sources"] == []


def test_coverage_none_without_mapping_file():
    summary = build_summary()
    summary["mappings"] = {"ITAC": {"file": "/no/such/mapping.yaml"}}

    assert mapping_coverage(summary) is None


def with_both_mappings(summary):
    summary["mappings"]["OPALES"] = {"file": str(ROOT / "mappings/opales.yaml")}
    return summary


# Transformations of the bundled mappings as the coverage page shows them in each language.
TRANSFORMATIONS = {
    "fr": [
        "complété à 3 caractères (copie de ADR_DEPARTEMENT)",
        "concaténation de copie de departement, copie de commune",
        "premier non vide de trim(copie de rslongue), trim(copie de rs)",
        "clé dérivée individu.itac de copie de NUM_DOSSIER",
        "traduction de code (copie de",
    ],
    "en": [
        "padded to 3 characters (copy of ADR_DEPARTEMENT)",
        "concatenation of copy of departement, copy of commune",
        "first non-empty of trim(copy of rslongue), trim(copy of rs)",
        "derived key individu.itac of copy of NUM_DOSSIER",
        "code translation (copy of",
    ],
}


@pytest.mark.parametrize(("language", "other"), [("fr", "en"), ("en", "fr")])
def test_coverage_transformations_in_report_language(language, other):
    html = site(with_both_mappings(build_summary()), language)["coverage.html"]

    for text in TRANSFORMATIONS[language]:
        assert text in html
    for text in TRANSFORMATIONS[other]:
        assert text not in html


def test_coverage_keeps_french_transformations_in_json(tmp_path):
    write_reports(with_both_mappings(build_summary()), tmp_path, language="en")

    document = json.loads((tmp_path / "resume.json").read_text(encoding="utf-8"))
    targets = document["mapping_coverage"]["targets"]
    shown = {
        source["transformation"]
        for target in targets
        for column in target["columns"]
        for source in column["sources"]
    }
    assert "complété à 3 caractères (copie de ADR_DEPARTEMENT)" in shown
    assert "padded to 3 characters (copy of ADR_DEPARTEMENT)" not in shown


def test_changes_between_runs():
    before = build_summary()
    after = copy.deepcopy(before)
    after["run_id"] = "next"
    after["tables"][0]["read"] += 3
    after["tables"][0]["loaded"] += 3
    after["tables"][1]["findings_by_rule"] = []
    after["tables"].pop()
    after["delivery"]["files"][0]["sha256_plaintext"] = "ff" * 32
    after["mappings"]["ITAC"]["sha256"] = "00" * 32

    changes = compare_runs(after, before)
    by_name = {f"{t['application']}.{t['table']}": t for t in changes["tables"]}

    assert by_name["ITAC.DOSSIER"]["counts"]["read"] == {"before": 412, "after": 415, "delta": 3}
    assert by_name["ITAC.DEMANDE"]["gone_rules"] == ["fk.dangling"]
    assert by_name["OPALES.FINESS_STRUCTURE"]["status"] == "removed"
    assert by_name["ITAC.CONCLUSION"]["status"] == "same"
    assert changes["changed_tables"] == 3
    assert changes["files"] == [{"application": "ITAC", "file": "DOSSIER.csv", "change": "changed"}]
    assert [v["kind"] for v in changes["versions"]] == ["mappings"]


def next_run(before):
    """Return a copy of a summary as the next run with the same counts would write it."""
    after = copy.deepcopy(before)
    after["run_id"] = "next"
    return after


def changes_page_text(after, before, language="fr"):
    page = site(after, language, previous=before)["changes.html"]
    # Only ASCII spaces are collapsed, so the narrow no-break space of French numbers stays.
    return re.sub("[ \t\r\n]+", " ", " ".join(parse(page).text))


def changes_page_lead(text):
    """Return the text of the changes page above its first section, the source tables."""
    return text.split("Tables sources", 1)[0]


def test_changed_file_with_same_counts_is_changed():
    before = build_summary()
    after = next_run(before)
    after["delivery"]["files"][0]["sha256_plaintext"] = "ff" * 32

    changes = compare_runs(after, before)
    by_name = {f"{t['application']}.{t['table']}": t for t in changes["tables"]}

    assert by_name["ITAC.DOSSIER"]["status"] == "changed"
    assert by_name["ITAC.DOSSIER"]["file_changed"] is True
    assert by_name["ITAC.DEMANDE"]["status"] == "same"
    assert by_name["ITAC.DEMANDE"]["file_changed"] is False
    assert changes["changed_tables"] == 1


def test_changed_file_not_shown_unchanged_on_page():
    before = build_summary()
    after = next_run(before)
    after["delivery"]["files"][0]["sha256_plaintext"] = "ff" * 32

    text = changes_page_text(after, before)

    assert "ITAC.DOSSIER modifiée" in text
    assert "ITAC.DEMANDE inchangée" in text
    assert "Aucune différence" not in changes_page_lead(text)


def test_missing_checksum_gives_same_counts():
    before = build_summary()
    for entry in before["delivery"]["files"]:
        del entry["sha256_plaintext"]
    after = next_run(before)

    changes = compare_runs(after, before)
    text = changes_page_text(after, before)

    assert {table["status"] for table in changes["tables"]} == {"same_counts"}
    assert changes["changed_tables"] == 0
    assert changes["same_counts_tables"] == len(changes["tables"])
    assert "ITAC.DOSSIER mêmes effectifs" in text
    assert "inchangée" not in text
    assert "Aucune différence" not in changes_page_lead(text)
    assert "Mêmes effectifs" in changes_page_lead(text)


def test_target_changes_show_load_counts():
    before = build_summary()
    after = next_run(before)
    after["changes"] = {
        "individu": {"added": 4, "changed": 600, "removed": 4, "unchanged": 36, "kept": 0}
    }

    changes = compare_runs(after, before)
    individu = next(target for target in changes["targets"] if target["table"] == "individu")
    demande = next(target for target in changes["targets"] if target["table"] == "demande")
    text = changes_page_text(after, before)

    assert individu["delta"] == 0
    assert (individu["added"], individu["changed"], individu["removed"]) == (4, 600, 4)
    assert (demande["added"], demande["changed"], demande["removed"]) == (None, None, None)
    assert "Ajoutées Modifiées Supprimées" in text
    assert "individu 640 640 0 4 600 4" in text


def test_partial_delivery_changes_keep_other_application():
    before = build_summary()
    after = next_run(before)
    after["tables"] = [table for table in after["tables"] if table["application"] == "OPALES"]
    after["delivery"]["files"] = [
        entry for entry in after["delivery"]["files"] if entry["application"] == "OPALES"
    ]
    # OPALES delivers 200 individus again; the 440 of ITAC alone stay.
    after["targets"] = [{"table": "individu", "rows": 200}]
    after["changes"] = {
        "individu": {
            "added": 0,
            "changed": 5,
            "removed": 0,
            "unchanged": 190,
            "kept": 445,
            "kept_delivered": 5,
        }
    }

    changes = compare_runs(after, before)
    individu = next(target for target in changes["targets"] if target["table"] == "individu")

    assert {table["application"] for table in changes["tables"]} == {"OPALES"}
    assert "removed" not in {table["status"] for table in changes["tables"]}
    assert all(entry["application"] == "OPALES" for entry in changes["files"])
    assert (individu["before"], individu["after"], individu["delta"]) == (640, 640, 0)


def test_no_changes_without_previous_run():
    summary = build_summary()

    assert compare_runs(summary, None) is None
    assert compare_runs(summary, summary) is None


def test_markdown_summary_has_counts_and_decisions():
    text = summary_markdown(build_summary(), "fr", "/srv/rapports/rapport_qualite.html")

    assert text.startswith("**Réconciliation correcte**")
    assert "| ITAC.DOSSIER | 412 | 410 | 2 | 0 | ✓ |" in text
    assert "`key.duplicate` 2" in text
    assert "`/srv/rapports/rapport_qualite.html`" in text


def test_markdown_summary_in_english():
    text = summary_markdown(build_summary(), "en")

    assert text.startswith("**Reconciliation passed**")
    assert "Needs a decision" in text
