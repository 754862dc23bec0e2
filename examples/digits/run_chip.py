"""The digits classifier on the emulated chip, end to end: compile, emulate the test split, check against Lava.

What it does (and why each step is there):

1. ``nc.load(digits.nir)`` then ``nc.compile(net, target)``: the trained 64-64-10 IF network becomes a
   CompiledNetwork (quantized to the target's number formats, partitioned, placed, routed), saved as an
   artifact directory so the run can be repeated from it.
2. The fixed 450-image test split is rate-coded (``common.encode``, ``T`` rows) and every image is one
   independent inference of ``T + depth`` steps, started from rest: ``emulate_batch`` makes the
   emulator's plan once and runs each image from the initial state. Readout: most output spikes, ties ->
   larger final ``v`` -> lowest class (``common.predict_from_counts``).
3. Beside the chip's accuracy: the float ANN (recomputed from the SNN's own weights: data-based
   normalisation only rescales each ReLU layer by a positive factor, so ``argmax`` is unchanged), the
   float SNN (``common.simulate_float_snn``) and, with ``--reference``, the exact integer reference
   (``neurocomp.semantics.reference``), which the emulator must match image by image.
4. Per inference, from the target's cost model: energy (J), latency (= the sum of the step latencies of
   one inference), synaptic events. These are model estimates from per-operation figures in the target
   file, not measurements.
5. The SAME artifact runs through Lava (``deploy(art, "lava")``, fixed-point CPU simulation) on a
   subset; predictions, spikes and membrane potentials must be identical to the emulator's.
6. The report PNGs (raster, mesh, links, energy, timeline) of one inference: ``Result.save`` +
   ``neurocomp.report.make_report``.

Usage (from the repository root)::

    .venv/bin/python examples/digits/run_chip.py                       # all 450 images, 20 through Lava
    .venv/bin/python examples/digits/run_chip.py --images 100 --lava-images 5 --out /tmp/digits
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make `examples.digits` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from examples.digits.common import (DIGITS_NIR, INPUT, OUTPUT, PIXEL_MAX, T_STEPS, accuracy,  # noqa: E402
                                    encode, load_split, network_depth, predict_from_counts, simulate_float_snn,
                                    simulate_integer_snn)
from neurocomp.errors import ValidationError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
#: Default output directory (git-ignored).
DEFAULT_OUT = ROOT / "out" / "digits"


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Workload:
    """``n`` test images, their labels, and their spike trains padded with silence to ``steps`` rows
    (``spikes`` uint8 ``[n, steps, 64]``; the input is ``T`` rows, the readout needs ``depth`` more)."""
    images: np.ndarray
    labels: np.ndarray
    spikes: np.ndarray
    T: int
    steps: int


def make_workload(n_images: int | None, T: int, depth: int) -> Workload:
    """The first ``n_images`` of the fixed test split (all 450 for None), encoded and padded."""
    split = load_split()
    n_all = len(split.y_test)
    n = n_all if n_images is None else int(n_images)
    if n < 1 or n > n_all:
        raise ValidationError(f"--images {n_images}: must be between 1 and {n_all} (the size of the test split)")
    x, y = split.x_test[:n], split.y_test[:n]
    enc = encode(x, T)
    steps = T + depth
    pad = np.zeros((n, steps, enc.shape[2]), np.uint8)
    pad[:, :T] = enc
    return Workload(x, y, pad, T, steps)


# --------------------------------------------------------------------------- float baselines
def float_ann_predict(net, images) -> np.ndarray:
    """Classes of the ReLU MLP the SNN was converted from, computed from the SNN's own weights.

    ``train.convert`` stores ``W1/l1, b1/l1`` and ``W2*l1/l2, b2/l2`` (l1, l2 > 0). ReLU is positively
    homogeneous, so ``relu(x W1'^T + b1') = h / l1`` and the logits become ``z / l2``: the same argmax
    as the original ANN, up to float rounding.
    """
    x = np.asarray(images, np.float64) / PIXEL_MAX
    w1 = net.projections["in_hid"].connectivity.weights
    w2 = net.projections["hid_out"].connectivity.weights
    hid, out = net.populations["hid"], net.populations[OUTPUT]
    b1 = hid.model.broadcast("bias", hid.size)
    b2 = out.model.broadcast("bias", out.size)
    h = np.maximum(x @ w1.T + b1, 0.0)
    return np.argmax(h @ w2.T + b2, axis=1)


# --------------------------------------------------------------------------- runs
def predictions(results, population: str = OUTPUT) -> np.ndarray:
    """Readout of per-sample Results (spikes and v of ``population`` recorded)."""
    counts = np.stack([r.spikes[population].sum(axis=0) for r in results]).astype(np.int64)
    v_last = np.stack([r.v[population][-1] for r in results])
    return predict_from_counts(counts, v_last)


def emulate_split(art, work: Workload, progress: bool = False):
    """All images through ``emulate_batch`` (spikes and v of every population); returns
    ``(results, predictions, summary, wall seconds)``."""
    from neurocomp.backends.emulator.engine import emulate_batch, summarize_batch

    t0 = time.perf_counter()
    results = emulate_batch(art, work.steps, {INPUT: work.spikes}, record=("spikes", "v"), progress=progress)
    wall = time.perf_counter() - t0
    return results, predictions(results), summarize_batch(results), wall


def lava_check(art, work: Workload, emu_results, n: int) -> dict:
    """Run the first ``n`` images through Lava (``deploy``) and compare with the emulator's runs."""
    from neurocomp.deployment import deploy

    n = min(n, len(work.labels))
    lava, t0 = [], time.perf_counter()
    for i in range(n):
        lava.append(deploy(art, backend="lava", steps=work.steps, inputs={INPUT: work.spikes[i]},
                           record=("spikes", "v")))
    wall = time.perf_counter() - t0
    emu = emu_results[:n]
    spikes_equal = all(set(a.spikes) == set(b.spikes) and all(np.array_equal(a.spikes[k], b.spikes[k]) for k in a.spikes)
                       for a, b in zip(lava, emu))
    v_equal = all(all(np.array_equal(a.v[k], b.v[k]) for k in a.v) for a, b in zip(lava, emu))
    pred_lava, pred_emu = predictions(lava), predictions(emu)
    return {"images": n, "wall_s": wall, "s_per_image": wall / max(n, 1), "spikes_identical": bool(spikes_equal),
            "v_identical": bool(v_equal), "predictions_identical": bool(np.array_equal(pred_lava, pred_emu)),
            "accuracy": accuracy(pred_lava, work.labels[:n])}


