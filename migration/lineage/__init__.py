"""Lineage of a migration run: row lineage queries, the run record and OpenLineage events.

- `queries`: from a target row to its source rows, from a source row to its target rows,
  rejects or filters, over the product tables of the target database.
- `commands`: the `mdph-reprise lineage` command line.
- `run_record`: checksums, content hashes, versions and counts of a run.
- `openlineage`: START and COMPLETE/FAIL events, written to JSON lines and optionally POSTed.
- `dagster_metadata`: column lineage as Dagster metadata.
"""

from migration.lineage.errors import LineageError, NotTracedError
from migration.lineage.openlineage import build_run_events, emit_run_events
from migration.lineage.queries import SourceTrace, TargetTrace, trace_source, trace_target
from migration.lineage.run_record import build_run_record, finish_run, schema_sha256

__all__ = [
    "LineageError",
    "NotTracedError",
    "SourceTrace",
    "TargetTrace",
    "build_run_events",
    "build_run_record",
    "emit_run_events",
    "finish_run",
    "schema_sha256",
    "trace_source",
    "trace_target",
]
