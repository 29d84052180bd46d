"""A whole migration run: intake, reading, validation, mapping, loading and reports.

`run_migration` chains the steps of `migration.steps` for the CLI; the Dagster assets call the
same steps one asset at a time.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import multiprocessing
import multiprocessing.pool
import os
import pickle
import queue
import secrets
import signal
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from migration import __version__
from migration.delivery.config import CONFIG_NAME, check_delivery_folder
from migration.delivery.intake import Delivery, open_delivery
from migration.delivery.workdir import (
    PrivateWorkdir,
    open_private_file,
    remove_abandoned_workdirs,
)
from migration.dictionary.model import load_dictionary
from migration.errors import MdphRepriseError, ProcessEndedError
from migration.identity.decisions import read_identity_decisions
from migration.identity.existing import read_existing_individuals
from migration.lineage.openlineage import EVENTS_FILE, emit_run_events
from migration.lineage.run_record import finish_run, schema_sha256
from migration.mapping.assemble import Assembly, assemble
from migration.mapping.checks import check_mapping
from migration.mapping.engine import target_shares
from migration.mapping.language import MappingFile, load_mapping, load_named_dictionary
from migration.mapping.staging import TableRows
from migration.steps import (
    DEFAULT_MAPPINGS,
    ValidatedApplication,
    check_extraction_log,
    combine_shares,
    filters_for_database,
    keep_rejected_rows,
    map_application,
    map_share,
    read_application,
    reconcile,
    rejects_for_database,
    release_rows,
    table_findings_summary,
    validate_application,
    validate_application_staged,
)
from migration.target.changes import CHANGE_KINDS
from migration.target.compare import compare_database
from migration.target.engine import create_target_engine, describe_url
from migration.target.errors import TargetError, TooManyRemovalsError
from migration.target.load import load_run
from migration.target.privileges import check_write_privileges
from migration.target.schema import TargetSchema, load_target_schema
from migration.validation.rules import relaxed_rules, rule_catalogue

logger = logging.getLogger(__name__)

Progress = Callable[[str, str], None]
STATUS_SUCCESS = "success"
STATUS_UNRECONCILED = "reconciliation_failed"
STATUS_BLOCKED = "blocked"
# The load stopped because it would remove more than MAX_REMOVED_SHARE of the target's rows,
# or of one large table's rows.
STATUS_REMOVALS_REJECTED = "removals_rejected"
# A redelivery changes or removes a few rows. A load that removes more than this share of the
# target's rows, or of one large table's, most likely runs against the wrong database, so it
# needs --allow-removals.
MAX_REMOVED_SHARE = 0.5
# Ctrl-C and SIGTERM, which stop a run.
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
# Interval, in seconds, at which a pool worker checks that the run that forked it is alive.
_PARENT_CHECK_SECONDS = 0.2
# Processes that map the targets of one application side by side.
_MAPPING_SHARES = 2


@dataclass
class RunOptions:
    """Options of a run: delivery, target, reports and overrides; the password comes apart."""

    delivery: Path
    target_url: str
    reports_dir: Path
    mappings: dict[str, Path] = field(default_factory=dict)
    dictionaries: dict[str, str] = field(default_factory=dict)
    workdir_parent: Path | None = None
    keep_plaintext: bool = False
    language: str = "fr"
    show_personal_data: bool = False
    references: dict[str, Path] = field(default_factory=dict)
    workers: int = 1  # processes that read, validate and map the applications
    # False stops a load that would remove more than MAX_REMOVED_SHARE of the target's rows or
    # of one large table's rows.
    allow_removals: bool = False


@dataclass
class RunOutcome:
    """The result of a run: its status, summary and where the reports are."""

    status: str
    summary: dict
    reports: dict[str, Path]

    @property
    def succeeded(self) -> bool:
        return self.status == STATUS_SUCCESS


def default_workers() -> int:
    """Return the CLI's default number of worker processes: one per application, ITAC and
    OPALES, when this process may use two cores or more, else 1.

    Each worker reads its tables in chunks, so a second worker adds little to the memory of a
    large delivery's run, and saves the time of the shorter application.
    """
    return min(len(DEFAULT_MAPPINGS), len(os.sched_getaffinity(0)))


def new_run_id(now: datetime.datetime | None = None) -> str:
    """Return a run id: the UTC start time and 6 random hex digits."""
    now = now or datetime.datetime.now(datetime.UTC)
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def run_migration(
    options: RunOptions, password: str, progress: Progress | None = None
) -> RunOutcome:
    """Run the whole migration of a delivery into the target database.

    A blocked run, a reconciliation gap and a load stopped by the removal check load nothing.
    They still write the reports and return their status.

    Raises:
        MdphRepriseError: input that cannot be processed (wrong password, missing file,
            invalid mapping, unreachable target); nothing is loaded then.
    """
    started = datetime.datetime.now(datetime.UTC)
    run_id = new_run_id(started)
    try:
        with ExitStack() as stack:
            return _run_steps(options, password, progress, started, run_id, stack)
    except MdphRepriseError as error:
        _emit_failure(options, run_id, started, error)
        raise


def _emit_failure(options: RunOptions, run_id: str, started, error: Exception) -> None:
    """Write the OpenLineage FAIL event of a run that stopped on bad input.

    A report folder that is a file gets no event: the error of the run names that problem.
    """
    if options.reports_dir.exists() and not options.reports_dir.is_dir():
        return
    summary = {
        "run_id": run_id,
        "started_at": started.isoformat(timespec="seconds"),
        "status": "failed",
        "target": describe_url(options.target_url),
    }
    try:
        emit_run_events(summary, options.reports_dir / EVENTS_FILE, error=error)
    except MdphRepriseError as failure:
        logger.warning("run %s: the OpenLineage FAIL event was not written: %s", run_id, failure)


def _run_steps(
    options: RunOptions, password: str, progress, started, run_id: str, stack: ExitStack
) -> RunOutcome:
    say = progress or (lambda step, message: None)
    schema = load_target_schema()
    _check_overrides(options)
    _check_references(options)
    # A missing delivery is reported before anything is created: reports folder or database.
    check_delivery_folder(Path(options.delivery))
    _check_reports_folder(options.reports_dir)
    # The mappings go first, so an invalid one leaves no empty database file behind it.
    mappings_checked = _check_mappings(options, schema)
    sqlite_file = create_private_sqlite_file(options.target_url)
    engine = create_target_engine(options.target_url)
    check_target_schema(engine, schema)
    say("target", f"target database reachable: {describe_url(options.target_url)}")
    # The applications may be read in forked processes, which must not share a connection.
    engine.dispose()
    try:
        for folder in remove_abandoned_workdirs(options.workdir_parent):
            say("intake", f"removed {folder}: decrypted files left by an interrupted run")
        # The decrypted files stay until the run ends: a row that assembly rejects gets its
        # raw text for the rejects table from its file, since the workers keep only the raw
        # text of the rows they reject.
        workdir = stack.enter_context(
            PrivateWorkdir(parent=options.workdir_parent, keep=options.keep_plaintext)
        )
        pools = stack.enter_context(_worker_pools(options.workers))
        delivery, validated, mapped, mappings, delivery_problems = _read_delivery(
            options, password, mappings_checked, schema, say, workdir, pools.workers
        )
        pools.end_workers()
    except BaseException:
        # A run stopped before loading leaves no empty database file behind it.
        engine.dispose()
        if sqlite_file is not None and sqlite_file.exists() and sqlite_file.stat().st_size == 0:
            sqlite_file.unlink()
        raise

    rejected = _concat_rejected(validated)
    missing = sorted(set(DEFAULT_MAPPINGS) - {result.name for result in validated})
    assembly = assemble(
        mapped,
        schema,
        rejected,
        read_identity_decisions(engine),
        read_existing_individuals(engine, missing),
        release_mapped=True,
        stage_folder=workdir.path,
        helper=None if pools.helper is None else pools.helper.apply_async,
    )
    del mapped
    release_rows(validated, assembly)
    mapped_rows = sum(len(frame) for frame in assembly.frames.values())
    filled = sum(1 for frame in assembly.frames.values() if len(frame))
    say("mapping", f"{mapped_rows} target rows in {filled} tables")
    counts = reconcile(validated, assembly)
    blocking = delivery_problems + [p for result in validated for p in result.blocking]
    status = STATUS_SUCCESS
    if blocking:
        status = STATUS_BLOCKED
    elif not all(table["reconciled"] for table in counts):
        status = STATUS_UNRECONCILED

    summary = build_summary(
        run_id=run_id,
        started=started,
        delivery_path=options.delivery,
        inventory=delivery_inventory(delivery),
        target_url=options.target_url,
        schema=schema,
        validated=validated,
        mappings=mappings,
        assembly=assembly,
        counts=counts,
        status=status,
        blocking=blocking,
    )
    load_error = None
    if status == STATUS_SUCCESS:
        try:
            _load(engine, schema, run_id, validated, assembly, summary, options, say, pools)
        except TooManyRemovalsError as error:
            # The load rolled back. The reports show what it would have loaded, and why not.
            load_error = error
            status = STATUS_REMOVALS_REJECTED
            summary["status"] = status
            summary["load_error"] = str(error)
        except BaseException:
            if sqlite_file is not None:
                # The run created the file, so it contains nothing but this failed load. On a
                # full disk SQLite may leave rows of the rolled-back transaction in it, with a
                # journal, until the next connection opens it.
                engine.dispose()
                _remove_sqlite_file(sqlite_file)
            raise
    pools.end_helper()
    if status != STATUS_SUCCESS:
        _mark_not_loaded(summary)
        # Nothing reads the staged rows and lineage parts of a run that loads nothing.
        _discard_staged(assembly)
    summary["finished_at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    summary["target_schema"]["sha256"] = schema_sha256(schema)
    if status == STATUS_SUCCESS:
        finish_run(engine, summary, schema)
    # The events go first, so the report can link their file.
    emit_run_events(summary, options.reports_dir / EVENTS_FILE, schema=schema, error=load_error)

    from migration.reports.report import write_reports

    reports = write_reports(
        summary,
        options.reports_dir,
        language=options.language,
        engine=engine,
        schema=schema,
        mask_personal=not options.show_personal_data,
    )
    say("reports", f"report written to {reports['html']}")
    return RunOutcome(status, summary, reports)


def check_target_schema(engine: sa.Engine, schema: TargetSchema) -> None:
    """Raise TargetError at once when the target database cannot take the load.

    An existing target database must match the target schema, and a PostgreSQL role must have
    the privileges that the load uses. The load compares the schema again inside its
    transaction. Checking both first saves reading a large delivery for nothing, so the CLI
    and the Dagster intake call this before decrypting anything.
    """
    existing = set(sa.inspect(engine).get_table_names())
    present = [name for name in schema.tables if name in existing]
    # Once one target table exists, the others must too: a missing one is a difference.
    problems = compare_database(engine, schema, tables=list(schema.tables)) if present else []
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise TargetError(
            f"the target database {describe_url(engine.url)} does not match target schema "
            f"{schema.name} {schema.version}:\n{listed}\nmigrate the database to the schema, "
            "or load into a new database; nothing was read or loaded"
        )
    check_write_privileges(engine, schema)


def _check_mappings(options: RunOptions, schema) -> dict[str, tuple]:
    """Load and check every mapping and dictionary before decrypting anything.

    A mistake in a mapping is then reported in seconds, not after a long decryption. A
    dictionary that a mapping names gets the message of `mapping check`, which names the
    mapping file and explains how to fix its `dictionary` key.
    """
    checked = {}
    for name, default in DEFAULT_MAPPINGS.items():
        mapping = load_mapping(options.mappings.get(name, default))
        if name in options.dictionaries:
            dictionary = load_dictionary(options.dictionaries[name])
        else:
            dictionary = load_named_dictionary(mapping)
        check_mapping(mapping, dictionary, schema, strict=True)
        checked[name] = (mapping, dictionary)
    return checked


def _check_references(options: RunOptions) -> None:
    for file, path in options.references.items():
        if not Path(path).is_file():
            raise MdphRepriseError(f"{path}: reference file for {file} not found")


def _check_reports_folder(folder: Path) -> None:
    """Create the report folder, or raise MdphRepriseError before anything is decrypted.

    The reports are written after the load has committed, so a folder that cannot take them
    must stop the run before it starts.
    """
    if folder.exists() and not folder.is_dir():
        raise MdphRepriseError(
            f"{folder}: is a file, not a folder; give a folder for the reports (--reports), "
            "nothing was decrypted or loaded"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MdphRepriseError(
            f"{folder}: cannot create the report folder: {error.strerror}; choose another "
            "folder (--reports) or fix the permissions of its parent, nothing was decrypted or "
            "loaded"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MdphRepriseError(
            f"{folder}: the report folder is not writable; choose another folder (--reports) or "
            "fix its permissions, nothing was decrypted or loaded"
        )


def _check_overrides(options: RunOptions) -> None:
    for option, overrides in (
        ("--mapping", options.mappings),
        ("--dictionary", options.dictionaries),
    ):
        unknown = sorted(set(overrides) - set(DEFAULT_MAPPINGS))
        if unknown:
            raise MdphRepriseError(
                f"{option} {', '.join(unknown)}=...: unknown application; use "
                + " or ".join(DEFAULT_MAPPINGS)
            )


def create_private_sqlite_file(url: str) -> Path | None:
    """Create a missing SQLite target file with mode 0600 and return its path, else None.

    The target holds personal data, so a new SQLite file is created with mode 0600 before
    SQLite opens it.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return None  # create_target_engine reports the invalid URL
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    if path.exists() or not path.parent.is_dir():
        return None
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


