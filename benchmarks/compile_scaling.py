"""Compile scaling: wall time and peak RSS per pass for 10k / 100k / 1M neurons, ~100 synapses each.

Two synthetic integer networks (LoihiLIF, int weights, so discretize/quantize are pass-through):

* ``random``  — one recurrent population; neuron i receives from 100 distinct neurons spread over
  the whole population (an arithmetic progression with a random start and stride: no duplicates);
* ``layered`` — an input and 10 layers of N/10 neurons; neuron i of a layer receives from a window of
  100 neighbours around its position in the previous layer (topographic, like a conv stack).

Each size runs in a fresh subprocess (peak RSS is per process). "peak RSS after" is ru_maxrss after
the pass, i.e. the process peak so far (it includes building the network). ``cpu_s`` is the process's
CPU time per pass: on a shared machine wall time is inflated by other processes, CPU time is not.

Limits: the partition pass counts every per-core limit on the full neuron-level graph (numba,
``partition.evaluate``) and never returns a mapping that breaks one. The independent checker
``neurocomp.mapping.validate.check_mapping`` (plain numpy sorts over all synapses) is not run by default; pass
``--validate`` to run it after compiling and print its time and violations (about 10x the compile's
memory traffic at 1M neurons: run it at 100k). Goals (issue 19): 1M neurons / 100M synapses compile in <= 30 s
on the loihi2 target with a compile peak <= 40 bytes per synapse (an earlier issue asked <= 60 s and <= 8 GB).

    .venv/bin/python benchmarks/compile_scaling.py --sizes 10000 100000 --kinds random layered
    .venv/bin/python benchmarks/compile_scaling.py --sizes 1000000          # the lead's big run
    .venv/bin/python benchmarks/compile_scaling.py --sizes 4000000 --kinds layered --emulate 5   # 4M / 400M

``--emulate STEPS`` then keeps only the tables (as a run from a saved artifact would) and emulates a few steps.
Memory: ``network_mb`` is the RSS holding the built network (the benchmark's build temporaries freed),
``compile_peak_mb`` the highest RSS sampled within any pass; per synapse, ``peak_B_per_syn`` counts the whole
process (network included) and ``compile_B_per_syn`` what the compile adds above the network.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

FAN_IN = 100


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class RssSampler:
    """Current RSS sampled every few ms in a thread (``/proc/self/statm``): the peak *within* one pass and
    the RSS it started from, which ``ru_maxrss`` (the process's peak so far) cannot tell apart."""

    def __init__(self, every_s: float = 0.005):
        import threading
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = self.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), daemon=True)
        self._thread.start()

    def now(self) -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self.page / 2 ** 20

    def _run(self, every_s):
        while not self._stop.wait(every_s):
            self.peak = max(self.peak, self.now())

    def reset(self) -> float:
        """Start a new window; returns the RSS now (MB)."""
        self.peak = self.now()
        return self.peak

    def window_peak(self) -> float:
        return max(self.peak, self.now())

    def stop(self):
        self._stop.set()


