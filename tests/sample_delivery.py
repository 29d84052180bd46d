"""The sample delivery as plaintext files in a test's folder, made by the real generator."""

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
