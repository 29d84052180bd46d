from pathlib import Path

from migration.validation.rules import RULES, rule_family

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_docs_list_every_rule_as_the_catalogue_does():
    text = DOC.read_text(encoding="utf-8")
    for rule in RULES.values():
        row = (
            f"| `{rule.rule_id}` | {rule_family(rule.rule_id)} | {rule.severity} "
            f"| {rule.description} |"
        )
        assert row in text, rule.rule_id
    listed = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(listed) == len(RULES)
