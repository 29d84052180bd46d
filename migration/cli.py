"""The `mdph-reprise` command line.

Exit codes: 0 success, 1 the work ran and found a failure (blocking problem, reconciliation gap,
invalid mapping, a defect of the delivery in `accept` or `decrypt`), 2 bad usage or input that
cannot be processed; README.md lists them per command. Errors are printed as one line without a
traceback; `--verbose` adds the library's log lines, which never carry personal values.
"""

from __future__ import annotations

import argparse
import errno
import gc
import logging
import os
import signal
import sys
from pathlib import Path

from migration import __version__
from migration.acceptance.commands import add_accept_parser, add_decrypt_parser
from migration.dictionary.commands import add_dictionary_parser
from migration.errors import MdphRepriseError
from migration.lineage.commands import add_lineage_parser

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
TARGET_ENV = "MDPH_TARGET_URL"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors never repeat the values typed after an option.

    A user who types `--password SECRET` must not see the secret echoed back in the error.
    """

    def error(self, message: str):
        if message.startswith("unrecognized arguments:"):
            words = message.removeprefix("unrecognized arguments:").split()
            options = [word.split("=", 1)[0] for word in words if word.startswith("-")]
            message = (
                "unrecognized arguments: "
                + (" ".join(options) or "(values not shown)")
                + f"; see '{self.prog} --help' for the arguments it takes"
            )
        super().error(message)


VERBOSE_HELP = "log each step's details; accepted before or after the command"


class _CommandParser(_Parser):
    """The parser of a command, which also accepts the global `-v`/`--verbose` option.

    argparse copies every attribute that a command's parser sets over the global one. The
    option's default is SUPPRESS, so a command given without it keeps the value set before it.
    Nested commands (`mapping check`) get the option too, because `add_subparsers` builds them
    with the class of their parent parser.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP
        )

    def parse_known_args(self, args=None, namespace=None):
        """Parse a command's arguments, and reject those it does not know with its own usage.

        argparse hands the words a command does not know back to the top-level parser, whose
        error would show the usage of `mdph-reprise` instead of the command's. Every word
        after a command's name belongs to that command, so none is left for a parent.
        """
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error("unrecognized arguments: " + " ".join(extras))
        return namespace, extras


INTERRUPTED = (
    "interrupted: this run committed nothing, so the target database is as it was before it "
    "(a load in progress is rolled back)"
)
INTERRUPTED_AFTER_LOAD = (
    "interrupted after the load committed: the target database contains the rows of this run, "
    "but the reports were not written; run again to write them (the rows are then found "
    "unchanged)"
)


class _Terminated(SystemExit):
    """SIGTERM, raised as an exit so that cleanups run and no decrypted file is left behind."""


# The stop signal received (SIGINT or SIGTERM), None before one arrives.
_stop_signal: int | None = None
# Set once the run reports its committed load, so the interruption message can say so.
_load_committed = False


def _stop(signum, frame) -> None:
    # No output here: the signal may arrive in the middle of a write to the same stream.
    global _stop_signal
    _stop_signal = signum
    _raise_stop()


def _raise_stop() -> None:
    if _stop_signal == signal.SIGINT:
        raise KeyboardInterrupt
    raise _Terminated(128 + _stop_signal)


def _raise_if_stopped() -> None:
    """Raise the stop exception again if Ctrl-C or SIGTERM arrived and the run is still going.

    Python prints and drops an exception raised in code that it runs as unraisable (a
    `__del__` method, a weakref callback such as SQLAlchemy's, an at-fork callback). A
    handler that ran there left only `_stop_signal` behind.
    """
    if _stop_signal is not None:
        _raise_stop()


def _interrupted_message() -> str:
    return INTERRUPTED_AFTER_LOAD if _load_committed else INTERRUPTED


COMMITTED_BEFORE_ERROR = (
    "The load had committed before this error: the target database contains the rows of this "
    "run; run again to write the reports (the rows are then found unchanged)"
)


