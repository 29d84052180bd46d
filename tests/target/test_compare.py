"""Tests of the comparison between an existing database and the target schema."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

from migration.target.compare import compare_database
from migration.target.errors import TargetError
from migration.target.schema import (
    build_metadata,
    load_target_schema,
    schema_from_dict,
    schema_to_dict,
)
from migration.target.versioning import upgrade_product_tables
from tests.target.test_load import load_sample

SCHEMA = load_target_schema()


def drifted_schema():
    """The reference schema with the kinds of drift an older or hand-edited database has."""
    data = schema_to_dict(SCHEMA)
    tables = data["tables"]
    individu = {column["name"]: column for column in tables["individu"]["columns"]}
    individu["sexe"]["length"] = 2
    del individu["nom_naissance"]["nullable"]
    del tables["adresse"]["foreign_keys"]
    tables["dossier"]["columns"].append({"name": "remarque", "type": "text"})
    del tables["scolarisation"]
    return schema_from_dict(data)


def create_tables(engine, schema) -> None:
    metadata = build_metadata(schema)
    with engine.begin() as connection:
        upgrade_product_tables(connection)
        metadata.create_all(
            connection, tables=[metadata.tables[name] for name in schema.table_order()]
        )


def test_loaded_database_matches(engine):
    load_sample(engine)

    assert compare_database(engine, SCHEMA) == []


def test_drift_is_listed(engine):
    create_tables(engine, drifted_schema())

    problems = compare_database(engine, SCHEMA)

    if engine.dialect.name == "postgresql":
        sexe = "table individu, column sexe: type VARCHAR(2) in the database, VARCHAR(1) expected"
    else:
        sexe = (
            "table individu: CHECK constraint ck_individu_sexe_length is (length(sexe) <= 2) "
            "in the database, (length(sexe) <= 1) expected"
        )
    assert problems == [
        "table individu, column nom_naissance: NULL in the database, NOT NULL expected",
        sexe,
        "table adresse: foreign key (id_individu) -> individu (id_individu) is missing",
        "table dossier: column remarque is not in the target schema",
        "table scolarisation is missing",
    ]


def test_tables_argument_limits_comparison(engine):
    create_tables(engine, drifted_schema())

    problems = compare_database(engine, SCHEMA, tables=["dossier", "demande"])

    assert problems == ["table dossier: column remarque is not in the target schema"]


def test_sqlite_table_not_strict_is_listed(sqlite_engine):
    table = build_metadata(SCHEMA).tables["etablissement_scolaire"]
    ddl = str(CreateTable(table).compile(dialect=sqlite_engine.dialect)).replace("STRICT", "")
    with sqlite_engine.begin() as connection:
        connection.exec_driver_sql(ddl)

    problems = compare_database(sqlite_engine, SCHEMA, tables=["etablissement_scolaire"])

    assert problems == [
        "table etablissement_scolaire: not a STRICT table, so SQLite would store values of any type"
    ]


def test_missing_check_constraint_is_listed(sqlite_engine):
    table = build_metadata(SCHEMA).tables["etablissement_scolaire"]
    ddl = str(CreateTable(table).compile(dialect=sqlite_engine.dialect))
    ddl = ddl.replace(
        "CONSTRAINT ck_etablissement_scolaire_uai_length CHECK (length(uai) <= 8), ", ""
    )
    with sqlite_engine.begin() as connection:
        connection.exec_driver_sql(ddl)

    problems = compare_database(sqlite_engine, SCHEMA, tables=["etablissement_scolaire"])

    assert problems == [
        "table etablissement_scolaire: CHECK constraint ck_etablissement_scolaire_uai_length "
        "is missing"
    ]


def test_load_into_drifted_database_raises(engine):
    create_tables(engine, drifted_schema())
    before = sorted(sa.inspect(engine).get_table_names())

    with pytest.raises(TargetError) as error:
        load_sample(engine)

    message = str(error.value)
    assert "does not match target schema mdph_reference 1.0, 5 differences:\n" in message
    assert "\n  - table scolarisation is missing\n" in message
    assert "\n  - table dossier: column remarque is not in the target schema\n" in message
    assert message.endswith("nothing was loaded")
    assert sorted(sa.inspect(engine).get_table_names()) == before
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM reprise_run")).scalar()
    assert count == 0
