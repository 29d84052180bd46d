"""Turn a run summary into the plain values the HTML template renders.

Every key of the summary may be missing, empty or of the wrong type (older runs, failed runs):
each helper here falls back to None or an empty list, so the template never looks anything up
in the raw summary.
"""

import json
from collections.abc import Mapping
from typing import Any

from migration.reading.findings import DETAIL_RULES
from migration.reports.formatting import anchor_slug

# Examples shown per rule and table. The summary may carry more, and the report shows how many
# it leaves out.
MAX_EXAMPLES = 5
# Most frequent values shown per profiled column.
MAX_TOP_VALUES = 3
# Unknown codes shown per code column.
MAX_UNKNOWN_CODES = 10

COUNT_KEYS = ("read", "loaded", "rejected", "filtered", "warnings")
TABLE_PAGES_FOLDER = "tables"
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_KNOWN_IDENTITY_KEYS = (
    "cross_application",
    "by_nir",
    "by_identity",
    "by_decision",
    "separated_by_decision",
    "ambiguous",
    "for_review",
    "only_itac",
    "only_opales",
)
_IDENTITY_LISTS = ("review",)


def as_mapping(value: object) -> Mapping:
    """Return value if it is a mapping, else an empty dict."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: object) -> list:
    """Return value as a list if it is a list or tuple, else an empty list."""
    return list(value) if isinstance(value, list | tuple) else []


def as_count(value: object) -> int | None:
    """Return value if it is an int (not a bool), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def known_date(value: object) -> str | None:
    """Return a date of the summary as text, or None when it is not known.

    Earlier versions wrote the text "None" as the extraction date of a delivery without one, and
    the summary of a previous run may still contain it.
    """
    text = as_text(value)
    return None if text == "None" else text


def as_text(value: object) -> str | None:
    """Return value as text, or None when it is None or an empty string."""
    if value is None or value == "":
        return None
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def build_view(summary: Mapping) -> dict[str, Any]:
    """Build the template context of the quality report from a run summary.

    The summary must already be masked (see masking.mask_summary): values are shown as given.
    """
    rules = _rules_by_id(summary.get("rules"))
    tables = [
        _table_view(index, raw, rules)
        for index, raw in enumerate(as_list(summary.get("tables")))
        if isinstance(raw, Mapping)
    ]
    merge_conflicts = _merge_conflicts_view(summary.get("merge_conflicts"), tables)
    for table in tables:
        table["merge_conflicts"] = [
            conflict
            for conflict in merge_conflicts
            if any(source["page"] == table["page"] for source in conflict["sources"])
        ]
    delivery = _delivery_view(summary.get("delivery"))
    blocking = [text for text in map(as_text, as_list(summary.get("blocking"))) if text]
    identity = as_mapping(summary.get("identity"))
    target_schema = as_mapping(summary.get("target_schema"))
    schema_parts = [as_text(target_schema.get(key)) for key in ("name", "version")]
    return {
        "run_id": as_text(summary.get("run_id")),
        "started_at": summary.get("started_at"),
        "finished_at": summary.get("finished_at"),
        "product_version": as_text(summary.get("product_version")),
        "status": as_text(summary.get("status")),
        "verdict": _verdict(summary.get("status"), tables, blocking),
        "blocking": blocking,
        "load_error": as_text(summary.get("load_error")),
        "target": as_text(summary.get("target")),
        "tables": tables,
        "totals": _totals(tables),
        "reconciled_tables": sum(1 for table in tables if table["reconciled"] is True),
        "decisions": _decisions(tables),
        "merge_conflicts": merge_conflicts,
        "file_decisions": [entry for entry in delivery["files"] if entry["needs_check"]],
        "delivery": delivery,
        "targets": _targets_view(summary.get("targets"), summary.get("changes")),
        "allow_removals": summary.get("allow_removals") is True,
        "identity": _identity_view(identity),
        "ambiguous_identities": as_count(identity.get("for_review"))
        or as_count(identity.get("ambiguous"))
        or 0,
        "identity_review": _review_view(identity.get("review")),
        "target_schema": " ".join(part for part in schema_parts if part),
        "rules": list(rules.values()),
        "rule_policy": _rule_policy_view(summary.get("rule_policy")),
        "filters": _generic_rows(summary.get("filters")),
        "dictionaries": _hashed_files(summary.get("dictionaries")),
        "mappings": _hashed_files(summary.get("mappings")),
    }


