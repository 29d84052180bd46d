"""End-to-end runs of the bundled sample delivery into real SQLite and PostgreSQL databases."""

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from migration.run import RunOptions, run_migration
from migration.target.engine import create_target_engine
from migration.target.schema import load_target_schema
from tests.sample_delivery import generate_plaintext

ROOT = Path(__file__).resolve().parents[1]
DELIVERY = ROOT / "sample_data" / "delivery"
EXPECTED = json.loads((ROOT / "sample_data" / "expected.json").read_text(encoding="utf-8"))
PASSWORD = "reprise-57-demo"
PRODUCT_TABLES = {"reprise_run", "reprise_rejet", "reprise_lignage"}


def _run(tmp_path: Path, target_url: str, workers: int = 2):
    options = RunOptions(
        delivery=DELIVERY,
        target_url=target_url,
        reports_dir=tmp_path / "rapports",
        workers=workers,
    )
    return run_migration(options, PASSWORD)


@pytest.fixture(scope="module")
def sqlite_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sqlite_run")
    url = f"sqlite:///{folder / 'mdph.sqlite3'}"
    return _run(folder, url), url


@pytest.fixture(scope="module")
def tables(sqlite_run):
    outcome, _ = sqlite_run
    return {f"{t['application']}.{t['table']}": t for t in outcome.summary["tables"]}


def test_run_succeeds(sqlite_run):
    outcome, _ = sqlite_run
    assert outcome.status == "success"
    assert outcome.reports["html"].exists()
    assert outcome.reports["json"].exists()


def test_every_source_table_reconciles(tables):
    assert set(tables) == set(EXPECTED["tables"])
    for name, table in tables.items():
        assert table["read"] == table["loaded"] + table["rejected"] + table["filtered"], name
        assert table["reconciled"], name


@pytest.mark.parametrize("name", sorted(EXPECTED["tables"]))
def test_counts_match_sample_readme(tables, name):
    expected = EXPECTED["tables"][name]
    assert tables[name]["read"] == expected["read"]
    assert tables[name]["rejected"] == expected["rejected"]
    assert tables[name]["warnings"] == expected["warnings"]


@pytest.mark.parametrize("name", sorted(EXPECTED["tables"]))
def test_planted_defects_found_and_nothing_else(tables, name):
    found = {rule["rule_id"]: rule["count"] for rule in tables[name]["findings_by_rule"]}
    assert found == EXPECTED["defects"].get(name, {})


def test_child_also_adult_becomes_one_person(sqlite_run):
    outcome, _ = sqlite_run
    identity = outcome.summary["identity"]
    for key in ("cross_application", "by_nir", "by_identity", "for_review"):
        assert identity[key] == EXPECTED["identity"][key], key


def test_spelling_variant_goes_to_review_not_merged(sqlite_run):
    outcome, url = sqlite_run
    expected = [
        (pair["itac_num_dossier"], pair["opales_num_enfant"])
        for pair in EXPECTED["cross_application_pairs"]
        if pair["match"] == "review"
    ]
    review = outcome.summary["identity"]["review"]
    assert [(c["source_itac"], c["source_opales"]) for c in review] == expected
    engine = create_target_engine(url)
    with engine.connect() as connection:
        individuals = connection.execute(
            sa.text("SELECT count(*) FROM individu WHERE id_individu IN (:a, :b)"),
            {"a": review[0]["id_individu_itac"], "b": review[0]["id_individu_opales"]},
        ).scalar_one()
    assert individuals == 2


def test_merged_person_keeps_both_dossiers(sqlite_run):
    _, url = sqlite_run
    engine = create_target_engine(url)
    merged = [p for p in EXPECTED["cross_application_pairs"] if p["match"] != "review"]
    with engine.connect() as connection:
        for pair in merged:
            owners = connection.execute(
                sa.text(
                    "SELECT DISTINCT id_individu FROM dossier WHERE numero_origine IN (:a, :b)"
                ),
                {"a": pair["itac_num_dossier"], "b": pair["opales_num_enfant"]},
            ).all()
            assert len(owners) == 1, pair


def test_database_holds_every_target_table(sqlite_run):
    outcome, url = sqlite_run
    engine = create_target_engine(url)
    with engine.connect() as connection:
        for target in outcome.summary["targets"]:
            count = connection.execute(sa.text(f'SELECT count(*) FROM "{target["table"]}"'))
            assert count.scalar_one() == target["rows"] > 0, target["table"]
    names = set(sa.inspect(engine).get_table_names())
    assert PRODUCT_TABLES <= names


