import csv
from pathlib import Path

import pytest

from migration.dictionary.model import Column, Table
from migration.reading.csv_reader import LINE_COLUMN, read_table
from migration.reading.errors import ReadingError
from migration.reading.findings import finding_detail


def _table(**options) -> Table:
    columns = [Column("CODE"), Column("LIBELLE"), Column("MONTANT")]
    return Table(name="T", file="T.csv", columns=columns, **options)


def _write(tmp_path: Path, text: str, encoding: str = "cp1252") -> Path:
    path = tmp_path / "T.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_quoted_fields_keep_separator_and_line_breaks(tmp_path):
    path = _write(tmp_path, 'CODE;LIBELLE;MONTANT\r\n01;"Bât. B; 2e\r\nétage";1,5\r\n02;x;\r\n')
    read = read_table("ITAC", _table(), path)
    assert read.rows["LIBELLE"].tolist() == ["Bât. B; 2e\r\nétage", "x"]
    assert read.rows[LINE_COLUMN].tolist() == [2, 4]
    assert read.rows["MONTANT"].tolist() == ["1,5", None]
    assert read.read == 2


def test_leading_zeros_and_corsica_codes_stay_text(tmp_path):
    path = _write(tmp_path, "CODE;LIBELLE;MONTANT\r\n007;2A004;0010\r\n")
    row = read_table("ITAC", _table(), path).rows.iloc[0]
    assert (row["CODE"], row["LIBELLE"], row["MONTANT"]) == ("007", "2A004", "0010")


def test_ragged_row_is_finding_and_rest_is_read(tmp_path):
    path = _write(tmp_path, "CODE;LIBELLE;MONTANT\r\n01;a\r\n02;b;3\r\n")
    read = read_table("ITAC", _table(), path)
    assert read.rows["CODE"].tolist() == ["02"]
    assert read.findings["rule_id"].tolist() == ["csv.field_count"]
    assert read.findings["line"].tolist() == [2]
    assert read.read == 2


def test_stray_quote_is_finding_on_its_line(tmp_path):
    path = _write(tmp_path, 'CODE;LIBELLE;MONTANT\r\n01;a"b;1\r\n02;b;3\r\n')
    read = read_table("ITAC", _table(), path)
    assert read.findings["rule_id"].tolist() == ["csv.quote"]
    assert read.findings["line"].tolist() == [2]
    assert read.rows["CODE"].tolist() == ["02"]
    assert read.read == 2


def test_nul_byte_is_finding(tmp_path):
    path = _write(tmp_path, "CODE;LIBELLE;MONTANT\r\n01;a\x00;1\r\n02;b;3\r\n")
    read = read_table("ITAC", _table(), path)
    assert read.findings["rule_id"].tolist() == ["csv.nul"]
    assert read.rows["CODE"].tolist() == ["02"]


def test_header_drift_is_blocking(tmp_path):
    path = _write(tmp_path, "CODE;MONTANT;LIBELLE\r\n01;1;a\r\n")
    read = read_table("ITAC", _table(), path)
    assert len(read.blocking) == 1
    assert "another order" in read.blocking[0]


def test_missing_header_column_named(tmp_path):
    path = _write(tmp_path, "CODE;LIBELLE\r\n01;a\r\n")
    read = read_table("ITAC", _table(), path)
    assert "missing columns MONTANT" in read.blocking[0]


def test_undecodable_byte_names_file_and_line(tmp_path):
    path = tmp_path / "T.csv"
    path.write_bytes(b"CODE;LIBELLE;MONTANT\r\n01;a;1\r\n02;\x81;1\r\n")
    with pytest.raises(ReadingError, match=r"/T\.csv: line 3: byte 0x81 is not valid cp1252"):
        read_table("ITAC", _table(), path)


