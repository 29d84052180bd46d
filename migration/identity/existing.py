"""Individuals already in the target database, for a delivery of one application only.

When OPALES is delivered again alone, its children must still merge with the ITAC adults
loaded by an earlier run, so the ITAC individuals are read back from the target, through the
lineage, and offered to identity resolution.
"""

from __future__ import annotations

import datetime

import pandas as pd
import sqlalchemy as sa

IDENTITY_COLUMNS = ["nom_naissance", "prenoms", "date_naissance", "sexe", "commune_naissance"]


def read_existing_individuals(engine: sa.Engine, applications: list[str]) -> pd.DataFrame:
    """Return the target's individuals whose lineage comes from `applications`."""
    inspector = sa.inspect(engine)
    if not applications or not (
        inspector.has_table("individu") and inspector.has_table("reprise_lignage")
    ):
        return pd.DataFrame()
    metadata = sa.MetaData()
    individu = sa.Table("individu", metadata, autoload_with=engine)
    lineage = sa.Table("reprise_lignage", metadata, autoload_with=engine)
    query = (
        sa.select(individu, lineage.c.application, lineage.c.source_key)
        .join(
            lineage,
            sa.and_(
                lineage.c.target_table == "individu",
                lineage.c.target_key == individu.c.id_individu,
            ),
        )
        .where(lineage.c.application.in_(applications))
    )
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame([dict(row) for row in rows], dtype=object)
    frame = frame.rename(columns={"application": "_application", "source_key": "_source_key"})
    # Reflected SQLite tables give dates back as ISO text; identity resolution compares dates.
    frame["date_naissance"] = frame["date_naissance"].map(_as_date)
    columns = ["id_individu", "nir", "nom_usage", *IDENTITY_COLUMNS, "_application", "_source_key"]
    return frame[[c for c in columns if c in frame.columns]].drop_duplicates("id_individu")


def _as_date(value):
    if isinstance(value, str):
        return datetime.date.fromisoformat(value)
    return value
