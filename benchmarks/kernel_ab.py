"""The emulator kernel before / after a change, in one run: ms per step and ns per synaptic event.

Workloads (the same networks as ``emulator_speed.py`` and ``pilotnet_sdnn.py``): ``brunel`` (5k LoihiLIF,
3M synapses, ~15 Hz), ``dense`` (1000 -> 1000 Dense), ``pilotnet`` (the lava-dl PilotNet SDNN on one
Loihi 2 chip, graded payloads, the ``pan`` input). Each runs ``emulate_tables`` with a plan made once
(the kernel, its setup and the result's assembly; no plan, no cost model), in two modes: spikes + v
recorded with counters (``rec``; PilotNet: spikes, i.e. its payloads, with counters), and nothing
recorded, no counters (``none``). Time per step is the
*marginal* one: (T-step run - 1-step run) / (T - 1), so per-call costs cancel; wall time and process CPU
time are both taken, min of the repeats.

``--old DIR``: a tree of the old source (``git archive main | tar -x -C DIR``, then
``ln -s ../backends DIR/neurocomp/backends; ln -s ../hw_models DIR/neurocomp/hw_models``); the script then
runs itself as a worker process on the old tree (``PYTHONPATH=DIR``, started outside the worktree so the
editable install is not picked up) and on this one, alternating ``--rounds`` times, and prints both with
the ratio old / new of the minima. Without ``--old``: this tree only.

Usage: ``.venv/bin/python benchmarks/kernel_ab.py [--only brunel,dense,pilotnet] [--steps 300] [--repeats 3]
[--rounds 3] [--threads 1] [--old OLD_TREE] [--json out.json]``
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODES = {"rec": dict(record=("spikes", "v"), counters=True), "none": dict(record=(), counters=False)}


def workloads(only, steps):
    """``{name: (tables, inputs, input_spec, record override)}`` built by this process's neurocomp."""
    import neurocomp as nc
    from neurocomp.mapping.tables import build_core_tables
    from neurocomp.semantics.inputs import InputSpec
    sys.path.insert(0, str(HERE))
    import emulator_speed as ES
    out = {}
    for name in only:
        if name in ("brunel", "dense"):
            net, rate = ES.brunel(5000) if name == "brunel" else ES.dense_layer()
            n_cores = 64
            mapping = {p.name: (np.arange(p.size) + off) % n_cores for p, off in
                       zip(net.neuron_populations, np.cumsum([0] + [p.size for p in net.neuron_populations]))}
            tables = build_core_tables(net, mapping, n_cores)
            out[name] = (tables, ES.make_inputs(rate, steps), InputSpec.of_network(net), None)
        elif name == "pilotnet":
            from neurocomp.io.netx_input import netx_inputs
            data = HERE.parent / "tests" / "data" / "netx" / "pilotnet_sdnn"
            tmp = Path(tempfile.mkdtemp(prefix="kernel_ab_"))
            with gzip.open(data / "network.net.gz", "rb") as src, open(tmp / "p.net", "wb") as dst:
                shutil.copyfileobj(src, dst)
            net = nc.load(tmp / "p.net")
            shutil.rmtree(tmp, ignore_errors=True)
            art = nc.compile(net, "loihi2", partitioner="sequential")
            x = np.load(data / "input.npy")
            pan = np.stack([np.roll(x[..., 0], k, axis=0) for k in range(steps)], axis=-1)
            out[name] = (art.tables, netx_inputs(art.network, pan, steps), InputSpec.of_network(art.network),
                         ("spikes",))
    return out


def worker(only, steps, repeats, threads) -> dict:
    import neurocomp
    from neurocomp.backends.emulator import emulate_tables, make_plan
    res = {"source": str(Path(neurocomp.__file__).parent.parent), "load": os.getloadavg()[0]}
    for name, (tables, inputs, spec, rec) in workloads(only, steps).items():
        plan = make_plan(tables)
        cut = lambda t: {k: v[:t] for k, v in inputs.items()}
        for mode, kw in MODES.items():
            if rec is not None and mode == "rec":
                kw = dict(kw, record=rec)
            for th in threads:
                emulate_tables(tables, 3, cut(3), plan=plan, input_spec=spec, threads=th, **kw)   # compile/load
                best = {}
                for _ in range(repeats):
                    for t in (steps, 1):
                        w0, c0 = time.perf_counter(), time.process_time()
                        r = emulate_tables(tables, t, cut(t), plan=plan, input_spec=spec, threads=th, **kw)
                        w, c = time.perf_counter() - w0, time.process_time() - c0
                        best[t] = (min(best.get(t, (np.inf,))[0], w), min(best.get(t, (0, np.inf))[1], c))
                        if t == steps and mode == "rec":
                            events = int(r.report["counters"]["syn_ops"].sum()) / steps
                key = f"{name}/{mode}/{th}"
                res[key] = {"wall_ms": 1e3 * (best[steps][0] - best[1][0]) / (steps - 1),
                            "cpu_ms": 1e3 * (best[steps][1] - best[1][1]) / (steps - 1)}
        res[f"{name}/events_per_step"] = events
    res["load_after"] = os.getloadavg()[0]
    return res


def run_worker(src: str | None, args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--only", args.only, "--steps",
           str(args.steps), "--repeats", str(args.repeats), "--threads", args.threads]
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    out = subprocess.run(cmd, env=env, cwd=tempfile.gettempdir() if src else HERE.parent, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="brunel,dense,pilotnet")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1", help="comma-separated thread counts")
    ap.add_argument("--old", default=None, help="a tree of the old source (see the module docstring)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.only.split(","), args.steps, args.repeats,
                                [int(x) for x in args.threads.split(",")])))
        return 0
    runs = {"new": [], "old": []}
    for _ in range(args.rounds):
        runs["new"].append(run_worker(None, args))
        if args.old:
            runs["old"].append(run_worker(args.old, args))
    keys = [k for k in runs["new"][0] if isinstance(runs["new"][0][k], dict)]
    best = {side: {k: {m: min(r[k][m] for r in rs) for m in ("wall_ms", "cpu_ms")} for k in keys}
            for side, rs in runs.items() if rs}
    loads = [r["load"] for rs in runs.values() for r in rs] + [r["load_after"] for rs in runs.values() for r in rs]
    print(f"load average {min(loads):.1f} - {max(loads):.1f}; ms per step (marginal), min of "
          f"{args.rounds} rounds x {args.repeats} repeats; ns/event: CPU ms / synaptic events per step")
    print("| workload / mode / threads | events/step | " + ("old wall / cpu ms | " if args.old else "")
          + "new wall / cpu ms | " + ("old / new (cpu) | " if args.old else "") + "new ns/event (cpu) |")
    for k in keys:
        ev = runs["new"][0][k.split("/")[0] + "/events_per_step"]
        n = best["new"][k]
        row = f"| {k} | {ev:.0f} | "
        if args.old:
            o = best["old"][k]
            row += f"{o['wall_ms']:.3f} / {o['cpu_ms']:.3f} | "
        row += f"{n['wall_ms']:.3f} / {n['cpu_ms']:.3f} | "
        if args.old:
            row += f"{best['old'][k]['cpu_ms'] / n['cpu_ms']:.2f}x | "
        row += f"{1e6 * n['cpu_ms'] / ev:.2f} |"
        print(row)
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "best": best}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
