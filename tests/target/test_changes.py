"""Tests of reruns and redeliveries: what a load adds, changes, removes and keeps."""

from __future__ import annotations

import sqlite3
import threading
import time

import pandas as pd
import pytest
import sqlalchemy as sa

from migration.target.errors import TargetError
from migration.target.load import LOAD_LOCK_KEY, load_run
from migration.target.schema import load_target_schema
from tests.target.sample_rows import (
    filters_frame,
    read_tables,
    rejects_frame,
    run_record,
    target_frames,
)

SCHEMA = load_target_schema()

# Which applications each sample row comes from. I0002 is one person known to both
# applications. The school has no lineage at all.
SOURCES = {
    "individu": {"I0001": ["ITAC"], "I0002": ["ITAC", "OPALES"], "I0003": ["ITAC"]},
    "adresse": {"A0001": ["ITAC"], "A0002": ["OPALES"]},
    "representant_legal": {"R0001": ["OPALES"]},
    "etablissement": {"570000018": ["OPALES"], "570000026": ["OPALES"]},
    "dossier": {"D0001": ["ITAC"], "D0002": ["OPALES"]},
    "demande": {"DM0001": ["ITAC"], "DM0002": ["OPALES"], "DM0003": ["OPALES"]},
    "decision": {"DC0001": ["ITAC"], "DC0002": ["OPALES"], "DC0003": ["OPALES"]},
    "droit": {
        "DR0001": ["ITAC"],
        "DR0002": ["OPALES"],
        "DR0003": ["OPALES"],
        "DR0004": ["OPALES"],
    },
    "orientation": {"O0001": ["OPALES"], "O0002": ["OPALES"]},
    "suivi_orientation": {"S0001": ["ITAC"]},
    "scolarisation": {"SC0001": ["OPALES"]},
}


def counts(**values: int) -> dict[str, int]:
    """Change counts of one table, zero unless given."""
    return {"added": 0, "changed": 0, "removed": 0, "unchanged": 0, "kept": 0, **values}


def lineage_of(frames, run_id, applications=None) -> pd.DataFrame:
    """One lineage row per (row of `frames`, source application in SOURCES)."""
    rows = []
    for table, keys in SOURCES.items():
        frame = frames.get(table)
        if frame is None:
            continue
        key_column = SCHEMA.tables[table].primary_key[0]
        # The line follows the frame's index, so dropping rows keeps the lines of the others.
        for index, key in zip(frame.index, frame[key_column], strict=True):
            line = int(index) + 2
            for application in keys.get(key, []):
                if applications is not None and application not in applications:
                    continue
                rows.append(
                    {
                        "target_table": table,
                        "target_key": key,
                        "application": application,
                        "source_table": table.upper(),
                        "source_file": f"{application}/{table.upper()}.csv",
                        "source_line": line,
                        "source_key": key,
                        "run_id": run_id,
                    }
                )
    return pd.DataFrame(rows, dtype=object)


def load(engine, frames, run_id, applications=None, rejects=None, **options):
    return load_run(
        engine,
        SCHEMA,
        frames,
        rejects_frame(run_id).iloc[:0] if rejects is None else rejects,
        lineage_of(frames, run_id, applications),
        run_record(run_id),
        applications=applications,
        **options,
    )


def only_opales(frames) -> dict[str, pd.DataFrame]:
    """The rows of `frames` that OPALES delivers, per SOURCES."""
    result = {}
    for table, frame in frames.items():
        keys = SOURCES.get(table, {})
        key_column = SCHEMA.tables[table].primary_key[0]
        result[table] = frame[[("OPALES" in keys.get(k, [])) for k in frame[key_column]]]
    return result


def lineage_rows(engine) -> list[tuple]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT target_table, target_key, application, run_id FROM reprise_lignage "
                "ORDER BY target_table, target_key, application"
            )
        )
        return [tuple(row) for row in rows]


def load_counts(engine, run_id) -> dict[str, dict[str, int]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT target_table, added, changed, removed, unchanged, kept "
                "FROM reprise_chargement WHERE run_id = :run_id"
            ),
            {"run_id": run_id},
        )
        return {
            row[0]: dict(
                zip(["added", "changed", "removed", "unchanged", "kept"], row[1:], strict=True)
            )
            for row in rows
        }


def test_first_load_adds_every_row(engine):
    result = load(engine, target_frames(), "run-0001")

    for table, frame in target_frames().items():
        assert result.changes[table] == counts(added=len(frame)), table
    assert load_counts(engine, "run-0001") == result.changes


def test_rerun_changes_nothing(engine):
    load(engine, target_frames(), "run-0001")
    before = read_tables(engine, SCHEMA, skip_columns=["id", "run_id"])

    result = load(engine, target_frames(), "run-0002")

    for table, frame in target_frames().items():
        assert result.changes[table] == counts(unchanged=len(frame)), table
    after = read_tables(engine, SCHEMA, skip_columns=["id", "run_id"])
    for table in SCHEMA.tables:
        assert after[table] == before[table], table
    assert after["reprise_lignage"] == before["reprise_lignage"]


