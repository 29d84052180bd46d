"""Take in a delivery: check its manifest, decrypt its files privately, parse its logs.

Steps of ``open_delivery``:

1. read livraison.yaml (``read_delivery_config``);
2. list the files of each application folder;
3. check every file listed in SHA256SUMS before anything is decrypted;
4. decrypt each ``*.enc`` file into ``<workdir>/<APPLICATION>/<name without .enc>``, through a
   temporary file renamed on success and deleted on failure, so no partial plaintext remains;
5. parse each application's extraction log.

An application folder with no ``*.enc`` file is taken as already decrypted: its files are used
where they are and nothing is copied (``ApplicationDelivery.encrypted`` is false).

``progress``, when given, is called as ``progress(event, **info)`` with these events:

- ``"verify"`` (path): before a file is hashed against the manifest;
- ``"decrypt"`` (application, path): before a file is decrypted;
- ``"decrypted"`` (application, name, size): after it is decrypted;
- ``"plaintext"`` (application, name, size): for a file used in place;
- ``"log"`` (application, tables): after an extraction log is parsed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from migration.delivery.config import (
    CONFIG_NAME,
    DEFAULT_ATTEMPTS,
    PLAINTEXT_FORMAT,
    encryption_parameters,
    read_delivery_config,
)
from migration.delivery.crypto import (
    EncryptionParameters,
    decrypt_openssl_enc_stream,
    detect_format,
    ensure_decryptable,
    looks_like_text,
    probe_openssl_enc,
)
from migration.delivery.errors import DecryptionError, DeliveryError
from migration.delivery.extraction_log import ExtractionLog, parse_extraction_log
from migration.delivery.manifest import (
    MANIFEST_NAME,
    ManifestEntry,
    check_manifest,
    read_manifest_entries,
    sha256_file,
)
from migration.delivery.workdir import make_private_dir, open_private_file

__all__ = [
    "ApplicationDelivery",
    "DecryptedFile",
    "Delivery",
    "decrypt_delivery",
    "open_delivery",
    "read_delivery_config",
]

logger = logging.getLogger(__name__)

Progress = Callable[..., object]

ENCRYPTED_SUFFIX = ".enc"
# Plaintext files with these suffixes must look like text once decrypted: openssl enc has no
# integrity check, so this is what catches a wrong password in CTR mode.
TEXT_SUFFIXES = (".csv", ".log", ".txt")
TEXT_SAMPLE_SIZE = 64 * 1024
# Files left by desktop systems, ignored in application folders.
IGNORED_NAMES = {"Thumbs.db", "desktop.ini"}


@dataclass
class DecryptedFile:
    """A plaintext file of the delivery and where it came from.

    ``encrypted_path`` and ``sha256_encrypted`` are ``None`` for a file delivered in plaintext.
    ``manifest_status`` is ``"ok"`` when SHA256SUMS lists the delivered file (and it matched),
    ``"absent"`` when it does not list it.
    """

    application: str
    name: str
    encrypted_path: Path | None
    plaintext_path: Path
    sha256_encrypted: str | None
    sha256_plaintext: str
    size_plaintext: int
    manifest_status: str


@dataclass
class ApplicationDelivery:
    """One application of a delivery: its plaintext folder, files, log and data dictionary.

    ``files`` is keyed by plaintext file name and includes the extraction log file.
    ``folder`` is in the work folder when the application was decrypted, and is the delivery's
    own folder when it came in plaintext (``encrypted`` false).
    """

    name: str
    folder: Path
    files: dict[str, DecryptedFile]
    log: ExtractionLog | None
    dictionary: str
    encrypted: bool = True


@dataclass
class Delivery:
    """A delivery opened by ``open_delivery``.

    ``encrypted`` is false when no application had encrypted files, so every file was used in
    place. ``encryption`` is the parameters used to decrypt, declared or found by trial.
    """

    path: Path
    config: dict[str, Any]
    departement: str | None
    applications: dict[str, ApplicationDelivery]
    encrypted: bool = True
    encryption: EncryptionParameters | None = None
    manifest: dict[str, str] = field(default_factory=dict)


@dataclass
class _ApplicationSource:
    name: str
    settings: dict[str, str]
    folder: Path
    relative_folder: str
    encrypted: list[Path]
    plaintext: list[Path]

    def relative(self, path: Path) -> str:
        return f"{self.relative_folder}/{path.name}"


class _HashingWriter:
    """Binary writer that computes the SHA-256 and size of what goes through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.raw.write(data)


