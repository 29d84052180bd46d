"""The expression language of mapping files, evaluated column-wise on pandas frames.

An expression is a YAML scalar or mapping (see docs/mappings.md). A plain string names a source
column; every other form is a one-key mapping such as `{const: "ITAC"}` or `{upper: NOM}`.
Each expression evaluates to a Series aligned with the source frame, so a mapping runs
vectorised, never row by row through Python `eval`.
"""

from __future__ import annotations

import datetime
import hashlib
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from migration.validation.identifiers import nir_is_valid

UNKNOWN_POLICIES = ("reject", "default", "keep")

# The phrases of `describe`, by language. The French one is the default because reject reasons
# (mapping.unknown_code, mapping.conversion) store it: the report finds a stored description
# again by describing the run's mapping files in French.
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "fr": {
        "column": "copie de {name}",
        "constant": "constante {value}",
        "pad": "complété à {width} caractères ({argument})",
        "coalesce": "premier non vide de {arguments}",
        "concat": "concaténation de {arguments}",
        "surrogate": "clé dérivée {namespace} de {arguments}",
        "code_map": "traduction de code ({argument})",
        "when": "valeur selon condition",
        "split": "partie {index} de {argument} coupé sur {separator}",
        "convert": "{kind}{date_format} de {argument}",
        "lookup": "recherche de {value} dans {table} par {match}",
    },
    "en": {
        "column": "copy of {name}",
        "constant": "constant {value}",
        "pad": "padded to {width} characters ({argument})",
        "coalesce": "first non-empty of {arguments}",
        "concat": "concatenation of {arguments}",
        "surrogate": "derived key {namespace} of {arguments}",
        "code_map": "code translation ({argument})",
        "when": "value by condition",
        "split": "part {index} of {argument} split on {separator}",
        "convert": "{kind}{date_format} of {argument}",
        "lookup": "lookup of {value} in {table} by {match}",
    },
}


@dataclass
class Context:
    """What an expression needs while it runs.

    `frame` holds the source rows; `tables` the accepted rows of every source table of the
    application and the target rows mapped so far (keyed `target:NAME`), for lookups.
    Expressions append the rows they reject to `rejections` as (rule id, description, mask)
    and count every unknown code in `unknown_counts`. `derived_keys` holds one str object per
    derived key value, shared by the targets of one application; None shares none beyond one
    expression, for frames that are staged as soon as they are mapped.
    """

    frame: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    rejections: list[tuple[str, str, pd.Series]] = field(default_factory=list)
    unknown_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    derived_keys: dict[str, str] | None = field(default_factory=dict)


class Expr:
    """A node of a mapping expression; `line` and `column` locate it in the YAML file."""

    line: int = 0
    column: int = 0

    def evaluate(self, ctx: Context) -> pd.Series:
        raise NotImplementedError

    def source_columns(self) -> set[str]:
        return set()

    def describe(self, language: str = "fr") -> str:
        """Describe the expression in a short phrase of `language` ("fr" or "en")."""
        return type(self).__name__.lower()


def _describe_all(arguments: list[Expr], language: str) -> str:
    return ", ".join(argument.describe(language) for argument in arguments)


def _null_series(ctx: Context) -> pd.Series:
    return pd.Series([None] * len(ctx.frame), index=ctx.frame.index, dtype=object)


def _clean(series: pd.Series) -> pd.Series:
    """Make every null a Python None, the convention of mapped frames."""
    series = series.astype(object)
    return series.where(series.notna(), None)


@dataclass
class ColumnRef(Expr):
    name: str

    def evaluate(self, ctx: Context) -> pd.Series:
        return _clean(ctx.frame[self.name])

    def source_columns(self) -> set[str]:
        return {self.name}

    def describe(self, language: str = "fr") -> str:
        return DESCRIPTIONS[language]["column"].format(name=self.name)


@dataclass
class Const(Expr):
    value: Any

    def evaluate(self, ctx: Context) -> pd.Series:
        return pd.Series([self.value] * len(ctx.frame), index=ctx.frame.index, dtype=object)

    def describe(self, language: str = "fr") -> str:
        return DESCRIPTIONS[language]["constant"].format(value=repr(self.value))


