"""Tests of the JSON Schema that editors and vendors use to check target schema files."""

from __future__ import annotations

import copy
import json
from importlib import resources

import jsonschema
import pytest
import yaml

from migration.target.schema_checks import check_schema_data

DATA = resources.files("migration.target").joinpath("data")


def json_schema() -> dict:
    return json.loads(DATA.joinpath("target_schema.schema.json").read_text(encoding="utf-8"))


def reference() -> dict:
    return yaml.safe_load(DATA.joinpath("mdph_reference.yaml").read_text(encoding="utf-8"))


def test_json_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(json_schema())


def test_bundled_schema_validates():
    jsonschema.Draft202012Validator(json_schema()).validate(reference())


def test_bundled_schema_points_editors_at_json_schema():
    first_line = DATA.joinpath("mdph_reference.yaml").read_text(encoding="utf-8").splitlines()[0]

    assert first_line == "# yaml-language-server: $schema=./target_schema.schema.json"


def _set(document: dict, path: list, value) -> dict:
    document = copy.deepcopy(document)
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return document


BROKEN = {
    "unquoted version": (["version"], 1.0),
    "unquoted code": (["code_lists", "SEXE"], {1: "masculin"}),
    "unknown type": (["tables", "individu", "columns", 0, "type"], "varchar"),
    "length on a date": (["tables", "individu", "columns", 5, "length"], 10),
    "decimal without scale": (
        ["tables", "droit", "columns", 4],
        {"name": "montant_mensuel", "type": "decimal", "precision": 10},
    ),
    "unknown table key": (["tables", "individu", "primary_keys"], ["id_individu"]),
    "empty primary key": (["tables", "individu", "primary_key"], []),
    "reserved table name": (["tables", "reprise_rejet"], {"primary_key": ["id"], "columns": []}),
    "invalid column name": (["tables", "individu", "columns", 0, "name"], "id individu"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_schema_fails_both_checks(case):
    path, value = BROKEN[case]
    document = _set(reference(), path, value)

    errors = list(jsonschema.Draft202012Validator(json_schema()).iter_errors(document))
    _, problems = check_schema_data(document)

    assert errors, case
    assert problems, case