def test_undecodable_byte_near_skipped_lines_names_its_line(tmp_path):
    # The codec decodes a block of the file while the skipped lines are read.
    path = tmp_path / "T.csv"
    path.write_bytes(b"EXTRACTION ITAC\r\nCODE;LIBELLE;MONTANT\r\n01;a;1\r\n02;\x81;1\r\n")
    with pytest.raises(ReadingError, match=r"/T\.csv: line 4: byte 0x81 is not valid cp1252"):
        read_table("ITAC", _table(skip_lines=1), path)


def test_undecodable_byte_far_in_file_names_its_line(tmp_path):
    """The codec reads the file in blocks: the line is counted in the file, not the block."""
    rows = "".join(f"{n:06d};libellé {n};{n}\r\n" for n in range(60_000))
    path = tmp_path / "T.csv"
    path.write_bytes(b"CODE;LIBELLE;MONTANT\r\n" + rows.encode("cp1252") + b"x;\x81;1\r\n")
    with pytest.raises(ReadingError, match=r"/T\.csv: line 60002: byte 0x81 is not valid"):
        read_table("ITAC", _table(), path)


def test_utf8_file_declared_cp1252_is_rejected(tmp_path):
    """UTF-8 decodes as Windows-1252 too, into wrong letters, so it is named, not loaded."""
    path = _write(tmp_path, "CODE;LIBELLE;MONTANT\r\n01;Hélène;1\r\n", encoding="utf-8")
    with pytest.raises(ReadingError, match=r"/T\.csv: the file is UTF-8, its data dictionary"):
        read_table("ITAC", _table(), path)


def test_ascii_and_cp1252_files_are_read(tmp_path):
    for text, encoding in (("01;Helene;1", "ascii"), ("01;Hélène;1", "cp1252")):
        path = _write(tmp_path, f"CODE;LIBELLE;MONTANT\r\n{text}\r\n", encoding=encoding)
        assert read_table("ITAC", _table(), path).rows["LIBELLE"].tolist() == [text.split(";")[1]]


def test_missing_file_says_what_to_check(tmp_path):
    with pytest.raises(ReadingError, match="T.csv: table file not found in the delivery"):
        read_table("ITAC", _table(), tmp_path / "T.csv")


def test_tagged_file_keeps_its_records(tmp_path):
    path = _write(
        tmp_path,
        "finess;etalab;12;2008-10-01\r\nstructureet;1;2\r\ngeolocalisation;9\r\nstructureet;3;4\r\n",
    )
    table = Table(
        name="S",
        file="F.csv",
        columns=[Column("tag"), Column("a"), Column("b")],
        header=False,
        record_tag="structureet",
        skip_lines=1,
    )
    read = read_table("OPALES", table, path)
    assert read.rows["a"].tolist() == ["1", "3"]
    assert read.rows[LINE_COLUMN].tolist() == [2, 4]


def test_last_record_without_line_end_rejected(tmp_path):
    # The file was cut inside the last field: the field count still matches.
    path = _write(tmp_path, "CODE;LIBELLE;MONTANT\r\n01;a;1\r\n02;b;12")
    read = read_table("ITAC", _table(), path)
    assert read.rows["CODE"].tolist() == ["01"]
    assert read.findings["rule_id"].tolist() == ["csv.truncated"]
    assert read.findings["line"].tolist() == [3]
    assert read.findings["severity"].tolist() == ["error"]
    detail = read.findings["value"].iloc[0]
    assert "the file may be truncated" in detail
    assert "claim a new delivery" in detail
    assert read.read == 2


def test_truncated_multiline_record_rejected(tmp_path):
    # A quoted field with line ends inside, cut before its closing line end.
    path = _write(tmp_path, 'CODE;LIBELLE;MONTANT\r\n01;"a\r\nb";1')
    read = read_table("ITAC", _table(), path)
    assert read.rows.empty
    assert read.findings["rule_id"].tolist() == ["csv.truncated"]
    assert read.findings["line"].tolist() == [2]


