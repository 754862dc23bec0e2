"""What waking numba's idle worker threads costs a run on this machine (issue 19).

numba's threads sleep between parallel regions. On this VM a vCPU left idle for tens of ms takes up to
milliseconds to run again. That is a fixed cost paid by a two-thread call that follows idle time, such as
``emulator_speed.py``'s, whose two-thread call follows a one-thread one. Against dense 1k x 1k's ~7 ms call it is
not small. Two measurements:

1. **Wake latency.** A parallel region that does nothing (two iterations on two threads), run after an idle gap
   of 0-50 ms: median and max of ``--repeats``.
2. **End to end, from idle and woken.** ``emulate_tables`` on one thread, then on two, as ``emulator_speed.py``
   runs them (round-robin onto 64 cores, a plan made once, nothing recorded). The two-thread call is timed
   twice:
   - ``from idle``: right after the one-thread call, as there;
   - ``woken``: after an empty region on two threads, run just before the clock starts and not timed.

   All three calls alternate; min of ``--repeats`` each.

Usage: ``.venv/bin/python benchmarks/thread_wake.py [--only dense,brunel] [--steps 1000] [--repeats 7]``
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit, prange

HERE = Path(__file__).resolve().parent


@njit(parallel=True)
def _empty_region(a):
    for i in prange(a.shape[0]):
        a[i] += 1


def wake_latency(repeats: int) -> list:
    numba.set_num_threads(2)
    a = np.zeros(2)
    _empty_region(a)
    rows = []
    for gap in (0.0, 0.001, 0.01, 0.05):
        ts = []
        for _ in range(repeats):
            time.sleep(gap)
            t0 = time.perf_counter()
            _empty_region(a)
            ts.append(time.perf_counter() - t0)
        rows.append((gap, float(np.median(ts)), max(ts)))
    return rows


def end_to_end(name: str, steps: int, repeats: int) -> dict:
    sys.path.insert(0, str(HERE))
    from thread_split import workload
    from neurocomp.backends.emulator import emulate_tables
    tables, inputs, plan = workload(name, steps)
    a = np.zeros(2)
    for th in (1, 2):
        emulate_tables(tables, 5, {k: v[:5] for k, v in inputs.items()}, plan=plan, threads=th, record=(),
                       counters=False)
    best = {"1t": np.inf, "2t from idle": np.inf, "2t woken": np.inf}
    for _ in range(repeats):
        for label in best:
            th = 1 if label == "1t" else 2
            if label == "2t woken":
                numba.set_num_threads(2)
                _empty_region(a)
            t0 = time.perf_counter()
            emulate_tables(tables, steps, inputs, plan=plan, threads=th, record=(), counters=False)
            best[label] = min(best[label], time.perf_counter() - t0)
    return {k: v / steps * 1e6 for k, v in best.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="dense,brunel")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args(argv)
    names = a.only.split(",")
    bad = [n for n in names if n not in ("brunel", "dense")]
    if bad or a.steps < 1 or a.repeats < 1 or numba.config.NUMBA_NUM_THREADS < 2:
        print("--only: brunel and/or dense; --steps and --repeats >= 1; NUMBA_NUM_THREADS >= 2", file=sys.stderr)
        return 2
    print("| idle gap | empty region on 2 threads, median | max |\n|---|---|---|")
    for gap, med, mx in wake_latency(max(a.repeats, 20)):
        print(f"| {gap * 1e3:.0f} ms | {med * 1e6:.1f} us | {mx * 1e6:.1f} us |")
    print("\n| workload | 1t us/step | 2t from idle | 2t woken | end to end from idle | woken |")
    print("|---|---|---|---|---|---|")
    for name in names:
        r = end_to_end(name, a.steps, a.repeats)
        print(f"| {name} | {r['1t']:.2f} | {r['2t from idle']:.2f} | {r['2t woken']:.2f} | "
              f"{r['1t'] / r['2t from idle']:.2f}x | {r['1t'] / r['2t woken']:.2f}x |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
