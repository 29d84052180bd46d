"""The target schema model: tables, columns and foreign keys, independent of any database."""

from __future__ import annotations

from dataclasses import dataclass, field

from migration.target.errors import TargetError

COLUMN_TYPES = ("text", "integer", "decimal", "date", "boolean", "timestamp")
"""Column types of a target schema. `timestamp` (a timezone-aware datetime) is used by the
product tables; the reference schema uses the other five."""


@dataclass
class TargetColumn:
    """A column of a target table."""

    name: str
    type: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    nullable: bool = True
    personal: bool = False
    identifier: str | None = None  # an identifier kind of the dictionaries, such as "nir"
    code_list: str | None = None
    description: str | None = None
    binary: bool = False  # compared as bytes (COLLATE "C" on PostgreSQL); product tables only


@dataclass
class ForeignKey:
    """A foreign key from `columns` of one table to `ref_columns` of `ref_table`."""

    columns: list[str]
    ref_table: str
    ref_columns: list[str]


@dataclass
class TargetTable:
    """A target table with its keys. `indexes` lists extra indexes as lists of column names."""

    name: str
    description: str | None
    columns: list[TargetColumn]
    primary_key: list[str]
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    indexes: list[list[str]] = field(default_factory=list)

    @property
    def column_names(self) -> list[str]:
        """Names of the columns, in declaration order."""
        return [column.name for column in self.columns]

    def column(self, name: str) -> TargetColumn:
        """Return the column called `name`; raise KeyError if there is none."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


@dataclass
class TargetSchema:
    """A target schema: its code lists (code -> label) and its tables, by name."""

    name: str
    version: str
    code_lists: dict[str, dict[str, str]]
    tables: dict[str, TargetTable]

    def table_order(self) -> list[str]:
        """Order the tables so that every table comes after the tables it references.

        The order is deterministic: each round takes, in declaration order, every table whose
        parents are already placed. A self-reference is ignored.

        Raises:
            TargetError: the foreign keys form a cycle.
        """
        return order_tables(self.tables.values())


def order_tables(tables) -> list[str]:
    """Order `tables` (TargetTable objects) parents first; see `TargetSchema.table_order`."""
    tables = list(tables)
    names = [table.name for table in tables]
    parents = {
        table.name: {
            fk.ref_table
            for fk in table.foreign_keys
            if fk.ref_table != table.name and fk.ref_table in names
        }
        for table in tables
    }

    ordered: list[str] = []
    placed: set[str] = set()
    while len(ordered) < len(names):
        ready = [name for name in names if name not in placed and parents[name] <= placed]
        if not ready:
            cycle = sorted(name for name in names if name not in placed)
            raise TargetError(
                "the foreign keys of tables " + ", ".join(cycle) + " form a cycle; "
                "remove one of these foreign keys so the tables can be loaded in order"
            )
        ordered.extend(ready)
        placed.update(ready)
    return ordered
