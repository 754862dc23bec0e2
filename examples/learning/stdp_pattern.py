"""STDP on the emulated chip finds a repeated spatio-temporal spike pattern hidden in noise.

A small version of Masquelier, Guyonneau & Thorpe (2008, PLoS ONE 3:e1377): ``n_inputs`` afferents
fire as Poisson noise; at random times half of them replay the same frozen ``pattern_len``-step spike
pattern (each pattern afferent fires exactly once in it, at a fixed step), so the pattern changes
neither the afferents' rates nor the total input rate: only spike *timing* gives it away. On top, every
afferent gets extra Poisson jitter noise everywhere, inside the pattern too. One Loihi LIF neuron reads
all afferents through a plastic Dense projection with pair STDP (``nc.rules.stdp``, excitatory)::

    dw = a_plus * x1 * y0 - a_minus * y1 * x0        (x1/y1: pre/post traces, impulse 16, tau steps)

Depression slightly dominates (``impulse_minus > impulse_plus``), so afferents that fire at random
relative to the post spikes lose weight, while the pattern afferents that fire just before the post
spike during a pattern gain weight: the neuron becomes selective to the pattern and, because the
earliest causal afferents keep being potentiated, its first spike moves towards the pattern onset.

The whole run is one ``emulate`` of the compiled network (learning on the emulated chip; weights,
spikes and the cost model's energy, class "learning" included, come from that run). Stimulus segments
are ``pattern_len`` steps long; each is a pattern with probability ``p_pattern``.

Outputs: a markdown table (latency, hit rate, false alarms, weights, energy per presentation), and in
``--out``: ``stdp_weights.png`` (weights before/after, pattern afferents sorted by their spike time
in the pattern), ``stdp_latency.png`` (post-spike latency vs presentation).

Usage (from the repository root)::

    .venv/bin/python examples/learning/stdp_pattern.py            # 1600 segments (~80k steps)
    .venv/bin/python examples/learning/stdp_pattern.py --quick    # the test's small run
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
                                      run_on_chip, save_figure)
from neurocomp.errors import ValidationError  # noqa: E402

INPUT, POST, PROJ = "in", "post", "plastic"


@dataclass(frozen=True)
class Config:
    """Stimulus, neuron and rule parameters (integer LIF units: ``du``/``dv`` decays in 1/4096 per step,
    ``vth`` in weight units; see ``nc.LoihiLIF``)."""
    n_inputs: int = 200
    n_pattern: int = 100          # afferents 0..n_pattern-1 take part in the pattern
    pattern_len: int = 50         # steps; also the segment length
    n_segments: int = 1600
    p_pattern: float = 0.25       # probability that a segment is the pattern
    p_bg: float = 0.02            # background Poisson spike probability per step (20 Hz at 1 ms steps)
    p_noise: float = 0.01         # extra jitter noise on every afferent, pattern included (10 Hz)
    w_init: tuple = (40, 80)      # initial weights uniform in [lo, hi)
    du: int = 2048                # synaptic current: half-life one step
    dv: int = 410                 # membrane: tau ~ 10 steps
    vth: int = 7000
    a_plus: float = 2 ** -2
    impulse_plus: float = 16
    impulse_minus: float = 20     # a_minus * impulse_minus / (a_plus * impulse_plus) = 1.25: depression wins
    tau: float = 16
    seed: int = 1

    def check(self) -> None:
        if not 0 < self.n_pattern <= self.n_inputs:
            raise ValidationError(f"stdp_pattern: n_pattern = {self.n_pattern} must be in 1..n_inputs "
                                  f"({self.n_inputs})")
        for name in ("p_pattern", "p_bg", "p_noise"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise ValidationError(f"stdp_pattern: {name} = {v} must be a probability in [0, 1]")
        if self.n_segments < 4 or self.pattern_len < 2:
            raise ValidationError("stdp_pattern: need n_segments >= 4 and pattern_len >= 2")


QUICK = Config(n_segments=800, seed=2)


@dataclass(frozen=True)
class Stimulus:
    spikes: np.ndarray       # uint8 [T, n_inputs]
    is_pattern: np.ndarray   # bool [n_segments]
    pattern_times: np.ndarray  # [n_pattern] step of each pattern afferent's spike within the pattern


def make_stimulus(cfg: Config) -> Stimulus:
    """Background Poisson noise with the frozen pattern pasted into the pattern segments, plus jitter noise."""
    cfg.check()
    rng = np.random.default_rng(cfg.seed)
    L, n = cfg.pattern_len, cfg.n_inputs
    steps = cfg.n_segments * L
    pattern_times = rng.integers(0, L, cfg.n_pattern)
    is_pat = rng.random(cfg.n_segments) < cfg.p_pattern
    x = rng.random((steps, n)) < cfg.p_bg
    seg = x.reshape(cfg.n_segments, L, n)
    seg[is_pat, :, :cfg.n_pattern] = False
    idx = np.nonzero(is_pat)[0]
    seg[idx[:, None], pattern_times[None, :], np.arange(cfg.n_pattern)[None, :]] = True
    x |= rng.random((steps, n)) < cfg.p_noise
    return Stimulus(x.astype(np.uint8), is_pat, pattern_times)


def initial_weights(cfg: Config) -> np.ndarray:
    rng = np.random.default_rng(cfg.seed + 1000)
    return rng.integers(cfg.w_init[0], cfg.w_init[1], (1, cfg.n_inputs)).astype(np.int64)


def build_network(cfg: Config, w0: np.ndarray):
    """``in`` (n_inputs) -> plastic Dense (pair STDP, excitatory) -> one LoihiLIF ``post``."""
    import neurocomp as nc
    rule = nc.rules.stdp(a_plus=cfg.a_plus, a_minus=cfg.a_plus, tau_plus=cfg.tau, tau_minus=cfg.tau,
                         impulse_plus=cfg.impulse_plus, impulse_minus=cfg.impulse_minus, w_min=0,
                         rng_seed=cfg.seed, name="stdp")
    net = nc.Network("stdp_pattern")
    net.input(INPUT, (cfg.n_inputs,))
    net.population(POST, (1,), nc.LoihiLIF(du=cfg.du, dv=cfg.dv, vth=cfg.vth))
    net.connect(INPUT, POST, nc.Dense(w0), name=PROJ, learning=rule)
    net.output(POST)
    return net


@dataclass
class Outcome:
    cfg: Config
    w0: np.ndarray
    w1: np.ndarray
    latency: np.ndarray          # [n_presentations] first post spike step within the pattern (nan: none)
    pat_spikes: np.ndarray       # [n_presentations] post spikes during each pattern
    bg_spikes: np.ndarray        # [n_noise_segments] post spikes during each noise segment
    energy_total: float
    energy_learning: float
    energy_per_presentation: float
    learning_per_presentation: float
    steps: int
    pattern_times: np.ndarray    # [n_pattern] step of each pattern afferent's spike within the pattern


def analyse(cfg: Config, stim: Stimulus, post_spikes: np.ndarray):
    """Per pattern presentation: first-spike latency (steps after onset, nan if silent) and spike count;
    spike count per noise segment."""
    seg = np.asarray(post_spikes).reshape(cfg.n_segments, cfg.pattern_len)
    pat = seg[stim.is_pattern]
    fired = pat.any(axis=1)
    latency = np.where(fired, np.argmax(pat, axis=1), np.nan).astype(np.float64)
    return latency, pat.sum(axis=1), seg[~stim.is_pattern].sum(axis=1)


def run(cfg: Config) -> Outcome:
    stim = make_stimulus(cfg)
    w0 = initial_weights(cfg)
    net = build_network(cfg, w0)
    steps = stim.spikes.shape[0]
    chip = run_on_chip(net, steps, {INPUT: stim.spikes})
    latency, pat_sp, bg_sp = analyse(cfg, stim, chip.result.spikes[POST][:, 0])
    per_step = np.asarray(chip.result.report["cost"]["per_step"]["energy_j"])
    in_pattern = np.repeat(stim.is_pattern, cfg.pattern_len)
    n_pres = max(int(stim.is_pattern.sum()), 1)
    # learning energy is the same every step (every plastic synapse updates every epoch)
    learn_per_step = chip.energy_by_class["learning"] / steps
    return Outcome(cfg, w0[0], chip.result.weights[PROJ][0], latency, pat_sp, bg_sp, chip.energy["total"],
                   chip.energy_by_class["learning"], float(per_step[in_pattern].sum() / n_pres),
                   learn_per_step * cfg.pattern_len, steps, stim.pattern_times)


def phase_stats(o: Outcome, frac: float = 0.25) -> dict:
    """Hit rate, spikes and mean latency over the first and the last ``frac`` of presentations."""
    n, m = len(o.latency), len(o.bg_spikes)
    k, j = max(1, int(n * frac)), max(1, int(m * frac))
    out = {}
    for name, sl, bl in (("first", slice(0, k), slice(0, j)), ("last", slice(n - k, n), slice(m - j, m))):
        lat = o.latency[sl]
        out[name] = {"hit_rate": float(np.mean(~np.isnan(lat))),
                     "latency": float(np.nanmean(lat)) if np.any(~np.isnan(lat)) else float("nan"),
                     "pattern_spikes": float(o.pat_spikes[sl].mean()),
                     "noise_spikes": float(o.bg_spikes[bl].mean()),
                     "false_alarm_rate": float(np.mean(o.bg_spikes[bl] > 0))}
    return out


def plot(o: Outcome, out: Path) -> list[Path]:
    plt = pyplot()
    cfg = o.cfg
    order = np.concatenate([np.argsort(o.pattern_times, kind="stable"), np.arange(cfg.n_pattern, cfg.n_inputs)])
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for a, w, title in ((ax[0], o.w0, "before learning"), (ax[1], o.w1, "after learning")):
        colors = np.where(np.arange(cfg.n_inputs) < cfg.n_pattern, "tab:red", "tab:gray")[order]
        a.bar(np.arange(cfg.n_inputs), w[order], color=colors, width=1.0)
        a.axvline(cfg.n_pattern - 0.5, color="k", lw=0.8, ls="--")
        a.set_title(f"weights {title}")
        a.set_xlabel("afferent")
    ax[0].set_ylabel("weight (8-bit, excitatory)")
    from matplotlib.patches import Patch
    ax[1].legend(handles=[Patch(color="tab:red", label="pattern afferents, by spike time in the pattern"),
                          Patch(color="tab:gray", label="noise-only afferents")], fontsize=8, loc="upper right")
    p1 = save_figure(fig, out / "stdp_weights.png")

    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    pres = np.arange(len(o.latency))
    ax[0].scatter(pres, o.latency, s=6, color="tab:blue", label="first post spike")
    silent = np.isnan(o.latency)
    ax[0].scatter(pres[silent], np.full(silent.sum(), cfg.pattern_len), s=6, marker="x", color="tab:gray",
                  label="no spike in pattern")
    ax[0].set_xlabel("pattern presentation")
    ax[0].set_ylabel("latency after pattern onset (steps)")
    ax[0].set_ylim(-1, cfg.pattern_len + 2)
    ax[0].legend(loc="upper right", fontsize=8)
    ax[0].set_title("post-synaptic latency")
    w = max(5, len(o.latency) // 20)
    kern = np.ones(w) / w
    ax[1].plot(np.convolve(o.pat_spikes, kern, mode="valid"), label="during pattern")
    xb = np.linspace(0, len(o.latency) - w, max(len(o.bg_spikes) - w + 1, 1))
    ax[1].plot(xb, np.convolve(o.bg_spikes, np.ones(w) / w, mode="valid")[:xb.size], label="during noise")
    ax[1].set_xlabel("pattern presentation")
    ax[1].set_ylabel(f"post spikes per {cfg.pattern_len}-step segment\n(running mean of {w})")
    ax[1].legend(fontsize=8)
    ax[1].set_title("selectivity")
    p2 = save_figure(fig, out / "stdp_latency.png")
    return [p1, p2]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"small run for tests ({QUICK.n_segments} segments)")
    ap.add_argument("--segments", type=positive_int, default=None, help="number of 50-step segments")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--out", default=None, help="directory for the PNGs (default out/learning/stdp)")
    ap.add_argument("--no-plots", action="store_true")
    args = ap.parse_args(argv)
    cfg = QUICK if args.quick else Config()
    if args.segments is not None:
        cfg = replace(cfg, n_segments=args.segments)
    if args.seed is not None:
        cfg = replace(cfg, seed=args.seed)
    o = run(cfg)
    st = phase_stats(o)
    rows = []
    for name in ("first", "last"):
        s = st[name]
        rows.append((f"{name} 25% of presentations", f"{s['hit_rate']:.2f}", f"{s['latency']:.1f}",
                     f"{s['pattern_spikes']:.2f}", f"{s['noise_spikes']:.2f}", f"{s['false_alarm_rate']:.2f}"))
    print(f"STDP pattern detection on the emulated chip ({o.steps} steps, {len(o.latency)} presentations, "
          f"{cfg.n_inputs} afferents, {cfg.n_pattern} in the pattern)\n")
    print(markdown_table(("phase", "hit rate", "mean latency (steps)", "spikes / pattern", "spikes / noise segment",
                          "false-alarm rate"), rows))
    pw, nw = o.w1[:cfg.n_pattern], o.w1[cfg.n_pattern:]
    order = np.argsort(o.pattern_times, kind="stable")
    q = cfg.n_pattern // 4
    print()
    print(markdown_table(("mean weight", "before", "after"), [
        ("pattern afferents", float(o.w0[:cfg.n_pattern].mean()), float(pw.mean())),
        ("  earliest 25% in the pattern", float(o.w0[order[:q]].mean()), float(pw[order[:q]].mean())),
        ("  middle 50%", float(o.w0[order[q:-q]].mean()), float(pw[order[q:-q]].mean())),
        ("  latest 25%", float(o.w0[order[-q:]].mean()), float(pw[order[-q:]].mean())),
        ("noise-only afferents, mean", float(o.w0[cfg.n_pattern:].mean()), float(nw.mean())),
        ("afferents at >= 200", int((o.w0 >= 200).sum()), int((o.w1 >= 200).sum()))]))
    print()
    print(markdown_table(("energy (model estimate)", "value"), [
        ("total run", fmt_energy(o.energy_total)),
        ("learning (all epochs)", fmt_energy(o.energy_learning)),
        ("per pattern presentation", fmt_energy(o.energy_per_presentation)),
        ("  of which learning", fmt_energy(o.learning_per_presentation))]))
    if not args.no_plots:
        paths = plot(o, out_dir(args.out, "stdp"))
        print("\nfigures: " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
