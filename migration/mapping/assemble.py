"""Assembly of the mapped rows of every application into the rows to load.

The steps run in this order:
1. drop every target row of a rejected source row, because a source row is loaded whole or not
   at all;
2. merge the individuals known to both applications;
3. reject rows with values the target would refuse (unless the mapping step did it, see
   `reject_refused_values`), then rows whose parent is missing from the target, repeated until
   no more rows fall;
4. merge rows that share a primary key (several source rows may give one target row), count
   the keys whose rows disagree on a value, and write one lineage row per target row and
   source row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from migration.frame_keys import key_values
from migration.identity.resolve import IdentityResult, resolve_individuals
from migration.mapping.engine import (
    FILTER_COLUMNS,
    ORIGIN_COLUMNS,
    REJECT_COLUMNS,
    MappedApplication,
)
from migration.mapping.lineage_parts import LineageParts
from migration.mapping.merge_conflicts import (
    MergeConflicts,
    find_merge_conflicts,
    log_merge_conflicts,
)
from migration.mapping.reasons import mapping_reason
from migration.mapping.staging import loaded
from migration.reading.csv_reader import LINE_COLUMN
from migration.target.frames import invalid_values

logger = logging.getLogger(__name__)

SOURCE_ROW = ["_application", "_source_table", LINE_COLUMN]


@dataclass
class Assembly:
    """Rows ready to load, with lineage, rejects, filtered rows and identity decisions."""

    frames: dict[str, pd.DataFrame]
    lineage: LineageParts
    rejects: pd.DataFrame
    filters: pd.DataFrame
    identity: IdentityResult = field(default_factory=IdentityResult)
    # Target table -> keys whose merged rows had different values (see merge_conflicts.py).
    merge_conflicts: dict[str, MergeConflicts] = field(default_factory=dict)


def assemble(
    mapped: list[MappedApplication],
    schema,
    rejected_sources: pd.DataFrame,
    identity_decisions: dict[tuple[str, str], str] | None = None,
    existing_individuals: pd.DataFrame | None = None,
    *,
    release_mapped: bool = False,
    stage_folder: Path | None = None,
) -> Assembly:
    """Combine mapped applications into target rows that satisfy the target's keys.

    Args:
        mapped: the mapped rows of each application, primary application first.
        schema: the target schema (tables, primary and foreign keys, table order).
        rejected_sources: source rows already rejected by validation, as columns
            application, source_table, source_line.
        identity_decisions: decisions recorded by a person on candidate pairs of individuals,
            (ITAC key, OPALES key) -> "merge" or "separate".
        existing_individuals: individuals already in the target from an application this
            delivery does not bring; they take part in identity resolution only.
        release_mapped: empty the frames of `mapped` as they are combined, so that a large
            run does not hold the mapped rows and the assembled rows at once. The rejects and
            filtered rows of `mapped` stay.
        stage_folder: a private folder where each table's lineage rows are written as soon
            as they are computed (see `LineageParts`). Without it they stay in memory.
    """
    rejects = pd.concat(
        [m.rejects for m in mapped if len(m.rejects)] or [pd.DataFrame(columns=REJECT_COLUMNS)],
        ignore_index=True,
    )
    filters = pd.concat(
        [m.filters for m in mapped if len(m.filters)] or [pd.DataFrame(columns=FILTER_COLUMNS)],
        ignore_index=True,
    )

    fallen = _source_rows(rejects.rename(columns=_REJECT_TO_ORIGIN))
    fallen = pd.concat([fallen, _source_rows(rejected_sources.rename(columns=_REJECT_TO_ORIGIN))])
    frames = _concat_frames(mapped, schema, release_mapped, fallen)

    identity = IdentityResult()
    if "individu" in frames:
        candidates = frames["individu"]
        if existing_individuals is not None and len(existing_individuals):
            candidates = pd.concat([existing_individuals, candidates], ignore_index=True)
        identity = resolve_individuals(candidates, identity_decisions)
        del candidates  # the individuals before their merges, not needed any more
        frames = _apply_merges(frames, schema, identity.merges)

    if all(m.values_checked for m in mapped):
        refused = pd.DataFrame(columns=REJECT_COLUMNS)
    else:
        frames, refused = _reject_refused_values(frames, schema)
    frames, cascade = _cascade_missing_parents(frames, schema)
    cascade = pd.concat([refused, cascade], ignore_index=True) if len(refused) else cascade
    rejects = pd.concat([rejects, cascade], ignore_index=True) if len(cascade) else rejects
    # One table at a time, so the rows with their origin, their lineage and their merged rows
    # exist for one table only, not for every table at once.
    lineage, merged, conflicts = LineageParts(stage_folder), {}, {}
    for name in list(frames):
        frame = frames.pop(name)
        if not frame.empty:
            lineage.add(_lineage(name, frame, schema))
        merged[name], found = _merge_rows(frame, schema.tables[name])
        del frame
        if found is not None:
            log_merge_conflicts(found)
            conflicts[name] = found
    return Assembly(merged, lineage, rejects, filters, identity, conflicts)


_REJECT_TO_ORIGIN = {
    "application": "_application",
    "source_table": "_source_table",
    "source_line": LINE_COLUMN,
}
_ORIGIN_TO_REJECT = {origin: column for column, origin in _REJECT_TO_ORIGIN.items()}


def _source_rows(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=SOURCE_ROW)
    rows = frame[SOURCE_ROW].drop_duplicates()
    return rows.astype({LINE_COLUMN: "int64"})


def _concat_frames(
    mapped: list[MappedApplication], schema, release: bool = False, fallen=None
) -> dict[str, pd.DataFrame]:
    """Combine the mapped frames of each table, without the rows of the `fallen` source rows.

    The fallen rows are dropped table by table, as each table is combined, so that two copies
    of one table exist at a time, never two copies of every table.
    """
    frames: dict[str, pd.DataFrame] = {}
    for name in schema.table_order():
        take = dict.pop if release else dict.get
        parts = [loaded(frame) for m in mapped for frame in take(m.frames, name, [])]
        columns = [column.name for column in schema.tables[name].columns] + ORIGIN_COLUMNS
        if not parts:
            frames[name] = pd.DataFrame(columns=columns)
            continue
        frame = pd.concat(parts, ignore_index=True).reindex(columns=columns)
        parts.clear()
        # Each step replaces the frame, so only two copies of one table exist at a time.
        present = frame.notna()
        frame = frame.astype(object)
        frame = frame.where(present, None)
        if fallen is not None:
            frame = _drop_sources({name: frame}, fallen)[name]
        frames[name] = frame
    return frames


def _drop_sources(frames: dict[str, pd.DataFrame], fallen: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Remove every target row produced by one of the fallen source rows.

    A frame with no such row is returned as it is, not copied.
    """
    if fallen.empty:
        return frames
    lines_by_source = {
        source: set(group[LINE_COLUMN].astype("int64"))
        for source, group in fallen.groupby(["_application", "_source_table"], sort=False)
    }
    result = {}
    for name, frame in frames.items():
        result[name] = frame
        if frame.empty:
            continue
        drop = np.zeros(len(frame), dtype=bool)
        for (application, table), lines in lines_by_source.items():
            from_source = (frame["_application"] == application) & (frame["_source_table"] == table)
            if from_source.any():
                drop |= (from_source & frame[LINE_COLUMN].isin(lines)).to_numpy()
        if drop.any():
            result[name] = frame[~drop].reset_index(drop=True)
    return result


