"""The steps of a migration run, shared by the CLI and the Dagster assets.

Each function does one step on the results of the previous ones, so the CLI can chain them with
progress output and each Dagster asset can call one of them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from migration.delivery.config import same_departement
from migration.dictionary.model import Dictionary
from migration.frame_keys import KeySet, key_values
from migration.mapping.assemble import Assembly, refused_rows, reject_refused_values
from migration.mapping.engine import (
    FILTER_COLUMNS,
    MappedApplication,
    SourceTable,
    TargetPart,
    apply_mapping,
    combine_target_parts,
    dropped_table_filters,
    map_targets,
)
from migration.mapping.language import MappingFile
from migration.mapping.staging import FrameStage, TableRows
from migration.profiling.profile import ColumnCounts, profile_column
from migration.reading.csv_reader import (
    LINE_COLUMN,
    RAW_TEXT_KEY,
    TableRead,
    read_table,
    read_table_chunks,
)
from migration.reading.findings import (
    DETAIL_RULES,
    ERROR,
    concat_findings,
    mask_nir,
    mask_value,
)
from migration.validation.checks import (
    RepeatedKeys,
    check_foreign_keys,
    foreign_key_sections,
    validate_table,
)
from migration.validation.plausibility import check_plausibility, plausibility_sections
from migration.validation.policy import apply_rule_policy
from migration.validation.rules import RULES

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MAPPINGS = {
    "ITAC": PROJECT_ROOT / "mappings" / "itac.yaml",
    "OPALES": PROJECT_ROOT / "mappings" / "opales.yaml",
}
REJECT_DB_COLUMNS = [
    "run_id",
    "application",
    "source_table",
    "source_file",
    "source_line",
    "target_table",
    "rule_id",
    "severity",
    "column_name",
    "reason",
    "raw_values",
]
FILTER_DB_COLUMNS = ["run_id", *FILTER_COLUMNS]
EXAMPLES_PER_RULE = 3


@dataclass
class ValidatedApplication:
    """The tables of one application after reading, validation and profiling."""

    name: str
    dictionary: Dictionary
    reads: dict[str, TableRead]
    findings: pd.DataFrame
    tables: dict[str, SourceTable]
    profiles: dict[str, dict] = field(default_factory=dict)

    @property
    def blocking(self) -> list[str]:
        return [problem for read in self.reads.values() for problem in read.blocking]

    def rejected_lines(self) -> pd.DataFrame:
        """Source rows with at least one error finding: application, source_table, source_line."""
        errors = self.findings[self.findings["severity"] == ERROR]
        return pd.DataFrame(
            {
                "application": errors["application"],
                "source_table": errors["table"],
                "source_line": errors["line"].astype("int64"),
            }
        ).drop_duplicates()


def read_application(
    name: str, folder: Path, dictionary: Dictionary, replacements: dict[str, Path] | None = None
) -> dict[str, TableRead]:
    """Read every table the dictionary declares from an application's plaintext folder.

    `replacements` maps a file name of the delivery (such as FINESS.csv) to a newer file in the
    same layout, such as the current FINESS or UAI open-data extract, read in its place.
    """
    replacements = replacements or {}
    return {
        table.name: read_table(name, table, replacements.get(table.file, folder / table.file))
        for table in dictionary.tables.values()
    }


@dataclass
class ValidatedTable:
    """One table after reading, per-table validation and profiling."""

    read: TableRead
    findings: pd.DataFrame
    typed: pd.DataFrame
    profile: dict


def validate_one_table(
    read: TableRead, dictionary: Dictionary, policy: dict | None = None
) -> ValidatedTable:
    """Validate and profile one table on its own (keys to other tables come later).

    `policy` is the delivery's rule policy (severities changed, rules disabled).
    """
    columns = []

    def add_profile(column, counts) -> None:
        columns.append(profile_column(read.rows[column.name], column, dictionary, counts))

    validation = validate_table(read, dictionary, add_profile)
    findings = apply_rule_policy(concat_findings([read.findings, validation.findings]), policy)
    profile = {"rows": len(read.rows), "columns": columns}
    return ValidatedTable(read, findings, validation.typed, profile)


def combine_application(
    name: str,
    dictionary: Dictionary,
    tables: dict[str, ValidatedTable],
    policy: dict | None = None,
) -> ValidatedApplication:
    """Check keys between the tables of an application and keep the accepted rows.

    The tables of the result follow the dictionary's order, whatever the order of `tables`
    (Dagster passes them by asset name), so that every run summary lists them the same way.
    """
    tables = {name: tables[name] for name in dictionary.tables if name in tables} | tables
    reads = {table_name: table.read for table_name, table in tables.items()}
    found = [table.findings for table in tables.values()]
    found.append(check_foreign_keys(reads, dictionary))
    typed = {table_name: table.typed for table_name, table in tables.items()}
    files = {table_name: table.read.path.name for table_name, table in tables.items()}
    found.append(check_plausibility(name, dictionary, typed, files))
    findings = apply_rule_policy(concat_findings(found), policy)

    errors = findings[findings["severity"] == ERROR]
    accepted_tables = {}
    for table_name, table in tables.items():
        bad_lines = set(errors.loc[errors["table"] == table_name, "line"])
        rows = table.typed
        accepted = rows[~rows[LINE_COLUMN].isin(bad_lines)]
        accepted_tables[table_name] = SourceTable(
            name, table_name, table.read.path.name, accepted, table.read.table.primary_key
        )
    profiles = {table_name: table.profile for table_name, table in tables.items()}
    logger.info("validated %s: %d findings, %d errors", name, len(findings), len(errors))
    return ValidatedApplication(name, dictionary, reads, findings, accepted_tables, profiles)


def validate_application(
    name: str, dictionary: Dictionary, reads: dict[str, TableRead], policy: dict | None = None
) -> ValidatedApplication:
    """Validate and profile every table; keep the accepted rows, converted, for mapping."""
    tables = {
        table_name: validate_one_table(read, dictionary, policy)
        for table_name, read in reads.items()
    }
    return combine_application(name, dictionary, tables, policy)


def validate_application_staged(
    name: str,
    folder: Path,
    dictionary: Dictionary,
    stage_folder: Path,
    replacements: dict[str, Path] | None = None,
    policy: dict | None = None,
) -> ValidatedApplication | None:
    """Read and validate an application READ_CHUNK_ROWS rows at a time, staging its accepted
    rows, so that memory does not follow the size of its tables.

    Each chunk of a table is read, validated and profiled, then its accepted rows go to a file
    in the private folder `stage_folder`, which mapping reads back, and its raw rows keep the
    rejected ones only. What the checks need across chunks and tables is kept apart:
    - the profile counts of each column (`ColumnCounts`);
    - the keys of the rows checked so far, for repeated keys (`RepeatedKeys`);
    - the keys of each referenced table, for the foreign keys (`KeySet`), so the referenced
      tables go first;
    - the key and birth date columns of a table whose birth dates other tables check.
    The keys are 128-bit hashes. The findings, profiles and accepted rows are those of
    `read_application` and `validate_application`, in the same order.

    A table whose foreign key references the table itself is read whole. Returns None when
    the dictionary's foreign keys form a cycle, which leaves no table to take first; the
    caller then validates the application whole.
    """
    tables = validate_tables_staged(name, folder, dictionary, stage_folder, replacements, policy)
    if tables is None:
        return None
    return combine_staged_tables(name, dictionary, tables, policy)


@dataclass
class StagedTable:
    """One table validated in chunks by `validate_tables_staged`, its accepted rows in files.

    `read` keeps the raw text of the table's rejected rows only. The foreign key and
    plausibility findings are those the table's rows raised, before the rule policy, which
    `combine_staged_tables` applies to the application's findings.
    """

    read: TableRead
    findings: pd.DataFrame  # the table's own checks, with the rule policy
    foreign_keys: pd.DataFrame
    plausibility: pd.DataFrame
    profile: dict
    source: SourceTable  # the accepted rows, converted and staged


def validate_tables_staged(
    name: str,
    folder: Path,
    dictionary: Dictionary,
    stage_folder: Path,
    replacements: dict[str, Path] | None = None,
    policy: dict | None = None,
) -> dict[str, StagedTable] | None:
    """Validate the tables of an application as `validate_application_staged` does, and return
    each table's result in the dictionary's order, or None when the foreign keys form a cycle.

    A Dagster step that hands each table to an asset of its own calls this, and
    `combine_staged_tables` puts the tables together again.
    """
    order = parents_first(dictionary)
    if order is None:
        return None
    replacements = replacements or {}
    known: dict[tuple[str, tuple[str, ...]], KeySet] = {}
    birth_columns: dict[str, pd.DataFrame] = {}
    staged: dict[str, StagedTable] = {}
    stage = FrameStage(stage_folder, f"source-{name}")
    needs = _cross_table_needs(dictionary)
    birth_lookups: dict = {}  # built once per referenced table, for every chunk
    for table_name in order:
        table = dictionary.tables[table_name]
        path = replacements.get(table.file, folder / table.file)
        checks = _ChunkedTable(name, table, dictionary, policy, needs, birth_lookups)
        for read in read_table_chunks(name, table, path, checks.rows_per_chunk):
            accepted = checks.add(read, known, birth_columns)
            if len(accepted):
                checks.parts.append(stage(table_name, accepted))
            del read, accepted
        own, (foreign, plausible) = checks.findings()
        known.update(checks.keys())
        if table_name in needs.columns:
            birth_columns[table_name] = checks.birth_columns()
        source = SourceTable(
            name,
            table_name,
            path.name,
            checks.columns,
            table.primary_key,
            staged=TableRows(list(checks.columns.columns), checks.parts),
        )
        staged[table_name] = StagedTable(
            checks.read(), own, foreign, plausible, checks.profile(), source
        )
    return {table_name: staged[table_name] for table_name in dictionary.tables}


def combine_staged_tables(
    name: str,
    dictionary: Dictionary,
    tables: dict[str, StagedTable],
    policy: dict | None = None,
) -> ValidatedApplication:
    """Put the tables of `validate_tables_staged` together into their application.

    The findings follow the order of `combine_application`: each table's own findings, then
    the foreign key findings of every table, then the plausibility findings, the tables in
    the dictionary's order.
    """
    ordered = [table_name for table_name in dictionary.tables if table_name in tables]
    found = [tables[table_name].findings for table_name in ordered]
    found += [tables[table_name].foreign_keys for table_name in ordered]
    found += [tables[table_name].plausibility for table_name in ordered]
    findings = apply_rule_policy(concat_findings(found), policy)
    errors = int((findings["severity"] == ERROR).sum())
    logger.info("validated %s: %d findings, %d errors", name, len(findings), errors)
    return ValidatedApplication(
        name,
        dictionary,
        {table_name: tables[table_name].read for table_name in ordered},
        findings,
        {table_name: tables[table_name].source for table_name in ordered},
        {table_name: tables[table_name].profile for table_name in ordered},
    )


# Records read, validated and staged at a time by `validate_application_staged`.
READ_CHUNK_ROWS = 100_000


@dataclass
class _CrossTableNeeds:
    """The columns of each table that other tables' checks read once the table is freed."""

    keys: dict[str, set[tuple[str, ...]]]  # table -> referenced column sets
    columns: dict[str, set[str]]  # table -> key and birth date columns


