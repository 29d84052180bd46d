"""Turn one delivered file into its plaintext files, layer by layer, from the bytes alone.

A delivered file may be an ``openssl enc`` or OpenPGP file, a ZIP or 7-Zip archive (with or
without a password), a tar or a gzip file, and these nest: ``ITAC.tar.gz.gpg`` is OpenPGP, then
gzip, then tar. Each layer is recognised by ``detect_format`` on its bytes; the name only gives
the plaintext name of single-file layers (``DOSSIER.csv.enc`` becomes ``DOSSIER.csv``).

Every intermediate and final file is written into the caller's private staging folder with mode
0600, through ``LimitedWriter``, so the size and ratio limits hold at every layer. On failure
the caller removes the staging folder: no partial plaintext remains.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from migration.delivery.archives import (
    ArchiveLimits,
    LimitedWriter,
    SizeBudget,
    gunzip,
    unpack_7z,
    unpack_tar,
    unpack_zip,
)
from migration.delivery.crypto import (
    OPENPGP_FORMATS,
    OPENSSL_FORMATS,
    SUPPORTED_FORMATS,
    EncryptionParameters,
    decrypt_openssl_enc_stream,
    detect_format,
    ensure_decryptable,
    looks_like_text,
    probe_openssl_enc,
)
from migration.delivery.errors import (
    ArchiveLimitError,
    DecryptionError,
    PasswordOrDamageError,
    TruncatedFileError,
)
from migration.delivery.manifest import sha256_file
from migration.delivery.openpgp import decrypt_openpgp_stream
from migration.delivery.workdir import open_private_file

logger = logging.getLogger(__name__)

# Plaintext files with these suffixes must look like text once decrypted: openssl enc has no
# integrity check, so this is what catches a wrong password in the stream modes.
TEXT_SUFFIXES = (".csv", ".log", ".txt")
TEXT_SAMPLE_SIZE = 64 * 1024
# Suffixes removed from the name of a single-file layer to name its plaintext.
_LAYER_SUFFIXES = {
    ".enc": "",
    ".gpg": "",
    ".pgp": "",
    ".asc": "",
    ".aes": "",
    ".gz": "",
    ".tgz": ".tar",
}
# Office documents are ZIP files: they are delivered files, not archives to unpack.
_DOCUMENT_SUFFIXES = (".xlsx", ".xlsm", ".docx", ".ods", ".odt", ".jar")


@dataclass
class UnpackedFile:
    """A plaintext file produced from a delivered file.

    ``layers`` lists what was removed, outermost first (``"openssl-enc aes-256-cbc, ..."``,
    ``"tar"``). ``entry`` is the path inside the innermost archive, ``None`` for a file that was
    only decrypted.
    """

    name: str
    path: Path
    size: int
    sha256: str
    layers: tuple[str, ...]
    entry: str | None = None


def plaintext_name(name: str) -> str:
    """Name the plaintext of a single-file layer: ``DOSSIER.csv.enc`` gives ``DOSSIER.csv``."""
    lowered = name.lower()
    for suffix, replacement in _LAYER_SUFFIXES.items():
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)] + replacement
    return name


def expects_text(name: str) -> bool:
    """Whether a plaintext file of this name must be text (a table, a log)."""
    return name.lower().endswith(TEXT_SUFFIXES)


class OpenSSLParameters:
    """Finds the ``openssl enc`` parameters by trial once, then uses them for every file.

    Args:
        attempts: Candidates in order (``migration.delivery.config.encryption_attempts``).
        config_hint: Where to declare the parameters, named in the error of a failed trial.
    """

    def __init__(self, attempts: tuple[EncryptionParameters, ...], config_hint: str) -> None:
        self.attempts = attempts
        self.config_hint = config_hint
        self.found: EncryptionParameters | None = attempts[0] if len(attempts) == 1 else None

    def candidates(
        self, path: Path, password: str, expect_text: bool
    ) -> list[EncryptionParameters]:
        """Return the parameters worth a full decryption of ``path``, best first."""
        if self.found is not None:
            return [self.found]
        return [
            params
            for params in self.attempts
            if probe_openssl_enc(path, password, params, expect_text=expect_text)
        ]

    def trial_failed(self, label: str) -> PasswordOrDamageError:
        tried = "; ".join(params.describe() for params in self.attempts)
        return PasswordOrDamageError(
            label,
            f" (tried {tried})",
            f"; if the password is right, declare the encryption under chiffrement in "
            f"{self.config_hint}",
        )


ByteProgress = Callable[[int, int], None]


@dataclass
class UnpackContext:
    """Inputs of unpacking one delivered file: password, staging folder, budget, parameters."""

    password: str
    staging: Path
    budget: SizeBudget
    openssl: OpenSSLParameters
    progress: ByteProgress | None = None
    counter: list[int] = field(default_factory=lambda: [0])

    @property
    def limits(self) -> ArchiveLimits:
        return self.budget.limits

    def new_path(self) -> Path:
        self.counter[0] += 1
        return self.staging / f"layer-{self.counter[0]}.part"

    def discard(self, path: Path, size: int) -> None:
        """Delete an intermediate file and give its bytes back to the budget."""
        path.unlink(missing_ok=True)
        self.budget.used -= size


class _ProgressReader(io.RawIOBase):
    """Read-only file that reports how far it has been read, for progress bars."""

    def __init__(self, raw: BinaryIO, total: int, report: ByteProgress) -> None:
        self.raw = raw
        self.total = total
        self.report = report
        self.furthest = 0
        self.name = getattr(raw, "name", "")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        count = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self._moved()
        return count

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self._moved()
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        self.raw.close()
        super().close()

    def _moved(self) -> None:
        position = self.raw.tell()
        if position > self.furthest:
            self.furthest = position
            self.report(position, self.total)


def unpack_delivered_file(path: Path, label: str, context: UnpackContext) -> list[UnpackedFile]:
    """Decrypt and unpack one delivered file into ``context.staging``.

    Args:
        path: The delivered file.
        label: Its path relative to the delivery, used in messages.
        context: Password, staging folder, size budget and ``openssl enc`` parameters.

    Raises:
        DecryptionError: Wrong password, damaged or truncated file (``TruncatedFileError``).
        UnsafeArchiveError: An archive entry with an unsafe name, a link or a special file.
        ArchiveLimitError: A size, ratio, count or nesting limit is exceeded.
        DeliveryError: The file is plain text, empty, of an unknown format, or encrypted for an
            OpenPGP key pair.
        ToolMissingError: gpg is needed and missing.
    """
    file_format = detect_format(path)
    ensure_decryptable(file_format, label)
    size = path.stat().st_size
    with path.open("rb") as raw:
        source: BinaryIO = raw
        if context.progress is not None:
            source = io.BufferedReader(_ProgressReader(raw, size, context.progress))  # type: ignore[arg-type]
        return _open_layer(
            source, path, file_format, path.name, label, context, layers=(), depth=0, size=size
        )


def _open_layer(
    source: BinaryIO,
    path: Path,
    file_format: str,
    name: str,
    label: str,
    context: UnpackContext,
    *,
    layers: tuple[str, ...],
    depth: int,
    size: int,
) -> list[UnpackedFile]:
    if depth >= context.limits.max_depth:
        raise ArchiveLimitError(
            f"{label}: more than {context.limits.max_depth} nested archive or encryption "
            "layers; the file may be a decompression bomb"
        )
    if file_format in OPENSSL_FORMATS:
        output, written, params = _decrypt_openssl(source, path, name, label, context)
        layer = f"{file_format} {params.describe()}"
        return _next_layer(
            output, plaintext_name(name), label, context, layers + (layer,), depth, written, True
        )
    if file_format in OPENPGP_FORMATS:
        output = context.new_path()
        with open_private_file(output) as raw:
            writer = LimitedWriter(raw, label, context.budget, size, output)
            decrypt_openpgp_stream(source, writer, context.password, name=label)
        return _next_layer(
            output,
            plaintext_name(name),
            label,
            context,
            layers + (file_format,),
            depth,
            writer.size,
        )
    if file_format == "gzip":
        output = context.new_path()
        written, _ = gunzip(source, label, output, context.budget, size)
        return _next_layer(
            output, plaintext_name(name), label, context, layers + ("gzip",), depth, written
        )
    if file_format == "zip":
        entries = unpack_zip(source, label, context.password, context.staging, context.budget, size)
    elif file_format == "7z":
        entries = unpack_7z(source, label, context.password, context.staging, context.budget, size)
    else:
        entries = unpack_tar(source, label, context.staging, context.budget, size)
    results: list[UnpackedFile] = []
    for entry in entries:
        entry_label = f"{label}: {entry.entry}"
        for unpacked in _next_layer(
            entry.path,
            entry.name,
            entry_label,
            context,
            layers + (file_format,),
            depth,
            entry.size,
        ):
            if unpacked.entry is None:
                unpacked.entry = entry.entry
            results.append(unpacked)
    return results


def _next_layer(
    path: Path,
    name: str,
    label: str,
    context: UnpackContext,
    layers: tuple[str, ...],
    depth: int,
    size: int,
    without_integrity: bool = False,
) -> list[UnpackedFile]:
    """Unpack ``path`` further when it is itself encrypted or an archive, else keep it."""
    file_format = detect_format(path)
    nested = file_format in SUPPORTED_FORMATS and not name.lower().endswith(_DOCUMENT_SUFFIXES)
    if nested:
        with path.open("rb") as source:
            results = _open_layer(
                source,
                path,
                file_format,
                name,
                label,
                context,
                layers=layers,
                depth=depth + 1,
                size=size,
            )
        context.discard(path, size)
        return results
    if without_integrity and expects_text(name):
        _check_text(path, label)
    return [UnpackedFile(name, path, size, sha256_file(path), layers)]


def _decrypt_openssl(
    source: BinaryIO, path: Path, name: str, label: str, context: UnpackContext
) -> tuple[Path, int, EncryptionParameters]:
    """Decrypt one ``openssl enc`` layer, trying the candidate parameters in order."""
    expect_text = expects_text(plaintext_name(name))
    resolver = context.openssl
    trial = resolver.found is None
    candidates = resolver.candidates(path, context.password, expect_text)
    if not candidates:
        # No candidate fits. A full decryption with the first one separates a truncated file
        # from a wrong password.
        try:
            _attempt(source, resolver.attempts[0], label, context, expect_text, cleanup=True)
        except TruncatedFileError as error:
            if len(resolver.attempts) == 1:
                raise
            raise TruncatedFileError(
                f"{error}; if the file is complete, it may use a stream cipher (CTR, CFB, OFB, "
                f"ChaCha20): declare it under chiffrement.cipher in {resolver.config_hint}"
            ) from None
        except DecryptionError:
            pass
        raise resolver.trial_failed(label)

    last_error: DecryptionError | None = None
    for params in candidates:
        source.seek(0)
        try:
            output, written = _attempt(source, params, label, context, expect_text)
        except TruncatedFileError:
            raise
        except DecryptionError as error:
            last_error = error
            continue
        if trial:
            logger.info(
                "openssl enc parameters found by trial: %s fit %s", params.describe(), label
            )
        resolver.found = params
        return output, written, params
    if trial:
        raise resolver.trial_failed(label)
    assert last_error is not None
    raise last_error


def _attempt(
    source: BinaryIO,
    params: EncryptionParameters,
    label: str,
    context: UnpackContext,
    expect_text: bool,
    *,
    cleanup: bool = False,
) -> tuple[Path, int]:
    output = context.new_path()
    written = 0
    try:
        with open_private_file(output) as raw:
            writer = LimitedWriter(raw, label, context.budget, None, output)
            try:
                decrypt_openssl_enc_stream(
                    source, writer, context.password, params=params, name=label
                )
            finally:
                written = writer.size
        if expect_text:
            _check_text(output, label)
    except BaseException:
        context.discard(output, written)
        raise
    if cleanup:
        context.discard(output, written)
    return output, written


def _check_text(path: Path, label: str) -> None:
    with path.open("rb") as stream:
        sample = stream.read(TEXT_SAMPLE_SIZE)
    if not looks_like_text(sample):
        raise PasswordOrDamageError(label, " (the decrypted data is not text)")
