"""Private directories and files for decrypted data: folders 0700, files 0600.

Decrypted files hold personal and health data, so they are only written into folders that no
other user can list or read, and are removed when the run ends unless the user keeps them.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
import weakref
from pathlib import Path
from typing import BinaryIO

from migration.delivery.errors import DeliveryError

logger = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# A file in each work folder: the id of the process that made it, "keep" or "remove", then
# the boot id of the machine and the start time of that process, "-" where unknown. A power
# cut or a reboot reuses process ids, which the last two tell apart.
OWNER_FILE = ".mdph-reprise-owner"
WORKDIR_PREFIX = "mdph-reprise-"


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as a folder only its owner can use.

    A missing folder is created with mode 0700; its missing parents get the usual umask modes.

    Raises:
        DeliveryError: ``path`` exists and is not a folder, or group or others have any
            permission on it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=PRIVATE_DIR_MODE)
    except FileExistsError:
        check_private_dir(path)
        return path
    # mkdir applies the umask, which can only remove bits; chmod makes the mode exact.
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def check_private_dir(path: Path) -> None:
    """Check that ``path`` is a folder that group and others cannot use.

    Raises:
        DeliveryError: It is not a folder, or its mode has group or other bits.
    """
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise DeliveryError(f"{path}: expected a folder for decrypted files, found another file")
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o077:
        return
    if info.st_uid == os.getuid() and not mode & (stat.S_ISVTX | stat.S_IWOTH):
        advice = f"run: chmod 700 {path}, or choose another folder"
    else:
        # A shared folder such as /tmp must keep its mode: other users and services need it.
        advice = (
            f"create a private folder in it (mkdir -m 700 {path / 'mdph-reprise'}) and give "
            "that one, or choose another folder"
        )
    raise DeliveryError(
        f"{path}: the folder for decrypted files is accessible to group or others "
        f"(mode {mode:04o}); {advice}"
    )


def open_private_file(path: Path, *, exclusive: bool = True) -> BinaryIO:
    """Open ``path`` for binary writing, creating it with mode 0600.

    Args:
        path: File to create. Its folder must exist.
        exclusive: Fail if the file exists, so that no other user's file (or a symbolic link
            planted in its place) is written through.

    Raises:
        FileExistsError: ``exclusive`` is true and the file exists.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    if exclusive:
        flags |= os.O_EXCL
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def _remove_tree(path: Path) -> None:
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError as error:
        logger.warning("could not remove the private work folder %s: %s", path, error)
    else:
        logger.debug("private work folder %s removed", path)


def _contains_no_file(path: Path) -> bool:
    """Return True when ``path`` contains nothing but folders and its owner file.

    A symbolic link counts as a file. A folder that cannot be read counts as containing files,
    so it is kept.
    """

    def stop(error: OSError) -> None:
        raise error

    try:
        for folder, subfolders, files in os.walk(path, onerror=stop):
            if Path(folder) == path:
                files = [name for name in files if name != OWNER_FILE]
            if files or any(os.path.islink(os.path.join(folder, name)) for name in subfolders):
                return False
    except OSError:
        return False
    return True