def test_redelivery_counts_added_changed_removed(engine):
    load(engine, target_frames(), "run-0001")
    frames = target_frames()
    droit = frames["droit"]
    droit.loc[droit["id_droit"] == "DR0003", "complement"] = "3"
    new_row = droit[droit["id_droit"] == "DR0001"].assign(id_droit="DR0005")
    frames["droit"] = pd.concat([droit[droit["id_droit"] != "DR0004"], new_row])

    result = load(engine, frames, "run-0002")

    assert result.changes["droit"] == counts(added=1, changed=1, removed=1, unchanged=2)
    for table in SCHEMA.tables:
        if table != "droit":
            assert result.changes[table]["unchanged"] == len(frames[table]), table
    content = read_tables(engine, SCHEMA)
    droits = {row[0]: row for row in content["droit"]}
    assert sorted(droits) == ["DR0001", "DR0002", "DR0003", "DR0005"]
    assert droits["DR0003"][3] == "3"
    assert load_counts(engine, "run-0002")["droit"] == result.changes["droit"]


def test_partial_redelivery_replaces_one_application(engine):
    load(engine, target_frames(), "run-0001")
    lineage_before = lineage_rows(engine)
    frames = only_opales(target_frames())
    individu = frames["individu"]
    individu.loc[individu["id_individu"] == "I0002", "nom_usage"] = "Martin-Diallo"
    decision = frames["decision"]
    decision.loc[decision["id_decision"] == "DC0002", "taux_incapacite"] = "<50"
    frames["orientation"] = frames["orientation"][
        frames["orientation"]["id_orientation"] != "O0002"
    ]
    # O0001, delivered again, still references 570000018, and S0001 (ITAC) 570000026.
    frames["etablissement"] = frames["etablissement"].iloc[:0]
    frames["etablissement_scolaire"] = frames["etablissement_scolaire"].iloc[:0]

    result = load(engine, frames, "run-0002", applications=["OPALES"])

    changes = result.changes
    # I0001 and I0003 come from ITAC only, and I0002 from both applications.
    assert changes["individu"] == counts(kept=3)
    assert changes["decision"] == counts(changed=1, unchanged=1, kept=1)
    assert changes["orientation"] == counts(removed=1, unchanged=1)
    assert changes["etablissement"] == counts(kept=2)
    # The school has no lineage, and S0001 comes from ITAC only.
    assert changes["etablissement_scolaire"] == counts(kept=1)
    assert changes["suivi_orientation"] == counts(kept=1)

    content = read_tables(engine, SCHEMA)
    people = {row[0]: row for row in content["individu"]}
    assert sorted(people) == ["I0001", "I0002", "I0003"]
    assert people["I0002"][3] == "Martin"  # shared with ITAC, so kept as it was
    decisions = {row[0]: row for row in content["decision"]}
    assert decisions["DC0002"][6] == "<50"
    assert [row[0] for row in content["orientation"]] == ["O0001"]
    assert [row[0] for row in content["etablissement"]] == ["570000018", "570000026"]
    (run_2,) = [row for row in content["reprise_run"] if row[0] == "run-0002"]
    assert run_2[9] == "OPALES"

    lineage = lineage_rows(engine)
    itac_before = [row for row in lineage_before if row[2] == "ITAC"]
    assert [row for row in lineage if row[2] == "ITAC"] == itac_before
    opales = {(row[0], row[1]): row[3] for row in lineage if row[2] == "OPALES"}
    assert ("orientation", "O0002") not in opales
    assert opales[("decision", "DC0002")] == "run-0002"
    # Rows kept because they are still referenced keep the lineage of the load that wrote them.
    assert opales[("etablissement", "570000018")] == "run-0001"
    assert opales[("etablissement", "570000026")] == "run-0001"
    assert load_counts(engine, "run-0002") == changes


def test_partial_load_keeps_parent_of_a_shared_row_kept_as_it_was(engine, monkeypatch):
    # DR0002 comes from both applications, so an OPALES load keeps its old row, which
    # references DC0002, even though the load delivers DR0002 pointing at DC0003.
    monkeypatch.setitem(SOURCES["droit"], "DR0002", ["ITAC", "OPALES"])
    load(engine, target_frames(), "run-0001")
    frames = only_opales(target_frames())
    decision = frames["decision"]
    frames["decision"] = decision[decision["id_decision"] != "DC0002"]
    droit = frames["droit"]
    droit.loc[droit["id_decision"] == "DC0002", "id_decision"] = "DC0003"

    result = load(engine, frames, "run-0002", applications=["OPALES"])

    # DR0003 and DR0004 (OPALES only) change; DR0001 (ITAC) and DR0002 (shared) stay.
    assert result.changes["droit"] == counts(changed=2, kept=2)
    # DC0001 comes from ITAC; DC0002 would go, but the kept DR0002 still references it.
    assert result.changes["decision"] == counts(unchanged=1, kept=2)
    content = read_tables(engine, SCHEMA)
    droits = {row[0]: row[1] for row in content["droit"]}
    assert droits == {
        "DR0001": "DC0001",
        "DR0002": "DC0002",
        "DR0003": "DC0003",
        "DR0004": "DC0003",
    }
    assert sorted(row[0] for row in content["decision"]) == ["DC0001", "DC0002", "DC0003"]


