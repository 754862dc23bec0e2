"""Train the digits classifier and export it as a spiking network (examples/networks/digits.nir).

Method (why this one): there is no autograd here, and the target neuron is NIR's IF with reset to
``v_reset`` (NIR cannot express reset by subtraction). So we train a small ReLU MLP 64 -> H -> 10 in
plain numpy (softmax cross-entropy, Adam, L2 weight decay, fixed seed) and convert it to an
integrate-and-fire SNN by rate coding (ANN-to-SNN conversion, Diehl et al. 2015; Rueckauer et al.
2017). A ReLU unit and an IF neuron driven by a constant input I per step share their transfer
function up to saturation: the IF rate is ~ I / v_th spikes per step while I < v_th. Data-based
normalisation makes that hold: layer l is divided by lambda_l, the 99.9th percentile of its ReLU
activations on the training set, so with v_th = 1 almost every neuron fires < 1 spike/step::

    W1' = W1 / lambda_1,   b1' = b1 / lambda_1
    W2' = W2 * lambda_1 / lambda_2,   b2' = b2 / lambda_2,   v_th = 1, v_reset = 0, r = 1

The input pixel p (0..16) is the rate p/16 of a regular (deterministic) spike train, exactly the
MLP's input x = p/16. Reset to zero discards the overshoot v - v_th at each spike, so an IF neuron
under-fires relative to ReLU by up to one input step per spike; the percentile normalisation (not the
max) keeps rates well below 1 where that loss is small, the L2 penalty keeps the weights compact (also
what 8-bit weight mantissas want), and the error is measured, not assumed: the script prints the
float ANN accuracy, the float SNN accuracy with the IR's semantics (``common.simulate_float_snn``),
and the accuracy of the quantized Loihi integer network (Discretize + Quantize(loihi2), simulated
bit-exactly by ``neurocomp.semantics.reference.simulate_reference``) on the fixed test split.

Biases are biases of the ANN, kept as the IF model's constant ``bias`` input (per step, in the
normalised units). Output neurons are IF too; the class is the one with most output spikes
(``common.predict_from_counts``: ties -> larger final membrane -> lowest index).

Usage (from the repository root)::

    .venv/bin/python examples/digits/train.py            # full training, writes the committed NIR
    .venv/bin/python examples/digits/train.py --quick --out /tmp/d.nir   # smoke test (few epochs)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make `examples.digits` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from examples.digits.common import (DIGITS_NIR, PIXEL_MAX, T_STEPS, SNNParams, accuracy, encode, load_split,  # noqa: E402
                                    predict_from_counts, quantize_for_loihi, simulate_float_snn,
                                    simulate_integer_snn)

#: Training hyper-parameters: fixed a priori (common MLP defaults), never tuned on the test split.
HIDDEN = 64
EPOCHS = 150
LR = 2e-3
L2 = 1e-3
BATCH = 32
SEED = 0
PERCENTILE = 99.9


# --------------------------------------------------------------------------- the ANN
def _relu(z):
    return np.maximum(z, 0.0)


def init_params(n_in: int, hidden: int, n_out: int, rng: np.random.Generator) -> dict:
    """He-normal weights, zero biases."""
    return {"W1": rng.normal(0.0, np.sqrt(2.0 / n_in), (hidden, n_in)), "b1": np.zeros(hidden),
            "W2": rng.normal(0.0, np.sqrt(2.0 / hidden), (n_out, hidden)), "b2": np.zeros(n_out)}


def forward(params: dict, x: np.ndarray):
    """Hidden ReLU activations and output logits for inputs ``x`` [N, 64] in [0, 1]."""
    h = _relu(x @ params["W1"].T + params["b1"])
    return h, h @ params["W2"].T + params["b2"]


def train_mlp(x: np.ndarray, y: np.ndarray, hidden: int = HIDDEN, epochs: int = EPOCHS, lr: float = LR,
              l2: float = L2, batch: int = BATCH, seed: int = SEED, n_out: int = 10) -> dict:
    """Minibatch Adam on softmax cross-entropy + ``l2/2 * (|W1|^2 + |W2|^2)`` (biases not decayed)."""
    rng = np.random.default_rng(seed)
    params = init_params(x.shape[1], hidden, n_out, rng)
    m = {k: np.zeros_like(v) for k, v in params.items()}
    s = {k: np.zeros_like(v) for k, v in params.items()}
    b1, b2, eps, step = 0.9, 0.999, 1e-8, 0
    onehot = np.eye(n_out)[y]
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            xb, tb = x[idx], onehot[idx]
            h, z = forward(params, xb)
            z = z - z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            dz = (p - tb) / len(idx)
            dh = (dz @ params["W2"]) * (h > 0)
            grads = {"W2": dz.T @ h + l2 * params["W2"], "b2": dz.sum(0),
                     "W1": dh.T @ xb + l2 * params["W1"], "b1": dh.sum(0)}
            step += 1
            for k, g in grads.items():
                m[k] = b1 * m[k] + (1 - b1) * g
                s[k] = b2 * s[k] + (1 - b2) * g * g
                mh, sh = m[k] / (1 - b1 ** step), s[k] / (1 - b2 ** step)
                params[k] = params[k] - lr * mh / (np.sqrt(sh) + eps)
    return params


# --------------------------------------------------------------------------- conversion
def convert(params: dict, x_train: np.ndarray, percentile: float = PERCENTILE) -> SNNParams:
    """Data-based normalisation (see the module docstring): thresholds 1, each layer scaled by the
    ``percentile`` of its positive ReLU activations on ``x_train``."""
    h, z = forward(params, x_train)
    lam1 = float(np.percentile(h[h > 0], percentile))
    zp = _relu(z)
    lam2 = float(np.percentile(zp[zp > 0], percentile))
    return SNNParams(w_hid=params["W1"] / lam1, b_hid=params["b1"] / lam1, th_hid=1.0,
                     w_out=params["W2"] * lam1 / lam2, b_out=params["b2"] / lam2, th_out=1.0)


# --------------------------------------------------------------------------- main
def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None,
                    help=f"where to write the NIR file (default: {DIGITS_NIR}; with --quick: nothing is written)")
    ap.add_argument("--quick", action="store_true", help="smoke test: 3 epochs, 40 test samples, no default write")
    ap.add_argument("--steps", type=int, default=T_STEPS, help=f"input spike-train length T (default {T_STEPS})")
    args = ap.parse_args(argv)
    out = args.out if args.out is not None else (None if args.quick else DIGITS_NIR)
    epochs = 3 if args.quick else EPOCHS

    from neurocomp.io.nir_export import write_nir
    from neurocomp.io.nir_import import read_nir

    t0 = time.perf_counter()
    split = load_split()
    x_tr = split.x_train / PIXEL_MAX
    params = train_mlp(x_tr, split.y_train, epochs=epochs)
    snn = convert(params, x_tr)
    net = snn.to_network()
    t_train = time.perf_counter() - t0

    n_eval = 40 if args.quick else len(split.y_test)
    x_eval, y_eval = split.x_test[:n_eval], split.y_test[:n_eval]
    ann_acc = accuracy(np.argmax(forward(params, x_eval / PIXEL_MAX)[1], axis=1), y_eval)
    spikes = encode(x_eval, args.steps)
    fr = simulate_float_snn(net, spikes)
    snn_acc = accuracy(predict_from_counts(fr.counts["out"], fr.v["out"]), y_eval)
    int_net, reports = quantize_for_loihi(net)
    t1 = time.perf_counter()
    ir = simulate_integer_snn(int_net, spikes)
    t_int = time.perf_counter() - t1
    int_acc = accuracy(predict_from_counts(ir.counts["out"], ir.v["out"]), y_eval)
    agree = float(np.mean(predict_from_counts(ir.counts["out"], ir.v["out"])
                          == predict_from_counts(fr.counts["out"], fr.v["out"])))
    hid_rate = float(fr.counts["hid"].mean() / fr.steps)

    if out is not None:
        write_nir(net, out)
        back = read_nir(out)
        if back != net:
            raise RuntimeError(f"{out}: re-imported network differs from the exported one")
    q = reports[1]
    results = {"ann_acc": ann_acc, "float_snn_acc": snn_acc, "loihi_int_acc": int_acc, "float_int_agreement": agree,
               "n_test": n_eval, "T": args.steps, "steps": fr.steps, "hidden": HIDDEN, "epochs": epochs,
               "mean_hidden_rate": hid_rate, "clips": len(q.clips),
               "max_weight_rel_error": q.summary["max_weight_rel_error"], "out": str(out) if out else None}
    print(f"digits: 64-{HIDDEN}-10, {epochs} epochs, trained+converted in {t_train:.1f} s; "
          f"{n_eval} test samples, T = {args.steps} input steps, read out over {fr.steps} steps")
    print(f"  float ANN accuracy                         {ann_acc:.4f}")
    print(f"  float SNN accuracy (IR semantics)          {snn_acc:.4f}   (mean hidden rate {hid_rate:.3f} spikes/step)")
    print(f"  Loihi integer accuracy (reference, exact)  {int_acc:.4f}   ({t_int:.1f} s; same class as float SNN "
          f"on {agree:.4f}; {len(q.clips)} clips, max weight rel. error {q.summary['max_weight_rel_error']:.4f})")
    if out is not None:
        print(f"  wrote {out} ({out.stat().st_size} bytes; re-imports equal)")
    return results


if __name__ == "__main__":
    main()
