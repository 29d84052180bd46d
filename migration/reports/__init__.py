"""Run quality report: a static HTML site, the JSON summary and an XLSX workbook.

The summary comes from the pipeline with personal values already masked, and the report masks
them again. The pages are written for an analyst or a director: verdict, counts per table and
what needs a decision first, then one page per table, mapping coverage, person matching,
changes since the previous delivery, a lineage look-up and the run record.
"""

from migration.reports.errors import ReportError
from migration.reports.markdown import summary_markdown
from migration.reports.report import SUPPORTED_LANGUAGES, render_html, render_site, write_reports

__all__ = [
    "SUPPORTED_LANGUAGES",
    "ReportError",
    "render_html",
    "render_site",
    "summary_markdown",
    "write_reports",
]
