"""Plausibility checks declared in the dictionary, run on converted values.

They find rows whose values are each valid but do not make sense together: a validity period
that ends before it starts, a demand dated before the person was born, an age that does not fit
the application (children in OPALES, adults in ITAC). Rows with a null date are not checked.
"""

from __future__ import annotations

import pandas as pd

from migration.dictionary.model import Dictionary, PlausibilityCheck, Table
from migration.reading.csv_reader import LINE_COLUMN
from migration.reading.findings import concat_findings, make_findings
from migration.validation.rules import RULES

RULE_IDS = {
    "date_order": "plausibility.date_order",
    "after_birth": "plausibility.after_birth",
    "age_range": "plausibility.age",
}


def check_plausibility(
    application: str, dictionary: Dictionary, typed: dict[str, pd.DataFrame], files: dict[str, str]
) -> pd.DataFrame:
    """Run every declared plausibility check of an application's tables."""
    return concat_findings(plausibility_sections(application, dictionary, typed, files))


def plausibility_sections(
    application: str,
    dictionary: Dictionary,
    typed: dict[str, pd.DataFrame],
    files: dict[str, str],
    tables: set[str] | None = None,
    birth_lookups: dict | None = None,
) -> list[pd.DataFrame]:
    """Run the plausibility checks of `check_plausibility`, of `tables` only when given, and
    return one findings frame per check, possibly empty.

    A check that takes the birth date from another table reads it in `typed`, where that
    table may have only its key columns and its birth date column. `birth_lookups` keeps the
    birth date of each key of a referenced table, built once for the chunks of a table checked
    one after the other.
    """
    found = []
    lookups = {} if birth_lookups is None else birth_lookups
    for name, table in dictionary.tables.items():
        if name not in typed or (tables is not None and name not in tables):
            continue
        for check in table.plausibility:
            mask, column = _evaluate(check, table, typed[name], typed, lookups)
            rule_id = RULE_IDS[check.rule]
            rows = typed[name][mask]
            found.append(
                make_findings(
                    application=application,
                    table=name,
                    file=files[name],
                    lines=rows[LINE_COLUMN],
                    column=column,
                    rule_id=rule_id,
                    severity=RULES[rule_id].severity,
                    values=rows[column.split(", ")[0]].map(_text),
                )
            )
    return found


def _evaluate(
    check: PlausibilityCheck,
    table: Table,
    rows: pd.DataFrame,
    typed: dict[str, pd.DataFrame],
    lookups: dict,
) -> tuple[pd.Series, str]:
    if check.rule == "date_order":
        start, end = rows[check.start], rows[check.end]
        both = start.notna() & end.notna()
        return both & (start.where(both) > end.where(both)).fillna(False).astype(bool), (
            f"{check.start}, {check.end}"
        )
    birth = _birth_dates(check, table, rows, typed, lookups)
    if check.rule == "after_birth":
        date = rows[check.date]
        both = date.notna() & birth.notna()
        return both & (date.where(both) < birth.where(both)).fillna(False).astype(bool), check.date
    at = rows[check.at]
    both = at.notna() & birth.notna()
    ages = pd.Series(
        [_age(b, a) if ok else None for b, a, ok in zip(birth, at, both, strict=True)],
        index=rows.index,
        dtype=object,
    )
    too_young = ages.map(
        lambda age: age is not None and check.min_age is not None and age < check.min_age
    )
    too_old = ages.map(
        lambda age: age is not None and check.max_age is not None and age > check.max_age
    )
    return (too_young | too_old).astype(bool), check.at


def _birth_dates(check, table: Table, rows: pd.DataFrame, typed, lookups: dict) -> pd.Series:
    """The birth date of each row, from the row itself or through its foreign key."""
    if "." not in check.birth:
        return rows[check.birth]
    ref_table, ref_column = check.birth.split(".", 1)
    key = next(key for key in table.foreign_keys if key.ref_table == ref_table)
    cache_key = (ref_table, key.ref_columns, ref_column)
    if cache_key not in lookups:
        parent = typed[ref_table].drop_duplicates(subset=list(key.ref_columns), keep="first")
        lookups[cache_key] = parent.set_index(list(key.ref_columns))[ref_column]
    lookup = lookups[cache_key]
    values = rows[list(key.columns)[0]] if len(key.columns) == 1 else None
    if values is None:
        index = pd.MultiIndex.from_frame(rows[list(key.columns)])
        return pd.Series(lookup.reindex(index).to_numpy(), index=rows.index, dtype=object)
    births = values.map(lookup).astype(object)
    return births.where(births.notna(), None)


def _age(birth, at) -> int:
    return at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))


def _text(value) -> str | None:
    return None if value is None else str(value)
