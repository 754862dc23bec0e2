"""numba's on-disk kernel cache, made stale by any change to neurocomp's own sources, not only the kernel's file.

numba checks a cached function against the one source file that defines it. A kernel that calls or inlines
numba functions from other files keeps their old machine code after they change: the emulator's
``run_steps`` (``backends/emulator/kernels.py``) inlines every neuron model's step
(``neurocomp/neurons/*/kernel.py``, through the generated ``neuron_dispatch.py``) and links helpers such as
``semantics/fixedpoint.py``'s, so an edited or newly registered model ran its old arithmetic, or none,
inside the cached kernel (wrong spikes, no error) until ``kernels.py`` itself changed.
``tests/test_kernel_cache.py`` shows the case on two small modules.

So every numba function defined under :data:`ROOTS` (the ``neurocomp`` and ``neurocomp.backends`` package
folders) is cached with a stamp that adds to numba's own (its file) a digest of every ``.py`` file under
them: any source edit recompiles the kernels on their next use (about a minute for ``run_steps``), never a
stale one. Functions elsewhere (a user's own) keep numba's rules. Installed here on ``import neurocomp``,
before any kernel module defines a cached function (numba picks a function's cache locator then).

Each process also numbers the functions it compiles from a random start (``fresh_uids``). numba names a
function's machine code after its qualified name, argument types and that number, which every process counts
from 1, so two processes compiling different functions of one name (numba's own sort and argsort are both
``make_quicksort_impl.<locals>.run_quicksort``) could give both one symbol; a third that loaded both from the
cache ran one's code for the other (numba issue #10486): ``plan_synapses``' argsort ran ``_fill_routes``' sort and
the test workers crashed (benchmarks/RESULTS.md "quiet16").
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import itertools
import os
import secrets
from functools import lru_cache
from pathlib import Path

from numba import __version__ as numba_version
from numba.core import bytecode, caching

try:
    import fcntl
except ImportError:                    # (not POSIX: no file locks)
    fcntl = None


def _package_roots() -> list[str]:
    """The folders of ``neurocomp`` and ``neurocomp.backends`` (in an editable install the latter is
    ``backends/`` beside the package, found through the import system without importing it)."""
    roots = [str(Path(__file__).resolve().parent)]
    spec = importlib.util.find_spec("neurocomp.backends")
    if spec is not None and spec.submodule_search_locations:
        roots += [str(Path(p).resolve()) for p in spec.submodule_search_locations]
    return sorted(set(roots))


#: Folders whose Python sources make up every cached kernel's stamp (a list: a test adds a temporary one).
ROOTS: list[str] = []


def _roots() -> list[str]:
    if not ROOTS:
        ROOTS.extend(_package_roots())
    return ROOTS


def _under_roots(path: str) -> bool:
    p = os.path.realpath(path)
    return any(p.startswith(root + os.sep) for root in _roots())


@lru_cache(maxsize=None)
def _digest(roots: tuple[str, ...]) -> bytes:
    h = hashlib.sha256()
    for root in roots:
        for path in sorted(Path(root).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            h.update(str(path.relative_to(root)).encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.digest()


def sources_digest() -> bytes:
    """sha256 over the relative path and content of every ``.py`` file under :data:`ROOTS` (once a process:
    a kernel compiled after a mid-run edit is stamped with the start's sources and recompiled by the next
    process)."""
    return _digest(tuple(_roots()))


class _PackageStamp:
    """Mixin for numba's source-file locators: only functions defined under :data:`ROOTS`, stamped with
    :func:`sources_digest` beside numba's own stamp of their file."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if not _under_roots(py_file):
            return None
        return super().from_function(py_func, py_file)

    def get_source_stamp(self):
        return super().get_source_stamp(), sources_digest()


@contextlib.contextmanager
def file_lock(path: str):
    """An exclusive ``flock`` on ``path`` (made if missing) while the block runs; released by the OS if the
    process dies. Nothing is held where the file cannot be opened or there is no ``fcntl``."""
    fd = None
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)                         # (closing releases the lock)


def _locked_save(self, key, data) -> None:
    """numba's ``IndexDataCacheFile.save`` for processes that save at once (test workers, MPI ranks): under a lock
    on ``<index>.lock``, a new entry named after those the index holds now, its data written before the index
    names it. numba's own reads the index, names the entry, writes the index, then the data, unlocked: two
    processes saving two signatures together could give both one data file (one's entry then loads the other's
    machine code), and a reader could find an entry before its data."""
    with file_lock(self._index_path + ".lock"):
        overloads = self._load_index()
        data_name = overloads.get(key)
        if data_name is None:
            existing = set(overloads.values())
            data_name = next(name for name in map(self._data_name, itertools.count(1)) if name not in existing)
            self._save_data(data_name, data)
            overloads[key] = data_name
            self._save_index(overloads)
        else:
            self._save_data(data_name, data)


def fresh_uids() -> None:
    """Number this process's numba compiles from a random 60-bit start (``FunctionIdentity._unique_ids``, the
    ``v<n>`` in every compiled symbol's name), so that no two processes, forks included, give one name to two
    functions' code: cached libraries of several processes then never merge one function's code into another's.
    numba counts from 1 in every process; the number only tells apart functions of one name and types in a
    process, which a count from any start does."""
    bytecode.FunctionIdentity._unique_ids = itertools.count(1 + secrets.randbits(60))


def _install() -> None:
    """Put a stamped copy of each of numba's source-file locators in front of its list (once). Where this numba
    has none of the names used here, warn: ``import neurocomp`` still works, with numba's own (file-only) stamps
    (``tests/test_kernel_cache.py`` fails then)."""
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)   # (older numba: private)
    mixin = getattr(caching, "_SourceFileBackedLocatorMixin", None)
    classes = getattr(impl, "_locator_classes", None)
    if mixin is None or not isinstance(classes, list):
        import warnings
        from .errors import NeurocompWarning
        warnings.warn(f"numba {numba_version}: its cache locators are not where neurocomp looks for them, so a "
                      "cached kernel is not recompiled after an edit to another file of neurocomp it calls; "
                      "delete the __pycache__/*.nbi and *.nbc files after editing a neuron model",
                      NeurocompWarning, stacklevel=2)
        return
    if any(issubclass(c, _PackageStamp) for c in classes):
        return
    classes[:0] = [type("Package" + c.__name__, (_PackageStamp, c), {}) for c in classes if issubclass(c, mixin)]
    files = getattr(caching, "IndexDataCacheFile", None)
    if files is not None and all(hasattr(files, a) for a in ("_load_index", "_save_index", "_save_data",
                                                             "_data_name", "save")):
        files.save = _locked_save


_install()
if isinstance(getattr(getattr(bytecode, "FunctionIdentity", None), "_unique_ids", None), itertools.count):
    fresh_uids()                                 # (a numba that names its symbols otherwise needs none of this)
    os.register_at_fork(after_in_child=fresh_uids)
