"""The YAML writer: bundled dictionaries read back unchanged, codes stay quoted strings."""

from __future__ import annotations

import pytest
import yaml

from migration.dictionary.errors import DictionaryImportError
from migration.dictionary.model import load_dictionary
from migration.dictionary.writer import (
    describe_differences,
    document_from_dictionary,
    dump_dictionary,
    write_dictionary,
)

from .helpers import assert_same_dictionary


def test_bundled_dictionary_reads_back_equal(tmp_path, bundled):
    out = tmp_path / "copy.yaml"
    written = write_dictionary(document_from_dictionary(bundled), out)
    assert_same_dictionary(bundled, written)
    assert_same_dictionary(bundled, load_dictionary(out))
    assert written.path == out


def _tricky_document() -> dict:
    codes = {"01": "zéro un", "NO": "non", "1.10": "un dix", "2008-01-01": "date", "true": "vrai"}
    return {
        "application": "TEST",
        "version": "2008.10",
        "code_lists": {"TRICKY": codes},
        "tables": {
            "T": {
                "file": "T.csv",
                "description": "a: b # not a comment",
                "columns": [
                    {"name": "C", "type": "code", "code_list": "TRICKY", "description": "- dash"},
                    {"name": "yes", "type": "text", "description": "'quoted' and \"double\""},
                ],
            }
        },
    }


def test_codes_are_written_quoted(tmp_path):
    text = dump_dictionary(_tricky_document())
    for code in ("01", "NO", "1.10", "2008-01-01", "true"):
        assert f'    "{code}": ' in text
    assert 'version: "2008.10"' in text


def test_tricky_strings_read_back_as_text(tmp_path):
    document = _tricky_document()
    written = write_dictionary(document, tmp_path / "tricky.yaml")
    assert written.code_lists["TRICKY"] == document["code_lists"]["TRICKY"]
    assert written.version == "2008.10"
    table = written.tables["T"]
    assert table.description == "a: b # not a comment"
    assert table.column("C").description == "- dash"
    assert table.column_names == ["C", "yes"]
    assert table.column("yes").description == "'quoted' and \"double\""
    loaded = yaml.safe_load((tmp_path / "tricky.yaml").read_text(encoding="utf-8"))
    assert all(isinstance(code, str) for code in loaded["code_lists"]["TRICKY"])


def test_invalid_document_is_not_written(tmp_path):
    document = _tricky_document()
    document["tables"]["T"]["foreign_keys"] = [
        {"columns": ["C"], "references": {"table": "MISSING", "columns": ["C"]}}
    ]
    out = tmp_path / "broken.yaml"
    with pytest.raises(DictionaryImportError) as raised:
        write_dictionary(document, out, source="sheet.xlsx")
    assert [str(finding) for finding in raised.value.findings] == [
        "sheet.xlsx: table T, foreign key C: unknown table MISSING"
    ]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_differences_name_table_and_column(bundled):
    other = load_dictionary(bundled.path)
    table = next(iter(other.tables.values()))
    first = table.columns[0]
    table.columns[0] = type(first)(**{**first.__dict__, "length": 999})
    assert describe_differences(bundled, other) == [
        f"table {table.name}, column {first.name}: length differs"
    ]
