"""The product's own tables in the target database: runs, rejects, filtered rows, lineage, load
counts and identity decisions.

Their structure is versioned by the Alembic revisions of `migration/target/migrations`, which
must produce exactly the tables described here; `tests/target/test_versioning.py` checks it.
A change here needs a new revision.
"""

from __future__ import annotations

from migration.target.model import ForeignKey, TargetColumn, TargetTable

RUN_TABLE = "reprise_run"
REJECT_TABLE = "reprise_rejet"
FILTER_TABLE = "reprise_filtre"
LINEAGE_TABLE = "reprise_lignage"
LOAD_TABLE = "reprise_chargement"
DECISION_TABLE = "reprise_decision_identite"

REJECT_ID_COLUMN = "id"
"""Autoincrement key of reprise_rejet; the database assigns it, frames never carry it."""
FILTER_ID_COLUMN = "id"
"""Autoincrement key of reprise_filtre, assigned like that of reprise_rejet."""
AUTOINCREMENT_COLUMNS = {REJECT_TABLE: REJECT_ID_COLUMN, FILTER_TABLE: FILTER_ID_COLUMN}
"""Table -> its key column that the database numbers."""

DECISION_MERGE = "merge"
DECISION_SEPARATE = "separate"
PRODUCT_CODE_LISTS: dict[str, dict[str, str]] = {
    "DECISION_IDENTITE": {
        DECISION_MERGE: "the two individuals are one person",
        DECISION_SEPARATE: "the two individuals are different persons",
    },
}
"""Code lists of the product tables. Unlike the code lists of a target schema, which the loader
checks in Python, these are also CHECK constraints in the database, because analysts may write
decisions with SQL."""


def _text(
    name: str,
    length: int | None,
    nullable: bool = True,
    description: str | None = None,
    binary: bool = False,
):
    return TargetColumn(
        name=name,
        type="text",
        length=length,
        nullable=nullable,
        description=description,
        binary=binary,
    )


def _count(name: str, description: str) -> TargetColumn:
    return TargetColumn(name, "integer", nullable=False, description=description)


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
        _text(
            "applications",
            None,
            description="applications whose rows the load replaced, comma-separated; "
            "NULL when the load replaced the whole content",
        ),
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

FILTER = TargetTable(
    name=FILTER_TABLE,
    description="A source row that a mapping filter left out: neither loaded nor rejected, "
    "one row per filter.",
    columns=[
        TargetColumn(FILTER_ID_COLUMN, "integer", nullable=False),
        _text("run_id", 64, nullable=False, binary=True),
        _text("application", 20, nullable=False, binary=True),
        _text("source_table", 64, nullable=False, binary=True),
        _text("source_file", 255, nullable=False),
        TargetColumn("source_line", "integer", nullable=False),
        _text("source_key", 255, description="the source row's key, as in reprise_lignage"),
        _text(
            "target_table",
            64,
            description="target table whose mapping filtered the row; NULL when the mapping "
            "drops the whole source table",
        ),
        _text("reason", None, nullable=False, description="the filter_reason of the mapping"),
    ],
    primary_key=[FILTER_ID_COLUMN],
    foreign_keys=[ForeignKey(["run_id"], RUN_TABLE, ["run_id"])],
    indexes=[["application", "source_table", "source_line"]],
)

LINEAGE = TargetTable(
    name=LINEAGE_TABLE,
    description="Which source row produced which target row: one row per pair.",
    columns=[
        _text("target_table", 64, nullable=False, binary=True),
        _text("target_key", 255, nullable=False, binary=True),
        _text("application", 20, nullable=False, binary=True),
        _text("source_table", 64, nullable=False, binary=True),
        _text("source_file", 255, nullable=False),
        TargetColumn("source_line", "integer", nullable=False),
        _text("source_key", 255),
        _text("run_id", 64, nullable=False, binary=True),
    ],
    primary_key=["target_table", "target_key", "application", "source_table", "source_line"],
    foreign_keys=[ForeignKey(["run_id"], RUN_TABLE, ["run_id"])],
    indexes=[["application", "source_table", "source_line"]],
)

LOAD = TargetTable(
    name=LOAD_TABLE,
    description="What one load changed in one target table, compared with the previous content.",
    columns=[
        _text("run_id", 64, nullable=False),
        _text("target_table", 64, nullable=False),
        _count("added", "rows whose primary key was not in the table"),
        _count("changed", "rows whose non-key columns were updated"),
        _count("removed", "rows deleted because the load no longer delivers them"),
        _count("unchanged", "rows the load delivered again with the same values"),
        _count(
            "kept",
            "rows left as they were for the applications the load did not replace: rows of "
            "those applications only or without lineage, rows that also come from one of them, "
            "and rows still referenced",
        ),
    ],
    primary_key=["run_id", "target_table"],
    foreign_keys=[ForeignKey(["run_id"], RUN_TABLE, ["run_id"])],
)

DECISION = TargetTable(
    name=DECISION_TABLE,
    description="An analyst's decision on whether two individuals are one person; identity "
    "resolution applies it on later runs.",
    columns=[
        _text(
            "id_individu_1",
            255,
            nullable=False,
            description="first individual's key; the ITAC one for an ITAC-OPALES pair",
        ),
        _text(
            "id_individu_2",
            255,
            nullable=False,
            description="second individual's key; the OPALES one for an ITAC-OPALES pair",
        ),
        TargetColumn(
            "decision",
            "text",
            length=10,
            nullable=False,
            code_list="DECISION_IDENTITE",
            description="merge or separate",
        ),
        _text("decided_by", 100, nullable=False, description="who decided"),
        TargetColumn("decided_at", "timestamp", nullable=False),
        _text("comment", None),
    ],
    primary_key=["id_individu_1", "id_individu_2"],
)

PRODUCT_TABLES: dict[str, TargetTable] = {
    table.name: table for table in (RUN, REJECT, FILTER, LINEAGE, LOAD, DECISION)
}