def test_every_target_row_has_lineage(sqlite_run):
    outcome, url = sqlite_run
    engine = create_target_engine(url)
    with engine.connect() as connection:
        for target in outcome.summary["targets"]:
            traced = connection.execute(
                sa.text(
                    "SELECT count(DISTINCT target_key) FROM reprise_lignage WHERE target_table = :t"
                ),
                {"t": target["table"]},
            ).scalar_one()
            assert traced == target["rows"], target["table"]


def test_rejects_table_holds_every_rejected_row(sqlite_run, tables):
    _, url = sqlite_run
    engine = create_target_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT application, source_table, count(DISTINCT source_line) FROM reprise_rejet "
                "GROUP BY application, source_table"
            )
        ).all()
    rejected = {f"{app}.{table}": count for app, table, count in rows}
    expected = {name: t["rejected"] for name, t in tables.items() if t["rejected"]}
    assert rejected == expected


def _content(url: str) -> dict[str, list[tuple]]:
    engine = create_target_engine(url)
    content = {}
    with engine.connect() as connection:
        # Only the target tables: the database may also hold other tables, such as the
        # Dagster storage another test keeps there.
        for name in sorted(load_target_schema().tables):
            rows = connection.execute(sa.text(f'SELECT * FROM "{name}"')).all()
            content[name] = sorted(tuple(str(value) for value in row) for row in rows)
    engine.dispose()
    return content


@pytest.mark.postgres
def test_postgresql_gives_same_counts_and_rows(sqlite_run, postgres_url, tmp_path):
    sqlite_outcome, sqlite_url = sqlite_run
    outcome = _run(tmp_path, postgres_url)
    assert outcome.status == "success"
    assert outcome.summary["tables"] == sqlite_outcome.summary["tables"]
    assert outcome.summary["targets"] == sqlite_outcome.summary["targets"]
    assert _content(postgres_url) == _content(sqlite_url)


def test_rerun_gives_identical_content(sqlite_run, tmp_path):
    _, url = sqlite_run
    before = _content(url)
    outcome = _run(tmp_path, url)
    assert outcome.status == "success"
    assert _content(url) == before


def test_one_process_gives_what_two_give(sqlite_run, tmp_path):
    """The applications read side by side in two processes load what one process loads."""
    parallel, parallel_url = sqlite_run
    url = f"sqlite:///{tmp_path / 'one_process.sqlite3'}"
    outcome = _run(tmp_path, url, workers=1)
    assert outcome.status == "success"
    for key in ("tables", "targets", "identity", "blocking"):
        assert outcome.summary[key] == parallel.summary[key], key
    assert _content(url) == _content(parallel_url)


def test_value_the_target_refuses_is_a_reject_not_a_failed_load(tmp_path):
    text = (ROOT / "mappings" / "itac.yaml").read_text(encoding="utf-8")
    mapping = tmp_path / "itac.yaml"
    broken = "      numero: {concat: [ADR_NUMERO, ADR_VOIE]}\n"  # longer than numero allows
    mapping.write_text(text.replace("      numero: ADR_NUMERO\n", broken, 1))
    options = RunOptions(
        delivery=DELIVERY,
        target_url=f"sqlite:///{tmp_path / 'mdph.sqlite3'}",
        reports_dir=tmp_path / "rapports",
        mappings={"ITAC": mapping},
    )
    outcome = run_migration(options, PASSWORD)
    assert outcome.status == "success"
    dossier = next(t for t in outcome.summary["tables"] if t["table"] == "DOSSIER")
    rules = {rule["rule_id"]: rule["count"] for rule in dossier["findings_by_rule"]}
    assert rules["mapping.target_value"] > 0
    assert dossier["reconciled"]
    assert dossier["rejected"] == 2 + rules["mapping.target_value"]


