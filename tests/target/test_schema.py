"""Tests of the target schema: YAML loading and checks, table order, SQL tables."""

from __future__ import annotations

import textwrap

import pytest
import sqlalchemy as sa

from migration.target.errors import TargetError
from migration.target.model import ForeignKey, TargetColumn, TargetSchema, TargetTable
from migration.target.product_tables import PRODUCT_TABLES
from migration.target.schema import (
    build_metadata,
    dump_target_schema,
    load_target_schema,
)


def write_schema(tmp_path, text: str):
    path = tmp_path / "schema.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


MINIMAL = """\
name: test_schema
version: "1"
code_lists:
  OUI_NON: {"O": oui, "N": non}
tables:
  parent:
    primary_key: [id]
    columns:
      - {name: id, type: text, length: 8, nullable: false}
  child:
    primary_key: [id]
    foreign_keys:
      - {columns: [parent_id], references: {table: parent, columns: [id]}}
    columns:
      - {name: id, type: text, length: 8, nullable: false}
      - {name: parent_id, type: text, length: 8}
      - {name: flag, type: text, length: 1, code_list: OUI_NON}
      - {name: amount, type: decimal, precision: 6, scale: 2}
"""


def test_reference_schema_loads():
    schema = load_target_schema()

    assert schema.name == "mdph_reference"
    assert schema.version == "1.0"
    assert {"individu", "dossier", "demande", "decision", "droit"} <= set(schema.tables)
    assert schema.code_lists["SEXE"]["2"] == "féminin"
    nir = schema.tables["individu"].column("nir")
    assert nir.personal is True
    assert nir.description == "NIR avec sa clé, seulement s'il est valide"


def test_reference_table_order_puts_parents_first():
    schema = load_target_schema()
    order = schema.table_order()

    assert sorted(order) == sorted(schema.tables)
    for table in schema.tables.values():
        for fk in table.foreign_keys:
            assert order.index(fk.ref_table) < order.index(table.name), (table.name, fk)


def test_table_order_is_deterministic_and_ignores_self_reference():
    def table(name, *parents):
        return TargetTable(
            name=name,
            description=None,
            columns=[TargetColumn("id", "text", nullable=False)],
            primary_key=["id"],
            foreign_keys=[ForeignKey(["id"], parent, ["id"]) for parent in parents],
        )

    tables = [table("c", "b"), table("b", "a", "b"), table("a"), table("d")]
    schema = TargetSchema("s", "1", {}, {t.name: t for t in tables})

    assert schema.table_order() == ["a", "d", "b", "c"]


def test_table_order_rejects_cycle():
    def table(name, parent):
        return TargetTable(
            name=name,
            description=None,
            columns=[TargetColumn("id", "text", nullable=False)],
            primary_key=["id"],
            foreign_keys=[ForeignKey(["id"], parent, ["id"])],
        )

    schema = TargetSchema("s", "1", {}, {"a": table("a", "b"), "b": table("b", "a")})

    with pytest.raises(TargetError, match="tables a, b form a cycle"):
        schema.table_order()


def test_schema_yaml_round_trip(tmp_path):
    schema = load_target_schema()
    path = tmp_path / "copy.yaml"

    dump_target_schema(schema, path)
    again = load_target_schema(path)

    assert again == schema


def test_minimal_schema_loads(tmp_path):
    schema = load_target_schema(write_schema(tmp_path, MINIMAL))

    child = schema.tables["child"]
    assert child.foreign_keys == [ForeignKey(["parent_id"], "parent", ["id"])]
    assert child.column("amount").precision == 6
    assert child.column("amount").scale == 2
    assert child.column("flag").nullable is True
    assert child.column("flag").personal is False


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("type: decimal", "type: money", "table 'child', column 'amount': unknown type 'money'"),
        ("type: text, length: 1", "type: txt, length: 1", "did you mean 'text'?"),
        ("code_list: OUI_NON", "code_list: OUINON", "unknown code list 'OUINON'"),
        ('{"O": oui, "N": non}', "{1: oui, 2: non}", 'code 1 is not a string; quote it ("1")'),
        (
            "table: parent, columns: [id]",
            "table: parents, columns: [id]",
            "unknown table 'parents'",
        ),
        ("columns: [parent_id]", "columns: [parent]", "unknown column 'parent'"),
        ("length: 8, nullable: false}\n  child", "length: 8}\n  child", "declare it nullable"),
        ("length: 1,", "lenght: 1,", "unknown key 'lenght'; did you mean 'length'?"),
        ("precision: 6, scale: 2", "precision: 6", "needs scale"),
        ("precision: 6, scale: 2", "precision: 2, scale: 6", "scale 6 is larger than precision 2"),
        ('version: "1"', "version: 1", "version: must be a string"),
        ("length: 1, code_list", "length: 0, code_list", "length must be a positive integer"),
        ("{name: flag, type: text, length: 1", "{name: flag, type: date, length: 1", "length"),
        ("parent:\n", "reprise_run:\n", "reserved for a table of mdph-reprise"),
        (
            "{name: flag, type: text, length: 1, code_list: OUI_NON}",
            "{name: flag, type: text, length: 1, code_list: OUI_NON, description: a, b}",
            "quote a value that contains a comma",
        ),
        (
            "{name: parent_id, type: text, length: 8}",
            "{name: parent_id, type: integer}",
            "column 'parent_id' is integer but parent.id is text",
        ),
        (
            "{name: amount, type: decimal, precision: 6, scale: 2}",
            "{name: id, type: decimal, precision: 6, scale: 2}",
            "column 'id': declared twice",
        ),
        (
            '{"O": oui, "N": non}',
            '{"OUI": oui, "N": non}',
            "longer than the column length 1",
        ),
    ],
)
def test_invalid_schema_names_file_table_and_column(tmp_path, old, new, expected):
    assert old in MINIMAL
    path = write_schema(tmp_path, MINIMAL.replace(old, new, 1))

    with pytest.raises(TargetError) as error:
        load_target_schema(path)

    message = str(error.value)
    assert str(path) in message
    assert expected in message


