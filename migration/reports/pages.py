"""Render the pages of the report site from the masked summary and the report extras.

Every page is static HTML with inline CSS and inline SVG charts; the lineage page adds a small
inline script over an embedded JSON index. The pages link to each other with relative URLs, so
the folder can be copied, archived or opened from a USB stick.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from migration.reports.charts import bar_chart, histogram
from migration.reports.formatting import (
    MISSING,
    format_date,
    format_datetime,
    format_description,
    format_duration,
    format_finding_detail,
    format_match_reasons,
    format_number,
    format_reject_reason,
    plural,
)
from migration.reports.labels import LABELS
from migration.reports.view import TABLE_PAGES_FOLDER, as_list, as_mapping, build_view

logger = logging.getLogger(__name__)

SUMMARY_PAGE = "rapport_qualite.html"
INDEX_PAGE = "index.html"
COVERAGE_PAGE = "coverage.html"
IDENTITY_PAGE = "identity.html"
CHANGES_PAGE = "changes.html"
LINEAGE_PAGE = "lineage.html"
RUN_PAGE = "run.html"
JSON_NAME = "resume.json"
XLSX_NAME = "rapport_qualite.xlsx"
OPENLINEAGE_NAME = "openlineage.jsonl"

ROWS_PER_PAGE = 200
"""Rows per page of the long lists (persons merged across applications)."""
MAX_REVIEW_ROWS = 1_000
"""Identity candidates listed for review; a longer list is counted, and the XLSX has them all."""
MAX_COLUMN_CHARTS = 60
"""Columns of one table that get a distribution chart; wider tables show the rest as a count."""
_SEVERITY_COLORS = {"error": "bad", "warning": "warn"}
"""Chart color (a key of charts.COLORS) per finding severity. Other severities are muted."""

NAVIGATION = [
    ("nav_summary", SUMMARY_PAGE),
    ("nav_tables", SUMMARY_PAGE + "#tables"),
    ("nav_coverage", COVERAGE_PAGE),
    ("nav_identity", IDENTITY_PAGE),
    ("nav_changes", CHANGES_PAGE),
    ("nav_lineage", LINEAGE_PAGE),
    ("nav_run", RUN_PAGE),
]


@dataclass
class ReportExtras:
    """The report's additions to the summary: mapping coverage, changes and database facts.

    `descriptions` maps the French description of each expression of the run's mappings to
    its description in each language (see `coverage.expression_descriptions`).
    """

    coverage: dict | None = None
    descriptions: dict[str, dict[str, str]] = field(default_factory=dict)
    changes: dict | None = None
    database: dict | None = None
    personal_shown: bool = False
    openlineage_written: bool = False


class _CompiledTemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled report templates, kept on disk so that a new process does not compile them.

    Compiling the templates took about 0.3 s of every run (measured on a 2-core machine). The
    files go to Jinja's default cache folder, `_jinja2-cache-UID` in the system temp folder,
    which Jinja creates with mode 0700 and rejects when another user owns it. Each file stores
    the checksum of the template source, so an edited template is compiled again. A cache
    file that cannot be read or written is skipped, and the template is compiled instead.
    """

    def __init__(self, options: Mapping[str, object]) -> None:
        # The compiled code also depends on the Jinja release and on the options that shape
        # the lexer and the escaping, which the template checksum does not cover.
        fingerprint = hashlib.sha256(
            repr((jinja2.__version__, sorted(options.items()))).encode()
        ).hexdigest()[:16]
        super().__init__(pattern=f"mdph-reprise-report-{fingerprint}-%s.cache")

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, pickle.UnpicklingError) as error:
            logger.debug("reading a compiled template failed, compiling it: %s", error)
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as error:
            logger.debug("writing a compiled template to the cache failed: %s", error)


def _template_cache(options: Mapping[str, object]) -> jinja2.BytecodeCache | None:
    try:
        return _CompiledTemplateCache(options)
    except (OSError, RuntimeError) as error:
        # RuntimeError: Jinja found no safe cache folder (owned by another user, wrong mode).
        logger.debug("no cache of compiled templates: %s", error)
        return None


# The options that change how the templates compile, so they are also part of the cache key.
_COMPILE_OPTIONS = {"autoescape": True, "trim_blocks": True, "lstrip_blocks": True}


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        undefined=jinja2.StrictUndefined,
        bytecode_cache=_template_cache(_COMPILE_OPTIONS),
        **_COMPILE_OPTIONS,
    )


