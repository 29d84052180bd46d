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

Assembly reads the mapped frames twice, one frame at a time, so that the rows of every table
never exist in memory together:

- The first pass keeps, for each target row, its source row and a 64-bit hash of its primary
  key and of each foreign key (`_TableKeys`, about 30 bytes a row). Steps 1 to 3 work on these
  hashes; identity resolution reads the individuals whole.
- The second pass reads each frame again, drops the rows of fallen source rows and hands the
  others on at once (staged in a private file for a large run), with their lineage. Only the
  rows of a repeated key wait until their table is read, to be merged (step 4).

Two different keys with the same hash (about one chance in 10^19 per pair) could hide a
missing parent. The target's foreign key then rejects the row, and the load rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.util import hash_array

from migration.frame_keys import key_values
from migration.identity.resolve import IDENTITY_FIELDS, IdentityIndex, IdentityResult
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
from migration.mapping.staging import FrameStage, StagedFrame, TableRows, loaded, peeked
from migration.reading.csv_reader import LINE_COLUMN
from migration.target.frames import invalid_values

logger = logging.getLogger(__name__)

SOURCE_ROW = ["_application", "_source_table", LINE_COLUMN]
# A source row's code is its line in the low bits and the number of its source table above.
_LINE_BITS = 40
_LINE_MASK = (1 << _LINE_BITS) - 1


