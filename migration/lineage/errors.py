"""Errors raised while tracing lineage or emitting OpenLineage events."""

from migration.errors import MdphRepriseError


class LineageError(MdphRepriseError):
    """A lineage query or an OpenLineage event could not be made."""


class NotTracedError(LineageError):
    """The key or line asked for has no lineage, reject or filter record in the target database."""

    exit_code = 1