def _remove_sqlite_file(path: Path) -> None:
    """Delete a SQLite database file and the journal files SQLite keeps beside it."""
    for name in (path.name, f"{path.name}-journal", f"{path.name}-wal", f"{path.name}-shm"):
        (path.parent / name).unlink(missing_ok=True)


def _read_delivery(
    options: RunOptions,
    password: str,
    checked: dict,
    schema,
    say,
    workdir: PrivateWorkdir,
    pool=None,
):
    """Decrypt, read, validate and map every application; return them with delivery problems.

    The applications do not depend on each other until assembly, so with a `pool` of worker
    processes they are processed side by side (see `_process_applications`).
    """
    say("intake", f"decrypting {options.delivery}")
    delivery = open_delivery(options.delivery, password, workdir.path)
    say("intake", _intake_message(delivery))
    for message in rule_policy_messages(delivery.config.get("regles")):
        say("validation", message)
    if options.keep_plaintext:
        say("intake", f"decrypted files kept in {workdir.path}")
    jobs, mappings = [], {}
    for name, application in delivery.applications.items():
        if name not in checked:
            raise MdphRepriseError(
                f"{options.delivery}: application {name} has no mapping; deliver ITAC or OPALES"
            )
        mapping, dictionary = checked[name]
        if name not in options.dictionaries and application.dictionary != mapping.dictionary:
            dictionary = load_dictionary(application.dictionary)
        mappings[name] = mapping
        replacements = {
            file: path
            for file, path in options.references.items()
            if any(table.file == file for table in dictionary.tables.values())
        }
        for file, path in replacements.items():
            say("reading", f"{name}: {file} replaced by {path}")
        policy = delivery.config.get("regles")
        job = (application, dictionary, replacements, policy, mapping, schema)
        jobs.append((*job, delivery.departement))

    def announce(name: str, rows: int, tables: int, findings: int) -> None:
        say("reading", f"{name}: {rows} rows read from {tables} tables")
        say("validation", f"{name}: {findings} findings")

    validated, mapped, problems = [], [], []
    for result, application_mapped, log_problems in _process_applications(
        jobs, pool, workdir.path, announce
    ):
        problems += log_problems
        validated.append(result)
        mapped.append(application_mapped)
    return delivery, validated, mapped, mappings, problems


