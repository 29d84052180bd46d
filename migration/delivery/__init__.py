"""Intake of a delivery: configuration, manifest, decryption, unpacking, logs, inventory."""

from migration.delivery.archives import ArchiveLimits
from migration.delivery.config import DEFAULT_ATTEMPTS, encryption_attempts, read_delivery_config
from migration.delivery.crypto import (
    EncryptionParameters,
    decrypt_openssl_enc,
    decrypt_openssl_enc_stream,
    detect_format,
)
from migration.delivery.errors import (
    ArchiveLimitError,
    DecryptionError,
    DeliveryConfigError,
    DeliveryError,
    ExtractionLogError,
    ManifestError,
    PasswordError,
    ToolMissingError,
    TruncatedFileError,
    UnsafeArchiveError,
)
from migration.delivery.extraction_log import ExtractionLog, TableCount, parse_extraction_log
from migration.delivery.intake import (
    ApplicationDelivery,
    DecryptedFile,
    DeliveredFile,
    Delivery,
    decrypt_delivery,
    inspect_delivery,
    open_delivery,
)
from migration.delivery.inventory import DeliveryInventory, Finding, inventory_delivery
from migration.delivery.manifest import read_manifest, sha256_file
from migration.delivery.password import PASSWORD_ENV_VAR, read_password
from migration.delivery.workdir import PrivateWorkdir

__all__ = [
    "DEFAULT_ATTEMPTS",
    "PASSWORD_ENV_VAR",
    "ApplicationDelivery",
    "ArchiveLimitError",
    "ArchiveLimits",
    "DecryptedFile",
    "DecryptionError",
    "DeliveredFile",
    "Delivery",
    "DeliveryConfigError",
    "DeliveryError",
    "DeliveryInventory",
    "EncryptionParameters",
    "ExtractionLog",
    "ExtractionLogError",
    "Finding",
    "ManifestError",
    "PasswordError",
    "PrivateWorkdir",
    "TableCount",
    "ToolMissingError",
    "TruncatedFileError",
    "UnsafeArchiveError",
    "decrypt_delivery",
    "decrypt_openssl_enc",
    "decrypt_openssl_enc_stream",
    "detect_format",
    "encryption_attempts",
    "inspect_delivery",
    "inventory_delivery",
    "open_delivery",
    "parse_extraction_log",
    "read_delivery_config",
    "read_manifest",
    "read_password",
    "sha256_file",
]
