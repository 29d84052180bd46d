"""Take in a delivery: check its manifest, decrypt and unpack its files privately, parse logs.

Steps:

1. read livraison.yaml (``read_delivery_config``);
2. list the delivered files of each application: the files of its folder, or a single
   top-level archive such as ``ITAC.7z``;
3. check every file listed in SHA256SUMS;
4. recognise each delivered file's format from its bytes, then decrypt and unpack it layer by
   layer (``migration.delivery.unpack``) into a private staging folder inside the work folder;
5. move the plaintext files to ``<workdir>/<APPLICATION>/<name>``;
6. parse each application's extraction log.

Two entry points share these steps:

- ``open_delivery`` stops at the first problem: a manifest failure stops it before anything is
  decrypted, and any other failure removes every plaintext file this call wrote;
- ``inspect_delivery``, for the acceptance report, tries every file and records each problem on
  the delivered file it concerns (``DeliveredFile.error``). It raises only for input that cannot
  be processed at all, such as an invalid livraison.yaml, a shared work folder or a password
  that decrypts no file.

An application folder with no encrypted or archive file is taken as already decrypted: its files
are used where they are and nothing is copied (``ApplicationDelivery.encrypted`` is false).

``progress``, when given, is called as ``progress(event, **info)`` with these events:

- ``"verify"`` (path): before a file is hashed against the manifest;
- ``"decrypt"`` (application, path): before a delivered file is decrypted or unpacked;
- ``"bytes"`` (application, path, done, total): as the delivered file is read;
- ``"decrypted"`` (application, name, size): after each plaintext file is written;
- ``"failed"`` (application, path, error): ``inspect_delivery`` only, after a file failed;
- ``"plaintext"`` (application, name, size): for a file used in place;
- ``"log"`` (application, tables): after an extraction log is parsed.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migration.delivery.archives import ArchiveLimits, SizeBudget
from migration.delivery.config import (
    CONFIG_NAME,
    PLAINTEXT_FORMAT,
    encryption_attempts,
    normalize_departement,
    read_delivery_config,
    same_departement,
)
from migration.delivery.crypto import (
    OPENSSL_FORMATS,
    SUPPORTED_FORMATS,
    EncryptionParameters,
    detect_format,
)
from migration.delivery.errors import (
    ArchiveLimitError,
    DecryptionError,
    DeliveryError,
    ExtractionLogError,
    ManifestError,
    PasswordOrDamageError,
    ToolMissingError,
    TruncatedFileError,
    UnsafeArchiveError,
)
from migration.delivery.extraction_log import ExtractionLog, parse_extraction_log
from migration.delivery.manifest import (
    MANIFEST_NAME,
    ManifestEntry,
    check_manifest,
    manifest_statuses,
    read_manifest_entries,
    sha256_file,
)
from migration.delivery.password import PASSWORD_SOURCES
from migration.delivery.unpack import (
    OpenSSLParameters,
    UnpackContext,
    UnpackedFile,
    unpack_delivered_file,
)
from migration.delivery.workdir import make_private_dir

__all__ = [
    "ApplicationDelivery",
    "DecryptedFile",
    "DeliveredFile",
    "Delivery",
    "decrypt_delivery",
    "inspect_delivery",
    "open_delivery",
    "password_failure",
    "read_delivery_config",
]

logger = logging.getLogger(__name__)

Progress = Callable[..., object]

ENCRYPTED_SUFFIX = ".enc"
# A file with one of these suffixes is meant to be decrypted or unpacked, whatever its bytes:
# a plaintext DOSSIER.csv.enc is an error, not a table.
ENCRYPTED_SUFFIXES = (".enc", ".gpg", ".pgp", ".asc", ".aes", ".zip", ".7z", ".tar", ".gz", ".tgz")
# Files left by desktop systems, ignored in application folders.
IGNORED_NAMES = {"Thumbs.db", "desktop.ini"}

# DeliveredFile.error_kind values.
ERROR_PASSWORD_OR_DAMAGED = "decryption"
ERROR_TRUNCATED = "truncated"
ERROR_UNSAFE_ENTRY = "unsafe_entry"
ERROR_LIMIT = "limit"
ERROR_FORMAT = "format"
ERROR_MANIFEST = "manifest"


@dataclass
class DecryptedFile:
    """A plaintext file of the delivery and where it came from.

    ``encrypted_path`` and ``sha256_encrypted`` are ``None`` for a file delivered in plaintext;
    for a file from an archive they are those of the archive. ``manifest_status`` is ``"ok"``
    when SHA256SUMS lists the delivered file (and it matched), ``"absent"`` when it does not
    list it, and ``"mismatch"`` (``inspect_delivery`` only, for a file used in place) when its
    SHA-256 differs. ``layers`` lists the formats removed, outermost first; ``entry`` is the path
    inside the archive, if any.
    """

    application: str
    name: str
    encrypted_path: Path | None
    plaintext_path: Path
    sha256_encrypted: str | None
    sha256_plaintext: str
    size_plaintext: int
    manifest_status: str
    delivered: str | None = None
    layers: tuple[str, ...] = ()
    entry: str | None = None


@dataclass
class DeliveredFile:
    """A file as delivered (encrypted file, archive or plaintext) and what intake made of it.

    ``relative`` is its path in the delivery, as SHA256SUMS writes it. ``manifest_status`` is
    ``"ok"``, ``"mismatch"`` (listed with another SHA-256) or ``"absent"`` (not listed, or no
    SHA256SUMS). ``outputs`` names the plaintext files it gave. ``error`` is the message of
    the failure that stopped it, ``error_kind`` one of the ``ERROR_*`` values.
    """

    application: str
    relative: str
    path: Path
    format: str
    size: int
    sha256: str
    manifest_status: str
    outputs: list[str] = field(default_factory=list)
    layers: tuple[str, ...] = ()
    error: str | None = None
    error_kind: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the file was decrypted (or used in place) without error."""
        return self.error is None


