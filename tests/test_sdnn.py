"""Sigma-delta neurons (SigmaDelta, Delta, Sigma) and graded messages: the numpy specs on hand-worked steps of
Lava 0.10's fixed_pt equations, the graded synapse arithmetic of each Lava connection process, input and
target checks, and the reference against Lava itself on random SDNN-like networks (every step's payloads,
spikes and state). The numba steps equal the specs in ``test_neurons.py``.
"""
from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.errors import TargetError, UnsupportedError, ValidationError
from neurocomp.neurons import kind_of
from neurocomp.semantics.reference import build_model, simulate_reference
from neurocomp.semantics.synapses import graded_inputs, lava_connection, message_bits

SDN_VARS = ("sigma", "act", "residue", "error")
REC = ("spikes", "v", "u") + SDN_VARS
I32 = 2 ** 31


def run_spec(model, inputs):
    """Step the model's registered numpy spec over ``inputs`` [T, n]: (payloads [T, n], states {var: [T, n]})."""
    inputs = np.asarray(inputs, np.int64)
    n = inputs.shape[1]
    kind = kind_of(model)
    params = {k: model.broadcast(k, n).astype(np.int64) for k in kind.params}
    state = {v: model.broadcast(kind.initial[v], n).astype(np.int64) for v in kind.state}
    out, trace = [], {v: [] for v in kind.state}
    for a in inputs:
        state, s = kind.spec_step(params, state, a)
        out.append(np.asarray(s, np.int64))
        for v in kind.state:
            trace[v].append(state[v])
    return np.array(out), {v: np.array(t) for v, t in trace.items()}


# ------------------------------------------------------------------------------------------ hand-worked steps
def test_sigma_delta_relu_threshold_and_residue():
    # sigma 2,4,3,-2,-2; act 2,4,3,0,0; delta 2 (kept as residue), 4 (sent), -1 (kept), -4 (sent), 0
    out, st = run_spec(nc.SigmaDelta(vth=3), [[2], [2], [-1], [-5], [0]])
    assert out[:, 0].tolist() == [0, 4, 0, -4, 0]
    assert st["sigma"][:, 0].tolist() == [2, 4, 3, -2, -2]
    assert st["act"][:, 0].tolist() == [2, 4, 3, 0, 0]
    assert st["residue"][:, 0].tolist() == [2, 0, -1, 0, 0]
    assert st["error"][:, 0].tolist() == [0] * 5                  # untouched without cum_error


def test_sigma_delta_unit_mode_scales_vth_and_bias_and_shifts_the_payload():
    # VTH = 1 << 3 = 8, BIAS = 1 << 3 = 8; sigma 5,15,12 -> act 13,23,20 -> deltas 13, 10, -3 -> >> state_exp 2
    m = nc.SigmaDelta(vth=1, bias=1, act_mode="unit", spike_exp=1, state_exp=2)
    out, st = run_spec(m, [[5], [10], [-3]])
    assert out[:, 0].tolist() == [13 >> 2, 10 >> 2, 0]
    assert st["act"][:, 0].tolist() == [13, 23, 20]
    assert st["residue"][:, 0].tolist() == [0, 0, -3]
    out, _ = run_spec(nc.SigmaDelta(vth=1, bias=1, act_mode="relu", spike_exp=1, state_exp=2), [[-20], [0]])
    assert out[:, 0].tolist() == [0, 0]                          # relu(-12) = 0: no change, nothing sent


def test_cum_error_uses_the_accumulated_error_and_resets_it():
    a = [[2], [2], [2], [-1]]
    out, st = run_spec(nc.SigmaDelta(vth=5, cum_error=True), a)
    # deltas 2, 4, 2, 1; error 2, 6 (>= 5: send delta 4, reset), 2, 3
    assert out[:, 0].tolist() == [0, 4, 0, 0]
    assert st["error"][:, 0].tolist() == [2, 0, 2, 3]
    assert st["residue"][:, 0].tolist() == [2, 0, 2, 1]
    out, _ = run_spec(nc.SigmaDelta(vth=5, cum_error=False), a)
    assert out[:, 0].tolist() == [0, 0, 6, 0]                    # deltas 2, 4, 6 (sent), -1