def test_newer_finess_extract_replaces_the_delivered_one(tmp_path):
    from stdnum import luhn

    plaintext = tmp_path / "plain"
    generate_plaintext(plaintext)
    delivered = (plaintext / "OPALES" / "FINESS.csv").read_bytes().decode("cp1252")
    record = next(line for line in delivered.split("\r\n") if line.startswith("structureet;"))
    fields = record.split(";")
    body = "57099999"
    fields[1] = body + luhn.calc_check_digit(body)
    newer = tmp_path / "finess_2024.csv"
    newer.write_bytes((delivered + ";".join(fields) + "\r\n").encode("cp1252"))

    options = RunOptions(
        delivery=DELIVERY,
        target_url=f"sqlite:///{tmp_path / 'mdph.sqlite3'}",
        reports_dir=tmp_path / "rapports",
        references={"FINESS.csv": newer},
    )
    outcome = run_migration(options, PASSWORD)
    assert outcome.succeeded, outcome.summary.get("blocking")
    structure = next(t for t in outcome.summary["tables"] if t["table"] == "FINESS_STRUCTURE")
    assert structure["read"] == EXPECTED["tables"]["OPALES.FINESS_STRUCTURE"]["read"] + 1
    assert structure["loaded"] == structure["read"]


def test_sample_merges_without_conflict(sqlite_run):
    """ITAC and OPALES give one name to each establishment of the sample, and write the names
    of the person they share in their own case and accents, which is no conflict."""
    outcome, _ = sqlite_run
    assert outcome.summary["merge_conflicts"] == []


def test_renamed_establishment_is_a_merge_conflict(tmp_path):
    """A FINESS extract that names an ITAC establishment otherwise is still reported."""
    plaintext = tmp_path / "plain"
    generate_plaintext(plaintext)
    itac_rows = (plaintext / "ITAC" / "ETABLISSEMENT.csv").read_bytes().decode("cp1252")
    itac_finess = {line.split(";")[1] for line in itac_rows.split("\r\n")[1:] if line}
    lines = (plaintext / "OPALES" / "FINESS.csv").read_bytes().decode("cp1252").split("\r\n")
    index = next(
        position
        for position, line in enumerate(lines)
        if line.startswith("structureet;") and line.split(";")[1] in itac_finess
    )
    fields = lines[index].split(";")
    fields[4] = "ESAT RENOMME"  # rslongue, which the target prefers to rs
    lines[index] = ";".join(fields)
    renamed = tmp_path / "finess_renamed.csv"
    renamed.write_bytes("\r\n".join(lines).encode("cp1252"))

    options = RunOptions(
        delivery=DELIVERY,
        target_url=f"sqlite:///{tmp_path / 'mdph.sqlite3'}",
        reports_dir=tmp_path / "rapports",
        references={"FINESS.csv": renamed},
    )
    outcome = run_migration(options, PASSWORD)
    assert outcome.succeeded, outcome.summary.get("blocking")
    [conflicts] = [c for c in outcome.summary["merge_conflicts"] if c["table"] == "etablissement"]
    assert conflicts["keys"] == 1
    assert [column["column"] for column in conflicts["columns"]] == ["raison_sociale"]


def test_malformed_records_keep_raw_text(tmp_path, caplog):
    """A record rejected as malformed is stored with its text, which no log message shows."""
    import logging

    from migration.lineage.queries import trace_source
    from migration.reading.csv_reader import RAW_TEXT_KEY
    from migration.reading.findings import NIR_MASK, mask_nir
    from tests.target.pipeline_rows import edit_csv

    delivery = generate_plaintext(tmp_path / "delivery", persons=300)
    edited = {}

    def break_two_records(lines):
        # A line after a line without quotes starts a record and ends it when it has none.
        plain = [i for i in range(2, len(lines)) if '"' not in lines[i - 1] + lines[i]]
        first, second = plain[3], plain[7]
        lines[first] += ";EXTRA"
        lines[second] = lines[second].replace(";", ";\x00", 1)
        edited["csv.field_count"] = (first + 1, lines[first])
        edited["csv.nul"] = (second + 1, lines[second])
        return lines

    edit_csv(delivery / "ITAC" / "DOSSIER.csv", break_two_records)
    url = f"sqlite:///{tmp_path / 'mdph.sqlite3'}"
    options = RunOptions(
        delivery=delivery,
        target_url=url,
        reports_dir=tmp_path / "rapports",
        workers=1,
    )
    with caplog.at_level(logging.DEBUG, logger="migration"):
        outcome = run_migration(options, "")
    assert outcome.status == "success"

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text(
                "SELECT rule_id, source_line, raw_values FROM reprise_rejet "
                "WHERE rule_id IN ('csv.field_count', 'csv.nul')"
            )
        ).all()
    stored = {rule_id: (line, raw) for rule_id, line, raw in stored}
    assert set(stored) == set(edited)
    for rule_id, (line, text) in edited.items():
        assert stored[rule_id][0] == line
        assert json.loads(stored[rule_id][1]) == {RAW_TEXT_KEY: text}
        assert not [r for r in caplog.records if text in r.getMessage()]

        masked = trace_source(engine, "ITAC", "DOSSIER", line).rejects[0].raw_values
        clear = trace_source(engine, "ITAC", "DOSSIER", line, show_personal=True)
        # The record's fields may contain a NIR, so no digit shows, not even as a nine.
        assert masked == {RAW_TEXT_KEY: mask_nir(text)}
        assert NIR_MASK in masked[RAW_TEXT_KEY]
        assert not any(char.isdigit() for char in masked[RAW_TEXT_KEY])
        assert clear.rejects[0].raw_values == {RAW_TEXT_KEY: text}
    engine.dispose()


