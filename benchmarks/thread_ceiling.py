"""What two threads can gain on this machine for the emulator's two delivery patterns (issue 19's >= 1.7x goal).

Two ideal numba loops, one parallel region per step (as ``kernels.run_steps`` before its team of threads,
RESULTS.md "quiet11"), each thread half the work, no
shared cells, nothing else (no neurons, no recording), wall time per step at 1 and 2 threads, min of
``--repeats`` alternating runs:

* ``scatter``: Brunel's pattern, ``ring[idx[y]] += w[y]`` for 44k random synapse copies per step (a different
  run of them each step: streamed) into a cache-resident ring, each thread its own half of the ring;
* ``rows``: dense's pattern (its synapse runs), 100 spikes per step, each adding its thread's half of a
  1000-wide int8 weight row into an int64 ring (contiguous, SIMD);
* ``spikes``: Brunel's pattern as the kernel walks it, 73 spiking sources per step (44k copies), each source's
  600 copies a block at its own place in the 3M, each thread walking its half of every spiking source's block
  (``scatter`` streams one long run per thread instead);
* ``rows_own_ring``: ``rows`` with each thread adding into a ring array of its own, not its half of one shared
  ring (the kernel's groups share one);
* ``spikes_halves``: ``spikes`` cut in two halves at 1 and at 2 threads (the same work both times): how the
  machine scales that work, apart from what cutting each source's block in two costs.

Usage: ``.venv/bin/python benchmarks/thread_ceiling.py [--steps 2000] [--repeats 3]``
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numba
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=False)
def scatter_steps(n_groups, idx, w, ring, per, n_steps):
    for t in range(n_steps):
        for g in prange(n_groups):
            n = idx.size // n_groups
            base = g * (ring.size // n_groups)
            y0 = g * n + (t * 7919 * per) % (n - per)
            for y in range(y0, y0 + per):
                ring[base + idx[y]] += w[y]


@njit(parallel=True, cache=False)
def spike_steps(n_groups, idx, w, ring, per_src, n_spk, n_steps):
    n_src = idx.size // per_src
    for t in range(n_steps):
        for g in prange(n_groups):
            base = g * (ring.size // n_groups)
            half = per_src // n_groups
            for q in range(n_spk):
                y0 = ((t * 7919 + q * 104729) % n_src) * per_src + g * half
                for y in range(y0, y0 + half):
                    ring[base + idx[y]] += w[y]


@njit(parallel=True, cache=False)
def row_steps(n_groups, weights, rings, spikes, n_steps, own):
    """``own``: thread g adds into ``rings[g]``; else every thread into its half of ``rings[0]``."""
    n_post = weights.shape[1]
    for t in range(n_steps):
        for g in prange(n_groups):
            lo = g * n_post // n_groups
            hi = (g + 1) * n_post // n_groups
            ring = rings[np.int64(g) if own else np.int64(0)]
            for q in range(spikes.shape[1]):
                s = spikes[t % spikes.shape[0], q]
                for k in range(lo, hi):
                    ring[k] += weights[s, k]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 7000, 3_000_000).astype(np.int32)
    w = rng.integers(-50, 50, 3_000_000).astype(np.int8)
    ring = np.zeros(16000, np.int64)
    weights = rng.integers(-50, 50, (1000, 1000)).astype(np.int8)
    spikes = rng.integers(0, 1000, (997, 100)).astype(np.int64)
    rings = np.zeros((2, 16000), np.int64)
    cases = {"scatter": lambda th, n: scatter_steps(th, idx, w, ring, 44000 // th, n),
             "rows": lambda th, n: row_steps(th, weights, ring[None, :], spikes, n, False),
             "spikes": lambda th, n: spike_steps(th, idx, w, ring, 600, 73, n),
             "rows_own_ring": lambda th, n: row_steps(th, weights, rings, spikes, n, True),
             "spikes_halves": lambda th, n: spike_steps(2, idx, w, ring, 600, 73, n)}
    best = {(c, th): np.inf for c in cases for th in (1, 2)}
    load = [os.getloadavg()[0]]
    for _ in range(args.repeats):
        for c, run in cases.items():
            for th in (1, 2):
                numba.set_num_threads(th)
                run(th, 2)                                  # compiled / warm
                t0 = time.perf_counter()
                run(th, args.steps)
                best[c, th] = min(best[c, th], (time.perf_counter() - t0) / args.steps)
    load.append(os.getloadavg()[0])
    out = {c: {"us_per_step_1": 1e6 * best[c, 1], "us_per_step_2": 1e6 * best[c, 2],
               "speedup": best[c, 1] / best[c, 2]} for c in cases}
    out["load"] = load
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
