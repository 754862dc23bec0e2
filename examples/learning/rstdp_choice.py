"""R-STDP on the emulated chip learns a two-choice task from a reward signal alone.

Two input patterns, A and B: in a trial, the afferents of one of them (``n_per_pattern`` each,
disjoint halves of the input) fire as Poisson at ``p_on`` per step, and every afferent adds noise at
``p_noise``. Two Loihi LIF output neurons ("choice 0", "choice 1") read all afferents through a
plastic Dense projection with reward-modulated STDP (``nc.rules.rstdp``, Lava's three-factor rule)::

    dt = a_plus*x1*y0 - a_minus*x0 - tag_decay*t     # eligibility (tag_1) per synapse
    dw = lr*t*y2                                     # y2 = the reward input of this step (0..127)

and inhibit each other through a fixed recurrent projection (winner-take-all). The choice is the
output with more spikes in the first ``decide`` steps of the trial (ties: the earlier first spike,
then a coin flip by the host; no spike: no choice). If the choice is right (0 for A, 1 for B), the reward input carries ``reward``
to both outputs for the rest of the trial while the stimulus stays on: the winner's synapses from the
active afferents have positive eligibility (causal pairs) and grow, the silent loser's have negative
eligibility (pre spikes without post spikes) and shrink. Wrong or no choice: reward 0, and
``dw = 0`` exactly. Nothing else tells the network which output belongs to which pattern.

A true closed loop on the emulated chip (``nc.Simulator``): the network is compiled once and runs on
from trial to trial; each trial is one ``sim.run(..., on_step=...)`` whose callback sees the outputs'
spikes after every step, feeds the next step's stimulus, reads the choice after ``decide`` steps and
from then on sends the reward, as a host (or an embedded CPU) would on the chip. Nothing is replayed
or recompiled: neuron state, traces, eligibility and the learned weights carry on, and each trial
ends with ``gap`` silent steps (an inter-trial pause in which potentials, traces and eligibility
decay). The energy per trial is that of its run (trial and pause) as the chip runs it.

After ``n_trials`` training trials, ``n_test`` fresh trials run without reward (weights frozen).

Usage (from the repository root)::

    .venv/bin/python examples/learning/rstdp_choice.py            # 200 training trials, 100 test trials
    .venv/bin/python examples/learning/rstdp_choice.py --quick    # the test's small run
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make `examples.learning` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from examples.learning.common import (fmt_energy, markdown_table, out_dir, positive_int, pyplot,  # noqa: E402
                                      save_figure)
from neurocomp.errors import BackendError, ValidationError  # noqa: E402

INPUT, EXPLORE, REWARD, OUT, PROJ, INH = "in", "explore", "reward", "out", "plastic", "wta"


@dataclass(frozen=True)
class Config:
    n_per_pattern: int = 20
    p_on: float = 0.25            # spike probability per step of an active afferent
    p_noise: float = 0.02         # of every afferent
    trial_steps: int = 40
    decide: int = 20              # the choice is read from the first `decide` steps
    reward: int = 16              # reward value (0..127) during the rest of a rewarded trial
    w_init: tuple = (10, 50)
    du: int = 2048
    dv: int = 410
    vth: int = 1500
    inhibition: int = -128        # mutual inhibition weight (x 2^inh_exp)
    inh_exp: int = 3
    lr: float = 2 ** -4
    a_plus: float = 2 ** -3
    a_minus: float = 1
    tag_decay: float = 2 ** -3
    tau_plus: float = 4
    p_explore: float = 0.1        # independent exploration spikes per output and step
    w_explore: int = 150          # their fixed weight (x 2^1)
    reward_to: str = "all"         # "all": one global reward; "choice": only the output that chose
    gap: int = 120                # silent steps after each trial (inter-trial pause: state decays)
    n_trials: int = 200
    n_test: int = 100
    seed: int = 5

    def check(self) -> None:
        if not 0 < self.decide < self.trial_steps:
            raise ValidationError(f"rstdp_choice: decide = {self.decide} must be in 1..trial_steps-1 "
                                  f"({self.trial_steps - 1}) so the reward has steps left to act")
        if not 0 <= self.reward <= 127:
            raise ValidationError(f"rstdp_choice: reward = {self.reward} must be in 0..127 (Loihi's 7-bit third "
                                  "factor)")
        for name in ("p_on", "p_noise"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValidationError(f"rstdp_choice: {name} must be a probability in [0, 1]")

    @property
    def n_inputs(self) -> int:
        return 2 * self.n_per_pattern


QUICK = Config(n_trials=60, n_test=40)   # seed 5 as the full run: its untrained network is biased wrong


def build_network(cfg: Config, w):
    """``in`` -> plastic Dense (R-STDP, excitatory, reward from graph input ``reward``) -> 2 LIF ``out``,
    plus fixed mutual inhibition ``out -> out``."""
    import neurocomp as nc
    rule = nc.rules.rstdp(REWARD, lr=cfg.lr, a_plus=cfg.a_plus, a_minus=cfg.a_minus, tag_decay=cfg.tag_decay,
                          tau_plus=cfg.tau_plus,
                          w_min=0, rng_seed=cfg.seed, name="rstdp")
    net = nc.Network("rstdp_choice")
    net.input(INPUT, (cfg.n_inputs,))
    net.input(EXPLORE, (2,))
    net.input(REWARD, (2,))
    net.population(OUT, (2,), nc.LoihiLIF(du=cfg.du, dv=cfg.dv, vth=cfg.vth))
    net.connect(INPUT, OUT, nc.Dense(np.asarray(w, np.int64)), name=PROJ, learning=rule)
    net.connect(EXPLORE, OUT, nc.OneToOne(np.full(2, cfg.w_explore, np.int64), weight_exp=1), name="explore_out")
    inh = np.array([[0, cfg.inhibition], [cfg.inhibition, 0]], np.int64)
    net.connect(OUT, OUT, nc.Dense(inh, weight_exp=cfg.inh_exp), name=INH)
    net.output(OUT)
    return net


def stimulus(cfg: Config, label: int, rng) -> np.ndarray:
    """uint8 [trial_steps, n_inputs]: pattern ``label``'s afferents at p_on, all afferents noise at p_noise."""
    n = cfg.n_per_pattern
    x = rng.random((cfg.trial_steps, cfg.n_inputs)) < cfg.p_noise
    x[:, label * n:(label + 1) * n] |= rng.random((cfg.trial_steps, n)) < cfg.p_on
    return x.astype(np.uint8)