def test_worker_error_reaches_caller(tmp_path, monkeypatch):
    """A reading error raised in a worker process stops the run with its own message."""
    import migration.run
    from migration.reading.errors import ReadingError

    def broken(name, folder, *args):
        if name == "OPALES":
            raise ReadingError(f"{folder}/AES.csv: line 7 does not decode as cp1252")
        return validate(name, folder, *args)

    validate = migration.run.validate_application_staged
    monkeypatch.setattr(migration.run, "validate_application_staged", broken)
    url = f"sqlite:///{tmp_path / 'mdph.sqlite3'}"
    with pytest.raises(ReadingError, match=r"AES.csv: line 7 does not decode as cp1252"):
        _run(tmp_path, url, workers=2)
    assert not (tmp_path / "mdph.sqlite3").exists()


def test_missing_workdir_leaves_no_database_file(tmp_path):
    """A --workdir that does not exist stops the run before reading, with no empty database."""
    from migration.delivery.errors import DeliveryError

    options = RunOptions(
        delivery=DELIVERY,
        target_url=f"sqlite:///{tmp_path / 'mdph.sqlite3'}",
        reports_dir=tmp_path / "rapports",
        workdir_parent=tmp_path / "missing",
    )
    with pytest.raises(DeliveryError, match=r"work folder not found \(--workdir"):
        run_migration(options, PASSWORD)
    assert not (tmp_path / "mdph.sqlite3").exists()


def test_missing_delivery_stops_before_creating_anything(tmp_path):
    """A delivery path that does not exist is reported before the target is reached. It leaves
    no database file, and the report folder gets the run's OpenLineage FAIL event only."""
    from migration.delivery.errors import DeliveryError
    from migration.lineage.openlineage import EVENTS_FILE

    messages: list[str] = []
    options = RunOptions(
        delivery=tmp_path / "livraison",
        target_url=f"sqlite:///{tmp_path / 'mdph.sqlite3'}",
        reports_dir=tmp_path / "rapports",
    )
    with pytest.raises(DeliveryError, match="livraison: delivery folder not found; check the path"):
        run_migration(options, PASSWORD, lambda step, message: messages.append(step))
    assert messages == []
    assert [path.name for path in (tmp_path / "rapports").iterdir()] == [EVENTS_FILE]
    assert not (tmp_path / "mdph.sqlite3").exists()


def test_one_worker_reports_each_application_when_done(tmp_path, monkeypatch):
    """With one process, the progress of ITAC shows before OPALES is read."""
    import migration.run

    messages: list[str] = []
    shown_before_opales: list[str] = []

    def recording(name, *args):
        if name == "OPALES":
            shown_before_opales.extend(messages)
        return validate(name, *args)

    validate = migration.run.validate_application_staged
    monkeypatch.setattr(migration.run, "validate_application_staged", recording)
    options = RunOptions(
        delivery=DELIVERY,
        target_url=f"sqlite:///{tmp_path / 'mdph.sqlite3'}",
        reports_dir=tmp_path / "rapports",
        workers=1,
    )
    run_migration(options, PASSWORD, lambda step, message: messages.append(f"{step}: {message}"))
    assert any(message.startswith("reading: ITAC: ") for message in shown_before_opales)
    assert not any("OPALES" in message for message in shown_before_opales)


def test_worker_results_leave_no_file(tmp_path):
    """The files that hand the workers' results over are gone, even from a kept work folder."""
    workdirs = tmp_path / "work"
    workdirs.mkdir()
    options = RunOptions(
        delivery=DELIVERY,
        target_url=f"sqlite:///{tmp_path / 'mdph.sqlite3'}",
        reports_dir=tmp_path / "rapports",
        workers=2,
        workdir_parent=workdirs,
        keep_plaintext=True,
    )
    outcome = run_migration(options, PASSWORD)
    assert outcome.status == "success"
    [kept] = list(workdirs.iterdir())
    assert sorted(path.name for path in kept.iterdir() if path.is_dir()) == ["ITAC", "OPALES"]
    assert not list(kept.rglob("*.pickle"))


