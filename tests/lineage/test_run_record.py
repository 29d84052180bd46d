"""The run record: content hashes, counts, and its storage in reprise_run."""

import copy
import json

import pytest
import sqlalchemy as sa

from migration.lineage import LineageError, build_run_record, finish_run, schema_sha256
from migration.target.schema import load_target_schema


def test_schema_hash_is_stable():
    assert schema_sha256(load_target_schema()) == schema_sha256(load_target_schema())


def test_schema_hash_changes_with_a_column():
    schema = load_target_schema()
    changed = copy.deepcopy(schema)
    changed.tables["individu"].columns[1].length = 16

    assert schema_sha256(changed) != schema_sha256(schema)


def test_record_counts_every_table(sample_run):
    summary = sample_run.outcome.summary

    record = build_run_record(summary, load_target_schema())

    assert len(record["counts"]["tables"]) == len(summary["tables"])
    assert record["counts"]["totals"]["read"] == sum(t["read"] for t in summary["tables"])
    assert record["counts"]["reconciled_tables"] == len(summary["tables"])
    assert record["counts"]["targets"] == {t["table"]: t["rows"] for t in summary["targets"]}
    assert record["target_schema"]["sha256"] == schema_sha256(load_target_schema())
    assert record["delivery"]["files"][0]["sha256_encrypted"]


def test_record_hides_target_password():
    record = build_run_record({"target": "postgresql://reprise:s3cret@127.0.0.1/mdph"})

    assert record["target"] == "postgresql://reprise:***@127.0.0.1/mdph"


def test_finish_run_stores_end_and_record(sample_run):
    with sample_run.engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT finished_at, status, summary_json FROM reprise_run WHERE run_id = :r"),
            {"r": sample_run.outcome.summary["run_id"]},
        ).one()

    assert row.finished_at is not None
    assert row.status == "success"
    assert (
        json.loads(row.summary_json)["run_record"]["run_id"]
        == (sample_run.outcome.summary["run_id"])
    )


def test_finish_run_without_run_row_raises(sample_run):
    summary = dict(sample_run.outcome.summary, run_id="never-loaded")

    with pytest.raises(LineageError, match="run never-loaded has no row in reprise_run"):
        finish_run(sample_run.engine, summary)
