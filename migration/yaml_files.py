"""Parse YAML files and explain their syntax errors in one line.

The data dictionaries and the target schema are parsed by the run, the mapping checks, the
report and the lineage events. libyaml's parser, when PyYAML was built with it, reads them
about ten times faster than the pure Python one and builds the same values with the same safe
constructors.

PyYAML's own messages span several lines and quote the stream name (`"<byte string>"`). The
functions below turn them into one line with the fix, for mapping files and data dictionaries
alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(data: str | bytes) -> Any:
    """Parse one YAML document with the safe constructors; raises yaml.YAMLError."""
    return yaml.load(data, Loader=SAFE_LOADER)


@dataclass(frozen=True)
class YamlProblem:
    """Why a YAML file cannot be parsed: a one-line message with the fix, and where.

    `line` and `column` are 1-based, and None when the parser gives no position.
    """

    line: int | None
    column: int | None
    message: str

    def located(self, path: str | Path) -> str:
        """Return the message after `path:line:column:`, the form of mapping file errors."""
        if self.line is None:
            return f"{path}: {self.message}"
        return f"{path}:{self.line}:{self.column or 1}: {self.message}"


def describe_yaml_error(error: yaml.YAMLError, data: str | bytes, file_kind: str) -> YamlProblem:
    """Locate a PyYAML error and explain it in one line, with the change that fixes it.

    `data` is the document as the parser got it. `file_kind`, such as "mapping file", names
    the file in the message about a file that is not UTF-8.
    """
    if isinstance(error, yaml.reader.ReaderError):
        return _reader_problem(error, data, file_kind)
    text = data if isinstance(data, str) else data.decode("utf-8-sig", errors="replace")
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        return YamlProblem(line, column, yaml_syntax_message(error, text))
    first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
    return YamlProblem(None, None, f"invalid YAML: {first_line}; check the file's syntax")


def utf8_problem(raw: bytes, error: UnicodeDecodeError, file_kind: str) -> YamlProblem:
    """Locate the first byte of a file that is not valid UTF-8."""
    line_start = raw.rfind(b"\n", 0, error.start) + 1
    line = raw.count(b"\n", 0, error.start) + 1
    # The bytes before the error on its line decode, so the column counts characters.
    column = len(raw[line_start : error.start].decode("utf-8")) + 1
    return YamlProblem(
        line,
        column,
        f"the {file_kind} is not UTF-8: byte 0x{raw[error.start]:02X} is not valid UTF-8 "
        "(a Latin-1 or Windows-1252 file?); save the file as UTF-8",
    )


def _reader_problem(
    error: yaml.reader.ReaderError, data: str | bytes, file_kind: str
) -> YamlProblem:
    """Explain a character that PyYAML rejects before parsing.

    The reader gives only an offset, in bytes with libyaml and in characters with the pure
    Python reader, so the character is looked up again in the decoded text.
    """
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as decode_error:
            return utf8_problem(data, decode_error, file_kind)
    found = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if found is None:
        # Not expected: the reader of PyYAML and of libyaml reject the same characters.
        return YamlProblem(
            None, None, f"invalid YAML: {error.reason}; save the {file_kind} as UTF-8 text"
        )
    position = found.start()
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return YamlProblem(
        line,
        column,
        f"invalid YAML: control character U+{ord(found.group()):04X}, which YAML does not "
        "accept; delete it, or write it as an escape such as \\x01 in a double-quoted string",
    )


def _character_at(text: str, mark: yaml.Mark | None) -> str | None:
    if mark is None:
        return None
    lines = text.split("\n")
    if mark.line >= len(lines) or mark.column >= len(lines[mark.line]):
        return None
    return lines[mark.line][mark.column]


def _unclosed_bracket(text: str, mark: yaml.Mark) -> tuple[str, yaml.Mark] | None:
    """Return the innermost [ or { still open at a position of the text, with its position."""
    open_brackets: list[tuple[str, yaml.Mark]] = []
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= mark.index:
                break
            if isinstance(token, yaml.FlowSequenceStartToken):
                open_brackets.append(("[", token.start_mark))
            elif isinstance(token, yaml.FlowMappingStartToken):
                open_brackets.append(("{", token.start_mark))
            elif isinstance(token, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)):
                if open_brackets:
                    open_brackets.pop()
    except yaml.YAMLError:
        # The scanner stops at the error too, and the brackets before it are all that matter.
        pass
    return open_brackets[-1] if open_brackets else None


def yaml_syntax_message(error: yaml.MarkedYAMLError, text: str) -> str:
    """Build the message of a YAML syntax error, with the change that fixes it."""
    problem = error.problem or "syntax error"
    context = error.context or ""
    line = f"line {error.problem_mark.line + 1}" if error.problem_mark else "this line"

    opening = error.context_mark
    bracket = "[" if "sequence" in context else "{"
    if "flow node" in context and error.problem_mark:
        # PyYAML marks where the missing value should be, not the bracket that is still open.
        unclosed = _unclosed_bracket(text, error.problem_mark)
        bracket, opening = unclosed if unclosed is not None else (bracket, None)
    where = f"line {opening.line + 1}, column {opening.column + 1}" if opening else None

    if "duplicate anchor" in context and where:
        return (
            f"invalid YAML: {context.split(';')[0]}, first defined at {where}; give each "
            "anchor its own name"
        )

    # libyaml does not quote the tab in its message, so the character itself is checked too.
    if "'\\t'" in problem or _character_at(text, error.problem_mark) == "\t":
        hint = "indent with spaces, because YAML does not accept tabs there"
    elif "undefined alias" in problem:
        hint = "define the anchor (&name) before the alias (*name) that uses it, or fix the name"
    elif "quoted scalar" in context and where:
        hint = f"close the quote that opens at {where}"
    elif "flow node" in context and where:
        hint = f"add the missing value, or close the {bracket} that opens at {where}"
    elif "flow" in context and where:
        hint = f"add the missing comma, or close the {bracket} that opens at {where}"
    else:
        hint = (
            f"check the indentation and the quoting at {line} and the line above it. "
            "Indent with spaces, and quote a value that contains ': ' or starts with *, &, !, "
            "{, [, | or >"
        )
    return f"invalid YAML: {problem}; {hint}"