def choice(spikes: np.ndarray, decide: int, coin: float) -> int:
    """Output with more spikes in the first ``decide`` steps; ties -> earlier first spike -> the coin
    (``coin`` in [0, 1): < 0.5 picks output 0; the host's tie-break, an exploration source); no spike: -1."""
    s = np.asarray(spikes)[:decide]
    counts = s.sum(axis=0)
    if counts.max() == 0:
        return -1
    best = np.nonzero(counts == counts.max())[0]
    if best.size > 1:
        first = np.array([int(np.argmax(s[:, k])) for k in best])
        best = best[first == first.min()]
    return int(best[0] if best.size == 1 else best[int(coin * best.size)])


@dataclass
class Trial:
    label: int
    choice: int
    correct: bool
    energy_j: float
    learning_j: float


class TrialLoop:
    """The host's side of one trial: ``step(t, outputs)`` gets the outputs' spikes of the step just run and
    returns the next step's inputs (stimulus, exploration, reward once a right choice is made)."""

    def __init__(self, cfg: Config, label: int, rng, learn: bool, t0: int):
        self.cfg, self.label, self.learn, self.t0 = cfg, label, learn, t0
        self.x = stimulus(cfg, label, rng)
        self.e = (rng.random((cfg.trial_steps, 2)) < cfg.p_explore).astype(np.uint8)
        self.coin = float(rng.random())
        self.spikes = np.zeros((cfg.trial_steps, 2), np.uint8)
        self.reward = np.zeros(2, np.int64)
        self.choice = None
        self.silent = {INPUT: np.zeros(cfg.n_inputs, np.uint8), EXPLORE: np.zeros(2, np.uint8), REWARD: 0}

    def step(self, t: int, outputs: dict):
        k = t - self.t0                       # steps of this trial done
        cfg = self.cfg
        if 0 < k <= cfg.trial_steps:
            self.spikes[k - 1] = outputs[OUT]
        if k == cfg.decide:
            self.choice = choice(self.spikes, cfg.decide, self.coin)
            if self.learn and self.choice == self.label:
                if cfg.reward_to == "all":
                    self.reward[:] = cfg.reward
                else:
                    self.reward[self.choice] = cfg.reward
        if k >= cfg.trial_steps:              # past the trial (not reached: the pause runs open loop)
            return self.silent
        return {INPUT: self.x[k], EXPLORE: self.e[k], REWARD: self.reward}


