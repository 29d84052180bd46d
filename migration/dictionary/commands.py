"""The `mdph-reprise dictionary` commands: import a dictionary from a sheet, export it to one.

- `dictionary import FILE --out DICTIONARY.yaml` reads an XLSX workbook, a CSV file of columns
  (with its companion files) or a Data Package `.json`, and writes the YAML dictionary.
- `dictionary export DICTIONARY --out FILE` writes a dictionary (a YAML file or a bundled name)
  as `.xlsx`, `.csv` files, a Data Package `.json` or canonical `.yaml`, by the suffix of FILE.

Handlers return 0 on success, and 1 when the input has findings: they are printed one per line
and nothing is written. Input that cannot be read raises a `DictionaryError`, which the CLI
turns into exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from migration.dictionary.errors import DictionaryError, DictionaryImportError

# The handlers import the readers and writers, because the CLI imports this module to build
# its parser for every command, and a run needs none of them.

EXIT_OK, EXIT_FINDINGS = 0, 1
IMPORT_SUFFIXES = (".xlsx", ".csv", ".json")
EXPORT_SUFFIXES = (".xlsx", ".csv", ".json", ".yaml", ".yml")


def add_dictionary_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `dictionary` command and its `import` and `export` subcommands.

    Each subcommand sets `handler`, a function of the parsed arguments returning the exit code.
    """
    dictionary = subparsers.add_parser(
        "dictionary", help="import or export data dictionaries", allow_abbrev=False
    )
    commands = dictionary.add_subparsers(dest="dictionary_command", required=True)

    importer = commands.add_parser(
        "import",
        help="write a YAML dictionary from an XLSX, CSV or Data Package file",
        allow_abbrev=False,
    )
    importer.add_argument(
        "file", type=Path, help="XLSX workbook, CSV file of columns, or datapackage.json"
    )
    importer.add_argument("--out", type=Path, required=True, help="YAML dictionary to write")
    importer.add_argument(
        "--codes", type=Path, help="CSV file of code lists (default: NAME_codes.csv next to FILE)"
    )
    importer.add_argument(
        "--tables", type=Path, help="CSV file of tables (default: NAME_tables.csv next to FILE)"
    )
    importer.add_argument(
        "--checks",
        type=Path,
        help="CSV file of plausibility checks (default: NAME_checks.csv next to FILE)",
    )
    importer.add_argument(
        "--about",
        type=Path,
        help="CSV file of dictionary properties (default: NAME_about.csv next to FILE)",
    )
    importer.add_argument(
        "--application", help="application name, e.g. ITAC (overrides the file's own)"
    )
    importer.add_argument(
        "--encoding",
        default="utf-8-sig",
        help="encoding of CSV files (default: UTF-8, with or without byte order mark)",
    )
    importer.set_defaults(handler=run_import)

    exporter = commands.add_parser(
        "export",
        help="write a dictionary as XLSX, CSV, a Data Package or YAML",
        allow_abbrev=False,
    )
    exporter.add_argument(
        "dictionary", help="dictionary YAML file, or a bundled name (itac, opales)"
    )
    exporter.add_argument(
        "--out",
        type=Path,
        required=True,
        help="file to write; its suffix picks the format: .xlsx, .csv, .json, .yaml",
    )
    exporter.set_defaults(handler=run_export)
    return dictionary


def run_import(args: argparse.Namespace) -> int:
    """Import a dictionary file and write it as YAML; return 1 and write nothing on findings."""
    from migration.dictionary.frictionless import read_data_package
    from migration.dictionary.sheets import read_sheets
    from migration.dictionary.writer import write_dictionary

    source: Path = args.file
    suffix = source.suffix.lower()
    if suffix not in IMPORT_SUFFIXES:
        raise DictionaryError(
            f"{source}: cannot import a {source.suffix or 'suffix-less'} file; give a .xlsx, "
            ".csv or .json (Data Package) file"
        )
    if args.out.suffix.lower() not in (".yaml", ".yml"):
        raise DictionaryError(f"--out {args.out}: the dictionary is written as .yaml")
    try:
        if suffix == ".json":
            document = read_data_package(source, application=args.application)
        else:
            document = read_sheets(
                source,
                codes=args.codes,
                tables=args.tables,
                checks=args.checks,
                about=args.about,
                application=args.application,
                encoding=args.encoding,
            )
        dictionary = write_dictionary(document, args.out, source=str(source))
    except DictionaryImportError as error:
        for finding in error.findings:
            print(finding, file=sys.stderr)
        print(
            f"{source}: {len(error.findings)} problem(s); {args.out} was not written",
            file=sys.stderr,
        )
        return EXIT_FINDINGS
    columns = sum(len(table.columns) for table in dictionary.tables.values())
    print(
        f"{args.out}: {dictionary.application} dictionary, {len(dictionary.tables)} tables, "
        f"{columns} columns, {len(dictionary.code_lists)} code lists"
    )
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    """Export a dictionary in the format given by the suffix of `--out`."""
    from migration.dictionary.frictionless import write_data_package
    from migration.dictionary.model import load_dictionary
    from migration.dictionary.sheets import export_sheets
    from migration.dictionary.writer import document_from_dictionary, write_dictionary

    dictionary = load_dictionary(args.dictionary)
    out: Path = args.out
    suffix = out.suffix.lower()
    if suffix in (".xlsx", ".csv"):
        written = export_sheets(dictionary, out)
    elif suffix == ".json":
        written = [write_data_package(dictionary, out)]
    elif suffix in (".yaml", ".yml"):
        document = document_from_dictionary(dictionary)
        written = [write_dictionary(document, out, source=str(dictionary.path)).path]
    else:
        raise DictionaryError(
            f"--out {out}: unknown format {out.suffix or '(no suffix)'}; use one of "
            + ", ".join(EXPORT_SUFFIXES)
        )
    for path in written:
        print(path)
    return EXIT_OK
