"""Assets of a one-application load, partitioned by département and application.

A partial delivery, such as OPALES delivered again alone, is loaded by materialising the
partition of that département and application. Its rows replace that application's earlier
rows only, and identity resolution also receives the individuals that the other application already
has in the target, so children still merge with the adults an earlier load brought in.
"""

from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from assets.departements import DepartementConfig, application_partitions
from assets.resources import DepartementsResource
from assets.shared import (
    LoadConfig,
    blocking_check_result,
    intake_check_specs,
    intake_events,
    load_events,
    open_in_stage,
    partition_application,
    partition_departement,
    read_target_identities,
    reconciliation_result,
    report_output,
    rows_metadata,
)
from assets.staging import (
    ASSEMBLED_FOLDER,
    fresh_private_dir,
    remove_stage_folders,
)
from migration.dictionary.model import Dictionary
from migration.mapping.assemble import assemble
from migration.mapping.checks import check_mapping
from migration.mapping.language import load_mapping
from migration.run import process_application
from migration.steps import DEFAULT_MAPPINGS, reconcile, release_rows
from migration.target.schema import load_target_schema

GROUP_APPLICATION = "application"
STRUCTURE_CHECK = "structure"


def build_application_job_assets(
    dictionaries: Mapping[str, Dictionary], departements: Mapping[str, DepartementConfig]
) -> list[dg.AssetsDefinition]:
    """Build the intake, rows, load and report assets of a one-application load."""
    partitions_def = application_partitions(departements)

    @dg.asset(
        group_name=GROUP_APPLICATION,
        partitions_def=partitions_def,
        check_specs=intake_check_specs("application_delivery"),
        description="Livraison d'une application : ses fichiers déchiffrés et contrôlés.",
    )
    def application_delivery(context: dg.AssetExecutionContext, departements: DepartementsResource):
        """Decrypt and check the files of one application only, as for a partial delivery."""
        yield from intake_events(context, departements, [partition_application(context)])

    @dg.asset(
        group_name=GROUP_APPLICATION,
        partitions_def=partitions_def,
        check_specs=[
            dg.AssetCheckSpec(
                STRUCTURE_CHECK,
                asset="application_rows",
                blocking=True,
                description="fichiers lisibles, en-têtes conformes au dictionnaire",
            ),
            dg.AssetCheckSpec(
                "reconciliation",
                asset="application_rows",
                blocking=True,
                description="lues = chargées + rejetées + filtrées, pour chaque table source",
            ),
        ],
        description="Lignes cibles d'une application, identités rapprochées de la base cible.",
    )
    def application_rows(
        context: dg.AssetExecutionContext,
        application_delivery: dict,
        departements: DepartementsResource,
    ):
        """Read, validate and map one application, then assemble it with the target's people."""
        code = partition_departement(context)
        application = partition_application(context)
        dictionary = dictionaries[application]
        policy = (application_delivery.get("config") or {}).get("regles")
        mapping = load_mapping(DEFAULT_MAPPINGS[application])
        schema = load_target_schema()
        check_mapping(mapping, dictionary, schema, strict=True)
        stage_folder, folder, opened = open_in_stage(context, departements, application)
        # The intake checks already compared the extraction logs with the files.
        validated, mapped, _ = process_application(
            opened.applications[application],
            dictionary,
            {},
            policy,
            mapping,
            schema,
            stage_folder=folder,
        )

        others = [name for name in DEFAULT_MAPPINGS if name != application]
        decisions, existing = read_target_identities(departements.target_url(code), others)
        # NOTE: the individuals are read here and the load writes later, in another step, so
        # two runs loading the same département at once could both miss each other's people.
        # deploy/dagster.yaml runs one run at a time.
        assembly = assemble(
            [mapped],
            schema,
            validated.rejected_lines(),
            decisions,
            existing,
            release_mapped=True,
            stage_folder=fresh_private_dir(stage_folder / ASSEMBLED_FOLDER),
        )
        release_rows([validated], assembly)
        counts = reconcile([validated], assembly)
        if validated.blocking or not all(table["reconciled"] for table in counts):
            # A blocking check stops the load, the only step that reads the staged rows.
            remove_stage_folders([stage_folder], context.log)
        context.log.info(
            "%s of département %s: %d existing individuals of %s offered to identity resolution",
            application,
            code,
            len(existing),
            ", ".join(others),
        )
        yield dg.Output(
            {
                "assembly": assembly,
                "counts": counts,
                "validated": [validated],
                "mappings": {application: mapping},
                "stage_folders": [stage_folder],
            },
            metadata={
                **rows_metadata(assembly),
                "existing_individuals": len(existing),
                "rows_read_by_table": dg.MetadataValue.json(
                    {table["table"]: table["read"] for table in counts}
                ),
            },
        )
        yield blocking_check_result(
            context,
            STRUCTURE_CHECK,
            validated.blocking,
            metadata={"problems": dg.MetadataValue.md("\n".join(validated.blocking) or "aucun")},
        )
        yield reconciliation_result(context, counts)

    @dg.asset(
        group_name=GROUP_APPLICATION,
        partitions_def=partitions_def,
        description="Lignes d'une application chargées, celles de l'autre application gardées.",
    )
    def application_loaded(
        context: dg.AssetExecutionContext,
        config: LoadConfig,
        application_rows: dict,
        application_delivery: dict,
        departements: DepartementsResource,
    ):
        """Replace one application's rows in the target, in one transaction."""
        applications = [partition_application(context)]
        return load_events(
            context, application_rows, application_delivery, departements, config, applications
        )

    @dg.asset(
        group_name=GROUP_APPLICATION,
        partitions_def=partitions_def,
        description="Rapport qualité du chargement d'une application.",
    )
    def application_report(
        context: dg.AssetExecutionContext, application_loaded, departements: DepartementsResource
    ):
        """Write the quality report of the load into <reports_dir>/<application>."""
        code = partition_departement(context)
        application = partition_application(context)
        reports_dir = Path(departements.settings(code).reports_dir) / application.lower()
        return report_output(application_loaded, reports_dir, departements.target_url(code))

    return [application_delivery, application_rows, application_loaded, application_report]
