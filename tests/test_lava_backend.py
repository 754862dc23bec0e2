"""Lava backend vs the numpy reference: identical spikes, v and u at every step (Lava 0.10, fixed_pt).

Lava start-up dominates, so networks are small and several cases share one network where they
cannot interfere (disconnected parts are joined by the lowering's zero-weight hub).
"""
import multiprocessing as mp

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import neurocomp as nc
from neurocomp.backends.lava import lower, run_lava
from neurocomp.deployment import deploy
from neurocomp.errors import BackendError, UnsupportedError, ValidationError
from neurocomp.semantics.reference import simulate_reference

REC = ("spikes", "v", "u")


def assert_same(net, steps, inputs=None, expect_kinds=None):
    """Run both simulators; every recorded array must be identical; returns the Lava result."""
    if expect_kinds is not None:
        kinds = lower(net, steps, inputs).kinds()
        for name, kind in expect_kinds.items():
            assert kinds[name] == kind, (name, kinds)
    ref = simulate_reference(net, steps, inputs, record=REC)
    lav = run_lava(net, steps, inputs, record=REC)
    for group in ("spikes", "v", "u"):
        r, l = getattr(ref, group), getattr(lav, group)
        assert set(r) == set(l)
        for pop in r:
            assert l[pop].shape == r[pop].shape
            diff = np.argwhere(l[pop] != r[pop])
            assert diff.size == 0, f"{group}[{pop}] differs first at (step-1, neuron) {diff[0].tolist()}"
    assert not mp.active_children(), "Lava worker processes outlived the run"
    return lav


def rand_spikes(rng, steps, shape, p=0.4):
    return (rng.random((steps, *shape)) < p).astype(np.uint8)


def test_bias_only_populations_and_report():
    net = nc.Network("bias")
    net.population("a", (4,), nc.LoihiLIF(du=0, dv=0, vth=10, bias_mant=[5, -3, 100, 7], bias_exp=[2, 0, -1, 3]))
    net.population("b", (3,), nc.LoihiLIF(du=1000, dv=4095, vth=0, bias_mant=[1, 2, -2], bias_exp=1,
                                          u0=[5000, -5000, 3], v0=[10, -10, 0]))
    net.population("c", (2,), nc.LoihiLIF(du=4095, dv=123, vth=2 ** 17 - 1, bias_mant=[32767, -32768], bias_exp=10))
    lav = assert_same(net, 15)
    assert lav.spikes["a"].sum() > 0 and lav.spikes["a"].dtype == np.uint8 and lav.v["a"].dtype == np.int64
    assert lav.report["backend"] == "lava" and lav.report["lava_version"] == "0.10.0"
    assert lav.report["energy_j"] is None and lav.report["latency_s"] is None and "emulate" in lav.report["note"]


@pytest.mark.parametrize("weight_exp", [-3, 0, 2])
def test_dense_chains_all_sign_modes(weight_exp):
    rng = np.random.default_rng(10 + weight_exp)
    net = nc.Network("dense")
    net.input("in", (6,))
    lif = nc.LoihiLIF(du=500, dv=300, vth=30 << max(weight_exp, 0), bias_mant=2)
    for mode, w, nwb in (("excitatory", rng.integers(0, 300, (5, 6)), 8),
                         ("inhibitory", -rng.integers(0, 300, (5, 6)), 5),
                         ("mixed", rng.integers(-300, 300, (5, 6)), 8),
                         (None, rng.integers(-100, 200, (5, 6)), 3)):
        name = mode or "auto"
        net.population(name, (5,), lif)
        net.connect("in", name, nc.Dense(w, weight_exp=weight_exp, num_weight_bits=nwb, sign_mode=mode))
        net.population(name + "2", (3,), lif)
        net.connect(name, name + "2", nc.Dense(rng.integers(-150, 250, (3, 5)), weight_exp=weight_exp))
    lav = assert_same(net, 20, {"in": rand_spikes(rng, 20, (6,))})
    assert lav.spikes["excitatory"].sum() > 0


