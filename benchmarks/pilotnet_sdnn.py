"""PilotNet SDNN (lava-dl's netx ground-truth network) on the emulator vs Lava fixed_pt, same run.

The network is ``tests/data/netx/pilotnet_sdnn`` (lava-dl ``gts/pilotnet_sdnn``: 3x33x100 input, 4 conv + 3
dense SigmaDelta layers, a Sigma output; 33 k neurons, 3.6 M synapses as stored without conv weight
sharing). It is compiled for an 8-chip Loihi 2 (``neurocomp.target.write_multichip("loihi2", 4, 2, ...)``: 670
cores; it does not fit one chip in neurocomp's model). The input layer's Delta runs on the host, as in
``tests/test_netx_sdnn.py``.

Lava side: ``backends/lava`` lowers the compiled network to lava-nc 0.10 processes (``RingBuffer`` ->
``Conv`` -> ``SigmaDelta`` ... ``Dense`` -> ``Sigma``), the same processes with the same parameters as
lava-dl's ``netx.hdf5.Network`` builds (netx itself imports torch through ``lava.lib.dl.slayer``, which
this environment does not have), run with ``Loihi2SimCfg(select_tag="fixed_pt")``.

Workloads: ``gt`` (lava-dl's frame, 9 steps: the output is checked against ``output.npy`` on both
simulators) and ``pan`` (the frame shifted by one pixel column per step, a panning camera, so every
step carries new input). For each: every population's payloads of every step, emulator == Lava.

Timing: per step, excluding start-up: Lava runs 1 step (process build and start), then the timed
``steps - 1``; the emulator runs the same network after a warm-up (numba cache loaded) and is timed
over all steps with counters + cost model (as ``neurocomp emulate``) and functional only (no counters),
minimum of ``--repeats`` alternating runs.

Usage: ``.venv/bin/python benchmarks/pilotnet_sdnn.py [--steps 30] [--repeats 3] [--json out.json]``
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


def run_emulator(art, inputs: dict, steps: int, repeats: int) -> dict:
    nc.emulate(art, 2, {k: v[:2] for k, v in inputs.items()}, record=("spikes",))      # warm-up
    out = {}
    for _ in range(repeats):
        for label, kw in (("with_cost_model", {}), ("functional", {"counters": False, "timing": False})):
            t0 = time.perf_counter()
            res = nc.emulate(art, steps, inputs, record=("spikes",), **kw)
            dt = time.perf_counter() - t0
            out[label] = min(out.get(label, np.inf), dt)
            out["result"] = res
    return out


def bench(name: str, net, art, data, steps: int, repeats: int, gt=None) -> dict:
    inputs = netx_inputs(net, data, steps)
    emu = run_emulator(art, inputs, steps, repeats)
    lava_s, lava_pay = run_lava(art.network, inputs, steps)
    res = emu.pop("result")
    row = {"workload": name, "steps": steps,
           "messages_per_step": float(sum(np.count_nonzero(p) for p in res.payloads.values()) / steps),
           "emulator_ms_per_step": {k: 1e3 * v / steps for k, v in emu.items()},
           "lava_ms_per_step": 1e3 * lava_s / (steps - 1),
           "emulator_equals_lava": all(np.array_equal(res.payloads[p], lava_pay[p]) for p in lava_pay)
           and set(lava_pay) == set(res.payloads)}
    row["ratio"] = {k: row["lava_ms_per_step"] / v for k, v in row["emulator_ms_per_step"].items()}
    if gt is not None:
        row["emulator_equals_ground_truth"] = bool(np.array_equal(res.payloads["dense9"][:, 0], gt[0]))
        row["lava_equals_ground_truth"] = bool(np.array_equal(lava_pay["dense9"][:, 0], gt[0]))
    cost = res.report.get("cost") or {}
    row["energy_j"], row["latency_s"] = res.report.get("energy_j"), res.report.get("latency_s")
    row["cost_totals"] = {k: cost.get(k) for k in ("energy_j", "latency_s") if k in cost}
    return row


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30, help="steps of the 'pan' workload")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pilotnet_sdnn_"))
    path = tmp / "pilotnet_sdnn.net"
    with gzip.open(DATA / "network.net.gz", "rb") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    net = nc.load(path)
    t0 = time.perf_counter()
    art = nc.compile(net, write_multichip("loihi2", 4, 2, tmp / "loihi2_x8.toml"), partitioner="sequential")
    compile_s = time.perf_counter() - t0
    x, gt = np.load(DATA / "input.npy"), np.load(DATA / "output.npy")
    pan = np.stack([np.roll(x[..., 0], k, axis=0) for k in range(args.steps)], axis=-1)   # (W, H, C, T)
    rows = [bench("gt", net, art, x, gt.shape[1], args.repeats, gt), bench("pan", net, art, pan, args.steps,
                                                                           args.repeats)]
    for r in rows:
        print(json.dumps({k: v for k, v in r.items() if k != "cost_totals"}, default=float))
    print("| workload | steps | messages/step | emulator ms/step (cost model on / functional) | Lava fixed_pt ms/step "
          "| ratio (on / functional) | emulator == Lava | == lava-dl output |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        e = r["emulator_ms_per_step"]
        print(f"| {r['workload']} | {r['steps']} | {r['messages_per_step']:.0f} | {e['with_cost_model']:.2f} / "
              f"{e['functional']:.2f} | {r['lava_ms_per_step']:.0f} | {r['ratio']['with_cost_model']:.0f}x / "
              f"{r['ratio']['functional']:.0f}x | {r['emulator_equals_lava']} | "
              f"{r.get('emulator_equals_ground_truth', '-')} |")
    print(f"compile: {compile_s:.1f} s, {art.tables.n_cores} cores")
    if args.json:
        Path(args.json).write_text(json.dumps({"compile_s": compile_s, "rows": rows}, indent=1, default=float))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
