"""The target step: the target schema, database engines, and loading the mapped rows."""

from migration.target.compare import compare_database
from migration.target.engine import create_target_engine, describe_url
from migration.target.errors import TargetError
from migration.target.frames import invalid_values
from migration.target.load import LoadResult, load_run
from migration.target.model import ForeignKey, TargetColumn, TargetSchema, TargetTable
from migration.target.schema import build_metadata, load_target_schema
from migration.target.versioning import upgrade_product_tables

__all__ = [
    "ForeignKey",
    "LoadResult",
    "TargetColumn",
    "TargetError",
    "TargetSchema",
    "TargetTable",
    "build_metadata",
    "compare_database",
    "create_target_engine",
    "describe_url",
    "invalid_values",
    "load_run",
    "load_target_schema",
    "upgrade_product_tables",
]
