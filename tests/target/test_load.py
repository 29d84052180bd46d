"""Tests of loading a run into real SQLite and PostgreSQL databases."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import threading
import time
import traceback
from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy as sa

from migration.target import load as load_module
from migration.target.engine import create_target_engine
from migration.target.errors import TargetError, TooManyRemovalsError
from migration.target.load import LOAD_LOCK_KEY, load_run
from migration.target.schema import load_target_schema, schema_from_dict
from tests.target.sample_rows import (
    PERSONAL_VALUES,
    RUN_ID,
    STARTED_AT,
    filters_frame,
    lineage_frame,
    read_tables,
    rejects_frame,
    run_record,
    target_frames,
    target_rows,
)

SCHEMA = load_target_schema()


def load_sample(engine, run_id=RUN_ID, frames=None, filters=None, **run_changes):
    return load_run(
        engine,
        SCHEMA,
        target_frames() if frames is None else frames,
        rejects_frame(run_id),
        lineage_frame(run_id),
        run_record(run_id, **run_changes),
        filters=filters_frame(run_id) if filters is None else filters,
    )


def filtered_rows(engine) -> list[tuple]:
    """Return the rows of reprise_filtre without their id, by line then target table."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT run_id, application, source_table, source_file, source_line, source_key, "
                "target_table, reason FROM reprise_filtre "
                "ORDER BY application, source_table, source_line, target_table"
            )
        )
        return [tuple(row) for row in rows]


def expected_rows(table: str) -> list[tuple]:
    columns = SCHEMA.tables[table].column_names
    rows = [tuple(row.get(name) for name in columns) for row in target_rows()[table]]
    return sorted(rows, key=lambda row: tuple((v is None, str(v)) for v in row))


def test_load_writes_every_table(engine):
    result = load_sample(engine)

    assert result.rows == {name: len(rows) for name, rows in target_rows().items()}
    assert result.rejects == 2
    assert result.filters == 3
    assert result.lineage == 4
    content = read_tables(engine, SCHEMA)
    for table in SCHEMA.tables:
        assert content[table] == expected_rows(table), table


def test_load_writes_filtered_rows(engine):
    load_sample(engine)

    expected = [tuple(row) for row in filters_frame(RUN_ID).itertuples(index=False)]
    assert filtered_rows(engine) == expected
    with engine.connect() as connection:
        ids = connection.execute(sa.text("SELECT id FROM reprise_filtre ORDER BY id")).scalars()
        assert list(ids) == [1, 2, 3]


def test_rerun_replaces_filtered_rows(engine):
    load_sample(engine)

    load_sample(engine, run_id="run-0002", filters=filters_frame("run-0002").iloc[1:2])

    assert filtered_rows(engine) == [
        (
            "run-0002",
            "ITAC",
            "CONCLUSION",
            "ITAC/CONCLUSION.csv",
            5,
            "C0005",
            "orientation",
            "refus : pas d'orientation",
        )
    ]


def test_load_without_filters_deletes_them(engine):
    load_sample(engine)

    load_run(
        engine,
        SCHEMA,
        target_frames(),
        rejects_frame("run-0002"),
        lineage_frame("run-0002"),
        run_record("run-0002"),
    )

    assert filtered_rows(engine) == []


def test_load_releasing_frames_writes_every_table(engine):
    frames = target_frames()

    result = load_run(
        engine,
        SCHEMA,
        frames,
        rejects_frame(RUN_ID),
        lineage_frame(RUN_ID),
        run_record(RUN_ID),
        release_frames=True,
    )

    assert frames == {}
    assert result.rows == {name: len(rows) for name, rows in target_rows().items()}
    content = read_tables(engine, SCHEMA)
    for table in SCHEMA.tables:
        assert content[table] == expected_rows(table), table


def test_load_removing_most_rows_stops(engine):
    load_sample(engine)
    before = read_tables(engine, SCHEMA)

    with pytest.raises(TooManyRemovalsError, match=r"would remove \d+ of the \d+ rows") as caught:
        load_run(
            engine,
            SCHEMA,
            {},
            rejects_frame("run-0002"),
            lineage_frame("run-0002"),
            run_record("run-0002"),
            max_removed_share=0.5,
        )

    assert "nothing was loaded" in str(caught.value)
    assert "--allow-removals" in str(caught.value)
    assert re.search(r"\(\d+\.\d%\)", str(caught.value))
    assert read_tables(engine, SCHEMA) == before