def _rules_by_id(raw_rules: object) -> dict[str, dict]:
    rules: dict[str, dict] = {}
    for raw in as_list(raw_rules):
        raw = as_mapping(raw)
        rule_id = as_text(raw.get("rule_id"))
        if rule_id is None:
            continue
        severity = as_text(raw.get("severity"))
        default = as_text(raw.get("default_severity"))
        rules[rule_id] = {
            "rule_id": rule_id,
            "severity": severity,
            "disabled": raw.get("disabled") is True,
            # Set only when the delivery's policy changed the severity.
            "default_severity": default if default and default != severity else None,
            "description": as_text(raw.get("description")),
        }
    return rules


def _rule_policy_view(raw: object) -> dict[str, Any] | None:
    """Return the rule changes of the delivery, or None when the run used the default rules."""
    policy = as_mapping(raw)
    if not policy:
        return None
    return {
        "file": as_text(policy.get("file")) or "livraison.yaml",
        "relaxed": [text for text in map(as_text, as_list(policy.get("relaxed"))) if text],
    }


def _rule_sort_key(rule: Mapping) -> tuple:
    return (_SEVERITY_ORDER.get(rule["severity"] or "", 9), rule["rule_id"] or "")


def _table_view(index: int, raw: Mapping, rules: Mapping) -> dict[str, Any]:
    application = as_text(raw.get("application"))
    table = as_text(raw.get("table"))
    name = ".".join(part for part in (application, table) if part) or f"#{index + 1}"
    slug = anchor_slug(name)
    counts = {key: as_count(raw.get(key)) for key in COUNT_KEYS}
    reconciled = raw.get("reconciled")
    findings = [
        _finding_view(finding, rules)
        for finding in as_list(raw.get("findings_by_rule"))
        if isinstance(finding, Mapping)
    ]
    findings.sort(key=_rule_sort_key)
    anchor = f"table-{index + 1}" + (f"-{slug}" if slug else "")
    return {
        # The index keeps ids unique even when two names give the same slug.
        "anchor": anchor,
        "page": f"{TABLE_PAGES_FOLDER}/{anchor}.html",
        "name": name,
        "application": application,
        "table": table,
        "file": as_text(raw.get("file")),
        **counts,
        "reconciled": reconciled if isinstance(reconciled, bool) else None,
        "gap": _gap(counts, as_count(raw.get("would_load"))),
        "reject_reasons": _reject_reasons(raw.get("reject_reasons"), rules),
        "filter_reasons": [
            {"reason": as_text(entry.get("reason")), "count": as_count(entry.get("count"))}
            for entry in map(as_mapping, as_list(raw.get("filter_reasons")))
        ],
        "findings": findings,
        "profile": _profile_view(raw.get("profile")),
    }


def _gap(counts: Mapping, would_load: int | None = None) -> int | None:
    """Return read - loaded - rejected - filtered, or None when a count is missing.

    A missing filtered count counts as 0 because runs without filters may leave it out. A run
    that was not loaded has 0 loaded rows, so its gap uses `would_load`, the rows it would have
    loaded. The rows that the run did not load are then not shown as lost.
    """
    loaded = counts["loaded"] if would_load is None else would_load
    if counts["read"] is None or loaded is None or counts["rejected"] is None:
        return None
    filtered = counts["filtered"] or 0
    return counts["read"] - loaded - counts["rejected"] - filtered


def _reject_reasons(raw_reasons: object, rules: Mapping) -> list[dict]:
    reasons = []
    for raw in as_list(raw_reasons):
        raw = as_mapping(raw)
        rule_id = as_text(raw.get("rule_id"))
        rule = rules.get(rule_id, {})
        reasons.append(
            {
                "rule_id": rule_id,
                "count": as_count(raw.get("count")),
                "description": as_text(raw.get("description")) or rule.get("description"),
            }
        )
    reasons.sort(key=lambda reason: -(reason["count"] or 0))
    return reasons