@dataclass
class _Pools:
    """The forked processes of a run with two workers or more, or None for each.

    `workers` reads, validates and maps the applications. Each of its processes exits once it
    has written a task's result, so its memory is freed, and the pool forks a new one for the
    next task. `helper` is one process that assembles about half of the tables, then
    converts the lineage while the target tables load. Both are
    forked at the start, while the run's memory is small, so no process is forked from a run
    that contains a whole delivery's results.
    """

    workers: multiprocessing.pool.Pool | None = None
    helper: _Helper | None = None

    def end_workers(self) -> None:
        if self.workers is not None:
            _end_pool(self.workers)

    def end_helper(self) -> None:
        if self.helper is not None:
            self.helper.terminate()


class _Helper:
    """A process that runs the functions it is sent, one at a time, and sends back each result.

    Unlike a pool's process, it shares no lock with the run. If it is killed, for example by
    the system for lack of memory, `apply_async(...).get()` raises an error once the process
    has ended without a result, instead of waiting.
    """

    def __init__(self, context) -> None:
        self.connection, child_end = context.Pipe()
        self.process = context.Process(
            target=_serve_helper, args=(child_end, os.getpid()), name="assembly-helper"
        )
        self.process.start()
        child_end.close()

    def apply_async(self, function, args: tuple) -> _HelperResult:
        """Send `function(*args)` to the process; `get` on the result waits for its value."""
        try:
            self.connection.send((function, args))
        except OSError:
            raise self.ended() from None
        return _HelperResult(self)

    def ended(self) -> ProcessEndedError:
        """Return the error of a helper that ended without giving its result."""
        self.process.join(_PARENT_CHECK_SECONDS)
        return ProcessEndedError(
            f"the helper process of assembly and load ended without a result (exit code "
            f"{self.process.exitcode}); the system may have stopped it for lack of memory. "
            "Nothing was loaded; run again, with --workers 1 to use less memory"
        )

    def terminate(self) -> None:
        """End the process and close the pipe; a second call does nothing."""
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join()
        self.connection.close()