def _cross_table_needs(dictionary: Dictionary) -> _CrossTableNeeds:
    keys: dict[str, set[tuple[str, ...]]] = {}
    columns: dict[str, set[str]] = {}
    for table in dictionary.tables.values():
        for key in table.foreign_keys:
            keys.setdefault(key.ref_table, set()).add(tuple(key.ref_columns))
        for check in table.plausibility:
            if check.birth and "." in check.birth:
                ref_table, ref_column = check.birth.split(".", 1)
                key = next(key for key in table.foreign_keys if key.ref_table == ref_table)
                columns.setdefault(ref_table, set()).update([*key.ref_columns, ref_column])
    return _CrossTableNeeds(keys, columns)


class _ChunkedTable:
    """The checks of one table read in chunks, and what they keep from chunk to chunk."""

    def __init__(
        self, application, table, dictionary, policy, needs: _CrossTableNeeds, birth_lookups
    ):
        self.application, self.table, self.dictionary = application, table, dictionary
        self.birth_lookups = birth_lookups
        self.policy = policy
        self.needs = needs
        # A foreign key to the table itself needs all the table's keys before any check.
        self_referenced = any(key.ref_table == table.name for key in table.foreign_keys)
        self.rows_per_chunk = None if self_referenced else READ_CHUNK_ROWS
        self.counts = {column.name: ColumnCounts(column, dictionary) for column in table.columns}
        self.repeated = RepeatedKeys()
        self.own: list[list[pd.DataFrame]] = []  # per section, the frames of every chunk
        self.foreign: list[list[pd.DataFrame]] = []
        self.plausible: list[list[pd.DataFrame]] = []
        self.key_hashes: dict[tuple[str, ...], list[np.ndarray]] = {
            columns: [] for columns in needs.keys.get(table.name, ())
        }
        self.births: list[pd.DataFrame] = []
        self.reads: list[TableRead] = []
        self.parts: list = []
        self.columns = pd.DataFrame()
        self.rows = 0

    def add(self, read: TableRead, known, birth_columns) -> pd.DataFrame:
        """Check the next chunk and keep what later chunks and tables need. Return the chunk's
        accepted rows, converted."""
        name = self.table.name

        def count(column, counts) -> None:
            self.counts[column.name].add(len(read.rows), counts)

        validation = validate_table(read, self.dictionary, count, self.repeated)
        own = [read.findings, *validation.sections]
        foreign = foreign_key_sections({name: read}, known)
        typed = {**birth_columns, name: validation.typed}
        files = {name: read.path.name}
        plausible = plausibility_sections(
            self.application, self.dictionary, typed, files, {name}, self.birth_lookups
        )
        for kept, sections in (
            (self.own, own),
            (self.foreign, foreign),
            (self.plausible, plausible),
        ):
            if not kept:
                kept.extend([] for _ in sections)
            for frames, section in zip(kept, sections, strict=True):
                if len(section):
                    frames.append(section)
        for columns, hashes in self.key_hashes.items():
            hashes.append(KeySet.hashes_of(key_values(read.rows, list(columns))))
        if name in self.needs.columns:
            self.births.append(validation.typed[sorted(self.needs.columns[name])])
        found = concat_findings([*own, *foreign, *plausible])
        found = apply_rule_policy(found, self.policy)
        error_lines = set(found.loc[found["severity"] == ERROR, "line"])
        self.reads.append(read.keeping_lines(error_lines))
        self.rows += len(read.rows)
        rows = validation.typed
        self.columns = rows.head(0).copy()
        return rows[~rows[LINE_COLUMN].isin(error_lines)]

    def findings(self) -> tuple[pd.DataFrame, tuple[pd.DataFrame, pd.DataFrame]]:
        """Return the table's own findings, with the rule policy, then its foreign key and
        plausibility findings, each in the order of the whole table."""
        own = concat_findings([frame for frames in self.own for frame in frames])
        foreign = concat_findings([frame for frames in self.foreign for frame in frames])
        plausible = concat_findings([frame for frames in self.plausible for frame in frames])
        return apply_rule_policy(own, self.policy), (foreign, plausible)

    def keys(self) -> dict[tuple[str, tuple[str, ...]], KeySet]:
        return {
            (self.table.name, columns): KeySet.from_hashes(hashes)
            for columns, hashes in self.key_hashes.items()
        }

    def birth_columns(self) -> pd.DataFrame:
        return pd.concat(self.births) if len(self.births) > 1 else self.births[0]

    def read(self) -> TableRead:
        """Put the chunks' reads together: the raw rows kept, the counts and the findings."""
        first = self.reads[0]
        return dataclasses.replace(
            first,
            rows=pd.concat([read.rows for read in self.reads]),
            findings=concat_findings([read.findings for read in self.reads]),
            blocking=[problem for read in self.reads for problem in read.blocking],
            malformed=sum(read.malformed for read in self.reads),
            released=sum(read.released for read in self.reads),
            malformed_text={
                line: text for read in self.reads for line, text in read.malformed_text.items()
            },
        )

    def profile(self) -> dict:
        columns = [self.counts[column.name].profile() for column in self.table.columns]
        return {"rows": self.rows, "columns": columns}


