"""The target step: the target schema, database engines, and loading the mapped rows."""

from migration.target.engine import create_target_engine, describe_url
from migration.target.errors import TargetError
from migration.target.load import LoadResult, load_run
from migration.target.model import ForeignKey, TargetColumn, TargetSchema, TargetTable
from migration.target.schema import build_metadata, load_target_schema

__all__ = [
    "ForeignKey",
    "LoadResult",
    "TargetColumn",
    "TargetError",
    "TargetSchema",
    "TargetTable",
    "build_metadata",
    "create_target_engine",
    "describe_url",
    "load_run",
    "load_target_schema",
]