@dataclass
class ApplicationDelivery:
    """One application of a delivery: its plaintext folder, files, log and data dictionary.

    ``files`` is keyed by plaintext file name and includes the extraction log file.
    ``folder`` is in the work folder when the application was decrypted, and is the delivery's
    own folder when it came in plaintext (``encrypted`` false). ``delivered`` lists the files
    as delivered; ``log_error`` is the reason the log could not be parsed
    (``inspect_delivery`` only).
    """

    name: str
    folder: Path
    files: dict[str, DecryptedFile]
    log: ExtractionLog | None
    dictionary: str
    encrypted: bool = True
    delivered: list[DeliveredFile] = field(default_factory=list)
    journal: str = ""
    log_error: str | None = None


@dataclass
class Delivery:
    """A delivery opened by ``open_delivery`` or ``inspect_delivery``.

    ``encrypted`` is false when no application had encrypted files, so every file was used in
    place. ``encryption`` is the ``openssl enc`` parameters used, declared or found by trial
    (``None`` when no file is an ``openssl enc`` file). ``missing`` lists the paths that
    SHA256SUMS lists but the delivery lacks.
    """

    path: Path
    config: dict[str, Any]
    departement: str | None
    applications: dict[str, ApplicationDelivery]
    encrypted: bool = True
    encryption: EncryptionParameters | None = None
    manifest: dict[str, str] = field(default_factory=dict)
    manifest_present: bool = False
    missing: list[str] = field(default_factory=list)

    @property
    def delivered(self) -> list[DeliveredFile]:
        """Every delivered file of every application."""
        return [file for app in self.applications.values() for file in app.delivered]

    @property
    def failed(self) -> list[DeliveredFile]:
        """Delivered files that could not be decrypted or unpacked."""
        return [file for file in self.delivered if not file.ok]


@dataclass
class _ApplicationSource:
    name: str
    settings: dict[str, str]
    folder: Path
    relative_folder: str
    to_open: list[Path]
    plaintext: list[Path]
    archive: bool = False

    def relative(self, path: Path) -> str:
        if self.archive:
            return path.name
        return f"{self.relative_folder}/{path.name}"


