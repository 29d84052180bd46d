"""Real Dagster materialisations of the migration assets on the sample delivery."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from assets.definitions import all_assets, build_definitions, table_asset_name
from assets.departements import SAMPLE_DEPARTEMENT, DepartementConfig
from assets.resources import DepartementsResource
from migration.dictionary.model import load_dictionary
from tests.sample_delivery import generate_plaintext

ROOT = Path(__file__).resolve().parents[2]
DELIVERY = ROOT / "sample_data" / "delivery"
PASSWORD = "reprise-57-demo"
PASSWORD_VARIABLE = "MDPH_TEST_DELIVERY_PASSWORD"
TARGET_VARIABLE = "MDPH_TEST_TARGET_URL"


def _resources(tmp_path: Path, monkeypatch, delivery: Path = DELIVERY) -> dict:
    """Resources of département 057 on `delivery`, loading into tmp_path/mdph.sqlite3."""
    monkeypatch.setenv(PASSWORD_VARIABLE, PASSWORD)
    monkeypatch.setenv(TARGET_VARIABLE, f"sqlite:///{tmp_path / 'mdph.sqlite3'}")
    (tmp_path / "storage").mkdir(mode=0o700)
    return folder_resources(tmp_path, delivery)


def folder_resources(tmp_path: Path, delivery: Path = DELIVERY) -> dict:
    """Return the resources of `_resources`, once its variables are set and its storage made."""
    storage = tmp_path / "storage"
    settings = DepartementConfig(
        delivery=str(delivery),
        password_env=PASSWORD_VARIABLE,
        target_url_env=TARGET_VARIABLE,
        reports_dir=str(tmp_path / "rapports"),
    )
    return {
        "departements": DepartementsResource(
            departements={SAMPLE_DEPARTEMENT: settings}, storage=str(storage)
        ),
        "io_manager": dg.FilesystemIOManager(base_dir=str(storage)),
    }


def test_graph_has_one_asset_per_source_table():
    keys = {key.to_user_string() for key in build_definitions().resolve_all_asset_keys()}
    for application in ("ITAC", "OPALES"):
        for table in load_dictionary(application.lower()).tables:
            assert table_asset_name(application, table) in keys
    for step in (
        "delivery",
        "itac_validated",
        "opales_mapped",
        "target_rows",
        "loaded_tables",
        "quality_report",
        "lineage",
    ):
        assert step in keys


def test_materialize_everything_loads_the_target(tmp_path, monkeypatch):
    result = dg.materialize(
        all_assets(), resources=_resources(tmp_path, monkeypatch), partition_key="057"
    )
    assert result.success
    summary = result.output_for_node("loaded_tables")
    assert all(table["reconciled"] for table in summary["tables"])
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in result.get_asset_check_evaluations()
    }
    assert checks[("target_rows", "reconciliation")] is True
    assert checks[("itac_dossier", "structure")] is True
    assert checks[("itac_dossier", "keys")] is False  # two duplicated dossiers
    assert checks[("itac_dossier", "identifiers")] is False  # seven NIRs with a wrong key
    assert checks[("itac_conclusion", "types")] is True
    assert checks[("opales_validated", "foreign_keys")] is False  # unknown FINESS numbers
    assert checks[("opales_validated", "plausibility")] is True
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'mdph.sqlite3'}")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM individu")).scalar_one() > 0
    assert (tmp_path / "rapports" / "rapport_qualite.html").exists()


def test_resume_lists_tables_in_delivery_order(tmp_path, monkeypatch):
    result = dg.materialize(
        all_assets(), resources=_resources(tmp_path, monkeypatch), partition_key="057"
    )
    assert result.success

    resume = json.loads((tmp_path / "rapports" / "resume.json").read_text(encoding="utf-8"))
    listed = [(table["application"], table["table"]) for table in resume["tables"]]

    # The order of `mdph-reprise run`: application, then the tables in dictionary order.
    expected = [
        (application, name)
        for application in ("ITAC", "OPALES")
        for name in load_dictionary(application.lower()).tables
    ]
    assert listed == expected


def test_broken_header_blocks_downstream_assets(tmp_path, monkeypatch):
    plaintext = tmp_path / "delivery"
    generate_plaintext(plaintext)
    dossier = next(plaintext.rglob("DOSSIER.csv"))
    content = dossier.read_bytes()
    header, rest = content.split(b"\r\n", 1)
    dossier.write_bytes(header.replace(b"PRENOMS", b"PRENOM") + b"\r\n" + rest)

    result = dg.materialize(
        all_assets(),
        resources=_resources(tmp_path, monkeypatch, plaintext),
        partition_key="057",
        raise_on_error=False,
    )
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in result.get_asset_check_evaluations()
    }
    # Intake compares every header with the dictionary, so the broken file stops the run there.
    assert checks[("delivery", "files_readable")] is False
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "delivery" in materialized
    assert "itac_dossier" not in materialized
    assert "loaded_tables" not in materialized
    assert not (tmp_path / "mdph.sqlite3").exists() or _target_is_empty(tmp_path)


def _target_is_empty(tmp_path: Path) -> bool:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'mdph.sqlite3'}")
    return "individu" not in sa.inspect(engine).get_table_names()


@pytest.mark.parametrize("command", [["asset", "list", "-m", "assets"]])
def test_dagster_cli_lists_assets(command):
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), *command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": str(dagster.parent), "HOME": str(Path.home())},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "itac_dossier" in result.stdout


def test_missing_table_blocks_everything_after_intake(tmp_path, monkeypatch):
    plaintext = tmp_path / "delivery"
    generate_plaintext(plaintext)
    (plaintext / "OPALES" / "AES.csv").unlink()

    result = dg.materialize(
        all_assets(),
        resources=_resources(tmp_path, monkeypatch, plaintext),
        partition_key="057",
        raise_on_error=False,
    )
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in result.get_asset_check_evaluations()
    }
    assert checks[("delivery", "tables_present")] is False
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"delivery"}


def test_wrong_password_names_departement_variable(tmp_path, monkeypatch):
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
    message = result.get_step_failure_events()[0].step_failure_data.error.cause.message
    assert "wrong password: the file matches its SHA-256 in SHA256SUMS" in message
    assert f"in the environment variable {PASSWORD_VARIABLE}" in message
    assert "--password-file" not in message
    assert "not-the-password" not in message


def _error_logs(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """User log messages of level ERROR in the run's event log."""
    return [
        entry.user_message
        for entry in instance.all_logs(run_id)
        if entry.dagster_event is None and entry.level == logging.ERROR
    ]


def test_failed_intake_check_shows_its_problem(tmp_path, monkeypatch):
    plaintext = tmp_path / "delivery"
    generate_plaintext(plaintext)
    log = plaintext / "ITAC" / "EXTRACTION_ITAC.log"
    log.write_bytes(log.read_bytes().replace(b"DEPARTEMENT 057", b"DEPARTEMENT 054"))

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            all_assets(),
            resources=_resources(tmp_path, monkeypatch, plaintext),
            partition_key="057",
            instance=instance,
            raise_on_error=False,
        )
        errors = _error_logs(instance, result.run_id)

    assert not result.success
    evaluation = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == "log_clean"
    )
    assert evaluation.passed is False
    french = "Le journal d'extraction EXTRACTION_ITAC.log nomme le département 054"
    assert french in evaluation.description
    assert french in evaluation.metadata["détail"].value
    logged = [message for message in errors if "blocking check log_clean of delivery" in message]
    assert len(logged) == 1
    assert (
        "ITAC/EXTRACTION_ITAC.log: the log names département 054, the delivery 057" in (logged[0])
    )
    passed = [e for e in result.get_asset_check_evaluations() if e.passed]
    assert all(e.description is None for e in passed)
