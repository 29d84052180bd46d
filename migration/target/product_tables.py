"""The product's own tables in the target database: runs, rejects and lineage."""

from __future__ import annotations

from migration.target.model import ForeignKey, TargetColumn, TargetTable

RUN_TABLE = "reprise_run"
REJECT_TABLE = "reprise_rejet"
LINEAGE_TABLE = "reprise_lignage"

REJECT_ID_COLUMN = "id"
"""Autoincrement key of reprise_rejet; the database assigns it, frames never carry it."""


def _text(name: str, length: int | None, nullable: bool = True, description: str | None = None):
    return TargetColumn(
        name=name, type="text", length=length, nullable=nullable, description=description
    )


RUN = TargetTable(
    name=RUN_TABLE,
    description="One run of mdph-reprise on a delivery.",
    columns=[
        _text("run_id", 64, nullable=False),
        TargetColumn("started_at", "timestamp", nullable=False),
        TargetColumn("finished_at", "timestamp"),
        _text("status", 20, nullable=False),
        _text("product_version", 40),
        _text("delivery_path", 1000),
        _text("departement", 3),
        _text("target_url", 1000, description="target database URL with its password hidden"),
        _text("summary_json", None, description="JSON summary of the run"),
    ],
    primary_key=["run_id"],
)

REJECT = TargetTable(
    name=REJECT_TABLE,
    description="A source row that was not loaded, with the rule that rejected it.",
    columns=[
        TargetColumn(REJECT_ID_COLUMN, "integer", nullable=False),
        _text("run_id", 64, nullable=False),
        _text("application", 20, nullable=False),
        _text("source_table", 64, nullable=False),
        _text("source_file", 255),
        TargetColumn("source_line", "integer"),
        _text("target_table", 64),
        _text("rule_id", 64, nullable=False),
        _text("severity", 10, nullable=False),
        _text("column_name", 64),
        _text("reason", None, nullable=False),
        _text("raw_values", None, description="JSON object of the source row's raw values"),
    ],
    primary_key=[REJECT_ID_COLUMN],
    foreign_keys=[ForeignKey(["run_id"], RUN_TABLE, ["run_id"])],
    indexes=[["run_id"], ["application", "source_table"]],
)

LINEAGE = TargetTable(
    name=LINEAGE_TABLE,
    description="Which source row produced which target row: one row per pair.",
    columns=[
        _text("target_table", 64, nullable=False),
        _text("target_key", 255, nullable=False),
        _text("application", 20, nullable=False),
        _text("source_table", 64, nullable=False),
        _text("source_file", 255, nullable=False),
        TargetColumn("source_line", "integer", nullable=False),
        _text("source_key", 255),
        _text("run_id", 64, nullable=False),
    ],
    primary_key=["target_table", "target_key", "application", "source_table", "source_line"],
    foreign_keys=[ForeignKey(["run_id"], RUN_TABLE, ["run_id"])],
    indexes=[["application", "source_table", "source_line"]],
)

PRODUCT_TABLES: dict[str, TargetTable] = {table.name: table for table in (RUN, REJECT, LINEAGE)}
