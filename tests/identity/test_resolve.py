import datetime

import numpy as np
import pandas as pd

from migration.identity import resolve
from migration.identity.reasons import parse_reason
from migration.identity.resolve import IdentityIndex, resolve_individuals

BORN = datetime.date(1987, 3, 14)


def _person(
    key, application, nom, prenoms, *, nir=None, born=BORN, sexe="1", lieu="57463", usage=None
):
    return {
        "id_individu": key,
        "_application": application,
        "nir": nir,
        "nom_naissance": nom,
        "nom_usage": usage,
        "prenoms": prenoms,
        "date_naissance": born,
        "sexe": sexe,
        "commune_naissance": lieu,
        "_source_key": key.upper(),
    }


def _resolve(rows, decisions=None):
    return resolve_individuals(pd.DataFrame(rows, dtype=object), decisions)


def test_same_nir_merges_even_with_other_names():
    result = _resolve(
        [
            _person("a", "ITAC", "Martin", "Paul", nir="187035746312345"),
            _person("b", "OPALES", "Martinez", "Pol", nir="187035746312345"),
        ]
    )
    assert result.merges == {"b": "a"}
    assert result.by_nir == 1


def test_different_valid_nirs_never_merge():
    result = _resolve(
        [
            _person("a", "ITAC", "Martin", "Paul", nir="187035746312345"),
            _person("b", "OPALES", "Martin", "Paul", nir="187035746399999"),
        ]
    )
    assert result.merges == {}
    assert result.review == []


def test_case_accents_and_hyphens_do_not_matter():
    result = _resolve(
        [
            _person("a", "ITAC", "Lefèvre-Muller", "Hélène"),
            _person("b", "OPALES", "LEFEVRE MULLER", "HELENE"),
        ]
    )
    assert result.merges == {"b": "a"}
    assert result.by_identity == 1


def test_usage_name_of_the_adult_matches_the_child():
    result = _resolve(
        [
            _person("a", "ITAC", "Durand", "Julie", usage="Weber", sexe="2"),
            _person("b", "OPALES", "Weber", "Julie", sexe="2"),
        ]
    )
    assert result.merges == {"b": "a"}


def test_spelling_variant_goes_to_review():
    result = _resolve(
        [
            _person("a", "ITAC", "Schmitt", "Paul"),
            _person("b", "OPALES", "Schmidt", "Paul"),
        ]
    )
    assert result.merges == {}
    assert [(c.primary, c.secondary) for c in result.review] == [("a", "b")]
    assert result.review[0].score >= 0.85
    assert "nom proche" in result.review[0].reasons[0]


def test_two_candidates_for_one_child_are_not_merged():
    result = _resolve(
        [
            _person("a", "ITAC", "Klein", "Marc"),
            _person("c", "ITAC", "Klein", "Marc", lieu=None),
            _person("b", "OPALES", "Klein", "Marc"),
        ]
    )
    assert result.merges == {}
    assert sorted(c.primary for c in result.review) == ["a", "c"]


def test_review_reasons_are_stored_phrases():
    spelling = _resolve(
        [
            _person("a", "ITAC", "Schmitt", "Paul"),
            _person("b", "OPALES", "Schmidt", "Paul"),
        ]
    )
    contested = _resolve(
        [
            _person("a", "ITAC", "Klein", "Marc"),
            _person("c", "ITAC", "Klein", "Marc", lieu=None),
            _person("b", "OPALES", "Klein", "Marc"),
        ]
    )

    # The summary stores these phrases, and the report translates them by their code.
    assert spelling.review[0].reasons == [
        "nom proche (0.94)",
        "prénoms identiques",
        "même date de naissance",
        "même lieu de naissance",
    ]
    assert contested.review[0].reasons[-1] == "plusieurs candidats possibles"
    for candidate in [*spelling.review, *contested.review]:
        for reason in candidate.reasons:
            assert parse_reason(reason) is not None, reason


def test_unrelated_people_are_neither_merged_nor_reviewed():
    result = _resolve(
        [
            _person("a", "ITAC", "Dupont", "Paul"),
            _person("b", "OPALES", "Durand", "Marie", sexe="2"),
        ]
    )
    assert result.merges == {}
    assert result.review == []
    assert (result.primary_only, result.secondary_only) == (1, 1)


def test_recorded_decisions_override_scoring():
    rows = [
        _person("a", "ITAC", "Schmitt", "Paul"),
        _person("b", "OPALES", "Schmidt", "Paul"),
        _person("c", "ITAC", "Lefèvre", "Anne", sexe="2"),
        _person("d", "OPALES", "LEFEVRE", "ANNE", sexe="2"),
    ]
    result = _resolve(rows, {("a", "b"): "merge", ("c", "d"): "separate"})
    assert result.merges == {"b": "a"}
    assert result.by_decision == 1
    assert result.separated_by_decision == 1
    assert result.review == []


MIXED = [
    _person("a", "ITAC", "Schmitt", "Paul"),
    _person("x", "OTHER", "Schmitt", "Paul"),
    _person("b", "OPALES", "Schmidt", "Paul"),
    _person("c", "ITAC", "Lefèvre", "Anne", sexe="2"),
    _person("a", "ITAC", "Autre", "Nom", born=datetime.date(1950, 1, 1)),
    _person("d", "OPALES", "LEFEVRE", "ANNE", sexe="2"),
    _person("e", "OPALES", "Martinez", "Pol", nir="187035746312345"),
    _person("f", "ITAC", "Martin", "Paul", nir="187035746312345", born=None),
    _person("g", "OPALES", "Dupont", "Luc", born=datetime.date(2001, 5, 2)),
    # Close enough for review, but they share no block, so they are never compared.
    _person("h", "ITAC", "Weiss", "Hugo", born=datetime.date(1990, 1, 1)),
    _person("i", "OPALES", "Weis", "Hugo", born=datetime.date(1990, 6, 1)),
]


def _summary(result):
    return (result.summary(), result.merges)


def test_index_of_several_frames_resolves_like_one_frame():
    """Frames of a few rows each, with rows of another application and a key repeated across
    frames (the first row counts), resolve like the whole frame."""
    whole = resolve_individuals(pd.DataFrame(MIXED, dtype=object))
    frames = [pd.DataFrame(MIXED[start : start + 2], dtype=object) for start in (0, 2, 4, 6, 8, 10)]
    index = IdentityIndex()
    for frame in frames:
        index.add(frame)

    assert _summary(index.resolve(lambda: iter(frames))) == _summary(whole)
    assert whole.merges == {"d": "c", "e": "f"}
    assert [(c.primary, c.secondary) for c in whole.review] == [("a", "b")]


def test_shared_block_hash_does_not_make_a_candidate(monkeypatch):
    """Every block hashing alike makes every pair a candidate pair. The values are compared
    before scoring, so the result stays the same."""
    expected = _summary(resolve_individuals(pd.DataFrame(MIXED, dtype=object)))
    monkeypatch.setattr(
        resolve, "hash_array", lambda values, **kwargs: np.zeros(len(values), dtype=np.uint64)
    )
    assert _summary(resolve_individuals(pd.DataFrame(MIXED, dtype=object))) == expected
