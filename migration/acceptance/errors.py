"""Errors raised while writing an acceptance report (rapport de recette)."""

from migration.errors import MdphRepriseError


class AcceptanceError(MdphRepriseError):
    """The acceptance report cannot be made: bad date, unknown département, unreadable history."""
