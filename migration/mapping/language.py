"""Parsing of mapping files into target mappings and expressions.

The file is composed with PyYAML's safe loader into nodes and never constructed into Python
objects by tags. Every message can therefore give the line and column. A code written as a
plain scalar (`NO`, `010`, `2024-01-31`) is rejected instead of silently becoming a boolean,
an integer or a date.
"""

from __future__ import annotations

import csv
import difflib
import functools
import hashlib
import io
import logging
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NoReturn

import yaml

from migration.dictionary.errors import DictionaryError, DictionaryFileError
from migration.dictionary.model import BUNDLED, Dictionary, is_bundled_name, load_dictionary
from migration.mapping import expressions as ex
from migration.mapping.errors import (
    MappingError,
    MappingFileError,
    MappingProblemsError,
    MappingSyntaxError,
    did_you_mean,
)
from migration.yaml_files import describe_yaml_error, utf8_problem

logger = logging.getLogger(__name__)
STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
TEXT_OPERATORS = tuple(ex.TEXT_FUNCTIONS)
CONDITION_OPERATORS = ("eq", "in", "is_null", "not", "and", "or")
CONVERSIONS = ("to_text", "to_integer", "to_decimal", "to_date", "format_date")
OPERATORS = (
    "const",
    *TEXT_OPERATORS,
    "pad",
    "substr",
    "split",
    "coalesce",
    "concat",
    "surrogate",
    "code",
    "when",
    "lookup",
    *CONVERSIONS,
)
# The options that an operator takes beside its operator key, such as `width` in `{pad: DEP,
# width: 3}`.
OPTIONS = {
    "pad": {"width", "fill"},
    "substr": {"start", "length"},
    "split": {"sep", "index"},
    "concat": {"sep"},
    "surrogate": {"namespace"},
    "code": {"map", "map_file", "unknown", "default"},
    "when": {"else"},
    "lookup": {"key"},
    "to_date": {"format"},
    "format_date": {"format"},
}


@dataclass
class Join:
    """A table joined to the main source table on equal keys (left join).

    `keys` maps columns of the main table to columns of the joined table. The key is not named
    `on` because YAML 1.1 reads a plain `on` as the boolean true.
    """

    table: str
    keys: dict[str, str]


@dataclass
class TargetMapping:
    """The filling of one target table from one source table, with optional joins."""

    target: str
    source: str
    columns: dict[str, ex.Expr]
    joins: list[Join] = field(default_factory=list)
    filter: ex.Condition | None = None
    filter_reason: str | None = None
    line: int = 0
    # 1-based line and column of the values of the `target` and `source` keys.
    target_position: tuple[int, int] = (0, 0)
    source_position: tuple[int, int] = (0, 0)


@dataclass
class Anchor:
    """A YAML anchor (`&name`) that aliases (`*name`) reuse, with 1-based positions."""

    name: str
    start: tuple[int, int]
    end: tuple[int, int]
    alias_lines: list[int] = field(default_factory=list)

    def contains(self, line: int, column: int | None) -> bool:
        return self.start <= (line, column or 1) < self.end


@dataclass
class MappingFile:
    """A parsed mapping file of one application."""

    path: Path
    sha256: str
    application: str
    # A bundled dictionary name, or the path of a dictionary file as `load_dictionary` takes it:
    # a relative path of the file is already joined to the mapping file's folder.
    dictionary: str
    target_schema: str
    targets: list[TargetMapping]
    dropped_tables: dict[str, str] = field(default_factory=dict)
    dropped_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    # Anchors reused by at least one alias, in the order of the file.
    anchors: list[Anchor] = field(default_factory=list)
    # 1-based line and column of keys, by their path of keys: ("targets",),
    # ("dropped_tables", TABLE), ("dropped_columns", TABLE, COLUMN) and the like.
    key_positions: dict[tuple[str, ...], tuple[int, int]] = field(default_factory=dict)

    def position(self, *keys: str) -> tuple[int | None, int | None]:
        """Return the line and column of a key of the file, or (None, None) if it is absent."""
        return self.key_positions.get(keys, (None, None))

    def anchor_at(self, line: int | None, column: int | None) -> Anchor | None:
        """Return the innermost reused anchor whose node contains a position, or None."""
        if line is None:
            return None
        containing = [anchor for anchor in self.anchors if anchor.contains(line, column)]
        return max(containing, key=lambda anchor: anchor.start, default=None)


