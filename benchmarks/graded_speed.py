"""Emulator speed on graded (multi-bit) messages: ms/step of sigma-delta layers, one per Lava connection process.

    .venv/bin/python benchmarks/graded_speed.py [--neurons 1000] [--steps 400] [--repeats 5]

Workloads (a graded input drives a Delta layer that sends a payload on most neurons every step; its
payloads reach a SigmaDelta layer through one projection):

* ``dense``: Dense n x n, weight_exp -3 (Lava's Dense: the int32 sum wraps before the shift);
* ``delay_dense``: Dense n x n with per-synapse delays 0..3, weight_exp -2 (DelayDense: each product wraps);
* ``sparse``: Sparse n x n at 10%, delays 0..3, weight_exp -1 (DelaySparse);
* ``conv``: 3x3 Conv2d 8 -> 8 channels on 16 x 16 (Lava's Conv: cast, 24-bit wrap);
* ``binary_dense`` / ``binary_delay``: the common case for comparison, binary input spikes (10% per step)
  through the same Dense without / with delays into a LoihiLIF layer.

It prints CPU ms per step of this process (``time.process_time``; the kernel is single-threaded, and CPU
time is far less disturbed than wall time on a shared, oversubscribed machine), the minimum over
``--repeats`` runs after a warm-up, to compare emulator versions: run it from each checkout in
alternation (``PYTHONPATH=<checkout>``).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import neurocomp as nc
from neurocomp.backends.emulator import emulate_tables
from neurocomp.mapping.tables import build_core_tables
from neurocomp.semantics.inputs import InputSpec


def network(kind: str, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    net = nc.Network(f"graded_{kind}")
    if kind.startswith("binary"):
        net.input("x", (n,))
        net.population("s", (n,), nc.LoihiLIF(du=4095, dv=300, vth=2000))
        delay = 0 if kind == "binary_dense" else rng.integers(0, 4, (n, n))
        net.connect("x", "s", nc.Dense(rng.integers(-200, 200, (n, n)), weight_exp=-3), delay=delay)
        return net
    shape = (8, 16, 16) if kind == "conv" else (n,)
    net.input("x", shape)
    net.population("d", shape, nc.Delta(vth=1, spike_exp=4))
    net.connect("x", "d", nc.OneToOne(1, num_message_bits=24))
    m = int(np.prod(shape))
    if kind == "conv":
        conn, delay = nc.Conv2d(2 * rng.integers(-60, 60, (8, 8, 3, 3)), input_shape=shape, padding=1,
                                sign_mode="mixed"), 0
    elif kind == "sparse":
        w = rng.integers(-200, 200, (n, m)) * (rng.random((n, m)) < 0.1)
        conn = nc.Sparse.from_dense(w, weight_exp=-1)
        delay = rng.integers(0, 4, conn.n_synapses)
    else:
        conn = nc.Dense(rng.integers(-200, 200, (n, m)), weight_exp=-3 if kind == "dense" else -2)
        delay = 0 if kind == "dense" else rng.integers(0, 4, (n, m))
    out_shape = conn.output_shape if kind == "conv" else (n,)
    net.population("s", out_shape, nc.SigmaDelta(vth=4, bias=0))
    net.connect("d", "s", conn, delay=delay)
    return net


def ms_per_step(net, steps: int, repeats: int, seed: int = 1) -> float:
    rng = np.random.default_rng(seed)
    shape = net.populations["x"].shape
    if "d" in net.populations:
        x = rng.integers(-2 ** 20, 2 ** 20, (steps, *shape))
    else:
        x = (rng.random((steps, *shape)) < 0.1).astype(np.uint8)
    mapping = {p.name: np.arange(p.size) % 4 for p in net.neuron_populations}
    tables = build_core_tables(net, mapping, 4)
    spec = InputSpec.of_network(net)
    emulate_tables(tables, 5, {"x": x[:5]}, record=(), input_spec=spec)       # compile / warm up
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        emulate_tables(tables, steps, {"x": x}, record=(), input_spec=spec)
        best = min(best, time.process_time() - t0)
    return 1e3 * best / steps


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    out = {kind: round(ms_per_step(network(kind, args.neurons), args.steps, args.repeats), 4)
           for kind in ("dense", "delay_dense", "sparse", "conv", "binary_dense", "binary_delay")}
    print(json.dumps({"ms_per_step": out, "neurocomp": nc.__file__}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
