"""Helpers of the delivery tests: fixture files and small deliveries built from them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_PASSWORD = "fixture-57-secret"
WRONG_PASSWORD = "not-the-password"

DOSSIER_PLAINTEXT = (FIXTURES / "DOSSIER.csv").read_bytes()
LOG_PLAINTEXT = (FIXTURES / "EXTRACTION_ITAC.log").read_bytes()

CONFIG_PBKDF2 = """\
departement: "057"
emetteur: "Ministère, extraction de test"
date_extraction: "2008-10-14"
chiffrement:
  format: openssl-enc
  cipher: aes-256-cbc
  kdf: pbkdf2
  digest: sha256
  iterations: 10000
applications:
  ITAC: {dossier: ITAC, dictionnaire: itac, journal: EXTRACTION_ITAC.log}
"""

requires_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="the openssl command line is not installed"
)


def write_manifest(delivery: Path) -> None:
    """Write SHA256SUMS for every delivered file (all but livraison.yaml), with sha256sum."""
    files = sorted(
        path.relative_to(delivery).as_posix()
        for path in delivery.rglob("*")
        if path.is_file() and path.name not in ("livraison.yaml", "SHA256SUMS")
    )
    if not files:
        return
    result = subprocess.run(
        ["sha256sum", *files], cwd=delivery, check=True, capture_output=True, text=True
    )
    (delivery / "SHA256SUMS").write_text(result.stdout, encoding="utf-8")


def build_delivery(
    root: Path,
    files: dict[str, str],
    *,
    config: str | None = CONFIG_PBKDF2,
    manifest: bool = True,
) -> Path:
    """Build a delivery folder from fixture files.

    Args:
        root: Folder to create the delivery in.
        files: ``{relative path in the delivery: fixture file name}``.
        config: Text of livraison.yaml, or ``None`` for no livraison.yaml.
        manifest: Whether to write SHA256SUMS.
    """
    delivery = root / "delivery"
    delivery.mkdir(parents=True, exist_ok=True)
    for relative, fixture in files.items():
        target = delivery / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / fixture, target)
    if config is not None:
        (delivery / "livraison.yaml").write_text(config, encoding="utf-8")
    if manifest:
        write_manifest(delivery)
    return delivery


def files_under(folder: Path) -> list[str]:
    """Return the relative paths of every file under ``folder`` (empty if it is missing)."""
    if not folder.exists():
        return []
    return sorted(
        path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()
    )


def need_tool(name: str) -> str:
    """Return the path of a command-line tool; skip without it, but fail when CI=true.

    CI installs every tool the tests use, so a missing one there is a broken setup, not a
    reason to skip.
    """
    found = shutil.which(name)
    if found is None:
        message = f"the {name} command line is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}, and CI=true requires it")
        pytest.skip(message)
    return found


def tool_env(**extra: str) -> dict[str, str]:
    """Return the environment for a fixture tool, with extra variables."""
    return {**os.environ, **extra}


def killed_run_folder(parent: Path, keep: bool = False) -> Path:
    """Make a work folder in a separate process, then kill that process with SIGKILL."""
    script = (
        "import sys, time\n"
        "from migration.delivery.workdir import PrivateWorkdir\n"
        f"workdir = PrivateWorkdir({str(parent)!r}, keep={keep})\n"
        "(workdir.path / 'DOSSIER.csv').write_text('data')\n"
        "print(workdir.path, flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    path = Path(process.stdout.readline().strip())
    process.kill()
    process.wait(timeout=10)
    process.stdout.close()
    return path
