"""The acceptance report (rapport de recette) of a delivery, in French, as HTML and JSON.

The report gives, for each file, whether it is readable, complete, and matches the extraction
log and the SHA256SUMS manifest. It gives the overall verdict (``conforme`` or ``réclamation``),
the claim deadline and what changed since the previous delivery of the same application. It
warns when the date of receipt is before the extraction or after today. When the delivery has
defects, it adds a draft claim letter. The letter lists technical defects only
(files that cannot be read, are incomplete or missing, a failed extraction batch), because the
sender is only bound to a technically readable and complete delivery, not to the quality of the
data.

The report holds counts, file names, column names, line numbers and checksums, never a value
of the data, so it can be shared with the sender.
"""

from __future__ import annotations

import datetime
import json
import logging
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2

from migration import __version__
from migration.acceptance.errors import AcceptanceError
from migration.acceptance.history import (
    application_state,
    compare_states,
    load_state,
    save_state,
)
from migration.acceptance.labels import ENCODING_LABELS, SEVERITY_LABELS, finding_text
from migration.acceptance.working_days import CLAIM_WORKING_DAYS, claim_deadline
from migration.delivery.archives import ArchiveLimits
from migration.delivery.intake import Delivery, inspect_delivery
from migration.delivery.inventory import (
    DEFECT,
    REMARK,
    DeliveryInventory,
    FileInventory,
    Finding,
    inventory_delivery,
)
from migration.delivery.workdir import PrivateWorkdir, make_private_dir

logger = logging.getLogger(__name__)

