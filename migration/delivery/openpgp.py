"""Decrypt password-encrypted OpenPGP files (``gpg -c``, binary or armoured) with GnuPG.

No maintained pure-Python library decrypts every OpenPGP symmetric variant that GnuPG writes,
so the real ``gpg`` binary does the work:

- the password goes through a pipe (``--passphrase-fd``), never the command line, where other
  users could read it in the process list;
- ``--homedir`` is a fresh private folder, so no user keyring, configuration or agent cache is
  read or written, and ``--no-symkey-cache`` (GnuPG 2.2.7 and later) keeps the password out of
  gpg-agent;
- the plaintext comes back on standard output, so gpg writes no file of its own and a failure
  leaves nothing behind but what the caller discards.

GnuPG checks the modification detection code (MDC) of the message, so unlike ``openssl enc``
a damaged file fails here instead of decrypting to garbage.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO

from migration.delivery.crypto import Writable
from migration.delivery.errors import (
    DecryptionError,
    PasswordOrDamageError,
    ToolMissingError,
    TruncatedFileError,
)

logger = logging.getLogger(__name__)

GPG_ENV_VAR = "MDPH_GPG"
CHUNK_SIZE = 1 << 20
# gpg's standard error names the failure; these phrases tell a password from damage.
_WRONG_PASSWORD = ("bad session key", "bad passphrase", "no passphrase given")
_TRUNCATED = ("unexpected eof", "premature eof")


def find_gpg() -> str:
    """Return the path of the gpg binary (``MDPH_GPG`` or ``gpg`` on the PATH).

    Raises:
        ToolMissingError: gpg is not installed.
    """
    configured = os.environ.get(GPG_ENV_VAR)
    found = shutil.which(configured or "gpg")
    if found is None:
        raise ToolMissingError(
            "gpg (GnuPG) is needed to decrypt OpenPGP files but was not found; install it "
            "(Debian, Ubuntu: apt-get install gnupg) or set MDPH_GPG to its path"
        )
    return found


def decrypt_openpgp_stream(
    source: BinaryIO,
    destination: Writable,
    password: str,
    *,
    name: str,
) -> int:
    """Decrypt an OpenPGP message read from ``source`` into ``destination``.

    Args:
        source: Binary stream of the encrypted file (binary or ASCII-armoured).
        destination: Receives the plaintext; on failure it may hold part of it, which the
            caller must discard.
        password: The delivery password.
        name: File name used in error messages.

    Returns:
        The number of plaintext bytes written.

    Raises:
        DecryptionError: Wrong password, truncated or damaged file (the message gives the
            reason gpg reports).
        ToolMissingError: gpg is not installed.
    """
    gpg = find_gpg()
    # The agent removes its sockets while it stops, which can race the cleanup of the home
    # folder, so cleanup errors are ignored: the folder never holds decrypted data.
    with tempfile.TemporaryDirectory(prefix="mdph-gpg-", ignore_cleanup_errors=True) as homedir:
        os.chmod(homedir, 0o700)
        read_fd, write_fd = os.pipe()
        try:
            # A pipe buffers at least 4096 bytes (POSIX PIPE_BUF is 512, Linux gives 64 KiB),
            # far more than a password, so this write does not block before gpg reads it.
            os.write(write_fd, password.encode("utf-8", "surrogateescape") + b"\n")
        finally:
            os.close(write_fd)
        command = [
            gpg,
            "--homedir",
            homedir,
            "--batch",
            "--no-tty",
            "--quiet",
            "--no-options",
            "--no-symkey-cache",
            "--pinentry-mode",
            "loopback",
            "--passphrase-fd",
            str(read_fd),
            "--decrypt",
            "--output",
            "-",
        ]
        stderr_file = tempfile.TemporaryFile(dir=homedir)
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "GNUPGHOME": homedir}
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr_file,
                pass_fds=(read_fd,),
                env=env,
            )
        finally:
            os.close(read_fd)

        feeder = threading.Thread(target=_feed, args=(source, process.stdin), daemon=True)
        feeder.start()
        written = 0
        try:
            assert process.stdout is not None
            for chunk in iter(lambda: process.stdout.read(CHUNK_SIZE), b""):
                destination.write(chunk)
                written += len(chunk)
        except BaseException:
            process.kill()
            raise
        finally:
            process.stdout.close()
            return_code = process.wait()
            feeder.join()
        stderr_file.seek(0)
        messages = stderr_file.read().decode("utf-8", "replace")
        stderr_file.close()
        _kill_agent(gpg, homedir)

    if return_code != 0:
        raise _failure(name, messages)
    return written


def _feed(source: BinaryIO, stdin: BinaryIO | None) -> None:
    assert stdin is not None
    try:
        for chunk in iter(lambda: source.read(CHUNK_SIZE), b""):
            stdin.write(chunk)
    except (BrokenPipeError, ValueError):
        # gpg stopped reading (wrong password, damaged file), and its exit status gives why.
        pass
    finally:
        try:
            stdin.close()
        except BrokenPipeError:
            pass


def _kill_agent(gpg: str, homedir: str) -> None:
    gpgconf = shutil.which("gpgconf", path=str(Path(gpg).parent)) or shutil.which("gpgconf")
    if gpgconf is None:
        return
    subprocess.run(
        [gpgconf, "--homedir", homedir, "--kill", "gpg-agent"],
        capture_output=True,
        check=False,
        timeout=10,
    )


def _failure(name: str, messages: str) -> DecryptionError:
    lowered = messages.lower()
    # gpg's own lines name algorithms and packets, never the plaintext.
    reason = next(
        (
            line.removeprefix("gpg: ").strip()
            for line in reversed(messages.splitlines())
            if line.startswith("gpg: ") and ("fail" in line or "error" in line or "WARN" in line)
        ),
        "",
    )
    detail = f" (gpg: {reason})" if reason else ""
    logger.debug("gpg failed on %s: %s", name, reason)
    if any(phrase in lowered for phrase in _WRONG_PASSWORD):
        return PasswordOrDamageError(name, detail)
    if any(phrase in lowered for phrase in _TRUNCATED):
        return TruncatedFileError(
            f"{name}: the file is truncated or damaged{detail}; ask the sender for a new copy"
        )
    return PasswordOrDamageError(name, detail)
