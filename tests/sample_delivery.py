"""The sample delivery as plaintext files in a test's folder, made by the real generator."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def generate_plaintext(out: Path, persons: int | None = None) -> Path:
    """Write a plaintext delivery with the sample generator, by default the sample's size.

    The manifest is removed so that tests can edit the files.
    """
    command = [sys.executable, str(ROOT / "sample_data" / "generate.py"), "--plaintext-only"]
    if persons is not None:
        command += ["--persons", str(persons)]
    subprocess.run([*command, "--out", str(out)], check=True, capture_output=True)
    (out / "SHA256SUMS").unlink()
    return out


def without_itac(full: Path, out: Path) -> Path:
    """Copy a plaintext delivery without its ITAC files, as a partial delivery of OPALES."""
    shutil.copytree(full, out)
    shutil.rmtree(out / "ITAC")
    config = (out / "livraison.yaml").read_text(encoding="utf-8")
    lines = [line for line in config.splitlines() if not line.strip().startswith("ITAC:")]
    (out / "livraison.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out
