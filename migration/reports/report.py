"""Write the run quality report: a static HTML site, resume.json and an XLSX workbook.

The report folder holds:

- `rapport_qualite.html`: the summary (verdict, counts and reconciliation per table, what needs
  a decision), and `index.html`, which opens it;
- `tables/<table>.html`: one page per source table (profile, findings by rule with masked
  examples, charts, where each column goes);
- `coverage.html`, `identity.html` (paginated as `identity-2.html`…), `changes.html`,
  `lineage.html` (key look-up) and `run.html` (run record);
- `resume.json` and `rapport_qualite.xlsx`, with the same figures.
"""

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from migration.reports import pages
from migration.reports.changes import compare_runs
from migration.reports.coverage import expression_descriptions, mapping_coverage
from migration.reports.errors import ReportError
from migration.reports.labels import LABELS
from migration.reports.masking import mask_summary
from migration.reports.pages import ReportExtras
from migration.reports.view import TABLE_PAGES_FOLDER, as_list

logger = logging.getLogger(__name__)

SUPPORTED_LANGUAGES = tuple(LABELS)
JSON_NAME = pages.JSON_NAME
HTML_NAME = pages.SUMMARY_PAGE
XLSX_NAME = pages.XLSX_NAME
GENERATED_PAGES = ("identity-*.html", f"{TABLE_PAGES_FOLDER}/*.html")
"""Pages whose number depends on the run; those a rerun does not write again are removed."""


def render_html(summary: Mapping, language: str = "fr", *, mask_personal: bool = True) -> str:
    """Render the summary page of a run summary, without reading any other source.

    Args:
        summary: the run summary, in which any key may be missing or empty.
        language: "fr" or "en".
        mask_personal: mask again (digits to 9, letters to A or a) the example, min, max and
            top values of columns the profile marks as personal. Pass False only when the user
            asked for values in clear.

    Raises:
        ReportError: the summary is not a mapping or the language is not supported.
    """
    _check_arguments(summary, language)
    masked = mask_summary(summary, mask_personal)
    extras = ReportExtras(personal_shown=not mask_personal)
    return pages.render_summary_page(masked, language, extras)


def render_site(
    summary: Mapping,
    language: str = "fr",
    *,
    mask_personal: bool = True,
    engine=None,
    previous: Mapping | None = None,
    schema=None,
    openlineage_written: bool = False,
) -> tuple[dict, ReportExtras, dict[str, str]]:
    """Return (masked summary, extras, {page path: HTML}) of a run.

    See write_reports for the arguments; openlineage_written links the run page to the events
    file, which must then be in the report folder.
    """
    _check_arguments(summary, language)
    masked = mask_summary(summary, mask_personal)
    extras = build_extras(
        masked, engine=engine, previous=previous, schema=schema, mask_personal=mask_personal
    )
    extras.openlineage_written = openlineage_written
    return masked, extras, pages.render_pages(masked, language, extras)


def build_extras(
    masked_summary: Mapping,
    *,
    engine=None,
    previous: Mapping | None = None,
    schema=None,
    mask_personal: bool = True,
) -> ReportExtras:
    """Gather what the report shows beyond the summary: coverage, changes, database facts.

    A part that cannot be read (mapping file gone, database unreachable) is left out with a
    warning in the log; the page then says it is unavailable.
    """
    from migration.reports.database import read_database_facts

    coverage = mapping_coverage(masked_summary, schema)
    database = None
    if engine is not None:
        database = read_database_facts(engine, masked_summary, schema, mask_personal=mask_personal)
        if previous is None and masked_summary.get("run_id"):
            previous = _previous_from_database(engine, str(masked_summary["run_id"]))
    changes = compare_runs(masked_summary, mask_summary(previous) if previous else None)
    return ReportExtras(
        coverage=coverage,
        descriptions=expression_descriptions(masked_summary),
        changes=changes,
        database=database,
        personal_shown=not mask_personal,
    )


