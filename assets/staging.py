"""The private stage folder where the steps of a Dagster run keep rows between steps.

The steps hand each other small values through the IO manager: findings, counts and the paths
of staged files. The rows themselves stay in files, as in `mdph-reprise run`, in one folder per
run and partition under the Dagster storage folder:

    <storage>/stage/<run id>-<partition>/
        itac/plaintext/ITAC/...      decrypted files, read again for the raw text of rejects
        itac/source-ITAC-*.pickle    accepted rows of each table, by chunk
        itac/rejected-ITAC-*.pickle  raw text of the rows that validation rejected
        itac-mapped/                 mapped frames
        assembled/                   assembled rows and lineage, which the load reads

A re-execution of a run uses the folder of the run it repeats (its root run), where the files
of the steps that it does not run again are. So mapping and assembly read their input files
without deleting them (`keeping_source_files`, `keeping_mapped_files`): a re-execution from a
failure of either step finds them all. The load deletes the folder once it has written its
rows and rejects, or when it fails for another reason than the removal check. The intake
of a later run deletes the folders of runs that have ended, so a run that failed before its
load leaves its decrypted files until then.
"""

import logging
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import dagster as dg

from migration.delivery.workdir import make_private_dir
from migration.mapping.engine import MappedApplication
from migration.mapping.staging import FrameStage, KeptFrame, StagedFrame
from migration.steps import StagedTable, ValidatedApplication, ValidatedTable

STAGE_FOLDER = "stage"
PLAINTEXT_FOLDER = "plaintext"
ASSEMBLED_FOLDER = "assembled"


@dataclass
class SourceTableValue:
    """The value of a source table asset: findings, profile, counts and staged references.

    A `StagedTable` keeps its accepted rows in files and the raw text of its rejected rows in
    `rejected_rows`, so the value contains none of the table's rows. A `ValidatedTable` comes
    from the whole-table path of an application whose foreign keys form a cycle, and contains
    them all.
    """

    table: StagedTable | ValidatedTable
    stage_folder: Path
    rejected_rows: StagedFrame | None = None

    @classmethod
    def staged(cls, table: StagedTable, stage_folder: Path, stage: FrameStage):
        """Move the raw text of the table's rejected rows to a file of `stage`."""
        read = table.read
        rejected = stage(read.table.name, read.rows)
        # The counts of the read stay: its rows are only moved to a file.
        emptied = replace(table, read=replace(read, rows=read.rows.head(0).copy()))
        return cls(emptied, stage_folder, rejected)

    def restored(self) -> StagedTable | ValidatedTable:
        """Return the table with the raw text of its rejected rows read back from their file."""
        if self.rejected_rows is None:
            return self.table
        read = replace(self.table.read, rows=self.rejected_rows.read())
        return replace(self.table, read=read)


def keeping_source_files(application: ValidatedApplication) -> ValidatedApplication:
    """Make the staged source tables of `application` keep their files once mapping has read
    them, and return it.

    Mapping still frees each table's rows from memory once its targets are mapped, but a
    re-execution from a failure of the mapping step reads the same files again.
    """
    application.tables = {
        name: table if table.staged is None else replace(table, staged=table.staged.keeping_files())
        for name, table in application.tables.items()
    }
    return application


def keeping_mapped_files(mapped: MappedApplication) -> MappedApplication:
    """Make the staged frames of `mapped` keep their files once assembly has read them, and
    return it, so that a re-execution from a failure of assembly reads the same files again."""
    mapped.frames = {
        target: [
            KeptFrame(frame.path, frame.rows) if isinstance(frame, StagedFrame) else frame
            for frame in frames
        ]
        for target, frames in mapped.frames.items()
    }
    return mapped


def run_stage_folder(storage: Path, context: dg.AssetExecutionContext) -> Path:
    """Create (mode 0700) and return the stage folder of the run and partition of `context`.

    A re-execution gets the folder of its root run.
    """
    run = context.run
    run_id = run.root_run_id or run.run_id
    # A two-dimension partition key such as OPALES|057 becomes OPALES-057.
    partition = re.sub(r"[^A-Za-z0-9_-]", "-", str(context.partition_key))
    parent = make_private_dir(storage / STAGE_FOLDER)
    return make_private_dir(parent / f"{run_id}-{partition}")


