"""Read livraison.yaml, the delivery configuration (it contains no secret).

Layout::

    departement: "057"
    emetteur: "..."                 # free text
    date_extraction: "2008-10-14"
    chiffrement:
      format: openssl-enc           # auto (default), openssl-enc, openssl-enc-base64, zip, 7z,
                                    # openpgp; none: the files are plaintext (benchmarks)
      cipher: aes-256-cbc           # openssl enc only: aes-{128,192,256}-{cbc,ctr,cfb,ofb},
                                    # camellia-{128,192,256}-cbc, des-ede3-cbc, chacha20
      kdf: pbkdf2                   # openssl enc only: pbkdf2 | evp-bytes-to-key
      digest: sha256                # openssl enc only
      iterations: 10000             # openssl enc with PBKDF2 only
    applications:
      ITAC: {dossier: ITAC, dictionnaire: itac, journal: EXTRACTION_ITAC.log}
      OPALES: {dossier: OPALES, dictionnaire: opales, journal: EXTRACTION_OPALES.log}

Every key is optional. Without livraison.yaml, or without its ``applications`` key, the
applications are the ITAC and OPALES folders (or top-level files such as ``ITAC.7z``) found in
the delivery.

Intake always recognises the format of each file from its bytes. ZIP, 7-Zip and OpenPGP files
carry their own cipher and key derivation, so only the password is needed. An ``openssl enc``
file carries only its salt: the cipher, the key derivation, its digest and the PBKDF2
iterations come from ``chiffrement``. Intake tries the candidates of ``DEFAULT_ATTEMPTS`` in
order on the smallest ``openssl enc`` file, and keeps the first that decrypts it for every
file. A key declared under ``chiffrement`` narrows the candidates (see
``encryption_attempts``):

1. aes-256-cbc, PBKDF2-HMAC-SHA256, 10000 iterations (``openssl enc -pbkdf2``, OpenSSL 1.1.1+);
2. aes-256-cbc, EVP_BytesToKey with SHA-256 (``openssl enc`` without ``-pbkdf2``, 1.1.0+);
3. aes-256-cbc, EVP_BytesToKey with MD5 (``openssl enc`` before OpenSSL 1.1.0);
4. aes-256-cbc, PBKDF2-HMAC-SHA512, 10000 iterations;
5. aes-256-cbc, PBKDF2-HMAC-SHA1, 10000 iterations;
6. aes-256-cbc, EVP_BytesToKey with SHA-1.

So a fully declared ``chiffrement`` gives one attempt, ``chiffrement: {cipher: aes-128-cbc}``
gives the six candidates with AES-128, and ``{kdf: pbkdf2, iterations: 1000}`` gives the three
PBKDF2 candidates with 1000 iterations. An iteration count other than 10000 cannot be guessed:
declare it.
"""

from __future__ import annotations

import difflib
import logging
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from migration.delivery.crypto import CIPHERS, DIGESTS, KDFS, EncryptionParameters
from migration.delivery.errors import DeliveryConfigError, DeliveryError

logger = logging.getLogger(__name__)

CONFIG_NAME = "livraison.yaml"

# Application name -> bundled data dictionary name.
KNOWN_APPLICATIONS = {"ITAC": "itac", "OPALES": "opales"}

DEFAULT_ATTEMPTS = (
    EncryptionParameters("aes-256-cbc", "pbkdf2", "sha256", 10000),
    EncryptionParameters("aes-256-cbc", "evp-bytes-to-key", "sha256"),
    EncryptionParameters("aes-256-cbc", "evp-bytes-to-key", "md5"),
    EncryptionParameters("aes-256-cbc", "pbkdf2", "sha512", 10000),
    EncryptionParameters("aes-256-cbc", "pbkdf2", "sha1", 10000),
    EncryptionParameters("aes-256-cbc", "evp-bytes-to-key", "sha1"),
)

