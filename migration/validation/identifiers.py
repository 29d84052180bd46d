"""Checks of French identifiers: NIR, FINESS, UAI, INSEE commune, postal and département codes.

Each check takes a Series of text values (None for null) and returns a boolean Series that is
True where a non-null value is invalid. NIR and FINESS use python-stdnum; UAI, INSEE and postal
codes follow their published layouts, which python-stdnum does not cover.
"""

from __future__ import annotations

import functools
import re

import pandas as pd
from stdnum import luhn
from stdnum.fr import nir

UAI_KEY_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # the alphabet without I, O and Q
_METROPOLE = [f"{number:02d}" for number in range(1, 96) if number != 20] + ["2A", "2B"]
_OVERSEAS = [str(number) for number in range(971, 977)]
DEPARTEMENTS = frozenset(_METROPOLE + _OVERSEAS + ["0" + code for code in _METROPOLE])
_COMMUNE = re.compile(r"^(?:(?:\d{2}|2[AB])\d{3}|97[1-6]\d{2}|99\d{3})$")
_POSTAL = re.compile(r"^(?:0[1-9]|[1-8]\d|9[0-8])\d{3}$")
_FINESS = re.compile(r"^(?:\d{9}|2[AB]\d{7})$")
_UAI = re.compile(r"^\d{7}[A-Z]$")


@functools.lru_cache(maxsize=1 << 20)
def nir_is_valid(value: str) -> bool:
    """Return whether a NIR has the right format and key (Corsica 2A/2B handled by stdnum).

    Validation and mapping both test each person's NIR; the cache spares the second test.
    """
    return nir.is_valid(value)


def invalid_nir(values: pd.Series) -> pd.Series:
    """Flag NIRs whose format or 2-digit key is wrong (Corsica 2A/2B handled by stdnum)."""
    return _flag(values, lambda value: not nir_is_valid(value))


def invalid_finess(values: pd.Series) -> pd.Series:
    """Flag FINESS numbers that are not 9 characters or fail the Luhn check digit."""

    # NOTE: the Luhn rule for Corsican numbers (2A/2B read as 21/22) is unconfirmed, so
    # numbers starting 2A or 2B are checked for format only.
    def is_bad(value: str) -> bool:
        if not _FINESS.match(value):
            return True
        return value[:2].isdigit() and not luhn.is_valid(value)

    return _flag(values, is_bad)


def invalid_uai(values: pd.Series) -> pd.Series:
    """Flag UAI codes whose key letter is not the one of (first 7 digits mod 23)."""

    def is_bad(value: str) -> bool:
        if not _UAI.match(value):
            return True
        return UAI_KEY_LETTERS[int(value[:7]) % 23] != value[7]

    return _flag(values, is_bad)


def invalid_insee_commune(values: pd.Series) -> pd.Series:
    """Flag INSEE commune codes outside the layout (département + 3 digits, 97x + 2, 99 + 3)."""

    # NOTE: the layout is checked, not the code list of the data's year, so a code of a
    # commune that never existed passes.
    def is_bad(value: str) -> bool:
        if not _COMMUNE.match(value):
            return True
        return value[:2] not in DEPARTEMENTS and value[:2] not in ("97", "99")

    return _flag(values, is_bad)


def invalid_postal_code(values: pd.Series) -> pd.Series:
    """Flag postal codes that are not 5 digits starting 01 to 98."""
    return _flag(values, lambda value: not _POSTAL.match(value))


def invalid_departement(values: pd.Series) -> pd.Series:
    """Flag département codes outside 01-95, 2A, 2B, 971-976, in 2- or 3-character form."""
    return _flag(values, lambda value: value not in DEPARTEMENTS)


CHECKS = {
    "nir": invalid_nir,
    "finess": invalid_finess,
    "uai": invalid_uai,
    "insee_commune": invalid_insee_commune,
    "postal_code": invalid_postal_code,
    "departement": invalid_departement,
}


def _flag(values: pd.Series, is_bad) -> pd.Series:
    present = values.notna()
    flags = pd.Series(False, index=values.index)
    if present.any():
        unique = values[present].unique()
        bad = {value for value in unique if is_bad(value)}
        flags[present] = values[present].isin(bad)
    return flags
