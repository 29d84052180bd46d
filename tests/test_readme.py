"""The commands of the README run as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.delivery.helpers import requires_openssl

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PASSWORD = "rehearsal-password"


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end]


def first_code_block(text: str) -> str:
    return re.search(r"\n```\n(.*?)\n```\n", text, re.DOTALL).group(1)


@requires_openssl
def test_rehearsal_commands_build_delivery(tmp_path):
    script = first_code_block(section("Rehearse with a modified delivery"))
    script = script.replace("/tmp/rehearsal", str(tmp_path))
    env = {key: value for key, value in os.environ.items() if not key.startswith("MDPH_")}

    built = subprocess.run(
        ["bash", "-e", "-c", script],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )

    assert built.returncode == 0, built.stderr
    # The README's next step: the plaintext livraison.yaml with the sample's encryption.
    delivery = tmp_path / "delivery"
    config = (tmp_path / "plain" / "livraison.yaml").read_text(encoding="utf-8")
    sample = (ROOT / "sample_data" / "delivery" / "livraison.yaml").read_text(encoding="utf-8")
    encryption = re.search(r"chiffrement:\n(?:  .*\n)+", sample).group(0)
    config = re.sub(r"chiffrement:\n(?:  .*\n)+", encryption, config)
    (delivery / "livraison.yaml").write_text(config, encoding="utf-8")

    env["MDPH_DELIVERY_PASSWORD"] = PASSWORD
    command = [sys.executable, "-m", "migration.cli", "accept", str(delivery)]
    command += ["--received", "2008-10-20", "--reports", str(tmp_path / "acceptance")]
    accepted = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "verdict: conforme" in accepted.stdout

    decrypt = [sys.executable, "-m", "migration.cli", "decrypt", str(delivery)]
    decrypted = subprocess.run(
        [*decrypt, "--out", str(tmp_path / "decrypted")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert decrypted.returncode == 0, decrypted.stderr
    for application in ("ITAC", "OPALES"):
        for plain in (tmp_path / "plain" / application).iterdir():
            copy = tmp_path / "decrypted" / application / plain.name
            assert copy.read_bytes() == plain.read_bytes(), plain.name