def test_load_removing_few_rows_passes_the_check(engine):
    load_sample(engine)
    frames = target_frames()
    frames["orientation"] = frames["orientation"].iloc[:-1]

    result = load_run(
        engine,
        SCHEMA,
        frames,
        rejects_frame("run-0002"),
        lineage_frame("run-0002"),
        run_record("run-0002"),
        max_removed_share=0.5,
    )

    assert result.changes["orientation"]["removed"] == 1


def test_load_round_trips_dates_decimals_and_text(engine):
    load_sample(engine)

    content = read_tables(engine, SCHEMA)
    amounts = [row[4] for row in content["droit"]]
    assert amounts == [Decimal("628.10"), Decimal("99999999.99"), Decimal("-0.50"), None]
    assert all(isinstance(amount, Decimal) for amount in amounts[:3])
    assert str(amounts[0]) == "628.10"
    births = {row[0]: row[5] for row in content["individu"]}
    assert births["I0001"] == dt.date(1964, 2, 29)
    assert births["I0003"] is None
    motivations = {row[0]: row[7] for row in content["decision"]}
    assert motivations["DC0001"] == "Retard psychomoteur,\r\nsuivi CAMSP"
    assert motivations["DC0002"] == 'avis "favorable" ; complément 2'
    (run,) = content["reprise_run"]
    assert run[1] == STARTED_AT
    assert run[8] == '{"tables": 12}'


def test_load_fills_missing_nullable_columns(engine):
    frames = target_frames()
    frames["individu"] = frames["individu"].drop(columns=["nom_usage", "nationalite"])

    load_sample(engine, frames=frames)

    content = read_tables(engine, SCHEMA)
    assert [row[3] for row in content["individu"]] == [None, None, None]
    assert [row[8] for row in content["individu"]] == [None, None, None]


def test_load_without_frame_empties_table(engine):
    load_sample(engine)
    frames = target_frames()
    del frames["suivi_orientation"]

    result = load_sample(engine, run_id="run-0002", frames=frames)

    assert result.rows["suivi_orientation"] == 0
    assert read_tables(engine, SCHEMA)["suivi_orientation"] == []


@pytest.mark.postgres
def test_sqlite_and_postgresql_hold_identical_content(sqlite_engine, postgres_engine):
    load_sample(sqlite_engine)
    load_sample(postgres_engine)

    in_sqlite = read_tables(sqlite_engine, SCHEMA)
    in_postgresql = read_tables(postgres_engine, SCHEMA)

    assert in_sqlite.keys() == in_postgresql.keys()
    for table in in_sqlite:
        assert in_sqlite[table] == in_postgresql[table], table


@pytest.mark.postgres
def test_postgresql_bulk_lineage_keeps_its_foreign_key(postgres_engine, monkeypatch, caplog):
    """Above the bulk threshold keys and indexes are dropped, then built again after the copy."""
    import migration.target.load as load_module
    from migration.target.compare import compare_database

    monkeypatch.setattr(load_module, "BULK_ROWS", 1)
    statements = []
    sa.event.listen(
        postgres_engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *args: statements.append(statement),
    )
    with caplog.at_level("INFO", logger="migration.target.load"):
        load_sample(postgres_engine)
    # The role owns every table, so nothing is copied with its keys in place.
    assert [record for record in caplog.records if record.levelname == "WARNING"] == []

    names = [
        "fk_reprise_lignage_run_id",
        "pk_reprise_lignage",
        "fk_reprise_filtre_run_id",
        "pk_reprise_filtre",
    ]
    for name in names:
        assert len([s for s in statements if f"DROP CONSTRAINT {name}" in s]) == 1
        assert len([s for s in statements if f"ADD CONSTRAINT {name}" in s]) == 1
    start = next(i for i, s in enumerate(statements) if "DROP CONSTRAINT pk_reprise_lignage" in s)
    rebuilt = [s for s in statements[start:] if s.startswith("CREATE INDEX ix_reprise_lignage")]
    assert len(rebuilt) == 2
    start = next(i for i, s in enumerate(statements) if "DROP CONSTRAINT pk_reprise_filtre" in s)
    rebuilt = [s for s in statements[start:] if s.startswith("CREATE INDEX ix_reprise_filtre")]
    assert len(rebuilt) == 2
    # Target tables filled from empty get the same treatment; one referenced by a small
    # table (below the threshold here: none) would keep its primary key.
    assert any("DROP CONSTRAINT fk_adresse_id_individu" in s for s in statements)
    # The statistics of the new lineage are gathered before the commit, for the report.
    with postgres_engine.connect() as connection:
        analyzed = connection.execute(
            sa.text(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                "WHERE relname = 'reprise_lignage'"
            )
        ).scalar_one()
    assert analyzed

    lineage = read_tables(postgres_engine, SCHEMA)["reprise_lignage"]
    assert len(lineage) == len(lineage_frame(RUN_ID))
    keys = sa.inspect(postgres_engine).get_foreign_keys("reprise_lignage")
    assert [(key["name"], key["referred_table"]) for key in keys] == [
        ("fk_reprise_lignage_run_id", "reprise_run")
    ]
    assert compare_database(postgres_engine, SCHEMA) == []
    with postgres_engine.connect() as connection, pytest.raises(sa.exc.IntegrityError):
        connection.execute(
            sa.text(
                "INSERT INTO reprise_lignage VALUES "
                "('individu', 'I9', 'ITAC', 'DOSSIER', 'f', 9, NULL, 'no-such-run')"
            )
        )


