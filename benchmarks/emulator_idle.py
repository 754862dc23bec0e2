"""Emulator per-step cost on an idle network (issue 19): does a step without spikes cost O(neurons) only?

Each network is N LoihiLIF neurons (64 cores, round-robin) with a random recurrent Sparse projection of
``fanout`` synapses per neuron and 100 one-to-one input channels; no input ever fires and nothing has a
bias, so no neuron ever spikes: a step's work is the neurons' update alone. The *marginal* cost of a step
is ``(wall(T2) - wall(T1)) / (T2 - T1)`` of ``emulate_tables`` with one plan (so the per-run setup, which
includes the O(synapses) plan, cancels), one thread, alternating repeats, minima, in process CPU time
(``time.process_time``: on the shared machine wall time also counts the slices other jobs hold). Beside it, in the same
run, a plain numba loop that updates the same number of LoihiLIF neurons with the model's own kernel
(``neurocomp.neurons.loihi_lif.kernel.step``) and two ring cells each: the floor for this step, so
``kernel / floor`` is what the emulator adds per neuron (dendrite bookkeeping, the model dispatch,
recording, counters). If the step cost does not grow with the synapse count at fixed N, idle steps
do nothing per synapse, axon or route.

Usage: ``.venv/bin/python benchmarks/emulator_idle.py [--neurons 5000,20000] [--fanout 1,100]
[--steps 500,2500] [--json out.json]``
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from numba import njit

import neurocomp as nc
from neurocomp.backends.emulator import emulate_tables, make_plan
from neurocomp.mapping.tables import build_core_tables
from neurocomp.neurons.loihi_lif.kernel import step as lif_step

N_IN = 100
CONFIGS = {"bare": dict(record=(), counters=False), "counters": dict(record=(), counters=True),
           "record+counters": dict(record=("spikes", "v"), counters=True)}


def idle_tables(n: int, fanout: int, n_cores: int = 64, seed: int = 0):
    """Per-core tables of an idle recurrent network of ``n`` neurons and ~``n * fanout`` synapses."""
    rng = np.random.default_rng(seed)
    net = nc.Network(f"idle{n}x{fanout}")
    net.input("ext", (N_IN,))
    net.population("a", (n,), nc.LoihiLIF(du=2000, dv=400, vth=3000))
    key = np.unique(rng.integers(0, n, n * fanout) * n + rng.integers(0, n, n * fanout))
    post, pre = key // n, key % n
    net.connect("a", "a", nc.Sparse.from_coo(post, pre, np.full(post.size, 5, np.int64), (n, n)))
    net.connect("ext", "a", nc.Sparse.from_coo(np.arange(N_IN), np.arange(N_IN), np.full(N_IN, 5, np.int64),
                                               (n, N_IN)))
    return build_core_tables(net, {"a": np.arange(n) % n_cores}, n_cores)


@njit(cache=True)
def _lif_floor(steps, P, S, ring, rec_col, out):
    """The same neurons' updates with nothing around them: two ring cells read and cleared per neuron."""
    for _ in range(steps):
        for j in range(S.shape[1]):
            a = ring[2 * j] + ring[2 * j + 1]
            ring[2 * j] = 0
            ring[2 * j + 1] = 0
            if lif_step(j, a, P, S):
                out[j] = 1
            if rec_col[j] >= 0:
                out[j] += 1


def floor_ns(n: int, steps: int) -> float:
    P = np.zeros((4, n), np.int64)
    P[0], P[1], P[2] = 2000, 400, 3000 << 6
    S, ring = np.zeros((2, n), np.int64), np.zeros(2 * n, np.int64)
    rec_col, out = np.full(n, -1, np.int64), np.zeros(n, np.int64)
    _lif_floor(1, P, S, ring, rec_col, out)
    t0 = time.process_time()
    _lif_floor(steps, P, S, ring, rec_col, out)
    return 1e9 * (time.process_time() - t0) / steps / n


def measure(n: int, fanout: int, steps: tuple, reps: int = 3) -> dict:
    tables = idle_tables(n, fanout)
    plan = make_plan(tables)
    zeros = {T: {"ext": np.zeros((T, N_IN), np.uint8)} for T in steps}
    emulate_tables(tables, 5, {"ext": zeros[steps[0]]["ext"][:5]}, plan=plan, threads=1)
    best = {(label, T): float("inf") for label in CONFIGS for T in steps}
    floor = float("inf")
    for _ in range(reps):                                        # alternating repeats, minima
        for label, kw in CONFIGS.items():
            for T in steps:
                t0 = time.process_time()
                res = emulate_tables(tables, T, zeros[T], plan=plan, threads=1, **kw)
                best[label, T] = min(best[label, T], time.process_time() - t0)
                if kw["counters"]:
                    assert int(res.report["counters"]["spikes_out"].sum()) == 0, "the idle network spiked"
        floor = min(floor, floor_ns(n, steps[-1]))
    t1, t2 = steps
    row = {"neurons": n, "synapses": int(tables.n_synapses), "cores": int(tables.n_cores),
           "floor_ns_per_neuron": round(floor, 2)}
    for label in CONFIGS:
        per_step = (best[label, t2] - best[label, t1]) / (t2 - t1)
        row[label] = {"us_per_step": round(1e6 * per_step, 2), "ns_per_neuron": round(1e9 * per_step / n, 2),
                      "over_floor": round(1e9 * per_step / n / floor, 2),
                      "setup_ms": round(1e3 * (best[label, t1] - per_step * t1), 2)}
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--neurons", default="5000,20000")
    ap.add_argument("--fanout", default="1,100")
    ap.add_argument("--steps", default="500,2500", help="two run lengths; the step cost is their difference")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    steps = tuple(int(x) for x in args.steps.split(","))
    rows = []
    for n in (int(x) for x in args.neurons.split(",")):
        for f in (int(x) for x in args.fanout.split(",")):
            load = os.getloadavg()[0]
            row = measure(n, f, steps)
            row["load_avg"] = [round(load, 2), round(os.getloadavg()[0], 2)]
            print(json.dumps(row), flush=True)
            rows.append(row)
    print("| neurons | synapses | floor ns/neuron | " + " | ".join(f"{k} us/step (ns/neuron, x floor)" for k in CONFIGS)
          + " | load |")
    print("|---" * (4 + len(CONFIGS)) + "|")
    for r in rows:
        cells = [f"{r[k]['us_per_step']} ({r[k]['ns_per_neuron']}, {r[k]['over_floor']}x)" for k in CONFIGS]
        print(f"| {r['neurons']} | {r['synapses']} | {r['floor_ns_per_neuron']} | " + " | ".join(cells)
              + f" | {r['load_avg'][0]} -> {r['load_avg'][1]} |")
    if args.json:
        with open(args.json + ".tmp", "w") as fh:
            json.dump(rows, fh, indent=1)
        os.replace(args.json + ".tmp", args.json)
    return rows


if __name__ == "__main__":
    main()
