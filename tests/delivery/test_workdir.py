"""Private work folders: modes 0700 and 0600, removal at exit."""

from __future__ import annotations

import gc
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from migration.delivery.errors import DeliveryError
from migration.delivery.workdir import (
    OWNER_FILE,
    PrivateWorkdir,
    check_private_dir,
    make_private_dir,
    open_private_file,
    remove_abandoned_workdirs,
)
from tests.delivery.helpers import killed_run_folder


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Run with umask 000, so only the code's own modes keep files private."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_folder_and_files_private(tmp_path: Path) -> None:
    with PrivateWorkdir(tmp_path) as workdir:
        with workdir.open("ITAC/sub/DOSSIER.csv") as handle:
            handle.write(b"data")

        assert workdir.path.parent == tmp_path
        assert mode_of(workdir.path) == 0o700
        assert mode_of(workdir.path / "ITAC") == 0o700
        assert mode_of(workdir.path / "ITAC" / "sub") == 0o700
        assert mode_of(workdir.path / "ITAC" / "sub" / "DOSSIER.csv") == 0o600
        assert (workdir.path / "ITAC" / "sub" / "DOSSIER.csv").read_bytes() == b"data"


def test_removed_at_exit(tmp_path: Path) -> None:
    with PrivateWorkdir(tmp_path) as workdir:
        with workdir.open("ITAC/DOSSIER.csv") as handle:
            handle.write(b"data")
        path = workdir.path

    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_removed_when_block_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), PrivateWorkdir(tmp_path) as workdir:
        path = workdir.path
        workdir.mkdir("ITAC")
        raise RuntimeError("stop")

    assert not path.exists()


def test_removed_when_garbage_collected(tmp_path: Path) -> None:
    workdir = PrivateWorkdir(tmp_path)
    path = workdir.path
    del workdir
    gc.collect()

    assert not path.exists()


def test_interrupted_removal_finished_later(tmp_path: Path, monkeypatch) -> None:
    workdir = PrivateWorkdir(tmp_path)
    for name in ("DOSSIER.csv", "DEMANDE.csv"):
        workdir.open(name).close()
    path = workdir.path
    real_rmtree = shutil.rmtree

    def rmtree_interrupted(folder, *args, **kwargs):
        # A Ctrl-C arriving after the first file is removed.
        (Path(folder) / "DOSSIER.csv").unlink()
        monkeypatch.setattr(shutil, "rmtree", real_rmtree)
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "rmtree", rmtree_interrupted)
    with pytest.raises(KeyboardInterrupt):
        workdir.cleanup()
    assert (path / "DEMANDE.csv").exists()

    del workdir
    gc.collect()
    assert not path.exists()


def test_kept_on_request(tmp_path: Path) -> None:
    with PrivateWorkdir(tmp_path, keep=True) as workdir:
        with workdir.open("DOSSIER.csv") as handle:
            handle.write(b"data")

    assert (workdir.path / "DOSSIER.csv").read_bytes() == b"data"


def test_kept_folder_without_files_removed(tmp_path: Path) -> None:
    with PrivateWorkdir(tmp_path, keep=True) as workdir:
        workdir.mkdir("ITAC/sub")

    assert not workdir.path.exists()
    assert list(tmp_path.iterdir()) == []


