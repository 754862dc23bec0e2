"""What ``timing="cycle"`` costs a user: the whole ``emulate`` run against ``timing="analytic"`` (issue 16).

Usage:  .venv/bin/python benchmarks/cycle_cost.py [--steps 100] [--repeats 3] [--nets random,layered,hot,brunel]
        [--cli] [--old-kernel REV] [--old-model REV] [--threads N]

Two readings on each net, in one run, from alternating repeats (minima; the machine is shared):

* model only: the cycle model (``timing.model.simulate``) / the analytic estimate (``costmodel.estimate``)
  on the same spike events (the reading of benchmarks/sanafe_cycle.py);
* end to end: ``nc.emulate(art, steps, inputs, timing="cycle")`` / ``timing="analytic"`` wall time, the
  report's latency read (functional kernel, recording, accounting: the report's cost part is computed
  when first read); with ``--cli`` also ``neurocomp emulate --timing`` (a process each,
  so interpreter start and imports are in both).

"cycle, 1 thread": the same with the message-level kernel on one thread (its steps run in blocks on
``--threads`` threads otherwise, default the emulator kernel's rule, ``engine.kernel_thread_count``);
"cycle + timeline": the same, the report's one-step timeline read too (it is traced when first read).
``--threads N``: both the emulator kernel (``emulate(threads=N)``) and the cycle kernel on N threads.
``--old-kernel REV``: also the cycle run (and the model alone) with the message-level kernel of git revision
REV (``timing/kernel.py`` and the way ``model.run_numba`` called it there, e.g. 644d1f3, before the kernel was
sped up), alternated with the others; the per-step latencies of both are checked identical.
``--old-model REV``: also the cycle run with the report section built by ``timing/model.py`` and
``timing/kernel.py`` of git revision REV (e.g. 75299f7, before steps ran in parallel and the timeline was
deferred; that report traces its timeline at once), and the model alone with them, alternated with the
others; its per-step latencies and timeline checked identical. The old code's kernel runs on the threads the new
one does (``--threads``; its own rule otherwise), and both models alone are also timed on one thread in process
CPU time ("model, 1 thread, CPU"), steadier than wall time on a shared machine.

Nets (compiled by ``nc.compile`` for Loihi, so the placement is the compiler's, not SANA-FE's): the random
recurrent and layered feed-forward nets of benchmarks/sanafe_crosscheck.py (same sizes and connection
densities, LoihiLIF with biases so that they fire; 32 / 64 neurons per core as there), a "hot"
fan-in net (384 biased sources -> 256 neurons, p 0.25: the hot-link net of sanafe_cycle.py without its
hand placement), and the Brunel E/I net of benchmarks/emulator_speed.py (2000 neurons, 1000 Poisson
inputs, the compiler's packing: synapse memory bounds it).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import neurocomp as nc                                                     # noqa: E402
from emulator_speed import brunel, make_inputs                             # noqa: E402
from neurocomp.backends.emulator import session as _session                # noqa: E402
from neurocomp.backends.emulator.costmodel import estimate                # noqa: E402
from neurocomp.backends.emulator import timing as timing_pkg               # noqa: E402
from neurocomp.backends.emulator.timing import model                       # noqa: E402


def random_net(rng, n=2048, p=0.02):
    """sanafe_crosscheck's random recurrent net in LoihiLIF units, every neuron biased."""
    net = nc.Network("random")
    w = np.where(rng.random((n, n)) < p, rng.choice(np.array([-60, -40, -20, 20, 40, 60]), (n, n)), 0)
    np.fill_diagonal(w, 0)
    net.population("r", (n,), nc.LoihiLIF(du=4095, dv=410, vth=100, bias_mant=rng.integers(200, 1300, n),
                                           bias_exp=0))
    net.connect("r", "r", nc.Dense(w))
    return net, {}


def layered_net(rng, sizes=(512, 1024, 1024, 512), p=0.08):
    """sanafe_crosscheck's layered net: only the first layer is biased."""
    net = nc.Network("layered")
    for i, s in enumerate(sizes):
        bias = rng.integers(500, 3000, s) if i == 0 else 0
        net.population(f"l{i}", (s,), nc.LoihiLIF(du=4095, dv=410, vth=100, bias_mant=bias, bias_exp=0))
    for i in range(len(sizes) - 1):
        w = np.where(rng.random((sizes[i + 1], sizes[i])) < p, rng.integers(10, 40, (sizes[i + 1], sizes[i])), 0)
        net.connect(f"l{i}", f"l{i + 1}", nc.Dense(w))
    return net, {}