def parents_first(dictionary: Dictionary) -> list[str] | None:
    """Order the tables so that each comes after the tables its foreign keys reference, in
    the dictionary's order otherwise; None when the foreign keys form a cycle."""
    remaining = list(dictionary.tables)
    order: list[str] = []
    while remaining:
        ready = next(
            (
                name
                for name in remaining
                if all(
                    key.ref_table in order
                    or key.ref_table == name
                    or key.ref_table not in dictionary.tables
                    for key in dictionary.tables[name].foreign_keys
                )
            ),
            None,
        )
        if ready is None:
            return None
        order.append(ready)
        remaining.remove(ready)
    return order


def check_extraction_log(
    application, reads: dict[str, TableRead], departement: str | None = None
) -> list[str]:
    """Compare the records read from each file with the count its extraction log announces.

    A file with fewer or more records than the log announces, a log whose batch did not end with
    return code 0, or a log of another département than `departement` (the delivery's) is a
    blocking problem: the delivery is incomplete or misplaced and the MDPH must claim a new one
    within its deadline.
    """
    log = application.log
    if log is None:
        return []
    problems = []
    if departement and log.departement and not same_departement(log.departement, departement):
        problems.append(
            f"{application.name}: the extraction log names département {log.departement}, the "
            f"delivery {departement}; check that the files belong to this MDPH, or claim a new "
            "delivery"
        )
    if log.return_code not in (None, 0):
        problems.append(
            f"{application.name}: the extraction log ends with return code {log.return_code}; "
            "the extraction batch failed, claim a new delivery"
        )
    read_by_file: dict[str, int] = {}
    for read in reads.values():
        if read.path.parent != application.folder:
            continue  # a newer reference file given in place of the delivered one
        read_by_file[read.path.name] = read_by_file.get(read.path.name, 0) + read.read
    for entry in log.tables.values():
        read_count = read_by_file.get(entry.file)
        if read_count is not None and read_count != entry.records:
            problems.append(
                f"{application.name}/{entry.file}: {read_count} records read, the extraction "
                f"log announces {entry.records}; the delivery is incomplete or damaged, claim a "
                "new one (mdph-reprise accept writes the claim)"
            )
    return problems


