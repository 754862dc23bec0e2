"""Per-layer spike agreement of compiled framework exports with the frameworks' own spikes (issue 21).

    .venv/bin/python benchmarks/frameworks.py [--targets loihi2 loihi tianjic truenorth] [--batch 30]

For every export in tests/data/frameworks (made by its make_exports.py with snnTorch, Norse, Sinabs):
load it with its dialect, then for each of the batch's inputs run (a) the float IR
(``passes.float_reference``, discretized, no quantization) and (b) the compiled network on the
emulator for each target, both aligned to the framework's time axis (``neurocomp.align``), and
compare with the framework's spikes. Per layer: agreement = fraction of equal (sample, step,
neuron) entries; the table gives the mean over layers of the batch-mean, the worst layer's batch-mean
and the worst (layer, sample). Class agreement: argmax of the last layer's spike counts equal to the
framework's (ties broken by the lowest index on both sides; the framework's own ties are counted).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "frameworks"

#: export -> (dialect, dt the framework ran with, NIR-expressible?: None, or why not)
EXPORTS = {
    "snntorch_lif": ("snntorch", 1e-4, None),
    "snntorch_cuba": ("snntorch", 1e-4, None),
    "norse_lifbox": ("norse", 1e-3, None),
    "norse_cuba": ("norse", 1e-3, None),
    "sinabs_lif": ("sinabs", 1e-3, None),
    "sinabs_iaf": ("sinabs", 1e-3, None),
    "snntorch_lif_subtract": ("snntorch", 1e-4, "reset by subtraction (NIR and Loihi's LIF reset to a value)"),
    "snntorch_cuba_delay": ("snntorch", 1e-4, "Synaptic reset_delay=True: mem held at 0 for a step after a spike"),
}


def load_export(name: str):
    """(network, reference dict) of one export: ``ref["input"]`` [B, T, n], ``ref["spikes"][layer]`` [B, T, n]."""
    from neurocomp.io import load
    dialect, dt, _ = EXPORTS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = load(DATA / f"{name}.nir", dt=dt, dialect=dialect)
    with np.load(DATA / f"{name}.npz") as d:
        ref = {"input": d["input"], "spikes": {k[len("spikes."):]: d[k] for k in d.files if k.startswith("spikes.")}}
    return net, ref


def agreement(runs: list, ref: dict, batch: int) -> dict:
    """Per layer mean/min agreement over the batch and the class agreement (see the module doc)."""
    layers = list(ref["spikes"])
    out = {"layers": {}, "class": None}
    for layer in layers:
        per = [float((runs[b].spikes[layer] == ref["spikes"][layer][b]).mean()) for b in range(batch)]
        out["layers"][layer] = {"mean": float(np.mean(per)), "min": float(np.min(per))}
    last = layers[-1]
    same = [int(np.argmax(runs[b].spikes[last].sum(0))) == int(np.argmax(ref["spikes"][last][b].sum(0)))
            for b in range(batch)]
    out["class"] = float(np.mean(same))
    unique = [b for b in range(batch) if np.sort(ref["spikes"][last][b].sum(0))[-1] > np.sort(
        ref["spikes"][last][b].sum(0))[-2]]
    out["class_unique"] = float(np.mean([same[b] for b in unique])) if unique else None   # framework not tied
    out["mean"] = float(np.mean([v["mean"] for v in out["layers"].values()]))      # over layers
    out["min_layer"] = float(np.min([v["mean"] for v in out["layers"].values()]))  # worst layer (batch mean)
    out["min"] = float(np.min([v["min"] for v in out["layers"].values()]))         # worst layer x sample
    out["framework_ties"] = batch - len(unique)
    return out


def run_float(net, ref, batch: int) -> list:
    from neurocomp.align import run_aligned
    from neurocomp.passes.discretize import Discretize
    from neurocomp.passes.float_reference import simulate_float
    dnet = Discretize(net.metadata["dt"], net.metadata.get("integration", "euler")).run(net)[0]
    name = net.inputs[0]
    return [run_aligned(lambda s, i: simulate_float(dnet, s, i), net, ref["input"].shape[1],
                        {name: ref["input"][b]}) for b in range(batch)]


def compile_for(net, target: str):
    import neurocomp as nc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nc.compile(net, target, partitioner="sequential")


def run_chip(art, net, ref, batch: int) -> list:
    from neurocomp.align import run_aligned
    from neurocomp.backends.emulator import emulate
    name = net.inputs[0]
    return [run_aligned(lambda s, i: emulate(art, s, i, record=("spikes",)), net, ref["input"].shape[1],
                        {name: ref["input"][b]}) for b in range(batch)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="*", default=["loihi2", "loihi", "tianjic", "truenorth"])
    ap.add_argument("--batch", type=int, default=30)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    print("| export | dialect | float IR mean / worst layer / worst sample | "
          + " | ".join(f"{t} mean / worst layer / worst sample / class" for t in args.targets) + " |")
    print("|---|---|---|" + "---|" * len(args.targets))
    for name, (dialect, _, why) in EXPORTS.items():
        net, ref = load_export(name)
        b = min(args.batch, ref["input"].shape[0])
        f = agreement(run_float(net, ref, b), ref, b)
        cells = []
        for t in args.targets:
            try:
                a = agreement(run_chip(compile_for(net, t), net, ref, b), ref, b)
                cells.append(f"{a['mean']:.4f} / {a['min_layer']:.4f} / {a['min']:.4f} / {100 * a['class']:.0f} %")
            except Exception as exc:  # noqa: BLE001 - a target that cannot hold the network is a table entry
                msg = str(exc)
                bound = msg.split("the bound '")[1].split("' allows")[0] if "the bound '" in msg else msg[:60]
                cells.append(f"refused ({type(exc).__name__}: {bound})")
        label = name + (f" (not NIR-expressible: {why})" if why else "")
        ties = f" ({f['framework_ties']} framework ties)" if f["framework_ties"] else ""
        print(f"| {label}{ties} | {dialect} | {f['mean']:.4f} / {f['min_layer']:.4f} / {f['min']:.4f} | "
              + " | ".join(cells) + " |")
        sys.stdout.flush()
    print(f"\n{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
