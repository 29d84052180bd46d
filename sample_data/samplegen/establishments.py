"""Fictional Moselle establishments (FINESS) and schools (UAI) the people are oriented to.

The establishments belong to the disability categories of the FINESS nomenclature. For
children these are IME 183, ITEP 186, SESSAD 182, IEM 192, CAMSP 190 and CMPP 189. For adults
they are ESAT 246, MAS 255, FAM 437, foyer de vie 382, foyer d'hébergement 252, SAVS 446,
SAMSAH 445 and CRP/ESRP 249. Two hospitals (355) and an EHPAD (500) complete the list. Names,
numbers and addresses are made up.
"""

from __future__ import annotations

import math
import random
import unicodedata
from dataclasses import dataclass
from datetime import date

from samplegen import referentials as ref
from samplegen.identifiers import finess_number, uai_code
from samplegen.people import AddressMaker, random_day


@dataclass(frozen=True)
class Category:
    """A FINESS category with the number of sample establishments of that category."""

    code: str
    short: str  # upper-case prefix of the FINESS short name
    label: str  # FINESS libcategetab
    count: int
    adult: bool


CATEGORIES = (
    Category("183", "IME", "Institut Médico-Educatif (I.M.E.)", 6, False),
    Category(
        "186",
        "ITEP",
        "Institut Thérapeutique Éducatif et Pédagogique (I.T.E.P.)",
        3,
        False,
    ),
    Category(
        "182",
        "SESSAD",
        "Service d'Éducation Spéciale et de Soins à Domicile",
        5,
        False,
    ),
    Category("192", "IEM", "Institut d'Education Motrice", 2, False),
    Category("190", "CAMSP", "Centre Action Médico-Sociale Précoce (C.A.M.S.P.)", 3, False),
    Category("189", "CMPP", "Centre Médico-Psycho-Pédagogique (C.M.P.P.)", 3, False),
    Category(
        "246",
        "ESAT",
        "Etablissement et Service d'Aide par le Travail (E.S.A.T.)",
        5,
        True,
    ),
    Category("255", "MAS", "Maison d'Accueil Spécialisée (M.A.S.)", 2, True),
    Category(
        "437",
        "FAM",
        "Foyer d'Accueil Médicalisé pour Adultes Handicapés (F.A.M.)",
        2,
        True,
    ),
    Category("382", "FOYER DE VIE", "Foyer de Vie pour Adultes Handicapés", 2, True),
    Category("252", "FOYER", "Foyer Hébergement Adultes Handicapés", 2, True),
    Category("446", "SAVS", "Service d'Accompagnement à la Vie Sociale (S.A.V.S.)", 2, True),
    Category(
        "445",
        "SAMSAH",
        "Service d'Accompagnement Médico-Social Adultes Handicapés",
        1,
        True,
    ),
    Category("249", "CRP", "Centre de Rééducation Professionnelle", 1, True),
    Category("355", "CH", "Centre Hospitalier (C.H.)", 2, False),
    Category(
        "500",
        "EHPAD",
        "Etablissement d'hébergement pour personnes âgées dépendantes",
        1,
        False,
    ),
)
CATEGORY_BY_CODE = {category.code: category for category in CATEGORIES}
# Maximum length of ITAC RAISON_SOCIALE in the ITAC data dictionary. RAISON_SOCIALE copies the
# FINESS long name, so that ITAC and OPALES give one name to each FINESS number, and a long name
# that does not fit is replaced by the short name.
MAX_NAME_LENGTH = 60

