"""The safe writers every output goes through (neuroattn/_files.py)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from neuroattn._files import (
    FolderLock,
    FolderLockedError,
    atomic_folder,
    atomic_write,
    check_output_dir,
    check_output_file,
    current_umask,
)


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_current_umask_reads_without_changing(umask_027):
    assert current_umask() == 0o027
    assert current_umask() == 0o027


def test_atomic_write_uses_the_umask_not_0600(tmp_path, umask_027):
    path = atomic_write(tmp_path / "a.txt", lambda fh: fh.write("x"))
    assert path.read_text() == "x"
    assert _mode(path) == 0o640


def test_atomic_write_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")

    def fail(fh):
        fh.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, fail)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_atomic_write_missing_folder_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        atomic_write(tmp_path / "nope" / "a.txt", lambda fh: fh.write("x"))


def test_atomic_folder_replaces_whole_or_not_at_all(tmp_path):
    folder = tmp_path / "out"
    with atomic_folder(folder) as tmp:
        (tmp / "a").write_text("1")
    assert (folder / "a").read_text() == "1"
    with pytest.raises(ValueError, match="overwrite"), atomic_folder(folder):
        pass
    with pytest.raises(KeyboardInterrupt), atomic_folder(folder, overwrite=True) as tmp:
        (tmp / "b").write_text("2")
        raise KeyboardInterrupt
    assert sorted(p.name for p in folder.iterdir()) == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with atomic_folder(folder, overwrite=True) as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in folder.iterdir()) == ["b"]


def test_atomic_folder_refuses_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="is a file"), atomic_folder(tmp_path / "f"):
        pass


def test_check_output_file_creates_parents_and_refuses_folders(tmp_path):
    path = check_output_file(tmp_path / "a" / "b" / "m.safetensors", parameter="--out")
    assert path.parent.is_dir()
    with pytest.raises(ValueError, match="--out: .* is a folder"):
        check_output_file(tmp_path / "a", parameter="--out")
    path.write_text("x")
    with pytest.raises(ValueError, match="exists"):
        check_output_file(path, overwrite=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_check_output_dir_names_an_unwritable_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OSError, match="--out-dir.*ro"):
            check_output_dir(ro / "sub", parameter="--out-dir")
        with pytest.raises(OSError, match="not writable"):
            check_output_dir(ro, parameter="--out-dir")
    finally:
        ro.chmod(0o700)


def test_check_output_dir_names_what_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        check_output_dir(tmp_path / "file")
    with pytest.raises(OSError, match="--out: cannot create folder .*file/sub"):
        check_output_dir(tmp_path / "file" / "sub", parameter="--out")
    with pytest.raises(OSError, match="cannot create folder"):
        check_output_file(tmp_path / "file" / "sub" / "a.json")


def test_folder_lock_refuses_a_second_holder(tmp_path):
    with FolderLock(tmp_path / "out"), pytest.raises(FolderLockedError,
                                                      match=f"pid {os.getpid()}"):
        FolderLock(tmp_path / "out").acquire()
    with FolderLock(tmp_path / "out"):  # released: free again
        pass


def test_folder_lock_held_by_another_process(tmp_path):
    code = ("import sys, time; from neuroattn._files import FolderLock\n"
            "lock = FolderLock(sys.argv[1]).acquire(); print('locked', flush=True)\n"
            "time.sleep(30)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(FolderLockedError, match=str(proc.pid)):
            FolderLock(tmp_path).acquire()
    finally:
        proc.kill()
        proc.wait()
    with FolderLock(tmp_path):  # a killed holder leaves no stale lock
        pass


# --- destinations that are not regular files: never replaced ------------------------

@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def _still_a_fifo(path) -> bool:
    return stat.S_ISFIFO(os.lstat(path).st_mode)


def test_a_fifo_destination_is_refused_not_replaced(fifo):
    with pytest.raises(ValueError, match=rf"--json: {fifo} is a named pipe \(FIFO\)"):
        check_output_file(fifo, overwrite=True, parameter="--json")
    with pytest.raises(ValueError, match=rf"{fifo} is a named pipe"):
        atomic_write(fifo, lambda fh: fh.write("x"))
    assert _still_a_fifo(fifo)
    assert [p.name for p in fifo.parent.iterdir()] == ["pipe"]  # no temporary left


def test_outputs_refuse_a_fifo_destination(fifo):
    from neuroattn.commands._common import Outputs

    with pytest.raises(ValueError, match=rf"{fifo} is a named pipe"), \
            Outputs(overwrite=True) as outputs:
        outputs.file(fifo).write_text("x")
    assert _still_a_fifo(fifo)
    # one that appears while the command runs is refused at publication
    dest = fifo.parent / "late.json"
    with pytest.raises(ValueError, match=rf"{dest} is a named pipe"), \
            Outputs(overwrite=True) as outputs:
        outputs.file(dest).write_text("x")
        os.mkfifo(dest)
    assert _still_a_fifo(dest)


@pytest.mark.parametrize("path", ["/dev/null", "/dev/neuroattn-test-never-created.json"])
def test_destinations_under_dev_are_refused(path):
    with pytest.raises(ValueError, match=rf"--out: {path} .*(device|under /dev)"):
        check_output_file(path, overwrite=True, parameter="--out")
    assert not os.path.exists("/dev/neuroattn-test-never-created.json")


def test_a_symbolic_link_loop_is_named(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    for call in (lambda: check_output_file(tmp_path / "a" / "m.json", parameter="--json"),
                 lambda: check_output_file(tmp_path / "a", parameter="--json"),
                 lambda: check_output_dir(tmp_path / "a", parameter="--out"),
                 lambda: atomic_write(tmp_path / "a", lambda fh: fh.write("x"))):
        with pytest.raises(ValueError, match="symbolic link loop"):
            call()
    assert os.path.islink(tmp_path / "a")  # the link was not replaced by a file


def test_atomic_write_keeps_the_permissions_of_a_replaced_file(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("old")
    path.chmod(0o600)  # the user's private file stays private when rewritten
    atomic_write(path, lambda fh: fh.write("new"))
    assert path.read_text() == "new" and _mode(path) == 0o600
