"""Check before a run that the PostgreSQL role may write what the load writes.

The load finds a missing privilege only when it writes, after the whole delivery has been
decrypted, read, validated and mapped. Asking PostgreSQL first (has_schema_privilege,
has_table_privilege, has_sequence_privilege, has_database_privilege) turns that into an error
in the first seconds.
"""

from __future__ import annotations

import sqlalchemy as sa

from migration.target.engine import describe_url
from migration.target.errors import TargetError
from migration.target.model import TargetSchema
from migration.target.product_tables import PRODUCT_TABLES
from migration.target.versioning import VERSION_TABLE

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


def check_write_privileges(engine: sa.Engine, schema: TargetSchema) -> None:
    """Raise when the role of `engine` lacks a privilege the load needs; PostgreSQL only.

    The load creates the missing target and product tables in the first schema of the search
    path, so CREATE on that schema is needed when a table is missing. It reads and writes every
    existing table and reads the version table. Inserting into a table with a serial or identity
    column takes the next value of its sequence, so USAGE on each sequence owned by an existing
    table is needed. It stages changed rows in temporary tables, so
    TEMPORARY on the database is needed once target tables exist.

    Ownership is not needed: a large load into a table the role does not own copies the rows
    with the table's keys in place instead of rebuilding them afterwards.

    Raises:
        TargetError: one line naming the role, each missing privilege and the GRANT to run.
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
        problems, grants = [], []

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
    if problems:
        raise TargetError(
            f"the role {role} cannot load into the target database {display_url}: "
            f"{'; '.join(problems)}; run {'; '.join(grants)} as the owner, or connect as a "
            "role that has these privileges (check --target or MDPH_TARGET_URL); nothing was "
            "decrypted"
        )


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