def _apply_merges(frames, schema, merges: dict[str, str]) -> dict[str, pd.DataFrame]:
    """Point every reference to a merged individual at the individual it merges into.

    The frames change in place, one column at a time: a copy of every frame that refers to
    individu would double the memory of most of the rows.
    """
    if not merges:
        return frames
    individuals = frames["individu"]
    individuals["id_individu"] = individuals["id_individu"].replace(merges)
    for name, table in schema.tables.items():
        for key in table.foreign_keys:
            if key.ref_table == "individu" and name in frames:
                column = key.columns[0]
                frames[name][column] = frames[name][column].replace(merges)
    return frames


def reject_refused_values(
    mapped: MappedApplication, schema, found: dict[str, list[pd.DataFrame]] | None = None
) -> None:
    """Add to the rejects of `mapped` the source rows whose target values the database would
    refuse (type, length, code), and mark its values as checked.

    The test looks at each row alone, so it runs where the application is mapped (in a worker
    process with several workers) instead of on the assembled rows of every application. The
    frames keep the refused rows: assembly drops every row of a rejected source row. A source
    row already rejected is not rejected twice: the tables are taken in the schema's order.

    `found` gives the refused rows of each target table, already found by `refused_rows` on
    each frame as it was mapped (the frames of `mapped` are staged on disk then). Without it,
    the frames of `mapped` are checked here.
    """
    fallen = _source_rows(mapped.rejects.rename(columns=_REJECT_TO_ORIGIN))
    refused = []
    for name in schema.table_order():
        if found is None:
            candidates = (
                refused_rows(name, frame, schema)
                for frame in mapped.frames.get(name, [])
                if not frame.empty
            )
        else:
            candidates = found.get(name, [])
        for rejects in candidates:
            rows = _drop_sources({name: rejects.rename(columns=_REJECT_TO_ORIGIN)}, fallen)[name]
            if len(rows):
                refused.append(rows.rename(columns=_ORIGIN_TO_REJECT))
                fallen = pd.concat([fallen, _source_rows(rows)], ignore_index=True)
    if refused:
        mapped.rejects = pd.concat([mapped.rejects, *refused], ignore_index=True)[REJECT_COLUMNS]
    mapped.values_checked = True