class _AnchorLoader(yaml.SafeLoader):
    """A safe loader that records where each anchor is and the lines of its aliases.

    An alias gives the anchor's node itself, so without this record a problem of a reused
    node can only point at the anchor.
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self.anchor_positions: dict[str, Anchor] = {}

    def compose_node(self, parent, index):
        event = self.peek_event()
        node = super().compose_node(parent, index)
        if isinstance(event, yaml.AliasEvent):
            self.anchor_positions[event.anchor].alias_lines.append(event.start_mark.line + 1)
        elif event.anchor is not None:
            self.anchor_positions[event.anchor] = Anchor(
                event.anchor,
                (node.start_mark.line + 1, node.start_mark.column + 1),
                (node.end_mark.line + 1, node.end_mark.column + 1),
            )
        return node


def load_mapping(path: str | Path) -> MappingFile:
    """Read and parse a mapping file.

    Raises:
        MappingFileError: the file cannot be read.
        MappingSyntaxError: the file is not UTF-8 or not valid YAML. The message gives file,
            line and column.
        MappingError: the file is invalid. The message gives file, line and column.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise MappingFileError(path, error) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        problem = utf8_problem(raw, error, "mapping file")
        raise MappingSyntaxError(path, problem.line, problem.column, problem.message) from None
    try:
        root, anchors = _compose(text)
    except (yaml.reader.ReaderError, yaml.MarkedYAMLError) as error:
        problem = describe_yaml_error(error, text, "mapping file")
        raise MappingSyntaxError(path, problem.line, problem.column, problem.message) from None
    parser = _Parser(path)
    try:
        mapping = parser.parse_file(root, hashlib.sha256(raw).hexdigest())
    except MappingError as error:
        if not parser.problems:
            raise
        _raise_all(parser.problems + [error])
    if parser.problems:
        _raise_all(parser.problems)
    mapping.anchors = [replace(anchor, alias_lines=list(anchor.alias_lines)) for anchor in anchors]
    return mapping


def _raise_all(problems: list[MappingError]) -> NoReturn:
    """Raise each problem of a mapping file once, in the order of the file, alone or as one
    MappingProblemsError.

    A node reused by an alias is parsed once per use, so its problems come again at the same
    line and column.
    """
    unique = sorted(
        {(problem.line, problem.column, problem.detail): problem for problem in problems}.values(),
        key=lambda problem: (problem.line or 0, problem.column or 0),
    )
    if len(unique) == 1:
        raise unique[0]
    raise MappingProblemsError(unique)


