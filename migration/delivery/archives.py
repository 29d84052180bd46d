"""Unpack ZIP, 7-Zip, tar and gzip files safely into a private folder.

Password-protected ZIP files may use the legacy ZipCrypto cipher or WinZip AES (``pyzipper``
reads both); 7-Zip archives may use AES-256 with or without encrypted headers (``py7zr``).

Every archive is checked before and while it is unpacked:

- an entry whose name is absolute, contains a ``..`` component, a drive letter or a NUL byte is
  rejected, and so is a symbolic or hard link, a device or a FIFO;
- the declared sizes, then the bytes actually written, must stay under ``ArchiveLimits``:
  size of one file, total size of the delivery, number of entries and compression ratio.

Entries are written flat, under their base name, because an application folder has no
sub-folders: two entries with the same base name are rejected.
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from migration.delivery.errors import (
    ArchiveLimitError,
    DeliveryError,
    PasswordOrDamageError,
    TruncatedFileError,
    UnsafeArchiveError,
)
from migration.delivery.workdir import open_private_file

GIB = 1 << 30
MIB = 1 << 20
COPY_CHUNK_SIZE = 1 << 20

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ArchiveLimits:
    """Limits that stop a decompression bomb before it fills the disk.

    ``max_ratio`` applies to files larger than ``ratio_min_size``: tiny files compress
    unpredictably. ``max_depth`` bounds nesting, such as a tar inside an encrypted file.
    """

    # NOTE: these defaults are estimates. A département's whole ITAC or OPALES extraction
    # is expected well under 20 GiB, and CSV text rarely compresses beyond 20:1, while a zip
    # bomb reaches 1000:1. Raise them with the --max-size and --max-ratio options if needed.
    max_total_size: int = 20 * GIB
    max_file_size: int = 20 * GIB
    max_ratio: float = 200.0
    ratio_min_size: int = 1 * MIB
    max_entries: int = 10_000
    max_depth: int = 3

    def __post_init__(self) -> None:
        for name in ("max_total_size", "max_file_size", "ratio_min_size", "max_entries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DeliveryError(f"archive limit {name} must be a whole number of at least 1")
        if self.max_ratio < 1:
            raise DeliveryError("archive limit max_ratio must be at least 1")


class SizeBudget:
    """Bytes still allowed for the plaintext of a whole delivery."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.used = 0

    def spend(self, size: int, label: str) -> None:
        """Count ``size`` more bytes written, or raise when the delivery total is exceeded."""
        self.used += size
        if self.used > self.limits.max_total_size:
            raise ArchiveLimitError(
                f"{label}: unpacking stopped: the delivery would exceed "
                f"{_format_size(self.limits.max_total_size)} of plaintext (--max-size); "
                "the archive may be a decompression bomb"
            )


def _format_size(size: int) -> str:
    if size >= GIB:
        return f"{size / GIB:.1f} GiB"
    if size >= MIB:
        return f"{size / MIB:.1f} MiB"
    return f"{size} bytes"


class LimitedWriter:
    """Private file writer that hashes its data and enforces the size and ratio limits.

    ``compressed_size`` is what the data takes in the archive (``None`` when unknown); the
    ratio limit compares the bytes written with it.
    """

    def __init__(
        self,
        raw: BinaryIO,
        label: str,
        budget: SizeBudget,
        compressed_size: int | None,
        path: Path | None = None,
    ) -> None:
        self.raw = raw
        self.path = path
        self.label = label
        self.budget = budget
        self.compressed_size = compressed_size
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        limits = self.budget.limits
        self.size += len(data)
        if self.size > limits.max_file_size:
            raise ArchiveLimitError(
                f"{self.label}: unpacking stopped: the file exceeds "
                f"{_format_size(limits.max_file_size)} (--max-size); the archive may be a "
                "decompression bomb"
            )
        if (
            self.compressed_size
            and self.size > limits.ratio_min_size
            and self.size > limits.max_ratio * self.compressed_size
        ):
            raise ArchiveLimitError(
                f"{self.label}: unpacking stopped: the compression ratio exceeds "
                f"{limits.max_ratio:g}:1 (--max-ratio); the archive may be a decompression bomb"
            )
        self.budget.spend(len(data), self.label)
        self.digest.update(data)
        return self.raw.write(data)


@dataclass
class UnpackedEntry:
    """A file written from an archive: its base name, entry path inside the archive, location."""

    name: str
    entry: str
    path: Path
    size: int
    sha256: str


def check_entry_name(name: str, label: str) -> str:
    """Return the base name of a safe archive entry, or raise for an unsafe one.

    Raises:
        UnsafeArchiveError: The name is absolute, has a drive letter, a ``..`` component or a
            NUL byte.
    """
    normalised = name.replace("\\", "/")
    parts = PurePosixPath(normalised).parts
    if (
        "\0" in name
        or normalised.startswith("/")
        or _DRIVE.match(normalised)
        or ".." in parts
        or not parts
    ):
        raise UnsafeArchiveError(
            f"{label}: unsafe archive entry {name!r} (absolute path or '..' leading outside the "
            "folder); nothing was unpacked, ask the sender for a clean archive"
        )
    return parts[-1]