def map_application(
    validated: ValidatedApplication,
    mapping: MappingFile,
    schema=None,
    stage_folder: Path | None = None,
    release_sources: bool = False,
) -> MappedApplication:
    """Apply an application's mapping file to its accepted rows.

    With a target schema, the rows with values the target would refuse are rejected too. With
    `stage_folder` (a private folder), each mapped frame is written there as soon as it is
    mapped, so the mapped rows of a whole application are never in memory at once. The frames
    of the result are then `StagedFrame` objects, which assembly reads back.

    With `stage_folder` or `release_sources`, each source table's rows are freed as soon as
    every target that reads it is mapped: its converted rows leave `validated.tables`, and its
    raw rows keep the rejected ones only.
    """
    if stage_folder is None and not release_sources:
        mapped = apply_mapping(mapping, validated.tables, validated.dictionary, schema)
        if schema is not None:
            reject_refused_values(mapped, schema)
        return mapped

    def keep_rejected_raw_rows(name: str, mapping_rejects: pd.DataFrame) -> None:
        # Every target of table `name` is mapped: its raw rows are needed for its rejects only.
        lines = set(mapping_rejects["source_line"])
        errors = validated.rejected_lines()
        lines.update(errors.loc[errors["source_table"] == name, "source_line"])
        validated.reads[name] = validated.reads[name].keeping_lines(lines)

    stage = None
    if stage_folder is not None:
        stage = FrameStage(stage_folder, f"mapped-{mapping.application}")
    parts = map_targets(
        mapping,
        validated.tables,
        schema,
        stage,
        keep_rejected_raw_rows,
        refuse=_refused_values_finder(schema),
    )
    return _finish_mapping(
        validated, mapping, schema, parts, dropped_table_filters(mapping, validated.tables)
    )


