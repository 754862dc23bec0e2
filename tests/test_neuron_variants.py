"""Lava's LIF variants (issue 14): LIFReset, TernaryLIF, ATRLIF.

Hand-worked steps from Lava 0.10's fixed-point equations (spec and numba kernel), the IR's and the Lava
lowering's refusals, and the numpy reference against Lava's CPU simulation (``fixed_pt``) on small random
networks mixing the models, comparing spikes (TernaryLIF: its -1/0/+1 payloads) and every state variable
Lava has a Var for. The kernel == spec property tests on random parameters are in ``test_neurons.py``.
"""
from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.neurons import ATRLIF, NEURONS, LIFReset, LoihiLIF, TernaryLIF, kind_of
from neurocomp.semantics.reference import build_model, initial_state, simulate_reference, step

from modelnet import lava_states  # noqa: F401  (Lava's run: every state variable its process has a Var for)
from netgen import random_lava_connection

NEW = (LIFReset, TernaryLIF, ATRLIF)


def run_model(model, a_rows):
    """Step ``model`` (n neurons) through inputs ``a_rows`` [T, n] with its spec and its numba kernel; assert
    they agree and return ``{var: [T, n]}`` plus ``"s"`` (spikes or payloads). A two-input model (RF) takes
    ``a_rows`` as [T, 2, n]."""
    from test_neurons import run_kernel
    kind = kind_of(model)
    a_rows = np.asarray(a_rows, np.int64)
    n = a_rows.shape[-1]
    params = {k: model.broadcast(k, n).astype(np.int64) for k in kind.params}
    state = {v: model.broadcast(kind.initial[v], n).astype(np.int64) for v in kind.state}
    P = kind.kernel_prepare(params)
    S = np.stack([state[v] for v in kind.state]).astype(np.int64)
    out = {v: [] for v in (*kind.state, "s")}
    for a in a_rows:
        state, s = kind.spec_step(params, state, a)
        assert np.array_equal(run_kernel(kind, a, P, S), s)
        assert all(np.array_equal(S[i], state[v]) for i, v in enumerate(kind.state))
        for v in kind.state:
            out[v].append(state[v])
        out["s"].append(np.asarray(s, np.int64))
    return {k: np.array(v) for k, v in out.items()}


# ------------------------------------------------------------------------------ hand-worked steps
def test_lif_reset_clears_u_and_v_before_the_input_of_steps_offset_mod_interval():
    # du=4095: u = a << 6 each step; dv=0: v integrates; bias 10 per step; no input.
    # Lava clears when time_step % 3 == 4 % 3 == 1, i.e. at t = 1, 4, 7 (time_step starts at 1).
    m = LIFReset(du=4095, dv=0, vth=1000, reset_interval=3, reset_offset=4, bias_mant=10)
    out = run_model(m, np.zeros((8, 1)))
    assert out["v"][:, 0].tolist() == [10, 20, 30, 10, 20, 30, 10, 20]
    assert out["reset_phase"][:, 0].tolist() == [1, 2, 0, 1, 2, 0, 1, 2]
    # Lava's defaults (interval 1, offset 0): cleared every step, so v never exceeds one step's worth
    out = run_model(LIFReset(du=0, dv=0, vth=1000, bias_mant=10, u0=500, v0=500), np.full((4, 1), 3))
    assert out["u"][:, 0].tolist() == [192] * 4 and out["v"][:, 0].tolist() == [202] * 4
    # spikes as LoihiLIF (v > vth << 6, v = 0, u kept); the clear at t=4 also drops u
    out = run_model(LIFReset(du=4095, dv=0, vth=2, reset_interval=3, reset_offset=1), np.ones((5, 1)))
    assert out["v"][:, 0].tolist() == [64, 128, 0, 64, 128] and out["s"][:, 0].tolist() == [0, 0, 1, 0, 0]


