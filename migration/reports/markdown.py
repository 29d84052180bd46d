"""A short Markdown summary of a run, for the Dagster UI (asset metadata) and chat tools."""

from __future__ import annotations

from collections.abc import Mapping

from migration.reports.formatting import format_number, plural
from migration.reports.labels import LABELS
from migration.reports.view import build_view


def summary_markdown(summary: Mapping, language: str = "fr", report_path: str | None = None) -> str:
    """Return the verdict, the totals, a table of counts per source table and the decisions.

    The summary must already be masked; the Markdown holds counts and rule ids only.
    """
    t = LABELS[language]
    view = build_view(summary)

    def num(value: object) -> str:
        return format_number(value, language)

    lines = [
        f"**{t['verdict_' + view['verdict']]}** — {t['verdict_' + view['verdict'] + '_text']}",
        "",
    ]
    totals = view["totals"]
    lines.append(
        " · ".join(
            f"{t[label]} {num(totals[key])}"
            for key, label in (
                ("read", "rows_read"),
                ("loaded", "rows_loaded"),
                ("rejected", "rows_rejected"),
                ("filtered", "rows_filtered"),
                ("warnings", "warnings_total"),
            )
        )
    )
    lines += [
        "",
        f"| {t['table']} | {t['read']} | {t['loaded']} | {t['rejected']} | {t['filtered']} "
        f"| {t['reconciled']} |",
        "| --- | ---: | ---: | ---: | ---: | :---: |",
    ]
    for table in view["tables"]:
        mark = {True: "✓", False: "✗"}.get(table["reconciled"], "—")
        lines.append(
            f"| {table['name']} | {num(table['read'])} | {num(table['loaded'])} "
            f"| {num(table['rejected'])} | {num(table['filtered'])} | {mark} |"
        )
    decisions = []
    if view["load_error"]:
        decisions.append(f"- {t['load_error']}: {view['load_error']}")
    for problem in view["blocking"]:
        decisions.append(f"- {t['blocking']}: {problem}")
    for decision in view["decisions"]:
        table = decision["table"]
        rules = ", ".join(
            f"`{reason['rule_id']}` {num(reason['count'])}" for reason in table["reject_reasons"]
        )
        decisions.append(
            f"- {table['name']}: {num(table['rejected'])} "
            f"{plural(table['rejected'], t['decision_rejects'], language)}"
            + (f" ({rules})" if rules else "")
        )
    if view["ambiguous_identities"]:
        ambiguous = view["ambiguous_identities"]
        decisions.append(
            f"- {num(ambiguous)} {plural(ambiguous, t['decision_ambiguous'], language)}"
        )
    for conflict in view["merge_conflicts"]:
        text = plural(conflict["key_count"], t["merge_conflict_text"], language).format(
            table=conflict["table"], rows=num(conflict["rows"])
        )
        columns = ", ".join(f"`{column['column']}`" for column in conflict["columns"])
        decisions.append(f"- {num(conflict['key_count'])} {text} ({columns})")
    lines += ["", f"**{t['section_decisions']}**", ""]
    lines += decisions or [t["no_decisions"]]
    if report_path:
        lines += ["", f"{t['title']}: `{report_path}`"]
    return "\n".join(lines)
