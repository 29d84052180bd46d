"""The `mdph-reprise lineage` commands: trace a target row back, or a source row forward.

    mdph-reprise lineage target TABLE KEY [--target URL] [--json] [--show-personal-data]
    mdph-reprise lineage source APP TABLE (--line N | --key K) [--target URL] [--json] ...

Exit codes follow the rest of the CLI: 0 found, 1 nothing found for that key or line, 2 bad
usage or a database that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from migration.lineage.errors import LineageError, NotTracedError
from migration.lineage.queries import (
    STATUS_NOT_FOUND,
    SourceTrace,
    TargetTrace,
    trace_source,
    trace_target,
)

TARGET_ENV = "MDPH_TARGET_URL"
# Sentence of the text output for each status of a source trace. `--json` prints the status.
STATUS_TEXTS = {
    STATUS_NOT_FOUND: "not found: no target row, reject or filter comes from it",
}
DEFAULT_DATABASE = Path("output") / "mdph_reprise.sqlite3"
"""The database `mdph-reprise run` writes by default, used when no URL is given and it exists."""


def add_lineage_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `lineage` command, with its `target` and `source` subcommands, to a CLI.

    Each subcommand sets `handler` to a function that takes the parsed arguments and returns
    the exit code, like the other commands of `migration.cli`.
    """
    lineage = subparsers.add_parser(
        "lineage",
        help="trace a target row to its source row, or a source row to its target rows",
        description="Query the row lineage stored in the target database.",
        allow_abbrev=False,
    )
    commands = lineage.add_subparsers(dest="lineage_command", required=True, metavar="COMMAND")

    target = commands.add_parser(
        "target",
        help="show the source file, table, line and key of a target row",
        allow_abbrev=False,
    )
    target.add_argument("table", help="target table, e.g. individu")
    target.add_argument("key", help="primary key value (parts of a composite key joined by |)")
    _add_common_options(target)
    target.set_defaults(handler=_trace_target_command)

    source = commands.add_parser(
        "source",
        help="show the target rows, the rejects or the filters of a source row",
        description="Show what a source row became: the target rows it produced, the rules "
        "that rejected it, or the mapping filters that left it out, with their reasons. A line "
        "or key found in none of them is not found (exit code 1).",
        allow_abbrev=False,
    )
    source.add_argument("application", help="source application, ITAC or OPALES")
    source.add_argument("table", help="source table as the data dictionary names it, e.g. DOSSIER")
    where = source.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--line", type=int, help="physical line of the source file where the record starts"
    )
    where.add_argument("--key", help="primary key value of the source row (parts joined by |)")
    _add_common_options(source)
    source.set_defaults(handler=_trace_source_command)
    return lineage


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        help=f"SQLAlchemy URL of the target database (default: ${TARGET_ENV}, else "
        f"sqlite:///{DEFAULT_DATABASE} when that file exists)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--show-personal-data",
        action="store_true",
        help="print personal values in clear (names, NIR, birth dates, addresses); "
        "for use inside the MDPH only",
    )


def resolve_target_url(argument: str | None) -> str:
    """Return the target URL from --target, then MDPH_TARGET_URL, then the default database.

    Raises:
        LineageError: none of them is set and the default database does not exist.
        TargetError: --target is malformed or contains a password.
    """
    if argument:
        from migration.target.engine import refuse_password_argument

        refuse_password_argument(argument)
        return argument
    url = os.environ.get(TARGET_ENV)
    if url:
        return url
    if DEFAULT_DATABASE.exists():
        return f"sqlite:///{DEFAULT_DATABASE.resolve()}"
    raise LineageError(
        f"no target database given and {DEFAULT_DATABASE} does not exist; pass --target URL "
        f"or set {TARGET_ENV}"
    )


def _trace_target_command(args, out: TextIO | None = None) -> int:
    from migration.target.engine import create_target_engine

    out = out or sys.stdout
    engine = create_target_engine(resolve_target_url(args.target))
    try:
        trace = trace_target(engine, args.table, args.key, show_personal=args.show_personal_data)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(trace.to_dict(), ensure_ascii=False, indent=2), file=out)
    else:
        print_target_trace(trace, out)
    if not trace.found:
        raise NotTracedError(
            f"no row with key {args.key!r} in target table {args.table} and no lineage for it; "
            "check the key (see `mdph-reprise lineage source` to start from a source row)"
        )
    return 0


def _trace_source_command(args, out: TextIO | None = None) -> int:
    from migration.target.engine import create_target_engine

    out = out or sys.stdout
    engine = create_target_engine(resolve_target_url(args.target))
    line_or_key = args.line if args.line is not None else args.key
    try:
        trace = trace_source(
            engine,
            args.application,
            args.table,
            line_or_key,
            show_personal=args.show_personal_data,
        )
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(trace.to_dict(), ensure_ascii=False, indent=2), file=out)
    else:
        print_source_trace(trace, out)
    if trace.status == STATUS_NOT_FOUND:
        where = f"line {args.line}" if args.line is not None else f"key {args.key!r}"
        raise NotTracedError(
            f"no target row, reject or filter for {where} of {trace.application}.{trace.table} "
            f"in run {trace.run_id}; check the application, table and {where}"
        )
    return 0


def print_target_trace(trace: TargetTrace, out: TextIO) -> None:
    """Print a target trace as indented text."""
    print(f"target row {trace.table} {trace.key} (run {trace.run_id})", file=out)
    if trace.row is None:
        print("  not in the target table", file=out)
    else:
        width = max(len(name) for name in trace.row)
        for name, value in trace.row.items():
            print(f"  {name:<{width}}  {_text(value)}", file=out)
    print(f"produced by {len(trace.sources)} source row(s):", file=out)
    for source in trace.sources:
        print(
            f"  {source.application}.{source.source_table}  file {source.source_file}  "
            f"line {source.source_line}  key {_text(source.source_key)}",
            file=out,
        )


def print_source_trace(trace: SourceTrace, out: TextIO) -> None:
    """Print a source trace as indented text."""
    where = f"line {trace.line}" if trace.line is not None else f"key {trace.key}"
    print(
        f"source row {trace.application}.{trace.table} {where} (run {trace.run_id}): "
        f"{STATUS_TEXTS.get(trace.status, trace.status)}",
        file=out,
    )
    for target in trace.targets:
        print(f"  line {target.source_line} -> {target.target_table} {target.target_key}", file=out)
    for reject in trace.rejects:
        column = f", column {reject.column_name}" if reject.column_name else ""
        print(
            f"  line {reject.source_line} rejected by {reject.rule_id}{column}: {reject.reason}",
            file=out,
        )
        for name, value in (reject.raw_values or {}).items():
            print(f"      {name} = {_text(value)}", file=out)
    for filtered in trace.filters:
        if filtered.target_table is None:
            left_out = "filtered, the mapping drops its table"
        else:
            left_out = f"filtered out of {filtered.target_table}"
        print(f"  line {filtered.source_line} {left_out}: {filtered.reason}", file=out)


def _text(value) -> str:
    return "—" if value is None else str(value)
