"""Dagster code location of mdph-reprise (`dagster dev` reads it through workspace.yaml)."""

import os

from assets.definitions import build_definitions

# Files the assets write (database, reports, asset values) carry personal data or figures
# about it, so they are private to the user running the code location, as with the CLI.
os.umask(0o077)

defs = build_definitions()
