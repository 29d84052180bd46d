"""A delivery's rule policy: severities changed and rules disabled in livraison.yaml."""

from pathlib import Path

import pytest

from migration.delivery.config import read_delivery_config
from migration.delivery.errors import DeliveryConfigError
from migration.run import RunOptions, run_migration
from tests.sample_delivery import generate_plaintext

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def plaintext(tmp_path) -> Path:
    delivery = tmp_path / "delivery"
    generate_plaintext(delivery)
    return delivery


def _add_rules(delivery: Path, text: str) -> None:
    config = delivery / "livraison.yaml"
    config.write_text(config.read_text(encoding="utf-8") + text, encoding="utf-8")


def _run(delivery: Path, tmp_path: Path, progress=None):
    options = RunOptions(
        delivery=delivery,
        target_url=f"sqlite:///{tmp_path / 'm.sqlite3'}",
        reports_dir=tmp_path / "r",
    )
    return run_migration(options, "unused", progress)


def test_policy_changes_severity_and_disables_rule(plaintext, tmp_path):
    _add_rules(
        plaintext,
        "regles:\n  severites: {id.nir: error}\n  desactivees: [type.date_placeholder]\n",
    )
    outcome = _run(plaintext, tmp_path)
    tables = {f"{t['application']}.{t['table']}": t for t in outcome.summary["tables"]}
    dossier = tables["ITAC.DOSSIER"]
    rules = {rule["rule_id"]: rule for rule in dossier["findings_by_rule"]}
    assert "type.date_placeholder" not in rules
    assert rules["id.nir"]["severity"] == "error"
    assert dossier["rejected"] == 2 + 7
    assert dossier["reconciled"]
    catalogue = {rule["rule_id"]: rule for rule in outcome.summary["rules"]}
    assert catalogue["id.nir"]["severity"] == "error"
    assert catalogue["id.nir"]["default_severity"] == "warning"
    assert catalogue["type.date_placeholder"]["disabled"] is True
    assert catalogue["type.date"]["disabled"] is False
    assert outcome.summary["rule_policy"] == {
        "file": "livraison.yaml",
        "disabled": ["type.date_placeholder"],
        "severities": {"id.nir": "error"},
        "relaxed": [],
    }


def test_relaxed_error_rule_is_announced(plaintext, tmp_path):
    _add_rules(
        plaintext, "regles:\n  desactivees: [fk.dangling]\n  severites: {type.date: warning}\n"
    )
    messages = []
    outcome = _run(plaintext, tmp_path, lambda step, message: messages.append(f"{step}: {message}"))
    assert (
        "validation: livraison.yaml changes the validation rules: disables fk.dangling; "
        "sets type.date to warning"
    ) in messages
    warnings = [message for message in messages if message.startswith("validation: WARNING")]
    assert len(warnings) == 1
    assert "rows that fk.dangling, type.date would reject are loaded" in warnings[0]
    assert outcome.summary["rule_policy"]["relaxed"] == ["fk.dangling", "type.date"]
    page = (tmp_path / "r" / "run.html").read_text(encoding="utf-8")
    assert "fk.dangling" in page
    summary_page = (tmp_path / "r" / "rapport_qualite.html").read_text(encoding="utf-8")
    assert "fk.dangling, type.date" in summary_page


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            "regles:\n  severites: {id.nirr: error}\n",
            "'id.nirr' is not a rule id (did you mean id.nir?)",
        ),
        ("regles:\n  desactivees: [csv.quote]\n", "rule csv.quote cannot be changed by a delivery"),
        (
            "regles:\n  desactivees: [key.duplicate]\n",
            "rule key.duplicate cannot be changed by a delivery",
        ),
        (
            "regles:\n  severites: {key.unique: warning}\n",
            "rule key.unique cannot be changed by a delivery",
        ),
        ("regles:\n  severites: {id.nir: fatal}\n", "'fatal': use error or warning"),
        (
            "regles:\n  severites: {id.nir: error}\n  desactivees: [id.nir]\n",
            "id.nir both disabled and given a severity; keep one of the two",
        ),
        ("regles:\n  ignore: [id.nir]\n", "unknown key; expected one of severites, desactivees"),
    ],
)
def test_invalid_policy_names_the_line(plaintext, rules, message):
    _add_rules(plaintext, rules)
    line = len((plaintext / "livraison.yaml").read_text(encoding="utf-8").splitlines())
    with pytest.raises(DeliveryConfigError, match="livraison.yaml, line") as caught:
        read_delivery_config(plaintext)
    assert message in str(caught.value)
    assert f"line {line}" in str(caught.value) or f"line {line - 1}" in str(caught.value)