@dataclass
class _Run:
    """State of one intake call."""

    delivery_dir: Path
    workdir: Path
    password: str
    strict: bool
    progress: Progress | None
    limits: ArchiveLimits
    password_source: str = PASSWORD_SOURCES
    staging: Path | None = None
    budget: SizeBudget = field(init=False)
    decrypted: int = 0  # files this password has decrypted so far

    def __post_init__(self) -> None:
        self.budget = SizeBudget(self.limits)

    def say(self, event: str, **info: object) -> None:
        if self.progress is not None:
            self.progress(event, **info)

    def staging_dir(self) -> Path:
        if self.staging is None:
            self.staging = make_private_dir(self.workdir / f".staging-{secrets.token_hex(6)}")
        return self.staging

    def remove_staging(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None


def open_delivery(
    delivery_dir: Path,
    password: str,
    workdir: Path,
    applications: Sequence[str] | None = None,
    progress: Progress | None = None,
    *,
    limits: ArchiveLimits | None = None,
    password_source: str = PASSWORD_SOURCES,
) -> Delivery:
    """Check, decrypt and inventory a delivery; stop at the first problem.

    Args:
        delivery_dir: The delivery folder (livraison.yaml, SHA256SUMS, application folders).
        password: The delivery password.
        workdir: Private folder receiving ``<APPLICATION>/<file>``. It is created with mode 0700
            when missing, and rejected when group or others have access to it.
        applications: Names of the applications to take in; default all. Only the manifest
            entries of their files are checked.
        progress: Optional ``progress(event, **info)`` callback (events in the module doc).
        limits: Size, ratio and nesting limits of archives; default ``ArchiveLimits()``.
        password_source: How the user gives the password, as a wrong-password message names
            it (``"in the environment variable X"``); default the command line's two ways.

    Raises:
        DeliveryError: Bad layout, unknown application, a file failing the manifest
            (``ManifestError``), an unsupported format, an unsafe archive entry
            (``UnsafeArchiveError``), an exceeded limit (``ArchiveLimitError``), an extraction
            log that cannot be parsed.
        DecryptionError: A file cannot be decrypted with this password, or is truncated.
    """
    return _take_in(
        delivery_dir,
        password,
        workdir,
        applications,
        progress,
        limits,
        strict=True,
        password_source=password_source,
    )


def inspect_delivery(
    delivery_dir: Path,
    password: str,
    workdir: Path,
    applications: Sequence[str] | None = None,
    progress: Progress | None = None,
    *,
    limits: ArchiveLimits | None = None,
    password_source: str = PASSWORD_SOURCES,
) -> Delivery:
    """Take in every file of a delivery that can be taken in, and record what failed.

    Files that fail their manifest line are not decrypted. A file that fails leaves no
    plaintext; the others are in ``workdir`` as with ``open_delivery``. The arguments are
    those of ``open_delivery``.

    Raises:
        DeliveryError: The configuration is invalid, an application folder is missing, or
            ``workdir`` is shared.
        DecryptionError: No delivered file could be decrypted, and every failure is a wrong
            password or damage: the password is most likely wrong.
        ToolMissingError: gpg is needed for an OpenPGP file and is not installed.
    """
    return _take_in(
        delivery_dir,
        password,
        workdir,
        applications,
        progress,
        limits,
        strict=False,
        password_source=password_source,
    )


def decrypt_delivery(
    delivery_dir: Path,
    password: str,
    out_dir: Path,
    progress: Progress | None = None,
    *,
    limits: ArchiveLimits | None = None,
) -> Delivery:
    """Decrypt a whole delivery into a folder the user keeps (``mdph-reprise decrypt``).

    ``out_dir`` is created with mode 0700 (an existing one must already be private). Files
    are decrypted into ``out_dir/<APPLICATION>/`` with mode 0600; existing files of the same
    name are replaced. On failure no file of this call remains.

    Raises:
        DeliveryError: As ``open_delivery``, or ``out_dir`` is accessible to group or others.
    """
    out_dir = make_private_dir(Path(out_dir))
    delivery = open_delivery(delivery_dir, password, out_dir, progress=progress, limits=limits)
    if not delivery.encrypted:
        logger.info("%s contains no encrypted file: nothing was decrypted", delivery_dir)
    return delivery


def _take_in(
    delivery_dir: Path,
    password: str,
    workdir: Path,
    applications: Sequence[str] | None,
    progress: Progress | None,
    limits: ArchiveLimits | None,
    *,
    strict: bool,
    password_source: str = PASSWORD_SOURCES,
) -> Delivery:
    delivery_dir = Path(delivery_dir)
    config = read_delivery_config(delivery_dir)
    sources = [
        _list_application(delivery_dir, name, settings)
        for name, settings in _select_applications(config, applications).items()
    ]

    to_open = any(source.to_open for source in sources)
    declared = config["chiffrement"] or {}
    if to_open and declared.get("format") == PLAINTEXT_FORMAT:
        folders = ", ".join(source.relative_folder for source in sources if source.to_open)
        raise DeliveryError(
            f"{CONFIG_NAME} declares chiffrement format {PLAINTEXT_FORMAT} (plaintext files) but "
            f"{folders} contains encrypted or archive files (such as {ENCRYPTED_SUFFIX}); "
            "declare the encryption format instead"
        )
    run = _Run(
        delivery_dir,
        Path(workdir),
        password,
        strict,
        progress,
        limits or ArchiveLimits(),
        password_source,
    )
    if to_open:
        # Checked first, so a shared folder is reported before any file is hashed.
        make_private_dir(run.workdir)

    manifest_path = delivery_dir / MANIFEST_NAME
    entries = _manifest_entries(delivery_dir, sources, all_entries=applications is None)
    if strict:
        checked = check_manifest(delivery_dir, entries.values(), progress=progress)
        statuses = {path: ("ok", digest) for path, digest in checked.items()}
        missing: list[str] = []
    else:
        statuses, missing = manifest_statuses(delivery_dir, entries.values(), progress=progress)
    if entries:
        logger.info("%d files checked against %s", len(statuses), MANIFEST_NAME)

    config_hint = str(delivery_dir / CONFIG_NAME)
    resolver = OpenSSLParameters(encryption_attempts(config) or (), config_hint)
    opened: dict[str, ApplicationDelivery] = {}
    try:
        outputs: dict[str, list[tuple[DeliveredFile, UnpackedFile]]] = {}
        delivered: dict[str, list[DeliveredFile]] = {}
        for source in _trial_first(sources, resolver):
            if not source.to_open:
                continue
            files, produced = _open_application(run, source, statuses, resolver)
            delivered[source.name] = files
            outputs[source.name] = produced
        if not strict:
            _reject_wrong_password(delivered)

        for source in sources:
            if source.to_open:
                opened[source.name] = _place_outputs(
                    run, source, delivered[source.name], outputs[source.name]
                )
            else:
                opened[source.name] = _use_plaintext_application(source, statuses, progress)
            _attach_log(opened[source.name], source, progress, strict=strict)
    except BaseException:
        run.remove_staging()
        if strict:
            _remove_outputs(opened)
        raise
    run.remove_staging()

    encrypted = any(application.encrypted for application in opened.values())
    if encrypted and not all(application.encrypted for application in opened.values()):
        logger.warning("%s mixes encrypted and plaintext application folders", delivery_dir)
    return Delivery(
        path=delivery_dir,
        config=config,
        departement=_departement(config, opened),
        applications=opened,
        encrypted=encrypted,
        encryption=resolver.found if resolver.attempts else None,
        manifest={path: entry.sha256 for path, entry in entries.items()},
        manifest_present=manifest_path.is_file(),
        missing=missing,
    )


def _trial_first(
    sources: list[_ApplicationSource], resolver: OpenSSLParameters
) -> list[_ApplicationSource]:
    """Order the files so that a trial of openssl parameters runs on the smallest one."""
    if resolver.found is not None:
        return sources
    candidates = [
        (path.stat().st_size, str(path), source, path)
        for source in sources
        for path in source.to_open
        if detect_format(path) in OPENSSL_FORMATS
    ]
    if not candidates:
        return sources
    _, _, source, sample = min(candidates, key=lambda item: item[:2])
    source.to_open.remove(sample)
    source.to_open.insert(0, sample)
    sources = [source, *[other for other in sources if other is not source]]
    return sources


def _open_application(
    run: _Run,
    source: _ApplicationSource,
    statuses: dict[str, tuple[str, str]],
    resolver: OpenSSLParameters,
) -> tuple[list[DeliveredFile], list[tuple[DeliveredFile, UnpackedFile]]]:
    delivered: list[DeliveredFile] = []
    produced: list[tuple[DeliveredFile, UnpackedFile]] = []
    names: dict[str, str] = {}
    for path in source.to_open:
        label = source.relative(path)
        status, digest = statuses.get(label, ("absent", ""))
        record = DeliveredFile(
            application=source.name,
            relative=label,
            path=path,
            format=detect_format(path),
            size=path.stat().st_size,
            sha256=digest or sha256_file(path),
            manifest_status=status,
        )
        delivered.append(record)
        if status == "mismatch":
            record.error = (
                f"{label} does not match its SHA-256 in {MANIFEST_NAME} (damaged or altered in "
                "transit); it was not decrypted"
            )
            record.error_kind = ERROR_MANIFEST
            continue

        run.say("decrypt", application=source.name, path=label)
        folder = make_private_dir(run.staging_dir() / f"file-{secrets.token_hex(6)}")
        context = UnpackContext(
            password=run.password,
            staging=folder,
            budget=run.budget,
            openssl=resolver,
            progress=lambda done, total, label=label: run.say(
                "bytes", application=source.name, path=label, done=done, total=total
            ),
        )
        spent = run.budget.used
        try:
            try:
                unpacked = unpack_delivered_file(path, label, context)
            except PasswordOrDamageError as error:
                raise password_failure(error, status, run.password_source, run.decrypted) from None
            _check_unique(unpacked, names, label)
        except ToolMissingError:
            raise
        except DeliveryError as error:
            shutil.rmtree(folder, ignore_errors=True)
            run.budget.used = spent
            if run.strict:
                raise
            record.error = str(error)
            record.error_kind = _error_kind(error)
            # Recorded on the file for the acceptance report; a warning per file would repeat
            # one wrong password once for every file of the delivery.
            logger.info("%s", error)
            run.say("failed", application=source.name, path=label, error=str(error))
            continue

        run.decrypted += 1
        record.outputs = [file.name for file in unpacked]
        record.layers = unpacked[0].layers if unpacked else ()
        for file in unpacked:
            names[file.name] = label
            produced.append((record, file))
            logger.info("%s: %s decrypted (%d bytes)", label, file.name, file.size)
            run.say("decrypted", application=source.name, name=file.name, size=file.size)
    return delivered, produced


def password_failure(
    error: PasswordOrDamageError,
    manifest_status: str,
    password_source: str = PASSWORD_SOURCES,
    decrypted: int = 0,
) -> DecryptionError:
    """Reword a decryption failure once the file's SHA256SUMS status is known.

    When the same password has decrypted other files (`decrypted`), the password is right and
    the file was damaged or encrypted otherwise by the sender. A file that matches its SHA-256
    (``manifest_status`` ``"ok"``) is as the sender wrote it, so the password is most likely
    wrong. Without a checksum, damage stays a possible cause. The messages about the password
    name the ways to give it (``password_source``).
    """
    if decrypted:
        checked = (
            f", although it matches its SHA-256 in {MANIFEST_NAME}"
            if manifest_status == "ok"
            else ""
        )
        return DecryptionError(
            f"{error.label}: does not decrypt with the password that decrypted {decrypted} "
            f"other file{'s' if decrypted > 1 else ''} of the delivery{error.detail}{checked}: "
            "the sender damaged it or "
            "encrypted it with another password; claim a new delivery (mdph-reprise accept "
            "writes the claim)"
        )
    if manifest_status == "ok":
        return DecryptionError(
            f"{error.label}: wrong password{error.detail}: the file matches its SHA-256 in "
            f"{MANIFEST_NAME}, so it arrived as the sender wrote it. Check the delivery password "
            f"given {password_source}; if it is right, compare the chiffrement settings of "
            f"{CONFIG_NAME} with the sender's{error.hint}"
        )
    return DecryptionError(
        f"{error.label}: wrong password, or the file is damaged{error.detail} ({MANIFEST_NAME} "
        f"has no SHA-256 of the file to rule out damage). Check the password given "
        f"{password_source}{error.hint}"
    )


def _check_unique(unpacked: list[UnpackedFile], names: dict[str, str], label: str) -> None:
    for file in unpacked:
        if file.name in names:
            raise DeliveryError(
                f"{label}: gives the file {file.name}, which {names[file.name]} already gives; "
                "ask the sender which copy is right"
            )


def _error_kind(error: DeliveryError) -> str:
    if isinstance(error, TruncatedFileError):
        return ERROR_TRUNCATED
    if isinstance(error, DecryptionError):
        return ERROR_PASSWORD_OR_DAMAGED
    if isinstance(error, UnsafeArchiveError):
        return ERROR_UNSAFE_ENTRY
    if isinstance(error, ArchiveLimitError):
        return ERROR_LIMIT
    if isinstance(error, ManifestError):
        return ERROR_MANIFEST
    return ERROR_FORMAT


def _reject_wrong_password(delivered: dict[str, list[DeliveredFile]]) -> None:
    """Raise when no file decrypted and every failure is a wrong password or damage."""
    # NOTE: CBC and ZipCrypto cannot tell a wrong password from damage, so a delivery whose
    # every file is damaged and unlisted in SHA256SUMS is reported as a wrong password, not
    # as a list of defects.
    tried = [
        file for files in delivered.values() for file in files if file.error_kind != ERROR_MANIFEST
    ]
    if not tried or any(file.ok for file in tried):
        return
    if all(file.error_kind == ERROR_PASSWORD_OR_DAMAGED for file in tried):
        summary = f"No file of the delivery could be decrypted ({len(tried)} tried)"
        if not all(file.manifest_status == "ok" for file in tried):
            summary += ", so the password is most likely wrong"
        raise DecryptionError(f"{tried[0].error}. {summary}")


def _place_outputs(
    run: _Run,
    source: _ApplicationSource,
    delivered: list[DeliveredFile],
    produced: list[tuple[DeliveredFile, UnpackedFile]],
) -> ApplicationDelivery:
    target_dir = make_private_dir(run.workdir / source.name)
    files: dict[str, DecryptedFile] = {}
    for record, unpacked in produced:
        plaintext_path = target_dir / unpacked.name
        os.replace(unpacked.path, plaintext_path)
        files[unpacked.name] = DecryptedFile(
            application=source.name,
            name=unpacked.name,
            encrypted_path=record.path,
            plaintext_path=plaintext_path,
            sha256_encrypted=record.sha256,
            sha256_plaintext=unpacked.sha256,
            size_plaintext=unpacked.size,
            manifest_status="ok" if record.manifest_status == "ok" else "absent",
            delivered=record.relative,
            layers=unpacked.layers,
            entry=unpacked.entry,
        )
    return ApplicationDelivery(
        name=source.name,
        folder=target_dir,
        files=files,
        log=None,
        dictionary=source.settings["dictionnaire"],
        encrypted=True,
        delivered=delivered,
        journal=source.settings["journal"],
    )


def _remove_outputs(opened: dict[str, ApplicationDelivery]) -> None:
    for application in opened.values():
        if not application.encrypted:
            continue
        for file in application.files.values():
            file.plaintext_path.unlink(missing_ok=True)


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


def _needs_opening(path: Path) -> bool:
    return path.name.lower().endswith(ENCRYPTED_SUFFIXES) or detect_format(path) in (
        *SUPPORTED_FORMATS,
        "openpgp-public-key",
    )


def _list_application(
    delivery_dir: Path, name: str, settings: dict[str, str]
) -> _ApplicationSource:
    folder = delivery_dir / settings["dossier"]
    relative = Path(settings["dossier"]).as_posix()
    if not folder.is_dir():
        archive = _top_level_archive(delivery_dir, name, settings["dossier"])
        return _ApplicationSource(name, settings, delivery_dir, relative, [archive], [], True)
    files = sorted(
        child
        for child in folder.iterdir()
        if child.is_file() and not child.name.startswith(".") and child.name not in IGNORED_NAMES
    )
    if not files:
        raise DeliveryError(f"{folder}: the folder of application {name} is empty")
    to_open = [child for child in files if _needs_opening(child)]
    plaintext = [child for child in files if child not in to_open]
    if to_open and plaintext:
        logger.warning(
            "%s: %d plaintext files ignored next to the encrypted files: %s",
            folder,
            len(plaintext),
            ", ".join(child.name for child in plaintext),
        )
    return _ApplicationSource(name, settings, folder, relative, to_open, plaintext)


def _top_level_archive(delivery_dir: Path, name: str, folder_name: str) -> Path:
    prefix = f"{folder_name}."
    candidates = sorted(
        child
        for child in delivery_dir.iterdir()
        if child.is_file() and child.name.upper().startswith(prefix.upper())
    )
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise DeliveryError(
            f"{delivery_dir / folder_name}: folder of application {name} not found in the "
            f"delivery (nor a file {folder_name}.*); check the delivery or the dossier given in "
            f"{CONFIG_NAME}"
        )
    raise DeliveryError(
        f"{delivery_dir}: several files could hold application {name} "
        f"({', '.join(child.name for child in candidates)}); keep one, or put them in a "
        f"folder {folder_name}"
    )


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
    prefixes = tuple(f"{source.relative_folder}/" for source in sources if not source.archive)
    archives = {
        source.relative(path) for source in sources if source.archive for path in source.to_open
    }
    return {
        path: entry
        for path, entry in entries.items()
        if path.startswith(prefixes) or path in archives
    }


def _use_plaintext_application(
    source: _ApplicationSource, statuses: dict[str, tuple[str, str]], progress: Progress | None
) -> ApplicationDelivery:
    logger.info("%s contains no encrypted file: its files are used in place", source.folder)
    files: dict[str, DecryptedFile] = {}
    delivered: list[DeliveredFile] = []
    for path in source.plaintext:
        label = source.relative(path)
        size = path.stat().st_size
        status, digest = statuses.get(label, ("absent", ""))
        digest = digest or sha256_file(path)
        files[path.name] = DecryptedFile(
            application=source.name,
            name=path.name,
            encrypted_path=None,
            plaintext_path=path,
            sha256_encrypted=None,
            sha256_plaintext=digest,
            size_plaintext=size,
            manifest_status=status,
            delivered=label,
        )
        delivered.append(
            DeliveredFile(
                application=source.name,
                relative=label,
                path=path,
                format="plaintext",
                size=size,
                sha256=digest,
                manifest_status=status,
                outputs=[path.name],
            )
        )
        if status == "mismatch":
            delivered[-1].error = f"{label} does not match its SHA-256 in {MANIFEST_NAME}"
            delivered[-1].error_kind = ERROR_MANIFEST
        if progress is not None:
            progress("plaintext", application=source.name, name=path.name, size=size)
    return ApplicationDelivery(
        name=source.name,
        folder=source.folder,
        files=files,
        log=None,
        dictionary=source.settings["dictionnaire"],
        encrypted=False,
        delivered=delivered,
        journal=source.settings["journal"],
    )


def _attach_log(
    application: ApplicationDelivery,
    source: _ApplicationSource,
    progress: Progress | None,
    *,
    strict: bool,
) -> None:
    journal = source.settings["journal"]
    log_file = application.files.get(journal)
    if log_file is None:
        # NOTE: a missing log is only logged here; the acceptance report decides what it means.
        logger.warning("%s: extraction log %s not found", source.relative_folder, journal)
        return
    try:
        log = parse_extraction_log(log_file.plaintext_path)
    except ExtractionLogError as error:
        if strict:
            raise
        application.log_error = str(error)
        return
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
    """Return the delivery's département in its three-character form ("057", not "57")."""
    from_logs = {
        normalize_departement(application.log.departement)
        for application in applications.values()
        if application.log is not None
    }
    declared = config.get("departement")
    if declared is not None:
        others = [code for code in from_logs if not same_departement(code, declared)]
        for other in sorted(others):
            logger.warning(
                "%s declares département %s but an extraction log gives %s",
                CONFIG_NAME,
                declared,
                other,
            )
        return normalize_departement(declared)
    if len(from_logs) > 1:
        raise DeliveryError(
            f"the extraction logs give different départements ({', '.join(sorted(from_logs))}); "
            f"check the delivery, or declare departement in {CONFIG_NAME}"
        )
    return next(iter(from_logs), None)
