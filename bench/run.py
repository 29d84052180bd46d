"""Benchmark: the whole migration into PostgreSQL against the floor and the usual tools.

For each size, on the same generated encrypted delivery, it measures side by side:
- the full pipeline (`mdph-reprise run` into a fresh PostgreSQL database);
- the floor: `openssl enc -d` of every file, then `psql \\copy` of the already-mapped target
  rows (CSV) into the same empty tables;
- pandas `DataFrame.to_sql` of the same mapped rows;
- pgloader on the same CSV files, when the `pgloader` command is installed;
and prints wall time, ratio to the floor, peak resident memory (of the whole process tree) and
source rows per second.

Usage:
  .venv/bin/python bench/run.py --persons 10000 100000 [--admin-url postgresql://postgres@127.0.0.1/test]
      [--skip to_sql pgloader] [--repeat 3] [--rerun]
Each size creates and drops its own databases on the server of --admin-url. --skip leaves out
slow methods (to_sql and pgloader take tens of minutes at millions of rows); the floor and
the pipeline always run. --repeat N runs the pipeline and the floor N times each, in turns,
and prints the median time with the fastest and slowest run. On a shared machine the floor of
501,789 rows took 8.4 s in one run and 13.3 s in another, and the ratio moves with it.
--rerun also runs the pipeline twice into one database and times the second run, a delivery
loaded again into a full target.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PASSWORD = "reprise-57-demo"
PYTHON = sys.executable


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0]
        + " The floor is `openssl enc -d` of the delivery and `psql \\copy` of its mapped rows.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--persons",
        type=int,
        nargs="+",
        default=[10_000, 100_000],
        help="sizes of the generated deliveries, in persons (72500: 0.5 million source rows, "
        "724638: 5 million)",
    )
    parser.add_argument(
        "--admin-url",
        default="postgresql+psycopg2://postgres@127.0.0.1:5432/test",
        help="PostgreSQL database from which each run's new database is created and dropped",
    )
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["to_sql", "pgloader"],
        help="methods to leave out, the slowest (the pipeline and the floor always run)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of the pipeline and floor")
    parser.add_argument(
        "--rerun", action="store_true", help="also time a second run into the loaded database"
    )
    parser.add_argument(
        "--one-worker",
        action="store_true",
        help="also time the pipeline with --workers 1, which reads the applications in turn",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; load {load}")
    for persons in args.persons:
        with tempfile.TemporaryDirectory() as folder:
            measure(
                persons,
                Path(folder),
                args.admin_url,
                set(args.skip),
                args.repeat,
                args.rerun,
                args.one_worker,
            )


def measure(
    persons: int,
    folder: Path,
    admin_url: str,
    skip: set[str] = frozenset(),
    repeat: int = 1,
    rerun_too: bool = False,
    one_worker_too: bool = False,
) -> None:
    delivery = folder / "delivery"
    print(f"{persons} persons: generating the delivery, then its mapped rows", file=sys.stderr)
    _run(
        [
            PYTHON,
            str(ROOT / "sample_data" / "generate.py"),
            "--persons",
            str(persons),
            "--out",
            str(delivery),
        ]
    )
    rows_csv = folder / "mapped"
    source_rows = _export_mapped_rows(delivery, rows_csv)
    results = {}
    env = dict(os.environ, MDPH_DELIVERY_PASSWORD=PASSWORD)

    def pipeline(url: str, workers: int = 2) -> tuple[float, int]:
        # The URL goes in the environment: the command line refuses a database password.
        command = [PYTHON, "-m", "migration.cli", "run", str(delivery)]
        command += ["--output", str(folder / "out"), "--workers", str(workers)]
        return _timed(command, env=dict(env, MDPH_TARGET_URL=url))

    def rerun(url: str) -> tuple[float, int]:
        pipeline(url)
        return pipeline(url)

    methods = {
        "pipeline": pipeline,
        "floor": lambda url: _floor(delivery, folder / "plain", rows_csv, url),
        "to_sql": lambda url: _timed([PYTHON, __file__, "--to-sql", str(rows_csv), url]),
    }
    if rerun_too:
        # The same delivery again into the loaded database: the load compares every row with
        # the target and writes none, which is what a redelivery costs.
        methods["rerun"] = rerun
    if one_worker_too:
        # One process reads, validates and maps the applications in turn: slower, with the
        # memory of one application at a time.
        methods["1 worker"] = lambda url: pipeline(url, workers=1)
    if shutil.which("pgloader"):
        methods["pgloader"] = lambda url: _pgloader(rows_csv, url)
    else:
        print("pgloader: not installed, skipped")
    for name in sorted(skip & set(methods)):
        print(f"{name}: skipped (--skip)")
        del methods[name]
    # The pipeline and the floor take turns, so a slow spell of the machine falls on both.
    rounds = [name for _ in range(repeat) for name in ("pipeline", "floor")]
    rounds += [name for name in methods if name not in ("pipeline", "floor")]
    for number, name in enumerate(rounds, start=1):
        print(f"  {number}/{len(rounds)}: {name}", file=sys.stderr, flush=True)
        with _database(admin_url) as url:
            seconds, peak = methods[name](url)
            results.setdefault(name, []).append((seconds, peak, _target_rows(url)))

    floor = statistics.median(seconds for seconds, _, _ in results["floor"])
    print(f"\n{persons} persons, {source_rows} source rows")
    header = f"{'method':<10} {'seconds':>8} {'x floor':>8} {'peak MB':>8} {'src rows/s':>11}"
    print(header + f" {'target rows':>12} {'runs (s)':>10}")
    for name, runs in results.items():
        seconds = statistics.median(run[0] for run in runs)
        peak = max(run[1] for run in runs)
        loaded = {run[2] for run in runs}
        spread = f"{min(run[0] for run in runs):.1f}-{max(run[0] for run in runs):.1f}"
        print(
            f"{name:<10} {seconds:8.1f} {seconds / floor:8.2f} {peak / 1024:8.0f} "
            f"{source_rows / seconds:11.0f} {'/'.join(map(str, sorted(loaded))):>12} "
            f"{spread if len(runs) > 1 else '':>10}"
        )


def _target_rows(url: str) -> int:
    """Count the rows in the target tables after a method ran, to show it loaded everything."""
    from migration.target.schema import load_target_schema

    engine = sa.create_engine(url)
    total = 0
    with engine.connect() as connection:
        for name in load_target_schema().table_order():
            if sa.inspect(connection).has_table(name):
                total += connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
    engine.dispose()
    return total


def _export_mapped_rows(delivery: Path, out: Path) -> int:
    """Run the pipeline up to the load and write each target table as CSV for the floor."""
    import pandas as pd

    from migration.delivery.intake import open_delivery
    from migration.delivery.workdir import PrivateWorkdir
    from migration.dictionary.model import load_dictionary
    from migration.mapping.assemble import assemble
    from migration.mapping.language import load_mapping
    from migration.steps import (
        DEFAULT_MAPPINGS,
        map_application,
        read_application,
        validate_application,
    )
    from migration.target.schema import load_target_schema

    schema = load_target_schema()
    validated = []
    with PrivateWorkdir() as workdir:
        opened = open_delivery(delivery, PASSWORD, workdir.path)
        for name, application in opened.applications.items():
            dictionary = load_dictionary(application.dictionary)
            reads = read_application(name, application.folder, dictionary)
            validated.append(validate_application(name, dictionary, reads))
    mapped = [map_application(v, load_mapping(DEFAULT_MAPPINGS[v.name]), schema) for v in validated]
    rejected = pd.concat([v.rejected_lines() for v in validated], ignore_index=True)
    assembly = assemble(mapped, schema, rejected)
    out.mkdir(mode=0o700)
    for name in schema.table_order():
        assembly.frames[name].to_csv(out / f"{name}.csv", index=False, na_rep="")
    return sum(read.read for v in validated for read in v.reads.values())


def _floor(delivery: Path, plain: Path, rows_csv: Path, url: str) -> tuple[float, int]:
    """openssl enc -d of every file, then psql \\copy of the mapped rows into empty tables."""
    from migration.target.engine import create_target_engine
    from migration.target.schema import build_metadata, load_target_schema

    schema = load_target_schema()
    engine = create_target_engine(url)
    build_metadata(schema).create_all(engine)
    engine.dispose()
    started = time.perf_counter()
    peak = 0
    env = dict(os.environ, MDPH_DELIVERY_PASSWORD=PASSWORD)
    for encrypted in sorted(delivery.rglob("*.enc")):
        target = plain / encrypted.relative_to(delivery).with_suffix("")
        target.parent.mkdir(parents=True, exist_ok=True)
        _, used = _timed(
            [
                "openssl",
                "enc",
                "-d",
                "-aes-256-cbc",
                "-pbkdf2",
                "-in",
                str(encrypted),
                "-out",
                str(target),
                "-pass",
                "env:MDPH_DELIVERY_PASSWORD",
            ],
            env=env,
        )
        peak = max(peak, used)
    psql_url = url.replace("postgresql+psycopg2://", "postgresql://")
    for name in schema.table_order():
        command = (
            f"\\copy \"{name}\" FROM '{rows_csv / (name + '.csv')}' WITH (FORMAT csv, HEADER true)"
        )
        _, used = _timed(["psql", psql_url, "-q", "-v", "ON_ERROR_STOP=1", "-c", command])
        peak = max(peak, used)
    return time.perf_counter() - started, peak


def _pgloader(rows_csv: Path, url: str) -> tuple[float, int]:
    """pgloader of the mapped CSV files into the same empty tables (created beforehand).

    NOTE: pgloader reads an empty CSV field as an empty string, not NULL, so it rejects the
    rows with an empty date; the "target rows" column of the output shows how many it kept.
    """
    from migration.target.engine import create_target_engine
    from migration.target.schema import build_metadata, load_target_schema

    engine = create_target_engine(url)
    build_metadata(load_target_schema()).create_all(engine)
    engine.dispose()
    started = time.perf_counter()
    peak = 0
    for csv_file in sorted(rows_csv.glob("*.csv")):
        _, used = _timed(
            [
                "pgloader",
                "--type",
                "csv",
                "--with",
                "skip header = 1",
                "--with",
                "fields terminated by ','",
                "--with",
                "fields optionally enclosed by '\"'",
                str(csv_file),
                f"{url.replace('+psycopg2', '')}?tablename={csv_file.stem}",
            ]
        )
        peak = max(peak, used)
    return time.perf_counter() - started, peak


def _timed(command: list[str], env: dict | None = None) -> tuple[float, int]:
    """Run a command; return wall seconds and the peak resident memory of its process tree, kB.

    The tree counts: the pipeline reads the applications in worker processes, so the peak is
    the largest sum of the resident sizes of the command and its children, sampled every
    0.1 s.
    """
    import threading

    import psutil

    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            root = psutil.Process(process.pid)
        except psutil.NoSuchProcess:
            return
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                total = 0
                for member in tree:
                    try:
                        total += member.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
                peak = max(peak, total // 1024)
            except psutil.NoSuchProcess:
                return
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{stderr[-2000:]}")
    return seconds, peak


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)


class _database:
    """A fresh PostgreSQL database on the admin server, dropped on exit."""

    def __init__(self, admin_url: str):
        self.admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = f"mdph_bench_{uuid.uuid4().hex[:10]}"
        self.url = sa.engine.make_url(admin_url).set(database=self.name)

    def __enter__(self) -> str:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        return self.url.render_as_string(hide_password=False)

    def __exit__(self, *exc) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()


def _to_sql(rows_csv: Path, url: str) -> None:
    """Load the mapped CSV files with pandas DataFrame.to_sql, as the usual alternative."""
    import pandas as pd

    from migration.target.engine import create_target_engine
    from migration.target.schema import build_metadata, load_target_schema

    schema = load_target_schema()
    engine = create_target_engine(url)
    build_metadata(schema).create_all(engine)
    for name in schema.table_order():
        frame = pd.read_csv(rows_csv / f"{name}.csv", dtype=str, keep_default_na=False)
        frame = frame.replace("", None)
        frame.to_sql(
            name, engine, if_exists="append", index=False, chunksize=10_000, method="multi"
        )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--to-sql":
        _to_sql(Path(sys.argv[2]), sys.argv[3])
    else:
        main()
