"""OpenLineage run events of a migration run: START, then COMPLETE or FAIL.

Events follow the OpenLineage 2-0-2 core schema. The job is the migration of one
département's delivery; inputs are the source tables (with a `schema` facet from the data
dictionary); outputs are the target tables (with `schema` and `columnLineage` facets, the
latter derived from the mapping files). The run carries the run record as the custom facet
`mdph_run` and, on FAIL, the standard `errorMessage` facet.

Events are appended as JSON lines to a file (`openlineage.jsonl` in the report folder by
default) and sent by HTTP POST only when an endpoint is configured (`MDPH_OPENLINEAGE_URL`,
with an optional bearer token in `MDPH_OPENLINEAGE_API_KEY`). A failed POST is logged and
counted, never raised: lineage transport must not fail a migration that succeeded.

Events carry table and column names, counts, checksums and paths, never a row value.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from migration import __version__
from migration.errors import MdphRepriseError
from migration.lineage.errors import LineageError
from migration.lineage.run_record import build_run_record
from migration.target.engine import describe_url
from migration.target.model import TargetSchema

logger = logging.getLogger(__name__)

URL_ENV = "MDPH_OPENLINEAGE_URL"
API_KEY_ENV = "MDPH_OPENLINEAGE_API_KEY"
NAMESPACE_ENV = "MDPH_OPENLINEAGE_NAMESPACE"
EVENTS_FILE = "openlineage.jsonl"

SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
SCHEMA_FACET_URL = "https://openlineage.io/spec/facets/1-0-0/SchemaDatasetFacet.json"
COLUMN_LINEAGE_FACET_URL = "https://openlineage.io/spec/facets/1-0-1/ColumnLineageDatasetFacet.json"
ERROR_FACET_URL = "https://openlineage.io/spec/facets/1-0-0/ErrorMessageRunFacet.json"
RUN_FACET_URL = f"urn:mdph-reprise:facets:MdphRunFacet:{__version__}"
PRODUCER = f"urn:mdph-reprise:{__version__}"
"""The producer URI. The product has no public home page, so a URN names it and its version."""

DEFAULT_JOB_NAMESPACE = "mdph-reprise"
SOURCE_NAMESPACE = "mdph-reprise-source"
"""Namespace of input datasets, named APPLICATION.TABLE (ITAC.DOSSIER): a source table lives in
an encrypted delivery, not at a stable address."""

RUN_ID_NAMESPACE = uuid.UUID("0f0c6a3e-7f57-4c55-9d1c-2a3f2b9e8d41")
"""UUID namespace turning a product run id (20261204T122834-56a9bd) into an OpenLineage runId."""

HTTP_TIMEOUT_SECONDS = 10
START, COMPLETE, FAIL = "START", "COMPLETE", "FAIL"


@dataclass
class EmitResult:
    """What emit_run_events did: the events built, the file written, and how many were sent."""

    events: list[dict]
    path: Path | None
    url: str | None = None
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def openlineage_run_id(run_id: str) -> str:
    """Return the OpenLineage runId (a UUID) of a product run id, the same on every call."""
    return str(uuid.uuid5(RUN_ID_NAMESPACE, str(run_id)))


def build_run_events(
    summary: Mapping,
    *,
    schema: TargetSchema | None = None,
    error: BaseException | str | None = None,
    job_namespace: str | None = None,
    ended_at: datetime.datetime | None = None,
) -> list[dict]:
    """Build the START event and the COMPLETE or FAIL event of a run.

    The run is COMPLETE when its status is "success" and no error is given, else FAIL (a
    blocked run or a reconciliation gap loads nothing, so the job failed).

    Args:
        summary: the run summary; only `run_id` is required, so a run that failed early (wrong
            password, missing file) can still report its failure.
        schema: the target schema, for output schema facets; the bundled schema by default.
        error: the error that stopped the run, if any. Its message goes into the
            `errorMessage` facet: product errors never contain personal values.
        job_namespace: OpenLineage job namespace; default MDPH_OPENLINEAGE_NAMESPACE or
            "mdph-reprise".
        ended_at: time of the COMPLETE or FAIL event; default the summary's finished_at, else now.

    Raises:
        LineageError: the summary has no run_id.
    """
    from migration.target.schema import load_target_schema

    run_id = summary.get("run_id")
    if not run_id:
        raise LineageError("cannot build OpenLineage events: the run summary has no run_id")
    schema = schema or load_target_schema()
    namespace = job_namespace or os.environ.get(NAMESPACE_ENV) or DEFAULT_JOB_NAMESPACE
    departement = (summary.get("delivery") or {}).get("departement")
    job = {"namespace": namespace, "name": f"reprise.{departement}" if departement else "reprise"}
    started = _event_time(summary.get("started_at")) or _now()
    ended = ended_at or _event_time(summary.get("finished_at")) or _now()
    inputs = _input_datasets(summary)
    outputs = _output_datasets(summary, schema)
    failed = error is not None or summary.get("status") != "success"

    run = {"runId": openlineage_run_id(run_id)}
    start_event = _event(START, started, run, job, inputs, [])
    end_run = dict(run)
    end_run["facets"] = {"mdph_run": _facet(RUN_FACET_URL, build_run_record(summary, schema))}
    if failed:
        end_run["facets"]["errorMessage"] = _facet(
            ERROR_FACET_URL,
            {"message": _error_message(summary, error), "programmingLanguage": "PYTHON"},
        )
    end_event = _event(FAIL if failed else COMPLETE, ended, end_run, job, inputs, outputs)
    return [start_event, end_event]


def emit_run_events(
    summary: Mapping,
    path: Path | None,
    *,
    schema: TargetSchema | None = None,
    error: BaseException | str | None = None,
    url: str | None = None,
    api_key: str | None = None,
) -> EmitResult:
    """Build the run's START and COMPLETE/FAIL events, append them to a file and send them.

    Args:
        summary: the run summary (see build_run_events).
        path: the JSON-lines file to append to, created with its folder if needed; None writes
            no file.
        schema: the target schema (see build_run_events).
        error: the error that stopped the run, if any.
        url: the endpoint to POST each event to (e.g. http://host:5000/api/v1/lineage); default
            MDPH_OPENLINEAGE_URL. Nothing is sent when neither is set.
        api_key: bearer token for the endpoint; default MDPH_OPENLINEAGE_API_KEY.

    Raises:
        LineageError: the events cannot be built or the file cannot be written. A failed POST
            is logged and counted in the result instead.
    """
    events = build_run_events(summary, schema=schema, error=error)
    if path is not None:
        write_events(events, Path(path))
    url = url or os.environ.get(URL_ENV) or None
    result = EmitResult(events=events, path=Path(path) if path is not None else None, url=url)
    if url:
        post_events(events, url, api_key or os.environ.get(API_KEY_ENV), result)
    logger.info(
        "OpenLineage events of run %s: %s, %d sent",
        summary.get("run_id"),
        " and ".join(event["eventType"] for event in events),
        result.sent,
    )
    return result


def write_events(events: Iterable[dict], path: Path) -> None:
    """Append events to a JSON-lines file, one compact JSON object per line.

    Raises:
        LineageError: the file or its folder cannot be written.
    """
    text = "".join(json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n" for event in events)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
    except OSError as error:
        raise LineageError(
            f"cannot write the OpenLineage events to {path}: {error.strerror}; check the "
            "permissions and free space of the report folder"
        ) from None


def post_events(
    events: Iterable[dict], url: str, api_key: str | None, result: EmitResult
) -> EmitResult:
    """POST each event as JSON to url, in order, recording successes and failures in result.

    A START that the endpoint rejects stops the sending, so the endpoint never sees a COMPLETE
    without its START.
    """
    shown = describe_url(url)
    headers = {"Content-Type": "application/json", "User-Agent": f"mdph-reprise/{__version__}"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    for event in events:
        body = json.dumps(event, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = _http_reason(error)
            result.failed += 1
            result.errors.append(f"{event['eventType']}: {reason}")
            logger.warning(
                "OpenLineage %s event not sent to %s: %s", event["eventType"], shown, reason
            )
            if event["eventType"] == START:
                break
            continue
        result.sent += 1
    return result


def _event(event_type, time, run, job, inputs, outputs) -> dict:
    return {
        "eventType": event_type,
        "eventTime": time.isoformat(timespec="milliseconds"),
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": run,
        "job": job,
        "inputs": inputs,
        "outputs": outputs,
    }


def _facet(schema_url: str, content: Mapping) -> dict:
    return {"_producer": PRODUCER, "_schemaURL": schema_url, **content}


def _input_datasets(summary: Mapping) -> list[dict]:
    """One input dataset per source table of the summary, with its dictionary's columns."""
    dictionaries = _load_dictionaries(summary)
    datasets = []
    for table in summary.get("tables") or []:
        application, name = table.get("application"), table.get("table")
        if not application or not name:
            continue
        dataset = {"namespace": SOURCE_NAMESPACE, "name": f"{application}.{name}"}
        source = dictionaries.get(application)
        columns = source.tables.get(name).columns if source and name in source.tables else []
        if columns:
            dataset["facets"] = {
                "schema": _facet(
                    SCHEMA_FACET_URL,
                    {"fields": [_source_field(column) for column in columns]},
                )
            }
        datasets.append(dataset)
    return datasets


def _source_field(column) -> dict:
    field_type = column.type.upper()
    if column.length:
        field_type += f"({column.length})"
    entry = {"name": column.name, "type": field_type}
    if column.description:
        entry["description"] = column.description
    return entry


def _output_datasets(summary: Mapping, schema: TargetSchema) -> list[dict]:
    """One output dataset per target table, with its columns and their column lineage."""
    from migration.mapping.lineage import column_lineage

    if summary.get("status") != "success":
        return []
    paths = [
        Path(entry["file"])
        for entry in (summary.get("mappings") or {}).values()
        if isinstance(entry, Mapping) and entry.get("file")
    ]
    try:
        lineage = column_lineage(paths)
    except MdphRepriseError as error:
        logger.warning("no column lineage in the OpenLineage events: %s", error)
        lineage = {}
    namespace, prefix = _database_naming(summary.get("target") or "")
    datasets = []
    for name, table in schema.tables.items():
        fields = {}
        for column, sources in lineage.get(name, {}).items():
            inputs = [
                {
                    "namespace": SOURCE_NAMESPACE,
                    "name": f"{source['application']}.{qualified.split('.', 1)[0]}",
                    "field": qualified.split(".", 1)[1],
                    "transformation": source["transformation"],
                }
                for source in sources
                for qualified in source["source_columns"]
            ]
            descriptions = sorted({source["transformation"] for source in sources})
            fields[column] = {
                "inputFields": inputs,
                "transformationDescription": "; ".join(descriptions),
            }
        facets = {
            "schema": _facet(
                SCHEMA_FACET_URL, {"fields": [_target_field(column) for column in table.columns]}
            )
        }
        if fields:
            facets["columnLineage"] = _facet(COLUMN_LINEAGE_FACET_URL, {"fields": fields})
        datasets.append({"namespace": namespace, "name": prefix + name, "facets": facets})
    return datasets


def _target_field(column) -> dict:
    field_type = column.type.upper()
    if column.length:
        field_type += f"({column.length})"
    elif column.precision is not None:
        field_type += f"({column.precision},{column.scale})"
    entry = {"name": column.name, "type": field_type}
    if column.description:
        entry["description"] = column.description
    return entry


def _database_naming(target: str) -> tuple[str, str]:
    """Return (namespace, table name prefix) of the target database, as OpenLineage names them.

    PostgreSQL is `postgres://host:port` with tables named `database.schema.table`; SQLite, which
    the naming conventions do not cover, is `sqlite://` plus the database file's path, with
    tables named by their own name. No user or password goes into a name.
    """
    try:
        url = make_url(target)
    except Exception:  # an unparsable URL still gets a namespace, without credentials
        return "mdph-reprise-target", ""
    backend = url.get_backend_name()
    if backend == "postgresql":
        return f"postgres://{url.host or 'localhost'}:{url.port or 5432}", f"{url.database}.public."
    if backend == "sqlite":
        database = url.database or ":memory:"
        path = database if database.startswith(":") else str(Path(database).resolve())
        return f"sqlite://{path}", ""
    return f"{backend}://{url.host or 'localhost'}", f"{url.database}." if url.database else ""


def _load_dictionaries(summary: Mapping) -> dict:
    from migration.dictionary.model import load_dictionary

    dictionaries = {}
    for application, entry in (summary.get("dictionaries") or {}).items():
        if not isinstance(entry, Mapping) or not entry.get("file"):
            continue
        try:
            dictionaries[application] = load_dictionary(entry["file"])
        except MdphRepriseError as error:
            logger.warning("no schema facet for %s: %s", application, error)
    return dictionaries


def _error_message(summary: Mapping, error: BaseException | str | None) -> str:
    if error is not None:
        return str(error)
    blocking = summary.get("blocking") or []
    if blocking:
        return "blocked: " + "; ".join(str(problem) for problem in blocking)
    return f"run ended with status {summary.get('status')}: nothing was loaded"


def _event_time(value: object) -> datetime.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _http_reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return type(error).__name__ + (f": {error}" if str(error) else "")


def load_events(path: Path) -> list[dict[str, Any]]:
    """Read the events of a JSON-lines file written by write_events."""
    return [
        json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line
    ]