@functools.lru_cache(maxsize=16)
def _compose(text: str) -> tuple[yaml.Node | None, tuple[Anchor, ...]]:
    """Compose the YAML node tree of a mapping file, with its anchors that aliases reuse.

    A run loads each mapping file several times: to check it, to map, for the lineage events
    and for the report. Composing takes about 30 ms of pure Python per bundled mapping file
    (measured on a 2-core machine), so the trees of the 16 texts last used are kept. The
    cached nodes are shared, so callers read them and never change them.

    Raises:
        yaml.reader.ReaderError: the text has a character that YAML does not accept.
        yaml.MarkedYAMLError: the text is not valid YAML.
    """
    # PyYAML checks every character when the loader is made, before parsing.
    loader = _AnchorLoader(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    anchors = tuple(anchor for anchor in loader.anchor_positions.values() if anchor.alias_lines)
    return root, anchors


def load_named_dictionary(mapping: MappingFile) -> Dictionary:
    """Load the data dictionary that a mapping file names in its `dictionary` key.

    Raises:
        DictionaryError: the dictionary is missing or invalid. The message names the mapping
            file and the dictionary file it looked for, and gives the fix for the key or file.
    """
    failed = f"{mapping.path}: the dictionary it names failed to load"
    try:
        return load_dictionary(mapping.dictionary)
    except DictionaryFileError as error:
        fix = _named_dictionary_fix(error)
        raise DictionaryError(f"{failed}: {error.path}: {error.problem}; {fix}") from None
    except DictionaryError as error:
        fix = "fix that dictionary file, or name another one in the mapping's dictionary key"
        raise DictionaryError(f"{failed}: {error}; {fix}") from None


def _named_dictionary_fix(error: DictionaryFileError) -> str:
    """Return the fix for a dictionary file that a mapping names and that cannot be read."""
    if isinstance(error.error, FileNotFoundError):
        return (
            "put the dictionary file there, or set the mapping's dictionary key to a bundled "
            f"name ({', '.join(BUNDLED)}) or to a file path relative to the mapping's folder"
        )
    if isinstance(error.error, IsADirectoryError):
        return (
            "set the mapping's dictionary key to the path of the dictionary's .yaml file, "
            "relative to the mapping's folder"
        )
    return f"{error.fix}, or name another dictionary in the mapping's dictionary key"


# Direction overrides and isolates: they reorder how a text is shown without being seen.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_hidden_character(char: str) -> bool:
    """Tell whether a character of a mapping value is a control character other than tab and
    line feed, or a bidirectional control."""
    return (unicodedata.category(char) == "Cc" and char not in "\t\n") or char in _BIDI_CONTROLS


def _closeness_to_operators(name: str) -> float:
    return max(difflib.SequenceMatcher(None, name, operator).ratio() for operator in OPERATORS)


class _Parser:
    def __init__(self, path: Path):
        self.path = path
        self.key_positions: dict[tuple[str, ...], tuple[int, int]] = {}
        # Problems found without stopping the parsing, which load_mapping raises together.
        self.problems: list[MappingError] = []

    def record(self, node: yaml.Node, *keys: str) -> None:
        self.key_positions[keys] = self.position(node)

    @staticmethod
    def position(node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def fail(self, node: yaml.Node, message: str) -> MappingError:
        return MappingError(
            self.path, node.start_mark.line + 1, node.start_mark.column + 1, message
        )

    def unknown_name(self, node: yaml.Node, problem: str, known, known_intro: str) -> None:
        """Record a misspelt or unknown name, with the closest known name or the list of known
        names, and go on parsing so that one run reports every unknown name of the file."""
        hint = did_you_mean(node.value, known)
        if not hint and not known:
            hint = "; remove it"
        elif not hint:
            names = known if isinstance(known, tuple) else sorted(known)
            hint = f"; {known_intro} " + ", ".join(names)
        self.problems.append(self.fail(node, problem + hint))

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.string(key_node, f"a key of {what}")
            if key in items:
                raise self.fail(key_node, f"duplicate key {key!r} in {what}")
            items[key] = (key_node, value_node)
        return items

    def string(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{what} must be a text value")
        if node.tag != STR_TAG:
            raise self.fail(
                node,
                f"{what} {node.value!r} is read by YAML as {node.tag.rsplit(':', 1)[-1]}, not "
                f'text; quote it ("{node.value}") so it keeps its meaning',
            )
        hidden = next((char for char in node.value if _is_hidden_character(char)), None)
        if hidden is not None:
            raise self.fail(
                node,
                f"{what} contains the invisible character U+{ord(hidden):04X} (written as an "
                "escape such as \\x1b or \\u202e), which the target would store as it is; "
                "remove it",
            )
        return node.value

    def integer(self, node: yaml.Node, what: str) -> int:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:int":
            raise self.fail(node, f"{what} must be an integer")
        return int(node.value)

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def parse_file(self, root: yaml.Node | None, sha256: str) -> MappingFile:
        if root is None:
            raise MappingError(self.path, None, None, "the mapping file is empty")
        top = self.mapping(root, "the mapping file")
        allowed = {
            "application",
            "dictionary",
            "target_schema",
            "targets",
            "dropped_tables",
            "dropped_columns",
            "description",
            "version",
        }
        for key, (key_node, _) in top.items():
            if key not in allowed:
                self.unknown_name(key_node, f"unknown key {key!r}", allowed, "a key is one of")
        for key in ("application", "targets"):
            if key not in top:
                raise self.fail(root, f"missing key {key!r}")
        for key, (key_node, _) in top.items():
            self.record(key_node, key)
        application = self.string(top["application"][1], "application")
        targets = []
        for node in self.sequence(top["targets"][1], "targets"):
            try:
                targets.append(self.parse_target(node))
            except MappingError as error:
                # The next targets are still parsed, so that one run lists their problems too.
                self.problems.append(error)
        dropped_tables = {}
        if "dropped_tables" in top:
            for table, (key_node, reason) in self.mapping(
                top["dropped_tables"][1], "dropped_tables"
            ).items():
                self.record(key_node, "dropped_tables", table)
                dropped_tables[table] = self.string(reason, f"the reason for dropping {table}")
        dropped_columns: dict[str, dict[str, str]] = {}
        if "dropped_columns" in top:
            for table, (key_node, columns) in self.mapping(
                top["dropped_columns"][1], "dropped_columns"
            ).items():
                self.record(key_node, "dropped_columns", table)
                if isinstance(columns, yaml.ScalarNode) and columns.tag == NULL_TAG:
                    dropped_columns[table] = {}
                    continue
                dropped_columns[table] = {}
                for column, (column_node, reason) in self.mapping(
                    columns, f"dropped_columns.{table}"
                ).items():
                    self.record(column_node, "dropped_columns", table, column)
                    dropped_columns[table][column] = self.string(
                        reason, f"the reason for dropping {table}.{column}"
                    )
        return MappingFile(
            path=self.path,
            sha256=sha256,
            application=application,
            dictionary=self.dictionary(top["dictionary"][1])
            if "dictionary" in top
            else application.lower(),
            target_schema=self.string(top["target_schema"][1], "target_schema")
            if "target_schema" in top
            else "mdph_reference",
            targets=targets,
            dropped_tables=dropped_tables,
            dropped_columns=dropped_columns,
            key_positions=self.key_positions,
        )

    def dictionary(self, node: yaml.Node) -> str:
        """Return the dictionary a mapping names, a relative path read from the mapping's folder.

        A relative path that is missing beside the mapping but present in the working folder
        is kept as it is, with a warning, because mappings were once read that way.
        """
        empty = isinstance(node, yaml.ScalarNode) and (
            node.tag == NULL_TAG or (node.tag == STR_TAG and not node.value.strip())
        )
        if empty:
            raise self.fail(
                node,
                "the dictionary key is empty; set it to a bundled dictionary name "
                f"({', '.join(BUNDLED)}) or to the path of a dictionary file relative to the "
                "mapping's folder, or remove the key to use the bundled dictionary named after "
                "the application",
            )
        name = self.string(node, "dictionary")
        if is_bundled_name(name) or Path(name).is_absolute():
            return name
        beside_mapping = self.path.parent / name
        if beside_mapping.exists() or not Path(name).exists():
            return str(beside_mapping)
        logger.warning(
            "%s:%d: dictionary %s is not in the mapping file's folder, so it is read from the "
            "working folder; write its path relative to the mapping file",
            self.path,
            node.start_mark.line + 1,
            name,
        )
        return name

    def parse_target(self, node: yaml.Node) -> TargetMapping:
        items = self.mapping(node, "a target")
        allowed = {"target", "source", "join", "filter", "filter_reason", "columns"}
        unknown_keys = [key for key in items if key not in allowed]
        for key in unknown_keys:
            self.unknown_name(
                items[key][0], f"unknown key {key!r} in a target", allowed, "a target key is one of"
            )
        for key in ("target", "source", "columns"):
            if key not in items:
                raise self.fail(node, f"a target needs {key!r}")
        joins = []
        if "join" in items:
            for join_node in self.sequence(items["join"][1], "join"):
                join = self.mapping(join_node, "a join")
                unknown_join_keys = [key for key in join if key not in ("table", "keys")]
                for key in unknown_join_keys:
                    self.unknown_name(
                        join[key][0],
                        f"unknown key {key!r} in a join",
                        ("table", "keys"),
                        "a join key is one of",
                    )
                if "table" not in join or "keys" not in join:
                    if unknown_join_keys:
                        continue  # the misspelt key is reported in place of the missing one
                    raise self.fail(join_node, "a join needs 'table' and 'keys'")
                keys = {
                    left: self.string(right, "a join column")
                    for left, (_, right) in self.mapping(join["keys"][1], "join.keys").items()
                }
                joins.append(Join(self.string(join["table"][1], "join.table"), keys))
        filter_condition = None
        filter_reason = None
        if "filter" in items:
            filter_condition = self.parse_condition(items["filter"][1])
            if "filter_reason" in items:
                filter_reason = self.string(items["filter_reason"][1], "filter_reason")
            elif not unknown_keys:
                # Recorded, not raised, so that the columns are still checked. A misspelt key
                # is most likely the filter_reason, and is reported in its place.
                self.problems.append(
                    self.fail(items["filter"][0], "a filter needs a filter_reason for the report")
                )
        columns = {}
        for name, (_, value) in self.mapping(items["columns"][1], "columns").items():
            try:
                columns[name] = self.parse_expression(value)
            except MappingError as error:
                # The next columns are still parsed, so that one run lists their problems too.
                self.problems.append(error)
        return TargetMapping(
            target=self.string(items["target"][1], "target"),
            source=self.string(items["source"][1], "source"),
            columns=columns,
            joins=joins,
            filter=filter_condition,
            filter_reason=filter_reason,
            line=node.start_mark.line + 1,
            target_position=self.position(items["target"][1]),
            source_position=self.position(items["source"][1]),
        )

    def parse_expression(self, node: yaml.Node) -> ex.Expr:
        if isinstance(node, yaml.ScalarNode):
            expression: ex.Expr = ex.ColumnRef(self.string(node, "a column name"))
        else:
            items = self.mapping(node, "an expression")
            operators = [key for key in items if key in OPERATORS]
            unknown = self.unknown_operator(items)
            if unknown is not None:
                # Parsing goes on with a placeholder, which load_mapping never returns, so that
                # one run reports every misspelt name.
                self.problems.append(unknown)
                expression = ex.Const(None)
            elif len(operators) != 1:
                raise self.fail(
                    node,
                    "an expression needs exactly one of "
                    + ", ".join(OPERATORS)
                    + f" (found {', '.join(items) or 'nothing'})",
                )
            else:
                expression = self.parse_operator(operators[0], items, node)
        expression.line = node.start_mark.line + 1
        expression.column = node.start_mark.column + 1
        return expression

    def unknown_operator(self, items: dict) -> MappingError | None:
        """Return the problem of an expression without an operator whose key is a misspelt one.

        Of the keys that are neither an operator nor an option, the misspelt operator is the one
        closest to an operator name, so `{surogate: [X], namespce: n}` names `surogate`.
        """
        if any(key in OPERATORS for key in items):
            return None
        options = set().union(*OPTIONS.values())
        unknown = [key for key in items if key not in options]
        if not unknown:
            return None
        name = max(unknown, key=_closeness_to_operators)
        hint = did_you_mean(name, OPERATORS) or "; an expression is one of " + ", ".join(OPERATORS)
        return self.fail(items[name][0], f"unknown expression {name!r}{hint}")

    def parse_operator(self, operator: str, items: dict, node: yaml.Node) -> ex.Expr:
        options = {key: item[1] for key, item in items.items() if key != operator}
        allowed_options = OPTIONS.get(operator, set())
        misspelt = [key for key in options if key not in allowed_options]
        for key in misspelt:
            self.unknown_name(
                items[key][0],
                f"{operator!r} does not take option {key!r}",
                allowed_options,
                f"the options of {operator} are",
            )
            del options[key]
        try:
            return self.build_operator(operator, items[operator][1], options, node)
        except MappingError:
            if not misspelt:
                raise
            # A misspelt option, such as namespace, explains the missing one. Parsing goes on
            # with a placeholder, which load_mapping never returns.
            return ex.Const(None)

    def build_operator(
        self, operator: str, value: yaml.Node, options: dict[str, yaml.Node], node: yaml.Node
    ) -> ex.Expr:
        if operator == "const":
            return ex.Const(
                None if value.tag == "tag:yaml.org,2002:null" else self.string(value, "a constant")
            )
        if operator in TEXT_OPERATORS:
            return ex.TextFunction(operator, self.parse_expression(value))
        if operator == "pad":
            if "width" not in options:
                raise self.fail(node, "pad needs a width")
            fill = self.string(options["fill"], "pad fill") if "fill" in options else "0"
            return ex.Pad(
                self.parse_expression(value), self.integer(options["width"], "width"), fill
            )
        if operator == "substr":
            start = self.integer(options["start"], "start") if "start" in options else 0
            length = self.integer(options["length"], "length") if "length" in options else None
            return ex.Substr(self.parse_expression(value), start, length)
        if operator in ("coalesce", "concat", "surrogate"):
            arguments = [self.parse_expression(item) for item in self.sequence(value, operator)]
            if operator == "coalesce":
                return ex.Coalesce(arguments)
            if operator == "concat":
                separator = self.string(options["sep"], "sep") if "sep" in options else ""
                return ex.Concat(arguments, separator)
            if "namespace" not in options:
                raise self.fail(node, "surrogate needs a namespace, e.g. namespace: individu")
            return ex.Surrogate(self.string(options["namespace"], "namespace"), arguments)
        if operator == "code":
            return self.parse_code(value, options, node)
        if operator == "split":
            separator = self.string(options["sep"], "sep") if "sep" in options else " "
            index = self.integer(options["index"], "index") if "index" in options else 0
            return ex.Split(self.parse_expression(value), separator, index)
        if operator in CONVERSIONS:
            date_format = None
            if operator in ("to_date", "format_date"):
                if "format" not in options:
                    raise self.fail(node, f'{operator} needs a format, e.g. format: "%d/%m/%Y"')
                date_format = self.string(options["format"], "format")
            return ex.Convert(operator, self.parse_expression(value), date_format)
        if operator == "lookup":
            return self.parse_lookup(value, options, node)
        return self.parse_when(value, options)

    def parse_lookup(self, value: yaml.Node, options: dict, node: yaml.Node) -> ex.Lookup:
        spec = self.mapping(value, "a lookup")
        if "key" not in options:
            raise self.fail(node, "lookup needs a key: the expression to look up")
        sources = [name for name in ("table", "target") if name in spec]
        if len(sources) != 1 or "match" not in spec or "value" not in spec:
            raise self.fail(
                value,
                "lookup needs either table (a source table) or target (a mapped target "
                "table), plus match and value",
            )
        table = self.string(spec[sources[0]][1], sources[0])
        if sources[0] == "target":
            table = f"target:{table}"
        lookup = ex.Lookup(
            self.parse_expression(options["key"]),
            table,
            self.string(spec["match"][1], "match"),
            self.string(spec["value"][1], "value"),
        )
        lookup.table_line = value.start_mark.line + 1
        return lookup

    def parse_code(self, value: yaml.Node, options: dict, node: yaml.Node) -> ex.CodeMap:
        if "map" not in options and "map_file" not in options:
            raise self.fail(node, "code needs a map of source code to target code, or a map_file")
        table: dict[str, str | None] = {}
        if "map_file" in options:
            table.update(self.read_code_file(options["map_file"]))
        map_items = self.mapping(options["map"], "a code map").items() if "map" in options else []
        for code, (_, target_node) in map_items:
            if (
                isinstance(target_node, yaml.ScalarNode)
                and target_node.tag == "tag:yaml.org,2002:null"
            ):
                table[code] = None
            else:
                table[code] = self.string(target_node, f"the target code of {code!r}")
        unknown = "reject"
        if "unknown" in options:
            unknown = self.string(options["unknown"], "unknown")
            if unknown not in ex.UNKNOWN_POLICIES:
                raise self.fail(
                    options["unknown"], f"unknown must be one of {', '.join(ex.UNKNOWN_POLICIES)}"
                )
        default = None
        if unknown == "default":
            if "default" not in options:
                raise self.fail(node, "unknown: default needs a default code")
            default = self.string(options["default"], "default")
        return ex.CodeMap(self.parse_expression(value), table, unknown, default)

    def read_code_file(self, node: yaml.Node) -> dict[str, str | None]:
        """Read a code table CSV (UTF-8, `;`, header `source;target`) next to the mapping."""
        path = self.path.parent / self.string(node, "map_file")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise self.fail(node, f"cannot read the code table {path} ({error})") from None
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
        if not rows or [cell.strip() for cell in rows[0][:2]] != ["source", "target"]:
            raise self.fail(node, f"{path}: the first line must be the header source;target")
        table: dict[str, str | None] = {}
        for number, row in enumerate(rows[1:], start=2):
            if not row:
                continue
            if len(row) != 2:
                raise self.fail(node, f"{path}, line {number}: expected 2 fields, got {len(row)}")
            if row[0] in table:
                raise self.fail(node, f"{path}, line {number}: code {row[0]!r} is listed twice")
            table[row[0]] = row[1] or None
        return table

    def parse_when(self, value: yaml.Node, options: dict) -> ex.When:
        branches = []
        for branch_node in self.sequence(value, "when"):
            branch = self.mapping(branch_node, "a when branch")
            if set(branch) != {"if", "then"}:
                raise self.fail(branch_node, "a when branch needs exactly 'if' and 'then'")
            branches.append(
                (self.parse_condition(branch["if"][1]), self.parse_expression(branch["then"][1]))
            )
        otherwise = self.parse_expression(options["else"]) if "else" in options else None
        return ex.When(branches, otherwise)

    def parse_condition(self, node: yaml.Node) -> ex.Condition:
        items = self.mapping(node, "a condition")
        if len(items) != 1:
            raise self.fail(node, "a condition is one of " + ", ".join(CONDITION_OPERATORS))
        operator, (key_node, value) = next(iter(items.items()))
        if operator not in CONDITION_OPERATORS:
            self.unknown_name(
                key_node,
                f"unknown condition {operator!r}",
                CONDITION_OPERATORS,
                "a condition is one of",
            )
            # A placeholder, which load_mapping never returns, so that parsing goes on. Its
            # argument is parsed as that of the closest operator, so that the unknown names in
            # it are reported in the same run. An argument of another shape is not parsed.
            inner = []
            closest = difflib.get_close_matches(operator, CONDITION_OPERATORS, n=1)
            if closest:
                try:
                    inner = [self.parse_condition_as(closest[0], value, node)]
                except MappingError:
                    pass
            return ex.Condition("and", inner, *self.position(node))
        return self.parse_condition_as(operator, value, node)

    def parse_condition_as(self, operator: str, value: yaml.Node, node: yaml.Node) -> ex.Condition:
        """Parse the argument of a condition whose operator is `operator`."""
        if operator == "eq":
            arguments = [self.parse_expression(item) for item in self.sequence(value, "eq")]
            if len(arguments) != 2:
                raise self.fail(value, "eq compares exactly two expressions")
        elif operator == "in":
            parts = self.sequence(value, "in")
            if len(parts) != 2:
                raise self.fail(value, "in takes an expression and a list of codes")
            codes = [self.string(code, "a code") for code in self.sequence(parts[1], "the codes")]
            arguments = [self.parse_expression(parts[0]), codes]
        elif operator in ("is_null", "not"):
            inner = (
                self.parse_expression(value)
                if operator == "is_null"
                else self.parse_condition(value)
            )
            arguments = [inner]
        else:
            arguments = [self.parse_condition(item) for item in self.sequence(value, operator)]
        return ex.Condition(
            operator, arguments, node.start_mark.line + 1, node.start_mark.column + 1
        )
