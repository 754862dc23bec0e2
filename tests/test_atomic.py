"""Atomic directory replacement (neurocomp/atomic.py): one-step exchange, the journal fallback, stale
siblings of dead writers removed, live ones kept, concurrent writers without strays."""
import os
import subprocess
import sys
import threading

import pytest

import neurocomp.atomic as atomic


def write(path, text):
    with atomic.atomic_dir(path) as tmp:
        (tmp / "x").write_text(text)


def siblings(d):
    return sorted(p.name for p in d.iterdir() if p.name.startswith("."))


@pytest.fixture(params=["renameat2", "fallback"])
def mode(request, monkeypatch):
    if request.param == "fallback":
        monkeypatch.setattr(atomic, "_libc", False)
    return request.param


def test_replace_whole_and_no_strays(tmp_path, mode):
    d = tmp_path / "out"
    write(d, "1")
    (d / "extra").write_text("old file")
    write(d, "2")
    assert sorted(os.listdir(d)) == ["x"] and (d / "x").read_text() == "2"
    assert siblings(tmp_path) == []


def test_failed_writer_leaves_the_old_output(tmp_path, mode):
    d = tmp_path / "out"
    write(d, "1")
    with pytest.raises(RuntimeError):
        with atomic.atomic_dir(d) as tmp:
            (tmp / "x").write_text("half")
            raise RuntimeError("killed")
    assert (d / "x").read_text() == "1" and siblings(tmp_path) == []


def test_concurrent_writers_all_succeed_without_strays(tmp_path, mode):
    d, errors = tmp_path / "out", []

    def worker(i):
        try:
            for _ in range(30):
                write(d, str(i))
        except Exception as exc:          # noqa: BLE001 - collected and asserted below
            errors.append(exc)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == [] and siblings(tmp_path) == [] and (d / "x").read_text() in "012345"


def dead_pid() -> int:
    """A pid no process can have (above the kernel's pid_max), else one of a process that exited."""
    try:
        with open("/proc/sys/kernel/pid_max") as fh:
            return int(fh.read()) + 1
    except OSError:
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        proc.wait()
        return proc.pid


def test_stale_siblings_of_dead_writers_are_removed_live_ones_kept(tmp_path):
    d = tmp_path / "out"
    write(d, "1")
    dead = dead_pid()
    (tmp_path / f".out.{dead}.abc.tmp").mkdir()
    (tmp_path / f".out.{dead}.abd.tmp").write_text("half file")
    live = tmp_path / f".out.{os.getppid()}.abe.tmp"
    live.mkdir()
    (tmp_path / ".other.1.x.tmp").mkdir()          # another output's sibling: not ours to touch
    write(d, "2")
    assert siblings(tmp_path) == sorted([live.name, ".other.1.x.tmp"])


def test_recover_puts_back_the_old_directory_of_a_writer_killed_between_renames(tmp_path):
    d = tmp_path / "out"
    write(d, "1")
    os.rename(d, tmp_path / f".out.{dead_pid()}.zz.old")   # the state a kill between the renames leaves
    from neurocomp.mapping.artifact import load_compiled
    from neurocomp.errors import ArtifactError
    with pytest.raises(ArtifactError, match="incomplete artifact"):   # recovered, then read (not an artifact)
        load_compiled(d)
    assert (d / "x").read_text() == "1" and siblings(tmp_path) == []


def test_a_file_is_never_replaced_by_a_directory(tmp_path):
    f = tmp_path / "file"
    f.write_text("keep")
    with pytest.raises(NotADirectoryError):
        write(f, "1")
    assert f.read_text() == "keep" and siblings(tmp_path) == []
