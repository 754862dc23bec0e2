"""PilotNet SDNN (lava-dl's netx ground-truth network) on the emulator vs Lava fixed_pt, same run.

The network is ``tests/data/netx/pilotnet_sdnn`` (lava-dl ``gts/pilotnet_sdnn``: 3x33x100 input, 4 conv + 3
dense SigmaDelta layers, a Sigma output; 33 k neurons, 3.6 M synapses). It is compiled for one Loihi 2 chip
(``--target loihi2``, default: conv kernels stored once per core, ``core.synapse_encoding.shared_conv_weights``,
23 cores) or, with ``--chips X Y``, for an X*Y-chip copy of the target (``neurocomp.target.write_multichip``;
the earlier 8-chip, 670-core run stored every conv synapse). The mapping is checked by the validator
(``neurocomp.mapping.validate.check_mapping``). The input layer's Delta runs on the host, as in
``tests/test_netx_sdnn.py``.

Lava side: ``backends/lava`` lowers the compiled network to lava-nc 0.10 processes (``RingBuffer`` ->
``Conv`` -> ``SigmaDelta`` ... ``Dense`` -> ``Sigma``), the same processes with the same parameters as
lava-dl's ``netx.hdf5.Network`` builds (netx itself imports torch through ``lava.lib.dl.slayer``, which
this environment does not have), run with ``Loihi2SimCfg(select_tag="fixed_pt")``.

Workloads: ``gt`` (lava-dl's frame, 9 steps: the output is checked against ``output.npy`` on both
simulators) and ``pan`` (the frame shifted by one pixel column per step, a panning camera, so every
step carries new input). For each: every population's payloads of every step, emulator == Lava.

Timing: per step, excluding start-up: Lava runs 1 step (process build and start), then the timed
``steps - 1``; the emulator runs the same network after a warm-up (numba cache loaded), with counters +
cost model (as ``neurocomp emulate``, the report computed in the timed call: its cost model and workload
metrics are computed lazily, on first read) and functional only (no counters), ``steps`` and 1 step, minimum
of ``--repeats`` alternating runs: *marginal* = (t(steps) - t(1)) / (steps - 1) excludes its set-up (the
kernel plan, ~0.5 s for 3.6 M synapses) as Lava's is excluded; *whole call* = t(steps) / steps.

``--profile``: also the parts of one such call (cProfile): the numba kernel, the kernel plan, the workload
metrics and the cost model, per step.

Usage: ``.venv/bin/python benchmarks/pilotnet_sdnn.py [--steps 30] [--repeats 3] [--target loihi2] [--chips 4 2]
[--json out.json] [--profile] [--threads K]``
"""
from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import neurocomp as nc
from neurocomp.io.netx_input import netx_inputs
from neurocomp.mapping.validate import check_mapping
from neurocomp.target import write_multichip

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "netx" / "pilotnet_sdnn"


def run_lava(net, inputs: dict, steps: int) -> tuple[float, dict]:
    """Lava fixed_pt run of the lowered network: (seconds of steps 2..T, payloads of every population)."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from neurocomp.backends.lava.lower import lower
    low = lower(net, steps, inputs, ("spikes",))
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    try:
        low.root.run(condition=RunSteps(num_steps=1), run_cfg=cfg)       # build and start the runtime
        t0 = time.perf_counter()
        low.root.run(condition=RunSteps(num_steps=steps - 1), run_cfg=cfg)
        wall = time.perf_counter() - t0
        pay = {pop: np.asarray(mon.get_data()[low.lif[pop].name]["s_out"]).astype(np.int64)
               for (pop, kind), mon in low.monitors.items() if kind == "spikes"}
    finally:
        low.root.stop()
    return wall, pay


def run_emulator(art, inputs: dict, steps: int, repeats: int, threads=None) -> tuple[dict, object]:
    """Seconds of ``steps``-step and 1-step runs (min over repeats, alternating), with the cost model (as
    ``neurocomp emulate``) and functional only; the cost-model run's Result."""
    nc.emulate(art, 2, {k: v[:2] for k, v in inputs.items()}, record=("spikes",))      # warm-up
    best, res = {}, None
    for _ in range(repeats):
        for label, kw in (("with_cost_model", {}), ("functional", {"counters": False, "timing": False})):
            for t in (steps, 1):
                t0 = time.perf_counter()
                r = nc.emulate(art, t, {k: v[:t] for k, v in inputs.items()}, record=("spikes",), threads=threads,
                               **kw)
                r.report.resolve() if label == "with_cost_model" else None   # as `emulate` writing report.json
                best[label, t] = min(best.get((label, t), np.inf), time.perf_counter() - t0)
                if label == "with_cost_model" and t == steps:
                    res = r
    out = {}
    for label in ("with_cost_model", "functional"):
        out[label] = {"call_ms_per_step": 1e3 * best[label, steps] / steps,
                      "marginal_ms_per_step": 1e3 * (best[label, steps] - best[label, 1]) / (steps - 1)}
    return out, res


