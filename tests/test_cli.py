"""The mdph-reprise command as a user runs it: exit codes and one-line errors."""

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from migration.lineage.openlineage import EVENTS_FILE
from tests.delivery.helpers import killed_run_folder, write_manifest
from tests.reports.summaries import NNBSP
from tests.sample_delivery import generate_plaintext, without_itac

ROOT = Path(__file__).resolve().parents[1]
DELIVERY = ROOT / "sample_data" / "delivery"
PASSWORD = "reprise-57-demo"


def _cli(
    *args: str, password: str | None = PASSWORD, cwd: Path | None = None, target: str | None = None
):
    env = {key: value for key, value in os.environ.items() if not key.startswith("MDPH_")}
    if password is not None:
        env["MDPH_DELIVERY_PASSWORD"] = password
    if target is not None:
        env["MDPH_TARGET_URL"] = target
    return subprocess.run(
        [sys.executable, "-m", "migration.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def _assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == lines[-1:], result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


def test_run_prints_counts_and_report_paths(tmp_path):
    result = _cli("run", str(DELIVERY), "--output", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert f"sqlite:///{tmp_path}/mdph_reprise.sqlite3" in result.stdout
    assert (tmp_path / "mdph_reprise.sqlite3").exists()
    assert (tmp_path / "rapports" / "rapport_qualite.html").exists()
    assert "ITAC.DOSSIER" in result.stdout
    assert "[1] target:" in result.stderr


def test_accept_exit_code_follows_verdict(tmp_path):
    conforming = _cli(
        "accept", str(DELIVERY), "--received", "2008-10-15", "--reports", str(tmp_path / "ok")
    )
    assert conforming.returncode == 0, conforming.stderr
    assert "verdict: conforme" in conforming.stdout

    delivery = generate_plaintext(tmp_path / "delivery")
    log = delivery / "ITAC" / "EXTRACTION_ITAC.log"
    log.write_bytes(log.read_bytes().replace(b"CODE RETOUR 0", b"CODE RETOUR 3"))
    claim = _cli(
        "accept", str(delivery), "--received", "2008-10-15", "--reports", str(tmp_path / "ko")
    )
    assert claim.returncode == 1, claim.stderr
    assert "verdict: réclamation" in claim.stdout
    assert "defect: ITAC/EXTRACTION_ITAC.log: the extraction ended with CODE RETOUR 3" in (
        claim.stdout
    )


def test_run_without_extraction_date_says_unknown(tmp_path):
    delivery = generate_plaintext(tmp_path / "delivery", 60)
    config = delivery / "livraison.yaml"
    text = config.read_text(encoding="utf-8")
    assert 'date_extraction: "2008-10-14"\n' in text
    config.write_text(text.replace('date_extraction: "2008-10-14"\n', ""), encoding="utf-8")

    result = _cli("run", str(delivery), "--output", str(tmp_path / "out"))

    assert result.returncode == 0, result.stderr
    reports = tmp_path / "out" / "rapports"
    summary = json.loads((reports / "resume.json").read_text(encoding="utf-8"))
    assert summary["delivery"]["date_extraction"] is None
    run_page = (reports / "run.html").read_text(encoding="utf-8")
    assert "extraction</dt><dd>inconnue</dd>" in run_page
    assert "None" not in run_page
    assert "None" not in (reports / "rapport_qualite.html").read_text(encoding="utf-8")


def test_wrong_password_stops_with_exit_2(tmp_path):
    result = _cli("run", str(DELIVERY), "--output", str(tmp_path), password="not-the-password")
    _assert_one_line_error(
        result,
        "wrong password: the file matches its SHA-256 in SHA256SUMS, so it arrived as the "
        "sender wrote it",
        "environment variable MDPH_DELIVERY_PASSWORD",
        "--password-file",
    )
    written = sorted(path.name for path in (tmp_path / "rapports").iterdir())
    assert written == [EVENTS_FILE]  # only the OpenLineage FAIL event, no report
    events = (tmp_path / "rapports" / EVENTS_FILE).read_text(encoding="utf-8").splitlines()
    assert json.loads(events[-1])["eventType"] == "FAIL"


def test_missing_delivery_stops_with_exit_2(tmp_path):
    result = _cli("run", str(tmp_path / "absent"), "--output", str(tmp_path))
    _assert_one_line_error(result, "absent")


def test_file_as_delivery_stops_with_exit_2(tmp_path):
    result = _cli("run", str(ROOT / "README.md"), "--output", str(tmp_path))
    _assert_one_line_error(result, "README.md: is a file, not a delivery folder")


def test_unreachable_target_stops_with_exit_2(tmp_path):
    target = "postgresql://postgres:secret@127.0.0.1:1/mdph"
    result = _cli("run", str(DELIVERY), "--output", str(tmp_path), target=target)
    _assert_one_line_error(result, "127.0.0.1:1", "MDPH_TARGET_URL")
    assert "secret" not in result.stderr


@pytest.mark.parametrize(
    "target",
    [
        "postgresql://postgres:ArgSecret@127.0.0.1:1/mdph",
        "postgresql://postgres@127.0.0.1:1/mdph?sslmode=disable&password=ArgSecret",
    ],
)
@pytest.mark.parametrize(
    "command", [["run", str(DELIVERY)], ["lineage", "target", "individu", "K"]]
)
def test_password_in_target_argument_is_refused(tmp_path, target, command):
    result = _cli(*command, "--target", target, cwd=tmp_path)

    _assert_one_line_error(result, "--target contains a database password", "MDPH_TARGET_URL")
    assert "ArgSecret" not in result.stderr
    assert "decrypting" not in result.stderr
    assert not (tmp_path / "output").exists()


def test_unreachable_target_hides_query_password(tmp_path):
    target = "postgresql://postgres@127.0.0.1:1/mdph?password=QuerySecret"
    result = _cli("run", str(DELIVERY), "--output", str(tmp_path), target=target)
    _assert_one_line_error(result, "postgresql://postgres@127.0.0.1:1/mdph?password=***")
    assert "QuerySecret" not in result.stderr
    events = (tmp_path / "rapports" / EVENTS_FILE).read_text(encoding="utf-8")
    assert "QuerySecret" not in events


def test_non_database_target_file_exits_2(tmp_path):
    target = tmp_path / "notdb.sqlite3"
    target.write_text("hello\n")
    result = _cli(
        "run",
        str(DELIVERY),
        "--target",
        f"sqlite:///{target}",
        "--reports",
        str(tmp_path / "nd"),
    )
    _assert_one_line_error(result, f"the target file {target} is not an SQLite database")
    assert "decrypting" not in result.stderr


def test_no_password_and_no_terminal_says_how_to_give_it(tmp_path):
    result = _cli("run", str(DELIVERY), "--output", str(tmp_path), password=None)
    _assert_one_line_error(result, "MDPH_DELIVERY_PASSWORD")


def test_password_file_readable_by_others_is_rejected(tmp_path):
    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o644)
    result = _cli("run", str(DELIVERY), "--password-file", str(secret), password=None)
    _assert_one_line_error(result, "chmod 600")


def test_password_is_not_a_command_line_option():
    result = _cli("run", str(DELIVERY), "--password", PASSWORD)
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


@pytest.mark.parametrize("name", ["itac", "opales"])
def test_mapping_check_accepts_reference_mappings(name):
    result = _cli("mapping", "check", str(ROOT / "mappings" / f"{name}.yaml"))
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().endswith(": ok")


def test_mapping_check_reports_position_and_exit_1(tmp_path):
    broken = tmp_path / "itac.yaml"
    text = (ROOT / "mappings" / "itac.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace('map: {"1": "1", "2": "2", "3": "3"}', 'map: {"1": 1}', 1))
    result = _cli("mapping", "check", str(broken))
    assert result.returncode == 1
    assert "is read by YAML as int, not text" in result.stdout
    assert f"{broken}:" in result.stdout


@pytest.mark.parametrize(
    ("original", "broken", "message"),
    [
        (
            "    source: DOSSIER\n",
            "    source: DOSIER\n",
            "unknown source table 'DOSIER' in the ITAC dictionary; did you mean 'DOSSIER'?",
        ),
        (
            "  - target: adresse\n",
            "  - target: adresses\n",
            "unknown target table 'adresses'; did you mean 'adresse'?",
        ),
    ],
    ids=["source", "target"],
)
def test_mapping_check_unknown_table_at_value(tmp_path, original, broken, message):
    text = (ROOT / "mappings" / "itac.yaml").read_text(encoding="utf-8")
    assert original in text
    line = text[: text.index(original)].count("\n") + 1
    column = broken.index(":") + 3
    mapping = tmp_path / "itac.yaml"
    mapping.write_text(text.replace(original, broken, 1), encoding="utf-8")

    result = _cli("mapping", "check", str(mapping))

    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [f"{mapping}:{line}:{column}: {message}"]


def test_mapping_check_lists_every_unknown_expression(tmp_path):
    lines = (ROOT / "mappings" / "itac.yaml").read_text(encoding="utf-8").splitlines()
    misspelt = [number for number, line in enumerate(lines) if "{surrogate:" in line][:5]
    assert len(misspelt) == 5
    for number in misspelt:
        lines[number] = lines[number].replace("{surrogate:", "{surogate:")
    mapping = tmp_path / "itac.yaml"
    mapping.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = _cli("mapping", "check", str(mapping))

    assert result.returncode == 1, result.stderr
    expected = [
        f"{mapping}:{number + 1}:{lines[number].index('surogate') + 1}: unknown expression "
        "'surogate'; did you mean 'surrogate'?"
        for number in misspelt
    ]
    assert result.stdout.splitlines() == expected


def test_mapping_coverage_checks_the_mapping_first(tmp_path):
    broken = tmp_path / "itac.yaml"
    text = (ROOT / "mappings" / "itac.yaml").read_text(encoding="utf-8")
    assert "DATE_NAISSANCE" in text
    broken.write_text(text.replace("DATE_NAISSANCE", "DATE_NAISANCE", 1))
    result = _cli("mapping", "coverage", str(broken))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "has no column 'DATE_NAISANCE'" in result.stderr
    assert "fix these problems first" in result.stderr


@pytest.mark.parametrize("command", ["check", "coverage"])
@pytest.mark.parametrize(
    ("tail", "lines_after", "message"),
    [
        # YAML finds the unclosed bracket at the end of the file, one line after it.
        (b"a: [\n", 1, "invalid YAML: "),
        (b"# caf\xe9\n", 0, "is not UTF-8: byte 0xE9"),
    ],
    ids=["invalid-yaml", "latin-1"],
)
def test_mapping_unloadable_file_exits_2(tmp_path, command, tail, lines_after, message):
    broken = tmp_path / "itac.yaml"
    text = (ROOT / "mappings" / "itac.yaml").read_bytes()
    broken.write_bytes(text + tail)
    line = text.count(b"\n") + 1 + lines_after
    result = _cli("mapping", command, str(broken))
    _assert_one_line_error(result, f"error: {broken}:{line}:", message)
    assert result.stdout == ""


def test_mapping_check_stops_at_unloadable_file(tmp_path):
    broken = tmp_path / "itac.yaml"
    broken.write_text("application: ITAC\ntargets: [\n", encoding="utf-8")
    reference = str(ROOT / "mappings" / "opales.yaml")
    result = _cli("mapping", "check", reference, str(broken))
    _assert_one_line_error(result, f"error: {broken}:3:1: invalid YAML: ")
    assert result.stdout == f"{reference}: ok\n"


def test_mapping_coverage_of_reference_mapping(tmp_path):
    result = _cli("mapping", "coverage", str(ROOT / "mappings" / "itac.yaml"))
    assert result.returncode == 0, result.stderr
    coverage = json.loads(result.stdout)
    assert "DOSSIER" in coverage["source_tables"]


def test_mapping_coverage_prints_join_keys_apart():
    result = _cli("mapping", "coverage", str(ROOT / "mappings" / "itac.yaml"))
    assert result.returncode == 0, result.stderr
    coverage = json.loads(result.stdout)
    suivi = coverage["source_tables"]["SUIVI"]
    assert "NUM_ETAB" not in suivi["mapped"]
    assert "NUM_ETAB" not in suivi["dropped"]
    assert suivi["join_or_filter"]["NUM_ETAB"] == {
        "read_by": [
            {"kind": "join", "target": "suivi_orientation", "with": "ETABLISSEMENT.NUM_ETAB"}
        ],
        "reason": "remplacé par le numéro FINESS de l'établissement",
    }
    assert coverage["totals"]["join_or_filter"] == 3


def test_mapping_check_missing_file_exits_2(tmp_path):
    missing = tmp_path / "missing.yaml"
    result = _cli("mapping", "check", str(missing))
    _assert_one_line_error(result, str(missing), "mapping file not found")
    assert result.stdout == ""


def test_mapping_check_missing_dictionary_exits_2(tmp_path):
    missing = tmp_path / "missing_dictionary.yaml"
    mapping = str(ROOT / "mappings" / "itac.yaml")
    result = _cli("mapping", "check", mapping, "--dictionary", str(missing))
    _assert_one_line_error(
        result,
        f"{missing}: data dictionary not found; check the path, or give a bundled dictionary "
        "name (itac, opales)",
    )


def _vendor_mapping(folder: Path, dictionary: str) -> Path:
    """Write the reference ITAC mapping into a folder, naming another dictionary."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "mappings" / "itac.yaml").read_text(encoding="utf-8")
    assert "\ndictionary: itac\n" in text
    mapping = folder / "itac.yaml"
    mapping.write_text(text.replace("\ndictionary: itac\n", f"\ndictionary: {dictionary}\n", 1))
    return mapping


def test_mapping_dictionary_read_beside_mapping(tmp_path):
    mapping = _vendor_mapping(tmp_path / "vendor", "dictionaries/itac_vendor.yaml")
    (tmp_path / "vendor" / "dictionaries").mkdir()
    bundled = ROOT / "migration" / "dictionary" / "data" / "itac.yaml"
    (tmp_path / "vendor" / "dictionaries" / "itac_vendor.yaml").write_bytes(bundled.read_bytes())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    check = _cli("mapping", "check", str(mapping), cwd=elsewhere)
    coverage = _cli("mapping", "coverage", str(mapping), cwd=elsewhere)

    assert check.returncode == 0, check.stdout + check.stderr
    assert coverage.returncode == 0, coverage.stderr


@pytest.mark.parametrize("command", ["check", "coverage", "preview"])
def test_mapping_named_dictionary_missing_exits_2(tmp_path, command):
    mapping = _vendor_mapping(tmp_path / "vendor", "missing_dictionary.yaml")
    delivery = [str(DELIVERY)] if command == "preview" else []
    result = _cli("mapping", command, str(mapping), *delivery)
    expected = tmp_path / "vendor" / "missing_dictionary.yaml"
    _assert_one_line_error(
        result,
        f"{mapping}: the dictionary it names",
        str(expected),
        "put the dictionary file there, or set the mapping's dictionary key",
    )
    assert result.stdout == ""


def test_run_names_mapping_of_missing_dictionary(tmp_path):
    mapping = _vendor_mapping(tmp_path / "vendor", "dicts/missing.yaml")
    result = _cli(
        "run", str(DELIVERY), "--mapping", f"ITAC={mapping}", "--output", str(tmp_path / "out")
    )
    expected = tmp_path / "vendor" / "dicts" / "missing.yaml"
    _assert_one_line_error(
        result,
        f"{mapping}: the dictionary it names failed to load: {expected}: data dictionary not "
        "found; put the dictionary file there, or set the mapping's dictionary key",
    )
    assert "intake" not in result.stderr


def test_run_missing_dictionary_option_says_fix(tmp_path):
    missing = tmp_path / "missing.yaml"
    result = _cli(
        "run", str(DELIVERY), "--dictionary", f"ITAC={missing}", "--output", str(tmp_path / "out")
    )
    _assert_one_line_error(result, f"{missing}: data dictionary not found; check the path")


@pytest.mark.parametrize("value", ['""', "' '", "", "null"])
def test_mapping_empty_dictionary_key(tmp_path, value):
    mapping = _vendor_mapping(tmp_path / "vendor", value)
    check = _cli("mapping", "check", str(mapping))
    run = _cli("run", str(DELIVERY), "--mapping", f"ITAC={mapping}", "--output", str(tmp_path))

    assert check.returncode == 1, check.stderr
    assert check.stdout.startswith(f"{mapping}:")
    assert "the dictionary key is empty; set it to a bundled dictionary name" in check.stdout
    assert "Is a directory" not in check.stdout
    _assert_one_line_error(run, f"{mapping}:", "the dictionary key is empty")


def test_mapping_dictionary_key_naming_a_folder(tmp_path):
    mapping = _vendor_mapping(tmp_path / "vendor", "dicts")
    (tmp_path / "vendor" / "dicts").mkdir()
    result = _cli("mapping", "check", str(mapping))
    _assert_one_line_error(
        result,
        f"{mapping}: the dictionary it names failed to load: {tmp_path / 'vendor' / 'dicts'}: "
        "is a folder, not a data dictionary file; set the mapping's dictionary key to the path "
        "of the dictionary's .yaml file",
    )


def test_dictionary_option_naming_a_folder(tmp_path):
    mapping = str(ROOT / "mappings" / "itac.yaml")
    result = _cli("mapping", "check", mapping, "--dictionary", str(tmp_path))
    _assert_one_line_error(
        result,
        f"{tmp_path}: is a folder, not a data dictionary file; give the path of the "
        "dictionary's .yaml file",
    )


@pytest.mark.parametrize(
    ("text", "position", "hint"),
    [
        ("application: ITAC: x\n", "1:18", "check the indentation and the quoting at line 1"),
        ("application: ITAC\ntables: [DOSSIER\nversion: x\n", "3:8", "close the [ that opens"),
        ("application: ITAC\ntables:\n\t- DOSSIER\n", "3:1", "indent with spaces"),
        ("application: caf\xe9\n", "1:17", "is not UTF-8: byte 0xE9"),
        ("application: I\x01TAC\n", "1:15", "control character U+0001"),
    ],
    ids=["mapping-value", "unclosed-bracket", "tab", "latin-1", "control-character"],
)
def test_invalid_yaml_dictionary_one_line(tmp_path, text, position, hint):
    broken = tmp_path / "broken.yaml"
    broken.write_bytes(text.encode("latin-1"))
    mapping = _vendor_mapping(tmp_path / "vendor", str(broken))

    named = _cli("mapping", "check", str(mapping))
    given = _cli("mapping", "coverage", str(mapping), "--dictionary", str(broken))

    _assert_one_line_error(named, f"{mapping}: the dictionary it names", "fix that dictionary")
    for result in (named, given):
        _assert_one_line_error(result, f"{broken}:{position}: ", hint)
        assert "<byte string>" not in result.stderr


def test_mapping_named_dictionary_invalid_says_fix_it(tmp_path):
    mapping = _vendor_mapping(tmp_path / "vendor", "broken_dictionary.yaml")
    (tmp_path / "vendor" / "broken_dictionary.yaml").write_text("application: ITAC\n")
    result = _cli("mapping", "preview", str(mapping), str(DELIVERY))
    _assert_one_line_error(
        result,
        f"{mapping}: the dictionary it names",
        "missing top-level key 'tables'",
        "fix that dictionary file",
    )


def test_mapping_coverage_rejects_two_mappings():
    itac, opales = (str(ROOT / "mappings" / f"{name}.yaml") for name in ("itac", "opales"))
    result = _cli("mapping", "coverage", itac, opales)
    _assert_one_line_error(result, "takes one mapping file, not 2", itac, opales)
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["check", "coverage"])
def test_mapping_help_describes_arguments(command):
    result = _cli("mapping", command, "--help")
    assert result.returncode == 0, result.stderr
    usage = " ".join(result.stdout.split())
    assert "MAPPING mapping file to" in usage
    assert "--dictionary DICTIONARY data dictionary file or bundled name" in usage


# Every command with the arguments it needs to parse; `-v` goes before or after them.
COMMAND_ARGUMENTS = {
    ("run",): ["delivery"],
    ("decrypt",): ["delivery", "--out", "out"],
    ("accept",): ["delivery", "--received", "2008-10-15", "--reports", "reports"],
    ("dictionary", "import"): ["dictionary.xlsx", "--out", "dictionary.yaml"],
    ("dictionary", "export"): ["itac", "--out", "itac.xlsx"],
    ("lineage", "target"): ["individu", "key"],
    ("lineage", "source"): ["ITAC", "DOSSIER", "--line", "2"],
    ("mapping", "check"): ["mappings/itac.yaml"],
    ("mapping", "preview"): ["mappings/itac.yaml", "delivery"],
    ("mapping", "coverage"): ["mappings/itac.yaml"],
}


def _command_paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Yield the name path of every command that takes no further command."""
    commands = [
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    ]
    if not commands:
        yield path
    for action in commands:
        for name, command in action.choices.items():
            yield from _command_paths(command, (*path, name))


def test_verbose_table_covers_every_command():
    from migration.cli import _build_parser

    assert set(_command_paths(_build_parser())) == set(COMMAND_ARGUMENTS)


@pytest.mark.parametrize("command", list(COMMAND_ARGUMENTS), ids=" ".join)
def test_verbose_accepted_before_or_after_command(command):
    from migration.cli import _build_parser

    arguments = [*command, *COMMAND_ARGUMENTS[command]]
    parser = _build_parser()

    assert parser.parse_args(arguments).verbose is False
    assert parser.parse_args(["-v", *arguments]).verbose is True
    assert parser.parse_args([*arguments, "-v"]).verbose is True
    assert parser.parse_args([*arguments, "--verbose"]).verbose is True
    assert parser.parse_args([*command, "-v", *COMMAND_ARGUMENTS[command]]).verbose is True


def test_verbose_after_command_logs_steps():
    mapping = str(ROOT / "mappings" / "itac.yaml")
    preview = ["mapping", "preview", mapping, str(DELIVERY), "--rows", "1"]

    before = _cli("-v", *preview)
    after = _cli(*preview, "-v")
    quiet = _cli(*preview)

    assert after.returncode == 0, after.stderr
    assert " INFO migration.delivery.intake: " in before.stderr
    assert " INFO migration.delivery.intake: " in after.stderr
    assert " INFO " not in quiet.stderr
    assert after.stdout == before.stdout


def test_command_help_lists_verbose_once():
    result = _cli("mapping", "coverage", "--help")

    assert result.returncode == 0, result.stderr
    assert "[-v]" in result.stdout.split("\n\n")[0]
    assert result.stdout.count("-v, --verbose") == 1


@pytest.mark.parametrize(
    ("arguments", "usage"),
    [
        (["mapping", "preview", "m.yaml", "delivery", "--dictionary", "x.yaml"], "mapping preview"),
        (["run", "delivery", "--dictionary", "ITAC=d.yaml", "--unknown", "x.yaml"], "run"),
        (
            ["lineage", "source", "ITAC", "DOSSIER", "--line", "2", "--unknown", "x.yaml"],
            "lineage source",
        ),
        (["mapping", "--unknown=x.yaml", "check", "m.yaml"], "mapping"),
    ],
    ids=["mapping-preview", "run", "lineage-source", "mapping"],
)
def test_unknown_option_shows_command_usage(arguments, usage):
    result = _cli(*arguments)
    unknown = "--dictionary" if usage == "mapping preview" else "--unknown"

    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"usage: mdph-reprise {usage} ")
    assert (
        f"error: unrecognized arguments: {unknown}; see 'mdph-reprise {usage} --help'"
        in result.stderr
    )
    assert "x.yaml" not in result.stderr


def test_run_accepts_language_for_lang(tmp_path):
    from migration.cli import _build_parser

    parser = _build_parser()
    absent = tmp_path / "absent"
    result = _cli("run", str(absent), "--language", "en", "--output", str(tmp_path))
    invalid = _cli("run", str(absent), "--language", "de")
    help_text = _cli("run", "--help")

    assert parser.parse_args(["run", "delivery", "--language", "en"]).lang == "en"
    assert parser.parse_args(["run", "delivery", "--lang", "en"]).lang == "en"
    assert parser.parse_args(["run", "delivery"]).lang == "fr"
    _assert_one_line_error(result, str(absent))
    assert "argument --language: invalid choice: 'de'" in invalid.stderr
    assert "--lang {fr,en}" in help_text.stdout
    assert "--language {" not in help_text.stdout


def test_mapping_coverage_dictionary_option(tmp_path):
    mapping = _vendor_mapping(tmp_path / "vendor", "missing_dictionary.yaml")
    replaced = _cli("mapping", "coverage", str(mapping), "--dictionary", "itac")
    missing = tmp_path / "missing.yaml"
    unreadable = _cli("mapping", "coverage", str(mapping), "--dictionary", str(missing))

    assert replaced.returncode == 0, replaced.stderr
    assert "DOSSIER" in json.loads(replaced.stdout)["source_tables"]
    _assert_one_line_error(unreadable, str(missing), "data dictionary not found")


def test_table_shorter_than_its_log_blocks_the_run(tmp_path):
    delivery = generate_plaintext(tmp_path / "delivery")
    suivi = delivery / "ITAC" / "SUIVI.csv"
    records = suivi.read_bytes().split(b"\r\n")
    suivi.write_bytes(b"\r\n".join(records[:-2] + [b""]))
    result = _cli("run", str(delivery), "--output", str(tmp_path / "out"))
    assert result.returncode == 1, result.stderr
    counts = re.search(
        r"ITAC/SUIVI\.csv: (\d+) records read, the extraction log announces (\d+)", result.stderr
    )
    assert counts, result.stderr
    assert int(counts[1]) + 1 == int(counts[2])
    assert "nothing was loaded" in result.stderr
    assert "to load" in result.stdout


def test_truncated_last_record_is_rejected(tmp_path):
    delivery = generate_plaintext(tmp_path / "delivery")
    suivi = delivery / "ITAC" / "SUIVI.csv"
    content = suivi.read_bytes()
    last_line = content.count(b"\r\n")
    # Cut inside the last field, so the record still has all its fields, and checksum the
    # cut file as a sender who regenerated SHA256SUMS would.
    suivi.write_bytes(content[:-3])
    write_manifest(delivery)
    target = tmp_path / "out" / "mdph_reprise.sqlite3"

    result = _cli("run", str(delivery), "--output", str(tmp_path / "out"))

    # The record is still counted as read, so the extraction log's count holds.
    assert result.returncode == 0, result.stderr
    assert "extraction log announces" not in result.stderr
    engine = sa.create_engine(f"sqlite:///{target}")
    with engine.connect() as connection:
        rejects = connection.execute(
            sa.text(
                "SELECT source_line, reason FROM reprise_rejet "
                "WHERE source_table = 'SUIVI' AND rule_id = 'csv.truncated'"
            )
        ).all()
        lineage = connection.execute(
            sa.text(
                "SELECT count(*) FROM reprise_lignage "
                "WHERE source_table = 'SUIVI' AND source_line = :line"
            ),
            {"line": last_line},
        ).scalar_one()
    engine.dispose()
    assert len(rejects) == 1
    assert rejects[0].source_line == last_line
    assert "fichier peut-être tronqué" in rejects[0].reason
    assert "réclamer une nouvelle livraison" in rejects[0].reason
    assert lineage == 0


def test_log_of_another_departement_blocks_the_run(tmp_path):
    delivery = generate_plaintext(tmp_path / "delivery")
    config = delivery / "livraison.yaml"
    text = config.read_text(encoding="utf-8")
    assert 'departement: "057"' in text
    config.write_text(text.replace('departement: "057"', 'departement: "2A"'), encoding="utf-8")
    target = tmp_path / "out" / "mdph_reprise.sqlite3"

    result = _cli("run", str(delivery), "--output", str(tmp_path / "out"))

    assert result.returncode == 1, result.stderr
    for application in ("ITAC", "OPALES"):
        assert (
            f"{application}: the extraction log names département 057, the delivery 02A"
            in result.stderr
        )
    assert "nothing was loaded" in result.stderr
    engine = sa.create_engine(f"sqlite:///{target}")
    with engine.connect() as connection:
        assert not sa.inspect(connection).has_table("individu")
    engine.dispose()
    page = (tmp_path / "out" / "rapports" / "rapport_qualite.html").read_text(encoding="utf-8")
    assert "Reprise bloquée" in page
    # The rows that a blocked run does not load are no reconciliation gap.
    assert "lignes ni chargées, ni rejetées, ni filtrées" not in page


def test_unknown_application_in_override_is_rejected(tmp_path):
    result = _cli(
        "run",
        str(DELIVERY),
        "--mapping",
        f"FOO={ROOT / 'mappings' / 'itac.yaml'}",
        "--output",
        str(tmp_path),
    )
    _assert_one_line_error(result, "--mapping FOO=...: unknown application")


def test_database_and_reports_are_private(tmp_path):
    output = tmp_path / "out"
    output.mkdir(mode=0o755)
    result = _cli("run", str(DELIVERY), "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert (output / "mdph_reprise.sqlite3").stat().st_mode & 0o077 == 0
    assert (output / "rapports" / "resume.json").stat().st_mode & 0o077 == 0


def test_wrong_password_leaves_no_empty_database(tmp_path):
    result = _cli("run", str(DELIVERY), "--output", str(tmp_path), password="wrong")
    assert result.returncode == 2
    assert not (tmp_path / "mdph_reprise.sqlite3").exists()


def test_wrong_password_leaves_no_kept_folder(tmp_path):
    workdirs = tmp_path / "work"
    workdirs.mkdir(mode=0o700)
    result = _cli(
        "run",
        str(DELIVERY),
        "--output",
        str(tmp_path / "out"),
        "--workdir",
        str(workdirs),
        "--keep-plaintext",
        password="wrong",
    )
    _assert_one_line_error(result, "wrong password")
    assert list(workdirs.iterdir()) == []


def test_file_as_workdir_stops_with_exit_2(tmp_path):
    (tmp_path / "work").write_bytes(b"")
    result = _cli(
        "run", str(DELIVERY), "--output", str(tmp_path / "out"), "--workdir", str(tmp_path / "work")
    )
    _assert_one_line_error(result, f"{tmp_path / 'work'}: is a file, not a folder")
    assert "not found" not in result.stderr


def test_file_as_output_stops_with_exit_2(tmp_path):
    (tmp_path / "out").write_bytes(b"")
    result = _cli("run", str(DELIVERY), "--output", str(tmp_path / "out"))
    _assert_one_line_error(result, f"--output {tmp_path / 'out'}: is a file, not a folder")
    assert "Traceback" not in result.stderr


def test_file_as_reports_stops_before_loading(tmp_path):
    (tmp_path / "reports").write_bytes(b"")
    result = _cli(
        "run",
        str(DELIVERY),
        "--output",
        str(tmp_path / "out"),
        "--reports",
        str(tmp_path / "reports"),
    )
    _assert_one_line_error(result, f"{tmp_path / 'reports'}: is a file, not a folder")
    assert "nothing was decrypted or loaded" in result.stderr
    assert not (tmp_path / "out" / "mdph_reprise.sqlite3").exists()


def _has_plaintext(folder: Path) -> bool:
    try:
        return any(path.suffix == ".csv" for path in folder.rglob("*"))
    except FileNotFoundError:
        return False


def _processes_with_argument(argument: str) -> list[int]:
    """PIDs of the live processes that have `argument` among their arguments (from /proc).

    A forked worker keeps the command line of the run that forked it.
    """
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # the process ended while the list was read
        if argument.encode() in arguments:
            pids.append(int(entry.name))
    return pids


@pytest.mark.parametrize(
    ("workers", "moment"),
    [(1, "decrypting"), (1, "decrypted"), (2, "worker forked")],
)
def test_sigterm_removes_decrypted_files(tmp_path, workers, moment):
    import signal

    from migration.cli import INTERRUPTED

    workdir = tmp_path / "work"
    workdir.mkdir(mode=0o700)
    env = {key: value for key, value in os.environ.items() if not key.startswith("MDPH_")}
    env["MDPH_DELIVERY_PASSWORD"] = PASSWORD
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "migration.cli",
            "run",
            str(DELIVERY),
            "--workdir",
            str(workdir),
            "--output",
            str(tmp_path / "out"),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    # The intake prints "decrypting" before the first file and "N files decrypted" once every
    # file is in the work folder. The next progress line comes after the applications are
    # read, a second or more later on the sample.
    marker = "intake: decrypting " if moment == "decrypting" else " files decrypted"
    before = []
    for line in process.stderr:
        before.append(line)
        if marker in line:
            break
    if moment != "decrypting":
        assert _has_plaintext(workdir), "".join(before)
    if moment == "worker forked":
        # Busy wait, so that the signal arrives while the pool is still starting its workers.
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        while process.poll() is None and not children.read_text().split():
            pass
    process.send_signal(signal.SIGTERM)
    after = process.stderr.read()
    process.wait(timeout=60)

    assert process.returncode == 128 + signal.SIGTERM, after
    assert after.splitlines() == [INTERRUPTED], f"the run went on after SIGTERM:\n{after}"
    assert list(workdir.iterdir()) == []
    assert _processes_with_argument(str(workdir)) == []


@pytest.fixture(scope="module")
def large_delivery(tmp_path_factory):
    """A delivery whose applications each take a worker some seconds to read and map."""
    return generate_plaintext(tmp_path_factory.mktemp("large") / "delivery", persons=25_000)


def _live_processes(pids: list[int]) -> list[int]:
    """The processes of `pids` that still run; a zombie has ended and waits to be reaped."""
    live = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        # The state follows the command name, which is in brackets and may contain spaces.
        if stat.rpartition(")")[2].split()[0] != "Z":
            live.append(pid)
    return live


def _start_two_worker_run(tmp_path: Path, delivery: Path) -> tuple[Path, subprocess.Popen]:
    """Start `run --workers 2` on `delivery` with a work folder of its own; return both."""
    workdir = tmp_path / "work"
    workdir.mkdir(mode=0o700)
    env = {key: value for key, value in os.environ.items() if not key.startswith("MDPH_")}
    env["MDPH_DELIVERY_PASSWORD"] = PASSWORD
    process = subprocess.Popen(
        [sys.executable, "-m", "migration.cli", "run", str(delivery), "--workers", "2"]
        + ["--workdir", str(workdir), "--output", str(tmp_path / "out")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    return workdir, process


def test_workers_end_with_killed_run(tmp_path, large_delivery):
    import signal
    import time

    workdir, process = _start_two_worker_run(tmp_path, large_delivery)
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    workers: list[int] = []
    deadline = time.monotonic() + 60
    # Two pool workers and the helper of assembly.
    while process.poll() is None and len(workers) < 3 and time.monotonic() < deadline:
        workers = [int(pid) for pid in children.read_text().split()]
        time.sleep(0.01)
    try:
        assert len(workers) == 3, f"the run forked {workers}, not 2 workers and a helper"
        time.sleep(0.5)  # the workers are now reading their application
        assert _live_processes(workers) == workers, "a worker ended before the kill"

        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        killed = time.monotonic()
        while _live_processes(workers) and time.monotonic() - killed < 2:
            time.sleep(0.02)
        assert _live_processes(workers) == [], "workers still run 2 s after their run was killed"
    finally:
        for pid in _live_processes(workers):
            os.kill(pid, signal.SIGKILL)
    # The workers share the run's stderr, so it ends once the last of them has ended.
    output = process.stderr.read()
    assert "Traceback" not in output
    assert "Error" not in output


def test_killed_worker_fails_the_run(tmp_path, large_delivery):
    """A worker killed during its task, as the system does for lack of memory, fails the run
    with a message instead of leaving it waiting for a result that never comes."""
    import signal
    import time

    workdir, process = _start_two_worker_run(tmp_path, large_delivery)
    try:
        deadline = time.monotonic() + 60
        markers: list[Path] = []
        while process.poll() is None and not markers and time.monotonic() < deadline:
            markers = [m for m in workdir.rglob("task-*.pid") if m.stat().st_size]
            time.sleep(0.01)
        assert markers, "no worker started a task"
        os.kill(int(markers[0].read_text()), signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    output = process.stderr.read()
    assert process.returncode == 3, output
    assert "ended while it was validating" in output
    assert "run again, with --workers 1" in output
    assert "Traceback" not in output
    assert list(workdir.iterdir()) == []


# Kills the two idle processes of a run's pool, one of them holding the lock of its task
# queue, then, with "tasks" as third argument, sends the pool the tasks of the sample delivery,
# and ends the pool.
BLOCKED_POOL = """
import os, signal, sys, time
from pathlib import Path

from migration import run
from migration.delivery.intake import open_delivery
from migration.dictionary.model import load_dictionary
from migration.mapping.language import load_mapping
from migration.steps import DEFAULT_MAPPINGS
from migration.target.schema import load_target_schema

run._STALL_SECONDS = 1.0
folder = Path(sys.argv[1])
opened = open_delivery(Path(sys.argv[2]), os.environ["MDPH_DELIVERY_PASSWORD"], folder)
jobs = [
    (application, load_dictionary(application.dictionary), {}, None,
     load_mapping(DEFAULT_MAPPINGS[name]), load_target_schema(), opened.departement)
    for name, application in opened.applications.items()
]
with run._worker_pools(2) as pools:
    me = os.getpid()
    children = Path(f"/proc/{me}/task/{me}/children").read_text().split()
    workers = [int(pid) for pid in children if int(pid) != pools.helper.process.pid]
    assert len(workers) == 2, workers
    time.sleep(0.5)  # each waits for a task
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    if sys.argv[3] == "tasks":
        run._run_tasks(pools.workers, jobs, folder, lambda *progress: None)
print("pool ended")
"""


def _blocked_pool(tmp_path: Path, then: str) -> subprocess.CompletedProcess:
    """Run BLOCKED_POOL, with `then` as its third argument."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MDPH_")}
    env["MDPH_DELIVERY_PASSWORD"] = PASSWORD
    folder = tmp_path / "work"
    folder.mkdir(mode=0o700)
    # A pool that waits for the lock when it ends would run into the timeout.
    return subprocess.run(
        [sys.executable, "-c", BLOCKED_POOL, str(folder), str(DELIVERY), then],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_blocked_pool_fails_the_run(tmp_path):
    """Worker processes killed while they wait for a task keep the lock of the pool's queue,
    so no process takes a task again: the run fails with a message instead of waiting."""
    result = _blocked_pool(tmp_path, "tasks")

    assert result.returncode == 1, result.stderr
    assert "ProcessEndedError: no worker process took the next tasks (validating " in result.stderr
    assert "Nothing was loaded; run again" in result.stderr
    assert "pool ended" not in result.stdout


def test_pool_ends_after_idle_process_killed(tmp_path):
    """A pool process killed while it waited for a task, once no task is left, does not keep
    the run from ending its pool."""
    result = _blocked_pool(tmp_path, "end")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "pool ended\n"


def test_killed_helper_raises_on_get():
    """The helper of assembly, killed, gives an error to the run that waits for its result."""
    import multiprocessing
    import signal

    from migration.errors import ProcessEndedError
    from migration.run import _Helper

    helper = _Helper(multiprocessing.get_context("fork"))
    try:
        assert helper.apply_async(divmod, (7, 2)).get() == (3, 1)
        os.kill(helper.process.pid, signal.SIGKILL)
        with pytest.raises(ProcessEndedError, match="helper process of assembly and load ended"):
            helper.apply_async(divmod, (7, 2)).get()
    finally:
        helper.terminate()
        helper.terminate()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(("signal_name", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_stop_signal_dropped_by_python_still_stops(monkeypatch, capsys, signal_name, code):
    import signal

    from migration import cli

    class RaisesInDel:
        def __del__(self):
            # Python drops what a __del__ method raises, so a signal handled here is lost.
            cli._stop(getattr(signal, signal_name), None)

    def run_losing_signal(args):
        RaisesInDel()
        return cli.EXIT_OK

    monkeypatch.setattr(cli, "_run", run_losing_signal)
    # main installs signal handlers and sets the umask, which the test process must not keep.
    monkeypatch.setattr(signal, "signal", lambda signum, handler: None)
    umask = os.umask(0o077)
    try:
        exit_code = cli.main(["run", "delivery"])
    finally:
        os.umask(umask)

    assert exit_code == code
    assert capsys.readouterr().err.splitlines()[-1] == cli.INTERRUPTED


def _main_with_run(monkeypatch, run_migration, tmp_path) -> int:
    """Run `cli.main` on the sample with `run_migration` in place of the real run.

    main installs signal handlers and sets the umask, which the test process must not keep.
    """
    import signal

    from migration import cli, run

    monkeypatch.setattr(run, "run_migration", run_migration)
    monkeypatch.setenv("MDPH_DELIVERY_PASSWORD", PASSWORD)
    monkeypatch.setattr(signal, "signal", lambda signum, handler: None)
    umask = os.umask(0o077)
    try:
        return cli.main(["run", str(DELIVERY), "--output", str(tmp_path / "out")])
    finally:
        os.umask(umask)


@pytest.mark.parametrize("committed", [False, True])
def test_full_disk_is_one_line_error(monkeypatch, capsys, tmp_path, committed):
    import errno

    path = tmp_path / "work" / "helper-lineage-3-individu.copy.csv"

    def run_on_full_disk(options, password, progress):
        if committed:
            progress("loading", "750376 rows in 12 tables")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    exit_code = _main_with_run(monkeypatch, run_on_full_disk, tmp_path)

    assert exit_code == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error
    last = error.splitlines()[-1]
    assert last.startswith(f"error: No space left on device: {path}; free space on that ")
    if committed:
        assert "The load had committed before this error: the target database contains" in last
    else:
        assert "This run committed nothing, so the target database is as it was" in last


def test_full_disk_without_file_name_names_the_folders(monkeypatch, capsys, tmp_path):
    import errno

    def run_on_full_disk(options, password, progress):
        # A write to a file already open raises an error without its name.
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    exit_code = _main_with_run(monkeypatch, run_on_full_disk, tmp_path)

    assert exit_code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("error: No space left on device; free space on the file systems ")
    assert "work folder (--workdir), the output and the reports" in last


def test_report_error_after_load_says_load_committed(monkeypatch, capsys, tmp_path):
    from migration.errors import MdphRepriseError

    def run_failing_on_report(options, password, progress):
        progress("loading", "750376 rows in 12 tables")
        raise MdphRepriseError("Cannot write the report file r/lineage.html: No space left")

    exit_code = _main_with_run(monkeypatch, run_failing_on_report, tmp_path)

    assert exit_code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("error: Cannot write the report file r/lineage.html")
    assert "The load had committed before this error" in last


def _fail_writing(path: str):
    import errno

    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)


def test_helper_error_keeps_its_file_and_errno(tmp_path):
    """An error of the helper, such as a full disk, reaches the run with its file and errno,
    for the one-line message of the CLI."""
    import errno
    import multiprocessing

    from migration.run import _Helper

    helper = _Helper(multiprocessing.get_context("fork"))
    try:
        with pytest.raises(OSError) as raised:
            helper.apply_async(_fail_writing, (str(tmp_path / "part.copy.csv"),)).get()
    finally:
        helper.terminate()
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == str(tmp_path / "part.copy.csv")


@pytest.mark.parametrize(("signal_name", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_stop_during_copy_exits_as_stop(monkeypatch, capsys, tmp_path, signal_name, code):
    import signal

    from migration import cli
    from migration.target.errors import TargetError

    def run_with_copy_canceled(options, password, progress):
        # The signal arrives during a COPY: the stop handler's exception makes psycopg2 cancel
        # the statement, and the load reports the cancel as a TargetError.
        cli._stop_signal = getattr(signal, signal_name)
        raise TargetError(
            "copying into table decision failed at row 3 of the decision frame: query "
            "canceled (SQLSTATE 57014); the load was rolled back"
        )

    exit_code = _main_with_run(monkeypatch, run_with_copy_canceled, tmp_path)

    assert exit_code == code
    error = capsys.readouterr().err
    assert error.splitlines()[-1] == cli.INTERRUPTED
    assert "query canceled" not in error


def test_interrupt_after_load_message(monkeypatch, capsys, tmp_path):

    from migration import cli

    def run_stopped_in_reports(options, password, progress):
        progress("loading", "10 rows in 1 tables: 10 added, 0 changed, 0 removed, 0 unchanged")
        raise KeyboardInterrupt  # Ctrl-C while the reports are written

    exit_code = _main_with_run(monkeypatch, run_stopped_in_reports, tmp_path)

    assert exit_code == 130
    assert capsys.readouterr().err.splitlines()[-1] == cli.INTERRUPTED_AFTER_LOAD


@pytest.mark.parametrize("workers", ["0", "3", "abc"])
def test_workers_out_of_range_rejected(tmp_path, workers):
    result = _cli("run", str(DELIVERY), "--workers", workers, "--output", str(tmp_path / "out"))

    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("usage: mdph-reprise run ")
    assert "argument --workers: invalid " in result.stderr
    assert not (tmp_path / "out").exists()


def test_workers_default_follows_cores(monkeypatch, tmp_path):
    chosen = []

    def run_recording_workers(options, password, progress):
        chosen.append(options.workers)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    _main_with_run(monkeypatch, run_recording_workers, tmp_path)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    _main_with_run(monkeypatch, run_recording_workers, tmp_path)

    assert chosen == [2, 1]


def test_invalid_target_url_is_one_line(tmp_path):
    result = _cli("run", str(DELIVERY), "--target", "notaurl", "--output", str(tmp_path))
    _assert_one_line_error(result, "invalid target database URL: it does not parse")
    assert "notaurl" not in result.stderr


@pytest.mark.parametrize(
    ("url", "secret", "fragment"),
    [
        (
            "postgresql//reprise:TopSecretTypo@127.0.0.1/x",
            "TopSecretTypo",
            'no "://" after the dialect name',
        ),
        (
            "postgresql://postgres:Top@Secret@127.0.0.1:5499/x",
            "Secret",
            'percent-encode each "@" in the user name, password or query as %40',
        ),
        (
            "postgresql://u:a/Secret@h@127.0.0.1:5499/x",
            "Secret",
            'percent-encode each "@" in the user name, password or query as %40',
        ),
        (
            "postgresql://u:a@b/Secret@127.0.0.1:5499/x",
            "Secret",
            'percent-encode each "@" in the user name, password or query as %40',
        ),
        (
            "postgresql://u:TopSecret@127.0.0.1:notaport/x?password=QuerySecret",
            "Secret",
            "invalid port 'notaport' in the target database URL",
        ),
        (
            "postgresql://reprise:TopSecret/x",
            "TopSecret",
            'the text after ":" in host:port is not a port number',
        ),
    ],
)
@pytest.mark.parametrize("given_as", ["--target", "MDPH_TARGET_URL"])
def test_malformed_target_url_hides_password(tmp_path, url, secret, fragment, given_as):
    if given_as == "--target":
        result = _cli("run", str(DELIVERY), "--target", url, "--output", str(tmp_path))
    else:
        result = _cli("run", str(DELIVERY), "--output", str(tmp_path), target=url)

    _assert_one_line_error(result, fragment)
    assert secret not in result.stdout
    assert secret not in result.stderr


def test_broken_mapping_stops_before_decryption(tmp_path):
    broken = tmp_path / "itac.yaml"
    text = (ROOT / "mappings" / "itac.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace('map: {"1": "1", "2": "2", "3": "3"}', 'map: {"1": NO}', 1))
    result = _cli("run", str(DELIVERY), "--mapping", f"ITAC={broken}", "--output", str(tmp_path))
    _assert_one_line_error(result, "is read by YAML as bool")
    assert "intake" not in result.stderr
    assert not (tmp_path / "mdph_reprise.sqlite3").exists()


def test_run_lists_every_mapping_problem(tmp_path):
    broken = tmp_path / "bad.yaml"
    text = (ROOT / "mappings" / "itac.yaml").read_text(encoding="utf-8")
    text = text.replace("{trim: NOM_MARITAL}", "{trim: NOM_MARITALE}", 1)
    broken.write_text(text.replace("{trim: PRENOMS}", "{trim: PRENOM}", 1), encoding="utf-8")
    check = _cli("mapping", "check", str(broken))
    result = _cli("run", str(DELIVERY), "--mapping", f"ITAC={broken}", "--output", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: " + check.stdout.strip()
    assert len(check.stdout.strip().splitlines()) == 2


def test_run_removes_folder_of_killed_run(tmp_path):
    workdirs = tmp_path / "work"
    workdirs.mkdir(mode=0o700)
    abandoned = killed_run_folder(workdirs)
    result = _cli(
        "run", str(DELIVERY), "--output", str(tmp_path / "out"), "--workdir", str(workdirs)
    )
    assert result.returncode == 0, result.stderr
    assert f"removed {abandoned}: decrypted files left by an interrupted run" in result.stderr
    assert not abandoned.exists()
    assert list(workdirs.iterdir()) == []


def _generate_small_delivery(out: Path) -> Path:
    """Generate a delivery of 60 persons, far fewer than the sample's 650."""
    subprocess.run(
        [sys.executable, str(ROOT / "sample_data" / "generate.py"), "--persons", "60"]
        + ["--seed", "7", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


def _assert_removals_report(stopped, reports: Path) -> None:
    """Check the reports of a run whose load the removal check stopped."""
    from markupsafe import escape
    from openpyxl import load_workbook

    from migration.reports.labels import LABELS

    _assert_one_line_error(stopped, "the load would remove", "--allow-removals")
    assert f"html report: {reports / 'rapport_qualite.html'}" in stopped.stdout
    assert "to load" in stopped.stdout
    resume = json.loads((reports / "resume.json").read_text(encoding="utf-8"))
    message = resume["load_error"]
    assert stopped.stderr.strip().splitlines()[-1] == f"error: {message}"
    assert resume["status"] == "removals_rejected"
    assert resume["loaded"] is False
    assert sum(table["loaded"] for table in resume["tables"]) == 0
    assert sum(table["would_load"] for table in resume["tables"]) > 0

    french = LABELS["fr"]
    page = (reports / "rapport_qualite.html").read_text(encoding="utf-8")
    assert french["verdict_removals"] in page
    assert french["status_names"]["removals_rejected"] in page
    assert 'id="load-error"' in page
    assert str(escape(message)) in page
    assert french["gap_text"]["other"] not in page
    run_page = (reports / "run.html").read_text(encoding="utf-8")
    assert str(escape(message)) in run_page
    workbook = load_workbook(reports / "rapport_qualite.xlsx", read_only=True)
    run_sheet = list(workbook[french["sheet_run"]].iter_rows(values_only=True))
    workbook.close()
    assert (french["status"], french["status_names"]["removals_rejected"]) in run_sheet
    assert (french["load_error"], message) in run_sheet
    events = (reports / EVENTS_FILE).read_text(encoding="utf-8").splitlines()
    end = json.loads(events[-1])
    assert end["eventType"] == "FAIL"
    assert end["run"]["facets"]["errorMessage"]["message"] == message


def test_small_delivery_into_full_target_needs_allow_removals(tmp_path):
    output = tmp_path / "out"
    assert _cli("run", str(DELIVERY), "--output", str(output)).returncode == 0
    database = output / "mdph_reprise.sqlite3"
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        persons = connection.execute(sa.text("SELECT count(*) FROM individu")).scalar_one()
    small = _generate_small_delivery(tmp_path / "small")

    stopped = _cli("run", str(small), "--output", str(output))
    _assert_removals_report(stopped, output / "rapports")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM individu")).scalar_one() == persons

    allowed = _cli("run", str(small), "--output", str(output), "--allow-removals")
    assert allowed.returncode == 0, allowed.stderr
    resume = json.loads((output / "rapports" / "resume.json").read_text(encoding="utf-8"))
    assert resume["allow_removals"] is True
    assert resume["load_changes"]["individu"]["removed"] > 0
    page = (output / "rapports" / "rapport_qualite.html").read_text(encoding="utf-8")
    assert 'id="allow-removals"' in page
    assert "Supprimées" in page
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM individu")).scalar_one() < 70
    engine.dispose()


def test_load_stopped_by_removals_reported_on_postgresql(tmp_path, postgres_url):
    full = _cli("run", str(DELIVERY), "--target", postgres_url, "--reports", str(tmp_path / "r1"))
    assert full.returncode == 0, full.stderr
    small = _generate_small_delivery(tmp_path / "small")

    reports = tmp_path / "r2"
    stopped = _cli("run", str(small), "--target", postgres_url, "--reports", str(reports))

    _assert_removals_report(stopped, reports)


def test_partial_load_counts_kept_rows_apart(tmp_path):
    from openpyxl import load_workbook

    from migration.reports.labels import LABELS

    kinds = ("added", "changed", "removed", "unchanged", "kept_delivered", "kept_other")
    full = generate_plaintext(tmp_path / "full")
    opales = without_itac(full, tmp_path / "opales")
    output = tmp_path / "out"
    assert _cli("run", str(full), "--output", str(output)).returncode == 0

    result = _cli("run", str(opales), "--output", str(output))

    assert result.returncode == 0, result.stderr
    line = re.search(
        r"loading: (\d+) rows in \d+ tables: (\d+) added, (\d+) changed, (\d+) removed, "
        r"(\d+) unchanged, (\d+) kept as they were because another application also gives "
        r"them; (\d+) rows not delivered kept for other applications$",
        result.stderr,
        re.MULTILINE,
    )
    assert line, result.stderr
    numbers = list(map(int, line.groups()))
    delivered, added, changed, removed, unchanged, kept_delivered, kept_others = numbers
    # The sample has persons in both applications, whose rows OPALES delivers again.
    assert kept_delivered > 0
    assert delivered == added + changed + unchanged + kept_delivered
    kept = kept_delivered + kept_others
    engine = sa.create_engine(f"sqlite:///{output / 'mdph_reprise.sqlite3'}")
    resume = json.loads((output / "rapports" / "resume.json").read_text(encoding="utf-8"))
    changes = resume["load_changes"]
    with engine.connect() as connection:
        in_database = {
            table: connection.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            for table in changes
        }
        itac_only = connection.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT target_table, target_key FROM reprise_lignage "
                "GROUP BY target_table, target_key HAVING max(application) = 'ITAC') AS keys"
            )
        ).scalar_one()
    engine.dispose()
    # The rows of ITAC alone, which the load does not deliver, are all kept.
    assert kept >= itac_only > 0
    assert sum(in_database.values()) == added + changed + unchanged + kept
    assert removed == 0
    for kind, total in [("unchanged", unchanged), ("kept", kept)]:
        assert sum(counts[kind] for counts in changes.values()) == total, kind
    delivered_by_table = {target["table"]: target["rows"] for target in resume["targets"]}
    for table, counts in changes.items():
        counts["kept_other"] = counts["kept"] - counts["kept_delivered"]
        delivered_again = counts["added"] + counts["changed"] + counts["unchanged"]
        assert delivered_by_table[table] == delivered_again + counts["kept_delivered"], table

    french = LABELS["fr"]
    page = (output / "rapports" / "rapport_qualite.html").read_text(encoding="utf-8")
    targets = page[page.index('id="targets"') :]
    assert french["load_unchanged"] in targets
    assert french["load_kept_delivered"] in targets
    assert french["load_kept_other"] in targets
    for table, counts in changes.items():
        cells = [f"{counts[kind]:,}".replace(",", NNBSP) for kind in kinds]
        row = targets[targets.index(f"<code>{table}</code>") :].split("</tr>")[0]
        numbers = re.findall(r'<td class="num">([^<]*)</td>', row)
        assert numbers[1:7] == cells, table
        assert "✗" not in row, table  # the rows in the database match the load's counts
    workbook = load_workbook(output / "rapports" / "rapport_qualite.xlsx", read_only=True)
    sheet = list(workbook[french["sheet_targets"]].iter_rows(values_only=True))
    workbook.close()
    assert sheet[0][2:8] == tuple(french[f"load_{kind}"] for kind in kinds)
    for row in sheet[1:]:
        assert list(row[2:8]) == [changes[row[0]][kind] for kind in kinds], row[0]


def test_lineage_source_names_an_unknown_table(tmp_path):
    run = _cli("run", str(DELIVERY), "--output", str(tmp_path))
    assert run.returncode == 0, run.stderr
    target = f"sqlite:///{tmp_path / 'mdph_reprise.sqlite3'}"
    result = _cli("lineage", "source", "ITAC", "DOSIER", "--line", "2", "--target", target)
    _assert_one_line_error(result, "ITAC has no table 'DOSIER'; did you mean DOSSIER?")
    lower = _cli("lineage", "source", "itac", "dossier", "--line", "2", "--target", target)
    assert lower.returncode == 0, lower.stderr


def test_lineage_source_lists_tables_of_application(tmp_path):
    target = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    result = _cli("lineage", "source", "ITAC", "NOPE", "--line", "2", "--target", target)
    close = _cli("lineage", "source", "ITAC", "DOSIER", "--line", "2", "--target", target)
    tables = "DOSSIER, DEMANDE, CONCLUSION, SUIVI, ETABLISSEMENT, HISTORIQUE, ARCHIVE"

    _assert_one_line_error(result, f"ITAC has no table 'NOPE'; its tables are {tables}")
    _assert_one_line_error(close, f"did you mean DOSSIER? Its tables are {tables}")


def test_command_leaves_library_objects_out_of_collections():
    """The command freezes the objects of the imported libraries and collects less often,
    then returns the exit code of `main`."""
    script = (
        "import gc, sys\n"
        "from migration import cli\n"
        "cli.main = lambda: print(gc.get_threshold()[0], gc.get_freeze_count() > 1000) or 3\n"
        "sys.exit(cli.command())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 3, result.stderr
    assert result.stdout.split() == ["50000", "True"]
