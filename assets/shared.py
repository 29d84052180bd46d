"""Steps shared by the per-département and the per-application assets: intake, load, report."""

import datetime
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.departements import (
    APPLICATION_DIMENSION,
    APPLICATION_JOB,
    APPLICATION_NAMES,
    DEPARTEMENT_DIMENSION,
    MIGRATION_JOB,
)
from assets.resources import DepartementsResource
from assets.staging import (
    PLAINTEXT_FOLDER,
    fresh_private_dir,
    remove_ended_stage_folders,
    remove_stage_folders,
    require_stage_folders,
    run_stage_folder,
)
from migration.acceptance.checks import INTAKE_CHECKS, intake_checks, inventory_markdown
from migration.delivery.config import same_departement
from migration.delivery.intake import inspect_delivery, open_delivery
from migration.delivery.inventory import inventory_delivery
from migration.delivery.workdir import PrivateWorkdir
from migration.identity.decisions import read_identity_decisions
from migration.identity.existing import read_existing_individuals
from migration.lineage.dagster_metadata import dagster_column_lineage, dagster_target_schema
from migration.lineage.openlineage import EVENTS_FILE, emit_run_events
from migration.lineage.run_record import finish_run
from migration.mapping.assemble import Assembly
from migration.mapping.lineage import column_lineage
from migration.mapping.staging import TableRows
from migration.reports.markdown import summary_markdown
from migration.run import (
    MAX_REMOVED_SHARE,
    STATUS_SUCCESS,
    build_summary,
    check_target_schema,
    create_private_sqlite_file,
    delivery_inventory,
)
from migration.steps import DEFAULT_MAPPINGS, filters_for_database, rejects_for_database
from migration.target.engine import create_target_engine, describe_url
from migration.target.errors import TooManyRemovalsError
from migration.target.load import REMOVAL_CHECK_MIN_ROWS, load_run
from migration.target.schema import load_target_schema

DEPARTEMENT_CHECK = "departement"


class LoadConfig(dg.Config):
    """Run configuration of the load assets, loaded_tables and application_loaded."""

    allow_removals: bool = Field(
        default=False,
        description=(
            f"Load even when the load would remove more than {MAX_REMOVED_SHARE:.0%} of the "
            f"rows in the target tables, or of one table of at least {REMOVAL_CHECK_MIN_ROWS} "
            "rows, as --allow-removals does for the CLI. Without it, such a load fails before "
            "writing anything."
        ),
    )


def partition_departement(context: dg.AssetExecutionContext) -> str:
    """Return the département code of the partition, for one or two partition dimensions."""
    key = context.partition_key
    if isinstance(key, dg.MultiPartitionKey):
        return key.keys_by_dimension[DEPARTEMENT_DIMENSION]
    return key


def partition_application(context: dg.AssetExecutionContext) -> str:
    """Return the application (ITAC or OPALES) of a two-dimension partition."""
    return context.partition_key.keys_by_dimension[APPLICATION_DIMENSION]


def open_in_stage(
    context: dg.AssetExecutionContext, departements: DepartementsResource, application: str
):
    """Decrypt one application of the partition's delivery into the run's stage folder.

    Return the stage folder, the application's folder in it and the opened delivery. The
    decrypted files stay in the stage folder until the load has written the rejects, which
    read some rows again for their raw text.
    """
    code = partition_departement(context)
    stage_folder = run_stage_folder(departements.storage_folder(), context)
    folder = fresh_private_dir(stage_folder / application.lower())
    opened = open_delivery(
        Path(departements.settings(code).delivery),
        departements.delivery_password(code),
        folder / PLAINTEXT_FOLDER,
        applications=[application],
        password_source=departements.password_source(code),
    )
    return stage_folder, folder, opened


def intake_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    """Blocking checks of an intake asset: the intake checks and the département check."""
    specs = [
        dg.AssetCheckSpec(name, asset=asset, blocking=True, description=description)
        for name, (description, _) in INTAKE_CHECKS.items()
    ]
    specs.append(
        dg.AssetCheckSpec(
            DEPARTEMENT_CHECK,
            asset=asset,
            blocking=True,
            description="la livraison déclare le département de la partition",
        )
    )
    return specs


