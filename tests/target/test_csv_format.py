"""The COPY CSV rendering: each value rendered on its own, so digests do not depend on
the other rows of a chunk."""

import datetime as dt

from migration.target.csv_format import RENDERERS, column_csv_lines, column_row_digests

TEXT = RENDERERS["text"]


def test_plain_text_is_written_as_it_is_and_null_is_an_empty_field():
    assert TEXT(["abc", None, "a b"]) == ["abc", "", "a b"]


def test_text_that_csv_or_copy_would_misread_is_quoted():
    values = ["", "a,b", 'dit "oui"', "ligne\nsuivante", "retour\r", "\\.", "\\N"]
    assert TEXT(values) == [
        '""',
        '"a,b"',
        '"dit ""oui"""',
        '"ligne\nsuivante"',
        '"retour\r"',
        '"\\."',
        '"\\N"',
    ]


def test_a_value_renders_the_same_whatever_its_neighbours():
    alone = TEXT(["abc", None])
    beside_quoted = TEXT(["abc", None, "a,b"])
    assert beside_quoted[:2] == alone


def test_row_digests_do_not_depend_on_the_other_rows():
    renderers = [RENDERERS["text"], RENDERERS["date"]]
    day = dt.date(2008, 10, 14)
    alone = column_row_digests([["abc"], [day]], renderers)
    with_quoted = column_row_digests([["abc", "x,y"], [day, None]], renderers)
    assert with_quoted[0] == alone[0]
    assert with_quoted[1] != alone[0]


def test_lines_join_the_fields_of_each_row():
    renderers = [RENDERERS["integer"], RENDERERS["text"]]
    assert column_csv_lines([[1, 2], ["a", ""]], renderers) == ["1,a", '2,""']
