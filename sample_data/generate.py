"""Generate the sample ITAC and OPALES delivery of fictional people in Moselle.

    python sample_data/generate.py                       # rebuild the bundled delivery
    python sample_data/generate.py --persons 200000 --out /tmp/big --plaintext-only
    python sample_data/generate.py --rows 5000000 --out /tmp/departement

The output depends only on --seed and --persons (which --rows sets), byte for byte. The
default run rewrites sample_data/delivery/, sample_data/expected.json and the tables of
sample_data/README.md. A run with --out elsewhere writes expected.json into that folder and
leaves the README alone.
Needs only the Python standard library and the `cryptography` package.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from pathlib import Path

from samplegen.build import (
    DEFAULT_PERSONS,
    DEFAULT_SEED,
    MIN_PERSONS,
    RECORDS_PER_PERSON,
    generate,
    persons_for_records,
)
from samplegen.people import GenerationError
from samplegen.report import update_readme, write_expected

HERE = Path(__file__).resolve().parent
BUNDLED_DELIVERY = HERE / "delivery"


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="generate.py",
        description="Generate the fictional ITAC and OPALES sample delivery (Moselle, 2008).",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--persons",
        type=int,
        default=DEFAULT_PERSONS,
        help=f"number of people, 8/13 ITAC adults and 5/13 OPALES children "
        f"(default {DEFAULT_PERSONS}: 400 adults, 250 children; minimum {MIN_PERSONS})",
    )
    size.add_argument(
        "--rows",
        type=int,
        metavar="N",
        help=f"target number of source records across ITAC and OPALES, reached by setting "
        f"--persons to N / {RECORDS_PER_PERSON} rounded up (at least {MIN_PERSONS} persons)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 57)")
    parser.add_argument(
        "--out",
        type=Path,
        default=BUNDLED_DELIVERY,
        help="delivery folder to write (default: the bundled sample_data/delivery)",
    )
    parser.add_argument(
        "--plaintext-only",
        action="store_true",
        help="write the plaintext files without encrypting them (needs --out)",
    )
    args = parser.parse_args(argv)
    if args.rows is not None:
        if args.rows < 1:
            parser.error(f"--rows must be a positive number of records, got {args.rows}")
        args.persons = persons_for_records(args.rows)
    if args.persons < MIN_PERSONS:
        parser.error(f"--persons must be at least {MIN_PERSONS}, got {args.persons}")
    if args.plaintext_only and args.out.resolve() == BUNDLED_DELIVERY:
        parser.error(
            "--plaintext-only needs --out DIR: the bundled delivery holds encrypted files only"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the generator; return the process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    out = args.out.resolve()
    bundled = out == BUNDLED_DELIVERY
    started = time.perf_counter()
    try:
        expected = generate(args.seed, args.persons, out, encrypt=not args.plaintext_only)
    except GenerationError as error:
        logging.error("generation failed: %s", error)
        return 1
    write_expected(HERE / "expected.json" if bundled else out / "expected.json", expected)
    if bundled:
        update_readme(HERE / "README.md", expected)
    records = sum(table["read"] for table in expected["tables"].values())
    logging.info(
        "wrote %s in %.1f s (%d persons, %d records)",
        out,
        time.perf_counter() - started,
        args.persons,
        records,
    )
    if args.rows is not None and records < args.rows:
        # NOTE: RECORDS_PER_PERSON is an estimate, so another seed may fall a little short.
        logging.warning(
            "only %d records for --rows %d: ask for --persons %d or more",
            records,
            args.rows,
            math.ceil(args.persons * args.rows / records),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