def test_delta_encodes_the_scaled_input_change():
    # act' = a << 2 = 12, 12, 20, 16; VTH = 8; deltas 12 (sent), 0, 8 (sent), -4 (kept); payload >> 1
    out, st = run_spec(nc.Delta(vth=2, spike_exp=1, state_exp=1), [[3], [3], [5], [4]])
    assert out[:, 0].tolist() == [6, 0, 4, 0]
    assert st["act"][:, 0].tolist() == [12, 12, 20, 16]
    assert st["residue"][:, 0].tolist() == [0, 0, 0, -4]


def test_sigma_accumulates_and_sends_every_step():
    out, st = run_spec(nc.Sigma(sigma0=[0, 10]), [[1, 1], [-3, 0], [4, -11]])
    assert out.tolist() == [[1, 11], [-2, 11], [2, 0]]
    assert np.array_equal(out, st["sigma"])


def test_int32_wrap_and_numpy_abs_of_int_min():
    # sigma wraps to -2^31; numpy's int32 abs(-2^31) is negative, so even vth = 0 sends nothing
    out, st = run_spec(nc.SigmaDelta(vth=0, act_mode="unit", sigma0=I32 - 1), [[1], [0]])
    assert st["sigma"][0, 0] == -I32 and out[0, 0] == 0 and st["residue"][0, 0] == -I32
    out, _ = run_spec(nc.Sigma(sigma0=I32 - 1), [[1]])
    assert out[0, 0] == -I32
    out, st = run_spec(nc.Delta(vth=0, spike_exp=1), [[2 ** 30]])    # 2^30 << 1 wraps to -2^31
    assert st["act"][0, 0] == -I32 and out[0, 0] == 0


def test_ir_fields_are_lavas_and_checked():
    m = nc.SigmaDelta(vth=3, bias=[1, 2], act_mode=nc.ActivationMode.UNIT, cum_error=True, spike_exp=2, state_exp=3)
    assert int(m.act_mode) == 0 and int(m.cum_error) == 1
    from lava.proc.sdn.process import ActivationMode
    assert int(nc.SigmaDelta(vth=1, act_mode=ActivationMode.RELU).act_mode) == 1
    assert int(nc.SigmaDelta(vth=1, act_mode="ReLU").act_mode) == 1
    with pytest.raises(ValidationError, match="act_mode"):
        nc.SigmaDelta(vth=1, act_mode="tanh")
    with pytest.raises(ValidationError, match="vth .*does not fit"):
        nc.SigmaDelta(vth=2 ** 27, spike_exp=2, state_exp=2)
    with pytest.raises(ValidationError, match="'vth'"):
        nc.Delta(vth=-1)
    with pytest.raises(ValidationError, match="'sigma0'"):
        nc.Sigma(sigma0=2 ** 31)
    with pytest.raises(ValidationError, match="num_message_bits"):
        nc.Dense(np.ones((1, 1), int), num_message_bits=25)


# ------------------------------------------------------------------------------------------ graded synapses
def _graded_chain(conn_kind: str, delay=0, weight_exp=0):
    """graded input -> Delta (payload = the input's change << 6) -> projection -> Sigma: Sigma's sigma is the
    running sum of the projection's output, so it shows where each Lava process wraps."""
    net = nc.Network(f"wrap_{conn_kind}")
    net.input("x", (1, 2, 3))
    net.population("d", (1, 2, 3), nc.Delta(vth=0, spike_exp=6))
    net.connect("x", "d", nc.OneToOne(1, num_message_bits=24), name="in")
    w = np.array([[255, 255, 255, 200, 3, -1], [-256, 254, -2, 100, 7, 1]])
    if conn_kind == "dense":
        conn = nc.Dense(w, weight_exp=weight_exp)
    elif conn_kind == "sparse":
        conn = nc.Sparse.from_dense(w, weight_exp=weight_exp)
    else:
        conn = nc.Conv2d(np.array([[[[254, -256], [2, 128]]], [[[100, 100], [-100, 6]]]]), input_shape=(1, 2, 3))
    n_out = conn.shape[0]
    net.population("o", (n_out,), nc.Sigma())
    net.connect("d", "o", conn, delay=delay, name="p")
    big = 2 ** 23 - 1
    x = np.array([[0] * 6, [big] * 6, [-big - 1] * 6, [big, 0, -5, big, 1, 2], [3] * 6, [0] * 6]).reshape(6, 1, 2, 3)
    return net, {"x": x}


