"""The production Dagster instance configuration, on a real PostgreSQL database."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from assets.definitions import all_assets
from tests.assets.test_definitions import _resources

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_runs_are_stored_in_postgresql(tmp_path, postgres_url, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir(mode=0o700)
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_URL", postgres_url)

    with dg.DagsterInstance.get() as instance:
        result = dg.materialize(
            all_assets(),
            resources=_resources(tmp_path, monkeypatch),
            partition_key="057",
            instance=instance,
        )
        assert result.success
        stored = instance.get_run_by_id(result.run_id)
        assert stored is not None
        assert stored.is_success

    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        runs = connection.execute(
            sa.text("SELECT count(*) FROM runs WHERE run_id = :id"), {"id": result.run_id}
        ).scalar_one()
        events = connection.execute(
            sa.text("SELECT count(*) FROM event_logs WHERE run_id = :id"), {"id": result.run_id}
        ).scalar_one()
    engine.dispose()
    assert runs == 1
    assert events > 50