@dataclass
class MappingShare:
    """The targets one process mapped of an application's mapping (see `map_share`)."""

    parts: list[TargetPart]
    dropped: list[pd.DataFrame]  # filter records of the tables the mapping drops


def map_share(
    validated: ValidatedApplication,
    mapping: MappingFile,
    schema,
    stage_folder: Path,
    positions: list[int],
    number: int,
) -> MappingShare:
    """Map the targets at `positions` of an application's staged rows, one share of the
    targets of `target_shares`, while another process maps the other share.

    The mapped frames are staged in `stage_folder` under a name of their own (`number`). The
    source tables stay as they are, since the other share reads them too: `combine_shares`
    deletes their staged rows. Share 0 also makes the filter records of the dropped tables.
    """
    stage = FrameStage(stage_folder, f"mapped-{mapping.application}-{number}")
    parts = map_targets(
        mapping,
        validated.tables,
        schema,
        stage,
        refuse=_refused_values_finder(schema),
        positions=positions,
    )
    dropped = dropped_table_filters(mapping, validated.tables) if number == 0 else []
    return MappingShare(parts, dropped)


def combine_shares(
    validated: ValidatedApplication, mapping: MappingFile, schema, shares: list[MappingShare]
) -> MappedApplication:
    """Put the shares of an application's mapping together, as `map_application` would have
    mapped them in one process, and delete the staged rows of its source tables."""
    parts = [part for share in shares for part in share.parts]
    dropped = [frame for share in shares for frame in share.dropped]
    return _finish_mapping(validated, mapping, schema, parts, dropped)


def _refused_values_finder(schema):
    """Return the function that gives the rows of a mapped frame whose values the target
    would refuse, or None without a target schema."""
    if schema is None:
        return None

    def refused(name: str, frame: pd.DataFrame) -> pd.DataFrame | None:
        if name in schema.tables and not frame.empty:
            return refused_rows(name, frame, schema)
        return None

    return refused


