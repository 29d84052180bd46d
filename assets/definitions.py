"""The Dagster assets of a migration: one asset per step, one per source table.

Assets stay thin: each calls a step of `migration.steps` and publishes counts as metadata.
Structural problems of a table and reconciliation gaps are blocking checks, so nothing
downstream runs on a broken input.
"""

import datetime
from pathlib import Path

import dagster as dg
import pandas as pd

from assets.resources import DeliveryResource, TargetResource, default_resources
from migration.acceptance.checks import INTAKE_CHECKS, intake_checks, inventory_markdown
from migration.delivery.intake import inspect_delivery, open_delivery
from migration.delivery.inventory import inventory_delivery
from migration.delivery.workdir import PrivateWorkdir
from migration.dictionary.model import Dictionary, load_dictionary
from migration.lineage.dagster_metadata import dagster_column_lineage, dagster_target_schema
from migration.lineage.openlineage import EVENTS_FILE, emit_run_events
from migration.lineage.run_record import finish_run
from migration.mapping.assemble import Assembly, assemble
from migration.mapping.checks import check_mapping
from migration.mapping.language import load_mapping
from migration.mapping.lineage import column_lineage
from migration.reading.csv_reader import read_table
from migration.reading.findings import ERROR
from migration.reports.markdown import summary_markdown
from migration.run import (
    STATUS_SUCCESS,
    build_summary,
    create_private_sqlite_file,
    delivery_inventory,
)
from migration.steps import (
    DEFAULT_MAPPINGS,
    ValidatedApplication,
    ValidatedTable,
    combine_application,
    map_application,
    reconcile,
    rejects_for_database,
    validate_one_table,
)
from migration.target.engine import create_target_engine
from migration.target.load import load_run
from migration.target.schema import load_target_schema
from migration.validation.rules import TABLE_FAMILIES, rule_family

APPLICATIONS = {"ITAC": "itac", "OPALES": "opales"}
APPLICATION_FAMILIES = ("foreign_keys", "plausibility")
FAMILY_DESCRIPTIONS = {
    "types": "valeurs présentes, de la bonne longueur et du type déclaré",
    "codes": "codes présents dans leur liste de codes",
    "keys": "clés primaires et uniques sans doublon",
    "identifiers": "NIR, FINESS, UAI, codes commune, postaux et département valides",
    "foreign_keys": "références entre tables résolues",
    "plausibility": "dates et âges cohérents",
}
GROUP_INTAKE, GROUP_SOURCE, GROUP_TARGET = "livraison", "sources", "cible"


def table_asset_name(application: str, table: str) -> str:
    """Asset name of a source table, e.g. itac_dossier."""
    return f"{application}_{table}".lower()


@dg.asset(
    group_name=GROUP_INTAKE,
    check_specs=[
        dg.AssetCheckSpec(name, asset="delivery", blocking=True, description=description)
        for name, (description, _) in INTAKE_CHECKS.items()
    ],
    description="Livraison chiffrée : manifeste SHA-256 vérifié, fichiers déchiffrés et contrôlés.",
)
def delivery(context: dg.AssetExecutionContext, encrypted_delivery: DeliveryResource):
    """Decrypt the delivery into a private folder, check it, and keep only its inventory."""
    source = encrypted_delivery
    with PrivateWorkdir(parent=source.workdir_parent) as workdir:
        opened = inspect_delivery(Path(source.path), source.password, workdir.path)
        checked = inventory_delivery(opened)
    inventory = delivery_inventory(opened)
    files = inventory["files"]
    context.log.info("delivery checked: %d files", len(files))
    yield dg.Output(
        inventory,
        metadata={
            "files": len(files),
            "departement": opened.departement,
            "inventory": dg.MetadataValue.md(inventory_markdown(checked)),
        },
    )
    for check in intake_checks(checked):
        yield dg.AssetCheckResult(
            check_name=check.name,
            passed=check.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=check.metadata,
        )