def _finding_view(raw: Mapping, rules: Mapping) -> dict[str, Any]:
    rule_id = as_text(raw.get("rule_id"))
    rule = rules.get(rule_id, {})
    raw_examples = [example for example in as_list(raw.get("examples")) if example]
    examples = []
    for example in raw_examples[:MAX_EXAMPLES]:
        example = as_mapping(example)
        examples.append(
            {
                "line": as_count(example.get("line")),
                "column": as_text(example.get("column")),
                # Set for a mapping reject, whose column is a column of this target table.
                "target_table": as_text(example.get("target_table")),
                "value": as_text(example.get("value")),
                # False when the run did not keep the value, which then is not empty.
                "value_kept": example.get("value_kept") is not False,
                "reason": as_text(example.get("reason")),
                # A stored finding detail, which the report shows in its language.
                "detail": as_text(example.get("value")) if rule_id in DETAIL_RULES else None,
            }
        )
    return {
        "rule_id": rule_id,
        "severity": as_text(raw.get("severity")) or rule.get("severity"),
        "description": as_text(raw.get("description")) or rule.get("description"),
        "count": as_count(raw.get("count")),
        "examples": examples,
        "more_examples": max(len(raw_examples) - MAX_EXAMPLES, 0),
    }


def _merge_conflicts_view(raw_conflicts: object, tables: list[dict]) -> list[dict]:
    """Return the target tables whose rows merged by key had different values.

    Each source table links to its page when the summary has one.
    """
    pages = {(table["application"], table["table"]): table["page"] for table in tables}
    conflicts = []
    for raw in map(as_mapping, as_list(raw_conflicts)):
        keys = as_count(raw.get("keys"))
        if not keys:
            continue
        sources = []
        for source in map(as_mapping, as_list(raw.get("sources"))):
            application, table = as_text(source.get("application")), as_text(source.get("table"))
            sources.append(
                {
                    "name": _source_name(source),
                    "page": pages.get((application, table)),
                    "key_count": as_count(source.get("keys")),
                }
            )
        examples = []
        for example in map(as_mapping, as_list(raw.get("examples"))[:MAX_EXAMPLES]):
            examples.append(
                {
                    "key": as_text(example.get("key")),
                    "columns": [
                        text for text in map(as_text, as_list(example.get("columns"))) if text
                    ],
                    "rows": [
                        {"source": _source_name(row), "line": as_count(row.get("line"))}
                        for row in map(as_mapping, as_list(example.get("rows")))
                    ],
                    "more_rows": as_count(example.get("more_rows")) or 0,
                }
            )
        conflicts.append(
            {
                "table": as_text(raw.get("table")),
                # Not "keys", which templates would read as the dict method.
                "key_count": keys,
                "rows": as_count(raw.get("rows")),
                "merged_keys": as_count(raw.get("merged_keys")),
                "columns": [
                    {
                        "column": as_text(column.get("column")),
                        "key_count": as_count(column.get("keys")),
                    }
                    for column in map(as_mapping, as_list(raw.get("columns")))
                ],
                "sources": sources,
                "examples": examples,
            }
        )
    return conflicts


def _source_name(raw: Mapping) -> str:
    """Return APPLICATION.TABLE of a source table, or the part that is known."""
    parts = (as_text(raw.get("application")), as_text(raw.get("table")))
    return ".".join(part for part in parts if part)


def _profile_view(raw_profile: object) -> dict[str, Any]:
    raw_profile = as_mapping(raw_profile)
    columns = []
    for raw in as_list(raw_profile.get("columns")):
        raw = as_mapping(raw)
        top = []
        for entry in as_list(raw.get("top"))[:MAX_TOP_VALUES]:
            entry = as_mapping(entry)
            top.append(
                {"value": as_text(entry.get("value")), "count": as_count(entry.get("count"))}
            )
        columns.append(
            {
                "name": as_text(raw.get("name")) or "?",
                "type": as_text(raw.get("type")),
                "declared_length": as_count(raw.get("declared_length")),
                "personal": raw.get("personal") is True,
                "nulls": as_count(raw.get("nulls")),
                "distinct": as_count(raw.get("distinct")),
                "min_length": as_count(raw.get("min_length")),
                "max_length": as_count(raw.get("max_length")),
                "min": _profile_value(raw.get("min")),
                "max": _profile_value(raw.get("max")),
                "top": top,
                "top_repeated_only": raw.get("top_repeated_only") is True,
                "code_coverage": _code_coverage(raw.get("code_coverage")),
                "lengths": _length_bins(raw.get("lengths")),
                "date_histogram": _date_histogram(raw.get("date_histogram")),
            }
        )
    return {"rows": as_count(raw_profile.get("rows")), "columns": columns}


