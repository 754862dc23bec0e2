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

from ...kernel_cache import file_lock


def entry_point(dispatcher, args: tuple):
    """The machine-code entry point of ``dispatcher`` (an ``njit(cache=True)`` function) for ``args``' types:
    compiled or loaded from the cache under the signature's lock (``compile_lock``) where this process has not got
    it yet. (What numba then saves, each cached function's entries, is written under a lock of its own:
    ``kernel_cache``.)"""
    sig = tuple(numba.typeof(a) for a in args)
    compiled = dispatcher.overloads.get(sig)
    if compiled is None:
        with compile_lock(dispatcher, sig):
            dispatcher.compile(sig)              # numba looks in its cache first: another process's compile
        compiled = dispatcher.overloads[sig]
    return compiled.entry_point


def compile_lock(dispatcher, sig: tuple):
    """Held while ``dispatcher`` compiles signature ``sig``: an exclusive ``flock`` on a file in numba's cache
    directory (``_lock_path``; nothing held where there is none, or no ``fcntl``: ``kernel_cache.file_lock``)."""
    path = _lock_path(dispatcher, sig)
    return file_lock(path) if path is not None else contextlib.nullcontext()


def _lock_path(dispatcher, sig: tuple) -> str | None:
    """``<numba's cache dir for the function>/<its name>-<digest of the signature>.compile.lock`` (the directory
    made if missing), or None."""
    path = getattr(getattr(dispatcher, "_cache", None), "_cache_path", None)
    if not isinstance(path, str):
        return None
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    digest = hashlib.sha1(str(sig).encode()).hexdigest()[:16]
    return os.path.join(path, f"{dispatcher.py_func.__qualname__}-{digest}.compile.lock")
