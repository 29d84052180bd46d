"""The reasons of the rejects that mapping and assembly add, as the rejects table stores them.

`reprise_rejet.reason` stores each reason as a template filled with its parameters: French for
the templates of `MAPPING_REASONS` ("ligne parente absente ou rejetée dans dossier"), English
for the values that the target database would reject (`migration.target.reasons`). The report
finds the template and its parameters again with `parse_reject_reason` and shows the phrase of
the same code in its own language, so the rejects of earlier runs stay readable. A changed
template therefore needs its old form kept under a code.
"""

from __future__ import annotations

import re
from functools import cache

from migration.target.reasons import TARGET_VALUE_REASONS

# Code -> stored template. `description` is a French expression description (`Expr.describe()`).
MAPPING_REASONS = {
    "unknown_code": "code sans traduction : {description}",
    "conversion_failed": "conversion impossible : {description}",
    "required_empty": "colonne cible obligatoire {column} vide",
    "parent_missing": "ligne parente absente ou rejetée dans {table}",
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def mapping_reason(code: str, /, **parameters: object) -> str:
    """Return the stored reason of a mapping reject: the template of `code` with its parameters."""
    return MAPPING_REASONS[code].format(**parameters)


def parse_reject_reason(reason: str) -> tuple[str, dict[str, str]] | None:
    """Return the code of a stored reject reason and its parameters, or None if unknown.

    "ligne parente absente ou rejetée dans dossier" gives ("parent_missing", {"table":
    "dossier"}), and "the decimal is not finite" gives ("decimal_not_finite", {}). Reasons of
    `migration.target.reasons` are tried in their order, after those of `MAPPING_REASONS`.
    """
    for code, pattern in _patterns():
        match = pattern.fullmatch(reason)
        if match:
            return code, match.groupdict()
    return None


@cache
def _patterns() -> list[tuple[str, re.Pattern]]:
    templates = [*MAPPING_REASONS.items(), *TARGET_VALUE_REASONS.items()]
    return [(code, template_pattern(template)) for code, template in templates]


def template_pattern(template: str) -> re.Pattern:
    """Compile a template into a pattern with one named group per parameter.

    A parameter that appears twice must have the same value both times.
    """
    parts = []
    seen = set()
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        name = match[1]
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts), re.DOTALL)
