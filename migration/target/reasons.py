"""Why the target database would reject a value: the reasons of the rule mapping.target_value.

The rejects table (`reprise_rejet.reason`) stores each reason in English, built from a template
of `TARGET_VALUE_REASONS` with its parameters, such as "the text is longer than the 120
characters of the column". The report finds the template and its parameters again
(`migration.mapping.reasons.parse_reject_reason`) and shows the phrase of the same code in its
own language, so the rejects of earlier runs stay readable. A changed template therefore needs
its old form kept under a code. No template quotes the value of a personal column.
"""

from __future__ import annotations

# Code -> stored template. The specific templates come before the general ones that would match
# the same text ("expected {expected}, got {actual}" matches every "expected ..." reason).
TARGET_VALUE_REASONS = {
    "text_too_long": "the text is longer than the {length} characters of the column",
    "personal_not_a_code": "the value is not a code of code list {code_list}",
    "not_a_code": "{code} is not a code of code list {code_list}",
    "text_with_nul": "the text contains a NUL character, which PostgreSQL cannot store",
    "integer_out_of_range": "the integer is outside the 32-bit range of an INTEGER column",
    "decimal_not_finite": "the decimal is not finite",
    "decimal_scale": "the decimal has more than {scale} digits after the point",
    "decimal_precision": (
        "the decimal has more than {precision} digits (NUMERIC({precision}, {scale}))"
    ),
    "timestamp_not_iso": "the text is not an ISO 8601 date and time",
    "timestamp_without_zone": "the datetime has no time zone; use datetime.now(timezone.utc)",
    "float_for_decimal": (
        "expected decimal.Decimal, got float (a float is not exact; use decimal.Decimal)"
    ),
    "datetime_for_date": (
        "expected datetime.date, got a datetime with a time of day or a time zone"
    ),
    "wrong_type": "expected {expected}, got {actual}",
}


def target_value_reason(code: str, /, **parameters: object) -> str:
    """Return the stored reason of a rejected value: the template of `code` with its parameters."""
    return TARGET_VALUE_REASONS[code].format(**parameters)
