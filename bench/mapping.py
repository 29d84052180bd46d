"""Benchmark: mapping one large table, against the time to read it.

Generates a plaintext delivery with the sample generator, reads and validates the ITAC tables,
then times the reference mapping of the largest one (DEMANDE by default, into `demande`) and
of every target fed by DOSSIER.

Usage: .venv/bin/python bench/mapping.py --persons 760000   # about 1 million DEMANDE rows
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from migration.dictionary.model import load_dictionary  # noqa: E402
from migration.mapping.engine import map_target  # noqa: E402
from migration.mapping.language import load_mapping  # noqa: E402
from migration.reading.csv_reader import read_table  # noqa: E402
from migration.steps import combine_application, validate_one_table  # noqa: E402
from migration.target.schema import load_target_schema  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=760_000)
    parser.add_argument("--table", default="DEMANDE")
    args = parser.parse_args()

    dictionary = load_dictionary("itac")
    mapping = load_mapping(ROOT / "mappings" / "itac.yaml")
    schema = load_target_schema()
    with tempfile.TemporaryDirectory() as folder:
        delivery = Path(folder) / "delivery"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "sample_data" / "generate.py"),
                "--plaintext-only",
                "--persons",
                str(args.persons),
                "--out",
                str(delivery),
            ],
            check=True,
            capture_output=True,
        )
        timings = {}
        tables = {}
        for name, table in dictionary.tables.items():
            started = time.perf_counter()
            read = read_table("ITAC", table, delivery / "ITAC" / table.file)
            timings[name] = time.perf_counter() - started
            tables[name] = validate_one_table(read, dictionary)
    validated = combine_application("ITAC", dictionary, tables)
    lookups = {name: table.rows for name, table in validated.tables.items()}

    rows = tables[args.table].read.read
    print(f"ITAC.{args.table}: {rows} rows, read in {timings[args.table]:.2f} s")
    for target in mapping.targets:
        if target.source not in (args.table, "DOSSIER"):
            continue
        required = [c.name for c in schema.tables[target.target].columns if not c.nullable]
        started = time.perf_counter()
        frame, _, _, _ = map_target(mapping, target, validated.tables, lookups, required)
        seconds = time.perf_counter() - started
        read_seconds = timings[target.source]
        print(
            f"map {target.source:>8} -> {target.target:<14} {len(frame):>9} rows "
            f"{seconds:6.2f} s  ratio to read {seconds / read_seconds:.2f}"
        )


if __name__ == "__main__":
    main()
