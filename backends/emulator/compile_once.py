"""A numba signature compiled by one process at a time; the others load it from numba's cache.

numba's on-disk cache is written by whichever process compiles a signature, and read when a process first calls
that signature. Processes that first call one signature at the same time (pytest-xdist's workers, the ranks of an
MPI run, a subprocess beside its parent) each compile it: for ``kernels.run_steps`` ~80 s each, on cores the
others need. ``entry_point`` compiles under an exclusive lock per function and signature (a file beside numba's
cache, held with ``flock``: released by the OS if the process dies); a process that waited then finds the
signature in the cache and loads it in seconds, while another signature of the function may compile beside it.
Where no lock can be taken (no ``fcntl``, a cache directory that cannot be written) it compiles as numba would.
``warm.py`` compiles ``run_steps``' usual signatures this way in parallel processes before the tests.
"""
from __future__ import annotations

import contextlib
import hashlib
import os

import numba

try:
    import fcntl
except ImportError:                    # (not POSIX: compile without the lock)
    fcntl = None


def entry_point(dispatcher, args: tuple):
    """The machine-code entry point of ``dispatcher`` (an ``njit(cache=True)`` function) for ``args``' types:
    compiled or loaded from the cache under the signature's lock (``compile_lock``) where this process has not got
    it yet. (Two processes saving different signatures of one function at the same instant could still lose one
    from numba's index, which is read and rewritten unlocked: it is then compiled again when next asked for.)"""
    sig = tuple(numba.typeof(a) for a in args)
    compiled = dispatcher.overloads.get(sig)
    if compiled is None:
        with compile_lock(dispatcher, sig):
            dispatcher.compile(sig)              # numba looks in its cache first: another process's compile
        compiled = dispatcher.overloads[sig]
    return compiled.entry_point


@contextlib.contextmanager
def compile_lock(dispatcher, sig: tuple):
    """Held while ``dispatcher`` compiles signature ``sig``: an exclusive ``flock`` on a file in numba's cache
    directory (``_lock_path``; nothing held where that cannot be opened)."""
    path = _lock_path(dispatcher, sig)
    fd = None
    if path is not None:
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)                         # (closing releases the lock)


def _lock_path(dispatcher, sig: tuple) -> str | None:
    """``<numba's cache dir for the function>/<its name>-<digest of the signature>.compile.lock`` (the directory
    made if missing), or None."""
    path = getattr(getattr(dispatcher, "_cache", None), "_cache_path", None)
    if fcntl is None or not isinstance(path, str):
        return None
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    digest = hashlib.sha1(str(sig).encode()).hexdigest()[:16]
    return os.path.join(path, f"{dispatcher.py_func.__qualname__}-{digest}.compile.lock")
