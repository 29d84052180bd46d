"""Identity resolution: one target individual for a person known to both applications.

A child of OPALES may be an adult of ITAC today, with no identifier shared by the two
applications. An OPALES individual is merged into an ITAC individual automatically when:
- both have the same valid NIR; or
- no NIR contradicts it and the normalised birth name (or the ITAC usage name), first names,
  birth date, sex and birthplace are equal. Normalised means upper case, no accents, hyphens
  as spaces and single spaces.

Other candidates (same birth date and sex, or same names) get a score from 0 to 1; those at or
above `REVIEW_THRESHOLD` go to a review list and are never merged automatically. A candidate
that matches several individuals is not merged either, and goes to review. A decision recorded
by a person (merge or separate) overrides all of this on every rerun.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.util import hash_array
from rapidfuzz.distance import JaroWinkler

from migration.identity.reasons import (
    DIFFERENT_BIRTH_DATE,
    DIFFERENT_BIRTHPLACE,
    SAME_BIRTH_DATE,
    SAME_BIRTHPLACE,
    SAME_FIRST_NAMES,
    SAME_NAME,
    SAME_NIR,
    SEVERAL_CANDIDATES,
    SIMILAR_FIRST_NAMES,
    SIMILAR_NAME,
    with_similarity,
)
from migration.mapping.expressions import _normalize

REVIEW_THRESHOLD = 0.85
MERGE, SEPARATE = "merge", "separate"
WEIGHTS = {"nom": 0.35, "prenoms": 0.25, "date_naissance": 0.2, "sexe": 0.1, "lieu": 0.1}


@dataclass
class Candidate:
    """A pair of individuals that may be the same person, with its score and reasons."""

    primary: str
    secondary: str
    score: float
    method: str  # nir, identity, decision, review
    reasons: list[str] = field(default_factory=list)
    primary_source: str | None = None  # source key of the individual, e.g. a NUM_DOSSIER
    secondary_source: str | None = None

    def as_dict(self) -> dict:
        return {
            "id_individu_itac": self.primary,
            "id_individu_opales": self.secondary,
            "source_itac": self.primary_source,
            "source_opales": self.secondary_source,
            "score": self.score,
            "reasons": self.reasons,
        }


@dataclass
class IdentityResult:
    """Merges (secondary key -> primary key), the review list and the counts of the report."""

    merges: dict[str, str] = field(default_factory=dict)
    review: list[Candidate] = field(default_factory=list)
    by_nir: int = 0
    by_identity: int = 0
    by_decision: int = 0
    separated_by_decision: int = 0
    primary_only: int = 0
    secondary_only: int = 0

    def summary(self) -> dict:
        return {
            "cross_application": len(self.merges),
            "by_nir": self.by_nir,
            "by_identity": self.by_identity,
            "by_decision": self.by_decision,
            "separated_by_decision": self.separated_by_decision,
            "for_review": len(self.review),
            "review": [candidate.as_dict() for candidate in self.review],
            "only_itac": self.primary_only,
            "only_opales": self.secondary_only,
        }


# The columns of `individu` rows that identity resolution reads.
IDENTITY_FIELDS = [
    "id_individu",
    "nir",
    "nom_naissance",
    "nom_usage",
    "prenoms",
    "date_naissance",
    "sexe",
    "commune_naissance",
    "_application",
    "_source_key",
]
# The values two individuals must share to be compared: candidates are found by blocks.
BLOCKS = [["nir"], ["date_naissance", "sexe"], ["_nom_naissance", "_prenom"]]


def resolve_individuals(
    individuals: pd.DataFrame,
    decisions: dict[tuple[str, str], str] | None = None,
    primary: str = "ITAC",
    secondary: str = "OPALES",
) -> IdentityResult:
    """Find the individuals of `secondary` that are also individuals of `primary`.

    Args:
        individuals: the mapped `individu` rows of both applications, with `_application`.
        decisions: recorded decisions, (primary key, secondary key) -> "merge" or "separate".
    """
    index = IdentityIndex(primary, secondary)
    index.add(individuals)
    return index.resolve(lambda: [individuals], decisions)


class IdentityIndex:
    """The individuals of both applications, reduced to an index for finding candidates.

    Each frame of `individu` rows added keeps, per row, its application, its key and a 64-bit
    hash of each block (`BLOCKS`), so the candidates of a whole département are found without
    the individuals' values in memory. The values of the candidates only are read again from
    the frames at the end. A hash shared by two different blocks only adds a pair, which
    `resolve` drops once it compares the values themselves.
    """

    def __init__(self, primary: str = "ITAC", secondary: str = "OPALES") -> None:
        self.primary, self.secondary = primary, secondary
        self._parts: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame) -> None:
        """Index the next frame of individuals (rows of other applications are skipped)."""
        sides = frame["_application"].map({self.primary: 0, self.secondary: 1})
        rows = _prepared(frame[sides.notna()])
        part = pd.DataFrame(
            {"side": sides[sides.notna()].to_numpy(dtype="int8"), "id": rows["id_individu"]}
        )
        for number, block in enumerate(BLOCKS):
            present = rows[block].notna().all(axis=1).to_numpy()
            texts = rows[block[0]].astype(str)
            for column in block[1:]:
                texts = texts + "|" + rows[column].astype(str)
            hashes = hash_array(texts.to_numpy(dtype=object), categorize=False)
            part[f"block{number}"] = pd.array(np.where(present, hashes, 0), dtype="UInt64")
            part.loc[~present, f"block{number}"] = pd.NA
        self._parts.append(part)

    def resolve(
        self,
        frames: Callable[[], Iterable[pd.DataFrame]],
        decisions: dict[tuple[str, str], str] | None = None,
    ) -> IdentityResult:
        """Resolve the indexed individuals. `frames` gives the frames added, again, in order:
        the values of the candidates are read from them."""
        decisions = decisions or {}
        index = pd.concat(self._parts, ignore_index=True) if self._parts else None
        self._parts.clear()
        if index is None:
            return IdentityResult()
        # One row per individual, the first one of its application, as in the target.
        index = index[~index.duplicated(["side", "id"])]
        left, right = index[index["side"] == 0], index[index["side"] == 1]
        pairs = _block_pairs(left, right) if len(left) and len(right) else np.empty((0, 2), int)
        records = self._records_at(frames, np.unique(pairs))
        candidates = []
        keys = sorted(
            (records[first]["id_individu"], records[second]["id_individu"], first, second)
            for first, second in pairs
        )
        for primary_key, secondary_key, first, second in keys:
            person, other = records[first], records[second]
            if not _share_a_block(person, other):
                continue
            candidate = _score(person, other)
            if candidate is not None:
                candidate.primary, candidate.secondary = primary_key, secondary_key
                candidate.primary_source = person.get("_source_key")
                candidate.secondary_source = other.get("_source_key")
                candidates.append(candidate)
        return _decide(candidates, decisions, set(left["id"]), set(right["id"]))

    def _records_at(self, frames, positions: np.ndarray) -> dict[int, dict]:
        """Read the prepared rows at `positions`, counted as `add` counted them, as dicts."""
        records: dict[int, dict] = {}
        start = 0
        for frame in frames():
            frame = frame[frame["_application"].isin([self.primary, self.secondary])]
            end = start + len(frame)
            wanted = positions[(positions >= start) & (positions < end)]
            if len(wanted):
                rows = _prepared(frame.iloc[wanted - start]).to_dict("records")
                records.update(zip(wanted.tolist(), rows, strict=True))
            start = end
        return records


def _block_pairs(left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
    """Return the distinct (left position, right position) pairs that share a block hash."""
    found = []
    for number in range(len(BLOCKS)):
        column = f"block{number}"
        sides = [
            pd.DataFrame({"h": part[column], "at": part.index.to_numpy()}).dropna()
            for part in (left, right)
        ]
        joined = sides[0].merge(sides[1], on="h", suffixes=("_l", "_r"))
        found.append(joined[["at_l", "at_r"]].to_numpy(dtype=np.int64))
    pairs = np.concatenate(found) if found else np.empty((0, 2), dtype=np.int64)
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def _share_a_block(person: dict, other: dict) -> bool:
    """Return whether two individuals have equal values, none of them null, in one block."""
    return any(
        all(not pd.isna(person[column]) and person[column] == other[column] for column in block)
        for block in BLOCKS
    )


def _decide(
    candidates: list[Candidate],
    decisions: dict[tuple[str, str], str],
    left_keys: set[str],
    right_keys: set[str],
) -> IdentityResult:
    """Merge the candidates that are certain or decided; send the others to review."""
    result = IdentityResult()
    by_secondary: dict[str, list[Candidate]] = {}
    automatic_by_primary: dict[str, int] = {}
    for candidate in candidates:
        by_secondary.setdefault(candidate.secondary, []).append(candidate)
        if candidate.method in ("nir", "identity"):
            automatic_by_primary[candidate.primary] = (
                automatic_by_primary.get(candidate.primary, 0) + 1
            )

    for secondary_key, options in by_secondary.items():
        decided = [c for c in options if decisions.get((c.primary, c.secondary)) == MERGE]
        separated = [c for c in options if decisions.get((c.primary, c.secondary)) == SEPARATE]
        result.separated_by_decision += len(separated)
        options = [c for c in options if c not in separated]
        if len(decided) == 1:
            result.merges[secondary_key] = decided[0].primary
            result.by_decision += 1
            continue
        automatic = [c for c in options if c.method in ("nir", "identity")]
        contested = len(automatic) == 1 and automatic_by_primary[automatic[0].primary] > 1
        if len(automatic) == 1 and not contested:
            result.merges[secondary_key] = automatic[0].primary
            if automatic[0].method == "nir":
                result.by_nir += 1
            else:
                result.by_identity += 1
            continue
        for candidate in options:
            if candidate.method in ("nir", "identity"):
                candidate.reasons.append(SEVERAL_CANDIDATES)
            candidate.method = "review"
            result.review.append(candidate)

    # A decision to merge a pair the scoring did not propose (a spelling too far apart).
    for (primary_key, secondary_key), decision in decisions.items():
        if decision != MERGE or secondary_key in result.merges:
            continue
        if primary_key in left_keys and secondary_key in right_keys:
            result.merges[secondary_key] = primary_key
            result.by_decision += 1
            result.review = [c for c in result.review if c.secondary != secondary_key]

    merged_primary = set(result.merges.values())
    result.primary_only = len(left_keys - merged_primary)
    result.secondary_only = len(right_keys - set(result.merges))
    return result


def _prepared(rows: pd.DataFrame) -> pd.DataFrame:
    """Add the normalised names used for comparison to individuals' rows."""
    rows = rows.copy()
    for column in ("nom_naissance", "nom_usage", "prenoms"):
        source = rows[column] if column in rows else pd.Series(None, index=rows.index)
        # Names repeat: normalise each distinct one once.
        names = {value: _normalize(value) for value in source.dropna().unique() if value}
        normalised = source.map(pd.Series(names, dtype=object)).astype(object)
        rows[f"_{column}"] = normalised.where(normalised.notna(), None)
    rows["_prenom"] = rows["_prenoms"].map(
        lambda value: value.split()[0] if isinstance(value, str) and value else None
    )
    return rows.reset_index(drop=True)


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value)) and value != ""