def _reject_link(name: str, kind: str, label: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"{label}: archive entry {name!r} is a {kind}, which a delivery must not contain; "
        "nothing was unpacked, ask the sender for an archive of plain files"
    )


def _check_declared(
    entries: list[tuple[str, int, int | None]], label: str, limits: ArchiveLimits, archive_size: int
) -> None:
    """Check entry count, declared sizes and ratios before anything is written."""
    if len(entries) > limits.max_entries:
        raise ArchiveLimitError(
            f"{label}: the archive has {len(entries)} entries, more than the limit of "
            f"{limits.max_entries}; the archive may be a decompression bomb"
        )
    total = sum(size for _, size, _ in entries)
    for name, size, compressed in entries:
        if size > limits.max_file_size:
            raise ArchiveLimitError(
                f"{label}: entry {name!r} declares {_format_size(size)}, more than the limit of "
                f"{_format_size(limits.max_file_size)} (--max-size); the archive may be a "
                "decompression bomb"
            )
        if compressed and size > limits.ratio_min_size and size > limits.max_ratio * compressed:
            raise ArchiveLimitError(
                f"{label}: entry {name!r} declares a compression ratio of "
                f"{size / compressed:.0f}:1, more than {limits.max_ratio:g}:1 (--max-ratio); "
                "the archive may be a decompression bomb"
            )
    if total > limits.max_total_size:
        raise ArchiveLimitError(
            f"{label}: the archive declares {_format_size(total)} of files, more than the limit "
            f"of {_format_size(limits.max_total_size)} (--max-size)"
        )
    if total > limits.ratio_min_size and archive_size and total > limits.max_ratio * archive_size:
        raise ArchiveLimitError(
            f"{label}: the archive would unpack to {total / archive_size:.0f} times its size, "
            f"more than {limits.max_ratio:g}:1 (--max-ratio); the archive may be a "
            "decompression bomb"
        )


def _unique_names(names: list[tuple[str, str]], label: str) -> None:
    seen: dict[str, str] = {}
    for entry, base in names:
        if base in seen:
            raise UnsafeArchiveError(
                f"{label}: entries {seen[base]!r} and {entry!r} have the same file name; an "
                "application folder is flat, so ask the sender for an archive without duplicates"
            )
        seen[base] = entry


class _Staging:
    """Writes the entries of one archive into a private folder, as ``entry-<n>.part`` files."""

    def __init__(self, folder: Path, label: str, budget: SizeBudget) -> None:
        self.folder = folder
        self.label = label
        self.budget = budget
        self.count = 0

    def open(self, name: str, compressed: int | None) -> LimitedWriter:
        """Open the private file of the next entry; the caller closes ``writer.raw``."""
        self.count += 1
        path = self.folder / f"entry-{self.count}.part"
        raw = open_private_file(path)
        return LimitedWriter(raw, f"{self.label}: {name}", self.budget, compressed, path)

    @contextmanager
    def writer(self, name: str, compressed: int | None) -> Iterator[LimitedWriter]:
        writer = self.open(name, compressed)
        with writer.raw:
            yield writer


def _copy(source: BinaryIO, writer: LimitedWriter) -> None:
    for chunk in iter(lambda: source.read(COPY_CHUNK_SIZE), b""):
        writer.write(chunk)


# --- ZIP -----------------------------------------------------------------------------------


def unpack_zip(
    source: BinaryIO, label: str, password: str, folder: Path, budget: SizeBudget, size: int
) -> list[UnpackedEntry]:
    """Unpack a ZIP file (plain, ZipCrypto or WinZip AES) into ``folder``.

    Raises:
        DecryptionError: Wrong password, or a damaged or truncated archive.
        UnsafeArchiveError: An entry with an unsafe name, a link or a special file.
        ArchiveLimitError: A size, ratio or count limit is exceeded.
    """
    # pyzipper loads ciphers that only a ZIP delivery needs, so it is imported here.
    import pyzipper

    try:
        archive = pyzipper.AESZipFile(source)
    except (zipfile.BadZipFile, pyzipper.BadZipFile, OSError, EOFError, ValueError):
        raise TruncatedFileError(
            f"{label}: the ZIP file is truncated or damaged (no readable central directory); "
            "ask the sender for a new copy"
        ) from None
    with archive:
        members = []
        for info in archive.infolist():
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise _reject_link(info.filename, "symbolic link", label)
            if mode and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise _reject_link(info.filename, "special file", label)
            base = check_entry_name(info.filename, label)
            if not info.is_dir():
                members.append((info, base))
        _unique_names([(info.filename, base) for info, base in members], label)
        _check_declared(
            [(info.filename, info.file_size, info.compress_size) for info, _ in members],
            label,
            budget.limits,
            size,
        )
        if any(info.flag_bits & 0x1 for info, _ in members):
            # 7-Zip and WinZip encode AES passwords in UTF-8, and so does Info-ZIP on Linux.
            # NOTE: a ZipCrypto archive made on Windows may encode a non-ASCII password in the
            # OEM code page (cp850). Such a password fails here as a wrong password.
            archive.setpassword(password.encode("utf-8", "surrogateescape"))

        staging = _Staging(folder, label, budget)
        entries = []
        for info, base in members:
            with staging.writer(info.filename, info.compress_size) as writer:
                try:
                    with archive.open(info) as member:
                        _copy(member, writer)
                except RuntimeError as error:
                    if "password" in str(error).lower():
                        raise PasswordOrDamageError(label) from None
                    raise _damaged(label, info.filename) from None
                except (
                    zipfile.BadZipFile,
                    pyzipper.BadZipFile,
                    zlib.error,
                    EOFError,
                    lzma.LZMAError,
                    OSError,
                    ValueError,
                ):
                    raise _damaged(label, info.filename) from None
                except NotImplementedError as error:
                    raise DeliveryError(
                        f"{label}: entry {info.filename!r} uses a compression method this tool "
                        f"cannot read ({error}); ask the sender for a deflate or stored ZIP"
                    ) from None
            entries.append(_entry(base, info.filename, writer))
    return entries