def test_ternary_lif_sends_plus_and_minus_one_and_resets_v_on_both():
    # du=4095: u = a << 6; dv=0: v integrates; thresholds +-2 << 6 = +-128, strict on both sides.
    m = TernaryLIF(du=4095, dv=0, vth_hi=2, vth_lo=-2)
    out = run_model(m, np.array([1, 1, 1, -1, -1, -1, -1, -1])[:, None])
    assert out["v"][:, 0].tolist() == [64, 128, 0, -64, -128, 0, -64, -128]
    assert out["s"][:, 0].tolist() == [0, 0, 1, 0, 0, -1, 0, 0]
    assert out["u"][:, 0].tolist() == [64, 64, 64, -64, -64, -64, -64, -64]      # u is not reset
    # vth_lo == vth_hi is allowed (Lava refuses only vth_lo > vth_hi); v == threshold sends nothing
    out = run_model(TernaryLIF(du=4095, dv=4095, vth_hi=0, vth_lo=0), np.array([[1, -1, 0]]))
    assert out["s"][0].tolist() == [1, -1, 0]


def test_atrlif_raises_its_threshold_and_refractory_state_on_each_spike():
    # delta_i=4095: i = a << 6 (the factor 4096 - (4095 + 1) is 0); delta_v=0: v integrates, never reset;
    # delta_theta=0: theta keeps its increments; delta_r=2048: r halves; theta_0=2 -> 128; theta_step=1 -> 64.
    m = ATRLIF(delta_i=4095, delta_v=0, delta_theta=0, delta_r=2048, theta_0=2, theta_step=1)
    out = run_model(m, np.ones((6, 1)))
    # t1: v=64, 64-0 >= 128 no.  t2: v=128 >= 128: spike, r = 0 + 2*128, theta = 128 + 64.
    # t3: r=128, 192-128 < 192.  t4: r=64, 256-64 >= 192: spike, r = 64 + 2*192 = 448, theta = 256.
    # t5: r=224, 320-224 < 256.  t6: r=112, 384-112 >= 256: spike, r = 112 + 512 = 624, theta = 320.
    assert out["v"][:, 0].tolist() == [64, 128, 192, 256, 320, 384]
    assert out["s"][:, 0].tolist() == [0, 1, 0, 1, 0, 1]
    assert out["r"][:, 0].tolist() == [0, 256, 128, 448, 224, 624]
    assert out["theta"][:, 0].tolist() == [128, 192, 192, 256, 256, 320]
    # theta decays toward theta_0 << 6 (delta_theta=2048 halves the excess, rounding toward 0)
    out = run_model(ATRLIF(delta_i=0, delta_v=0, delta_theta=2048, delta_r=0, theta_0=1, theta_step=0,
                           theta0=64 + 101), np.zeros((3, 1)))
    assert out["theta"][:, 0].tolist() == [64 + 50, 64 + 25, 64 + 12]
    # delta_i=0 still decays i by 1/4096 (Lava's ds_offset), rounding toward 0
    out = run_model(ATRLIF(delta_i=0, delta_v=4095, delta_theta=0, delta_r=0, theta_0=4095, theta_step=0,
                           i0=[8192, -8192]), np.zeros((1, 2)))
    assert out["i"][0].tolist() == [8190, -8190]


def test_ir_validation():
    with pytest.raises(nc.ValidationError, match="vth_lo"):
        TernaryLIF(du=0, dv=0, vth_hi=-3, vth_lo=-2)
    with pytest.raises(nc.ValidationError, match="'reset_interval' = 0 is below its minimum 1"):
        LIFReset(du=0, dv=0, vth=1, reset_interval=0)
    with pytest.raises(nc.ValidationError, match="reset_phase0"):
        LIFReset(du=0, dv=0, vth=1, reset_interval=[2, 3], reset_phase0=2)
    with pytest.raises(nc.ValidationError, match="'delta_r' = 4096 is above its maximum 4095"):
        ATRLIF(delta_i=0, delta_v=0, delta_theta=0, delta_r=4096, theta_0=1, theta_step=1)
    with pytest.raises(nc.ValidationError, match="integers"):
        ATRLIF(delta_i=0.4, delta_v=0, delta_theta=0, delta_r=0, theta_0=1, theta_step=1)
    m = ATRLIF(delta_i=0, delta_v=0, delta_theta=0, delta_r=0, theta_0=[3, 5], theta_step=1)
    assert m.theta0.tolist() == [192, 320]                      # theta starts at theta_0 << 6, as in Lava