def test_rerun_gives_identical_content(engine):
    load_sample(engine)
    first = read_tables(engine, SCHEMA, skip_columns=["id", "run_id"])

    load_sample(engine, run_id="run-0002")
    second = read_tables(engine, SCHEMA, skip_columns=["id", "run_id"])

    for table in SCHEMA.tables:
        assert second[table] == first[table], table
    assert second["reprise_lignage"] == first["reprise_lignage"]
    content = read_tables(engine, SCHEMA)
    assert [row[0] for row in content["reprise_run"]] == ["run-0001", "run-0002"]
    assert sorted(row[1] for row in content["reprise_rejet"]) == ["run-0001"] * 2 + ["run-0002"] * 2
    assert {row[-1] for row in content["reprise_lignage"]} == {"run-0002"}


def test_rerun_with_same_run_id_replaces_its_rows(engine):
    load_sample(engine)
    load_sample(engine, status="loaded")

    content = read_tables(engine, SCHEMA)
    assert len(content["reprise_run"]) == 1
    assert content["reprise_run"][0][3] == "loaded"
    assert len(content["reprise_rejet"]) == 2
    assert len(content["reprise_filtre"]) == 3
    assert len(content["reprise_lignage"]) == 4


def assert_no_personal_value(error: TargetError) -> None:
    text = str(error)
    printed = "".join(traceback.format_exception(error))
    for value in PERSONAL_VALUES:
        assert value not in text
        assert value not in printed


def load_broken(engine, frames) -> TargetError:
    """Load a good run, then a broken one; return its error after checking the rollback."""
    load_sample(engine)
    before = read_tables(engine, SCHEMA)

    with pytest.raises(TargetError) as error:
        load_sample(engine, run_id="run-0002", frames=frames)

    assert read_tables(engine, SCHEMA) == before
    assert_no_personal_value(error.value)
    return error.value


def test_missing_parent_rolls_back_everything(engine):
    frames = target_frames()
    frames["droit"].loc[2, "id_decision"] = "DC9999"

    error = load_broken(engine, frames)

    message = str(error)
    assert error.table == "droit"
    assert error.constraint == "fk_droit_id_decision"
    assert "foreign key fk_droit_id_decision is violated" in message
    assert "at row 3 of the droit frame (id_droit='DR0003')" in message
    assert "the target database is unchanged" in message
    # The broken run changes a row of the good one, so the failing statement is an update.
    assert "UPDATE droit SET" in message
    assert "DC9999" not in message.split("Statement:")[1]