def _damaged(label: str, entry: str) -> PasswordOrDamageError:
    return PasswordOrDamageError(label, f" (entry {entry!r} fails its integrity check)")


def _entry(base: str, entry: str, writer: LimitedWriter) -> UnpackedEntry:
    assert writer.path is not None
    return UnpackedEntry(base, entry, writer.path, writer.size, writer.digest.hexdigest())


# --- 7-Zip ---------------------------------------------------------------------------------


def unpack_7z(
    source: BinaryIO, label: str, password: str, folder: Path, budget: SizeBudget, size: int
) -> list[UnpackedEntry]:
    """Unpack a 7-Zip archive (plain, AES-256, with or without encrypted headers).

    Raises:
        DecryptionError: Wrong password, or a damaged or truncated archive.
        UnsafeArchiveError: An entry with an unsafe name, a link or a special file.
        ArchiveLimitError: A size, ratio or count limit is exceeded.
    """
    # Importing py7zr and the ciphers it loads took about 60 ms (python -X importtime on a
    # 2-core machine), which a delivery without 7-Zip archives no longer pays.
    from migration.delivery.sevenzip import unpack_seven_zip

    return unpack_seven_zip(source, label, password, folder, budget, size)


def _sanitized(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).as_posix()


# --- tar and gzip --------------------------------------------------------------------------


def unpack_tar(
    source: BinaryIO, label: str, folder: Path, budget: SizeBudget, size: int
) -> list[UnpackedEntry]:
    """Unpack an uncompressed tar file (a compressed one is gunzipped first).

    Raises:
        DecryptionError: A truncated or damaged tar file.
        UnsafeArchiveError: An entry with an unsafe name, a link or a special file.
        ArchiveLimitError: A size, ratio or count limit is exceeded.
    """
    try:
        archive = tarfile.open(fileobj=source, mode="r:")
        infos = archive.getmembers()
    except (tarfile.TarError, EOFError, OSError):
        raise TruncatedFileError(
            f"{label}: the tar file is truncated or damaged; ask the sender for a new copy"
        ) from None
    with archive:
        members = []
        for info in infos:
            if info.issym() or info.islnk():
                raise _reject_link(info.name, "link", label)
            if not (info.isreg() or info.isdir()):
                raise _reject_link(info.name, "special file", label)
            base = check_entry_name(info.name, label)
            if info.isreg():
                members.append((info, base))
        _unique_names([(info.name, base) for info, base in members], label)
        # A tar file does not compress: its ratio is 1, so only sizes are checked.
        declared = [(info.name, info.size, None) for info, _ in members]
        _check_declared(declared, label, budget.limits, 0)
        staging = _Staging(folder, label, budget)
        entries = []
        for info, base in members:
            with staging.writer(info.name, None) as writer:
                member = archive.extractfile(info)
                if member is None:
                    raise _damaged(label, info.name)
                try:
                    _copy(member, writer)
                except (tarfile.TarError, EOFError, OSError):
                    raise _damaged(label, info.name) from None
            if writer.size != info.size:
                raise _damaged(label, info.name)
            entries.append(_entry(base, info.name, writer))
    return entries


def gunzip(
    source: BinaryIO, label: str, destination: Path, budget: SizeBudget, size: int
) -> tuple[int, str]:
    """Decompress a gzip file into ``destination``; return the size and SHA-256 written.

    Raises:
        DecryptionError: A truncated or damaged gzip file (its CRC is checked).
        ArchiveLimitError: A size or ratio limit is exceeded.
    """
    with open_private_file(destination) as raw:
        writer = LimitedWriter(raw, label, budget, size)
        try:
            with gzip.GzipFile(fileobj=source, mode="rb") as stream:
                _copy(stream, writer)
        except (gzip.BadGzipFile, EOFError, zlib.error, OSError):
            raise TruncatedFileError(
                f"{label}: the gzip file is truncated or damaged; ask the sender for a new copy"
            ) from None
    return writer.size, writer.digest.hexdigest()
