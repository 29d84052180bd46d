"""The planted defects: what they are, how many, and which people carry them.

A run with more people than the bundled one plants each defect in the same proportion: its
bundled count times adults / 400 (ITAC) or children / 250 (OPALES), rounded down. A smaller run
keeps the bundled counts, so every kind of defect is present at every size. Every planted defect
sits on a row of its own and triggers exactly one validation rule. The rejected rows of a table
are therefore its planted errors, and its rows with a warning are its planted warnings.
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
    count: int  # in the bundled run; see planted_counts for other sizes
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
# People in the bundled run (650 persons), the reference size of the planted counts.
BUNDLED_ADULTS = 400
BUNDLED_CHILDREN = 250

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


def planted_counts(adults: int, children: int) -> dict[tuple[str, str, str, str], int]:
    """Return the count of each planted defect for a run of `adults` and `children`."""
    counts = {}
    for defect in PLANTED:
        if defect.application == "ITAC":
            people, bundled = adults, BUNDLED_ADULTS
        else:
            people, bundled = children, BUNDLED_CHILDREN
        counts[defect.key] = max(defect.count, defect.count * people // bundled)
    return counts


@dataclass
class Tally:
    """Counts the defects actually planted, to compare them with the plan at the end."""

    planned: dict[tuple[str, str, str, str], int]
    counts: Counter = field(default_factory=Counter)

    def add(self, application: str, table: str, column: str, rule: str) -> None:
        self.counts[(application, table, column, rule)] += 1

    def check(self) -> None:
        """Raise GenerationError unless exactly the planned defects were planted."""
        planted = dict(self.counts)
        if planted != self.planned:
            raise GenerationError(f"planted defects {planted} differ from the plan {self.planned}")


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
    seed: int,
    adults: int,
    archives: int,
    identities: IdentitySpace,
    missing_etab: list[str],
    counts: dict[tuple[str, str, str, str], int],
) -> ItacPlan:
    """Choose the adults that carry the ITAC defects and the cross-application people.

    `counts` gives the number of each defect, as planted_counts returns it.
    """
    rng = random.Random(f"{seed}-plan-ITAC")

    def count(table: str, column: str, rule: str) -> int:
        return counts[("ITAC", table, column, rule)]

    # The DOSSIER rows with a defect, the cross-application people and the copied dossiers
    # are all distinct rows, so no row has two findings and no copy repeats a warning.
    used: set[int] = set()
    cross = {index: number for number, index in enumerate(_sample(rng, adults, CROSS_PEOPLE, used))}
    wrong_nir = frozenset(_sample(rng, adults, count("DOSSIER", "NIR", "id.nir"), used))
    placeholders = frozenset(
        _sample(rng, adults, count("DOSSIER", "DATE_OUVERTURE", "type.date_placeholder"), used)
    )
    copies_after: dict[int, list[int]] = {}
    copies = count("DOSSIER", "NUM_DOSSIER", "key.duplicate")
    for original in _sample(rng, int(adults * 0.6), copies, used):
        copies_after.setdefault(rng.randint(original + 1, adults - 1), []).append(original)

    others = set(cross)
    orphans = count("DEMANDE", "NUM_DOSSIER", "fk.dangling")
    orphans_after = dict(
        zip(
            _sample(rng, adults, orphans, others),
            rng.sample(range(archives), orphans),
            strict=True,
        )
    )
    missing_placements = count("SUIVI", "NUM_ETAB", "fk.dangling")
    missing_etab_after = dict(
        zip(
            _sample(rng, adults, missing_placements, others),
            _cycle(missing_etab, missing_placements),
            strict=True,
        )
    )

    # Extra HISTORIQUE rows need a dossier opened long before 2004: adults born by 1980, about
    # 87 % of them. Drawing twice as many candidates as defects leaves a wide margin.
    decisions = count("HISTORIQUE", "DATE_DECISION", "type.date")
    unknown_types = count("HISTORIQUE", "CODE_TYPE_DEMANDE", "code.unknown")
    candidates = _sample(
        rng,
        adults,
        min(adults - len(others), max(400, 2 * (decisions + unknown_types))),
        set(cross),
    )
    old_enough = [index for index in candidates if identities.identity(index).born.year <= 1980]
    impossible_decision = dict(
        zip(
            old_enough[:decisions],
            _cycle(list(IMPOSSIBLE_DECISION_DATES), decisions),
            strict=False,
        )
    )
    unknown_type = frozenset(old_enough[decisions : decisions + unknown_types])
    if len(impossible_decision) < decisions or len(unknown_type) < unknown_types:
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
    seed: int,
    children: int,
    identities: IdentitySpace,
    missing_finess: list[str],
    counts: dict[tuple[str, str, str, str], int],
) -> OpalesPlan:
    """Choose the children that carry the OPALES defects and the cross-application people.

    `counts` gives the number of each defect, as planted_counts returns it.
    """
    rng = random.Random(f"{seed}-plan-OPALES")

    def count(table: str, column: str, rule: str) -> int:
        return counts[("OPALES", table, column, rule)]

    used: set[int] = set()
    cross = {
        index: number for number, index in enumerate(_sample(rng, children, CROSS_PEOPLE, used))
    }
    wrong_nir_assure = frozenset(
        _sample(rng, children, count("ENFANT", "NIR_ASSURE", "id.nir"), used)
    )
    demand_copies_after: dict[int, list[int]] = {}
    copies = count("DEMANDE", "NUM_DEMANDE", "key.duplicate")
    for original in _sample(rng, int(children * 0.6), copies, used):
        demand_copies_after.setdefault(rng.randint(original + 1, children - 1), []).append(original)

    dangling = count("ORIENTATION", "FINESS", "fk.dangling")
    complements = count("AES", "COMPLEMENT", "code.unknown")
    school_starts = count("SCOLARISATION", "DATE_DEBUT", "type.date")
    # About 87 % of the children are born by 2005 and 46 % in 1990-1998, so twice as many
    # candidates as defects leave a margin for both.
    candidates = _sample(
        rng,
        children,
        min(children - len(cross), max(400, 2 * (dangling + complements + school_starts))),
        set(cross),
    )
    born = {index: identities.identity(index).born for index in candidates}
    # A forced ORI or AES decision needs a child born by 2005, an extra schooling row in
    # 2003-2004 a child of school age then (born 1990 to 1998).
    decidable = [index for index in candidates if born[index].year <= 2005]
    school_age = [index for index in candidates if 1990 <= born[index].year <= 1998]
    missing = dict(zip(decidable[:dangling], _cycle(missing_finess, dangling), strict=False))
    complement = frozenset(decidable[dangling : dangling + complements])
    school = dict(
        zip(
            school_age[:school_starts],
            _cycle(list(IMPOSSIBLE_SCHOOL_STARTS), school_starts),
            strict=False,
        )
    )
    if len(missing) < dangling or len(complement) < complements or len(school) < school_starts:
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


def _cycle(values: list[str], count: int) -> list[str]:
    """Return `count` values taken from `values` in turn, starting again after the last."""
    return [values[position % len(values)] for position in range(count)]


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
