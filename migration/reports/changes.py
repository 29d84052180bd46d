"""Changes between this run and the previous delivery's run: counts, rules, files and versions.

Both runs are compared through their summaries only, so the comparison needs no source data and
shows no value: it lists per-table count differences, rules that appear or disappear, files whose
checksum changed, and dictionaries, mappings or target schema whose content hash changed.

A source table is "same" only when its file has the same SHA-256 in both runs and its counts and
failing rules are equal. When either summary lacks the checksum of the table's file, equal
counts and rules give "same_counts": the content may still have changed.

A delivery of some applications only leaves the others' tables and rows as they were, so their
source tables and files are not compared, and a target table's rows are its rows after the
load: added + changed + unchanged + kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migration.reports.view import as_count, known_date

COUNT_KEYS = ("read", "loaded", "rejected", "filtered", "warnings")
# The counts of the current load shown per target table.
LOAD_CHANGE_KINDS = ("added", "changed", "removed")


def compare_runs(current: Mapping, previous: Mapping | None) -> dict[str, Any] | None:
    """Return the changes from `previous` to `current`, or None when there is no previous run.

    Returns:
        {"previous_run_id", "previous_started_at", "previous_date_extraction",
        "tables": [{"application", "table",
        "status": "new"|"removed"|"changed"|"same"|"same_counts",
        "file_changed": True|False|None (None when a checksum is missing),
        "counts": {key: {"before", "after", "delta"}}, "new_rules", "gone_rules"}],
        "targets": [{"table", "before", "after", "delta", "added", "changed", "removed"}],
        where added, changed and removed are the current load's own counts (None when the
        current summary has none),
        "files": [{"application", "file", "change": "new"|"removed"|"changed"}],
        "versions": [{"kind", "name", "before", "after"}],
        "changed_tables": n (new, removed or changed),
        "same_counts_tables": n}
    """
    if not isinstance(previous, Mapping) or previous.get("run_id") == current.get("run_id"):
        return None
    after = _tables(current)
    delivered = {application for application, _ in after}
    # The tables and files of an application that the current run did not deliver stay.
    before = {key: table for key, table in _tables(previous).items() if key[0] in delivered}
    new_files = _files(current)
    old_files = {key: sha for key, sha in _files(previous).items() if key[0] in delivered}
    tables = []
    for key in list(after) + [key for key in before if key not in after]:
        old, new = before.get(key), after.get(key)
        counts = {name: _delta((old or {}).get(name), (new or {}).get(name)) for name in COUNT_KEYS}
        old_rules, new_rules = _rules(old), _rules(new)
        file_changed = _file_changed(old, new, old_files, new_files)
        if old is None:
            status = "new"
        elif new is None:
            status = "removed"
        elif (
            file_changed
            or any(count["delta"] for count in counts.values())
            or old_rules != new_rules
        ):
            status = "changed"
        elif file_changed is None:
            status = "same_counts"
        else:
            status = "same"
        tables.append(
            {
                "application": key[0],
                "table": key[1],
                "status": status,
                "file_changed": file_changed,
                "counts": counts,
                "new_rules": sorted(new_rules - old_rules),
                "gone_rules": sorted(old_rules - new_rules),
            }
        )

    old_targets, new_targets = _targets(previous), _targets(current)
    # The load's own counts: a total can stay equal while the load rewrites many of its rows.
    load_changes = _mapping(current.get("changes"))
    targets = [
        {"table": name}
        | _delta(old_targets.get(name), new_targets.get(name))
        | _load_counts(load_changes.get(name))
        for name in list(new_targets) + [n for n in old_targets if n not in new_targets]
    ]

    files = []
    for key in sorted(set(old_files) | set(new_files)):
        if key not in old_files:
            change = "new"
        elif key not in new_files:
            change = "removed"
        elif old_files[key] != new_files[key]:
            change = "changed"
        else:
            continue
        files.append({"application": key[0], "file": key[1], "change": change})

    versions = []
    for kind in ("dictionaries", "mappings"):
        old_hashes, new_hashes = _hashes(previous.get(kind)), _hashes(current.get(kind))
        for name in sorted(set(old_hashes) | set(new_hashes)):
            if old_hashes.get(name) != new_hashes.get(name):
                versions.append(
                    {
                        "kind": kind,
                        "name": name,
                        "before": old_hashes.get(name),
                        "after": new_hashes.get(name),
                    }
                )
    old_schema = _mapping(previous.get("target_schema"))
    new_schema = _mapping(current.get("target_schema"))
    for field in ("version", "sha256"):
        if old_schema.get(field) != new_schema.get(field):
            versions.append(
                {
                    "kind": "target_schema",
                    "name": field,
                    "before": old_schema.get(field),
                    "after": new_schema.get(field),
                }
            )
    return {
        "previous_run_id": previous.get("run_id"),
        "previous_started_at": previous.get("started_at"),
        "previous_date_extraction": known_date(
            _mapping(previous.get("delivery")).get("date_extraction")
        ),
        "tables": tables,
        "targets": targets,
        "files": files,
        "versions": versions,
        "changed_tables": sum(
            1 for table in tables if table["status"] in ("new", "removed", "changed")
        ),
        "same_counts_tables": sum(1 for table in tables if table["status"] == "same_counts"),
    }


def _file_changed(
    old: Mapping | None,
    new: Mapping | None,
    old_files: Mapping[tuple[str, str], Any],
    new_files: Mapping[tuple[str, str], Any],
) -> bool | None:
    """Return whether the SHA-256 of the table's delivered file differs between the runs.

    Returns None when the table is missing from one run or either checksum is unknown.
    """
    if old is None or new is None:
        return None
    old_sha = old_files.get((str(old.get("application")), str(old.get("file"))))
    new_sha = new_files.get((str(new.get("application")), str(new.get("file"))))
    if not old_sha or not new_sha:
        return None
    return old_sha != new_sha


def _load_counts(raw: object) -> dict[str, Any]:
    counts = _mapping(raw)
    return {kind: as_count(counts.get(kind)) for kind in LOAD_CHANGE_KINDS}


def _delta(before: object, after: object) -> dict[str, Any]:
    numbers = all(
        isinstance(value, int) and not isinstance(value, bool) for value in (before, after)
    )
    return {"before": before, "after": after, "delta": after - before if numbers else None}


def _tables(summary: Mapping) -> dict[tuple[str, str], Mapping]:
    return {
        (str(table.get("application")), str(table.get("table"))): table
        for table in summary.get("tables") or []
        if isinstance(table, Mapping)
    }


def _rules(table: Mapping | None) -> set[str]:
    if table is None:
        return set()
    return {
        str(finding.get("rule_id"))
        for finding in table.get("findings_by_rule") or []
        if isinstance(finding, Mapping)
    }


def _targets(summary: Mapping) -> dict[str, Any]:
    """Return the rows of each target table after the run's load.

    That is added + changed + unchanged + kept when the summary has the load's counts, because
    a load of some applications keeps the rows of the others. Otherwise it is the rows
    delivered.
    """
    changes = _mapping(summary.get("changes"))
    rows = {}
    for entry in summary.get("targets") or []:
        if not isinstance(entry, Mapping):
            continue
        name = str(entry.get("table"))
        counts = _mapping(changes.get(name))
        kinds = [as_count(counts.get(kind)) for kind in ("added", "changed", "unchanged", "kept")]
        rows[name] = entry.get("rows") if None in kinds else sum(kinds)
    return rows


def _files(summary: Mapping) -> dict[tuple[str, str], Any]:
    files = _mapping(summary.get("delivery")).get("files") or []
    return {
        (str(entry.get("application")), str(entry.get("file"))): entry.get("sha256_plaintext")
        for entry in files
        if isinstance(entry, Mapping)
    }


def _hashes(raw: object) -> dict[str, Any]:
    return {
        str(name): entry.get("sha256")
        for name, entry in _mapping(raw).items()
        if isinstance(entry, Mapping)
    }


def _mapping(value: object) -> Mapping:
    return value if isinstance(value, Mapping) else {}
