"""Errors raised while taking in a delivery: layout, manifest, decryption, password, logs."""

from migration.errors import MdphRepriseError


class DeliveryError(MdphRepriseError):
    """The delivery folder has a bad layout, a missing file or a file that fails its checksum."""


class DeliveryConfigError(DeliveryError):
    """livraison.yaml is not valid YAML or does not follow the expected layout."""


class ManifestError(DeliveryError):
    """SHA256SUMS cannot be parsed, or a file it lists is missing or has another checksum."""


class DecryptionError(DeliveryError):
    """An encrypted file cannot be decrypted: wrong password, damaged or truncated file."""


class PasswordOrDamageError(DecryptionError):
    """Decryption failed the way a wrong password makes it fail, and a damaged file also does.

    ``label`` names the file and ``detail`` describes what failed, such as ``" (gpg: ...)"``.
    ``hint`` is advice that applies whatever the cause. Intake rewords the message with what it
    has checked: whether the file matched its SHA256SUMS entry, and whether the password
    decrypted other files (``password_failure``).
    """

    def __init__(self, label: str, detail: str = "", hint: str = "") -> None:
        self.label = label
        self.detail = detail
        self.hint = hint
        super().__init__(f"{label}: wrong password, or the file is damaged{detail}{hint}")


class TruncatedFileError(DecryptionError):
    """An encrypted file or archive ends too early: it was cut in transit or on the medium."""


class PasswordError(DeliveryError):
    """No usable delivery password was given, or the password file is not private."""


class ExtractionLogError(DeliveryError):
    """An extraction log does not follow the EXTRACTION/DEBUT/TABLE/FIN/CODE RETOUR layout."""


class UnsafeArchiveError(DeliveryError):
    """An archive entry would be written outside its folder, or is a link or a special file."""


class ArchiveLimitError(DeliveryError):
    """Unpacking would exceed the size, ratio or entry-count limits (a decompression bomb)."""


class ToolMissingError(DeliveryError):
    """A command-line tool that intake needs (gpg for OpenPGP files) is not installed."""
