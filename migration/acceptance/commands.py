"""Command-line wiring of ``mdph-reprise accept`` and ``mdph-reprise decrypt``.

``migration.cli`` adds these sub-commands with ``add_accept_parser`` and ``add_decrypt_parser``.
Each parser's ``handler`` default is the function to call with the parsed arguments. It returns
the exit code: 0 for a conforming delivery, 1 when defects are found (for ``accept``, a claim is
due). Input that cannot be processed raises ``MdphRepriseError``, which the CLI prints with exit
code 2.
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
from pathlib import Path
from typing import TextIO

from migration.delivery.archives import ArchiveLimits
from migration.errors import MdphRepriseError

EXIT_OK, EXIT_FAILED = 0, 1
# Files smaller than this decrypt too fast for a progress bar to help.
PROGRESS_MIN_BYTES = 8 << 20
_SIZE = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[KMGT]?)(?:I?B)?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def add_accept_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``accept DELIVERY --received YYYY-MM-DD --reports DIR`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "accept",
        help="check a delivery and write its acceptance report (rapport de recette)",
        description=(
            "Decrypt a delivery into a private folder, check every file, and write the "
            "acceptance report (HTML, JSON) with the claim deadline and a draft claim letter. "
            "Exit code 0: conforming delivery; 1: defects found, a claim is due; 2: the "
            "delivery cannot be processed."
        ),
        allow_abbrev=False,
    )
    parser.add_argument("delivery", type=Path, help="delivery folder (with livraison.yaml)")

    parser.add_argument(
        "--received",
        type=iso_date,
        required=True,
        metavar="YYYY-MM-DD",
        help="date the MDPH received the delivery; the 15 working days count from the next day",
    )
    parser.add_argument(
        "--reports", type=Path, required=True, help="folder for the acceptance report"
    )
    parser.add_argument(
        "--departement",
        help="département whose public holidays count (default: livraison.yaml, else the logs)",
    )

    parser.add_argument(
        "--dictionary",
        action="append",
        default=[],
        metavar="APP=FILE",
        help="data dictionary of an application, e.g. OPALES=my_opales.yaml",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="parent of the private folder for decrypted files (default: system temp)",
    )
    parser.add_argument(
        "--keep-plaintext",
        action="store_true",
        help="keep the decrypted files after the check (in the private folder)",
    )
    add_password_option(parser)
    add_limit_options(parser)
    parser.set_defaults(handler=run_accept)
    return parser


def add_decrypt_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``decrypt DELIVERY --out DIR`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "decrypt",
        help="decrypt and check a delivery into a folder",
        description=(
            "Decrypt every file of a delivery into OUT/<APPLICATION>/ (folder mode 0700, files "
            "0600), with a progress bar on large files, then check them against the data "
            "dictionaries and extraction logs. A file that cannot be decrypted stops the "
            "command and leaves no plaintext (exit code 2); defects of decrypted files are "
            "printed and give exit code 1, and the files stay in OUT."
        ),
        allow_abbrev=False,
    )
    parser.add_argument("delivery", type=Path, help="delivery folder (with livraison.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the plaintext files")
    add_password_option(parser)
    add_limit_options(parser)
    parser.set_defaults(handler=run_decrypt)
    return parser


def add_password_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--password-file``; the password itself is never a command-line value."""
    parser.add_argument(
        "--password-file",
        type=Path,
        help="file holding the delivery password (mode 600); default: $MDPH_DELIVERY_PASSWORD, "
        "else a prompt",
    )


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--max-size`` and ``--max-ratio``, the decompression bomb limits."""
    defaults = ArchiveLimits()
    parser.add_argument(
        "--max-size",
        type=byte_size,
        default=defaults.max_total_size,
        metavar="SIZE",
        help="largest total plaintext of the delivery, e.g. 500M or 20G (default: 20G)",
    )
    parser.add_argument(
        "--max-ratio",
        type=float,
        default=defaults.max_ratio,
        metavar="N",
        help=f"largest compression ratio of an archive entry (default: {defaults.max_ratio:g})",
    )


def iso_date(text: str) -> datetime.date:
    """Parse ``YYYY-MM-DD`` for argparse."""
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as error:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a valid calendar date ({error}); give a day that exists, "
                "e.g. 2008-10-15"
            ) from None
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date in the form YYYY-MM-DD, e.g. 2008-10-15"
        ) from None


def byte_size(text: str) -> int:
    """Parse a size such as ``500M``, ``20G`` or ``1048576`` (binary units) for argparse."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 500M, 20G or 1048576")
    size = int(float(match["number"]) * _UNITS[match["unit"].upper()])
    if size < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the size must be at least 1 byte")
    return size


