"""Run quality report: the run summary as JSON and as one self-contained HTML page.

The summary comes from the pipeline with personal values already masked. The HTML page is
written for an analyst: verdict, per-table counts, what needs a decision, findings by rule,
column profiles, target row counts, identity links, delivery checksums and run metadata.
"""

from migration.reports.errors import ReportError
from migration.reports.report import SUPPORTED_LANGUAGES, render_html, write_reports

__all__ = ["SUPPORTED_LANGUAGES", "ReportError", "render_html", "write_reports"]
