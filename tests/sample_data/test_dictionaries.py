"""The bundled data dictionaries: content, YAML form, and agreement with the sample files."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
import yaml

from migration.dictionary.model import Dictionary, bundled_dictionary_path

# The columns the product and the sample rely on, written out apart from the YAML: name, type,
# length (or precision,scale), then flags N not null, P personal, id=<identifier kind> and
# code=<code list>.
EXPECTED_COLUMNS = {
    "ITAC.DOSSIER": """
        NUM_DOSSIER text 10 N | NOM_NAISSANCE text 40 N P | NOM_MARITAL text 40 P
        PRENOMS text 40 N P | DATE_NAISSANCE date - N P | LIEU_NAISSANCE text 5 P id=insee_commune
        SEXE code - N code=SEXE_ITAC | NATIONALITE code - code=NATIONALITE_ITAC
        SITUATION_FAMILLE code - code=SITFAM | NIR text 15 P id=nir | NUM_CAF text 7 P
        NUM_ASSEDIC text 8 P | ADR_NUMERO text 5 P | ADR_VOIE text 60 P
        ADR_CODE_POSTAL text 5 P id=postal_code | ADR_COMMUNE text 5 P id=insee_commune
        ADR_DEPARTEMENT text 3 id=departement | TELEPHONE text 10 P
        CLASSE_RESSOURCES code - code=CLASSE_RESSOURCES
        CODE_FORMATION code - code=NIVEAU_FORMATION
        ORIGINE_HANDICAP code - P code=ORIGINE_HANDICAP | DATE_OUVERTURE date -""",
    "ITAC.DEMANDE": """
        NUM_DEMANDE text 12 N | NUM_DOSSIER text 10 N
        CODE_TYPE_DEMANDE code - N code=TYPE_DEMANDE_ITAC | NUM_AGENT text 4
        DATE_DEMANDE date - N | CODE_RENOUVELLEMENT code - code=RENOUVELLEMENT""",
    "ITAC.CONCLUSION": """
        NUM_CONCLUSION text 12 N | NUM_DEMANDE text 12 N | TYPE_SEANCE code - code=TYPE_SEANCE
        NUM_SEANCE text 6 | DATE_SEANCE date - N | CODE_DECISION code - N code=DECISION_ITAC
        MOTIVATION text 500 P | DATE_EFFET date - | DUREE_MOIS integer -
        DATE_FIN_VALIDITE date - | RECOURS code - code=OUI_NON | MONTANT_PRIME decimal 8,2
        TAUX_INCAPACITE code - code=TAUX | NUM_ETAB text 6""",
    "ITAC.SUIVI": """
        NUM_SUIVI text 12 N | NUM_DOSSIER text 10 N | NUM_ETAB text 6 N
        DATE_PROPOSITION date - N | ETAT_PLACEMENT code - code=ETAT_PLACEMENT""",
    "ITAC.ETABLISSEMENT": """
        NUM_ETAB text 6 N | FINESS text 9 id=finess | RAISON_SOCIALE text 60 N
        CATEGORIE code - code=CATEGORIE_FINESS | COMMUNE text 5 id=insee_commune""",
    "ITAC.HISTORIQUE": """
        NUM_HISTORIQUE text 12 N | NUM_DOSSIER text 10 N | NUM_DEMANDE text 12 N
        CODE_TYPE_DEMANDE code - N code=TYPE_DEMANDE_ITAC | DATE_DEMANDE date - N
        CODE_DECISION code - N code=DECISION_ITAC | DATE_DECISION date - N
        DATE_FIN_VALIDITE date -""",
    "ITAC.ARCHIVE": """
        NUM_DOSSIER text 10 N | NOM_NAISSANCE text 40 N P | PRENOMS text 40 N P
        DATE_NAISSANCE date - N P""",
    "OPALES.ENFANT": """
        NUM_ENFANT text 10 N | NOM text 40 N P | PRENOMS text 40 N P | DATE_NAISSANCE date - N P
        SEXE code - N code=SEXE_OPALES | LIEU_NAISSANCE text 5 P id=insee_commune
        RANG_FRATRIE integer - | NIR_ENFANT text 15 P id=nir | NIR_ASSURE text 15 P id=nir
        NUM_ALLOCATAIRE text 7 P | ADR_VOIE text 60 P | ADR_CODE_POSTAL text 5 P id=postal_code
        ADR_COMMUNE text 5 P id=insee_commune | ADR_DEPARTEMENT text 3 id=departement
        DIAGNOSTIC_CIM10 text 6 P | DATE_ENTREE date - N""",
    "OPALES.REPRESENTANT": """
        NUM_REPRESENTANT text 10 N | NUM_ENFANT text 10 N | QUALITE code - N code=QUALITE
        NOM text 40 N P | PRENOMS text 40 P | ADR_VOIE text 60 P
        ADR_CODE_POSTAL text 5 P id=postal_code | ADR_COMMUNE text 5 P id=insee_commune
        TELEPHONE text 10 P""",
    "OPALES.DEMANDE": """
        NUM_DEMANDE text 12 N | NUM_ENFANT text 10 N
        CODE_TYPE_DEMANDE code - N code=TYPE_DEMANDE_OPALES | DATE_DEMANDE date - N
        NATURE code - code=NATURE_DEMANDE""",
    "OPALES.DECISION": """
        NUM_DECISION text 12 N | NUM_DEMANDE text 12 N | DATE_DECISION date - N
        CODE_DECISION code - N code=DECISION_OPALES | DATE_DEBUT date - | DATE_FIN date -
        MOTIF text 300 P""",
    "OPALES.ORIENTATION": """
        NUM_ORIENTATION text 12 N | NUM_DECISION text 12 N
        CODE_ORIENTATION code - N code=ORIENTATION_OPALES | FINESS text 9 id=finess
        REGIME code - code=REGIME | DATE_DEBUT date - | DATE_FIN date -""",
    "OPALES.SCOLARISATION": """
        NUM_SCOLARITE text 12 N | NUM_ENFANT text 10 N | UAI text 8 id=uai
        NIVEAU code - code=NIVEAU_SCOLAIRE | DISPOSITIF code - code=DISPOSITIF
        DATE_DEBUT date - N | DATE_FIN date -""",
    "OPALES.AES": """
        NUM_AES text 12 N | NUM_DECISION text 12 N | CATEGORIE code - N code=PRESTATION_ENFANT
        COMPLEMENT code - code=COMPLEMENT | MONTANT_MENSUEL decimal 8,2
        MODE_VERSEMENT code - code=MODE_VERSEMENT | DATE_DEBUT date - N | DATE_FIN date -""",
    "OPALES.RAMSESE": """
        Identifiant_de_l_etablissement text 8 N id=uai | Nom_etablissement text 100 N
        Type_etablissement text 40 | Statut_public_prive text 10 | Adresse_1 text 100
        Code_postal text 5 id=postal_code | Code_commune text 5 id=insee_commune
        Nom_commune text 60 | Code_departement text 3 id=departement | Code_academie text 2
        ULIS text 1 | SEGPA text 1 | latitude text 20 | longitude text 20
        Date_ouverture date - | etat text 10""",
}
FINESS_STRUCTURE_COLUMNS = (
    "tag nofinesset nofinessej rs rslongue complrs compldistrib numvoie typvoie voie compvoie "
    "lieuditbp commune departement libdepartement ligneacheminement telephone telecopie "
    "categetab libcategetab categagretab libcategagretab siret codeape codemft libmft codesph "
    "libsph dateouv dateautor maj numuai"
).split()

EXPECTED_CODES = {
    "ITAC": {
        "SEXE_ITAC": "1 2",
        "NATIONALITE_ITAC": "1 2 3",
        "SITFAM": "1 2 3 4 5",
        "CLASSE_RESSOURCES": "1 2 3 4",
        "NIVEAU_FORMATION": "1 2 3 4 5 6",
        "ORIGINE_HANDICAP": "01 02 03 04 09",
        "TYPE_DEMANDE_ITAC": "01 02 03 04 05 06 11 12 13 14 15 16 17",
        "RENOUVELLEMENT": "0 1",
        "TYPE_SEANCE": "P S R",
        "DECISION_ITAC": "A R S",
        "OUI_NON": "O N",
        "TAUX": "1 2 3",
        "ETAT_PLACEMENT": "1 2 3",
        "CATEGORIE_FINESS": "246 255 437 382 252 446 445 249",
    },
    "OPALES": {
        "SEXE_OPALES": "M F",
        "QUALITE": "P M T A",
        "TYPE_DEMANDE_OPALES": "AES ORI SCO CIN CST TRA",
        "NATURE_DEMANDE": "1 2",
        "DECISION_OPALES": "ACC REJ SUR",
        "ORIENTATION_OPALES": "IME ITEP SESSAD IEM CAMSP CMPP CLIS UPI AVS",
        "REGIME": "INT EXT SEM",
        "NIVEAU_SCOLAIRE": "MAT ELE COL LYC ESP",
        "DISPOSITIF": "ORD CLIS UPI AVS SEGPA",
        "PRESTATION_ENFANT": "AES AEEH",
        "COMPLEMENT": "0 1 2 3 4 5 6",
        "MODE_VERSEMENT": "M T",
        "CATEGORIE_FINESS": "183 186 182 192 190 189 246 255 437 382 252 446 445 249 355 500",
    },
}

EXPECTED_KEYS = {
    "ITAC.DOSSIER": ("NUM_DOSSIER", []),
    "ITAC.DEMANDE": ("NUM_DEMANDE", ["NUM_DOSSIER>DOSSIER.NUM_DOSSIER"]),
    "ITAC.CONCLUSION": (
        "NUM_CONCLUSION",
        ["NUM_DEMANDE>DEMANDE.NUM_DEMANDE", "NUM_ETAB>ETABLISSEMENT.NUM_ETAB"],
    ),
    "ITAC.SUIVI": (
        "NUM_SUIVI",
        ["NUM_DOSSIER>DOSSIER.NUM_DOSSIER", "NUM_ETAB>ETABLISSEMENT.NUM_ETAB"],
    ),
    "ITAC.ETABLISSEMENT": ("NUM_ETAB", []),
    "ITAC.HISTORIQUE": ("NUM_HISTORIQUE", ["NUM_DOSSIER>DOSSIER.NUM_DOSSIER"]),
    "ITAC.ARCHIVE": ("NUM_DOSSIER", []),
    "OPALES.ENFANT": ("NUM_ENFANT", []),
    "OPALES.REPRESENTANT": ("NUM_REPRESENTANT", ["NUM_ENFANT>ENFANT.NUM_ENFANT"]),
    "OPALES.DEMANDE": ("NUM_DEMANDE", ["NUM_ENFANT>ENFANT.NUM_ENFANT"]),
    "OPALES.DECISION": ("NUM_DECISION", ["NUM_DEMANDE>DEMANDE.NUM_DEMANDE"]),
    "OPALES.ORIENTATION": (
        "NUM_ORIENTATION",
        ["NUM_DECISION>DECISION.NUM_DECISION", "FINESS>FINESS_STRUCTURE.nofinesset"],
    ),
    "OPALES.SCOLARISATION": (
        "NUM_SCOLARITE",
        ["NUM_ENFANT>ENFANT.NUM_ENFANT", "UAI>RAMSESE.Identifiant_de_l_etablissement"],
    ),
    "OPALES.AES": ("NUM_AES", ["NUM_DECISION>DECISION.NUM_DECISION"]),
    "OPALES.FINESS_STRUCTURE": ("nofinesset", []),
    "OPALES.FINESS_GEOLOCALISATION": (
        "nofinesset",
        ["nofinesset>FINESS_STRUCTURE.nofinesset"],
    ),
    "OPALES.RAMSESE": ("Identifiant_de_l_etablissement", []),
}


def parse_columns(text: str) -> list[dict]:
    columns = []
    for item in re.split(r"\s*[|\n]\s*", text.strip()):
        name, column_type, size, *flags = item.split()
        precision = scale = length = None
        if "," in size:
            precision, scale = (int(part) for part in size.split(","))
        elif size != "-":
            length = int(size)
        attributes = dict(flag.split("=") for flag in flags if "=" in flag)
        columns.append(
            {
                "name": name,
                "type": column_type,
                "length": length,
                "precision": precision,
                "scale": scale,
                "nullable": "N" not in flags,
                "personal": "P" in flags,
                "identifier": attributes.get("id"),
                "code_list": attributes.get("code"),
            }
        )
    return columns


@pytest.mark.parametrize("name", sorted(EXPECTED_COLUMNS))
def test_table_columns_are_complete(name: str, dictionaries: dict[str, Dictionary]) -> None:
    application, table_name = name.split(".")
    table = dictionaries[application].tables[table_name]
    found = [
        {
            "name": column.name,
            "type": column.type,
            "length": column.length,
            "precision": column.precision,
            "scale": column.scale,
            "nullable": column.nullable,
            "personal": column.personal,
            "identifier": column.identifier,
            "code_list": column.code_list,
        }
        for column in table.columns
    ]

    assert found == parse_columns(EXPECTED_COLUMNS[name])
    assert table.file == f"{table_name}.csv"
    assert table.header


def test_finess_tables_follow_etalab_layout(dictionaries: dict[str, Dictionary]) -> None:
    structure = dictionaries["OPALES"].tables["FINESS_STRUCTURE"]
    geolocation = dictionaries["OPALES"].tables["FINESS_GEOLOCALISATION"]
    dates = [column.name for column in structure.columns if column.type == "date"]

    assert structure.column_names == FINESS_STRUCTURE_COLUMNS
    assert geolocation.column_names == [
        "tag", "nofinesset", "coordxet", "coordyet", "sourcecoordet", "datemaj",
    ]  # fmt: skip
    for table, tag in ((structure, "structureet"), (geolocation, "geolocalisation")):
        assert (table.file, table.header, table.skip_lines, table.record_tag) == (
            "FINESS.csv",
            False,
            1,
            tag,
        )
    assert dates == ["dateouv", "dateautor", "maj"]
    assert all(structure.column(name).date_formats == ("%Y-%m-%d",) for name in dates)
    assert structure.column("categetab").code_list == "CATEGORIE_FINESS"
    assert structure.column("nofinesset").identifier == "finess"
    assert geolocation.column("coordxet").type == "text"
    assert geolocation.column("datemaj").date_formats == ("%Y-%m-%d",)
    assert {c.type for c in structure.columns} == {"text", "code", "date"}


@pytest.mark.parametrize("name", sorted(EXPECTED_KEYS))
def test_table_keys_are_complete(name: str, dictionaries: dict[str, Dictionary]) -> None:
    application, table_name = name.split(".")
    table = dictionaries[application].tables[table_name]
    primary_key, foreign_keys = EXPECTED_KEYS[name]
    found = [
        f"{','.join(key.columns)}>{key.ref_table}.{','.join(key.ref_columns)}"
        for key in table.foreign_keys
    ]

    assert table.primary_key == (primary_key,)
    assert found == foreign_keys


@pytest.mark.parametrize("application", ["ITAC", "OPALES"])
def test_code_lists_are_complete(application: str, dictionaries: dict[str, Dictionary]) -> None:
    code_lists = dictionaries[application].code_lists

    assert sorted(code_lists) == sorted(EXPECTED_CODES[application])
    for name, codes in EXPECTED_CODES[application].items():
        assert list(code_lists[name]) == codes.split(), name
        assert all(label.strip() for label in code_lists[name].values()), name


@pytest.mark.parametrize("name", ["itac", "opales"])
def test_codes_are_quoted_in_yaml(name: str) -> None:
    text = bundled_dictionary_path(name).read_text(encoding="utf-8")
    block = text.split("\ncode_lists:\n", 1)[1].split("\ntables:\n", 1)[0]
    code_lines = [line for line in block.splitlines() if line.startswith("    ")]

    assert code_lines
    for line in code_lines:
        assert re.match(r'^    "[^"]+": \S', line), line


@pytest.mark.parametrize("name", ["itac", "opales"])
def test_dictionary_names_its_sources(name: str) -> None:
    text = bundled_dictionary_path(name).read_text(encoding="utf-8")
    header = text.split("\napplication:", 1)[0]
    document = yaml.safe_load(text)
    sources = " ".join(document["sources"])

    assert "Reconstruction" in header
    for reference in ("NOR TEFO9104212A", "NOR SPSA9500029A", "FINESS", "annuaire de l'éducation"):
        assert reference in header, reference
    assert document["version"] == "2008.1"
    assert document["defaults"]["date_placeholders"] == ["00/00/0000"]
    if name == "itac":
        assert "NOR TEFO9104212A" in sources
    else:
        assert "NOR SPSA9500029A" in sources
        assert "FINESS" in sources
        assert "annuaire de l'éducation" in sources.lower()


def test_descriptions_are_written(dictionaries: dict[str, Dictionary]) -> None:
    for dictionary in dictionaries.values():
        for table in dictionary.tables.values():
            assert table.description, table.name
            for column in table.columns:
                assert column.description, f"{table.name}.{column.name}"


def test_file_headers_match_dictionary(
    default_plaintext: Path, dictionaries: dict[str, Dictionary]
) -> None:
    for application, dictionary in dictionaries.items():
        for table in dictionary.tables.values():
            text = (default_plaintext / application / table.file).read_bytes().decode("cp1252")
            records = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
            if table.header:
                assert records[0] == table.column_names, table.name
                assert {len(record) for record in records} == {len(table.columns)}, table.name
            else:
                tagged = [r for r in records[table.skip_lines :] if r[0] == table.record_tag]
                assert tagged, table.name
                assert {len(record) for record in tagged} == {len(table.columns)}, table.name