def _finish_mapping(
    validated: ValidatedApplication,
    mapping: MappingFile,
    schema,
    parts: list[TargetPart],
    dropped: list[pd.DataFrame],
) -> MappedApplication:
    mapped = combine_target_parts(mapping, parts, dropped)
    for table in validated.tables.values():
        if table.staged is not None:
            table.staged.discard()  # a table the mapping drops, whose filter records are made
    if schema is not None:
        found: dict[str, list[pd.DataFrame]] = {}
        for part in sorted(parts, key=lambda part: part.position):
            if part.refused:
                found.setdefault(part.target, []).extend(part.refused)
        reject_refused_values(mapped, schema, found)
    return mapped


def release_rows(validated: list[ValidatedApplication], assembly: Assembly) -> None:
    """Free the source rows that later steps no longer need, once the rows are assembled.

    The rejects table still needs the raw text of rejected rows, so those are kept. The other
    raw rows and the converted rows are dropped, because they are already mapped. The counts
    of rows read stay the same.
    """
    for application in validated:
        mine = assembly.rejects[assembly.rejects["application"] == application.name]
        keep_rejected_rows(application, mine)
        application.tables = {}


def keep_rejected_rows(application: ValidatedApplication, mapping_rejects: pd.DataFrame) -> None:
    """Keep the raw text of the rows with an error finding or in `mapping_rejects` only.

    A row that a later step rejects gets its raw text from its file again (see
    `rejects_for_database`), so a run can free the raw rows as soon as an application is
    mapped. The counts of rows read stay the same.
    """
    rejected = application.rejected_lines().groupby("source_table")["source_line"]
    error_lines = rejected.agg(set).to_dict()
    by_table = mapping_rejects.groupby("source_table")["source_line"]
    mapping_lines = {name: set(lines) for name, lines in by_table}
    application.reads = {
        name: read.keeping_lines(error_lines.get(name, set()) | mapping_lines.get(name, set()))
        for name, read in application.reads.items()
    }


def reconcile(validated: list[ValidatedApplication], assembly: Assembly) -> list[dict]:
    """Count, for every source table, rows read, loaded, rejected and filtered.

    Each count is computed from its own records (lineage for loaded, findings and rejects for
    rejected, filter records for filtered), never as a remainder, so a row lost by a bug makes
    the table unreconciled.
    """
    # Sorted arrays, not sets: a set of Python ints per source table took about 70 bytes per
    # lineage row, 0.5 GB for 7.5 million. They are kept as the lineage is assembled, so the
    # lineage rows themselves are not read here.
    loaded_lines = assembly.lineage.source_lines()
    no_lines = np.array([], dtype="int64")
    mapping_rejects = assembly.rejects.groupby(["application", "source_table"])["source_line"]
    mapping_reject_sets = {key: set(lines) for key, lines in mapping_rejects}
    filtered = assembly.filters.groupby(["application", "source_table"])
    filter_sets = {key: group for key, group in filtered}

    counts = []
    for application in validated:
        errors = application.findings[application.findings["severity"] == ERROR]
        for table_name, read in application.reads.items():
            key = (application.name, table_name)
            table_errors = errors[errors["table"] == table_name]
            rejected = set(table_errors["line"]) | mapping_reject_sets.get(key, set())
            rejected_lines = np.fromiter(rejected, dtype="int64", count=len(rejected))
            loaded = loaded_lines.get(key, no_lines)
            loaded = loaded[~np.isin(loaded, rejected_lines)]
            filter_rows = filter_sets.get(key)
            filtered_lines: set[int] = set()
            reasons: dict[str, int] = {}
            if filter_rows is not None:
                accounted = np.concatenate([loaded, rejected_lines])
                remaining = filter_rows[~filter_rows["source_line"].isin(accounted)]
                remaining = remaining.drop_duplicates("source_line")
                filtered_lines = set(remaining["source_line"])
                reasons = remaining["reason"].value_counts().to_dict()
            total = len(loaded) + len(rejected) + len(filtered_lines)
            counts.append(
                {
                    "application": application.name,
                    "table": table_name,
                    "file": read.path.name,
                    "read": read.read,
                    "loaded": len(loaded),
                    "rejected": len(rejected),
                    "filtered": len(filtered_lines),
                    "filter_reasons": [
                        {"reason": reason, "count": int(count)} for reason, count in reasons.items()
                    ],
                    "reconciled": total == read.read,
                }
            )
    return counts


