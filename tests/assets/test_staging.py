"""The Dagster steps keep rows in the run's stage folder, as `mdph-reprise run` does.

The tests materialise the real assets into SQLite files, most on the encrypted sample delivery.
For the first three, the ITAC mapping writes street numbers that the target refuses, so the
rejects come from validation and from mapping, whose raw values the load reads again from the
decrypted files.
"""

import contextlib
import csv
import os
import pickle
import stat
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from assets import shared
from assets.definitions import all_assets
from assets.shared import LoadConfig
from assets.staging import STAGE_FOLDER, SourceTableValue
from migration.mapping.staging import StagedFrame
from migration.run import RunOptions, run_migration
from migration.steps import DEFAULT_MAPPINGS, StagedTable
from migration.target.errors import TargetError
from migration.target.schema import load_target_schema
from tests.assets.test_definitions import DELIVERY, PASSWORD, _resources, folder_resources
from tests.assets.test_load_checks import SMALL, _with_delivery
from tests.sample_delivery import generate_plaintext

# Columns whose values differ from one run to the next.
RUN_COLUMNS = {"id", "run_id"}
# The folder of the run that `in_process_migration` builds its resources on.
RUN_FOLDER_VARIABLE = "MDPH_TEST_RUN_FOLDER"
NUMERO = "      numero: ADR_NUMERO\n"
LONG_NUMERO = "      numero: {concat: [ADR_NUMERO, ADR_VOIE]}\n"  # longer than numero allows


