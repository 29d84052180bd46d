"""Fictional people: unique identities, birthplaces, NIRs, addresses and phone numbers."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from samplegen import referentials as ref
from samplegen.identifiers import nir_key

EXTRACTION_DATE = date(2008, 10, 14)
# Last day a commission could sit or a record be written before the extraction ran.
LAST_WORKING_DAY = date(2008, 10, 13)


class GenerationError(Exception):
    """The requested sample cannot be generated (for example too many people for the NIR)."""


@cache
def _date_text(ordinal: int) -> str:
    day = date.fromordinal(ordinal)
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def dmy(day: date | None) -> str:
    """Format a date as dd/mm/yyyy, the legacy extracts' layout; None gives an empty field."""
    return "" if day is None else _date_text(day.toordinal())


def first_of_next_month(day: date) -> date:
    """Return the first day of the month after `day`."""
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def add_months(first_day: date, months: int) -> date:
    """Return the first day of the month `months` after `first_day` (a first of month)."""
    month_index = first_day.year * 12 + first_day.month - 1 + months
    return date(month_index // 12, month_index % 12 + 1, 1)


def birthday(born: date, years: int) -> date:
    """Return the date a person born on `born` turns `years` (28 February for 29 February)."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return date(born.year + years, 2, 28)


def random_day(rng: random.Random, first: date, last: date) -> date:
    """Return a uniformly drawn day between `first` and `last`, both included."""
    span = (last - first).days
    return first + timedelta(days=rng.randint(0, max(span, 0)))


def chance(rng: random.Random, probability: float) -> bool:
    """Return True with the given probability."""
    return rng.random() < probability


@dataclass(frozen=True)
class Identity:
    """The identity key that must be unique: sex ("1" male, "2" female), names, birth date."""

    sex: str
    surname: str
    first_name: str
    born: date


class IdentitySpace:
    """A bijection from a person index to an identity, so identities never repeat.

    The space is sex x surname x first name x birth day. An index is mapped by an affine
    permutation (index * multiplier + offset) mod size, and each component goes through a
    shuffled order, so neighbouring indices look unrelated. Two spaces with disjoint birth
    ranges never share an identity either.
    """

    def __init__(
        self,
        seed_text: str,
        surnames: tuple[str, ...],
        male_names: tuple[str, ...],
        female_names: tuple[str, ...],
        first_day: date,
        last_day: date,
    ) -> None:
        rng = random.Random(seed_text)
        names_per_sex = min(len(male_names), len(female_names))
        self._surnames = list(surnames)
        self._male = list(male_names[:names_per_sex])
        self._female = list(female_names[:names_per_sex])
        for pool in (self._surnames, self._male, self._female):
            rng.shuffle(pool)
        self._first_ordinal = first_day.toordinal()
        self._days = last_day.toordinal() - self._first_ordinal + 1
        self._day_order = list(range(self._days))
        rng.shuffle(self._day_order)
        self._names_per_sex = names_per_sex
        self.size = 2 * len(surnames) * names_per_sex * self._days
        multiplier = int(self.size * 0.6180339887) | 1
        while math.gcd(multiplier, self.size) != 1:
            multiplier += 2
        self._multiplier = multiplier
        self._offset = rng.randrange(self.size)

    def identity(self, index: int) -> Identity:
        """Return the identity of person `index` (0 <= index < size)."""
        if not 0 <= index < self.size:
            raise GenerationError(f"person index {index} is outside the identity space")
        code = (self._multiplier * index + self._offset) % self.size
        code, day = divmod(code, self._days)
        code, first = divmod(code, self._names_per_sex)
        sex, surname = divmod(code, len(self._surnames))
        pool = self._male if sex == 0 else self._female
        born = date.fromordinal(self._first_ordinal + self._day_order[day])
        return Identity("1" if sex == 0 else "2", self._surnames[surname], pool[first], born)


class NirAllocator:
    """Hands out NIRs that never repeat, by keeping the next order number of each prefix.

    The prefix is sex, 2-digit year, month and birthplace; the order number starts at a random
    value from 1 to 120 and counts up, so each prefix has room for at least 880 people.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._next_order: dict[tuple[str, int, int, str], int] = {}

    def allocate(self, sex: str, born: date, birthplace: str) -> str:
        """Return the 13 characters of a new NIR (without its key)."""
        prefix = (sex, born.year % 100, born.month, birthplace)
        order = self._next_order.get(prefix) or self._rng.randint(1, 120)
        if order > 999:
            raise GenerationError(
                "more than 999 people share a sex, birth month and birthplace; "
                "ask for fewer persons"
            )
        self._next_order[prefix] = order + 1
        return f"{sex}{born.year % 100:02d}{born.month:02d}{birthplace}{order:03d}"

    def allocate_full(self, sex: str, born: date, birthplace: str) -> str:
        """Return a new 15-character NIR with its right key."""
        nir13 = self.allocate(sex, born, birthplace)
        return nir13 + nir_key(nir13)


class BirthplaceChooser:
    """Draws birthplaces: a share in Moselle, the rest among the other birthplaces."""

    def __init__(self, moselle_share: float) -> None:
        self._moselle_share = moselle_share
        self._moselle = [commune.insee for commune in ref.MOSELLE_COMMUNES]
        self._moselle_weights = _cumulative([commune.weight for commune in ref.MOSELLE_COMMUNES])
        self._by_threshold: dict[int, tuple[list[ref.Birthplace], list[int]]] = {}

    def choose(self, rng: random.Random, year: int) -> tuple[str, str]:
        """Return (birthplace code, ITAC nationality code) for a birth in `year`."""
        if rng.random() < self._moselle_share:
            return rng.choices(self._moselle, cum_weights=self._moselle_weights)[0], "1"
        places, weights = self._places_for(year)
        place = rng.choices(places, cum_weights=weights)[0]
        nationality = place.nationality
        if nationality != "1" and rng.random() < 0.3:
            nationality = "1"  # naturalised, or born abroad to French parents
        return place.code, nationality

    def _places_for(self, year: int) -> tuple[list[ref.Birthplace], list[int]]:
        threshold = max(
            (place.first_year for place in ref.OTHER_BIRTHPLACES if place.first_year <= year),
            default=0,
        )
        if threshold not in self._by_threshold:
            places = [place for place in ref.OTHER_BIRTHPLACES if place.first_year <= year]
            self._by_threshold[threshold] = (places, _cumulative([p.weight for p in places]))
        return self._by_threshold[threshold]


def _cumulative(weights: list[int]) -> list[int]:
    total = 0
    cumulative = []
    for weight in weights:
        total += weight
        cumulative.append(total)
    return cumulative


@dataclass(frozen=True)
class Address:
    """A Moselle postal address as the legacy files split it."""

    number: str
    street: str
    postal: str
    commune: str


class AddressMaker:
    """Draws Moselle addresses and phone numbers."""

    def __init__(self) -> None:
        self._communes = list(ref.MOSELLE_COMMUNES)
        self._weights = _cumulative([commune.weight for commune in self._communes])

    def commune(self, rng: random.Random) -> ref.Commune:
        """Return a Moselle commune drawn by population weight."""
        return rng.choices(self._communes, cum_weights=self._weights)[0]

    def address(self, rng: random.Random, tricky: int | None = None) -> Address:
        """Return an address; `tricky` picks one of the streets that need CSV quoting."""
        commune = self.commune(rng)
        if tricky is not None:
            street = ref.TRICKY_STREETS[tricky % len(ref.TRICKY_STREETS)]
        elif rng.random() < 0.01:
            street = rng.choice(ref.TRICKY_STREETS)
        else:
            street = rng.choice(ref.STREETS)
        number = ""
        if rng.random() < 0.9:
            # ADR_NUMERO is at most 5 characters long: "140B" or "99bis".
            suffix = rng.choice(ref.STREET_NUMBER_SUFFIXES)
            number = str(rng.randint(1, 99 if len(suffix) > 1 else 140)) + suffix
        return Address(number, street, commune.postal, commune.insee)

    @staticmethod
    def phone(rng: random.Random, commune_insee: str) -> str:
        """Return a 10-digit phone number: a Moselle landline or a mobile."""
        if rng.random() < 0.3:
            return "06" + f"{rng.randint(0, 99_999_999):08d}"
        prefix = "0382" if commune_insee in ref.PREFIX_0382 else "0387"
        return prefix + f"{rng.randint(0, 999_999):06d}"
