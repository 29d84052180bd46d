import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from migration.dictionary.model import load_dictionary
from migration.mapping.checks import check_mapping
from migration.mapping.language import load_mapping
from migration.target.schema import load_target_schema

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


@pytest.mark.parametrize("name", ["itac", "opales"])
def test_reference_mapping_matches_json_schema(name):
    schema = json.loads((MAPPINGS / "mapping.schema.json").read_text(encoding="utf-8"))
    document = yaml.safe_load((MAPPINGS / f"{name}.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)


@pytest.mark.parametrize("name", ["itac", "opales"])
def test_reference_mapping_passes_check(name):
    mapping = load_mapping(MAPPINGS / f"{name}.yaml")
    problems = check_mapping(mapping, load_dictionary(name), load_target_schema())
    assert [str(problem) for problem in problems] == []


def test_check_reports_unknown_column_with_suggestion(tmp_path):
    text = (MAPPINGS / "itac.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "itac.yaml"
    broken.write_text(text.replace("prenoms: {trim: PRENOMS}", "prenoms: {trim: PRENOM}", 1))
    problems = check_mapping(load_mapping(broken), load_dictionary("itac"), load_target_schema())
    assert len(problems) == 1
    line = text.splitlines().index("      prenoms: {trim: PRENOMS}") + 1
    assert str(problems[0]).endswith(
        f"itac.yaml:{line}:{len('      prenoms: {trim: ') + 1}: source table DOSSIER has no "
        "column 'PRENOM'; did you mean 'PRENOMS'?"
    )


def test_check_reports_unmapped_required_target_column(tmp_path):
    text = (MAPPINGS / "opales.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "opales.yaml"
    broken.write_text(text.replace('      typdem2: {const: "2"}\n', "", 1))
    problems = check_mapping(load_mapping(broken), load_dictionary("opales"), load_target_schema())
    assert [problem.detail for problem in problems] == [
        "target droit: required column 'typdem2' is not mapped"
    ]
