"""Reading of the delivery password: environment, private file, terminal prompt."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from migration.delivery.errors import PasswordError
from migration.delivery.password import PASSWORD_ENV_VAR, read_password

ROOT = Path(__file__).resolve().parents[2]


def write_password_file(folder: Path, content: bytes, mode: int) -> Path:
    path = folder / "password.txt"
    path.write_bytes(content)
    os.chmod(path, mode)
    return path


def test_env_var_read() -> None:
    environ = {PASSWORD_ENV_VAR: "from-env"}

    assert read_password(environ=environ, interactive=False) == "from-env"


def test_env_var_wins_over_file(tmp_path: Path) -> None:
    path = write_password_file(tmp_path, b"from-file\n", 0o600)
    environ = {PASSWORD_ENV_VAR: "from-env"}

    assert read_password(path, environ=environ, interactive=False) == "from-env"


def test_empty_env_var_rejected(tmp_path: Path) -> None:
    path = write_password_file(tmp_path, b"from-file\n", 0o600)

    with pytest.raises(PasswordError, match=f"{PASSWORD_ENV_VAR} is set but empty"):
        read_password(path, environ={PASSWORD_ENV_VAR: ""}, interactive=False)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"from-file\n", "from-file"),
        (b"from-file\r\n", "from-file"),
        (b"from-file", "from-file"),
        (b"  with spaces  \nsecond line\n", "  with spaces  "),
        ("Pâques 2008".encode(), "Pâques 2008"),
    ],
)
def test_private_file_accepted(tmp_path: Path, content: bytes, expected: str) -> None:
    path = write_password_file(tmp_path, content, 0o600)

    assert read_password(path, environ={}, interactive=False) == expected


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_shared_file_rejected(tmp_path: Path, mode: int) -> None:
    path = write_password_file(tmp_path, b"from-file\n", mode)

    with pytest.raises(PasswordError) as raised:
        read_password(path, environ={}, interactive=False)

    message = str(raised.value)
    assert f"accessible to group or others (mode {mode:04o})" in message
    assert f"chmod 600 {path}" in message
    assert "from-file" not in message


def test_owner_read_only_file_accepted(tmp_path: Path) -> None:
    path = write_password_file(tmp_path, b"from-file\n", 0o400)

    assert read_password(path, environ={}, interactive=False) == "from-file"


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(PasswordError, match="password file not found"):
        read_password(tmp_path / "absent", environ={}, interactive=False)


def test_empty_file_rejected(tmp_path: Path) -> None:
    path = write_password_file(tmp_path, b"\nsecond\n", 0o600)

    with pytest.raises(PasswordError, match="first line of the password file is empty"):
        read_password(path, environ={}, interactive=False)


def test_symlink_not_followed(tmp_path: Path) -> None:
    target = write_password_file(tmp_path, b"from-file\n", 0o600)
    link = tmp_path / "link.txt"
    link.symlink_to(target)

    with pytest.raises(PasswordError, match="cannot open the password file"):
        read_password(link, environ={}, interactive=False)


def test_no_source_explains_options() -> None:
    with pytest.raises(PasswordError) as raised:
        read_password(environ={}, interactive=False)

    message = str(raised.value)
    assert PASSWORD_ENV_VAR in message
    assert "--password-file" in message


PROMPT_SCRIPT = textwrap.dedent(
    """
    import os, pty, sys
    pid, fd = pty.fork()
    if pid == 0:
        from migration.delivery.password import read_password
        try:
            password = read_password(environ={})
        except Exception as error:
            password = "ERROR " + str(error)
        with open(sys.argv[1], "w") as out:
            out.write(password)
        os._exit(0)
    prompt = b""
    while b"password" not in prompt:
        prompt += os.read(fd, 100)
    os.write(fd, sys.argv[2].encode() + b"\\n")
    try:
        while os.read(fd, 100):
            pass
    except OSError:
        pass
    os.waitpid(pid, 0)
    """
)


def test_terminal_prompt_used(tmp_path: Path) -> None:
    result_file = tmp_path / "typed.txt"

    process = subprocess.run(
        [sys.executable, "-c", PROMPT_SCRIPT, str(result_file), "typed-secret"],
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key != PASSWORD_ENV_VAR},
        capture_output=True,
        timeout=30,
        check=False,
    )

    assert process.returncode == 0, process.stderr
    assert result_file.read_text() == "typed-secret"
