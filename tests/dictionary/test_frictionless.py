"""Data Package export and import: the same model comes back, standard properties are right."""

from __future__ import annotations

import json
import re

import pytest

from migration.dictionary.errors import DictionaryError, DictionaryImportError
from migration.dictionary.frictionless import (
    from_data_package,
    read_data_package,
    to_data_package,
    write_data_package,
)
from migration.dictionary.model import load_dictionary
from migration.dictionary.writer import write_dictionary

from .helpers import assert_same_dictionary


def test_data_package_round_trip_gives_bundled_model(tmp_path, bundled):
    path = write_data_package(bundled, tmp_path / "datapackage.json")
    out = tmp_path / "imported.yaml"
    imported = write_dictionary(read_data_package(path), out, source=str(path))
    assert_same_dictionary(bundled, imported)
    assert_same_dictionary(bundled, load_dictionary(out))


def test_package_is_plain_json(bundled):
    package = to_data_package(bundled)
    assert json.loads(json.dumps(package)) == package


def test_resource_names_follow_version_1_pattern(bundled):
    names = [resource["name"] for resource in to_data_package(bundled)["resources"]]
    assert all(re.fullmatch(r"[-a-z0-9._/]+", name) for name in names)
    assert len(set(names)) == len(names)


def _resource(package, title):
    return next(resource for resource in package["resources"] if resource["title"] == title)


def _field(resource, name):
    return next(field for field in resource["schema"]["fields"] if field["name"] == name)


def test_field_types_and_constraints():
    itac = load_dictionary("itac")
    package = to_data_package(itac)
    dossier = _resource(package, "DOSSIER")
    origin = _field(dossier, "ORIGINE_HANDICAP")
    assert origin["type"] == "string"
    assert origin["constraints"]["enum"] == ["01", "02", "03", "04", "09"]
    assert origin["categories"][0] == {"value": "01", "label": "maladie"}
    number = _field(dossier, "NUM_DOSSIER")
    assert number["type"] == "string"
    assert number["constraints"] == {"required": True, "maxLength": 10}
    birth = _field(dossier, "DATE_NAISSANCE")
    assert birth["type"] == "date"
    assert birth["format"] == "%d/%m/%Y"
    assert birth["missingValues"] == ["", "00/00/0000"]
    assert birth["mdph"]["personal"] is True
    conclusion = _resource(package, "CONCLUSION")
    amount = _field(conclusion, "MONTANT_PRIME")
    assert amount["type"] == "number"
    assert amount["decimalChar"] == ","
    assert (amount["mdph"]["precision"], amount["mdph"]["scale"]) == (8, 2)
    assert _field(conclusion, "DUREE_MOIS")["type"] == "integer"
    assert conclusion["schema"]["primaryKey"] == ["NUM_CONCLUSION"]
    assert conclusion["schema"]["foreignKeys"][0] == {
        "fields": ["NUM_DEMANDE"],
        "reference": {"resource": "demande", "fields": ["NUM_DEMANDE"]},
    }
    assert conclusion["path"] == "CONCLUSION.csv"
    assert conclusion["encoding"] == "cp1252"
    assert conclusion["dialect"]["delimiter"] == ";"


def test_tagged_reference_file_dialect():
    package = to_data_package(load_dictionary("opales"))
    finess = _resource(package, "FINESS_STRUCTURE")
    assert finess["dialect"]["header"] is False
    assert finess["dialect"]["commentRows"] == [1]
    assert finess["mdph"]["record_tag"] == "structureet"


FOREIGN_PACKAGE = {
    "name": "vendor",
    "title": "OPALES",
    "version": "3",
    "resources": [
        {
            "name": "enfant",
            "path": "enfant.csv",
            "schema": {
                "fields": [
                    {"name": "id", "type": "string", "constraints": {"required": True}},
                    {
                        "name": "sexe",
                        "type": "string",
                        "categories": [{"value": "M", "label": "masculin"}, "F"],
                    },
                    {"name": "ne_le", "type": "date"},
                    {"name": "rang", "type": "integer"},
                ],
                "primaryKey": "id",
            },
        },
        {
            "name": "demande",
            "path": "demande.csv",
            "dialect": {"delimiter": ";", "commentRows": [1], "headerRows": [2]},
            "encoding": "cp1252",
            "schema": {
                "fields": [
                    {"name": "id", "type": "string"},
                    {"name": "enfant", "type": "string"},
                    {"name": "montant", "type": "number", "decimalChar": ","},
                ],
                "foreignKeys": [
                    {"fields": "enfant", "reference": {"resource": "enfant", "fields": "id"}}
                ],
            },
        },
    ],
}


def test_foreign_package_reads_standard_properties(tmp_path):
    document = from_data_package(json.loads(json.dumps(FOREIGN_PACKAGE)))
    imported = write_dictionary(document, tmp_path / "vendor.yaml")
    assert imported.application == "OPALES"
    child = imported.tables["enfant"]
    assert child.encoding == "utf-8"
    assert child.delimiter == ","
    assert child.primary_key == ("id",)
    assert child.column("id").nullable is False
    assert child.column("sexe").type == "code"
    assert imported.code_lists["enfant_sexe"] == {"M": "masculin", "F": ""}
    assert child.column("ne_le").date_formats == ("%Y-%m-%d",)
    demand = imported.tables["demande"]
    assert demand.skip_lines == 1
    assert demand.encoding == "cp1252"
    assert demand.column("montant").type == "decimal"
    assert demand.foreign_keys[0].ref_table == "enfant"


def test_unsupported_properties_are_findings():
    package = json.loads(json.dumps(FOREIGN_PACKAGE))
    fields = package["resources"][0]["schema"]["fields"]
    fields.append({"name": "actif", "type": "boolean"})
    fields[2]["format"] = "any"
    package["resources"][1]["schema"]["fields"][2].pop("decimalChar")
    with pytest.raises(DictionaryImportError) as raised:
        from_data_package(package, source="vendor.json")
    assert [str(finding) for finding in raised.value.findings] == [
        'vendor.json, resources[0].schema.fields[2].format: format "any" would make the '
        "product guess dates; give the pattern, like %d/%m/%Y",
        "vendor.json, resources[0].schema.fields[4].type: field type 'boolean' has no "
        "dictionary type; use string, integer, number or date (string keeps any value as text)",
        "vendor.json, resources[1].schema.fields[2].decimalChar: decimals are read with a "
        'decimal comma; set "decimalChar": "," or type string',
    ]
    assert raised.value.exit_code == 1


def test_non_string_code_is_a_finding():
    package = json.loads(json.dumps(FOREIGN_PACKAGE))
    package["resources"][0]["schema"]["fields"][1] = {
        "name": "sexe",
        "type": "string",
        "constraints": {"enum": ["1", 2]},
    }
    with pytest.raises(DictionaryImportError) as raised:
        from_data_package(package)
    assert [finding.pointer for finding in raised.value.findings] == [
        "resources[0].schema.fields[1].constraints.enum"
    ]


def test_invalid_json_names_line(tmp_path):
    path = tmp_path / "datapackage.json"
    path.write_text('{\n  "resources": [,]\n}\n', encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"line 2, column 17: invalid JSON"):
        read_data_package(path)
