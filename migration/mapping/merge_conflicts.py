"""Keys whose merged target rows had different values in a column.

Assembly merges the target rows that share a primary key and keeps the first non-null value of
each column, in source order. Several rows about one entity (a person with several dossiers)
give one row, as designed. When those rows disagree on a value, the merged row keeps one value
and drops the others. Many such keys usually mean a wrong mapping key, which merges the rows of
different entities. This module counts those keys per column and source table, so the run
summary and the report show them (rule mapping.merge_conflict).

Only the keys given by several rows are checked, so a table without repeated keys costs nothing.
Two texts that differ only in case, accents, hyphens or spaces do not count as different.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from migration.frame_keys import key_values
from migration.mapping.expressions import _normalize
from migration.reading.csv_reader import LINE_COLUMN
from migration.reading.findings import mask_value

logger = logging.getLogger(__name__)

MERGE_CONFLICT_RULE = "mapping.merge_conflict"
# Conflicting keys described one by one in the summary, and source rows listed per key.
MAX_CONFLICT_EXAMPLES = 5
MAX_ROWS_PER_EXAMPLE = 10


@dataclass
class MergeConflicts:
    """The keys of one target table whose rows had different non-null values in a column.

    Counts are keys, except `rows`: the source rows merged into those keys. Keys and column
    names only, never a value, so the summary can carry them. A key with a personal column is
    masked.
    """

    table: str
    merged_keys: int
    keys: int
    rows: int
    key_personal: bool
    # Column -> conflicting keys, most keys first.
    columns: dict[str, int] = field(default_factory=dict)
    personal_columns: list[str] = field(default_factory=list)
    # (application, source table) -> conflicting keys with a row from that table.
    sources: dict[tuple[str, str], int] = field(default_factory=dict)
    examples: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        """Return the conflicts as plain values for the run summary."""
        return {
            "rule_id": MERGE_CONFLICT_RULE,
            "table": self.table,
            "merged_keys": self.merged_keys,
            "keys": self.keys,
            "rows": self.rows,
            "key_personal": self.key_personal,
            "columns": [
                {"column": name, "keys": count, "personal": name in self.personal_columns}
                for name, count in self.columns.items()
            ],
            "sources": [
                {"application": application, "table": table, "keys": count}
                for (application, table), count in self.sources.items()
            ],
            "examples": self.examples,
        }


def find_merge_conflicts(
    frame: pd.DataFrame, groups: np.ndarray, merged: pd.DataFrame, table
) -> MergeConflicts | None:
    """Count the keys of `frame` whose rows have different non-null values in a column.

    Args:
        frame: the rows of one target table before merging, with their origin columns.
        groups: the number of each row's key, which is the position of its merged row.
        merged: one row per key with the first non-null value of each column.
        table: the target table, for its primary key and personal columns.

    Returns None when every key's rows agree. A row differs when its value is not null and is
    not equal to the value kept in the merged row, so only the rows of repeated keys are
    compared. Texts are compared as names are (see `_same_text`).
    """
    key = list(table.primary_key)
    sizes = np.bincount(groups)
    positions = np.flatnonzero(sizes[groups] > 1)
    row_groups = groups[positions]
    conflicting: dict[str, np.ndarray] = {}
    for column in table.columns:
        if column.name in key:
            continue
        values = frame[column.name].to_numpy(dtype=object)[positions]
        kept = merged[column.name].to_numpy(dtype=object)[row_groups]
        differs = pd.notna(values) & (values != kept)
        if differs.any():
            # Few rows differ, so each pair is compared again as names are compared.
            differs[differs] = [
                not _same_text(value, merged_value)
                for value, merged_value in zip(values[differs], kept[differs], strict=True)
            ]
        if differs.any():
            conflicting[column.name] = np.unique(row_groups[differs])
    if not conflicting:
        return None

    conflict_groups = np.unique(np.concatenate(list(conflicting.values())))
    in_conflict = np.isin(row_groups, conflict_groups)
    rows = frame[["_application", "_source_table", LINE_COLUMN]].iloc[positions[in_conflict]]
    origins = pd.DataFrame(
        {
            "application": rows["_application"].to_numpy(),
            "table": rows["_source_table"].to_numpy(),
            "line": rows[LINE_COLUMN].astype("int64").to_numpy(),
            "group": row_groups[in_conflict],
        }
    )
    by_source = origins.drop_duplicates(["application", "table", "group"])
    sources = by_source.groupby(["application", "table"], sort=True).size()
    columns = sorted(conflicting.items(), key=lambda item: (-len(item[1]), item[0]))
    key_personal = any(table.column(name).personal for name in key)
    return MergeConflicts(
        table=table.name,
        merged_keys=int((sizes > 1).sum()),
        keys=len(conflict_groups),
        rows=len(origins),
        key_personal=key_personal,
        columns={name: len(found) for name, found in columns},
        personal_columns=[name for name, _ in columns if table.column(name).personal],
        sources={pair: int(count) for pair, count in sources.items()},
        examples=_examples(merged, key, key_personal, conflicting, conflict_groups, origins),
    )


def _same_text(value, merged_value) -> bool:
    """Tell whether two values are texts that differ only in case, accents, hyphens or spaces.

    ITAC writes names in mixed case with accents and OPALES in capitals without them, so the
    rows of one person merged across both applications differ in that way without describing
    two entities.
    """
    return (
        isinstance(value, str)
        and isinstance(merged_value, str)
        and _normalize(value) == _normalize(merged_value)
    )


def _examples(merged, key, key_personal, conflicting, conflict_groups, origins) -> list[dict]:
    """Describe the first conflicting keys: the key, its columns in conflict, its source rows."""
    shown = conflict_groups[:MAX_CONFLICT_EXAMPLES]
    keys = key_values(merged.iloc[shown], key).astype(str).tolist()
    examples = []
    for group, text in zip(shown, keys, strict=True):
        rows = origins[origins["group"] == group]
        examples.append(
            {
                "key": mask_value(text) if key_personal else text,
                "columns": [name for name, found in conflicting.items() if group in found],
                "rows": [
                    {"application": application, "table": table, "line": int(line)}
                    for application, table, line in rows[["application", "table", "line"]]
                    .head(MAX_ROWS_PER_EXAMPLE)
                    .itertuples(index=False, name=None)
                ],
                "more_rows": max(len(rows) - MAX_ROWS_PER_EXAMPLE, 0),
            }
        )
    return examples


def log_merge_conflicts(conflicts: MergeConflicts) -> None:
    """Log one warning for a table, with counts and column names only."""
    columns = ", ".join(f"{name} ({count})" for name, count in conflicts.columns.items())
    sources = ", ".join(f"{application}.{table}" for application, table in conflicts.sources)
    logger.warning(
        "%s: %d of the %d keys given by several rows merge rows with different values "
        "(%d rows from %s). The first non-null value in source order is kept. Keys per "
        "column: %s. If the rows of a key describe different entities, the mapping builds "
        "the key of %s from the wrong columns (rule %s)",
        conflicts.table,
        conflicts.keys,
        conflicts.merged_keys,
        conflicts.rows,
        sources,
        columns,
        conflicts.table,
        MERGE_CONFLICT_RULE,
    )
