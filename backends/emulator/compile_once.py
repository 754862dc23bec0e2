"""A numba signature compiled by one process at a time; the others load it from numba's cache.

numba's on-disk cache is written by whichever process compiles a signature, and read when a process first calls
that signature. Processes that first call one signature at the same time (pytest-xdist's workers, the ranks of an
MPI run, a subprocess beside its parent) each compile it: for ``kernels.run_steps`` ~80 s each, on cores the
others need. ``entry_point`` compiles under an exclusive lock per function (a file beside numba's cache, held with
``flock``: released by the OS if the process dies); a process that waited then finds the signature in the cache
and loads it in seconds. Where no lock can be taken (no ``fcntl``, a cache directory that cannot be written) it
compiles as numba would.
"""
from __future__ import annotations

import contextlib
import os

import numba

try:
    import fcntl
except ImportError:                    # (not POSIX: compile without the lock)
    fcntl = None


def entry_point(dispatcher, args: tuple):
    """The machine-code entry point of ``dispatcher`` (an ``njit(cache=True)`` function) for ``args``' types:
    compiled or loaded from the cache under the function's lock (``compile_lock``) where this process has not got
    it yet."""
    sig = tuple(numba.typeof(a) for a in args)
    compiled = dispatcher.overloads.get(sig)
    if compiled is None:
        with compile_lock(dispatcher):
            dispatcher.compile(sig)              # numba looks in its cache first: another process's compile
        compiled = dispatcher.overloads[sig]
    return compiled.entry_point


@contextlib.contextmanager
def compile_lock(dispatcher):
    """Held while ``dispatcher`` compiles: an exclusive ``flock`` on ``<numba's cache dir>/<name>.compile.lock``
    (nothing held where that cannot be opened)."""
    path = _lock_path(dispatcher)
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


def _lock_path(dispatcher) -> str | None:
    """``<numba's cache dir for the function>/<its name>.compile.lock`` (the directory made if missing), or None."""
    path = getattr(getattr(dispatcher, "_cache", None), "_cache_path", None)
    if fcntl is None or not isinstance(path, str):
        return None
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    return os.path.join(path, f"{dispatcher.py_func.__qualname__}.compile.lock")
