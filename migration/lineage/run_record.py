"""The run record: what an auditor needs to know, years later, about how a run was made.

It gathers from the run summary, in one JSON object: the run id, start and end, the delivery
and decrypted file checksums, the content hashes of the dictionaries, mappings and target
schema, the product version, the target database (password hidden) and every count. It is
stored in `reprise_run.summary_json` (as the summary's `run_record` key), shown on the report's
run page and sent as the OpenLineage run facet.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from migration.lineage.errors import LineageError
from migration.target.engine import describe_url
from migration.target.model import TargetSchema
from migration.target.product_tables import RUN_TABLE

logger = logging.getLogger(__name__)

COUNT_KEYS = ("read", "loaded", "rejected", "filtered", "warnings")


def schema_sha256(schema: TargetSchema) -> str:
    """Return the SHA-256 of a target schema's content, independent of YAML layout.

    The hash covers the canonical JSON of `schema_to_dict(schema)` (sorted keys), so comments and
    key order in the YAML file do not change it, while any table, column, key or code does.
    """
    from migration.target.schema import schema_to_dict

    canonical = json.dumps(schema_to_dict(schema), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def build_run_record(summary: Mapping, schema: TargetSchema | None = None) -> dict[str, Any]:
    """Return the run record of a run summary.

    Args:
        summary: the run summary (`migration.run.build_summary`), after loading if the run
            loaded, so that `targets` contains the loaded row counts.
        schema: the target schema of the run, to add its name, version and content hash when
            the summary lacks them.
    """
    delivery = _mapping(summary.get("delivery"))
    target_schema = dict(_mapping(summary.get("target_schema")))
    if schema is not None:
        target_schema.setdefault("name", schema.name)
        target_schema.setdefault("version", schema.version)
        target_schema.setdefault("sha256", schema_sha256(schema))
    tables = [
        {
            "application": table.get("application"),
            "table": table.get("table"),
            "file": table.get("file"),
            **{key: table.get(key) for key in COUNT_KEYS},
            "reconciled": table.get("reconciled"),
        }
        for table in _list(summary.get("tables"))
        if isinstance(table, Mapping)
    ]
    totals = {
        key: sum(table[key] for table in tables if isinstance(table[key], int))
        for key in COUNT_KEYS
    }
    targets = {
        entry.get("table"): entry.get("rows")
        for entry in _list(summary.get("targets"))
        if isinstance(entry, Mapping)
    }
    return {
        "run_id": summary.get("run_id"),
        "status": summary.get("status"),
        "started_at": summary.get("started_at"),
        "finished_at": summary.get("finished_at"),
        "product_version": summary.get("product_version"),
        "target": describe_url(summary.get("target") or ""),
        "delivery": {
            "path": delivery.get("path"),
            "departement": delivery.get("departement"),
            "date_extraction": delivery.get("date_extraction"),
            "files": [
                {
                    key: entry.get(key)
                    for key in ("application", "file", "sha256_encrypted", "sha256_plaintext")
                }
                for entry in _list(delivery.get("files"))
                if isinstance(entry, Mapping)
            ],
        },
        "dictionaries": _hashed(summary.get("dictionaries")),
        "mappings": _hashed(summary.get("mappings")),
        "target_schema": target_schema,
        "counts": {
            "tables": tables,
            "totals": totals,
            "targets": targets,
            "target_rows": sum(rows for rows in targets.values() if isinstance(rows, int)),
            "reconciled_tables": sum(1 for table in tables if table["reconciled"] is True),
            "identity": dict(_mapping(summary.get("identity"))),
        },
    }


def finish_run(engine: sa.Engine, summary: Mapping, schema: TargetSchema | None = None) -> None:
    """Write the end time, status and final summary (with its run record) into reprise_run.

    The load writes the run row before the run ends, without its end time or loaded counts. A
    run calls this after the load, so that the stored record is complete. The stored summary
    gets a `run_record` key.

    Raises:
        LineageError: the run row does not exist (the run did not load) or cannot be updated.
    """
    from migration.target.schema import build_product_metadata, load_target_schema

    if not summary.get("finished_at"):
        summary = dict(summary) | {
            "finished_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        }
    schema = schema or load_target_schema()
    record = build_run_record(summary, schema)
    stored = dict(summary) | {"run_record": record}
    runs = build_product_metadata().tables[RUN_TABLE]
    finished = datetime.datetime.fromisoformat(str(summary["finished_at"]))
    try:
        with engine.begin() as connection:
            result = connection.execute(
                runs.update()
                .where(runs.c.run_id == summary.get("run_id"))
                .values(
                    finished_at=finished,
                    status=summary.get("status"),
                    summary_json=json.dumps(stored, ensure_ascii=False, default=str),
                )
            )
    except sa.exc.SQLAlchemyError as error:
        raise LineageError(
            f"cannot update run {summary.get('run_id')} in {RUN_TABLE} of "
            f"{describe_url(engine.url)}: {type(error).__name__}; check the target database"
        ) from None
    if result.rowcount != 1:
        raise LineageError(
            f"run {summary.get('run_id')} has no row in {RUN_TABLE} of "
            f"{describe_url(engine.url)}; call finish_run only after a successful load"
        )
    logger.info("recorded the end of run %s in %s", summary.get("run_id"), RUN_TABLE)


def _hashed(raw: object) -> dict[str, dict[str, Any]]:
    return {
        str(name): {key: entry.get(key) for key in ("file", "version", "sha256") if key in entry}
        for name, entry in _mapping(raw).items()
        if isinstance(entry, Mapping)
    }


def _mapping(value: object) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list:
    return list(value) if isinstance(value, list | tuple) else []