def _reject_refused_values(frames, schema) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Reject source rows whose target values the database would refuse (type, length, code).

    Without this, one bad value would stop the whole load in the database.
    """
    rejects = []
    for name in schema.table_order():
        frame = frames[name]
        if frame.empty:
            continue
        refused = refused_rows(name, frame, schema)
        if not len(refused):
            continue
        rejects.append(refused)
        frames = _drop_sources(frames, _source_rows(refused.rename(columns=_REJECT_TO_ORIGIN)))
    if not rejects:
        return frames, pd.DataFrame(columns=REJECT_COLUMNS)
    return frames, pd.concat(rejects, ignore_index=True)[REJECT_COLUMNS]


def refused_rows(name: str, frame: pd.DataFrame, schema) -> pd.DataFrame:
    """Return a reject row (rule mapping.target_value) per value of `frame` its table refuses."""
    problems = invalid_values(schema.tables[name], frame, schema.code_lists)
    if not problems:
        return pd.DataFrame(columns=REJECT_COLUMNS)
    positions = [position for position, _, _ in problems]
    rows = frame.iloc[positions]
    values = [frame[column].iat[position] for position, column, _ in problems]
    return pd.DataFrame(
        {
            "application": rows["_application"].to_numpy(),
            "source_table": rows["_source_table"].to_numpy(),
            "source_file": rows["_source_file"].to_numpy(),
            "source_line": rows[LINE_COLUMN].astype("int64").to_numpy(),
            "target_table": name,
            "rule_id": "mapping.target_value",
            "column_name": [column for _, column, _ in problems],
            "reason": [reason for _, _, reason in problems],
            "value": pd.Series(values, dtype=object).to_numpy(),
        }
    )[REJECT_COLUMNS]


def _cascade_missing_parents(frames, schema) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Reject source rows whose target rows point at a parent absent from the target.

    Dropping the rows of a fallen source row can remove parents of tables already checked, so
    the check repeats until nothing falls. A foreign key is checked again only when its parent
    table lost rows since its last check: a child that loses rows gains no missing parent.
    """
    rejects = []
    versions = dict.fromkeys(frames, 0)  # bumped each time a table loses rows
    checked: dict[tuple[str, int], int] = {}  # parent version at the last check of a key
    parent_keys: dict[tuple[str, tuple[str, ...]], tuple[int, np.ndarray]] = {}
    changed = True
    while changed:
        changed = False
        for name in schema.table_order():
            for position, key in enumerate(schema.tables[name].foreign_keys):
                parent = key.ref_table
                if checked.get((name, position)) == versions[parent]:
                    continue
                checked[(name, position)] = versions[parent]
                known = _parent_keys(frames, parent, tuple(key.ref_columns), versions, parent_keys)
                frame = frames[name]
                values = key_values(frame, list(key.columns))
                missing = values.notna() & ~values.isin(known)
                if not missing.any():
                    continue
                rows = frame[missing]
                rejects.append(
                    pd.DataFrame(
                        {
                            "application": rows["_application"],
                            "source_table": rows["_source_table"],
                            "source_file": rows["_source_file"],
                            "source_line": rows[LINE_COLUMN].astype("int64"),
                            "target_table": name,
                            "rule_id": "mapping.parent_missing",
                            "column_name": ", ".join(key.columns),
                            "reason": mapping_reason("parent_missing", table=key.ref_table),
                            "value": values[missing],
                        }
                    )
                )
                before = frames
                frames = _drop_sources(frames, _source_rows(rows))
                for table_name, table_frame in frames.items():
                    if table_frame is not before[table_name]:
                        versions[table_name] += 1
                changed = True
    if not rejects:
        return frames, pd.DataFrame(columns=REJECT_COLUMNS)
    return frames, pd.concat(rejects, ignore_index=True)[REJECT_COLUMNS]