def blocking_check_result(
    context: dg.AssetExecutionContext,
    check_name: str,
    problems: Sequence[str],
    *,
    metadata: dict,
    asset_key: str | None = None,
    logged: Sequence[str] | None = None,
) -> dg.AssetCheckResult:
    """Build the result of a blocking check, failed when `problems` is not empty.

    Dagster's failure of the step names the failed check only, so a failed result carries its
    problems in its description and each one is logged as an error of the run. `logged`
    replaces `problems` in the log, e.g. English messages for French problem texts. Neither
    may contain a value of the data.
    """
    if not problems:
        return dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=check_name,
            passed=True,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=metadata,
        )
    asset = asset_key or context.asset_key.to_user_string()
    for problem in logged if logged is not None else problems:
        context.log.error("blocking check %s of %s failed: %s", check_name, asset, problem)
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description="\n".join(problems),
        metadata=metadata,
    )


def check_target(url: str) -> None:
    """Raise TargetError when the target database at `url` cannot take the load.

    An SQLite file that this check created is removed again while it is still empty, so a run
    that stops before its load leaves no empty database behind it.
    """
    created = create_private_sqlite_file(url)
    try:
        engine = create_target_engine(url)
        try:
            check_target_schema(engine, load_target_schema())
        finally:
            engine.dispose()
    finally:
        if created is not None and created.exists() and created.stat().st_size == 0:
            created.unlink()


def intake_events(
    context: dg.AssetExecutionContext,
    departements: DepartementsResource,
    applications: list[str] | None = None,
):
    """Decrypt a département's delivery into a private folder, check it, yield its inventory.

    The target database is checked first, as in the CLI. A target whose schema differs, or a
    PostgreSQL role that lacks a privilege of the load, then fails the intake before anything
    is decrypted, and the error names the GRANT to run. The stage folders of runs that have
    ended, with their decrypted files, are deleted next. `applications` limits the intake to
    those applications, as for a partial delivery.
    """
    code = partition_departement(context)
    settings = departements.settings(code)
    url = departements.target_url(code)
    check_target(url)
    remove_ended_stage_folders(
        departements.storage_folder(), context.instance, context.run, context.log
    )
    context.log.info("target database of département %s checked: %s", code, describe_url(url))
    with PrivateWorkdir(parent=departements.workdir_parent) as workdir:
        opened = inspect_delivery(
            Path(settings.delivery),
            departements.delivery_password(code),
            workdir.path,
            applications=applications,
            password_source=departements.password_source(code),
        )
        checked = inventory_delivery(opened)
    if applications is None:
        _require_every_application(opened, code)
    inventory = delivery_inventory(opened)
    files = inventory["files"]
    context.log.info("delivery of département %s checked: %d files", code, len(files))
    yield dg.Output(
        inventory,
        metadata={
            "files": len(files),
            "departement": opened.departement,
            "delivery_path": settings.delivery,
            "inventory": dg.MetadataValue.md(inventory_markdown(checked)),
        },
    )
    for check in intake_checks(checked):
        yield blocking_check_result(
            context,
            check.name,
            check.defects,
            metadata=check.metadata,
            logged=check.messages,
        )
    # A delivery that names no département passes: livraison.yaml and the logs may omit it.
    # The delivery gives the three-character code ("057"), so a partition "57" matches it too.
    declared = opened.departement
    problems, logged = [], []
    if declared is not None and not same_departement(declared, code):
        problems.append(f"la livraison déclare le département {declared}, la partition est {code}")
        logged.append(
            f"the delivery declares département {declared}, the partition is {code}; check "
            f"the delivery folder configured for département {code}"
        )
    yield blocking_check_result(
        context,
        DEPARTEMENT_CHECK,
        problems,
        metadata={"partition": code, "declared": declared or "aucun"},
        logged=logged,
    )