@pytest.mark.postgres
def test_bulk_copy_with_missing_parent_fails_when_the_key_is_added_back(
    postgres_engine, monkeypatch
):
    import migration.target.load as load_module

    monkeypatch.setattr(load_module, "BULK_ROWS", 1)
    frames = target_frames()
    frames["droit"].loc[2, "id_decision"] = "DC9999"

    with pytest.raises(TargetError) as raised:
        load_sample(postgres_engine, frames=frames)

    error = raised.value
    message = str(error)
    assert error.table == "droit"
    assert error.constraint == "fk_droit_id_decision"
    assert "adding foreign key fk_droit_id_decision around the bulk copy" in message
    assert "the target database is unchanged" in message
    assert "DC9999" not in message.split("Statement:")[1]
    assert_no_personal_value(error)
    with postgres_engine.connect() as connection:
        assert not sa.inspect(connection).has_table("droit")


def test_not_null_violation_rolls_back_everything(engine):
    frames = target_frames()
    frames["individu"].loc[1, "nom_naissance"] = None

    error = load_broken(engine, frames)

    message = str(error)
    assert error.table == "individu"
    assert "nom_naissance" in message
    assert "at row 2 of the individu frame (id_individu='I0002')" in message


def test_duplicate_key_message_has_no_personal_value(engine):
    frames = target_frames()
    individu = frames["individu"]
    frames["individu"] = pd.concat([individu, individu.iloc[[0]]], ignore_index=True)

    error = load_broken(engine, frames)

    assert error.constraint == "pk_individu"
    assert "at row 4 of the individu frame (id_individu='I0001')" in str(error)


def test_error_in_later_chunk_names_row(engine, monkeypatch):
    monkeypatch.setattr(load_module, "SQLITE_CHUNK_ROWS", 2)
    monkeypatch.setattr(load_module, "COPY_PIECE_ROWS", 2)
    frames = target_frames()
    frames["individu"].loc[2, "sexe"] = None

    error = load_broken(engine, frames)

    assert "at row 3 of the individu frame (id_individu='I0003')" in str(error)


@pytest.mark.parametrize("piece_rows", [1, 2, 5_000])
def test_too_long_text_after_multiline_rows_names_row(engine, monkeypatch, piece_rows):
    # The rows of a COPY are rendered a few at a time; the line PostgreSQL names must lead to
    # the row whatever the piece the line breaks and the bad value fall in.
    monkeypatch.setattr(load_module, "COPY_PIECE_ROWS", piece_rows)
    frames = target_frames()
    frames["decision"].loc[0, "motivation"] = "premier\rretour"
    frames["decision"].loc[1, "motivation"] = "ligne 1\r\nligne 2\nligne 3"
    frames["decision"].loc[2, "taux_incapacite"] = "x" * 11

    error = load_broken(engine, frames)

    message = str(error)
    assert error.table == "decision"
    assert "taux_incapacite" in message
    assert "at row 3 of the decision frame (id_decision='DC0003')" in message
    assert "x" * 11 not in message


@pytest.mark.parametrize(
    ("table", "column", "value", "expected"),
    [
        ("droit", "montant_mensuel", 12.5, "expected decimal.Decimal, got float"),
        ("droit", "montant_mensuel", Decimal("1.234"), "more than 2 digits after the point"),
        ("droit", "montant_mensuel", Decimal("123456789.00"), "more than 10 digits"),
        ("individu", "date_naissance", "1964-02-29", "expected datetime.date, got str"),
        ("individu", "nom_naissance", 12, "expected str, got int"),
        ("individu", "nom_naissance", "a\x00b", "NUL character"),
        ("individu", "sexe", "M", "'M' is not a code of code list SEXE"),
    ],
)
def test_wrong_value_raises_before_database(sqlite_engine, table, column, value, expected):
    frames = target_frames()
    frames[table][column] = frames[table][column].astype(object)
    frames[table].at[1, column] = value

    with pytest.raises(TargetError) as error:
        load_sample(sqlite_engine, frames=frames)

    message = str(error.value)
    assert f"the {table} frame, column {column}, row 2: " in message
    assert expected in message
    assert sa.inspect(sqlite_engine).get_table_names() == []


def test_integer_outside_32_bits_raises(sqlite_engine):
    lineage = lineage_frame()
    lineage.at[1, "source_line"] = 2**31

    with pytest.raises(TargetError) as error:
        load_run(sqlite_engine, SCHEMA, target_frames(), rejects_frame(), lineage, run_record())

    message = str(error.value)
    assert "the lineage frame, column source_line, row 2: the integer is outside" in message
    # The lineage is converted once the target rows are written: the load rolls them back.
    with sqlite_engine.connect() as connection:
        for name in SCHEMA.tables:
            if name in sa.inspect(connection).get_table_names():
                count = connection.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar()
                assert count == 0, name


