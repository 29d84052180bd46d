"""Preview of a mapping on the first rows of each source table, for vendors.

The preview runs the same steps as a full run: intake, reading, validation, mapping and the
assembly of one application. The target rows it shows are therefore the ones a run would load
for those source rows. Only the merge of an individual known to both applications is missing,
because it needs the other application.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from migration.delivery.intake import open_delivery
from migration.delivery.workdir import PrivateWorkdir
from migration.frame_keys import join_key
from migration.mapping.assemble import assemble
from migration.mapping.checks import check_mapping
from migration.mapping.engine import apply_mapping
from migration.mapping.language import load_mapping, load_named_dictionary
from migration.reading.csv_reader import LINE_COLUMN
from migration.reading.findings import ERROR, mask_nir, mask_value
from migration.steps import read_application, validate_application
from migration.target.schema import load_target_schema
from migration.validation.rules import RULES


@dataclass
class PreviewRow:
    """One source row and what it became: target rows, or its rejects, or a filter reason."""

    line: int
    source: dict[str, object]
    targets: list[dict[str, object]] = field(default_factory=list)
    rejects: list[str] = field(default_factory=list)
    filtered: str | None = None


@dataclass
class TargetPreview:
    """The preview of one target mapping: its source table, target table and rows."""

    target: str
    source: str
    rows: list[PreviewRow]


def preview_mapping(
    mapping_path: Path,
    delivery_dir: Path,
    password: str,
    rows: int,
    show_personal_data: bool = False,
    workdir_parent: Path | None = None,
) -> list[TargetPreview]:
    """Run a mapping on a delivery and return its first `rows` source rows per target."""
    mapping = load_mapping(mapping_path)
    dictionary = load_named_dictionary(mapping)
    schema = load_target_schema()
    check_mapping(mapping, dictionary, schema, strict=True)
    with PrivateWorkdir(parent=workdir_parent) as workdir:
        delivery = open_delivery(delivery_dir, password, workdir.path, [mapping.application])
        application = delivery.applications[mapping.application]
        reads = read_application(mapping.application, application.folder, dictionary)
    validated = validate_application(mapping.application, dictionary, reads)
    mapped = apply_mapping(mapping, validated.tables, dictionary, schema)
    assembly = assemble([mapped], schema, validated.rejected_lines())
    all_lineage = assembly.lineage.to_frame()

    errors = validated.findings[validated.findings["severity"] == ERROR]
    previews = []
    for target in mapping.targets:
        read = reads[target.source]
        table = read.table
        personal_source = {c.name for c in table.columns if c.personal}
        target_columns = schema.tables[target.target].columns
        personal_target = {c.name for c in target_columns if c.personal}
        nirs = {c.name for c in [*table.columns, *target_columns] if c.identifier == "nir"}
        frame = assembly.frames[target.target]
        lineage = all_lineage[
            (all_lineage["target_table"] == target.target)
            & (all_lineage["source_table"] == target.source)
        ]
        key_columns = list(schema.tables[target.target].primary_key)
        keyed = frame.set_index(join_key(frame, key_columns) if len(frame) else frame.index)
        preview_rows = []
        for record in read.rows.head(rows).to_dict("records"):
            line = int(record.pop(LINE_COLUMN))
            row = PreviewRow(line, _shown(record, personal_source, nirs, show_personal_data))
            for key in lineage.loc[lineage["source_line"] == line, "target_key"]:
                values = keyed.loc[key].to_dict() if key in keyed.index else {}
                row.targets.append(_shown(values, personal_target, nirs, show_personal_data))
            row.rejects = _reject_reasons(errors, assembly.rejects, target.source, line)
            filtered = assembly.filters[
                (assembly.filters["source_table"] == target.source)
                & (assembly.filters["source_line"] == line)
                & (assembly.filters["target_table"] == target.target)
            ]
            if not row.targets and len(filtered):
                row.filtered = str(filtered["reason"].iloc[0])
            preview_rows.append(row)
        previews.append(TargetPreview(target.target, target.source, preview_rows))
    return previews


def _shown(values: dict, personal: set[str], nirs: set[str], show: bool) -> dict:
    """Return the values with those of `personal` columns masked, unless `show`. A NIR column
    of `nirs` is masked as a NIR."""
    shown = {}
    for name, value in values.items():
        if show or name not in personal:
            shown[name] = value
        else:
            shown[name] = mask_nir(value) if name in nirs else mask_value(value)
    return shown


def _reject_reasons(errors, mapping_rejects, table: str, line: int) -> list[str]:
    reasons = []
    for row in errors[(errors["table"] == table) & (errors["line"] == line)].itertuples():
        where = f" ({row.column})" if row.column else ""
        reasons.append(f"{row.rule_id}{where}: {RULES[row.rule_id].description}")
    rejects = mapping_rejects[
        (mapping_rejects["source_table"] == table) & (mapping_rejects["source_line"] == line)
    ]
    for row in rejects.itertuples():
        reasons.append(f"{row.rule_id}: {row.reason}")
    return reasons


def format_preview(previews: list[TargetPreview], width: int = 100) -> str:
    """Render a preview as text: each source row beside the target rows it gave."""
    half = (width - 3) // 2
    lines = []
    for preview in previews:
        lines.append(f"== {preview.source} -> {preview.target} ==")
        for row in preview.rows:
            lines.append(f"-- line {row.line}")
            left = [f"{name} = {_text(value)}" for name, value in row.source.items()]
            right = []
            for target in row.targets:
                right += [f"{name} = {_text(value)}" for name, value in target.items()]
            if row.rejects:
                right += ["REJECTED"] + row.rejects
            elif row.filtered:
                right += [f"FILTERED: {row.filtered}"]
            for index in range(max(len(left), len(right))):
                source = left[index] if index < len(left) else ""
                target = right[index] if index < len(right) else ""
                lines.append(f"{source[:half]:<{half}} | {target[:half]}")
        lines.append("")
    return "\n".join(lines)


def _text(value) -> str:
    if value is None:
        return ""
    return str(value).replace("\r", "\\r").replace("\n", "\\n")
