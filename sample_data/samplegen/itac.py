"""The ITAC extract: adults of the former COTOREP, their demands, conclusions and placements.

People are written one after the other: a dossier, then its demands, conclusions, placements
and history, so every file is written as a stream. Planted defects come from an `ItacPlan`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from samplegen import referentials as ref
from samplegen.establishments import Referentials
from samplegen.identifiers import nir_key, wrong_nir_key
from samplegen.layouts import ITAC_TABLES
from samplegen.output import DeliveryWriter, RecordFile
from samplegen.people import (
    LAST_WORKING_DAY,
    AddressMaker,
    BirthplaceChooser,
    IdentitySpace,
    NirAllocator,
    add_months,
    birthday,
    chance,
    dmy,
    first_of_next_month,
    random_day,
)
from samplegen.plan import UNKNOWN_DEMAND_TYPE, ItacPlan, Tally

APPLICATION = "ITAC"

# Demand types with their relative frequency and the validity durations (months) of an accord.
_DEMAND_TYPES = {
    "01": (22, (12, 24, 36, 60)),  # RQTH
    "02": (8, (24, 36, 60)),  # orientation professionnelle
    "03": (3, (12, 18, 24)),  # formation en CRP
    "04": (6, (36, 60)),  # orientation en CAT (ESAT)
    "05": (4, (24, 36)),  # orientation vers le marché du travail
    "06": (2, ()),  # prime de reclassement, paid once
    "11": (20, (12, 24, 60)),  # AAH
    "12": (2, (36, 60)),  # ACTP
    "13": (1, (36, 60)),  # ACFP
    "14": (4, (60, 120)),  # placement en établissement
    "15": (16, (60, 120)),  # carte d'invalidité
    "16": (10, (60, 120)),  # carte de stationnement
    "17": (2, (36, 60)),  # allocation compensatrice pour aidant
}
# FINESS categories of the establishment a granted orientation points to.
_ORIENTATION_CATEGORIES = {
    "03": ("249",),
    "04": ("246",),
    "14": ("255", "437", "382", "252", "446", "445"),
}
_TYPE_CODES = list(_DEMAND_TYPES)
_TYPE_WEIGHTS = [weight for weight, _ in _DEMAND_TYPES.values()]
_FIRST_CURRENT_DEMAND = date(2004, 1, 1)
_LAST_DEMAND = date(2008, 10, 10)
_LAST_HISTORY_DEMAND = date(2006, 12, 31)
# People whose dossier carries an extra history row of 2004-2005 opened it by then.
_LATEST_EARLY_OPENING = date(2001, 12, 31)


@dataclass(frozen=True)
class PersonIdentity:
    """The civil status of a person as ITAC and OPALES both record it."""

    sex: str  # "1" male, "2" female
    surname: str
    first_names: str
    born: date
    birthplace: str
    nir: str  # 15 characters, or empty


class ItacGenerator:
    """Writes the seven ITAC tables of `adults` people and their archive."""

    def __init__(
        self,
        seed: int,
        adults: int,
        archives: int,
        plan: ItacPlan,
        identities: IdentitySpace,
        archive_identities: IdentitySpace,
        cross_people: list[PersonIdentity],
        referentials: Referentials,
        nirs: NirAllocator,
        tally: Tally,
    ) -> None:
        self._rng = random.Random(f"{seed}-ITAC")
        self._adults = adults
        self._archives = archives
        self._plan = plan
        self._identities = identities
        self._archive_identities = archive_identities
        self._cross_people = cross_people
        self._nirs = nirs
        self._tally = tally
        self._birthplaces = BirthplaceChooser(moselle_share=0.62)
        self._addresses = AddressMaker()
        self._establishments = {
            code: [s.itac_number for s in referentials.structures_of(code)]
            for codes in _ORIENTATION_CATEGORIES.values()
            for code in codes
        }
        self._referentials = referentials
        self._dossier = ""  # NUM_DOSSIER of the adult written last
        self._demand_sequence = 0
        self._conclusion_sequence = 0
        self._suivi_sequence = 0
        self._history_sequence = 0
        self._copied_rows: dict[int, list[str]] = {}
        self.cross_dossiers: dict[int, str] = {}  # cross person number -> NUM_DOSSIER
        self.records: dict[str, int] = {}
        self._files: dict[str, RecordFile] = {}

    def write(self, delivery: DeliveryWriter) -> None:
        """Write every ITAC table into the delivery and keep the record counts."""
        for table, columns in ITAC_TABLES.items():
            record_file = delivery.open(APPLICATION, f"{table}.csv")
            record_file.write_header(columns)
            self._files[table] = record_file
        self._write_establishments()
        for index in range(self._adults):
            self._write_adult(index)
            for original in self._plan.copies_after.get(index, []):
                self._write_dossier_copy(original)
            if index in self._plan.orphans_after:
                self._write_orphan_demand(self._plan.orphans_after[index])
            if index in self._plan.missing_etab_after:
                self._write_missing_placement(self._plan.missing_etab_after[index])
        for number in range(self._archives):
            self._write_archive(number)
        for table, record_file in self._files.items():
            self.records[table] = record_file.records
            delivery.close(record_file)

    @staticmethod
    def dossier_number(index: int, offset: int) -> str:
        """Return NUM_DOSSIER of adult `index` drawn with `offset` (0 or 1).

        Archive numbers fill the gaps between them.
        """
        return f"57{10_000 + 3 * index + offset:08d}"

    @staticmethod
    def archive_number(number: int) -> str:
        """Return NUM_DOSSIER of closed dossier `number`, never one of an open dossier."""
        return f"57{10_000 + 3 * number + 2:08d}"

    # ETABLISSEMENT and ARCHIVE

    def _write_establishments(self) -> None:
        for structure in self._referentials.structures:
            if not structure.itac_number:
                continue
            self._files["ETABLISSEMENT"].write(
                [
                    structure.itac_number,
                    structure.finess,
                    structure.long_name,
                    structure.category.code,
                    structure.commune.insee,
                ]
            )

    def _write_archive(self, number: int) -> None:
        rng = self._rng
        person = self._archive_identities.identity(number)
        self._files["ARCHIVE"].write(
            [
                self.archive_number(number),
                person.surname.upper() if chance(rng, 0.5) else person.surname,
                self._first_names(person.first_name, person.sex),
                dmy(person.born),
            ]
        )

    # DOSSIER

    def _write_adult(self, index: int) -> None:
        rng = self._rng
        dossier = self.dossier_number(index, rng.randint(0, 1))
        self._dossier = dossier
        person, nationality = self._adult_person(index, dossier)
        situation = rng.choices("12345", cum_weights=[40, 75, 78, 90, 100])[0]
        married_name = ""
        if person.sex == "2" and situation in "234" and chance(rng, 0.75):
            married_name = rng.choice(ref.SURNAMES)
            if married_name == person.surname:
                married_name = ""
        tricky = index // 7 if index % 7 == 3 and index < 28 else None
        address = self._addresses.address(rng, tricky)
        phone = AddressMaker.phone(rng, address.commune) if chance(rng, 0.9) else ""
        opening, opening_text = self._opening(index, person.born)

        row = [
            dossier,
            person.surname,
            married_name,
            person.first_names,
            dmy(person.born),
            person.birthplace,
            person.sex,
            nationality if chance(rng, 0.95) else "",
            situation,
            person.nir,
            f"{rng.randint(0, 9_999_999):07d}" if chance(rng, 0.55) else "",
            f"{rng.randint(0, 9_999_999):07d}{rng.choice('ABCDEFGH')}" if chance(rng, 0.3) else "",
            address.number,
            address.street,
            address.postal,
            address.commune,
            "057",
            phone,
            rng.choice("1234") if chance(rng, 0.85) else "",
            rng.choices("123456", cum_weights=[25, 60, 80, 90, 96, 100])[0]
            if chance(rng, 0.9)
            else "",
            rng.choices(("01", "02", "03", "04", "09"), cum_weights=[50, 62, 70, 90, 100])[0]
            if chance(rng, 0.85)
            else "",
            opening_text,
        ]
        self._files["DOSSIER"].write(row)
        if any(index in originals for originals in self._plan.copies_after.values()):
            self._copied_rows[index] = row

        history_types = self._write_history(index, dossier, opening)
        self._write_demands(dossier, opening, history_types)

    def _adult_person(self, index: int, dossier: str) -> tuple[PersonIdentity, str]:
        """Return the civil status of adult `index` and its ITAC nationality code."""
        rng = self._rng
        cross_number = self._plan.cross.get(index)
        if cross_number is not None:
            self.cross_dossiers[cross_number] = dossier
            return self._cross_people[cross_number], "1"
        identity = self._identities.identity(index)
        birthplace, nationality = self._birthplaces.choose(rng, identity.born.year)
        nir = ""
        wrong = index in self._plan.wrong_nir
        if wrong or chance(rng, 0.93):
            nir13 = self._nirs.allocate(identity.sex, identity.born, birthplace)
            if wrong:
                nir = nir13 + wrong_nir_key(nir13, rng.randint(1, 96))
                self._tally.add(APPLICATION, "DOSSIER", "NIR", "id.nir")
            else:
                nir = nir13 + nir_key(nir13)
        person = PersonIdentity(
            sex=identity.sex,
            surname=identity.surname,
            first_names=self._first_names(identity.first_name, identity.sex),
            born=identity.born,
            birthplace=birthplace,
            nir=nir,
        )
        return person, nationality

    def _opening(self, index: int, born: date) -> tuple[date, str]:
        """Return the opening date of a dossier and the text DATE_OUVERTURE carries."""
        rng = self._rng
        plan = self._plan
        early = index in plan.impossible_decision or index in plan.unknown_demand_type
        first = max(birthday(born, 18), date(1976, 1, 1))
        last = _LATEST_EARLY_OPENING if early else date(2008, 6, 30)
        opening = random_day(rng, first, max(first, last))
        text = dmy(opening) if chance(rng, 0.97) else ""
        if index in plan.placeholder_opening:
            text = "00/00/0000"
            self._tally.add(APPLICATION, "DOSSIER", "DATE_OUVERTURE", "type.date_placeholder")
        return opening, text

    def _first_names(self, first_name: str, sex: str) -> str:
        if not chance(self._rng, 0.25):
            return first_name
        pool = ref.ADULT_MALE_NAMES if sex == "1" else ref.ADULT_FEMALE_NAMES
        second = self._rng.choice(pool)
        return first_name if second == first_name else f"{first_name} {second}"

    def _write_dossier_copy(self, original: int) -> None:
        row = list(self._copied_rows[original])
        commune = row[ITAC_TABLES["DOSSIER"].index("ADR_COMMUNE")]
        phone_column = ITAC_TABLES["DOSSIER"].index("TELEPHONE")
        phone = row[phone_column]
        while phone == row[phone_column]:
            phone = AddressMaker.phone(self._rng, commune)
        row[phone_column] = phone
        self._files["DOSSIER"].write(row)
        self._tally.add(APPLICATION, "DOSSIER", "NUM_DOSSIER", "key.duplicate")

    # DEMANDE, CONCLUSION, SUIVI

    def _next_demand_number(self, day: date) -> str:
        self._demand_sequence += 1
        return f"{day.year:04d}{self._demand_sequence:08d}"

    def _demand_type(self) -> str:
        return self._rng.choices(_TYPE_CODES, weights=_TYPE_WEIGHTS)[0]

    def _write_demands(self, dossier: str, opening: date, history_types: set[str]) -> None:
        rng = self._rng
        first = max(opening, _FIRST_CURRENT_DEMAND)
        if first > _LAST_DEMAND:
            return
        count = rng.choices((1, 2, 3, 4), cum_weights=[35, 70, 90, 100])[0]
        for day in sorted(random_day(rng, first, _LAST_DEMAND) for _ in range(count)):
            demand_type = self._demand_type()
            number = self._next_demand_number(day)
            renewal = "1" if demand_type in history_types else "0"
            self._files["DEMANDE"].write(
                [
                    number,
                    dossier,
                    demand_type,
                    f"{rng.randint(1, 45):04d}" if chance(rng, 0.95) else "",
                    dmy(day),
                    renewal if chance(rng, 0.97) else "",
                ]
            )
            history_types.add(demand_type)
            if day <= date(2008, 8, 31) and chance(rng, 0.88):
                self._write_conclusions(dossier, number, demand_type, day)

    def _write_conclusions(self, dossier: str, demand: str, demand_type: str, day: date) -> None:
        rng = self._rng
        sitting = day + timedelta(days=rng.randint(30, 150))
        if sitting > LAST_WORKING_DAY:
            return
        decision = rng.choices("ARS", cum_weights=[72, 92, 100])[0]
        self._write_conclusion(dossier, demand, demand_type, sitting, decision)
        if decision == "S":
            second_sitting = sitting + timedelta(days=rng.randint(30, 90))
            if second_sitting <= LAST_WORKING_DAY:
                decision = rng.choices("AR", cum_weights=[75, 100])[0]
                self._write_conclusion(dossier, demand, demand_type, second_sitting, decision)

    def _write_conclusion(
        self, dossier: str, demand: str, demand_type: str, sitting: date, decision: str
    ) -> None:
        rng = self._rng
        self._conclusion_sequence += 1
        effect = duration = validity_end = None
        durations = _DEMAND_TYPES[demand_type][1]
        if decision == "A":
            effect = first_of_next_month(sitting)
            if durations:
                duration = rng.choice(durations)
                validity_end = add_months(effect, duration) - timedelta(days=1)
        establishment = ""
        if decision == "A" and demand_type in _ORIENTATION_CATEGORIES:
            category = rng.choice(_ORIENTATION_CATEGORIES[demand_type])
            establishment = rng.choice(self._establishments[category])
        appeal = ""
        if decision == "R":
            appeal = "O" if chance(rng, 0.2) else "N"
        elif chance(rng, 0.85):
            appeal = "N"
        self._files["CONCLUSION"].write(
            [
                f"{self._conclusion_sequence:012d}",
                demand,
                rng.choices("PSR", cum_weights=[15, 80, 100])[0],
                f"{sitting.year % 100:02d}{sitting.isocalendar()[1]:02d}{rng.randint(1, 4):02d}",
                dmy(sitting),
                decision,
                self._motivation(decision),
                dmy(effect),
                str(duration) if duration else "",
                dmy(validity_end),
                appeal,
                _amount(rng, 800, 4500) if decision == "A" and demand_type == "06" else "",
                _rate(rng, demand_type, decision),
                establishment,
            ]
        )
        if establishment and sitting >= date(2006, 1, 1) and chance(rng, 0.7):
            self._write_placement(dossier, establishment, sitting)

    def _motivation(self, decision: str) -> str:
        rng = self._rng
        if chance(rng, 0.1):
            return ""
        if chance(rng, 0.06):
            return rng.choice(ref.TRICKY_MOTIVATIONS[decision])
        return rng.choice(ref.MOTIVATIONS[decision])

    def _write_placement(self, dossier: str, establishment: str, sitting: date) -> None:
        rng = self._rng
        proposal = min(sitting + timedelta(days=rng.randint(15, 120)), LAST_WORKING_DAY)
        self._suivi_sequence += 1
        self._files["SUIVI"].write(
            [
                f"S{self._suivi_sequence:011d}",
                dossier,
                establishment,
                dmy(proposal),
                rng.choices("123", cum_weights=[40, 85, 100])[0],
            ]
        )

    def _write_orphan_demand(self, archive: int) -> None:
        rng = self._rng
        day = random_day(rng, date(2007, 6, 1), date(2008, 9, 30))
        self._files["DEMANDE"].write(
            [
                self._next_demand_number(day),
                self.archive_number(archive),
                self._demand_type(),
                f"{rng.randint(1, 45):04d}",
                dmy(day),
                "1",
            ]
        )
        self._tally.add(APPLICATION, "DEMANDE", "NUM_DOSSIER", "fk.dangling")

    def _write_missing_placement(self, establishment: str) -> None:
        """Write a placement of the last adult in an establishment absent from ETABLISSEMENT."""
        rng = self._rng
        self._suivi_sequence += 1
        self._files["SUIVI"].write(
            [
                f"S{self._suivi_sequence:011d}",
                self._dossier,
                establishment,
                dmy(random_day(rng, date(2008, 1, 1), date(2008, 9, 30))),
                "2",
            ]
        )
        self._tally.add(APPLICATION, "SUIVI", "NUM_ETAB", "fk.dangling")

    # HISTORIQUE

    def _write_history(self, index: int, dossier: str, opening: date) -> set[str]:
        """Write the decided demands of past years; return their demand types."""
        rng = self._rng
        types: set[str] = set()
        if opening <= date(2006, 6, 30):
            count = rng.choices((0, 1, 2, 3), cum_weights=[30, 65, 90, 100])[0]
            for day in sorted(random_day(rng, opening, _LAST_HISTORY_DEMAND) for _ in range(count)):
                demand_type = self._demand_type()
                types.add(demand_type)
                self._write_history_row(dossier, demand_type, day)
        if index in self._plan.impossible_decision:
            text = self._plan.impossible_decision[index]
            month, year = int(text[3:5]), int(text[6:])
            demand_day = random_day(
                rng, add_months(date(year, month, 1), -4), add_months(date(year, month, 1), -2)
            )
            self._write_history_row(dossier, self._demand_type(), demand_day, "R", text)
            self._tally.add(APPLICATION, "HISTORIQUE", "DATE_DECISION", "type.date")
        if index in self._plan.unknown_demand_type:
            demand_day = random_day(rng, date(2002, 1, 1), date(2005, 12, 31))
            self._write_history_row(dossier, UNKNOWN_DEMAND_TYPE, demand_day)
            self._tally.add(APPLICATION, "HISTORIQUE", "CODE_TYPE_DEMANDE", "code.unknown")
        return types

    def _write_history_row(
        self,
        dossier: str,
        demand_type: str,
        day: date,
        decision: str | None = None,
        decision_text: str | None = None,
    ) -> None:
        rng = self._rng
        decision = decision or rng.choices("ARS", cum_weights=[75, 95, 100])[0]
        decided = min(day + timedelta(days=rng.randint(30, 200)), LAST_WORKING_DAY)
        validity_end = None
        durations = _DEMAND_TYPES.get(demand_type, (0, (12, 24, 60)))[1]
        if decision == "A" and durations:
            start = first_of_next_month(decided)
            validity_end = add_months(start, rng.choice(durations)) - timedelta(days=1)
        self._history_sequence += 1
        self._files["HISTORIQUE"].write(
            [
                f"H{self._history_sequence:011d}",
                dossier,
                self._next_demand_number(day),
                demand_type,
                dmy(day),
                decision,
                decision_text or dmy(decided),
                dmy(validity_end),
            ]
        )


def _amount(rng: random.Random, low: int, high: int) -> str:
    """Return an amount in euros with a decimal comma and two decimals, e.g. 1234,56."""
    return f"{rng.randint(low, high)},{rng.randint(0, 99):02d}"


def _rate(rng: random.Random, demand_type: str, decision: str) -> str:
    """Return TAUX_INCAPACITE for benefits that depend on the invalidity rate."""
    if decision == "S":
        return ""
    if demand_type == "11":
        return rng.choice("23") if decision == "A" else "1"
    if demand_type == "15":
        return "3" if decision == "A" else rng.choice("12")
    if demand_type in ("12", "13", "16", "17"):
        return "3" if decision == "A" else rng.choice("12")
    return ""
