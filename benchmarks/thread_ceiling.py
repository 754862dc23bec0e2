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
  machine scales that work, apart from what cutting each source's block in two costs;
* ``rows_free``: dense's pattern as the kernel runs it since quiet13/quiet18 (a free team: one region for the whole
  run, no meeting a step; each thread its own half of the 1000 cells in a ring of its own, int32 as the plan's;
  four rows of a flat int8 weight array added in one pass, as ``kernels._deliver``'s pass A), with the neurons'
  read of the cells reduced to one shift a cell. Besides 1 and 2 threads, ``2m1t``: the two halves run in turn
  on one thread, so that ``work`` (2m1t / 1t: what cutting the rows in two adds) and ``conc`` ((2m1t / 2) / 2t:
  how near the two threads come to running their halves at full speed) can be set beside ``thread_split.py``'s.
  Its indices go through ``kernels._u`` as the kernel's do: LLVM then vectorizes the adds. (``rows`` and
  ``rows_own_ring`` index with signed integers: numba's negative-index wraparound keeps them scalar loops,
  ~60 us a step against ~2.4, so their ratios are a scalar loop's, not the kernel's SIMD rows'.)

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

from neurocomp.backends.emulator.kernels import _u


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


@njit(parallel=True, cache=False)
def free_row_steps(n_groups, weights, rings, spikes, n_steps):
    """``rows_free``: each of ``n_groups`` members runs every step over its own cells, four rows at a time."""
    n_post = weights.shape[1]
    flat = weights.reshape(-1)
    for g in prange(n_groups):
        lo = g * n_post // n_groups
        n = (g + 1) * n_post // n_groups - lo
        ring = rings[g]
        for t in range(n_steps):
            sp = spikes[t % spikes.shape[0]]
            for b in range(0, sp.shape[0] - 3, 4):
                a = sp[b] * n_post + lo
                a2 = sp[b + 1] * n_post + lo
                a3 = sp[b + 2] * n_post + lo
                a4 = sp[b + 3] * n_post + lo
                for k in range(n):             # (``_u``: indices known >= 0, as the kernel's, so LLVM vectorizes)
                    ring[_u(lo + k)] += (np.int64(flat[_u(a + k)]) + flat[_u(a2 + k)]) + \
                        (np.int64(flat[_u(a3 + k)]) + flat[_u(a4 + k)])
            for k in range(lo, lo + n):
                ring[_u(k)] >>= 1


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
    rings32 = np.zeros((2, 16000), np.int32)
    # (a step's input channels as the kernel lists them: distinct, ascending)
    sorted_spikes = np.stack([np.sort(rng.choice(1000, 100, replace=False)) for _ in range(997)]).astype(np.int64)
    cases = {"scatter": lambda th, n: scatter_steps(th, idx, w, ring, 44000 // th, n),
             "rows": lambda th, n: row_steps(th, weights, ring[None, :], spikes, n, False),
             "spikes": lambda th, n: spike_steps(th, idx, w, ring, 600, 73, n),
             "rows_own_ring": lambda th, n: row_steps(th, weights, rings, spikes, n, True),
             "spikes_halves": lambda th, n: spike_steps(2, idx, w, ring, 600, 73, n),
             "rows_free": lambda th, n: free_row_steps(th, weights, rings32, sorted_spikes, n)}
    # (case, threads): the case run with ``groups`` members on that many numba threads (2 members on 1: "2m1t")
    configs = {(c, th): (th, th) for c in cases for th in (1, 2)}
    configs["rows_free", "2m1t"] = (2, 1)
    best = {k: np.inf for k in configs}
    load = [os.getloadavg()[0]]
    for _ in range(args.repeats):
        for (c, th), (groups, threads) in configs.items():
            numba.set_num_threads(threads)
            cases[c](groups, 2)                             # compiled / warm
            t0 = time.perf_counter()
            cases[c](groups, args.steps)
            best[c, th] = min(best[c, th], (time.perf_counter() - t0) / args.steps)
    load.append(os.getloadavg()[0])
    out = {c: {"us_per_step_1": 1e6 * best[c, 1], "us_per_step_2": 1e6 * best[c, 2],
               "speedup": best[c, 1] / best[c, 2]} for c in cases}
    out["rows_free"].update(us_per_step_2m1t=1e6 * best["rows_free", "2m1t"],
                            work=best["rows_free", "2m1t"] / best["rows_free", 1],
                            conc=best["rows_free", "2m1t"] / 2 / best["rows_free", 2])
    out["load"] = load
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
