"""`mapping check` warns about a target key built from no key of its source table."""

import subprocess
import sys
from pathlib import Path

from migration.mapping.checks import merge_key_warnings
from migration.mapping.language import load_mapping, load_named_dictionary
from migration.target.schema import load_target_schema

ROOT = Path(__file__).resolve().parents[2]
RIGHT_KEY = "      id_adresse: {surrogate: [NUM_DOSSIER], namespace: adresse.itac}\n"
WRONG_KEY = "      id_adresse: {surrogate: [ADR_DEPARTEMENT], namespace: adresse.itac}\n"


def wrong_key_mapping(folder: Path) -> Path:
    text = (ROOT / "mappings" / "itac.yaml").read_text(encoding="utf-8")
    assert text.count(RIGHT_KEY) == 1
    path = folder / "itac.yaml"
    path.write_text(text.replace(RIGHT_KEY, WRONG_KEY), encoding="utf-8")
    return path


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
