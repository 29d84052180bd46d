"""Read a SHA256SUMS manifest and check the delivered files against it.

Two line layouts are read, the ones ``sha256sum`` writes:

- GNU: ``<64 hex digits>  <path>`` (text mode) or ``<64 hex digits> *<path>`` (binary mode).
  A line starting with a backslash has ``\\\\``, ``\\n`` and ``\\r`` escapes in its path.
- BSD (``sha256sum --tag``, ``shasum``): ``SHA256 (<path>) = <64 hex digits>``.

Paths are relative to the folder holding the manifest and are stored with ``/`` separators.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from migration.delivery.errors import ManifestError

logger = logging.getLogger(__name__)

MANIFEST_NAME = "SHA256SUMS"
DEFAULT_CHUNK_SIZE = 1 << 20
# Number of failing files named in one error message; the others are counted.
MAX_FILES_IN_MESSAGE = 10

_GNU_LINE = re.compile(r"(?P<digest>[0-9A-Fa-f]{64}) (?P<mode>[ *])(?P<path>.+)")
_BSD_LINE = re.compile(r"SHA256 \((?P<path>.+)\) = (?P<digest>[0-9A-Fa-f]{64})")
_ESCAPES = {"\\\\": "\\", "\\n": "\n", "\\r": "\r"}


@dataclass(frozen=True)
class ManifestEntry:
    """One line of a manifest: relative path, lower-case SHA-256 and line number."""

    path: str
    sha256: str
    line: int


def sha256_file(path: Path, chunk_size: int = DEFAULT_CHUNK_SIZE) -> str:
    """Return the lower-case hex SHA-256 of a file, read in chunks of ``chunk_size`` bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for chunk in iter(lambda: stream.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(path: Path) -> dict[str, str]:
    """Read a SHA256SUMS file into ``{relative path: lower-case hex SHA-256}``.

    Raises:
        ManifestError: The file is missing or not UTF-8, a line is not a SHA-256 line, a path
            leaves the delivery folder, or a path is listed twice with different checksums.
    """
    return {entry.path: entry.sha256 for entry in read_manifest_entries(path).values()}


def read_manifest_entries(path: Path) -> dict[str, ManifestEntry]:
    """Read a SHA256SUMS file like ``read_manifest``, keeping each entry's line number."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"{path}: manifest not found") from None

    entries: dict[str, ManifestEntry] = {}
    for number, raw_line in enumerate(raw.splitlines(), start=1):
        where = f"{path.name}, line {number}"
        try:
            line = raw_line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            raise ManifestError(f"{where}: not UTF-8 text") from None
        if not line.strip():
            continue

        entry = _parse_line(line, number, where)
        previous = entries.get(entry.path)
        if previous is not None and previous.sha256 != entry.sha256:
            raise ManifestError(
                f"{where}: {entry.path} is already listed on line {previous.line} with another "
                "checksum; ask the sender for a corrected manifest"
            )
        entries.setdefault(entry.path, entry)
    return entries


def _parse_line(line: str, number: int, where: str) -> ManifestEntry:
    escaped = line.startswith("\\")
    text = line[1:] if escaped else line
    match = _GNU_LINE.fullmatch(text) or _BSD_LINE.fullmatch(text)
    if match is None:
        raise ManifestError(
            f"{where}: not a SHA-256 line; expected '<64 hex digits>  <path>' as written by "
            "sha256sum"
        )
    name = match["path"]
    if escaped:
        name = re.sub(r"\\[\\nr]", lambda found: _ESCAPES[found.group()], name)
    else:
        # A manifest written on Windows may use backslashes as separators.
        name = name.replace("\\", "/")
    return ManifestEntry(_normalise_path(name, where), match["digest"].lower(), number)


def _normalise_path(name: str, where: str) -> str:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ManifestError(
            f"{where}: the path {name!r} is not inside the delivery folder; manifest paths must "
            "be relative, without '..'"
        )
    return relative.as_posix()


def manifest_statuses(
    delivery_dir: Path,
    entries: Iterable[ManifestEntry],
    *,
    progress: Callable[..., object] | None = None,
) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Compute the SHA-256 of every listed file and compare it with the manifest, raising nothing.

    Returns:
        ``({relative path: (status, SHA-256)}, [paths listed but missing])`` where status is
        ``"ok"`` or ``"mismatch"``.
    """
    statuses: dict[str, tuple[str, str]] = {}
    missing: list[str] = []
    for entry in entries:
        target = Path(delivery_dir, *PurePosixPath(entry.path).parts)
        if progress is not None:
            progress("verify", path=entry.path)
        if not target.is_file():
            missing.append(entry.path)
            continue
        actual = sha256_file(target)
        statuses[entry.path] = ("ok" if actual == entry.sha256 else "mismatch", actual)
        if actual == entry.sha256:
            logger.debug("%s matches %s", entry.path, MANIFEST_NAME)
    return statuses, missing


def check_manifest(
    delivery_dir: Path,
    entries: Iterable[ManifestEntry],
    *,
    progress: Callable[..., object] | None = None,
) -> dict[str, str]:
    """Compute the SHA-256 of every listed file and compare it with the manifest.

    Every file is checked before the error is raised, so one error names all the missing and
    altered files.

    Args:
        delivery_dir: Folder the manifest paths are relative to.
        entries: Entries to check.
        progress: Called as ``progress("verify", path=...)`` before each file is hashed.

    Returns:
        ``{relative path: SHA-256}`` of the checked files.

    Raises:
        ManifestError: A listed file is missing or has another checksum.
    """
    entries = list(entries)
    statuses, missing = manifest_statuses(delivery_dir, entries, progress=progress)
    problems: list[str] = []
    for entry in entries:
        if entry.path in missing:
            problems.append(
                f"{entry.path} is listed on line {entry.line} of {MANIFEST_NAME} but missing"
            )
        elif statuses[entry.path][0] == "mismatch":
            problems.append(
                f"{entry.path} does not match its SHA-256 on line {entry.line} of "
                f"{MANIFEST_NAME} (damaged or altered in transit)"
            )

    if problems:
        listed = problems[:MAX_FILES_IN_MESSAGE]
        if len(problems) > len(listed):
            listed.append(f"and {len(problems) - len(listed)} more")
        raise ManifestError(
            f"{delivery_dir}: the delivery fails its manifest: {'; '.join(listed)}. "
            "Nothing was decrypted; ask the sender for a new copy of these files"
        )
    return {path: digest for path, (_, digest) in statuses.items()}