def run_trial(cfg: Config, sim, label: int, rng, learn: bool) -> Trial:
    """One trial as one closed-loop run of the live simulation, then its silent pause."""
    loop = TrialLoop(cfg, label, rng, learn, sim.t)
    before = sim.weights[PROJ]
    runs = [sim.run(cfg.trial_steps, on_step=loop.step, observe=[OUT], record=())]
    if cfg.gap:                               # the pause needs no host: an open-loop silent run
        runs.append(sim.run(cfg.gap, record=()))
    ok = loop.choice == label
    if (not learn or not ok) and not np.array_equal(sim.weights[PROJ], before):
        raise BackendError("rstdp_choice: weights changed in a trial without reward, but dw = lr*t*y2 with y2 = 0 "
                           "must leave them unchanged")
    energy = [r.report["energy_j"] for r in runs]
    return Trial(label, loop.choice, bool(ok), sum(e["total"] for e in energy),
                 sum(e["by_class"]["learning"] for e in energy))


@dataclass
class Outcome:
    cfg: Config
    w0: np.ndarray
    w1: np.ndarray
    train: list
    test: list

    @property
    def test_accuracy(self) -> float:
        return float(np.mean([t.correct for t in self.test]))

    def train_accuracy(self, lo, hi) -> float:
        return float(np.mean([t.correct for t in self.train[lo:hi]]))


def run(cfg: Config, w0=None) -> Outcome:
    cfg.check()
    # separate streams: the initial weights, the training trials and the test trials do not depend on
    # each other's lengths (so the untrained baseline sees exactly the same test trials)
    if w0 is None:
        w0 = np.random.default_rng([cfg.seed, 0]).integers(cfg.w_init[0], cfg.w_init[1],
                                                             (2, cfg.n_inputs)).astype(np.int64)
    import neurocomp as nc
    from examples.learning.common import TARGET
    train, test = [], []
    with nc.Simulator(nc.compile(build_network(cfg, w0), TARGET)) as sim:
        rng = np.random.default_rng([cfg.seed, 1])
        for _ in range(cfg.n_trials):
            train.append(run_trial(cfg, sim, int(rng.integers(0, 2)), rng, learn=True))
        w = sim.weights[PROJ]
        rng = np.random.default_rng([cfg.seed, 2])
        for _ in range(cfg.n_test):
            test.append(run_trial(cfg, sim, int(rng.integers(0, 2)), rng, learn=False))
    return Outcome(cfg, w0, w, train, test)


def initial_test(cfg: Config) -> float:
    """Accuracy of the untrained network on the same test trials (the chance baseline of this seed)."""
    o = run(replace(cfg, n_trials=0))
    return o.test_accuracy


