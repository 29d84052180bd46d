"""OpenLineage events of a run: valid against the vendored schemas, written as JSON lines, and
sent only to an endpoint the user configured (here a server on 127.0.0.1 started by the test)."""

import http.server
import json
import threading
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from migration.lineage import LineageError, build_run_events, emit_run_events
from migration.lineage.openlineage import (
    API_KEY_ENV,
    URL_ENV,
    load_events,
    openlineage_run_id,
)

SCHEMAS = Path(__file__).parent / "schemas"
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
# The vendored facets refer to core spec 1-0-2, resolved to the 2-0-2 file (see schemas/README.md).
CORE_1_0_2 = "https://openlineage.io/spec/1-0-2/OpenLineage.json"


@pytest.fixture(scope="module")
def registry():
    resources = [
        Resource.from_contents(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(SCHEMAS.glob("*.json"))
    ]
    core = next(resource for resource in resources if resource.id() == CORE)
    return Registry().with_resources(
        [(resource.id(), resource) for resource in resources] + [(CORE_1_0_2, core)]
    )


def schema_errors(registry, document, reference):
    validator = Draft202012Validator(
        {"$ref": reference},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    return [error.message for error in validator.iter_errors(document)]


def event_errors(registry, event):
    """Errors of an event against the core RunEvent and of each facet against its own schema."""
    errors = schema_errors(registry, event, CORE + "#/$defs/RunEvent")
    facets = [("run", name, facet) for name, facet in event["run"].get("facets", {}).items()]
    for dataset in event["inputs"] + event["outputs"]:
        facets += [(dataset["name"], name, facet) for name, facet in dataset["facets"].items()]
    for owner, name, facet in facets:
        if facet["_schemaURL"].startswith("https://openlineage.io/"):
            for message in schema_errors(registry, {name: facet}, facet["_schemaURL"]):
                errors.append(f"{owner} {name}: {message}")
    return errors


@pytest.fixture(scope="module")
def events(sample_run):
    return build_run_events(sample_run.outcome.summary)


def test_start_and_complete_validate(registry, events):
    assert [event["eventType"] for event in events] == ["START", "COMPLETE"]
    for event in events:
        assert event_errors(registry, event) == [], event["eventType"]


def test_validation_rejects_broken_event(registry, events):
    broken = json.loads(json.dumps(events[1]))
    del broken["job"]
    facet = broken["outputs"][0]["facets"]["columnLineage"]
    del facet["fields"]

    errors = event_errors(registry, broken)

    assert any("'job' is a required property" in error for error in errors)
    assert any("columnLineage: 'fields' is a required property" in error for error in errors)


def test_events_share_one_uuid_run_id(events, sample_run):
    run_id = sample_run.outcome.summary["run_id"]

    assert events[0]["run"]["runId"] == events[1]["run"]["runId"] == openlineage_run_id(run_id)
    assert events[1]["run"]["facets"]["mdph_run"]["run_id"] == run_id


def test_inputs_are_source_tables_with_schema(events, sample_run):
    names = [dataset["name"] for dataset in events[1]["inputs"]]
    dossier = next(d for d in events[1]["inputs"] if d["name"] == "ITAC.DOSSIER")
    fields = {field["name"]: field["type"] for field in dossier["facets"]["schema"]["fields"]}

    assert len(names) == len(sample_run.outcome.summary["tables"])
    assert fields["NUM_DOSSIER"] == "TEXT(10)"
    assert fields["DATE_NAISSANCE"] == "DATE"


def test_outputs_have_column_lineage(events, sample_run):
    individu = next(d for d in events[1]["outputs"] if d["name"] == "individu")
    lineage = individu["facets"]["columnLineage"]["fields"]
    inputs = {(f["name"], f["field"]) for f in lineage["nom_naissance"]["inputFields"]}

    assert individu["namespace"] == "sqlite://" + sample_run.url.removeprefix("sqlite:///")
    assert inputs == {
        ("ITAC.DOSSIER", "NOM_NAISSANCE"),
        ("ITAC.ARCHIVE", "NOM_NAISSANCE"),
        ("OPALES.ENFANT", "NOM"),
    }
    assert "trim" in lineage["nom_naissance"]["transformationDescription"]


def test_run_facet_has_counts_and_hashes(events, sample_run):
    record = events[1]["run"]["facets"]["mdph_run"]

    assert record["counts"]["totals"]["read"] == sum(
        table["read"] for table in sample_run.outcome.summary["tables"]
    )
    assert len(record["target_schema"]["sha256"]) == 64
    assert record["dictionaries"]["ITAC"]["sha256"]


def test_events_hold_no_row_value(events, sample_run):
    with sample_run.engine.connect() as connection:
        names = connection.exec_driver_sql("SELECT nom_naissance FROM individu").scalars().all()
    text = json.dumps(events, ensure_ascii=False)

    assert not [name for name in set(names) if len(name) >= 5 and f'"{name}"' in text]


def test_failed_run_gives_fail_event(registry):
    summary = {"run_id": "20081014T220117-ab12cd", "started_at": "2008-10-14T22:01:17+00:00"}

    events = build_run_events(summary, error=ValueError("wrong password for DOSSIER.csv.enc"))

    assert [event["eventType"] for event in events] == ["START", "FAIL"]
    assert events[1]["run"]["facets"]["errorMessage"]["message"] == (
        "wrong password for DOSSIER.csv.enc"
    )
    assert events[1]["outputs"] == []
    for event in events:
        assert event_errors(registry, event) == []


def test_blocked_run_gives_fail_event(sample_run):
    summary = dict(sample_run.outcome.summary, status="blocked", blocking=["DOSSIER.csv: header"])

    events = build_run_events(summary)

    assert events[1]["eventType"] == "FAIL"
    assert "DOSSIER.csv: header" in events[1]["run"]["facets"]["errorMessage"]["message"]


def test_summary_without_run_id_raises():
    with pytest.raises(LineageError, match="no run_id"):
        build_run_events({})


def test_emit_appends_json_lines_without_sending(sample_run, tmp_path, monkeypatch):
    monkeypatch.delenv(URL_ENV, raising=False)
    path = tmp_path / "lineage" / "openlineage.jsonl"

    first = emit_run_events(sample_run.outcome.summary, path)
    emit_run_events(sample_run.outcome.summary, path)

    assert first.url is None
    assert first.sent == 0
    assert [event["eventType"] for event in load_events(path)] == [
        "START",
        "COMPLETE",
        "START",
        "COMPLETE",
    ]


class Collector(http.server.BaseHTTPRequestHandler):
    """Reply to each POST with the server's status and keep the requests received."""

    def do_POST(self):  # noqa: N802 (the http.server API)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, dict(self.headers), json.loads(body)))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    server = http.server.HTTPServer(("127.0.0.1", 0), Collector)
    server.received = []
    server.status = 201
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_emit_posts_to_configured_endpoint(sample_run, tmp_path, endpoint, monkeypatch):
    url = f"http://127.0.0.1:{endpoint.server_port}/api/v1/lineage"
    monkeypatch.setenv(URL_ENV, url)
    monkeypatch.setenv(API_KEY_ENV, "token-123")

    result = emit_run_events(sample_run.outcome.summary, tmp_path / "events.jsonl")

    assert result.sent == 2
    assert result.failed == 0
    assert [body["eventType"] for _, _, body in endpoint.received] == ["START", "COMPLETE"]
    path, headers, _ = endpoint.received[0]
    assert path == "/api/v1/lineage"
    assert headers["Authorization"] == "Bearer token-123"
    assert headers["Content-Type"] == "application/json"
    assert load_events(tmp_path / "events.jsonl") == [body for _, _, body in endpoint.received]


def test_rejected_start_stops_sending(sample_run, endpoint, caplog):
    endpoint.status = 500
    url = f"http://127.0.0.1:{endpoint.server_port}/lineage"

    result = emit_run_events(sample_run.outcome.summary, None, url=url)

    assert result.sent == 0
    assert result.failed == 1
    assert len(endpoint.received) == 1
    assert "HTTP 500" in result.errors[0]
    assert "OpenLineage START event not sent" in caplog.text


def test_unreachable_endpoint_is_logged_not_raised(sample_run, caplog):
    server = http.server.HTTPServer(("127.0.0.1", 0), Collector)
    port = server.server_port
    server.server_close()

    result = emit_run_events(sample_run.outcome.summary, None, url=f"http://127.0.0.1:{port}/x")

    assert result.sent == 0
    assert result.failed == 1
    assert "not sent to http://127.0.0.1" in caplog.text
