"""What the timing/energy accounting costs on top of a functional emulator run (issue 19: <= 1.2x).

Per workload, one compiled artifact and the same inputs, three ``nc.emulate`` calls alternated
``--repeats`` times (minimum of each, wall clock and process CPU time):

* ``functional``: ``counters=False, timing=False`` (the kernel alone, plus the per-call plan);
* ``counters``: the kernel's per-core counters on, no cost model;
* ``accounted``: counters, timing, and the report read (``report.resolve()``: the cost model's energies and
  latencies and the workload metrics are computed lazily on first read, as ``neurocomp emulate`` does when
  it writes report.json).

Ratio = accounted / functional. Also, on the accounted run's own spike events and counters, the cost
model's message pass by itself: ``costmodel.estimate`` per message (the pass before ``msgclasses``) and per
class of sources (with the kernel's counters), minimum of ``--repeats``, wall clock; their results are compared (==).

Workloads (``emulator_speed.py``'s networks): ``chain_busy``, ``chain_quiet`` (one Loihi 2 chip), ``brunel``
(5k neurons / 3M synapses: 487 cores, a 2x2-chip copy of Loihi 2), ``pilotnet`` (the SDNN of
``pilotnet_sdnn.py``, its panning workload, one chip). Compilation: sequential partitioner.

Run by another checkout's interpreter (``cd ../main && .venv/bin/python ../wt/benchmarks/accounting_cost.py``),
it measures that checkout's emulator (its estimate without ``counts``: per message only).

Usage: ``.venv/bin/python benchmarks/accounting_cost.py [--only chain_busy,chain_quiet,brunel,pilotnet]
[--steps 1000] [--pilotnet-steps 30] [--repeats 5] [--threads K] [--json out.json]``
"""
from __future__ import annotations

import argparse
import dataclasses
import gzip
import inspect
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import neurocomp as nc
from neurocomp.backends.emulator.costmodel import estimate
from neurocomp.backends.emulator.engine import emulate_tables
from neurocomp.semantics.inputs import InputSpec
from neurocomp.target import load_target

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emulator_speed import brunel, dense_chain, make_inputs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PILOTNET = ROOT / "tests" / "data" / "netx" / "pilotnet_sdnn"


def _multichip(name: str, cx: int, cy: int):
    t = load_target(name)
    return dataclasses.replace(t, mesh=dataclasses.replace(t.mesh, chips=cx * cy, chips_x=cx, chips_y=cy))


def workload(name: str, steps: int):
    """``(compiled artifact, inputs)`` of a workload."""
    if name == "pilotnet":
        from neurocomp.io.netx_input import netx_inputs
        tmp = Path(tempfile.mkdtemp(prefix="acct_pilotnet_"))
        with gzip.open(PILOTNET / "network.net.gz", "rb") as src, open(tmp / "p.net", "wb") as dst:
            shutil.copyfileobj(src, dst)
        net = nc.load(tmp / "p.net")
        shutil.rmtree(tmp, ignore_errors=True)
        x = np.load(PILOTNET / "input.npy")
        pan = np.stack([np.roll(x[..., 0], k, axis=0) for k in range(steps)], axis=-1)
        return nc.compile(net, "loihi2", partitioner="sequential"), netx_inputs(net, pan, steps)
    if name == "brunel":
        net, rate = brunel(5000)
        target = _multichip("loihi2", 2, 2)
    else:
        net, rate = dense_chain(name == "chain_quiet")
        target = "loihi2"
    n_in = net.populations["ext"].size
    return nc.compile(net, target, partitioner="sequential"), make_inputs(rate, steps, n_ext=n_in)


CALLS = {"functional": {"counters": False, "timing": False}, "counters": {"timing": False}, "accounted": {}}


def measure(art, inputs, steps: int, repeats: int, threads=None) -> dict:
    nc.emulate(art, 3, {k: v[:3] for k, v in inputs.items()}, record=(), threads=threads).report.resolve()  # warm-up
    wall = {k: np.inf for k in CALLS}
    cpu = dict(wall)
    for _ in range(repeats):
        for label, kw in CALLS.items():
            t0, c0 = time.perf_counter(), time.process_time()
            r = nc.emulate(art, steps, inputs, record=(), threads=threads, **kw)
            if label == "accounted":
                r.report.resolve()
            wall[label] = min(wall[label], time.perf_counter() - t0)
            cpu[label] = min(cpu[label], time.process_time() - c0)
    # the message pass alone, old (per message) and new (per class), on one run's events and counters
    res = emulate_tables(art.tables, steps, inputs, record=(), events=True, input_spec=InputSpec.of_network(art.network))
    ev, cnt = res.report["spike_events"], res.report["counters"]
    args = (art.target, art.tables, np.asarray(art.physical_core), ev["step"], ev["source"],
            cnt["neurons_active"], steps)
    t_est, ests = {"per_message": np.inf, "per_class": np.inf}, {}
    per_class = "counts" in inspect.signature(estimate).parameters      # False: a checkout before msgclasses
    for _ in range(repeats):
        for label, kw in (("per_message", {}), ("per_class", {"counts": cnt})):
            if kw and not per_class:
                continue
            t0 = time.perf_counter()
            ests[label] = estimate(*args, **kw)
            t_est[label] = min(t_est[label], time.perf_counter() - t0)
            ests[label].pop("wall_time_s")
    out = ests["per_message"]
    same = out == ests["per_class"] if per_class else None
    return {"steps": steps, "n_cores": int(art.tables.n_cores), "n_synapses": int(art.tables.n_synapses),
            "events_per_step": ev["step"].size / steps, "messages_per_step": out["counters"]["total_messages"] / steps,
            "wall_ms_per_step": {k: 1e3 * v / steps for k, v in wall.items()},
            "cpu_ms_per_step": {k: 1e3 * v / steps for k, v in cpu.items()},
            "ratio_wall": wall["accounted"] / wall["functional"], "ratio_cpu": cpu["accounted"] / cpu["functional"],
            "counters_ratio_cpu": cpu["counters"] / cpu["functional"],
            "estimate_ms": {k: 1e3 * v for k, v in t_est.items()}, "estimates_equal": bool(same)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="chain_busy,chain_quiet,brunel,pilotnet")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--pilotnet-steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None,
                    help="emulator kernel threads (default: the library's load-aware rule; process CPU time counts "
                         "every thread's, waiting included, so 1 gives the comparable CPU ratio)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    rows = {}
    for name in args.only.split(","):
        steps = args.pilotnet_steps if name == "pilotnet" else args.steps
        art, inputs = workload(name, steps)
        load0 = os.getloadavg()[0]
        rows[name] = measure(art, inputs, steps, args.repeats, args.threads)
        rows[name]["load"] = [load0, os.getloadavg()[0]]
        print(name, json.dumps(rows[name], default=float), flush=True)
    print("| workload | cores | events / messages per step | functional ms/step (CPU) | counters | accounted | "
          "accounted / functional, CPU (wall) | estimate per message / per class, wall ms | equal |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        c = r["cpu_ms_per_step"]
        print(f"| {name} | {r['n_cores']} | {r['events_per_step']:.0f} / {r['messages_per_step']:.0f} | "
              f"{c['functional']:.3f} | {c['counters']:.3f} | {c['accounted']:.3f} | **{r['ratio_cpu']:.3f}x** "
              f"({r['ratio_wall']:.3f}x) | {r['estimate_ms']['per_message']:.1f} / {r['estimate_ms']['per_class']:.1f}"
              f" | {r['estimates_equal']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
