"""What zeroing a run's output arrays costs (issue 19): ``zerofill.zeroed`` on one and on two threads against one
``fill`` (what ``zeroed`` was before), for the arrays a 1000-step Brunel run records (v: 5000 x 1000 int64, 40 MB;
spikes: 5 MB; counters: 8 x 1000 x 64 cores, 4 MB). Each a fresh allocation (the OS zeroes its pages at their
first touch: the cost measured), min of ``--repeats``, the three ways alternating.

Usage: ``.venv/bin/python benchmarks/output_fill.py [--repeats 15]``
"""
from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from neurocomp.backends.emulator import zerofill

ARRAYS = (("v", (1000, 5000), np.int64), ("spikes", (1000, 5000), np.uint8), ("counters", (8, 1000, 64), np.int64))


def one_fill(shape, dtype):
    out = np.empty(shape, dtype)
    out.fill(0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    ways = (("one fill", one_fill, 1), ("zeroed 1t", zerofill.zeroed, 1),
            ("zeroed 2t", zerofill.zeroed, min(2, numba.config.NUMBA_NUM_THREADS)))
    zerofill.zeroed((zerofill.PAR_FILL_BYTES,), np.uint8)           # compile / load the cache
    print("| array | MB | " + " | ".join(f"{w[0]} ms" for w in ways) + " |")
    print("|---|---|" + "---|" * len(ways))
    for name, shape, dtype in ARRAYS:
        best = {w[0]: np.inf for w in ways}
        for _ in range(args.repeats):
            for label, fn, threads in ways:
                numba.set_num_threads(threads)
                t0 = time.perf_counter()
                a = fn(shape, dtype)
                best[label] = min(best[label], time.perf_counter() - t0)
                assert not a[..., -1].any()
                del a
        mb = np.prod(shape) * np.dtype(dtype).itemsize / 1e6
        print(f"| {name} | {mb:.0f} | " + " | ".join(f"{best[w[0]] * 1e3:.2f}" for w in ways) + " |")


if __name__ == "__main__":
    main()
