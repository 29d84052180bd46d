"""The `mdph-reprise lineage` commands, run through a parser built like the product's CLI."""

import argparse
import io
import json

import pandas as pd
import pytest
import sqlalchemy as sa

from migration.errors import MdphRepriseError
from migration.lineage.commands import add_lineage_parser
from migration.mapping.expressions import ColumnRef, Context, Surrogate
from migration.reading.findings import NIR_MASK


def run_command(argv):
    """Parse argv with the lineage parser and run it like migration.cli.main: (code, output)."""
    parser = argparse.ArgumentParser(prog="mdph-reprise", allow_abbrev=False)
    add_lineage_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    try:
        code = args.handler(args, out)
    except MdphRepriseError as error:
        return error.exit_code, out.getvalue() + f"error: {error}"
    return code, out.getvalue()


@pytest.fixture(scope="module")
def person(sample_run):
    with sample_run.engine.connect() as connection:
        lineage = connection.execute(
            sa.text(
                "SELECT target_key, source_line, source_key FROM reprise_lignage "
                "WHERE target_table = 'individu' AND source_table = 'DOSSIER' "
                "ORDER BY source_line LIMIT 1"
            )
        ).one()
        name = connection.execute(
            sa.text("SELECT nom_naissance FROM individu WHERE id_individu = :key"),
            {"key": lineage.target_key},
        ).scalar_one()
    return lineage, name


def test_target_prints_source_row(sample_run, person):
    lineage, name = person

    code, output = run_command(
        ["lineage", "target", "individu", lineage.target_key, "--target", sample_run.url]
    )

    assert code == 0
    assert f"ITAC.DOSSIER  file DOSSIER.csv  line {lineage.source_line}" in output
    assert f"key {lineage.source_key}" in output
    assert name not in output


def test_target_masks_nir_as_nir(sample_run):
    with sample_run.engine.connect() as connection:
        key = connection.execute(
            sa.text("SELECT id_individu FROM individu WHERE nir IS NOT NULL LIMIT 1")
        ).scalar_one()

    code, output = run_command(
        ["lineage", "target", "individu", key, "--target", sample_run.url, "--json"]
    )

    assert code == 0
    nir = json.loads(output)["row"]["nir"]
    assert nir == NIR_MASK * 15


def test_target_shows_personal_data_on_request(sample_run, person):
    lineage, name = person

    code, output = run_command(
        [
            "lineage",
            "target",
            "individu",
            lineage.target_key,
            "--target",
            sample_run.url,
            "--show-personal-data",
        ]
    )

    assert code == 0
    assert name in output


def test_target_json_output(sample_run, person):
    lineage, _ = person

    code, output = run_command(
        ["lineage", "target", "individu", lineage.target_key, "--target", sample_run.url, "--json"]
    )
    result = json.loads(output)

    assert code == 0
    assert result["found"] is True
    assert result["sources"][0]["source_line"] == lineage.source_line


def test_target_unknown_key_exits_1(sample_run):
    code, output = run_command(
        ["lineage", "target", "individu", "nope", "--target", sample_run.url]
    )

    assert code == 1
    assert "no row with key 'nope' in target table individu" in output


def test_source_line_prints_targets(sample_run, person):
    lineage, _ = person

    code, output = run_command(
        [
            "lineage",
            "source",
            "ITAC",
            "DOSSIER",
            "--line",
            str(lineage.source_line),
            "--target",
            sample_run.url,
        ]
    )

    assert code == 0
    assert ": loaded" in output
    assert f"-> individu {lineage.target_key}" in output


def test_source_key_of_rejected_row_prints_rule(sample_run):
    with sample_run.engine.connect() as connection:
        reject = connection.execute(
            sa.text(
                "SELECT source_line, rule_id FROM reprise_rejet WHERE application = 'ITAC' "
                "AND source_table = 'DOSSIER' LIMIT 1"
            )
        ).one()

    code, output = run_command(
        [
            "lineage",
            "source",
            "ITAC",
            "DOSSIER",
            "--line",
            str(reject.source_line),
            "--target",
            sample_run.url,
        ]
    )

    assert code == 0
    assert f"line {reject.source_line} rejected by {reject.rule_id}" in output
    assert "NOM_NAISSANCE = A" in output