@dataclass
class _HelperResult:
    helper: _Helper

    def get(self):
        """Return the value of the function sent, or raise its error."""
        connection, process = self.helper.connection, self.helper.process
        try:
            while not connection.poll(_PARENT_CHECK_SECONDS):
                if not process.is_alive():
                    raise self.helper.ended()
            succeeded, value = connection.recv()
        except (EOFError, OSError):
            raise self.helper.ended() from None
        if not succeeded:
            raise value
        return value


def _serve_helper(connection, parent_pid: int) -> None:
    """Run each function the run sends, until the run closes its end of the pipe."""
    _start_worker(parent_pid)
    while True:
        try:
            function, args = connection.recv()
        except EOFError:
            return
        try:
            result = (True, function(*args))
        except Exception as error:
            result = (False, error)
        connection.send(result)


@contextlib.contextmanager
def _worker_pools(workers: int | None):
    """Give the pool and helper of a run with `workers` worker processes, and end their
    processes on leaving, so an error, Ctrl-C or SIGTERM in the parent does not wait for them.

    The processes are forked, so they start at once with the dictionaries and mappings
    already loaded. With fewer than 2 workers there is neither.
    """
    if (workers or 1) < 2:
        yield _Pools()
        return
    context = multiprocessing.get_context("fork")
    # os.fork runs the at-fork callbacks (logging registers some) as unraisable code, where
    # Python prints and drops any exception, so a stop signal handled there was lost. Blocked
    # while the processes fork, a signal stays pending until the block below unblocks it, and
    # is raised there. The pool's threads inherit the mask, and the workers unblock the
    # signals in their initializer.
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        with ExitStack() as started:
            pools = _Pools(
                workers=context.Pool(
                    processes=workers,
                    initializer=_start_worker,
                    initargs=(os.getpid(),),
                    maxtasksperchild=1,
                )
            )
            started.callback(pools.end_workers)
            pools.helper = _Helper(context)
            started.callback(pools.end_helper)
            ended = started.pop_all()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
        raise
    with ended:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
        yield pools


# Seconds that ending the pool may take before the run releases the lock of its task queue.
# Pool.terminate takes milliseconds, unless a process killed while it waited for a task kept
# that lock, which Pool.terminate waits for.
_POOL_END_SECONDS = 2.0


def _end_pool(pool: multiprocessing.pool.Pool) -> None:
    """Terminate `pool`, even when a killed process kept the lock of its task queue."""
    ending = threading.Thread(target=pool.terminate, name="pool-end", daemon=True)
    ending.start()
    ending.join(_POOL_END_SECONDS)
    if ending.is_alive():
        _unlock_task_queue(pool)
        ending.join()


def _unlock_task_queue(pool: multiprocessing.pool.Pool) -> None:
    """Release the lock of the pool's task queue that a killed process kept, so that
    `Pool.terminate`, which takes that lock, ends instead of waiting for it forever."""
    # NOTE: `_inqueue` is an attribute of CPython's multiprocessing.pool.Pool, not of its
    # documented interface; the lock is a multiprocessing.Lock, which any process may release.
    try:
        pool._inqueue._rlock.release()
    except ValueError:
        pass  # the lock was free