def _length_bins(raw: object) -> list[dict]:
    bins = []
    for entry in as_list(raw):
        entry = as_mapping(entry)
        length, count = as_count(entry.get("length")), as_count(entry.get("count"))
        if length is not None and count is not None:
            bins.append(
                {"length": length, "count": count, "and_longer": bool(entry.get("and_longer"))}
            )
    return bins


def _date_histogram(raw: object) -> dict[str, Any] | None:
    """Read the profiler's yearly date counts; None when the column has none."""
    raw = as_mapping(raw)
    bins = []
    for entry in as_list(raw.get("bins")):
        entry = as_mapping(entry)
        period, count = as_text(entry.get("period")), as_count(entry.get("count"))
        if period is not None and count is not None:
            bins.append({"period": period, "count": count})
    if not raw:
        return None
    return {
        "bins": bins,
        "placeholders": as_count(raw.get("placeholders")) or 0,
        "invalid": as_count(raw.get("invalid")) or 0,
    }


def _code_coverage(raw: object) -> dict[str, Any] | None:
    """Read the profiler's {"declared": n, "used": n, "unknown": [codes]} coverage of a code list.

    Any other non-empty value is kept as text under "other".
    """
    if raw is None or raw == "":
        return None
    if not isinstance(raw, Mapping):
        return {"declared": None, "used": None, "unknown": [], "more_unknown": 0, "other": raw}
    unknown = [as_text(code) or "" for code in as_list(raw.get("unknown"))]
    return {
        "declared": as_count(raw.get("declared")),
        "used": as_count(raw.get("used")),
        "unknown": unknown[:MAX_UNKNOWN_CODES],
        "more_unknown": max(len(unknown) - MAX_UNKNOWN_CODES, 0),
        "other": None,
    }


def _profile_value(value: object) -> object:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return as_text(value)


def _totals(tables: list[dict]) -> dict[str, int | None]:
    totals: dict[str, int | None] = {}
    for key in COUNT_KEYS:
        values = [table[key] for table in tables if table[key] is not None]
        totals[key] = sum(values) if values else None
    return totals


def _verdict(status: object, tables: list[dict], blocking: list[str]) -> str:
    """Return "blocked", "gap", "removals", "ok" or "unknown", the first that applies.

    A blocking problem or a table marked as not reconciled decides the verdict whatever the run
    status is. "removals" is a load stopped because it would remove too many rows.
    """
    if status == "blocked" or blocking:
        return "blocked"
    if status == "reconciliation_failed" or any(table["reconciled"] is False for table in tables):
        return "gap"
    if status == "removals_rejected":
        return "removals"
    if status == "success":
        return "ok"
    return "unknown"


def _decisions(tables: list[dict]) -> list[dict]:
    decisions = []
    for table in tables:
        has_rejects = (table["rejected"] or 0) > 0
        has_gap = table["reconciled"] is False or (table["gap"] not in (None, 0))
        if not has_rejects and not has_gap:
            continue
        explained = sum(reason["count"] or 0 for reason in table["reject_reasons"])
        decisions.append(
            {
                "table": table,
                "has_rejects": has_rejects,
                "has_gap": has_gap,
                "unexplained": max((table["rejected"] or 0) - explained, 0),
            }
        )
    return decisions


def _delivery_view(raw_delivery: object) -> dict[str, Any]:
    raw_delivery = as_mapping(raw_delivery)
    files = []
    for raw in as_list(raw_delivery.get("files")):
        raw = as_mapping(raw)
        manifest = as_text(raw.get("manifest"))
        log_records = as_count(raw.get("log_records"))
        records = as_count(raw.get("records"))
        log_match = None if log_records is None or records is None else log_records == records
        files.append(
            {
                "application": as_text(raw.get("application")),
                "file": as_text(raw.get("file")),
                "sha256_encrypted": as_text(raw.get("sha256_encrypted")),
                "sha256_plaintext": as_text(raw.get("sha256_plaintext")),
                "manifest": manifest,
                "manifest_ok": manifest == "ok",
                "log_records": log_records,
                "records": records,
                "log_match": log_match,
                "needs_check": (manifest is not None and manifest != "ok") or log_match is False,
            }
        )
    return {
        "path": as_text(raw_delivery.get("path")),
        "departement": as_text(raw_delivery.get("departement")),
        "date_extraction": known_date(raw_delivery.get("date_extraction")),
        "files": files,
    }