_PLACE_NAMES = (
    "LES JONQUILLES",
    "LE PARC",
    "LA ROSERAIE",
    "LES PEUPLIERS",
    "SAINT-JOSEPH",
    "LES MIRABELLES",
    "LE BOIS FLEURI",
    "LA FONTAINE",
    "LES GLYCINES",
    "LE MOULIN",
    "LES HIRONDELLES",
    "LES CHARMILLES",
    "L'ARC-EN-CIEL",
    "LE SOLEIL",
    "LES CERISIERS",
    "LA CLAIRIERE",
    "LES SAULES",
    "LE TRAIT D'UNION",
    "LES ECUREUILS",
    "LES COQUELICOTS",
    "L'ESPERANCE",
    "LES TILLEULS",
    "LE VAL FLEURI",
    "LES LILAS",
    "LA SOURCE",
    "LES PRIMEVERES",
    "LE CHENE",
    "LES VIOLETTES",
    "LA PASSERELLE",
    "LES AUBEPINES",
    "LE CEDRE",
    "LES BLEUETS",
    "LA COLLINE",
    "LES MYOSOTIS",
    "LE RELAIS",
    "LES VERGERS",
    "LA RIVIERE",
    "LES PINS",
    "L'ALLIANCE",
    "LES CAPUCINES",
)
_FINESS_STREETS = (
    ("RUE", "DES JARDINS"),
    ("AV", "DE STRASBOURG"),
    ("RUE", "DU MOULIN"),
    ("ALL", "DES ERABLES"),
    ("RTE", "DE THIONVILLE"),
    ("RUE", "PASTEUR"),
    ("BD", "DE TREVES"),
    ("RUE", "DE LA GARE"),
    ("PL", "SAINT-LOUIS"),
    ("RUE", "DES ECOLES"),
    ("CHE", "DE LA FORET"),
    ("RUE", "VICTOR HUGO"),
    ("RUE", "DE METZ"),
    ("RUE", "DU PARC"),
)
# Number of fictional legal entities (associations) that run the establishments.
_LEGAL_ENTITIES = 8


@dataclass(frozen=True)
class Structure:
    """One establishment of the FINESS extract (structureet and geolocalisation records)."""

    finess: str
    finess_legal_entity: str
    short_name: str  # FINESS rs
    long_name: str  # FINESS rslongue, also the ITAC RAISON_SOCIALE
    category: Category
    commune: ref.Commune
    street_number: str
    street_type: str
    street: str
    phone: str
    fax: str
    opened: date
    authorised: date
    updated: date
    lambert_x: float
    lambert_y: float
    itac_number: str  # ITAC NUM_ETAB, empty for categories ITAC does not use


@dataclass(frozen=True)
class School:
    """One school of the RAMSESE extract (annuaire de l'éducation layout)."""

    uai: str
    name: str
    kind: str  # Ecole, Collège, Lycée
    levels: tuple[str, ...]  # OPALES NIVEAU_SCOLAIRE codes the school teaches
    public: bool
    address: str
    commune: ref.Commune
    ulis: bool
    segpa: bool
    latitude: float
    longitude: float
    opened: date


_SCHOOLS = (
    ("Ecole maternelle Les Acacias", "Ecole", ("MAT",)),
    ("Ecole maternelle Les Lilas", "Ecole", ("MAT",)),
    ("Ecole maternelle Les Marronniers", "Ecole", ("MAT",)),
    ("Ecole maternelle Le Petit Prince", "Ecole", ("MAT",)),
    ("Ecole maternelle Les Coccinelles", "Ecole", ("MAT",)),
    ("Ecole maternelle Les Tournesols", "Ecole", ("MAT",)),
    ("Ecole maternelle Les Pâquerettes", "Ecole", ("MAT",)),
    ("Ecole maternelle Les Mirabelles", "Ecole", ("MAT",)),
    ("Ecole primaire Le Jardin enchanté", "Ecole", ("MAT", "ELE")),
    ("Ecole primaire Les Hirondelles", "Ecole", ("MAT", "ELE")),
    ("Ecole élémentaire Jules Ferry", "Ecole", ("ELE",)),
    ("Ecole élémentaire Jean Macé", "Ecole", ("ELE",)),
    ("Ecole élémentaire Victor Hugo", "Ecole", ("ELE",)),
    ("Ecole élémentaire Louis Pasteur", "Ecole", ("ELE",)),
    ("Ecole élémentaire Paul Bert", "Ecole", ("ELE",)),
    ("Ecole élémentaire Jacques Prévert", "Ecole", ("ELE",)),
    ("Ecole élémentaire Sainte-Thérèse", "Ecole", ("ELE",)),
    ("Ecole élémentaire Les Tilleuls", "Ecole", ("ELE",)),
    ("Ecole élémentaire Camille Claudel", "Ecole", ("ELE",)),
    ("Ecole élémentaire Jean de La Fontaine", "Ecole", ("ELE",)),
    ("Collège Jean Moulin", "Collège", ("COL",)),
    ("Collège Paul Verlaine", "Collège", ("COL",)),
    ("Collège Robert Schuman", "Collège", ("COL",)),
    ("Collège Albert Camus", "Collège", ("COL",)),
    ("Collège Pierre Mendès France", "Collège", ("COL",)),
    ("Collège Louis Armand", "Collège", ("COL",)),
    ("Collège Jean Rostand", "Collège", ("COL",)),
    ("Collège Saint-Exupéry", "Collège", ("COL",)),
    ("Collège Jules Verne", "Collège", ("COL",)),
    ("Collège Marie Curie", "Collège", ("COL",)),
    ("Collège Sainte-Chrétienne", "Collège", ("COL",)),
    ("Collège Victor Hugo", "Collège", ("COL",)),
    ("Lycée Condorcet", "Lycée", ("LYC",)),
    ("Lycée Jean Zay", "Lycée", ("LYC",)),
    ("Lycée Hélène Boucher", "Lycée", ("LYC",)),
    ("Lycée professionnel Gustave Eiffel", "Lycée", ("LYC",)),
    ("Lycée René Cassin", "Lycée", ("LYC",)),
    ("Lycée Charlemagne", "Lycée", ("LYC",)),
    ("Lycée Saint-Joseph", "Lycée", ("LYC",)),
    ("Lycée professionnel Antoine de Saint-Exupéry", "Lycée", ("LYC",)),
)