def build_table_assets(application: str, dictionary: Dictionary):
    """Build the multi-asset of an application, with one output asset per source table."""
    outs = {
        table_asset_name(application, name): dg.AssetOut(
            group_name=GROUP_SOURCE,
            description=table.description or f"Table {name} de {application}",
            is_required=True,
        )
        for name, table in dictionary.tables.items()
    }
    specs = []
    for name in dictionary.tables:
        key = table_asset_name(application, name)
        specs.append(
            dg.AssetCheckSpec(
                "structure",
                asset=key,
                blocking=True,
                description="fichier lisible, en-tête conforme au dictionnaire",
            )
        )
        for family in TABLE_FAMILIES:
            specs.append(
                dg.AssetCheckSpec(family, asset=key, description=FAMILY_DESCRIPTIONS[family])
            )

    @dg.multi_asset(
        name=f"{application.lower()}_tables",
        outs=outs,
        check_specs=specs,
        deps=["delivery"],
    )
    def read_tables(context: dg.AssetExecutionContext, encrypted_delivery: DeliveryResource):
        source = encrypted_delivery
        with PrivateWorkdir(parent=source.workdir_parent) as workdir:
            opened = open_delivery(
                Path(source.path), source.password, workdir.path, applications=[application]
            )
            folder = opened.applications[application].folder
            for name, table in dictionary.tables.items():
                key = table_asset_name(application, name)
                read = read_table(application, table, folder / table.file)
                validated = validate_one_table(read, dictionary, opened.config.get("regles"))
                yield from _table_events(key, validated)
                context.log.info(
                    "%s: %d rows, %d findings", key, read.read, len(validated.findings)
                )

    return read_tables


def _table_events(key: str, validated: ValidatedTable):
    read = validated.read
    findings = validated.findings
    errors = findings[findings["severity"] == ERROR]
    by_rule = findings.groupby("rule_id").size().to_dict()
    columns = dg.TableSchema(
        columns=[
            dg.TableColumn(column.name, column.type, description=column.description or None)
            for column in read.table.columns
        ]
    )
    yield dg.Output(
        validated,
        output_name=key,
        metadata={
            "dagster/row_count": read.read,
            "dagster/column_schema": columns,
            "file": read.path.name,
            "findings": len(findings),
            "rows_with_errors": int(errors["line"].nunique()),
            "findings_by_rule": dg.MetadataValue.json({k: int(v) for k, v in by_rule.items()}),
        },
    )
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name="structure",
        passed=not read.blocking,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"problems": dg.MetadataValue.md("\n".join(read.blocking) or "aucun")},
    )
    yield from _family_checks(key, findings, TABLE_FAMILIES)


def _family_checks(key: str, findings: pd.DataFrame, families):
    """Yield one check result per rule family, failed when a rule of the family found a row."""
    family = findings["rule_id"].map(rule_family)
    for name in families:
        in_family = findings[family == name]
        errors = in_family[in_family["severity"] == ERROR]
        counts = in_family.groupby("rule_id").size().to_dict()
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=name,
            passed=in_family.empty,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "findings": len(in_family),
                "rejected_rows": int(errors["line"].nunique()),
                "by_rule": dg.MetadataValue.json({k: int(v) for k, v in counts.items()}),
            },
        )