def render_pages(summary: Mapping, language: str, extras: ReportExtras) -> dict[str, str]:
    """Return {path relative to the report folder: HTML} for every page of the site."""
    base = _base_context(summary, language, extras)
    pages: dict[str, str] = {}
    pages[SUMMARY_PAGE] = _render("summary.html.j2", base, page=SUMMARY_PAGE)
    pages[INDEX_PAGE] = _render("index.html.j2", base, page=INDEX_PAGE)
    for table in base["tables"]:
        pages[table["page"]] = _render(
            "table.html.j2",
            base,
            page=table["page"],
            table=table,
            charts=_table_charts(table, base),
            fate=_column_fate(table, extras.coverage),
            samples=as_mapping(
                as_mapping(as_mapping(base["database"]).get("index")).get("reject_samples")
            ).get(table["name"], []),
        )
    pages[COVERAGE_PAGE] = _render("coverage.html.j2", base, page=COVERAGE_PAGE)
    pages.update(_identity_pages(base))
    pages[CHANGES_PAGE] = _render("changes.html.j2", base, page=CHANGES_PAGE)
    pages[LINEAGE_PAGE] = _render(
        "lineage.html.j2", base, page=LINEAGE_PAGE, lookup=_lookup_context(base, extras)
    )
    pages[RUN_PAGE] = _render("run.html.j2", base, page=RUN_PAGE)
    return pages


def render_summary_page(summary: Mapping, language: str, extras: ReportExtras) -> str:
    """Render the summary page alone."""
    base = _base_context(summary, language, extras)
    return _render("summary.html.j2", base, page=SUMMARY_PAGE)


def _render(template: str, base: Mapping, *, page: str, **context: Any) -> str:
    depth = page.count("/")
    values = dict(base)
    values.update(context)
    values["page"] = page
    values["root"] = "../" * depth
    return _environment().get_template(template).render(values)


def _base_context(summary: Mapping, language: str, extras: ReportExtras) -> dict[str, Any]:
    labels = LABELS[language]

    def show(value: object) -> str:
        if value is None or value == "":
            return MISSING
        if isinstance(value, bool):
            return labels["yes"] if value else labels["no"]
        if isinstance(value, int | float):
            return format_number(value, language)
        if isinstance(value, Mapping | list | tuple):
            return json.dumps(value, ensure_ascii=False, default=str)
        return str(value)

    def percent(part: object, whole: object) -> str:
        if not isinstance(part, int) or not isinstance(whole, int) or whole <= 0:
            return MISSING
        return format_number(round(100 * part / whole, 1), language) + "\u00a0%"

    context = build_view(summary)
    database = extras.database or {}
    context.update(
        language=language,
        t=labels,
        num=lambda value: format_number(value, language),
        # `{{ num(n) }} {{ plural(n, t.label) }}`: the label's form that agrees with n.
        plural=lambda count, forms: plural(count, forms, language),
        match_reasons=lambda reasons: format_match_reasons(
            reasons, labels["match_reasons"], language
        ),
        # A stored expression description, such as a coverage transformation, in this language.
        description=lambda text: format_description(text, extras.descriptions, language),
        # A stored reject reason in this language; None stays None.
        reject_reason=lambda text: (
            text
            and format_reject_reason(
                str(text), labels["reject_reason_phrases"], extras.descriptions, language
            )
        ),
        # A stored finding detail in this language.
        finding_detail=lambda text: format_finding_detail(
            str(text), labels["finding_detail_phrases"]
        ),
        show=show,
        percent=percent,
        datetime=lambda value: format_datetime(value, language),
        date=lambda value: format_date(value, language),
        duration=format_duration(context["started_at"], context["finished_at"]),
        navigation=NAVIGATION,
        coverage=extras.coverage,
        changes=extras.changes,
        database=database if database and not database.get("stale") else None,
        database_stale=database.get("stale"),
        personal_shown=extras.personal_shown,
        unmapped_decisions=_unmapped(extras.coverage),
        target_schema_info=as_mapping(summary.get("target_schema")),
        dictionary_versions=as_mapping(summary.get("dictionaries")),
        files={
            "json": JSON_NAME,
            "xlsx": XLSX_NAME,
            "openlineage": OPENLINEAGE_NAME,
        },
        identity_raw=as_mapping(summary.get("identity")),
        openlineage_written=extras.openlineage_written,
    )
    context["table_pages"] = {table["name"]: table["page"] for table in context["tables"]}
    counts = as_mapping(as_mapping(context["database"]).get("counts"))
    for table in context["tables"]:
        key = f"{table['application']}.{table['table']}"
        db_loaded = as_mapping(counts.get("loaded")).get(key, 0) if counts else None
        db_rejected = as_mapping(counts.get("rejected")).get(key, 0) if counts else None
        table["db_loaded"] = db_loaded
        table["db_rejected"] = db_rejected
        table["db_agrees"] = (
            None
            if not counts
            else db_loaded == table["loaded"] and db_rejected == table["rejected"]
        )
    for target in context["targets"]:
        rows = as_mapping(counts.get("targets")).get(target["table"]) if counts else None
        target["db_rows"] = rows
        target["db_agrees"] = None if rows is None else rows == _rows_after_load(target)
    return context