@dataclass
class Assembly:
    """Rows ready to load, with lineage, rejects, filtered rows and identity decisions.

    `frames` gives each target table's rows: one frame, or, for a run that stages its rows in
    a private folder, a `TableRows` whose frames are read back one at a time.
    """

    frames: dict[str, pd.DataFrame | TableRows]
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
    helper: Callable | None = None,
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
        release_mapped: take the frames out of `mapped`, so that each one is freed once it
            is assembled. The rejects and filtered rows of `mapped` stay.
        stage_folder: a private folder where each table's assembled rows and lineage are
            written as soon as they are computed, and `frames` then contains `TableRows`.
            Without it, every table's rows are one frame in memory.
        helper: with `stage_folder`, a function like `multiprocessing.Pool.apply_async`, which
            runs a function in another process and returns what gives its result (`get`).
            That process assembles about half of the rows in the second pass, while this
            one assembles the others.
    """
    rejects = pd.concat(
        [m.rejects for m in mapped if len(m.rejects)] or [pd.DataFrame(columns=REJECT_COLUMNS)],
        ignore_index=True,
    )
    filters = pd.concat(
        [m.filters for m in mapped if len(m.filters)] or [pd.DataFrame(columns=FILTER_COLUMNS)],
        ignore_index=True,
    )
    take = dict.pop if release_mapped else dict.get
    parts = {name: [f for m in mapped for f in take(m.frames, name, [])] for name in schema.tables}

    sources = _SourceRows()
    for fallen in (rejects, rejected_sources):
        if len(fallen):
            sources.fall(sources.codes_of(fallen, "application", "source_table", "source_line"))

    # First pass: the keys of every table, the individuals merged, the refused values.
    keys: dict[str, _TableKeys] = {}
    refused: list[pd.DataFrame] = []
    check_values = not all(m.values_checked for m in mapped)
    identity, merges = IdentityResult(), {}
    if helper is not None and stage_folder is not None and not check_values:
        # No value is checked here, so no source row falls while the keys are computed, and
        # a helper process computes the keys of about half of the rows.
        identity, keys = _first_pass_shared(
            parts, schema, existing_individuals, identity_decisions, sources, helper
        )
        merges = identity.merges
    for name in schema.table_order():
        if name in keys:
            continue
        if name == "individu":
            identity, merges = _resolve_identities(
                parts[name], schema, existing_individuals, identity_decisions, sources
            )
        keys[name] = _TableKeys.of(name, parts[name], schema, sources, merges)
        if check_values:
            refused += _refused_values(name, parts[name], schema, sources, merges)

    missing = _cascade_missing_parents(keys, schema, sources)

    # Second pass: each table's rows without the fallen ones, merged by key, with lineage.
    # Nothing falls any more, so the tables do not depend on each other.
    for table_keys in keys.values():
        table_keys.refresh(sources)
    order = schema.table_order()
    shared = []
    if helper is not None and stage_folder is not None:
        shared = _helper_tables(order, {name: len(keys[name].sources) for name in order})
    pending = None
    if shared:
        task = [
            (name, parts.pop(name), keys.pop(name), [e for e in missing if e.table == name])
            for name in shared
        ]
        pending = helper(assemble_tables, (task, schema, merges, stage_folder, "helper"))
    stage = lineage_stage = None
    if stage_folder is not None:
        stage = FrameStage(stage_folder, "assembled")
        lineage_stage = FrameStage(stage_folder, "lineage")
    done = {
        name: _assemble_table(
            name, parts.pop(name), schema, keys.pop(name), merges, missing, stage, lineage_stage
        )
        for name in order
        if name not in shared
    }
    if pending is not None:
        entries = {name: [e for e in missing if e.table == name] for name in shared}
        for name, result, filled in pending.get():
            done[name] = result
            for entry, values in zip(entries[name], filled, strict=True):
                entry.rejects = values
    frames, conflicts = {}, {}
    for name in order:
        rows, found, _ = done[name]
        frames[name] = rows if stage is not None else rows.frame()
        if found is not None:
            log_merge_conflicts(found)
            conflicts[name] = found
    lineage = LineageParts.joined(stage_folder, lineage_stage, [done[name][2] for name in order])
    fallen_later = refused + [entry.rejects for entry in missing]
    if fallen_later:
        rejects = pd.concat([rejects, *fallen_later], ignore_index=True)[REJECT_COLUMNS]
    return Assembly(frames, lineage, rejects, filters, identity, conflicts)


class _SourceRows:
    """Source rows coded as one int64 each, and the codes of the source rows that fell.

    The code of a row combines the number of its (application, source table) and its line.
    """

    def __init__(self) -> None:
        self.numbers: dict[tuple[str, str], int] = {}
        self.files: dict[int, str | None] = {}
        self.fallen = np.empty(0, dtype=np.int64)  # sorted, distinct
        self.generation = 0  # grows each time rows fall

    def codes_of(self, frame: pd.DataFrame, application: str, table: str, line: str):
        """Return the codes of the rows of `frame`, from its three columns of origin."""
        if frame.empty:
            return np.empty(0, dtype=np.int64)
        applications = frame[application].to_numpy(dtype=object)
        tables = frame[table].to_numpy(dtype=object)
        if (applications == applications[0]).all() and (tables == tables[0]).all():
            # A mapped frame comes from one source table.
            positions = np.zeros(len(frame), dtype=np.intp)
            pairs_found = [(applications[0], tables[0])]
        else:
            pairs = pd.MultiIndex.from_arrays([applications, tables])
            positions, pairs_found = pairs.factorize()
        numbers = np.array(
            [self.numbers.setdefault(tuple(pair), len(self.numbers)) for pair in pairs_found],
            dtype=np.int64,
        )
        if "_source_file" in frame.columns:
            first = pd.Series(positions).drop_duplicates()
            files = frame["_source_file"].to_numpy(dtype=object)
            for position, number in zip(first.index, numbers[first.to_numpy()], strict=True):
                self.files.setdefault(int(number), files[position])
        lines = frame[line].to_numpy(dtype=np.int64)
        return (numbers[positions] << _LINE_BITS) | lines

    def fall(self, codes: np.ndarray) -> None:
        """Record that the source rows of `codes` fell."""
        fallen = np.union1d(self.fallen, codes)
        if len(fallen) > len(self.fallen):
            self.fallen = fallen
            self.generation += 1

    def fallen_mask(self, codes: np.ndarray) -> np.ndarray:
        if not len(self.fallen):
            return np.zeros(len(codes), dtype=bool)
        return pd.Series(codes, copy=False).isin(self.fallen).to_numpy()

    def origin(self, codes: np.ndarray) -> pd.DataFrame:
        """Return application, source_table, source_file and source_line of `codes`."""
        pairs = {number: pair for pair, number in self.numbers.items()}
        numbers = codes >> _LINE_BITS
        return pd.DataFrame(
            {
                "application": [pairs[n][0] for n in numbers],
                "source_table": [pairs[n][1] for n in numbers],
                "source_file": [self.files.get(n) for n in numbers],
                "source_line": codes & _LINE_MASK,
            }
        )


def _hashes(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return the 64-bit hash of each row's key on `columns` (0 where null) and where the key
    is present."""
    values = key_values(frame.reindex(columns=columns), columns)
    present = values.notna().to_numpy()
    hashes = np.zeros(len(values), dtype=np.uint64)
    if present.any():
        text = values[present].astype(str).to_numpy(dtype=object)
        hashes[present] = hash_array(text, categorize=False)
    return hashes, present


