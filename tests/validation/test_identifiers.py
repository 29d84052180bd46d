import pandas as pd
import pytest
from stdnum.fr import nir

from migration.validation.identifiers import (
    invalid_departement,
    invalid_finess,
    invalid_insee_commune,
    invalid_nir,
    invalid_postal_code,
    invalid_uai,
)


def _flags(check, values):
    return check(pd.Series(values, dtype=object)).tolist()


def test_nir_key_examples():
    # 2951099126111 has key 93; Corsican NIRs replace 2A by 19 before the modulo.
    corsica_body = "185052A004123"
    corsica_key = 97 - int(corsica_body.replace("2A", "19")) % 97
    values = ["295109912611193", "295109912611194", f"{corsica_body}{corsica_key:02d}", None]
    assert _flags(invalid_nir, values) == [False, True, False, False]
    assert nir.is_valid(f"{corsica_body}{corsica_key:02d}")


def test_nir_mangled_by_spreadsheet():
    assert _flags(invalid_nir, ["2,951E+14"]) == [True]


def test_finess_luhn():
    assert _flags(invalid_finess, ["010000024", "010000025", "01000002", None]) == [
        False,
        True,
        True,
        False,
    ]


def test_uai_key_letter():
    assert _flags(invalid_uai, ["0750654D", "0750654E", "750654D"]) == [False, True, True]


@pytest.mark.parametrize(
    ("value", "invalid"),
    [
        ("57463", False),
        ("2A004", False),
        ("2B033", False),
        ("97411", False),
        ("99350", False),
        ("20004", True),
        ("5746", True),
        ("00463", True),
    ],
)
def test_insee_commune_layout(value, invalid):
    assert _flags(invalid_insee_commune, [value]) == [invalid]


def test_postal_and_departement():
    assert _flags(invalid_postal_code, ["57000", "20000", "00100", "5700"]) == [
        False,
        False,
        True,
        True,
    ]
    assert _flags(invalid_departement, ["57", "057", "2A", "02B", "971", "20", "96"]) == [
        False,
        False,
        False,
        False,
        False,
        True,
        True,
    ]
