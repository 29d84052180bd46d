"""The départements one code location migrates, and the Dagster partitions built from them.

The file named by MDPH_DEPARTEMENTS lists, for each département code, its delivery folder, the
names of the environment variables holding its delivery password and its target URL, and its
reports folder:

    departements:
      "057":
        delivery: /srv/reprise/057/livraison
        password_env: MDPH_057_DELIVERY_PASSWORD
        target_url_env: MDPH_057_TARGET_URL
        reports_dir: /srv/reprise/057/rapports

Secrets stay in the environment: the file and the run configuration only name the variables.
Relative paths are read from the folder of the file. Without MDPH_DEPARTEMENTS, the code location
migrates one département, 057, from MDPH_DELIVERY_PATH (default: the bundled sample).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import yaml

from migration.steps import PROJECT_ROOT

CONFIG_VARIABLE = "MDPH_DEPARTEMENTS"
SAMPLE_DEPARTEMENT = "057"
DEFAULT_DELIVERY = PROJECT_ROOT / "sample_data" / "delivery"
DEFAULT_OUTPUT = PROJECT_ROOT / "output"
APPLICATION_NAMES = ("ITAC", "OPALES")
# The jobs of the whole migration of a département and of a one-application delivery.
MIGRATION_JOB = "migration_departement"
APPLICATION_JOB = "migration_application"
DEPARTEMENT_DIMENSION = "departement"
APPLICATION_DIMENSION = "application"

_KEYS = ("delivery", "password_env", "target_url_env", "reports_dir")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class DepartementsConfigError(ValueError):
    """The départements file is missing, unreadable or invalid."""


class DepartementConfig(dg.Config):
    """The delivery, target and reports of one département; secrets are environment names."""

    delivery: str
    password_env: str
    target_url_env: str
    reports_dir: str
    # URL used when target_url_env is unset. Only the built-in sample département sets it, so
    # that a département of the file never loads into a default database by mistake.
    default_target_url: str = ""


def load_departements(environ: Mapping[str, str] | None = None) -> dict[str, DepartementConfig]:
    """Read the file named by MDPH_DEPARTEMENTS, or return the sample département without it."""
    environ = os.environ if environ is None else environ
    path = environ.get(CONFIG_VARIABLE)
    if path:
        return read_departements_file(Path(path))
    return {SAMPLE_DEPARTEMENT: sample_departement(environ)}


def sample_departement(environ: Mapping[str, str]) -> DepartementConfig:
    """Return département 057 as the code location ran it before the départements file."""
    return DepartementConfig(
        delivery=environ.get("MDPH_DELIVERY_PATH", str(DEFAULT_DELIVERY)),
        password_env="MDPH_DELIVERY_PASSWORD",
        target_url_env="MDPH_TARGET_URL",
        reports_dir=environ.get("MDPH_REPORTS_DIR", str(DEFAULT_OUTPUT / "rapports")),
        default_target_url=f"sqlite:///{DEFAULT_OUTPUT / 'mdph_reprise.sqlite3'}",
    )


def read_departements_file(path: Path) -> dict[str, DepartementConfig]:
    """Read and check a départements file.

    Raises:
        DepartementsConfigError: the file is missing, is not YAML, or an entry is invalid.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DepartementsConfigError(
            f"{path}: départements file ({CONFIG_VARIABLE}) cannot be read: {error}"
        ) from error
    except yaml.YAMLError as error:
        raise DepartementsConfigError(f"{path}: invalid YAML: {error}") from error
    if not isinstance(data, dict) or set(data) != {"departements"}:
        raise DepartementsConfigError(
            f"{path}: expected a single top-level key 'departements', a mapping of codes"
        )
    entries = data["departements"]
    if not isinstance(entries, dict) or not entries:
        raise DepartementsConfigError(f"{path}: 'departements' must map at least one code")
    return {
        _check_code(path, code): _read_entry(path, code, entry) for code, entry in entries.items()
    }


def _check_code(path: Path, code: object) -> str:
    # The same rule as the departement key of livraison.yaml, so that a partition key can be
    # compared with the département a delivery declares.
    if not isinstance(code, str):
        raise DepartementsConfigError(
            f'{path}: département {code!r} must be a quoted code such as "057" '
            "(YAML reads unquoted 057 as a number)"
        )
    if len(code) not in (2, 3) or not code.isalnum():
        raise DepartementsConfigError(f'{path}: {code!r} is not a département code like "057"')
    return code


def _read_entry(path: Path, code: str, entry: object) -> DepartementConfig:
    if not isinstance(entry, dict):
        raise DepartementsConfigError(
            f"{path}: département {code} must be a mapping of {', '.join(_KEYS)}"
        )
    missing = [key for key in _KEYS if not entry.get(key)]
    unknown = sorted(set(entry) - set(_KEYS))
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown {', '.join(map(str, unknown))}")
        raise DepartementsConfigError(
            f"{path}: département {code}: {'; '.join(problems)}; expected {', '.join(_KEYS)}"
        )
    for key in ("password_env", "target_url_env"):
        if not _VARIABLE_NAME.fullmatch(str(entry[key])):
            raise DepartementsConfigError(
                f"{path}: département {code}: {key} is not an environment variable name (the "
                "value is not shown, in case it is a secret); give the name of the variable"
            )
    base = path.resolve().parent
    return DepartementConfig(
        delivery=str(base / str(entry["delivery"])),
        password_env=str(entry["password_env"]),
        target_url_env=str(entry["target_url_env"]),
        reports_dir=str(base / str(entry["reports_dir"])),
    )


def departement_partitions(codes) -> dg.StaticPartitionsDefinition:
    """Partitions of the whole migration: one per département code."""
    return dg.StaticPartitionsDefinition(sorted(codes))


def application_partitions(codes) -> dg.MultiPartitionsDefinition:
    """Partitions of a one-application load: every département code times ITAC and OPALES."""
    return dg.MultiPartitionsDefinition(
        {
            DEPARTEMENT_DIMENSION: departement_partitions(codes),
            APPLICATION_DIMENSION: dg.StaticPartitionsDefinition(list(APPLICATION_NAMES)),
        }
    )
