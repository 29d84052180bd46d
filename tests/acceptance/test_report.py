"""Acceptance reports of the bundled delivery and of damaged copies of it."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from migration.acceptance.checks import INTAKE_CHECKS, intake_checks, inventory_markdown
from migration.acceptance.report import VERDICT_CLAIM, VERDICT_OK, accept_delivery
from migration.delivery.intake import open_delivery
from migration.delivery.workdir import PrivateWorkdir

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "delivery"
PASSWORD = "reprise-57-demo"
RECEIVED = datetime.date(2008, 10, 15)
TODAY = datetime.date(2008, 10, 20)


def copy_sample(tmp_path: Path) -> Path:
    delivery = tmp_path / "livraison"
    shutil.copytree(SAMPLE, delivery)
    return delivery


def rewrite_manifest(delivery: Path) -> None:
    files = sorted(p.relative_to(delivery).as_posix() for p in delivery.glob("*/*") if p.is_file())
    listing = subprocess.run(
        ["sha256sum", *files], cwd=delivery, capture_output=True, text=True, check=True
    )
    (delivery / "SHA256SUMS").write_text(listing.stdout, encoding="utf-8")


def accept(delivery: Path, reports: Path, tmp_path: Path, **options):
    work = tmp_path / "work"
    work.mkdir(exist_ok=True, mode=0o700)
    return accept_delivery(
        delivery, PASSWORD, RECEIVED, reports, workdir_parent=work, today=TODAY, **options
    )


def test_sample_delivery_conforms(tmp_path: Path) -> None:
    outcome = accept(SAMPLE, tmp_path / "rapports", tmp_path)

    report = outcome.report
    assert outcome.conforming
    assert report["verdict"] == VERDICT_OK
    assert report["defauts"] == []
    assert report["lettre"] is None
    assert report["delai"]["date_limite"] == "2008-11-05"
    assert report["delai"]["zone"] == "Alsace-Moselle"
    assert report["delai"]["jours_calendaires_restants"] == 16
    assert sorted(report["applications"]) == ["ITAC", "OPALES"]
    for application in report["applications"].values():
        for row in application["fichiers"]:
            assert row["lisible"], row["fichier"]
            assert row["conforme_manifeste"], row["fichier"]
            if row["role"] == "table":
                assert row["complet"], row["fichier"]
    assert sorted(outcome.paths) == ["etat", "html", "json"]
    assert json.loads(outcome.paths["json"].read_text(encoding="utf-8")) == json.loads(
        json.dumps(report, default=str)
    )


def test_no_plaintext_left(tmp_path: Path) -> None:
    accept(SAMPLE, tmp_path / "rapports", tmp_path)

    assert list((tmp_path / "work").iterdir()) == []


def test_keep_plaintext_on_request(tmp_path: Path) -> None:
    accept(SAMPLE, tmp_path / "rapports", tmp_path, keep_plaintext=True)

    kept = list((tmp_path / "work").iterdir())
    assert len(kept) == 1
    assert (kept[0] / "livraison" / "ITAC" / "DOSSIER.csv").is_file()
    assert oct(kept[0].stat().st_mode & 0o777) == "0o700"


def test_html_offline_and_french(tmp_path: Path) -> None:
    outcome = accept(SAMPLE, tmp_path / "rapports", tmp_path)

    html = outcome.paths["html"].read_text(encoding="utf-8")
    assert '<html lang="fr">' in html
    assert "Rapport de recette" in html
    assert "mercredi 5 novembre 2008" in html
    assert "CONFORME" in html
    assert "http://" not in html
    assert "https://" not in html
    assert "<script" not in html


def test_report_has_no_personal_value(tmp_path: Path) -> None:
    outcome = accept(SAMPLE, tmp_path / "rapports", tmp_path)
    with PrivateWorkdir(tmp_path) as workdir:
        opened = open_delivery(SAMPLE, PASSWORD, workdir.path, applications=["ITAC"])
        dossier = opened.applications["ITAC"].files["DOSSIER.csv"].plaintext_path
        lines = dossier.read_text(encoding="cp1252").splitlines()[1:40]
    names = {line.split(";")[1] for line in lines if line.count(";") > 5}

    texts = [outcome.paths["json"].read_text(encoding="utf-8"), outcome.paths["html"].read_text()]
    assert len(names) > 10
    for text in texts:
        for name in names:
            assert f";{name};" not in text
            assert f'"{name}"' not in text
            assert f">{name}<" not in text


def test_receipt_before_extraction_warned(tmp_path: Path) -> None:
    received = datetime.date(2008, 10, 13)
    work = tmp_path / "work"
    work.mkdir(mode=0o700)

    outcome = accept_delivery(
        SAMPLE, PASSWORD, received, tmp_path / "rapports", workdir_parent=work, today=TODAY
    )

    report = outcome.report
    assert [warning["code"] for warning in report["avertissements"]] == [
        "reception.before_extraction"
    ]
    warning = report["avertissements"][0]["texte"]
    assert "date d'extraction (14 octobre 2008) donnée par livraison.yaml" in warning
    assert report["verdict"] == VERDICT_OK
    assert report["lettre"] is None


def test_receipt_after_today_warned(tmp_path: Path) -> None:
    received = datetime.date(2099, 1, 1)
    work = tmp_path / "work"
    work.mkdir(mode=0o700)

    outcome = accept_delivery(
        SAMPLE, PASSWORD, received, tmp_path / "rapports", workdir_parent=work, today=TODAY
    )

    report = outcome.report
    assert [warning["code"] for warning in report["avertissements"]] == ["reception.after_today"]
    warning = report["avertissements"][0]
    assert "postérieure à la date du jour (20 octobre 2008)" in warning["texte"]
    assert "--received 2099-01-01 is after today (2008-10-20)" in warning["detail"]
    assert report["verdict"] == VERDICT_OK


def test_receipt_today_not_warned(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir(mode=0o700)

    outcome = accept_delivery(
        SAMPLE, PASSWORD, TODAY, tmp_path / "rapports", workdir_parent=work, today=TODAY
    )

    assert outcome.report["avertissements"] == []


def test_receipt_before_log_start_warned(tmp_path: Path) -> None:
    delivery = copy_sample(tmp_path)
    config = delivery / "livraison.yaml"
    text = config.read_text(encoding="utf-8")
    assert 'date_extraction: "2008-10-14"\n' in text
    config.write_text(text.replace('date_extraction: "2008-10-14"\n', ""), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir(mode=0o700)

    report = accept_delivery(
        delivery,
        PASSWORD,
        datetime.date(2008, 10, 13),
        tmp_path / "rapports",
        workdir_parent=work,
        today=TODAY,
    ).report

    assert len(report["avertissements"]) == 1
    warning = report["avertissements"][0]["texte"]
    assert "date d'extraction (14 octobre 2008) du journal d'extraction" in warning


def test_receipt_on_extraction_day_not_warned(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir(mode=0o700)

    report = accept_delivery(
        SAMPLE,
        PASSWORD,
        datetime.date(2008, 10, 14),
        tmp_path / "rapports",
        workdir_parent=work,
        today=TODAY,
    ).report

    assert report["avertissements"] == []


def test_missing_table_gives_claim(tmp_path: Path) -> None:
    delivery = copy_sample(tmp_path)
    (delivery / "ITAC" / "ARCHIVE.csv.enc").unlink()
    rewrite_manifest(delivery)

    outcome = accept(delivery, tmp_path / "rapports", tmp_path)

    report = outcome.report
    assert report["verdict"] == VERDICT_CLAIM
    assert report["applications"]["ITAC"]["verdict"] == VERDICT_CLAIM
    assert report["applications"]["OPALES"]["verdict"] == VERDICT_OK
    assert [d["code"] for d in report["defauts"]] == ["table.missing"]
    assert "Le fichier ARCHIVE.csv (tables ARCHIVE) est absent" in report["lettre"]
    assert "mercredi 5 novembre 2008" in report["lettre"]
    letter = outcome.paths["lettre"].read_text(encoding="utf-8")
    assert letter == report["lettre"]
    assert "circulaire n° 2008-298 du 25 septembre 2008" in letter


def test_letter_lists_defects_only(tmp_path: Path) -> None:
    delivery = copy_sample(tmp_path)
    (delivery / "ITAC" / "ARCHIVE.csv.enc").unlink()
    (delivery / "livraison.yaml").unlink()
    rewrite_manifest(delivery)

    report = accept(delivery, tmp_path / "rapports", tmp_path).report

    remarks = [
        row["texte"]
        for app in report["applications"].values()
        for row in app["constats"]
        if row["gravite"] == "remark"
    ] + [row["texte"] for row in report["constats_livraison"] if row["gravite"] == "remark"]
    assert any("livraison.yaml" in remark for remark in remarks)
    for remark in remarks:
        assert remark not in report["lettre"]


def test_missing_manifest_gives_claim(tmp_path: Path) -> None:
    delivery = copy_sample(tmp_path)
    (delivery / "SHA256SUMS").unlink()

    outcome = accept(delivery, tmp_path / "rapports", tmp_path)

    report = outcome.report
    assert not outcome.conforming
    assert report["verdict"] == VERDICT_CLAIM
    assert [d["code"] for d in report["defauts"]] == ["manifest.absent"]
    assert report["applications_en_defaut"] == []
    letter = report["lettre"]
    assert "1. La livraison ne contient pas de manifeste SHA256SUMS" in letter
    assert "nous adresser le manifeste SHA256SUMS" in letter
    assert "nouvelle extraction" not in letter
    html = outcome.paths["html"].read_text(encoding="utf-8")
    assert '<dt>Manifeste SHA256SUMS</dt><dd><span class="non">absent</span></dd>' in html


def test_missing_configuration_shows_unknown_date(tmp_path: Path) -> None:
    delivery = copy_sample(tmp_path)
    (delivery / "livraison.yaml").unlink()

    outcome = accept(delivery, tmp_path / "rapports", tmp_path)

    report = outcome.report
    html = outcome.paths["html"].read_text(encoding="utf-8")
    assert report["livraison"]["date_extraction"] is None
    assert report["livraison"]["configuration"] is False
    assert [row["code"] for row in report["constats_livraison"]] == ["config.absent"]
    assert report["constats_livraison"][0]["gravite"] == "remark"
    assert report["verdict"] == VERDICT_OK
    assert "inconnue</span> (la livraison n'a pas de livraison.yaml)" in html
    assert "None" not in html


def test_configuration_without_date_shows_unknown(tmp_path: Path) -> None:
    delivery = copy_sample(tmp_path)
    config = delivery / "livraison.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('date_extraction: "2008-10-14"\n', ""), encoding="utf-8")

    outcome = accept(delivery, tmp_path / "rapports", tmp_path)

    html = outcome.paths["html"].read_text(encoding="utf-8")
    assert "inconnue</span> (livraison.yaml ne donne pas date_extraction)" in html
    assert "None" not in html


def test_flipped_byte_caught_by_manifest(tmp_path: Path) -> None:
    delivery = copy_sample(tmp_path)
    target = delivery / "OPALES" / "ENFANT.csv.enc"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))

    outcome = accept(delivery, tmp_path / "rapports", tmp_path)

    codes = sorted(d["code"] for d in outcome.report["defauts"])
    assert codes == ["manifest.mismatch"]
    assert "OPALES/ENFANT.csv.enc ne correspond pas" in outcome.report["lettre"]
    assert list((tmp_path / "work").iterdir()) == []


def test_flipped_byte_without_manifest(tmp_path: Path) -> None:
    # CBC has no integrity check: a flipped byte in the last block breaks the padding.
    delivery = copy_sample(tmp_path)
    (delivery / "SHA256SUMS").unlink()
    target = delivery / "ITAC" / "SUIVI.csv.enc"
    data = bytearray(target.read_bytes())
    data[-3] ^= 0x01
    target.write_bytes(bytes(data))

    report = accept(delivery, tmp_path / "rapports", tmp_path).report

    codes = sorted(d["code"] for d in report["defauts"])
    assert codes == ["file.decryption", "manifest.absent"]
    assert "mot de passe erroné, ou fichier endommagé" in report["lettre"]
    assert "accompagnée du manifeste SHA256SUMS" in report["lettre"]


def test_redelivery_replaces_previous(tmp_path: Path) -> None:
    reports = tmp_path / "rapports"
    first = copy_sample(tmp_path / "premiere")
    (first / "ITAC" / "ARCHIVE.csv.enc").unlink()
    rewrite_manifest(first)
    accept(first, reports, tmp_path)

    second = accept(SAMPLE, reports, tmp_path).report

    change = second["changements"]["ITAC"]
    assert change["reception_precedente"] == "2008-10-15"
    assert change["verdict_precedent"] == VERDICT_CLAIM
    assert change["ajoutes"] == ["ARCHIVE.csv"]
    assert change["retires"] == []
    assert change["modifies"] == []
    assert "DOSSIER.csv" in change["inchanges"]
    assert second["changements"]["OPALES"]["ajoutes"] == []
    history = sorted(path.name.split("-", 1)[0] for path in (reports / "historique").iterdir())
    assert history == ["projet_reclamation", "rapport_recette", "rapport_recette"]
    state = json.loads((reports / "recette_etat.json").read_text(encoding="utf-8"))
    assert state["applications"]["ITAC"]["verdict"] == VERDICT_OK
    assert "ARCHIVE.csv" in state["applications"]["ITAC"]["fichiers"]


def test_changed_counts_reported(tmp_path: Path) -> None:
    reports = tmp_path / "rapports"
    accept(SAMPLE, reports, tmp_path)
    state_path = reports / "recette_etat.json"
    state = json.loads(state_path.read_text(encoding="utf-8"))
    state["applications"]["ITAC"]["fichiers"]["DOSSIER.csv"]["sha256_clair"] = "0" * 64
    state["applications"]["ITAC"]["fichiers"]["DOSSIER.csv"]["enregistrements"] = 1
    state_path.write_text(json.dumps(state), encoding="utf-8")

    report = accept(SAMPLE, reports, tmp_path).report

    changed = report["changements"]["ITAC"]["modifies"]
    assert [item["fichier"] for item in changed] == ["DOSSIER.csv"]
    assert changed[0]["enregistrements_avant"] == 1
    assert changed[0]["enregistrements_apres"] > 1
    assert "DOSSIER.csv" in outcome_html(reports)


def outcome_html(reports: Path) -> str:
    return (reports / "rapport_recette.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("passed", [True, False])
def test_intake_checks(tmp_path: Path, passed: bool) -> None:
    delivery = SAMPLE if passed else copy_sample(tmp_path)
    if not passed:
        (delivery / "ITAC" / "ARCHIVE.csv.enc").unlink()
        rewrite_manifest(delivery)

    inventory = accept(delivery, tmp_path / "rapports", tmp_path).inventory
    checks = {check.name: check for check in intake_checks(inventory)}

    assert list(checks) == list(INTAKE_CHECKS)
    assert checks["tables_present"].passed is passed
    assert checks["files_decrypted"].passed
    assert checks["counts_match_log"].passed
    assert "| ITAC | DOSSIER.csv |" in inventory_markdown(inventory)


@pytest.mark.parametrize(
    ("count", "start"), [(1, "1 enregistrement du"), (2, "2 enregistrements du")]
)
def test_finding_text_agrees_with_count(count, start):
    from migration.acceptance.labels import FINDING_TEXTS, FINDING_TEXTS_ONE, finding_text
    from migration.delivery.inventory import Finding

    finding = Finding(
        "csv.malformed",
        "remark",
        "records cannot be parsed",
        "ITAC",
        "DOSSIER.csv",
        {"count": count, "line": 50},
    )

    assert finding_text(finding).startswith(start)
    assert set(FINDING_TEXTS_ONE) <= set(FINDING_TEXTS)