VERDICT_OK = "conforme"
VERDICT_CLAIM = "réclamation"
# Findings that the inventory gives as remarks but that the acceptance claims from the sender.
# Without SHA256SUMS the files cannot be checked against what was sent, yet a migration can
# still run, so `run`, `decrypt` and the Dagster checks do not stop on it.
CLAIMED_REMARKS = frozenset({"manifest.absent"})
REPORT_NAME = "rapport_recette"
LETTER_NAME = "projet_reclamation.txt"
HISTORY_DIR = "historique"

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("migration.acceptance", "templates"),
    autoescape=jinja2.select_autoescape(["html", "html.j2"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass
class AcceptanceOutcome:
    """Result of ``accept_delivery``: the report content, the files written, the inventory."""

    report: dict
    paths: dict[str, Path]
    inventory: DeliveryInventory

    @property
    def conforming(self) -> bool:
        return self.report["verdict"] == VERDICT_OK


def accept_delivery(
    delivery_dir: Path,
    password: str,
    received: datetime.date,
    reports_dir: Path,
    *,
    departement: str | None = None,
    workdir_parent: Path | None = None,
    keep_plaintext: bool = False,
    limits: ArchiveLimits | None = None,
    dictionaries: Mapping[str, str | Path] | None = None,
    progress: Callable[..., object] | None = None,
    today: datetime.date | None = None,
) -> AcceptanceOutcome:
    """Check a delivery and write its acceptance report into ``reports_dir``.

    The delivery is decrypted into a private work folder, which is removed at the end unless
    ``keep_plaintext``. A previous report in ``reports_dir`` moves to ``historique/``, and the
    state of the applications this delivery contains replaces theirs.

    Args:
        delivery_dir: The delivery folder.
        password: The delivery password.
        received: Date the MDPH received the delivery.
        reports_dir: Folder of the reports (created when missing).
        departement: Département whose public holidays count; default the delivery's.
        workdir_parent: Parent of the private work folder; default the system temp folder.
        keep_plaintext: Keep the decrypted files (their folder is logged).
        limits: Archive size and ratio limits.
        dictionaries: Data dictionary per application, replacing the declared ones.
        progress: ``progress(event, **info)`` callback of ``inspect_delivery``.
        today: Date the report is written, for the days left; default today.

    Raises:
        AcceptanceError: No département is known, or the history cannot be read.
        DeliveryError: The delivery cannot be processed (see ``inspect_delivery``).
    """
    reports_dir = Path(reports_dir)
    with PrivateWorkdir(workdir_parent, keep=keep_plaintext) as workdir:
        delivery = inspect_delivery(
            delivery_dir, password, workdir.path / "livraison", progress=progress, limits=limits
        )
        inventory = inventory_delivery(delivery, dictionaries)
    code = departement or delivery.departement
    if not code:
        raise AcceptanceError(
            f"{delivery_dir}: the département is not given by livraison.yaml nor by an "
            "extraction log; give it with --departement (for example 57)"
        )
    reports_dir.mkdir(parents=True, exist_ok=True)
    state = load_state(reports_dir)
    report = build_report(
        delivery,
        inventory,
        received,
        code,
        previous=state["applications"],
        today=today or datetime.date.today(),
    )
    paths = write_report(report, reports_dir)
    for name, application in inventory.applications.items():
        verdict = report["applications"][name]["verdict"]
        state["applications"][name] = application_state(application, received.isoformat(), verdict)
    paths["etat"] = save_state(reports_dir, state)
    logger.info("acceptance report written: %s (%s)", paths["html"], report["verdict"])
    return AcceptanceOutcome(report, paths, inventory)


def build_report(
    delivery: Delivery,
    inventory: DeliveryInventory,
    received: datetime.date,
    departement: str,
    *,
    previous: Mapping[str, dict] | None = None,
    today: datetime.date | None = None,
    generated_at: datetime.datetime | None = None,
) -> dict:
    """Assemble the JSON-ready acceptance report of an inspected delivery.

    Args:
        delivery: The delivery from ``inspect_delivery``.
        inventory: Its inventory from ``inventory_delivery``.
        received: Date of receipt.
        departement: Département whose public holidays count.
        previous: State of the previous deliveries per application (``recette_etat.json``).
        today: Date the report is written, for the days left.
        generated_at: Timestamp written in the report; default now.
    """
    today = today or datetime.date.today()
    generated_at = generated_at or datetime.datetime.now(datetime.UTC)
    config = delivery.config
    deadline = claim_deadline(received, departement, CLAIM_WORKING_DAYS)
    previous = previous or {}
    applications: dict[str, dict] = {}
    changes: dict[str, dict] = {}
    for name, application in inventory.applications.items():
        findings = application.all_findings
        verdict = VERDICT_CLAIM if any(f.severity == DEFECT for f in findings) else VERDICT_OK
        applications[name] = {
            "nom": name,
            "verdict": verdict,
            "dictionnaire": application.dictionary,
            "version_dictionnaire": application.dictionary_version,
            "journal": application.log,
            "fichiers": [_file_row(file) for file in application.files.values()],
            "livres": [
                {
                    "fichier": file.relative,
                    "format": file.format,
                    "couches": list(file.layers),
                    "taille": file.size,
                    "sha256": file.sha256,
                    "manifeste": file.manifest_status,
                    "fichiers_clairs": file.outputs,
                    "erreur": file.error,
                }
                for file in application.delivered
            ],
            "constats": [_finding_row(finding) for finding in findings],
        }
        if name in previous:
            current = application_state(application, received.isoformat(), verdict)
            changes[name] = compare_states(previous[name], current)

    delivery_findings = [_finding_row(finding) for finding in inventory.findings]
    if config.get("path") is None:
        delivery_findings.append(
            _finding_row(
                Finding(
                    "config.absent",
                    REMARK,
                    "the delivery has no livraison.yaml: its extraction date and sender are "
                    "unknown",
                )
            )
        )
    defects = [row for row in delivery_findings if row["gravite"] == DEFECT] + [
        row for app in applications.values() for row in app["constats"] if row["gravite"] == DEFECT
    ]
    verdict = VERDICT_CLAIM if defects else VERDICT_OK
    # The applications to extract again: those with a defect, or all when none is named. When
    # the manifest is the only defect, the letter requests it instead of a new extraction.
    to_extract = [row for row in defects if row["code"] not in CLAIMED_REMARKS]
    claimed = sorted({row["application"] for row in to_extract if row["application"]})
    days_left = (deadline.deadline - today).days
    warnings = _receipt_warnings(received, config.get("date_extraction"), inventory, today)
    report = {
        "type": "rapport_recette",
        "version": 1,
        "produit": f"mdph-reprise {__version__}",
        "genere_le": generated_at.isoformat(timespec="seconds"),
        "livraison": {
            "chemin": str(delivery.path),
            "departement": departement,
            "emetteur": config.get("emetteur"),
            "date_extraction": config.get("date_extraction"),
            "configuration": config.get("path") is not None,
            "applications": list(applications),
            "manifeste": delivery.manifest_present,
            "chiffrement_openssl": delivery.encryption.describe() if delivery.encryption else None,
        },
        "verdict": verdict,
        "avertissements": warnings,
        "delai": {
            **deadline.to_dict(),
            "jours_calendaires_restants": days_left,
            "depasse": days_left < 0,
        },
        "applications": applications,
        "constats_livraison": delivery_findings,
        "defauts": defects,
        "applications_en_defaut": (claimed or list(applications)) if to_extract else [],
        "changements": changes,
    }
    report["lettre"] = render_letter(report, today) if defects else None
    return report


def _receipt_warnings(
    received: datetime.date,
    date_extraction: str | None,
    inventory: DeliveryInventory,
    today: datetime.date,
) -> list[dict]:
    """Warn when the date of receipt is after today or before the extraction.

    Either is most likely a typing error. The extraction date is the one of livraison.yaml,
    else the earliest start of the extraction logs. The claim deadline counts from the date of
    receipt, so a wrong date gives a wrong deadline.
    """
    warnings = []
    if received > today:
        warnings.append(
            {
                "code": "reception.after_today",
                "texte": (
                    f"La date de réception ({_date_fr(received)}) est postérieure à la date du "
                    f"jour ({_date_fr(today)}) : c'est sans doute une faute de frappe. Vérifiez "
                    "la date donnée à --received, car le délai de réclamation part de la date "
                    "de réception."
                ),
                "detail": (
                    f"the date of receipt --received {received.isoformat()} is after today "
                    f"({today.isoformat()}), most likely a typing error; check it and run accept "
                    "again, because the claim deadline counts from the date of receipt"
                ),
            }
        )
    if date_extraction:
        extraction = datetime.date.fromisoformat(date_extraction)
        source_fr, source_en = "donnée par livraison.yaml", "in livraison.yaml"
    else:
        starts = [
            datetime.datetime.fromisoformat(application.log["started_at"]).date()
            for application in inventory.applications.values()
            if application.log
        ]
        if not starts:
            return warnings
        extraction = min(starts)
        source_fr, source_en = "du journal d'extraction", "in the extraction log"
    if received >= extraction:
        return warnings
    warnings.append(
        {
            "code": "reception.before_extraction",
            "texte": (
                f"La date de réception ({_date_fr(received)}) est antérieure à la date "
                f"d'extraction ({_date_fr(extraction)}) {source_fr} : c'est sans doute une "
                "faute de frappe. Vérifiez la date donnée à --received, car le délai de "
                "réclamation part de la date de réception."
            ),
            "detail": (
                f"the date of receipt --received {received.isoformat()} is before the "
                f"extraction date {extraction.isoformat()} {source_en}, most likely a typing "
                "error; check it and run accept again, because the claim deadline counts from "
                "the date of receipt"
            ),
        }
    )
    return warnings


def _file_row(file: FileInventory) -> dict:
    return {
        "fichier": file.name,
        "role": file.role,
        "tables": file.tables,
        "livre": file.delivered,
        # Format names only: the openssl enc parameters are in the delivery summary.
        "couches": [layer.split(" ", 1)[0] for layer in file.layers],
        "taille": file.size,
        "sha256": file.sha256,
        "sha256_livre": file.sha256_delivered,
        "encodage": file.encoding,
        "encodage_attendu": file.declared_encoding,
        "bom": file.bom,
        "fins_de_ligne": file.line_endings,
        "separateur": file.delimiter,
        "enregistrements": file.records,
        "enregistrements_par_table": file.records_by_table,
        "enregistrements_journal": file.log_records,
        "lignes_mojibake": file.mojibake_lines,
        "lisible": file.readable,
        "complet": file.complete,
        "conforme_journal": file.complete,
        "conforme_manifeste": file.matches_manifest,
        "verdict": VERDICT_OK if file.conforming else VERDICT_CLAIM,
    }


def _finding_row(finding: Finding) -> dict:
    return {
        "code": finding.code,
        "gravite": DEFECT if finding.code in CLAIMED_REMARKS else finding.severity,
        "application": finding.application,
        "fichier": finding.file,
        "texte": finding_text(finding),
        "detail": finding.message,
        "parametres": finding.params,
    }


def render_letter(report: dict, today: datetime.date) -> str:
    """Write the draft claim letter (French plain text) listing the report's defects."""
    return _TEMPLATES.get_template("lettre_reclamation.txt.j2").render(
        report=report, today=today, date_fr=_date_fr
    )


def render_html(report: dict) -> str:
    """Render the report as a self-contained HTML page (no external resource)."""
    return _TEMPLATES.get_template("rapport_recette.html.j2").render(
        report=report,
        date_fr=_date_fr,
        encoding_label=lambda code: ENCODING_LABELS.get(code, code or "—"),
        severity_label=lambda code: SEVERITY_LABELS.get(code, code),
        size_label=_size_label,
    )


def write_report(report: dict, reports_dir: Path) -> dict[str, Path]:
    """Write the JSON, HTML and letter files; move the previous ones to ``historique/``.

    Returns:
        ``{"json": path, "html": path}`` plus ``"lettre"`` when there is a letter.
    """
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    texts = {
        "json": json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n",
        "html": render_html(report),
    }
    paths = {
        "json": reports_dir / f"{REPORT_NAME}.json",
        "html": reports_dir / f"{REPORT_NAME}.html",
    }
    if report.get("lettre"):
        texts["lettre"] = report["lettre"]
        paths["lettre"] = reports_dir / LETTER_NAME
    _archive_previous(reports_dir)
    _write_all_or_none(paths, texts)
    return paths


def _write_all_or_none(paths: dict[str, Path], texts: dict[str, str]) -> None:
    """Write each text to its path, or none of them.

    Each text goes to a temporary file first, and the temporary files replace the report's
    files only once all are written, so a full disk leaves no half-written report."""
    temporaries = {key: path.with_name(f".{path.name}.tmp") for key, path in paths.items()}
    try:
        for key, temporary in temporaries.items():
            with open(temporary, "w", encoding="utf-8") as stream:
                stream.write(texts[key])
    except OSError as error:
        for temporary in temporaries.values():
            if temporary.is_file():
                temporary.unlink()
        raise AcceptanceError(
            f"cannot write the acceptance report in {paths['json'].parent}: {error.strerror}; "
            "check the free space and the permissions of the report folder, then run again"
        ) from None
    for key, temporary in temporaries.items():
        temporary.replace(paths[key])


def _archive_previous(reports_dir: Path) -> None:
    previous_json = reports_dir / f"{REPORT_NAME}.json"
    if not previous_json.is_file():
        return
    try:
        stamp = json.loads(previous_json.read_text(encoding="utf-8"))["genere_le"]
    except (OSError, ValueError, KeyError, TypeError):
        stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    suffix = stamp.replace(":", "").replace("+0000", "Z")
    history = make_private_dir(reports_dir / HISTORY_DIR)
    for name in (f"{REPORT_NAME}.json", f"{REPORT_NAME}.html", LETTER_NAME):
        source = reports_dir / name
        if source.is_file():
            stem, _, extension = name.partition(".")
            shutil.move(source, history / f"{stem}-{suffix}.{extension}")


_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def _date_fr(value: str | datetime.date | None, weekday: bool = False) -> str:
    """Format a date the French way: ``mercredi 5 novembre 2008``."""
    if value is None:
        return "—"
    day = datetime.date.fromisoformat(value) if isinstance(value, str) else value
    text = f"{'1er' if day.day == 1 else day.day} {_MONTHS[day.month - 1]} {day.year}"
    return f"{_WEEKDAYS[day.weekday()]} {text}" if weekday else text


def _size_label(size: int | None) -> str:
    if size is None:
        return "—"
    for unit, factor in (("Gio", 1 << 30), ("Mio", 1 << 20), ("kio", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}".replace(".", ",")
    return f"{size} o"
