"""One run of the bundled sample delivery into SQLite, with its full report, for the tests.

The run uses the library directly so the report can be written with the target engine (the
lineage look-up, the database counts and the persons merged across applications need it),
whatever the command line does.
"""

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from migration.lineage.openlineage import emit_run_events
from migration.lineage.run_record import finish_run
from migration.reports import write_reports
from migration.run import RunOptions, RunOutcome, run_migration
from migration.target.engine import create_target_engine

ROOT = Path(__file__).resolve().parents[2]
DELIVERY = ROOT / "sample_data" / "delivery"
PASSWORD = "reprise-57-demo"


@dataclass
class SampleRun:
    """The outcome, database and report folder of one sample run."""

    outcome: RunOutcome
    url: str
    engine: sa.Engine
    reports: Path
    paths: dict[str, Path]


def run_sample(folder: Path, language: str = "fr", delivery: Path = DELIVERY) -> SampleRun:
    """Run the sample delivery into folder/mdph.sqlite3 and write its report to folder/rapports.

    `delivery` replaces the bundled sample, for example with an edited copy of it.
    """
    url = f"sqlite:///{folder / 'mdph.sqlite3'}"
    options = RunOptions(delivery=delivery, target_url=url, reports_dir=folder / "run_reports")
    outcome = run_migration(options, PASSWORD)
    engine = create_target_engine(url)
    finish_run(engine, outcome.summary)
    reports = folder / "rapports"
    emit_run_events(outcome.summary, reports / "openlineage.jsonl")
    paths = write_reports(outcome.summary, reports, language, engine=engine)
    return SampleRun(outcome, url, engine, reports, paths)
