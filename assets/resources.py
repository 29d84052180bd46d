"""Dagster resources: the départements to migrate and the storage of asset values.

Each département's delivery password and target URL are read from environment variables that
its configuration names, when a step needs them, so they never appear in run configuration.
"""

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from assets.departements import DEFAULT_OUTPUT, DepartementConfig, load_departements
from migration.delivery.workdir import make_private_dir


class DepartementsResource(dg.ConfigurableResource):
    """The delivery, target and reports folder of every département, by département code."""

    departements: dict[str, DepartementConfig]
    # The parent of the intake's private work folder. The steps that read the tables decrypt
    # into the run's stage folder instead, because the load reads some rows of the files again.
    workdir_parent: str | None = None
    # The folder that contains the stage folders of the runs (see assets/staging.py). Without
    # it, the Dagster storage folder: MDPH_DAGSTER_STORAGE or output/.dagster_storage.
    storage: str | None = None

    def settings(self, code: str) -> DepartementConfig:
        if code not in self.departements:
            raise dg.Failure(
                f"département {code} is not configured; the code location knows "
                f"{', '.join(sorted(self.departements))}"
            )
        return self.departements[code]

    def storage_folder(self) -> Path:
        """Return the private folder that contains the stage folders of the runs."""
        if self.storage is None:
            return _private_storage()
        return make_private_dir(Path(self.storage))

    def delivery_password(self, code: str) -> str:
        """Return the delivery password of a département, from its environment variable."""
        name = self.settings(code).password_env
        password = os.environ.get(name)
        if not password:
            raise dg.Failure(
                f"environment variable {name} is not set; set it to the delivery password "
                f"of département {code}"
            )
        return password

    def password_source(self, code: str) -> str:
        """Return where the delivery password of a département is read, for error messages."""
        return f"in the environment variable {self.settings(code).password_env}"

    def target_url(self, code: str) -> str:
        """Return the target database URL of a département, from its environment variable."""
        settings = self.settings(code)
        url = os.environ.get(settings.target_url_env)
        if url:
            return url
        if settings.default_target_url:
            DEFAULT_OUTPUT.mkdir(mode=0o700, parents=True, exist_ok=True)
            return settings.default_target_url
        raise dg.Failure(
            f"environment variable {settings.target_url_env} is not set; set it to the target "
            f"database URL of département {code}"
        )


def default_resources(departements: Mapping[str, DepartementConfig] | None = None) -> dict:
    """Build the resources from MDPH_DEPARTEMENTS, or from the sample variables without it."""
    if departements is None:
        departements = load_departements()
    storage = str(_private_storage())
    return {
        "departements": DepartementsResource(departements=dict(departements), storage=storage),
        "io_manager": dg.FilesystemIOManager(base_dir=storage),
    }


def _private_storage() -> Path:
    """Create and return the folder where Dagster keeps asset values, private to the user.

    Asset values and the staged rows of a run contain personal data, so the folder is created
    with mode 0700.
    """
    base = Path(os.environ.get("MDPH_DAGSTER_STORAGE", DEFAULT_OUTPUT / ".dagster_storage"))
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    base.chmod(0o700)
    return base
