"""Checks that stop a Dagster run before it writes to the target: schema, privileges, removals.

Each test materialises the real assets into a real SQLite file or PostgreSQL database.
"""

import json
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from assets.application import build_application_job_assets
from assets.definitions import all_assets, bundled_dictionaries
from assets.departements import (
    APPLICATION_DIMENSION,
    DEPARTEMENT_DIMENSION,
    SAMPLE_DEPARTEMENT,
    DepartementConfig,
)
from assets.resources import DepartementsResource
from assets.shared import LoadConfig
from migration.target.engine import create_target_engine
from migration.target.schema import build_metadata, load_target_schema
from migration.target.versioning import upgrade_product_tables
from tests.assets.test_definitions import PASSWORD_VARIABLE, TARGET_VARIABLE, _resources
from tests.pg_roles import temporary_role
from tests.sample_delivery import generate_plaintext

SMALL = 60  # persons in a generated delivery, against the 650 of the sample delivery


def _failure_message(result) -> tuple[str, str]:
    """Return the step key and the error message of the run's only failed step."""
    [failure] = result.get_step_failure_events()
    error = failure.step_failure_data.error
    return failure.step_key, (error.cause or error).message


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_target_of_another_schema_stops_intake(tmp_path, monkeypatch):
    resources = _resources(tmp_path, monkeypatch)
    target = tmp_path / "mdph.sqlite3"
    engine = create_target_engine(f"sqlite:///{target}")
    with engine.begin() as connection:
        build_metadata(load_target_schema()).tables["individu"].create(connection)
    engine.dispose()
    before = target.read_bytes()

    result = dg.materialize(
        all_assets(), resources=resources, partition_key="057", raise_on_error=False
    )

    assert not result.success
    step, message = _failure_message(result)
    assert step == "delivery"
    assert "TargetError" in message
    assert "does not match target schema" in message
    assert "table dossier is missing" in message
    assert "nothing was read or loaded" in message
    assert _materialized(result) == set()
    assert target.read_bytes() == before


def test_target_check_leaves_no_empty_sqlite_file(tmp_path, monkeypatch):
    # A password that does not open the delivery stops the intake after the target check.
    resources = _resources(tmp_path, monkeypatch)
    monkeypatch.setenv(PASSWORD_VARIABLE, "not-the-password")

    result = dg.materialize(
        all_assets(),
        selection=["delivery"],
        resources=resources,
        partition_key="057",
        raise_on_error=False,
    )

    assert not result.success
    assert "wrong password" in _failure_message(result)[1]
    assert not (tmp_path / "mdph.sqlite3").exists()


@pytest.fixture
def empty_postgres(postgres_url):
    """Engine of the owner on the session's PostgreSQL database, with an empty public schema.

    Other tests of the session load into the same database, so its schema is emptied before
    and after the test. The new public schema grants nothing to other roles.
    """
    engine = create_target_engine(postgres_url)
    _empty(engine)
    yield engine
    _empty(engine)
    engine.dispose()