def _score(person, other) -> Candidate | None:
    if _present(person["nir"]) and _present(other["nir"]):
        if person["nir"] == other["nir"]:
            return Candidate("", "", 1.0, "nir", [SAME_NIR])
        return None
    names = [name for name in (person["_nom_naissance"], person["_nom_usage"]) if name]
    surname = max((_similarity(name, other["_nom_naissance"]) for name in names), default=0.0)
    first_names = _similarity(person["_prenoms"], other["_prenoms"])
    same_date = person["date_naissance"] == other["date_naissance"]
    same_year = (
        _present(person["date_naissance"])
        and _present(other["date_naissance"])
        and (person["date_naissance"].year == other["date_naissance"].year)
    )
    sex_known = person["sexe"] in ("1", "2") and other["sexe"] in ("1", "2")
    if sex_known and person["sexe"] != other["sexe"]:
        return None
    same_place = person["commune_naissance"] == other["commune_naissance"]
    place_known = _present(person["commune_naissance"]) and _present(other["commune_naissance"])

    # An unknown part counts half: it neither supports nor contradicts the match.
    date_part = 1.0 if same_date else 0.0
    if not same_date and same_year:
        date_part = 0.5
    place_part = 1.0 if same_place else 0.0
    if not place_known:
        place_part = 0.5
    score = (
        WEIGHTS["nom"] * surname
        + WEIGHTS["prenoms"] * first_names
        + WEIGHTS["date_naissance"] * date_part
        + WEIGHTS["sexe"] * (1.0 if sex_known else 0.5)
        + WEIGHTS["lieu"] * place_part
    )
    reasons = _reasons(surname, first_names, same_date, same_place, place_known)
    exact = surname == 1.0 and first_names == 1.0 and same_date and sex_known
    if exact and (same_place or not place_known):
        return Candidate("", "", round(score, 3), "identity", reasons)
    if score >= REVIEW_THRESHOLD:
        return Candidate("", "", round(score, 3), "review", reasons)
    return None


def _similarity(left: str | None, right: str | None) -> float:
    if not left or not right:
        return 0.0
    return 1.0 if left == right else JaroWinkler.similarity(left, right)


def _reasons(surname, first_names, same_date, same_place, place_known) -> list[str]:
    """Return the stored reasons of a candidate: fixed French phrases that the report translates."""
    reasons = []
    if surname == 1.0:
        reasons.append(SAME_NAME)
    else:
        reasons.append(with_similarity(SIMILAR_NAME, surname))
    if first_names == 1.0:
        reasons.append(SAME_FIRST_NAMES)
    else:
        reasons.append(with_similarity(SIMILAR_FIRST_NAMES, first_names))
    reasons.append(SAME_BIRTH_DATE if same_date else DIFFERENT_BIRTH_DATE)
    if place_known:
        reasons.append(SAME_BIRTHPLACE if same_place else DIFFERENT_BIRTHPLACE)
    return reasons
