"""Dictionaries written as CSV or XLSX sheets import to the same model as the bundled YAML."""

from __future__ import annotations

import csv
import shutil

import openpyxl
import pytest

from migration.dictionary.errors import DictionaryError, DictionaryImportError
from migration.dictionary.model import load_dictionary
from migration.dictionary.sheets import HEADERS, csv_companions, export_sheets, read_sheets
from migration.dictionary.writer import write_dictionary

from .helpers import FIXTURES, assert_same_dictionary


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_sheet_round_trip_gives_bundled_model(tmp_path, bundled, suffix):
    sheet = tmp_path / f"{bundled.application.lower()}{suffix}"
    written = export_sheets(bundled, sheet)
    assert written[0] == sheet
    out = tmp_path / "imported.yaml"
    imported = write_dictionary(read_sheets(sheet), out, source=str(sheet))
    assert_same_dictionary(bundled, imported)
    assert_same_dictionary(bundled, load_dictionary(out))


def test_csv_export_writes_companions(tmp_path, bundled):
    written = export_sheets(bundled, tmp_path / "dico_columns.csv")
    assert [path.name for path in written] == [
        "dico_columns.csv",
        "dico_codes.csv",
        "dico_tables.csv",
        "dico_checks.csv",
        "dico_about.csv",
    ]
    first_line = written[0].read_bytes().splitlines()[0]
    assert first_line == b"\xef\xbb\xbf" + ";".join(HEADERS["columns"]).encode()


def test_xlsx_export_stores_codes_as_text(tmp_path):
    itac = load_dictionary("itac")
    path = tmp_path / "itac.xlsx"
    export_sheets(itac, path)
    codes = openpyxl.load_workbook(path)["codes"]
    origin = [row for row in codes.iter_rows(min_row=2) if row[0].value == "ORIGINE_HANDICAP"]
    assert [row[1].value for row in origin] == list(itac.code_lists["ORIGINE_HANDICAP"])
    assert all(row[1].data_type == "s" and row[1].number_format == "@" for row in origin)


def test_hand_made_example_imports_to_expected_model(tmp_path):
    document = read_sheets(FIXTURES / "example_columns.csv")
    imported = write_dictionary(document, tmp_path / "example.yaml")
    assert_same_dictionary(load_dictionary(FIXTURES / "example.yaml"), imported)
    assert imported.tables["AVIS"].primary_key == ("NUM_DEMANDE", "RANG")
    assert imported.code_lists["ORIGINE_HANDICAP"]["01"] == "maladie"


def test_example_as_workbook_imports_to_expected_model(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for kind in HEADERS:
        source = FIXTURES / f"example_{kind}.csv"
        sheet = workbook.create_sheet(kind)
        with source.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle, delimiter=";"):
                sheet.append(row)
    path = tmp_path / "example.xlsx"
    workbook.save(path)
    imported = write_dictionary(read_sheets(path), tmp_path / "example.yaml")
    assert_same_dictionary(load_dictionary(FIXTURES / "example.yaml"), imported)


def test_columns_file_alone_with_application(tmp_path):
    columns = tmp_path / "dico.csv"
    columns.write_text(
        "table,file,column,type,length,nullable,primary_key\n"
        "PERSONNE,PERSONNE.csv,ID,text,8,no,yes\n"
        "PERSONNE,PERSONNE.csv,NE_LE,date,,,\n",
        encoding="utf-8",
    )
    imported = write_dictionary(read_sheets(columns, application="ITAC"), tmp_path / "dico.yaml")
    table = imported.tables["PERSONNE"]
    assert imported.application == "ITAC"
    assert table.file == "PERSONNE.csv"
    assert table.primary_key == ("ID",)
    assert table.column("NE_LE").date_formats == ("%d/%m/%Y",)
    assert table.column("ID").nullable is False


def test_explicit_companion_files(tmp_path):
    for kind in ("columns", "codes", "tables", "checks", "about"):
        shutil.copy(FIXTURES / f"example_{kind}.csv", tmp_path / f"other_{kind}.csv")
    columns = tmp_path / "renamed.csv"
    (tmp_path / "other_columns.csv").rename(columns)
    assert not any(path.exists() for path in csv_companions(columns).values())
    document = read_sheets(
        columns,
        codes=tmp_path / "other_codes.csv",
        tables=tmp_path / "other_tables.csv",
        checks=tmp_path / "other_checks.csv",
        about=tmp_path / "other_about.csv",
    )
    imported = write_dictionary(document, tmp_path / "example.yaml")
    assert_same_dictionary(load_dictionary(FIXTURES / "example.yaml"), imported)


def _findings(**kwargs) -> list[str]:
    with pytest.raises(DictionaryImportError) as raised:
        read_sheets(**kwargs)
    return [str(finding) for finding in raised.value.findings]


def _example_workbook(tmp_path):
    path = tmp_path / "itac.xlsx"
    export_sheets(load_dictionary("itac"), path)
    return path, openpyxl.load_workbook(path)


def _row_of(sheet, column: int, value: str) -> int:
    return next(row[0].row for row in sheet.iter_rows(min_row=2) if row[column].value == value)


def test_numeric_code_cell_is_reported(tmp_path):
    path, workbook = _example_workbook(tmp_path)
    codes = workbook["codes"]
    row = _row_of(codes, 1, "01")
    codes.cell(row=row, column=2, value=1)
    workbook.save(path)
    assert _findings(path=path) == [
        f"{path}, sheet codes, row {row}, column B (code): the cell holds the number 1, not "
        "text, so a code such as 01 may have lost its leading zero; format the cell as Text "
        "and type the value again"
    ]


