"""Row lineage queries on the target database of a real sample run."""

import sqlite3

import pytest
import sqlalchemy as sa

from migration.lineage import LineageError, trace_source, trace_target
from migration.lineage.queries import (
    STATUS_FILTERED,
    STATUS_LOADED,
    STATUS_NOT_FOUND,
    STATUS_REJECTED,
    previous_run_summary,
    run_summary,
    unknown_table_message,
)
from migration.reading.findings import mask_value
from migration.target.engine import create_target_engine


def one(engine, sql, **params):
    with engine.connect() as connection:
        return connection.execute(sa.text(sql), params).first()


@pytest.fixture(scope="module")
def person(sample_run):
    """An ITAC individual with its lineage row and its clear values."""
    lineage = one(
        sample_run.engine,
        "SELECT target_key, source_line, source_key FROM reprise_lignage "
        "WHERE target_table = 'individu' AND application = 'ITAC' AND source_table = 'DOSSIER' "
        "ORDER BY source_line LIMIT 1",
    )
    row = one(
        sample_run.engine,
        "SELECT nom_naissance, date_naissance FROM individu WHERE id_individu = :key",
        key=lineage.target_key,
    )
    return lineage, row


def test_trace_target_gives_source_file_line_key(sample_run, person):
    lineage, _ = person

    trace = trace_target(sample_run.engine, "individu", lineage.target_key)

    assert trace.found
    assert trace.run_id == sample_run.outcome.summary["run_id"]
    assert len(trace.sources) == 1
    source = trace.sources[0]
    assert (source.application, source.source_table) == ("ITAC", "DOSSIER")
    assert source.source_file == "DOSSIER.csv"
    assert source.source_line == lineage.source_line
    assert source.source_key == lineage.source_key


def test_trace_target_masks_personal_values(sample_run, person):
    lineage, clear = person

    trace = trace_target(sample_run.engine, "individu", lineage.target_key)

    assert trace.row["id_individu"] == lineage.target_key
    assert trace.row["nom_naissance"] == mask_value(clear.nom_naissance)
    assert trace.row["nom_naissance"] != clear.nom_naissance
    assert trace.row["date_naissance"] == "9999-99-99"


def test_trace_target_shows_personal_values_on_request(sample_run, person):
    lineage, clear = person

    trace = trace_target(sample_run.engine, "individu", lineage.target_key, show_personal=True)

    assert trace.row["nom_naissance"] == clear.nom_naissance


def test_merged_person_has_both_sources(sample_run):
    key = one(
        sample_run.engine,
        "SELECT target_key FROM reprise_lignage WHERE target_table = 'individu' "
        "GROUP BY target_key HAVING count(DISTINCT application) > 1 LIMIT 1",
    ).target_key

    trace = trace_target(sample_run.engine, "individu", key)

    assert {source.application for source in trace.sources} == {"ITAC", "OPALES"}


def test_trace_target_unknown_key_not_found(sample_run):
    trace = trace_target(sample_run.engine, "individu", "0" * 32)

    assert not trace.found
    assert trace.row is None


def test_trace_target_unknown_table_raises(sample_run):
    with pytest.raises(LineageError, match="unknown target table 'personne'"):
        trace_target(sample_run.engine, "personne", "x")


def test_trace_source_line_to_targets(sample_run, person):
    lineage, _ = person

    trace = trace_source(sample_run.engine, "itac", "DOSSIER", lineage.source_line)

    assert trace.status == STATUS_LOADED
    assert trace.application == "ITAC"
    assert ("individu", lineage.target_key) in {
        (target.target_table, target.target_key) for target in trace.targets
    }
    assert {target.target_table for target in trace.targets} >= {"individu", "dossier"}


def test_trace_source_key_to_targets(sample_run, person):
    lineage, _ = person

    trace = trace_source(sample_run.engine, "ITAC", "DOSSIER", lineage.source_key)

    assert trace.status == STATUS_LOADED
    assert {target.source_line for target in trace.targets} == {lineage.source_line}


