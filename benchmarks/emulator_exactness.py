"""Emulator vs Lava fixed_pt on many random integer networks: counts mismatching networks (goal 0).

    .venv/bin/python benchmarks/emulator_exactness.py --examples 1000 [--seed 0]

Each example draws a random network (1-4 LoihiLIF populations, 0-2 inputs, Dense/Sparse/OneToOne of
every sign mode, weight_exp, num_weight_bits, scalar and per-synapse delays, recurrence, optional
Conv2d; tests/netgen.py), random inputs and a random mapping onto 1-6 cores, runs the compiled
per-core tables on the emulator and the network on Lava, and compares every spike and v, step by step.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_emulator_vs_lava import compare  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=25)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    mismatches, spikes, t0 = [], 0, time.perf_counter()
    for i in range(args.examples):
        seed, n_pops, n_inputs = int(rng.integers(0, 2 ** 31)), int(rng.integers(1, 5)), int(rng.integers(0, 3))
        conv, n_cores = bool(rng.integers(0, 2)), int(rng.integers(1, 7))
        try:
            spikes += compare(seed, n_pops, n_inputs, conv, n_cores, steps=args.steps)
        except AssertionError as exc:
            mismatches.append((seed, n_pops, n_inputs, conv, n_cores, str(exc)))
            print(f"MISMATCH example {i}: seed={seed} pops={n_pops} inputs={n_inputs} conv={conv} "
                  f"cores={n_cores}: {exc}", flush=True)
        if (i + 1) % 50 == 0:
            print(f"{i + 1} examples, {len(mismatches)} mismatches, {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"{len(mismatches)} mismatches in {args.examples} examples ({spikes} spikes compared in total), "
          f"{time.perf_counter() - t0:.0f} s")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