def rejects_for_database(
    run_id: str, validated: list[ValidatedApplication], assembly: Assembly
) -> pd.DataFrame:
    """Build the rows of the rejects table: every error finding and mapping reject."""
    parts = []
    for application in validated:
        errors = application.findings[application.findings["severity"] == ERROR]
        if errors.empty:
            continue
        parts.append(
            pd.DataFrame(
                {
                    "application": errors["application"],
                    "source_table": errors["table"],
                    "source_file": errors["file"],
                    "source_line": errors["line"].astype("int64"),
                    "target_table": None,
                    "rule_id": errors["rule_id"],
                    "severity": ERROR,
                    "column_name": errors["column"],
                    "reason": errors["rule_id"].map(lambda rule: RULES[rule].description),
                }
            )
        )
    if len(assembly.rejects):
        parts.append(assembly.rejects.assign(severity=ERROR))
    if not parts:
        return pd.DataFrame(columns=REJECT_DB_COLUMNS)
    rejects = pd.concat(parts, ignore_index=True)
    raw = _raw_values_of_rejects(validated, rejects)
    rejects["raw_values"] = [
        raw.get((app, table, int(line)))
        for app, table, line in zip(
            rejects["application"], rejects["source_table"], rejects["source_line"], strict=True
        )
    ]
    rejects["run_id"] = run_id
    return rejects[REJECT_DB_COLUMNS]


def filters_for_database(run_id: str, assembly: Assembly) -> pd.DataFrame:
    """Build the rows of the filtered-rows table: the filter records of the source rows that
    no mapping loaded or rejected, which are the rows `reconcile` counts as filtered.

    A source row that one mapping filters and another one loads is loaded, so its filter
    records are left out. A row that several mappings filter keeps one record per mapping.
    """
    filters = assembly.filters
    if filters.empty:
        return pd.DataFrame(columns=FILTER_DB_COLUMNS)
    source_row = ["application", "source_table", "source_line"]
    # Only lineage and reject rows of the tables that have filter records can match, and
    # selecting them first keeps the join small when the lineage is large. The loaded source
    # rows come from the distinct lines that the lineage keeps per source table.
    tables = set(filters["source_table"])
    loaded = [
        pd.DataFrame(
            {"application": application, "source_table": table, "source_line": lines}
        ).astype({"application": object, "source_table": object})
        for (application, table), lines in assembly.lineage.source_lines().items()
        if table in tables
    ]
    rejected = assembly.rejects.loc[assembly.rejects["source_table"].isin(tables), source_row]
    accounted = pd.concat([*loaded, rejected], ignore_index=True)
    accounted = accounted.astype({"source_line": "int64"}).drop_duplicates()
    matched = filters.astype({"source_line": "int64"}).merge(
        accounted, on=source_row, how="left", indicator=True
    )
    rows = matched.loc[matched["_merge"] == "left_only", FILTER_COLUMNS]
    rows = rows.drop_duplicates([*source_row, "target_table", "reason"], ignore_index=True)
    rows.insert(0, "run_id", run_id)
    return rows[FILTER_DB_COLUMNS]


def _raw_values_of_rejects(
    validated: list[ValidatedApplication], rejects: pd.DataFrame
) -> dict[tuple, str]:
    """Return the raw values of each rejected source row as JSON, by (app, table, line).

    A rejected row whose raw text the run released (see `keep_rejected_rows`) is read again
    from its file, which is still in the run's private work folder. A malformed record has no
    column values, so its JSON object has one key, `RAW_TEXT_KEY`, with the record's text.
    """
    raw = {}
    for application in validated:
        for table_name, read in application.reads.items():
            mine = rejects[
                (rejects["application"] == application.name)
                & (rejects["source_table"] == table_name)
            ]
            if mine.empty:
                continue
            wanted = set(mine["source_line"].astype("int64"))
            rows = read.rows[read.rows[LINE_COLUMN].isin(wanted)]
            # A malformed record has a reading finding and never had a raw row to find.
            missing = wanted - set(rows[LINE_COLUMN]) - set(read.findings["line"])
            if missing and read.released:
                rows = pd.concat([rows, _read_again(read, missing)], ignore_index=True)
            columns = read.table.column_names
            for values in rows[[*columns, LINE_COLUMN]].itertuples(index=False, name=None):
                raw[(application.name, table_name, int(values[-1]))] = json.dumps(
                    dict(zip(columns, values[:-1], strict=True)), ensure_ascii=False
                )
            for line in wanted & read.malformed_text.keys():
                raw[(application.name, table_name, line)] = json.dumps(
                    {RAW_TEXT_KEY: read.malformed_text[line]}, ensure_ascii=False
                )
    return raw


