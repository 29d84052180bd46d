"""Errors raised while writing the run quality report."""

from migration.errors import MdphRepriseError


class ReportError(MdphRepriseError):
    """The quality report could not be rendered or written."""
