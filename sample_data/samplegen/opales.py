"""The OPALES extract: children of the former CDES, with the FINESS and RAMSESE referentials.

Children are written one after the other: the child, then its representatives, demands,
decisions, orientations, allowances and schooling. Planted defects come from an `OpalesPlan`.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date, timedelta

from samplegen import referentials as ref
from samplegen.establishments import Referentials, acheminement
from samplegen.identifiers import nir_key, wrong_nir_key
from samplegen.itac import PersonIdentity
from samplegen.layouts import OPALES_TABLES, RAMSESE
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
from samplegen.plan import (
    CROSS_BY_NIR,
    CROSS_CAPITALS,
    OPALES_SPELLINGS,
    UNKNOWN_COMPLEMENT,
    OpalesPlan,
    Tally,
)

APPLICATION = "OPALES"
FINESS_FILE = "FINESS.csv"
RAMSESE_FILE = "RAMSESE.csv"
FINESS_DATE = date(2008, 10, 14)

_DEMAND_TYPES = ("AES", "ORI", "SCO", "CIN", "CST", "TRA")
_DEMAND_WEIGHTS = (35, 20, 15, 12, 8, 10)
_LAST_DEMAND = date(2008, 10, 10)
_LAST_FORCED_DEMAND = date(2008, 6, 30)
# Orientations to an establishment or service, with their FINESS category; those to a school
# support (CLIS, UPI, AVS) have no FINESS number.
_ORIENTATION_CATEGORY = {
    "IME": "183",
    "ITEP": "186",
    "SESSAD": "182",
    "IEM": "192",
    "CAMSP": "190",
    "CMPP": "189",
}
_BOARDING_ORIENTATIONS = ("IME", "ITEP", "IEM")
# AES/AEEH monthly amounts in euros: orders of magnitude of 2002-2008, not the legal scale.
_BASE_AMOUNT = 119.0
_COMPLEMENT_AMOUNTS = (0.0, 89.0, 241.0, 341.0, 529.0, 676.0, 992.0)
_AEEH_SINCE = date(2006, 1, 1)  # the AES was renamed AEEH by the law of 11 February 2005
_SIX_COMPLEMENTS_SINCE = date(2002, 4, 1)


class OpalesGenerator:
    """Writes the OPALES tables of `children` children and the FINESS and RAMSESE files."""

    def __init__(
        self,
        seed: int,
        children: int,
        plan: OpalesPlan,
        identities: IdentitySpace,
        cross_people: list[PersonIdentity],
        referentials: Referentials,
        nirs: NirAllocator,
        tally: Tally,
    ) -> None:
        self._rng = random.Random(f"{seed}-OPALES")
        self._children = children
        self._plan = plan
        self._identities = identities
        self._cross_people = cross_people
        self._referentials = referentials
        self._nirs = nirs
        self._tally = tally
        self._child_birthplaces = BirthplaceChooser(moselle_share=0.85)
        self._parent_birthplaces = BirthplaceChooser(moselle_share=0.6)
        self._addresses = AddressMaker()
        self._sequences = {table: 0 for table in OPALES_TABLES}
        self._copied_demands: dict[int, list[str]] = {}
        self._copy_originals = {
            original for originals in plan.demand_copies_after.values() for original in originals
        }
        self.cross_children: dict[int, str] = {}  # cross person number -> NUM_ENFANT
        self.records: dict[str, int] = {}
        self._files: dict[str, RecordFile] = {}

    def write(self, delivery: DeliveryWriter) -> None:
        """Write every OPALES table into the delivery and keep the record counts."""
        self._write_finess(delivery)
        self._write_ramsese(delivery)
        for table, columns in OPALES_TABLES.items():
            record_file = delivery.open(APPLICATION, f"{table}.csv")
            record_file.write_header(columns)
            self._files[table] = record_file
        for index in range(self._children):
            self._write_child(index)
            for original in self._plan.demand_copies_after.get(index, []):
                self._files["DEMANDE"].write(self._copied_demands[original])
                self._tally.add(APPLICATION, "DEMANDE", "NUM_DEMANDE", "key.duplicate")
        for table, record_file in self._files.items():
            self.records[table] = record_file.records
            delivery.close(record_file)

    def _next(self, table: str, prefix: str) -> str:
        self._sequences[table] += 1
        return f"{prefix}{self._sequences[table]:010d}"

    # FINESS and RAMSESE

    def _write_finess(self, delivery: DeliveryWriter) -> None:
        structures = self._referentials.structures
        record_file = delivery.open(APPLICATION, FINESS_FILE)
        record_file.write_line(f"finess;etalab;{2 * len(structures)};{FINESS_DATE.isoformat()}")
        for s in structures:
            record_file.write(
                [
                    "structureet",
                    s.finess,
                    s.finess_legal_entity,
                    s.short_name,
                    s.long_name,
                    "",
                    "",
                    s.street_number,
                    s.street_type,
                    s.street,
                    "",
                    "",
                    s.commune.insee[2:],
                    "57",
                    "MOSELLE",
                    acheminement(s.commune),
                    s.phone,
                    s.fax,
                    s.category.code,
                    s.category.label,
                    # NOTE: aggregate categories, SIRET, APE code, pricing mode and SPH fields
                    # are left empty: their code lists were not checked for this sample.
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    s.opened.isoformat(),
                    s.authorised.isoformat(),
                    s.updated.isoformat(),
                    "",
                ]
            )
        self.records["FINESS_STRUCTURE"] = record_file.records
        for s in structures:
            record_file.write(
                [
                    "geolocalisation",
                    s.finess,
                    f"{s.lambert_x:.1f}",
                    f"{s.lambert_y:.1f}",
                    "1,ATLASANTE,100,IGN,BD_ADRESSE,V2.1,LAMBERT_93",
                    s.updated.isoformat(),
                ]
            )
        self.records["FINESS_GEOLOCALISATION"] = record_file.records - len(structures)
        self.records["FINESS"] = record_file.records
        delivery.close(record_file)

    def _write_ramsese(self, delivery: DeliveryWriter) -> None:
        record_file = delivery.open(APPLICATION, RAMSESE_FILE)
        record_file.write_header(RAMSESE)
        for school in self._referentials.schools:
            record_file.write(
                [
                    school.uai,
                    school.name,
                    school.kind,
                    "Public" if school.public else "Privé",
                    school.address,
                    school.commune.postal,
                    school.commune.insee,
                    school.commune.name,
                    "057",
                    "12",  # académie de Nancy-Metz
                    "1" if school.ulis else "0",
                    "1" if school.segpa else "0",
                    f"{school.latitude:.6f}",
                    f"{school.longitude:.6f}",
                    school.opened.isoformat(),
                    "OUVERT",
                ]
            )
        self.records["RAMSESE"] = record_file.records
        delivery.close(record_file)

    # ENFANT and REPRESENTANT

    def _write_child(self, index: int) -> None:
        rng = self._rng
        plan = self._plan
        number = f"E57{100 + 2 * index + rng.randint(0, 1):07d}"
        cross_number = plan.cross.get(index)
        if cross_number is not None:
            person = self._cross_people[cross_number]
            sex = "M" if person.sex == "1" else "F"
            surname, first_names, born = person.surname, person.first_names, person.born
            if cross_number == CROSS_CAPITALS:
                surname, first_names = _capitals(surname), _capitals(first_names)
            surname = OPALES_SPELLINGS.get(surname, surname)
            birthplace = person.birthplace
            child_nir = person.nir if cross_number < CROSS_BY_NIR else ""
            self.cross_children[cross_number] = number
        else:
            identity = self._identities.identity(index)
            sex = "M" if identity.sex == "1" else "F"
            surname, born = identity.surname, identity.born
            first_names = self._first_names(identity.first_name, identity.sex)
            birthplace = self._child_birthplaces.choose(rng, born.year)[0]
            child_nir = ""
            if chance(rng, 0.06):
                child_nir = self._nirs.allocate_full(identity.sex, born, birthplace)

        forced = index in plan.missing_finess or index in plan.unknown_complement
        latest_entry = date(2008, 3, 31) if forced else date(2008, 9, 30)
        entry_first = born + timedelta(days=60)
        entry = random_day(
            rng, entry_first, max(entry_first, min(birthday(born, 16), latest_entry))
        )
        tricky = index // 9 if index % 9 == 4 and index < 36 else None
        address = self._addresses.address(rng, tricky)
        self._files["ENFANT"].write(
            [
                number,
                surname,
                first_names,
                dmy(born),
                sex,
                birthplace,
                rng.choices("12345", cum_weights=[45, 80, 93, 98, 100])[0],
                child_nir,
                self._insured_parent_nir(index, born),
                f"{rng.randint(0, 9_999_999):07d}" if chance(rng, 0.88) else "",
                " ".join(part for part in (address.number, address.street) if part),
                address.postal,
                address.commune,
                "057",
                rng.choice(ref.CIM10_CODES) if chance(rng, 0.85) else "",
                dmy(entry),
            ]
        )
        self._write_representatives(number, surname, address)
        special_from = self._write_demands(index, number, born, entry)
        self._write_schooling(index, number, born, special_from)

    def _first_names(self, first_name: str, sex: str) -> str:
        if not chance(self._rng, 0.2):
            return first_name
        pool = ref.CHILD_MALE_NAMES if sex == "1" else ref.CHILD_FEMALE_NAMES
        second = self._rng.choice(pool)
        return first_name if second == first_name else f"{first_name} {second}"

    def _insured_parent_nir(self, index: int, born: date) -> str:
        """Return the NIR of the insured parent, born 19 to 42 years before the child."""
        rng = self._rng
        wrong = index in self._plan.wrong_nir_assure
        if not wrong and not chance(rng, 0.95):
            return ""
        sex = "1" if chance(rng, 0.65) else "2"
        parent_born = random_day(rng, birthday(born, -42), birthday(born, -19))
        place = self._parent_birthplaces.choose(rng, parent_born.year)[0]
        nir13 = self._nirs.allocate(sex, parent_born, place)
        if wrong:
            self._tally.add(APPLICATION, "ENFANT", "NIR_ASSURE", "id.nir")
            return nir13 + wrong_nir_key(nir13, rng.randint(1, 96))
        return nir13 + nir_key(nir13)

    def _write_representatives(self, child: str, surname: str, address) -> None:
        rng = self._rng
        roll = rng.random()
        if roll < 0.6:
            qualities = ("M", "P")
        elif roll < 0.9:
            qualities = ("M",)
        elif roll < 0.95:
            qualities = ("P",)
        elif roll < 0.98:
            qualities = ("T",)
        else:
            qualities = ("A",)
        for quality in qualities:
            if quality == "P" and chance(rng, 0.9) or quality == "M" and chance(rng, 0.55):
                name = surname
            else:
                name = rng.choice(ref.SURNAMES)
            male = quality == "P" or (quality in "TA" and chance(rng, 0.5))
            pool = ref.ADULT_MALE_NAMES if male else ref.ADULT_FEMALE_NAMES
            first_name = rng.choice(pool) if quality != "T" or chance(rng, 0.7) else ""
            home = address if chance(rng, 0.85) else self._addresses.address(rng)
            street = " ".join(part for part in (home.number, home.street) if part)
            self._files["REPRESENTANT"].write(
                [
                    f"R57{self._sequences['REPRESENTANT'] + 1:07d}",
                    child,
                    quality,
                    name,
                    first_name,
                    street,
                    home.postal,
                    home.commune,
                    AddressMaker.phone(rng, home.commune) if chance(rng, 0.9) else "",
                ]
            )
            self._sequences["REPRESENTANT"] += 1

    # DEMANDE, DECISION, ORIENTATION, AES

    def _write_demands(self, index: int, child: str, born: date, entry: date) -> date | None:
        """Write the child's demands and decisions; return when a special school began."""
        rng = self._rng
        plan = self._plan
        last = min(_LAST_DEMAND, birthday(born, 20) - timedelta(days=1))
        if entry > last:
            return None

        count = rng.choices((1, 2, 3, 4), cum_weights=[40, 75, 92, 100])[0]
        demands = [
            (random_day(rng, entry, last), rng.choices(_DEMAND_TYPES, weights=_DEMAND_WEIGHTS)[0])
            for _ in range(count)
        ]
        forced_type = None
        if index in plan.missing_finess:
            forced_type = "ORI"
        elif index in plan.unknown_complement:
            forced_type = "AES"
        if forced_type:
            day = random_day(rng, entry, max(entry, min(last, _LAST_FORCED_DEMAND)))
            demands[0] = (day, forced_type)
            forced_day = day
        demands.sort()

        seen_types: set[str] = set()
        special_from = None
        for day, demand_type in demands:
            number = f"{day.year:04d}{self._sequences['DEMANDE'] + 1:08d}"
            self._sequences["DEMANDE"] += 1
            nature = "2" if demand_type in seen_types else "1"
            seen_types.add(demand_type)
            row = [number, child, demand_type, dmy(day), nature if chance(rng, 0.97) else ""]
            self._files["DEMANDE"].write(row)
            if index in self._copy_originals and index not in self._copied_demands:
                self._copied_demands[index] = row
            is_forced = forced_type == demand_type and day == forced_day
            if is_forced:
                forced_type = None  # only the first matching demand carries the defect
            started = self._write_decision(index, number, demand_type, day, born, is_forced)
            if started and (special_from is None or started < special_from):
                special_from = started
        return special_from

    def _write_decision(
        self, index: int, demand: str, demand_type: str, day: date, born: date, forced: bool
    ) -> date | None:
        """Write the decision on one demand; return when a special school placement begins."""
        rng = self._rng
        if forced:
            decided = day + timedelta(days=rng.randint(20, 90))
            code = "ACC"
        else:
            if day > date(2008, 9, 15) or not chance(rng, 0.9):
                return None
            decided = day + timedelta(days=rng.randint(20, 120))
            if decided > LAST_WORKING_DAY:
                return None
            code = rng.choices(("ACC", "REJ", "SUR"), cum_weights=[75, 90, 100])[0]
        start = end = None
        if code == "ACC":
            start = first_of_next_month(decided)
            end = add_months(start, rng.choice((12, 24, 36, 60))) - timedelta(days=1)
            twentieth = birthday(born, 20)
            if demand_type == "AES" and end >= twentieth > start:
                end = twentieth - timedelta(days=1)
        decision = self._next("DECISION", "DC")
        self._files["DECISION"].write(
            [decision, demand, dmy(decided), code, dmy(start), dmy(end), self._motif(code)]
        )
        if code != "ACC":
            return None
        if demand_type == "ORI":
            return self._write_orientation(index, decision, decided, born, start, end, forced)
        if demand_type == "SCO":
            self._write_support(decision, decided, born, start, end)
        elif demand_type == "AES":
            self._write_allowance(index, decision, decided, start, end, forced)
        return None

    def _motif(self, code: str) -> str:
        rng = self._rng
        if chance(rng, 0.15):
            return ""
        if chance(rng, 0.06):
            return rng.choice(ref.TRICKY_MOTIFS[code])
        return rng.choice(ref.MOTIFS[code])

    def _write_orientation(
        self,
        index: int,
        decision: str,
        decided: date,
        born: date,
        start: date,
        end: date,
        forced: bool,
    ) -> date | None:
        rng = self._rng
        age = _age(born, decided)
        if forced:
            orientation = "IME"
        elif age < 6:
            orientation = rng.choices(
                ("CAMSP", "SESSAD", "IME", "CMPP"), cum_weights=[35, 65, 85, 100]
            )[0]
        else:
            orientation = rng.choices(
                ("IME", "SESSAD", "ITEP", "IEM", "CMPP"), cum_weights=[35, 60, 75, 83, 100]
            )[0]
        if forced:
            finess = self._plan.missing_finess[index]
            self._tally.add(APPLICATION, "ORIENTATION", "FINESS", "fk.dangling")
        else:
            category = _ORIENTATION_CATEGORY[orientation]
            finess = rng.choice(self._referentials.structures_of(category)).finess
        regime = ""
        if orientation in _BOARDING_ORIENTATIONS:
            regime = rng.choices(("INT", "EXT", "SEM"), cum_weights=[25, 60, 100])[0]
        self._files["ORIENTATION"].write(
            [
                self._next("ORIENTATION", "OR"),
                decision,
                orientation,
                finess,
                regime,
                dmy(start),
                dmy(end),
            ]
        )
        return start if orientation in _BOARDING_ORIENTATIONS and not forced else None

    def _write_support(self, decision: str, decided: date, born: date, start, end) -> None:
        rng = self._rng
        age = _age(born, decided)
        if age < 6:
            support = "AVS"
        elif age < 12:
            support = rng.choice(("CLIS", "AVS"))
        else:
            support = rng.choice(("UPI", "AVS"))
        self._files["ORIENTATION"].write(
            [self._next("ORIENTATION", "OR"), decision, support, "", "", dmy(start), dmy(end)]
        )

    def _write_allowance(
        self, index: int, decision: str, decided: date, start: date, end: date, forced: bool
    ) -> None:
        rng = self._rng
        if forced:
            complement = UNKNOWN_COMPLEMENT
            amount = _BASE_AMOUNT + _COMPLEMENT_AMOUNTS[6]
            self._tally.add(APPLICATION, "AES", "COMPLEMENT", "code.unknown")
        else:
            if decided < _SIX_COMPLEMENTS_SINCE:
                level = rng.choices(range(4), cum_weights=[40, 65, 85, 100])[0]
            else:
                level = rng.choices(range(7), cum_weights=[30, 50, 68, 80, 88, 95, 100])[0]
            complement = str(level)
            amount = _BASE_AMOUNT + _COMPLEMENT_AMOUNTS[level]
        # Earlier years get 2 % less a year, a rough stand-in for the yearly revaluation.
        amount *= 0.98 ** (2008 - decided.year)
        self._files["AES"].write(
            [
                self._next("AES", "AE"),
                decision,
                "AES" if decided < _AEEH_SINCE else "AEEH",
                complement,
                f"{amount:.2f}".replace(".", ","),
                "M" if chance(rng, 0.9) else "T",
                dmy(start),
                dmy(end),
            ]
        )

    # SCOLARISATION

    def _write_schooling(
        self, index: int, child: str, born: date, special_from: date | None
    ) -> None:
        rng = self._rng
        years = [
            year
            for year in range(max(born.year + 3, 1995), 2009)
            if 3 <= _age(born, date(year, 9, 1)) <= 19
        ]
        if years:
            count = min(len(years), rng.choices((1, 2, 3), cum_weights=[45, 80, 100])[0])
            chosen = sorted({years[-1], *rng.sample(years[:-1], min(count - 1, len(years) - 1))})
            for year in chosen:
                special = special_from is not None and date(year, 9, 1) >= special_from
                self._write_school_year(child, born, year, special)
        if index in self._plan.impossible_school_start:
            text = self._plan.impossible_school_start[index]
            year = int(text[6:])
            level = _level(_age(born, date(year, 2, 1)))
            school = rng.choice(self._referentials.schools_for(level, "ORD"))
            end = date(year, 7, 4) if text[3:5] == "02" else date(year + 1, 7, 1)
            self._files["SCOLARISATION"].write(
                [self._next("SCOLARISATION", "SC"), child, school.uai, level, "ORD", text, dmy(end)]
            )
            self._tally.add(APPLICATION, "SCOLARISATION", "DATE_DEBUT", "type.date")

    def _write_school_year(self, child: str, born: date, year: int, special: bool) -> None:
        rng = self._rng
        start = date(year, 9, rng.randint(1, 4))
        end = date(year + 1, 7, rng.randint(1, 4)) if year < 2008 else None
        if special:
            row = [self._next("SCOLARISATION", "SC"), child, "", "ESP", "", dmy(start), dmy(end)]
            self._files["SCOLARISATION"].write(row)
            return
        level = _level(_age(born, start))
        roll = rng.random()
        support = "ORD"
        if roll < 0.15:
            support = "AVS"
        elif roll < 0.3 and level != "MAT":
            options = {"ELE": ("CLIS",), "COL": ("UPI", "SEGPA"), "LYC": ("UPI",)}[level]
            support = rng.choice(options)
        school = rng.choice(self._referentials.schools_for(level, support))
        self._files["SCOLARISATION"].write(
            [
                self._next("SCOLARISATION", "SC"),
                child,
                school.uai,
                level,
                support,
                dmy(start),
                dmy(end),
            ]
        )


def _age(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _level(age: int) -> str:
    """Return the NIVEAU_SCOLAIRE code for an age at the start of the school year."""
    if age <= 5:
        return "MAT"
    if age <= 10:
        return "ELE"
    if age <= 14:
        return "COL"
    return "LYC"


def _capitals(text: str) -> str:
    """Write a name as old systems often did: capitals, no accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).upper()