def test_trace_source_rejected_line(sample_run):
    reject = one(
        sample_run.engine,
        "SELECT application, source_table, source_line, rule_id, column_name FROM reprise_rejet "
        "ORDER BY id LIMIT 1",
    )

    trace = trace_source(
        sample_run.engine, reject.application, reject.source_table, reject.source_line
    )

    assert trace.status == STATUS_REJECTED
    assert trace.targets == []
    assert reject.rule_id in {r.rule_id for r in trace.rejects}
    assert trace.lines == [{"line": reject.source_line, "status": STATUS_REJECTED}]


def test_trace_source_reject_masks_personal_raw_values(sample_run):
    reject = one(
        sample_run.engine,
        "SELECT source_line FROM reprise_rejet WHERE application = 'ITAC' "
        "AND source_table = 'DOSSIER' LIMIT 1",
    )

    masked = trace_source(sample_run.engine, "ITAC", "DOSSIER", reject.source_line)
    clear = trace_source(
        sample_run.engine, "ITAC", "DOSSIER", reject.source_line, show_personal=True
    )

    masked_values = masked.rejects[0].raw_values
    clear_values = clear.rejects[0].raw_values
    assert masked_values["NOM_NAISSANCE"] == mask_value(clear_values["NOM_NAISSANCE"])
    assert masked_values["NOM_NAISSANCE"] != clear_values["NOM_NAISSANCE"]
    assert masked_values["NUM_DOSSIER"] == clear_values["NUM_DOSSIER"]


def test_trace_source_duplicate_key_gives_both_lines(sample_run):
    duplicate = one(
        sample_run.engine,
        "SELECT source_line, json_extract(raw_values, '$.NUM_DOSSIER') AS num FROM reprise_rejet "
        "WHERE rule_id = 'key.duplicate' AND source_table = 'DOSSIER'",
    )

    trace = trace_source(sample_run.engine, "ITAC", "DOSSIER", duplicate.num)

    statuses = {entry["line"]: entry["status"] for entry in trace.lines}
    assert statuses[duplicate.source_line] == STATUS_REJECTED
    assert STATUS_LOADED in statuses.values()


@pytest.fixture(scope="module")
def dropped_rows(sample_run):
    """The filtered rows of OPALES.FINESS_GEOLOCALISATION, a table the OPALES mapping drops.

    FINESS.csv contains the rows of FINESS_STRUCTURE, then those of FINESS_GEOLOCALISATION.
    """
    with sample_run.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT source_file, source_line, source_key, target_table, reason "
                "FROM reprise_filtre WHERE application = 'OPALES' "
                "AND source_table = 'FINESS_GEOLOCALISATION' ORDER BY source_line"
            )
        ).all()
    return rows


def test_filtered_rows_match_summary(sample_run, dropped_rows):
    counts = {
        (table["application"], table["table"]): table["filtered"]
        for table in sample_run.outcome.summary["tables"]
    }
    stored = one(sample_run.engine, "SELECT count(*) AS n FROM reprise_filtre").n

    assert counts[("OPALES", "FINESS_GEOLOCALISATION")] == 42
    assert len(dropped_rows) == 42
    assert sum(counts.values()) == 42
    assert stored == 42


def test_trace_source_filtered_line(sample_run, dropped_rows):
    first = dropped_rows[0]

    trace = trace_source(sample_run.engine, "OPALES", "FINESS_GEOLOCALISATION", first.source_line)

    assert trace.status == STATUS_FILTERED
    assert trace.targets == []
    assert trace.rejects == []
    assert len(trace.filters) == 1
    filtered = trace.filters[0]
    assert filtered.source_line == first.source_line
    assert filtered.source_file == "FINESS.csv"
    assert filtered.source_key == first.source_key
    assert filtered.target_table is None
    assert filtered.reason.startswith("les coordonnées des établissements")
    assert trace.lines == [{"line": first.source_line, "status": STATUS_FILTERED}]


