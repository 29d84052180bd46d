"""Benchmark: profiling plus validation of one large table, against the time to read it.

Generates a plaintext delivery with the sample generator, then times, on the largest ITAC
table (DEMANDE by default):
- reading the file as text (`read_table`);
- per-table validation and profiling (`validate_one_table`);
- the same column checks written as a pandera schema, for comparison.

Usage: .venv/bin/python bench/validation.py --persons 760000   # about 1 million DEMANDE rows
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from migration.dictionary.model import load_dictionary  # noqa: E402
from migration.reading.csv_reader import read_table  # noqa: E402
from migration.steps import validate_one_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=760_000)
    parser.add_argument("--table", default="DEMANDE")
    parser.add_argument("--no-pandera", action="store_true", help="skip the pandera comparison")
    args = parser.parse_args()

    dictionary = load_dictionary("itac")
    table = dictionary.tables[args.table]
    with tempfile.TemporaryDirectory() as folder:
        delivery = Path(folder) / "delivery"
        started = time.perf_counter()
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
        print(f"generated {args.persons} persons in {time.perf_counter() - started:.1f} s")
        path = delivery / "ITAC" / table.file

        started = time.perf_counter()
        read = read_table("ITAC", table, path)
        read_seconds = time.perf_counter() - started

        started = time.perf_counter()
        validated = validate_one_table(read, dictionary)
        validate_seconds = time.perf_counter() - started

        rows = read.read
        print(f"table ITAC.{args.table}: {rows} rows, {path.stat().st_size / 1e6:.1f} MB")
        print(f"read:                  {read_seconds:6.2f} s  ({rows / read_seconds:,.0f} rows/s)")
        print(
            f"validate + profile:    {validate_seconds:6.2f} s  "
            f"ratio to read {validate_seconds / read_seconds:.2f}"
        )
        print(f"findings: {len(validated.findings)}")
        if not args.no_pandera:
            pandera_seconds = _time_pandera(read.rows, table, dictionary)
            print(
                f"pandera same checks:   {pandera_seconds:6.2f} s  "
                f"ratio to read {pandera_seconds / read_seconds:.2f}"
            )


def _time_pandera(rows, table, dictionary) -> float:
    """Time a pandera schema with the same per-column checks (lazy, all failures collected)."""
    import pandera.pandas as pa

    columns = {}
    for column in table.columns:
        checks = []
        if column.length:
            checks.append(pa.Check.str_length(max_value=column.length))
        if column.type == "code":
            checks.append(pa.Check.isin(list(dictionary.codes(column))))
        if column.type == "date":
            checks.append(pa.Check.str_matches(r"^\d{2}/\d{2}/\d{4}$"))
        if column.type == "integer":
            checks.append(pa.Check.str_matches(re.compile(r"^-?\d+$")))
        columns[column.name] = pa.Column(object, checks=checks, nullable=column.nullable)
    schema = pa.DataFrameSchema(columns, unique=list(table.primary_key) or None)
    started = time.perf_counter()
    try:
        schema.validate(rows[table.column_names], lazy=True)
    except pa.errors.SchemaErrors:
        pass
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
