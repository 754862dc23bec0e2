"""The message-level ("cycle") timing model against SANA-FE 2.2.9's detailed timing, step by step (issue 16).

Usage:  .venv/bin/python benchmarks/sanafe_cycle.py [--steps 100] [--seed 0] [--repeats 3] [--nets random,layered,hot]
        [--noc sanafe|loihi] [--sanafe-timing detailed|cycle] [--isolate] [--old-engine cdf047b]

Three networks, each built, mapped and run in SANA-FE exactly as in benchmarks/sanafe_crosscheck.py (same
neuron -> core assignment, SANA-FE's own spike trace fed to our models): the random recurrent net, the
layered feed-forward net, and a congested net whose traffic shares one hot link (sources on tiles (0, 1..3),
all their messages to the four cores of tile (7, 0): X-then-Y routes converge on the south link into
(7, 0)). Our figures are SANA-FE's (``sanafe_target`` of the cross-check) plus, for the cycle model, its
per-fired-neuron soma latency (30 ns) as ``timing.spike_generation`` and its link buffer size (16).

NoC (``--noc``): ``sanafe`` (default) models what SANA-FE's detailed scheduler models: no per-link
serialisation (``flit_time`` 0; its schedule.cpp ``schedule_handle_message`` gives a message the network delay
max(minimum hop delay, route density x mean in-flight receive delay / (hops + 1)) and a blocking delay when the
route holds more messages than (hops + 1) x buffer size: links are never held by a message); buffers of 16 and
their back-pressure stay. ``loihi``: our Loihi file's assumed flit time (a message holds a link for 4.1 ns).

Per step: SANA-FE's detailed latency (``perf_trace["sim_time"]``), our cycle model's and our analytic
estimate's; the table gives the median of the per-step ratios and of the per-step latencies. Speed: run
times of SANA-FE's simulation (functional + detailed scheduler; it cannot time without simulating),
our cycle model and our analytic estimate on the same spikes (numba warm; minimum of ``--repeats``
alternating runs).
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from sanafe_crosscheck import (layered_net, our_tables, placement, random_net, run_sanafe, sanafe_events,
                               sanafe_target)
from neurocomp.backends.emulator.costmodel import estimate
from neurocomp.backends.emulator.timing import model
from neurocomp.target import Quantity, load_target


def sanafe_cycle_target(loihi, barrier_span="tiles_used", noc="sanafe"):
    """``sanafe_target`` plus SANA-FE's per-spike soma latency and buffer size in ``[timing]``, by default its
    barrier span rule (its ``latency_sync`` table is indexed by the tiles holding neurons) and, with
    ``noc="sanafe"``, its detailed scheduler's NoC (no link serialisation: ``flit_time`` 0)."""
    t = sanafe_target(loihi)
    span = {"barrier_span": barrier_span, "barrier_span_source": ("SANA-FE schedule.cpp: latency_sync by tiles "
                                                                  "holding neurons", "measured")}
    q = lambda v, u, src: Quantity(v, u, "SANA-FE examples/loihi.yaml: " + src, "measured")
    timing = dict(t.costs.timing, spike_generation=q(30e-9, "s", "soma latency_spike_out (per fired neuron)"),
                  buffer_depth=q(16, "messages", "link_buffer_size"))
    if noc == "sanafe":
        timing["flit_time"] = Quantity(0.0, "s", "SANA-FE 2.2 src/schedule.cpp schedule_handle_message: the detailed "
                                       "scheduler holds no link per message (congestion by route density)", "assumed")
    elif noc != "loihi":
        raise ValueError(f"--noc must be sanafe or loihi, got {noc!r}")
    return dataclasses.replace(t, costs=dataclasses.replace(t.costs, timing=timing, **span))


