"""Application of a mapping file to the validated tables of one application.

Each target mapping takes the accepted rows of its source table (rows without an error
finding), joins the declared tables, applies the filter and evaluates every column expression.
Every mapped row carries its origin (application, source table, file, line, key) so lineage
can be written for every target row.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

import pandas as pd

from migration.dictionary.model import Dictionary
from migration.frame_keys import join_key
from migration.mapping import expressions as ex
from migration.mapping.language import MappingFile, TargetMapping
from migration.mapping.reasons import mapping_reason
from migration.mapping.staging import StagedFrame, TableRows, peeked
from migration.reading.csv_reader import LINE_COLUMN

logger = logging.getLogger(__name__)

# Source rows mapped at a time. Every expression works row by row, so the chunks give the
# rows that the whole table would give.
MAP_CHUNK_ROWS = 100_000

ORIGIN_COLUMNS = ["_application", "_source_table", "_source_file", LINE_COLUMN, "_source_key"]
REJECT_COLUMNS = [
    "application",
    "source_table",
    "source_file",
    "source_line",
    "target_table",
    "rule_id",
    "column_name",
    "reason",
    # The refused target value (rules mapping.target_value and mapping.parent_missing), for the
    # report's examples; None for the other rules. The rejects table does not store it.
    "value",
]
FILTER_COLUMNS = [
    "application",
    "source_table",
    "source_file",
    "source_line",
    "source_key",
    "target_table",
    "reason",
]


@dataclass
class SourceTable:
    """The accepted rows of one source table, converted to Python values, with their lines."""

    application: str
    name: str
    file: str
    rows: pd.DataFrame
    primary_key: tuple[str, ...] = ()
    # The accepted rows staged in a private folder, one frame per chunk; `rows` then has no
    # rows, only the columns.
    staged: TableRows | None = None

    def frames(self) -> list[pd.DataFrame | StagedFrame]:
        """Return the rows as one frame, or the staged frames, to be read one at a time."""
        return list(self.staged.parts) if self.staged is not None else [self.rows]

    def all_rows(self) -> pd.DataFrame:
        """Return every accepted row in one frame (a staged table is read back whole)."""
        if self.staged is None:
            return self.rows
        parts = list(self.staged.peek())
        return pd.concat(parts) if parts else self.rows


@dataclass
class MappedApplication:
    """Target rows produced by one mapping file, with the rows it rejected or filtered."""

    application: str
    frames: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))
    filters: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FILTER_COLUMNS))
    unknown_codes: dict[str, dict[str, int]] = field(default_factory=dict)
    # True once the rows with values the target would refuse are among the rejects
    # (assemble.reject_refused_values); assembly then need not check the values again.
    values_checked: bool = False


def apply_mapping(
    mapping: MappingFile,
    tables: dict[str, SourceTable],
    dictionary: Dictionary,
    schema=None,
    stage: Callable[[str, pd.DataFrame], object] | None = None,
    done: Callable[[str, pd.DataFrame], None] | None = None,
) -> MappedApplication:
    """Map the accepted rows of every source table of one application to target rows.

    With a target schema, a row that leaves a required target column empty is rejected with
    the rule mapping.required instead of failing the load. `stage`, when given, receives each
    target frame once it is mapped (target name, frame), and the result keeps what it returns
    in place of the frame (see `migration.mapping.staging`).

    A source table is mapped MAP_CHUNK_ROWS rows at a time, so the joined rows and the values
    being computed exist for one chunk only. Each chunk gives its own frame, in source order.

    `done`, when given, is called with a source table's name and the mapping rejects of its
    rows as soon as no later target reads that table. The table's rows then leave `tables`
    (it keeps an empty frame), so a worker frees each table as the mapping goes.
    """
    parts = map_targets(mapping, tables, schema, stage, done)
    return combine_target_parts(mapping, parts, dropped_table_filters(mapping, tables))


@dataclass
class TargetPart:
    """The rows, rejects and filtered rows of one target mapping, before the targets are put
    together.

    `frames` contains one frame per chunk of the source table (or what the stage returned for
    it), `rejects` and `filters` one frame per chunk, `unknown` the count of each unknown code
    per code translation, named as in `MappedApplication.unknown_codes`.
    """

    position: int  # of the target mapping in the mapping file
    target: str
    frames: list = field(default_factory=list)
    rejects: list[pd.DataFrame] = field(default_factory=list)
    filters: list[pd.DataFrame] = field(default_factory=list)
    unknown: dict[str, dict[str, int]] = field(default_factory=dict)
    # Reject rows of the values the target would refuse, found by `refuse` (see `map_targets`).
    refused: list[pd.DataFrame] = field(default_factory=list)


def map_targets(
    mapping: MappingFile,
    tables: dict[str, SourceTable],
    schema=None,
    stage: Callable[[str, pd.DataFrame], object] | None = None,
    done: Callable[[str, pd.DataFrame], None] | None = None,
    positions: Collection[int] | None = None,
    refuse: Callable[[str, pd.DataFrame], pd.DataFrame | None] | None = None,
) -> list[TargetPart]:
    """Map the target mappings at `positions` of `mapping` (all of them by default), in file
    order, and return what each one gave (see `apply_mapping` for `stage` and `done`).

    `refuse`, when given, receives each mapped frame before `stage` and returns the reject
    rows of the values the target would refuse, which the part keeps. The rejects given to
    `done` include them.

    Mapping some targets only lets two processes share an application's targets (see
    `target_shares`). A target that looks up another target's rows must then be mapped with
    every earlier target mapping of that target.
    """
    chosen = [
        (position, target)
        for position, target in enumerate(mapping.targets)
        if positions is None or position in positions
    ]
    # Only the targets that a lookup reads stay in memory for the targets mapped after them.
    looked_up = set().union(*(_lookup_tables(target) for _, target in chosen))
    # NOTE: a lookup in a staged source table reads the whole table back into memory.
    lookups: dict[str, pd.DataFrame] = {
        name: table.all_rows() if name in looked_up else table.rows
        for name, table in tables.items()
    }
    # One str object per derived key, shared by the frames of every target while the frames
    # stay in memory. Each staged frame is written with its own copy of its keys, so with a
    # stage the keys are not shared, because a shared dict would only keep every derived key
    # of the application alive.
    derived_keys: dict[str, str] = {}
    last_uses = _last_uses(mapping, tables) if done is not None else {}
    parts: list[TargetPart] = []

    def release(position: int) -> None:
        for table_name in [name for name, last in last_uses.items() if last == position]:
            lookups.pop(table_name, None)
            source = tables[table_name]
            if source.staged is not None:
                source.staged.discard()
            tables[table_name] = dataclasses.replace(source, rows=source.rows.head(0).copy())
            mine = [
                chunk[chunk["source_table"] == table_name]
                for part in parts
                for chunk in [*part.rejects, *part.refused]
            ]
            done(table_name, _concat(mine, REJECT_COLUMNS))

    release(-1)
    for position, target in chosen:
        required = _required_columns(schema, target.target)
        name = f"target:{target.target}"
        sides = _join_sides(target, tables)
        part = TargetPart(position, target.target)
        parts.append(part)
        looked_up_parts = []
        for chunk in _source_chunks(tables, target.source):
            frame, target_rejects, target_filters, unknown = map_target(
                mapping,
                target,
                chunk,
                lookups,
                required,
                derived_keys if stage is None else None,
                sides,
            )
            if name in looked_up:
                looked_up_parts.append(frame)
            for description, found in unknown.items():
                bucket = part.unknown.setdefault(f"{target.target}: {description}", {})
                for code, count in found.items():
                    bucket[code] = bucket.get(code, 0) + count
            refused = None if refuse is None else refuse(target.target, frame)
            if refused is not None and len(refused):
                part.refused.append(refused)
            part.frames.append(frame if stage is None else stage(target.target, frame))
            part.rejects.append(target_rejects)
            part.filters.append(target_filters)
            del frame
        del sides
        if looked_up_parts:
            previous = lookups.get(name)
            found_parts = looked_up_parts if previous is None else [previous, *looked_up_parts]
            lookups[name] = (
                found_parts[0]
                if len(found_parts) == 1
                else pd.concat(found_parts, ignore_index=True)
            )
        logger.info(
            "mapped %s.%s -> %s: %d rows, %d rejects, %d filtered",
            mapping.application,
            target.source,
            target.target,
            sum(len(frame) for frame in part.frames),
            sum(len(frame) for frame in part.rejects),
            sum(len(frame) for frame in part.filters),
        )
        release(position)
    return parts


def dropped_table_filters(
    mapping: MappingFile, tables: dict[str, SourceTable]
) -> list[pd.DataFrame]:
    """Return the filter records of the rows of the tables that the mapping drops."""
    filters = []
    for table_name, reason in mapping.dropped_tables.items():
        if table_name in tables:
            source = tables[table_name]
            for part in source.frames():
                filters.append(_filter_records(source, peeked(part), None, reason))
    return filters


def combine_target_parts(
    mapping: MappingFile, parts: Iterable[TargetPart], dropped: list[pd.DataFrame]
) -> MappedApplication:
    """Put the parts of every target of `mapping` together, in the order of the mapping file,
    with `dropped`, the filter records of the tables it drops, last.

    The result is the same whether the parts come from one process or from several.
    """
    result = MappedApplication(mapping.application)
    rejects, filters = [], []
    for part in sorted(parts, key=lambda part: part.position):
        if part.frames:
            result.frames.setdefault(part.target, []).extend(part.frames)
        for description, found in part.unknown.items():
            bucket = result.unknown_codes.setdefault(description, {})
            for code, count in found.items():
                bucket[code] = bucket.get(code, 0) + count
        rejects += part.rejects
        filters += part.filters
    result.rejects = _concat(rejects, REJECT_COLUMNS)
    result.filters = _concat(filters + dropped, FILTER_COLUMNS)
    return result


def target_shares(
    mapping: MappingFile, tables: dict[str, SourceTable], count: int = 2
) -> list[list[int]]:
    """Split the positions of the target mappings of `mapping` into `count` shares of about the
    same work, for as many processes, each in file order. A share may be empty.

    The work of a target is the rows of its source table and of the tables it joins. A target
    that looks up another target's rows stays in the share of every earlier target mapping of
    that target, since the lookup reads their rows.
    """
    groups = {position: {position} for position in range(len(mapping.targets))}
    for position, target in enumerate(mapping.targets):
        for name in _lookup_tables(target):
            if not name.startswith("target:"):
                continue
            looked_up = name[len("target:") :]
            for earlier in range(position):
                if (
                    mapping.targets[earlier].target == looked_up
                    and groups[earlier] is not groups[position]
                ):
                    joined = groups[earlier] | groups[position]
                    for member in joined:
                        groups[member] = joined
    distinct = {id(group): group for group in groups.values()}.values()

    def rows(name: str) -> int:
        source = tables.get(name)
        if source is None:
            return 0
        return len(source.staged) if source.staged is not None else len(source.rows)

    def work(group: set[int]) -> int:
        targets = [mapping.targets[position] for position in group]
        return sum(
            rows(target.source) + sum(rows(join.table) for join in target.joins)
            for target in targets
        )

    shares: list[list[int]] = [[] for _ in range(count)]
    loads = [0] * count
    # The largest groups first, each to the share with the least work so far.
    for group in sorted(distinct, key=lambda group: (-work(group), min(group))):
        lightest = loads.index(min(loads))
        shares[lightest] += group
        loads[lightest] += work(group)
    return [sorted(share) for share in shares]


def looked_up_tables(mapping: MappingFile) -> set[str]:
    """Return the tables that the lookups of a mapping file read (`target:NAME` for a target)."""
    return {name for target in mapping.targets for name in _lookup_tables(target)}


def _lookup_tables(target: TargetMapping) -> set[str]:
    found = set()
    for expression in [*target.columns.values(), target.filter]:
        if expression is not None:
            found.update(node.table for node in ex.walk(expression) if isinstance(node, ex.Lookup))
    return found


def _last_uses(mapping: MappingFile, tables: dict[str, SourceTable]) -> dict[str, int]:
    """Return, for each source table, the position of the last target that reads it (as its
    source, a join or a lookup); -1 for a table that no target reads.

    The tables that the mapping drops are left out: their rows give filter records at the end.
    """
    last = dict.fromkeys(tables, -1)
    for position, target in enumerate(mapping.targets):
        names = {target.source, *(join.table for join in target.joins)}
        names |= {name for name in _lookup_tables(target) if not name.startswith("target:")}
        for name in names & set(tables):
            last[name] = position
    return {name: at for name, at in last.items() if name not in mapping.dropped_tables}


def map_target(
    mapping: MappingFile,
    target: TargetMapping,
    tables: dict[str, SourceTable],
    lookups: dict[str, pd.DataFrame] | None = None,
    required: list[str] | None = None,
    derived_keys: dict[str, str] | None = None,
    sides: list[_JoinSide] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, dict[str, int]]]:
    """Evaluate one target mapping; return target rows, rejects, filtered rows and the count
    of each unknown code per code translation.

    `derived_keys` is shared by the targets of one application, so a derived key and the
    references to it are one str object; None shares no key between expressions. `sides`
    gives the joined tables, prepared once by `_join_sides` for the chunks of one source
    table; None prepares them here."""
    source = tables[target.source]
    if sides is None:
        sides = _join_sides(target, tables)
    frame = _joined_frame(source, sides)
    filters = pd.DataFrame(columns=FILTER_COLUMNS)
    if target.filter is not None:
        keep = target.filter.evaluate(ex.Context(frame)).fillna(False).astype(bool)
        filters = _filter_records(source, frame[~keep], target.target, target.filter_reason)
        frame = frame[keep]

    ctx = ex.Context(frame, lookups or {}, derived_keys=derived_keys)
    columns = {name: expression.evaluate(ctx) for name, expression in target.columns.items()}
    mapped = pd.DataFrame(columns, index=frame.index)
    rejected = pd.Series(False, index=frame.index)
    reject_frames = []
    for rule_id, description, mask in ctx.rejections:
        code = "unknown_code" if rule_id == "mapping.unknown_code" else "conversion_failed"
        reason = mapping_reason(code, description=description)
        reject_frames.append(
            _reject_records(source, frame[mask], target.target, rule_id, None, reason)
        )
        rejected |= mask
    for name in required or []:
        empty = (
            mapped[name].isna() if name in mapped else pd.Series(True, index=frame.index)
        ) & ~rejected
        if empty.any():
            reject_frames.append(
                _reject_records(
                    source,
                    frame[empty],
                    target.target,
                    "mapping.required",
                    name,
                    mapping_reason("required_empty", column=name),
                )
            )
            rejected |= empty
    origin = _origin(source, frame)
    mapped = pd.concat([mapped, origin], axis=1)
    return mapped[~rejected], _concat(reject_frames, REJECT_COLUMNS), filters, ctx.unknown_counts


def _required_columns(schema, target_name: str) -> list[str]:
    if schema is None or target_name not in schema.tables:
        return []
    return [column.name for column in schema.tables[target_name].columns if not column.nullable]


@dataclass
class _JoinSide:
    """One joined table, with its first row per join key and its columns prefixed."""

    rows: pd.DataFrame
    left_on: list[str]
    right_on: list[str]


def _join_sides(target: TargetMapping, tables) -> list[_JoinSide]:
    used = set().union(*(expression.source_columns() for expression in target.columns.values()))
    if target.filter is not None:
        used |= target.filter.source_columns()
    sides = []
    for join in target.joins:
        right_columns = list(join.keys.values())
        source = tables[join.table]
        if source.staged is None:
            right = source.rows
        else:
            # Only the join keys and the columns the target reads of a staged table are read
            # back, so the joined table costs a few columns of memory, not its whole rows.
            prefix = f"{join.table}."
            wanted = {name[len(prefix) :] for name in used if name.startswith(prefix)}
            columns = [
                name for name in source.rows.columns if name in wanted or name in right_columns
            ]
            parts = [frame[[*columns, LINE_COLUMN]] for frame in source.staged.peek()]
            right = pd.concat(parts) if parts else source.rows[[*columns, LINE_COLUMN]]
        right = right.drop_duplicates(subset=right_columns, keep="first").drop(
            columns=[LINE_COLUMN]
        )
        right = right.rename(columns={name: f"{join.table}.{name}" for name in right.columns})
        right_on = [f"{join.table}.{name}" for name in right_columns]
        sides.append(_JoinSide(right, list(join.keys), right_on))
    return sides


def _joined_frame(source: SourceTable, sides: list[_JoinSide]) -> pd.DataFrame:
    frame = source.rows
    for side in sides:
        merged = frame.reset_index().merge(
            side.rows, how="left", left_on=side.left_on, right_on=side.right_on
        )
        frame = merged.set_index("index")
        frame.index.name = None
    return frame


def _source_chunks(tables: dict[str, SourceTable], name: str):
    """Yield `tables` with the rows of table `name` cut into chunks of MAP_CHUNK_ROWS rows.

    A table without rows gives one chunk, so its target still gets a frame with its columns.
    """
    source = tables[name]
    if source.staged is not None and source.staged.parts:
        for part in source.staged.peek():
            yield {**tables, name: dataclasses.replace(source, rows=part)}
        return
    total = len(source.rows)
    if total <= MAP_CHUNK_ROWS:
        yield tables
        return
    for start in range(0, total, MAP_CHUNK_ROWS):
        rows = source.rows.iloc[start : start + MAP_CHUNK_ROWS]
        yield {**tables, name: dataclasses.replace(source, rows=rows)}


def _origin(source: SourceTable, frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_application": source.application,
            "_source_table": source.name,
            "_source_file": source.file,
            LINE_COLUMN: frame[LINE_COLUMN].astype("int64"),
            "_source_key": _source_key(source, frame),
        },
        index=frame.index,
    )


def _source_key(source: SourceTable, rows: pd.DataFrame) -> pd.Series:
    """Return the key of each row as the lineage stores it: its primary key, else its line."""
    if source.primary_key:
        key = join_key(rows, list(source.primary_key))
    else:
        key = rows[LINE_COLUMN].astype(str)
    return key.astype(object)


def _reject_records(source, rows, target_table, rule_id, column, reason) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "application": source.application,
            "source_table": source.name,
            "source_file": source.file,
            "source_line": rows[LINE_COLUMN].astype("int64"),
            "target_table": target_table,
            "rule_id": rule_id,
            "column_name": column,
            "reason": reason,
            "value": None,
        },
        columns=REJECT_COLUMNS,
    )


def _filter_records(source, rows, target_table, reason) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "application": source.application,
            "source_table": source.name,
            "source_file": source.file,
            "source_line": rows[LINE_COLUMN].astype("int64"),
            "source_key": _source_key(source, rows),
            "target_table": target_table,
            "reason": reason,
        },
        columns=FILTER_COLUMNS,
    )


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