def test_trace_source_filtered_key(sample_run, dropped_rows):
    last = dropped_rows[-1]

    trace = trace_source(sample_run.engine, "OPALES", "FINESS_GEOLOCALISATION", last.source_key)

    assert trace.status == STATUS_FILTERED
    assert [filtered.source_line for filtered in trace.filters] == [last.source_line]


def test_trace_source_unfiltered_lines_not_found(sample_run, dropped_rows):
    """Lines of the same file outside the table, and past its end, are in no product table."""
    with sample_run.engine.connect() as connection:
        structure_line = connection.execute(
            sa.text(
                "SELECT min(source_line) FROM reprise_lignage "
                "WHERE application = 'OPALES' AND source_table = 'FINESS_STRUCTURE'"
            )
        ).scalar_one()
    past_end = dropped_rows[-1].source_line + 1

    for line in (1, structure_line, past_end):
        trace = trace_source(sample_run.engine, "OPALES", "FINESS_GEOLOCALISATION", line)
        assert trace.status == STATUS_NOT_FOUND, line
        assert trace.filters == [], line


def test_trace_source_without_filter_table(sample_run, dropped_rows, person, tmp_path):
    """A database that an earlier release loaded still traces loaded rows."""
    copy = tmp_path / "earlier.sqlite3"
    source = sqlite3.connect(sample_run.engine.url.database)
    earlier = sqlite3.connect(copy)
    try:
        source.backup(earlier)
        earlier.execute("DROP TABLE reprise_filtre")
        earlier.commit()
    finally:
        source.close()
        earlier.close()
    engine = create_target_engine(f"sqlite:///{copy}")
    lineage, _ = person
    try:
        loaded = trace_source(engine, "ITAC", "DOSSIER", lineage.source_line)
        with pytest.raises(LineageError) as error:
            trace_source(engine, "OPALES", "FINESS_GEOLOCALISATION", dropped_rows[0].source_line)
    finally:
        engine.dispose()

    assert loaded.status == STATUS_LOADED
    message = str(error.value)
    assert "has no table reprise_filtre, so whether a mapping filtered it is unknown" in message
    assert "Run `mdph-reprise run` into it again" in message


def test_trace_source_unknown_line_not_found(sample_run):
    trace = trace_source(sample_run.engine, "ITAC", "DOSSIER", 10**6)

    assert trace.status == STATUS_NOT_FOUND


def test_run_summary_stored(sample_run):
    summary = run_summary(sample_run.engine)

    assert summary["run_id"] == sample_run.outcome.summary["run_id"]
    assert "run_record" in summary


def test_rerun_compares_with_previous_run(tmp_path):
    import json

    from tests.reports.sample_run import run_sample

    first = run_sample(tmp_path)
    second = run_sample(tmp_path)
    first.engine.dispose()
    try:
        previous = previous_run_summary(second.engine, second.outcome.summary["run_id"])
        resume = json.loads(second.paths["json"].read_text(encoding="utf-8"))
    finally:
        second.engine.dispose()

    assert previous["run_id"] == first.outcome.summary["run_id"]
    assert resume["changes"]["previous_run_id"] == first.outcome.summary["run_id"]
    assert resume["changes"]["changed_tables"] == 0


def test_database_without_lineage_tables_raises(tmp_path):
    engine = create_target_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")

    with pytest.raises(LineageError, match="has no table reprise_lignage"):
        trace_target(engine, "individu", "x")


def test_unknown_table_message_lists_closest_of_many():
    tables = [f"TABLE_{number:02d}" for number in range(30)] + ["DOSSIER", "DOSSIER_ARCHIVE"]

    message = unknown_table_message("ITAC", "DOSIER", tables)

    assert message.startswith("ITAC has no table 'DOSIER'; did you mean DOSSIER? ")
    assert "The closest of its 32 tables are DOSSIER, DOSSIER_ARCHIVE, " in message
    assert len(message.split(" are ", 1)[1].split(", ")) == 5


def test_unknown_table_message_lists_all_of_few():
    message = unknown_table_message("OPALES", "NOPE", ["ENFANT", "DEMANDE"])

    assert message == "OPALES has no table 'NOPE'; its tables are ENFANT, DEMANDE"
