import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd

from migration.dictionary.model import Column, Dictionary, ForeignKey, Table
from migration.reading.csv_reader import LINE_COLUMN, TableRead
from migration.reading.findings import empty_findings
from migration.validation.checks import RepeatedKeys, check_foreign_keys, validate_table

CODES = {"SEXE": {"1": "masculin", "2": "féminin"}}


def _dictionary(*tables: Table) -> Dictionary:
    return Dictionary("ITAC", "1", Path("d.yaml"), "0", CODES, {t.name: t for t in tables})


def _read(table: Table, rows: list[dict]) -> TableRead:
    frame = pd.DataFrame(rows, columns=table.column_names, dtype=object)
    frame = frame.where(frame.notna(), None)
    frame[LINE_COLUMN] = pd.Series(range(2, 2 + len(rows)), dtype="int64")
    return TableRead("ITAC", table, Path(table.file), frame, empty_findings())


PERSON = Table(
    name="P",
    file="P.csv",
    primary_key=("ID",),
    columns=[
        Column("ID", nullable=False, length=3),
        Column("NE", type="date", date_formats=("%d/%m/%Y",), date_placeholders=("00/00/0000",)),
        Column("SEXE", type="code", code_list="SEXE", nullable=False),
        Column("MONTANT", type="decimal", precision=6, scale=2),
        Column("RANG", type="integer"),
    ],
)


def _rules(findings) -> list[tuple[int, str, str]]:
    return sorted(zip(findings["line"], findings["column"], findings["rule_id"], strict=True))


def test_valid_rows_convert_by_declared_type():
    read = _read(
        PERSON, [{"ID": "001", "NE": "29/02/1988", "SEXE": "1", "MONTANT": "1234,5", "RANG": "02"}]
    )
    result = validate_table(read, _dictionary(PERSON))
    assert result.findings.empty
    row = result.typed.iloc[0]
    assert row["NE"] == datetime.date(1988, 2, 29)
    assert row["MONTANT"] == Decimal("1234.5")
    assert row["RANG"] == 2
    assert row["ID"] == "001"


def test_each_bad_value_gets_its_rule():
    read = _read(
        PERSON,
        [
            {"ID": "002", "NE": "31/02/2005", "SEXE": "1"},
            {"ID": "003", "NE": "00/00/0000", "SEXE": "3"},
            {"ID": "0004", "NE": "1/2/2005", "SEXE": None, "MONTANT": "12.5", "RANG": "x"},
            {"ID": "002", "SEXE": "2", "MONTANT": "99999,99"},
        ],
    )
    result = validate_table(read, _dictionary(PERSON))
    assert _rules(result.findings) == [
        (2, "NE", "type.date"),
        (3, "NE", "type.date_placeholder"),
        (3, "SEXE", "code.unknown"),
        (4, "ID", "column.length"),
        (4, "MONTANT", "type.decimal"),
        (4, "NE", "type.date"),
        (4, "RANG", "type.integer"),
        (4, "SEXE", "column.required"),
        (5, "ID", "key.duplicate"),
        (5, "MONTANT", "type.decimal"),
    ]
    assert result.typed["NE"].iloc[1] is None


def test_severities():
    read = _read(
        PERSON,
        [
            {"ID": "001", "NE": "00/00/0000", "SEXE": "1"},
            {"ID": "002", "NE": "31/04/2004", "SEXE": "1"},
        ],
    )
    findings = validate_table(read, _dictionary(PERSON)).findings
    assert dict(zip(findings["rule_id"], findings["severity"], strict=True)) == {
        "type.date_placeholder": "warning",
        "type.date": "error",
    }


def test_scientific_notation_flagged_not_repaired():
    table = Table(name="N", file="N.csv", columns=[Column("NUM")])
    read = _read(table, [{"NUM": "2,601E+13"}, {"NUM": "26010000000000"}])
    result = validate_table(read, _dictionary(table))
    assert result.findings["rule_id"].tolist() == ["spreadsheet.scientific"]
    assert result.typed["NUM"].iloc[0] == "2,601E+13"


def test_dangling_foreign_key():
    child = Table(
        name="C",
        file="C.csv",
        columns=[Column("ID"), Column("P")],
        foreign_keys=[ForeignKey(("P",), "P", ("ID",))],
    )
    dictionary = _dictionary(PERSON, child)
    reads = {
        "P": _read(PERSON, [{"ID": "001", "SEXE": "1"}]),
        "C": _read(child, [{"ID": "1", "P": "001"}, {"ID": "2", "P": "009"}, {"ID": "3"}]),
    }
    findings = check_foreign_keys(reads, dictionary)
    assert _rules(findings) == [(3, "P", "fk.dangling")]


def test_unique_key_duplicate():
    table = Table(
        name="U",
        file="U.csv",
        primary_key=("ID",),
        unique_keys=[("NIR",)],
        columns=[Column("ID"), Column("NIR")],
    )
    read = _read(
        table, [{"ID": "1", "NIR": "a"}, {"ID": "2", "NIR": "a"}, {"ID": "3"}, {"ID": "4"}]
    )
    findings = validate_table(read, _dictionary(table)).findings
    assert _rules(findings) == [(3, "NIR", "key.unique")]


def test_duplicate_key_names_first_line():
    rows = [{"ID": "001", "SEXE": "1"}, {"ID": "002", "SEXE": "1"}, {"ID": "001", "SEXE": "2"}]
    rows.append({"ID": "001", "SEXE": "1"})
    findings = validate_table(_read(PERSON, rows), _dictionary(PERSON)).findings

    duplicates = findings[findings["rule_id"] == "key.duplicate"]
    assert duplicates["line"].tolist() == [4, 5]
    assert duplicates["value"].tolist() == ["same key as line 2", "same key as line 2"]


def test_unique_key_detail_hides_value():
    table = Table(
        name="U",
        file="U.csv",
        primary_key=("ID",),
        unique_keys=[("NIR",)],
        columns=[Column("ID"), Column("NIR", personal=True)],
    )
    rows = [{"ID": "1", "NIR": "164022A12345678"}, {"ID": "2", "NIR": "164022A12345678"}]
    findings = validate_table(_read(table, rows), _dictionary(table)).findings

    assert findings["value"].tolist() == ["same key as line 2"]
    assert "164022A12345678" not in findings["value"].tolist()


def test_repeated_keys_across_chunks():
    keys = RepeatedKeys()
    first = _read(PERSON, [{"ID": "001"}, {"ID": "002"}, {"ID": "002"}]).rows
    second = _read(PERSON, [{"ID": "003"}, {"ID": "002"}, {"ID": "001"}, {"ID": "003"}]).rows
    second[LINE_COLUMN] += 3

    in_first = keys.first_lines(first, ["ID"])
    in_second = keys.first_lines(second, ["ID"])

    assert in_first.tolist() == [pd.NA, pd.NA, 3]
    assert in_second.tolist() == [pd.NA, 3, 2, 5]


def test_repeated_keys_skip_null_keys():
    rows = _read(PERSON, [{"ID": None}, {"ID": None}, {"ID": "001"}, {"ID": "001"}]).rows

    first_lines = RepeatedKeys().first_lines(rows, ["ID"])

    assert first_lines.tolist() == [pd.NA, pd.NA, pd.NA, 4]
