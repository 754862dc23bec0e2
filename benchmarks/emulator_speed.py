"""Emulator speed: synaptic events/s and ms/step, neurocomp vs Lava CPU (fixed_pt) vs Brian2.

Two workloads, both integer LoihiLIF networks run for T steps of 1 ms:

* ``brunel``: Brunel-style sparse E/I network (80% E, 20% I, connection probability 0.1, g = 6,
  delta synapses: du=4095 clears the current every step, tau_m ~ 20 steps), driven by 1000
  Poisson-like graph-input channels; tuned to fire at ~10-20 Hz.
* ``dense``: one 1000 -> 1000 Dense layer driven by 1000 input channels at 10% per step.

neurocomp runs the per-core tables (64 cores, round-robin mapping, counters on) with the numba kernel;
Lava runs the same integer network with ``Loihi2SimCfg(select_tag="fixed_pt")`` (its final ``v`` is
compared with the emulator's, so the benchmark also checks bit-exactness at scale); Brian2 runs the
float equivalent (same weights, thresholds, decays and input spikes; not bit-exact, rates similar).
Synaptic events are counted by the emulator (synapses walked); every simulator gets the same count
divided by its own wall time, so ratios compare speed on identical work. Startup/compilation is
excluded for all three (a warm-up run first); so is the emulator's kernel plan (``make_plan``, built once per
network and passed to every timed run, as ``nc.Simulator`` and ``emulate_batch`` reuse it; its time is the row's
``plan_s``), as Brian2 cpp_standalone's figure is its simulation loop alone. Memory: bytes per synapse of the emulator's tables plus
run state.

Threads (``--threads 1,2``): the emulator runs at each thread count (alternating repeats, minima) and
Brian2 cpp_standalone with as many OpenMP threads (``prefs.devices.cpp_standalone.openmp_threads``); the
row reports each and the speedups: ``ratio_neurocomp_over_brian2_cpp_omp{k}`` with the emulator recording
spikes and v and counting (its default), ``ratio_neurocomp_no_record_over_brian2_cpp_omp{k}`` with neither, as
Brian2's network (no monitors) does. The machine is shared: the load average (``os.getloadavg``) before and
after each workload is in the row, as thread scaling means nothing when other jobs hold the cores.

STREAM-like probe (``--probe``, numba, one thread): the memory-bound floor of the kernel's synapse walk
on this machine: ``stream_read`` reads two int32 arrays of the synapse count sequentially (what each
synaptic event reads: its ring cell index and weight, 8 bytes), ``scatter`` does the walk itself,
``ring[idx[y]] += w[y]`` with Brunel's random ring cells (the ring fits in cache); ns per element each.
With ``--threads``, the probe also measures the thread ceiling (``thread_probe``): a numba parallel loop
doing the kernel's work on disjoint data, each thread's group scattering its share of a step's synaptic
events into its own ring cells and then updating its own LIF-like neurons from them, one parallel region
per step (as the kernel before its team of threads, RESULTS.md "quiet11": a bound the team can pass by the
regions' cost); Brunel's and dense's shapes, timed at each thread count in the same run. Its
speedup is what the machine gives a perfectly balanced step of this kernel's kind: the bound for the
kernel's own.

Usage: ``.venv/bin/python benchmarks/emulator_speed.py [--neurons 5000] [--steps 1000] [--lava-steps 100]
[--skip-lava] [--skip-brian2] [--threads 1,2] [--probe] [--mapping roundrobin|compiled] [--json out.json]``
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import os
import sys
import time

import numpy as np

import neurocomp as nc
from neurocomp.backends.emulator import emulate_tables, make_plan
from neurocomp.mapping.tables import build_core_tables
from neurocomp.target import load_target

N_EXT = 1000


def brunel(n: int, seed: int = 0, p: float = 0.1, ext_rate: float = 0.01):
    """Integer Brunel E/I network and its input spikes generator (weights in LoihiLIF units)."""
    rng = np.random.default_rng(seed)
    n_e, n_i = int(0.8 * n), n - int(0.8 * n)
    net = nc.Network(f"brunel{n}")
    net.input("ext", (N_EXT,))
    lif = nc.LoihiLIF(du=4095, dv=205, vth=300, bias_mant=0, bias_exp=0)
    net.population("E", (n_e,), lif)
    net.population("I", (n_i,), lif)
    w_e, w_i, w_x = 10, -60, 30            # g = 6: ~15 Hz asynchronous-irregular-ish at ext_rate 0.01

    def rand_sparse(n_post, n_pre, w, prob):
        mask = rng.random((n_post, n_pre)) < prob
        post, pre = np.nonzero(mask)
        return nc.Sparse.from_coo(post, pre, np.full(post.size, w, np.int64), (n_post, n_pre))
    for src, n_pre, w in (("E", n_e, w_e), ("I", n_i, w_i), ("ext", N_EXT, w_x)):
        for dst, n_post in (("E", n_e), ("I", n_i)):
            net.connect(src, dst, rand_sparse(n_post, n_pre, w, p))
    return net, ext_rate


def dense_layer(n: int = 1000, seed: int = 0):
    rng = np.random.default_rng(seed)
    net = nc.Network("dense1k")
    net.input("ext", (N_EXT,))
    net.population("out", (n,), nc.LoihiLIF(du=2000, dv=400, vth=2000))
    net.connect("ext", "out", nc.Dense(rng.integers(-100, 101, (n, N_EXT)), weight_exp=-1))
    return net, 0.1


def dense_chain(quiet: bool, seed: int = 0):
    """A dense chain as in issue 19: input -> 1000 -> 500 LoihiLIF, busy (1000 input channels at 20 % per
    step) or quiet (2000 channels at 1.5 %)."""
    rng = np.random.default_rng(seed)
    n_in = 2000 if quiet else 1000
    net = nc.Network("chain_quiet" if quiet else "chain_busy")
    net.input("ext", (n_in,))
    lif = nc.LoihiLIF(du=2000, dv=400, vth=3000 if quiet else 5000)     # ~2 % / ~15-30 % firing
    net.population("l1", (1000,), lif)
    net.population("l2", (500,), lif)
    net.connect("ext", "l1", nc.Dense(rng.integers(-40, 50, (1000, n_in))))
    net.connect("l1", "l2", nc.Dense(rng.integers(-40, 50, (500, 1000))))
    return net, (0.015 if quiet else 0.2)


def make_inputs(rate: float, steps: int, seed: int = 1, n_ext: int = N_EXT):
    rng = np.random.default_rng(seed)
    return {"ext": (rng.random((steps, n_ext)) < rate).astype(np.uint8)}


def neurocomp_tables(net, mapping="roundrobin", n_cores=64):
    """The per-core tables the emulator runs: round-robin onto ``n_cores`` cores (the default), or, with
    ``mapping="compiled"`` (``--mapping compiled``), what ``nc.compile`` makes for a 2 x 2-chip Loihi 2 (sequential partitioner: a
    layer's neurons on consecutive cores, so Dense rows reach runs of consecutive ring cells)."""
    if mapping == "compiled":
        t = load_target("loihi2")
        t = dataclasses.replace(t, mesh=dataclasses.replace(t.mesh, chips=4, chips_x=2, chips_y=2))
        return nc.compile(net, t, partitioner="sequential").tables
    mapping = {p.name: (np.arange(p.size) + off) % n_cores
               for p, off in zip(net.neuron_populations, np.cumsum([0] + [p.size for p in net.neuron_populations]))}
    return build_core_tables(net, mapping, n_cores)


def run_neurocomp(net, inputs, steps, threads=(None,), mapping="roundrobin"):
    """Wall times per label (and per thread count in ``threads``, the last one also under the label alone);
    ``mapping``: :func:`neurocomp_tables`'."""
    tables = neurocomp_tables(net, mapping)
    emulate_tables(tables, 5, {k: v[:5] for k, v in inputs.items()})          # compile / load numba cache
    t0 = time.perf_counter()
    # the per-network set-up, built once (as Brian2's timing excludes its build); no learning here, so without the
    # per-copy columns beside synapse runs, as emulate builds it (an older checkout's make_plan has no such option)
    plan = make_plan(tables, **({"copies": False} if "copies" in inspect.signature(make_plan).parameters else {}))
    plan_s = time.perf_counter() - t0
    out, per_thread = {}, {}
    for label, kw in (("record_counters", dict(record=("spikes", "v"), counters=True)),
                      ("no_record_no_counters", dict(record=(), counters=False)),
                      ("no_record_counters", dict(record=(), counters=True))):
        best = {th: float("inf") for th in threads}
        for _ in range(3):                                   # min of 3, thread counts alternating: the machine is shared
            for th in threads:
                t0 = time.perf_counter()
                res = emulate_tables(tables, steps, inputs, threads=th, plan=plan, **kw)
                best[th] = min(best[th], time.perf_counter() - t0)
        out[label] = best[threads[-1]]
        per_thread[label] = {str(th): w for th, w in best.items()}
        if label == "record_counters":
            full = res
    table_bytes = sum(v.nbytes for v in vars(tables).values() if isinstance(v, np.ndarray))
    state_bytes = plan.nbytes + 16 * tables.n_neurons
    events = int(full.report["counters"]["syn_ops"].sum())
    spikes = sum(int(s.sum()) for s in full.spikes.values())
    return {
        "wall_s": out, "wall_s_per_threads": per_thread, "plan_s": plan_s, "events": events, "spikes": spikes, "n_synapses": tables.n_synapses,
        "rate_hz": spikes / net.n_neurons / steps * 1000.0,
        "bytes_per_synapse": (table_bytes + state_bytes) / max(tables.n_synapses, 1),
        "counting_overhead": out["no_record_counters"] / out["no_record_no_counters"],
        "final_v": {p: full.v[p][-1].copy() for p in full.v},
    }


def run_lava(net, inputs, steps):
    """The same integer network as Lava processes; returns wall time of ``steps`` steps and final v."""
    import scipy.sparse as sp
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF
    from lava.proc.sparse.process import Sparse

    warm = 5
    data = np.zeros((inputs["ext"].shape[1], steps + warm), np.int32)
    data[:, warm:] = inputs["ext"][:steps].T
    src = RingBuffer(data=data)
    lifs = {}
    for pop in net.neuron_populations:
        m = pop.model
        lifs[pop.name] = LIF(shape=(pop.size,), du=int(m.du), dv=int(m.dv), vth=int(m.vth),
                             bias_mant=int(m.bias_mant), bias_exp=int(m.bias_exp))
    for proj in net.projections.values():
        conn = proj.connectivity
        if isinstance(conn, nc.Dense):
            proc = Dense(weights=conn.weights.astype(np.int32), weight_exp=conn.weight_exp)
        else:
            w = sp.csr_matrix((conn.weights.astype(np.int32), conn.indices, conn.indptr), shape=conn.shape)
            proc = Sparse(weights=w, weight_exp=conn.weight_exp)
        pre = src.s_out if proj.source == "ext" else lifs[proj.source].s_out
        pre.connect(proc.s_in)
        proc.a_out.connect(lifs[proj.target].a_in)
    first = next(iter(lifs.values()))
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    try:
        first.run(condition=RunSteps(num_steps=warm), run_cfg=cfg)      # build + start the runtime
        t0 = time.perf_counter()
        first.run(condition=RunSteps(num_steps=steps), run_cfg=cfg)
        wall = time.perf_counter() - t0
        final_v = {name: np.asarray(lif.v.get()).astype(np.int64) for name, lif in lifs.items()}
    finally:
        first.stop()
    return wall, final_v, warm


def run_brian2(net, inputs, steps, mode="cython", threads=None):
    """Float equivalent in Brian2: v decays by dv/4096 per ms, a spike adds w<<6.

    ``mode``: "cython" (runtime code generation; timed around ``run`` after a warm-up run) or
    "cpp_standalone" (Brian2's fastest mode: a compiled C++ program; timed by Brian2's own
    measurement of the simulation loop, ``device._last_run_time``, excluding code generation and
    compilation).
    """
    import tempfile

    import brian2 as b2
    b2.device.reinit()
    b2.device.activate()
    if mode == "cpp_standalone":
        b2.set_device("cpp_standalone", directory=tempfile.mkdtemp(prefix="brian2_"), build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = int(threads or 0)     # 0: no OpenMP
    else:
        b2.prefs.codegen.target = "cython"
    b2.start_scope()
    b2.defaultclock.dt = 1 * b2.ms
    ext = inputs["ext"][:steps]
    t_idx, ch = np.nonzero(ext)
    gen = b2.SpikeGeneratorGroup(ext.shape[1], ch, t_idx * b2.ms)
    groups = {}
    for pop in net.neuron_populations:
        m = pop.model
        tau = 4096.0 / max(int(m.dv), 1) * b2.ms
        g = b2.NeuronGroup(pop.size, "dv/dt = -v/tau : 1 (unless refractory)", threshold=f"v > {int(m.vth) * 64}",
                           reset="v = 0", refractory=0 * b2.ms, method="exact", namespace={"tau": tau})
        groups[pop.name] = g
    syns = []
    for proj in net.projections.values():
        conn = proj.connectivity
        pre_g = gen if proj.source == "ext" else groups[proj.source]
        s = b2.Synapses(pre_g, groups[proj.target], "w : 1", on_pre="v_post += w")
        if isinstance(conn, nc.Dense):
            post, pre = np.nonzero(conn.weights)
            wv = conn.weights[post, pre]
        else:
            post = np.repeat(np.arange(conn.shape[0]), np.diff(conn.indptr))
            pre, wv = conn.indices, conn.weights
        s.connect(i=pre, j=post)
        s.w = wv.astype(float) * 64 * (2.0 ** conn.weight_exp)
        syns.append(s)
    network = b2.Network(gen, *groups.values(), *syns)
    if mode == "cpp_standalone":
        network.run(steps * b2.ms)
        b2.device.build(run=True, compile=True)
        wall = float(b2.device._last_run_time)
        b2.device.reinit()
        b2.set_device("runtime")
        return wall
    network.run(5 * b2.ms)                                   # code generation + compilation
    t0 = time.perf_counter()
    network.run(steps * b2.ms)
    return time.perf_counter() - t0


def bench(name, net, rate, steps, lava_steps, skip_lava, skip_brian2, threads=(None,), mapping="roundrobin"):
    inputs = make_inputs(rate, steps, n_ext=net.populations["ext"].size)
    load_before = os.getloadavg()[0]
    nc_res = run_neurocomp(net, inputs, steps, threads=threads, mapping=mapping)
    ev_per_step = nc_res["events"] / steps
    wall = nc_res["wall_s"]["record_counters"]
    row = {"workload": name, "neurons": net.n_neurons, "synapses": nc_res["n_synapses"], "steps": steps,
           "rate_hz": round(nc_res["rate_hz"], 2), "events_per_step": round(ev_per_step, 1),
           "bytes_per_synapse": round(nc_res["bytes_per_synapse"], 2),
           "counting_overhead": round(nc_res["counting_overhead"], 3), "plan_s": round(nc_res["plan_s"], 4),
           "neurocomp": {"ms_per_step": 1e3 * wall / steps, "events_per_s": nc_res["events"] / wall,
                         "ms_per_step_no_record_no_counters": 1e3 * nc_res["wall_s"]["no_record_no_counters"] / steps,
                         "threads": {label: {th: 1e3 * w / steps for th, w in per.items()}
                                     for label, per in nc_res["wall_s_per_threads"].items()}}}
    if len(threads) > 1:
        rc = nc_res["wall_s_per_threads"]["record_counters"]
        row["thread_speedup"] = rc[str(threads[0])] / rc[str(threads[-1])]
        row["ns_per_event_1_thread"] = 1e9 * rc[str(threads[0])] / max(nc_res["events"], 1)
    if not skip_lava:
        # Lava is slow: run fewer steps; the emulator's event count for those steps is recomputed.
        sub = {k: v[:lava_steps] for k, v in inputs.items()}
        short = run_neurocomp(net, sub, lava_steps, mapping=mapping)
        lwall, lava_v, warm = run_lava(net, sub, lava_steps)
        # Lava ran `warm` silent steps first: compare with an emulator run that also did
        padded = {k: np.concatenate([np.zeros((warm,) + v.shape[1:], v.dtype), v]) for k, v in sub.items()}
        tables = build_core_tables(net, {p.name: np.zeros(p.size, int) for p in net.neuron_populations}, 1)
        chk = emulate_tables(tables, lava_steps + warm, padded, record=("v",), counters=False)
        exact = all(np.array_equal(chk.v[p][-1], lava_v[p]) for p in lava_v)
        row["lava"] = {"steps": lava_steps, "ms_per_step": 1e3 * lwall / lava_steps,
                       "events_per_s": short["events"] / lwall, "final_v_bit_exact": bool(exact)}
        row["ratio_neurocomp_over_lava"] = row["neurocomp"]["events_per_s"] / row["lava"]["events_per_s"]
    if not skip_brian2:
        for mode in ("cython", "cpp_standalone"):
            bwall = run_brian2(net, inputs, steps, mode)
            row[f"brian2_{mode}"] = {"steps": steps, "ms_per_step": 1e3 * bwall / steps,
                                     "events_per_s": nc_res["events"] / bwall,
                                     "note": f"float model, {mode}; events/s uses the emulator's event count"}
        fastest = max((row[f"brian2_{m}"] for m in ("cython", "cpp_standalone")), key=lambda r: r["events_per_s"])
        row["ratio_neurocomp_over_brian2_fastest"] = row["neurocomp"]["events_per_s"] / fastest["events_per_s"]
        if len(threads) > 1:       # same number of threads on both sides (OpenMP for Brian2)
            k = threads[-1]
            bwall = run_brian2(net, inputs, steps, "cpp_standalone", threads=k)
            mine = nc_res["wall_s_per_threads"]["record_counters"][str(k)]
            row[f"brian2_cpp_standalone_omp{k}"] = {"ms_per_step": 1e3 * bwall / steps,
                                                   "events_per_s": nc_res["events"] / bwall}
            row[f"ratio_neurocomp_over_brian2_cpp_omp{k}"] = bwall / mine
            # like for like: Brian2's network has no monitor, so neither records (nor counts) here
            bare = nc_res["wall_s_per_threads"]["no_record_no_counters"][str(k)]
            row[f"ratio_neurocomp_no_record_over_brian2_cpp_omp{k}"] = bwall / bare
    row["load_avg"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return row


def stream_probe(n_syn: int = 3_000_000, ring_cells: int = 15_000, reps: int = 7, seed: int = 0) -> dict:
    """ns per element of a sequential read of two int32 arrays (8 bytes an event: the copy's ring index
    and weight) and of the synapse walk's scatter ``ring[idx[y]] += w[y]`` into a cache-resident ring
    (min of ``reps``, one thread): the floor under the kernel's ns per synaptic event on this machine."""
    from numba import njit

    @njit(cache=False)
    def read2(a, b):
        s = np.int64(0)
        for i in range(a.shape[0]):
            s += a[i] + b[i]
        return s

    @njit(cache=False)
    def scatter(idx, w, ring):
        for i in range(idx.shape[0]):
            ring[idx[i]] += w[i]

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, ring_cells, n_syn).astype(np.int32)
    w = rng.integers(-60, 60, n_syn).astype(np.int32)
    ring = np.zeros(ring_cells, np.int64)
    read2(idx, w)
    scatter(idx, w, ring)
    out = {}
    for name, fn in (("stream_read", lambda: read2(idx, w)), ("scatter", lambda: scatter(idx, w, ring))):
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        out[f"{name}_ns_per_element"] = 1e9 * best / n_syn
    out["stream_read_GB_per_s"] = 8 / out["stream_read_ns_per_element"]
    return out


def thread_probe(threads=(1, 2), steps: int = 300, reps: int = 5, seed: int = 0) -> dict:
    """The thread ceiling: ms per step of an ideal parallel step (no shared cells, equal halves, one
    region per step) at each thread count, for Brunel's shape (5000 neurons, 3M synapse copies, 44k events
    per step, two dendrite cells per neuron) and dense's (1000 neurons, 1M copies, 99k events), plus an empty region's cost; min of
    ``reps`` alternating repeats, wall time (process CPU time grows with the threads' spinning)."""
    import numba
    from numba import njit, prange

    @njit(cache=False, parallel=True)
    def steps_of(n_groups, steps, idx, w, cp_ptr, per_step, ring, v, u, cell_ptr, nrn_ptr):
        fired = 0
        for t in range(steps):
            for g in prange(n_groups):              # one region per step (run_steps before quiet11)
                # this step's events: a run of the group's synapse copies, a different one each step (as the
                # kernel's spiking sources' copies: streamed from memory, scattered into cache-resident cells)
                y0 = cp_ptr[g] + (t * 7919 * per_step) % (cp_ptr[g + 1] - cp_ptr[g] - per_step)
                for y in range(y0, y0 + per_step):
                    ring[np.uint64(idx[y])] += w[y]
                for j in range(nrn_ptr[g], nrn_ptr[g + 1]):
                    k = cell_ptr[g] + 2 * (j - nrn_ptr[g])
                    a = ring[k] + ring[k + 1]
                    ring[k] = 0
                    ring[k + 1] = 0
                    uu = (u[j] * 3686) // 4096 + (a << 6)
                    vv = (v[j] * 3891) // 4096 + uu
                    if vv > 100000:
                        vv = 0
                    u[j] = uu
                    v[j] = vv
            fired += 1
        return fired

    @njit(cache=False, parallel=True)
    def empty(n_groups, steps, out):
        for t in range(steps):
            for g in prange(n_groups):
                out[g] += 1

    rng = np.random.default_rng(seed)
    out = {"threads": list(threads)}
    n_groups = max(threads)
    for name, n, copies, events in (("brunel", 5000, 3_000_000, 44_000), ("dense", 1000, 1_000_000, 99_000)):
        nrn_ptr = np.linspace(0, n, n_groups + 1).astype(np.int64)
        cell_ptr = 2 * nrn_ptr
        cp_ptr = np.linspace(0, copies, n_groups + 1).astype(np.int64)
        grp = np.searchsorted(cp_ptr, np.arange(copies), side="right") - 1
        idx = (cell_ptr[grp] + rng.integers(0, 2 * (n // n_groups), copies)).astype(np.int32)
        w = rng.integers(-60, 60, copies).astype(np.int32)
        per_step = events // n_groups
        ring = np.zeros(2 * n, np.int64)
        v, u = np.zeros(n, np.int64), np.zeros(n, np.int64)
        best = {}
        for _ in range(reps):
            for th in threads:
                numba.set_num_threads(th)
                steps_of(n_groups, 3, idx, w, cp_ptr, per_step, ring, v, u, cell_ptr, nrn_ptr)
                t0 = time.perf_counter()
                steps_of(n_groups, steps, idx, w, cp_ptr, per_step, ring, v, u, cell_ptr, nrn_ptr)
                best[th] = min(best.get(th, np.inf), (time.perf_counter() - t0) / steps)
        out[name] = {f"ms_per_step_{th}": 1e3 * best[th] for th in threads}
        out[name]["speedup"] = best[threads[0]] / best[threads[-1]]
    best = {}
    cnt = np.zeros(n_groups, np.int64)
    for _ in range(reps):
        for th in threads:
            numba.set_num_threads(th)
            empty(n_groups, 10, cnt)
            t0 = time.perf_counter()
            empty(n_groups, 2000, cnt)
            best[th] = min(best.get(th, np.inf), (time.perf_counter() - t0) / 2000)
    out["empty_region_us"] = {str(th): 1e6 * best[th] for th in threads}
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    out["load"] = os.getloadavg()[0]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--neurons", type=int, default=5000, help="Brunel network size (4000-10000 in the issue)")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--lava-steps", type=int, default=100)
    ap.add_argument("--skip-lava", action="store_true")
    ap.add_argument("--skip-brian2", action="store_true")
    ap.add_argument("--only", default=None, help="comma-separated workloads: brunel,dense,chain_busy,chain_quiet")
    ap.add_argument("--threads", default=None,
                    help="comma-separated thread counts to time the emulator at, e.g. 1,2 (the last one is the "
                         "main figure; Brian2 cpp_standalone then also runs with that many OpenMP threads)")
    ap.add_argument("--probe", action="store_true", help="also run the STREAM-like memory probe")
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--mapping", choices=("roundrobin", "compiled"), default="roundrobin",
                    help="the emulator's tables: round-robin onto 64 cores (default, as in earlier rows of "
                         "RESULTS.md) or nc.compile's for a 2 x 2-chip Loihi 2 (sequential partitioner)")
    args = ap.parse_args(argv)
    threads = tuple(int(x) for x in args.threads.split(",")) if args.threads else (None,)
    rows = []
    probe = None
    if args.probe:
        probe = stream_probe()
        if len(threads) > 1 and None not in threads:
            probe["thread_ceiling"] = thread_probe(threads)
        print(json.dumps({"stream_probe": probe}), flush=True)
    work = {"brunel": lambda: brunel(args.neurons), "dense": dense_layer,
            "chain_busy": lambda: dense_chain(False), "chain_quiet": lambda: dense_chain(True)}
    for name, make in work.items():
        if args.only and name not in args.only.split(","):
            continue
        net, rate = make()
        row = bench(name, net, rate, args.steps, args.lava_steps, args.skip_lava, args.skip_brian2, threads,
                    args.mapping)
        print(json.dumps(row, indent=1), flush=True)
        rows.append(row)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"python": sys.version.split()[0], "results": rows, "stream_probe": probe}, fh, indent=1)
    print(markdown(rows))
    return rows


def markdown(rows) -> str:
    """One table row per workload: ms/step and events/s of each tool, and the ratios."""
    def cell(row, key):
        r = row.get(key)
        return f"{r['ms_per_step']:.3f} ms, {r['events_per_s'] / 1e6:.1f} M/s" if r else "-"
    out = ["| workload | neurons / synapses / rate | neurocomp | Lava fixed_pt | Brian2 cython | Brian2 cpp_standalone "
           "| neurocomp / Lava | neurocomp / fastest Brian2 | bytes/synapse |", "|" + "---|" * 9]
    for r in rows:
        out.append(f"| {r['workload']} | {r['neurons']} / {r['synapses']} / {r['rate_hz']} Hz | {cell(r, 'neurocomp')} "
                   f"| {cell(r, 'lava')} | {cell(r, 'brian2_cython')} | {cell(r, 'brian2_cpp_standalone')} "
                   f"| {r.get('ratio_neurocomp_over_lava', float('nan')):.1f}x "
                   f"| {r.get('ratio_neurocomp_over_brian2_fastest', float('nan')):.2f}x | {r['bytes_per_synapse']} |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
