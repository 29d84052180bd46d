"""The catalogue of validation rules: one place for every rule id, severity and description.

Reports list these rules, and the descriptions are in French because analysts read them.
"""

from __future__ import annotations

from dataclasses import dataclass

from migration.reading.findings import ERROR, WARNING


@dataclass(frozen=True)
class Rule:
    """A validation rule: its id, default severity and description for the report."""

    rule_id: str
    severity: str
    description: str


RULES: dict[str, Rule] = {
    rule.rule_id: rule
    for rule in [
        Rule("structure.header", ERROR, "En-tête du fichier différent du dictionnaire de données"),
        Rule(
            "csv.field_count", ERROR, "Nombre de champs de l'enregistrement différent de l'en-tête"
        ),
        Rule("csv.quote", ERROR, "Guillemet isolé ou non fermé dans l'enregistrement"),
        Rule("csv.nul", ERROR, "Caractère NUL dans l'enregistrement"),
        Rule(
            "csv.truncated",
            ERROR,
            "Dernier enregistrement sans fin de ligne : fichier peut-être tronqué, réclamer une "
            "nouvelle livraison",
        ),
        Rule("column.required", ERROR, "Valeur absente dans une colonne obligatoire"),
        Rule("column.length", ERROR, "Valeur plus longue que la longueur déclarée"),
        Rule("type.date", ERROR, "Date invalide ou hors du format déclaré"),
        Rule("type.date_placeholder", WARNING, "Date de remplissage (00/00/0000) lue comme vide"),
        Rule("type.integer", ERROR, "Nombre entier invalide"),
        Rule("type.decimal", ERROR, "Nombre décimal invalide (virgule décimale attendue)"),
        Rule("code.unknown", ERROR, "Code absent de la liste de codes de la colonne"),
        Rule("key.duplicate", ERROR, "Clé primaire déjà présente plus haut dans le fichier"),
        Rule("key.unique", ERROR, "Valeur déjà présente plus haut pour une clé déclarée unique"),
        Rule("fk.dangling", ERROR, "Référence vers une ligne absente de la table référencée"),
        Rule(
            "plausibility.date_order",
            WARNING,
            "Période dont la date de fin précède la date de début",
        ),
        Rule(
            "plausibility.after_birth",
            WARNING,
            "Date antérieure à la date de naissance de la personne",
        ),
        Rule("plausibility.age", WARNING, "Âge incompatible avec l'application (enfant ou adulte)"),
        Rule("id.nir", WARNING, "NIR dont la clé ou le format est invalide"),
        Rule(
            "id.finess",
            WARNING,
            "Numéro FINESS dont le format ou le chiffre de contrôle est invalide",
        ),
        Rule("id.uai", WARNING, "Code UAI dont le format ou la lettre clé est invalide"),
        Rule("id.insee_commune", WARNING, "Code commune INSEE invalide"),
        Rule("id.postal_code", WARNING, "Code postal invalide"),
        Rule("id.departement", WARNING, "Code département invalide"),
        Rule(
            "spreadsheet.scientific",
            WARNING,
            "Valeur abîmée par un tableur (notation scientifique), non réparable",
        ),
        Rule("mapping.unknown_code", ERROR, "Code sans traduction dans la correspondance"),
        Rule("mapping.conversion", ERROR, "Valeur impossible à convertir dans la correspondance"),
        Rule("mapping.required", ERROR, "Colonne cible obligatoire restée vide"),
        Rule(
            "mapping.target_value",
            ERROR,
            "Valeur refusée par la base cible (type, longueur ou code)",
        ),
        Rule("mapping.parent_missing", ERROR, "Ligne parente absente ou rejetée dans la cible"),
        Rule(
            "mapping.merge_conflict",
            WARNING,
            "Lignes regroupées sous une même clé cible avec des valeurs différentes : la "
            "première valeur non vide est gardée",
        ),
    ]
}


FAMILIES = {
    "structure": "structure",
    "csv": "structure",
    "column": "types",
    "type": "types",
    "spreadsheet": "types",
    "code": "codes",
    "key": "keys",
    "fk": "foreign_keys",
    "id": "identifiers",
    "plausibility": "plausibility",
    "mapping": "mapping",
}
TABLE_FAMILIES = ("types", "codes", "keys", "identifiers")


def rule_family(rule_id: str) -> str:
    """Return the family of a rule (its id prefix grouped), e.g. `types` for `type.date`."""
    return FAMILIES[rule_id.split(".", 1)[0]]


def rule_catalogue(policy: dict | None = None) -> list[dict]:
    """Return the rules as plain dicts, in catalogue order, for reports.

    `policy` is the delivery's rule policy. Each rule then carries its severity in this run,
    its default severity, and whether the policy disabled it.
    """
    policy = policy or {}
    disabled = set(policy.get("desactivees") or [])
    severities = policy.get("severites") or {}
    return [
        {
            "rule_id": rule.rule_id,
            "severity": severities.get(rule.rule_id, rule.severity),
            "default_severity": rule.severity,
            "disabled": rule.rule_id in disabled,
            "family": rule_family(rule.rule_id),
            "description": rule.description,
        }
        for rule in RULES.values()
    ]


def relaxed_rules(policy: dict | None) -> list[str]:
    """Return the error rules that a policy disables or turns into warnings, sorted.

    Rows that such a rule would reject are loaded instead, so a run names them.
    """
    policy = policy or {}
    disabled = set(policy.get("desactivees") or [])
    severities = policy.get("severites") or {}
    return sorted(
        rule_id
        for rule_id, rule in RULES.items()
        if rule.severity == ERROR
        and (rule_id in disabled or severities.get(rule_id, ERROR) != ERROR)
    )
