"""Check before a run that the PostgreSQL role may write what the load writes.

The load finds a missing privilege only when it writes, after the whole delivery has been
decrypted, read, validated and mapped. Asking PostgreSQL first (has_schema_privilege,
has_table_privilege, has_sequence_privilege, has_database_privilege) turns that into an error
in the first seconds.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from migration.target.engine import describe_url
from migration.target.errors import TargetError
from migration.target.model import TargetSchema
from migration.target.product_tables import PRODUCT_TABLES
from migration.target.versioning import (
    BASELINE_TABLES,
    VERSION_TABLE,
    alembic_config,
    current_revision,
    head_revision,
)

TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
"""Privileges the load uses on every target and product table: it compares, then writes."""

SEQUENCE_PRIVILEGES = ("USAGE", "UPDATE")
"""Privileges of which one lets a role call nextval() on a sequence.

An insert or COPY that leaves a serial or identity column to its default calls nextval() on
the column's sequence with the inserting role's privileges. PostgreSQL allows nextval() with
USAGE or UPDATE on the sequence. The load never calls setval(), so USAGE is what it asks for.
"""

# Sequences owned by a serial or identity column of the named tables, with whether the current
# role may call nextval() on each.
_OWNED_SEQUENCES = sa.text(
    """
    SELECT sequence.relname,
           has_sequence_privilege(sequence.oid, 'USAGE')
           OR has_sequence_privilege(sequence.oid, 'UPDATE')
    FROM pg_class AS sequence
    JOIN pg_depend AS dependency
      ON dependency.classid = 'pg_class'::regclass
     AND dependency.objid = sequence.oid
     AND dependency.refclassid = 'pg_class'::regclass
     AND dependency.deptype IN ('a', 'i')
    JOIN pg_class AS owner ON owner.oid = dependency.refobjid
    JOIN pg_namespace AS namespace ON namespace.oid = owner.relnamespace
    WHERE sequence.relkind = 'S'
      AND namespace.nspname = :namespace
      AND owner.relname = ANY(:tables)
    ORDER BY sequence.relname
    """
)

# Owner of each named table, with whether the current role has the owner's privileges: it is
# the owner, a member of the owning role that inherits its privileges, or a superuser.
_TABLE_OWNERS = sa.text(
    """
    SELECT relname, pg_get_userbyid(relowner), pg_has_role(relowner, 'USAGE')
    FROM pg_class
    WHERE oid = ANY(CAST(:tables AS regclass[]))
    ORDER BY relname
    """
)


def check_write_privileges(engine: sa.Engine, schema: TargetSchema) -> None:
    """Raise when the role of `engine` lacks a privilege the load needs; PostgreSQL only.

    The load creates the missing target and product tables in the first schema of the search
    path, so CREATE on that schema is needed when a table is missing. It reads and writes every
    existing table and reads the version table. Inserting into a table with a serial or identity
    column takes the next value of its sequence, so USAGE on each sequence owned by an existing
    table is needed. It stages changed rows in temporary tables, so
    TEMPORARY on the database is needed once target tables exist.

    Ownership is needed only when the product tables are at a revision below the head, because
    the upgrade alters them (see `_upgrade_problem`). Otherwise a large load into a table the
    role does not own copies the rows with the table's keys in place instead of rebuilding them
    afterwards, which is slower.

    Raises:
        TargetError: one line naming the role, each missing privilege and the GRANT to run,
            and the owner of product tables that the role would have to upgrade.
    """
    if engine.dialect.name != "postgresql":
        return
    needed = {name: TABLE_PRIVILEGES for name in [*schema.tables, *PRODUCT_TABLES]}
    needed[VERSION_TABLE] = ("SELECT",)
    quote = engine.dialect.identifier_preparer.quote
    display_url = describe_url(engine.url)
    with engine.connect() as connection:
        role, namespace, database = connection.execute(
            sa.text("SELECT current_user, current_schema(), current_database()")
        ).one()
        if namespace is None:
            # current_schema() skips the schemas that do not exist or lack USAGE for the role.
            raise TargetError(
                f"the role {role} has no schema for the tables on the target database "
                f"{display_url}: no schema of its search_path exists with USAGE granted to it; "
                f"run GRANT USAGE ON SCHEMA public TO {quote(role)} as the owner of the schema, "
                "or set the role's search_path; nothing was decrypted"
            )
        existing = set(sa.inspect(connection).get_table_names())
        problems, grants, remedies = [], [], []
        pending = _pending_upgrade(
            connection, existing, f"{quote(namespace)}.{quote(VERSION_TABLE)}"
        )
        if pending is not None:
            # The upgrade writes the new revision into the version table.
            needed[VERSION_TABLE] = ("SELECT", "UPDATE")

        missing = [name for name in needed if name not in existing]
        if missing and not _has_privilege(connection, "schema", namespace, "CREATE"):
            problems.append(
                f"no CREATE on schema {namespace}, needed to create the missing tables "
                f"{_listed(missing)}"
            )
            grants.append(f"GRANT CREATE ON SCHEMA {quote(namespace)} TO {quote(role)}")

        # Tables that lack the same privileges are named together.
        lacking: dict[tuple[str, ...], list[str]] = {}
        for name, privileges in needed.items():
            if name not in existing:
                continue
            qualified = f"{quote(namespace)}.{quote(name)}"
            absent = tuple(
                privilege
                for privilege in privileges
                if not _has_privilege(connection, "table", qualified, privilege)
            )
            if absent:
                lacking.setdefault(absent, []).append(name)
        for absent, names in lacking.items():
            problems.append(f"no {', '.join(absent)} on tables {_listed(names)}")
        if lacking:
            granted = [
                privilege
                for privilege in TABLE_PRIVILEGES
                if any(privilege in absent for absent in lacking)
            ]
            grants.append(
                f"GRANT {', '.join(granted)} ON ALL TABLES IN SCHEMA {quote(namespace)} "
                f"TO {quote(role)}"
            )

        # A table the load creates is owned by the role, and so is its sequence.
        tables = [name for name in needed if name in existing]
        rows = connection.execute(_OWNED_SEQUENCES, {"namespace": namespace, "tables": tables})
        sequences = [sequence for sequence, allowed in rows if not allowed]
        if sequences:
            problems.append(
                f"no USAGE on sequences {_listed(sequences)}, needed to number inserted rows"
            )
            grants.append(
                f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {quote(namespace)} TO {quote(role)}"
            )

        present = [name for name in schema.tables if name in existing]
        if present and not _has_privilege(connection, "database", database, "TEMPORARY"):
            problems.append(f"no TEMPORARY on database {database}, needed to stage changed rows")
            grants.append(f"GRANT TEMPORARY ON DATABASE {quote(database)} TO {quote(role)}")

        if pending is not None:
            tables = [
                f"{quote(namespace)}.{quote(name)}" for name in PRODUCT_TABLES if name in existing
            ]
            upgrade = _upgrade_problem(connection, pending, tables, role, quote)
            if upgrade is not None:
                problems.append(upgrade[0])
                remedies.append(upgrade[1])
    if problems:
        if grants:
            remedies.insert(0, f"run {'; '.join(grants)} as the owner")
        raise TargetError(
            f"the role {role} cannot load into the target database {display_url}: "
            f"{'; '.join(problems)}; {'; '.join(remedies)}, or connect as a role that has "
            "these privileges (check --target or MDPH_TARGET_URL); nothing was decrypted"
        )


def _pending_upgrade(connection: sa.Connection, existing: set[str], version: str) -> str | None:
    """Describe the state of product tables that the load would upgrade, or return None.

    Returns None for a database without product tables, at the head revision, at a revision
    this release does not know, or with product tables beyond those of mdph-reprise 0.1.0 but
    no version table. The load raises its own error on the last two. It returns None as well
    when the role may not read the version table, which the privilege check reports.
    """
    present = (existing & set(PRODUCT_TABLES)) - {VERSION_TABLE}
    if VERSION_TABLE not in existing:
        if present and present <= BASELINE_TABLES:
            return "have no version (as mdph-reprise 0.1.0 wrote them)"
        return None
    if not _has_privilege(connection, "table", version, "SELECT"):
        return None
    before = current_revision(connection)
    if before is None or before == head_revision():
        return None
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(before)
    except CommandError:
        return None
    return f"are at revision {before}"


def _upgrade_problem(
    connection: sa.Connection,
    state: str,
    tables: list[str],
    role: str,
    quote: Callable[[str], str],
) -> tuple[str, str] | None:
    """Return the problem and its remedy when the role lacks the owner's privileges on
    product tables that the upgrade changes, else None.

    PostgreSQL lets only the owner of a table, a member of the owning role or a superuser run
    ALTER TABLE or COMMENT ON on it, and adding a foreign key to a table needs REFERENCES on
    it. Every revision after the baseline alters an existing product table or adds a foreign
    key to reprise_run, so any upgrade needs the owner's privileges.
    """
    # NOTE: a future revision that only creates tables, with no foreign key to an existing
    # one, would need CREATE on the schema alone; this check would still ask for ownership.
    owners: dict[str, list[str]] = {}
    for name, owner, allowed in connection.execute(_TABLE_OWNERS, {"tables": tables}):
        if not allowed:
            owners.setdefault(owner, []).append(name)
    if not owners:
        return None
    owned = "; ".join(
        f"{_listed(names)} are owned by the role {owner}" for owner, names in owners.items()
    )
    problem = (
        f"the product tables {state} and must be upgraded to revision {head_revision()}, "
        f"which needs the privileges of their owner: {owned}"
    )
    if len(owners) == 1:
        upgrader = f"the role {next(iter(owners))}"
    else:
        upgrader = f"a role that is a member of {', '.join(owners)}"
    remedy = (
        f"run the load once as {upgrader} to upgrade them, or have a DBA run "
        f"ALTER TABLE name OWNER TO {quote(role)} for each of these tables or "
        f"GRANT {', '.join(quote(owner) for owner in owners)} TO {quote(role)}"
    )
    return problem, remedy


def _has_privilege(connection: sa.Connection, kind: str, name: str, privilege: str) -> bool:
    # kind is one of three fixed words; name and privilege go in as parameters.
    function = {
        "schema": "has_schema_privilege",
        "table": "has_table_privilege",
        "database": "has_database_privilege",
    }[kind]
    statement = sa.text(f"SELECT {function}(:name, :privilege)")
    return bool(connection.execute(statement, {"name": name, "privilege": privilege}).scalar())


def _listed(names: list[str], shown: int = 5) -> str:
    """Return up to `shown` names, then how many more there are."""
    text = ", ".join(names[:shown])
    if len(names) > shown:
        text += f" and {len(names) - shown} more"
    return text