def _empty(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")


@pytest.fixture
def role(empty_postgres):
    """A login role with no privilege on the test database, dropped after the test."""
    with temporary_role(empty_postgres) as name:
        yield name


def _grant_read_only(engine: sa.Engine, role: str) -> None:
    """Create every table as the owner, then let `role` read them and nothing more."""
    with engine.begin() as connection:
        upgrade_product_tables(connection)
        build_metadata(load_target_schema()).create_all(connection)
        connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        connection.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")


def _table_rows(engine: sa.Engine) -> dict[str, int]:
    """Return the row count of every table in the database of `engine`."""
    with engine.connect() as connection:
        names = sa.inspect(connection).get_table_names()
        return {
            name: connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            for name in names
        }


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("setup", "grant"),
    [
        (None, "GRANT USAGE ON SCHEMA public TO {role}"),
        (_grant_read_only, "GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
    ],
    ids=["no-usage-on-schema", "read-only-tables"],
)
def test_role_without_privileges_stops_intake(
    tmp_path, monkeypatch, empty_postgres, role, setup, grant
):
    if setup is not None:
        setup(empty_postgres, role)
    before = _table_rows(empty_postgres)
    # The delivery folder does not exist, so an intake that read anything before checking the
    # target would fail on the folder, not on the privileges.
    resources = _resources(tmp_path, monkeypatch, tmp_path / "missing")
    role_url = empty_postgres.url.set(username=role).render_as_string(hide_password=False)
    monkeypatch.setenv(TARGET_VARIABLE, role_url)

    result = dg.materialize(
        all_assets(), resources=resources, partition_key="057", raise_on_error=False
    )

    assert not result.success
    step, message = _failure_message(result)
    assert step == "delivery"
    assert "TargetError" in message
    assert f"the role {role}" in message
    assert grant.format(role=role) in message
    assert "nothing was decrypted" in message
    assert _materialized(result) == set()
    assert result.get_asset_check_evaluations() == []
    assert _table_rows(empty_postgres) == before


def _with_delivery(resources: dict, delivery: Path) -> dict:
    """Return `resources` with another delivery, keeping the target, reports and asset storage."""
    settings = resources["departements"].departements[SAMPLE_DEPARTEMENT]
    changed = DepartementConfig(
        delivery=str(delivery),
        password_env=settings.password_env,
        target_url_env=settings.target_url_env,
        reports_dir=settings.reports_dir,
    )
    storage = resources["departements"].storage
    return {
        "departements": DepartementsResource(
            departements={SAMPLE_DEPARTEMENT: changed}, storage=storage
        ),
        "io_manager": resources["io_manager"],
    }


def test_mass_removal_needs_allow_removals(tmp_path, monkeypatch):
    full = _resources(tmp_path, monkeypatch)
    assert dg.materialize(all_assets(), resources=full, partition_key="057").success
    target = create_target_engine(f"sqlite:///{tmp_path / 'mdph.sqlite3'}")
    before = _table_rows(target)
    assert before["individu"] > 10 * SMALL
    small = _with_delivery(full, generate_plaintext(tmp_path / "small", SMALL))

    stopped = dg.materialize(
        all_assets(), resources=small, partition_key="057", raise_on_error=False
    )

    assert not stopped.success
    step, message = _failure_message(stopped)
    assert step == "loaded_tables"
    assert "TooManyRemovalsError: the load would remove" in message
    assert "nothing was loaded" in message
    assert "set allow_removals: true in the run configuration of loaded_tables" in message
    assert "--allow-removals" not in message
    assert "target_rows" in _materialized(stopped)
    assert "loaded_tables" not in _materialized(stopped)
    assert _table_rows(target) == before

    # The operator confirms: the load alone runs again on the rows the stopped run assembled.
    allowed = dg.materialize(
        all_assets(),
        selection=["loaded_tables", "quality_report"],
        resources=small,
        partition_key="057",
        run_config=dg.RunConfig(ops={"loaded_tables": LoadConfig(allow_removals=True)}),
    )

    assert allowed.success
    summary = allowed.output_for_node("loaded_tables")
    assert summary["allow_removals"] is True
    assert summary["changes"]["individu"]["removed"] > 0
    after = _table_rows(target)
    assert after["individu"] < SMALL + 10
    assert after["reprise_run"] == before["reprise_run"] + 1
    target.dispose()
    resume = json.loads((tmp_path / "rapports" / "resume.json").read_text(encoding="utf-8"))
    assert resume["allow_removals"] is True
    page = (tmp_path / "rapports" / "rapport_qualite.html").read_text(encoding="utf-8")
    assert 'id="allow-removals"' in page


def test_application_mass_removal_needs_allow_removals(tmp_path, monkeypatch):
    full = _resources(tmp_path, monkeypatch)
    departements = full["departements"].departements
    assets = build_application_job_assets(bundled_dictionaries(), departements)
    itac = dg.MultiPartitionKey({DEPARTEMENT_DIMENSION: "057", APPLICATION_DIMENSION: "ITAC"})
    assert dg.materialize(assets, resources=full, partition_key=itac).success
    target = create_target_engine(f"sqlite:///{tmp_path / 'mdph.sqlite3'}")
    before = _table_rows(target)
    small = _with_delivery(full, generate_plaintext(tmp_path / "small", SMALL))

    stopped = dg.materialize(assets, resources=small, partition_key=itac, raise_on_error=False)

    assert not stopped.success
    step, message = _failure_message(stopped)
    assert step == "application_loaded"
    assert "TooManyRemovalsError: the load would remove" in message
    assert "set allow_removals: true in the run configuration of application_loaded" in message
    assert _table_rows(target) == before

    allowed = dg.materialize(
        assets,
        selection=["application_loaded"],
        resources=small,
        partition_key=itac,
        run_config=dg.RunConfig(ops={"application_loaded": LoadConfig(allow_removals=True)}),
    )

    assert allowed.success
    summary = allowed.output_for_node("application_loaded")
    assert summary["allow_removals"] is True
    assert summary["changes"]["individu"]["removed"] > 0
    after = _table_rows(target)
    assert after["individu"] < before["individu"]
    assert after["reprise_run"] == before["reprise_run"] + 1
    target.dispose()
