"""The Dagster assets of a migration: one asset per step, one per source table.

Assets stay thin: each calls a step of `migration.steps` and publishes counts as metadata.
Structural problems of a table and reconciliation gaps are blocking checks, so nothing
downstream runs on a broken input.
"""

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import dagster as dg
import pandas as pd

from assets.application import build_application_job_assets
from assets.departements import (
    APPLICATION_JOB,
    MIGRATION_JOB,
    DepartementConfig,
    departement_partitions,
    load_departements,
)
from assets.resources import DepartementsResource, default_resources
from assets.shared import (
    LoadConfig,
    blocking_check_result,
    intake_check_specs,
    intake_events,
    load_events,
    open_in_stage,
    partition_departement,
    read_target_identities,
    reconciliation_result,
    report_output,
    rows_metadata,
)
from assets.staging import (
    ASSEMBLED_FOLDER,
    SourceTableValue,
    fresh_private_dir,
    keeping_mapped_files,
    keeping_source_files,
    remove_stage_folders,
    require_stage_folders,
)
from migration.dictionary.model import Dictionary, load_dictionary
from migration.mapping.assemble import Assembly, assemble
from migration.mapping.checks import check_mapping
from migration.mapping.language import load_mapping
from migration.mapping.lineage import column_lineage
from migration.mapping.staging import FrameStage
from migration.reading.csv_reader import read_table
from migration.reading.findings import ERROR
from migration.steps import (
    DEFAULT_MAPPINGS,
    StagedTable,
    ValidatedTable,
    combine_application,
    combine_staged_tables,
    map_application,
    reconcile,
    release_rows,
    validate_one_table,
    validate_tables_staged,
)
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
MAX_CONCURRENT_VARIABLE = "MDPH_DAGSTER_MAX_CONCURRENT"
DEFAULT_MAX_CONCURRENT = 2


def table_asset_name(application: str, table: str) -> str:
    """Asset name of a source table, e.g. itac_dossier."""
    return f"{application}_{table}".lower()


def build_delivery_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Build the intake asset of a département's whole delivery."""

    @dg.asset(
        name="delivery",
        group_name=GROUP_INTAKE,
        partitions_def=partitions_def,
        check_specs=intake_check_specs("delivery"),
        description=(
            "Livraison chiffrée : manifeste SHA-256 vérifié, fichiers déchiffrés et contrôlés."
        ),
    )
    def delivery(context: dg.AssetExecutionContext, departements: DepartementsResource):
        """Decrypt the delivery into a private folder, check it, and keep only its inventory."""
        yield from intake_events(context, departements)

    return delivery


def build_table_assets(
    application: str, dictionary: Dictionary, partitions_def: dg.PartitionsDefinition
):
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
        partitions_def=partitions_def,
    )
    def read_tables(context: dg.AssetExecutionContext, departements: DepartementsResource):
        """Decrypt and validate the application's tables in chunks, into the run's stage folder
        (see `open_in_stage`)."""
        stage_folder, folder, opened = open_in_stage(context, departements, application)
        plaintext = opened.applications[application].folder
        policy = opened.config.get("regles")
        stage = FrameStage(folder, f"rejected-{application}")
        for name, table in _validated_tables(application, dictionary, plaintext, folder, policy):
            key = table_asset_name(application, name)
            if isinstance(table, StagedTable):
                value = SourceTableValue.staged(table, stage_folder, stage)
            else:
                value = SourceTableValue(table, stage_folder)
            yield from _table_events(context, key, value)
            context.log.info("%s: %d rows, %d findings", key, table.read.read, len(table.findings))

    return read_tables


def _validated_tables(
    application: str, dictionary: Dictionary, plaintext: Path, folder: Path, policy
) -> Iterator[tuple[str, StagedTable | ValidatedTable]]:
    """Validate the tables in chunks, staging their rows in `folder`, as `mdph-reprise run` does.

    An application whose foreign keys form a cycle is validated one whole table at a time,
    and its values then contain the rows.
    """
    staged = validate_tables_staged(application, plaintext, dictionary, folder, None, policy)
    if staged is not None:
        yield from staged.items()
        return
    for name, table in dictionary.tables.items():
        read = read_table(application, table, plaintext / table.file)
        yield name, validate_one_table(read, dictionary, policy)


