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


class PasswordError(DeliveryError):
    """No usable delivery password was given, or the password file is not private."""


class ExtractionLogError(DeliveryError):
    """An extraction log does not follow the EXTRACTION/DEBUT/TABLE/FIN/CODE RETOUR layout."""
