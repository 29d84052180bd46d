"""A PostgreSQL login role for the privilege tests, created and dropped around one test."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import sqlalchemy as sa


@contextlib.contextmanager
def temporary_role(engine: sa.Engine) -> Iterator[str]:
    """Create a login role with no privilege on the engine's database and yield its name.

    TEMPORARY is revoked from PUBLIC for the test, so the role lacks it until granted. The
    role, what it owns and the revocation are undone at the end.
    """
    name = f"mdph_reprise_role_{uuid.uuid4().hex[:8]}"
    database = engine.url.database
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {name} LOGIN")
        connection.exec_driver_sql(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC')
    try:
        yield name
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f'GRANT TEMPORARY ON DATABASE "{database}" TO PUBLIC')
            connection.exec_driver_sql(f"DROP OWNED BY {name}")
            connection.exec_driver_sql(f"DROP ROLE {name}")
