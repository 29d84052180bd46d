"""Dagster resources: the delivery to take over and the target database, set by configuration.

The delivery password is read from the environment variable MDPH_DELIVERY_PASSWORD through
`EnvVar`, so it never appears in run configuration in clear.
"""

import os
from pathlib import Path

import dagster as dg

from migration.steps import PROJECT_ROOT

DEFAULT_DELIVERY = PROJECT_ROOT / "sample_data" / "delivery"
DEFAULT_OUTPUT = PROJECT_ROOT / "output"


class DeliveryResource(dg.ConfigurableResource):
    """The location of the encrypted delivery and its password."""

    path: str = str(DEFAULT_DELIVERY)
    password: str
    workdir_parent: str | None = None


class TargetResource(dg.ConfigurableResource):
    """The target database URL and the folder for reports."""

    url: str = ""
    reports_dir: str = str(DEFAULT_OUTPUT / "rapports")
    delivery_path: str = str(DEFAULT_DELIVERY)

    def resolved_url(self) -> str:
        if self.url:
            return self.url
        DEFAULT_OUTPUT.mkdir(mode=0o700, parents=True, exist_ok=True)
        return f"sqlite:///{DEFAULT_OUTPUT / 'mdph_reprise.sqlite3'}"


def default_resources() -> dict:
    """Build the resources from MDPH_DELIVERY_PATH, MDPH_DELIVERY_PASSWORD and MDPH_TARGET_URL."""
    delivery_path = os.environ.get("MDPH_DELIVERY_PATH", str(DEFAULT_DELIVERY))
    return {
        "encrypted_delivery": DeliveryResource(
            path=delivery_path, password=dg.EnvVar("MDPH_DELIVERY_PASSWORD")
        ),
        # The URL may carry a database password, so it goes through EnvVar like the delivery
        # password and the Dagster UI never shows it.
        "target_database": TargetResource(
            url=dg.EnvVar("MDPH_TARGET_URL") if os.environ.get("MDPH_TARGET_URL") else "",
            reports_dir=os.environ.get("MDPH_REPORTS_DIR", str(DEFAULT_OUTPUT / "rapports")),
            delivery_path=delivery_path,
        ),
        "io_manager": dg.FilesystemIOManager(base_dir=str(_private_storage())),
    }


def _private_storage() -> Path:
    """Create and return the folder where Dagster keeps asset values, private to the user.

    Asset values are source rows with personal data, so the folder is created with mode 0700.
    """
    base = Path(os.environ.get("MDPH_DAGSTER_STORAGE", DEFAULT_OUTPUT / ".dagster_storage"))
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    base.chmod(0o700)
    return base