def _os_error_message(error: OSError, loads: bool) -> str:
    """Describe a file operation that failed, such as a write to a full disk, in one line.

    The message names the file when the error gives it, never its content. A write to a file
    already open gives no name, so the message then names the folders the command writes to.
    For a command that `loads`, it also states what the target database contains, as the
    message of a stopped run does.
    """
    text = error.strerror or type(error).__name__
    if error.filename:
        text += f": {error.filename}"
        where = "that file system"
    elif loads:
        where = "the file systems of the work folder (--workdir), the output and the reports"
    else:
        where = "the file systems of the folders the command writes to"
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        text += f"; free space on {where}, or choose folders on another one"
    elif error.filename:
        text += "; check the file's folder and its permissions"
    else:
        text += f"; check {where} and the permissions of their folders"
    if not loads:
        return f"{text}, then run again"
    if _load_committed:
        return f"{text}. {COMMITTED_BEFORE_ERROR}"
    return (
        f"{text}, then run again. This run committed nothing, so the target database is as it "
        "was before it"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    # Files the product writes (database, reports, decrypted tables) hold personal data or
    # figures about it, so they are private to the user unless the user copies them.
    os.umask(0o077)
    global _stop_signal, _load_committed
    _stop_signal, _load_committed = None, False
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        code = args.handler(args)
        _raise_if_stopped()
        return code
    except MdphRepriseError as error:
        if _stop_signal is not None:
            # The stop broke off a statement, so PostgreSQL ended a COPY with "query canceled"
            # and the load raised that error. The cause is the stop.
            print(_interrupted_message(), file=sys.stderr)
            return 128 + _stop_signal
        message = f"error: {error}"
        if args.command == "run" and _load_committed:
            message += f". {COMMITTED_BEFORE_ERROR}"
        print(message, file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(_interrupted_message(), file=sys.stderr)
        return 130
    except _Terminated as stop:
        print(_interrupted_message(), file=sys.stderr)
        return stop.code
    except BrokenPipeError:
        # The reader of the output went away (e.g. `| head`); stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as error:
        # Checked after BrokenPipeError, a subclass handled above.
        if _stop_signal is not None:
            print(_interrupted_message(), file=sys.stderr)
            return 128 + _stop_signal
        print(f"error: {_os_error_message(error, loads=args.command == 'run')}", file=sys.stderr)
        return EXIT_USAGE


def _build_parser() -> argparse.ArgumentParser:
    # Abbreviations are off so that `--password VALUE` is not taken for `--password-file`.
    parser = _Parser(
        prog="mdph-reprise",
        description="Take over the ITAC and OPALES legacy data of an MDPH.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"mdph-reprise {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_CommandParser
    )

    run = commands.add_parser(
        "run", help="decrypt, validate, map and load a delivery", allow_abbrev=False
    )
    run.add_argument("delivery", type=Path, help="delivery folder (with livraison.yaml)")
    run.add_argument(
        "--output",
        type=Path,
        default=Path("output"),
        help="folder for the default SQLite database and reports (default: output)",
    )
    run.add_argument(
        "--target",
        help=f"SQLAlchemy URL of the target database (default: "
        f"${TARGET_ENV}, else sqlite:///OUTPUT/mdph_reprise.sqlite3)",
    )
    run.add_argument(
        "--reports", type=Path, help="folder for the reports (default: OUTPUT/rapports)"
    )
    _add_password_option(run)
    run.add_argument(
        "--mapping",
        action="append",
        default=[],
        metavar="APP=FILE",
        help="mapping file of an application, e.g. ITAC=mappings/itac.yaml",
    )
    run.add_argument(
        "--dictionary",
        action="append",
        default=[],
        metavar="APP=FILE",
        help="data dictionary of an application, e.g. OPALES=my_opales.yaml",
    )
    run.add_argument(
        "--workdir",
        type=Path,
        help="parent of the private folder for decrypted files (default: system temp)",
    )
    run.add_argument(
        "--keep-plaintext",
        action="store_true",
        help="keep the decrypted files after the run (in the private folder)",
    )
    run.add_argument(
        "--lang",
        choices=["fr", "en"],
        default="fr",
        help="report language (default fr); --language is accepted too",
    )
    # An alias for users who type the whole word; the help shows it only in the text of --lang.
    run.add_argument(
        "--language",
        dest="lang",
        choices=["fr", "en"],
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )
    run.add_argument(
        "--workers",
        type=int,
        choices=(1, 2),
        help="processes that read, validate and map the applications: 2 takes ITAC and OPALES "
        "side by side, 1 one after the other (default 2 on a machine with two cores or more, "
        "else 1)",
    )
    run.add_argument(
        "--allow-removals",
        action="store_true",
        help="load even when the load removes more than half of the rows already in the target "
        "(by default such a load stops, because the target most likely belongs to another "
        "delivery)",
    )
    run.add_argument(
        "--finess",
        type=Path,
        help="a newer FINESS extract (etalab layout) to use in place of the delivered FINESS.csv",
    )
    run.add_argument(
        "--ramsese",
        type=Path,
        help="a newer annuaire de l'éducation extract to use in place of the delivered RAMSESE.csv",
    )
    run.add_argument(
        "--show-personal-data",
        action="store_true",
        help="show personal values in clear in the report; for use inside the MDPH only",
    )
    run.set_defaults(handler=_run)

    add_decrypt_parser(commands)
    add_accept_parser(commands)

    add_dictionary_parser(commands)
    add_lineage_parser(commands)

    mapping = commands.add_parser("mapping", help="work with mapping files")
    mapping_commands = mapping.add_subparsers(dest="mapping_command", required=True)
    check = mapping_commands.add_parser("check", help="check mapping files", allow_abbrev=False)
    check.add_argument(
        "mappings",
        type=Path,
        nargs="+",
        metavar="MAPPING",
        help="mapping file to check; give several to check each, e.g. mappings/itac.yaml "
        "mappings/opales.yaml",
    )
    check.add_argument(
        "--dictionary",
        help="data dictionary file or bundled name (itac, opales) to check every mapping "
        "against (default: the one each mapping names)",
    )
    check.set_defaults(handler=_mapping_check)
    preview = mapping_commands.add_parser(
        "preview", help="run a mapping on the first rows of a delivery", allow_abbrev=False
    )
    preview.add_argument("mapping", type=Path)
    preview.add_argument("delivery", type=Path)
    preview.add_argument("--rows", type=int, default=5, help="source rows per target (default 5)")
    preview.add_argument(
        "--show-personal-data",
        action="store_true",
        help="show personal values in clear (for use inside the MDPH only)",
    )
    _add_password_option(preview)
    preview.set_defaults(handler=_mapping_preview)
    # The mapping is collected with nargs="+" so that a second one gets a clear error from the
    # handler, and the usage line still shows the single MAPPING that the command takes.
    coverage = mapping_commands.add_parser(
        "coverage",
        help="list the source columns and codes a mapping uses",
        usage="%(prog)s [-h] [-v] [--dictionary DICTIONARY] MAPPING",
        allow_abbrev=False,
    )
    coverage.add_argument(
        "mapping",
        type=Path,
        nargs="+",
        metavar="MAPPING",
        help="mapping file to cover, e.g. mappings/itac.yaml; one per command, so run the "
        "command again for each application",
    )
    coverage.add_argument(
        "--dictionary",
        help="data dictionary file or bundled name (itac, opales) to read the mapping against "
        "(default: the one the mapping names)",
    )
    coverage.set_defaults(handler=_mapping_coverage)
    return parser


def _add_password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-file",
        type=Path,
        help="file holding the delivery password (mode 600); default: $MDPH_DELIVERY_PASSWORD, "
        "else a prompt",
    )


def _pairs(values: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        application, separator, path = value.partition("=")
        if not separator or not application or not path:
            raise MdphRepriseError(f"{option} {value!r}: expected APP=FILE, e.g. ITAC=itac.yaml")
        pairs[application.upper()] = path
    return pairs


def _make_output_folder(output: Path) -> None:
    """Create the --output folder (mode 0700), or raise MdphRepriseError naming the problem."""
    if output.exists() and not output.is_dir():
        raise MdphRepriseError(
            f"--output {output}: is a file, not a folder; give a folder for the database and "
            "the reports"
        )
    try:
        output.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise MdphRepriseError(
            f"--output {output}: cannot create the folder: {error.strerror}; choose another "
            "folder or fix the permissions of its parent"
        ) from None


def _run(args) -> int:
    from migration.delivery.password import read_password
    from migration.run import (
        STATUS_REMOVALS_REJECTED,
        RunOptions,
        default_workers,
        run_migration,
    )

    output = args.output.resolve()
    if args.target:
        from migration.target.engine import refuse_password_argument

        refuse_password_argument(args.target)
    target = args.target or os.environ.get(TARGET_ENV)
    if not target:
        # The default database contains personal data, so its folder is private to the user.
        _make_output_folder(output)
        target = f"sqlite:///{output / 'mdph_reprise.sqlite3'}"
    reports = (args.reports or output / "rapports").resolve()
    options = RunOptions(
        delivery=args.delivery,
        target_url=target,
        reports_dir=reports,
        mappings={app: Path(path) for app, path in _pairs(args.mapping, "--mapping").items()},
        dictionaries=_pairs(args.dictionary, "--dictionary"),
        workdir_parent=args.workdir,
        keep_plaintext=args.keep_plaintext,
        language=args.lang,
        show_personal_data=args.show_personal_data,
        workers=args.workers or default_workers(),
        allow_removals=args.allow_removals,
        references={
            file: path
            for file, path in (("FINESS.csv", args.finess), ("RAMSESE.csv", args.ramsese))
            if path is not None
        },
    )
    password = read_password(args.password_file)
    steps = iter(range(1, 100))

    def progress(step: str, message: str) -> None:
        global _load_committed
        # The run reports the loading step once the load transaction has committed.
        _load_committed = _load_committed or step == "loading"
        _raise_if_stopped()
        print(f"[{next(steps)}] {step}: {message}", file=sys.stderr, flush=True)

    outcome = run_migration(options, password, progress)
    _print_table_counts(outcome.summary)
    if outcome.succeeded:
        print(f"database: {outcome.summary['target']}")
    for kind, path in outcome.reports.items():
        print(f"{kind} report: {path}")
    if outcome.status == STATUS_REMOVALS_REJECTED:
        # The target most likely contains another delivery: one error line and exit 2, as for
        # other input that the run cannot process.
        print(f"error: {outcome.summary['load_error']}", file=sys.stderr)
        return EXIT_USAGE
    if not outcome.succeeded:
        for problem in outcome.summary.get("blocking", []):
            print(f"blocking: {problem}", file=sys.stderr)
        print(f"run {outcome.status}: nothing was loaded; see the report", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _print_table_counts(summary: dict) -> None:
    loaded = summary.get("loaded", True)
    header = "loaded" if loaded else "to load"
    print(f"{'table':<28} {'read':>8} {header:>8} {'rejected':>8} {'filtered':>8}  ok")
    for table in summary["tables"]:
        name = f"{table['application']}.{table['table']}"
        mark = "yes" if table["reconciled"] else "NO"
        count = table["loaded"] if loaded else table.get("would_load", 0)
        print(
            f"{name:<28} {table['read']:>8} {count:>8} {table['rejected']:>8} "
            f"{table['filtered']:>8}  {mark}"
        )


def _mapping_check(args) -> int:
    from migration.dictionary.model import load_dictionary
    from migration.mapping.checks import check_mapping, merge_key_warnings
    from migration.mapping.errors import MappingFileError, MappingSyntaxError
    from migration.mapping.language import load_mapping, load_named_dictionary
    from migration.target.schema import load_target_schema

    schema = load_target_schema()
    # A dictionary that cannot be loaded, whether given with --dictionary or named in a
    # mapping, is input that cannot be processed (exit 2), as is a mapping file that cannot be
    # read, is not UTF-8 or is not valid YAML. Only the content of a mapping gives problems
    # (exit 1).
    given_dictionary = load_dictionary(args.dictionary) if args.dictionary else None
    failed = False
    for path in args.mappings:
        try:
            mapping = load_mapping(path)
        except (MappingFileError, MappingSyntaxError):
            raise
        except MdphRepriseError as error:
            problems = [error]
        else:
            dictionary = given_dictionary or load_named_dictionary(mapping)
            problems = check_mapping(mapping, dictionary, schema)
            # A warning does not fail the check: merging rows by key can be right.
            for warning in merge_key_warnings(mapping, dictionary, schema):
                print(warning)
        for problem in problems:
            print(problem)
        failed = failed or bool(problems)
        if not problems:
            print(f"{path}: ok")
    return EXIT_FAILED if failed else EXIT_OK


def _mapping_preview(args) -> int:
    from migration.delivery.password import read_password
    from migration.mapping.preview import format_preview, preview_mapping

    if args.rows < 1:
        raise MdphRepriseError(f"--rows {args.rows}: give a number of rows of 1 or more")
    password = read_password(args.password_file)
    previews = preview_mapping(
        args.mapping, args.delivery, password, args.rows, args.show_personal_data
    )
    print(format_preview(previews))
    return EXIT_OK


def _mapping_coverage(args) -> int:
    import json

    from migration.dictionary.model import load_dictionary
    from migration.mapping.checks import check_mapping
    from migration.mapping.coverage import mapping_coverage
    from migration.mapping.errors import MappingError, MappingSyntaxError
    from migration.mapping.language import load_mapping, load_named_dictionary
    from migration.target.schema import load_target_schema

    if len(args.mapping) > 1:
        raise MdphRepriseError(
            f"mapping coverage takes one mapping file, not {len(args.mapping)} "
            f"({', '.join(map(str, args.mapping))}); run it once per mapping"
        )
    path = args.mapping[0]
    try:
        mapping = load_mapping(path)
    except MappingSyntaxError:
        # A file that is not UTF-8 or not valid YAML cannot be loaded (exit 2), as in
        # `mapping check`.
        raise
    except MappingError as error:
        # Invalid content is a problem of the mapping, as in `mapping check` (exit 1).
        return _print_problems_first(path, [error])
    if args.dictionary:
        dictionary = load_dictionary(args.dictionary)
    else:
        dictionary = load_named_dictionary(mapping)
    schema = load_target_schema()
    # The coverage of a mapping that reads unknown columns would list the right ones as unused.
    problems = check_mapping(mapping, dictionary, schema, coverage=False)
    if problems:
        return _print_problems_first(path, problems)
    coverage = mapping_coverage(mapping, dictionary, schema)
    print(json.dumps(coverage, ensure_ascii=False, indent=2))
    unused = any(table["unused"] for table in coverage["source_tables"].values())
    return EXIT_FAILED if unused or coverage["unmapped_tables"] else EXIT_OK


def _print_problems_first(path: Path, problems: list) -> int:
    """Print the problems of a mapping in place of its coverage and return exit code 1."""
    for problem in problems:
        print(problem, file=sys.stderr)
    print(
        f"{path}: fix these problems first (mdph-reprise mapping check), then read the coverage",
        file=sys.stderr,
    )
    return EXIT_FAILED


def command() -> int:
    """Run the command line as the `mdph-reprise` command, in a process of its own.

    Python's cycle collector walks every container object that lives in the process. The
    objects of the imported libraries live as long as the process, so they are frozen: no
    collection walks them again, the final one at exit included. A run allocates millions of
    short-lived containers, and the default threshold (a young collection every 700) made
    the collector walk them again and again. A collection every 50,000 of them frees the
    rare cycles as surely. The worker processes, forked from this one, inherit both
    (docs/benchmarks.md gives what they save).
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        return main()
    finally:
        # What the run leaves is freed by the end of the process, without a final walk.
        gc.freeze()


if __name__ == "__main__":
    sys.exit(command())
