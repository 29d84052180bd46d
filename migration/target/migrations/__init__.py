"""Alembic revisions of the product tables (runs, rejects, lineage, load counts, decisions).

`migration.target.versioning` runs them; no alembic.ini is needed.
"""
