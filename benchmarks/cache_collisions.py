"""Closures' machine code under one symbol name in numba's on-disk cache (numba issue #10486).

numba names a compiled function's symbol after its module, qualified name, argument types and a per-process
count (the ``v<n>`` ABI tag). Closures made by one factory share a qualified name: numba's ``np.sort`` and
``np.argsort`` are both ``make_quicksort_impl.<locals>.run_quicksort``. Two processes counting from the same
start could give a sort and an argsort one symbol, each saved in a cached library; a process loading both ran
the first one loaded for both (weak symbols merge), as ``plan_synapses``' argsort ran ``_fill_routes``' sort and
segfaulted. ``neurocomp.kernel_cache.fresh_uids`` starts each process's count at random.

This reads every ``*.nbc`` under a folder (no module is imported: the pickles' classes are stubbed), lists the
symbols each library's object code defines (``nm``), and reports closure symbols (``<locals>`` in the name)
defined with different code sizes in different libraries: candidates for one name given to two functions. A
candidate is not proof: one function optimized into two callers' modules can differ by a few bytes too (the same
argsort in ``_copy_axon``'s library and in ``_sort_copies``': 2265 and 2249 bytes). The sort and the argsort
that crashed were 1740 and 2249 bytes (RESULTS "quiet16"). Also counted: symbols whose count is under 2^32, which
``fresh_uids`` does not give (a compile from before ``import neurocomp``, or from before the fix).

    python benchmarks/cache_collisions.py DIR
"""
from __future__ import annotations

import collections
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path


class _Stub:
    """What any numba object in the payload unpickles as."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


class _Stubs(pickle.Unpickler):
    """Python's own types as they are, every other class or function a stub (nothing is imported): only the
    library's bytes are read."""

    def find_class(self, module, name):
        if module in ("builtins", "copyreg", "collections", "_codecs"):
            return super().find_class(module, name)
        return _Stub


def library_object(path: Path) -> bytes | None:
    """The object code of one cached compile (``CodeLibrary.serialize_using_object_code``'s ``(name, 'object',
    (object code, bitcode))``, the payload's first item), or None."""
    with open(path, "rb") as f:
        payload = _Stubs(f).load()
    try:
        name, kind, (obj, _bitcode) = payload[0]
    except (TypeError, ValueError):
        return None
    return obj if kind == "object" else None


def defined_functions(obj: bytes) -> dict[str, int]:
    """Function symbol -> code size, of one object file."""
    with tempfile.NamedTemporaryFile(suffix=".o") as t:
        t.write(obj)
        t.flush()
        out = subprocess.run(["nm", "-S", "--defined-only", t.name], capture_output=True, text=True,
                             check=True).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "TtWw":
            found[parts[3]] = int(parts[1], 16)
    return found


def closure_collisions(root: Path) -> tuple[dict[str, list[tuple[str, int]]], int, int]:
    """(closure symbol -> [(cache file, size)] for symbols defined with more than one size, the number of
    numbered package and numba symbols, those of them numbered under 2^32)."""
    defs = collections.defaultdict(list)
    numbered = small = 0
    for path in sorted(root.rglob("*.nbc")):
        if ".venv" in path.parts:
            continue
        obj = library_object(path)
        for sym, size in (defined_functions(obj) if obj else {}).items():
            uid = re.search(r"B\d+v(\d+)", sym)
            if uid and sym.startswith("_ZN"):
                numbered += 1
                small += int(uid.group(1)) < 2 ** 32
            if "_3clocals_3e" in sym and not sym.startswith(("_ZN08NumbaEnv", "_ZN7cpython", "cfunc.")):
                defs[sym].append((str(path.relative_to(root)), size))
    return {s: v for s, v in defs.items() if len({size for _, size in v}) > 1}, numbered, small


def main(argv=None) -> int:
    root = Path((argv or sys.argv[1:])[0])
    found, numbered, small = closure_collisions(root)
    n_files = sum(1 for p in root.rglob("*.nbc") if ".venv" not in p.parts)
    for sym, where in found.items():
        print(f"{sym[:110]}...")
        for path, size in where:
            print(f"    {size:7d} bytes  {path}")
    print(f"{n_files} cached compiles; {len(found)} closure symbol(s) defined with two or more sizes; "
          f"{small} of {numbered} numbered symbols numbered under 2^32")
    return 0


if __name__ == "__main__":
    sys.exit(main())