def hot_net(rng, n_src=384, n_dst=256, p=0.25):
    net = nc.Network("hot")
    net.population("src", (n_src,), nc.LoihiLIF(du=4095, dv=410, vth=100, bias_mant=rng.integers(500, 3000, n_src),
                                                 bias_exp=0))
    net.population("dst", (n_dst,), nc.LoihiLIF(du=4095, dv=410, vth=100))
    net.connect("src", "dst", nc.Dense(np.where(rng.random((n_dst, n_src)) < p, rng.integers(1, 4, (n_dst, n_src)), 0)))
    return net, {}


def brunel_net(rng, steps):
    net, rate = brunel(2000)
    return net, make_inputs(rate, steps)


NETS = {"random": lambda rng, steps: random_net(rng), "layered": lambda rng, steps: layered_net(rng),
        "hot": lambda rng, steps: hot_net(rng), "brunel": brunel_net}
#: Neurons per core as in the SANA-FE nets (random 32, layered 64, hot 32) so that traffic crosses the mesh.
PER_CORE = {"random": 32, "layered": 64, "hot": 32, "brunel": None}


class Capture:
    """Keeps the arguments of the session's ``cost_report`` (the run's spike events), so the models can be
    timed alone on exactly the events of the end-to-end run."""

    def __init__(self):
        self.orig, self.last = _session.cost_report, None

    def __call__(self, report, target, tables, phys, steps, *args, **kw):
        ev, c = report["spike_events"], report["counters"]
        self.last = (target, tables, np.asarray(phys), ev["step"].copy(), ev["source"].copy(),
                     np.asarray(c["neurons_active"]).copy(), steps)
        return self.orig(report, target, tables, phys, steps, *args, **kw)


def cli_time(path, steps, inputs, timing):
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-c", "import sys; from neurocomp.cli import main; sys.exit(main())", "emulate", path,
               "--steps", str(steps), "--timing", timing, "-o", os.path.join(d, "res")]
        if inputs:
            np.savez(os.path.join(d, "in.npz"), **inputs)
            cmd += ["--input", os.path.join(d, "in.npz")]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        return time.perf_counter() - t0


