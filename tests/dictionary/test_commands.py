"""The `dictionary import` and `dictionary export` commands, through their argument parser."""

from __future__ import annotations

import argparse
import json

import openpyxl
import pytest

from migration.dictionary.commands import add_dictionary_parser
from migration.dictionary.errors import DictionaryError
from migration.dictionary.model import load_dictionary

from .helpers import FIXTURES, assert_same_dictionary


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="mdph-reprise")
    add_dictionary_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["dictionary", *argv])
    return args.handler(args)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".json"])
def test_export_then_import_gives_bundled_model(tmp_path, capsys, suffix):
    exported = tmp_path / f"itac{suffix}"
    assert _run("export", "itac", "--out", str(exported)) == 0
    assert str(exported) in capsys.readouterr().out
    out = tmp_path / "itac.yaml"
    assert _run("import", str(exported), "--out", str(out)) == 0
    assert capsys.readouterr().out.startswith(f"{out}: ITAC dictionary, 7 tables")
    assert_same_dictionary(load_dictionary("itac"), load_dictionary(out))


def test_export_yaml_is_canonical(tmp_path):
    out = tmp_path / "opales.yaml"
    assert _run("export", "opales", "--out", str(out)) == 0
    assert_same_dictionary(load_dictionary("opales"), load_dictionary(out))


def test_import_with_findings_writes_nothing(tmp_path, capsys):
    workbook_path = tmp_path / "itac.xlsx"
    _run("export", "itac", "--out", str(workbook_path))
    workbook = openpyxl.load_workbook(workbook_path)
    workbook["columns"]["D2"] = "texte"
    workbook.save(workbook_path)
    out = tmp_path / "itac.yaml"
    assert _run("import", str(workbook_path), "--out", str(out)) == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors[0].startswith(f"{workbook_path}, sheet columns, row 2, column D (type): ")
    assert errors[-1] == f"{workbook_path}: 1 problem(s); {out} was not written"
    assert not out.exists()


def test_import_reports_model_rejection(tmp_path, capsys):
    package_path = tmp_path / "datapackage.json"
    _run("export", "itac", "--out", str(package_path))
    package = json.loads(package_path.read_text(encoding="utf-8"))
    demand = next(item for item in package["resources"] if item["title"] == "DEMANDE")
    demand["schema"]["foreignKeys"][0]["reference"]["fields"] = ["NUMERO"]
    package_path.write_text(json.dumps(package), encoding="utf-8")
    out = tmp_path / "itac.yaml"
    assert _run("import", str(package_path), "--out", str(out)) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        f"{package_path}: table DEMANDE, foreign key NUM_DOSSIER: NUMERO is not a column of DOSSIER"
    )
    assert not out.exists()


def test_import_application_option(tmp_path):
    out = tmp_path / "example.yaml"
    columns = FIXTURES / "example_columns.csv"
    assert _run("import", str(columns), "--out", str(out), "--application", "ESSAI") == 0
    assert load_dictionary(out).application == "ESSAI"


def test_import_missing_file_is_unusable_input(tmp_path):
    with pytest.raises(DictionaryError) as raised:
        _run("import", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "x.yaml"))
    assert raised.value.exit_code == 2
    assert "cannot read the columns file" in str(raised.value)


def test_export_unknown_suffix_is_rejected(tmp_path):
    with pytest.raises(DictionaryError, match=r"unknown format \.ods"):
        _run("export", "itac", "--out", str(tmp_path / "itac.ods"))


def test_import_codes_option_rejected_for_workbook(tmp_path):
    workbook_path = tmp_path / "itac.xlsx"
    _run("export", "itac", "--out", str(workbook_path))
    with pytest.raises(DictionaryError, match="only apply to CSV files"):
        _run(
            "import",
            str(workbook_path),
            "--out",
            str(tmp_path / "x.yaml"),
            "--codes",
            str(FIXTURES / "example_codes.csv"),
        )
