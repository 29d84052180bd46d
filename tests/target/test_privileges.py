"""Privilege checks of a PostgreSQL target, with a real role that lacks the rights."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from migration.target.engine import create_target_engine
from migration.target.errors import TargetError
from migration.target.privileges import check_write_privileges
from migration.target.schema import build_metadata, load_target_schema
from migration.target.versioning import alembic_config, head_revision, upgrade_product_tables
from tests.pg_roles import temporary_role

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def role(postgres_engine):
    """A login role with no privilege on the emptied test database, dropped after the test."""
    with temporary_role(postgres_engine) as name:
        yield name


@pytest.fixture
def owner(postgres_engine):
    """A role without login to own the tables, dropped with them after the test."""
    name = f"mdph_reprise_owner_{uuid.uuid4().hex[:8]}"
    with postgres_engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {name}")
    yield name
    with postgres_engine.begin() as connection:
        # Tables that another role created during the test may reference the owner's tables.
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
        connection.exec_driver_sql(f"DROP OWNED BY {name}")
        connection.exec_driver_sql(f"DROP ROLE {name}")


def _role_url(postgres_engine, role: str) -> str:
    return postgres_engine.url.set(username=role).render_as_string(hide_password=False)


def _run_sample_as(postgres_engine, role: str, output: Path) -> subprocess.CompletedProcess:
    """Run the CLI on the sample delivery as `role`, with the reports in `output`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MDPH_")}
    env["MDPH_DELIVERY_PASSWORD"] = "reprise-57-demo"
    command = [sys.executable, "-m", "migration.cli", "run", str(ROOT / "sample_data" / "delivery")]
    command += ["--target", _role_url(postgres_engine, role), "--output", str(output)]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=300
    )


def _check_as(postgres_engine, role: str) -> None:
    engine = create_target_engine(_role_url(postgres_engine, role))
    try:
        check_write_privileges(engine, load_target_schema())
    finally:
        engine.dispose()


def _create_tables(postgres_engine) -> None:
    with postgres_engine.begin() as connection:
        upgrade_product_tables(connection)
        build_metadata(load_target_schema()).create_all(connection)


def test_no_usage_on_schema_raises(postgres_engine, role):
    with pytest.raises(TargetError) as error:
        _check_as(postgres_engine, role)

    message = str(error.value)
    assert "\n" not in message
    assert f"GRANT USAGE ON SCHEMA public TO {role}" in message


def test_no_create_on_schema_raises(postgres_engine, role):
    with postgres_engine.begin() as connection:
        connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")

    with pytest.raises(TargetError) as error:
        _check_as(postgres_engine, role)

    message = str(error.value)
    assert "\n" not in message
    assert f"the role {role} cannot load into the target database" in message
    assert "no CREATE on schema public, needed to create the missing tables" in message
    assert f"GRANT CREATE ON SCHEMA public TO {role}" in message


def test_read_only_tables_raise(postgres_engine, role):
    _create_tables(postgres_engine)
    with postgres_engine.begin() as connection:
        connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        connection.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")

    with pytest.raises(TargetError) as error:
        _check_as(postgres_engine, role)

    message = str(error.value)
    assert "\n" not in message
    assert "no CREATE" not in message
    assert "no INSERT, UPDATE, DELETE on tables individu, " in message
    assert "and 13 more" in message
    assert f"GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}" in message
    assert "no TEMPORARY on database" in message


