"""Successive deliveries of the same application: the last one replaces the previous one.

The reports folder keeps ``recette_etat.json``, the state of the last delivery accepted for
each application (receipt date, verdict, SHA-256 and record count of each file). A new
delivery of an application is compared with that state, then takes its place. The state of an
application that the new delivery does not contain is kept.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from migration.acceptance.errors import AcceptanceError
from migration.delivery.inventory import ApplicationInventory

STATE_NAME = "recette_etat.json"
STATE_VERSION = 1


def application_state(application: ApplicationInventory, received: str, verdict: str) -> dict:
    """Describe one application of a delivery for later comparison (no data values)."""
    files = {
        name: {
            "livre": inventory.delivered,
            "sha256_livre": inventory.sha256_delivered,
            "sha256_clair": inventory.sha256,
            "enregistrements": inventory.records,
        }
        for name, inventory in application.files.items()
    }
    delivered = {file.relative: file.sha256 for file in application.delivered}
    return {"reception": received, "verdict": verdict, "fichiers": files, "livres": delivered}


def load_state(reports_dir: Path) -> dict:
    """Read the state of the previous deliveries, or an empty one.

    Raises:
        AcceptanceError: The state file exists but is not a state written by this tool.
    """
    path = Path(reports_dir) / STATE_NAME
    if not path.is_file():
        return {"version": STATE_VERSION, "applications": {}}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AcceptanceError(
            f"{path}: cannot read the state of previous deliveries ({error}); move the file "
            "away to start a new history"
        ) from None
    if not isinstance(state, dict) or not isinstance(state.get("applications"), dict):
        raise AcceptanceError(
            f"{path}: not a state of previous deliveries; move the file away to start a new history"
        )
    return state


def save_state(reports_dir: Path, state: dict) -> Path:
    """Write the state atomically (a temporary file renamed), so a crash keeps the old one."""
    path = Path(reports_dir) / STATE_NAME
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(state, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(temporary, path)
    return path


def compare_states(previous: dict, current: dict) -> dict:
    """List what changed between two deliveries of one application.

    Returns:
        ``{"reception_precedente", "verdict_precedent", "ajoutes", "retires", "modifies",
        "inchanges", "livres_modifies"}``; ``modifies`` gives the SHA-256 and record counts
        before and after for each file that changed.
    """
    before = previous.get("fichiers", {})
    after = current.get("fichiers", {})
    changed = []
    unchanged = []
    for name in sorted(set(before) & set(after)):
        old, new = before[name], after[name]
        if old.get("sha256_clair") == new.get("sha256_clair"):
            unchanged.append(name)
            continue
        changed.append(
            {
                "fichier": name,
                "sha256_clair_avant": old.get("sha256_clair"),
                "sha256_clair_apres": new.get("sha256_clair"),
                "sha256_livre_avant": old.get("sha256_livre"),
                "sha256_livre_apres": new.get("sha256_livre"),
                "enregistrements_avant": old.get("enregistrements"),
                "enregistrements_apres": new.get("enregistrements"),
            }
        )
    old_delivered = previous.get("livres", {})
    new_delivered = current.get("livres", {})
    delivered_changes = [
        {"fichier": path, "sha256_avant": old_delivered.get(path), "sha256_apres": digest}
        for path, digest in sorted(new_delivered.items())
        if old_delivered.get(path) != digest
    ]
    return {
        "reception_precedente": previous.get("reception"),
        "verdict_precedent": previous.get("verdict"),
        "ajoutes": sorted(set(after) - set(before)),
        "retires": sorted(set(before) - set(after)),
        "modifies": changed,
        "inchanges": unchanged,
        "livres_modifies": delivered_changes,
        "livres_retires": sorted(set(old_delivered) - set(new_delivered)),
    }
