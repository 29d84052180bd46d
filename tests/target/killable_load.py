"""A large synthetic load, run in a subprocess by the test that kills it in the middle of a COPY.

Usage: python -m tests.target.killable_load URL PERSONS RUN_ID

The rows depend only on PERSONS: one individu, one dossier and two lineage rows per person.
"""

from __future__ import annotations

import datetime as dt
import sys

import pandas as pd

from migration.target.engine import create_target_engine
from migration.target.load import LoadResult, load_run
from migration.target.schema import load_target_schema

SCHEMA = load_target_schema()
STARTED_AT = dt.datetime(2008, 10, 20, 9, 30, tzinfo=dt.UTC)


def synthetic_rows(persons: int) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Return frames for individu and dossier, and their lineage."""
    numbers = range(persons)
    individu = pd.DataFrame(
        {
            "id_individu": [f"I{n:08d}" for n in numbers],
            "nir": [None] * persons,
            "nom_naissance": [f'Nom {n}, dit "N{n % 97}"' for n in numbers],
            "nom_usage": [None if n % 3 else f"Usage {n}" for n in numbers],
            "prenoms": [f"Prénom {n % 1000}" for n in numbers],
            "date_naissance": [dt.date(1940 + n % 60, 1 + n % 12, 1 + n % 28) for n in numbers],
            "sexe": ["1" if n % 2 else "2" for n in numbers],
            "commune_naissance": ["57463"] * persons,
            "nationalite": ["1"] * persons,
        },
        dtype=object,
    )
    dossier = pd.DataFrame(
        {
            "id_dossier": [f"D{n:08d}" for n in numbers],
            "id_individu": [f"I{n:08d}" for n in numbers],
            "application": ["ITAC"] * persons,
            "numero_origine": [f"57{n:08d}" for n in numbers],
            "date_ouverture": [dt.date(1990 + n % 18, 1 + n % 12, 1) for n in numbers],
            "statut": ["ouvert"] * persons,
        },
        dtype=object,
    )
    lineage = pd.DataFrame(
        {
            "target_table": ["individu"] * persons + ["dossier"] * persons,
            "target_key": [*individu["id_individu"], *dossier["id_dossier"]],
            "application": ["ITAC"] * (2 * persons),
            "source_table": ["DOSSIER"] * (2 * persons),
            "source_file": ["DOSSIER.csv"] * (2 * persons),
            "source_line": [n + 2 for n in numbers] * 2,
            "source_key": [*dossier["numero_origine"]] * 2,
        },
        dtype=object,
    )
    return {"individu": individu, "dossier": dossier}, lineage


def load_synthetic(url: str, persons: int, run_id: str) -> LoadResult:
    """Load the synthetic rows of `persons` people as run `run_id`."""
    frames, lineage = synthetic_rows(persons)
    engine = create_target_engine(url)
    try:
        return load_run(
            engine,
            SCHEMA,
            frames,
            pd.DataFrame(),
            lineage,
            {"run_id": run_id, "started_at": STARTED_AT, "status": "success"},
        )
    finally:
        engine.dispose()


if __name__ == "__main__":
    load_synthetic(sys.argv[1], int(sys.argv[2]), sys.argv[3])