def hot_net(rng, n_src=384, n_dst=256, p=0.25):
    """Sources on SANA-FE cores 4..15 (tiles (0, 1..3)), biased; destinations on cores 112..115 (tile (7, 0))."""
    pops = [("src", n_src, rng.uniform(0.05, 0.3, n_src)), ("dst", n_dst, np.zeros(n_dst))]
    w = np.where(rng.random((n_dst, n_src)) < p, rng.integers(1, 4, (n_dst, n_src)), 0)
    where = {"src": 4 + np.arange(n_src) // (n_src // 12), "dst": 112 + np.arange(n_dst) // (n_dst // 4)}
    return pops, [("src", "dst", w)], where


def variant(target, **timing):
    """``target`` with some ``[timing]`` values replaced (to isolate what causes a gap)."""
    q = {k: Quantity(v, target.costs.timing[k].unit, "benchmark variant", "assumed") for k, v in timing.items()}
    return dataclasses.replace(target, costs=dataclasses.replace(target.costs, timing=dict(target.costs.timing, **q)))


#: ``--isolate``: cycle-model variants run beside the real one (median per-step ratio to SANA-FE each).
VARIANTS = {"Loihi's link serialisation (flit_time 4.1 ns)": dict(flit_time=4.1e-9),
            "no link serialisation (flit_time 0)": dict(flit_time=0.0),
            "no back-pressure (buffers 10^4)": dict(buffer_depth=10 ** 4),
            "neither": dict(flit_time=0.0, buffer_depth=10 ** 4)}


def old_engine(rev):
    """The event-queue engine of git revision ``rev`` (``timing/kernel.py`` before the closed-form rewrite), as a
    function of the same inputs, or None: routers woken per event, a heap of events (see RESULTS.md)."""
    if not rev:
        return None
    import importlib.util
    import pathlib
    import subprocess
    import tempfile
    root = pathlib.Path(__file__).resolve().parent.parent
    src = subprocess.run(["git", "show", f"{rev}:backends/emulator/timing/kernel.py"], cwd=root, check=True,
                         capture_output=True, text=True).stdout
    path = pathlib.Path(tempfile.mkdtemp()) / "old_timing_kernel.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("old_timing_kernel", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    def run(target, tables, phys, st, src_, active, steps):
        from neurocomp.backends.emulator.costmodel import _check_inputs
        steps, _, ph, st, src_, act, _, learn = _check_inputs(target, tables, phys, st, src_, active, steps, None)
        p = model.params(target, ph)
        st, src_ = model.sort_events(st, src_)
        lat = np.array([p.syn, p.act, p.idle, p.out, p.gen, p.win, p.learn, p.occ, p.depth], np.int64)
        a = lambda v: np.asarray(v, np.int64)
        return mod.simulate_run(st, src_, int(tables.n_neurons), a(tables.core_neuron_ptr), a(tables.route_ptr),
                                a(tables.route_core), a(tables.route_axon), a(tables.axon_syn_ptr),
                                np.ascontiguousarray(act, np.int64), np.ascontiguousarray(learn, np.int64), lat,
                                a(p.link_lat), p.gx_n, p.gy_n, a(p.core_x), a(p.core_y), int(steps))
    return run


def compare(label, pops, projs, where, steps, target, repeats, isolate=False, old=None, sanafe_timing="detailed"):
    res, sf_wall = run_sanafe(pops, projs, where, steps, timing_model=sanafe_timing)
    tables, phys = our_tables(pops, projs, where, target.mesh)
    st, src, active = sanafe_events(res, tables, pops, steps)
    sf = np.asarray(res["perf_trace"]["sim_time"], float)
    an = estimate(target, tables, phys, st, src, active, steps)
    rep = model.cycle_report(target, tables, phys, st, src, active, steps, an, timeline=False)
    cyc = np.asarray(rep["per_step"]["latency_s"])
    ana = np.asarray(an["per_step"]["latency_s"])
    t_cyc, t_an, t_old = [], [], []
    if old is not None:
        o = old(target, tables, phys, st, src, active, steps)      # compile; its latencies for the record
        lo = o[0] * model.TICK + rep["latency_s"]["barrier"]
        print(f"  {label}: event-queue engine p50 {np.median(lo) * 1e6:.3f} us (median ratio to SANA-FE "
              f"{np.median(lo / sf):.3f})", flush=True)
    for _ in range(repeats):      # alternate, keep minima (the machine is shared)
        t0 = time.perf_counter()
        model.simulate(target, tables, phys, st, src, active, steps)
        t_cyc.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        estimate(target, tables, phys, st, src, active, steps)
        t_an.append(time.perf_counter() - t0)
        if old is not None:
            t0 = time.perf_counter()
            old(target, tables, phys, st, src, active, steps)
            t_old.append(time.perf_counter() - t0)
    if old is not None:
        print(f"  {label}: run time event-queue engine {min(t_old):.4f} s, closed form {min(t_cyc):.4f} s "
              f"({min(t_old) / min(t_cyc):.1f}x faster), analytic {min(t_an):.4f} s", flush=True)
    hot = max(rep["links"].items(), key=lambda kv: kv[1]["busy_s"], default=(None, {}))
    if isolate:
        for name, kw in VARIANTS.items():
            r = model.simulate(variant(target, **kw), tables, phys, st, src, active, steps)
            v = r["latency"] * model.TICK + rep["latency_s"]["barrier"]
            work = np.median(r["latency"]) * model.TICK * 1e6
            print(f"  {label}, cycle model with {name}: p50 {np.median(v) * 1e6:.3f} us, median ratio to SANA-FE "
                  f"{np.median(v / sf):.3f}; work part (no barrier) p50 {work:.3f} us "
                  f"vs SANA-FE's {np.median(sf - rep['latency_s']['barrier']) * 1e6:.3f} us", flush=True)
    return {"label": label, "neurons": tables.n_neurons, "synapses": tables.n_synapses, "cores": int(phys.size),
            "spikes": int(st.size), "messages": int(np.sum(rep["per_step"]["messages"])),
            "sf": sf, "cyc": cyc, "ana": ana, "sf_wall": sf_wall, "cyc_wall": min(t_cyc), "an_wall": min(t_an),
            "hot_link": hot, "stall": float(np.sum(rep["cores"]["sender_stall_s"])),
            "soma": np.asarray(rep["per_step"]["soma_s"]), "input": np.asarray(rep["per_step"]["input_s"]),
            "barrier": rep["latency_s"]["barrier"]}


def table(rows) -> str:
    lines = ["| network | SANA-FE p50 / step | cycle p50 (median ratio per step) | analytic p50 (median ratio) "
             "| cycle: soma / input / barrier p50 | hot link busy, stall | sender stall | SANA-FE s | cycle s (speed-up) "
             "| analytic s (cycle / analytic) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        sf, cyc, ana = r["sf"], r["cyc"], r["ana"]
        hk, hv = r["hot_link"]
        lines.append(
            f"| {r['label']} ({r['neurons']} n, {r['synapses']} syn, {r['cores']} cores, {r['spikes']} spikes, "
            f"{r['messages']} msgs) | {np.median(sf) * 1e6:.3f} us | {np.median(cyc) * 1e6:.3f} us "
            f"({np.median(cyc / sf):.3f}) | {np.median(ana) * 1e6:.3f} us ({np.median(ana / sf):.3f}) | "
            f"{np.median(r['soma']) * 1e6:.2f} / {np.median(r['input']) * 1e6:.2f} / {r['barrier'] * 1e6:.2f} us | "
            f"link {hk}: {hv.get('busy_s', 0) * 1e6:.2f} us, {hv.get('stall_s', 0) * 1e6:.2f} us | "
            f"{r['stall'] * 1e6:.2f} us | {r['sf_wall']:.3f} | {r['cyc_wall']:.4f} ({r['sf_wall'] / r['cyc_wall']:.0f}x) | "
            f"{r['an_wall']:.4f} ({r['cyc_wall'] / r['an_wall']:.2f}x) |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--nets", default="random,layered,hot", help="which networks (comma-separated)")
    ap.add_argument("--old-engine", default="", metavar="REV", help="also time the event-queue engine of this git "
                    "revision (e.g. cdf047b) on the same inputs")
    ap.add_argument("--noc", default="sanafe", choices=("sanafe", "loihi"), help="sanafe: no link serialisation, as "
                    "SANA-FE's detailed scheduler; loihi: our Loihi file's assumed flit time (4.1 ns)")
    ap.add_argument("--sanafe-timing", default="detailed", choices=("detailed", "cycle"),
                    help="SANA-FE's timing model: detailed (its scheduler) or cycle (BookSim 2, cycle-accurate NoC)")
    ap.add_argument("--isolate", action="store_true", help="also run the cycle model without link serialisation "
                    "and/or back-pressure (what causes a gap)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    target = sanafe_cycle_target(load_target("loihi"), noc=args.noc)
    t0 = time.perf_counter()
    rows = []
    old = old_engine(args.old_engine)
    nets = args.nets.split(",")
    pops, projs = random_net(rng)          # always drawn, so every net sees the same random stream
    if "random" in nets:
        rows.append(compare("random", pops, projs, placement(pops, 32), args.steps, target, args.repeats,
                            args.isolate, old, args.sanafe_timing))
        print(table(rows[-1:]), flush=True)
    pops, projs = layered_net(rng)
    if "layered" in nets:
        rows.append(compare("layered", pops, projs, placement(pops, 64), args.steps, target, args.repeats,
                            args.isolate, old, args.sanafe_timing))
        print(table(rows[-1:]), flush=True)
    pops, projs, where = hot_net(rng)
    if "hot" in nets:
        rows.append(compare("hot link", pops, projs, where, args.steps, target, args.repeats,
                            args.isolate, old, args.sanafe_timing))
        print(table(rows[-1:]), flush=True)
    print()
    print(table(rows))
    print(f"\n(steps = {args.steps}, seed = {args.seed}, noc = {args.noc}, SANA-FE timing = {args.sanafe_timing}; "
          f"whole script {time.perf_counter() - t0:.1f} s)")
    return rows


if __name__ == "__main__":
    main()