GRADED_CASES = [("dense", 0, -3, "Dense"), ("dense", 1, 2, "DelayDense"), ("sparse", 0, -2, "Sparse"),
                ("sparse", 2, 1, "DelaySparse"), ("conv", 0, 0, "Conv")]


@pytest.mark.parametrize("kind,delay,wexp,lava", GRADED_CASES, ids=[c[3] for c in GRADED_CASES])
def test_graded_sums_wrap_where_lavas_process_wraps(kind, delay, wexp, lava):
    from neurocomp.backends.lava import run_lava
    net, inputs = _graded_chain(kind, delay, wexp)
    assert lava_connection(net.projections["p"]) == lava
    assert message_bits(net, net.projections["p"]) == 24 and graded_inputs(net) == {"x": 24}
    ref = simulate_reference(net, 6, inputs, record=("spikes", "sigma"))
    assert np.abs(ref.payloads["d"]).max() >= 2 ** 29         # int32 sums overflow
    lav = run_lava(net, 6, inputs, record=("spikes", "sigma"))
    assert_same_results(ref, lav)


def test_graded_dense_formula_and_binary_reading_of_payloads():
    net = nc.Network("formula")
    net.input("x", (2,))
    net.population("d", (2,), nc.Delta(vth=0))
    net.connect("x", "d", nc.OneToOne(1, num_message_bits=8))
    net.population("o", (1,), nc.Sigma())
    net.population("b", (1,), nc.Sigma())
    # even weights: Lava's MIXED truncation (8 bits) keeps them
    net.connect("d", "o", nc.Dense(np.array([[4, -6]]), weight_exp=-2))
    net.connect("d", "b", nc.Dense(np.array([[4, -6]]), num_message_bits=0))   # payload != 0 is a spike
    ref = simulate_reference(net, 3, {"x": np.array([[7, 2], [7, 2], [0, 0]])}, record=("spikes", "sigma"))
    # step 2: d sends (7, 2) -> floor((4*7 - 6*2) / 4) = 4 reaches o at step 3; b gets 4 - 6 = -2
    assert ref.payloads["d"].tolist() == [[0, 0], [7, 2], [0, 0]]
    assert ref.state["sigma"]["o"][:, 0].tolist() == [0, 0, 4]
    assert ref.state["sigma"]["b"][:, 0].tolist() == [0, 0, -2]
    assert ref.spikes["o"][:, 0].tolist() == [0, 0, 1] and ref.payloads["o"][:, 0].tolist() == [0, 0, 4]


# ------------------------------------------------------------------------------------------ inputs
def test_graded_inputs_take_ints_in_range_and_binary_inputs_still_refuse_them():
    net, _ = _graded_chain("dense")
    x = np.zeros((3, 1, 2, 3), np.int64)
    x[1, 0, 1, 2] = 2 ** 23
    with pytest.raises(ValidationError, match=r"input 'x': graded values must be integers in \[-8388608, 8388607\]"):
        simulate_reference(net, 3, {"x": x})
    with pytest.raises(ValidationError, match="input 'x'.*not integers"):
        simulate_reference(net, 3, {"x": x * 0 + 0.5})
    simulate_reference(net, 3, {"x": (x * 0 + 3).astype(float)})
    binary = nc.Network("bin")
    binary.input("x", (2,))
    binary.population("s", (2,), nc.SigmaDelta(vth=1))
    binary.connect("x", "s", nc.OneToOne(4))
    assert message_bits(binary, binary.projections["x-s"]) == 0 and graded_inputs(binary) == {}
    with pytest.raises(ValidationError, match="0/1.*num_message_bits > 0"):
        simulate_reference(binary, 2, {"x": np.array([[2, 0], [0, 0]])})


