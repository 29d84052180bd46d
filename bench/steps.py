"""Benchmark: where the time and memory of one migration run go, step by step.

Runs `run_migration` on an existing delivery and prints, at each progress message, the seconds
since the start, the resident memory of this process and its peak so far, and then the
loader's own timing of each table it writes. The application workers are separate processes,
so their memory is not in these figures; `bench/run.py` measures the whole process tree.

Usage:
  .venv/bin/python sample_data/generate.py --persons 100000 --out /tmp/delivery
  MDPH_DELIVERY_PASSWORD=reprise-57-demo .venv/bin/python bench/steps.py /tmp/delivery \\
      postgresql+psycopg2://postgres@127.0.0.1:5432/bench_steps [--workers 2]
The target database must exist; the reports go to a temporary folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from migration.run import RunOptions, run_migration

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("delivery", type=Path)
    parser.add_argument("target_url")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    password = os.environ.get("MDPH_DELIVERY_PASSWORD")
    if not password:
        raise SystemExit("set MDPH_DELIVERY_PASSWORD to the delivery password")

    started = time.perf_counter()
    logging.basicConfig(
        level=logging.WARNING, format="%(relativeCreated)9.0f ms  %(name)s: %(message)s"
    )
    logging.getLogger("migration.target.load").setLevel(logging.DEBUG)

    def progress(step: str, message: str) -> None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(
            f"{time.perf_counter() - started:7.1f} s  rss {_resident_mb():5d} MB  "
            f"peak {peak:5d} MB  {step}: {message}",
            flush=True,
        )

    with tempfile.TemporaryDirectory() as reports:
        options = RunOptions(
            delivery=args.delivery,
            target_url=args.target_url,
            reports_dir=Path(reports),
            workers=args.workers,
        )
        outcome = run_migration(options, password, progress)
    progress("end", outcome.status)


def _resident_mb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


if __name__ == "__main__":
    main()