def test_missing_target_tables_without_create_raise(postgres_engine, role):
    with postgres_engine.begin() as connection:
        upgrade_product_tables(connection)
    _grant_tables_and_temporary(postgres_engine, role)
    with postgres_engine.begin() as connection:
        connection.exec_driver_sql(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")

    with pytest.raises(TargetError) as error:
        _check_as(postgres_engine, role)

    message = str(error.value)
    assert "\n" not in message
    assert "no CREATE on schema public, needed to create the missing tables individu, " in message
    assert "reprise_" not in message.split("missing tables")[1].split(";")[0]
    assert f"GRANT CREATE ON SCHEMA public TO {role}" in message


def _grant_tables_and_temporary(postgres_engine, role: str) -> None:
    database = postgres_engine.url.database
    with postgres_engine.begin() as connection:
        connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        connection.exec_driver_sql(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
        )
        connection.exec_driver_sql(f'GRANT TEMPORARY ON DATABASE "{database}" TO {role}')


def test_granted_privileges_pass(postgres_engine, role):
    _create_tables(postgres_engine)
    _grant_tables_and_temporary(postgres_engine, role)
    with postgres_engine.begin() as connection:
        connection.exec_driver_sql(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")

    _check_as(postgres_engine, role)


def test_no_usage_on_sequence_raises(postgres_engine, role):
    _create_tables(postgres_engine)
    _grant_tables_and_temporary(postgres_engine, role)

    with pytest.raises(TargetError) as error:
        _check_as(postgres_engine, role)

    message = str(error.value)
    assert "\n" not in message
    assert "no USAGE on sequences reprise_filtre_id_seq, reprise_rejet_id_seq, needed to" in message
    assert f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}" in message
    assert "ON ALL TABLES" not in message
    assert "no TEMPORARY" not in message


def test_sequence_usage_lets_copy_number_rejects(postgres_engine, role):
    """USAGE alone, as the error message grants it, is enough for COPY to fill the serial id."""
    _create_tables(postgres_engine)
    _grant_tables_and_temporary(postgres_engine, role)
    with postgres_engine.begin() as connection:
        connection.exec_driver_sql(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
        connection.exec_driver_sql(
            "INSERT INTO reprise_run (run_id, started_at, status) "
            "VALUES ('run-1', now(), 'running')"
        )
    _check_as(postgres_engine, role)

    engine = create_target_engine(_role_url(postgres_engine, role))
    try:
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                cursor.copy_expert(
                    "COPY reprise_rejet (run_id, application, source_table, rule_id, severity, "
                    "reason) FROM STDIN WITH (FORMAT csv)",
                    io.StringIO("run-1,ITAC,individu,R1,error,missing name\n"),
                )
            raw.commit()
        finally:
            raw.close()
    finally:
        engine.dispose()
    with postgres_engine.connect() as connection:
        ids = connection.execute(sa.text("SELECT id FROM reprise_rejet")).scalars().all()
    assert ids == [1]


def test_run_without_privileges_stops_before_decryption(postgres_engine, role, tmp_path):
    _create_tables(postgres_engine)
    with postgres_engine.begin() as connection:
        connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        connection.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")

    result = _run_sample_as(postgres_engine, role, tmp_path)

    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: the role {role} cannot load into the target database")
    assert "no INSERT, UPDATE, DELETE on tables" in lines[0]
    with postgres_engine.connect() as connection:
        runs = connection.execute(sa.text("SELECT count(*) FROM reprise_run")).scalar()
    assert runs == 0


def test_role_not_owner_loads_with_keys_in_place(postgres_engine, role, monkeypatch, caplog):
    """A granted role that does not own the tables cannot rebuild their keys, so it copies the
    rows with the keys in place, and the load gives the same content as the owner's."""
    import migration.target.load as load_module
    from migration.target.load import load_run
    from tests.target.sample_rows import (
        lineage_frame,
        read_tables,
        rejects_frame,
        run_record,
        target_frames,
    )

    monkeypatch.setattr(load_module, "BULK_ROWS", 1)
    schema = load_target_schema()
    _create_tables(postgres_engine)
    _grant_tables_and_temporary(postgres_engine, role)
    with postgres_engine.begin() as connection:
        connection.exec_driver_sql(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
    engine = create_target_engine(_role_url(postgres_engine, role))
    statements = []
    sa.event.listen(
        engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *args: statements.append(statement),
    )
    try:
        with caplog.at_level("INFO", logger="migration.target.load"):
            result = load_run(
                engine,
                schema,
                target_frames(),
                rejects_frame("run-1"),
                lineage_frame("run-1"),
                run_record("run-1"),
            )
    finally:
        engine.dispose()

    assert result.lineage == len(lineage_frame("run-1"))
    assert not [statement for statement in statements if "DROP CONSTRAINT" in statement]
    assert f"the role {role} does not own it" in caplog.text
    warnings = [record for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == 1
    assert warnings[0].name == "migration.target.load"
    warning = warnings[0].getMessage()
    assert "copied the rows of individu, " in warning
    assert "orientation, reprise_lignage with their keys and indexes in place" in warning
    assert f"because the role {role} does not own these tables" in warning
    assert "A load as their owner is faster" in warning
    content = read_tables(postgres_engine, schema)
    assert len(content["reprise_lignage"]) == result.lineage
    for name, rows in result.rows.items():
        assert len(content[name]) == rows, name


def _create_tables_owned_by(postgres_engine, owner: str, revision: str) -> None:
    """Create the target tables and the product tables at `revision`, then give them to `owner`."""
    with postgres_engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
        schema = load_target_schema()
        metadata = build_metadata(schema)
        metadata.create_all(connection, tables=[metadata.tables[name] for name in schema.tables])
        names = connection.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        for name in names:
            connection.exec_driver_sql(f"ALTER TABLE {name} OWNER TO {owner}")


def _grant_everything_checked(postgres_engine, role: str) -> None:
    """Grant every privilege the check asks for, CREATE on the schema included."""
    _grant_tables_and_temporary(postgres_engine, role)
    with postgres_engine.begin() as connection:
        connection.exec_driver_sql(f"GRANT CREATE ON SCHEMA public TO {role}")
        connection.exec_driver_sql(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")


def test_upgrade_of_tables_owned_by_another_role_raises(postgres_engine, role, owner):
    _create_tables_owned_by(postgres_engine, owner, "0004")
    _grant_everything_checked(postgres_engine, role)

    with pytest.raises(TargetError) as error:
        _check_as(postgres_engine, role)

    message = str(error.value)
    assert "\n" not in message
    assert f"the role {role} cannot load into the target database" in message
    head = head_revision()
    assert f"the product tables are at revision 0004 and must be upgraded to revision {head}" in (
        message
    )
    assert "reprise_chargement, reprise_decision_identite, reprise_lignage, reprise_rejet, " in (
        message
    )
    assert f"are owned by the role {owner}" in message
    assert f"run the load once as the role {owner}" in message
    assert f"ALTER TABLE name OWNER TO {role}" in message
    assert f"GRANT {owner} TO {role}" in message
    assert "no INSERT" not in message
    assert "no CREATE" not in message


def test_upgrade_of_unversioned_tables_of_another_role_raises(postgres_engine, role, owner):
    from tests.target.test_versioning import restore_release_0_1_0

    restore_release_0_1_0(postgres_engine)
    with postgres_engine.begin() as connection:
        names = connection.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        for name in names:
            connection.exec_driver_sql(f"ALTER TABLE {name} OWNER TO {owner}")
    _grant_everything_checked(postgres_engine, role)

    with pytest.raises(TargetError) as error:
        _check_as(postgres_engine, role)

    message = str(error.value)
    assert "\n" not in message
    assert "the product tables have no version (as mdph-reprise 0.1.0 wrote them) and must be " in (
        message
    )
    assert "reprise_lignage, reprise_rejet, reprise_run are owned by the role " in message
    assert f"GRANT {owner} TO {role}" in message


def test_member_of_owner_role_passes_and_upgrades(postgres_engine, role, owner):
    _create_tables_owned_by(postgres_engine, owner, "0004")
    _grant_everything_checked(postgres_engine, role)
    with postgres_engine.begin() as connection:
        connection.exec_driver_sql(f"GRANT {owner} TO {role}")

    _check_as(postgres_engine, role)

    engine = create_target_engine(_role_url(postgres_engine, role))
    try:
        with engine.begin() as connection:
            assert upgrade_product_tables(connection) == ("0004", head_revision())
    finally:
        engine.dispose()


def test_tables_at_head_of_another_role_pass(postgres_engine, role, owner):
    """A role that does not own the tables loads without an upgrade, with keys in place."""
    _create_tables_owned_by(postgres_engine, owner, "head")
    _grant_everything_checked(postgres_engine, role)

    _check_as(postgres_engine, role)


def test_run_needing_upgrade_stops_before_decryption(postgres_engine, role, owner, tmp_path):
    _create_tables_owned_by(postgres_engine, owner, "0004")
    _grant_everything_checked(postgres_engine, role)

    result = _run_sample_as(postgres_engine, role, tmp_path)

    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: the role {role} cannot load into the target database")
    assert f"run the load once as the role {owner}" in lines[0]
    assert "nothing was decrypted" in lines[0]
    with postgres_engine.connect() as connection:
        runs = connection.execute(sa.text("SELECT count(*) FROM reprise_run")).scalar()
    assert runs == 0