def _read_again(read: TableRead, lines: set[int]) -> pd.DataFrame:
    """Read the raw rows at `lines` of a table from its file again.

    A file that is not found (a work folder removed before the rejects were written) gives no
    rows, and its rejects keep no raw values. A warning gives their count.
    """
    if not read.path.is_file():
        logger.warning(
            "%s: file not found, so %d rejected rows of %s.%s are written without raw values",
            read.path.name,
            len(lines),
            read.application,
            read.table.name,
        )
        return read.rows.iloc[0:0]
    logger.info("%s: read again for the raw values of %d rejected rows", read.path.name, len(lines))
    return read_table(read.application, read.table, read.path, lines).rows


def table_findings_summary(
    application: ValidatedApplication, assembly: Assembly, schema=None
) -> dict:
    """Findings per table and rule, with a few examples whose personal values are masked.

    The examples of a mapping reject name the target table and column, and give the reason and
    the refused value (`value_kept` is false for the rules whose value is not kept). With the
    target `schema`, the value of a personal target column is masked. Without it, every value
    of a mapping reject is.
    """
    summary: dict[str, list[dict]] = {}
    findings = application.findings
    for (table_name, rule_id), group in findings.groupby(["table", "rule_id"], sort=True):
        table = application.dictionary.tables[table_name]
        examples = []
        for row in group.head(EXAMPLES_PER_RULE).itertuples():
            value = row.value
            # A detail names no value of the row, so it is never masked.
            if rule_id not in DETAIL_RULES and _is_personal(table, row.column):
                value = mask_nir(value) if _is_nir(table, row.column) else mask_value(value)
            examples.append({"line": int(row.line), "column": row.column, "value": value})
        summary.setdefault(table_name, []).append(
            {
                "rule_id": rule_id,
                "severity": str(group["severity"].iloc[0]),
                "count": len(group),
                "examples": examples,
            }
        )
    rejects = assembly.rejects[assembly.rejects["application"] == application.name]
    for (table_name, rule_id), group in rejects.groupby(["source_table", "rule_id"], sort=True):
        summary.setdefault(table_name, []).append(
            {
                "rule_id": rule_id,
                "severity": ERROR,
                "count": int(group["source_line"].nunique()),
                "examples": [
                    _reject_example(row, schema)
                    for row in group.head(EXAMPLES_PER_RULE).itertuples()
                ],
            }
        )
    return summary


# Mapping rules whose reject keeps the target value: the refused value, the missing parent key,
# or the empty value of a required column. The others reject a row before a value exists.
_RULES_WITH_VALUE = ("mapping.target_value", "mapping.parent_missing", "mapping.required")


def _reject_example(row, schema) -> dict:
    """Describe one mapping reject: line, target column, reason and value (masked if personal)."""
    column = row.column_name if isinstance(row.column_name, str) else None
    target = row.target_table if isinstance(row.target_table, str) else None
    personal = _is_personal_target(schema, target, column)
    value = getattr(row, "value", None)
    if value is not None and pd.isna(value) is True:
        value = None
    if value is not None:
        value = mask_value(value) if personal else str(value)
    return {
        "line": int(row.source_line),
        "target_table": target,
        "column": column,
        "reason": row.reason if isinstance(row.reason, str) else None,
        "value": value,
        "value_kept": row.rule_id in _RULES_WITH_VALUE,
        "personal": personal,
    }


def _is_personal_target(schema, table_name: str | None, column_names: str | None) -> bool:
    """Return whether a target column (or one of several, joined by ', ') is personal.

    An unknown table or column counts as personal, so its value is masked.
    """
    if not column_names:
        return False
    if schema is None or table_name not in schema.tables:
        return True
    table = schema.tables[table_name]
    names = column_names.split(", ")
    return any(name not in table.column_names or table.column(name).personal for name in names)


def _is_nir(table, column_name: str | None) -> bool:
    """Return whether a column of a source table (not several joined by ', ') is a NIR."""
    if column_name not in table.column_names:
        return False
    return table.column(column_name).identifier == "nir"


def _is_personal(table, column_names: str | None) -> bool:
    if not column_names:
        return False
    for name in column_names.split(", "):
        if name in table.column_names and table.column(name).personal:
            return True
    return False
