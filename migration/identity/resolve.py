"""Identity resolution: one target individual for a person known to both applications.

A child of OPALES may be an adult of ITAC today, with no identifier shared by the two
applications. Two individuals are the same person when they have the same valid NIR, or,
when the OPALES side has no NIR, the same normalised birth name, first names, birth date, sex
and birthplace. A candidate that matches several individuals is not merged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from migration.mapping.expressions import _normalize

IDENTITY_COLUMNS = ["nom_naissance", "prenoms", "date_naissance", "sexe", "commune_naissance"]


@dataclass
class IdentityResult:
    """Pairs of individual keys to merge (OPALES key -> ITAC key) and their counts."""

    merges: dict[str, str] = field(default_factory=dict)
    by_nir: int = 0
    by_identity: int = 0
    ambiguous: int = 0

    def summary(self) -> dict[str, int]:
        return {
            "cross_application": len(self.merges),
            "by_nir": self.by_nir,
            "by_identity": self.by_identity,
            "ambiguous": self.ambiguous,
        }


def resolve_individuals(
    individuals: pd.DataFrame, primary: str = "ITAC", secondary: str = "OPALES"
) -> IdentityResult:
    """Find the individuals of `secondary` that are also individuals of `primary`.

    `individuals` holds the mapped `individu` rows of both applications with their
    `_application` column.
    """
    # NOTE: matching is exact on normalised values; spelling variants and scored candidates
    # for a review list are not handled yet.
    result = IdentityResult()
    left = individuals[individuals["_application"] == primary]
    right = individuals[individuals["_application"] == secondary]
    if left.empty or right.empty:
        return result

    by_nir = left[left["nir"].notna()].drop_duplicates("id_individu")
    nir_owners = by_nir.groupby("nir")["id_individu"].agg(list)
    matched: set[str] = set()
    for row in right[right["nir"].notna()].itertuples():
        owners = nir_owners.get(row.nir, [])
        if len(owners) == 1:
            result.merges[row.id_individu] = owners[0]
            result.by_nir += 1
            matched.add(row.id_individu)
        elif len(owners) > 1:
            result.ambiguous += 1

    left_keys = _identity_keys(left.drop_duplicates("id_individu"))
    owners_by_key = left_keys.groupby(left_keys.values).apply(lambda keys: list(keys.index))
    left_ids = left.drop_duplicates("id_individu")["id_individu"]
    right_unique = right.drop_duplicates("id_individu")
    right_keys = _identity_keys(right_unique)
    for position, key in zip(right_unique["id_individu"], right_keys, strict=True):
        if position in matched or key is None:
            continue
        owners = owners_by_key.get(key, [])
        if len(owners) == 1:
            result.merges[position] = left_ids.loc[owners[0]]
            result.by_identity += 1
        elif len(owners) > 1:
            result.ambiguous += 1
    return result


def _identity_keys(rows: pd.DataFrame) -> pd.Series:
    """One comparable key per individual, or None when a part of the identity is missing."""
    parts = rows[IDENTITY_COLUMNS]
    complete = parts.notna().all(axis=1)
    keys = (
        parts.apply(
            lambda row: "|".join(
                _normalize(str(value)) if name in ("nom_naissance", "prenoms") else str(value)
                for name, value in row.items()
            ),
            axis=1,
        )
        if len(parts)
        else pd.Series(dtype=object)
    )
    return keys.where(complete, None)
