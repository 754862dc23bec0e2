"""nc.Simulator costs: the overhead of a 1-step run, and a closed loop (a callback every step) vs the open loop.

Network: 1000 LoihiLIF neurons (800 E / 200 I, connection probability 0.05, delay 1) driven by 100
graph-input channels at 5 % per step, compiled for loihi2 (16 cores at 64 neurons/core).

* **1-step overhead**: ``sim.run(1, inputs)`` repeated (min over repeats of the mean of 200 calls) minus
  the kernel's own 1-step call on the same state (runs prepared beforehand, ``EngineState.run_kernel``:
  the same cache state between calls); also against a step inside a 2000-step run (the kernel then stays
  in cache). Settings: the default (counters; the target's cost model runs only when a report's energy
  or ``sim.totals`` is read), the same reading every run's energy, ``timing=False`` (counters only) and
  ``counters=False`` (just the kernel and recording). Recording: spikes of one population.
* **closed vs open loop**: 2000 steps as one open-loop run vs one closed-loop run whose callback returns
  the same input rows (so both compute the same thing; checked equal) — the callback's validation,
  input encoding and one kernel call per step are the closed loop's cost.
* **Lava** (``--lava``): the closed loop on Lava is one Lava run per step (the only exact mechanism in
  Lava 0.10, ``backends/lava/session.py``): ms per step, closed vs open loop on the same live graph
  (a 200-neuron version of the network: Lava's own step is slow).

Every figure is the minimum of alternating repeats (the machine is shared).

Usage: ``.venv/bin/python benchmarks/sessions.py [--repeats 5] [--cpu] [--lava] [--lava-steps 100] [--skip-emulator]``
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import neurocomp as nc

N, N_IN, T = 1000, 100, 2000
_clock = time.perf_counter          # --cpu: time.process_time (this process's CPU time, not the queue for the CPU)


def network(seed: int = 0, n: int = N):
    rng = np.random.default_rng(seed)
    N = n
    n_e = int(0.8 * N)
    net = nc.Network("session_bench")
    net.input("in", (N_IN,))
    net.population("n", (N,), nc.LoihiLIF(du=4095, dv=200, vth=100))
    w = np.where(rng.random((N, N)) < 0.05, 1, 0) * np.where(np.arange(N) < n_e, 20, -120)[None, :]
    net.connect("n", "n", nc.Dense(w.astype(np.int64)), delay=1, name="rec")
    w_in = np.where(rng.random((N, N_IN)) < 0.1, 120, 0)
    net.connect("in", "n", nc.Dense(w_in.astype(np.int64)), name="inp")
    net.output("n")
    return net


def inputs(steps: int, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).random((steps, N_IN)) < 0.05).astype(np.uint8)


def one_step_overhead(art, x, repeats: int, read_energy: bool = False, **opts) -> dict:
    """Per 1-step ``sim.run`` call vs the kernel's own 1-step call (same state, same inputs, runs prepared
    beforehand: ``EngineState.run_kernel``) and vs a step inside a 2000-step run; alternated repeats."""
    from neurocomp.backends.emulator.engine import _setup_run, kernel_thread_count, kernel_threads
    from neurocomp.backends.emulator.quickrun import quick_events
    calls = 200
    best = {"call": np.inf, "kernel": np.inf, "step": np.inf, "totals": np.inf}
    with nc.Simulator(art, **opts) as sim:
        sim.run(5, {"in": x[:5]}, record=("spikes",))                        # warm-up (numba cache)
        sim.totals                                                           # (the event listing too)
        s = sim._session
        for _ in range(repeats):
            t0 = _clock()
            for i in range(calls):
                r = sim.run(1, {"in": x[i:i + 1]}, record=("spikes",))
                if read_energy:
                    r.report.get("energy_j")
            best["call"] = min(best["call"], (_clock() - t0) / calls)
            t0 = _clock()
            sim.totals
            best["totals"] = min(best["totals"], _clock() - t0)
            st, tables, plan = s.state, s.tables, s.plan
            runs = [_setup_run(tables, plan, 1, ("spikes",), None, set(), None, s.counters, s.timing, None, [], True,
                               {}, quick_events(tables, s.spec, 1, {"in": x[i:i + 1]})) for i in range(calls)]
            routes, psums, spiked = st.bound(tables, plan)
            neurons = st.neurons(tables, plan)
            with kernel_threads(kernel_thread_count(tables)):       # as a run does (one thread under 1024 neurons)
                t0 = _clock()
                for run in runs:
                    t = st.t + 1
                    st.run_kernel(t, t, t - 1, neurons, plan.dendrites, st.work, routes, run.inputs, run.recorder,
                                  run.counters, spiked, psums)
                    st.t = t
                t1 = _clock()
            best["kernel"] = min(best["kernel"], (t1 - t0) / calls)
            t0 = _clock()
            sim.run(T, {"in": x[:T]}, record=("spikes",))
            best["step"] = min(best["step"], (_clock() - t0) / T)
    return {"call_us": best["call"] * 1e6, "kernel_us": best["kernel"] * 1e6, "step_us": best["step"] * 1e6,
            "overhead_us": (best["call"] - best["kernel"]) * 1e6, "vs_step_us": (best["call"] - best["step"]) * 1e6,
            "totals_ms": best["totals"] * 1e3}


def closed_vs_open(art, x, repeats: int, backend: str = "emulator", steps: int = T, **opts) -> dict:
    rows = {"in": x}
    best_open, best_closed = np.inf, np.inf
    with nc.Simulator(art, backend, **opts) as sim:
        sim.run(5, {"in": x[:5]}, record=("spikes",))
        for _ in range(repeats):
            sim.reset()
            t0 = _clock()
            a = sim.run(steps, {"in": x[:steps]}, record=("spikes",))
            best_open = min(best_open, _clock() - t0)
            sim.reset()
            t0 = _clock()
            b = sim.run(steps, on_step=lambda t, out: {"in": rows["in"][t]}, record=("spikes",), observe=["n"])
            best_closed = min(best_closed, _clock() - t0)
            assert np.array_equal(a.spikes["n"], b.spikes["n"]), "closed loop differs from the open loop"
    return {"open_ms_per_step": best_open / steps * 1e3, "closed_ms_per_step": best_closed / steps * 1e3,
            "ratio": best_closed / best_open, "spikes": int(a.spikes["n"].sum())}


def lava_closed_vs_open(art, x, steps: int, repeats: int) -> dict:
    """Lava: on one live graph (built by a warm-up run), ``steps`` steps open loop vs closed loop."""
    best_open, best_closed = np.inf, np.inf
    with nc.Simulator(art, "lava", probes=("spikes",)) as sim:
        sim.run(2, {"in": x[:2]}, record=("spikes",))
        for _ in range(repeats):
            a = sim.t
            t0 = _clock()
            sim.run(steps, {"in": x[a:a + steps]}, record=("spikes",))
            best_open = min(best_open, _clock() - t0)
            t0 = _clock()
            sim.run(steps, on_step=lambda t, out: {"in": x[t]}, record=("spikes",), observe=["n"])
            best_closed = min(best_closed, _clock() - t0)
    return {"open_ms_per_step": best_open / steps * 1e3, "closed_ms_per_step": best_closed / steps * 1e3,
            "ratio": best_closed / best_open}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--lava", action="store_true", help="also measure the Lava closed loop")
    ap.add_argument("--lava-steps", type=int, default=100)
    ap.add_argument("--skip-emulator", action="store_true", help="only the Lava part")
    ap.add_argument("--cpu", action="store_true", help="time with this process's CPU time (a shared, loaded machine)")
    args = ap.parse_args(argv)
    global _clock
    _clock = time.process_time if args.cpu else time.perf_counter
    art = nc.compile(network(), "loihi2", max_neurons_per_core=64)
    x = inputs(T)
    print(f"network: {N} LoihiLIF neurons, {art.tables.n_synapses:,} synapses, {int(art.tables.n_cores)} cores\n")
    if args.skip_emulator:
        return _lava(args, x)
    print("| emulator setting | 1-step `run` (us) | kernel alone, 1-step call (us) | overhead (us) | kernel per step "
          "in a 2000-step run (us) | `run` - that (us) | `sim.totals` after 200 runs (ms) |")
    print("|---|---|---|---|---|---|---|")
    for name, opts in (("default (counters, cost model when read)", {}),
                       ("default, every run's energy read", {"read_energy": True}),
                       ("timing=False (counters)", {"timing": False}), ("counters=False", {"counters": False})):
        r = one_step_overhead(art, x, args.repeats, **opts)
        print(f"| {name} | {r['call_us']:.1f} | {r['kernel_us']:.1f} | {r['overhead_us']:.1f} | {r['step_us']:.1f} | "
              f"{r['vs_step_us']:.1f} | {r['totals_ms']:.2f} |")
    print("\n| closed vs open loop, emulator, 2000 steps | open ms/step | closed ms/step | closed / open |")
    print("|---|---|---|---|")
    for name, opts in (("default", {}), ("counters=False", {"counters": False})):
        r = closed_vs_open(art, x, args.repeats, **opts)
        print(f"| {name} ({r['spikes']:,} spikes) | {r['open_ms_per_step']:.4f} | {r['closed_ms_per_step']:.4f} | "
              f"{r['ratio']:.2f}x |")
    return _lava(args, x) if args.lava else 0


def _lava(args, x) -> int:
    small = nc.compile(network(n=200), "loihi2", max_neurons_per_core=64)
    r = lava_closed_vs_open(small, x, args.lava_steps, max(1, args.repeats // 2))
    print(f"\n| Lava, 200 neurons, {args.lava_steps} steps | open ms/step | closed ms/step | closed / open |\n|---|---|---|---|\n"
          f"| live graph | {r['open_ms_per_step']:.2f} | {r['closed_ms_per_step']:.2f} | {r['ratio']:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
