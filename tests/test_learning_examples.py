"""The three on-chip learning workloads in quick mode: each must show its learning effect on the
emulated chip (compile + emulate with the learning engine and its energy report).

Margins are set from measured quick runs (docs/learning.md lists them) with room for nothing but
the deterministic result: every run here is seeded, so a change of behaviour is a real change.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples.learning import reservoir_digits as RD  # noqa: E402
from examples.learning import rstdp_choice as RC  # noqa: E402
from examples.learning import stdp_pattern as SP  # noqa: E402
from neurocomp.errors import ValidationError  # noqa: E402


# ----------------------------------------------------------------------------- STDP pattern
@pytest.fixture(scope="module")
def stdp_outcome():
    return SP.run(SP.QUICK)


def test_stdp_latency_falls_and_neuron_becomes_selective(stdp_outcome):
    st = SP.phase_stats(stdp_outcome)
    first, last = st["first"], st["last"]
    # measured (QUICK, seed 2): latency 25.6 -> 9.7 steps, hit rate 0.66 -> 1.00, false alarms 0.16 -> 0.00
    assert last["latency"] < first["latency"] - 8
    assert last["hit_rate"] >= 0.9
    assert last["false_alarm_rate"] <= 0.05
    assert last["pattern_spikes"] > 10 * max(last["noise_spikes"], 0.01)


def test_stdp_weights_move_to_pattern_afferents(stdp_outcome):
    o = stdp_outcome
    n = o.cfg.n_pattern
    assert o.w1.min() >= 0                       # excitatory sign mode keeps STDP weights >= 0
    assert o.w1[:n].mean() > 3 * o.w1[n:].mean()  # noise-only afferents are depressed
    assert abs(o.w0[:n].mean() - o.w0[n:].mean()) < 5   # ... and started equal


def test_stdp_energy_report_has_learning(stdp_outcome):
    o = stdp_outcome
    assert 0 < o.energy_learning < o.energy_total
    assert 0 < o.learning_per_presentation < o.energy_per_presentation


def test_stdp_stimulus_hides_the_pattern_in_rate():
    cfg = SP.QUICK
    stim = SP.make_stimulus(cfg)
    inside = np.repeat(stim.is_pattern, cfg.pattern_len)
    pat = stim.spikes[:, :cfg.n_pattern]
    r_in, r_out = pat[inside].mean(), pat[~inside].mean()
    assert abs(r_in - r_out) < 0.15 * r_out      # same rate inside and outside: only timing gives it away


def test_stdp_bad_config_is_refused():
    with pytest.raises(ValidationError, match="n_pattern"):
        SP.run(SP.Config(n_pattern=500))


# ----------------------------------------------------------------------------- R-STDP choice
@pytest.fixture(scope="module")
def rstdp_outcome():
    return RC.run(RC.QUICK)


def test_rstdp_learns_the_choice_from_reward(rstdp_outcome):
    o = rstdp_outcome
    base = RC.initial_test(RC.QUICK)
    # measured (QUICK, seed 5): test accuracy 0.33 untrained -> 0.97 after 60 trials; 40 test trials, so
    # 0.85 is > 4 binomial standard deviations above chance (0.5 +- 0.08)
    assert o.test_accuracy >= 0.85
    assert o.test_accuracy >= base + 0.3
    n = len(o.train)
    assert o.train_accuracy(n - 15, n) > o.train_accuracy(0, 15)


def test_rstdp_weights_sort_by_pattern(rstdp_outcome):
    o = rstdp_outcome
    n = o.cfg.n_per_pattern
    # choice 0 must prefer A afferents, choice 1 the B afferents
    assert o.w1[0, :n].mean() > o.w1[0, n:].mean()
    assert o.w1[1, n:].mean() > o.w1[1, :n].mean()


def test_rstdp_energy_per_trial(rstdp_outcome):
    e = [t.energy_j for t in rstdp_outcome.train]
    ln = [t.learning_j for t in rstdp_outcome.train]
    assert all(0 < a < b for a, b in zip(ln, e))


def test_rstdp_choice_rule():
    s = np.zeros((10, 2), np.uint8)
    assert RC.choice(s, 5, 0.1) == -1
    s[3, 1] = 1
    assert RC.choice(s, 5, 0.1) == 1
    s[2, 0] = 1                      # tie on counts: the earlier first spike wins
    assert RC.choice(s, 5, 0.9) == 0
    s[2, 1] = 1
    s[3, 0] = 1                      # same counts, same first step: the coin decides
    assert RC.choice(s, 5, 0.1) == 0 and RC.choice(s, 5, 0.9) == 1
    with pytest.raises(ValidationError, match="reward"):
        RC.run(RC.Config(reward=200, n_trials=1, n_test=1))


# ----------------------------------------------------------------------------- reservoir
@pytest.fixture(scope="module")
def reservoir_outcome():
    return RD.run(RD.QUICK)


def test_reservoir_readout_learns_on_chip(reservoir_outcome):
    o = reservoir_outcome
    # measured (QUICK): chip 0.45 on 60 test digits (0.35 with spike counts alone; chance 0.10 +- 0.039,
    # so 0.3 is 5 sd above it); the untrained readout never fires (0.10); offline logistic regression 0.85
    assert o.chip_acc >= 0.3
    assert o.chip_acc_counts >= 0.25
    assert o.chip_acc > o.untrained_acc + 0.2
    assert o.logreg_acc > 0.7                    # the reservoir itself separates the digits
    assert o.train_energy["learning"] > 0 and o.test_energy["learning"] == 0


def test_reservoir_rule_is_exact_three_factor():
    from neurocomp.rules.grammar import parse_rule
    parsed = parse_rule(RD.readout_rule(RD.QUICK))
    assert parsed.three_factor
    prods = parsed.expressions["dw"].products
    assert [p.shift for p in prods] == [0, 0]    # one 7-bit factor per product: no bit loss


def test_reservoir_sequence_and_windows():
    cfg = RD.Config(T=4, gap=2)
    img = np.full((2, 64), 16, np.uint8)
    xs, teach = RD.sequence(cfg, img, np.array([3, 7]))
    assert xs.shape == (12, 64) and teach.shape == (12, 10)
    assert xs[:4].all() and not xs[4:6].any()
    assert (teach[:4, 3] == cfg.teacher).all() and teach[:4].sum() == 4 * cfg.teacher
    assert (teach[6:10, 7] == cfg.teacher).all() and not teach[10:].any()
    counts = RD.window_counts(cfg, np.ones((12, 5), np.uint8), 2)
    assert counts.shape == (2, 5) and counts.sum() == 11 * 5    # the last step of the run has no successor


def test_reservoir_predict_ties():
    counts = np.array([[2, 2, 0], [0, 0, 0], [1, 3, 3]])
    v = np.array([[5, 9, 99], [1, 7, 2], [0, 4, 4]])
    assert RD.predict(counts).tolist() == [0, 0, 1]
    assert RD.predict(counts, v).tolist() == [1, 1, 1]     # v breaks count ties only among the tied


def test_reservoir_bad_teacher():
    with pytest.raises(ValidationError, match="teacher"):
        RD.run(RD.Config(teacher=300, n_train=2, n_test=2))


# ----------------------------------------------------------------------------- emulator == Lava
def _lava_case(kind):
    """A small slice of each workload: (network, steps, inputs, plastic projection)."""
    if kind == "stdp":
        cfg = SP.Config(n_segments=6, p_pattern=0.5, seed=2)
        stim = SP.make_stimulus(cfg)
        return SP.build_network(cfg, SP.initial_weights(cfg)), stim.spikes.shape[0], {SP.INPUT: stim.spikes}, SP.PROJ
    if kind == "rstdp":
        cfg = RC.QUICK
        rng = np.random.default_rng(0)
        x = RC.stimulus(cfg, 0, rng)
        e = (rng.random((cfg.trial_steps, 2)) < cfg.p_explore).astype(np.uint8)
        r = np.zeros((cfg.trial_steps, 2), np.int64)
        r[cfg.decide:] = cfg.reward
        w = np.random.default_rng([5, 0]).integers(10, 50, (2, cfg.n_inputs))
        return RC.build_network(cfg, w), cfg.trial_steps, {RC.INPUT: x, RC.EXPLORE: e, RC.REWARD: r}, RC.PROJ
    cfg = RD.Config(n_res=30, in_fanin=20, out_vth=1000)
    split = RD.load_split()
    xs, teach = RD.sequence(cfg, split.x_train[:3], split.y_train[:3])
    w_in, w_rec = RD.reservoir_weights(cfg)
    net = RD.build_network(cfg, w_in, w_rec, np.zeros((10, cfg.n_res), np.int64), learn=True)
    return net, xs.shape[0], {RD.INPUT: xs, RD.TEACHER: teach}, RD.PROJ


@pytest.mark.parametrize("kind", ["stdp", "rstdp", "reservoir"])
def test_emulated_learning_equals_lava(kind):
    """The learning the examples rely on is Lava's own arithmetic: same spikes, same learned weights."""
    pytest.importorskip("lava")
    from examples.learning.common import lava_agrees, run_on_chip
    net, steps, inputs, proj = _lava_case(kind)
    chip = run_on_chip(net, steps, inputs)
    assert np.any(chip.result.weights[proj] != net.projections[proj].connectivity.weights)   # it did learn
    agree = lava_agrees(chip, steps, inputs, [proj])
    assert all(agree["spikes"].values()) and all(agree["weights"].values()), agree


# ----------------------------------------------------------------------------- scripts
@pytest.mark.parametrize("mod, args, header, n_png", [
    (RC, ["--trials", "4", "--test-trials", "4"], "| measure | value |", 1),
    (SP, ["--segments", "20"], "| phase | hit rate |", 2),
    (RD, ["--train", "10", "--test", "10", "--epochs", "1"], "| readout | test accuracy |", 1),
])
def test_main_prints_table_and_writes_png(mod, args, header, n_png, tmp_path, capsys):
    assert mod.main(["--quick", *args, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert header in out and "energy" in out
    pngs = list(tmp_path.glob("*.png"))
    assert len(pngs) == n_png and all(p.stat().st_size > 10_000 for p in pngs)