def write_reports(
    summary: dict,
    out_dir: Path,
    language: str = "fr",
    *,
    mask_personal: bool = True,
    engine=None,
    previous: Mapping | None = None,
    schema=None,
) -> dict[str, Path]:
    """Write the report site, resume.json and rapport_qualite.xlsx into out_dir.

    resume.json is the summary as UTF-8 JSON (indent 2) after the same masking as the pages (a
    password in the target URL becomes "***" and, unless mask_personal is False, values of
    columns the profile marks as personal are masked again), plus the keys `mapping_coverage`,
    `changes` and `database` (the counts read back from the target database). Each file is
    written to a temporary name first and then renamed, so a rerun never leaves a half-written
    page; pages of tables or persons that the run no longer has are removed.

    Args:
        summary: the run summary, with personal values already masked.
        out_dir: the report folder.
        language: "fr" (default) or "en".
        mask_personal: see render_html.
        engine: the target database after the load, for its counts, the lineage look-up and
            the persons merged across applications; None leaves those out.
        previous: the summary of the previous delivery's run, to list changes; by default the
            last successful run before this one in the target database, else the resume.json
            already in out_dir when it is from another run.
        schema: the target schema; the bundled reference schema by default.

    Returns:
        {"json": resume.json, "html": rapport_qualite.html, "xlsx": rapport_qualite.xlsx}.

    Raises:
        ReportError: bad summary or language, or out_dir cannot be created or written.
    """
    from migration.reports.xlsx import write_workbook

    out_dir = Path(out_dir)
    if previous is None and engine is None:
        previous = _previous_from_folder(out_dir, summary)
    masked, extras, site = render_site(
        summary,
        language,
        mask_personal=mask_personal,
        engine=engine,
        previous=previous,
        schema=schema,
        openlineage_written=(out_dir / pages.OPENLINEAGE_NAME).exists(),
    )
    document = dict(masked)
    document["mapping_coverage"] = extras.coverage
    # "changes" compares with the previous run; the load's own counts per table stay apart.
    document["load_changes"] = masked.get("changes")
    document["changes"] = extras.changes
    document["database"] = _database_document(extras.database)
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"

    try:
        (out_dir / TABLE_PAGES_FOLDER).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportError(
            f"Cannot create the report folder {out_dir}: {error.strerror}. "
            "Choose another --reports folder or fix its permissions."
        ) from error
    written = {out_dir / name for name in site}
    for name, html in site.items():
        _write_atomically(out_dir / name, html)
    _remove_stale_pages(out_dir, written)
    paths = {"json": out_dir / JSON_NAME, "html": out_dir / HTML_NAME, "xlsx": out_dir / XLSX_NAME}
    _write_atomically(paths["json"], text)
    temporary = paths["xlsx"].with_name(f".{XLSX_NAME}.tmp")
    try:
        write_workbook(masked, extras, language, temporary)
        os.replace(temporary, paths["xlsx"])
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ReportError(
            f"Cannot write the report file {paths['xlsx']}: {error.strerror}. "
            "Check the free space and the permissions of the report folder."
        ) from error
    logger.info(
        "Wrote the quality report to %s (%d pages, %d source tables, language %s)",
        out_dir,
        len(site),
        len(as_list(summary.get("tables"))),
        language,
    )
    return paths


def _check_arguments(summary: object, language: str) -> None:
    if not isinstance(summary, Mapping):
        raise ReportError(
            f"Invalid run summary: expected a mapping, got {type(summary).__name__}. "
            "Pass the dict the pipeline returns."
        )
    if language not in LABELS:
        raise ReportError(
            f"Unsupported report language {language!r}. Use one of: {', '.join(LABELS)}."
        )


def _database_document(database: Mapping | None) -> dict | None:
    """The database facts that go into resume.json: counts and merged-person totals, not the
    look-up index (it is sized for the page, not for machines)."""
    if not database:
        return None
    if database.get("stale"):
        return {"run_id": database.get("run_id"), "stale": database["stale"]}
    merged = database.get("merged") or {}
    return {
        "run_id": database.get("run_id"),
        "counts": database.get("counts"),
        "merged_persons": merged.get("total"),
        "run_recorded": database.get("run_recorded"),
    }


def _previous_from_database(engine, run_id: str) -> dict | None:
    from migration.errors import MdphRepriseError
    from migration.lineage.queries import previous_run_summary

    try:
        return previous_run_summary(engine, run_id)
    except MdphRepriseError as error:
        # A first run, or a run that loaded nothing into a new database, has no previous run.
        logger.info("no comparison with the previous run: %s", error)
        return None


def _previous_from_folder(out_dir: Path, summary: Mapping) -> dict | None:
    """The resume.json left in the report folder by another run, if any."""
    path = out_dir / JSON_NAME
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(previous, dict) or previous.get("run_id") == summary.get("run_id"):
        return None
    return previous


def _remove_stale_pages(out_dir: Path, written: set[Path]) -> None:
    for pattern in GENERATED_PAGES:
        for path in out_dir.glob(pattern):
            if path not in written:
                path.unlink(missing_ok=True)


def _write_atomically(path: Path, text: str) -> None:
    # A plain open() so the file gets the usual permissions from the umask.
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ReportError(
            f"Cannot write the report file {path}: {error.strerror}. "
            "Check the free space and the permissions of the report folder."
        ) from error
