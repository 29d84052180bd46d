"""`mapping check` warns about a target key built from no key of its source table."""

import subprocess
import sys

from migration.mapping.checks import merge_key_warnings
from migration.mapping.language import load_mapping, load_named_dictionary
from migration.target.schema import load_target_schema
from tests.test_merge_conflicts import ROOT, WRONG_KEY, wrong_key_mapping


def test_mapping_check_warns_about_the_wrong_key(tmp_path):
    path = wrong_key_mapping(tmp_path)
    key_line = path.read_text(encoding="utf-8").splitlines().index(WRONG_KEY.rstrip("\n")) + 1
    key_column = WRONG_KEY.index("{") + 1

    result = subprocess.run(
        [sys.executable, "-m", "migration.cli", "mapping", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    [warning] = [line for line in result.stdout.splitlines() if ": warning: " in line]
    assert warning.startswith(
        f"{path}:{key_line}:{key_column}: warning: the key id_adresse of adresse "
    )
    assert "built from ADR_DEPARTEMENT" in warning
    assert "not a key of DOSSIER (NUM_DOSSIER)" in warning
    assert result.stdout.splitlines()[-1] == f"{path}: ok"


def test_reference_mappings_give_no_key_warning():
    schema = load_target_schema()
    for name in ("itac", "opales"):
        mapping = load_mapping(ROOT / "mappings" / f"{name}.yaml")
        dictionary = load_named_dictionary(mapping)
        assert merge_key_warnings(mapping, dictionary, schema) == [], name