def test_truncated_record_short_of_fields(tmp_path):
    """A last record cut between fields is reported as cut, not as a wrong field count."""
    path = _write(tmp_path, "CODE;LIBELLE;MONTANT\r\n01;a;1\r\n02;b")
    read = read_table("ITAC", _table(), path)
    assert read.findings["rule_id"].tolist() == ["csv.truncated"]
    assert read.findings["line"].tolist() == [3]
    assert read.rows["CODE"].tolist() == ["01"]


def test_malformed_records_keep_raw_text(tmp_path):
    text = (
        "CODE;LIBELLE;MONTANT\r\n"
        "01;a\r\n"
        "02;b\x00;2\r\n"
        '03;c"d;3\r\n'
        '04;"e\r\nf";4;5\r\n'
        '05;"g"h;6\r\n'
        "06;i;7\r\n"
        "07;j;8"
    )
    read = read_table("ITAC", _table(), _write(tmp_path, text))
    assert read.rows["CODE"].tolist() == ["06"]
    assert read.findings["line"].tolist() == [2, 3, 4, 5, 7, 9]
    assert read.findings["rule_id"].tolist() == [
        "csv.field_count",
        "csv.nul",
        "csv.quote",
        "csv.field_count",
        "csv.quote",
        "csv.truncated",
    ]
    assert read.malformed_text == {
        2: "01;a",
        3: "02;b\x00;2",
        4: '03;c"d;3',
        5: '04;"e\r\nf";4;5',
        7: '05;"g"h;6',
        9: "07;j;8",
    }


def test_valid_rows_keep_no_raw_text(tmp_path):
    read = read_table("ITAC", _table(), _write(tmp_path, "CODE;LIBELLE;MONTANT\r\n01;a;1\r\n"))
    assert read.malformed_text == {}


@pytest.mark.parametrize("ending", ["\r\n", "\n", "\r"])
def test_last_record_with_line_end_kept(tmp_path, ending):
    path = _write(tmp_path, f"CODE;LIBELLE;MONTANT{ending}01;a;1{ending}02;b;12{ending}")
    read = read_table("ITAC", _table(), path)
    assert read.rows["CODE"].tolist() == ["01", "02"]
    assert read.findings.empty


def test_single_line_file_without_line_end_kept(tmp_path):
    # With no line end anywhere, a missing final one is no sign of truncation.
    path = _write(tmp_path, "01;a;1")
    read = read_table("ITAC", _table(header=False), path)
    assert read.rows["CODE"].tolist() == ["01"]
    assert read.findings.empty


def test_tagged_file_flags_truncated_record_once(tmp_path):
    text = "A;1;x\r\nB;2;y\r\nA;3;z"
    path = _write(tmp_path, text)
    tagged_a = _table(header=False, record_tag="A")
    tagged_b = _table(header=False, record_tag="B")
    read_a = read_table("OPALES", tagged_a, path)
    read_b = read_table("OPALES", tagged_b, path)
    assert read_a.findings["rule_id"].tolist() == ["csv.truncated"]
    assert read_a.findings["line"].tolist() == [3]
    assert read_b.findings.empty
    assert read_b.rows["CODE"].tolist() == ["B"]


def test_repeated_values_share_one_string(tmp_path):
    lines = [f"{index % 3:02d};name{index};\r\n" for index in range(100)]
    path = _write(tmp_path, "CODE;LIBELLE;MONTANT\r\n" + "".join(lines))
    rows = read_table("ITAC", _table(), path).rows
    codes = rows["CODE"].tolist()
    assert codes[:4] == ["00", "01", "02", "00"]
    assert codes[0] is codes[3]
    assert len({id(code) for code in codes}) == 3
    assert rows["LIBELLE"].tolist() == [f"name{index}" for index in range(100)]
    assert rows["MONTANT"].isna().all()