def limits_from(args: argparse.Namespace) -> ArchiveLimits:
    """Build the archive limits from ``--max-size`` and ``--max-ratio``."""
    try:
        return ArchiveLimits(
            max_total_size=args.max_size, max_file_size=args.max_size, max_ratio=args.max_ratio
        )
    except MdphRepriseError as error:
        raise MdphRepriseError(f"--max-size or --max-ratio: {error}") from None


def dictionary_pairs(values: list[str]) -> dict[str, str]:
    """Parse repeated ``APP=FILE`` values."""
    pairs = {}
    for value in values:
        application, separator, path = value.partition("=")
        if not separator or not application or not path:
            raise MdphRepriseError(
                f"--dictionary {value!r}: expected APP=FILE, e.g. ITAC=itac.yaml"
            )
        pairs[application.upper()] = path
    return pairs


class ProgressBars:
    """``progress(event, **info)`` callback drawing a bar for each large delivered file.

    Bars go to ``stream`` (standard error) and only when it is a terminal: tqdm disables
    itself otherwise, so logs and pipes stay clean.
    """

    def __init__(self, stream: TextIO | None = None, min_bytes: int = PROGRESS_MIN_BYTES) -> None:
        self.stream = stream or sys.stderr
        self.min_bytes = min_bytes
        self.bar = None
        self.path: str | None = None

    def __call__(self, event: str, **info: object) -> None:
        if event == "bytes":
            self._advance(str(info["path"]), int(info["done"]), int(info["total"]))  # type: ignore[arg-type]
        elif event in ("decrypt", "decrypted", "failed"):
            self.close()

    def _advance(self, path: str, done: int, total: int) -> None:
        if total < self.min_bytes:
            return
        if self.bar is None or path != self.path:
            from tqdm import tqdm

            self.close()
            self.path = path
            self.bar = tqdm(
                total=total,
                desc=path,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=self.stream,
                disable=None,
                leave=False,
            )
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            self.path = None


def run_accept(args: argparse.Namespace) -> int:
    """Run ``mdph-reprise accept``; return 0 when conforming, 1 when a claim is due."""
    from migration.acceptance.report import accept_delivery
    from migration.delivery.password import read_password

    limits = limits_from(args)
    dictionaries = dictionary_pairs(args.dictionary)
    password = read_password(args.password_file)
    bars = ProgressBars()
    try:
        outcome = accept_delivery(
            args.delivery,
            password,
            args.received,
            args.reports,
            departement=args.departement,
            workdir_parent=args.workdir,
            keep_plaintext=args.keep_plaintext,
            limits=limits,
            dictionaries=dictionaries,
            progress=bars,
        )
    finally:
        bars.close()
    report = outcome.report
    deadline = report["delai"]
    for warning in report["avertissements"]:
        print(f"warning: {warning['detail']}", file=sys.stderr)
    print(f"verdict: {report['verdict']}")
    print(
        f"claim deadline: {deadline['date_limite']} ({deadline['jours_ouvres']} working days "
        f"after {deadline['reception']}, {deadline['zone']} calendar)"
    )
    for defect in report["defauts"]:
        print(f"defect: {defect['detail']}")
    for kind, path in outcome.paths.items():
        print(f"{kind}: {path}")
    return EXIT_OK if outcome.conforming else EXIT_FAILED


def run_decrypt(args: argparse.Namespace) -> int:
    """Run ``mdph-reprise decrypt``; return 1 when a decrypted file has a defect."""
    from migration.delivery.intake import decrypt_delivery
    from migration.delivery.inventory import DEFECT, inventory_delivery
    from migration.delivery.password import read_password

    limits = limits_from(args)
    password = read_password(args.password_file)
    bars = ProgressBars()
    try:
        delivery = decrypt_delivery(args.delivery, password, args.out, bars, limits=limits)
    finally:
        bars.close()
    for application in delivery.applications.values():
        for decrypted in application.files.values():
            print(f"{decrypted.plaintext_path}  sha256 {decrypted.sha256_plaintext}")
    inventory = inventory_delivery(delivery)
    defects = [finding for finding in inventory.all_findings if finding.severity == DEFECT]
    for finding in inventory.all_findings:
        label = "defect" if finding.severity == DEFECT else "remark"
        print(f"{label}: {finding.message}", file=sys.stderr)
    return EXIT_FAILED if defects else EXIT_OK