def test_sparse_and_one_to_one():
    rng = np.random.default_rng(2)
    net = nc.Network("sparse")
    net.input("in", (8,))
    net.population("s", (6,), nc.LoihiLIF(du=200, dv=400, vth=20))
    net.population("o", (6,), nc.LoihiLIF(du=100, dv=100, vth=15))
    w = rng.integers(-200, 200, (6, 8)) * (rng.random((6, 8)) < 0.5)
    net.connect("in", "s", nc.Sparse.from_dense(w, weight_exp=-1, num_weight_bits=6), name="sp")
    net.connect("s", "o", nc.OneToOne(np.array([90, -40, 255, 3, 0, 120])), name="oto")
    net.connect("s", "s", nc.OneToOne(np.array(50)), name="oto_scalar")
    lav = assert_same(net, 25, {"in": rand_spikes(rng, 25, (8,))},
                      expect_kinds={"sp": "Sparse", "oto": "Sparse", "oto_scalar": "Sparse"})
    assert lav.spikes["s"].sum() > 0


def test_delays_dense_sparse_one_to_one():
    rng = np.random.default_rng(3)
    net = nc.Network("delay")
    net.input("in", (5,))
    net.population("d", (4,), nc.LoihiLIF(du=300, dv=200, vth=20))
    net.population("s", (4,), nc.LoihiLIF(du=300, dv=200, vth=20))
    net.population("o", (4,), nc.LoihiLIF(du=4095, dv=4095, vth=2))
    net.connect("in", "d", nc.Dense(rng.integers(-50, 200, (4, 5)), weight_exp=-2), delay=rng.integers(0, 5, (4, 5)),
                name="dd")
    w = rng.integers(-100, 200, (4, 5)) * (rng.random((4, 5)) < 0.7)
    sp = nc.Sparse.from_dense(w)
    net.connect("in", "s", sp, delay=rng.integers(0, 4, sp.n_synapses), name="ds")
    net.connect("d", "o", nc.OneToOne(np.array([10, 20, 30, 40])), delay=np.array([0, 1, 2, 7]), name="do")
    net.connect("s", "o", nc.Dense(rng.integers(0, 60, (4, 4))), delay=2, name="dscalar")
    assert_same(net, 25, {"in": rand_spikes(rng, 25, (5,))},
                expect_kinds={"dd": "DelayDense", "ds": "DelaySparse", "do": "DelaySparse", "dscalar": "DelayDense"})


def test_conv2d_both_lowerings():
    rng = np.random.default_rng(4)
    net = nc.Network("conv")
    net.input("img", (2, 6, 5))
    # Lava Conv path: even mixed weights (MIXED truncation keeps them), stride/padding/dilation/groups
    c1 = nc.Conv2d(rng.integers(-60, 60, (4, 1, 3, 2)) * 2, input_shape=(2, 6, 5), stride=(2, 1), padding=(1, 0),
                   dilation=(1, 2), groups=2)
    net.population("c1", c1.output_shape, nc.LoihiLIF(du=300, dv=300, vth=25))
    net.connect("img", "c1", c1, name="conv_lava")
    # Sparse path: odd mixed weights and weight_exp, plus a delayed conv
    c2 = nc.Conv2d(rng.integers(-90, 90, (3, 4, 2, 2)), input_shape=c1.output_shape, padding=(1, 1), weight_exp=1)
    net.population("c2", c2.output_shape, nc.LoihiLIF(du=300, dv=300, vth=25))
    net.connect("c1", "c2", c2, name="conv_sparse")
    c3 = nc.Conv2d(rng.integers(0, 40, (1, 2, 2, 2)), input_shape=(2, 6, 5))
    net.population("c3", c3.output_shape, nc.LoihiLIF(du=4095, dv=4095, vth=10))
    net.connect("img", "c3", c3, delay=2, name="conv_delayed")
    lav = assert_same(net, 15, {"img": rand_spikes(rng, 15, (2, 6, 5))},
                      expect_kinds={"conv_lava": "Conv", "conv_sparse": "Sparse", "conv_delayed": "DelaySparse"})
    assert lav.spikes["c1"].sum() > 0 and lav.spikes["c2"].sum() > 0


def test_recurrent_and_several_projections_into_one_population():
    rng = np.random.default_rng(5)
    net = nc.Network("rec")
    net.input("x", (4,))
    net.input("y", (3,))
    net.population("r", (6,), nc.LoihiLIF(du=700, dv=500, vth=12, bias_mant=3))
    net.connect("x", "r", nc.Dense(rng.integers(-50, 150, (6, 4)), weight_exp=1))
    net.connect("y", "r", nc.Sparse.from_dense(rng.integers(-150, 0, (6, 3))))
    net.connect("r", "r", nc.Dense(rng.integers(-120, 120, (6, 6))), name="recur")
    net.connect("r", "r", nc.Dense(rng.integers(0, 80, (6, 6))), delay=1, name="recur_delayed")
    lav = assert_same(net, 30, {"x": rand_spikes(rng, 30, (4,)), "y": rand_spikes(rng, 30, (3,))})
    assert 0 < lav.spikes["r"].sum() < lav.spikes["r"].size


