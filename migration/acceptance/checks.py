"""Intake checks of a delivery, for blocking asset checks (Dagster) and other orchestrators.

Each check groups the findings of one kind, so a failing delivery shows which kind of problem
stops it. The checks are defects only: a remark never fails a check. This module does not
import Dagster; ``assets/`` turns each ``IntakeCheck`` into an ``AssetCheckResult``.
"""

from __future__ import annotations

from dataclasses import dataclass

from migration.acceptance.labels import finding_text
from migration.delivery.inventory import DEFECT, DeliveryInventory, Finding

# Check name -> (French description, finding code prefixes it covers).
INTAKE_CHECKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "files_decrypted": (
        "chaque fichier livré est déchiffré et décompressé sans erreur",
        ("file.",),
    ),
    "manifest_matches": (
        "chaque fichier livré correspond au manifeste SHA256SUMS",
        ("manifest.",),
    ),
    "tables_present": (
        "chaque table du dictionnaire de données est livrée",
        ("table.",),
    ),
    "files_readable": (
        "chaque fichier se décode en entier dans l'encodage attendu, avec l'en-tête et le "
        "séparateur du dictionnaire",
        ("encoding.", "csv.", "text."),
    ),
    "log_clean": (
        "le journal d'extraction est présent, terminé avec le code retour 0",
        ("log.",),
    ),
    "counts_match_log": (
        "le nombre d'enregistrements de chaque fichier est celui du journal d'extraction",
        ("count.",),
    ),
}


@dataclass(frozen=True)
class IntakeCheck:
    """The result of one intake check: its name, whether it passed, and JSON-ready metadata.

    ``defects`` are the French texts of the defects it found, ``messages`` their English
    messages, for logs. Neither contains a value of the data.
    """

    name: str
    passed: bool
    description: str
    defects: tuple[str, ...]
    messages: tuple[str, ...] = ()

    @property
    def metadata(self) -> dict:
        return {"défauts": len(self.defects), "détail": "\n".join(self.defects) or "aucun"}


def intake_checks(inventory: DeliveryInventory) -> list[IntakeCheck]:
    """Return one ``IntakeCheck`` per entry of ``INTAKE_CHECKS``, in that order."""
    defects = [finding for finding in inventory.all_findings if finding.severity == DEFECT]
    results = []
    for name, (description, prefixes) in INTAKE_CHECKS.items():
        matching = [finding for finding in defects if finding.code.startswith(prefixes)]
        results.append(
            IntakeCheck(
                name=name,
                passed=not matching,
                description=description,
                defects=tuple(_line(finding) for finding in matching),
                messages=tuple(finding.message for finding in matching),
            )
        )
    return results


def _line(finding: Finding) -> str:
    prefix = f"[{finding.application}] " if finding.application else ""
    return prefix + finding_text(finding)


def inventory_markdown(inventory: DeliveryInventory) -> str:
    """Describe the inventory as a Markdown table (one row per plaintext file), in French."""
    lines = [
        "| application | fichier | encodage | enregistrements | journal | lisible | verdict |",
        "| --- | --- | --- | ---: | ---: | --- | --- |",
    ]
    for name, application in inventory.applications.items():
        for file in application.files.values():
            records = "" if file.records is None else str(file.records)
            expected = "" if file.log_records is None else str(file.log_records)
            verdict = "conforme" if file.conforming else "défaut"
            readable = "oui" if file.readable else "non"
            lines.append(
                f"| {name} | {file.name} | {file.encoding or '—'} | {records} | {expected} | "
                f"{readable} | {verdict} |"
            )
    return "\n".join(lines)