class PrivateWorkdir:
    """A private work folder (mode 0700) for decrypted files, removed at exit by default.

    The folder is created by the constructor. It is removed recursively by ``cleanup()``, at the
    end of a ``with`` block (also when the block raises) or, as a last resort, when the object
    is garbage-collected or the interpreter exits. With ``keep=True``, ``cleanup()`` leaves it in
    place and logs its path, unless it contains no file but its owner file, and then removes it.

    Attributes:
        path: The folder.
        keep: Whether the folder survives ``cleanup()``.
    """

    def __init__(
        self, parent: Path | None = None, *, prefix: str = WORKDIR_PREFIX, keep: bool = False
    ) -> None:
        parent_dir = Path(parent) if parent is not None else Path(tempfile.gettempdir())
        if parent_dir.exists() and not parent_dir.is_dir():
            raise DeliveryError(
                f"{parent_dir}: is a file, not a folder; give an existing folder to contain the "
                "private work folder for decrypted files"
            )
        if not parent_dir.is_dir():
            raise DeliveryError(
                f"{parent_dir}: work folder not found (--workdir, or workdir_parent in Dagster); "
                "create it, or give an existing folder in which the run makes its private folder "
                "for decrypted files"
            )
        # mkdtemp creates the folder with mode 0700 and a random name, so it cannot be planted.
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent_dir))
        os.chmod(self.path, PRIVATE_DIR_MODE)
        pid = os.getpid()
        intent = "keep" if keep else "remove"
        owner_line = f"{pid} {intent} {_boot_id() or '-'} {_start_time(pid) or '-'}\n"
        with open_private_file(self.path / OWNER_FILE) as owner:
            owner.write(owner_line.encode("ascii"))
        self.keep = keep
        self._finalizer = None if keep else weakref.finalize(self, _remove_tree, self.path)
        logger.debug("private work folder %s created", self.path)

    def __enter__(self) -> PrivateWorkdir:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    def mkdir(self, relative: str | Path) -> Path:
        """Create a private sub-folder (mode 0700, parents included) and return its path."""
        target = self.path
        for part in self._relative_parts(relative):
            target = make_private_dir(target / part)
        return target

    def open(self, relative: str | Path, *, exclusive: bool = True) -> BinaryIO:
        """Open a file inside the folder for binary writing with mode 0600.

        Missing sub-folders are created with mode 0700.
        """
        *folders, name = self._relative_parts(relative)
        return open_private_file(self.mkdir(Path(*folders)) / name, exclusive=exclusive)

    @staticmethod
    def _relative_parts(relative: str | Path) -> tuple[str, ...]:
        parts = Path(relative).parts
        if Path(relative).is_absolute() or ".." in parts:
            raise ValueError(f"expected a path inside the work folder, got {relative}")
        return parts

    def cleanup(self) -> None:
        """Remove the folder and everything in it, unless ``keep`` is true and it contains files.

        The finalizer is detached only once the removal is over. A Ctrl-C or SIGTERM raised in
        the middle of it leaves the rest to the finalizer, at garbage collection or exit.
        """
        if self.keep:
            if self._finalizer is not None:
                self._finalizer.detach()
            if _contains_no_file(self.path):
                # A run that decrypted nothing, after a wrong password for example, leaves
                # nothing to keep, and an empty folder would only wait for a manual removal.
                _remove_tree(self.path)
                logger.info(
                    "work folder %s removed because it contains no decrypted file", self.path
                )
                return
            logger.info("decrypted files kept in %s; delete the folder when done", self.path)
            return
        if self._finalizer is not None and self._finalizer.alive:
            _remove_tree(self.path)
            self._finalizer.detach()


def remove_abandoned_workdirs(
    parent: Path | None = None, prefix: str = WORKDIR_PREFIX
) -> list[Path]:
    """Remove the work folders that a killed run of this user left behind, and list them.

    A run stopped by SIGKILL or a power cut cannot remove its decrypted files. A folder in
    `parent` (default: the temporary folder) is removed when three conditions hold. This user
    owns it, its owner file marks it as not to be kept, and the process that made it no longer
    runs. A process no longer runs when the machine has booted since, when no process has its
    id, or when the process with its id started at another time. Folders kept with
    --keep-plaintext, folders of a running process and folders without an owner file are left
    alone.
    """
    parent_dir = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    removed = []
    for path in sorted(parent_dir.glob(f"{prefix}*")):
        try:
            info = path.lstat()
            fields = (path / OWNER_FILE).read_text(encoding="ascii").split()
            pid, intent = int(fields[0]), fields[1]
        except (OSError, ValueError, IndexError):
            continue
        boot, started = (fields[2:4] + ["-", "-"])[:2]
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        if intent != "remove" or _owner_runs(pid, boot, started):
            continue
        _remove_tree(path)
        if not path.exists():
            logger.info("removed %s, left by process %d, which no longer runs", path, pid)
            removed.append(path)
    return removed


def _owner_runs(pid: int, boot: str, started: str) -> bool:
    """Tell whether the process that made a work folder still runs.

    A folder made before the last boot has no running owner. Otherwise a process with that id
    must exist, and when both start times are known they must be equal, because a later
    process may have been given the same id.
    """
    current_boot = _boot_id()
    if boot != "-" and current_boot is not None and boot != current_boot:
        return False
    if not _process_exists(pid):
        return False
    current_start = _start_time(pid)
    return started == "-" or current_start is None or current_start == started


def _boot_id() -> str | None:
    """Return the Linux boot id, which changes at every boot, or None elsewhere."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return None


def _start_time(pid: int) -> str | None:
    """Return when a process started, in clock ticks since boot (Linux), or None."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name, in brackets, may contain spaces, so fields are counted after it.
    # Field 22 of the line is the 20th after the name.
    fields = stat_line[stat_line.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # a process of another user has that id
    return True