#: the parts of one emulate call (with the cost model and its report) that --profile times
PARTS = {"kernel (run_steps)": "run_steps", "kernel plan (make_plan)": "make_plan",
         "workload metrics": "workload_metrics", "cost model (cost_report)": "cost_report",
         "whole call": "emulate"}


def profile(art, inputs: dict, steps: int) -> dict:
    """Seconds of each of ``PARTS`` in one ``steps``-step run whose report is computed (cProfile, cumulative)."""
    import cProfile
    import pstats
    prof = cProfile.Profile()
    prof.enable()
    nc.emulate(art, steps, inputs, record=("spikes",)).report.resolve()
    prof.disable()
    cum = {}
    for (_, _, func), (_, _, _, ct, _) in pstats.Stats(prof).stats.items():
        cum[func] = max(cum.get(func, 0.0), ct)
    return {part: cum.get(func, 0.0) + (cum.get("resolve", 0.0) if func == "emulate" else 0.0)
            for part, func in PARTS.items()}


def bench(name: str, net, art, data, steps: int, repeats: int, gt=None, prof=False, threads=None) -> dict:
    inputs = netx_inputs(net, data, steps)
    from neurocomp.backends.emulator.engine import kernel_threads, kernel_thread_count
    with kernel_threads(threads):        # what the emulate calls below run on (None: the default rule, load-aware)
        used = kernel_thread_count(art.tables, chosen=threads is not None)
    emu, res = run_emulator(art, inputs, steps, repeats, threads)
    if prof:
        print(f"{name}, {steps} steps, ms per step: " + ", ".join(
            f"{k} {1e3 * v / steps:.2f}" for k, v in profile(art, inputs, steps).items()))
    lava_s, lava_pay = run_lava(art.network, inputs, steps)
    lava = 1e3 * lava_s / (steps - 1)
    row = {"workload": name, "steps": steps, "threads": used,
           "messages_per_step": float(sum(np.count_nonzero(p) for p in res.payloads.values()) / steps),
           "emulator": emu, "lava_ms_per_step": lava,
           "ratio_marginal": {k: lava / v["marginal_ms_per_step"] for k, v in emu.items()},
           "ratio_call": {k: lava / v["call_ms_per_step"] for k, v in emu.items()},
           "emulator_equals_lava": all(np.array_equal(res.payloads[p], lava_pay[p]) for p in lava_pay)
           and set(lava_pay) == set(res.payloads)}
    if gt is not None:
        row["emulator_equals_ground_truth"] = bool(np.array_equal(res.payloads["dense9"][:, 0], gt[0]))
        row["lava_equals_ground_truth"] = bool(np.array_equal(lava_pay["dense9"][:, 0], gt[0]))
    cost = res.report["cost"]
    row["syn_ops_per_step"] = float(sum(cost["counters"]["syn_ops"]) / steps)
    row["energy_j"] = {"total": cost["energy_j"]["total"], "by_class": cost["energy_j"]["by_class"]}
    row["latency_s"] = {"total": cost["latency_s"]["total"], "per_step": cost["latency_s"]["per_step"],
                        "parts_mean": cost["latency_s"]["parts_mean"]}
    return row


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30, help="steps of the 'pan' workload")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--target", default="loihi2", help="target name or .toml (default loihi2: one chip)")
    ap.add_argument("--chips", type=int, nargs=2, metavar=("X", "Y"), help="an X x Y-chip copy of the target")
    ap.add_argument("--json")
    ap.add_argument("--profile", action="store_true", help="also time the parts of one emulate call (cProfile)")
    ap.add_argument("--threads", type=int, default=None,
                    help="emulator kernel threads (default: the library's rule: all cores unless the machine is busy)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pilotnet_sdnn_"))
    path = tmp / "pilotnet_sdnn.net"
    with gzip.open(DATA / "network.net.gz", "rb") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    net = nc.load(path)
    t0 = time.perf_counter()
    target = write_multichip(args.target, *args.chips, tmp / "multichip.toml") if args.chips else args.target
    art = nc.compile(net, target, partitioner="sequential")
    compile_s = time.perf_counter() - t0
    violations = check_mapping(art)
    print(f"validator: {len(violations)} violation(s) {violations[:3]}")
    x, gt = np.load(DATA / "input.npy"), np.load(DATA / "output.npy")
    pan = np.stack([np.roll(x[..., 0], k, axis=0) for k in range(args.steps)], axis=-1)   # (W, H, C, T)
    rows = [bench("gt", net, art, x, gt.shape[1], args.repeats, gt, args.profile, args.threads),
            bench("pan", net, art, pan, args.steps, args.repeats, prof=args.profile, threads=args.threads)]
    for r in rows:
        print(json.dumps(r, default=float))
    print("| workload | steps | emulator threads | messages/step | synaptic ops/step | emulator ms/step, marginal (cost model on / "
          "functional) | emulator ms/step, whole call (on / functional) | Lava fixed_pt ms/step | Lava / emulator, "
          "marginal (on / functional) | emulator == Lava | == lava-dl output |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        e, m = r["emulator"], r["ratio_marginal"]
        on, fn = e["with_cost_model"], e["functional"]
        print(f"| {r['workload']} | {r['steps']} | {r['threads']} | {r['messages_per_step']:.0f} | {r['syn_ops_per_step']:.3g} | "
              f"{on['marginal_ms_per_step']:.1f} / {fn['marginal_ms_per_step']:.1f} | {on['call_ms_per_step']:.1f} / "
              f"{fn['call_ms_per_step']:.1f} | {r['lava_ms_per_step']:.0f} | {m['with_cost_model']:.0f}x / "
              f"{m['functional']:.0f}x | {r['emulator_equals_lava']} | {r.get('emulator_equals_ground_truth', '-')} |")
    for r in rows:
        en, la = r["energy_j"], r["latency_s"]
        dyn = en["total"] - en["by_class"].get("static", 0.0)
        print(f"{r['workload']}: energy {1e6 * en['total'] / r['steps']:.1f} uJ/step ({1e6 * dyn / r['steps']:.1f} uJ "
              f"dynamic; messages {1e6 * en['by_class']['messages'] / r['steps']:.2f} uJ), latency "
              f"{1e6 * la['per_step']['mean']:.1f} us/step (p50 {1e6 * la['per_step']['p50']:.1f}, max "
              f"{1e6 * la['per_step']['max']:.1f}), {1e3 * la['total']:.3f} ms for {r['steps']} steps")
    print(f"compile: {compile_s:.1f} s, {art.tables.n_cores} cores on {art.target.name} ({art.target.mesh.chips} "
          f"chip(s)); synapse memory {int(art.usage.synapse_bits.sum())} bits in all")
    if args.json:
        Path(args.json).write_text(json.dumps({"compile_s": compile_s, "cores": art.tables.n_cores,
                                               "violations": violations, "rows": rows}, indent=1, default=float))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