# Run ids are UUIDs: 36 characters, then "-" and the partition in a folder's name.
RUN_ID_LENGTH = 36
# The runs whose stage folder may still be read: waiting, starting, running or stopping.
_RUNS_IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.MANAGED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def remove_ended_stage_folders(
    storage: Path, instance: dg.DagsterInstance, current: dg.DagsterRun, log: logging.Logger
) -> None:
    """Delete the stage folders of the runs that have ended, unless a run in progress
    re-executes them.

    A run that fails before its load keeps its stage folder, decrypted files included, for a
    re-execution. The intake of the next run deletes it, as `mdph-reprise run` deletes the work
    folders of interrupted runs, so a failed run can no longer be re-executed after that. A
    folder whose run the Dagster instance does not know is left, with a warning, and so is the
    folder of another run that the instance lists as in progress. A run killed without Dagster
    knowing, by SIGKILL or a power cut, stays listed as started.
    """
    # Without DAGSTER_HOME, `dagster job execute` keeps its runs in a temporary folder that
    # it deletes when it ends, and `dg.materialize` keeps them in memory.
    if instance.is_ephemeral or not os.environ.get("DAGSTER_HOME"):
        log.warning(
            "DAGSTER_HOME is not set, so this Dagster instance forgets its runs: a failed run "
            "cannot be re-executed, and no later run can tell that its stage folder, with "
            "decrypted files, is no longer in use, so the folder stays. Set DAGSTER_HOME to a "
            "private folder (mode 0700)"
        )
    parent = storage / STAGE_FOLDER
    if not parent.is_dir():
        return
    running = instance.get_runs(filters=dg.RunsFilter(statuses=_RUNS_IN_PROGRESS))
    in_use = {run.run_id for run in running} | {run.root_run_id for run in running}
    for folder in sorted(parent.iterdir()):
        run_id = folder.name[:RUN_ID_LENGTH]
        if run_id in (current.run_id, current.root_run_id):
            continue
        if run_id in in_use:
            log.warning(
                "stage folder %s, with decrypted files, belongs to run %s, which Dagster lists "
                "as in progress. If that run no longer runs (its process was killed), terminate "
                "it in the Dagster UI, and the next run deletes the folder",
                folder,
                run_id,
            )
            continue
        run = instance.get_run_by_id(run_id)
        if run is None:
            log.warning(
                "stage folder %s belongs to no run of this Dagster instance, so it was left; "
                "delete it by hand once no run of another instance uses it",
                folder,
            )
        elif run.is_finished:
            remove_stage_folders([folder], log)


def fresh_private_dir(path: Path) -> Path:
    """Create `path` as an empty private folder, removing what an earlier attempt left in it.

    A step that runs again in a re-execution writes its files anew, and the files of its
    failed attempt would collide with them.
    """
    if path.exists():
        shutil.rmtree(path)
    return make_private_dir(path)


def require_stage_folders(folders: Iterable[Path], step: str, run: dg.DagsterRun) -> None:
    """Raise dg.Failure when a stage folder that the inputs of `step` refer to is missing, or
    belongs to another run than the one that `run` re-executes.

    The IO manager keeps one value per asset and partition, so once another run of the same
    partition has materialised an asset, a re-execution of an earlier run would read that run's
    values and files. A run that re-executes nothing takes the latest values, as Dagster does
    for a selection of assets.
    """
    folders = [Path(folder) for folder in folders]
    if run.root_run_id is not None:
        others = sorted({folder.name[:RUN_ID_LENGTH] for folder in folders} - {run.root_run_id})
        if others:
            raise dg.Failure(
                f"{step}: this run re-executes run {run.root_run_id}, but its inputs are the "
                f"values of run {', '.join(others)}, which materialised the same partition "
                "since. Dagster keeps one value per asset and partition, so the values of run "
                f"{run.root_run_id} are gone; launch the job again instead of re-executing it"
            )
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if missing:
        raise dg.Failure(
            f"{step}: the stage folder {', '.join(missing)} of its inputs is missing, because a "
            "load or a failed step removed it, or it was deleted by hand; materialise the job "
            "again from the source table assets"
        )


def remove_stage_folders(folders: Iterable[Path], log: logging.Logger) -> None:
    """Delete the stage folders, decrypted files included; log each one removed or not."""
    for folder in folders:
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            continue
        except OSError as error:
            log.warning("stage folder %s was not removed: %s; delete it by hand", folder, error)
        else:
            log.info("stage folder %s removed", folder)