def test_models_are_registered_and_round_trip_through_the_native_format(tmp_path):
    assert all(cls in NEURONS for cls in NEW) and kind_of(TernaryLIF).graded and not kind_of(ATRLIF).graded
    net = nc.Network("variants")
    net.input("in", (3,))
    net.population("r", (3,), LIFReset(du=1, dv=2, vth=3, reset_interval=[2, 3, 4], reset_offset=5))
    net.population("t", (3,), TernaryLIF(du=1, dv=2, vth_hi=3, vth_lo=[-1, -2, -3]))
    net.population("a", (3,), ATRLIF(delta_i=1, delta_v=2, delta_theta=3, delta_r=4, theta_0=5, theta_step=6,
                                     r0=[0, 7, -8]))
    for p in "rta":
        net.connect("in", p, nc.Dense(np.eye(3, dtype=int) * 100))
    nc.save(net, tmp_path / "v.h5")
    assert nc.load(tmp_path / "v.h5") == net


# ------------------------------------------------------------------------------ Lava refusals
def _one(model, n=2):
    net = nc.Network("refuse")
    net.population("p", (n,), model)
    return net


@pytest.mark.parametrize("model, match", [
    (LIFReset(du=[0, 1], dv=0, vth=1), "population 'p': LIFReset 'du' varies.*LIFReset takes one du"),
    (LIFReset(du=0, dv=0, vth=1, reset_interval=[2, 3]), "'reset_interval' varies"),
    (LIFReset(du=0, dv=0, vth=1, reset_interval=3, reset_phase0=1), "'reset_phase0' is not 0"),
    (TernaryLIF(du=0, dv=0, vth_hi=[1, 2]), "TernaryLIF 'vth_hi' varies"),
    (ATRLIF(delta_i=0, delta_v=0, delta_theta=[0, 1], delta_r=0, theta_0=1, theta_step=1), "'delta_theta' varies"),
    (ATRLIF(delta_i=0, delta_v=0, delta_theta=0, delta_r=0, theta_0=1, theta_step=1, theta0=65),
     "ignores the initial theta"),
])
def test_lava_refusals_name_the_population(model, match):
    from neurocomp.backends.lava import lower
    with pytest.raises(nc.UnsupportedError, match=match):
        lower(_one(model), 3)


# ------------------------------------------------------------------------------ reference == Lava
def reference_states(net, steps, inputs):
    """``{(population, var): [T, n]}`` of every state variable and ``"spikes"`` (payloads) from the reference."""
    st = initial_state(build_model(net))
    out = {}
    for t in range(steps):
        st = step(st, {k: v[t] for k, v in inputs.items()})
        for pop, state in st.neurons.items():
            out.setdefault((pop, "spikes"), []).append(np.asarray(st.spikes[pop], np.int64))
            for var, val in state.items():
                out.setdefault((pop, var), []).append(val)
    return {k: np.array(v) for k, v in out.items()}


