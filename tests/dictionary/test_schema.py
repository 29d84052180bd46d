"""The JSON Schema of the dictionary format agrees with the bundled dictionaries and the model."""

from __future__ import annotations

import copy
import json
from importlib import resources

import jsonschema
import pytest
import yaml

from migration.dictionary.errors import DictionaryError
from migration.dictionary.model import bundled_dictionary_path, load_dictionary
from migration.dictionary.writer import document_from_dictionary

from .helpers import FIXTURES


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    path = resources.files("migration.dictionary") / "data" / "dictionary.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _bundled_document(name: str) -> dict:
    return yaml.safe_load(bundled_dictionary_path(name).read_text(encoding="utf-8"))


def _errors(validator, document) -> list[str]:
    return [error.message for error in validator.iter_errors(document)]


@pytest.mark.parametrize("name", ["itac", "opales"])
def test_bundled_dictionary_matches_schema(validator, name):
    assert _errors(validator, _bundled_document(name)) == []


def test_written_document_matches_schema(validator, bundled):
    assert _errors(validator, document_from_dictionary(bundled)) == []


def test_example_fixture_matches_schema(validator):
    document = yaml.safe_load((FIXTURES / "example.yaml").read_text(encoding="utf-8"))
    assert _errors(validator, document) == []


def _column(document, table: str, name: str) -> dict:
    return next(c for c in document["tables"][table]["columns"] if c["name"] == name)


def _unknown_type(document):
    _column(document, "DOSSIER", "NUM_DOSSIER")["type"] = "string"


def _integer_code(document):
    document["code_lists"]["ORIGINE_HANDICAP"][1] = "code written without quotes"


def _missing_file(document):
    del document["tables"]["DEMANDE"]["file"]


def _code_without_list(document):
    del _column(document, "DOSSIER", "SEXE")["code_list"]


def _unknown_identifier(document):
    _column(document, "DOSSIER", "NUM_DOSSIER")["identifier"] = "siret"


def _missing_columns(document):
    del document["tables"]["ARCHIVE"]["columns"]


def _foreign_key_without_references(document):
    del document["tables"]["DEMANDE"]["foreign_keys"][0]["references"]


def _plausibility_unknown_rule(document):
    document["tables"]["DOSSIER"]["plausibility"][0]["rule"] = "age_between"


BROKEN = {
    "unknown type": _unknown_type,
    "code not a string": _integer_code,
    "missing file": _missing_file,
    "code column without code list": _code_without_list,
    "unknown identifier kind": _unknown_identifier,
    "missing columns": _missing_columns,
    "foreign key without references": _foreign_key_without_references,
    "unknown plausibility rule": _plausibility_unknown_rule,
}


@pytest.mark.parametrize("case", BROKEN)
def test_schema_rejects_broken_dictionary(validator, case):
    document = copy.deepcopy(_bundled_document("itac"))
    BROKEN[case](document)
    assert _errors(validator, document) != []


@pytest.mark.parametrize("case", BROKEN)
def test_model_rejects_same_broken_dictionary(tmp_path, case):
    document = copy.deepcopy(_bundled_document("itac"))
    BROKEN[case](document)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DictionaryError):
        load_dictionary(path)


def test_schema_rejects_unknown_column_key(validator):
    document = copy.deepcopy(_bundled_document("itac"))
    _column(document, "DOSSIER", "NUM_DOSSIER")["nulable"] = False
    assert any("nulable" in message for message in _errors(validator, document))


def test_schema_rejects_date_formats_on_text_column(validator):
    document = copy.deepcopy(_bundled_document("itac"))
    _column(document, "DOSSIER", "NUM_DOSSIER")["date_formats"] = ["%d/%m/%Y"]
    assert _errors(validator, document) != []


def _header_as_text(document):
    document["tables"]["DOSSIER"]["header"] = "no"


def _length_as_text(document):
    _column(document, "DOSSIER", "NUM_DOSSIER")["length"] = "10"


def _sources_as_text(document):
    document["sources"] = "one source"


def _record_tag_as_number(document):
    document["tables"]["DOSSIER"]["record_tag"] = 1


LOOSER_MODEL = {
    "header as text": _header_as_text,
    "length as text": _length_as_text,
    "sources as text": _sources_as_text,
    "record tag as number": _record_tag_as_number,
}


@pytest.mark.parametrize("case", LOOSER_MODEL)
def test_model_rejects_value_of_wrong_type(validator, tmp_path, case):
    document = copy.deepcopy(_bundled_document("itac"))
    LOOSER_MODEL[case](document)
    assert _errors(validator, document) != []
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DictionaryError):
        load_dictionary(path)


def test_same_file_loaded_twice_equal_not_shared(tmp_path):
    path = tmp_path / "itac.yaml"
    path.write_bytes(bundled_dictionary_path("itac").read_bytes())

    first = load_dictionary(path)
    second = load_dictionary(path)

    assert second == first
    assert second is not first
    assert second.tables is not first.tables
    first.tables.clear()
    assert load_dictionary(path).tables == second.tables


def test_changed_file_loaded_again(tmp_path):
    path = tmp_path / "itac.yaml"
    text = bundled_dictionary_path("itac").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    first = load_dictionary(path)

    document = yaml.safe_load(text)
    document["version"] = "changed"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    second = load_dictionary(path)

    assert second.version == "changed"
    assert second.sha256 != first.sha256


def test_invalid_file_rejected_each_load(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("application: ITAC\ntables: [\n", encoding="utf-8")

    for _ in range(2):
        with pytest.raises(DictionaryError, match="broken.yaml"):
            load_dictionary(path)
