"""The planted defects: what they are, how many, and which people carry them.

The counts are fixed whatever the number of persons, so a benchmark delivery has the same
findings as the bundled one. Every planted defect sits on a row of its own and triggers exactly
one validation rule. The rejected rows of a table are therefore its planted errors, and its rows
with a warning are its planted warnings.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from samplegen.people import GenerationError, IdentitySpace


@dataclass(frozen=True)
class PlantedDefect:
    """One kind of planted defect and its exact count."""

    application: str
    table: str
    column: str
    rule: str
    severity: str  # error (row rejected) or warning (row kept)
    count: int
    description: str  # short English text for the README

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.application, self.table, self.column, self.rule)


PLANTED = (
    PlantedDefect("ITAC", "DOSSIER", "NIR", "id.nir", "warning", 7, "NIR with a wrong key"),
    PlantedDefect(
        "ITAC",
        "DOSSIER",
        "NUM_DOSSIER",
        "key.duplicate",
        "error",
        2,
        "second copy of a dossier, later in the file, with another TELEPHONE",
    ),
    PlantedDefect(
        "ITAC",
        "DOSSIER",
        "DATE_OUVERTURE",
        "type.date_placeholder",
        "warning",
        5,
        "opening date 00/00/0000",
    ),
    PlantedDefect(
        "ITAC",
        "DEMANDE",
        "NUM_DOSSIER",
        "fk.dangling",
        "error",
        4,
        "demand of a closed dossier (in ARCHIVE, not in DOSSIER); it has no conclusion",
    ),
    PlantedDefect(
        "ITAC",
        "SUIVI",
        "NUM_ETAB",
        "fk.dangling",
        "error",
        2,
        "placement in an establishment missing from ETABLISSEMENT",
    ),
    PlantedDefect(
        "ITAC",
        "HISTORIQUE",
        "DATE_DECISION",
        "type.date",
        "error",
        3,
        "impossible decision date 31/02/2005, 30/02/2006 or 31/04/2004",
    ),
    PlantedDefect(
        "ITAC",
        "HISTORIQUE",
        "CODE_TYPE_DEMANDE",
        "code.unknown",
        "error",
        3,
        'demand type "99", not in TYPE_DEMANDE_ITAC',
    ),
    PlantedDefect(
        "OPALES",
        "ENFANT",
        "NIR_ASSURE",
        "id.nir",
        "warning",
        3,
        "insured parent's NIR with a wrong key",
    ),
    PlantedDefect(
        "OPALES",
        "DEMANDE",
        "NUM_DEMANDE",
        "key.duplicate",
        "error",
        2,
        "second copy of a demand, later in the file",
    ),
    PlantedDefect(
        "OPALES",
        "ORIENTATION",
        "FINESS",
        "fk.dangling",
        "error",
        3,
        "FINESS number with a valid Luhn digit but absent from the FINESS extract",
    ),
    PlantedDefect(
        "OPALES",
        "SCOLARISATION",
        "DATE_DEBUT",
        "type.date",
        "error",
        2,
        "impossible start date 31/02/2003 or 31/06/2004",
    ),
    PlantedDefect(
        "OPALES",
        "AES",
        "COMPLEMENT",
        "code.unknown",
        "error",
        2,
        'complément "7" (the complements go from 0 to 6)',
    ),
)
PLANNED_COUNTS = {defect.key: defect.count for defect in PLANTED}

IMPOSSIBLE_DECISION_DATES = ("31/02/2005", "30/02/2006", "31/04/2004")
IMPOSSIBLE_SCHOOL_STARTS = ("31/02/2003", "31/06/2004")
UNKNOWN_DEMAND_TYPE = "99"
UNKNOWN_COMPLEMENT = "7"

# People present in both applications: 2 found by NIR (NIR_ENFANT equals the ITAC NIR);
# 3 found by identity only (no NIR_ENFANT, same birth name, first names, birth date, sex and
# birthplace once case, accents and hyphens are normalised; the last of them is written in
# capitals without accents in OPALES); 1 whose surname OPALES spells differently
# (Schmitt / Schmidt), which must go to the review list, not be merged.
CROSS_BY_NIR = 2
CROSS_BY_IDENTITY = 3
CROSS_FOR_REVIEW = 1
CROSS_PEOPLE = CROSS_BY_NIR + CROSS_BY_IDENTITY + CROSS_FOR_REVIEW
CROSS_CAPITALS = CROSS_BY_NIR + CROSS_BY_IDENTITY - 1  # number of the person written in capitals
OPALES_SPELLINGS = {"Schmitt": "Schmidt"}


@dataclass
class Tally:
    """Counts the defects actually planted, to compare them with the plan at the end."""

    counts: Counter = field(default_factory=Counter)

    def add(self, application: str, table: str, column: str, rule: str) -> None:
        self.counts[(application, table, column, rule)] += 1

    def check(self) -> None:
        """Raise GenerationError unless exactly the planned defects were planted."""
        planted = dict(self.counts)
        if planted != PLANNED_COUNTS:
            raise GenerationError(
                f"planted defects {planted} differ from the plan {PLANNED_COUNTS}"
            )


@dataclass
class ItacPlan:
    """Assignment of the ITAC defects to adults, by index in DOSSIER order."""

    cross: dict[int, int]  # adult index -> cross-application person number
    wrong_nir: frozenset[int]
    placeholder_opening: frozenset[int]
    copies_after: dict[int, list[int]]  # write copies of these dossiers after this adult
    orphans_after: dict[int, int]  # write one orphan demand on this archive number after
    missing_etab_after: dict[int, str]  # write one SUIVI row to this missing NUM_ETAB after
    impossible_decision: dict[int, str]  # adult -> impossible DATE_DECISION of an extra row
    unknown_demand_type: frozenset[int]  # adult -> one extra HISTORIQUE row of type "99"


@dataclass
class OpalesPlan:
    """Assignment of the OPALES defects to children, by index in ENFANT order."""

    cross: dict[int, int]  # child index -> cross-application person number
    wrong_nir_assure: frozenset[int]
    demand_copies_after: dict[int, list[int]]  # copy the first demand of these children after
    missing_finess: dict[int, str]  # child -> absent FINESS of a forced ORI orientation
    impossible_school_start: dict[int, str]  # child -> DATE_DEBUT of an extra schooling row
    unknown_complement: frozenset[int]  # child -> forced AES row with complément "7"


def plan_itac(
    seed: int, adults: int, archives: int, identities: IdentitySpace, missing_etab: list[str]
) -> ItacPlan:
    """Choose the adults that carry the ITAC defects and the cross-application people."""
    rng = random.Random(f"{seed}-plan-ITAC")
    # The DOSSIER rows with a defect, the cross-application people and the copied dossiers
    # are all distinct rows, so no row has two findings and no copy repeats a warning.
    used: set[int] = set()
    cross = {index: number for number, index in enumerate(_sample(rng, adults, CROSS_PEOPLE, used))}
    wrong_nir = frozenset(_sample(rng, adults, 7, used))
    placeholders = frozenset(_sample(rng, adults, 5, used))
    copies_after: dict[int, list[int]] = {}
    for original in _sample(rng, int(adults * 0.6), 2, used):
        copies_after.setdefault(rng.randint(original + 1, adults - 1), []).append(original)

    others = set(cross)
    orphans_after = dict(
        zip(_sample(rng, adults, 4, others), rng.sample(range(archives), 4), strict=True)
    )
    missing_etab_after = dict(zip(_sample(rng, adults, 2, others), missing_etab, strict=True))

    # Extra HISTORIQUE rows need a dossier opened long before 2004: adults born by 1980.
    candidates = _sample(rng, adults, min(adults - len(others), 400), set(cross))
    old_enough = [index for index in candidates if identities.identity(index).born.year <= 1980]
    impossible_decision = dict(zip(old_enough[:3], IMPOSSIBLE_DECISION_DATES, strict=False))
    unknown_type = frozenset(old_enough[3:6])
    if len(impossible_decision) < 3 or len(unknown_type) < 3:
        raise GenerationError(
            "not enough adults born by 1980 to plant the HISTORIQUE defects; ask for more persons"
        )

    return ItacPlan(
        cross=cross,
        wrong_nir=wrong_nir,
        placeholder_opening=placeholders,
        copies_after=copies_after,
        orphans_after=orphans_after,
        missing_etab_after=missing_etab_after,
        impossible_decision=impossible_decision,
        unknown_demand_type=unknown_type,
    )


def plan_opales(
    seed: int, children: int, identities: IdentitySpace, missing_finess: list[str]
) -> OpalesPlan:
    """Choose the children that carry the OPALES defects and the cross-application people."""
    rng = random.Random(f"{seed}-plan-OPALES")
    used: set[int] = set()
    cross = {
        index: number for number, index in enumerate(_sample(rng, children, CROSS_PEOPLE, used))
    }
    wrong_nir_assure = frozenset(_sample(rng, children, 3, used))
    demand_copies_after: dict[int, list[int]] = {}
    for original in _sample(rng, int(children * 0.6), 2, used):
        demand_copies_after.setdefault(rng.randint(original + 1, children - 1), []).append(original)
    candidates = _sample(rng, children, min(children - len(cross), 400), set(cross))
    born = {index: identities.identity(index).born for index in candidates}
    # A forced ORI or AES decision needs a child born by 2005, an extra schooling row in
    # 2003-2004 a child of school age then (born 1990 to 1998).
    decidable = [index for index in candidates if born[index].year <= 2005]
    school_age = [index for index in candidates if 1990 <= born[index].year <= 1998]
    missing = dict(zip(decidable[:3], missing_finess, strict=False))
    complement = frozenset(decidable[3:5])
    school = dict(zip(school_age[:2], IMPOSSIBLE_SCHOOL_STARTS, strict=False))
    if len(missing) < 3 or len(complement) < 2 or len(school) < 2:
        raise GenerationError(
            "not enough children of the right age to plant the OPALES defects; ask for more persons"
        )
    return OpalesPlan(
        cross=cross,
        wrong_nir_assure=wrong_nir_assure,
        demand_copies_after=demand_copies_after,
        missing_finess=missing,
        impossible_school_start=school,
        unknown_complement=complement,
    )


def _sample(rng: random.Random, size: int, count: int, used: set[int]) -> list[int]:
    """Draw `count` distinct indices below `size` that are not in `used`, and add them to it.

    Rejection sampling keeps this cheap for millions of people; the callers keep
    `count + len(used)` below `size`.
    """
    picks: list[int] = []
    while len(picks) < count:
        index = rng.randrange(size)
        if index not in used:
            used.add(index)
            picks.append(index)
    return picks
