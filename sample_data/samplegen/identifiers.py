"""Check characters of the French identifiers in the sample: NIR, FINESS and UAI."""

from __future__ import annotations

# Key letters of the UAI (RAMSESE) code: the alphabet without I, O and Q.
UAI_KEY_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def nir_key(nir13: str) -> str:
    """Return the 2-digit key of a 13-character NIR: 97 - (number mod 97).

    Corsican birthplaces keep 2A and 2B in the NIR text; for the key they are read as 19 and 18.
    """
    department = nir13[5:7]
    if department == "2A":
        nir13 = nir13[:5] + "19" + nir13[7:]
    elif department == "2B":
        nir13 = nir13[:5] + "18" + nir13[7:]
    return f"{97 - int(nir13) % 97:02d}"


def wrong_nir_key(nir13: str, shift: int) -> str:
    """Return a key in 01..97 that differs from the right one; `shift` is in 1..96."""
    right = int(nir_key(nir13))
    return f"{(right - 1 + shift) % 97 + 1:02d}"


def luhn_check_digit(body: str) -> str:
    """Return the Luhn digit that makes `body` + digit pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:  # the digit next to the check digit is doubled
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def finess_number(body8: str) -> str:
    """Return a 9-character FINESS number: 8 characters and their Luhn digit."""
    return body8 + luhn_check_digit(body8)


def uai_code(body7: str) -> str:
    """Return an 8-character UAI: 7 digits and the key letter indexed by (number mod 23)."""
    return body7 + UAI_KEY_LETTERS[int(body7) % 23]
