"""A source row lost between mapping and loading breaks read = loaded + rejected + filtered.

The reconciliation computes each count from its own records (lineage, rejects, filters), so a
row that vanishes without a trace is caught: by `reconcile`, and by the blocking Dagster check
target_rows/reconciliation, which then stops the load.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

import assets.definitions as definitions
from migration.delivery.intake import open_delivery
from migration.dictionary.model import load_dictionary
from migration.mapping.assemble import assemble
from migration.mapping.engine import MappedApplication, apply_mapping
from migration.mapping.language import load_mapping
from migration.mapping.lineage_parts import LineageParts
from migration.mapping.staging import loaded
from migration.reading.csv_reader import LINE_COLUMN
from migration.steps import (
    FILTER_DB_COLUMNS,
    filters_for_database,
    map_application,
    read_application,
    reconcile,
    validate_application,
)
from tests.assets.test_definitions import _resources
from tests.target.pipeline_rows import (
    ROOT,
    SAMPLE_DELIVERY,
    SAMPLE_PASSWORD,
    SCHEMA,
    pipeline_rows,
)

LOST_TARGET = "orientation"
LOST_SOURCE = ("OPALES", "ORIENTATION")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return pipeline_rows(SAMPLE_DELIVERY, tmp_path_factory.mktemp("work") / "w", SAMPLE_PASSWORD)


def drop_first_mapped_row(mapped: list[MappedApplication]) -> int:
    """Remove the first mapped OPALES orientation row, as a buggy step would; return its line."""
    opales = next(m for m in mapped if m.application == LOST_SOURCE[0])
    frames = opales.frames[LOST_TARGET]
    first = loaded(frames[0])  # a Dagster step stages its mapped frames in files
    line = int(first[LINE_COLUMN].iloc[0])
    frames[0] = first.iloc[1:]
    return line


def counts_by_table(counts: list[dict]) -> dict[tuple[str, str], dict]:
    return {(count["application"], count["table"]): count for count in counts}


def test_sample_reconciles(sample):
    counts = reconcile(sample.validated, sample.assembly)

    for count in counts:
        assert count["reconciled"], (count["application"], count["table"])


def test_row_dropped_before_assembly_is_caught(sample):
    before = counts_by_table(reconcile(sample.validated, sample.assembly))[LOST_SOURCE]
    mapped = [
        MappedApplication(
            m.application, {k: list(v) for k, v in m.frames.items()}, m.rejects, m.filters
        )
        for m in sample.mapped
    ]
    drop_first_mapped_row(mapped)
    rejected = pd.concat([v.rejected_lines() for v in sample.validated], ignore_index=True)

    counts = counts_by_table(reconcile(sample.validated, assemble(mapped, SCHEMA, rejected)))

    lost = counts[LOST_SOURCE]
    assert not lost["reconciled"]
    assert lost["read"] == before["read"]
    assert lost["loaded"] == before["loaded"] - 1
    assert lost["rejected"] == before["rejected"]
    assert lost["filtered"] == before["filtered"]
    others = [key for key, count in counts.items() if not count["reconciled"]]
    assert others == [LOST_SOURCE]


def test_released_mapped_rows_assemble_the_same(sample):
    mapped = [
        MappedApplication(
            m.application, {k: list(v) for k, v in m.frames.items()}, m.rejects, m.filters
        )
        for m in sample.mapped
    ]
    rejected = pd.concat([v.rejected_lines() for v in sample.validated], ignore_index=True)

    assembly = assemble(mapped, SCHEMA, rejected, release_mapped=True)

    assert [m.frames for m in mapped] == [{}, {}]
    assert sorted(assembly.frames) == sorted(sample.assembly.frames)
    for name, frame in sample.assembly.frames.items():
        pd.testing.assert_frame_equal(assembly.frames[name], frame, obj=name)
    pd.testing.assert_frame_equal(assembly.lineage.to_frame(), sample.assembly.lineage.to_frame())
    pd.testing.assert_frame_equal(assembly.rejects, sample.assembly.rejects)


def test_row_without_lineage_is_caught(sample):
    lineage = sample.assembly.lineage.to_frame()
    first = lineage[
        (lineage["application"] == LOST_SOURCE[0]) & (lineage["source_table"] == LOST_SOURCE[1])
    ].iloc[0]
    same_row = (
        (lineage["application"] == first["application"])
        & (lineage["source_table"] == first["source_table"])
        & (lineage["source_line"] == first["source_line"])
    )
    assembly = sample.assembly
    planted = type(assembly)(
        assembly.frames,
        LineageParts.of_frames([lineage[~same_row]]),
        assembly.rejects,
        assembly.filters,
        assembly.identity,
    )

    counts = counts_by_table(reconcile(sample.validated, planted))

    assert not counts[LOST_SOURCE]["reconciled"]
    assert [key for key, count in counts.items() if not count["reconciled"]] == [LOST_SOURCE]


def test_stored_filters_match_filtered_counts(sample):
    filters = filters_for_database("run-1", sample.assembly)

    assert list(filters.columns) == FILTER_DB_COLUMNS
    assert (filters["run_id"] == "run-1").all()
    stored = filters.groupby(["application", "source_table"])["source_line"].nunique()
    for count in reconcile(sample.validated, sample.assembly):
        key = (count["application"], count["table"])
        assert stored.get(key, 0) == count["filtered"], key
    dropped = filters[filters["source_table"] == "FINESS_GEOLOCALISATION"]
    assert len(dropped) == 42
    assert dropped["target_table"].isna().all()
    assert dropped["source_key"].notna().all()


def test_stored_filters_leave_out_loaded_rows(sample):
    """A CONCLUSION row that droit filters out is loaded into decision, so it is not filtered."""
    conclusions = sample.assembly.filters["source_table"] == "CONCLUSION"
    assert conclusions.any()

    filters = filters_for_database("run-1", sample.assembly)

    assert not (filters["source_table"] == "CONCLUSION").any()


def test_stored_filters_match_whole_lineage(sample):
    """The filter records stored are those whose source row is in no row of the whole lineage
    frame and no reject, although they are found from the source lines kept per table."""
    lineage = sample.assembly.lineage.to_frame()
    rejects = sample.assembly.rejects
    source_row = ["application", "source_table", "source_line"]
    accounted = {
        (application, table, int(line))
        for frame in (lineage, rejects)
        for application, table, line in frame[source_row].itertuples(index=False)
    }
    filters = sample.assembly.filters
    left = [
        (application, table, int(line)) not in accounted
        for application, table, line in filters[source_row].itertuples(index=False)
    ]
    expected = filters[left].drop_duplicates([*source_row, "target_table", "reason"])

    stored = filters_for_database("run-1", sample.assembly)

    assert len(stored) > 0
    columns = [*source_row, "target_table", "reason"]
    assert sorted(map(str, stored[columns].itertuples(index=False))) == sorted(
        map(str, expected[columns].itertuples(index=False))
    )


def test_source_lines_match_whole_lineage(sample):
    """The source lines that reconciliation counts as loaded, kept per part as the lineage is
    assembled, are the distinct lines of each source table in the whole lineage frame."""
    lineage = sample.assembly.lineage.to_frame()
    grouped = lineage.groupby(["application", "source_table"])["source_line"]
    expected = {key: sorted(set(lines)) for key, lines in grouped}

    lines = sample.assembly.lineage.source_lines()

    assert len(expected) > 1
    assert {key: array.tolist() for key, array in lines.items()} == expected


def test_stored_filters_leave_out_rejected_rows(sample):
    assembly = sample.assembly
    dropped = assembly.filters[assembly.filters["source_table"] == "FINESS_GEOLOCALISATION"]
    line = int(dropped["source_line"].iloc[0])
    reject = {
        "application": "OPALES",
        "source_table": "FINESS_GEOLOCALISATION",
        "source_file": dropped["source_file"].iloc[0],
        "source_line": line,
        "target_table": None,
        "rule_id": "mapping.required",
        "column_name": None,
        "reason": "planted",
    }
    planted = type(assembly)(
        assembly.frames,
        assembly.lineage,
        pd.concat([assembly.rejects, pd.DataFrame([reject])], ignore_index=True),
        assembly.filters,
        assembly.identity,
    )

    filters = filters_for_database("run-1", planted)

    lines = filters.loc[filters["source_table"] == "FINESS_GEOLOCALISATION", "source_line"]
    assert len(lines) == 41
    assert line not in set(lines)


def test_blocking_check_stops_the_load(tmp_path, monkeypatch):
    real_assemble = definitions.assemble
    lost_lines = []

    def assemble_losing_a_row(mapped, *args, **kwargs):
        lost_lines.append(drop_first_mapped_row(mapped))
        return real_assemble(mapped, *args, **kwargs)

    # materialize runs every asset in this process, so the planted bug reaches target_rows.
    monkeypatch.setattr(definitions, "assemble", assemble_losing_a_row)
    result = dg.materialize(
        definitions.all_assets(),
        resources=_resources(tmp_path, monkeypatch, SAMPLE_DELIVERY),
        partition_key="057",
        raise_on_error=False,
    )

    assert len(lost_lines) == 1
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    reconciliation = checks[("target_rows", "reconciliation")]
    assert reconciliation.passed is False
    gaps = reconciliation.metadata["unreconciled_tables"].value
    assert gaps == [".".join(LOST_SOURCE)]
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "target_rows" in materialized
    assert "loaded_tables" not in materialized
    database = tmp_path / "mdph.sqlite3"
    if database.exists():
        engine = sa.create_engine(f"sqlite:///{database}")
        assert "orientation" not in sa.inspect(engine).get_table_names()
        engine.dispose()


def test_released_rows_keep_counts_and_reject_values(tmp_path):
    """Dropping the accepted rows after assembly changes no count and no reject."""
    from migration.steps import rejects_for_database, release_rows

    rows = pipeline_rows(SAMPLE_DELIVERY, tmp_path / "w", SAMPLE_PASSWORD)
    counts = reconcile(rows.validated, rows.assembly)
    rejects = rejects_for_database("run-1", rows.validated, rows.assembly)
    kept_before = sum(len(read.rows) for v in rows.validated for read in v.reads.values())

    release_rows(rows.validated, rows.assembly)

    kept_after = sum(len(read.rows) for v in rows.validated for read in v.reads.values())
    assert (
        kept_after
        == rejects[["application", "source_table", "source_line"]].drop_duplicates().shape[0]
    )
    assert kept_after < kept_before / 50
    assert all(not v.tables for v in rows.validated)
    assert reconcile(rows.validated, rows.assembly) == counts
    after = rejects_for_database("run-1", rows.validated, rows.assembly)
    pd.testing.assert_frame_equal(after, rejects)
    assert rejects["raw_values"].notna().all()


def _itac_with_refused_values(tmp_path):
    """Validate the sample's ITAC and load a mapping whose numero the target refuses for the
    addresses that have a street (longer than the column allows)."""
    text = (ROOT / "mappings" / "itac.yaml").read_text(encoding="utf-8")
    broken = text.replace(
        "      numero: ADR_NUMERO\n", "      numero: {concat: [ADR_NUMERO, ADR_VOIE]}\n", 1
    )
    assert broken != text
    mapping_file = tmp_path / "itac.yaml"
    mapping_file.write_text(broken, encoding="utf-8")
    opened = open_delivery(SAMPLE_DELIVERY, SAMPLE_PASSWORD, tmp_path / "work")
    itac = opened.applications["ITAC"]
    dictionary = load_dictionary(itac.dictionary)
    validated = validate_application(
        "ITAC", dictionary, read_application("ITAC", itac.folder, dictionary)
    )
    return validated, load_mapping(mapping_file)


def test_values_checked_at_mapping_reject_what_assembly_would(tmp_path):
    """The refused values found where an application is mapped are those assembly finds."""
    validated, mapping = _itac_with_refused_values(tmp_path)
    rejected = validated.rejected_lines()

    checked = map_application(validated, mapping, SCHEMA)
    unchecked = apply_mapping(mapping, validated.tables, validated.dictionary, SCHEMA)

    refused = checked.rejects[checked.rejects["rule_id"] == "mapping.target_value"]
    assert checked.values_checked and len(refused) > 0
    assert not (unchecked.rejects["rule_id"] == "mapping.target_value").any()
    by_mapping = assemble([checked], SCHEMA, rejected)
    by_assembly = assemble([unchecked], SCHEMA, rejected)
    for name, frame in by_assembly.frames.items():
        pd.testing.assert_frame_equal(by_mapping.frames[name], frame, obj=name)
    columns = ["application", "source_table", "source_line", "column_name", "rule_id"]
    assert sorted(map(tuple, by_mapping.rejects[columns].to_numpy().tolist())) == sorted(
        map(tuple, by_assembly.rejects[columns].to_numpy().tolist())
    )


def test_staged_frames_match_frames_in_memory(tmp_path):
    """Mapped frames written to disk as they are mapped assemble into the same rows, with the
    same refused values, and their files are gone once assembly has read them."""
    from migration.mapping.staging import StagedFrame

    validated, mapping = _itac_with_refused_values(tmp_path)
    rejected = validated.rejected_lines()
    stage = tmp_path / "stage"
    stage.mkdir()

    in_memory = map_application(validated, mapping, SCHEMA)
    staged = map_application(validated, mapping, SCHEMA, stage)

    # The source rows left once every target that reads them is mapped: no converted row,
    # and the raw text of the rejected rows only.
    dropped = set(mapping.dropped_tables)
    assert all(t.rows.empty for name, t in validated.tables.items() if name not in dropped)
    rejected_lines = pd.concat(
        [rejected[["source_table", "source_line"]], staged.rejects[["source_table", "source_line"]]]
    ).drop_duplicates()
    kept = sum(len(read.rows) for name, read in validated.reads.items() if name not in dropped)
    assert kept == len(rejected_lines[~rejected_lines["source_table"].isin(dropped)])
    parts = [part for frames in staged.frames.values() for part in frames]
    assert parts and all(isinstance(part, StagedFrame) for part in parts)
    assert sorted(path.name for path in stage.iterdir()) == sorted(p.path.name for p in parts)
    assert (staged.rejects["rule_id"] == "mapping.target_value").any()
    pd.testing.assert_frame_equal(staged.rejects, in_memory.rejects)
    by_memory = assemble([in_memory], SCHEMA, rejected)
    by_staging = assemble([staged], SCHEMA, rejected, release_mapped=True)
    for name, frame in by_memory.frames.items():
        pd.testing.assert_frame_equal(by_staging.frames[name], frame, obj=name)
    pd.testing.assert_frame_equal(by_staging.lineage.to_frame(), by_memory.lineage.to_frame())
    assert not any(stage.iterdir())


def test_released_sources_match_plain_mapping(tmp_path):
    """Freeing each source table once its targets are mapped, without staging, changes no
    mapped row and no reject, and leaves the raw text of the rejected rows only."""
    opened = open_delivery(SAMPLE_DELIVERY, SAMPLE_PASSWORD, tmp_path / "work")
    itac = opened.applications["ITAC"]
    dictionary = load_dictionary(itac.dictionary)
    mapping = load_mapping(ROOT / "mappings" / "itac.yaml")

    def validated():
        reads = read_application("ITAC", itac.folder, dictionary)
        return validate_application("ITAC", dictionary, reads)

    plain = map_application(validated(), mapping, SCHEMA)
    freed = validated()
    released = map_application(freed, mapping, SCHEMA, release_sources=True)

    pd.testing.assert_frame_equal(released.rejects, plain.rejects)
    for name, frames in plain.frames.items():
        for mine, theirs in zip(released.frames[name], frames, strict=True):
            pd.testing.assert_frame_equal(mine, theirs, obj=name)
    dropped = set(mapping.dropped_tables)
    assert all(t.rows.empty for name, t in freed.tables.items() if name not in dropped)
    kept = sum(len(read.rows) for name, read in freed.reads.items() if name not in dropped)
    rejected = freed.rejected_lines()
    assert kept == len(rejected[~rejected["source_table"].isin(dropped)])