def cpu_s() -> float:
    """CPU seconds of this process (user + system): wall time on a shared 2-core machine is inflated
    by the other processes, CPU time is not."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def build(kind: str, n: int, seed: int = 0):
    import neurocomp as nc
    rng = np.random.default_rng(seed)
    net = nc.Network(f"{kind}{n}")
    lif = nc.LoihiLIF(du=410, dv=205, vth=200)
    if kind == "random":
        pop = net.population("pop", (n,), lif)
        net.input("inp", (100,))
        start = rng.integers(0, n, n)
        stride = rng.integers(1, max(2, n // FAN_IN), n)
        idx = (start[:, None] + np.arange(FAN_IN)[None, :] * stride[:, None]) % n
        idx.sort(axis=1)
        indptr = np.arange(n + 1, dtype=np.int64) * FAN_IN
        net.connect(pop, pop, nc.Sparse(indptr, idx.reshape(-1), rng.integers(-60, 61, n * FAN_IN), shape=(n, n)))
        net.connect("inp", pop, nc.Sparse(np.arange(n + 1, dtype=np.int64), rng.integers(0, 100, n),
                                          np.full(n, 50, np.int64), shape=(n, 100)))
        net.output(pop)
        return net
    layers = 10
    m = n // layers
    prev = net.input("inp", (m,))
    for li in range(layers):
        pop = net.population(f"l{li}", (m,), lif)
        centre = np.arange(m)
        idx = np.clip(centre[:, None] - FAN_IN // 2, 0, m - FAN_IN) + np.arange(FAN_IN)[None, :]
        indptr = np.arange(m + 1, dtype=np.int64) * FAN_IN
        net.connect(prev, pop, nc.Sparse(indptr, idx.reshape(-1), rng.integers(-60, 61, m * FAN_IN), shape=(m, m)))
        prev = pop
    net.output(prev)
    return net


def run_emulator(tables, input_sizes: dict, steps: int, sampler, rate: float = 0.05) -> dict:
    """Emulate ``steps`` steps of the compiled tables with only the tables kept (the network, the mapping
    stages and their synapse graph dropped first, as a run from a saved artifact would hold): the inputs
    fire at ``rate``; plan build and run times, spikes, and the peak RSS of this phase."""
    import gc
    from neurocomp.backends.emulator import emulate_tables, make_plan
    rng = np.random.default_rng(1)
    inputs = {name: (rng.random((steps, size)) < rate).astype(np.uint8) for name, size in input_sizes.items()}
    gc.collect()
    out = {"steps": steps, "rss_mb_tables_only": round(sampler.reset())}
    t, c = time.perf_counter(), cpu_s()
    plan = make_plan(tables)
    out.update(plan_s=round(time.perf_counter() - t, 2), plan_cpu_s=round(cpu_s() - c, 2),
               plan_B_per_syn=round(plan.nbytes / max(tables.n_synapses, 1), 2))
    t, c = time.perf_counter(), cpu_s()
    res = emulate_tables(tables, steps, inputs, record=("spikes",), counters=False, plan=plan)
    out.update(run_s=round(time.perf_counter() - t, 2), run_cpu_s=round(cpu_s() - c, 2),
               spikes=int(sum(int(s.sum()) for s in res.spikes.values())), peak_rss_mb_in=round(sampler.window_peak()))
    return out


def one(kind: str, n: int, target: str, partitioner: str, chips: int, validate: bool = False,
        emulate: int = 0) -> dict:
    from neurocomp.passes.tables import BuildTables
    from neurocomp.passes.discretize import Discretize
    from neurocomp.passes.partition import Partition
    from neurocomp.passes.place import Place
    from neurocomp.passes.quantize import Quantize
    from neurocomp.passes.route import Route
    from neurocomp.target import load_target
    import dataclasses
    tgt = load_target(target)
    if chips > 1:  # a board of chips in a near-square grid (random nets need many cores: axon memory)
        cx = int(np.ceil(np.sqrt(chips)))
        cy = -(-chips // cx)
        tgt = dataclasses.replace(tgt, mesh=dataclasses.replace(tgt.mesh, chips=cx * cy, chips_x=cx, chips_y=cy))
    sampler = RssSampler()
    t0 = time.perf_counter()
    net = build(kind, n)
    row = {"kind": kind, "neurons": net.n_neurons, "synapses": net.n_synapses, "target": target,
           "chips": tgt.mesh.chips,
           "partitioner": partitioner, "passes": {}}
    row["build_s"] = round(time.perf_counter() - t0, 2)
    import gc
    gc.collect()
    row["build_peak_mb"] = round(sampler.window_peak())     # building the network (the benchmark's temporaries)
    row["network_mb"] = round(sampler.reset())     # RSS holding the network (and Python, numpy, numba)
    obj = net
    total = total_cpu = 0.0
    for p in (Discretize(1e-4), Quantize(), Partition(partitioner), Place(), Route(), BuildTables()):
        start = sampler.reset()
        t, c = time.perf_counter(), cpu_s()
        obj, rep = p.run(obj, tgt)
        dt, dc = time.perf_counter() - t, cpu_s() - c
        total += dt
        total_cpu += dc
        row["passes"][p.name] = {"seconds": round(dt, 2), "cpu_s": round(dc, 2), "rss_mb_before": round(start),
                                 "peak_rss_mb_in": round(sampler.window_peak()), "peak_rss_mb_after": round(rss_mb())}
        if p.name == "partition":
            s = rep.summary
            row.update(cores=s["cores_used"], messages=s["messages_per_step_all_fire"],
                       baseline_messages=s["baseline"]["messages_per_step_all_fire"], chosen=s["chosen"])
    row["compile_s"] = round(total, 2)
    row["compile_cpu_s"] = round(total_cpu, 2)
    if validate:
        from neurocomp.mapping.validate import check_mapping
        t = time.perf_counter()
        errors = check_mapping(obj)
        row["validate"] = {"seconds": round(time.perf_counter() - t, 2), "violations": len(errors),
                           "first": errors[:3]}
    tables_nbytes = obj.tables.nbytes
    if emulate:
        sizes = {name: net.populations[name].size for name in net.inputs}
        tables, obj, net = obj.tables, None, None       # drop the network, the stages and the synapse graph
        row["emulate"] = run_emulator(tables, sizes, emulate, sampler)
        tables = None
    row["peak_rss_mb"] = round(rss_mb())
    # the compile's own peak: the highest RSS within a pass (the network held, its build's temporaries freed)
    row["compile_peak_mb"] = max(v["peak_rss_mb_in"] for v in row["passes"].values())
    row["tables_B_per_syn"] = round(tables_nbytes / max(row["synapses"], 1), 2)
    row["compile_peak_above_network_mb"] = round(row["compile_peak_mb"] - row["network_mb"])
    row["peak_B_per_syn"] = round(row["compile_peak_mb"] * 2 ** 20 / max(row["synapses"], 1), 1)
    row["compile_B_per_syn"] = round(row["compile_peak_above_network_mb"] * 2 ** 20 / max(row["synapses"], 1), 1)
    sampler.stop()
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--kinds", nargs="+", default=["random", "layered"], choices=["random", "layered"])
    ap.add_argument("--target", default="loihi2")
    ap.add_argument("--partitioner", default="hypergraph")
    ap.add_argument("--chips", type=int, default=0, help="chips on the board (default: about 1 per 2,500 "
                    "neurons, enough for the random net's axon memory on loihi2)")
    ap.add_argument("--validate", action="store_true", help="also run validate.check_mapping (slow at 1M)")
    ap.add_argument("--emulate", type=int, default=0, metavar="STEPS",
                    help="after compiling, drop all but the tables and emulate STEPS steps (inputs at 5 %%)")
    ap.add_argument("--one", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        n = int(args.one[1])
        print(json.dumps(one(args.one[0], n, args.target, args.partitioner, args.chips or max(1, -(-n // 2500)),
                             args.validate, args.emulate)))
        return
    for n in args.sizes:
        for kind in args.kinds:
            out = subprocess.run([sys.executable, __file__, "--one", kind, str(n), "--target", args.target,
                                  "--partitioner", args.partitioner, "--chips", str(args.chips),
                                  "--emulate", str(args.emulate)]
                                 + (["--validate"] if args.validate else []),
                                 capture_output=True, text=True)
            if out.returncode:
                print(json.dumps({"kind": kind, "neurons": n, "error": out.stderr.strip().splitlines()[-1:]}))
            else:
                print(out.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
