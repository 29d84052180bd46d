"""Tests of the Alembic revisions of the product tables, on new and older databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from migration.target.compare import compare_database, compare_tables
from migration.target.errors import TargetError
from migration.target.product_tables import PRODUCT_TABLES
from migration.target.schema import build_product_metadata, load_target_schema
from migration.target.versioning import (
    VERSION_TABLE,
    alembic_config,
    current_revision,
    head_revision,
    upgrade_product_tables,
)
from tests.target.sample_rows import read_tables, target_frames
from tests.target.test_load import load_sample

SCHEMA = load_target_schema()
RELEASE_0_1_0 = Path(__file__).parent / "data"
# What a database written by 0.1.0 lacks, as compare_database words it.
RELEASE_0_1_0_DIFFERENCES = [
    "table reprise_run: column applications is missing",
    "table reprise_chargement is missing",
    "table reprise_decision_identite is missing",
    "table reprise_filtre is missing",
]
LINEAGE_KEYS = {
    "target_table": 64,
    "target_key": 255,
    "application": 20,
    "source_table": 64,
    "run_id": 64,
}


def release_0_1_0_differences(engine: sa.Engine) -> list[str]:
    """What a 0.1.0 database lacks; on PostgreSQL also the binary collation of lineage keys."""
    if engine.dialect.name != "postgresql":
        return sorted(RELEASE_0_1_0_DIFFERENCES)
    collations = [
        f"table reprise_lignage, column {name}: type VARCHAR({length}) in the database, "
        f'VARCHAR({length}) COLLATE "C" expected'
        for name, length in LINEAGE_KEYS.items()
    ]
    return sorted(RELEASE_0_1_0_DIFFERENCES + collations)


def restore_release_0_1_0(engine: sa.Engine) -> None:
    """Fill an empty database with the dump of a database written by mdph-reprise 0.1.0."""
    if engine.dialect.name == "sqlite":
        sql = (RELEASE_0_1_0 / "release_0_1_0.sqlite.sql").read_text(encoding="utf-8")
        connection = sqlite3.connect(engine.url.database)
        try:
            connection.executescript(sql)
        finally:
            connection.close()
    else:
        # Bytes, not read_text: a CR LF inside a quoted value must stay CR LF.
        sql = (RELEASE_0_1_0 / "release_0_1_0.postgresql.sql").read_bytes().decode("utf-8")
        connection = engine.raw_connection()
        try:
            connection.cursor().execute(sql)
            connection.commit()
        finally:
            connection.close()


def version_table_exists(engine: sa.Engine) -> bool:
    return sa.inspect(engine).has_table(VERSION_TABLE)


def test_head_revision_is_latest():
    assert head_revision() == "0005"


def test_new_database_gets_every_product_table(engine):
    with engine.begin() as connection:
        before, after = upgrade_product_tables(connection)

    assert (before, after) == (None, "0005")
    with engine.connect() as connection:
        assert current_revision(connection) == "0005"
        assert compare_tables(connection, build_product_metadata()) == []
    assert set(PRODUCT_TABLES) <= set(sa.inspect(engine).get_table_names())


def test_upgrade_at_head_does_nothing(engine):
    with engine.begin() as connection:
        upgrade_product_tables(connection)
    with engine.begin() as connection:
        assert upgrade_product_tables(connection) == ("0005", "0005")


def test_upgrade_from_0004_adds_filter_table(engine):
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0004")
        connection.execute(
            sa.text(
                "INSERT INTO reprise_run (run_id, started_at, status) "
                "VALUES ('run-0001', '2008-10-20T09:30:00+00:00', 'success')"
            )
        )
    assert not sa.inspect(engine).has_table("reprise_filtre")

    with engine.begin() as connection:
        assert upgrade_product_tables(connection) == ("0004", "0005")

    with engine.connect() as connection:
        assert compare_tables(connection, build_product_metadata()) == []
        runs = connection.execute(sa.text("SELECT run_id FROM reprise_run")).scalars().all()
        filtered = connection.execute(sa.text("SELECT count(*) FROM reprise_filtre")).scalar()
    assert runs == ["run-0001"]
    assert filtered == 0


def test_downgrade_to_0004_drops_filter_table_only(engine):
    with engine.begin() as connection:
        upgrade_product_tables(connection)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0004")

    with engine.connect() as connection:
        assert current_revision(connection) == "0004"
        problems = compare_tables(connection, build_product_metadata())
    assert problems == ["table reprise_filtre is missing"]


def test_release_0_1_0_database_matches_revision_0001(engine):
    restore_release_0_1_0(engine)

    assert sorted(compare_database(engine, SCHEMA)) == release_0_1_0_differences(engine)
    assert not version_table_exists(engine)


def test_downgrade_to_0001_gives_release_0_1_0_tables(engine):
    with engine.begin() as connection:
        upgrade_product_tables(connection)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    metadata = build_product_metadata()

    with engine.connect() as connection:
        assert current_revision(connection) == "0001"
        problems = compare_tables(connection, metadata)
    assert sorted(problems) == release_0_1_0_differences(engine)


def test_load_upgrades_release_0_1_0_database(engine):
    restore_release_0_1_0(engine)
    with engine.connect() as connection:
        old_run = connection.execute(
            sa.text("SELECT run_id, status, summary_json FROM reprise_run")
        ).one()

    result = load_sample(engine, run_id="run-0002")

    with engine.connect() as connection:
        assert current_revision(connection) == "0005"
    assert compare_database(engine, SCHEMA) == []
    for table, frame in target_frames().items():
        assert result.changes[table]["unchanged"] == len(frame), table
        assert result.changes[table]["added"] == 0, table
    content = read_tables(engine, SCHEMA)
    assert [row[0] for row in content["reprise_run"]] == ["run-0001", "run-0002"]
    first_run = content["reprise_run"][0]
    assert (first_run[0], first_run[3], first_run[8]) == tuple(old_run)
    assert sorted(row[1] for row in content["reprise_rejet"]) == ["run-0001"] * 2 + ["run-0002"] * 2


def test_failed_load_rolls_back_upgrade(engine):
    restore_release_0_1_0(engine)
    frames = target_frames()
    frames["droit"].loc[2, "id_decision"] = "DC9999"

    with pytest.raises(TargetError, match="foreign key fk_droit_id_decision is violated"):
        load_sample(engine, run_id="run-0002", frames=frames)

    assert not version_table_exists(engine)
    assert sorted(compare_database(engine, SCHEMA)) == release_0_1_0_differences(engine)


def test_unknown_revision_raises(engine):
    load_sample(engine)
    with engine.begin() as connection:
        connection.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '0099'"))

    with pytest.raises(TargetError) as error:
        load_sample(engine, run_id="run-0002")

    message = str(error.value)
    assert "are at revision 0099, which this release of mdph-reprise does not know" in message
    assert "it knows up to 0005" in message


def test_product_tables_without_version_raise(engine):
    load_sample(engine)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP TABLE {VERSION_TABLE}"))

    with pytest.raises(TargetError) as error:
        load_sample(engine, run_id="run-0002")

    message = str(error.value)
    assert "reprise_chargement" in message
    assert f"but no {VERSION_TABLE} table, so their revision is unknown" in message


@pytest.mark.postgres
def test_lineage_keys_compare_as_bytes_on_postgresql(postgres_engine):
    """Revision 0003 gives the lineage key columns the binary collation, and 0002 takes it back."""

    def collations(connection) -> dict[str, str | None]:
        rows = connection.execute(
            sa.text(
                "SELECT column_name, collation_name FROM information_schema.columns "
                "WHERE table_name = 'reprise_lignage'"
            )
        )
        return dict(rows.all())

    with postgres_engine.begin() as connection:
        upgrade_product_tables(connection)
        after = collations(connection)
        command.downgrade(alembic_config(connection), "0002")
        before = collations(connection)

    assert {name for name, collation in after.items() if collation == "C"} == {
        "target_table",
        "target_key",
        "application",
        "source_table",
        "run_id",
    }
    assert all(collation != "C" for collation in before.values())
    assert compare_database(postgres_engine, SCHEMA, tables=["reprise_lignage"]) != []


@pytest.mark.postgres
def test_load_count_comments_on_postgresql(postgres_engine):
    """Revision 0004 gives the load counts the comments of product_tables.py, 0003 the former."""
    columns = {column.name: column for column in PRODUCT_TABLES["reprise_chargement"].columns}

    def comments(connection) -> dict[str, str | None]:
        found = sa.inspect(connection).get_columns("reprise_chargement")
        return {column["name"]: column["comment"] for column in found}

    with postgres_engine.begin() as connection:
        upgrade_product_tables(connection)
        after = comments(connection)
        command.downgrade(alembic_config(connection), "0003")
        before = comments(connection)

    for name in ("unchanged", "kept"):
        assert after[name] == columns[name].description, name
        assert before[name] != after[name], name
    assert before["unchanged"] == "rows left as they were, delivered again or not concerned"