def test_invalid_schema_lists_every_problem(tmp_path):
    text = MINIMAL.replace("type: decimal", "type: money")
    text = text.replace("code_list: OUI_NON", "code_list: NOPE")
    path = write_schema(tmp_path, text)

    with pytest.raises(TargetError) as error:
        load_target_schema(path)

    message = str(error.value)
    assert "2 problems" in message
    assert "unknown type 'money'" in message
    assert "unknown code list 'NOPE'" in message


def test_schema_file_not_found(tmp_path):
    with pytest.raises(TargetError, match="target schema file not found: .*absent.yaml"):
        load_target_schema(tmp_path / "absent.yaml")


def test_schema_invalid_yaml_names_line(tmp_path):
    path = write_schema(tmp_path, "name: x\ntables: [unclosed\n")

    with pytest.raises(TargetError, match=r"schema.yaml, line 3, column 1: invalid YAML"):
        load_target_schema(path)


def test_schema_not_a_mapping(tmp_path):
    path = write_schema(tmp_path, "- a\n- b\n")

    with pytest.raises(TargetError, match="must contain a mapping"):
        load_target_schema(path)


def test_metadata_has_target_and_product_tables():
    schema = load_target_schema()
    metadata = build_metadata(schema)

    assert set(metadata.tables) == set(schema.tables) | set(PRODUCT_TABLES)
    droit = metadata.tables["droit"]
    assert droit.primary_key.name == "pk_droit"
    assert {fk.name for fk in droit.foreign_key_constraints} == {"fk_droit_id_decision"}
    assert droit.c.id_decision.nullable is False
    assert droit.dialect_options["sqlite"]["strict"] is True


def reflect_and_compare(engine, schema):
    metadata = build_metadata(schema)
    metadata.create_all(engine)
    inspector = sa.inspect(engine)

    for name, table in schema.tables.items():
        columns = {column["name"]: column for column in inspector.get_columns(name)}
        assert list(columns) == table.column_names, name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, (name, column.name)
        assert inspector.get_pk_constraint(name)["constrained_columns"] == table.primary_key
        found = sorted(
            (fk["constrained_columns"], fk["referred_table"], fk["referred_columns"])
            for fk in inspector.get_foreign_keys(name)
        )
        expected = sorted((fk.columns, fk.ref_table, fk.ref_columns) for fk in table.foreign_keys)
        assert found == expected, name
    return inspector


def test_sqlite_tables_match_schema(sqlite_engine):
    schema = load_target_schema()
    reflect_and_compare(sqlite_engine, schema)

    with sqlite_engine.connect() as connection:
        sql = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'individu'"
        ).scalar()
    assert sql.rstrip().endswith("STRICT")
    assert "ck_individu_nom_naissance_length CHECK (length(nom_naissance) <= 60)" in sql


@pytest.mark.postgres
def test_postgresql_tables_match_schema(postgres_engine):
    schema = load_target_schema()
    inspector = reflect_and_compare(postgres_engine, schema)

    columns = {column["name"]: column for column in inspector.get_columns("droit")}
    assert str(columns["montant_mensuel"]["type"]) == "NUMERIC(10, 2)"
    assert str(columns["id_droit"]["type"]) == "VARCHAR(32)"
    assert str(columns["date_debut"]["type"]) == "DATE"