def test_distinct_column_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr("migration.reading.csv_reader._ColumnBuilder.SAMPLE_ROWS", 8)
    lines = [f"{index % 2};id{index};{index % 2}\r\n" for index in range(40)]
    path = _write(tmp_path, "CODE;LIBELLE;MONTANT\r\n" + "".join(lines))
    rows = read_table("ITAC", _table(), path).rows
    assert rows["LIBELLE"].tolist() == [f"id{index}" for index in range(40)]
    assert rows["CODE"].tolist() == [str(index % 2) for index in range(40)]
    assert len({id(code) for code in rows["CODE"]}) == 2
    assert rows[LINE_COLUMN].tolist() == list(range(2, 42))


def test_read_again_for_some_lines_only(tmp_path):
    """A file read again for a few rejected rows keeps those rows, and counts every record."""
    text = 'CODE;LIBELLE;MONTANT\r\n01;"a\r\nb";1\r\n02;x;2\r\n03;"y";z;4\r\n04;w;5\r\n'
    path = _write(tmp_path, text)
    whole = read_table("ITAC", _table(), path)

    again = read_table("ITAC", _table(), path, lines={4, 6})

    assert again.rows[LINE_COLUMN].tolist() == [4, 6]
    assert again.rows["LIBELLE"].tolist() == ["x", "w"]
    assert (again.read, again.released, again.malformed) == (whole.read, 1, 1)


def test_malformed_details_are_stored_templates(tmp_path):
    text = 'CODE;LIBELLE;MONTANT\r\n01;a\r\n02;b\x00;2\r\n03;c"d;3\r\n04;"e"f;4\r\n05;g;5\r\n06;h;6'
    read = read_table("ITAC", _table(), _write(tmp_path, text))

    assert read.findings["value"].tolist() == [
        finding_detail("field_count", fields=2, expected=3),
        finding_detail("nul_byte"),
        finding_detail("quote_in_unquoted_field"),
        finding_detail("text_after_closing_quote", delimiter=";"),
        finding_detail("truncated"),
    ]


def test_unclosed_quote_detail(tmp_path):
    read = read_table("ITAC", _table(), _write(tmp_path, 'CODE;LIBELLE;MONTANT\r\n01;"a;1\r\n'))

    assert read.findings["value"].tolist() == [finding_detail("quoted_field_not_closed")]


@pytest.mark.parametrize("quote", ['"', ""], ids=["quoted", "unquoted"])
def test_field_over_csv_limit_detail(tmp_path, quote):
    long_field = "x" * (csv.field_size_limit() + 1)
    text = f"CODE;LIBELLE;MONTANT\r\n01;{quote}{long_field}{quote};1\r\n02;b;2\r\n"
    path = _write(tmp_path, text)

    read = read_table("ITAC", _table(), path)

    expected = finding_detail("field_too_long", limit=csv.field_size_limit())
    assert read.findings["value"].tolist() == [expected]
    assert read.findings["line"].tolist() == [2]
    assert read.rows["CODE"].tolist() == ["02"]


def test_plain_and_quoted_lines_read_as_csv_module(tmp_path):
    # Lines without quotes are split directly and the others go through the csv module: both
    # must give the records, fields and first lines that the csv module gives for the file.
    records = [
        "01;a;1\r\n",
        "02;;\r\n",
        '03;"b; ""c""";2\r\n',
        "\r\n",
        '04;"d\r\ne";3\n',
        "05; ; \r",
        "06;f;4\n",
        '07;"";5\r\n',
        "08;g;6\r\n",
    ]
    text = "CODE;LIBELLE;MONTANT\r\n" + "".join(records)
    path = _write(tmp_path, text)

    read = read_table("ITAC", _table(), path)

    with path.open(encoding="cp1252", newline="") as handle:
        reader = csv.reader(handle, delimiter=";", strict=True)
        expected, lines, previous = [], [], 0
        for fields in reader:
            if fields and previous:
                expected.append([value or None for value in fields])
                lines.append(previous + 1)
            previous = reader.line_num
    columns = ["CODE", "LIBELLE", "MONTANT"]
    assert read.rows[columns].values.tolist() == expected
    assert read.rows[LINE_COLUMN].tolist() == lines
    assert read.findings.empty
