"""The XLSX workbook of the report, for analysts who work in a spreadsheet.

One sheet per subject, with the same figures as resume.json and the HTML pages: summary per
source table, findings by rule with masked examples, column profiles, target tables, rows
merged by key with different values, mapping coverage, persons merged across applications,
changes since the previous run, delivery files and the run record. Numbers are written as
numbers, so sums and filters work.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from migration.reading.findings import DETAIL_RULES
from migration.reports.formatting import (
    format_finding_detail,
    format_match_reasons,
    format_reject_reason,
)
from migration.reports.labels import LABELS
from migration.reports.view import LOAD_COUNTS, as_list, as_mapping, known_date, load_counts

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="EEF1F4")
MAX_COLUMN_WIDTH = 60
# Columns of the summary sheet whose values add up over the source tables: the counts of rows
# read, loaded, rejected, filtered, the warnings and the counts read back from the database.
SUMMARY_ADDITIVE_COLUMNS = (3, 4, 5, 6, 7, 9, 10)


def write_workbook(summary: Mapping, extras, language: str, path: Path) -> None:
    """Write the workbook of a masked summary and its report extras to path.

    Raises:
        OSError: the file cannot be written.
    """
    t = LABELS[language]
    workbook = Workbook()
    workbook.remove(workbook.active)
    tables = [table for table in as_list(summary.get("tables")) if isinstance(table, Mapping)]
    counts = as_mapping(as_mapping(extras.database).get("counts"))

    rows = []
    for table in tables:
        key = f"{table.get('application')}.{table.get('table')}"
        rows.append(
            [
                table.get("application"),
                table.get("table"),
                table.get("file"),
                table.get("read"),
                table.get("loaded"),
                table.get("rejected"),
                table.get("filtered"),
                table.get("warnings"),
                _yes_no(table.get("reconciled"), t),
                as_mapping(counts.get("loaded")).get(key, 0) if counts else None,
                as_mapping(counts.get("rejected")).get(key, 0) if counts else None,
            ]
        )
    rows.append(_total_row(rows, t["total"], SUMMARY_ADDITIVE_COLUMNS))
    _sheet(
        workbook,
        t["sheet_summary"],
        [
            t["application"],
            t["table"],
            t["file"],
            t["read"],
            t["loaded"],
            t["rejected"],
            t["filtered"],
            t["warnings"],
            t["reconciled"],
            t["db_loaded"],
            t["db_rejected"],
        ],
        rows,
    )

    rules = {
        entry.get("rule_id"): entry
        for entry in as_list(summary.get("rules"))
        if isinstance(entry, Mapping)
    }
    rows = []
    for table in tables:
        for finding in as_list(table.get("findings_by_rule")):
            finding = as_mapping(finding)
            rule = as_mapping(rules.get(finding.get("rule_id")))
            examples = "; ".join(
                _example_text(example, finding.get("rule_id"), t, extras, language)
                for example in map(as_mapping, as_list(finding.get("examples")))
            )
            severity = finding.get("severity") or rule.get("severity")
            rows.append(
                [
                    table.get("application"),
                    table.get("table"),
                    finding.get("rule_id"),
                    _label(severity, t["severity_names"]),
                    rule.get("description"),
                    finding.get("count"),
                    examples,
                ]
            )
    _sheet(
        workbook,
        t["sheet_findings"],
        [
            t["application"],
            t["table"],
            t["rule"],
            t["severity"],
            t["description"],
            t["count"],
            t["examples"],
        ],
        rows,
    )

    rows = []
    for table in tables:
        profile = as_mapping(table.get("profile"))
        for column in map(as_mapping, as_list(profile.get("columns"))):
            top = ", ".join(
                f"{entry.get('value')} ({entry.get('count')})"
                for entry in map(as_mapping, as_list(column.get("top")))
            )
            rows.append(
                [
                    table.get("application"),
                    table.get("table"),
                    column.get("name"),
                    column.get("type"),
                    _yes_no(column.get("personal"), t),
                    profile.get("rows"),
                    column.get("nulls"),
                    column.get("distinct"),
                    column.get("min_length"),
                    column.get("max_length"),
                    column.get("declared_length"),
                    column.get("min"),
                    column.get("max"),
                    top,
                ]
            )
    _sheet(
        workbook,
        t["sheet_profiles"],
        [
            t["application"],
            t["table"],
            t["col_name"],
            t["col_type"],
            t["col_personal"],
            t["profile_rows"],
            t["col_nulls"],
            t["col_distinct"],
            t["col_min_length"],
            t["col_max_length"],
            t["col_declared_length"],
            t["col_min"],
            t["col_max"],
            t["col_top"],
        ],
        rows,
    )

    changes = as_mapping(summary.get("changes"))
    rows = []
    for entry in map(as_mapping, as_list(summary.get("targets"))):
        table_changes = load_counts(changes.get(entry.get("table")))
        rows.append(
            [
                entry.get("table"),
                entry.get("rows"),
                *(table_changes[kind] for kind in LOAD_COUNTS),
                as_mapping(counts.get("targets")).get(entry.get("table")) if counts else None,
            ]
        )
    header = [t["table"], t["target_rows"], *(t[f"load_{kind}"] for kind in LOAD_COUNTS)]
    _sheet(workbook, t["sheet_targets"], [*header, t["db_rows"]], rows)

    _merge_conflicts_sheet(workbook, summary, t)

    coverage = as_mapping(extras.coverage)
    rows = []
    for source in as_list(coverage.get("sources")):
        for column in source["columns"]:
            rows.append(
                [
                    source["application"],
                    source["table"],
                    column["name"],
                    t["coverage_status"][column["status"]],
                    ", ".join(column["targets"]),
                    _read_by_text(column["read_by"], t),
                    column["reason"],
                ]
            )
    _sheet(
        workbook,
        t["sheet_coverage"],
        [
            t["application"],
            t["table"],
            t["col_name"],
            t["col_status"],
            t["col_targets"],
            t["col_read_by"],
            t["reason"],
        ],
        rows,
    )

    merged = as_mapping(as_mapping(extras.database).get("merged"))
    rows = [
        [person["target_key"], app, table_name, line, key]
        for person in as_list(merged.get("rows"))
        for app, table_name, line, key in person["sources"]
    ]
    identity = as_mapping(summary.get("identity"))
    sheet = _sheet(
        workbook,
        t["sheet_identity"],
        [t["target_key"], t["application"], t["table"], t["line"], t["source_key"]],
        rows,
    )
    sheet.append([])
    for key, value in identity.items():
        if not isinstance(value, list | dict):
            sheet.append([t.get(f"identity_{key}", key), value])
    # The candidates to review get their own sheet, so each sheet's header covers its columns.
    review = [as_mapping(entry) for entry in as_list(identity.get("review"))]
    rows = [
        [
            entry.get("score"),
            entry.get("source_itac"),
            entry.get("source_opales"),
            entry.get("id_individu_itac"),
            entry.get("id_individu_opales"),
            format_match_reasons(as_list(entry.get("reasons")), t["match_reasons"], language),
        ]
        for entry in review
    ]
    _sheet(
        workbook,
        t["sheet_review"],
        [
            t["score"],
            "ITAC",
            "OPALES",
            t["identity_primary"],
            t["identity_secondary"],
            t["reason"],
        ],
        rows,
    )

    changes = as_mapping(extras.changes)
    rows = []
    for table in as_list(changes.get("tables")):
        counts_of = table["counts"]
        rows.append(
            [
                table["application"],
                table["table"],
                t["change_names"][table["status"]],
                *[counts_of[key]["before"] for key in ("read", "loaded", "rejected")],
                *[counts_of[key]["after"] for key in ("read", "loaded", "rejected")],
                ", ".join(table["new_rules"]),
                ", ".join(table["gone_rules"]),
            ]
        )
    _sheet(
        workbook,
        t["sheet_changes"],
        [
            t["application"],
            t["table"],
            t["change"],
            f"{t['read']} ({t['before']})",
            f"{t['loaded']} ({t['before']})",
            f"{t['rejected']} ({t['before']})",
            f"{t['read']} ({t['after']})",
            f"{t['loaded']} ({t['after']})",
            f"{t['rejected']} ({t['after']})",
            t["new_rules"],
            t["gone_rules"],
        ],
        rows,
    )

    delivery = as_mapping(summary.get("delivery"))
    rows = [
        [
            entry.get("application"),
            entry.get("file"),
            entry.get("sha256_encrypted"),
            entry.get("sha256_plaintext"),
            entry.get("manifest"),
            entry.get("log_records"),
            entry.get("records"),
        ]
        for entry in map(as_mapping, as_list(delivery.get("files")))
    ]
    _sheet(
        workbook,
        t["sheet_delivery"],
        [
            t["application"],
            t["file"],
            t["sha256_encrypted"],
            t["sha256_plaintext"],
            t["manifest"],
            t["log_records"],
            t["records"],
        ],
        rows,
    )

    schema = as_mapping(summary.get("target_schema"))
    rows = [
        [t["run_id"], summary.get("run_id")],
        [t["status"], _label(summary.get("status"), t["status_names"])],
    ]
    if summary.get("load_error"):
        rows.append([t["load_error"], summary.get("load_error")])
    rows += [
        [t["started_at"], summary.get("started_at")],
        [t["finished_at"], summary.get("finished_at")],
        [t["product_version"], summary.get("product_version")],
        [t["target"], summary.get("target")],
        [
            t["target_schema"],
            " ".join(str(schema.get(k)) for k in ("name", "version") if schema.get(k)),
        ],
        [t["target_schema_sha256"], schema.get("sha256")],
        [t["delivery_path"], delivery.get("path")],
        [t["departement"], delivery.get("departement")],
        [t["date_extraction"], known_date(delivery.get("date_extraction")) or t["date_unknown"]],
    ]
    for kind in ("dictionaries", "mappings"):
        for application, entry in as_mapping(summary.get(kind)).items():
            entry = as_mapping(entry)
            rows.append([f"{t[kind]} {application}", entry.get("file")])
            rows.append([f"{t[kind]} {application} {t['sha256']}", entry.get("sha256")])
    _sheet(workbook, t["sheet_run"], [t["field"], t["value"]], rows)
    workbook.save(path)


def _example_text(example: Mapping, rule_id: object, t: Mapping, extras, language: str) -> str:
    """Return one finding example of rule `rule_id` as `line N column: value (reason)`.

    A mapping reject names a target column. When the run did not keep its value, the text
    states so instead of showing the value as empty. The value of a rule of `DETAIL_RULES` is
    a finding detail, shown in the report's language.
    """
    column = example.get("column") or ""
    if column and example.get("target_table"):
        column = f"{t['target_column']} {example.get('target_table')}.{column}"
    if rule_id in DETAIL_RULES and example.get("value") is not None:
        value = format_finding_detail(str(example.get("value")), t["finding_detail_phrases"])
    elif example.get("value_kept") is False:
        value = t["value_not_kept"]
    elif example.get("value") is None:
        value = t["empty_value"]
    else:
        value = example.get("value")
    text = f"{t['line']} {example.get('line')} {column}: {value}"
    if example.get("reason"):
        reason = format_reject_reason(
            str(example.get("reason")), t["reject_reason_phrases"], extras.descriptions, language
        )
        text += f" ({reason})"
    return text


def _merge_conflicts_sheet(workbook: Workbook, summary: Mapping, t: Mapping) -> None:
    """Write one row per target table and column whose rows merged by key had different values.

    The counts of the table (keys in conflict, keys given by several rows, rows merged) repeat
    on each of its rows, so a filter on one column keeps them.
    """
    rows = []
    for entry in map(as_mapping, as_list(summary.get("merge_conflicts"))):
        sources = ", ".join(
            f"{source.get('application')}.{source.get('table')} ({source.get('keys')})"
            for source in map(as_mapping, as_list(entry.get("sources")))
        )
        examples = [as_mapping(example) for example in as_list(entry.get("examples"))]
        for column in map(as_mapping, as_list(entry.get("columns"))):
            name = column.get("column")
            shown = "; ".join(
                _conflict_example_text(example, t)
                for example in examples
                if name in as_list(example.get("columns"))
            )
            rows.append(
                [
                    entry.get("table"),
                    name,
                    column.get("keys"),
                    entry.get("keys"),
                    entry.get("merged_keys"),
                    entry.get("rows"),
                    sources,
                    shown,
                ]
            )
    _sheet(
        workbook,
        t["sheet_merge_conflicts"],
        [
            t["table"],
            t["col_name"],
            f"{t['merge_conflict_keys']} ({t['col_name']})",
            f"{t['merge_conflict_keys']} ({t['table']})",
            t["merge_conflict_merged_keys"],
            t["merge_conflict_rows"],
            t["sources"],
            t["merge_conflict_examples"],
        ],
        rows,
    )


def _conflict_example_text(example: Mapping, t: Mapping) -> str:
    """Return `key K: col1, col2 (ITAC.DOSSIER line 2, ...)` for one conflicting key."""
    lines = ", ".join(
        f"{row.get('application')}.{row.get('table')} {t['line']} {row.get('line')}"
        for row in map(as_mapping, as_list(example.get("rows")))
    )
    if example.get("more_rows"):
        lines += f" + {example.get('more_rows')}"
    columns = ", ".join(str(name) for name in as_list(example.get("columns")))
    return f"{t['key']} {example.get('key')}: {columns} ({lines})"


def _sheet(workbook: Workbook, title: str, header: list[str], rows: list[list]):
    # Sheet titles are at most 31 characters and cannot hold []:*?/\.
    sheet = workbook.create_sheet(title[:31])
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    # The header is row 1, so the rows go to rows 2, 3 and on. Reading sheet.max_row or a whole
    # row back after each append would scan every cell of the sheet, once per row.
    for row_number, row in enumerate(rows, start=2):
        values = [_cell(value) for value in row]
        sheet.append(values)
        for column_number, value in enumerate(values, start=1):
            # openpyxl writes a text starting with "=" as a formula; source values are text.
            if isinstance(value, str) and value.startswith("="):
                sheet.cell(row=row_number, column=column_number).data_type = "s"
    sheet.freeze_panes = "A2"
    for index, name in enumerate(header, start=1):
        values = [len(str(row[index - 1])) for row in rows[:500] if row[index - 1] is not None]
        width = min(max([len(name), *values]) + 2, MAX_COLUMN_WIDTH)
        sheet.column_dimensions[get_column_letter(index)].width = width
    return sheet


def _total_row(rows: list[list], label: str, columns: tuple[int, ...]) -> list:
    """Return a row with label in its first cell and the sum of each additive column.

    A column where every value is missing stays empty, so a total is never a guessed 0.
    """
    width = len(rows[0]) if rows else max(columns) + 1
    total: list = [label] + [None] * (width - 1)
    for column in columns:
        values = [row[column] for row in rows if isinstance(row[column], int | float)]
        total[column] = sum(values) if values else None
    return total


def _cell(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _label(code: object, names: Mapping) -> object:
    """Return the label of a code in the report's language, or the code when it has none."""
    return names.get(code, code) if isinstance(code, str) else code


def _yes_no(value: object, t: Mapping) -> str | None:
    if value is True:
        return t["yes"]
    if value is False:
        return t["no"]
    return None


def _read_by_text(read_by: list[dict], t: Mapping) -> str:
    """Return the joins, lookups and filters that read a source column as the table pages show
    them, `target: join with TABLE.COLUMN`, separated by semicolons."""
    parts = []
    for read in read_by:
        part = f"{read['target']}{t['colon']} {t['read_by_kind'][read['kind']]}"
        if read["with"]:
            part += f" {read['with']}"
        parts.append(part)
    return "; ".join(parts)
