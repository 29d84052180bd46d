"""Create and upgrade the product tables with the Alembic revisions shipped in the package.

Only the product tables (runs, rejects, filtered rows, lineage, load counts, identity
decisions) are versioned. Target tables come from the target schema YAML and are compared
with it instead (`migration.target.compare`). The revisions live in
`migration/target/migrations/versions` and run on the caller's connection, inside its
transaction, so a load that fails also undoes the upgrade. The version is kept in the table
`reprise_alembic_version`, so an MDPH database that has its own Alembic history keeps it.

To write a new revision, change `product_tables.py`, then from the repository root::

    .venv/bin/python -c "from alembic import command; from migration.target.versioning \\
    import alembic_config; command.revision(alembic_config(), 'what changes', rev_id='0005')"

and write its upgrade() and downgrade() by hand. `tests/target/test_versioning.py` checks
that the revisions produce exactly the tables of `product_tables.py`.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from migration.target.engine import describe_url
from migration.target.errors import TargetError
from migration.target.product_tables import (
    LINEAGE_TABLE,
    PRODUCT_TABLES,
    REJECT_TABLE,
    RUN_TABLE,
)
from migration.target.schema import build_product_metadata

logger = logging.getLogger(__name__)

VERSION_TABLE = "reprise_alembic_version"
SCRIPT_LOCATION = "migration.target:migrations"
BASELINE_REVISION = "0001"
BASELINE_TABLES = frozenset({RUN_TABLE, REJECT_TABLE, LINEAGE_TABLE})
"""The product tables of mdph-reprise 0.1.0, which wrote them without a version table."""


def product_metadata() -> sa.MetaData:
    """Return the SQLAlchemy tables that the head revision creates."""
    return build_product_metadata()


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Build the Alembic configuration of the product tables, without an alembic.ini file."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """Return the revision that this release of mdph-reprise writes."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # the package was installed without its migrations
        raise TargetError(
            "no Alembic revision found in migration/target/migrations; reinstall mdph-reprise"
        )
    return head


def current_revision(connection: sa.Connection) -> str | None:
    """Return the revision of the product tables, or None when the database has no version."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade_product_tables(connection: sa.Connection) -> tuple[str | None, str]:
    """Create the product tables, or upgrade them to the head revision.

    A database written by mdph-reprise 0.1.0 has the run, reject and lineage tables but no
    version; it is stamped with the baseline revision, then upgraded. The caller's comparison
    with the product tables catches a baseline that differs from what 0.1.0 wrote.

    Args:
        connection: a connection inside the load transaction; nothing is committed here.

    Returns:
        The revision before (None for a database without product tables or without a version)
        and after the upgrade.

    Raises:
        TargetError: the version names a revision this release does not know (a newer release
            wrote the database), or product tables exist without their version.
    """
    config = alembic_config(connection)
    script = ScriptDirectory.from_config(config)
    head = head_revision()
    before = current_revision(connection)
    display_url = describe_url(connection.engine.url)

    if before is None:
        present = set(sa.inspect(connection).get_table_names()) & set(PRODUCT_TABLES)
        if present - BASELINE_TABLES:
            raise TargetError(
                f"the target database {display_url} has the product tables "
                f"{', '.join(sorted(present))} but no {VERSION_TABLE} table, so their revision "
                "is unknown; restore the version table from a backup, or load into a new "
                "database"
            )
        if present:
            logger.info(
                "the product tables of %s have no version: stamping revision %s, as written "
                "by mdph-reprise 0.1.0",
                display_url,
                BASELINE_REVISION,
            )
            command.stamp(config, BASELINE_REVISION)
            before = None
    else:
        try:
            script.get_revision(before)
        except CommandError:
            raise TargetError(
                f"the product tables of the target database {display_url} are at revision "
                f"{before}, which this release of mdph-reprise does not know (it knows up to "
                f"{head}); a newer release wrote them, so load with that release or newer"
            ) from None

    if before != head:
        command.upgrade(config, "head")
        logger.info(
            "upgraded the product tables of %s from revision %s to %s",
            display_url,
            before or "(none)",
            head,
        )
    return before, head
