"""Intake of a delivery: configuration, manifest, decryption, extraction logs, password."""

from migration.delivery.config import DEFAULT_ATTEMPTS, read_delivery_config
from migration.delivery.crypto import (
    EncryptionParameters,
    decrypt_openssl_enc,
    decrypt_openssl_enc_stream,
    detect_format,
)
from migration.delivery.errors import (
    DecryptionError,
    DeliveryConfigError,
    DeliveryError,
    ExtractionLogError,
    ManifestError,
    PasswordError,
)
from migration.delivery.extraction_log import ExtractionLog, TableCount, parse_extraction_log
from migration.delivery.intake import (
    ApplicationDelivery,
    DecryptedFile,
    Delivery,
    decrypt_delivery,
    open_delivery,
)
from migration.delivery.manifest import read_manifest, sha256_file
from migration.delivery.password import PASSWORD_ENV_VAR, read_password
from migration.delivery.workdir import PrivateWorkdir

__all__ = [
    "DEFAULT_ATTEMPTS",
    "PASSWORD_ENV_VAR",
    "ApplicationDelivery",
    "DecryptedFile",
    "DecryptionError",
    "Delivery",
    "DeliveryConfigError",
    "DeliveryError",
    "EncryptionParameters",
    "ExtractionLog",
    "ExtractionLogError",
    "ManifestError",
    "PasswordError",
    "PrivateWorkdir",
    "TableCount",
    "decrypt_delivery",
    "decrypt_openssl_enc",
    "decrypt_openssl_enc_stream",
    "detect_format",
    "open_delivery",
    "parse_extraction_log",
    "read_delivery_config",
    "read_manifest",
    "read_password",
    "sha256_file",
]
