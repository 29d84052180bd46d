"""Working days and claim deadlines, checked against dates worked out by hand."""

from __future__ import annotations

from datetime import date

import holidays
import pytest

from migration.acceptance.errors import AcceptanceError
from migration.acceptance.working_days import (
    add_working_days,
    claim_deadline,
    holiday_subdivision,
    is_working_day,
    normalise_departement,
)


@pytest.mark.parametrize(
    ("received", "departement", "deadline"),
    [
        # Easter 2008: Good Friday 21 March (Moselle only), Easter Monday 24 March.
        (date(2008, 3, 20), "075", date(2008, 4, 11)),
        (date(2008, 3, 20), "057", date(2008, 4, 14)),
        # 8 May 2008 (Thursday), Ascension on 1 May, Whit Monday 12 May.
        (date(2008, 4, 30), "075", date(2008, 5, 26)),
        # Ascension 2009 on Thursday 21 May, 8 May a Friday.
        (date(2009, 5, 4), "075", date(2009, 5, 27)),
        # Christmas: 26 December is a holiday in Moselle and Alsace only.
        (date(2008, 12, 19), "057", date(2009, 1, 14)),
        (date(2008, 12, 19), "067", date(2009, 1, 14)),
        (date(2008, 12, 19), "075", date(2009, 1, 13)),
        # Abolition of slavery: Martinique 22 May 2008, La Réunion 20 December 2010.
        (date(2008, 5, 15), "972", date(2008, 6, 6)),
        (date(2008, 5, 15), "075", date(2008, 6, 5)),
        (date(2010, 12, 17), "974", date(2011, 1, 10)),
        (date(2010, 12, 17), "075", date(2011, 1, 7)),
        # Received on a Saturday: the count starts on Monday.
        (date(2008, 10, 18), "057", date(2008, 11, 7)),
    ],
)
def test_claim_deadline(received: date, departement: str, deadline: date) -> None:
    assert claim_deadline(received, departement).deadline == deadline


@pytest.mark.parametrize(
    ("day", "departement", "working"),
    [
        (date(2008, 12, 26), "57", False),
        (date(2008, 12, 26), "68", False),
        (date(2008, 12, 26), "54", True),
        (date(2008, 3, 21), "57", False),
        (date(2008, 3, 21), "75", True),
        (date(2008, 5, 27), "971", False),
        (date(2008, 6, 10), "973", False),
        (date(2009, 4, 27), "976", False),
        (date(2008, 6, 10), "971", True),
        (date(2008, 7, 14), "2A", False),
        (date(2008, 10, 18), "75", False),
    ],
)
def test_working_day(day: date, departement: str, working: bool) -> None:
    assert is_working_day(day, departement) is working


def test_deadline_lists_skipped_holidays() -> None:
    deadline = claim_deadline(date(2008, 12, 19), "057")

    assert deadline.zone == "Alsace-Moselle"
    assert deadline.holidays == (
        (date(2008, 12, 25), "Noël"),
        (date(2008, 12, 26), "Saint-Étienne"),
        (date(2009, 1, 1), "Jour de l'an"),
    )
    assert deadline.to_dict()["date_limite"] == "2009-01-14"


def test_receipt_day_not_counted() -> None:
    assert add_working_days(date(2008, 10, 14), 1, "75") == date(2008, 10, 15)


@pytest.mark.parametrize(
    ("code", "expected"), [("057", "57"), ("57", "57"), ("2a", "2A"), ("974", "974")]
)
def test_departement_normalised(code: str, expected: str) -> None:
    assert normalise_departement(code) == expected


@pytest.mark.parametrize("code", ["Moselle", "5", "9999", "2C"])
def test_bad_departement_rejected(code: str) -> None:
    with pytest.raises(AcceptanceError, match="is not a département code"):
        claim_deadline(date(2008, 10, 15), code)


def test_subdivision_codes_exist_in_holidays() -> None:
    # holidays renamed its French subdivisions in 0.76; the mapping must use the new codes.
    for departement in ("57", "67", "68", "971", "972", "973", "974", "976"):
        assert holiday_subdivision(departement) in holidays.France.subdivisions
    assert holiday_subdivision("75") is None