def _process_applications(jobs: list[tuple], pool, handoff: Path, announce: Callable):
    """Run `process_application` on every job, in the processes of `pool` when there is one,
    and return (validated, mapped, extraction-log problems) per job, in job order.

    Without a pool this is a generator, so the progress of each application shows as soon as
    it is done, and the mapped frames are staged in `handoff` as in a worker.

    With a pool, each application is validated by one task, then its targets are mapped by two
    tasks side by side (see `target_shares`). So the process that ends the shorter application
    maps a share of the longer one's targets instead of waiting for it. Each task writes its
    result to a file in the private folder `handoff`. The parent reads the files of an
    application once its shares are mapped, so a large result never exists in a worker, in a
    pipe buffer and in the parent at the same time.
    """
    if pool is None:
        return _processed_in_turn(jobs, handoff, announce)
    results = _run_tasks(pool, jobs, handoff, announce)
    return (_combine_application(job, *results[index]) for index, job in enumerate(jobs))


def _processed_in_turn(jobs: list[tuple], handoff: Path, announce: Callable):
    """Yield `process_application` of each job in turn, announcing each one once validated."""
    for job in jobs:
        result, mapped, problems = process_application(*job, stage_folder=handoff)
        announce(*_validation_progress(result))
        yield result, mapped, problems


def _validation_progress(result: ValidatedApplication) -> tuple[str, int, int, int]:
    """Return the name, rows read, tables and findings of a validated application."""
    rows = sum(read.read for read in result.reads.values())
    return result.name, rows, len(result.reads), len(result.findings)


def _run_tasks(
    pool, jobs: list[tuple], handoff: Path, announce: Callable
) -> dict[int, tuple[Path, list[Path]]]:
    """Validate every job's application, then map the shares of its targets, in `pool`.

    `announce` receives `_validation_progress` of each application as soon as it is validated.

    Returns, per job, the file of its validated application and the files of its shares.
    """
    finished: queue.SimpleQueue = queue.SimpleQueue()
    running: dict[tuple, _TaskProcess] = {}

    def submit(function, args: tuple, label: tuple) -> None:
        marker = handoff / f"task-{label[0]}-{label[1]}.pid"
        running[label] = _TaskProcess(marker, _task_name(jobs, label))
        pool.apply_async(
            _run_marked,
            (marker, function, args),
            callback=lambda value: finished.put((label, value, None)),
            error_callback=lambda error: finished.put((label, None, error)),
        )

    for index, job in enumerate(jobs):
        submit(_validate_into_file, (job, handoff / f"validated-{index}.pickle"), (index, None))
    validated: dict[int, Path] = {}
    shares: dict[int, dict[int, Path]] = {}
    waiting = {index: -1 for index in range(len(jobs))}  # shares not done; -1: not validated
    stall = _Stall()
    while any(waiting.values()):
        try:
            (index, number), value, error = finished.get(timeout=_PARENT_CHECK_SECONDS)
        except queue.Empty:
            started = [task.check() is not None for task in running.values()]
            stall.check([task.name for task in running.values()], any(started))
            continue
        running.pop((index, number)).marker.unlink(missing_ok=True)
        if error is not None:
            raise error
        if number is None:
            validated[index], positions, progress = value
            announce(*progress)
            # An empty share is left out. The first share left makes the filter records of the
            # tables the mapping drops, so a mapping without targets still gets one.
            positions = [share for share in positions if share] or [[]]
            waiting[index] = len(positions)
            shares[index] = {}
            for number, share in enumerate(positions):
                path = handoff / f"share-{index}-{number}.pickle"
                args = (jobs[index], validated[index], share, number, path)
                submit(_map_share_into_file, args, (index, number))
        else:
            shares[index][number] = value
            waiting[index] -= 1
    return {
        index: (validated[index], [shares[index][number] for number in sorted(shares[index])])
        for index in range(len(jobs))
    }


# Seconds a task's process may be gone before its result arrives: a process writes its result
# to the pipe before it exits, and the pool's thread takes a moment to read it.
_RESULT_GRACE_SECONDS = 5.0


@dataclass
class _TaskProcess:
    """A task sent to the pool, and the file where its process writes its pid once started."""

    marker: Path
    name: str
    gone_since: float | None = None

    def pid(self) -> int | None:
        """Return the pid of the task's process, or None while no process has started it."""
        try:
            return int(self.marker.read_text())
        except (OSError, ValueError):
            return None

    def check(self) -> int | None:
        """Raise an error when the task's process has ended without a result, else return its
        pid, or None while no process has started the task.

        A pool forks a new process for a killed one and never gives its task's result, so
        without this check the run would wait forever.
        """
        pid = self.pid()
        if pid is None or _process_alive(pid):
            return pid
        now = time.monotonic()
        if self.gone_since is None:
            self.gone_since = now
        elif now - self.gone_since > _RESULT_GRACE_SECONDS:
            raise ProcessEndedError(
                f"the worker process {pid} ended while it was {self.name}, without a result; "
                "the system may have stopped it for lack of memory. Nothing was loaded; run "
                "again, with --workers 1 to use less memory"
            )
        return pid