@dataclass
class Referentials:
    """The establishments and schools of one sample, and FINESS numbers known to be absent."""

    structures: list[Structure]
    schools: list[School]
    missing_finess: list[str]  # valid Luhn digit, in no FINESS record
    missing_itac_numbers: list[str]  # NUM_ETAB values in no ETABLISSEMENT row

    def structures_of(self, category_code: str) -> list[Structure]:
        """Return the establishments of one FINESS category."""
        return [s for s in self.structures if s.category.code == category_code]

    def schools_for(self, level: str, dispositif: str) -> list[School]:
        """Return the schools that teach `level` and offer `dispositif`."""
        schools = [school for school in self.schools if level in school.levels]
        if dispositif in ("CLIS", "UPI"):
            schools = [school for school in schools if school.ulis]
        elif dispositif == "SEGPA":
            schools = [school for school in schools if school.segpa]
        return schools


def build_referentials(seed: int) -> Referentials:
    """Build the establishments and schools of the sample; they do not scale with persons."""
    rng = random.Random(f"{seed}-referentials")
    addresses = AddressMaker()
    used: set[str] = set()

    def new_finess() -> str:
        while True:
            number = finess_number("57" + f"{rng.randint(0, 999_999):06d}")
            if number not in used:
                used.add(number)
                return number

    legal_entities = [new_finess() for _ in range(_LEGAL_ENTITIES)]
    place_names = list(_PLACE_NAMES)
    rng.shuffle(place_names)
    structures = []
    itac_sequence = 100
    for category in CATEGORIES:
        for _ in range(category.count):
            commune = addresses.commune(rng)
            if category.code == "355":
                short = f"CH DE {_upper_ascii(commune.name)}"
                long_name = f"CENTRE HOSPITALIER DE {_upper_ascii(commune.name)}"
                legal_entity = new_finess()
            else:
                place = place_names.pop()
                short = f"{category.short} {place}"
                long_name = f"{_upper_ascii(category.label.split(' (')[0])} {place}"
                legal_entity = rng.choice(legal_entities)
            if len(long_name) > MAX_NAME_LENGTH:
                long_name = short
            itac_number = ""
            if category.adult:
                itac_sequence += 1
                itac_number = f"{itac_sequence:06d}"
            opened = random_day(rng, date(1965, 1, 1), date(2004, 12, 31))
            latitude, longitude = _jitter(rng, commune)
            x, y = lambert93(latitude, longitude)
            street_type, street = rng.choice(_FINESS_STREETS)
            structures.append(
                Structure(
                    finess=new_finess(),
                    finess_legal_entity=legal_entity,
                    short_name=short,
                    long_name=long_name,
                    category=category,
                    commune=commune,
                    street_number=str(rng.randint(1, 60)),
                    street_type=street_type,
                    street=street,
                    phone=_landline(rng, commune),
                    fax="" if rng.random() < 0.4 else _landline(rng, commune),
                    opened=opened,
                    authorised=random_day(rng, date(opened.year - 2, 1, 1), opened),
                    updated=random_day(rng, date(2008, 1, 1), date(2008, 9, 30)),
                    lambert_x=x,
                    lambert_y=y,
                    itac_number=itac_number,
                )
            )
    missing_finess = [new_finess() for _ in range(3)]
    missing_itac_numbers = [f"{itac_sequence + gap:06d}" for gap in (19, 46)]
    return Referentials(
        structures, _build_schools(rng, addresses), missing_finess, missing_itac_numbers
    )