# The counts of a load per target table, in the order the report shows them.
LOAD_COUNTS = ("added", "changed", "removed", "unchanged", "kept_delivered", "kept_other")


def load_counts(counts: object) -> dict[str, int | None]:
    """Return the load counts of one target table (see LOAD_COUNTS), with "kept" as well.

    The load counts as "kept" both the delivered rows it leaves as they were, because another
    application also gives them ("kept_delivered"), and the rows it does not deliver, kept for
    the other applications ("kept_other"). A summary written before the two were counted apart
    has no kept_delivered, and all of its kept rows show as kept_other.
    """
    counts = as_mapping(counts)
    result = {kind: as_count(counts.get(kind)) for kind in ("added", "changed", "removed")}
    result["unchanged"] = as_count(counts.get("unchanged"))
    kept = as_count(counts.get("kept"))
    delivered = as_count(counts.get("kept_delivered"))
    result["kept"] = kept
    result["kept_delivered"] = delivered
    result["kept_other"] = None if kept is None else kept - (delivered or 0)
    return result


def _targets_view(raw_targets: object, raw_changes: object = None) -> list[dict]:
    """Return the rows per target table, with the rows the load added, changed, removed, left
    unchanged and kept when known."""
    changes = as_mapping(raw_changes)
    targets = []
    for raw in as_list(raw_targets):
        raw = as_mapping(raw)
        table = as_text(raw.get("table"))
        counts = changes.get(table) if table else {}
        targets.append({"table": table, "rows": as_count(raw.get("rows")), **load_counts(counts)})
    return targets


def _identity_view(raw_identity: object) -> list[dict]:
    """Return (label key or raw key, value) rows, known keys first in their usual order."""
    raw_identity = as_mapping(raw_identity)
    rows = [
        {"label_key": f"identity_{key}", "key": key, "value": raw_identity[key]}
        for key in _KNOWN_IDENTITY_KEYS
        if key in raw_identity
    ]
    rows += [
        {"label_key": None, "key": str(key), "value": value}
        for key, value in raw_identity.items()
        if key not in _KNOWN_IDENTITY_KEYS and key not in _IDENTITY_LISTS
    ]
    for row in rows:
        if as_count(row["value"]) is None:
            row["value"] = as_text(row["value"])
    return rows


def _review_view(raw_review: object) -> list[dict]:
    """The identity candidates left for a person to decide, with their keys, score and reasons.

    Keys are surrogate ids and source file keys (NUM_DOSSIER…), and reasons are fixed phrases
    ("nom proche (0.91)"), so nothing here is personal.
    """
    review = []
    for raw in map(as_mapping, as_list(raw_review)):
        review.append(
            {
                "primary": as_text(raw.get("id_individu_itac")),
                "secondary": as_text(raw.get("id_individu_opales")),
                "primary_source": as_text(raw.get("source_itac")),
                "secondary_source": as_text(raw.get("source_opales")),
                "score": raw.get("score") if isinstance(raw.get("score"), int | float) else None,
                "reasons": [text for text in map(as_text, as_list(raw.get("reasons"))) if text],
            }
        )
    return review


def _hashed_files(raw_files: object) -> list[dict]:
    rows = []
    for application, raw in as_mapping(raw_files).items():
        raw = as_mapping(raw)
        rows.append(
            {
                "application": str(application),
                "file": as_text(raw.get("file")),
                "sha256": as_text(raw.get("sha256")),
            }
        )
    return rows


def _generic_rows(raw_rows: object) -> dict[str, list]:
    """Lay out a list of mappings (or scalars) as a table: the union of keys, then the rows."""
    keys: list[str] = []
    rows: list[dict] = []
    for raw in as_list(raw_rows):
        if not isinstance(raw, Mapping):
            raw = {"": raw}
        for key in raw:
            if str(key) not in keys:
                keys.append(str(key))
        rows.append({str(key): value for key, value in raw.items()})
    return {
        "columns": keys,
        "rows": [
            [
                value if as_count(value) is not None else as_text(value)
                for value in _cells(row, keys)
            ]
            for row in rows
        ],
    }


def _cells(row: Mapping, keys: list[str]) -> list:
    return [row.get(key) for key in keys]
