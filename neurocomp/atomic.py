"""Atomic writes: outputs appear whole or not at all, and an old output is never missing.

A writer works in a temp sibling ``.<name>.<pid>.<random>.tmp`` and publishes it with one rename:

* a file: ``os.replace`` (atomic on POSIX);
* a directory: ``renameat2(RENAME_NOREPLACE)`` when nothing is there, else ``renameat2(RENAME_EXCHANGE)``
  swaps the new directory and the old one in one step (Linux >= 3.15, glibc >= 2.28; called through
  ctypes), then the old one (now in the temp sibling) is deleted. A reader sees the old directory or
  the new one, never none. Where the kernel or file system has no renameat2 the fallback is two renames
  with a journal: the old directory is first renamed to ``.<name>.<pid>.<random>.old``, and whoever
  next touches the path (:func:`recover`, called by every writer and by the loaders) renames it back
  if its writer died before publishing.

A writer killed mid-way (kill -9) leaves its temp sibling behind; the next writer of the same path
removes every ``.tmp``/``.old`` sibling whose pid is no longer alive and that belongs to this user
(:func:`clean_stale`). The pid in the name is what makes that safe: a live writer's siblings are never
touched. (On a file system shared by several machines a pid of another host may look dead; neurocomp
assumes one host per output directory.)
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path

_AT_FDCWD = -100
_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_UNSUPPORTED = {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}
_libc = None


def _renameat2(src, dst, flags: int) -> bool:
    """renameat2(2) through libc: True when done, False when this system has none; OSError otherwise."""
    global _libc
    if _libc is None and os.environ.get("NEUROCOMP_NO_RENAMEAT2", "") not in ("", "0"):
        _libc = False                    # force the journal fallback (tests and benchmarks/kill_compile.py)
    if _libc is None:
        try:
            lib = ctypes.CDLL(None, use_errno=True)
            fn = lib.renameat2
            fn.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
            fn.restype = ctypes.c_int
            _libc = fn
        except (OSError, AttributeError):
            _libc = False
    if _libc is False:
        return False
    if _libc(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in _UNSUPPORTED:
        return False
    raise OSError(err, os.strerror(err), str(dst))


# ------------------------------------------------------------------------------------- siblings
def _sibling_re(name: str) -> re.Pattern:
    return re.compile(r"\." + re.escape(name) + r"\.(\d+)\.[A-Za-z0-9_]+\.(tmp|old)\Z")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # another user's process: alive
        return True
    return True


def _stale_siblings(path: Path):
    """(sibling, kind) for every temp/old sibling of ``path`` whose writer is dead and that is ours."""
    pat = _sibling_re(path.name)
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        m = pat.match(entry.name)
        if not m or _alive(int(m.group(1))):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if uid is not None and st.st_uid != uid:
            continue
        yield Path(entry.path), m.group(2)


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            p.unlink()


def recover(path) -> None:
    """Finish a fallback swap whose writer died between its two renames: put the old directory back."""
    path = Path(path)
    if os.path.lexists(path):
        return
    olds = [p for p, kind in _stale_siblings(path) if kind == "old"]
    for old in sorted(olds, key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            os.rename(old, path)
            return
        except OSError:
            continue


def clean_stale(path) -> list[Path]:
    """Recover ``path`` if needed, then remove the temp/old siblings of dead writers; returns them."""
    path = Path(path)
    recover(path)
    removed = []
    for p, _ in list(_stale_siblings(path)):
        _remove(p)
        removed.append(p)
    return removed


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


# ------------------------------------------------------------------------------------- writers
@contextlib.contextmanager
def atomic_path(path):
    """Yield a temp path for a writer that needs a file name (e.g. h5py); renamed onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_file(path, mode: str = "wb"):
    """Yield a file object; on success the file replaces ``path`` atomically, on error nothing is left."""
    with atomic_path(path) as tmp, open(tmp, mode) as fh:
        yield fh


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a temp directory; on success it replaces directory ``path`` as a whole (see the module doc)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(path)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        publish_dir(tmp, path)
    finally:
        if tmp.exists():                 # failed, or holds the replaced old directory
            shutil.rmtree(tmp, ignore_errors=True)


def publish_dir(tmp: Path, path: Path, attempts: int = 200) -> None:
    """Make directory ``tmp`` appear at ``path`` in one step; the old ``path`` ends up in ``tmp``. Other
    writers of the same path only make it retry (with a growing pause), up to ``attempts`` times."""
    for attempt in range(attempts):
        if attempt:
            time.sleep(min(0.001 * attempt, 0.05))
        try:
            if _renameat2(tmp, path, _RENAME_NOREPLACE):
                return
        except FileExistsError:
            if not _is_dir_now(path):     # moved away meanwhile by another writer: try again
                continue
            try:
                if _renameat2(tmp, path, _RENAME_EXCHANGE):
                    return
            except FileNotFoundError:         # removed meanwhile by another writer: try again
                continue
        if _fallback_publish(tmp, path):
            return
    raise OSError(errno.EBUSY, "other writers keep replacing it; try again", str(path))


def _is_dir_now(path: Path) -> bool:
    """True: ``path`` is a real directory; False: nothing is there (another writer moved it away: retry).
    Anything else is refused. One ``lstat``, so a concurrent move cannot pass for a non-directory."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(mode):
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory; not replaced", str(path))
    return True


def _fallback_publish(tmp: Path, path: Path) -> bool:
    """Two renames with a journal (the ``.old`` sibling, restored by :func:`recover`); False: retry."""
    try:
        os.rename(tmp, path)             # fails if a non-empty directory is there
        return True
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
    if not _is_dir_now(path):            # moved away meanwhile by another writer: try again
        return False
    old = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=".old", dir=path.parent))
    os.rmdir(old)
    try:
        os.rename(path, old)
    except FileNotFoundError:
        return False
    try:
        os.rename(tmp, path)
    except OSError:
        try:
            os.rename(old, path)          # put ours back
        except OSError:                   # another writer published meanwhile: ours is older, drop it
            shutil.rmtree(old, ignore_errors=True)
        return False
    os.rename(old, tmp) if not tmp.exists() else shutil.rmtree(old, ignore_errors=True)
    return True
