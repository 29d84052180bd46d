"""Partitions per département and per application, materialised into real SQLite targets."""

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from assets.definitions import (
    APPLICATION_JOB,
    MIGRATION_JOB,
    build_definitions,
    max_concurrent_steps,
)
from assets.departements import (
    APPLICATION_DIMENSION,
    DEPARTEMENT_DIMENSION,
    DepartementsConfigError,
    load_departements,
    read_departements_file,
)
from assets.resources import default_resources
from tests.sample_delivery import generate_plaintext, without_itac

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "delivery"
SAMPLE_PASSWORD = "reprise-57-demo"
SMALL = 60  # persons in a generated delivery: the generator's minimum, to keep runs short


def _write_departements(path: Path, entries: dict[str, Path]) -> Path:
    """Write a départements file: one delivery per code, targets and reports under path."""
    lines = ["departements:"]
    for code, delivery in entries.items():
        lines += [
            f'  "{code}":',
            f"    delivery: {delivery}",
            f"    password_env: PART_PASSWORD_{code}",
            f"    target_url_env: PART_TARGET_{code}",
            f"    reports_dir: rapports_{code}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _as_departement(delivery: Path, code: str) -> Path:
    """Make a generated plaintext delivery declare another département, in its config and logs."""
    config = delivery / "livraison.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('departement: "057"', f'departement: "{code}"'), "utf-8")
    for log in delivery.rglob("EXTRACTION_*.log"):
        content = log.read_bytes()
        log.write_bytes(content.replace(b"DEPARTEMENT 057", f"DEPARTEMENT {code}".encode()))
    return delivery


def _definitions(tmp_path: Path, monkeypatch, entries: dict[str, Path]) -> dg.Definitions:
    """Definitions of the départements in `entries`, each loading into tmp_path/<code>.sqlite3."""
    config = _write_departements(tmp_path / "departements.yaml", entries)
    for code in entries:
        password = SAMPLE_PASSWORD if entries[code] == SAMPLE else "unused"
        monkeypatch.setenv(f"PART_PASSWORD_{code}", password)
        monkeypatch.setenv(f"PART_TARGET_{code}", _url(tmp_path, code))
    monkeypatch.setenv("MDPH_DAGSTER_STORAGE", str(tmp_path / "storage"))
    departements = read_departements_file(config)
    return build_definitions(default_resources(departements), departements)


def _url(tmp_path: Path, code: str) -> str:
    return f"sqlite:///{tmp_path / f'{code}.sqlite3'}"


def _scalar(url: str, query: str):
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(sa.text(query)).scalar_one()
    engine.dispose()
    return value


def _filtered_rows(url: str) -> list[tuple]:
    """Return the rows of reprise_filtre without their id and run id, sorted."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT application, source_table, source_line, source_key, target_table, reason "
                "FROM reprise_filtre ORDER BY application, source_table, source_line, target_table"
            )
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def _checks(result) -> dict[tuple[str, str], bool]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in result.get_asset_check_evaluations()
    }


def _application_key(code: str, application: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({DEPARTEMENT_DIMENSION: code, APPLICATION_DIMENSION: application})


def test_without_file_one_sample_partition():
    departements = load_departements({})
    assert list(departements) == ["057"]
    assert departements["057"].password_env == "MDPH_DELIVERY_PASSWORD"
    assert departements["057"].delivery == str(SAMPLE)
    defs = build_definitions(departements=departements)
    job = defs.resolve_job_def(MIGRATION_JOB)
    assert job.partitions_def.get_partition_keys() == ["057"]
    keys = defs.resolve_job_def(APPLICATION_JOB).partitions_def.get_partition_keys()
    assert sorted(str(key) for key in keys) == ["ITAC|057", "OPALES|057"]


def test_departements_file_resolves_paths(tmp_path):
    config = _write_departements(tmp_path / "d.yaml", {"057": Path("livraison"), "2A": SAMPLE})
    departements = read_departements_file(config)
    assert sorted(departements) == ["057", "2A"]
    assert departements["057"].delivery == str(tmp_path / "livraison")
    assert departements["2A"].delivery == str(SAMPLE)
    assert departements["2A"].reports_dir == str(tmp_path / "rapports_2A")
    assert departements["2A"].target_url_env == "PART_TARGET_2A"
    assert departements["2A"].default_target_url == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("departements:\n  057: {}\n", "quoted code"),
        ("departements: {}\n", "at least one code"),
        ("other: 1\n", "single top-level key"),
        ('departements:\n  "0570": {}\n', "not a département code"),
        ('departements:\n  "057": {delivery: d}\n', "missing password_env"),
        (
            'departements:\n  "057": {delivery: d, password_env: P, target_url_env: T,'
            " reports_dir: r, password: x}\n",
            "unknown password",
        ),
        (
            'departements:\n  "057": {delivery: d, password_env: "s3cret!", target_url_env: T,'
            " reports_dir: r}\n",
            "not an environment variable name",
        ),
        ("departements: [\n", "invalid YAML"),
    ],
)
def test_departements_file_rejects(tmp_path, content, message):
    config = tmp_path / "d.yaml"
    config.write_text(content, encoding="utf-8")
    with pytest.raises(DepartementsConfigError, match=message) as raised:
        read_departements_file(config)
    assert "s3cret" not in str(raised.value)  # a secret written in place of a name stays hidden


def test_executors_set_per_job(monkeypatch):
    monkeypatch.setenv("MDPH_DAGSTER_MAX_CONCURRENT", "3")
    defs = build_definitions(departements=load_departements({}))
    executor = defs.resolve_job_def(MIGRATION_JOB).executor_def
    assert executor.executor_creation_fn is dg.multiprocess_executor.executor_creation_fn
    config = executor.apply_config_mapping({}).value["config"]
    assert config["max_concurrent"] == 3
    assert defs.resolve_job_def(APPLICATION_JOB).executor_def is dg.in_process_executor


def test_max_concurrent_from_environment():
    assert max_concurrent_steps({}) == 2
    assert max_concurrent_steps({"MDPH_DAGSTER_MAX_CONCURRENT": "4"}) == 4
    for invalid in ("0", "two", "-1"):
        with pytest.raises(ValueError, match="MDPH_DAGSTER_MAX_CONCURRENT"):
            max_concurrent_steps({"MDPH_DAGSTER_MAX_CONCURRENT": invalid})


def test_two_departements_load_their_own_targets(tmp_path, monkeypatch):
    first = generate_plaintext(tmp_path / "d57", SMALL)
    second = _as_departement(generate_plaintext(tmp_path / "d54", SMALL), "054")
    defs = _definitions(tmp_path, monkeypatch, {"057": first, "054": second})
    job = defs.resolve_job_def(MIGRATION_JOB)
    assert sorted(job.partitions_def.get_partition_keys()) == ["054", "057"]

    for code in ("054", "057"):
        result = job.execute_in_process(partition_key=code)
        assert result.success
        checks = _checks(result)
        assert checks[("target_rows", "reconciliation")] is True
        assert checks[("delivery", "departement")] is True
        summary = result.output_for_node("loaded_tables")
        assert summary["delivery"]["departement"] == code
        assert all(table["reconciled"] for table in summary["tables"])
        assert (tmp_path / f"rapports_{code}" / "rapport_qualite.html").exists()

    for code in ("054", "057"):
        url = _url(tmp_path, code)
        assert _scalar(url, "SELECT count(*) FROM individu") > 0
        assert _scalar(url, "SELECT count(*) FROM reprise_run") == 1
        assert _scalar(url, "SELECT departement FROM reprise_run") == code


def test_delivery_of_another_departement_is_blocked(tmp_path, monkeypatch):
    # The 054 entry points at the 057 sample, as a mistyped folder in the file would.
    defs = _definitions(tmp_path, monkeypatch, {"054": SAMPLE})
    monkeypatch.setenv("PART_PASSWORD_054", SAMPLE_PASSWORD)
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def(MIGRATION_JOB).execute_in_process(
            partition_key="054", raise_on_error=False, instance=instance
        )
        logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert _checks(result)[("delivery", "departement")] is False
    evaluation = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == "departement"
    )
    assert evaluation.description == "la livraison déclare le département 057, la partition est 054"
    assert (
        "blocking check departement of delivery failed: the delivery declares département 057, "
        "the partition is 054" in "\n".join(logs)
    )
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"delivery"}
    assert not (tmp_path / "054.sqlite3").exists()


def test_applications_loaded_one_by_one(tmp_path, monkeypatch):
    full = generate_plaintext(tmp_path / "full", SMALL)
    defs = _definitions(tmp_path, monkeypatch, {"057": full})
    monkeypatch.setenv("PART_TARGET_057", _url(tmp_path, "whole"))
    whole_job = defs.resolve_job_def(MIGRATION_JOB)
    # The report and the column lineage add nothing to this comparison, so they are left out.
    skipped = {dg.AssetKey("quality_report"), dg.AssetKey("lineage")}
    whole = whole_job.execute_in_process(
        partition_key="057",
        asset_selection=sorted(whole_job.asset_layer.executable_asset_keys - skipped),
    )
    assert whole.success
    people = _scalar(_url(tmp_path, "whole"), "SELECT count(*) FROM individu")
    # In this delivery only OPALES has filtered rows: all of FINESS_GEOLOCALISATION, a table
    # that its mapping drops.
    filtered = _filtered_rows(_url(tmp_path, "whole"))
    assert {row[:2] for row in filtered} == {("OPALES", "FINESS_GEOLOCALISATION")}

    url = _url(tmp_path, "057")
    monkeypatch.setenv("PART_TARGET_057", url)
    job = defs.resolve_job_def(APPLICATION_JOB)
    result = job.execute_in_process(partition_key=_application_key("057", "ITAC"))
    assert result.success
    assert _checks(result)[("application_rows", "reconciliation")] is True
    tables = result.output_for_node("application_loaded")["tables"]
    assert {table["application"] for table in tables} == {"ITAC"}
    assert all(table["reconciled"] for table in tables)
    adults = _scalar(url, "SELECT count(*) FROM individu")
    assert _filtered_rows(url) == []

    # OPALES then comes alone, as a partial delivery without the ITAC files.
    (tmp_path / "partial").mkdir()
    opales = without_itac(full, tmp_path / "opales")
    defs = _definitions(tmp_path / "partial", monkeypatch, {"057": opales})
    monkeypatch.setenv("PART_TARGET_057", url)
    job = defs.resolve_job_def(APPLICATION_JOB)
    result = job.execute_in_process(partition_key=_application_key("057", "OPALES"))
    assert result.success
    assert _checks(result)[("application_rows", "reconciliation")] is True
    tables = result.output_for_node("application_loaded")["tables"]
    assert {table["application"] for table in tables} == {"OPALES"}
    assert all(table["reconciled"] for table in tables)
    assert (tmp_path / "partial" / "rapports_057" / "opales" / "rapport_qualite.html").exists()

    # The children merged with the adults that the ITAC load had written, so both loads find
    # the people of the whole delivery loaded in one run.
    assert _scalar(url, "SELECT count(*) FROM individu") == people
    assert people > adults
    assert _filtered_rows(url) == filtered
    assert _scalar(url, "SELECT count(*) FROM reprise_run") == 2


def test_departement_run_applies_stored_identity_decisions(tmp_path, monkeypatch):
    """A merge decision written in the target joins the review pair at the next run."""
    defs = _definitions(tmp_path, monkeypatch, {"057": SAMPLE})
    job = defs.resolve_job_def(MIGRATION_JOB)
    url = _url(tmp_path, "057")

    first = job.execute_in_process(partition_key="057").output_for_node("loaded_tables")
    [pair] = first["identity"]["review"]
    individuals = _scalar(url, "SELECT count(*) FROM individu")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO reprise_decision_identite (id_individu_1, id_individu_2, "
                "decision, decided_by, decided_at) "
                "VALUES (:a, :b, 'merge', 'analyste', '2026-12-04T10:00:00+00:00')"
            ),
            {"a": pair["id_individu_itac"], "b": pair["id_individu_opales"]},
        )
    engine.dispose()

    second = job.execute_in_process(partition_key="057").output_for_node("loaded_tables")
    assert second["identity"]["by_decision"] == 1
    assert second["identity"]["for_review"] == 0
    assert _scalar(url, "SELECT count(*) FROM individu") == individuals - 1
    assert all(table["reconciled"] for table in second["tables"])


def test_whole_job_on_one_application_fails_at_intake(tmp_path, monkeypatch):
    """A delivery of OPALES alone fails the whole job's intake, which names the job and the
    partition to run instead, and no table step starts."""
    opales = without_itac(generate_plaintext(tmp_path / "full", SMALL), tmp_path / "opales")
    defs = _definitions(tmp_path, monkeypatch, {"057": opales})
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def(MIGRATION_JOB).execute_in_process(
            partition_key="057", raise_on_error=False, instance=instance
        )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == "delivery"
    message = failure.step_failure_data.error.message
    assert "brings OPALES but not ITAC" in message
    assert "run the job migration_application with the partition 'OPALES|057'" in message
    assert result.get_asset_materialization_events() == []
    assert not (tmp_path / "057.sqlite3").exists()