def old_run_numba(rev):
    """``model.run_numba`` as it was at git revision ``rev`` (before the per-pair paths): its kernel loaded from
    git beside the current one, called with the arguments it took then."""
    import importlib.util
    import pathlib
    root = pathlib.Path(__file__).resolve().parent.parent
    src = subprocess.run(["git", "show", f"{rev}:backends/emulator/timing/kernel.py"], cwd=root, check=True,
                         capture_output=True, text=True).stdout
    path = pathlib.Path(tempfile.mkdtemp()) / "old_cycle_kernel.py"
    path.write_text(src.replace("from .spec import", "from neurocomp.backends.emulator.timing.spec import"))
    spec = importlib.util.spec_from_file_location("old_cycle_kernel", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    def run(p, tables, ev_step, ev_src, active, learn, steps, trace=False, threads=None):
        lat = np.array([p.syn, p.act, p.idle, p.out, p.gen, p.win, p.learn, p.occ, p.depth, p.psum], np.int64)
        app, ap = model.psum_axons(tables)
        a = lambda v: np.asarray(v, np.int64)
        args = (ev_step, ev_src, int(tables.n_neurons), a(tables.core_neuron_ptr), a(tables.route_ptr),
                a(tables.route_core), a(tables.route_axon), a(tables.axon_syn_ptr), app, ap,
                tables.neuron_core()[a(tables.psum_neuron)], a(tables.core_psum_ptr),
                np.ascontiguousarray(active, np.int64), np.ascontiguousarray(learn, np.int64), lat, a(p.link_lat),
                p.gx_n, p.gy_n, a(p.core_x), a(p.core_y), int(steps), bool(trace))
        return model.call_kernel(mod.simulate_run, args, trace, model.TRACE_ROWS_GUESS * (ev_src.size + len(p.core_x)))
    return run


def old_timing(rev):
    """``timing/model.py`` as it was at git revision ``rev`` with the ``timing/kernel.py`` of that revision, loaded
    from git as modules ``old_model`` / ``old_kernel`` of the current ``timing`` package."""
    import importlib.util
    import pathlib
    root = pathlib.Path(__file__).resolve().parent.parent
    d = pathlib.Path(tempfile.mkdtemp())
    pkg = model.__name__.rsplit(".", 1)[0]
    mods = {}
    for name, rewrite in (("kernel", {}), ("model", {"from . import kernel, spec": "from . import old_kernel as kernel, spec"})):
        src = subprocess.run(["git", "show", f"{rev}:backends/emulator/timing/{name}.py"], cwd=root, check=True,
                             capture_output=True, text=True).stdout
        for a, b in rewrite.items():
            src = src.replace(a, b)
        path = d / f"old_{name}.py"
        path.write_text(src)
        spec = importlib.util.spec_from_file_location(f"{pkg}.old_{name}", path)
        mods[name] = importlib.util.module_from_spec(spec)
        sys.modules[f"{pkg}.old_{name}"] = mods[name]
        spec.loader.exec_module(mods[name])
    return mods["model"]


def measure(name, steps, repeats, cli, seed, old=None, old_mod=None, threads=None):
    rng = np.random.default_rng(seed)
    net, inputs = NETS[name](rng, steps)
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "art")
    art = nc.compile(net, "loihi", out=path, max_neurons_per_core=PER_CORE[name])
    cap, new_run = Capture(), model.run_numba
    old_run = old_mod.run_numba if old_mod else None

    def run_with(n, run=new_run):           # the cycle kernel on n threads (None: the rule)
        return lambda *a, threads=None, **k: run(*a, threads=n, **k)

    if old_mod:
        old_mod.run_numba = run_with(threads, old_run)

    _session.cost_report = cap
    modes = ("analytic", "cycle", "cycle_1t", "cycle_timeline") + (("old_kernel",) if old else ()) + (
        ("old_model",) if old_mod else ())
    lat, timeline = {}, {}
    try:
        for run in (new_run, old) if old else (new_run,):           # numba warm (the report read computes it)
            model.run_numba = run
            rep = nc.emulate(art, 5, {k: v[:5] for k, v in inputs.items()}, timing="cycle").report
            rep["latency_s"], rep["cost"]["cycle"].get("timeline")
            model.run_numba = new_run
        if old_mod:
            timing_pkg.cycle_report = old_mod.cycle_report
            nc.emulate(art, 5, {k: v[:5] for k, v in inputs.items()}, timing="cycle").report["latency_s"]
            timing_pkg.cycle_report = model.cycle_report
        e2e = {m: [] for m in modes}
        mod = {"analytic": [], "cycle": [], "cycle_1t": [], "old_kernel": [], "old_model": [], "cpu_1t": [],
               "old_model_cpu_1t": []}
        parts = []
        for _ in range(repeats):
            for mode in modes:
                model.run_numba = run_with(1 if mode == "cycle_1t" else threads)
                if mode == "old_kernel":
                    model.run_numba = old
                if mode == "old_model":
                    timing_pkg.cycle_report = old_mod.cycle_report
                t0 = time.perf_counter()
                res = nc.emulate(art, steps, inputs, timing="analytic" if mode == "analytic" else "cycle",
                                 threads=threads)
                res.report["latency_s"]                 # the cost part of the report is computed when read
                if mode == "cycle_timeline":
                    res.report["cost"]["cycle"]["timeline"]
                e2e[mode].append(time.perf_counter() - t0)
                model.run_numba, timing_pkg.cycle_report = new_run, model.cycle_report
                if mode == "cycle":
                    parts.append(res.report["cost"]["cycle"]["wall_time_s"])
                if mode in ("cycle", "old_kernel", "old_model"):
                    lat[mode] = res.report["cost"]["cycle"]["per_step"]["latency_s"]
                    timeline[mode] = res.report["cost"]["cycle"].get("timeline")
            target, tables, phys, st, src, act, _ = cap.last
            t0 = time.perf_counter()
            estimate(target, tables, phys, st, src, act, steps)
            mod["analytic"].append(time.perf_counter() - t0)
            for which, run in (("cycle", run_with(threads)), ("cycle_1t", run_with(1)), ("old_kernel", old)):
                if run is None:
                    continue
                model.run_numba = run
                t0 = time.perf_counter()
                model.simulate(target, tables, phys, st, src, act, steps)
                mod[which].append(time.perf_counter() - t0)
                model.run_numba = new_run
            if old_mod:
                t0 = time.perf_counter()
                old_mod.simulate(target, tables, phys, st, src, act, steps)
                mod["old_model"].append(time.perf_counter() - t0)
                for which, m, run in (("cpu_1t", model, new_run), ("old_model_cpu_1t", old_mod, old_run)):
                    m.run_numba = run_with(1, run)
                    t0 = time.process_time()
                    m.simulate(target, tables, phys, st, src, act, steps)
                    mod[which].append(time.process_time() - t0)
                model.run_numba, old_mod.run_numba = new_run, run_with(threads, old_run)
    finally:
        _session.cost_report, model.run_numba = cap.orig, new_run
        timing_pkg.cycle_report = model.cycle_report
        if old_mod:
            old_mod.run_numba = old_run
    if old and lat["cycle"] != lat["old_kernel"]:
        raise AssertionError(f"{name}: the old kernel's per-step latencies differ from the new one's")
    if old_mod and (lat["cycle"] != lat["old_model"] or timeline["cycle"] != timeline["old_model"]):
        raise AssertionError(f"{name}: the old report's per-step latencies or timeline differ from the new one's")
    out = {"net": name, "neurons": tables.n_neurons, "synapses": tables.n_synapses, "cores": int(phys.size),
           "spikes": int(st.size), "msgs": int(np.sum(res.report["cost"]["cycle"]["per_step"]["messages"])),
           "e2e": {k: min(v) for k, v in e2e.items()}, "model": {k: min(v) for k, v in mod.items() if v},
           "report_section": min(parts)}
    if cli:
        c = {"analytic": [], "cycle": []}
        for _ in range(repeats):
            for mode in c:
                c[mode].append(cli_time(path, steps, inputs, mode))
        out["cli"] = {k: min(v) for k, v in c.items()}
    return out