def _table_events(context: dg.AssetExecutionContext, key: str, value: SourceTableValue):
    read = value.table.read
    findings = value.table.findings
    errors = findings[findings["severity"] == ERROR]
    by_rule = findings.groupby("rule_id").size().to_dict()
    columns = dg.TableSchema(
        columns=[
            dg.TableColumn(column.name, column.type, description=column.description or None)
            for column in read.table.columns
        ]
    )
    yield dg.Output(
        value,
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
    yield blocking_check_result(
        context,
        "structure",
        read.blocking,
        asset_key=key,
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


def build_application_assets(
    application: str, dictionary: Dictionary, partitions_def: dg.PartitionsDefinition
):
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
        partitions_def=partitions_def,
        check_specs=[
            dg.AssetCheckSpec(
                family, asset=f"{prefix}_validated", description=FAMILY_DESCRIPTIONS[family]
            )
            for family in APPLICATION_FAMILIES
        ],
        description=f"Tables {application} validées, clés entre tables contrôlées.",
    )
    def validated_asset(
        context: dg.AssetExecutionContext, delivery: dict, **tables: SourceTableValue
    ):
        """Put the application's tables together, with the findings between its tables."""
        [stage_folder] = {value.stage_folder for value in tables.values()}
        require_stage_folders([stage_folder], f"{prefix}_validated", context.run)
        by_name = {value.table.read.table.name: value.restored() for value in tables.values()}
        policy = (delivery.get("config") or {}).get("regles")
        if all(isinstance(table, StagedTable) for table in by_name.values()):
            # The staged validation found the keys between tables and the plausibility.
            result = combine_staged_tables(application, dictionary, by_name, policy)
        else:
            result = combine_application(application, dictionary, by_name, policy)
        yield dg.Output(
            {"validated": result, "stage_folder": stage_folder},
            metadata={"findings": len(result.findings)},
        )
        yield from _family_checks(f"{prefix}_validated", result.findings, APPLICATION_FAMILIES)

    @dg.asset(
        name=f"{prefix}_mapped",
        ins={"validated": dg.AssetIn(f"{prefix}_validated")},
        group_name=GROUP_TARGET,
        partitions_def=partitions_def,
        description=f"Lignes cibles produites par la correspondance {application}.",
    )
    def mapped_asset(context: dg.AssetExecutionContext, validated: dict):
        """Map the staged rows of the application, staging the mapped frames."""
        mapping = load_mapping(DEFAULT_MAPPINGS[application])
        schema = load_target_schema()
        check_mapping(mapping, dictionary, schema, strict=True)
        stage_folder = validated["stage_folder"]
        require_stage_folders([stage_folder], f"{prefix}_mapped", context.run)
        folder = fresh_private_dir(stage_folder / f"{prefix}-mapped")
        sources = keeping_source_files(validated["validated"])
        result = map_application(sources, mapping, schema, folder, release_sources=True)
        rows = {target: sum(len(f) for f in frames) for target, frames in result.frames.items()}
        return dg.Output(
            {"mapped": result, "mapping": mapping, "stage_folder": stage_folder},
            metadata={
                "rows_by_target": dg.MetadataValue.json(rows),
                "mapping_sha256": mapping.sha256,
                "rejects": len(result.rejects),
            },
        )

    return [validated_asset, mapped_asset]


def build_target_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """Build the assets that join both applications: target rows, load, report, lineage."""

    @dg.asset(
        group_name=GROUP_TARGET,
        partitions_def=partitions_def,
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
    def target_rows(
        context,
        itac_validated,
        opales_validated,
        itac_mapped,
        opales_mapped,
        departements: DepartementsResource,
    ):
        """Assemble the mapped rows of both applications and reconcile every source table.

        The identity decisions an analyst stored in the target apply here as in the CLI.
        """
        inputs = [itac_validated, opales_validated, itac_mapped, opales_mapped]
        stage_folders = sorted({value["stage_folder"] for value in inputs})
        require_stage_folders(stage_folders, "target_rows", context.run)
        validated = [itac_validated["validated"], opales_validated["validated"]]
        mapped = [keeping_mapped_files(value["mapped"]) for value in (itac_mapped, opales_mapped)]
        rejected = pd.concat([v.rejected_lines() for v in validated], ignore_index=True)
        url = departements.target_url(partition_departement(context))
        decisions, _ = read_target_identities(url, [])
        folder = fresh_private_dir(stage_folders[0] / ASSEMBLED_FOLDER)
        assembly = assemble(
            mapped,
            load_target_schema(),
            rejected,
            decisions,
            release_mapped=True,
            stage_folder=folder,
        )
        release_rows(validated, assembly)
        counts = reconcile(validated, assembly)
        if not all(table["reconciled"] for table in counts):
            # The blocking check stops the load, the only step that reads the staged rows.
            remove_stage_folders(stage_folders, context.log)
        yield dg.Output(
            {
                "assembly": assembly,
                "counts": counts,
                "validated": validated,
                "mappings": {"ITAC": itac_mapped["mapping"], "OPALES": opales_mapped["mapping"]},
                "stage_folders": stage_folders,
            },
            metadata=rows_metadata(assembly),
        )
        yield reconciliation_result(context, counts)

    @dg.asset(
        group_name=GROUP_TARGET,
        partitions_def=partitions_def,
        description="Tables cibles chargées dans la base de la MDPH.",
    )
    def loaded_tables(
        context: dg.AssetExecutionContext,
        config: LoadConfig,
        target_rows,
        delivery,
        departements: DepartementsResource,
    ):
        """Load the assembled rows, the rejects and the lineage in one transaction."""
        return load_events(context, target_rows, delivery, departements, config)

    @dg.asset(
        group_name=GROUP_TARGET,
        partitions_def=partitions_def,
        description="Rapport qualité HTML et résumé JSON.",
    )
    def quality_report(
        context: dg.AssetExecutionContext, loaded_tables, departements: DepartementsResource
    ):
        """Write the quality report (HTML pages, JSON, XLSX) and the OpenLineage events."""
        code = partition_departement(context)
        reports_dir = Path(departements.settings(code).reports_dir)
        return report_output(loaded_tables, reports_dir, departements.target_url(code))

    @dg.asset(
        group_name=GROUP_TARGET,
        partitions_def=partitions_def,
        description="Lignage par colonne, déduit des correspondances.",
    )
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

    return [target_rows, loaded_tables, quality_report, lineage]


def bundled_dictionaries() -> dict[str, Dictionary]:
    """Return the bundled data dictionary of each application."""
    return {app: load_dictionary(name) for app, name in APPLICATIONS.items()}


def all_assets(
    dictionaries: dict[str, Dictionary] | None = None,
    departements: Mapping[str, DepartementConfig] | None = None,
) -> list:
    """Return the assets of a whole migration, partitioned by département.

    The dictionaries default to the bundled ones, the départements to `load_departements()`.
    """
    if dictionaries is None:
        dictionaries = bundled_dictionaries()
    if departements is None:
        departements = load_departements()
    partitions_def = departement_partitions(departements)
    assets = [build_delivery_asset(partitions_def), *build_target_assets(partitions_def)]
    for application, dictionary in dictionaries.items():
        assets.append(build_table_assets(application, dictionary, partitions_def))
        assets.extend(build_application_assets(application, dictionary, partitions_def))
    return assets


def max_concurrent_steps(environ: Mapping[str, str] | None = None) -> int:
    """Return the maximum number of step processes of a run, from MDPH_DAGSTER_MAX_CONCURRENT.

    The default, 2, runs the ITAC and OPALES branches side by side, because the graph has no
    third independent branch.
    """
    environ = os.environ if environ is None else environ
    value = environ.get(MAX_CONCURRENT_VARIABLE, "").strip()
    if not value:
        return DEFAULT_MAX_CONCURRENT
    if not value.isdigit() or int(value) < 1:
        raise ValueError(
            f"{MAX_CONCURRENT_VARIABLE}={value!r} is invalid; give a whole number of processes, "
            "at least 1"
        )
    return int(value)


def build_definitions(
    resources: dict | None = None,
    departements: Mapping[str, DepartementConfig] | None = None,
) -> dg.Definitions:
    """Build the code location: every asset, check, job and resource of a migration.

    Args:
        resources: the resources to use; default `default_resources(departements)`.
        departements: the départements to partition by; default `load_departements()`.
    """
    if departements is None:
        departements = load_departements()
    dictionaries = bundled_dictionaries()
    migration_assets = all_assets(dictionaries, departements)
    application_assets = build_application_job_assets(dictionaries, departements)
    # The ITAC and OPALES branches of a département share no step until target_rows, so
    # separate processes run them side by side. Ad hoc materialisations from the UI use the
    # same executor.
    executor = dg.multiprocess_executor.configured(
        {"max_concurrent": max_concurrent_steps()}, name="multiprocess_migration"
    )
    migration_job = dg.define_asset_job(
        MIGRATION_JOB,
        selection=dg.AssetSelection.assets(*migration_assets),
        executor_def=executor,
        description="Migration complète d'un département, chargée en une transaction.",
    )
    # A one-application load is a chain of steps, none of which could run beside another, so
    # its steps run in the run's own process and skip the start-up of one process per step.
    application_job = dg.define_asset_job(
        APPLICATION_JOB,
        selection=dg.AssetSelection.assets(*application_assets),
        executor_def=dg.in_process_executor,
        description="Chargement d'une seule application d'un département (livraison partielle).",
    )
    return dg.Definitions(
        assets=[*migration_assets, *application_assets],
        jobs=[migration_job, application_job],
        executor=executor,
        resources=resources or default_resources(departements),
    )
