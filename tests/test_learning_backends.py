"""On-chip learning end to end: compile -> emulate == deploy(lava) == reference, bit for bit.

Random small nets (graph input -> learning Dense -> LoihiLIF, optionally a second plain population and
recurrence) with pair STDP, bounded Hebbian or R-STDP (random reward input), random trace parameters
and t_epoch 1..4, compiled onto several small cores: every spike and v, the final weights (and per
step), tags and traces must be identical between the emulator, Lava's LearningDense and the numpy
reference. Plus the cost model's learning energy, input validation of reward inputs, mapping
invariance, the numpy engine, batches and the partition's learning report.
"""
from __future__ import annotations

import multiprocessing as mp
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neurocomp as nc
from neurocomp.backends.emulator import emulate, emulate_batch, emulate_tables
from neurocomp.deployment import deploy
from neurocomp.errors import NeurocompWarning, UnsupportedError, ValidationError
from neurocomp.semantics.reference import LEARNING_VARS, PER_STEP, simulate_reference

IMPULSES = [0.0, 1.0, 3.1, 5.5, 16.0, 40.75, 127.9]
TAUS = [0, 1, 2, 4.5, 20]
REC = ("spikes", "v", "weights")


def _lif(rng, n):
    return nc.LoihiLIF(du=int(rng.integers(0, 4096)), dv=int(rng.integers(0, 4096)), vth=int(rng.integers(0, 60)),
                       bias_mant=int(rng.integers(-5, 40)), bias_exp=int(rng.integers(0, 3)))


