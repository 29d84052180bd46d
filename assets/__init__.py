"""Dagster code location of mdph-reprise (`dagster dev` reads it through workspace.yaml)."""

from assets.definitions import build_definitions

defs = build_definitions()
