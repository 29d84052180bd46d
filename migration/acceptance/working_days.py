"""Working days (jours ouvrés) of a French département, and the claim deadline of a delivery.

A working day is a Monday to Friday that is not a public holiday of the département. The
national public holidays are those of the Code du travail, article L3133-1: 1 January, Easter
Monday, 1 May, 8 May, Ascension, Whit Monday, 14 July, 15 August, 1 November, 11 November and
25 December. Alsace-Moselle (57, 67, 68) adds Good Friday and 26 December. Each overseas
département adds the day of the abolition of slavery (Guadeloupe 27 May, Martinique 22 May,
Guyane 10 June, La Réunion 20 December, Mayotte 27 April).

The dates come from the ``holidays`` package, whose subdivision codes for France are the
département codes since version 0.76 (``"57"``, ``"971"``...) and ``"6AE"`` for Alsace (67 and
68). ``holidays`` also gives the other local days it knows for an overseas département (for
Guadeloupe: Good Friday, Mi-Carême and Victor Schoelcher day), and these are not working days
here either.

The circular of 25 September 2008 gives the MDPH 15 working days from receipt to send a claim.
The day of receipt is not counted: the deadline is the 15th working day after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

from migration.acceptance.errors import AcceptanceError

CLAIM_WORKING_DAYS = 15
# Département (as written in deliveries, leading zeros removed) -> holidays subdivision.
_SUBDIVISIONS = {
    "57": "57",
    "67": "6AE",
    "68": "6AE",
    "971": "971",
    "972": "972",
    "973": "973",
    "974": "974",
    "975": "PM",
    "976": "976",
    "977": "BL",
    "978": "MF",
}
_ZONES = {
    "57": "Alsace-Moselle",
    "6AE": "Alsace-Moselle",
    "971": "Guadeloupe",
    "972": "Martinique",
    "973": "Guyane",
    "974": "La Réunion",
    "976": "Mayotte",
    "PM": "Saint-Pierre-et-Miquelon",
    "BL": "Saint-Barthélemy",
    "MF": "Saint-Martin",
}
_DEPARTEMENT = re.compile(r"0?(?:[0-9]{2}|2[AB])|9[78][0-9]", re.IGNORECASE)


@dataclass(frozen=True)
class Deadline:
    """The claim deadline of a delivery and the days skipped to reach it.

    ``holidays`` lists the public holidays that fell on a weekday between the receipt and the
    deadline, as ``(date, French name)``.
    """

    received: date
    deadline: date
    working_days: int
    departement: str
    zone: str
    holidays: tuple[tuple[date, str], ...]

    def to_dict(self) -> dict:
        return {
            "reception": self.received.isoformat(),
            "date_limite": self.deadline.isoformat(),
            "jours_ouvres": self.working_days,
            "departement": self.departement,
            "zone": self.zone,
            "jours_feries": [{"date": day.isoformat(), "nom": name} for day, name in self.holidays],
        }


def normalise_departement(code: str) -> str:
    """Return a département code without its leading zero: ``"057"`` gives ``"57"``.

    Raises:
        AcceptanceError: The code is not a département code (01 to 95, 2A, 2B, 971 to 978).
    """
    text = str(code).strip().upper()
    if not _DEPARTEMENT.fullmatch(text):
        raise AcceptanceError(f"{code!r} is not a département code; give it as 57, 057, 2A or 974")
    return text[1:] if len(text) == 3 and text.startswith("0") else text


def holiday_subdivision(departement: str) -> str | None:
    """Return the ``holidays`` subdivision of a département, ``None`` for mainland rules."""
    return _SUBDIVISIONS.get(normalise_departement(departement))


def holiday_zone(departement: str) -> str:
    """Name the calendar a département follows: mainland, Alsace-Moselle or an overseas one."""
    subdivision = holiday_subdivision(departement)
    return (
        _ZONES.get(subdivision, "France métropolitaine") if subdivision else "France métropolitaine"
    )


@lru_cache(maxsize=64)
def _calendar(subdivision: str | None, year: int) -> dict[date, str]:
    return dict(holidays.France(years=year, subdiv=subdivision, language="fr"))


def public_holidays(departement: str, years: Iterable[int]) -> dict[date, str]:
    """Return the public holidays of a département in the given years, with their French names."""
    subdivision = holiday_subdivision(departement)
    found: dict[date, str] = {}
    for year in years:
        found.update(_calendar(subdivision, year))
    return dict(sorted(found.items()))


def is_working_day(day: date, departement: str) -> bool:
    """Return whether ``day`` is a Monday to Friday that is not a public holiday there."""
    if day.weekday() >= 5:
        return False
    return day not in _calendar(holiday_subdivision(departement), day.year)


def add_working_days(start: date, count: int, departement: str) -> date:
    """Return the ``count``-th working day after ``start`` (``start`` itself is not counted)."""
    if count < 1:
        raise AcceptanceError(f"the number of working days must be at least 1, got {count}")
    day = start
    remaining = count
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day, departement):
            remaining -= 1
    return day


def claim_deadline(
    received: date, departement: str, working_days: int = CLAIM_WORKING_DAYS
) -> Deadline:
    """Compute the last day to send a claim about a delivery received on ``received``.

    Raises:
        AcceptanceError: The département code is not valid.
    """
    code = normalise_departement(departement)
    deadline = add_working_days(received, working_days, code)
    calendar = public_holidays(code, range(received.year, deadline.year + 1))
    skipped = tuple(
        (day, name)
        for day, name in calendar.items()
        if received < day <= deadline and day.weekday() < 5
    )
    return Deadline(received, deadline, working_days, code, holiday_zone(code), skipped)