def _rows_after_load(target: Mapping) -> int | None:
    """Return the rows that a target table should hold after the load.

    That is added + changed + unchanged + kept when the load counts are known, because a load
    of some applications keeps the rows of the others. Otherwise it is the rows delivered.
    """
    counts = [target[kind] for kind in ("added", "changed", "unchanged", "kept")]
    if any(count is None for count in counts):
        return target["rows"]
    return sum(counts)


def _unmapped(coverage: Mapping | None) -> list[dict]:
    decisions = []
    for source in as_list(as_mapping(coverage).get("sources")):
        names = [c["name"] for c in source["columns"] if c["status"] == "unmapped"]
        if names:
            decisions.append(
                {"application": source["application"], "table": source["table"], "columns": names}
            )
    return decisions


def _table_charts(table: Mapping, base: Mapping) -> dict[str, Any]:
    """Draw the charts of a table page: null rates, findings by rule and one per column."""
    labels, num = base["t"], base["num"]
    rows = table["profile"]["rows"] or 0
    columns = table["profile"]["columns"]

    def percent_text(value: float) -> str:
        return num(round(value, 1)) + "\u00a0%"

    nulls = bar_chart(
        [
            (column["name"], 100 * (column["nulls"] or 0) / rows)
            for column in columns
            if rows and column["nulls"] is not None
        ],
        title=labels["chart_nulls"],
        value_text=percent_text,
        maximum=100,
        color="muted",
        other_label=labels["chart_other"],
    )
    findings = table["findings"]
    rules = bar_chart(
        [(finding["rule_id"] or "?", finding["count"] or 0) for finding in findings],
        title=labels["chart_rules"],
        value_text=num,
        color="muted",
        item_colors=[_SEVERITY_COLORS.get(finding["severity"], "muted") for finding in findings],
        other_label=labels["chart_other"],
    )
    per_column = []
    for column in columns[:MAX_COLUMN_CHARTS]:
        chart = _column_chart(column, labels, num)
        if chart:
            per_column.append({"name": column["name"], **chart})
    return {
        "nulls": nulls,
        "rules": rules,
        "columns": per_column,
        "more_columns": max(len(columns) - MAX_COLUMN_CHARTS, 0),
    }


def _column_chart(column: Mapping, labels: Mapping, num) -> dict[str, Any] | None:
    """Dates by year for a date column, top values for other columns that show values, and
    the length distribution for personal columns (whose values are never shown)."""
    dates = column["date_histogram"]
    if dates and dates["bins"]:
        return {
            "kind": labels["chart_dates"],
            "svg": histogram(
                _continuous_years(dates["bins"]),
                title=f"{column['name']}: {labels['chart_dates']}",
                value_text=num,
            ),
            "notes": [
                (num(dates["placeholders"]), labels["date_placeholders"]),
                (num(dates["invalid"]), labels["date_invalid"]),
            ],
        }
    if column["personal"]:
        if not column["lengths"]:
            return None
        return {
            "kind": labels["chart_lengths"],
            "svg": bar_chart(
                [
                    (
                        f"{entry['length']}"
                        + (f" {labels['length_and_longer']}" if entry["and_longer"] else ""),
                        entry["count"],
                    )
                    for entry in column["lengths"]
                ],
                title=f"{column['name']}: {labels['chart_lengths']}",
                value_text=num,
                other_label=labels["chart_other"],
            ),
            "notes": [],
        }
    if column["top"]:
        return {
            "kind": labels["chart_top"],
            "svg": bar_chart(
                [
                    (
                        entry["value"] if entry["value"] is not None else labels["empty_value"],
                        entry["count"] or 0,
                    )
                    for entry in column["top"]
                ],
                title=f"{column['name']}: {labels['chart_top']}",
                value_text=num,
                other_label=labels["chart_other"],
            ),
            "notes": [],
        }
    return None