def test_partial_rerun_changes_nothing(engine):
    load(engine, target_frames(), "run-0001")
    before = read_tables(engine, SCHEMA, skip_columns=["id", "run_id", "applications"])

    result = load(engine, only_opales(target_frames()), "run-0002", applications=["OPALES"])

    for table, table_counts in result.changes.items():
        assert table_counts["changed"] == table_counts["removed"] == 0, table
    after = read_tables(engine, SCHEMA, skip_columns=["id", "run_id", "applications"])
    for table in SCHEMA.tables:
        assert after[table] == before[table], table
    assert after["reprise_lignage"] == before["reprise_lignage"]


def test_partial_load_replaces_filters_of_its_application(engine):
    load(engine, target_frames(), "run-0001", filters=filters_frame("run-0001"))

    load(
        engine,
        only_opales(target_frames()),
        "run-0002",
        applications=["OPALES"],
        filters=filters_frame("run-0002", applications=["OPALES"]),
    )

    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT run_id, application, source_line, target_table FROM reprise_filtre "
                "ORDER BY application, target_table"
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("run-0001", "ITAC", 5, "droit"),
        ("run-0001", "ITAC", 5, "orientation"),
        ("run-0002", "OPALES", 2, None),
    ]


def test_filters_outside_applications_raise(sqlite_engine):
    frames = only_opales(target_frames())
    with pytest.raises(TargetError, match="filters frame has rows of the applications ITAC"):
        load(
            sqlite_engine,
            frames,
            "run-0001",
            applications=["OPALES"],
            filters=filters_frame("run-0001"),
        )
    assert sa.inspect(sqlite_engine).get_table_names() == []


def test_lineage_outside_applications_raises(sqlite_engine):
    frames = target_frames()
    with pytest.raises(TargetError, match="lineage frame has rows of the applications ITAC"):
        load_run(
            sqlite_engine,
            SCHEMA,
            frames,
            rejects_frame().iloc[:0],
            lineage_of(frames, "run-0001"),
            run_record(),
            applications=["OPALES"],
        )
    assert sa.inspect(sqlite_engine).get_table_names() == []


def test_empty_applications_raises(sqlite_engine):
    with pytest.raises(TargetError, match="applications is empty"):
        load(sqlite_engine, target_frames(), "run-0001", applications=[])


def test_duplicate_key_in_frame_on_rerun_raises(engine):
    load(engine, target_frames(), "run-0001")
    frames = target_frames()
    frames["droit"] = pd.concat([frames["droit"], frames["droit"].iloc[[1]]], ignore_index=True)

    with pytest.raises(TargetError) as error:
        load(engine, frames, "run-0002")

    assert error.value.constraint == "pk_droit"
    assert "at row 5 of the droit frame (id_droit='DR0002')" in str(error.value)


@pytest.mark.postgres
def test_postgresql_lock_timeout_raises(postgres_engine):
    load(postgres_engine, target_frames(), "run-0001")
    with postgres_engine.connect() as holder, holder.begin():
        holder.execute(sa.select(sa.func.pg_advisory_xact_lock(LOAD_LOCK_KEY)))
        started = time.monotonic()
        with pytest.raises(TargetError) as error:
            load(postgres_engine, target_frames(), "run-0002", lock_timeout=0.5)
        waited = time.monotonic() - started

    assert 0.4 < waited < 10
    message = str(error.value)
    assert "taking the load lock failed" in message
    assert "wait for the other run to finish and run again" in message
    runs = read_tables(postgres_engine, SCHEMA)["reprise_run"]
    assert [row[0] for row in runs] == ["run-0001"]


@pytest.mark.postgres
def test_postgresql_second_load_waits_for_first(postgres_engine):
    load(postgres_engine, target_frames(), "run-0001")
    finished = threading.Event()
    errors = []

    def second_load():
        try:
            load(postgres_engine, target_frames(), "run-0002", lock_timeout=30)
        except Exception as exc:  # reported by the main thread
            errors.append(exc)
        finished.set()

    with postgres_engine.connect() as holder, holder.begin():
        holder.execute(sa.select(sa.func.pg_advisory_xact_lock(LOAD_LOCK_KEY)))
        thread = threading.Thread(target=second_load)
        thread.start()
        time.sleep(0.5)
        assert not finished.is_set()
    thread.join(timeout=30)

    assert errors == []
    assert finished.is_set()


def test_sqlite_lock_timeout_raises(tmp_path):
    from migration.target.engine import create_target_engine

    path = tmp_path / "target.sqlite"
    engine = create_target_engine(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(TargetError) as error:
            load(engine, target_frames(), "run-0001", lock_timeout=0.3)
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert 0.25 < waited < 4
    assert "database is locked" in str(error.value)
    # The busy timeout of the pooled connection is back to the sqlite3 default of 5 s.
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    engine.dispose()
