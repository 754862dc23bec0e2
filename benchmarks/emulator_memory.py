"""Emulator memory: bytes per synapse of what a run keeps resident, and its speed (issue 19).

Resident = the per-core tables (``CoreTables.nbytes``: every array, neuron parameters included) plus the
kernel's plan and one run's state (``Plan.nbytes``: the per-route synapse copy, dendrites, neuron state
rows, delay rings, spike lists). Networks:

* ``brunel``: the Brunel 5k / 3M network of ``emulator_speed.py`` on 64 cores, round robin (its mapping);
* ``random`` / ``layered``: the 1M / 100M networks of ``compile_scaling.py`` (``--neurons``), neurons in
  contiguous blocks of ``--per-core`` per core (the partitioner is skipped: its mapping of these nets is
  blocks too for ``layered``; for ``random`` every mapping gives each source ~100 destination cores).
  ``random`` is driven by its 100-channel input at ``--rate``; ``layered`` by its first layer's input.

Speed: ``emulate_tables`` ms/step, minimum of ``--repeats`` runs, functional only (nothing recorded, no
counters) and with spikes + v recorded and counters on (Brunel). A digest of the recorded spikes (and final v
on Brunel) checks that two versions run bit-identically. Before/after in one session: run the same command with
``PYTHONPATH`` set to an export of the older commit (``git archive <commit> | tar -x -C DIR``, then link
``DIR/neurocomp/backends -> ../backends`` and ``DIR/neurocomp/hw_models -> ../hw_models``), alternating.

    .venv/bin/python benchmarks/emulator_memory.py --net brunel --steps 1000 --repeats 3 --json out.json
    .venv/bin/python benchmarks/emulator_memory.py --net layered --neurons 1000000 --steps 100 --repeats 2
"""
from __future__ import annotations

import argparse
import inspect
import hashlib
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import neurocomp  # noqa: E402
from neurocomp.backends.emulator import emulate_tables, make_plan  # noqa: E402
from neurocomp.mapping.tables import build_core_tables  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def table_bytes(tables) -> int:
    """Bytes of the tables' arrays (what ``CoreTables.nbytes`` counts; older versions lack the property)."""
    arrays = [v for v in vars(tables).values() if isinstance(v, np.ndarray)] + list(tables.neuron_params.values())
    return int(sum(np.asarray(a).nbytes for a in arrays))


def network(args):
    """``(network, mapping, n_cores, inputs)`` of ``args.net``."""
    if args.net == "brunel":
        from emulator_speed import brunel, make_inputs
        net, rate = brunel(args.neurons or 5000)
        n_cores = 64
        mapping = {p.name: (np.arange(p.size) + off) % n_cores
                   for p, off in zip(net.neuron_populations,
                                     np.cumsum([0] + [p.size for p in net.neuron_populations]))}
        return net, mapping, n_cores, make_inputs(rate, args.steps)
    from compile_scaling import build
    net = build(args.net, args.neurons or 1_000_000)
    offsets = np.cumsum([0] + [p.size for p in net.neuron_populations])
    mapping = {p.name: (np.arange(p.size) + off) // args.per_core for p, off in zip(net.neuron_populations, offsets)}
    n_cores = int(-(-offsets[-1] // args.per_core))
    rng = np.random.default_rng(1)
    inputs = {name: (rng.random((args.steps, net.populations[name].size)) < args.rate).astype(np.uint8)
              for name in net.inputs}
    return net, mapping, n_cores, inputs


def digest(res) -> str:
    h = hashlib.sha256()
    for name in sorted(res.spikes):
        h.update(np.ascontiguousarray(res.spikes[name], np.uint8).tobytes())
    for name in sorted(res.v):
        h.update(np.ascontiguousarray(res.v[name][-1], np.int64).tobytes())
    return h.hexdigest()[:16]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--net", choices=("brunel", "random", "layered"), default="brunel")
    ap.add_argument("--neurons", type=int, default=0)
    ap.add_argument("--per-core", type=int, default=1024)
    ap.add_argument("--rate", type=float, default=0.05)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()

    t0 = time.perf_counter()
    net, mapping, n_cores, inputs = network(args)
    t_net = time.perf_counter() - t0
    t0 = time.perf_counter()
    tables = build_core_tables(net, mapping, n_cores)
    t_tables = time.perf_counter() - t0
    del net, mapping
    rss_tables = rss_mb()
    t0 = time.perf_counter()
    # no learning here: the plan emulate builds (no per-copy columns beside synapse runs; older checkouts: none)
    plan = make_plan(tables, **({"copies": False} if "copies" in inspect.signature(make_plan).parameters else {}))
    t_plan = time.perf_counter() - t0
    n_syn = max(tables.n_synapses, 1)
    out = {"version": os.path.dirname(os.path.dirname(neurocomp.__file__)), "net": args.net,
           "neurons": tables.n_neurons, "synapses": tables.n_synapses, "cores": n_cores, "axons": tables.n_axons,
           "dtypes": {k: str(getattr(tables, k).dtype) for k in ("syn_post", "syn_weight", "syn_delay", "syn_proj",
                                                                  "axon_syn_ptr", "route_axon", "axon_source")},
           "plan_dtypes": {k: str(getattr(plan.routes, k).dtype) for k in ("route_syn_ptr", "syn_ring", "syn_weight")},
           "tables_B_per_syn": table_bytes(tables) / n_syn, "plan_B_per_syn": plan.nbytes / n_syn,
           "net_s": t_net, "tables_s": t_tables, "plan_s": t_plan, "rss_after_tables_mb": rss_tables}
    out["resident_B_per_syn"] = out["tables_B_per_syn"] + out["plan_B_per_syn"]
    print(json.dumps(out), flush=True)

    warm = {k: v[:5] for k, v in inputs.items()}
    emulate_tables(tables, 5, warm, record=(), counters=False, plan=plan)      # numba compile / cache load
    kinds = {"functional": dict(record=(), counters=False)}
    if args.net == "brunel":
        kinds["recorded"] = dict(record=("spikes", "v"), counters=True)
    best = {k: float("inf") for k in kinds}
    for _ in range(args.repeats):
        for label, kw in kinds.items():
            t0 = time.perf_counter()
            emulate_tables(tables, args.steps, inputs, plan=plan, **kw)
            best[label] = min(best[label], time.perf_counter() - t0)
    record = ("spikes", "v") if args.net == "brunel" else ("spikes",)      # 1M x T of v: over the run's budget
    res = emulate_tables(tables, args.steps, inputs, record=record, counters=True, plan=plan)
    out["ms_per_step"] = {k: 1000 * v / args.steps for k, v in best.items()}
    out["synaptic_events"] = int(res.report["counters"]["syn_ops"].sum())
    out["spikes"] = int(sum(int(s.sum()) for s in res.spikes.values()))
    out["digest"] = digest(res)
    out["peak_rss_mb"] = rss_mb()
    print(json.dumps(out), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