def _continuous_years(bins: list[dict]) -> list[tuple[str, int]]:
    """Return (year, count) for every year from the first to the last, 0 where none, so the
    chart's axis is a time axis. Years outside 1000-2999 (typos such as 0207) stay as they are,
    because filling up to them would draw centuries of empty bars."""
    counts = {entry["period"]: entry["count"] for entry in bins}
    years = [int(period) for period in counts if period.isdigit() and 1000 <= int(period) <= 2999]
    if not years or len(years) != len(counts):
        return [(entry["period"], entry["count"]) for entry in bins]
    return [(str(year), counts.get(str(year), 0)) for year in range(min(years), max(years) + 1)]


def _column_fate(table: Mapping, coverage: Mapping | None) -> list[dict] | None:
    for source in as_list(as_mapping(coverage).get("sources")):
        if source["application"] == table["application"] and source["table"] == table["table"]:
            return source["columns"]
    return None


def _identity_pages(base: Mapping) -> dict[str, str]:
    merged = as_mapping(as_mapping(base["database"]).get("merged"))
    rows = as_list(merged.get("rows"))
    pages_count = max(math.ceil(len(rows) / ROWS_PER_PAGE), 1)
    pages = {}
    for number in range(1, pages_count + 1):
        name = IDENTITY_PAGE if number == 1 else f"identity-{number}.html"
        pages[name] = _render(
            "identity.html.j2",
            base,
            page=name,
            merged_rows=rows[(number - 1) * ROWS_PER_PAGE : number * ROWS_PER_PAGE],
            merged_total=merged.get("total"),
            merged_shown=len(rows),
            page_number=number,
            page_count=pages_count,
            previous_page=None
            if number == 1
            else (IDENTITY_PAGE if number == 2 else f"identity-{number - 1}.html"),
            next_page=None if number == pages_count else f"identity-{number + 1}.html",
            review_rows=base["identity_review"][:MAX_REVIEW_ROWS],
        )
    return pages


def _lookup_context(base: Mapping, extras: ReportExtras) -> dict[str, Any]:
    """Build the embedded index and labels of the lineage look-up, if a database was read."""
    database = base["database"]
    if not database:
        return {"available": False}
    index = database["index"]
    labels = base["t"]
    pages = {table["name"]: table["page"] for table in base["tables"]}
    payload = {
        "lineage": index["lineage"],
        "rejects": [_reject_row(row, base["language"], extras) for row in index["rejects"]],
        "files": index["files"],
        "pages": pages,
        "labels": {
            key: labels[key]
            for key in (
                "lookup_no_result",
                "lookup_results",
                "lookup_loaded_into",
                "lookup_rejected_by",
                "lookup_from",
                "line",
                "file",
                "source_key",
                "target_key",
            )
        },
    }

    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    # "<" is escaped so no value can close the <script> element that contains the index.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    source_tables = sorted({f"{row[2]}.{row[3]}" for row in index["lineage"]} | set(pages))
    return {
        "available": True,
        "json": Markup(text),
        "truncated": index["truncated"],
        "shown": len(index["lineage"]),
        "total": index["total_lineage"],
        "rejects_shown": len(index["rejects"]),
        "rejects_total": index["total_rejects"],
        "source_tables": source_tables,
    }


# Position of the reason in a reject row of the look-up index (see database.read_database_facts).
_REASON = 7


def _reject_row(row: list, language: str, extras: ReportExtras) -> list:
    """Return a reject row of the look-up index with its stored reason in the page's language."""
    reason = row[_REASON]
    if reason is None:
        return row
    phrases = LABELS[language]["reject_reason_phrases"]
    row = list(row)
    row[_REASON] = format_reject_reason(str(reason), phrases, extras.descriptions, language)
    return row


__all__ = [
    "CHANGES_PAGE",
    "COVERAGE_PAGE",
    "IDENTITY_PAGE",
    "INDEX_PAGE",
    "LINEAGE_PAGE",
    "RUN_PAGE",
    "SUMMARY_PAGE",
    "TABLE_PAGES_FOLDER",
    "ReportExtras",
    "render_pages",
    "render_summary_page",
]