def _build_schools(rng: random.Random, addresses: AddressMaker) -> list[School]:
    used: set[str] = set()
    schools = []
    for index, (name, kind, levels) in enumerate(_SCHOOLS):
        while True:
            uai = uai_code("057" + f"{rng.randint(0, 9999):04d}")
            if uai not in used:
                used.add(uai)
                break
        commune = addresses.commune(rng)
        latitude, longitude = _jitter(rng, commune)
        street = rng.choice(ref.STREETS)
        # Every third school has a ULIS (CLIS or UPI in 2008) and every third collège a SEGPA,
        # so each support code of SCOLARISATION has schools to point to.
        schools.append(
            School(
                uai=uai,
                name=name,
                kind=kind,
                levels=levels,
                public="Saint" not in name,
                address=f"{rng.randint(1, 80)} {street}",
                commune=commune,
                ulis=index % 3 == 0 and "MAT" not in levels,
                segpa=kind == "Collège" and index % 3 == 1,
                latitude=latitude,
                longitude=longitude,
                opened=date(rng.randint(1955, 1998), 9, rng.randint(1, 5)),
            )
        )
    return schools


def _landline(rng: random.Random, commune: ref.Commune) -> str:
    prefix = "0382" if commune.insee in ref.PREFIX_0382 else "0387"
    return prefix + f"{rng.randint(0, 999_999):06d}"


def _jitter(rng: random.Random, commune: ref.Commune) -> tuple[float, float]:
    return (
        round(commune.latitude + rng.uniform(-0.008, 0.008), 6),
        round(commune.longitude + rng.uniform(-0.012, 0.012), 6),
    )


def _upper_ascii(text: str) -> str:
    """Upper-case without accents and hyphens, as FINESS and La Poste write place names."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return plain.upper().replace("-", " ")


def acheminement(commune: ref.Commune) -> str:
    """Return the FINESS `ligneacheminement`: postal code and upper-case commune name."""
    return f"{commune.postal} {_upper_ascii(commune.name)}"


def lambert93(latitude: float, longitude: float) -> tuple[float, float]:
    """Project WGS84 degrees to Lambert-93 metres (conic conformal, GRS80, IGN parameters)."""
    a = 6_378_137.0
    flattening = 1 / 298.257222101
    e = math.sqrt(2 * flattening - flattening**2)
    phi0, phi1, phi2 = (math.radians(value) for value in (46.5, 44.0, 49.0))
    lambda0 = math.radians(3.0)

    def m(phi: float) -> float:
        return math.cos(phi) / math.sqrt(1 - (e * math.sin(phi)) ** 2)

    def t(phi: float) -> float:
        sine = e * math.sin(phi)
        return math.tan(math.pi / 4 - phi / 2) / ((1 - sine) / (1 + sine)) ** (e / 2)

    n = (math.log(m(phi1)) - math.log(m(phi2))) / (math.log(t(phi1)) - math.log(t(phi2)))
    big_f = m(phi1) / (n * t(phi1) ** n)
    rho0 = a * big_f * t(phi0) ** n
    phi = math.radians(latitude)
    rho = a * big_f * t(phi) ** n
    theta = n * (math.radians(longitude) - lambda0)
    return 700_000 + rho * math.sin(theta), 6_600_000 + rho0 - rho * math.cos(theta)