def _require_every_application(opened, code: str) -> None:
    """Fail the intake of a whole delivery that lacks an application, before any table step
    decrypts or reads a file, because the steps of the missing application would fail late.
    """
    missing = [name for name in APPLICATION_NAMES if name not in opened.applications]
    if not missing:
        return
    delivered = ", ".join(sorted(opened.applications)) or "no application"
    examples = " or ".join(
        f"'{name}|{code}'" for name in APPLICATION_NAMES if name in opened.applications
    )
    raise dg.Failure(
        description=(
            f"the delivery of département {code} brings {delivered} but not "
            f"{', '.join(missing)}, and the job {MIGRATION_JOB} loads both applications. "
            f"For a partial delivery, run the job {APPLICATION_JOB} with the partition "
            f"{examples or 'of the delivered application'} (see docs/dagster.md)"
        )
    )


def rows_metadata(assembly: Assembly) -> dict:
    """Metadata of assembled target rows: rows per table, the identity resolution counts and
    the keys whose merged rows had different values, per target table."""
    return {
        "rows_by_table": dg.MetadataValue.json({n: len(f) for n, f in assembly.frames.items()}),
        "identity": dg.MetadataValue.json(assembly.identity.summary()),
        "merge_conflicts": dg.MetadataValue.json(
            {name: conflicts.keys for name, conflicts in assembly.merge_conflicts.items()}
        ),
    }


def reconciliation_result(
    context: dg.AssetExecutionContext, counts: list[dict]
) -> dg.AssetCheckResult:
    """Result of the reconciliation check: failed when a source table has unaccounted rows."""
    unreconciled = [c for c in counts if not c["reconciled"]]
    gaps = [f"{c['application']}.{c['table']}" for c in unreconciled]
    problems = [
        f"{c['application']}.{c['table']}: {c['read']} rows read, but {c['loaded']} loaded + "
        f"{c['rejected']} rejected + {c['filtered']} filtered = "
        f"{c['loaded'] + c['rejected'] + c['filtered']}"
        for c in unreconciled
    ]
    return blocking_check_result(
        context,
        "reconciliation",
        problems,
        metadata={"unreconciled_tables": dg.MetadataValue.json(gaps)},
    )


def read_target_identities(url: str, others: list[str]) -> tuple[dict, pd.DataFrame]:
    """Read the identity decisions stored in the target and the individuals of `others`.

    `others` names the applications not delivered in this run; with none, the frame is empty.
    """
    create_private_sqlite_file(url)
    engine = create_target_engine(url)
    try:
        return read_identity_decisions(engine), read_existing_individuals(engine, others)
    finally:
        engine.dispose()


def load_events(
    context: dg.AssetExecutionContext,
    rows: dict,
    inventory: dict,
    departements: DepartementsResource,
    config: LoadConfig,
    applications: list[str] | None = None,
) -> dg.Output:
    """Load assembled rows, rejects, filtered rows and lineage into a département's target, in
    one transaction.

    `applications` names the applications whose rows the load replaces; None replaces all.
    Unless `config.allow_removals` is set, a load that would remove more than
    MAX_REMOVED_SHARE of the target's rows, or of one large table's, fails and is rolled back,
    as in the CLI.

    The staged rows and decrypted files of `rows` are deleted, with their stage folders, once
    the load has committed, and when it fails. A load stopped by the removal check keeps them,
    so that the load can run again with allow_removals on the same rows.
    """
    asset = context.asset_key.to_user_string()
    folders = rows["stage_folders"]
    require_stage_folders(folders, asset, context.run)
    try:
        output = _load_staged(context, rows, inventory, departements, config, applications)
    except TooManyRemovalsError:
        context.log.warning(
            "stage folders %s kept, so that the load can run again with allow_removals: true. "
            "Delete them if the load is abandoned",
            ", ".join(str(folder) for folder in folders),
        )
        raise
    except BaseException:
        remove_stage_folders(folders, context.log)
        raise
    remove_stage_folders(folders, context.log)
    return output


