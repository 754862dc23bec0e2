"""Where two threads' speed-up goes (issue 19): the split's extra work, the threads' concurrency, and the time
outside the kernel.

For each workload (``brunel``: 5k LoihiLIF, 3M synapses; ``dense``: 1000 -> 1000 Dense; both as in
``emulator_speed.py``, round-robin onto 64 cores, a plan made once) and mode (``none``: nothing recorded, no
counters; ``cnt``: counters), three runs of ``emulate_tables``, alternating, ``--repeats`` each, min taken:

- ``1t``: one thread (one group, no team);
- ``2m1t``: the kernel cut for two threads (``EngineState.run_kernel``'s ``n_threads=2``: the same groups, free
  team or team, as two threads get) while numba has one thread, so the two members run in turn: the split's
  total work, without any concurrency;
- ``2t``: two threads.

Each is the kernel's own time (``run_kernel``) per step, and the wall time of the call per step; their
difference is the time outside the kernel (input validation and encoding, set-up, the result). Derived:

- ``work`` = 2m1t / 1t: the split's total work against one thread's (1: nothing done twice);
- ``conc`` = (2m1t / 2) / 2t: how near two threads come to running their halves at full speed (1: no loss);
- kernel speed-up = 1t / 2t = 2 x conc / work; end to end = (1t + outside 1t) / (2t + outside 2t), what
  ``emulator_speed.py`` reports;
- ``bound``: end to end at conc = 1 (the kernel's split and the outside time alone).

After the table, per workload: its sources of one joined run (``RouteArrays.src_one``: a Dense layer's inputs) and
the spans of cells they fall in; ``kernels._deliver``'s pass A adds together only rows over one span.

Usage: ``.venv/bin/python benchmarks/thread_split.py [--only brunel,dense] [--modes none,cnt] [--steps 1000]
[--repeats 5] [--rounds 2] [--input-rate P] [--dense-size N] [--json out.json]`` (``--input-rate 0``: no input
spikes, so each config's time is its steps' fixed costs and the neurons alone, and ``work`` shows what a split
repeats per step).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODES = {"none": dict(record=(), counters=False), "cnt": dict(record=(), counters=True),
         "rec": dict(record=("spikes", "v"), counters=True)}
CONFIGS = (("1t", 1, None), ("2m1t", 1, 2), ("2t", 2, None))


class KernelClock:
    """``EngineState.run_kernel`` wrapped: its time summed (``seconds``), and its ``n_threads`` set to ``force``
    where that is not None (the groups of that many threads, whatever numba runs them on)."""

    def __init__(self, engine):
        self.cls = engine.EngineState
        self.orig = self.cls.run_kernel
        self.seconds, self.force = 0.0, None
        clock = self

        def run_kernel(state, *args, n_threads=None):
            t0 = time.perf_counter()
            try:
                return clock.orig(state, *args, n_threads=clock.force if clock.force is not None else n_threads)
            finally:
                clock.seconds += time.perf_counter() - t0
        self.cls.run_kernel = run_kernel

    def close(self):
        self.cls.run_kernel = self.orig


def workload(name, steps, input_rate=None, dense_size=1000):
    """``(tables, inputs, plan)`` of ``brunel`` or ``dense`` for ``steps`` steps; ``input_rate``: the input channels'
    firing probability a step (None: the workload's own); ``dense_size``: dense's neurons."""
    sys.path.insert(0, str(HERE))
    import emulator_speed as ES
    from neurocomp.backends.emulator import make_plan
    net, rate = ES.brunel(5000) if name == "brunel" else ES.dense_layer(dense_size)
    inputs = ES.make_inputs(rate if input_rate is None else input_rate, steps)
    tables = ES.neurocomp_tables(net)
    return tables, inputs, make_plan(tables, copies=False)


def measure(name, modes, steps, repeats, rounds, input_rate=None, dense_size=1000):
    """``(rounds, (one-run sources, their spans))``: per round and mode ``{config: (kernel us/step, wall
    us/step)}`` (min of ``repeats``); ``input_rate`` and ``dense_size``: as :func:`workload`'s."""
    from neurocomp.backends.emulator import emulate_tables, engine
    tables, inputs, plan = workload(name, steps, input_rate, dense_size)
    clock = KernelClock(engine)
    try:
        out = []
        for _ in range(rounds):
            row = {}
            for mode in modes:
                for label, threads, force in CONFIGS:
                    clock.force = force
                    emulate_tables(tables, 5, {k: v[:5] for k, v in inputs.items()}, plan=plan, threads=threads,
                                   **MODES[mode])                      # compiled / cached, threads started
                    best = (float("inf"), 0.0)
                    for _ in range(repeats):
                        clock.seconds = 0.0
                        t0 = time.perf_counter()
                        emulate_tables(tables, steps, inputs, plan=plan, threads=threads, **MODES[mode])
                        best = min(best, (time.perf_counter() - t0, clock.seconds))
                    row.setdefault(mode, {})[label] = (best[1] / steps * 1e6, best[0] / steps * 1e6)
            out.append(row)
        return out, (int(np.sum(plan.routes.src_one >= 0)), int(plan.routes.span_cell.size))
    finally:
        clock.close()


def derived(r):
    """The ratios of one round's ``{config: (kernel, wall)}`` (module docstring)."""
    k1, w1 = r["1t"]
    k21, _ = r["2m1t"]
    k2, w2 = r["2t"]
    o1, o2 = w1 - k1, w2 - k2
    return {"work": k21 / k1, "conc": k21 / 2 / k2, "kernel_x": k1 / k2, "end_x": w1 / w2,
            "bound_x": w1 / (k21 / 2 + o2), "outside_1t": o1, "outside_2t": o2}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="brunel,dense")
    ap.add_argument("--modes", default="none,cnt")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--input-rate", type=float, default=None,
                    help="the input channels' firing probability a step (default: the workload's own; 0: the steps' "
                         "fixed costs and the neurons alone)")
    ap.add_argument("--dense-size", type=int, default=1000, help="dense's neurons (1024: the free cut at neuron 512, "
                    "a cache-line boundary of every state row)")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    if a.input_rate is not None and not 0.0 <= a.input_rate <= 1.0:
        print(f"--input-rate {a.input_rate}: give a probability from 0 to 1", file=sys.stderr)
        return 2
    small = [f"--{k} {v}" for k, v in (("steps", a.steps), ("repeats", a.repeats), ("rounds", a.rounds),
                                        ("dense-size", a.dense_size)) if v < 1]
    if small:
        print(f"{', '.join(small)}: give whole numbers of 1 or more", file=sys.stderr)
        return 2
    import numba
    if numba.config.NUMBA_NUM_THREADS < 2:
        print("thread_split.py needs NUMBA_NUM_THREADS >= 2", file=sys.stderr)
        return 2
    modes = a.modes.split(",")
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        print(f"--modes: unknown {unknown}; choose from {sorted(MODES)}", file=sys.stderr)
        return 2
    names = a.only.split(",")
    bad = [n for n in names if n not in ("brunel", "dense")]
    if bad:
        print(f"--only: unknown workloads {bad} (brunel, dense)", file=sys.stderr)
        return 2
    results, spans = {}, {}
    print("| workload | mode | round | 1t kernel / wall | 2m1t kernel | 2t kernel / wall | work | conc | kernel 2t/1t "
          "| end to end | bound (conc 1) | outside 1t / 2t |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        rounds, spans[name] = measure(name, modes, a.steps, a.repeats, a.rounds, a.input_rate, a.dense_size)
        results[name] = rounds
        for i, row in enumerate(rounds, 1):
            for mode, r in row.items():
                d = derived(r)
                print(f"| {name} | {mode} | {i} | {r['1t'][0]:.2f} / {r['1t'][1]:.2f} | {r['2m1t'][0]:.2f} | "
                      f"{r['2t'][0]:.2f} / {r['2t'][1]:.2f} | {d['work']:.2f} | {d['conc']:.2f} | "
                      f"{d['kernel_x']:.2f}x | {d['end_x']:.2f}x | {d['bound_x']:.2f}x | "
                      f"{d['outside_1t']:.2f} / {d['outside_2t']:.2f} |", flush=True)
    for name, (n_one, n_spans) in spans.items():
        print(f"{name}: {n_one} sources of one joined run, over {n_spans} span(s) of cells")
    if a.json:
        Path(a.json).write_text(json.dumps({"steps": a.steps, "repeats": a.repeats, "input_rate": a.input_rate,
                                            "results": results, "one_run_spans": spans,
                                            "load_avg": list(np.round(os.getloadavg(), 2))},
                                           indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
