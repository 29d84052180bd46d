"""The sample delivery loaded twice, then redelivered with edits, through the real pipeline."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from migration.target.engine import create_target_engine
from tests.target.pipeline_rows import (
    SAMPLE_DELIVERY,
    SAMPLE_PASSWORD,
    edit_csv,
    generate_plaintext,
    load_rows,
    pipeline_rows,
)
from tests.target.sample_rows import read_tables
from tests.target.test_load import SCHEMA

ZERO = {"added": 0, "changed": 0, "removed": 0, "kept": 0}


def edit_opales(delivery) -> None:
    """Change one orientation and one decision, drop one orientation and add one."""

    def orientations(lines):
        edited = []
        for line in lines:
            if line.startswith("OR0000000001;"):
                line = line.replace(";31/08/2012", ";31/08/2013")
            if line.startswith("OR0000000002;"):
                continue
            edited.append(line)
            if line.startswith("OR0000000003;"):
                edited.append(line.replace("OR0000000003", "OR0000009999", 1))
        return edited

    def decisions(lines):
        return [
            line + " Revu en commission." if line.startswith("DC0000000001;") else line
            for line in lines
        ]

    edit_csv(delivery / "OPALES" / "ORIENTATION.csv", orientations)
    edit_csv(delivery / "OPALES" / "DECISION.csv", decisions)


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory):
    """The rows of the sample delivery and of its edited plaintext twin."""
    folder = tmp_path_factory.mktemp("redelivery")
    sample = pipeline_rows(SAMPLE_DELIVERY, folder / "work", SAMPLE_PASSWORD)
    edited = generate_plaintext(folder / "edited")
    edit_opales(edited)
    return {
        "sample": sample,
        "edited": pipeline_rows(edited, folder / "work_edited"),
        "edited_opales": pipeline_rows(edited, folder / "work_opales", applications=["OPALES"]),
    }


def row_counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: connection.execute(
                sa.select(sa.func.count()).select_from(sa.table(name))
            ).scalar_one()
            for name in SCHEMA.tables
        }


@pytest.fixture
def target(request, tmp_path):
    if request.param == "sqlite":
        engine = create_target_engine(f"sqlite:///{tmp_path / 'mdph.sqlite3'}")
        yield engine
        engine.dispose()
    else:
        yield request.getfixturevalue("postgres_engine")


BOTH = pytest.mark.parametrize(
    "target", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@BOTH
def test_sample_twice_then_edited_redelivery(target, deliveries):
    first = load_rows(target, deliveries["sample"], "run-1")
    content = read_tables(target, SCHEMA, skip_columns=["id", "run_id"])
    second = load_rows(target, deliveries["sample"], "run-2")
    rerun = read_tables(target, SCHEMA, skip_columns=["id", "run_id"])
    third = load_rows(target, deliveries["edited"], "run-3")

    for table, rows in first.rows.items():
        assert first.changes[table] == {**ZERO, "added": rows, "unchanged": 0}, table
        assert second.changes[table] == {**ZERO, "unchanged": rows}, table
    for table in SCHEMA.tables:
        assert rerun[table] == content[table], table

    orientations = first.rows["orientation"]
    assert third.changes["orientation"] == {
        "added": 1,
        "changed": 1,
        "removed": 1,
        "unchanged": orientations - 2,
        "kept": 0,
    }
    assert third.changes["decision"] == {
        **ZERO,
        "changed": 1,
        "unchanged": first.rows["decision"] - 1,
    }
    for table, rows in first.rows.items():
        if table not in ("orientation", "decision"):
            assert third.changes[table] == {**ZERO, "unchanged": rows}, table
    assert row_counts(target) == third.rows


@BOTH
def test_opales_redelivery_keeps_itac_rows(target, deliveries):
    first = load_rows(target, deliveries["sample"], "run-1")
    lineage_before = _lineage(target)

    result = load_rows(target, deliveries["edited_opales"], "run-2", applications=["OPALES"])

    changes = result.changes
    delivered = result.rows["orientation"]
    assert first.rows["orientation"] > delivered
    assert changes["orientation"] == {
        "added": 1,
        "changed": 1,
        "removed": 1,
        "unchanged": delivered - 2,
        # The orientations of ITAC are kept as they were.
        "kept": first.rows["orientation"] - delivered,
    }
    assert changes["decision"]["changed"] == 1
    assert changes["decision"]["removed"] == 0
    # SUIVI only comes from ITAC, so none of its rows is touched.
    assert changes["suivi_orientation"] == {
        **ZERO,
        "unchanged": 0,
        "kept": first.rows["suivi_orientation"],
    }
    counts = row_counts(target)
    for table, table_changes in changes.items():
        before = first.rows[table]
        assert counts[table] == before + table_changes["added"] - table_changes["removed"], table
        assert sum(table_changes[kind] for kind in ("changed", "removed", "unchanged", "kept")) == (
            before
        ), table
    lineage = _lineage(target)
    assert lineage["ITAC"] == lineage_before["ITAC"]
    assert lineage["OPALES"] == {
        (row.target_table, row.target_key, row.source_table, row.source_line)
        for row in deliveries["edited_opales"].assembly.lineage.to_frame().itertuples()
    }


def _lineage(engine) -> dict[str, set[tuple]]:
    found: dict[str, set[tuple]] = {"ITAC": set(), "OPALES": set()}
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT application, target_table, target_key, source_table, source_line "
                "FROM reprise_lignage"
            )
        )
        for application, *rest in rows:
            found[application].add(tuple(rest))
    return found