def plot(o: Outcome, out: Path) -> list[Path]:
    plt = pyplot()
    cfg = o.cfg
    corr = np.array([t.correct for t in o.train], float)
    w = max(5, min(20, len(corr) // 5))
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    ax[0].plot(np.arange(1, len(corr) + 1), corr, ".", color="tab:gray", ms=3, label="trial (1 = right)")
    run_acc = np.array([corr[max(0, i + 1 - w):i + 1].mean() for i in range(len(corr))])
    ax[0].plot(np.arange(1, len(corr) + 1), run_acc, color="tab:blue", label=f"running accuracy (last {w} trials)")
    ax[0].axhline(0.5, color="k", ls="--", lw=0.8, label="chance")
    ax[0].axhline(o.test_accuracy, color="tab:green", lw=1.2, label=f"test accuracy (frozen) {o.test_accuracy:.2f}")
    ax[0].set_ylim(-0.05, 1.05)
    ax[0].set_xlabel("training trial")
    ax[0].set_ylabel("accuracy")
    ax[0].set_title("R-STDP two-choice task: accuracy over trials")
    ax[0].legend(fontsize=8, loc="lower right")
    n = cfg.n_per_pattern
    im = ax[1].imshow(o.w1, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0)
    ax[1].axvline(n - 0.5, color="w", lw=1)
    ax[1].set_yticks([0, 1], ["choice 0", "choice 1"])
    ax[1].set_xlabel(f"afferent (0..{n - 1}: pattern A, {n}..{2 * n - 1}: pattern B)")
    ax[1].set_title("weights after training")
    fig.colorbar(im, ax=ax[1], label="weight")
    return [save_figure(fig, out / "rstdp_accuracy.png")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"small run for tests ({QUICK.n_trials} training trials)")
    ap.add_argument("--trials", type=positive_int, default=None, help="training trials")
    ap.add_argument("--test-trials", type=positive_int, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--out", default=None, help="directory for the PNG (default out/learning/rstdp)")
    ap.add_argument("--no-plots", action="store_true")
    args = ap.parse_args(argv)
    cfg = QUICK if args.quick else Config()
    for key, val in (("n_trials", args.trials), ("n_test", args.test_trials), ("seed", args.seed)):
        if val is not None:
            cfg = replace(cfg, **{key: val})
    o = run(cfg)
    base = initial_test(cfg)
    k = max(1, min(20, cfg.n_trials // 4))
    e_tr = np.mean([t.energy_j for t in o.train])
    l_tr = np.mean([t.learning_j for t in o.train])
    print(f"R-STDP two-choice task on the emulated chip, one closed-loop simulation ({cfg.n_trials} training "
          f"trials of {cfg.trial_steps} steps + {cfg.gap} silent, {cfg.n_test} test trials, reward only for a right "
          "choice)\n")
    print(markdown_table(("measure", "value"), [
        (f"training accuracy, first {k} trials", f"{o.train_accuracy(0, k):.2f}"),
        (f"training accuracy, last {k} trials", f"{o.train_accuracy(len(o.train) - k, len(o.train)):.2f}"),
        ("rewarded trials", f"{sum(t.correct for t in o.train)} / {len(o.train)}"),
        ("test accuracy before training (same test trials)", f"{base:.2f}"),
        ("test accuracy after training (weights frozen)", f"{o.test_accuracy:.2f}"),
        ("energy per training trial (model estimate)", fmt_energy(e_tr)),
        ("  of which learning engine", fmt_energy(l_tr)),
        ("energy per test trial", fmt_energy(np.mean([t.energy_j for t in o.test]))),
    ]))
    n = cfg.n_per_pattern
    print()
    print(markdown_table(("mean weight", "from A afferents", "from B afferents"), [
        ("choice 0, before", float(o.w0[0, :n].mean()), float(o.w0[0, n:].mean())),
        ("choice 0, after", float(o.w1[0, :n].mean()), float(o.w1[0, n:].mean())),
        ("choice 1, before", float(o.w0[1, :n].mean()), float(o.w0[1, n:].mean())),
        ("choice 1, after", float(o.w1[1, :n].mean()), float(o.w1[1, n:].mean()))]))
    if not args.no_plots:
        paths = plot(o, out_dir(args.out, "rstdp"))
        print("\nfigures: " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