# Seconds that every task sent to the pool may wait for a process while none is running. A
# free process of the pool takes a task at once. A process killed while it waited for a task
# keeps the lock of the task queue, so no process takes a task again.
_STALL_SECONDS = 30.0


@dataclass
class _Stall:
    """The time since which the pool has run none of the tasks it was sent."""

    since: float | None = None

    def check(self, waiting: list[str], started: bool) -> None:
        """Raise an error when the unfinished tasks, named in `waiting`, have waited for a
        process for more than _STALL_SECONDS while none of them was `started`."""
        if not waiting or started:
            self.since = None
            return
        now = time.monotonic()
        if self.since is None:
            self.since = now
        elif now - self.since > _STALL_SECONDS:
            names = ", ".join(waiting)
            raise ProcessEndedError(
                f"no worker process took the next tasks ({names}) in {_STALL_SECONDS:.0f} s, "
                "while none was working: a worker process was probably killed while it waited "
                "for a task, which blocks the others. Nothing was loaded; run again"
            )


def _task_name(jobs: list[tuple], label: tuple) -> str:
    index, number = label
    name = jobs[index][0].name
    return f"validating {name}" if number is None else f"mapping share {number} of {name}"


def _process_alive(pid: int) -> bool:
    """Return whether process `pid` runs: it exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    # The state follows the command name, which is in brackets and may contain spaces.
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _run_marked(marker: Path, function, args: tuple):
    """Write this process's pid to `marker`, then return `function(*args)`."""
    with open_private_file(marker) as handle:
        handle.write(str(os.getpid()).encode())
    return function(*args)


def _validate_into_file(job: tuple, path: Path) -> tuple[Path, list[list[int]], tuple]:
    """Validate one application in a worker, write it to `path` (mode 0600) with its
    extraction-log problems, and return `path`, the shares of its targets and its progress.

    The accepted rows go to files of their own in the same folder, chunk by chunk.
    """
    application, dictionary, replacements, policy, mapping, _, departement = job
    validated, problems = validate_for_mapping(
        application, dictionary, replacements, policy, departement, path.parent
    )
    positions = target_shares(mapping, validated.tables, _MAPPING_SHARES)
    _write_result_file(path, (validated, problems))
    return path, positions, _validation_progress(validated)


def _map_share_into_file(
    job: tuple, validated_path: Path, positions: list[int], number: int, path: Path
) -> Path:
    """Map one share of an application's targets in a worker, and write it to `path`.

    The validated application is read from `validated_path`, whose file stays for the other
    share. The mapped frames go to files of their own in the same folder as they are mapped.
    """
    mapping, schema = job[4], job[5]
    with validated_path.open("rb") as handle:
        # The file was written by this run's own worker in its private folder.
        validated, _ = pickle.load(handle)
    share = map_share(validated, mapping, schema, path.parent, positions, number)
    _write_result_file(path, share)
    return path


def _combine_application(job: tuple, validated_path: Path, share_paths: list[Path]):
    """Read an application mapped in shares and return it as `process_application` would."""
    mapping, schema = job[4], job[5]
    validated, problems = _read_result_file(validated_path)
    shares = [_read_result_file(path) for path in share_paths]
    mapped = combine_shares(validated, mapping, schema, shares)
    return _released(validated, mapped, problems)


def _write_result_file(path: Path, result) -> None:
    with open_private_file(path) as handle:
        pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)


def _read_result_file(path: Path):
    """Read the result a worker wrote, then delete its file."""
    try:
        with path.open("rb") as handle:
            # The file was written by this run's own worker in its private folder.
            return pickle.load(handle)
    finally:
        path.unlink(missing_ok=True)


def _start_worker(parent_pid: int) -> None:
    """Set up a pool worker: the parent handles the stop signals, and the worker dies with it."""
    _ignore_stop_signals()
    _exit_with_parent(parent_pid)


def _exit_with_parent(parent_pid: int) -> None:
    """Start a daemon thread that ends this worker, without output, once its parent has died.

    A run killed by SIGKILL cannot stop its workers. Each one would finish its application for
    nothing, then print BrokenPipeError tracebacks when it sends its result. The thread checks
    the parent every _PARENT_CHECK_SECONDS. It needs the GIL, so a C call that holds the GIL
    delays the exit until the call returns.

    Linux's PR_SET_PDEATHSIG does not fit: it signals a worker when the thread that forked it
    ends. The pool forks replacement workers from its worker-handler thread, which ends first
    when the pool terminates, and a worker killed while it holds the task queue's lock makes
    Pool.terminate() wait forever.
    """
    watcher = threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="parent-watcher", daemon=True
    )
    watcher.start()


def _watch_parent(parent_pid: int) -> None:
    """Exit the process, without cleanup or output, once its parent has died.

    An orphan gets a new parent (init or a subreaper), so its parent pid changes.
    """
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(1)