@dataclass
class TextFunction(Expr):
    """A function applied to every non-null text value: upper, lower, trim, normalize."""

    name: str
    argument: Expr

    def evaluate(self, ctx: Context) -> pd.Series:
        values = self.argument.evaluate(ctx)
        function = TEXT_FUNCTIONS[self.name]
        # Names and codes repeat: apply the function once per distinct value.
        results = {value: function(str(value)) for value in values.dropna().unique()}
        return _clean(values.map(pd.Series(results, dtype=object)))

    def source_columns(self) -> set[str]:
        return self.argument.source_columns()

    def describe(self, language: str = "fr") -> str:
        return f"{self.name}({self.argument.describe(language)})"


def _normalize(value: str) -> str:
    """Upper case, no accents, single spaces: the form used to compare names."""
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.replace("-", " ").upper().split())


def _empty_to_none(value: str) -> str | None:
    return value or None


def _unaccent(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


TEXT_FUNCTIONS: dict[str, Callable[[str], Any]] = {
    "upper": str.upper,
    "lower": str.lower,
    "unaccent": _unaccent,
    "trim": lambda value: _empty_to_none(" ".join(value.split())),
    "normalize": _normalize,
    "valid_nir": lambda value: value if nir_is_valid(value) else None,
}


@dataclass
class Pad(Expr):
    argument: Expr
    width: int
    fill: str = "0"

    def evaluate(self, ctx: Context) -> pd.Series:
        values = self.argument.evaluate(ctx)
        return _clean(
            values.map(
                lambda value: None if value is None else str(value).rjust(self.width, self.fill)
            )
        )

    def source_columns(self) -> set[str]:
        return self.argument.source_columns()

    def describe(self, language: str = "fr") -> str:
        return DESCRIPTIONS[language]["pad"].format(
            width=self.width, argument=self.argument.describe(language)
        )


@dataclass
class Substr(Expr):
    argument: Expr
    start: int
    length: int | None

    def evaluate(self, ctx: Context) -> pd.Series:
        end = None if self.length is None else self.start + self.length
        values = self.argument.evaluate(ctx)
        return _clean(
            values.map(
                lambda value: None if value is None else (str(value)[self.start : end] or None)
            )
        )

    def source_columns(self) -> set[str]:
        return self.argument.source_columns()


@dataclass
class Coalesce(Expr):
    arguments: list[Expr]

    def evaluate(self, ctx: Context) -> pd.Series:
        result = _null_series(ctx)
        for argument in self.arguments:
            values = argument.evaluate(ctx)
            result = result.where(result.notna(), values)
        return _clean(result)

    def source_columns(self) -> set[str]:
        return set().union(*(argument.source_columns() for argument in self.arguments))

    def describe(self, language: str = "fr") -> str:
        return DESCRIPTIONS[language]["coalesce"].format(
            arguments=_describe_all(self.arguments, language)
        )


@dataclass
class Concat(Expr):
    arguments: list[Expr]
    separator: str = ""

    def evaluate(self, ctx: Context) -> pd.Series:
        columns = [argument.evaluate(ctx).tolist() for argument in self.arguments]
        joined = [
            self.separator.join(str(value) for value in values if value is not None) or None
            for values in zip(*columns, strict=True)
        ]
        return pd.Series(joined, index=ctx.frame.index, dtype=object)

    def source_columns(self) -> set[str]:
        return set().union(*(argument.source_columns() for argument in self.arguments))

    def describe(self, language: str = "fr") -> str:
        return DESCRIPTIONS[language]["concat"].format(
            arguments=_describe_all(self.arguments, language)
        )


@dataclass
class Surrogate(Expr):
    """A deterministic key: the first 32 hex digits of SHA-256 over a namespace and parts.

    The same natural key gives the same surrogate key on every run, so reruns and foreign keys
    between target tables agree without a lookup.
    """

    namespace: str
    arguments: list[Expr]

    def evaluate(self, ctx: Context) -> pd.Series:
        parts = [argument.evaluate(ctx) for argument in self.arguments]
        complete = pd.Series(True, index=ctx.frame.index)
        text = pd.Series(f"{self.namespace}\x1e", index=ctx.frame.index, dtype=object)
        for position, part in enumerate(parts):
            complete &= part.notna()
            separator = "\x1f" if position else ""
            text = text + separator + part.astype(str)
        # Natural keys repeat (a dossier number on each of its demands): hash each one once,
        # and give its rows one str object. The loop runs over a NumPy object array, because
        # iterating pandas' string array directly costs more than the hashing.
        present = complete.to_numpy()
        codes, distinct = pd.factorize(text.to_numpy(dtype=object)[present])
        digests = [hashlib.sha256(value.encode()).hexdigest()[:32] for value in distinct]
        # A key is held by its row and by every row that refers to it, millions of times in a
        # large delivery: one str object per value, not one per reference, saves about 80
        # bytes per reference.
        shared = ctx.derived_keys
        if shared is not None:
            digests = [shared.setdefault(digest, digest) for digest in digests]
        surrogates = np.full(len(text), None, dtype=object)
        if digests:
            surrogates[present] = np.array(digests, dtype=object)[codes]
        return pd.Series(surrogates, index=text.index, dtype=object)

    def source_columns(self) -> set[str]:
        return set().union(*(argument.source_columns() for argument in self.arguments))

    def describe(self, language: str = "fr") -> str:
        return DESCRIPTIONS[language]["surrogate"].format(
            namespace=self.namespace, arguments=_describe_all(self.arguments, language)
        )


@dataclass
class CodeMap(Expr):
    """Translation of source codes through a table, with a policy for unknown codes."""

    argument: Expr
    table: dict[str, str | None]
    unknown: str = "reject"
    default: str | None = None

    def evaluate(self, ctx: Context) -> pd.Series:
        values = self.argument.evaluate(ctx)
        translated = values.map(self.table)
        unknown = values.notna() & ~values.isin(list(self.table))
        if unknown.any():
            counts = ctx.unknown_counts.setdefault(self.describe(), {})
            for code, count in values[unknown].value_counts().items():
                counts[str(code)] = counts.get(str(code), 0) + int(count)
            if self.unknown == "reject":
                ctx.rejections.append(("mapping.unknown_code", self.describe(), unknown))
            elif self.unknown == "default":
                translated[unknown] = self.default
            else:
                translated[unknown] = values[unknown]
        return _clean(translated)

    def source_columns(self) -> set[str]:
        return self.argument.source_columns()

    def describe(self, language: str = "fr") -> str:
        return DESCRIPTIONS[language]["code_map"].format(argument=self.argument.describe(language))


@dataclass
class Condition:
    """A boolean test over the frame: eq, in, is_null, not, and, or."""

    operator: str
    arguments: list[Any]
    line: int = 0
    column: int = 0

    def evaluate(self, ctx: Context) -> pd.Series:
        if self.operator == "eq":
            left, right = (argument.evaluate(ctx) for argument in self.arguments)
            return (left == right) & left.notna()
        if self.operator == "in":
            values = self.arguments[0].evaluate(ctx)
            return values.isin(self.arguments[1])
        if self.operator == "is_null":
            return self.arguments[0].evaluate(ctx).isna()
        if self.operator == "not":
            return ~self.arguments[0].evaluate(ctx)
        results = [argument.evaluate(ctx) for argument in self.arguments]
        combined = results[0]
        for result in results[1:]:
            combined = (combined & result) if self.operator == "and" else (combined | result)
        return combined

    def source_columns(self) -> set[str]:
        columns: set[str] = set()
        for argument in self.arguments:
            if isinstance(argument, (Expr, Condition)):
                columns |= argument.source_columns()
        return columns


@dataclass
class When(Expr):
    branches: list[tuple[Condition, Expr]]
    otherwise: Expr | None

    def evaluate(self, ctx: Context) -> pd.Series:
        result = self.otherwise.evaluate(ctx) if self.otherwise else _null_series(ctx)
        for condition, value in reversed(self.branches):
            result = value.evaluate(ctx).where(condition.evaluate(ctx), result)
        return _clean(result)

    def source_columns(self) -> set[str]:
        columns = self.otherwise.source_columns() if self.otherwise else set()
        for condition, value in self.branches:
            columns |= condition.source_columns() | value.source_columns()
        return columns

    def describe(self, language: str = "fr") -> str:
        return DESCRIPTIONS[language]["when"]


@dataclass
class Split(Expr):
    """One part of a text split on a separator; `index` counts from 0, negative from the end."""

    argument: Expr
    separator: str
    index: int

    def evaluate(self, ctx: Context) -> pd.Series:
        def part(value):
            if value is None:
                return None
            pieces = str(value).split(self.separator)
            try:
                return pieces[self.index].strip() or None
            except IndexError:
                return None

        return _clean(self.argument.evaluate(ctx).map(part))

    def source_columns(self) -> set[str]:
        return self.argument.source_columns()

    def describe(self, language: str = "fr") -> str:
        return DESCRIPTIONS[language]["split"].format(
            index=self.index,
            argument=self.argument.describe(language),
            separator=repr(self.separator),
        )


@dataclass
class Convert(Expr):
    """A type conversion: to_text, to_integer, to_decimal, to_date (from text) or format_date.

    A value that does not convert makes the row a reject with the rule mapping.conversion.
    """

    kind: str
    argument: Expr
    date_format: str | None = None

    def evaluate(self, ctx: Context) -> pd.Series:
        values = self.argument.evaluate(ctx)
        converted = values.map(self._convert)
        failed = values.notna() & converted.isna()
        if failed.any():
            ctx.rejections.append(("mapping.conversion", self.describe(), failed))
        return _clean(converted)

    def _convert(self, value):
        if value is None:
            return None
        try:
            if self.kind == "to_text":
                return value.isoformat() if isinstance(value, datetime.date) else str(value)
            if self.kind == "to_integer":
                return int(str(value))
            if self.kind == "to_decimal":
                return Decimal(str(value).replace(",", "."))
            if self.kind == "to_date":
                if isinstance(value, datetime.date):
                    return value
                return datetime.datetime.strptime(str(value), self.date_format).date()
            return value.strftime(self.date_format)
        except (ValueError, ArithmeticError, AttributeError, TypeError):
            return None

    def source_columns(self) -> set[str]:
        return self.argument.source_columns()

    def describe(self, language: str = "fr") -> str:
        return DESCRIPTIONS[language]["convert"].format(
            kind=self.kind,
            date_format=f" ({self.date_format})" if self.date_format else "",
            argument=self.argument.describe(language),
        )


@dataclass
class Lookup(Expr):
    """A value looked up in another table: a source table of the application (a reference
    file such as RAMSESE) or a target table mapped earlier in the same file (`target:NAME`).

    The first row of the looked-up table whose `match` column equals the key gives `value`;
    a key with no match gives null.
    """

    key: Expr
    table: str
    match: str
    value: str

    def evaluate(self, ctx: Context) -> pd.Series:
        if self.table not in ctx.tables:
            raise KeyError(f"lookup table {self.table} is not available")
        other = ctx.tables[self.table]
        index = other.dropna(subset=[self.match]).drop_duplicates(self.match, keep="first")
        # Built from the two columns, so `value` may be `match` itself: a lookup then keeps the
        # keys that the other table has.
        lookup = pd.Series(index[self.value].to_numpy(), index=index[self.match].to_numpy())
        keys = self.key.evaluate(ctx)
        return _clean(keys.map(lookup))

    def source_columns(self) -> set[str]:
        return self.key.source_columns()

    def describe(self, language: str = "fr") -> str:
        return DESCRIPTIONS[language]["lookup"].format(
            value=self.value, table=self.table, match=self.match
        )


def walk(expression: Expr | Condition) -> Iterator[Expr | Condition]:
    """Yield an expression or condition, then every expression and condition inside it."""
    yield expression
    for value in vars(expression).values():
        items = value if isinstance(value, list) else [value]
        for item in items:
            parts = item if isinstance(item, tuple) else (item,)
            for part in parts:
                if isinstance(part, Expr | Condition):
                    yield from walk(part)