def random_variant_network(seed: int):
    """1 input, 3-4 populations (each of LIFReset, TernaryLIF, ATRLIF, sometimes a LoihiLIF), projections from
    the input into every population plus random feed-forward and recurrent ones (Dense/Sparse, delays)."""
    rng = np.random.default_rng(seed)
    pick = lambda *xs: xs[int(rng.integers(len(xs)))]
    per = lambda lo, hi, n: rng.integers(lo, hi + 1, n) if rng.random() < 0.5 else int(rng.integers(lo, hi + 1))
    net = nc.Network(f"variants{seed}")
    n_in = int(rng.integers(1, 7))
    net.input("in", (n_in,))
    kinds = ["reset", "ternary", "atr"] + (["lif"] if rng.random() < 0.5 else [])
    for k in kinds:
        n = int(rng.integers(1, 7))
        bias = dict(bias_mant=per(-60, 60, n), bias_exp=per(-2, 4, n))
        du, dv = pick(0, 1, 500, 2048, 4095), pick(0, 1, 300, 4095)
        if k == "reset":
            interval = pick(1, 2, 3, 5, 8)
            model = LIFReset(du=du, dv=dv, vth=int(rng.integers(0, 60)), reset_interval=interval,
                             reset_offset=int(rng.integers(0, 12)), u0=per(-3000, 3000, n), v0=per(-3000, 3000, n),
                             **bias)
        elif k == "ternary":
            hi = int(rng.integers(-5, 60))
            model = TernaryLIF(du=du, dv=dv, vth_hi=hi, vth_lo=int(rng.integers(-60, hi + 1)), u0=per(-3000, 3000, n),
                               v0=per(-3000, 3000, n), **bias)
        elif k == "atr":
            model = ATRLIF(delta_i=du, delta_v=dv, delta_theta=pick(0, 1, 400, 4095), delta_r=pick(0, 1, 1000, 4095),
                           theta_0=pick(0, 1, int(rng.integers(2, 60)), 4095), theta_step=pick(0, 1, int(rng.integers(2, 40))),
                           i0=per(-3000, 3000, n), v0=per(-3000, 3000, n), r0=per(0, 3000, n), **bias)
        else:
            model = LoihiLIF(du=du, dv=dv, vth=int(rng.integers(0, 60)), **bias)
        net.population(k, (n,), model)
    for j, (src, dst) in enumerate([("in", k) for k in kinds] + [
            (pick(*kinds), pick(*kinds)) for _ in range(int(rng.integers(1, 5)))]):
        conn, delay = random_lava_connection(rng, net.populations[dst].size, net.populations[src].size)
        net.connect(src, dst, conn, delay=delay, name=f"e{j}")
    steps = int(rng.integers(15, 30))
    inputs = {"in": (rng.random((steps, n_in)) < rng.uniform(0.2, 0.7)).astype(np.uint8)}
    return net, steps, inputs


def assert_states_equal(ref, lav):
    assert set(lav) <= set(ref)
    for key, got in lav.items():
        diff = np.argwhere(got != ref[key])
        assert diff.size == 0, f"{key} differs first at (step-1, neuron) {diff[0].tolist()}: " \
                               f"lava {got[tuple(diff[0])]}, reference {ref[key][tuple(diff[0])]}"


@pytest.mark.parametrize("seed", range(10))
def test_reference_equals_lava_on_random_networks(seed):
    net, steps, inputs = random_variant_network(seed)
    ref, lav = reference_states(net, steps, inputs), lava_states(net, steps, inputs)
    assert_states_equal(ref, lav)
    compared = {var for _, var in lav}
    assert {"spikes", "u", "v", "i", "theta", "r"} <= compared
    assert not mp.active_children()
    # what the public record gives is the same arrays
    res = simulate_reference(net, steps, inputs, record=("spikes", "v", "u"))
    assert "atr" not in res.u and np.array_equal(res.u["reset"], ref[("reset", "u")])
    for pop in res.v:
        assert np.array_equal(res.v[pop], ref[(pop, "v")])


def test_random_networks_exercise_the_models():
    """The seeds above are not idle: every model spikes, TernaryLIF both ways, a reset and a wrap happen."""
    totals = {}
    for seed in range(10):
        net, steps, inputs = random_variant_network(seed)
        ref = reference_states(net, steps, inputs)
        for (pop, var), arr in ref.items():
            if var == "spikes":
                totals[(pop, "+")] = totals.get((pop, "+"), 0) + int((arr > 0).sum())
                totals[(pop, "-")] = totals.get((pop, "-"), 0) + int((arr < 0).sum())
    assert all(totals[(p, "+")] > 0 for p in ("reset", "ternary", "atr")), totals
    assert totals[("ternary", "-")] > 0 and totals[("reset", "-")] == totals[("atr", "-")] == 0, totals


