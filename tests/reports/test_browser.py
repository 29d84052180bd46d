"""Every page of the sample report opened in headless Chromium: no console error, no request
outside the report folder, every internal link and anchor resolves, and the lineage look-up
returns results.

Chromium comes from the Debian package `chromium`. Without it the tests are skipped, except under
CI=true where they fail, so CI cannot pass without running them.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import sqlalchemy as sa

from tests.reports.cdp import Browser, find_chromium


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        message = "chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI=true, so the browser tests must run")
        pytest.skip(message)
    with Browser(executable) as opened:
        yield opened


@pytest.fixture(scope="module")
def rendered(browser, sample_report):
    """Open every page once: {path relative to the report folder: what the browser saw}."""
    folder = sample_report.reports
    pages = {}
    for path in sorted(folder.rglob("*.html")):
        browser.open(path.as_uri())
        pages[str(path.relative_to(folder))] = {
            "errors": browser.errors(),
            "requests": browser.requests(),
            "links": browser.evaluate(
                "Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
            ),
            "ids": browser.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)"),
            "text": browser.evaluate("document.body ? document.body.innerText : ''"),
        }
    return pages


def test_detector_sees_script_error(browser):
    browser.open("data:text/html,<script>undefinedFunction()</script>")

    assert browser.errors(), "the error detector missed an uncaught exception"


def test_every_page_renders_without_error(rendered, sample_report):
    assert len(rendered) >= 7 + len(sample_report.outcome.summary["tables"])
    for name, page in rendered.items():
        assert page["errors"] == [], name
        if name != "index.html":
            assert page["text"].strip(), name


def test_no_request_leaves_report_folder(rendered, sample_report):
    folder = sample_report.reports.resolve()
    for name, page in rendered.items():
        for url in page["requests"]:
            parts = urlsplit(url)
            assert parts.scheme in ("file", "data"), (name, url)
            if parts.scheme == "file":
                assert Path(unquote(parts.path)).resolve().is_relative_to(folder), (name, url)


def test_every_internal_link_works(rendered, sample_report):
    folder = sample_report.reports.resolve()
    checked = 0
    for name, page in rendered.items():
        for url in page["links"]:
            parts = urlsplit(url)
            assert parts.scheme == "file", (name, url)
            target = Path(unquote(parts.path)).resolve()
            assert target.is_relative_to(folder), (name, url)
            assert target.exists(), (name, url)
            if parts.fragment and target.suffix == ".html":
                ids = rendered[str(target.relative_to(folder))]["ids"]
                assert parts.fragment in ids, (name, url)
            checked += 1
    assert checked > 100


def test_index_opens_summary(browser, sample_report):
    browser.open((sample_report.reports / "index.html").as_uri())

    assert browser.evaluate("location.pathname").endswith("/rapport_qualite.html")


def lookup(browser, query, scope="all", table=""):
    browser.evaluate(
        f"document.getElementById('lookup-query').value = {query!r};"
        f"document.getElementById('lookup-scope').value = {scope!r};"
        f"document.getElementById('lookup-table').value = {table!r};"
        "document.getElementById('lookup-button').click();"
    )
    count = browser.evaluate("document.getElementById('lookup-count').textContent")
    items = browser.evaluate(
        "Array.from(document.querySelectorAll('#lookup-results li')).map(li => li.textContent)"
    )
    return count, items


@pytest.fixture(scope="module")
def lineage_rows(sample_report):
    with sample_report.engine.connect() as connection:
        loaded = connection.execute(
            sa.text(
                "SELECT target_table, target_key, application, source_table, source_line, "
                "source_key FROM reprise_lignage ORDER BY source_line LIMIT 1"
            )
        ).one()
        rejected = connection.execute(
            sa.text("SELECT application, source_table, source_line, rule_id FROM reprise_rejet")
        ).first()
    return loaded, rejected


def test_lookup_finds_target_key(browser, sample_report, lineage_rows):
    loaded, _ = lineage_rows
    browser.open((sample_report.reports / "lineage.html").as_uri())

    count, items = lookup(browser, loaded.target_key, scope="target")

    assert browser.errors() == []
    assert count.startswith("1 ")
    assert f"{loaded.application}.{loaded.source_table}" in items[0]
    assert f"ligne {loaded.source_line}" in items[0]
    assert loaded.source_key in items[0]


def test_lookup_finds_source_key(browser, sample_report, lineage_rows):
    loaded, _ = lineage_rows
    browser.open((sample_report.reports / "lineage.html").as_uri())

    _, items = lookup(browser, loaded.source_key, scope="source")

    assert items
    assert any(f"{loaded.target_table} {loaded.target_key}" in item for item in items)


def test_lookup_finds_rejected_line(browser, sample_report, lineage_rows):
    _, rejected = lineage_rows
    browser.open((sample_report.reports / "lineage.html").as_uri())

    _, items = lookup(
        browser,
        str(rejected.source_line),
        scope="source",
        table=f"{rejected.application}.{rejected.source_table}",
    )

    assert any("rejetée par la règle" in item and rejected.rule_id in item for item in items)


def test_lookup_unknown_key_says_so(browser, sample_report):
    browser.open((sample_report.reports / "lineage.html").as_uri())

    count, items = lookup(browser, "no-such-key")

    assert items == []
    assert count == "Aucun résultat dans l'index de cette page."


def test_english_report_renders(browser, sample_report, tmp_path):
    from migration.reports import write_reports

    paths = write_reports(
        sample_report.outcome.summary, tmp_path, "en", engine=sample_report.engine
    )
    for name in ("rapport_qualite.html", "lineage.html", "coverage.html", "run.html"):
        browser.open((paths["html"].parent / name).as_uri())
        assert browser.errors() == [], name
        assert browser.evaluate("document.documentElement.lang") == "en", name