def _ignore_stop_signals() -> None:
    """Leave Ctrl-C and SIGTERM to the parent, which stops the workers itself.

    A worker ignores Ctrl-C and keeps the default action of SIGTERM, which the pool sends to
    terminate it. The stop signals, blocked while the parent forked, are then unblocked.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def process_application(
    application,
    dictionary,
    replacements,
    policy,
    mapping,
    schema,
    departement=None,
    stage_folder: Path | None = None,
):
    """Read, validate and map one application; return it with its extraction-log problems.

    With `stage_folder`, the tables are validated one at a time and their accepted rows, then
    the mapped frames, are written there (see `validate_application_staged` and
    `map_application`), so a worker holds one table's rows at a time.
    """
    result, problems = validate_for_mapping(
        application, dictionary, replacements, policy, departement, stage_folder
    )
    mapped = map_application(result, mapping, schema, stage_folder, release_sources=True)
    return _released(result, mapped, problems)


def validate_for_mapping(
    application, dictionary, replacements, policy, departement=None, stage_folder=None
) -> tuple[ValidatedApplication, list[str]]:
    """Read and validate one application; return it with its extraction-log problems.

    With `stage_folder`, the tables are validated in chunks and their accepted rows staged
    there (see `validate_application_staged`).
    """
    result = None
    if stage_folder is not None:
        result = validate_application_staged(
            application.name, application.folder, dictionary, stage_folder, replacements, policy
        )
    if result is None:
        reads = read_application(application.name, application.folder, dictionary, replacements)
        result = validate_application(application.name, dictionary, reads, policy)
    return result, check_extraction_log(application, result.reads, departement)


def _released(result: ValidatedApplication, mapped, problems: list[str]):
    # The rows are mapped now. Dropping the converted rows, and the raw rows that no step has
    # rejected, spares sending them back to the parent.
    result.tables = {}
    keep_rejected_rows(result, mapped.rejects)
    return result, mapped, problems


def _intake_message(delivery: Delivery) -> str:
    files = [
        f for application in delivery.applications.values() for f in application.files.values()
    ]
    listed = sum(1 for f in files if f.manifest_status == "ok")
    if listed == len(files):
        return f"{len(files)} files decrypted, all matching SHA256SUMS"
    return (
        f"{len(files)} files decrypted; WARNING: {len(files) - listed} not checked against "
        "SHA256SUMS (not listed, or no manifest), see the delivery section of the report"
    )


def _load(engine, schema, run_id, validated, assembly, summary, options, say, pools) -> None:
    rejects = rejects_for_database(run_id, validated, assembly)
    filters = filters_for_database(run_id, assembly)
    summary["finished_at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    run_row = _run_row(summary, options)
    delivered = [result.name for result in validated]
    # A delivery of one application replaces that application's rows only.
    applications = None if set(delivered) >= set(DEFAULT_MAPPINGS) else delivered
    # The loader takes each table's rows out of `frames` as it loads them (the reports read
    # the database), so they are freed one table at a time. The lineage parts are staged in
    # files, and the loader reads them one at a time and adds the run id to each.
    frames, assembly.frames = assembly.frames, {}
    try:
        result = load_run(
            engine,
            schema,
            frames,
            rejects,
            assembly.lineage,
            run_row,
            filters=filters,
            applications=applications,
            release_frames=True,
            max_removed_share=None if options.allow_removals else MAX_REMOVED_SHARE,
            # The helper converts the lineage while the target tables load.
            helper=None if pools.helper is None else pools.helper.apply_async,
        )
    finally:
        # A failed load leaves the rows and parts it did not read, so they are deleted here.
        _discard_staged(assembly, frames)
    summary["loaded"] = True
    summary["targets"] = [{"table": name, "rows": rows} for name, rows in result.rows.items()]
    summary["changes"] = result.reported_changes()
    summary["allow_removals"] = options.allow_removals
    totals = {
        kind: sum(counts.get(kind, 0) for counts in summary["changes"].values())
        for kind in (*CHANGE_KINDS, "kept_delivered")
    }
    say("loading", _load_message(result.rows, totals))


def _load_message(rows: dict[str, int], totals: dict[str, int]) -> str:
    """Return the progress line of a load, whose delivered rows add up to their counts.

    Each delivered row is added, changed, unchanged or, in a load of some applications only,
    kept as it was because another application also gives it. The other kept rows are rows
    of the target that the load does not deliver, so they are counted apart.
    """
    delivered = sum(rows.values())
    message = (
        f"{delivered} rows in {len(rows)} tables: "
        f"{totals['added']} added, {totals['changed']} changed, {totals['removed']} removed, "
        f"{totals['unchanged']} unchanged"
    )
    if not totals["kept"]:
        return message
    kept_delivered = totals["kept_delivered"]
    if kept_delivered:
        message += (
            f", {kept_delivered} kept as they were because another application also gives them"
        )
    kept_others = totals["kept"] - kept_delivered
    if kept_others:
        message += f"; {kept_others} rows not delivered kept for other applications"
    return message


def _discard_staged(assembly: Assembly, frames: dict | None = None) -> None:
    """Delete the staged files of the assembled rows and lineage that no step will read."""
    assembly.lineage.discard()
    for rows in [*assembly.frames.values(), *(frames or {}).values()]:
        if isinstance(rows, TableRows):
            rows.discard()


def _mark_not_loaded(summary: dict) -> None:
    """Show in the summary that nothing reached the target: loaded counts become 0."""
    summary["loaded"] = False
    for table in summary["tables"]:
        table["would_load"] = table["loaded"]
        table["loaded"] = 0
    for target in summary["targets"]:
        target["would_load"] = target["rows"]
        target["rows"] = 0


def _concat_rejected(validated: list[ValidatedApplication]):
    import pandas as pd

    return pd.concat([result.rejected_lines() for result in validated], ignore_index=True)


def delivery_inventory(delivery: Delivery) -> dict:
    """Describe a decrypted delivery without its content: départment, configuration, files."""
    files = []
    for application in delivery.applications.values():
        log_counts = application.log.tables if application.log else {}
        for decrypted in application.files.values():
            log_entry = next((c for c in log_counts.values() if c.file == decrypted.name), None)
            files.append(
                {
                    "application": application.name,
                    "file": decrypted.name,
                    "sha256_encrypted": decrypted.sha256_encrypted,
                    "sha256_plaintext": decrypted.sha256_plaintext,
                    "manifest": decrypted.manifest_status,
                    "log_records": log_entry.records if log_entry else None,
                }
            )
    return {"departement": delivery.departement, "config": delivery.config, "files": files}


def build_summary(
    *,
    run_id: str,
    started: datetime.datetime,
    delivery_path: Path | str,
    inventory: dict,
    target_url: str,
    schema: TargetSchema,
    validated: list[ValidatedApplication],
    mappings: dict[str, MappingFile],
    assembly: Assembly,
    counts: list[dict],
    status: str,
    blocking: list[str],
) -> dict:
    """Build the run summary used by the JSON and HTML reports and stored with the run."""
    findings = {
        result.name: table_findings_summary(result, assembly, schema) for result in validated
    }
    profiles = {result.name: result.profiles for result in validated}
    tables = []
    for table in counts:
        by_rule = findings[table["application"]].get(table["table"], [])
        table = dict(table)
        table["warnings"] = sum(r["count"] for r in by_rule if r["severity"] == "warning")
        table["findings_by_rule"] = by_rule
        table["reject_reasons"] = [
            {"rule_id": r["rule_id"], "count": r["count"]}
            for r in by_rule
            if r["severity"] == "error"
        ]
        table["profile"] = profiles[table["application"]][table["table"]]
        tables.append(table)
    files = []
    for entry in inventory["files"]:
        entry = dict(entry)
        entry["records"] = _records_of_file(validated, entry["application"], entry["file"])
        files.append(entry)
    config = inventory.get("config") or {}
    return {
        "run_id": run_id,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": None,
        "product_version": __version__,
        "status": status,
        "blocking": blocking,
        "delivery": {
            "path": str(delivery_path),
            "departement": inventory.get("departement"),
            "date_extraction": config.get("date_extraction"),
            "files": files,
        },
        "target": describe_url(target_url),
        "target_schema": {"name": schema.name, "version": schema.version},
        "dictionaries": {
            r.name: {
                "file": str(r.dictionary.path),
                "sha256": r.dictionary.sha256,
                "version": r.dictionary.version,
            }
            for r in validated
        },
        "mappings": {
            name: {"file": str(m.path), "sha256": m.sha256} for name, m in mappings.items()
        },
        "tables": tables,
        "targets": [{"table": name, "rows": len(frame)} for name, frame in assembly.frames.items()],
        "identity": assembly.identity.summary(),
        "merge_conflicts": [conflicts.summary() for conflicts in assembly.merge_conflicts.values()],
        "rules": rule_catalogue(config.get("regles")),
        "rule_policy": _rule_policy_summary(config.get("regles")),
    }


def rule_policy_messages(policy: dict | None) -> list[str]:
    """Describe the rule changes of a delivery's configuration, with a warning for relaxed rules."""
    policy = policy or {}
    changes = []
    if policy.get("desactivees"):
        changes.append("disables " + ", ".join(policy["desactivees"]))
    for rule_id, severity in sorted((policy.get("severites") or {}).items()):
        changes.append(f"sets {rule_id} to {severity}")
    if not changes:
        return []
    messages = [f"{CONFIG_NAME} changes the validation rules: " + "; ".join(changes)]
    relaxed = relaxed_rules(policy)
    if relaxed:
        messages.append(
            f"WARNING: rows that {', '.join(relaxed)} would reject are loaded; {CONFIG_NAME} is "
            "not covered by SHA256SUMS, so check that the MDPH chose these changes"
        )
    return messages


def _rule_policy_summary(policy: dict | None) -> dict | None:
    """Return the rule changes of the delivery's configuration for the reports, or None."""
    policy = policy or {}
    if not policy.get("desactivees") and not policy.get("severites"):
        return None
    return {
        "file": CONFIG_NAME,
        "disabled": list(policy.get("desactivees") or []),
        "severities": dict(policy.get("severites") or {}),
        "relaxed": relaxed_rules(policy),
    }


def _records_of_file(
    validated: list[ValidatedApplication], application: str, file: str
) -> int | None:
    """Records read from one file (a tagged file such as FINESS feeds several tables)."""
    total = None
    for result in validated:
        if result.name != application:
            continue
        for read in result.reads.values():
            if read.path.name == file:
                total = (total or 0) + read.read
    return total


def _run_row(summary: dict, options: RunOptions) -> dict:
    import json

    return {
        "run_id": summary["run_id"],
        "started_at": summary["started_at"],
        "finished_at": summary["finished_at"],
        "status": summary["status"],
        "product_version": summary["product_version"],
        "delivery_path": str(options.delivery),
        "departement": summary["delivery"]["departement"],
        "target_url": summary["target"],
        "summary_json": json.dumps(summary, ensure_ascii=False, default=str),
    }
