"""The report of a real sample run: its figures recomputed with SQL on the target database.

Each count the report shows (resume.json, the summary page, the table pages and the XLSX
workbook) is compared with a count made here with plain SQL on the product tables, so a report
that drifts from the database fails.
"""

import json
import re
import shutil

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from migration.reading.findings import NIR_MASK
from tests.reports.sample_run import DELIVERY, run_sample
from tests.reports.summaries import NNBSP, broken_links, parse


@pytest.fixture(scope="module")
def resume(sample_report):
    return json.loads(sample_report.paths["json"].read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sql_counts(sample_report, resume):
    """Counts per source table and target table, computed with SQL text only."""
    run_id = resume["run_id"]
    with sample_report.engine.connect() as connection:
        loaded = dict(
            connection.execute(
                sa.text(
                    "SELECT application || '.' || source_table, count(DISTINCT source_line) "
                    "FROM reprise_lignage WHERE run_id = :run GROUP BY 1"
                ),
                {"run": run_id},
            ).all()
        )
        rejected = dict(
            connection.execute(
                sa.text(
                    "SELECT application || '.' || source_table, count(DISTINCT source_line) "
                    "FROM reprise_rejet WHERE run_id = :run GROUP BY 1"
                ),
                {"run": run_id},
            ).all()
        )
        targets = {
            entry["table"]: connection.execute(
                sa.text(f'SELECT count(*) FROM "{entry["table"]}"')
            ).scalar_one()
            for entry in resume["targets"]
        }
        lineage_rows = connection.execute(
            sa.text("SELECT count(*) FROM reprise_lignage WHERE run_id = :run"), {"run": run_id}
        ).scalar()
    return {"loaded": loaded, "rejected": rejected, "targets": targets, "lineage": lineage_rows}


def number(text):
    """Parse a number as the French pages print it (narrow no-break space for thousands)."""
    cleaned = text.replace(NNBSP, "").replace("\u00a0", "").strip()
    return int(cleaned) if re.fullmatch(r"-?\d+", cleaned) else cleaned


def table_rows(html, table_id):
    """Return the cell texts of each <tr> whose id starts with table_id."""
    rows = {}
    for match in re.finditer(rf'<tr id="({table_id}[^"]*)">(.*?)</tr>', html, re.DOTALL):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", match.group(2), re.DOTALL)
        rows[match.group(1)] = [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]
    return rows


def test_json_counts_equal_sql(resume, sql_counts):
    for table in resume["tables"]:
        name = f"{table['application']}.{table['table']}"
        assert table["loaded"] == sql_counts["loaded"].get(name, 0), name
        assert table["rejected"] == sql_counts["rejected"].get(name, 0), name
        assert table["read"] == table["loaded"] + table["rejected"] + table["filtered"], name
    for entry in resume["targets"]:
        assert entry["rows"] == sql_counts["targets"][entry["table"]], entry["table"]


def test_json_database_section_equals_sql(resume, sql_counts):
    counts = resume["database"]["counts"]

    assert counts["targets"] == sql_counts["targets"]
    assert counts["loaded"] == sql_counts["loaded"]
    assert counts["rejected"] == sql_counts["rejected"]
    assert counts["lineage_rows"] == sql_counts["lineage"]


def test_summary_page_counts_equal_sql(sample_report, resume, sql_counts):
    html = sample_report.paths["html"].read_text(encoding="utf-8")
    rows = table_rows(html, "table-")

    assert len(rows) == len(resume["tables"])
    for table, cells in zip(resume["tables"], rows.values(), strict=True):
        name = f"{table['application']}.{table['table']}"
        read, loaded, rejected, filtered = (number(cell) for cell in cells[2:6])
        assert loaded == sql_counts["loaded"].get(name, 0), name
        assert rejected == sql_counts["rejected"].get(name, 0), name
        assert read == loaded + rejected + filtered, name
        assert number(cells[8]) == loaded, name
        assert number(cells[9]) == rejected, name
        assert cells[10] == "✓", name


def test_table_pages_counts_equal_sql(sample_report, resume, sql_counts):
    for index, table in enumerate(resume["tables"], start=1):
        name = f"{table['application']}.{table['table']}"
        page = next(sample_report.reports.glob(f"tables/table-{index}-*.html"))
        html = page.read_text(encoding="utf-8")
        figures = re.search(r'<dl class="figures" id="counts">(.*?)</dl>', html, re.DOTALL)
        values = [
            number(re.sub(r"<[^>]+>", "", value))
            for value in re.findall(r"<dd>(.*?)</dd>", figures.group(1), re.DOTALL)
        ]
        assert values[1] == sql_counts["loaded"].get(name, 0), name
        assert values[2] == sql_counts["rejected"].get(name, 0), name
        assert values[0] == values[1] + values[2] + values[3], name


def test_workbook_counts_equal_sql(sample_report, sql_counts):
    workbook = load_workbook(sample_report.paths["xlsx"], read_only=True)
    *summary_rows, total_row = list(workbook["Synthèse"].iter_rows(values_only=True))[1:]
    target_rows = list(workbook["Tables cibles"].iter_rows(values_only=True))[1:]

    assert summary_rows
    assert total_row[0] == "Total"
    assert total_row[4] == sum(sql_counts["loaded"].values())
    assert total_row[5] == sum(sql_counts["rejected"].values())
    for application, table, _, read, loaded, rejected, filtered, *_ in summary_rows:
        name = f"{application}.{table}"
        assert loaded == sql_counts["loaded"].get(name, 0), name
        assert rejected == sql_counts["rejected"].get(name, 0), name
        assert read == loaded + rejected + filtered, name
    assert {row[0]: row[1] for row in target_rows} == sql_counts["targets"]


def stored_lineage(connection, run_id: str) -> set[tuple]:
    """Return the lineage rows of a run as the look-up index lists them."""
    query = sa.text(
        "SELECT target_table, target_key, application, source_table, source_line, source_key "
        "FROM reprise_lignage WHERE run_id = :run"
    )
    return {tuple(row) for row in connection.execute(query, {"run": run_id})}


def test_lineage_index_rows_are_in_database(sample_report, sql_counts):
    html = (sample_report.reports / "lineage.html").read_text(encoding="utf-8")
    text = re.search(r'<script type="application/json" id="lineage-index">(.*?)</script>', html)
    index = json.loads(text.group(1))
    with sample_report.engine.connect() as connection:
        stored = stored_lineage(connection, sample_report.outcome.summary["run_id"])
        rejects = connection.execute(
            sa.text("SELECT count(*) FROM reprise_rejet WHERE run_id = :run"),
            {"run": sample_report.outcome.summary["run_id"]},
        ).scalar()

    assert len(index["lineage"]) == sql_counts["lineage"]
    assert {tuple(row) for row in index["lineage"]} == stored
    assert len(index["rejects"]) == rejects


def test_capped_lineage_index_shares_rows_in_source_order(sample_report, sql_counts):
    from migration.reports.database import read_database_facts

    summary = sample_report.outcome.summary
    facts = read_database_facts(sample_report.engine, summary, max_lineage_rows=40)
    rows = facts["index"]["lineage"]
    with sample_report.engine.connect() as connection:
        per_table = dict(
            connection.execute(
                sa.text(
                    "SELECT target_table, count(*) FROM reprise_lignage WHERE run_id = :run "
                    "GROUP BY target_table"
                ),
                {"run": summary["run_id"]},
            ).all()
        )
        stored = stored_lineage(connection, summary["run_id"])

    assert len(rows) == 40 < sql_counts["lineage"]
    assert facts["index"]["total_lineage"] == sql_counts["lineage"]
    assert facts["index"]["truncated"] is True
    assert {tuple(row) for row in rows} <= stored
    # Every target table gets a share, and each share is listed in source order.
    assert {row[0] for row in rows} == set(per_table)
    for table in per_table:
        shown = [(row[2], row[3], row[4]) for row in rows if row[0] == table]
        assert shown == sorted(shown)


def test_capped_rejects_are_shared_by_source_table(sample_report):
    from migration.reports.database import read_database_facts

    summary = sample_report.outcome.summary
    with sample_report.engine.connect() as connection:
        per_source = dict(
            connection.execute(
                sa.text(
                    "SELECT application || '.' || source_table, count(*) FROM reprise_rejet "
                    "WHERE run_id = :run GROUP BY 1"
                ),
                {"run": summary["run_id"]},
            ).all()
        )
    budget = len(per_source)
    facts = read_database_facts(sample_report.engine, summary, max_reject_rows=budget)
    rejects = facts["index"]["rejects"]

    assert sum(per_source.values()) > budget
    assert facts["index"]["total_rejects"] == sum(per_source.values())
    assert len(rejects) == budget
    # Every source table with rejects keeps one, so none loses its extract to a larger one.
    assert {f"{row[0]}.{row[1]}" for row in rejects} == set(per_source)
    assert set(facts["index"]["reject_samples"]) == set(per_source)


def test_lineage_of_another_run_is_reported_stale(sample_report):
    from migration.reports.database import read_database_facts

    summary = dict(sample_report.outcome.summary, run_id="19990101T000000-000000")
    facts = read_database_facts(sample_report.engine, summary)

    assert facts == {
        "run_id": "19990101T000000-000000",
        "stale": sample_report.outcome.summary["run_id"],
    }


def test_merged_persons_equal_sql(sample_report, resume):
    html = (sample_report.reports / "identity.html").read_text(encoding="utf-8")
    with sample_report.engine.connect() as connection:
        merged = connection.execute(
            sa.text(
                "SELECT target_key FROM reprise_lignage WHERE target_table = 'individu' "
                "GROUP BY target_key HAVING count(DISTINCT application) > 1"
            )
        ).scalars()
        merged = set(merged)

    assert len(merged) == resume["identity"]["cross_application"]
    assert resume["database"]["merged_persons"] == len(merged)
    for key in merged:
        assert f"<code>{key}</code>" in html, key


def test_date_histograms_count_every_date(resume):
    checked = 0
    for table in resume["tables"]:
        rows = table["profile"]["rows"]
        for column in table["profile"]["columns"]:
            histogram = column.get("date_histogram")
            if histogram is None:
                continue
            total = sum(entry["count"] for entry in histogram["bins"])
            total += histogram["placeholders"] + histogram["invalid"]
            assert total == rows - column["nulls"], (table["table"], column["name"])
            checked += 1
    assert checked > 10


def test_every_page_written_and_linked(sample_report, resume):
    pages = {
        str(path.relative_to(sample_report.reports)): path.read_text(encoding="utf-8")
        for path in sample_report.reports.rglob("*.html")
    }

    assert len([name for name in pages if name.startswith("tables/")]) == len(resume["tables"])
    assert broken_links(pages) == []
    for name, html in pages.items():
        assert len(parse(html).ids) == len(set(parse(html).ids)), name


def test_run_record_stored_with_hashes(sample_report, resume):
    with sample_report.engine.connect() as connection:
        finished, stored = connection.execute(
            sa.text("SELECT finished_at, summary_json FROM reprise_run WHERE run_id = :run"),
            {"run": resume["run_id"]},
        ).one()
    record = json.loads(stored)["run_record"]

    assert finished is not None
    assert record["finished_at"]
    assert len(record["target_schema"]["sha256"]) == 64
    assert {name: entry["sha256"] for name, entry in record["mappings"].items()} == {
        name: entry["sha256"] for name, entry in resume["mappings"].items()
    }
    assert record["counts"]["target_rows"] == sum(entry["rows"] for entry in resume["targets"])
    assert all(len(entry["sha256_plaintext"]) == 64 for entry in record["delivery"]["files"])
    assert record["target"] == resume["target"]


def test_departement_shown_in_three_characters(tmp_path):
    delivery = tmp_path / "delivery"
    shutil.copytree(DELIVERY, delivery)
    config = delivery / "livraison.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('departement: "057"', 'departement: "57"'), encoding="utf-8")

    (tmp_path / "run").mkdir()
    run = run_sample(tmp_path / "run", delivery=delivery)
    try:
        resume = json.loads((run.reports / "resume.json").read_text(encoding="utf-8"))
        summary_page = (run.reports / "rapport_qualite.html").read_text(encoding="utf-8")
        run_page = (run.reports / "run.html").read_text(encoding="utf-8")
    finally:
        run.engine.dispose()

    assert 'departement: "57"' in config.read_text(encoding="utf-8")
    assert resume["delivery"]["departement"] == "057"
    assert "Département 057" in summary_page
    assert "<dd>057</dd>" in run_page


def test_masked_nir_reads_as_masked(sample_report, resume):
    dossier = next(table for table in resume["tables"] if table["table"] == "DOSSIER")
    [finding] = [entry for entry in dossier["findings_by_rule"] if entry["rule_id"] == "id.nir"]
    values = [example["value"] for example in finding["examples"]]
    [page] = (sample_report.reports / "tables").glob("*-itac-dossier.html")

    assert values
    for value in values:
        assert set(value) <= {NIR_MASK, "A", "a", " "}, value
    assert NIR_MASK * 15 in page.read_text(encoding="utf-8")
    assert "999999999999999" not in page.read_text(encoding="utf-8")