@pytest.mark.parametrize("started_at", [dt.datetime(2008, 10, 20, 9, 30), "2008-10-20T09:30:00"])
def test_naive_run_timestamp_raises(sqlite_engine, started_at):
    with pytest.raises(TargetError, match="column started_at, row 1: the datetime has no time"):
        load_sample(sqlite_engine, started_at=started_at)


def test_run_timestamp_as_iso_text(engine):
    load_sample(engine, started_at="2008-10-20T11:30:15+02:00")

    (run,) = read_tables(engine, SCHEMA)["reprise_run"]
    assert run[1] == STARTED_AT


def test_unknown_column_raises(sqlite_engine):
    frames = target_frames()
    frames["individu"]["prenom"] = "x"

    with pytest.raises(TargetError, match=r"'prenom' \(did you mean 'prenoms'\?\)"):
        load_sample(sqlite_engine, frames=frames)


def test_missing_not_null_column_raises(sqlite_engine):
    frames = target_frames()
    frames["individu"] = frames["individu"].drop(columns=["sexe"])

    with pytest.raises(TargetError, match="lacks the NOT NULL columns sexe of table individu"):
        load_sample(sqlite_engine, frames=frames)


def test_unknown_table_raises(sqlite_engine):
    frames = target_frames()
    frames["personne"] = frames["individu"]

    with pytest.raises(TargetError, match="frames given for tables that schema .* not have: per"):
        load_sample(sqlite_engine, frames=frames)


def test_reject_id_column_raises(sqlite_engine):
    rejects = rejects_frame()
    rejects["id"] = [1, 2]

    with pytest.raises(TargetError, match="carries the columns id, which the database assigns"):
        load_run(sqlite_engine, SCHEMA, target_frames(), rejects, lineage_frame(), run_record())


def test_filter_id_column_raises(sqlite_engine):
    filters = filters_frame()
    filters["id"] = [1, 2, 3]

    with pytest.raises(TargetError, match="filters frame carries the columns id, which the"):
        load_sample(sqlite_engine, filters=filters)


def test_filters_run_id_mismatch_raises(sqlite_engine):
    with pytest.raises(TargetError, match="filters frame has rows whose run_id is not"):
        load_sample(sqlite_engine, filters=filters_frame("other"))


def test_run_id_mismatch_raises(sqlite_engine):
    with pytest.raises(TargetError, match="rejects frame has rows whose run_id is not"):
        load_run(
            sqlite_engine,
            SCHEMA,
            target_frames(),
            rejects_frame("other"),
            lineage_frame(),
            run_record(),
        )


def test_missing_run_id_columns_are_filled(sqlite_engine):
    load_run(
        sqlite_engine,
        SCHEMA,
        target_frames(),
        rejects_frame().drop(columns=["run_id"]),
        lineage_frame().drop(columns=["run_id"]),
        run_record(),
        filters=filters_frame().drop(columns=["run_id"]),
    )

    content = read_tables(sqlite_engine, SCHEMA)
    assert {row[1] for row in content["reprise_rejet"]} == {RUN_ID}
    assert {row[1] for row in content["reprise_filtre"]} == {RUN_ID}
    assert {row[-1] for row in content["reprise_lignage"]} == {RUN_ID}


def test_target_url_password_is_hidden(engine):
    load_sample(engine, target_url="postgresql://reprise:s3cret@db/mdph")

    (run,) = read_tables(engine, SCHEMA)["reprise_run"]
    assert run[7] == "postgresql://reprise:***@db/mdph"


def test_existing_table_with_other_columns_raises(sqlite_engine):
    with sqlite_engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE individu (id_individu TEXT, nom TEXT)")

    with pytest.raises(TargetError) as error:
        load_sample(sqlite_engine)

    message = str(error.value)
    assert "the target database sqlite:///" in message
    assert "does not match target schema mdph_reference 1.0" in message
    assert "  - table individu: column nir is missing\n" in message
    assert "  - table individu: column nom is not in the target schema\n" in message
    assert "  - table individu: primary key (none) in the database, (id_individu) expected" in (
        message
    )
    assert "  - table adresse is missing\n" in message
    assert sa.inspect(sqlite_engine).get_table_names() == ["individu"]


