"""Benchmark: `load_run` into PostgreSQL against a plain psql \\copy of the same rows.

Generates a plaintext delivery with the sample generator and runs the real pipeline on it
(reading, validation, mapping, assembly), then:

1. times `load_run` into a new, empty PostgreSQL database (it creates the tables, converts and
   checks the frames, and COPYs every target, lineage, reject and filtered row in one
   transaction);
2. exports every table of that database to CSV files;
3. creates the same empty tables in a second new database and times one psql process that
   runs `\\copy ... FROM` for every file inside one transaction, parents first.

It prints both times, rows per second and the ratio of the plain copy time to the load time
(1.0 = as fast as psql). Both databases are dropped at the end.

Usage: .venv/bin/python bench/load.py --persons 50000
       [--postgres postgresql://postgres@127.0.0.1:5432/test]

The --postgres user must be allowed to create databases. psql must be on the PATH.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from migration.delivery.intake import open_delivery  # noqa: E402
from migration.dictionary.model import load_dictionary  # noqa: E402
from migration.mapping.assemble import assemble  # noqa: E402
from migration.mapping.language import load_mapping  # noqa: E402
from migration.steps import (  # noqa: E402
    DEFAULT_MAPPINGS,
    filters_for_database,
    map_application,
    read_application,
    rejects_for_database,
    validate_application,
)
from migration.target.engine import create_target_engine, describe_url  # noqa: E402
from migration.target.load import load_run  # noqa: E402
from migration.target.schema import build_metadata, load_target_schema  # noqa: E402
from migration.target.versioning import upgrade_product_tables  # noqa: E402

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
RUN_ID = "bench-load"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=50_000, help="people in the delivery")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("MDPH_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="URL of a PostgreSQL server and a database to connect to while creating the "
        "benchmark databases (default MDPH_TEST_POSTGRES_URL, else %(default)s)",
    )
    args = parser.parse_args()
    if shutil.which("psql") is None:
        sys.exit("psql is not on the PATH; install the PostgreSQL client")

    schema = load_target_schema()
    with tempfile.TemporaryDirectory() as folder:
        frames, rejects, lineage, filters = build_rows(Path(folder), args.persons, schema)
        rows = sum(len(frame) for frame in frames.values())
        rows += len(rejects) + len(lineage) + len(filters) + 1
        print(
            f"rows to load: {rows} ({len(lineage)} lineage, {len(rejects)} rejects, "
            f"{len(filters)} filtered)"
        )

        admin_url = make_url(args.postgres)
        with _databases(admin_url, 2) as (load_url, copy_url):
            load_seconds = time_load_run(load_url, schema, frames, rejects, lineage, filters)
            files = export_tables(load_url, schema, Path(folder) / "csv")
            create_empty_tables(copy_url, schema)
            copy_seconds = time_psql_copy(copy_url, schema, files)

    print(f"load_run:    {load_seconds:7.2f} s  {rows / load_seconds:10.0f} rows/s")
    print(f"psql \\copy:  {copy_seconds:7.2f} s  {rows / copy_seconds:10.0f} rows/s")
    print(f"ratio (psql time / load_run time): {copy_seconds / load_seconds:.2f}")


def build_rows(folder: Path, persons: int, schema):
    """Generate a plaintext delivery and run the pipeline up to the rows to load."""
    delivery = folder / "delivery"
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "sample_data" / "generate.py"),
            "--plaintext-only",
            "--persons",
            str(persons),
            "--out",
            str(delivery),
        ],
        check=True,
        capture_output=True,
    )
    print(f"generated {persons} persons in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    opened = open_delivery(delivery, "", folder / "work")
    validated, mapped = [], []
    for name, application in opened.applications.items():
        dictionary = load_dictionary(application.dictionary)
        reads = read_application(name, application.folder, dictionary)
        result = validate_application(name, dictionary, reads)
        validated.append(result)
        mapped.append(map_application(result, load_mapping(DEFAULT_MAPPINGS[name]), schema))
    rejected = pd.concat([result.rejected_lines() for result in validated], ignore_index=True)
    assembly = assemble(mapped, schema, rejected)
    rejects = rejects_for_database(RUN_ID, validated, assembly)
    filters = filters_for_database(RUN_ID, assembly)
    print(f"pipeline up to assembly in {time.perf_counter() - started:.1f} s")
    return assembly.frames, rejects, assembly.lineage.to_frame().assign(run_id=RUN_ID), filters


class _databases:
    """Create `count` empty databases on the server of `admin_url`; drop them on exit."""

    def __init__(self, admin_url, count: int) -> None:
        if admin_url.drivername == "postgresql":
            admin_url = admin_url.set(drivername="postgresql+psycopg2")
        self.admin_url = admin_url
        self.names = [f"mdph_bench_{uuid.uuid4().hex[:10]}" for _ in range(count)]
        self.admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def __enter__(self):
        with self.admin.connect() as connection:
            for name in self.names:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        return [self.admin_url.set(database=name) for name in self.names]

    def __exit__(self, *exc_info) -> None:
        with self.admin.connect() as connection:
            for name in self.names:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()


def time_load_run(url, schema, frames, rejects, lineage, filters) -> float:
    engine = create_target_engine(url.render_as_string(hide_password=False))
    run = {"run_id": RUN_ID, "started_at": dt.datetime.now(dt.UTC), "status": "success"}
    started = time.perf_counter()
    load_run(engine, schema, frames, rejects, lineage, run, filters=filters)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def _table_order(schema) -> list[str]:
    """Target tables parents first, then the product tables that hold rows of the load."""
    return [
        *schema.table_order(),
        "reprise_run",
        "reprise_rejet",
        "reprise_filtre",
        "reprise_lignage",
        "reprise_chargement",
    ]


def export_tables(url, schema, folder: Path) -> dict[str, tuple[list[str], Path]]:
    """Write every table of the loaded database to CSV; return table -> (columns, file)."""
    folder.mkdir()
    metadata = build_metadata(schema)
    files = {}
    connection = sa.create_engine(url).raw_connection()
    try:
        cursor = connection.cursor()
        for name in _table_order(schema):
            columns = [column.name for column in metadata.tables[name].columns]
            path = folder / f"{name}.csv"
            with path.open("w", encoding="utf-8", newline="") as file:
                cursor.copy_expert(f'COPY "{name}" TO STDOUT WITH (FORMAT csv)', file)
            files[name] = (columns, path)
    finally:
        connection.close()
    return files


def create_empty_tables(url, schema) -> None:
    """Create the tables exactly as a load does: product tables by Alembic, then the schema."""
    engine = create_target_engine(url.render_as_string(hide_password=False))
    metadata = build_metadata(schema)
    with engine.begin() as connection:
        upgrade_product_tables(connection)
        metadata.create_all(
            connection, tables=[metadata.tables[name] for name in schema.table_order()]
        )
    engine.dispose()


def time_psql_copy(url, schema, files) -> float:
    script = ["\\set ON_ERROR_STOP on", "BEGIN;"]
    for name in _table_order(schema):
        columns, path = files[name]
        script.append(f"\\copy \"{name}\" ({', '.join(columns)}) FROM '{path}' WITH (FORMAT csv)")
    script.append("COMMIT;")
    environment = dict(os.environ)
    if url.password:
        # Through the environment, so the password never shows in the process list.
        environment["PGPASSWORD"] = str(url.password)
    target = url.set(drivername="postgresql", password=None).render_as_string()
    print(f"psql into {describe_url(target)}")
    started = time.perf_counter()
    subprocess.run(
        ["psql", "--quiet", "--no-psqlrc", target],
        input="\n".join(script) + "\n",
        text=True,
        check=True,
        env=environment,
    )
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
