"""Compile ``kernels.run_steps``' usual signatures into numba's cache, in parallel processes.

``run_steps`` is compiled once per signature, ~80 s each from a cold cache, and its signatures differ only in
the ring's dtype (int32 or int64: ``kernels.ring_dtype``) and the weights' (int8 or int16: the tables'). A fresh
checkout's ``make test`` needs all four; compiled as its workers first ask for them, a worker waited for another's
compile (``compile_once``) while its core stood idle. This compiles them before, ``--processes`` at a time (one
process per signature share), by the same arguments a small network's run passes with the ring and weights cast
to each dtype: nothing is run. The run's smaller numba functions are compiled first, by this process alone (the
processes would otherwise all compile the same ones at once). A signature already cached is loaded, in seconds.

Usage: ``python -m neurocomp.backends.emulator.warm [--processes N]`` (default: the machine's cores).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

RINGS = (np.int32, np.int64)
WEIGHTS = (np.int8, np.int16)
#: The signatures, in the order their shares are cut: (ring dtype, weight dtype).
SIGNATURES = tuple((r, w) for r in RINGS for w in WEIGHTS)


def caught_args(tables, steps: int, inputs, record=()) -> tuple:
    """The arguments ``emulate_tables(tables, steps, inputs, record, threads=1)`` passes to ``run_steps`` (its first
    kernel call, caught: nothing is run)."""
    from . import engine as E
    caught = []
    call = E.call_kernel
    E.call_kernel = lambda args: caught.append(args) or 0
    try:
        E.emulate_tables(tables, steps, inputs, record, threads=1)
    finally:
        E.call_kernel = call
    return caught[0]


def small_tables():
    """The core tables of a two-core Dense layer of 4 LoihiLIF neurons fed by one 4-channel graph input ``x``."""
    import neurocomp as nc
    from neurocomp.mapping.tables import build_core_tables
    net = nc.Network("warm")
    net.input("x", (4,))
    net.population("p", (4,), nc.LoihiLIF(du=0, dv=0, vth=1))
    net.connect("x", "p", nc.Dense(np.full((4, 4), 3)))
    return build_core_tables(net, {"p": np.array([0, 0, 1, 1])}, 2)


def kernel_args(ring, weight) -> tuple:
    """``run_steps``' arguments for :func:`small_tables` (``caught_args``), with the ring cast to ``ring`` and the
    weights to ``weight``."""
    args = list(caught_args(small_tables(), 2, {"x": np.ones((2, 4), np.uint8)}))
    for i, a in enumerate(args):                 # the work arrays' ring, the routes' weights
        if hasattr(a, "ring") and hasattr(a, "scratch"):
            args[i] = a._replace(ring=a.ring.astype(ring))
        elif hasattr(a, "syn_weight") and hasattr(a, "run_weight"):
            args[i] = a._replace(syn_weight=a.syn_weight.astype(weight), run_weight=a.run_weight.astype(weight))
    return tuple(args)


def compile_share(share: int, n_shares: int) -> None:
    """Compile (or load) signatures ``share``, ``share + n_shares``, ... of ``SIGNATURES``."""
    from . import compile_once, kernels as K
    for ring, weight in SIGNATURES[share::n_shares]:
        t0 = time.perf_counter()
        compile_once.entry_point(K.run_steps, kernel_args(ring, weight))
        print(f"run_steps ring {np.dtype(ring).name}, weights {np.dtype(weight).name}: "
              f"{time.perf_counter() - t0:.1f} s", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--share", type=int, default=None, help=argparse.SUPPRESS)     # (one process's part)
    args = ap.parse_args(argv)
    n = max(1, min(args.processes, len(SIGNATURES)))
    if args.share is not None:
        compile_share(args.share, n)
        return 0
    t0 = time.perf_counter()
    kernel_args(*SIGNATURES[0])                  # the run's other numba functions, into the cache from one process
    module = __spec__.name if __spec__ is not None else "neurocomp.backends.emulator.warm"
    procs = [subprocess.Popen([sys.executable, "-m", module, "--processes", str(n), "--share", str(k)])
             for k in range(n)]
    codes = [p.wait() for p in procs]
    print(f"warm: run_steps' {len(SIGNATURES)} signatures in {n} processes, {time.perf_counter() - t0:.0f} s")
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