def test_atrlif_int32_wraps_as_in_lava():
    """Lava keeps r and theta in unclipped int32 arrays: ``v - r`` and ``r + 2*theta`` wrap. Neuron 0's huge
    v does not fire (v - r wraps negative); neuron 1's very negative v fires every step (v - r wraps
    positive) and its r wraps on the first spike; neuron 2 is the control."""
    m = ATRLIF(delta_i=0, delta_v=0, delta_theta=0, delta_r=0, theta_0=1, theta_step=1,
               v0=[2 ** 23 - 1, -(2 ** 23 - 1), 0], r0=[-2 ** 31 + 10, 2 ** 31 - 10, 0])
    out = run_model(m, np.zeros((3, 3)))
    assert out["s"].tolist() == [[0, 1, 0]] * 3
    assert out["r"][:, 1].tolist() == [-2 ** 31 + 118, -2 ** 31 + 118 + 256, -2 ** 31 + 118 + 256 + 384]
    assert out["theta"][:, 1].tolist() == [128, 192, 256]
    net = _one(m, 3)
    net.input("in", (1,))
    net.connect("in", "p", nc.Dense(np.zeros((3, 1), dtype=int)))
    lav = lava_states(net, 3, None)
    assert_states_equal({("p", k if k != "s" else "spikes"): v for k, v in out.items()}, lav)


def test_deploy_on_lava_matches_the_reference():
    """The public path: ``nc.deploy(net, backend="lava")`` on an integer network (binary models: uint8 spikes)."""
    rng = np.random.default_rng(7)
    net = nc.Network("deploy_variants")
    net.input("in", (4,))
    net.population("r", (3,), LIFReset(du=200, dv=100, vth=10, reset_interval=4, reset_offset=2, bias_mant=[1, 2, 3]))
    net.population("a", (3,), ATRLIF(delta_i=500, delta_v=300, delta_theta=200, delta_r=600, theta_0=8, theta_step=4))
    net.connect("in", "r", nc.Dense(rng.integers(0, 200, (3, 4))))
    net.connect("in", "a", nc.Dense(rng.integers(0, 200, (3, 4))))
    net.connect("r", "a", nc.Dense(rng.integers(-100, 200, (3, 3))), delay=1)
    inputs = {"in": (rng.random((20, 4)) < 0.5).astype(np.uint8)}
    res = nc.deploy(net, backend="lava", steps=20, inputs=inputs, record=("spikes", "v"))
    ref = simulate_reference(net, 20, inputs, record=("spikes", "v"))
    for pop in ("r", "a"):
        assert np.array_equal(res.spikes[pop], ref.spikes[pop]) and np.array_equal(res.v[pop], ref.v[pop])
    assert res.spikes["r"].sum() > 0 and res.spikes["a"].sum() > 0


def test_lava_binary_dense_counts_a_minus_one_as_a_spike():
    """Why a TernaryLIF's connections need ``num_message_bits > 0`` in Lava: with 0, Lava's Dense casts the
    payload to bool. One neuron sends -1 every step into two Dense (weight 10) with 0 and 1 message bits."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.lif.process import LIF, TernaryLIF as LavaTernaryLIF
    src = LavaTernaryLIF(shape=(1,), du=4095, dv=4095, vth_hi=100, vth_lo=0, bias_mant=-1, bias_exp=6)
    dst = LIF(shape=(2,), du=4095, dv=0, vth=10 ** 5)
    for bits, row in ((0, [[10], [0]]), (1, [[0], [10]])):
        dense = Dense(weights=np.array(row), num_message_bits=bits)
        src.s_out.connect(dense.s_in)
        dense.a_out.connect(dst.a_in)
    try:
        src.run(condition=RunSteps(num_steps=4), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        u = dst.u.get()
    finally:
        src.stop()
    assert u.tolist() == [10 << 6, -10 << 6]        # binary: +10 per step; graded: -10 per step