def make_case(kind: str, seed: int, t_epoch: int, extra: bool, recurrent: bool, reward_shape: str,
              imp: tuple, tau: tuple):
    """A random learning net and its inputs (all randomness from ``seed`` and the drawn options)."""
    rng = np.random.default_rng(seed)
    n_in, n_post, steps = int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(6, 26))
    rule_seed = int(rng.integers(0, 10_000))
    if kind == "stdp":
        rule = nc.rules.stdp(a_plus=[0.25, 1, 3][seed % 3], a_minus=[0, 0.5, 2][(seed // 3) % 3], tau_plus=tau[0],
                             tau_minus=tau[1], impulse_plus=imp[0], impulse_minus=imp[1], t_epoch=t_epoch,
                             rng_seed=rule_seed)
    elif kind == "hebbian":
        rule = nc.rules.hebbian(rate=[1, 8, 32][seed % 3], w_max=int(rng.integers(-50, 200)), tau_pre=tau[0],
                                tau_post=tau[1], impulse_pre=imp[0], impulse_post=imp[1], t_epoch=t_epoch,
                                rng_seed=rule_seed)
    else:
        rule = nc.rules.rstdp("rew", lr=[2 ** -4, 2 ** -1, 2][seed % 3], tau_plus=tau[0], impulse_plus=imp[0],
                              t_epoch=t_epoch, rng_seed=rule_seed)
    mode = [nc.SignMode.MIXED, nc.SignMode.EXCITATORY, nc.SignMode.INHIBITORY][int(rng.integers(3))]
    lo, hi = {nc.SignMode.EXCITATORY: (0, 255), nc.SignMode.INHIBITORY: (-255, 0)}.get(mode, (-256, 255))
    net = nc.Network(f"learn_{kind}")
    net.input("in", (n_in,))
    if rule.third_factor:
        net.input("rew", (1,))
    net.population("p", (n_post,), _lif(rng, n_post))
    w = rng.integers(lo, hi + 1, size=(n_post, n_in))
    net.connect("in", "p", nc.Dense(w, weight_exp=int(rng.integers(-1, 3)), num_weight_bits=int(rng.integers(5, 9)),
                                    sign_mode=mode), name="plastic", learning=rule)
    if extra:
        n_q = int(rng.integers(1, 5))
        net.population("q", (n_q,), _lif(rng, n_q))
        net.connect("p", "q", nc.Dense(rng.integers(-60, 120, size=(n_q, n_post))), name="pq")
        if recurrent:
            net.connect("q", "p", nc.Dense(rng.integers(-60, 120, size=(n_post, n_q))), name="qp")
    elif recurrent:
        net.connect("p", "p", nc.Dense(rng.integers(-60, 120, size=(n_post, n_post))), name="pp")
    inputs = {"in": (rng.random((steps, n_in)) < [0.2, 0.5, 0.9][seed % 3]).astype(np.uint8)}
    if rule.third_factor:
        shape = {"T": (steps,), "T1": (steps, 1), "Tn": (steps, n_post)}[reward_shape]
        inputs["rew"] = rng.integers(0, 128, size=shape)
    return net, inputs, steps, int(rng.integers(1, 4))


def assert_identical(a, b, what: str):
    for group in ("spikes", "v", "weights"):
        x, y = getattr(a, group), getattr(b, group)
        assert set(x) == set(y), (what, group, set(x), set(y))
        for name in x:
            assert x[name].shape == y[name].shape, (what, group, name)
            diff = np.argwhere(x[name] != y[name])
            assert diff.size == 0, f"{what}: {group}[{name}] differs first at {diff[0].tolist()}"
    la, lb = a.report["learning"], b.report["learning"]
    assert set(la) == set(lb)
    for proj in la:
        for var in LEARNING_VARS:
            np.testing.assert_array_equal(la[proj][var], lb[proj][var], err_msg=f"{what}: {proj}.{var}")


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(kind=st.sampled_from(["stdp", "hebbian", "rstdp"]), seed=st.integers(0, 2 ** 31 - 1),
       t_epoch=st.integers(1, 4), extra=st.booleans(), recurrent=st.booleans(),
       reward_shape=st.sampled_from(["T", "T1", "Tn"]),
       imp=st.tuples(st.sampled_from(IMPULSES), st.sampled_from(IMPULSES)),
       tau=st.tuples(st.sampled_from(TAUS), st.sampled_from(TAUS)))
def test_emulator_lava_and_reference_learn_identically(kind, seed, t_epoch, extra, recurrent, reward_shape, imp, tau):
    net, inputs, steps, per_core = make_case(kind, seed, t_epoch, extra, recurrent, reward_shape, imp, tau)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurocompWarning)
        art = nc.compile(net, "loihi2", max_neurons_per_core=per_core)
    emu = emulate(art, steps, inputs, record=REC)
    lav = deploy(art, backend="lava", steps=steps, inputs=inputs, record=REC)
    ref = simulate_reference(art.network, steps, inputs, record=REC)
    assert emu.weights["plastic"].shape == art.network.projections["plastic"].connectivity.weights.shape
    assert emu.weights["plastic" + PER_STEP].shape == (steps, *emu.weights["plastic"].shape)
    assert_identical(emu, lav, "emulator vs lava")
    assert_identical(emu, ref, "emulator vs reference")
    assert not mp.active_children(), "Lava worker processes outlived the run"


# ----------------------------------------------------------------------------------- fixed cases
def _rstdp_net(n_in=6, n_post=4):
    rng = np.random.default_rng(7)
    net = nc.Network("rstdp")
    net.input("in", (n_in,))
    net.input("rew", (1,))
    net.population("p", (n_post,), nc.LoihiLIF(du=200, dv=300, vth=8, bias_mant=3))
    net.population("q", (3,), nc.LoihiLIF(du=100, dv=100, vth=5))
    net.connect("in", "p", nc.Dense(rng.integers(0, 120, (n_post, n_in)), sign_mode=nc.SignMode.MIXED),
                name="plastic", learning=nc.rules.rstdp("rew", lr=2 ** -1, t_epoch=2))
    net.connect("p", "q", nc.Dense(rng.integers(-20, 100, (3, n_post))), name="pq")
    net.connect("q", "p", nc.Dense(rng.integers(-50, 50, (n_post, 3)), sign_mode=nc.SignMode.MIXED), name="qp",
                learning=nc.rules.stdp(t_epoch=1, rng_seed=5))
    steps = 40
    inputs = {"in": (rng.random((steps, n_in)) < 0.5).astype(np.uint8), "rew": rng.integers(0, 128, steps)}
    return net, inputs, steps


def test_learning_changes_weights_and_is_charged_in_energy():
    net, inputs, steps = _rstdp_net()
    art = nc.compile(net, "loihi2", max_neurons_per_core=2)
    res = emulate(art, steps, inputs)
    w0 = art.network.projections["plastic"].connectivity.weights
    assert not np.array_equal(res.weights["plastic"], w0), "the rule must actually learn in this case"
    assert res.spikes["p"].any() and res.spikes["q"].any()
    updates = np.asarray(res.report["counters"]["learning_updates"])
    assert updates.shape == (art.tables.n_cores,)
    total = sum(res.report["learning"][p]["synapse_updates"] for p in ("plastic", "qp"))
    # plastic: 4x6 synapses x (dw, dt) every 2nd step; qp: 4x3 x dw every step
    assert int(updates.sum()) == total == 24 * 2 * (steps // 2) + 12 * steps
    energy = art.target.costs.energy["learning_update"].value
    by_class = res.report["energy_j"]["by_class"]
    assert by_class["learning"] > 0
    assert by_class["learning"] == pytest.approx(total * energy, rel=1e-12)
    assert res.report["cost"]["counters"]["learning"] == updates.tolist()
    # learning cores: the cores holding p (the post population of both learning projections)
    part = next(r for r in art.mapping["passes"] if r["name"] == "partition")["summary"]["learning"]
    p_cores = sorted({int(c) for c in art.core_of_neuron["p"]})
    assert part["cores"] == p_cores and part["projections"] == ["plastic", "qp"]
    assert part["synapses"] == 24 + 12 and sum(part["synapses_per_core"].values()) == 36
    assert [c for c in range(art.tables.n_cores) if updates[c] > 0] == p_cores


def test_mapping_invariance_numpy_engine_batch_and_save(tmp_path):
    net, inputs, steps = _rstdp_net()
    one = nc.compile(net, "loihi2")
    many = nc.compile(net, "loihi2", max_neurons_per_core=1)
    assert one.tables.n_cores == 1 and many.tables.n_cores > 4
    a = emulate(one, steps, inputs, record=REC)
    b = emulate(many, steps, inputs, record=REC)
    learning = [p for p in many.network.projections.values() if p.learning is not None]
    c = emulate_tables(many.tables, steps, inputs, record=REC, engine="numpy", learning=learning)
    assert_identical(a, b, "1 core vs many")
    assert_identical(b, c, "numba vs numpy engine")
    batch = emulate_batch(many, steps, {"in": np.stack([inputs["in"]] * 2), "rew": np.stack([inputs["rew"][:, None]] * 2)})
    for r in batch:   # every sample starts from the initial weights
        np.testing.assert_array_equal(r.weights["plastic"], b.weights["plastic"])
        np.testing.assert_array_equal(r.spikes["p"], b.spikes["p"])
    b.save(tmp_path / "res")
    back = nc.Result.load(tmp_path / "res")
    np.testing.assert_array_equal(back.weights["plastic"], b.weights["plastic"])
    np.testing.assert_array_equal(back.weights["plastic" + PER_STEP], b.weights["plastic" + PER_STEP])


def test_reward_and_spike_inputs_are_validated():
    net, inputs, steps = _rstdp_net()
    art = nc.compile(net, "loihi2", max_neurons_per_core=2)
    for bad, msg in ((np.full(steps, 128), r"third-factor input 'rew'.*0\.\.127"),
                     (np.full(steps, 1.5), r"third-factor input 'rew'.*integers"),
                     (np.zeros((steps, 3)), r"third-factor input 'rew'.*\[T, 4\]"),
                     (np.zeros(steps - 1), r"third-factor input 'rew'.*T >= 40")):
        for run in (lambda x: emulate(art, steps, x), lambda x: deploy(art, "lava", steps, x),
                    lambda x: simulate_reference(art.network, steps, x)):
            with pytest.raises(ValidationError, match=msg):
                run({**inputs, "rew": bad})
    spikes = inputs["in"].copy()
    spikes[3, 0] = 2
    with pytest.raises(ValidationError, match="input 'in': values must be spikes 0/1"):
        emulate(art, steps, {**inputs, "in": spikes})
    with pytest.raises(ValidationError, match="input 'in': values must be spikes 0/1"):
        deploy(art, "lava", steps, {**inputs, "in": spikes})
    with pytest.raises(ValidationError, match=r"no input given for graph input\(s\) \['rew'\]"):
        emulate(art, steps, {"in": inputs["in"]})
    silent = emulate(art, steps)   # no inputs: silent spikes, zero reward
    assert set(silent.weights) == {"plastic", "qp"}


def test_refusals_name_the_projection():
    net = nc.Network("src")
    net.input("in", (2,))
    net.input("rew", (1,))
    net.population("p", (2,), nc.LoihiLIF(du=0, dv=0, vth=1))
    net.connect("in", "p", nc.Dense(np.ones((2, 2), int)), name="plastic", learning=nc.rules.rstdp("rew"))
    net.connect("rew", "p", nc.Dense(np.ones((2, 1), int)), name="from_reward")
    with pytest.raises(UnsupportedError, match="projection 'from_reward'.*third-factor"):
        simulate_reference(net, 3)
    with pytest.raises(UnsupportedError, match="projection 'from_reward'.*third-factor"):
        deploy(net, "lava", 3)
    net = nc.Network("pop_reward")
    net.input("in", (2,))
    net.population("p", (2,), nc.LoihiLIF(du=0, dv=0, vth=1))
    net.population("r", (1,), nc.LoihiLIF(du=0, dv=0, vth=1))
    net.connect("in", "p", nc.Dense(np.ones((2, 2), int)), name="plastic", learning=nc.rules.rstdp("r"))
    with pytest.raises(UnsupportedError, match="projection 'plastic'.*third factor 'r' must be a graph input"):
        simulate_reference(net, 3)
    net = nc.Network("sparse")
    net.input("in", (2,))
    net.population("p", (2,), nc.LoihiLIF(du=0, dv=0, vth=1))
    net.connect("in", "p", nc.OneToOne(np.array([3, 4])), name="diag", learning=nc.rules.stdp())
    # The compiler refuses it first; the backends refuse it too when handed the network directly.
    for run in (lambda: nc.compile(net, "loihi2"), lambda: deploy(net, "lava", 3), lambda: simulate_reference(net, 3)):
        with pytest.raises(UnsupportedError, match="projection 'diag'.*Dense projections only"):
            run()
