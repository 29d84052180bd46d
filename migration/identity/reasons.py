"""The reasons given for an identity candidate, as the run summary stores them.

The summary (resume.json and the `summary_json` of the runs table) stores each reason as a fixed
French phrase, followed for a similarity by its value in brackets: "nom proche (0.94)". The
report translates a phrase through its code in `REASON_CODES`, so the summaries of earlier runs
stay readable. A changed phrase therefore needs its old form kept in `REASON_CODES`.
"""

from __future__ import annotations

import re

SAME_NIR = "même NIR"
SAME_NAME = "nom identique"
SIMILAR_NAME = "nom proche"
SAME_FIRST_NAMES = "prénoms identiques"
SIMILAR_FIRST_NAMES = "prénoms proches"
SAME_BIRTH_DATE = "même date de naissance"
DIFFERENT_BIRTH_DATE = "date de naissance différente"
SAME_BIRTHPLACE = "même lieu de naissance"
DIFFERENT_BIRTHPLACE = "lieu de naissance différent"
SEVERAL_CANDIDATES = "plusieurs candidats possibles"

# Stored phrase -> code of its label in the report (`match_reasons` of reports/labels.py).
REASON_CODES = {
    SAME_NIR: "same_nir",
    SAME_NAME: "same_name",
    SIMILAR_NAME: "similar_name",
    SAME_FIRST_NAMES: "same_first_names",
    SIMILAR_FIRST_NAMES: "similar_first_names",
    SAME_BIRTH_DATE: "same_birth_date",
    DIFFERENT_BIRTH_DATE: "different_birth_date",
    SAME_BIRTHPLACE: "same_birthplace",
    DIFFERENT_BIRTHPLACE: "different_birthplace",
    SEVERAL_CANDIDATES: "several_candidates",
}

_WITH_SIMILARITY = re.compile(r"(?P<phrase>.+) \((?P<similarity>\d+\.\d+)\)")


def with_similarity(phrase: str, similarity: float) -> str:
    """Return a reason with its similarity from 0 to 1, in the stored form "nom proche (0.94)"."""
    return f"{phrase} ({similarity:.2f})"


def parse_reason(reason: str) -> tuple[str, str | None] | None:
    """Return the code of a stored reason and its similarity as written, or None if unknown.

    "nom proche (0.94)" gives ("similar_name", "0.94"), and "même NIR" gives ("same_nir", None).
    """
    match = _WITH_SIMILARITY.fullmatch(reason)
    phrase, similarity = (match["phrase"], match["similarity"]) if match else (reason, None)
    code = REASON_CODES.get(phrase)
    return None if code is None else (code, similarity)
