"""Unpack 7-Zip archives with py7zr, for `migration.delivery.archives.unpack_7z`.

This module is separate so that py7zr, and the ciphers it loads, are imported only for a 7-Zip
delivery. The limits, the checks of entry names and the private files are those of
`archives`.
"""

from __future__ import annotations

import lzma
from pathlib import Path
from typing import BinaryIO

import py7zr
import py7zr.exceptions
from py7zr.io import Py7zIO, WriterFactory

from migration.delivery.archives import (
    LimitedWriter,
    SizeBudget,
    UnpackedEntry,
    _check_declared,
    _damaged,
    _entry,
    _format_size,
    _reject_link,
    _sanitized,
    _Staging,
    _unique_names,
    check_entry_name,
)
from migration.delivery.errors import (
    ArchiveLimitError,
    PasswordOrDamageError,
    UnsafeArchiveError,
)


class _SevenZipMember(Py7zIO):
    """py7zr writer that sends the bytes of one member to a ``LimitedWriter``."""

    def __init__(self, writer: LimitedWriter) -> None:
        self.writer = writer

    def write(self, s: bytes | bytearray) -> int:
        self.writer.write(bytes(s))
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        self.writer.raw.flush()

    def size(self) -> int:
        return self.writer.size

    def close(self) -> None:
        self.writer.raw.close()


class _SevenZipFactory(WriterFactory):
    """Opens one private file per member when py7zr starts writing it."""

    def __init__(self, staging: _Staging, compressed: dict[str, int | None]) -> None:
        self.staging = staging
        self.compressed = compressed
        self.writers: dict[str, LimitedWriter] = {}

    def create(self, filename: str) -> Py7zIO:
        writer = self.staging.open(filename, self.compressed.get(filename))
        self.writers[filename] = writer
        return _SevenZipMember(writer)

    def close_all(self) -> None:
        for writer in self.writers.values():
            writer.raw.close()


_SEVEN_ZIP_ERRORS = (
    py7zr.exceptions.ArchiveError,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
)


def unpack_seven_zip(
    source: BinaryIO, label: str, password: str, folder: Path, budget: SizeBudget, size: int
) -> list[UnpackedEntry]:
    """Unpack a 7-Zip archive (plain, AES-256, with or without encrypted headers).

    `migration.delivery.archives.unpack_7z` calls this, so py7zr is imported only then.

    Raises:
        DecryptionError: Wrong password, or a damaged or truncated archive.
        UnsafeArchiveError: An entry with an unsafe name, a link or a special file.
        ArchiveLimitError: A size, ratio or count limit is exceeded.
    """
    try:
        archive = py7zr.SevenZipFile(source, password=password)
        infos = archive.list()
    except py7zr.exceptions.PasswordRequired:
        raise PasswordOrDamageError(label) from None
    except _SEVEN_ZIP_ERRORS:
        # With encrypted headers a wrong password makes the header itself unreadable.
        raise PasswordOrDamageError(label, " (the 7-Zip headers cannot be read)") from None

    with archive:
        members = []
        for info in infos:
            if info.is_symlink:
                raise _reject_link(info.filename, "symbolic link", label)
            base = check_entry_name(info.filename, label)
            if not info.is_directory:
                members.append((info, base))
        _unique_names([(info.filename, base) for info, base in members], label)
        _check_declared(
            [(info.filename, info.uncompressed, info.compressed) for info, _ in members],
            label,
            budget.limits,
            size,
        )
        staging = _Staging(folder, label, budget)
        factory = _SevenZipFactory(staging, {info.filename: info.compressed for info, _ in members})
        archive.max_extract_size = budget.limits.max_total_size - budget.used
        try:
            archive.extractall(factory=factory)
        except (ArchiveLimitError, UnsafeArchiveError):
            raise
        except py7zr.exceptions.DecompressionBombError:
            raise ArchiveLimitError(
                f"{label}: unpacking stopped: the delivery would exceed "
                f"{_format_size(budget.limits.max_total_size)} of plaintext (--max-size)"
            ) from None
        except _SEVEN_ZIP_ERRORS:
            raise PasswordOrDamageError(label) from None
        finally:
            factory.close_all()

        entries = []
        for info, base in members:
            writer = factory.writers.get(_sanitized(info.filename))
            if writer is None:
                # py7zr opens no writer for an empty member.
                with staging.writer(info.filename, 0) as writer:
                    pass
            if writer.size != info.uncompressed:
                raise _damaged(label, info.filename)
            entries.append(_entry(base, info.filename, writer))
    return entries