@st.composite
def small_networks(draw):
    seed = draw(st.integers(0, 2 ** 31 - 1))
    rng = np.random.default_rng(seed)
    n_pop = draw(st.integers(1, 3))
    net = nc.Network(f"h{seed}")
    net.input("in", (int(rng.integers(1, 5)),))
    names = ["in"]
    for i in range(n_pop):
        n = int(rng.integers(1, 6))
        net.population(f"p{i}", (n,), nc.LoihiLIF(
            du=int(rng.choice([0, 1, 300, 2048, 4095])), dv=int(rng.choice([0, 1, 500, 4095])),
            vth=int(rng.integers(0, 60)), bias_mant=rng.integers(-30, 60, n), bias_exp=rng.integers(-2, 3, n),
            u0=rng.integers(-2000, 2000, n), v0=rng.integers(-2000, 2000, n)))
        names.append(f"p{i}")
    for j in range(draw(st.integers(1, 4))):
        src = names[int(rng.integers(0, len(names)))]
        dst = names[int(rng.integers(1, len(names)))]
        n_pre, n_post = net.populations[src].size, net.populations[dst].size
        w = rng.integers(-300, 300, (n_post, n_pre))
        opts = dict(weight_exp=int(rng.integers(-3, 4)), num_weight_bits=int(rng.integers(1, 9)),
                    sign_mode=[None, "mixed", "excitatory", "inhibitory"][int(rng.integers(0, 4))])
        kind = int(rng.integers(0, 3))
        delay = rng.integers(0, 4, w.shape) if rng.random() < 0.4 else 0
        if kind == 0:
            conn = nc.Dense(w, **opts)
        elif kind == 1:
            conn = nc.Sparse.from_dense(w * (rng.random(w.shape) < 0.6), **opts)
            delay = rng.integers(0, 4, conn.n_synapses) if np.ndim(delay) else 0
        else:
            if n_pre != n_post:
                conn = nc.Dense(w, **opts)
            else:
                conn = nc.OneToOne(w[0], **opts)
                delay = rng.integers(0, 4, n_pre) if np.ndim(delay) else 0
        net.connect(src, dst, conn, delay=delay, name=f"e{j}")
    steps = int(rng.integers(3, 15))
    return net, steps, {"in": rand_spikes(rng, steps, net.populations["in"].shape)}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_networks())
def test_random_small_networks_match_reference(case):
    net, steps, inputs = case
    assert_same(net, steps, inputs)


def _lif(**kw):
    return nc.LoihiLIF(**{"du": 0, "dv": 0, "vth": 1, **kw})


def test_refusals_name_population_or_projection():
    net = nc.Network("r1")
    net.population("fl", (2,), nc.CubaLIF(tau_syn=1e-3, tau_mem=1e-2, v_threshold=1.0))
    with pytest.raises(UnsupportedError, match="population 'fl'.*LoihiLIF"):
        lower(net, 5)
    net = nc.Network("r2")
    net.population("pv", (2,), _lif(vth=[1, 2]))
    with pytest.raises(UnsupportedError, match="population 'pv'.*vth"):
        run_lava(net, 5)
    net = nc.Network("r3")
    net.population("a", (2,), _lif())
    net.connect("a", "a", nc.OneToOne(np.ones(2, dtype=int)), name="stdp", learning=nc.LearningRule(dw="x0*y1"))
    with pytest.raises(UnsupportedError, match="projection 'stdp'.*learning runs on Dense projections only"):
        run_lava(net, 5)
    net = nc.Network("r4")
    net.population("a", (2,), _lif())
    net.connect("a", "a", nc.Dense(np.ones((2, 2), dtype=int)), delay=64, name="slow")
    with pytest.raises(UnsupportedError, match="projection 'slow'.*63"):
        run_lava(net, 5)
    net = nc.Network("r5")
    net.population("a", (2,), _lif())
    net.connect("a", "a", nc.Dense(np.full((2, 2), 0.5)), name="floaty")
    with pytest.raises(UnsupportedError, match="projection 'floaty'.*float"):
        run_lava(net, 5)
    assert not mp.active_children()


