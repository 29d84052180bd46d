"""Errors of the target step: schema files, database connections and loads."""

from __future__ import annotations

from migration.errors import MdphRepriseError


class TargetError(MdphRepriseError):
    """The target database is unreachable, its schema does not match, or a load failed.

    Attributes:
        table: the target table involved, when known.
        constraint: the database constraint that failed, when known.
        statement: the SQL statement that failed, without its parameters.
    """

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        constraint: str | None = None,
        statement: str | None = None,
    ) -> None:
        super().__init__(message)
        self.table = table
        self.constraint = constraint
        self.statement = statement


class TooManyRemovalsError(TargetError):
    """The load would remove more than the allowed share of the target's rows, so it stopped.

    The check runs once every table is compared, before any row is deleted, and the
    transaction is rolled back, so the target is left as it was.
    """