# ------------------------------------------------------------------------------------------ refusals
def test_lava_refusals_name_the_population():
    from neurocomp.backends.lava import lower
    for model, field in ((nc.SigmaDelta(vth=[1, 2]), "vth"), (nc.SigmaDelta(vth=1, act_mode=[0, 1]), "act_mode"),
                         (nc.Delta(vth=1, spike_exp=[0, 1]), "spike_exp")):
        net = nc.Network("r")
        net.population("p", (2,), model)
        with pytest.raises(UnsupportedError, match=f"population 'p'.*'{field}' varies"):
            lower(net, 3)


def test_learning_on_graded_messages_is_refused():
    net = nc.Network("learn")
    net.population("s", (2,), nc.SigmaDelta(vth=1, bias=5))
    net.population("l", (2,), nc.LoihiLIF(du=0, dv=0, vth=1))
    net.connect("s", "l", nc.Dense(np.ones((2, 2), int)), name="stdp", learning=nc.LearningRule(dw="x0*y1"))
    with pytest.raises(UnsupportedError, match="projection 'stdp': learning runs on binary spikes.*'s' sends graded"):
        simulate_reference(net, 2)


def _sdnn(vth_h=4):
    net = nc.Network("sdnn")
    net.input("x", (3,))
    net.population("d", (3,), nc.Delta(vth=2, spike_exp=6, state_exp=6))
    net.population("h", (2,), nc.SigmaDelta(vth=vth_h, bias=[10, -3], spike_exp=6, state_exp=6))
    net.population("o", (2,), nc.Sigma())
    net.connect("x", "d", nc.OneToOne(1, num_message_bits=24))
    net.connect("d", "h", nc.Dense(np.array([[3, -2, 5], [7, 1, -1]]), weight_exp=-6))
    net.connect("h", "o", nc.Sparse.from_dense(np.array([[2, 0], [-1, 3]])))
    return net


@pytest.mark.parametrize("target", ["loihi", "tianjic", "truenorth"])
def test_targets_without_graded_messages_refuse_by_name(target):
    from neurocomp.passes.quantize import Quantize
    with pytest.raises(UnsupportedError, match=f"population 'd' \\(Delta\\) sends graded messages, but target "
                                               f"'{target}' has binary spikes only"):
        Quantize(nc.load_target(target)).run(_sdnn())
    binary = nc.Network("b")
    binary.input("x", (2,))
    binary.population("l", (2,), nc.LoihiLIF(du=0, dv=0, vth=1))
    binary.connect("x", "l", nc.OneToOne(3, num_message_bits=8), name="graded_in")
    with pytest.raises(UnsupportedError, match=f"projection 'graded_in' carries graded messages.*'{target}'"):
        Quantize(nc.load_target(target)).run(binary)


def test_loihi2_passes_graded_networks_through_untouched(tmp_path):
    from neurocomp.passes.quantize import Quantize
    net = _sdnn()
    out, report = Quantize(nc.load_target("loihi2")).run(net)
    assert out == net and report.summary["passthrough"]
    with pytest.raises(UnsupportedError, match=r"population 'h' \(SigmaDelta\): vth \* 2\*\*\(spike_exp \+ "
                                               r"state_exp\) range \[16777216, 16777216\] exceeds the target's "
                                               r"\[-8388607, 8388607\]"):
        Quantize(nc.load_target("loihi2")).run(_sdnn(vth_h=2 ** 12))
    from importlib import resources
    toml = (resources.files("neurocomp.hw_models") / "loihi2.toml").read_text()
    narrow = tmp_path / "narrow.toml"
    narrow.write_text(toml.replace("max_message_bits = 24", "max_message_bits = 16"))
    with pytest.raises(UnsupportedError, match="projection 'x-d': num_message_bits = 24 exceeds target 'loihi2''s "
                                               "max_message_bits = 16"):
        Quantize(nc.load_target(narrow)).run(_sdnn())


def test_graded_messages_into_float_populations_are_refused():
    net = nc.Network("f")
    net.input("x", (2,))
    net.population("l", (2,), nc.LIF(tau=1e-2, v_threshold=1.0))
    net.connect("x", "l", nc.OneToOne(np.array([1.0, 2.0]), num_message_bits=8), name="g")
    with pytest.raises(UnsupportedError, match="projection 'g': graded messages into float population 'l'"):
        nc.compile(net, "loihi2")