@pytest.fixture(scope="module")
def mapping(tmp_path_factory) -> Path:
    """Return an ITAC mapping whose street numbers are too long for the target."""
    text = DEFAULT_MAPPINGS["ITAC"].read_text(encoding="utf-8")
    assert text.count(NUMERO) == 1
    path = tmp_path_factory.mktemp("mapping") / "itac.yaml"
    path.write_text(text.replace(NUMERO, LONG_NUMERO), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def dagster_run(mapping, tmp_path_factory):
    """Materialise every asset once, and return the run's folder and its result."""
    folder = tmp_path_factory.mktemp("dagster")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setitem(DEFAULT_MAPPINGS, "ITAC", mapping)
        resources = _resources(folder, monkeypatch, DELIVERY)
        result = dg.materialize(all_assets(), resources=resources, partition_key="057")
    return folder, result


def _unflagged_nirs(plaintext: Path, result) -> set[str]:
    """Return the NIRs of the ITAC DOSSIER rows without any finding."""
    value = result.output_for_node("itac_tables", "itac_dossier")
    flagged = set(value.table.findings["line"])
    nirs = set()
    with (plaintext / "ITAC" / "DOSSIER.csv").open(encoding="latin-1", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        start = 2  # a record may span several lines, and findings give its first line
        for row in reader:
            if start not in flagged and row["NIR"]:
                nirs.add(row["NIR"])
            start = reader.line_num + 1
    return nirs


def test_table_value_contains_no_rows(dagster_run, tmp_path):
    folder, result = dagster_run
    assert result.success
    stored = folder / "storage" / "itac_dossier" / "057"
    content = stored.read_bytes()
    value = pickle.loads(content)

    assert isinstance(value, SourceTableValue)
    assert isinstance(value.table, StagedTable)
    assert value.table.read.rows.empty
    assert value.table.read.read > 300
    parts = value.table.source.staged.parts
    assert parts
    assert all(isinstance(part, StagedFrame) for part in parts)
    assert value.table.source.rows.empty
    # A finding keeps the value it is about, so only rows without findings are looked for.
    # The generator writes the sample's content again in plaintext.
    nirs = _unflagged_nirs(generate_plaintext(tmp_path / "plaintext"), result)
    assert len(nirs) > 300
    assert [nir for nir in nirs if nir.encode() in content] == []


def test_stage_folder_removed_after_load(dagster_run):
    folder, result = dagster_run
    assert result.success
    stage = folder / "storage" / STAGE_FOLDER
    assert stage.is_dir()
    assert list(stage.iterdir()) == []
    assert list((folder / "storage").rglob("*.csv")) == []


def _rows(url: str, table: str, order: str | None = None) -> list[tuple]:
    """Return the rows of `table` without the columns that change with each run."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        columns = [
            column["name"]
            for column in sa.inspect(connection).get_columns(table)
            if column["name"] not in RUN_COLUMNS
        ]
        listed = ", ".join(f'"{name}"' for name in columns)
        query = f'SELECT {listed} FROM "{table}"' + (f" ORDER BY {order}" if order else "")
        rows = [tuple(row) for row in connection.execute(sa.text(query))]
    engine.dispose()
    return rows if order else sorted(rows, key=repr)


def test_dagster_and_cli_load_the_same_rows(mapping, dagster_run, tmp_path):
    folder, result = dagster_run
    assert result.success
    cli_url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    options = RunOptions(DELIVERY, cli_url, tmp_path / "rapports", mappings={"ITAC": mapping})
    assert run_migration(options, PASSWORD).succeeded
    dagster_url = f"sqlite:///{folder / 'mdph.sqlite3'}"

    for table in load_target_schema().tables:
        assert _rows(dagster_url, table) == _rows(cli_url, table), table
    rejects = _rows(dagster_url, "reprise_rejet", order="id")
    assert rejects == _rows(cli_url, "reprise_rejet", order="id")
    # The rejects of validation and mapping carry their raw values.
    engine = sa.create_engine(dagster_url)
    with engine.connect() as connection:
        rules = dict(
            connection.execute(
                sa.text(
                    "SELECT rule_id, count(*) FROM reprise_rejet WHERE raw_values IS NOT NULL "
                    "GROUP BY rule_id"
                )
            ).all()
        )
        without_raw = connection.execute(
            sa.text("SELECT count(*) FROM reprise_rejet WHERE raw_values IS NULL")
        ).scalar_one()
    engine.dispose()
    assert rules["mapping.target_value"] > 0
    assert rules["key.duplicate"] > 0
    assert without_raw == 0


def _stage_folders(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "storage" / STAGE_FOLDER).iterdir())


def test_refused_load_keeps_stage_folder(tmp_path, monkeypatch):
    full = _resources(tmp_path, monkeypatch)
    assert dg.materialize(all_assets(), resources=full, partition_key="057").success
    small = _with_delivery(full, generate_plaintext(tmp_path / "small", SMALL))

    stopped = dg.materialize(
        all_assets(), resources=small, partition_key="057", raise_on_error=False
    )

    assert not stopped.success
    [kept] = _stage_folders(tmp_path)
    assert kept.name == f"{stopped.run_id}-057"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o700
    assert list(kept.rglob("assembled-*.pickle"))
    allowed = dg.materialize(
        all_assets(),
        selection=["loaded_tables"],
        resources=small,
        partition_key="057",
        run_config=dg.RunConfig(ops={"loaded_tables": LoadConfig(allow_removals=True)}),
    )
    assert allowed.success
    assert _stage_folders(tmp_path) == []


def test_failed_load_removes_stage_folder(tmp_path, monkeypatch):
    def failing_load(*args, **kwargs):
        raise TargetError("the database rejected the load")

    monkeypatch.setattr(shared, "load_run", failing_load)

    result = dg.materialize(
        all_assets(),
        resources=_resources(tmp_path, monkeypatch),
        partition_key="057",
        raise_on_error=False,
    )

    assert not result.success
    [failure] = result.get_step_failure_events()
    assert failure.step_key == "loaded_tables"
    assert _stage_folders(tmp_path) == []


def test_next_intake_removes_ended_run_folder(tmp_path, monkeypatch):
    from assets import definitions

    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(tmp_path, monkeypatch)
    unknown = tmp_path / "storage" / STAGE_FOLDER / "0123456789abcdef0123456789abcdef0123-057"
    with monkeypatch.context() as failing:

        def failing_mapping(*args, **kwargs):
            raise RuntimeError("mapping stopped")

        failing.setattr(definitions, "map_application", failing_mapping)
        failed = dg.materialize(
            all_assets(),
            resources=resources,
            partition_key="057",
            instance=instance,
            raise_on_error=False,
        )
    [left] = _stage_folders(tmp_path)
    decrypted = list(left.rglob("*.csv"))
    unknown.mkdir(mode=0o700)
    # A run killed by SIGKILL stays listed as started.
    killed = instance.add_run(
        dg.DagsterRun(job_name="__ASSET_JOB", status=dg.DagsterRunStatus.STARTED)
    )
    killed_folder = tmp_path / "storage" / STAGE_FOLDER / f"{killed.run_id}-057"
    killed_folder.mkdir(mode=0o700)

    retried = dg.materialize(
        all_assets(), resources=resources, partition_key="057", instance=instance
    )

    assert not failed.success
    assert left.name == f"{failed.run_id}-057"
    assert decrypted, "the failed run left no decrypted file to remove"
    assert retried.success
    assert _stage_folders(tmp_path) == sorted([unknown, killed_folder])
    messages = [entry.user_message for entry in instance.all_logs(retried.run_id)]
    assert any(f"belongs to run {killed.run_id}" in message for message in messages)


def in_process_migration() -> dg.JobDefinition:
    """Return the job of every asset on the in-process executor, with the resources of the
    folder named by RUN_FOLDER_VARIABLE, so that a test can make one of its steps fail and
    Dagster can re-execute it (`dg.reconstructable`)."""
    resources = folder_resources(Path(os.environ[RUN_FOLDER_VARIABLE]))
    job = dg.define_asset_job("migration", executor_def=dg.in_process_executor)
    return dg.Definitions(assets=all_assets(), jobs=[job], resources=resources).resolve_job_def(
        "migration"
    )


@contextlib.contextmanager
def _reexecutable_job(tmp_path: Path, monkeypatch):
    """Yield a function that runs the job of `in_process_migration` on tmp_path, in an
    instance of its own. Given a run id as `reexecutes`, it re-executes that run from its
    failure."""
    _resources(tmp_path, monkeypatch)
    monkeypatch.setenv(RUN_FOLDER_VARIABLE, str(tmp_path))
    job = dg.reconstructable(in_process_migration)
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:

        def execute(reexecutes: str | None = None) -> dg.JobExecutionResult:
            options = None
            if reexecutes is not None:
                options = dg.ReexecutionOptions.from_failure(reexecutes, instance)
            return dg.execute_job(
                job, instance, tags={"dagster/partition": "057"}, reexecution_options=options
            )

        yield execute


def _failing_after(function, failing_step: str):
    """Wrap `function` so that, in `failing_step`, it does its work, files included, and then
    fails, as a process killed at the end of the step would."""

    def fail_after(*args, **kwargs):
        result = function(*args, **kwargs)
        if dg.AssetExecutionContext.get().asset_key.to_user_string() == failing_step:
            raise RuntimeError(f"{failing_step} stopped")
        return result

    return fail_after


def test_reexecution_after_failed_mapping_and_assembly(tmp_path, monkeypatch):
    from assets import definitions

    with _reexecutable_job(tmp_path, monkeypatch) as execute:
        with monkeypatch.context() as failing:
            mapping = _failing_after(definitions.map_application, "opales_mapped")
            failing.setattr(definitions, "map_application", mapping)
            first = execute()
        with monkeypatch.context() as failing:
            failing.setattr(
                definitions, "assemble", _failing_after(definitions.assemble, "target_rows")
            )
            second = execute(reexecutes=first.run_id)
        third = execute(reexecutes=second.run_id)
        failed = [
            [event.step_key for event in result.get_step_failure_events()]
            for result in (first, second)
        ]
        steps = [
            {event.step_key for event in result.get_step_success_events()}
            for result in (second, third)
        ]

    assert failed == [["opales_mapped"], ["target_rows"]]
    # Each re-execution ran the failed step again on the files of the steps it did not run.
    assert steps[0] == {"opales_mapped"}
    assert {"target_rows", "loaded_tables", "quality_report"} <= steps[1]
    assert "opales_mapped" not in steps[1]
    assert third.success
    assert _stage_folders(tmp_path) == []
    cli_url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    assert run_migration(RunOptions(DELIVERY, cli_url, tmp_path / "cli"), PASSWORD).succeeded
    dagster_url = f"sqlite:///{tmp_path / 'mdph.sqlite3'}"
    for table in [*load_target_schema().tables, "reprise_rejet"]:
        assert _rows(dagster_url, table) == _rows(cli_url, table), table


def test_reexecution_refuses_later_run_values(tmp_path, monkeypatch):
    """Re-executing a run after another run of its partition fails, instead of taking the
    later run's values and files."""
    from assets import definitions

    with _reexecutable_job(tmp_path, monkeypatch) as execute:
        with monkeypatch.context() as failing:
            combine = _failing_after(definitions.combine_staged_tables, "opales_validated")
            failing.setattr(definitions, "combine_staged_tables", combine)
            first = execute()
            later = execute()
        again = execute(reexecutes=first.run_id)

    assert not later.success
    assert not again.success
    [failure] = again.get_step_failure_events()
    message = failure.step_failure_data.error.message
    assert failure.step_key == "opales_validated"
    assert f"re-executes run {first.run_id}" in message
    assert f"values of run {later.run_id}" in message
    assert "launch the job again" in message


def test_intake_warns_without_dagster_home(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    instance = dg.DagsterInstance.ephemeral()

    result = dg.materialize(
        all_assets(),
        selection=["delivery"],
        resources=_resources(tmp_path, monkeypatch),
        partition_key="057",
        instance=instance,
    )

    assert result.success
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("DAGSTER_HOME is not set" in message for message in messages)