@dataclass
class _TableKeys:
    """The source rows and key hashes of one table's rows, in the order of its frames, kept
    by the first pass."""

    name: str
    sources: np.ndarray  # int64 code of each row's source row
    # Hash and presence of each row's key on the column sets that matter: the primary key,
    # the columns of each foreign key, and the columns other tables reference.
    hashes: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]]
    alive: np.ndarray | None = None
    generation: int = -1
    version: int = 0  # grows each time the table loses rows

    @classmethod
    def of(cls, name, parts, schema, sources: _SourceRows, merges) -> _TableKeys:
        column_sets = _key_column_sets(name, schema)
        codes, hashes = [], {columns: ([], []) for columns in column_sets}
        for part in parts:
            frame = _with_merges(peeked(part), name, schema, merges)
            codes.append(sources.codes_of(frame, "_application", "_source_table", LINE_COLUMN))
            for columns in column_sets:
                found, present = _hashes(frame, list(columns))
                hashes[columns][0].append(found)
                hashes[columns][1].append(present)
            del frame
        return cls(
            name,
            _joined(codes, np.int64),
            {
                columns: (_joined(found, np.uint64), _joined(present, bool))
                for columns, (found, present) in hashes.items()
            },
        )

    def refresh(self, sources: _SourceRows) -> None:
        """Bring `alive` up to date with the fallen source rows."""
        if self.generation == sources.generation:
            return
        alive = ~sources.fallen_mask(self.sources)
        if self.alive is not None and alive.sum() < self.alive.sum():
            self.version += 1
        self.alive, self.generation = alive, sources.generation

    @property
    def primary_key(self) -> np.ndarray:
        return next(iter(self.hashes.values()))[0]