@pytest.mark.parametrize("old,new,key", [
    ("max_message_bits = 24", "max_message_bits = 0", "formats.max_message_bits"),
    ("graded_messages = true", "graded_messages = false", "formats.max_message_bits"),
    ("max_message_bits = 24", "max_message_bits = 33", "formats.max_message_bits"),
    ("graded_messages = true", 'graded_messages = "yes"', "formats.graded_messages"),
])
def test_malformed_graded_formats_name_the_key(tmp_path, old, new, key):
    from importlib import resources
    toml = (resources.files("neurocomp.hw_models") / "loihi2.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(toml.replace(old, new, 1))
    with pytest.raises(TargetError, match=key.replace(".", r"\.")):
        nc.load_target(bad)


def test_files_keep_graded_models_and_message_bits(tmp_path):
    net = _sdnn()
    net.population("c", (4,), nc.Sigma(sigma0=[1, 2, 3, 4]))
    net.connect("d", "c", nc.Conv2d(np.ones((2, 1, 1, 2), int), input_shape=(1, 1, 3), num_message_bits=12),
                name="conv")
    path = nc.save(net, tmp_path / "n.h5")
    back = nc.load(path)
    assert back == net
    assert back.projections["conv"].connectivity.num_message_bits == 12
    assert back.projections["d-h"].connectivity.num_message_bits is None
    assert back.projections["conv"].connectivity.to_sparse().num_message_bits == 12
    res = simulate_reference(net, 4, {"x": np.arange(12).reshape(4, 3)}, record=("spikes", "sigma"))
    res.save(tmp_path / "res")
    again = nc.Result.load(tmp_path / "res")
    assert np.array_equal(again.payloads["h"], res.payloads["h"])
    assert np.array_equal(again.state["sigma"]["o"], res.state["sigma"]["o"])


# ------------------------------------------------------------------------------------------ reference == Lava
def assert_same_results(ref, lav):
    for group in ("spikes", "v", "u", "payloads"):
        r, l = getattr(ref, group), getattr(lav, group)
        assert set(r) == set(l), group
        for pop in r:
            diff = np.argwhere(np.asarray(l[pop]) != np.asarray(r[pop]))
            assert diff.size == 0, f"{group}[{pop}] differs first at (step-1, neuron) {diff[0].tolist()}"
    assert set(ref.state) == set(lav.state)
    for var in ref.state:
        assert set(ref.state[var]) == set(lav.state[var]), var
        for pop, arr in ref.state[var].items():
            diff = np.argwhere(lav.state[var][pop] != arr)
            assert diff.size == 0, f"{var}[{pop}] differs first at (step-1, neuron) {diff[0].tolist()}"
    assert not mp.active_children(), "Lava worker processes outlived the run"


def _sdn_params(rng):
    return dict(vth=int(rng.integers(0, 12)), cum_error=bool(rng.random() < 0.5), spike_exp=int(rng.integers(0, 4)),
                state_exp=int(rng.integers(0, 4)))


def _projection(rng, src_shape, n_post_choices, graded_weights=True):
    """A random Dense / Sparse / Conv2d (and delays) from a source of ``src_shape``: (connectivity, delay)."""
    n_pre = int(np.prod(src_shape))
    form = str(rng.choice(["dense", "sparse", "conv"] if len(src_shape) == 3 else ["dense", "sparse"]))
    opts = dict(weight_exp=int(rng.integers(-4, 3)), num_weight_bits=int(rng.integers(5, 9)))
    delay = 0
    if form == "conv":
        c_in = src_shape[0]
        kern = rng.integers(-60, 60, (int(rng.integers(1, 3)), c_in, 2, 2))
        if rng.random() < 0.7:     # clip/truncation-invariant -> Lava's Conv; else lowered as Sparse
            return nc.Conv2d(2 * kern, input_shape=src_shape, padding=int(rng.integers(0, 2)), sign_mode="mixed"), 0
        return nc.Conv2d(kern, input_shape=src_shape, weight_exp=opts["weight_exp"]), 0
    n_post = int(rng.choice(n_post_choices))
    w = rng.integers(-200, 200, (n_post, n_pre))
    if form == "dense":
        conn = nc.Dense(w, **opts)
        if rng.random() < 0.4:
            delay = rng.integers(0, 3, w.shape)
    else:
        conn = nc.Sparse.from_dense(w * (rng.random(w.shape) < 0.6), **opts)
        if rng.random() < 0.4:
            delay = rng.integers(0, 3, conn.n_synapses)
    return conn, delay


def sdnn_network(seed: int):
    """Delta input layer -> Dense/Sparse/Conv -> SigmaDelta (ReLU/Unit, cum_error, exponents) [-> SigmaDelta]
    -> Sigma output, sometimes with a recurrent SigmaDelta projection or a LoihiLIF reading graded messages."""
    rng = np.random.default_rng(seed)
    net = nc.Network(f"sdnn{seed}")
    shape = (int(rng.integers(1, 3)), int(rng.integers(2, 4)), int(rng.integers(2, 4)))
    net.input("x", shape)
    net.population("d", shape, nc.Delta(**_sdn_params(rng)))
    net.connect("x", "d", nc.OneToOne(1, num_message_bits=24))
    prev = "d"
    for layer in range(int(rng.integers(1, 3))):
        conn, delay = _projection(rng, net.populations[prev].shape, [2, 3, 5])
        n = conn.shape[0]
        name = f"h{layer}"
        shape_h = conn.output_shape if isinstance(conn, nc.Conv2d) else (n,)
        net.population(name, shape_h, nc.SigmaDelta(bias=rng.integers(-30, 30, n), act_mode=int(rng.integers(0, 2)),
                                                    **_sdn_params(rng)))
        net.connect(prev, name, conn, delay=delay)
        prev = name
    if rng.random() < 0.4:
        n = net.populations[prev].size
        net.connect(prev, prev, nc.Dense(rng.integers(-40, 40, (n, n)), weight_exp=-2), delay=1, name="rec")
    conn, delay = _projection(rng, (net.populations[prev].size,), [1, 2, 3])
    net.population("o", (conn.shape[0],), nc.Sigma())
    net.connect(prev, "o", conn, delay=delay)
    if rng.random() < 0.4:
        net.population("lif", (2,), nc.LoihiLIF(du=300, dv=200, vth=50))
        net.connect(prev, "lif", nc.Dense(rng.integers(-20, 20, (2, net.populations[prev].size)), weight_exp=-3))
    steps = int(rng.integers(6, 12))
    x = rng.integers(-40, 40, (steps, *shape)) * (rng.random((steps, *shape)) < 0.6)
    x[1::3] = x[0::3][:x[1::3].shape[0]]           # repeated frames: deltas below threshold, residues
    return net, steps, {"x": x}


@pytest.mark.parametrize("seed", range(10))
def test_reference_equals_lava_on_random_sdnn_networks(seed):
    from neurocomp.backends.lava import lower
    net, steps, inputs = sdnn_network(seed)
    kinds = lower(net, steps, inputs).kinds()
    assert kinds == {name: lava_connection(p) for name, p in net.projections.items()}
    ref = simulate_reference(net, steps, inputs, record=REC)
    lav = nc.deploy(net, backend="lava", steps=steps, inputs=inputs, record=REC)
    assert_same_results(ref, lav)
    assert any(np.count_nonzero(p) for p in ref.payloads.values())


def test_the_random_networks_cover_every_case():
    seen = set()
    for seed in range(10):
        net, _, _ = sdnn_network(seed)
        model = build_model(net)
        seen |= {s.lava_kind for s in model.synapses}
        for pop in net.neuron_populations:
            m = pop.model
            if isinstance(m, nc.SigmaDelta):
                seen |= {("act_mode", int(m.act_mode)), ("cum_error", int(m.cum_error))}
                seen |= {"exps"} if int(m.spike_exp) and int(m.state_exp) else set()
            seen |= {type(m).__name__}
    assert {"Dense", "DelayDense", "Sparse", "DelaySparse", "Conv", ("act_mode", 0), ("act_mode", 1),
            ("cum_error", 0), ("cum_error", 1), "exps", "Delta", "SigmaDelta", "Sigma", "LoihiLIF"} <= seen, seen