def _load_staged(
    context: dg.AssetExecutionContext,
    rows: dict,
    inventory: dict,
    departements: DepartementsResource,
    config: LoadConfig,
    applications: list[str] | None,
) -> dg.Output:
    code = partition_departement(context)
    asset = context.asset_key.to_user_string()
    if config.allow_removals:
        context.log.warning(
            "%s of département %s runs with allow_removals: the load may remove any share of "
            "the rows in the target",
            asset,
            code,
        )
    assembly: Assembly = rows["assembly"]
    run_id = context.run.run_id
    url = departements.target_url(code)
    delivery_path = departements.settings(code).delivery
    summary = build_summary(
        run_id=run_id,
        started=datetime.datetime.now(datetime.UTC),
        delivery_path=delivery_path,
        inventory=inventory,
        target_url=url,
        schema=load_target_schema(),
        validated=rows["validated"],
        mappings=rows["mappings"],
        assembly=assembly,
        counts=rows["counts"],
        status=STATUS_SUCCESS,
        blocking=[],
    )
    rejects = rejects_for_database(run_id, rows["validated"], assembly)
    filters = filters_for_database(run_id, assembly)
    create_private_sqlite_file(url)
    engine = create_target_engine(url)
    run_row = {
        "run_id": run_id,
        "started_at": summary["started_at"],
        "finished_at": None,
        "status": STATUS_SUCCESS,
        "product_version": summary["product_version"],
        "delivery_path": summary["delivery"]["path"],
        "departement": inventory["departement"],
        "target_url": summary["target"],
        "summary_json": None,
    }
    # The loader takes each table's rows out of `frames` as it loads them, as in the CLI. The
    # staged files stay until the step deletes the stage folders.
    frames = {
        name: table.keeping_files() if isinstance(table, TableRows) else table
        for name, table in assembly.frames.items()
    }
    assembly.frames = {}
    try:
        result = load_run(
            engine,
            load_target_schema(),
            frames,
            rejects,
            assembly.lineage,
            run_row,
            filters=filters,
            applications=applications,
            release_frames=True,
            max_removed_share=None if config.allow_removals else MAX_REMOVED_SHARE,
            removal_override=f"set allow_removals: true in the run configuration of {asset}",
        )
        summary["targets"] = [{"table": n, "rows": r} for n, r in result.rows.items()]
        summary["changes"] = result.reported_changes()
        summary["loaded"] = True
        summary["allow_removals"] = config.allow_removals
        summary["finished_at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        finish_run(engine, summary)
    finally:
        engine.dispose()
    rejected = {f"{t['application']}.{t['table']}": t["rejected"] for t in summary["tables"]}
    mappings = [DEFAULT_MAPPINGS[name] for name in rows["mappings"]]
    return dg.Output(
        summary,
        metadata={
            "dagster/row_count": sum(result.rows.values()),
            "dagster/column_lineage": dagster_column_lineage(column_lineage(mappings)),
            "dagster/column_schema": dagster_target_schema(load_target_schema()),
            "rows_by_table": dg.MetadataValue.json(result.rows),
            "rejects": len(rejects),
            "rejects_by_table": dg.MetadataValue.json(rejected),
            "changes": dg.MetadataValue.json(result.changes),
            "allow_removals": config.allow_removals,
        },
    )


def report_output(summary: dict, reports_dir: Path, target_url: str) -> dg.Output:
    """Write the quality report (HTML pages, JSON, XLSX) and the OpenLineage events."""
    from migration.reports.report import write_reports

    engine = create_target_engine(target_url)
    emit_run_events(summary, reports_dir / EVENTS_FILE)
    paths = write_reports(summary, reports_dir, engine=engine)
    engine.dispose()
    tables = summary["tables"]
    return dg.Output(
        {kind: str(path) for kind, path in paths.items()},
        metadata={
            "html": str(paths["html"]),
            "xlsx": str(paths["xlsx"]),
            "rows_read": sum(t["read"] for t in tables),
            "rows_rejected": sum(t["rejected"] for t in tables),
            "summary": dg.MetadataValue.md(summary_markdown(summary, "fr", str(paths["html"]))),
        },
    )