def test_source_needs_line_or_key(sample_run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_command(["lineage", "source", "ITAC", "DOSSIER", "--target", sample_run.url])

    assert exit_info.value.code == 2
    assert "one of the arguments --line --key is required" in capsys.readouterr().err


def test_source_unknown_line_exits_1(sample_run):
    code, output = run_command(
        ["lineage", "source", "ITAC", "DOSSIER", "--line", "999999", "--target", sample_run.url]
    )

    assert code == 1
    assert "no target row, reject or filter for line 999999 of ITAC.DOSSIER" in output
    first_line = output.splitlines()[0]
    assert first_line.endswith(": not found: no target row, reject or filter comes from it")
    assert "not_found" not in output


def test_source_unknown_line_json_keeps_status(sample_run):
    code, output = run_command(
        [
            "lineage",
            "source",
            "ITAC",
            "DOSSIER",
            "--line",
            "999999",
            "--target",
            sample_run.url,
            "--json",
        ]
    )

    assert code == 1
    trace = json.loads(output[: output.index("\nerror: ")])
    assert trace["status"] == "not_found"


def filtered_line(sample_run) -> int:
    """Return the first line of OPALES.FINESS_GEOLOCALISATION, a table the mapping drops."""
    with sample_run.engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT min(source_line) FROM reprise_filtre "
                "WHERE application = 'OPALES' AND source_table = 'FINESS_GEOLOCALISATION'"
            )
        ).scalar_one()


def test_source_filtered_line_prints_reason(sample_run):
    line = filtered_line(sample_run)

    code, output = run_command(
        [
            "lineage",
            "source",
            "OPALES",
            "FINESS_GEOLOCALISATION",
            "--line",
            str(line),
            "--target",
            sample_run.url,
        ]
    )

    assert code == 0
    assert f"FINESS_GEOLOCALISATION line {line} (run " in output
    assert output.splitlines()[0].endswith(": filtered")
    assert (
        f"  line {line} filtered, the mapping drops its table: les coordonnées des "
        "établissements ne sont pas dans le schéma de référence"
    ) in output


def test_source_filtered_line_json(sample_run):
    line = filtered_line(sample_run)

    code, output = run_command(
        [
            "lineage",
            "source",
            "OPALES",
            "FINESS_GEOLOCALISATION",
            "--line",
            str(line),
            "--target",
            sample_run.url,
            "--json",
        ]
    )

    assert code == 0
    trace = json.loads(output)
    assert trace["status"] == "filtered"
    assert trace["lines"] == [{"line": line, "status": "filtered"}]
    assert trace["filters"][0]["source_line"] == line
    assert trace["filters"][0]["target_table"] is None


def test_source_line_before_filtered_rows_exits_1(sample_run):
    """Line 2 of FINESS.csv is a FINESS_STRUCTURE row, so FINESS_GEOLOCALISATION has no line 2."""
    code, output = run_command(
        [
            "lineage",
            "source",
            "OPALES",
            "FINESS_GEOLOCALISATION",
            "--line",
            "2",
            "--target",
            sample_run.url,
        ]
    )

    assert code == 1
    assert "no target row, reject or filter for line 2 of OPALES.FINESS_GEOLOCALISATION" in output


def test_target_url_from_environment(sample_run, person, monkeypatch):
    lineage, _ = person
    monkeypatch.setenv("MDPH_TARGET_URL", sample_run.url)

    code, output = run_command(["lineage", "target", "individu", lineage.target_key])

    assert code == 0
    assert "ITAC.DOSSIER" in output


def test_no_target_url_exits_2(monkeypatch, tmp_path):
    monkeypatch.delenv("MDPH_TARGET_URL", raising=False)
    monkeypatch.chdir(tmp_path)

    code, output = run_command(["lineage", "target", "individu", "x"])

    assert code == 2
    assert "pass --target URL or set MDPH_TARGET_URL" in output


def test_merged_person_found_by_itac_key(sample_run):
    with sample_run.engine.connect() as connection:
        merged = connection.execute(
            sa.text(
                "SELECT target_key, source_key FROM reprise_lignage "
                "WHERE target_table = 'individu' AND application = 'ITAC' AND target_key IN "
                "(SELECT target_key FROM reprise_lignage WHERE target_table = 'individu' "
                "AND application = 'OPALES') ORDER BY target_key LIMIT 1"
            )
        ).one()
        opales_key = connection.execute(
            sa.text(
                "SELECT source_key FROM reprise_lignage WHERE target_table = 'individu' "
                "AND target_key = :key AND application = 'OPALES'"
            ),
            {"key": merged.target_key},
        ).scalar_one()
    itac_key = surrogate_key("individu.itac", merged.source_key)
    own_key = surrogate_key("individu.opales", opales_key)

    found = run_command(["lineage", "target", "individu", itac_key, "--target", sample_run.url])
    missing = run_command(["lineage", "target", "individu", own_key, "--target", sample_run.url])

    assert merged.target_key == itac_key
    assert found[0] == 0
    assert f"key {opales_key}" in found[1]
    assert missing[0] == 1


def surrogate_key(namespace, value):
    """Return the key that `{surrogate: [COLUMN], namespace: ...}` generates for one value."""
    frame = pd.DataFrame({"COLUMN": [value]}, dtype=object)
    expression = Surrogate(namespace=namespace, arguments=[ColumnRef("COLUMN")])
    return expression.evaluate(Context(frame)).iloc[0]
