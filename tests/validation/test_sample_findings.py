"""Every finding of the validator on the sample, compared line by line with an independent
checker that applies the same rules one row at a time."""

from pathlib import Path

import pytest

from migration.dictionary.model import load_dictionary
from migration.steps import read_application, validate_application
from tests.sample_data.reference_check import check_delivery
from tests.sample_delivery import generate_plaintext

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plaintext(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sample") / "delivery"
    generate_plaintext(folder)
    return folder


@pytest.mark.parametrize("application", ["ITAC", "OPALES"])
def test_findings_have_right_rule_line_and_column(plaintext, application):
    dictionary = load_dictionary(application.lower())
    reads = read_application(application, plaintext / application, dictionary)
    findings = validate_application(application, dictionary, reads).findings
    reference = check_delivery(plaintext, application, dictionary)
    for table in dictionary.tables:
        ours = findings[findings["table"] == table]
        found = {
            (int(line), column.replace(", ", ","), rule)
            for line, column, rule in zip(
                ours["line"], ours["column"], ours["rule_id"], strict=True
            )
        }
        assert found == reference[table].located, table
        assert len(ours) == len(found), f"{table}: a finding is reported twice"
