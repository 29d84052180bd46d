"""Run the real pipeline on a delivery up to the rows to load, and load them.

Shared by the redelivery, kill and reconciliation tests. It chains the steps of
`migration.steps` like `migration.run`, without reports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from migration.delivery.intake import open_delivery
from migration.dictionary.model import load_dictionary
from migration.mapping.assemble import Assembly, assemble
from migration.mapping.language import load_mapping
from migration.steps import (
    DEFAULT_MAPPINGS,
    ValidatedApplication,
    map_application,
    read_application,
    rejects_for_database,
    validate_application,
)
from migration.target.load import LoadResult, load_run
from migration.target.schema import load_target_schema
from tests.sample_delivery import generate_plaintext  # noqa: F401 (used by importers)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DELIVERY = ROOT / "sample_data" / "delivery"
SAMPLE_PASSWORD = "reprise-57-demo"
SCHEMA = load_target_schema()
STARTED_AT = dt.datetime(2008, 10, 20, 9, 30, tzinfo=dt.UTC)


@dataclass
class PipelineRows:
    """What the pipeline gives the loader for one delivery."""

    validated: list[ValidatedApplication]
    mapped: list
    assembly: Assembly

    def rejects(self, run_id: str) -> pd.DataFrame:
        return rejects_for_database(run_id, self.validated, self.assembly)

    def lineage(self, run_id: str) -> pd.DataFrame:
        return self.assembly.lineage.to_frame().assign(run_id=run_id)


def pipeline_rows(
    delivery: Path, workdir: Path, password: str = "", applications: list[str] | None = None
) -> PipelineRows:
    """Decrypt (or use in place) a delivery and run it up to assembly."""
    opened = open_delivery(delivery, password, workdir, applications=applications)
    validated, mapped = [], []
    for name, application in opened.applications.items():
        dictionary = load_dictionary(application.dictionary)
        reads = read_application(name, application.folder, dictionary)
        result = validate_application(name, dictionary, reads)
        validated.append(result)
        mapped.append(map_application(result, load_mapping(DEFAULT_MAPPINGS[name]), SCHEMA))
    rejected = pd.concat([result.rejected_lines() for result in validated], ignore_index=True)
    return PipelineRows(validated, mapped, assemble(mapped, SCHEMA, rejected))


def load_rows(
    engine, rows: PipelineRows, run_id: str, applications: list[str] | None = None
) -> LoadResult:
    """Load the rows of `rows` as run `run_id`."""
    run = {"run_id": run_id, "started_at": STARTED_AT, "status": "success"}
    return load_run(
        engine,
        SCHEMA,
        rows.assembly.frames,
        rows.rejects(run_id),
        rows.lineage(run_id),
        run,
        applications=applications,
    )


def edit_csv(path: Path, edit) -> None:
    """Rewrite a cp1252, CRLF delivery file: `edit(lines)` returns the new list of lines."""
    lines = path.read_bytes().decode("cp1252").split("\r\n")
    ending = lines.pop() if lines[-1] == "" else None
    lines = edit(lines)
    if ending is not None:
        lines.append(ending)
    path.write_bytes("\r\n".join(lines).encode("cp1252"))
