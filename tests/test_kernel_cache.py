"""numba's kernel cache goes stale on an edit to any of the package's sources, not only the kernel's own file
(``neurocomp.kernel_cache``)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import types

import pytest

import neurocomp  # noqa: F401  (installs the locators)
from neurocomp import kernel_cache
from neurocomp.errors import NeurocompWarning
from neurocomp.backends.emulator import kernels
from neurocomp.neurons.loihi_lif import kernel as lif_kernel


def _locator(dispatcher):
    return dispatcher._cache._impl._locator


def test_package_kernels_carry_the_sources_stamp():
    for f in (kernels.run_steps, kernels.fuse_runs, lif_kernel.update):
        loc = _locator(f)
        assert isinstance(loc, kernel_cache._PackageStamp), (f, type(loc))
        own, digest = loc.get_source_stamp()
        assert digest == kernel_cache.sources_digest()


def test_digest_follows_every_source(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "__pycache__").mkdir()
    roots = (str(tmp_path),)
    d0 = kernel_cache._digest(roots)
    kernel_cache._digest.cache_clear()
    (tmp_path / "pkg" / "__pycache__" / "junk.py").write_text("ignored\n")
    assert kernel_cache._digest(roots) == d0
    kernel_cache._digest.cache_clear()
    (tmp_path / "pkg" / "b.py").write_text("y = 2\n")
    d1 = kernel_cache._digest(roots)
    assert d1 != d0
    kernel_cache._digest.cache_clear()
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    assert kernel_cache._digest(roots) != d1
    kernel_cache._digest.cache_clear()


# A cached kernel in a.py calling b.py's function: numba alone keeps the cached a.f with b.g's old code after
# b.py changes (f(1) stays 20). Under the package's locators, f is recompiled (30).
_A = """
from numba import njit
from b import g

@njit(cache=True)
def f(x):
    return g(x) * 10
"""
_B = """
from numba import njit

@njit(cache=True)
def g(x):
    return x + {inc}
"""
_RUN = """
import sys
import neurocomp.kernel_cache as kc
kc.ROOTS[:] = [{root!r}]
sys.path.insert(0, {root!r})
from a import f
print(f(1))
"""


def _run_f(root) -> int:
    out = subprocess.run([sys.executable, "-c", _RUN.format(root=str(root))], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


def test_edit_to_a_callee_file_recompiles_the_cached_caller(tmp_path):
    (tmp_path / "a.py").write_text(textwrap.dedent(_A))
    (tmp_path / "b.py").write_text(textwrap.dedent(_B.format(inc=1)))
    assert _run_f(tmp_path) == 20
    assert list((tmp_path / "__pycache__").glob("a.f-*.nbi")), "f was not cached"
    (tmp_path / "b.py").write_text(textwrap.dedent(_B.format(inc=2)))
    assert _run_f(tmp_path) == 30


def test_an_unknown_numba_layout_warns_and_imports(monkeypatch):
    """Where numba's cache internals moved, ``import neurocomp`` still works and says what is lost."""
    monkeypatch.setattr(kernel_cache, "caching", types.SimpleNamespace())
    with pytest.warns(NeurocompWarning, match="not recompiled after an edit"):
        kernel_cache._install()


_UID = """
import os, sys
import neurocomp
from numba import njit

@njit
def f(x):
    return x + 1

def uid():
    f.recompile() if f.signatures else f(1)
    return f.overloads[f.signatures[0]].fndesc.uid

first = uid()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(w, str(uid()).encode()); os._exit(0)
os.waitpid(pid, 0)
print(first, uid(), os.read(r, 64).decode())
"""


def test_processes_and_forks_number_their_compiles_apart():
    """numba's symbol for a compile carries a per-process count (``kernel_cache.fresh_uids``): from 1 in every
    process, two processes compiling two functions of one name gave both one symbol, and a process loading both
    from the cache ran one's code for the other (numba #10486: the test workers' segfault). Two processes, and a
    fork and its parent, compiling the same function after the same steps must number it apart."""
    runs = [subprocess.run([sys.executable, "-c", _UID], capture_output=True, text=True, timeout=120)
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    (a, a_next, a_child), (b, _, _) = (tuple(map(int, r.stdout.split())) for r in runs)
    assert a != b                                # two processes
    assert a_next != a_child                     # a fork and its parent, each compiling next