def build_application_assets(application: str, dictionary: Dictionary):
    """Build the validated and mapped assets of one application."""
    prefix = application.lower()
    ins = {
        table_asset_name(application, name): dg.AssetIn(table_asset_name(application, name))
        for name in dictionary.tables
    }
    ins["delivery"] = dg.AssetIn("delivery")

    @dg.asset(
        name=f"{prefix}_validated",
        ins=ins,
        group_name=GROUP_SOURCE,
        check_specs=[
            dg.AssetCheckSpec(
                family, asset=f"{prefix}_validated", description=FAMILY_DESCRIPTIONS[family]
            )
            for family in APPLICATION_FAMILIES
        ],
        description=f"Tables {application} validées, clés entre tables contrôlées.",
    )
    def validated_asset(
        context: dg.AssetExecutionContext, delivery: dict, **tables: ValidatedTable
    ):
        by_name = {table.read.table.name: table for table in tables.values()}
        policy = (delivery.get("config") or {}).get("regles")
        result = combine_application(application, dictionary, by_name, policy)
        yield dg.Output(result, metadata={"findings": len(result.findings)})
        yield from _family_checks(f"{prefix}_validated", result.findings, APPLICATION_FAMILIES)

    @dg.asset(
        name=f"{prefix}_mapped",
        ins={"validated": dg.AssetIn(f"{prefix}_validated")},
        group_name=GROUP_TARGET,
        description=f"Lignes cibles produites par la correspondance {application}.",
    )
    def mapped_asset(context: dg.AssetExecutionContext, validated: ValidatedApplication):
        mapping = load_mapping(DEFAULT_MAPPINGS[application])
        schema = load_target_schema()
        check_mapping(mapping, dictionary, schema, strict=True)
        result = map_application(validated, mapping, schema)
        rows = {target: sum(len(f) for f in frames) for target, frames in result.frames.items()}
        return dg.Output(
            {"mapped": result, "mapping": mapping},
            metadata={
                "rows_by_target": dg.MetadataValue.json(rows),
                "mapping_sha256": mapping.sha256,
                "rejects": len(result.rejects),
            },
        )

    return [validated_asset, mapped_asset]


@dg.asset(
    group_name=GROUP_TARGET,
    ins={
        "itac_validated": dg.AssetIn("itac_validated"),
        "opales_validated": dg.AssetIn("opales_validated"),
        "itac_mapped": dg.AssetIn("itac_mapped"),
        "opales_mapped": dg.AssetIn("opales_mapped"),
    },
    check_specs=[
        dg.AssetCheckSpec(
            "reconciliation",
            asset="target_rows",
            blocking=True,
            description="lues = chargées + rejetées + filtrées, par table",
        )
    ],
    description="Lignes cibles assemblées : identités fusionnées, clés vérifiées, lignage.",
)
def target_rows(context, itac_validated, opales_validated, itac_mapped, opales_mapped):
    """Assemble the mapped rows of both applications and reconcile every source table."""
    validated = [itac_validated, opales_validated]
    mapped = [itac_mapped["mapped"], opales_mapped["mapped"]]
    rejected = pd.concat([v.rejected_lines() for v in validated], ignore_index=True)
    assembly = assemble(mapped, load_target_schema(), rejected)
    counts = reconcile(validated, assembly)
    gaps = [f"{c['application']}.{c['table']}" for c in counts if not c["reconciled"]]
    yield dg.Output(
        {
            "assembly": assembly,
            "counts": counts,
            "validated": validated,
            "mappings": {"ITAC": itac_mapped["mapping"], "OPALES": opales_mapped["mapping"]},
        },
        metadata={
            "rows_by_table": dg.MetadataValue.json({n: len(f) for n, f in assembly.frames.items()}),
            "identity": dg.MetadataValue.json(assembly.identity.summary()),
        },
    )
    yield dg.AssetCheckResult(
        check_name="reconciliation",
        passed=not gaps,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"unreconciled_tables": dg.MetadataValue.json(gaps)},
    )