def open_delivery(
    delivery_dir: Path,
    password: str,
    workdir: Path,
    applications: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> Delivery:
    """Check, decrypt and inventory a delivery.

    Args:
        delivery_dir: The delivery folder (livraison.yaml, SHA256SUMS, application folders).
        password: The delivery password.
        workdir: Private folder receiving ``<APPLICATION>/<file>``. It is created with mode 0700
            when missing, and rejected when group or others have access to it.
        applications: Names of the applications to take in; default all. Only the manifest
            entries inside their folders are checked.
        progress: Optional ``progress(event, **info)`` callback (events in the module doc).

    Raises:
        DeliveryError: Bad layout, unknown application, a file failing the manifest
            (``ManifestError``), an unsupported format, an extraction log that cannot be parsed.
        DecryptionError: A file cannot be decrypted with this password.
    """
    delivery_dir = Path(delivery_dir)
    config = read_delivery_config(delivery_dir)
    sources = [
        _list_application(delivery_dir, name, settings)
        for name, settings in _select_applications(config, applications).items()
    ]

    encrypted_sources = any(source.encrypted for source in sources)
    declared = config["chiffrement"] or {}
    if encrypted_sources and declared.get("format") == PLAINTEXT_FORMAT:
        folders = ", ".join(source.relative_folder for source in sources if source.encrypted)
        raise DeliveryError(
            f"{CONFIG_NAME} declares chiffrement format {PLAINTEXT_FORMAT} (plaintext files) but "
            f"{folders} contains {ENCRYPTED_SUFFIX} files; declare the encryption format instead"
        )
    if encrypted_sources:
        # Checked first, so a shared folder is reported before any file is hashed.
        make_private_dir(Path(workdir))

    entries = _manifest_entries(delivery_dir, sources, all_entries=applications is None)
    checked = check_manifest(delivery_dir, entries.values(), progress=progress)
    if entries:
        logger.info("%d files match %s", len(checked), MANIFEST_NAME)

    encryption: EncryptionParameters | None = None
    if encrypted_sources:
        encryption = encryption_parameters(config) or _find_encryption(
            delivery_dir, sources, password
        )

    # NOTE: the first file that fails to decrypt stops the intake, so an acceptance report
    # learns about one bad file per run, not about all of them.
    opened: dict[str, ApplicationDelivery] = {}
    for source in sources:
        if source.encrypted and encryption is not None:
            opened[source.name] = _decrypt_application(
                source, Path(workdir), password, encryption, checked, progress
            )
        else:
            opened[source.name] = _use_plaintext_application(source, checked, progress)
        _attach_log(opened[source.name], source, progress)

    encrypted = any(application.encrypted for application in opened.values())
    if encrypted and not all(application.encrypted for application in opened.values()):
        logger.warning("%s mixes encrypted and plaintext application folders", delivery_dir)
    return Delivery(
        path=delivery_dir,
        config=config,
        departement=_departement(config, opened),
        applications=opened,
        encrypted=encrypted,
        encryption=encryption,
        manifest={path: entry.sha256 for path, entry in entries.items()},
    )


def decrypt_delivery(
    delivery_dir: Path, password: str, out_dir: Path, progress: Progress | None = None
) -> Delivery:
    """Decrypt a whole delivery into a folder the user keeps (``mdph-reprise decrypt``).

    ``out_dir`` is created with mode 0700 (an existing one must already be private). Files
    are decrypted into ``out_dir/<APPLICATION>/`` with mode 0600; existing files of the same
    name are replaced.

    Raises:
        DeliveryError: As ``open_delivery``, or ``out_dir`` is accessible to group or others.
    """
    out_dir = make_private_dir(Path(out_dir))
    delivery = open_delivery(delivery_dir, password, out_dir, progress=progress)
    if not delivery.encrypted:
        logger.info("%s contains no encrypted file: nothing was decrypted", delivery_dir)
    return delivery


def _select_applications(
    config: dict[str, Any], requested: Sequence[str] | None
) -> dict[str, dict[str, str]]:
    declared: dict[str, dict[str, str]] = config["applications"]
    if requested is None:
        return declared
    unknown = [name for name in requested if name not in declared]
    if unknown:
        raise DeliveryError(
            f"application {', '.join(unknown)} is not in the delivery; it has {', '.join(declared)}"
        )
    return {name: declared[name] for name in requested}


def _list_application(
    delivery_dir: Path, name: str, settings: dict[str, str]
) -> _ApplicationSource:
    folder = delivery_dir / settings["dossier"]
    if not folder.is_dir():
        raise DeliveryError(
            f"{folder}: folder of application {name} not found in the delivery; check the "
            f"delivery or the dossier given in {CONFIG_NAME}"
        )
    files = sorted(
        child
        for child in folder.iterdir()
        if child.is_file() and not child.name.startswith(".") and child.name not in IGNORED_NAMES
    )
    encrypted = [child for child in files if child.name.lower().endswith(ENCRYPTED_SUFFIX)]
    plaintext = [child for child in files if child not in encrypted]
    if encrypted and plaintext:
        logger.warning(
            "%s: %d files without %s ignored next to the encrypted files: %s",
            folder,
            len(plaintext),
            ENCRYPTED_SUFFIX,
            ", ".join(child.name for child in plaintext),
        )
    if not files:
        raise DeliveryError(f"{folder}: the folder of application {name} is empty")
    relative = Path(settings["dossier"]).as_posix()
    return _ApplicationSource(name, settings, folder, relative, encrypted, plaintext)


def _manifest_entries(
    delivery_dir: Path, sources: list[_ApplicationSource], *, all_entries: bool
) -> dict[str, ManifestEntry]:
    manifest_path = delivery_dir / MANIFEST_NAME
    if not manifest_path.is_file():
        logger.warning(
            "%s has no %s: the files cannot be checked against the sender's checksums",
            delivery_dir,
            MANIFEST_NAME,
        )
        return {}
    entries = read_manifest_entries(manifest_path)
    if all_entries:
        return entries
    prefixes = tuple(f"{source.relative_folder}/" for source in sources)
    return {path: entry for path, entry in entries.items() if path.startswith(prefixes)}


def _find_encryption(
    delivery_dir: Path, sources: list[_ApplicationSource], password: str
) -> EncryptionParameters:
    """Try ``DEFAULT_ATTEMPTS`` on the smallest encrypted file; return the first that fits."""
    candidates = [
        (path.stat().st_size, source, path) for source in sources for path in source.encrypted
    ]
    _, source, sample = min(candidates, key=lambda item: (item[0], str(item[2])))
    label = source.relative(sample)
    ensure_decryptable(detect_format(sample), label)
    expect_text = sample.name[: -len(ENCRYPTED_SUFFIX)].lower().endswith(TEXT_SUFFIXES)

    for params in DEFAULT_ATTEMPTS:
        if probe_openssl_enc(sample, password, params, expect_text=expect_text):
            logger.info(
                "no chiffrement declared in %s: %s fits %s", CONFIG_NAME, params.describe(), label
            )
            return params
    tried = "; ".join(params.describe() for params in DEFAULT_ATTEMPTS)
    raise DecryptionError(
        f"{label}: wrong password, or the file is damaged (tried {tried}); if the password is "
        f"right, declare the encryption under chiffrement in {delivery_dir / CONFIG_NAME}"
    )


def _decrypt_application(
    source: _ApplicationSource,
    workdir: Path,
    password: str,
    encryption: EncryptionParameters,
    checked: dict[str, str],
    progress: Progress | None,
) -> ApplicationDelivery:
    target_dir = make_private_dir(workdir / source.name)
    files: dict[str, DecryptedFile] = {}
    for encrypted_path in source.encrypted:
        label = source.relative(encrypted_path)
        name = encrypted_path.name[: -len(ENCRYPTED_SUFFIX)]
        if progress is not None:
            progress("decrypt", application=source.name, path=label)

        plaintext_path = target_dir / name
        sha256_plaintext, size = _decrypt_file(
            encrypted_path, plaintext_path, password, encryption, label
        )
        files[name] = DecryptedFile(
            application=source.name,
            name=name,
            encrypted_path=encrypted_path,
            plaintext_path=plaintext_path,
            sha256_encrypted=checked.get(label) or sha256_file(encrypted_path),
            sha256_plaintext=sha256_plaintext,
            size_plaintext=size,
            manifest_status="ok" if label in checked else "absent",
        )
        logger.info("%s decrypted (%d bytes)", label, size)
        if progress is not None:
            progress("decrypted", application=source.name, name=name, size=size)

    return ApplicationDelivery(
        name=source.name,
        folder=target_dir,
        files=files,
        log=None,
        dictionary=source.settings["dictionnaire"],
        encrypted=True,
    )


def _decrypt_file(
    encrypted_path: Path,
    plaintext_path: Path,
    password: str,
    encryption: EncryptionParameters,
    label: str,
) -> tuple[str, int]:
    """Decrypt one file through a temporary file; return the plaintext SHA-256 and size."""
    ensure_decryptable(detect_format(encrypted_path), label)
    temporary = plaintext_path.with_name(f".{plaintext_path.name}.{secrets.token_hex(6)}.part")
    try:
        with open_private_file(temporary) as raw:
            writer = _HashingWriter(raw)
            decrypt_openssl_enc_stream(
                encrypted_path, writer, password, params=encryption, name=label
            )
        if plaintext_path.name.lower().endswith(TEXT_SUFFIXES):
            _check_text(temporary, label)
        os.replace(temporary, plaintext_path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return writer.digest.hexdigest(), writer.size


def _check_text(path: Path, label: str) -> None:
    with path.open("rb") as stream:
        sample = stream.read(TEXT_SAMPLE_SIZE)
    if not looks_like_text(sample):
        raise DecryptionError(
            f"{label}: wrong password, or the file is damaged (the decrypted data is not text)"
        )


def _use_plaintext_application(
    source: _ApplicationSource, checked: dict[str, str], progress: Progress | None
) -> ApplicationDelivery:
    logger.info(
        "%s contains no %s file: its files are used in place", source.folder, ENCRYPTED_SUFFIX
    )
    files: dict[str, DecryptedFile] = {}
    for path in source.plaintext:
        label = source.relative(path)
        size = path.stat().st_size
        files[path.name] = DecryptedFile(
            application=source.name,
            name=path.name,
            encrypted_path=None,
            plaintext_path=path,
            sha256_encrypted=None,
            sha256_plaintext=checked.get(label) or sha256_file(path),
            size_plaintext=size,
            manifest_status="ok" if label in checked else "absent",
        )
        if progress is not None:
            progress("plaintext", application=source.name, name=path.name, size=size)
    return ApplicationDelivery(
        name=source.name,
        folder=source.folder,
        files=files,
        log=None,
        dictionary=source.settings["dictionnaire"],
        encrypted=False,
    )


def _attach_log(
    application: ApplicationDelivery, source: _ApplicationSource, progress: Progress | None
) -> None:
    journal = source.settings["journal"]
    log_file = application.files.get(journal)
    if log_file is None:
        # NOTE: a missing log is only logged here; the acceptance report decides what it means.
        logger.warning("%s: extraction log %s not found", source.relative_folder, journal)
        return
    log = parse_extraction_log(log_file.plaintext_path)
    if log.application != application.name:
        logger.warning(
            "%s names application %s, expected %s", journal, log.application, application.name
        )
    application.log = log
    if progress is not None:
        progress("log", application=application.name, tables=len(log.tables))


def _departement(
    config: dict[str, Any], applications: dict[str, ApplicationDelivery]
) -> str | None:
    from_logs = {
        application.log.departement
        for application in applications.values()
        if application.log is not None
    }
    declared = config.get("departement")
    if declared is not None:
        for other in sorted(from_logs - {declared}):
            logger.warning(
                "%s declares département %s but an extraction log gives %s",
                CONFIG_NAME,
                declared,
                other,
            )
        return declared
    if len(from_logs) > 1:
        raise DeliveryError(
            f"the extraction logs give different départements ({', '.join(sorted(from_logs))}); "
            f"check the delivery, or declare departement in {CONFIG_NAME}"
        )
    return next(iter(from_logs), None)
