"""Write the run quality report: resume.json and rapport_qualite.html."""

import json
import logging
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import jinja2

from migration.reports.errors import ReportError
from migration.reports.formatting import (
    MISSING,
    format_date,
    format_datetime,
    format_duration,
    format_number,
)
from migration.reports.labels import LABELS
from migration.reports.masking import mask_summary
from migration.reports.view import as_list, build_view

logger = logging.getLogger(__name__)

SUPPORTED_LANGUAGES = tuple(LABELS)
JSON_NAME = "resume.json"
HTML_NAME = "rapport_qualite.html"
_TEMPLATE_NAME = "rapport_qualite.html.j2"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(summary: Mapping, language: str = "fr", *, mask_personal: bool = True) -> str:
    """Render the HTML quality report of a run summary.

    The page is self-contained: inline CSS, no script and no external resource.

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
    return _render(mask_summary(summary, mask_personal), language)


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


def _render(masked_summary: Mapping, language: str) -> str:
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

    context = build_view(masked_summary)
    context.update(
        language=language,
        t=labels,
        num=lambda value: format_number(value, language),
        show=show,
        datetime=lambda value: format_datetime(value, language),
        date=lambda value: format_date(value, language),
        duration=format_duration(context["started_at"], context["finished_at"]),
    )
    return _environment().get_template(_TEMPLATE_NAME).render(context)


def write_reports(
    summary: dict, out_dir: Path, language: str = "fr", *, mask_personal: bool = True
) -> dict[str, Path]:
    """Write resume.json and rapport_qualite.html into out_dir, creating it if needed.

    resume.json is the summary as UTF-8 JSON (indent 2) after the same masking as the page: a
    password in the target URL becomes "***" and, unless mask_personal is False, values of
    columns the profile marks as personal are masked again. NumPy and pandas numbers are
    written as numbers, NaN and NaT as null, dates in ISO 8601 and other objects with str().
    Each file is written to a temporary name first and then renamed, so a rerun never leaves a
    half-written report.

    Args:
        summary: the run summary, with personal values already masked.
        out_dir: the report folder.
        language: "fr" (default) or "en" for the HTML labels.
        mask_personal: see render_html.

    Returns:
        {"json": path of resume.json, "html": path of rapport_qualite.html}.

    Raises:
        ReportError: bad summary or language, or out_dir cannot be created or written.
    """
    _check_arguments(summary, language)
    masked = mask_summary(summary, mask_personal)
    html = _render(masked, language)
    text = json.dumps(masked, ensure_ascii=False, indent=2, default=str) + "\n"

    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportError(
            f"Cannot create the report folder {out_dir}: {error.strerror}. "
            "Choose another --reports folder or fix its permissions."
        ) from error
    paths = {"json": out_dir / JSON_NAME, "html": out_dir / HTML_NAME}
    _write_atomically(paths["json"], text)
    _write_atomically(paths["html"], html)
    logger.info(
        "Wrote the quality report to %s (%d source tables, language %s)",
        out_dir,
        len(as_list(summary.get("tables"))),
        language,
    )
    return paths


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