def old_cell(r) -> str:
    m, e = r["model"], r["e2e"]
    if "old_kernel" not in m:
        return "-"
    return (f"{m['old_kernel']:.4f}, {e['old_kernel']:.3f} ({e['old_kernel'] / e['analytic']:.2f}x); "
            f"model {m['old_kernel'] / m['cycle']:.2f}x, emulate {e['old_kernel'] / e['cycle']:.2f}x")


def old_model_cell(r) -> str:
    e, m = r["e2e"], r["model"]
    if "old_model" not in e:
        return "-"
    o = e["old_model"]
    return (f"{m['old_model']:.4f}, {o:.3f} ({o / e['analytic']:.2f}x); model {m['old_model'] / m['cycle']:.2f}x, "
            f"emulate {o / e['cycle']:.2f}x; model, 1 thread, CPU: {m['cpu_1t']:.4f} / old {m['old_model_cpu_1t']:.4f} "
            f"({m['old_model_cpu_1t'] / m['cpu_1t']:.2f}x)")


def table(rows) -> str:
    lines = ["| net | model: cycle s / 1 thread s / analytic s (ratio) | emulate: cycle s / analytic s (ratio) "
             "| emulate, cycle kernel on 1 thread: s (ratio) | emulate + timeline read: s (ratio) | cycle section s "
             "| CLI: cycle s / analytic s (ratio) "
             "| old kernel: model s, emulate s (ratio to analytic); new faster by "
             "| old timing code: model s, emulate s (ratio to analytic); new faster by; "
             "model, 1 thread, CPU s: new / old |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        m, e = r["model"], r["e2e"]
        cli = r.get("cli")
        c = f"{cli['cycle']:.2f} / {cli['analytic']:.2f} ({cli['cycle'] / cli['analytic']:.2f}x)" if cli else "-"
        lines.append(f"| {r['net']} ({r['neurons']} n, {r['synapses']} syn, {r['cores']} cores, {r['spikes']} spikes, "
                     f"{r['msgs']} msgs) | {m['cycle']:.4f} / {m['cycle_1t']:.4f} / {m['analytic']:.4f} "
                     f"({m['cycle'] / m['analytic']:.1f}x) "
                     f"| {e['cycle']:.3f} / {e['analytic']:.3f} ({e['cycle'] / e['analytic']:.2f}x) "
                     f"| {e['cycle_1t']:.3f} ({e['cycle_1t'] / e['analytic']:.2f}x) "
                     f"| {e['cycle_timeline']:.3f} ({e['cycle_timeline'] / e['analytic']:.2f}x) "
                     f"| {r['report_section']:.4f} "
                     f"| {c} | {old_cell(r)} | {old_model_cell(r)} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--nets", default="random,layered,hot,brunel")
    ap.add_argument("--cli", action="store_true", help="also time `neurocomp emulate --timing` (a process each)")
    ap.add_argument("--old-kernel", default="", metavar="REV", help="also time the cycle kernel of this git revision "
                    "(e.g. 644d1f3), alternated, its per-step latencies checked identical")
    ap.add_argument("--old-model", default="", metavar="REV", help="also time the timing code (timing/model.py and "
                    "kernel.py) of this git revision (e.g. 75299f7), alternated, its latencies and timeline checked "
                    "identical")
    ap.add_argument("--threads", type=int, default=None, help="emulator and cycle kernels on this many threads "
                    "(default: the emulator kernel's rule, engine.kernel_thread_count)")
    args = ap.parse_args(argv)
    rows = []
    old = old_run_numba(args.old_kernel) if args.old_kernel else None
    old_mod = old_timing(args.old_model) if args.old_model else None
    for name in args.nets.split(","):
        rows.append(measure(name, args.steps, args.repeats, args.cli, args.seed, old, old_mod, args.threads))
        print(table(rows[-1:]), flush=True)
    print()
    print(table(rows))
    print(f"\n(steps = {args.steps}, repeats = {args.repeats}, seed = {args.seed}, threads = {args.threads}; "
          f"load {os.getloadavg()[0]:.1f})")
    return rows


if __name__ == "__main__":
    main()
