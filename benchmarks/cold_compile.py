"""Cold compile: how long numba takes to compile the emulator's kernels from an empty cache.

Every fresh process whose numba cache is cold pays this before its first step: each pytest-xdist worker
of ``make test`` on a clean clone (CI), each MPI rank, a user's first ``emulate``. The script points
``NUMBA_CACHE_DIR`` at a new empty folder, compiles a small random network (tests/netgen.py) with
``build_core_tables`` and runs 10 steps of ``emulate_tables`` (one thread, or ``--threads N``), and lists the
kernels numba compiled (``numba:compile`` events: cache misses only), outermost first with their own total
(callees compiled on the way are inside their caller's time). Machine noise is large: compare two trees
run one after the other on the same machine, several times.

Usage: ``.venv/bin/python benchmarks/cold_compile.py [--threads 1] [--min 0.5] [--json out.json]``
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="neurocomp-cold-")   # before numba is imported
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import numba.core.event as ev  # noqa: E402


class _Compiles(ev.Listener):
    """Each ``numba:compile`` event as ``(depth, seconds, qualified name)``, in start order."""

    def __init__(self):
        self.events, self.depth = [], 0

    def on_start(self, event):
        event.data["_slot"] = len(self.events)
        event.data["_t0"] = time.perf_counter()
        self.events.append(None)
        self.depth += 1

    def on_end(self, event):
        self.depth -= 1
        f = event.data["dispatcher"].py_func
        self.events[event.data["_slot"]] = (self.depth, time.perf_counter() - event.data["_t0"],
                                            f"{f.__module__}.{f.__qualname__}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min", type=float, default=0.5, help="list compiles of at least this many seconds")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rec = _Compiles()
    ev.register("numba:compile", rec)
    t0 = time.perf_counter()
    from netgen import random_inputs, random_mapping, random_network
    from neurocomp.backends.emulator import emulate_tables
    from neurocomp.mapping.tables import build_core_tables
    from neurocomp.semantics.inputs import InputSpec
    net = random_network(1, 2, 1, True, max_size=50)
    t1 = time.perf_counter()
    tables = build_core_tables(net, random_mapping(net, 1, 2), 2)
    t2 = time.perf_counter()
    emulate_tables(tables, 10, random_inputs(net, 1), ("spikes", "v"), threads=args.threads,
                   input_spec=InputSpec.of_network(net))
    t3 = time.perf_counter()
    out = {"import_s": round(t1 - t0, 2), "tables_s": round(t2 - t1, 2), "emulate_s": round(t3 - t2, 2),
           "compiles": [{"depth": d, "s": round(s, 2), "kernel": k} for d, s, k in rec.events if d <= 1]}
    print(f"import {out['import_s']} s, build_core_tables {out['tables_s']} s, emulate (10 steps, {args.threads} "
          f"thread(s)) {out['emulate_s']} s; numba cache misses of >= {args.min} s (callees indented):")
    for d, s, k in rec.events:
        if d <= 1 and s >= args.min:
            print(f"  {'  ' * d}{s:7.1f} s  {k}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
