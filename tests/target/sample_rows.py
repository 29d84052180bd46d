"""Small fictional rows for every table of the reference schema, and helpers to read them back.

The values carry what breaks naive loaders: accents and œ, quotes, semicolons, commas, CRLF
inside text, leading zeros, Corsican and foreign birthplaces, leap days, decimals with trailing
zeros, and NULLs in every nullable type.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa

from migration.target.schema import build_metadata

RUN_ID = "run-0001"
STARTED_AT = dt.datetime(2008, 10, 20, 9, 30, 15, tzinfo=dt.UTC)

# Personal values that must never appear in an error message.
PERSONAL_VALUES = [
    "Lefèvre-Cœur",
    "Zoé Amélie",
    "1640229350012",
    '12 rue "des Lilas"; bât. B',
    "0387654321",
    "Retard psychomoteur,\r\nsuivi CAMSP",
]


def target_rows() -> dict[str, list[dict]]:
    """Return rows per target table of the reference schema, as the mapping would produce."""
    return {
        "individu": [
            {
                "id_individu": "I0001",
                "nir": "164022935001234",
                "nom_naissance": "Lefèvre-Cœur",
                "nom_usage": None,
                "prenoms": "Zoé Amélie",
                "date_naissance": dt.date(1964, 2, 29),
                "sexe": "2",
                "commune_naissance": "2A004",
                "nationalite": "1",
            },
            {
                "id_individu": "I0002",
                "nir": None,
                "nom_naissance": "N'Diaye",
                "nom_usage": "Martin",
                "prenoms": "Moussa",
                "date_naissance": dt.date(1988, 12, 31),
                "sexe": "1",
                "commune_naissance": "99350",
                "nationalite": "3",
            },
            {
                "id_individu": "I0003",
                "nir": None,
                "nom_naissance": "Muller",
                "nom_usage": None,
                "prenoms": None,
                "date_naissance": None,
                "sexe": "0",
                "commune_naissance": None,
                "nationalite": None,
            },
        ],
        "adresse": [
            {
                "id_adresse": "A0001",
                "id_individu": "I0001",
                "numero": "012",
                "voie": '12 rue "des Lilas"; bât. B',
                "code_postal": "57000",
                "commune_insee": "57463",
                "departement": "057",
                "telephone": "0387654321",
            },
            {
                "id_adresse": "A0002",
                "id_individu": "I0002",
                "numero": None,
                "voie": "lieu-dit Le Haut, chemin\r\ndes Vignes",
                "code_postal": "57100",
                "commune_insee": "57672",
                "departement": "057",
                "telephone": None,
            },
        ],
        "representant_legal": [
            {
                "id_representant": "R0001",
                "id_individu": "I0002",
                "qualite": "mère",
                "nom": "Diallo",
                "prenoms": "Awa",
                "voie": None,
                "code_postal": None,
                "commune_insee": None,
                "telephone": "0600000000",
            },
        ],
        "etablissement": [
            {
                "finess": "570000018",
                "raison_sociale": "IME Les Écureuils",
                "categorie": "183",
                "libelle_categorie": "Institut médico-éducatif",
                "commune_insee": "57463",
                "departement": "057",
            },
            {
                "finess": "570000026",
                "raison_sociale": 'ESAT "L\'Atelier"',
                "categorie": "246",
                "libelle_categorie": None,
                "commune_insee": None,
                "departement": None,
            },
        ],
        "etablissement_scolaire": [
            {
                "uai": "0570001A",
                "nom": "École élémentaire Jean-Moulin",
                "type_etablissement": "Ecole",
                "secteur": "Public",
                "commune_insee": "57463",
                "departement": "057",
            },
        ],
        "dossier": [
            {
                "id_dossier": "D0001",
                "id_individu": "I0001",
                "application": "ITAC",
                "numero_origine": "5700001234",
                "date_ouverture": dt.date(1990, 1, 15),
                "statut": "ouvert",
            },
            {
                "id_dossier": "D0002",
                "id_individu": "I0002",
                "application": "OPALES",
                "numero_origine": "E570000001",
                "date_ouverture": None,
                "statut": "ouvert",
            },
        ],
        "demande": [
            {
                "id_demande": "DM0001",
                "id_dossier": "D0001",
                "numero_origine": "570000123401",
                "date_depot": dt.date(2007, 6, 1),
                "natdem": "2",
                "typdem2": "1",
                "code_origine": "11",
            },
            {
                "id_demande": "DM0002",
                "id_dossier": "D0002",
                "numero_origine": "E57000000101",
                "date_depot": dt.date(2008, 2, 29),
                "natdem": None,
                "typdem2": "2",
                "code_origine": "AES",
            },
            {
                "id_demande": "DM0003",
                "id_dossier": "D0002",
                "numero_origine": "E57000000102",
                "date_depot": dt.date(2008, 3, 3),
                "natdem": "1",
                "typdem2": "9",
                "code_origine": "ORI",
            },
        ],
        "decision": [
            {
                "id_decision": "DC0001",
                "id_demande": "DM0001",
                "date_decision": dt.date(2007, 9, 12),
                "typdec": "1",
                "date_debut_validite": dt.date(2007, 10, 1),
                "date_fin_validite": dt.date(2012, 9, 30),
                "taux_incapacite": ">=80",
                "motivation": "Retard psychomoteur,\r\nsuivi CAMSP",
            },
            {
                "id_decision": "DC0002",
                "id_demande": "DM0002",
                "date_decision": dt.date(2008, 5, 5),
                "typdec": "1",
                "date_debut_validite": None,
                "date_fin_validite": None,
                "taux_incapacite": None,
                "motivation": 'avis "favorable" ; complément 2',
            },
            {
                "id_decision": "DC0003",
                "id_demande": "DM0003",
                "date_decision": dt.date(2008, 5, 5),
                "typdec": "3",
                "date_debut_validite": None,
                "date_fin_validite": None,
                "taux_incapacite": "50-79",
                "motivation": None,
            },
        ],
        "droit": [
            {
                "id_droit": "DR0001",
                "id_decision": "DC0001",
                "typdem2": "1",
                "complement": None,
                "montant_mensuel": Decimal("628.10"),
                "date_debut": dt.date(2007, 10, 1),
                "date_fin": dt.date(2012, 9, 30),
            },
            {
                "id_droit": "DR0002",
                "id_decision": "DC0002",
                "typdem2": "2",
                "complement": "2",
                "montant_mensuel": Decimal("99999999.99"),
                "date_debut": None,
                "date_fin": None,
            },
            {
                "id_droit": "DR0003",
                "id_decision": "DC0002",
                "typdem2": "2",
                "complement": "0",
                "montant_mensuel": Decimal("-0.5"),
                "date_debut": None,
                "date_fin": None,
            },
            {
                "id_droit": "DR0004",
                "id_decision": "DC0002",
                "typdem2": "2",
                "complement": None,
                "montant_mensuel": None,
                "date_debut": None,
                "date_fin": None,
            },
        ],
        "orientation": [
            {
                "id_orientation": "O0001",
                "id_decision": "DC0003",
                "typdem2": "9",
                "type_orientation": "IME",
                "finess": "570000018",
                "regime": "semi-internat",
                "date_debut": dt.date(2008, 9, 1),
                "date_fin": dt.date(2011, 8, 31),
            },
            {
                "id_orientation": "O0002",
                "id_decision": "DC0003",
                "typdem2": "9",
                "type_orientation": "CLIS",
                "finess": None,
                "regime": None,
                "date_debut": None,
                "date_fin": None,
            },
        ],
        "suivi_orientation": [
            {
                "id_suivi": "S0001",
                "id_dossier": "D0001",
                "finess": "570000026",
                "date_proposition": dt.date(2008, 1, 7),
                "etat": "en attente",
            },
        ],
        "scolarisation": [
            {
                "id_scolarisation": "SC0001",
                "id_individu": "I0002",
                "uai": "0570001A",
                "niveau": "élémentaire",
                "dispositif": "CLIS",
                "date_debut": dt.date(1995, 9, 4),
                "date_fin": None,
            },
        ],
    }


def target_frames() -> dict[str, pd.DataFrame]:
    """Return `target_rows` as frames of Python objects."""
    return {name: pd.DataFrame(rows, dtype=object) for name, rows in target_rows().items()}


def rejects_frame(run_id: str = RUN_ID) -> pd.DataFrame:
    """Return two reject rows of `run_id`."""
    return pd.DataFrame(
        [
            {
                "run_id": run_id,
                "application": "ITAC",
                "source_table": "DEMANDE",
                "source_file": "ITAC/DEMANDE.csv",
                "source_line": 17,
                "target_table": "demande",
                "rule_id": "fk.dangling",
                "severity": "error",
                "column_name": "NUM_DOSSIER",
                "reason": "NUM_DOSSIER not found in DOSSIER",
                "raw_values": '{"NUM_DEMANDE": "570000999901"}',
            },
            {
                "run_id": run_id,
                "application": "OPALES",
                "source_table": "AES",
                "source_file": "OPALES/AES.csv",
                "source_line": 4,
                "target_table": None,
                "rule_id": "code.unknown",
                "severity": "error",
                "column_name": None,
                "reason": "COMPLEMENT '7' is not in COMPLEMENT",
                "raw_values": None,
            },
        ],
        dtype=object,
    )


def filters_frame(run_id: str = RUN_ID, applications=None) -> pd.DataFrame:
    """Return three filtered rows of `run_id`: one ITAC line filtered by two mappings, and a
    line of a table that the OPALES mapping drops (no target table)."""
    rows = [
        ("ITAC", "CONCLUSION", "ITAC/CONCLUSION.csv", 5, "C0005", "droit", "refus : pas de droit"),
        (
            "ITAC",
            "CONCLUSION",
            "ITAC/CONCLUSION.csv",
            5,
            "C0005",
            "orientation",
            "refus : pas d'orientation",
        ),
        (
            "OPALES",
            "FINESS_GEOLOCALISATION",
            "OPALES/FINESS_GEOLOCALISATION.csv",
            2,
            "2",
            None,
            "les coordonnées ne sont pas dans le schéma cible",
        ),
    ]
    return pd.DataFrame(
        [
            {
                "run_id": run_id,
                "application": application,
                "source_table": table,
                "source_file": file,
                "source_line": line,
                "source_key": source_key,
                "target_table": target_table,
                "reason": reason,
            }
            for application, table, file, line, source_key, target_table, reason in rows
            if applications is None or application in applications
        ],
        columns=[
            "run_id",
            "application",
            "source_table",
            "source_file",
            "source_line",
            "source_key",
            "target_table",
            "reason",
        ],
        dtype=object,
    )


def lineage_frame(run_id: str = RUN_ID) -> pd.DataFrame:
    """Return one lineage row per individu row, plus a second source for I0002."""
    rows = [
        ("I0001", "ITAC", "DOSSIER", "ITAC/DOSSIER.csv", 2, "5700001234"),
        ("I0002", "OPALES", "ENFANT", "OPALES/ENFANT.csv", 2, "E570000001"),
        ("I0002", "ITAC", "DOSSIER", "ITAC/DOSSIER.csv", 3, "5700001235"),
        ("I0003", "ITAC", "ARCHIVE", "ITAC/ARCHIVE.csv", 2, "5700000001"),
    ]
    return pd.DataFrame(
        [
            {
                "target_table": "individu",
                "target_key": key,
                "application": application,
                "source_table": table,
                "source_file": file,
                "source_line": line,
                "source_key": source_key,
                "run_id": run_id,
            }
            for key, application, table, file, line, source_key in rows
        ],
        dtype=object,
    )


def run_record(run_id: str = RUN_ID, **changes) -> dict:
    """Return a reprise_run row."""
    record = {
        "run_id": run_id,
        "started_at": STARTED_AT,
        "finished_at": None,
        "status": "loading",
        "product_version": "0.1.0",
        "delivery_path": "sample_data/delivery",
        "departement": "057",
        "target_url": "sqlite:///output/mdph.sqlite",
        "summary_json": {"tables": 12},
    }
    record.update(changes)
    return record


def read_tables(engine: sa.Engine, schema, skip_columns=()) -> dict[str, list[tuple]]:
    """Read every table of `schema` and the product tables, rows sorted, as Python values."""
    metadata = build_metadata(schema)
    content = {}
    with engine.connect() as connection:
        for name, table in metadata.tables.items():
            columns = [column for column in table.columns if column.name not in skip_columns]
            rows = connection.execute(sa.select(*columns)).all()
            content[name] = sorted((tuple(row) for row in rows), key=_sort_key)
    return content


def _sort_key(row: tuple) -> tuple:
    return tuple((value is None, str(value)) for value in row)
