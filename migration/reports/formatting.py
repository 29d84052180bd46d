"""Formatting of numbers, dates and identifiers for the HTML quality report."""

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import cache

from migration.identity.reasons import parse_reason
from migration.mapping.reasons import parse_reject_reason, template_pattern
from migration.reading.findings import FINDING_DETAILS
from migration.target.engine import describe_url

# French typography separates thousands with a narrow no-break space (U+202F, the CLDR choice
# for "fr"), so "12 345" never wraps inside a table cell.
NARROW_NO_BREAK_SPACE = "\u202f"

_SEPARATORS = {
    "fr": {"thousands": NARROW_NO_BREAK_SPACE, "decimal": ","},
    "en": {"thousands": ",", "decimal": "."},
}
_DATETIME_FORMATS = {"fr": "%d/%m/%Y %H:%M:%S", "en": "%Y-%m-%d %H:%M:%S"}
_DATE_FORMATS = {"fr": "%d/%m/%Y", "en": "%Y-%m-%d"}
MISSING = "—"


def format_number(value: object, language: str) -> str:
    """Format an int or float with the language's thousands and decimal separators.

    Floats keep at most 4 decimals, without trailing zeros. A bool, a string or any other
    value is returned as str(value), and None as an em dash.
    """
    if value is None:
        return MISSING
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    separators = _SEPARATORS[language]
    if isinstance(value, float) and not value.is_integer():
        text = f"{value:,.4f}".rstrip("0").rstrip(".")
    else:
        text = f"{int(value):,}"
    # Swap through a placeholder so "," and "." do not overwrite each other.
    text = text.replace(",", "\0").replace(".", separators["decimal"])
    return text.replace("\0", separators["thousands"])


# A decimal number written with a dot inside a text, such as the 0.94 of "nom proche (0.94)".
_DECIMAL_IN_TEXT = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?![\d.])")


def format_decimals_in_text(text: str, language: str) -> str:
    """Write the decimal numbers of a fixed phrase with the language's decimal separator.

    The digits stay as written ("0.90" becomes "0,90" in French). Dotted versions such as 1.2.3
    are left alone.
    """
    decimal = _SEPARATORS[language]["decimal"]
    return _DECIMAL_IN_TEXT.sub(lambda match: f"{match[1]}{decimal}{match[2]}", text)


def format_match_reasons(reasons: Iterable[object], names: Mapping[str, str], language: str) -> str:
    """Join the stored reasons of an identity candidate in the report's language.

    `names` maps each reason code of `migration.identity.reasons` to its phrase in that language.
    A reason with no code (written by another version of the product) is shown as stored.
    """
    translated = []
    for reason in map(str, reasons):
        parsed = parse_reason(reason)
        if parsed is not None:
            code, similarity = parsed
            reason = names[code] if similarity is None else f"{names[code]} ({similarity})"
        translated.append(reason)
    return format_decimals_in_text(", ".join(translated), language)


def format_description(
    text: object, descriptions: Mapping[str, Mapping[str, str]], language: str
) -> str:
    """Return a stored (French) expression description in the report's language.

    `descriptions` comes from `coverage.expression_descriptions`. A description that it does
    not list (its mapping file is gone or changed since the run) is shown as stored.
    """
    text = str(text)
    return descriptions.get(text, {}).get(language, text)


def format_reject_reason(
    reason: str,
    phrases: Mapping[str, str],
    descriptions: Mapping[str, Mapping[str, str]],
    language: str,
) -> str:
    """Return a stored reject reason in the report's language, with its parameters.

    `phrases` maps each code of `migration.mapping.reasons.parse_reject_reason` to its template
    in that language, and an expression description among the parameters is looked up in
    `descriptions` (see `format_description`). A reason with no code (a validation rule's
    description, or a reason of another version of the product) is shown as stored.
    """
    parsed = parse_reject_reason(reason)
    if parsed is None:
        return reason
    code, parameters = parsed
    if "description" in parameters:
        parameters["description"] = format_description(
            parameters["description"], descriptions, language
        )
    return phrases[code].format(**parameters)


def format_finding_detail(detail: str, phrases: Mapping[str, str]) -> str:
    """Return a stored finding detail in the report's language, with its parameters.

    `phrases` maps each code of `migration.reading.findings.FINDING_DETAILS` to its template in
    that language. A detail that matches no template (written by another version of the product)
    is shown as stored.
    """
    parsed = parse_finding_detail(detail)
    if parsed is None:
        return detail
    code, parameters = parsed
    return phrases[code].format(**parameters)


def parse_finding_detail(detail: str) -> tuple[str, dict[str, str]] | None:
    """Return the code of a stored finding detail and its parameters, or None if unknown."""
    for code, pattern in _finding_detail_patterns():
        match = pattern.fullmatch(detail)
        if match:
            return code, match.groupdict()
    return None


@cache
def _finding_detail_patterns() -> list[tuple[str, re.Pattern]]:
    return [(code, template_pattern(template)) for code, template in FINDING_DETAILS.items()]


def plural(count: object, forms: Mapping[str, str], language: str) -> str:
    """Return the form of a label that agrees with count: forms["one"] or forms["other"].

    The rule is the CLDR one for integers: French uses "one" for 0 and 1, English for 1 only.
    A count that is not a number (None) takes "other".
    """
    if isinstance(count, bool) or not isinstance(count, int | float):
        return forms["other"]
    one = 0 <= count < 2 if language == "fr" else count == 1
    return forms["one"] if one else forms["other"]


def parse_datetime(value: object) -> datetime | None:
    """Parse an ISO 8601 date-time string, or return None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def format_datetime(value: object, language: str) -> str:
    """Format an ISO 8601 date-time for reading. Other values are returned as text."""
    parsed = parse_datetime(value)
    if parsed is None:
        return MISSING if value in (None, "") else str(value)
    text = parsed.strftime(_DATETIME_FORMATS[language])
    offset = parsed.utcoffset()
    if offset is not None:
        text += " UTC" if offset == timedelta(0) else " " + parsed.strftime("%z")
    return text


def format_date(value: object, language: str) -> str:
    """Format an ISO 8601 date (YYYY-MM-DD). Other values are returned as text."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime(_DATE_FORMATS[language])
        except ValueError:
            pass
    return MISSING if value in (None, "") else str(value)


def format_duration(started: object, finished: object) -> str | None:
    """Return the time between two ISO 8601 date-times as "1 h 02 min 05 s", or None."""
    start = parse_datetime(started)
    end = parse_datetime(finished)
    if start is None or end is None:
        return None
    try:
        seconds = int((end - start).total_seconds())
    except TypeError:
        # One is timezone-aware and the other is naive: they cannot be subtracted.
        return None
    if seconds < 0:
        return None
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {seconds:02d} s"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


def hide_url_password(url: object) -> str:
    """Return a database URL with its passwords replaced by "***" (see `describe_url`)."""
    return describe_url("" if url is None else str(url))


def anchor_slug(text: str) -> str:
    """Return an ASCII slug of text (letters, digits and "-") for use in an HTML id."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