def _parent_keys(frames, parent: str, columns: tuple[str, ...], versions, cache) -> np.ndarray:
    """Return the distinct keys of a parent table, computed once per version of that table."""
    cached = cache.get((parent, columns))
    if cached is None or cached[0] != versions[parent]:
        keys = key_values(frames[parent], list(columns)).dropna().unique()
        cached = cache[(parent, columns)] = (versions[parent], keys)
    return cached[1]


def _lineage(name: str, frame: pd.DataFrame, schema) -> pd.DataFrame:
    """Return the lineage rows of one table's rows."""
    part = pd.DataFrame(
        {
            "target_table": name,
            "target_key": key_values(frame, list(schema.tables[name].primary_key)).astype(str),
            "application": frame["_application"],
            "source_table": frame["_source_table"],
            "source_file": frame["_source_file"],
            "source_line": frame[LINE_COLUMN].astype("int64"),
            "source_key": frame["_source_key"],
        }
    )
    # A source row that gives the same target row twice (merged later) is one lineage row.
    # The file and the source key follow from the application, table and line, so the test of
    # duplicates leaves them out. It runs one table at a time, which keeps its hash tables
    # small.
    repeated = part.duplicated(["target_key", "application", "source_table", "source_line"])
    return part[~repeated] if repeated.any() else part


def _merge_rows(frame: pd.DataFrame, table) -> tuple[pd.DataFrame, MergeConflicts | None]:
    """Merge the rows that share a primary key, keeping the first non-null value of each
    column in source order.

    Returns the merged rows and the keys whose rows have different non-null values in a
    column, or None when there is no such key.
    """
    columns = [column.name for column in table.columns]
    if frame.empty:
        return pd.DataFrame(columns=columns), None
    key = list(table.primary_key)
    if not frame.duplicated(key).any():
        # Every row has its own key: there is nothing to merge, and grouping would only copy.
        # Since _concat_frames, every missing value of the frame is None already.
        return frame[columns].reset_index(drop=True), None
    grouped = frame[columns].groupby(key, sort=False, dropna=False)
    merged = grouped.first().reset_index()
    # With sort=False, group numbers follow the order of the merged rows.
    conflicts = find_merge_conflicts(frame, grouped.ngroup().to_numpy(), merged, table)
    merged = merged[columns].astype(object)
    return merged.where(merged.notna(), None), conflicts