_TOP_KEYS = ("departement", "emetteur", "date_extraction", "chiffrement", "applications", "regles")
_RULE_KEYS = ("severites", "desactivees")
# Records that cannot be split into fields cannot be loaded, whatever their severity, and the
# mapping rules belong to the mapping, so neither can be changed by a delivery.
# Rows that break these rules cannot be loaded whole. A malformed record has no values, and a
# mapping failure has no target row. A second row with the same key would overwrite the first
# one's values in the target while both count as loaded.
_FIXED_RULE_PREFIXES = ("csv.", "structure.", "mapping.", "key.")
_ENCRYPTION_KEYS = ("format", "cipher", "kdf", "digest", "iterations")
_APPLICATION_KEYS = ("dossier", "dictionnaire", "journal")
PLAINTEXT_FORMAT = "none"
AUTO_FORMAT = "auto"
_ENCRYPTION_FORMATS = (
    AUTO_FORMAT,
    "openssl-enc",
    "openssl-enc-base64",
    "zip",
    "7z",
    "openpgp",
    PLAINTEXT_FORMAT,
)


class _Located:
    """Parsed YAML plus the line and column of every value, for error messages."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = (
                f"{path.name}, line {mark.line + 1}, column {mark.column + 1}"
                if mark
                else path.name
            )
            problem = getattr(error, "problem", None) or "invalid YAML"
            raise DeliveryConfigError(f"{where}: {problem}; fix the YAML syntax") from None
        self.marks: dict[tuple[str, ...], yaml.Mark] = {}
        self.key_marks: dict[tuple[str, ...], yaml.Mark] = {}
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, key_path: tuple[str, ...]) -> None:
        self.marks[key_path] = node.start_mark
        if not isinstance(node, yaml.MappingNode):
            return
        for key_node, value_node in node.value:
            child_path = key_path + (str(key_node.value),)
            if child_path in self.key_marks:
                self.marks[child_path] = key_node.start_mark
                raise self.error(child_path, "key given twice")
            self.key_marks[child_path] = key_node.start_mark
            self._walk(value_node, child_path)

    def error(
        self, key_path: tuple[str, ...], message: str, *, at_key: bool = False
    ) -> DeliveryConfigError:
        """Build an error located at the value of ``key_path``, or at the key itself."""
        start = (self.key_marks if at_key else self.marks).get(key_path)
        where = self.path.name
        if start is not None:
            where += f", line {start.line + 1}, column {start.column + 1}"
        name = ".".join(key_path)
        return DeliveryConfigError(f"{where}: {name + ': ' if name else ''}{message}")


def read_delivery_config(delivery_dir: Path) -> dict[str, Any]:
    """Read and check livraison.yaml, or build the default configuration without it.

    Returns:
        ``{"path", "departement", "emetteur", "date_extraction", "chiffrement",
        "applications"}`` with JSON-ready values. ``path`` is the file's path as text, ``None``
        without livraison.yaml. ``date_extraction`` is ``"YYYY-MM-DD"``. ``chiffrement`` is
        ``None`` when not declared (intake then tries ``DEFAULT_ATTEMPTS``), else a dict of the
        declared keys, with ``format`` defaulting to ``auto``. ``encryption_attempts`` turns it
        into the parameters to try. ``applications`` maps each application name to
        ``{"dossier", "dictionnaire", "journal"}``.

    Raises:
        DeliveryConfigError: Invalid YAML, a wrong type, an unknown key or value; the message
            gives the line and column.
        DeliveryError: The delivery folder is missing, or no application is declared or found.
    """
    delivery_dir = Path(delivery_dir)
    check_delivery_folder(delivery_dir)

    config_path = delivery_dir / CONFIG_NAME
    if not config_path.is_file():
        logger.info("%s has no %s: using the default configuration", delivery_dir, CONFIG_NAME)
        return _default_config(delivery_dir)

    try:
        text = config_path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DeliveryConfigError(f"{config_path}: not UTF-8 text; save it as UTF-8") from None
    located = _Located(config_path, text)
    data = located.data if located.data is not None else {}
    if not isinstance(data, dict):
        raise located.error((), "expected a mapping of keys such as departement, applications")

    for key in data:
        if key in _TOP_KEYS:
            continue
        close = difflib.get_close_matches(str(key), _TOP_KEYS, n=1)
        if close and close[0] not in data:
            # The content of a misspelt key such as "règles" would be ignored without an error.
            raise located.error(
                (key,), f"unknown key; did you mean {close[0]}? Correct its name", at_key=True
            )
        logger.warning(
            "%s: unknown key %r ignored%s", CONFIG_NAME, key, _did_you_mean(str(key), _TOP_KEYS)
        )

    applications = data.get("applications")
    return {
        "path": str(config_path),
        "departement": _read_departement(located, data.get("departement")),
        "emetteur": _read_optional_text(located, ("emetteur",), data.get("emetteur")),
        "date_extraction": _read_date(located, data.get("date_extraction")),
        "chiffrement": _read_encryption(located, data.get("chiffrement", None)),
        "regles": _read_rules(located, data.get("regles")),
        "applications": (
            _discover_applications(delivery_dir)
            if applications is None
            else _read_applications(located, applications)
        ),
    }


def _default_config(delivery_dir: Path) -> dict[str, Any]:
    return {
        "path": None,
        "departement": None,
        "emetteur": None,
        "date_extraction": None,
        "chiffrement": None,
        "regles": {"severites": {}, "desactivees": []},
        "applications": _discover_applications(delivery_dir),
    }


def _discover_applications(delivery_dir: Path) -> dict[str, dict[str, str]]:
    children = sorted(delivery_dir.iterdir())
    folders = {child.name.upper(): child.name for child in children if child.is_dir()}
    # An application may also come as one top-level archive, such as ITAC.7z or ITAC.tar.gpg.
    for child in children:
        stem = child.name.split(".", 1)[0]
        if child.is_file() and "." in child.name and stem.upper() not in folders:
            folders[stem.upper()] = stem
    found = {
        name: _application_entry(name, folders[name], None, None)
        for name in KNOWN_APPLICATIONS
        if name in folders
    }
    if not found:
        raise DeliveryError(
            f"{delivery_dir}: no ITAC or OPALES folder (or ITAC.* or OPALES.* archive) found, and "
            f"no {CONFIG_NAME} declaring the application folders; check that this is the "
            "delivery folder"
        )
    return found


def _application_entry(
    name: str, folder: str | None, dictionary: str | None, journal: str | None
) -> dict[str, str]:
    return {
        "dossier": folder or name,
        "dictionnaire": dictionary or KNOWN_APPLICATIONS.get(name.upper(), ""),
        "journal": journal or f"EXTRACTION_{name}.log",
    }


def same_departement(first: str, second: str) -> bool:
    """Tell whether two département codes name the same département.

    Codes are compared without case and without the leading zero of a three-character code,
    so "057" is "57" and "02A" is "2A", while overseas codes such as "971" keep all digits.
    """
    return _departement_key(first) == _departement_key(second)


def normalize_departement(code: str) -> str:
    """Return the three-character form of a département code: "57" gives "057", "2a" gives "02A".

    Codes of another length, such as "971" or a malformed code from an extraction log, are
    only stripped and upper-cased. Two codes that same_departement matches give the same form.
    """
    text = str(code).strip().upper()
    return "0" + text if len(text) == 2 else text


def _departement_key(code: str) -> str:
    text = str(code).strip().upper()
    return text[1:] if len(text) == 3 and text.startswith("0") else text


def _read_departement(located: _Located, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise located.error(
            ("departement",),
            f'expected a quoted code such as "057", found the {type(value).__name__} {value!r} '
            "(YAML reads unquoted 057 as a number); write it in quotes",
        )
    if len(value) not in (2, 3) or not value.isalnum():
        raise located.error(("departement",), f'{value!r} is not a département code like "057"')
    return value


def _read_optional_text(located: _Located, key_path: tuple[str, ...], value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise located.error(key_path, f"expected text, found the {type(value).__name__} {value!r}")


def _read_rules(located: _Located, value: object) -> dict[str, Any]:
    """Read the rule policy: severities to change and rules to disable, by rule id."""
    from migration.validation.rules import RULES

    policy: dict[str, Any] = {"severites": {}, "desactivees": []}
    if value is None:
        return policy
    if not isinstance(value, dict):
        raise located.error(("regles",), "expected a mapping with severites and desactivees")
    for key in value:
        if key not in _RULE_KEYS:
            raise located.error(
                ("regles", key),
                f"unknown key; expected one of {', '.join(_RULE_KEYS)}",
                at_key=True,
            )

    def rule_id(path: tuple[str, ...], rule: object) -> str:
        if not isinstance(rule, str) or rule not in RULES:
            close = _did_you_mean(str(rule), tuple(RULES))
            raise located.error(path, f"{rule!r} is not a rule id{close}")
        if rule.startswith(_FIXED_RULE_PREFIXES):
            raise located.error(path, f"rule {rule} cannot be changed by a delivery")
        return rule

    severities = value.get("severites") or {}
    if not isinstance(severities, dict):
        raise located.error(("regles", "severites"), "expected rule id: error or warning")
    for rule, severity in severities.items():
        rule_id(("regles", "severites", rule), rule)
        if severity not in ("error", "warning"):
            raise located.error(
                ("regles", "severites", rule), f"{severity!r}: use error or warning"
            )
        policy["severites"][rule] = severity
    disabled = value.get("desactivees") or []
    if not isinstance(disabled, list):
        raise located.error(("regles", "desactivees"), "expected a list of rule ids")
    policy["desactivees"] = [rule_id(("regles", "desactivees"), rule) for rule in disabled]
    both = sorted(set(policy["desactivees"]) & set(policy["severites"]))
    if both:
        raise located.error(
            ("regles", "desactivees"),
            f"{', '.join(both)} both disabled and given a severity; keep one of the two",
        )
    return policy


def _read_date(located: _Located, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise located.error(("date_extraction",), f"{value!r} is not a date in the form YYYY-MM-DD")


def _read_encryption(located: _Located, value: object) -> dict[str, Any] | None:
    key_path = ("chiffrement",)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise located.error(key_path, "expected a mapping with format, cipher, kdf, digest")
    _check_keys(located, key_path, value, _ENCRYPTION_KEYS)
    if value.get("format") == PLAINTEXT_FORMAT:
        return {"format": PLAINTEXT_FORMAT}

    settings = {"format": AUTO_FORMAT, **value}
    for key in ("format", "cipher", "kdf", "digest"):
        if key in settings and not isinstance(settings[key], str):
            raise located.error(key_path + (key,), f"expected text, found {settings[key]!r}")
    choices = {"cipher": tuple(CIPHERS), "kdf": KDFS, "digest": tuple(DIGESTS)}
    for key, allowed in choices.items():
        if key in settings and settings[key] not in allowed:
            raise located.error(
                key_path + (key,),
                f"{settings[key]!r} is not supported; use one of {', '.join(allowed)}",
            )

    file_format = settings["format"]
    if file_format not in _ENCRYPTION_FORMATS:
        raise located.error(
            key_path + ("format",),
            f"{file_format!r} is not a known format; use {', '.join(_ENCRYPTION_FORMATS)}",
        )

    if "iterations" in settings:
        iterations = settings["iterations"]
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise located.error(
                key_path + ("iterations",),
                f"expected a whole number of at least 1, found {iterations!r}",
            )
    return settings


def _read_applications(located: _Located, value: object) -> dict[str, dict[str, str]]:
    key_path = ("applications",)
    if not isinstance(value, dict) or not value:
        raise located.error(key_path, "expected a mapping such as ITAC: {dossier: ITAC}")

    applications: dict[str, dict[str, str]] = {}
    for name, entry in value.items():
        entry_path = key_path + (str(name),)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise located.error(
                entry_path, f"application name {name!r} must be letters, digits, _ or -"
            )
        entry = entry if entry is not None else {}
        if not isinstance(entry, dict):
            raise located.error(
                entry_path, "expected a mapping with dossier, dictionnaire, journal"
            )
        _check_keys(located, entry_path, entry, _APPLICATION_KEYS)
        for key in _APPLICATION_KEYS:
            if key in entry and not isinstance(entry[key], str):
                raise located.error(entry_path + (key,), f"expected text, found {entry[key]!r}")
        folder = entry.get("dossier")
        if folder is not None and (Path(folder).is_absolute() or ".." in Path(folder).parts):
            raise located.error(entry_path + ("dossier",), "must be a folder inside the delivery")
        if not entry.get("dictionnaire") and name.upper() not in KNOWN_APPLICATIONS:
            raise located.error(
                entry_path,
                "unknown application: give the data dictionary to read it with (dictionnaire:)",
            )
        applications[name] = _application_entry(
            name, folder, entry.get("dictionnaire"), entry.get("journal")
        )
    return applications


def _check_keys(
    located: _Located, key_path: tuple[str, ...], mapping: dict[Any, Any], allowed: tuple[str, ...]
) -> None:
    for key in mapping:
        if key not in allowed:
            raise located.error(
                key_path + (str(key),),
                f"unknown key; expected one of {', '.join(allowed)}"
                f"{_did_you_mean(str(key), allowed)}",
                at_key=True,
            )


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def encryption_attempts(config: dict[str, Any]) -> tuple[EncryptionParameters, ...]:
    """Return the ``openssl enc`` parameters to try, in order (see the module documentation).

    A declared ``kdf`` or ``digest`` keeps the candidates that have it, or is set on every
    candidate when none has it. A declared ``cipher`` or ``iterations`` is set on every
    candidate. Returns an empty tuple when ``chiffrement`` declares the files plaintext.
    """
    settings = config.get("chiffrement")
    if settings is None:
        return DEFAULT_ATTEMPTS
    if settings.get("format") == PLAINTEXT_FORMAT:
        return ()
    candidates = [
        (candidate.cipher, candidate.kdf, candidate.digest, candidate.iterations)
        for candidate in DEFAULT_ATTEMPTS
    ]
    for position, key in ((1, "kdf"), (2, "digest")):
        if key not in settings:
            continue
        kept = [candidate for candidate in candidates if candidate[position] == settings[key]]
        candidates = kept or [
            (*candidate[:position], settings[key], *candidate[position + 1 :])
            for candidate in candidates
        ]
    attempts: list[EncryptionParameters] = []
    for cipher, kdf, digest, iterations in candidates:
        params = EncryptionParameters(
            settings.get("cipher", cipher),
            kdf,
            digest,
            # EVP_BytesToKey runs once: its candidates keep the default iteration count.
            settings.get("iterations", iterations) if kdf == "pbkdf2" else iterations,
        )
        if params not in attempts:
            attempts.append(params)
    return tuple(attempts)


def encryption_parameters(config: dict[str, Any]) -> EncryptionParameters | None:
    """Return the declared ``openssl enc`` parameters when they leave a single attempt, else None.

    ``None`` also means undeclared or plaintext; ``encryption_attempts`` gives the candidates.
    """
    if config.get("chiffrement") is None:
        return None
    attempts = encryption_attempts(config)
    return attempts[0] if len(attempts) == 1 else None


def check_delivery_folder(delivery_dir: Path) -> None:
    """Raise DeliveryError when `delivery_dir` is not a folder."""
    if delivery_dir.is_file():
        raise DeliveryError(
            f"{delivery_dir}: is a file, not a delivery folder; give the delivery folder, "
            f"which contains one folder per application and usually {CONFIG_NAME}"
        )
    if not delivery_dir.is_dir():
        raise DeliveryError(
            f"{delivery_dir}: delivery folder not found; check the path, nothing was decrypted "
            "or loaded"
        )