def test_missing_target_table_stops_before_reading(sqlite_run, tmp_path, monkeypatch):
    """A target database that lacks one target table is rejected before any decryption."""
    import shutil

    import migration.run
    from migration.target.errors import TargetError

    _, url = sqlite_run
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(sa.engine.make_url(url).database, copy)
    engine = sa.create_engine(f"sqlite:///{copy}")
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE suivi_orientation"))
    engine.dispose()

    def no_decryption(*args, **kwargs):
        raise AssertionError("the delivery was opened")

    monkeypatch.setattr(migration.run, "open_delivery", no_decryption)
    with pytest.raises(TargetError) as raised:
        _run(tmp_path, f"sqlite:///{copy}")
    message = str(raised.value)
    assert "table suivi_orientation is missing" in message
    assert "nothing was read or loaded" in message


def _lineage_rows(url: str) -> list[tuple]:
    engine = create_target_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT target_table, target_key, application, source_table, source_file, "
                "source_line, source_key FROM reprise_lignage"
            )
        ).all()
    engine.dispose()
    return sorted(tuple(row) for row in rows)


def test_staged_lineage_stores_what_one_frame_stores(tmp_path, monkeypatch):
    """A run that stages the lineage in parts in its work folder stores the lineage rows of a
    run that keeps the lineage in memory and loads it as one frame."""
    import stat

    import migration.run
    from migration.mapping import staging

    # With two workers a helper process stages the lineage of some tables, so each process
    # appends what it staged to one file.
    record = tmp_path / "staged.txt"
    stage_frame = staging.FrameStage.__call__

    def recording_stage(self, target, frame):
        result = stage_frame(self, target, frame)
        if self.prefix.endswith("lineage"):
            with record.open("a") as handle:
                mode = stat.S_IMODE(result.path.stat().st_mode)
                handle.write(f"{result.path}\t{mode}\n")
        return result

    monkeypatch.setattr(staging.FrameStage, "__call__", recording_stage)
    workdirs = tmp_path / "work"
    workdirs.mkdir()
    options = RunOptions(
        delivery=DELIVERY,
        target_url=f"sqlite:///{tmp_path / 'staged.sqlite3'}",
        reports_dir=tmp_path / "staged",
        workers=2,
        workdir_parent=workdirs,
        keep_plaintext=True,
    )
    by_staging = run_migration(options, PASSWORD)
    monkeypatch.undo()
    staged = [
        (Path(path), int(mode))
        for path, mode in (line.split("\t") for line in record.read_text().splitlines())
    ]
    # Both processes staged lineage: this one and the helper of the second pass.
    assert {path.name.split("-")[0] for path, _ in staged} == {"lineage", "helper"}

    assemble, load_run = migration.run.assemble, migration.run.load_run

    def assemble_in_memory(*args, **kwargs):
        return assemble(*args, **{**kwargs, "stage_folder": None})

    def load_one_frame(engine, schema, frames, rejects, lineage, *args, **kwargs):
        return load_run(engine, schema, frames, rejects, lineage.to_frame(), *args, **kwargs)

    monkeypatch.setattr(migration.run, "assemble", assemble_in_memory)
    monkeypatch.setattr(migration.run, "load_run", load_one_frame)
    in_memory_url = f"sqlite:///{tmp_path / 'in_memory.sqlite3'}"
    in_memory = _run(tmp_path / "in_memory", in_memory_url)

    assert by_staging.status == in_memory.status == "success"
    assert by_staging.summary["tables"] == in_memory.summary["tables"]
    # One part or more per target table with rows: assembly stages each frame's lineage.
    targets = {target["table"] for target in by_staging.summary["targets"] if target["rows"]}
    assert {path.stem.rsplit("-", 1)[1] for path, _ in staged} == targets
    assert len(staged) > len(targets)
    [kept] = list(workdirs.iterdir())
    for path, mode in staged:
        assert path.parent == kept
        assert mode == 0o600
        assert not path.exists()
    lineage = _lineage_rows(options.target_url)
    assert len(lineage) >= sum(target["rows"] for target in by_staging.summary["targets"]) > 0
    assert lineage == _lineage_rows(in_memory_url)
    assert _content(options.target_url) == _content(in_memory_url)