def test_numeric_length_cell_is_accepted(tmp_path):
    path, workbook = _example_workbook(tmp_path)
    columns = workbook["columns"]
    row = _row_of(columns, 2, "NUM_DOSSIER")
    columns.cell(row=row, column=HEADERS["columns"].index("length") + 1, value=10)
    workbook.save(path)
    imported = write_dictionary(read_sheets(path), tmp_path / "itac.yaml")
    assert imported.tables["DOSSIER"].column("NUM_DOSSIER").length == 10


def test_missing_header_names_sheet_and_row(tmp_path):
    path, workbook = _example_workbook(tmp_path)
    workbook["columns"].cell(row=1, column=HEADERS["columns"].index("type") + 1).value = None
    workbook.save(path)
    with pytest.raises(DictionaryError) as raised:
        read_sheets(path)
    assert str(raised.value).startswith(
        f"{path}, sheet columns, row 1: missing column header 'type'; the header row of the "
        "columns sheet needs table, column, type"
    )
    assert raised.value.exit_code == 2


def test_unknown_type_names_cell(tmp_path):
    path, workbook = _example_workbook(tmp_path)
    columns = workbook["columns"]
    row = _row_of(columns, 2, "DUREE_MOIS")
    columns.cell(row=row, column=4, value="integr")
    workbook.save(path)
    assert _findings(path=path) == [
        f"{path}, sheet columns, row {row}, column D (type): unknown type 'integr' (did you "
        "mean 'integer'?); use one of text, code, integer, decimal, date"
    ]


def test_foreign_key_to_unknown_table_names_cell(tmp_path):
    source = FIXTURES / "example_columns.csv"
    for companion in csv_companions(source).values():
        shutil.copy(companion, tmp_path / companion.name)
    columns = tmp_path / source.name
    text = source.read_text(encoding="utf-8")
    columns.write_text(text.replace("DOSSIER.NUM_DOSSIER", "DOSIER.NUM_DOSSIER"), "utf-8")
    row = text.splitlines().index(
        next(line for line in text.splitlines() if "DOSSIER.NUM_DOSSIER" in line)
    )
    column = HEADERS["columns"].index("foreign_key") + 1
    findings = _findings(path=columns)
    assert (
        f"{columns}, row {row + 1}, column {column} (foreign_key): foreign key to unknown "
        "table 'DOSIER' (did you mean 'DOSSIER'?)"
    ) in findings


def test_several_findings_reported_together(tmp_path):
    columns = tmp_path / "dico.csv"
    columns.write_text(
        "table;file;column;type;nullable;code_list;identifier;date_formats;colour\n"
        "T;T.csv;A;code;maybe;MISSING;siret;%d/%m/%Y;red\n",
        encoding="utf-8",
    )
    findings = _findings(path=columns, application="ITAC")
    assert findings == [
        f"{columns}, row 1, column 9 (colour): unknown column header 'colour'; did you mean "
        "'column'? the columns sheet takes " + ", ".join(HEADERS["columns"]),
        f"{columns}, row 2, column 9: value in a column without a known header; remove it (in "
        "a CSV file, quote a cell that contains the delimiter)",
        f"{columns}, row 2, column 8 (date_formats): date_formats only applies to date "
        "columns; clear the cell or set the type to date",
        f"{columns}, row 2, column 5 (nullable): 'maybe' is not yes or no",
        f"{columns}, row 2, column 7 (identifier): unknown identifier kind 'siret'; use one of "
        "nir, finess, uai, insee_commune, departement, postal_code",
        f"{columns}, row 2, column 6 (code_list): code list 'MISSING' is not in a codes sheet "
        "(none found)",
    ]


def test_missing_application_is_reported(tmp_path):
    columns = tmp_path / "dico.csv"
    columns.write_text("table;file;column;type\nT;T.csv;A;text\n", encoding="utf-8")
    assert _findings(path=columns) == [
        f"{columns}: no application name; add the row 'application' to the about sheet or "
        "give --application NAME"
    ]


def test_code_with_trailing_space_is_reported(tmp_path):
    columns = tmp_path / "dico.csv"
    columns.write_text("table;file;column;type;code_list\nT;T.csv;A;code;L\n", encoding="utf-8")
    (tmp_path / "dico_codes.csv").write_text("code_list;code;label\nL;01 ;un\n", encoding="utf-8")
    assert _findings(path=columns, application="ITAC") == [
        f"{tmp_path / 'dico_codes.csv'}, row 2, column 2 (code): code '01 ' of code list L has "
        "leading or trailing spaces, which no value of a source file would match; remove them",
    ]


def test_cp1252_csv_needs_its_encoding(tmp_path):
    columns = tmp_path / "dico.csv"
    columns.write_bytes(
        "table;file;column;type;description\nT;T.csv;A;text;Numéro\n".encode("cp1252")
    )
    with pytest.raises(DictionaryError) as raised:
        read_sheets(columns, application="ITAC")
    assert str(raised.value) == (
        f"{columns}: line 2: byte 0xe9 is not valid utf-8-sig; save the file as UTF-8, or give "
        "its encoding (for example --encoding cp1252)"
    )
    document = read_sheets(columns, application="ITAC", encoding="cp1252")
    assert document["tables"]["T"]["columns"][0]["description"] == "Numéro"


def test_unknown_suffix_is_rejected(tmp_path):
    with pytest.raises(DictionaryError, match="unknown dictionary file type '.ods'"):
        read_sheets(tmp_path / "dico.ods")


def test_not_a_workbook_is_rejected(tmp_path):
    path = tmp_path / "dico.xlsx"
    path.write_text("not a zip", encoding="utf-8")
    with pytest.raises(DictionaryError, match="not a readable XLSX workbook"):
        read_sheets(path)
