"""One-line YAML syntax errors, the same with libyaml and with PyYAML's pure Python parser."""

import pytest
import yaml

from migration.yaml_files import describe_yaml_error

LOADERS = [yaml.SafeLoader]
if hasattr(yaml, "CSafeLoader"):
    LOADERS.append(yaml.CSafeLoader)

# Text, 1-based line and column of the error, and a part of the message with the fix.
CASES = [
    pytest.param(
        "application: ITAC: x\n", 1, 18, "check the indentation and the quoting", id="value"
    ),
    pytest.param(
        "application: ITAC\ntables: [DOSSIER\nversion: x\n",
        3,
        8,
        "close the [ that opens at line 2, column 9",
        id="unclosed-bracket",
    ),
    pytest.param("tables:\n\t- DOSSIER\n", 2, 1, "indent with spaces", id="tab"),
    pytest.param('version: "2008\n', 2, 1, "close the quote that opens at line 1", id="quote"),
    pytest.param("a: *missing\n", 1, 4, "define the anchor (&name) before", id="alias"),
    pytest.param(
        "application: é\x01\n",
        1,
        15,
        "control character U+0001, which YAML does not accept",
        id="control-character-after-accent",
    ),
]


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
@pytest.mark.parametrize(("text", "line", "column", "fix"), CASES)
def test_yaml_error_one_line_with_fix(loader, text, line, column, fix):
    data = text.encode("utf-8")
    with pytest.raises(yaml.YAMLError) as caught:
        yaml.load(data, Loader=loader)

    problem = describe_yaml_error(caught.value, data, "data dictionary")

    assert (problem.line, problem.column) == (line, column)
    assert "\n" not in problem.message
    assert fix in problem.message
    assert "<byte string>" not in problem.message


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
def test_latin1_byte_located_in_characters(loader):
    data = "name: é\ncode: caf".encode() + b"\xe9\n"
    with pytest.raises(yaml.YAMLError) as caught:
        yaml.load(data, Loader=loader)

    problem = describe_yaml_error(caught.value, data, "data dictionary")

    assert (problem.line, problem.column) == (2, 10)
    assert problem.message.startswith("the data dictionary is not UTF-8: byte 0xE9")
    assert problem.message.endswith("save the file as UTF-8")


def test_located_prefixes_path_line_column():
    data = b"a: b: c\n"
    with pytest.raises(yaml.YAMLError) as caught:
        yaml.load(data, Loader=yaml.SafeLoader)

    problem = describe_yaml_error(caught.value, data, "data dictionary")

    assert problem.located("d.yaml").startswith("d.yaml:1:5: invalid YAML: ")
