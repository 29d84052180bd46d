"""Lineage queries, run record and report on PostgreSQL, with the sample delivery."""

import json

import pytest

from migration.lineage import finish_run, trace_source, trace_target
from migration.reports import write_reports
from migration.run import RunOptions, run_migration
from migration.target.engine import create_target_engine
from tests.reports.sample_run import DELIVERY, PASSWORD

pytestmark = pytest.mark.postgres


def test_lineage_and_report_on_postgresql(postgres_url, tmp_path):
    options = RunOptions(delivery=DELIVERY, target_url=postgres_url, reports_dir=tmp_path / "r")
    outcome = run_migration(options, PASSWORD)
    engine = create_target_engine(postgres_url)
    try:
        finish_run(engine, outcome.summary)
        with engine.connect() as connection:
            row = connection.exec_driver_sql(
                "SELECT target_key, source_line FROM reprise_lignage "
                "WHERE target_table = 'individu' AND source_table = 'DOSSIER' LIMIT 1"
            ).one()
        target = trace_target(engine, "individu", row.target_key)
        source = trace_source(engine, "ITAC", "DOSSIER", row.source_line)
        with engine.connect() as connection:
            dropped = connection.exec_driver_sql(
                "SELECT min(source_line), max(source_line), count(*) FROM reprise_filtre "
                "WHERE application = 'OPALES' AND source_table = 'FINESS_GEOLOCALISATION'"
            ).one()
        filtered = trace_source(engine, "OPALES", "FINESS_GEOLOCALISATION", dropped[0])
        past_end = trace_source(engine, "OPALES", "FINESS_GEOLOCALISATION", dropped[1] + 1)
        paths = write_reports(outcome.summary, tmp_path / "site", engine=engine)
    finally:
        engine.dispose()
    resume = json.loads(paths["json"].read_text(encoding="utf-8"))

    assert target.sources[0].source_line == row.source_line
    assert row.target_key in {t.target_key for t in source.targets}
    assert dropped[2] == 42
    assert filtered.status == "filtered"
    assert [f.source_line for f in filtered.filters] == [dropped[0]]
    assert filtered.filters[0].reason.startswith("les coordonnées des établissements")
    assert past_end.status == "not_found"
    assert resume["database"]["counts"]["targets"] == {
        entry["table"]: entry["rows"] for entry in outcome.summary["targets"]
    }
    assert resume["database"]["run_recorded"] is True
