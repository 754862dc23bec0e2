"""`make demo`: the digits classifier compiled for Loihi 2 and run on the emulated chip, in a few seconds.

Steps: compile ``examples/networks/digits.nir`` for the target into ``OUT/art`` (written atomically),
print the mapping summary, emulate the test split (every image one inference from rest, T = 48 input
rows + 2 readout steps), print accuracy, cores, energy and latency per inference (cost-model estimates
from the target file, not measurements), and write the report PNGs of one inference to ``OUT/report``.

The network (74 neurons) fits in one Loihi 2 core. So that the mesh and link pictures show a mapping,
the demo caps a core at 8 neurons by default (10 cores); ``--max-neurons-per-core 0`` keeps the
target's own limit (1 core). Spikes and accuracy do not depend on the mapping; energy and latency do.
``examples/digits/run_chip.py`` is the full run (float baselines, Lava cross-check).

Usage: ``make demo``, or ``.venv/bin/python examples/demo.py [--images N] [--out DIR]``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `examples` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from examples.digits.common import DIGITS_NIR, T_STEPS, accuracy, network_depth  # noqa: E402
from examples.digits.run_chip import ROOT, emulate_split, make_workload, write_report  # noqa: E402

DEFAULT_OUT = ROOT / "out" / "demo"
DEMO_MAX_NEURONS_PER_CORE = 8


def _eng(x: float, unit: str) -> str:
    from neurocomp.report import _eng as eng
    return eng(x, unit)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=None, help="first N test images (default: all 450)")
    ap.add_argument("--target", default="loihi2", help="target chip (default loihi2)")
    ap.add_argument("--max-neurons-per-core", type=int, default=DEMO_MAX_NEURONS_PER_CORE,
                    help=f"neurons per core cap (default {DEMO_MAX_NEURONS_PER_CORE}; 0: the target's own limit)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help=f"output directory (default {DEFAULT_OUT.relative_to(ROOT)}): art/, result/, report/")
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    import neurocomp as nc

    net = nc.load(DIGITS_NIR)
    cap = args.max_neurons_per_core or None
    art = nc.compile(net, args.target, max_neurons_per_core=cap, out=args.out / "art")
    print(f"compiled {DIGITS_NIR.relative_to(ROOT)} for {art.target.name} -> {args.out / 'art'}"
          + (f"  (capped at {cap} neurons/core to show a multi-core mapping)" if cap else ""))
    print(art.summary())

    work = make_workload(args.images, T_STEPS, network_depth(net))
    results, pred, s, wall = emulate_split(art, work)
    acc = accuracy(pred, work.labels)
    print()
    print(f"emulated {len(work.labels)} test images x {work.steps} steps in {wall:.2f} s")
    print(f"accuracy: {acc:.4f} ({int(round(acc * len(work.labels)))}/{len(work.labels)})")
    print(f"cores: {art.n_cores}")
    print(f"energy per inference: {_eng(s['energy_j']['mean'], 'J')} mean (p99 {_eng(s['energy_j']['p99'], 'J')})")
    print(f"latency per inference: {_eng(s['latency_s']['mean'], 's')} mean (p99 {_eng(s['latency_s']['p99'], 's')})")
    print(f"synaptic events per inference: {s['synaptic_events']['mean']:,.0f} mean")

    _, pngs = write_report(results[0], args.out)
    print(f"report of image 0 (label {work.labels[0]}, predicted {pred[0]}):")
    for p in pngs:
        print(f"  {p}")
    print(f"done in {time.perf_counter() - t_start:.1f} s")
    return {"accuracy": acc, "cores": art.n_cores, "summary": s, "pngs": [str(p) for p in pngs]}


if __name__ == "__main__":
    main()
