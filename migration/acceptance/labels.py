"""French wording of the inventory findings, for the acceptance report and the claim letter."""

from __future__ import annotations

from migration.delivery.inventory import Finding

# Finding code -> French sentence, formatted with the finding's params plus ``file`` and
# ``application``. Lists are joined with ", ".
FINDING_TEXTS = {
    "manifest.absent": (
        "La livraison ne contient pas de manifeste SHA256SUMS : les fichiers ne peuvent pas être "
        "contrôlés par leur empreinte."
    ),
    "config.absent": (
        "La livraison ne contient pas de fichier livraison.yaml : la date d'extraction et "
        "l'émetteur ne sont pas connus."
    ),
    "manifest.missing_file": (
        "Le fichier {path} est listé dans SHA256SUMS mais absent de la livraison."
    ),
    "manifest.mismatch": (
        "Le fichier {path} ne correspond pas à son empreinte SHA-256 du manifeste (endommagé ou "
        "modifié pendant le transport)."
    ),
    "manifest.unlisted": "Le fichier {path} n'est pas listé dans le manifeste SHA256SUMS.",
    "file.decryption": (
        "Le fichier {path} ne peut pas être déchiffré : mot de passe erroné, ou fichier endommagé."
    ),
    "file.truncated": "Le fichier {path} est tronqué ou endommagé.",
    "file.unsafe_entry": (
        "L'archive {path} contient une entrée dangereuse (chemin absolu, « .. », lien ou fichier "
        "spécial) : elle n'a pas été décompressée."
    ),
    "file.limit": (
        "L'archive {path} dépasse les limites de taille ou de taux de compression (bombe de "
        "décompression possible) : elle n'a pas été décompressée."
    ),
    "file.format": "Le fichier {path} n'est ni chiffré, ni une archive d'un format reconnu.",
    "table.missing": "Le fichier {file} (tables {tables}) est absent de la livraison.",
    "file.unexpected": "Le fichier {file} n'est pas décrit par le dictionnaire de données.",
    "log.missing": "Le journal d'extraction {file} est absent de la livraison.",
    "log.invalid": "Le journal d'extraction {file} est illisible.",
    "log.unfinished": (
        "Le journal d'extraction {file} n'a pas de ligne FIN ou CODE RETOUR : le traitement "
        "d'extraction ne s'est pas terminé."
    ),
    "log.return_code": (
        "Le traitement d'extraction s'est terminé avec le CODE RETOUR {code} (journal {file})."
    ),
    "log.application": "Le journal d'extraction {file} nomme une autre application : {found}.",
    "log.departement": (
        "Le journal d'extraction {file} nomme le département {found}, la livraison le "
        "département {expected}."
    ),
    "log.file_missing": (
        "Le journal d'extraction (ligne {line}) liste le fichier {listed}, absent de la livraison."
    ),
    "log.file_unlisted": "Le fichier {file} n'est pas listé dans le journal d'extraction.",
    "encoding.invalid": (
        "Le fichier {file} ne se décode ni en {expected}, ni en UTF-8, ni en Windows-1252 "
        "(ligne {line}, octet {offset})."
    ),
    "encoding.mismatch": (
        "Le fichier {file} est encodé en {found}, alors que le dictionnaire de données attend "
        "{expected}."
    ),
    "encoding.bom": "Le fichier {file} commence par une marque d'ordre des octets (BOM) UTF-8.",
    "text.nul": "Le fichier {file} contient {count} octets NUL.",
    "text.line_endings": (
        "Le fichier {file} mélange les fins de ligne ({crlf} CRLF, {lf} LF, {cr} CR)."
    ),
    "text.blank_lines": "Le fichier {file} contient {count} lignes vides.",
    "text.mojibake": (
        "{count} lignes du fichier {file} contiennent des caractères mal convertis (UTF-8 lu "
        "comme du Windows-1252, par exemple « Ã© »), la première à la ligne {line}."
    ),
    "csv.delimiter": (
        "Les champs du fichier {file} sont séparés par « {found} », alors que le dictionnaire de "
        "données attend « {expected} »."
    ),
    "csv.header": (
        "L'en-tête du fichier {file} (ligne {line}) ne correspond pas au dictionnaire de données "
        "(colonnes manquantes : {missing} ; colonnes inattendues : {unexpected})."
    ),
    "csv.malformed": (
        "{count} enregistrements du fichier {file} ne peuvent pas être lus (guillemet isolé ou "
        "octet NUL), le premier à la ligne {line}."
    ),
    "csv.field_count": (
        "{count} enregistrements du fichier {file} n'ont pas le nombre de champs du dictionnaire."
    ),
    "csv.truncated": (
        "Le dernier enregistrement du fichier {file} (ligne {line}) n'a pas de fin de ligne, "
        "contrairement aux lignes précédentes : le fichier est peut-être tronqué."
    ),
    "csv.unknown_tag": (
        "{count} enregistrements du fichier {file} portent une étiquette inconnue du dictionnaire."
    ),
    "count.log_mismatch": (
        "Le fichier {file} contient {records} enregistrements, alors que le journal d'extraction "
        "en annonce {expected} (ligne {line})."
    ),
}

# The sentences of FINDING_TEXTS whose count is 1, in the singular.
FINDING_TEXTS_ONE = {
    "text.nul": "Le fichier {file} contient 1 octet NUL.",
    "text.blank_lines": "Le fichier {file} contient 1 ligne vide.",
    "text.mojibake": (
        "1 ligne du fichier {file} contient des caractères mal convertis (UTF-8 lu comme du "
        "Windows-1252, par exemple « Ã© »), à la ligne {line}."
    ),
    "csv.malformed": (
        "1 enregistrement du fichier {file} ne peut pas être lu (guillemet isolé ou octet NUL), "
        "à la ligne {line}."
    ),
    "csv.field_count": (
        "1 enregistrement du fichier {file} n'a pas le nombre de champs du dictionnaire."
    ),
    "csv.unknown_tag": (
        "1 enregistrement du fichier {file} porte une étiquette inconnue du dictionnaire."
    ),
}

SEVERITY_LABELS = {"defect": "défaut", "remark": "remarque"}
ENCODING_LABELS = {
    "ascii": "ASCII",
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 avec BOM",
    "cp1252": "Windows-1252",
    None: "non décodable",
}


def finding_text(finding: Finding) -> str:
    """Return the French sentence of a finding; unknown codes fall back to its English message."""
    template = FINDING_TEXTS.get(finding.code)
    if template is None:
        return finding.message
    if finding.params.get("count") == 1:
        template = FINDING_TEXTS_ONE.get(finding.code, template)
    values: dict[str, object] = {"file": finding.file or "", "application": finding.application}
    for key, value in finding.params.items():
        if isinstance(value, list | tuple):
            value = ", ".join(str(item) for item in value) or "aucune"
        if key in ("found", "expected") and isinstance(value, str):
            value = ENCODING_LABELS.get(value, _delimiter_label(value))
        values[key] = value
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return finding.message


def _delimiter_label(value: str) -> str:
    return {"\t": "tabulation", " ": "espace"}.get(value, value)