def test_sqlite_strict_table_rejects_wrong_type(sqlite_engine):
    load_sample(sqlite_engine)
    path = sqlite_engine.url.database

    connection = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="cannot store TEXT value in INTEGER"):
            connection.execute(
                "UPDATE reprise_lignage SET source_line = 'deux' WHERE target_key = 'I0001'"
            )
        with pytest.raises(sqlite3.IntegrityError, match="ck_individu_date_naissance_date"):
            connection.execute(
                "UPDATE individu SET date_naissance = '1964-02-30' WHERE id_individu = 'I0001'"
            )
        with pytest.raises(sqlite3.IntegrityError, match="ck_individu_sexe_length"):
            connection.execute("UPDATE individu SET sexe = '12' WHERE id_individu = 'I0001'")
    finally:
        connection.close()


TEXTS = ["", "\\.", "a,b", '"', "NULL", "\\N", "tab\there", "ligne\r\nsuivante", None, " bord "]
TEXT_SCHEMA = {
    "name": "texts",
    "version": "1",
    "tables": {
        "note": {
            "primary_key": ["id"],
            "columns": [
                {"name": "id", "type": "integer", "nullable": False},
                {"name": "body", "type": "text"},
            ],
        }
    },
}


def test_text_edge_cases_round_trip(engine):
    schema = schema_from_dict(TEXT_SCHEMA)
    frame = pd.DataFrame({"id": list(range(len(TEXTS))), "body": TEXTS}, dtype=object)

    load_run(
        engine,
        schema,
        {"note": frame},
        rejects_frame().iloc[:0],
        lineage_frame().iloc[:0],
        run_record(),
    )

    rows = sorted(read_tables(engine, schema)["note"])
    assert [body for _, body in rows] == TEXTS


BOOLEAN_SCHEMA = {
    "name": "flags",
    "version": "1",
    "tables": {
        "flag": {
            "primary_key": ["id"],
            "columns": [
                {"name": "id", "type": "integer", "nullable": False},
                {"name": "active", "type": "boolean"},
                {"name": "seen_at", "type": "timestamp"},
            ],
        }
    },
}


def test_boolean_and_timestamp_round_trip(engine):
    schema = schema_from_dict(BOOLEAN_SCHEMA)
    paris = dt.timezone(dt.timedelta(hours=2))
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "active": [True, False, None],
            "seen_at": [dt.datetime(2008, 10, 14, 22, 1, tzinfo=paris), None, None],
        },
        dtype=object,
    )

    load_run(
        engine,
        schema,
        {"flag": frame},
        rejects_frame().iloc[:0],
        lineage_frame().iloc[:0],
        run_record(),
    )

    rows = read_tables(engine, schema)["flag"]
    assert rows[0][:2] == (1, True)
    assert rows[0][2] == dt.datetime(2008, 10, 14, 20, 1, tzinfo=dt.UTC)
    assert rows[1][:2] == (2, False)
    assert rows[2] == (3, None, None)


@pytest.mark.postgres
def test_postgresql_loads_never_interleave(postgres_engine):
    load_sample(postgres_engine)
    finished = threading.Event()
    errors = []

    def second_load():
        try:
            load_sample(postgres_engine, run_id="run-0002")
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

    assert finished.is_set()
    assert errors == []
    runs = read_tables(postgres_engine, SCHEMA)["reprise_run"]
    assert [row[0] for row in runs] == ["run-0001", "run-0002"]


def test_sqlite_locked_database_raises(tmp_path):
    path = tmp_path / "target.sqlite"
    engine = create_target_engine(f"sqlite:///{path}?timeout=0.2")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(TargetError) as error:
            load_sample(engine)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()

    message = str(error.value)
    assert "starting the load transaction failed: database is locked" in message
    assert "wait for the other run to finish and run again" in message