def _joined(arrays: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.empty(0, dtype=dtype)


def _key_column_sets(name: str, schema) -> list[tuple[str, ...]]:
    """Return the primary key of `name`, the columns of its foreign keys and the columns that
    other tables reference, primary key first."""
    sets = [tuple(schema.tables[name].primary_key)]
    sets += [tuple(key.columns) for key in schema.tables[name].foreign_keys]
    sets += [
        tuple(key.ref_columns)
        for table in schema.tables.values()
        for key in table.foreign_keys
        if key.ref_table == name
    ]
    return list(dict.fromkeys(sets))


def _object_frame(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Return `frame` with `columns` in that order, every value a Python object or None."""
    frame = frame.reindex(columns=columns)
    present = frame.notna()
    return frame.astype(object).where(present, None)


def _with_merges(frame: pd.DataFrame, name: str, schema, merges: dict[str, str]) -> pd.DataFrame:
    """Return `frame` with its references to a merged individual pointing at the individual it
    merges into. The frame given is left as it is: it may be a caller's mapped frame."""
    if not merges:
        return frame
    columns = [
        key.columns[0] for key in schema.tables[name].foreign_keys if key.ref_table == "individu"
    ]
    if name == "individu":
        columns.append("id_individu")
    changed = {}
    for column in columns:
        if column in frame.columns:
            values = frame[column]
            merged = values.map(merges)
            changed[column] = merged.where(merged.notna(), values)
    return frame.assign(**changed) if changed else frame


def _resolve_identities(parts, schema, existing, decisions, sources: _SourceRows):
    """Resolve the identities of the individuals that no fallen source row gave.

    The frames are read twice: once to index the individuals, then for the values of the
    candidates (see `IdentityIndex`).
    """
    if not parts:
        return IdentityResult(), {}
    columns = [column.name for column in schema.tables["individu"].columns] + ORIGIN_COLUMNS
    fields = [name for name in IDENTITY_FIELDS if name in columns]

    def frames():
        if existing is not None and len(existing):
            yield _object_frame(existing, fields)
        for part in parts:
            frame = peeked(part)
            codes = sources.codes_of(frame, "_application", "_source_table", LINE_COLUMN)
            yield _object_frame(frame[~sources.fallen_mask(codes)], fields)
            del frame

    index = IdentityIndex()
    for frame in frames():
        index.add(frame)
    identity = index.resolve(frames, decisions)
    return identity, identity.merges


def _refused_values(name, parts, schema, sources: _SourceRows, merges) -> list[pd.DataFrame]:
    """Reject the source rows of `name` whose values the target would reject. Each source
    row falls once, because the tables are taken in the schema's order.

    Without this, one bad value would stop the whole load in the database.
    """
    found = []
    for part in parts:
        frame = peeked(part)
        codes = sources.codes_of(frame, "_application", "_source_table", LINE_COLUMN)
        frame = _with_merges(frame[~sources.fallen_mask(codes)], name, schema, merges)
        rows = refused_rows(name, frame, schema)
        if len(rows):
            found.append(rows)
            sources.fall(sources.codes_of(rows, "application", "source_table", "source_line"))
    return found


@dataclass
class _MissingParents:
    """The rows of one table rejected because one of its foreign keys has no parent."""

    table: str
    key: object  # the foreign key of the schema
    positions: np.ndarray  # of the rows, in the order of the table's frames
    rejects: pd.DataFrame  # `value` is filled when the second pass reads the rows


def _cascade_missing_parents(keys: dict[str, _TableKeys], schema, sources: _SourceRows):
    """Reject source rows whose target rows point at a parent absent from the target.

    Dropping the rows of a fallen source row can remove parents of tables already checked, so
    the check repeats until nothing falls. A foreign key is checked again only when its parent
    table lost rows since its last check: a child that loses rows gains no missing parent.
    """
    missing: list[_MissingParents] = []
    checked: dict[tuple[str, int], int] = {}  # parent version at the last check of a key
    known: dict[tuple[str, tuple[str, ...]], tuple[int, np.ndarray]] = {}
    changed = True
    while changed:
        changed = False
        for name in schema.table_order():
            for position, key in enumerate(schema.tables[name].foreign_keys):
                parent = keys[key.ref_table]
                parent.refresh(sources)
                if checked.get((name, position)) == parent.version:
                    continue
                checked[(name, position)] = parent.version
                columns = tuple(key.ref_columns)
                cached = known.get((parent.name, columns))
                if cached is None or cached[0] != parent.version:
                    found, present = parent.hashes[columns]
                    cached = (parent.version, np.unique(found[present & parent.alive]))
                    known[(parent.name, columns)] = cached
                child = keys[name]
                child.refresh(sources)
                references, present = child.hashes[tuple(key.columns)]
                absent = present & child.alive
                absent[absent] = ~pd.Series(references[absent]).isin(cached[1]).to_numpy()
                if not absent.any():
                    continue
                rows = np.flatnonzero(absent)
                codes = child.sources[rows]
                rejects = sources.origin(codes)
                rejects["target_table"] = name
                rejects["rule_id"] = "mapping.parent_missing"
                rejects["column_name"] = ", ".join(key.columns)
                rejects["reason"] = mapping_reason("parent_missing", table=key.ref_table)
                rejects["value"] = None
                missing.append(_MissingParents(name, key, rows, rejects))
                sources.fall(codes)
                changed = True
    return missing


def _first_pass_shared(parts, schema, existing, decisions, sources: _SourceRows, helper):
    """Resolve the identities, then compute the keys of every table, those of about half of
    the rows in a helper process (see `table_keys`). Return the identities and the keys.

    A table before individu in the schema's order references no individual, so the merges
    leave its keys as they are, as in the first pass done in one process.
    """
    identity = IdentityResult()
    if "individu" in parts:
        identity, _ = _resolve_identities(parts["individu"], schema, existing, decisions, sources)
    order = schema.table_order()
    shared = _helper_tables(order, {name: sum(map(len, parts[name])) for name in order})
    task = [(name, list(parts[name])) for name in shared]
    pending = helper(table_keys, (task, schema, identity.merges)) if task else None
    keys = {
        name: _TableKeys.of(name, parts[name], schema, sources, identity.merges)
        for name in order
        if name not in shared
    }
    if pending is not None:
        found, numbers, files = pending.get()
        # The helper numbered the source tables its own way: renumber its codes.
        renumbered = np.zeros(max(numbers.values(), default=-1) + 1, dtype=np.int64)
        for pair, number in numbers.items():
            renumbered[number] = sources.numbers.setdefault(pair, len(sources.numbers))
            sources.files.setdefault(int(renumbered[number]), files.get(number))
        for name, helped in found.items():
            codes = helped.sources
            helped.sources = (renumbered[codes >> _LINE_BITS] << _LINE_BITS) | (codes & _LINE_MASK)
            keys[name] = helped
    return identity, {name: keys[name] for name in order}


def table_keys(task: list, schema, merges: dict[str, str]):
    """Compute the keys of some tables in a helper process (see `assemble`).

    `task` gives, per table, its name and mapped frames, which stay on disk. Returns the keys
    of each table, and the number and file of each source table its codes use.
    """
    sources = _SourceRows()
    found = {name: _TableKeys.of(name, parts, schema, sources, merges) for name, parts in task}
    return found, sources.numbers, sources.files


def _helper_tables(order: list[str], rows: dict[str, int]) -> list[str]:
    """Return the tables a helper process takes: about half of the rows, the largest tables
    first to whichever process has fewer rows so far. This process takes the first."""
    rows_so_far = {"self": 0, "helper": 0}
    chosen = []
    for name in sorted(order, key=lambda name: -rows[name]):
        side = min(rows_so_far, key=lambda side: (rows_so_far[side], side != "self"))
        rows_so_far[side] += rows[name]
        if side == "helper":
            chosen.append(name)
    return [name for name in order if name in chosen]


def assemble_tables(task: list, schema, merges: dict[str, str], folder: Path, prefix: str):
    """Assemble some tables in a helper process (see `assemble`), staging their rows and
    lineage in `folder` under names that start with `prefix`.

    `task` gives, per table, its name, mapped frames, keys and rows missing a parent. Returns,
    per table, its name, (rows, merge conflicts, lineage) and the rejects of its rows missing
    a parent, their values filled.
    """
    stage = FrameStage(folder, f"{prefix}-assembled")
    lineage_stage = FrameStage(folder, f"{prefix}-lineage")
    done = []
    for name, parts, keys, missing in task:
        result = _assemble_table(name, parts, schema, keys, merges, missing, stage, lineage_stage)
        done.append((name, result, [entry.rejects for entry in missing]))
    return done


def _assemble_table(name, parts, schema, keys: _TableKeys, merges, missing, stage, lineage_stage):
    """Read the frames of one table again, and return its assembled rows, merge conflicts
    and lineage.

    The rows of a key that no other row shares are handed on frame by frame; the others are
    merged once every frame is read.
    """
    table = schema.tables[name]
    columns = [column.name for column in table.columns]
    origin_columns = columns + ORIGIN_COLUMNS
    alive_keys = keys.primary_key[keys.alive]
    counts = pd.Series(alive_keys).value_counts()
    repeated = counts.index[counts.to_numpy() > 1].to_numpy(dtype=np.uint64)
    rejected = [entry for entry in missing if entry.table == name]
    lineage = LineageParts(None if lineage_stage is None else lineage_stage.folder, lineage_stage)
    rows, waiting, offset = TableRows(columns), [], 0
    for part in parts:
        frame = _object_frame(loaded(part), origin_columns)
        frame = _with_merges(frame, name, schema, merges)
        end = offset + len(frame)
        for entry in rejected:
            _fill_missing_values(entry, frame, offset, end)
        alive = keys.alive[offset:end]
        hashes = keys.primary_key[offset:end][alive]
        frame = frame[alive]
        offset = end
        if frame.empty:
            continue
        waits = pd.Series(hashes).isin(repeated).to_numpy() if len(repeated) else None
        if waits is not None and waits.any():
            waiting.append(frame[waits])
            frame = frame[~waits]
        if frame.empty:
            continue
        lineage.add(_lineage(name, frame, schema, repeated=False))
        rows.parts.append(_handed_on(name, frame[columns].reset_index(drop=True), stage))
        del frame
    conflicts = None
    if waiting:
        frame = pd.concat(waiting, ignore_index=True)
        waiting.clear()
        lineage.add(_lineage(name, frame, schema))
        merged, conflicts = _merge_rows(frame, table)
        del frame
        rows.parts.append(_handed_on(name, merged, stage))
    return rows, conflicts, lineage


def _fill_missing_values(entry: _MissingParents, frame: pd.DataFrame, start: int, end: int):
    """Fill the `value` of the rejects of `entry` whose rows are in `frame` (rows start to end
    of the table)."""
    first, last = np.searchsorted(entry.positions, [start, end])
    if first == last:
        return
    values = key_values(frame, list(entry.key.columns))
    chosen = values.to_numpy(dtype=object)[entry.positions[first:last] - start]
    entry.rejects.iloc[first:last, entry.rejects.columns.get_loc("value")] = chosen


def _handed_on(name: str, frame: pd.DataFrame, stage) -> pd.DataFrame | StagedFrame:
    return frame if stage is None else stage(name, frame)


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


def _lineage(name: str, frame: pd.DataFrame, schema, repeated: bool = True) -> pd.DataFrame:
    """Return the lineage rows of some rows of one table. With `repeated=False` no two of the
    rows share a key, so no duplicate is looked for."""
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
    if not repeated:
        return part
    # A source row that gives the same target row twice (merged later) is one lineage row.
    # The file and the source key follow from the application, table and line, so the test of
    # duplicates leaves them out.
    twice = part.duplicated(["target_key", "application", "source_table", "source_line"])
    return part[~twice] if twice.any() else part


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