def test_runtime_stopped_when_a_process_model_raises(monkeypatch):
    from lava.proc.lif import models

    def boom(self):
        raise RuntimeError("forced failure in run_spk")

    monkeypatch.setattr(models.PyLifModelBitAcc, "run_spk", boom)
    net = nc.Network("boom")
    net.population("a", (3,), _lif(bias_mant=100))
    with pytest.raises(BackendError, match="forced failure"):
        run_lava(net, 5, timeout_s=60)
    assert not mp.active_children()


def test_runtime_stopped_when_reading_results_fails(monkeypatch):
    from lava.proc.monitor.process import Monitor

    stopped = []

    def broken(self):
        raise KeyError("probe data lost")

    monkeypatch.setattr(Monitor, "get_data", broken)
    net = nc.Network("readfail")
    net.population("a", (3,), _lif(bias_mant=100))
    low = lower(net, 4)
    original = low.root.stop
    low.root.stop = lambda: (stopped.append(True), original())
    from neurocomp.backends.lava import execute
    with pytest.raises(BackendError, match="probe data lost"):
        execute(low)
    assert stopped == [True] and not mp.active_children()


def test_deploy_validates_and_runs():
    class Compiled:            # what neurocomp.mapping.artifact.CompiledNetwork offers deploy: the integer network
        def __init__(self, network):
            self.network = network

    net = nc.Network("dep")
    net.input("in", (2,))
    net.population("a", (2,), _lif(bias_mant=10))
    net.connect("in", "a", nc.Dense(np.array([[100, 0], [0, 100]])))
    spikes = np.array([[1, 0], [0, 1], [0, 0], [1, 1]], dtype=np.uint8)
    res = deploy(Compiled(net), backend="lava", steps=4, inputs={"in": spikes})
    ref = simulate_reference(net, 4, {"in": spikes})
    assert np.array_equal(res.spikes["a"], ref.spikes["a"]) and np.array_equal(res.v["a"], ref.v["a"])
    with pytest.raises(BackendError, match="unknown backend 'loihi'.*lava"):
        deploy(Compiled(net), backend="loihi", steps=4)
    with pytest.raises(ValidationError, match="0/1"):
        deploy(Compiled(net), steps=4, inputs={"in": spikes * 3})
    with pytest.raises(ValidationError, match="not graph inputs"):
        deploy(Compiled(net), steps=4, inputs={"in": spikes, "other": spikes})
    with pytest.raises(BackendError, match="compiled artifact"):
        deploy(object(), steps=4)


def test_deploy_a_compiled_artifact_directory(tmp_path):
    rng = np.random.default_rng(6)
    net = nc.Network("art")
    net.input("in", (6,))
    net.population("h", (8,), nc.CubaLIF(tau_syn=2e-4, tau_mem=5e-4, v_threshold=1.0))
    net.connect("in", "h", nc.Dense(rng.normal(8.0, 2.0, (8, 6))), delay=1)
    art = nc.compile(net, "loihi2", out=tmp_path / "art")
    inputs = {"in": rand_spikes(rng, 20, (6,), p=0.6)}
    res = nc.deploy(tmp_path / "art", backend="lava", steps=20, inputs=inputs)    # nc.deploy: module forwards
    ref = simulate_reference(art.network, 20, inputs)
    assert res.spikes["h"].sum() > 0
    assert np.array_equal(res.spikes["h"], ref.spikes["h"]) and np.array_equal(res.v["h"], ref.v["h"])


def test_lava_runs_after_a_progress_bar_fixed_the_multiprocessing_context():
    """tqdm fixes multiprocessing's default context; Lava's import-time set_start_method must still work."""
    import subprocess
    import sys
    code = ("import sys, tqdm\n"
            "for _ in tqdm.tqdm(range(2), file=sys.stderr): pass\n"
            "import neurocomp as nc\n"
            "from neurocomp.backends.lava import run_lava\n"
            "net = nc.Network('x'); net.population('a', (2,), nc.LoihiLIF(du=0, dv=0, vth=1, bias_mant=100))\n"
            "print(int(run_lava(net, 3).spikes['a'].sum()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "6"
