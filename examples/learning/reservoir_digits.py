"""A random recurrent LIF reservoir on the digits task, its readout trained ON the emulated chip.

The reservoir (fixed weights): ``n_res`` Loihi LIF neurons, each driven by ``in_fanin`` random pixels
of the rate-coded 8x8 digit (``examples/digits/common.encode``) and by a sparse random recurrent
projection (density ``rec_p``, zero-mean weights). The readout: 10 LIF neurons behind a plastic Dense
projection from the reservoir, trained by a local three-factor rule, a spike-based delta rule whose
third factor is a supervisory (teacher) signal: the graph input ``teacher`` carries ``teacher`` (0..127)
to the label's readout neuron while a training digit is shown, 0 otherwise::

    dw = a * x0 * y2  -  b * y0 * x1

At each reservoir (pre) spike the synapse grows by ``a * teacher`` (only the label's neuron sees a
teacher value); at each readout (post) spike it shrinks by ``b * x1`` (the pre trace: how recently the
reservoir neuron fired). The label's neuron is potentiated until its own firing balances the teacher;
a wrong neuron that fires is depressed on exactly the reservoir neurons that made it fire. In fixed
point both products are exact (one 7-bit factor each: no bit loss, lava.md §7); weights are 8-bit,
signed (MIXED), so a readout can learn inhibition from reservoir neurons of other classes.

Training is one ``emulate`` run of the compiled network over the training digits shown one after the
other (``T`` input steps + ``gap`` silent steps each, ``epochs`` passes), learning on the emulated chip
with its energy report. Test: the learned weights are written into the same network without the rule
(frozen), compiled, and run over the test digits the same way; the prediction is the readout with
the most spikes during a digit's window, ties broken by the larger membrane potential summed over the
window (the chip's recorded state; spikes alone tie often with 2-4 readout spikes per digit), then the
lowest index. Offline baselines use the SAME
reservoir spike counts per window (recorded in those two runs): scikit-learn's logistic regression
and ridge-regularised least squares (one-hot targets), i.e. what an off-chip readout of this reservoir
achieves.

Usage (from the repository root)::

    .venv/bin/python examples/learning/reservoir_digits.py            # 600 train / 200 test digits
    .venv/bin/python examples/learning/reservoir_digits.py --quick    # the test's small run
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make `examples.learning` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from examples.digits.common import encode, load_split  # noqa: E402
from examples.learning.common import (fmt_energy, markdown_table, out_dir, positive_int, pyplot,  # noqa: E402
                                      run_on_chip, save_figure)
from neurocomp.errors import ValidationError  # noqa: E402

INPUT, TEACHER, RES, OUT, PROJ = "in", "teacher", "res", "out", "readout"
N_PIXELS, N_CLASSES = 64, 10


@dataclass(frozen=True)
class Config:
    n_res: int = 200
    T: int = 24                   # input steps per digit (encode's rows)
    gap: int = 8                  # silent steps after each digit (the reservoir settles)
    in_fanin: int = 12            # pixels per reservoir neuron
    w_in: int = 60                # input weights uniform in [w_in/2, w_in]
    rec_p: float = 0.1
    w_rec: int = 40               # recurrent weights uniform in [-w_rec, w_rec]
    res_du: int = 2048
    res_dv: int = 410
    res_vth: int = 600
    out_du: int = 2048
    out_dv: int = 410
    out_vth: int = 16000
    teacher: int = 64             # teacher value (0..127) on the label's readout while a digit is shown
    a: float = 2 ** -6            # potentiation scale: a * teacher per pre spike
    b: float = 2 ** -4            # depression scale: b * x1 per post spike
    x1_tau: float = 8
    x1_impulse: float = 16
    n_train: int = 600
    n_test: int = 200
    epochs: int = 3
    seed: int = 0

    def check(self) -> None:
        if not 0 <= self.teacher <= 127:
            raise ValidationError(f"reservoir_digits: teacher = {self.teacher} must be in 0..127 (Loihi's 7-bit "
                                  "third factor)")
        if not 0 < self.rec_p <= 1 or not 1 <= self.in_fanin <= N_PIXELS:
            raise ValidationError("reservoir_digits: need 0 < rec_p <= 1 and 1 <= in_fanin <= 64")

    @property
    def window(self) -> int:
        return self.T + self.gap


QUICK = Config(n_res=100, n_train=150, n_test=60, epochs=3)


def reservoir_weights(cfg: Config):
    """Fixed random input ``[n_res, 64]`` and recurrent ``[n_res, n_res]`` integer weights (no self-loops)."""
    rng = np.random.default_rng([cfg.seed, 7])
    w_in = np.zeros((cfg.n_res, N_PIXELS), np.int64)
    for i in range(cfg.n_res):
        cols = rng.choice(N_PIXELS, cfg.in_fanin, replace=False)
        w_in[i, cols] = rng.integers(cfg.w_in // 2, cfg.w_in + 1, cfg.in_fanin)
    mask = rng.random((cfg.n_res, cfg.n_res)) < cfg.rec_p
    np.fill_diagonal(mask, False)
    w_rec = np.where(mask, rng.integers(-cfg.w_rec, cfg.w_rec + 1, (cfg.n_res, cfg.n_res)), 0).astype(np.int64)
    return w_in, w_rec


def readout_rule(cfg: Config):
    """The supervised spike-based delta rule above as a three-factor Loihi rule (teacher on y2)."""
    from neurocomp.ir import LearningRule
    from neurocomp.rules.constructors import scale_literal
    from neurocomp.rules.grammar import parse_rule
    dw = f"{scale_literal(cfg.a, 'a')}*x0*y2 - {scale_literal(cfg.b, 'b')}*y0*x1"
    rule = LearningRule(dw=dw, x1_impulse=cfg.x1_impulse, x1_tau=cfg.x1_tau, third_factor=TEACHER,
                        rng_seed=cfg.seed, name="delta3f")
    parse_rule(rule)
    return rule


def build_network(cfg: Config, w_in, w_rec, w_out, learn: bool):
    """``in`` (64) -> ``res`` (LIF, recurrent) -> ``out`` (10 LIF); the readout plastic if ``learn``."""
    import neurocomp as nc
    net = nc.Network("reservoir_digits")
    net.input(INPUT, (N_PIXELS,))
    if learn:
        net.input(TEACHER, (N_CLASSES,))
    net.population(RES, (cfg.n_res,), nc.LoihiLIF(du=cfg.res_du, dv=cfg.res_dv, vth=cfg.res_vth))
    net.population(OUT, (N_CLASSES,), nc.LoihiLIF(du=cfg.out_du, dv=cfg.out_dv, vth=cfg.out_vth))
    net.connect(INPUT, RES, nc.Dense(w_in), name="in_res")
    net.connect(RES, RES, nc.Dense(w_rec), name="res_res")
    net.connect(RES, OUT, nc.Dense(np.asarray(w_out, np.int64), sign_mode=nc.SignMode.MIXED), name=PROJ,
                learning=readout_rule(cfg) if learn else None)
    net.output(OUT)
    net.output(RES)
    return net


def sequence(cfg: Config, images, labels=None):
    """Digits one after the other: spikes ``[N*window, 64]`` and, with labels, the teacher ``[N*window, 10]``."""
    x = encode(images, cfg.T)                                  # [N, T, 64]
    n = x.shape[0]
    seq = np.zeros((n, cfg.window, N_PIXELS), np.uint8)
    seq[:, :cfg.T] = x
    if labels is None:
        return seq.reshape(-1, N_PIXELS), None
    teach = np.zeros((n, cfg.window, N_CLASSES), np.int64)
    teach[np.arange(n), :cfg.T, np.asarray(labels)] = cfg.teacher
    return seq.reshape(-1, N_PIXELS), teach.reshape(-1, N_CLASSES)


def window_counts(cfg: Config, spikes, n: int) -> np.ndarray:
    """Spike counts (or summed values, e.g. v) per digit window ``[n, n_neurons]`` from a run's
    ``[n*window, n_neurons]`` record. Windows run from step 2 of a digit to step 1 of the next (one
    step of projection latency)."""
    s = np.asarray(spikes, np.int64)
    s = np.concatenate([s[1:], np.zeros((1, s.shape[1]), np.int64)])
    return s.reshape(n, cfg.window, -1).sum(axis=1)


def predict(counts, v_sum=None) -> np.ndarray:
    """Readout with the most spikes; ties -> the larger membrane potential summed over the window
    (``v_sum`` [n, 10], if given: the chip's own state, read like spikes) -> the lowest index."""
    c = np.asarray(counts)
    if v_sum is None:
        return np.argmax(c, axis=1)
    best = c == c.max(axis=1, keepdims=True)
    return np.argmax(np.where(best, np.asarray(v_sum, np.float64), -np.inf), axis=1)


@dataclass
class Outcome:
    cfg: Config
    chip_acc: float              # most spikes, ties -> larger summed v
    chip_acc_counts: float       # most spikes, ties -> lowest index (spikes only)
    untrained_acc: float
    logreg_acc: float
    lstsq_acc: float
    train_acc_chip: float        # readout prediction during training (teacher on): how it learns
    w0: np.ndarray
    w1: np.ndarray
    train_energy: dict
    test_energy: dict
    train_steps: int
    test_steps: int
    curve: np.ndarray            # running training accuracy (readout's own spikes during training)


def offline_readouts(x_tr, y_tr, x_te, y_te) -> tuple[float, float]:
    """Logistic regression and ridge least squares on standardised reservoir spike counts."""
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
    lr.fit(x_tr, y_tr)
    rc = make_pipeline(StandardScaler(), RidgeClassifier(alpha=1.0))
    rc.fit(x_tr, y_tr)
    return float(lr.score(x_te, y_te)), float(rc.score(x_te, y_te))


def run(cfg: Config) -> Outcome:
    cfg.check()
    split = load_split()
    rng = np.random.default_rng([cfg.seed, 3])
    i_tr = rng.permutation(len(split.y_train))[:cfg.n_train]
    i_te = np.arange(min(cfg.n_test, len(split.y_test)))
    x_tr, y_tr = split.x_train[i_tr], split.y_train[i_tr]
    x_te, y_te = split.x_test[i_te], split.y_test[i_te]
    w_in, w_rec = reservoir_weights(cfg)
    w0 = np.zeros((N_CLASSES, cfg.n_res), np.int64)

    # ---- training: one run, learning on the emulated chip
    xs, teach = sequence(cfg, np.tile(x_tr, (cfg.epochs, 1)), np.tile(y_tr, cfg.epochs))
    n_seq = cfg.n_train * cfg.epochs
    train = run_on_chip(build_network(cfg, w_in, w_rec, w0, learn=True), xs.shape[0], {INPUT: xs, TEACHER: teach})
    w1 = train.result.weights[PROJ]
    res_tr = window_counts(cfg, train.result.spikes[RES], n_seq)[-cfg.n_train:]
    out_tr = window_counts(cfg, train.result.spikes[OUT], n_seq)
    hits = (predict(out_tr) == np.tile(y_tr, cfg.epochs)).astype(float)

    # ---- test: frozen weights (no rule), and the untrained readout for reference
    xt, _ = sequence(cfg, x_te)
    test = run_on_chip(build_network(cfg, w_in, w_rec, w1, learn=False), xt.shape[0], {INPUT: xt},
                       record=("spikes", "v"))
    out_te = window_counts(cfg, test.result.spikes[OUT], len(y_te))
    v_te = window_counts(cfg, test.result.v[OUT], len(y_te))
    res_te = window_counts(cfg, test.result.spikes[RES], len(y_te))
    chip_acc = float(np.mean(predict(out_te, v_te) == y_te))
    chip_acc_counts = float(np.mean(predict(out_te) == y_te))
    untrained = run_on_chip(build_network(cfg, w_in, w_rec, w0 + 1, learn=False), xt.shape[0], {INPUT: xt})
    un_acc = float(np.mean(predict(window_counts(cfg, untrained.result.spikes[OUT], len(y_te))) == y_te))
    lr_acc, ls_acc = offline_readouts(res_tr, y_tr, res_te, y_te)
    w = max(10, n_seq // 20)
    curve = np.convolve(hits, np.ones(w) / w, mode="valid")
    return Outcome(cfg, chip_acc, chip_acc_counts, un_acc, lr_acc, ls_acc, float(hits[-cfg.n_train:].mean()), w0, w1,
                   _energy(train, n_seq), _energy(test, len(y_te)), xs.shape[0], xt.shape[0], curve)


def _energy(chip, n: int) -> dict:
    by = chip.energy_by_class
    return {"total": chip.energy["total"], "per_digit": chip.energy["total"] / n, "learning": by["learning"],
            "learning_per_digit": by["learning"] / n, "by_class": by, "learning_updates": chip.learning_updates}


def plot(o: Outcome, out: Path) -> list[Path]:
    plt = pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(16, 4.2), gridspec_kw={"width_ratios": [1.2, 1.2, 1]}, layout="constrained")
    ax[0].plot(np.arange(o.curve.size), o.curve, color="tab:blue", label="chip readout while training (teacher on)")
    for acc, name, color in ((o.chip_acc, "chip readout, test (frozen)", "tab:blue"),
                             (o.logreg_acc, "offline logistic regression, test", "tab:orange"),
                             (o.lstsq_acc, "offline least squares, test", "tab:green")):
        ax[0].axhline(acc, color=color, ls="--", lw=1, label=f"{name}: {acc:.2f}")
    ax[0].axhline(0.1, color="k", ls=":", lw=0.8, label="chance 0.10")
    ax[0].set_ylim(0, 1.02)
    ax[0].set_xlabel("training digit (running mean)")
    ax[0].set_ylabel("accuracy")
    ax[0].legend(fontsize=7, loc="lower right")
    ax[0].set_title("readout learning on the chip")
    lim = max(1, int(np.abs(o.w1).max()))
    im = ax[1].imshow(o.w1, aspect="auto", cmap="coolwarm", vmin=-lim, vmax=lim, interpolation="nearest")
    ax[1].set_xlabel("reservoir neuron")
    ax[1].set_ylabel("readout (class)")
    ax[1].set_yticks(range(N_CLASSES))
    ax[1].set_title("learned readout weights")
    fig.colorbar(im, ax=ax[1], label="weight")
    classes = ("syn_op", "neuron_active", "neuron_idle", "spike_out", "messages", "learning", "static")
    vals = [o.train_energy["by_class"][c] / o.cfg.n_train / o.cfg.epochs * 1e6 for c in classes]
    ax[2].barh(classes, vals, color=["tab:red" if c == "learning" else "tab:gray" for c in classes])
    ax[2].set_xlabel("energy per training digit (uJ, model estimate)")
    ax[2].set_title("where training energy goes")
    return [save_figure(fig, out / "reservoir_readout.png")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"small run for tests ({QUICK.n_train} train digits)")
    ap.add_argument("--train", type=positive_int, default=None, help="training digits")
    ap.add_argument("--test", type=positive_int, default=None, help="test digits (of the fixed 450)")
    ap.add_argument("--epochs", type=positive_int, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--out", default=None, help="directory for the PNG (default out/learning/reservoir)")
    ap.add_argument("--no-plots", action="store_true")
    args = ap.parse_args(argv)
    cfg = QUICK if args.quick else Config()
    for key, val in (("n_train", args.train), ("n_test", args.test), ("epochs", args.epochs), ("seed", args.seed)):
        if val is not None:
            cfg = replace(cfg, **{key: val})
    o = run(cfg)
    print(f"Reservoir ({cfg.n_res} LIF) on digits, readout trained on the emulated chip "
          f"({cfg.n_train} training digits x {cfg.epochs} epoch(s), {cfg.n_test} test digits, "
          f"{cfg.T}+{cfg.gap} steps per digit)\n")
    print(markdown_table(("readout", "test accuracy"), [
        ("on-chip rule (delta rule, teacher as third factor), frozen at test", f"{o.chip_acc:.3f}"),
        ("  same, ties broken by index instead of membrane potential", f"{o.chip_acc_counts:.3f}"),
        ("untrained readout (all weights 1)", f"{o.untrained_acc:.3f}"),
        ("offline logistic regression on the same reservoir counts", f"{o.logreg_acc:.3f}"),
        ("offline least squares (ridge) on the same reservoir counts", f"{o.lstsq_acc:.3f}")]))
    print()
    tr, te = o.train_energy, o.test_energy
    print(markdown_table(("energy (model estimate)", "value"), [
        ("training run, total", fmt_energy(tr["total"])),
        ("training, per digit", fmt_energy(tr["per_digit"])),
        ("  learning engine per digit", fmt_energy(tr["learning_per_digit"])),
        ("learning synapse updates in training", f"{tr['learning_updates']:,}"),
        ("test (frozen), per digit", fmt_energy(te["per_digit"]))]))
    if not args.no_plots:
        paths = plot(o, out_dir(args.out, "reservoir"))
        print("\nfigures: " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
