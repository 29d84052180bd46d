"""Read the delivery password from the environment, a private file or a terminal prompt.

The password is never taken from the command line, because command lines are visible to other
users of the machine (``ps``) and are kept in shell histories.
"""

from __future__ import annotations

import getpass
import logging
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from migration.delivery.errors import PasswordError

logger = logging.getLogger(__name__)

PASSWORD_ENV_VAR = "MDPH_DELIVERY_PASSWORD"

# The ways of giving the password that a wrong-password message names (see intake).
PASSWORD_SOURCES = (
    f"in the environment variable {PASSWORD_ENV_VAR} or in a file named by --password-file"
)

_HOW_TO_GIVE = (
    f"set the environment variable {PASSWORD_ENV_VAR}, or pass --password-file FILE "
    "(a file only you can read: chmod 600 FILE), or run the command from a terminal "
    "to be prompted"
)


def read_password(
    password_file: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    interactive: bool | None = None,
) -> str:
    """Read the delivery password.

    Sources, in order: the ``MDPH_DELIVERY_PASSWORD`` environment variable, then
    ``password_file`` (its first line, without the line terminator, as ``openssl -pass file:``
    reads it), then a ``getpass`` prompt.

    Args:
        password_file: File holding the password. It must not be readable or writable by group
            or others.
        environ: Environment to read the variable from.
        interactive: Whether a prompt may be shown. ``None`` means "when standard input is a
            terminal".

    Raises:
        PasswordError: The variable is set but empty, the file is missing, not private or empty,
            or no source is available.
    """
    if PASSWORD_ENV_VAR in environ:
        value = environ[PASSWORD_ENV_VAR]
        if not value:
            raise PasswordError(
                f"the environment variable {PASSWORD_ENV_VAR} is set but empty: "
                "set it to the delivery password, or unset it"
            )
        logger.debug("delivery password read from %s", PASSWORD_ENV_VAR)
        return value

    if password_file is not None:
        return read_password_file(Path(password_file))

    if interactive is None:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    if interactive:
        return _prompt_password()

    raise PasswordError(f"no delivery password given: {_HOW_TO_GIVE}")


def read_password_file(path: Path) -> str:
    """Read the first line of a password file after checking that only its owner can use it.

    Raises:
        PasswordError: The file is missing, is not a regular file, has group or other
            permission bits, is not UTF-8 or has an empty first line.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise PasswordError(f"{path}: password file not found") from None
    except OSError as error:
        raise PasswordError(f"{path}: cannot open the password file ({error.strerror})") from None

    with os.fdopen(fd, "rb") as handle:
        # Checked on the open descriptor, so the file cannot be swapped between check and read.
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise PasswordError(f"{path}: the password file is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise PasswordError(
                f"{path}: the password file is accessible to group or others "
                f"(mode {mode:04o}); run: chmod 600 {path}"
            )
        raw = handle.readline()

    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PasswordError(f"{path}: the password file is not UTF-8 text") from None
    password = line.rstrip("\r\n")
    if not password:
        raise PasswordError(f"{path}: the first line of the password file is empty")
    logger.debug("delivery password read from a password file")
    return password


def _prompt_password() -> str:
    try:
        password = getpass.getpass("Delivery password: ")
    except EOFError:
        raise PasswordError(f"no delivery password typed: {_HOW_TO_GIVE}") from None
    if not password:
        raise PasswordError("the delivery password typed is empty")
    return password