def test_kept_folder_with_symlink_stays(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    with PrivateWorkdir(tmp_path, keep=True) as workdir:
        (workdir.mkdir("ITAC") / "link").symlink_to(tmp_path / "elsewhere")

    assert (workdir.path / "ITAC" / "link").is_symlink()


def test_default_parent_is_temp_dir() -> None:
    import tempfile

    with PrivateWorkdir() as workdir:
        assert workdir.path.parent == Path(tempfile.gettempdir())
        assert workdir.path.name.startswith("mdph-reprise-")


def test_missing_parent_rejected(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError, match=r"work folder not found \(--workdir"):
        PrivateWorkdir(tmp_path / "absent")


def test_file_as_parent_rejected(tmp_path: Path) -> None:
    (tmp_path / "work").write_bytes(b"")

    with pytest.raises(
        DeliveryError, match="work: is a file, not a folder; give an existing folder"
    ):
        PrivateWorkdir(tmp_path / "work")


def test_open_does_not_overwrite(tmp_path: Path) -> None:
    with PrivateWorkdir(tmp_path) as workdir:
        workdir.open("x").close()

        with pytest.raises(FileExistsError):
            workdir.open("x")


@pytest.mark.parametrize("relative", ["../escape", "/etc/x", "a/../../b"])
def test_path_outside_rejected(tmp_path: Path, relative: str) -> None:
    with PrivateWorkdir(tmp_path) as workdir, pytest.raises(ValueError, match="inside the work"):
        workdir.open(relative)


def test_open_private_file_does_not_follow_symlink(tmp_path: Path) -> None:
    (tmp_path / "target").write_bytes(b"keep")
    (tmp_path / "link").symlink_to(tmp_path / "target")

    with pytest.raises(OSError):
        open_private_file(tmp_path / "link", exclusive=False)
    assert (tmp_path / "target").read_bytes() == b"keep"


@pytest.mark.usefixtures("open_umask")
def test_make_private_dir_creates_0700(tmp_path: Path) -> None:
    folder = make_private_dir(tmp_path / "a" / "out")

    assert mode_of(folder) == 0o700


def test_make_private_dir_accepts_private_folder(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir(mode=0o700)

    assert make_private_dir(tmp_path / "out") == tmp_path / "out"


def test_shared_folder_rejected(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    os.chmod(tmp_path / "out", 0o755)

    with pytest.raises(
        DeliveryError, match=r"accessible to group or others \(mode 0755\).*chmod 700"
    ):
        make_private_dir(tmp_path / "out")


def test_world_writable_folder_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)

    with pytest.raises(DeliveryError) as raised:
        make_private_dir(shared)

    message = str(raised.value)
    assert f"mkdir -m 700 {shared / 'mdph-reprise'}" in message
    assert "chmod" not in message
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


def test_file_in_place_of_folder_rejected(tmp_path: Path) -> None:
    (tmp_path / "out").write_bytes(b"")

    with pytest.raises(DeliveryError, match="expected a folder"):
        check_private_dir(tmp_path / "out")


def test_modes_exact_under_strict_umask(tmp_path: Path) -> None:
    previous = os.umask(0o277)
    try:
        folder = make_private_dir(tmp_path / "out")
        with PrivateWorkdir(tmp_path) as workdir:
            workdir.open("ITAC/DOSSIER.csv").close()
            sub_mode = mode_of(workdir.path / "ITAC")
    finally:
        os.umask(previous)

    assert mode_of(folder) == 0o700
    assert sub_mode == 0o700


def test_reopened_file_made_private(tmp_path: Path) -> None:
    path = tmp_path / "DOSSIER.csv"
    path.write_bytes(b"old")
    os.chmod(path, 0o644)

    with open_private_file(path, exclusive=False) as handle:
        handle.write(b"new")

    assert mode_of(path) == 0o600
    assert path.read_bytes() == b"new"


def test_folder_of_killed_run_removed(tmp_path: Path) -> None:
    abandoned = killed_run_folder(tmp_path)
    assert (abandoned / "DOSSIER.csv").exists()

    with PrivateWorkdir(tmp_path) as running:
        removed = remove_abandoned_workdirs(tmp_path)

        assert removed == [abandoned]
        assert not abandoned.exists()
        assert running.path.exists()


def test_kept_folder_of_killed_run_stays(tmp_path: Path) -> None:
    kept_folder = killed_run_folder(tmp_path, keep=True)

    assert remove_abandoned_workdirs(tmp_path) == []
    assert (kept_folder / "DOSSIER.csv").read_text() == "data"


def test_folder_without_owner_file_stays(tmp_path: Path) -> None:
    other = make_private_dir(tmp_path / "mdph-reprise-older")

    assert remove_abandoned_workdirs(tmp_path) == []
    assert other.exists()


def _owner_line(path: Path, line: str) -> None:
    (path / OWNER_FILE).write_text(line, encoding="ascii")


def test_folder_with_reused_process_id_removed(tmp_path: Path) -> None:
    abandoned = killed_run_folder(tmp_path)
    pid, intent, boot, started = (abandoned / OWNER_FILE).read_text().split()
    # The id now belongs to this test process, which started at another time.
    _owner_line(abandoned, f"{os.getpid()} {intent} {boot} {int(started) - 1}\n")

    assert remove_abandoned_workdirs(tmp_path) == [abandoned]


def test_folder_from_before_boot_removed(tmp_path: Path) -> None:
    abandoned = killed_run_folder(tmp_path)
    _pid, intent, _boot, started = (abandoned / OWNER_FILE).read_text().split()
    _owner_line(abandoned, f"{os.getpid()} {intent} another-boot {started}\n")

    assert remove_abandoned_workdirs(tmp_path) == [abandoned]


def test_folder_of_running_owner_stays(tmp_path: Path) -> None:
    with PrivateWorkdir(tmp_path) as running:
        fields = (running.path / OWNER_FILE).read_text().split()

        assert fields[0] == str(os.getpid())
        assert fields[1] == "remove"
        assert remove_abandoned_workdirs(tmp_path) == []
        assert running.path.exists()