def test_invalid_values_lists_every_problem():
    from migration.target.frames import invalid_values

    frames = target_frames()
    individu = frames["individu"]
    individu.at[0, "sexe"] = "M"
    individu.at[1, "nom_naissance"] = "x" * 61
    individu.at[2, "date_naissance"] = "1964-02-29"
    droit = frames["droit"]
    droit.at[0, "montant_mensuel"] = Decimal("1.234")

    found = invalid_values(SCHEMA.tables["individu"], individu, SCHEMA.code_lists)

    assert found == [
        (1, "nom_naissance", "the text is longer than the 60 characters of the column"),
        (2, "date_naissance", "expected datetime.date, got str"),
        (0, "sexe", "'M' is not a code of code list SEXE"),
    ]
    assert invalid_values(SCHEMA.tables["droit"], droit, SCHEMA.code_lists) == [
        (0, "montant_mensuel", "the decimal has more than 2 digits after the point")
    ]
    assert invalid_values(SCHEMA.tables["adresse"], frames["adresse"], SCHEMA.code_lists) == []


def test_invalid_values_screen_agrees_with_the_value_by_value_check():
    """The bulk screen of large columns finds what checking every value finds."""
    from migration.target.frames import _refusal, invalid_values

    table = SCHEMA.tables["individu"]
    rows = 400
    frame = pd.DataFrame(
        {
            "id_individu": pd.Series([f"I{i:05d}" for i in range(rows)], dtype="str"),
            "nom_naissance": pd.Series(["Martin"] * rows, dtype="str"),
            "sexe": pd.Series(["1", "2"] * (rows // 2), dtype="str"),
            "date_naissance": [dt.date(1970, 1, 1)] * rows,
        }
    )
    frame.loc[7, "id_individu"] = "I" * 33
    frame.loc[11, "nom_naissance"] = "Mar\x00tin"
    frame.loc[12, "nom_naissance"] = None
    frame.loc[13, "sexe"] = "M"
    frame.loc[300, "sexe"] = None
    frame.at[21, "date_naissance"] = dt.datetime(1970, 1, 1, 12)
    frame.at[22, "date_naissance"] = None

    expected = [
        (position, column.name, reason)
        for column in table.columns
        if column.name in frame
        for position, value in enumerate(frame[column.name].tolist())
        if not pd.isna(value) and (reason := _refusal(value, column, SCHEMA.code_lists)) is not None
    ]
    found = invalid_values(table, frame, SCHEMA.code_lists)

    assert found == expected
    assert [(p, c) for p, c, _ in found] == [
        (7, "id_individu"),
        (11, "nom_naissance"),
        (21, "date_naissance"),
        (13, "sexe"),
    ]


def test_invalid_values_screen_of_integer_columns():
    from migration.target.frames import invalid_values
    from migration.target.model import TargetColumn, TargetTable

    table = TargetTable(
        name="t",
        description=None,
        columns=[TargetColumn(name="n", type="integer")],
        primary_key=["n"],
    )
    frame = pd.DataFrame({"n": [1.0, 2.5, float("nan"), 2.0**31, -(2.0**31)]})
    assert [position for position, _, _ in invalid_values(table, frame, {})] == [1, 3]
    ints = pd.DataFrame({"n": pd.Series([1, 2**31, None, -5], dtype="Int64")})
    assert [position for position, _, _ in invalid_values(table, ints, {})] == [1]


def test_every_kind_of_missing_value_becomes_null():
    from migration.target.frames import prepare_frame
    from migration.target.model import TargetColumn, TargetTable

    table = TargetTable(
        name="t",
        description=None,
        columns=[
            TargetColumn(name="n", type="integer"),
            TargetColumn(name="text", type="text"),
            TargetColumn(name="day", type="date"),
        ],
        primary_key=[],
    )
    frame = pd.DataFrame(
        {
            "n": pd.Series([1, None, 3], dtype="Int64"),
            "text": pd.Series(["a", float("nan"), None], dtype=object),
            "day": pd.Series([dt.date(2008, 10, 14), pd.NaT, None], dtype=object),
        }
    )

    prepared = prepare_frame(table, frame, {})

    assert prepared.values == [[1, None, 3], ["a", None, None], [dt.date(2008, 10, 14), None, None]]


@pytest.mark.postgres
def test_password_never_logged(postgres_engine, caplog):
    url = postgres_engine.url.set(password="s3cret-pw")
    engine = create_target_engine(url.render_as_string(hide_password=False))
    try:
        with caplog.at_level("DEBUG"):
            load_sample(engine)
            load_sample(engine, run_id="run-0002")
    finally:
        engine.dispose()

    assert "loaded run run-0002 into postgresql+psycopg2://postgres:***@" in caplog.text
    assert "s3cret-pw" not in caplog.text