def write_report(result, out: Path) -> tuple[str, list[Path]]:
    """Save one inference's Result under ``out/result`` and its PNGs under ``out/report``."""
    from neurocomp.report import make_report

    res_dir = result.save(out / "result")
    text = make_report(res_dir, out / "report")
    return text, sorted((out / "report").glob("*.png"))


# --------------------------------------------------------------------------- text
def _eng(x: float, unit: str) -> str:
    from neurocomp.report import _eng as eng
    return eng(x, unit)


def markdown_table(r: dict) -> str:
    """The run's numbers as a markdown table (what docs/digits.md records)."""
    s = r["summary"]
    rows = [
        ("images (test split)", f"{r['images']}"),
        ("steps per inference", f"{r['steps']} (T = {r['T']} input rows + depth {r['depth']})"),
        ("float ANN accuracy", f"{r['ann_acc']:.4f}"),
        ("float SNN accuracy", f"{r['float_snn_acc']:.4f}"),
    ]
    if r.get("reference_acc") is not None:
        rows.append(("integer reference accuracy", f"{r['reference_acc']:.4f} (emulator agrees on "
                                                   f"{r['reference_agreement']:.4f} of images)"))
    rows += [
        (f"**emulator accuracy ({r['target']})**", f"**{r['emu_acc']:.4f}**"),
        ("cores used", f"{r['cores']}"),
        ("energy / inference (mean)", _eng(s["energy_j"]["mean"], "J")),
        ("latency / inference (mean, p99)", f"{_eng(s['latency_s']['mean'], 's')}, {_eng(s['latency_s']['p99'], 's')}"),
        ("synaptic events / inference (mean)", f"{s['synaptic_events']['mean']:,.0f}"),
        ("emulator wall time (all images)", f"{r['emu_wall_s']:.2f} s ({1e3 * r['emu_wall_s'] / r['images']:.2f} ms/image, "
                                            f"kernel {s['wall_time_s']:.2f} s)"),
        ("compile wall time", f"{r['compile_s']:.2f} s"),
    ]
    lv = r.get("lava")
    if lv:
        same = "yes" if lv["predictions_identical"] and lv["spikes_identical"] and lv["v_identical"] else "NO"
        rows.append((f"Lava (fixed_pt) on {lv['images']} images",
                     f"identical predictions/spikes/v: {same}; accuracy {lv['accuracy']:.4f}; "
                     f"{lv['wall_s']:.1f} s ({lv['s_per_image']:.2f} s/image)"))
    w = max(len(a) for a, _ in rows)
    lines = [f"| {'quantity':<{w}} | value |", f"|{'-' * (w + 2)}|-------|"]
    lines += [f"| {a:<{w}} | {b} |" for a, b in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", default="loihi2", help="target chip (name or .toml; default loihi2)")
    ap.add_argument("--network", type=Path, default=DIGITS_NIR, help=f"NIR file (default {DIGITS_NIR.name})")
    ap.add_argument("--images", type=int, default=None, help="first N images of the test split (default: all 450)")
    ap.add_argument("--T", type=int, default=T_STEPS, help=f"input spike-train length (default {T_STEPS})")
    ap.add_argument("--lava-images", type=int, default=20, help="images also run through Lava (0: skip; default 20)")
    ap.add_argument("--reference", action="store_true",
                    help="also run the exact integer reference (neurocomp.semantics.reference) on every image (~10 ms/image)")
    ap.add_argument("--max-neurons-per-core", type=int, default=None,
                    help="lower the target's neurons-per-core limit (spreads the network over more cores)")
    ap.add_argument("--partitioner", default="hypergraph", help="hypergraph (default), metis or sequential")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help=f"output directory: art/, result/, report/ (default {DEFAULT_OUT.relative_to(ROOT)})")
    ap.add_argument("--progress", action="store_true", help="progress bar over the images")
    return ap


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    import neurocomp as nc

    net = nc.load(args.network)
    depth = network_depth(net)
    work = make_workload(args.images, args.T, depth)

    t0 = time.perf_counter()
    art = nc.compile(net, args.target, partitioner=args.partitioner, max_neurons_per_core=args.max_neurons_per_core)
    compile_s = time.perf_counter() - t0
    art.save(args.out / "art")

    ann_acc = accuracy(float_ann_predict(net, work.images), work.labels)
    fr = simulate_float_snn(net, work.spikes[:, :work.T], steps=work.steps)
    float_snn_acc = accuracy(predict_from_counts(fr.counts[OUTPUT], fr.v[OUTPUT]), work.labels)

    results, pred, summary, emu_wall = emulate_split(art, work, args.progress)
    report = {"target": art.target.name, "images": len(work.labels), "T": work.T, "steps": work.steps,
              "depth": depth, "cores": art.n_cores, "compile_s": compile_s, "ann_acc": ann_acc,
              "float_snn_acc": float_snn_acc, "emu_acc": accuracy(pred, work.labels), "emu_wall_s": emu_wall,
              "summary": summary, "reference_acc": None, "lava": None, "out": str(args.out)}
    if args.reference:
        ir = simulate_integer_snn(art.network, work.spikes[:, :work.T], steps=work.steps)
        ref_pred = predict_from_counts(ir.counts[OUTPUT], ir.v[OUTPUT])
        report["reference_acc"] = accuracy(ref_pred, work.labels)
        report["reference_agreement"] = float(np.mean(ref_pred == pred))
    if args.lava_images > 0:
        report["lava"] = lava_check(art, work, results, args.lava_images)

    text, pngs = write_report(results[0], args.out)
    report["pngs"] = [str(p) for p in pngs]
    print(art.summary())
    print()
    print(markdown_table(report))
    print()
    print(f"report of image 0 (label {work.labels[0]}, predicted {pred[0]}):")
    print(text)
    lv = report["lava"]
    if lv and not (lv["predictions_identical"] and lv["spikes_identical"] and lv["v_identical"]):
        print("ERROR: Lava and the emulator disagree on the same artifact", file=sys.stderr)
        raise SystemExit(1)
    return report


if __name__ == "__main__":
    main()