@dg.asset(group_name=GROUP_TARGET, description="Tables cibles chargées dans la base de la MDPH.")
def loaded_tables(
    context: dg.AssetExecutionContext, target_rows, delivery, target_database: TargetResource
):
    """Load the assembled rows, the rejects and the lineage in one transaction."""
    assembly: Assembly = target_rows["assembly"]
    run_id = context.run.run_id
    url = target_database.resolved_url()
    summary = build_summary(
        run_id=run_id,
        started=datetime.datetime.now(datetime.UTC),
        delivery_path=target_database.delivery_path,
        inventory=delivery,
        target_url=url,
        schema=load_target_schema(),
        validated=target_rows["validated"],
        mappings=target_rows["mappings"],
        assembly=assembly,
        counts=target_rows["counts"],
        status=STATUS_SUCCESS,
        blocking=[],
    )
    rejects = rejects_for_database(run_id, target_rows["validated"], assembly)
    create_private_sqlite_file(url)
    engine = create_target_engine(url)
    run_row = {
        "run_id": run_id,
        "started_at": summary["started_at"],
        "finished_at": None,
        "status": STATUS_SUCCESS,
        "product_version": summary["product_version"],
        "delivery_path": summary["delivery"]["path"],
        "departement": delivery["departement"],
        "target_url": summary["target"],
        "summary_json": None,
    }
    result = load_run(
        engine,
        load_target_schema(),
        assembly.frames,
        rejects,
        assembly.lineage.assign(run_id=run_id),
        run_row,
    )
    summary["targets"] = [{"table": n, "rows": r} for n, r in result.rows.items()]
    summary["changes"] = result.changes
    summary["loaded"] = True
    summary["finished_at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    finish_run(engine, summary)
    rejected = {f"{t['application']}.{t['table']}": t["rejected"] for t in summary["tables"]}
    return dg.Output(
        summary,
        metadata={
            "dagster/row_count": sum(result.rows.values()),
            "dagster/column_lineage": dagster_column_lineage(
                column_lineage(list(DEFAULT_MAPPINGS.values()))
            ),
            "dagster/column_schema": dagster_target_schema(load_target_schema()),
            "rows_by_table": dg.MetadataValue.json(result.rows),
            "rejects": len(rejects),
            "rejects_by_table": dg.MetadataValue.json(rejected),
            "changes": dg.MetadataValue.json(result.changes),
        },
    )


@dg.asset(group_name=GROUP_TARGET, description="Rapport qualité HTML et résumé JSON.")
def quality_report(
    context: dg.AssetExecutionContext, loaded_tables, target_database: TargetResource
):
    """Write the quality report (HTML pages, JSON, XLSX) and the OpenLineage events."""
    from migration.reports.report import write_reports

    reports_dir = Path(target_database.reports_dir)
    engine = create_target_engine(target_database.resolved_url())
    emit_run_events(loaded_tables, reports_dir / EVENTS_FILE)
    paths = write_reports(loaded_tables, reports_dir, engine=engine)
    tables = loaded_tables["tables"]
    return dg.Output(
        {kind: str(path) for kind, path in paths.items()},
        metadata={
            "html": str(paths["html"]),
            "xlsx": str(paths["xlsx"]),
            "rows_read": sum(t["read"] for t in tables),
            "rows_rejected": sum(t["rejected"] for t in tables),
            "summary": dg.MetadataValue.md(
                summary_markdown(loaded_tables, "fr", str(paths["html"]))
            ),
        },
    )


@dg.asset(group_name=GROUP_TARGET, description="Lignage par colonne, déduit des correspondances.")
def lineage(context: dg.AssetExecutionContext, target_rows):
    """Publish the column lineage of every target table and the count of row lineage records."""
    per_target = column_lineage([DEFAULT_MAPPINGS["ITAC"], DEFAULT_MAPPINGS["OPALES"]])
    assembly: Assembly = target_rows["assembly"]
    return dg.Output(
        per_target,
        metadata={
            "row_lineage_records": len(assembly.lineage),
            "column_lineage": dg.MetadataValue.json(per_target),
        },
    )


def all_assets(dictionaries: dict[str, Dictionary] | None = None) -> list:
    """Return every asset of a migration, for the bundled dictionaries by default."""
    if dictionaries is None:
        dictionaries = {app: load_dictionary(name) for app, name in APPLICATIONS.items()}
    assets = [delivery, target_rows, loaded_tables, quality_report, lineage]
    for application, dictionary in dictionaries.items():
        assets.append(build_table_assets(application, dictionary))
        assets.extend(build_application_assets(application, dictionary))
    return assets


def build_definitions(resources: dict | None = None) -> dg.Definitions:
    """Build the code location: every asset, check and resource of a migration."""
    return dg.Definitions(assets=all_assets(), resources=resources or default_resources())
