"""Resonate-and-fire neurons (issue 14): RF, RF_IZ and RFZero, Lava 0.10's fixed-point ``PyRFModelFixed``,
``PyRF_IZModelFixed`` and ``PyRFZeroModelFixed``, with their two input channels (``Projection.port``: 0 real,
1 imaginary).

Hand-worked steps (spec and numba kernel), lava-dl's own RF ground truths (``tests/data/netx/complex_dense``:
netx's ComplexInput / ComplexDense blocks run by lava-dl on Lava) reproduced by the emulator, the reference
against Lava's CPU simulation on random networks (spikes, real, imag), the emulator (numba kernel and numpy
spec engine, several cores) against the reference, and the refusals. Kernel == spec on random parameters is
in ``test_neurons.py``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.neurons import RF, RF_IZ, LoihiLIF, RFZero
from neurocomp.semantics.reference import simulate_reference
from netgen import random_lava_connection
from test_neuron_variants import assert_states_equal, lava_states, reference_states, run_model

DATA = Path(__file__).parent / "data" / "netx" / "complex_dense"


# ------------------------------------------------------------------------------ hand-worked steps
def test_rf_step_by_hand():
    """sin 2048, cos 3547 (12 bits): products round toward 0, the input adds after the shift, phase spike."""
    model = RF(sin_decay=2048, cos_decay=3547, vth=800, decay_bits=12, state_exp=0, real0=1000, imag0=-10)
    out = run_model(model, [[[5], [7]], [[0], [0]]])
    # real = 3547000 >> 12 (865) - trunc0(-20480 / 4096) (-5) + 5;  imag = 2048000 >> 12 (500) + trunc0(-35470/4096) (-8) + 7
    assert out["real"][0, 0] == 875 and out["imag"][0, 0] == 499
    assert out["s"][0, 0] == 1                      # real >= vth, imag crossed 0 upward
    assert out["s"][1, 0] == 0                      # imag was already >= 0
    assert out["real"][1, 0] == (3547 * 875 >> 12) - (2048 * 499 >> 12)


def test_rf_iz_spikes_on_imag_and_resets():
    model = RF_IZ(sin_decay=0, cos_decay=4096, vth=100, decay_bits=12, state_exp=2, real0=40, imag0=90)
    out = run_model(model, [[[1], [3]], [[1], [0]]])
    assert out["s"][:, 0].tolist() == [1, 0]        # imag = 90 + (3 << 2) = 102 >= 100
    assert out["real"][0, 0] == 0 and out["imag"][0, 0] == 99       # reset: real 0, imag vth - 1
    assert out["real"][1, 0] == 4 and out["imag"][1, 0] == 99


def test_input_shift_wraps_int32_and_state_clips_24_bits():
    """Lava shifts the int32 input left in int32 (2^27 << 4 wraps to -2^31), then clips to +-(2^23 - 1)."""
    model = RF(sin_decay=0, cos_decay=4096, vth=0, decay_bits=12, state_exp=4)
    out = run_model(model, [[[2 ** 27], [2 ** 26]], [[2 ** 28], [-(2 ** 26)]]])
    assert out["real"][:, 0].tolist() == [-(2 ** 23 - 1), -(2 ** 23 - 1)]     # 2^32 wraps to 0: real unchanged
    assert out["imag"][:, 0].tolist() == [2 ** 23 - 1, -(2 ** 23 - 1)]


def test_rf_zero_step_by_hand():
    """int32 products wrap, // 2**15 floors, the payload is u when it passes uth at a zero crossing of v."""
    model = RFZero(lct=30000, lst=10000, uth=5, u0=2 ** 20, v0=-100)
    out = run_model(model, [[[3], [4]], [[0], [0]]])
    w = lambda x: (x + 2 ** 31) % 2 ** 32 - 2 ** 31
    u1 = w(2 ** 20 * 30000) // 2 ** 15 - (-100 * 10000) // 2 ** 15 + 3     # 2^20 * 30000 wraps in int32
    v1 = (-100 * 30000) // 2 ** 15 + w(2 ** 20 * 10000) // 2 ** 15 + 4    # -91.6 floors to -92
    assert (u1, v1) == (42530, 57768)
    assert out["u"][0, 0] == u1 and out["v"][0, 0] == v1
    assert out["s"][0, 0] == (u1 if u1 > 5 else 0) and v1 >= 0


def test_from_period_is_lavas_constructor_rule():
    from lava.proc.rf.process import RF as LavaRF
    lava = LavaRF(shape=(1,), period=7.3, alpha=0.05, state_exp=6, decay_bits=12, vth=1.1)
    ours = RF.from_period(7.3, 0.05, 1.1, decay_bits=12, state_exp=6)
    assert int(ours.sin_decay) == int(lava.sin_decay.init) and int(ours.cos_decay) == int(lava.cos_decay.init)
    assert int(ours.vth) == int(lava.vth.init) == 70
    from lava.proc.resfire.process import RFZero as LavaRFZero
    freqs, tau = np.array([3.0, 40.0, 170.0]), np.array([0.01, 0.1, 0.5])
    lz, oz = LavaRFZero(shape=(3,), freqs=freqs, decay_tau=tau, dt=0.002, uth=4), RFZero.from_freqs(freqs, tau, 0.002, 4)
    assert np.array_equal(oz.lct, lz.lct.init) and np.array_equal(oz.lst, lz.lst.init)


# ------------------------------------------------------------------------------ lava-dl's ground truths
def _gts():
    d = np.load(DATA / "gts.npz")
    unpack = lambda k: np.unpackbits(d[k], count=int(np.prod(d[k + ".shape"]))).reshape(d[k + ".shape"])
    return unpack("in"), unpack("out"), unpack("current"), d["weight_r"].astype(np.int64), \
        d["weight_img"].astype(np.int64)


def test_lava_dl_complex_input_block_ground_truth():
    """lava-dl's ``TestRFBlocks.test_input``: a ComplexInput block (RF_IZ, period 7, alpha 0.05, vth 1.1,
    state_exp 6, decay_bits 12) fed 200 spike trains on both ports for 2000 steps. Lava feeds the neurons
    straight from a RingBuffer; the IR's graph input goes through a projection, one step later (the netx
    reader's ``input_latency``): our step t+1 is Lava's step t."""
    x, _, current, _, _ = _gts()
    net = nc.Network("complex_input")
    net.input("in", (200,))
    net.population("iz", (200,), RF_IZ.from_period(7, 0.05, 1.1, decay_bits=12, state_exp=6))
    net.connect("in", "iz", nc.OneToOne(1), name="re")
    net.connect("in", "iz", nc.OneToOne(1), name="im", port=1)
    res = nc.emulate(nc.compile(net, "loihi2"), x.shape[1], {"in": x.T}, record=("spikes",), timing=False)
    s = res.spikes["iz"]
    assert current.sum() > 10000 and not s[0].any()
    assert np.array_equal(s[1:], current[:, :-1].T)


def test_lava_dl_complex_dense_block_ground_truth():
    """lava-dl's ``TestRFBlocks.test_dense``: a ComplexDense block (real and imaginary 256x200 Dense into RF,
    period 11, alpha 0.05, vth 25, state_exp 6, decay_bits 12), 2000 steps; step for step (both paths have
    the Dense's one-step latency)."""
    x, out, _, w_re, w_im = _gts()
    net = nc.Network("complex_dense")
    net.input("in", (200,))
    net.population("rf", (256,), RF.from_period(11, 0.05, 25, decay_bits=12, state_exp=6))
    net.connect("in", "rf", nc.Dense(w_re), name="re")
    net.connect("in", "rf", nc.Dense(w_im), name="im", port=1)
    art = nc.compile(net, "loihi2", max_neurons_per_core=100)
    res = nc.emulate(art, x.shape[1], {"in": x.T}, record=("spikes",), timing=False)
    assert out.sum() > 40000
    assert np.array_equal(res.spikes["rf"], out.T)


# ------------------------------------------------------------------------------ random networks
def random_rf_network(seed: int):
    """1 input; an RF, an RF_IZ and sometimes a LoihiLIF population; each resonator gets a real and (mostly)
    an imaginary projection from the input, plus random projections between populations on random ports
    (Dense/Sparse, delays, recurrence). Per-process RF parameters, as Lava takes them."""
    rng = np.random.default_rng(seed)
    pick = lambda *xs: xs[int(rng.integers(len(xs)))]
    net = nc.Network(f"rf{seed}")
    n_in = int(rng.integers(1, 7))
    net.input("in", (n_in,))
    kinds = ["rf", "iz", "zero"] + (["lif"] if rng.random() < 0.5 else [])
    for k in kinds:
        n = int(rng.integers(1, 7))
        if k == "lif":
            model = LoihiLIF(du=pick(0, 500, 4095), dv=pick(0, 300), vth=int(rng.integers(0, 40)))
        elif k == "zero":
            model = RFZero.from_freqs(rng.uniform(5, 150, n), rng.uniform(0.005, 0.3, n), uth=int(rng.integers(-50, 500)),
                                      u0=rng.integers(-3000, 3000, n), v0=rng.integers(-3000, 3000, n))
        else:
            cls = RF if k == "rf" else RF_IZ
            state_exp = pick(0, 6, 6, 3)
            vth = float(rng.uniform(-0.5, 3)) if state_exp else int(rng.integers(-5, 200))
            model = cls.from_period(rng.uniform(2.2, 30), rng.uniform(0, 0.3), vth,
                                    decay_bits=pick(12, 12, 8, 15), state_exp=state_exp,
                                    real0=rng.integers(-3000, 3000, n), imag0=rng.integers(-3000, 3000, n))
        net.population(k, (n,), model)
    edges = [("in", k, 0) for k in kinds] + [("in", k, 1) for k in ("rf", "iz", "zero") if rng.random() < 0.8]
    for _ in range(int(rng.integers(1, 5))):
        dst = pick(*kinds)
        edges.append((pick(*kinds), dst, 0 if dst == "lif" else int(rng.integers(0, 2))))
    for j, (src, dst, port) in enumerate(edges):
        conn, delay = random_lava_connection(rng, net.populations[dst].size, net.populations[src].size)
        net.connect(src, dst, conn, delay=delay, name=f"e{j}", port=port)
    steps = int(rng.integers(20, 40))
    inputs = {"in": (rng.random((steps, n_in)) < rng.uniform(0.2, 0.7)).astype(np.uint8)}
    return net, steps, inputs


@pytest.mark.parametrize("seed", range(3))
def test_reference_equals_lava_on_random_rf_networks(seed):
    net, steps, inputs = random_rf_network(seed)
    ref, lav = reference_states(net, steps, inputs), lava_states(net, steps, inputs)
    assert_states_equal(ref, lav)
    assert {("rf", "real"), ("rf", "imag"), ("iz", "real"), ("iz", "imag"), ("rf", "spikes"), ("zero", "u"),
            ("zero", "v"), ("zero", "spikes")} <= set(lav)


def test_random_rf_networks_spike():
    """The seeds are not idle: every model spikes (RFZero with payloads other than 1)."""
    totals = {"rf": 0, "iz": 0, "zero": 0}
    for seed in range(10):
        net, steps, inputs = random_rf_network(seed)
        ref = simulate_reference(net, steps, inputs, record=("spikes",))
        for k in ("rf", "iz", "zero"):
            totals[k] += int(ref.spikes[k].sum())
        totals["zero_payload"] = totals.get("zero_payload", 0) + int(np.sum(np.abs(ref.payloads["zero"]) > 1))
    assert all(totals.values()), totals


@pytest.mark.parametrize("seed", range(8))
def test_emulator_equals_reference_on_random_rf_networks(seed):
    from neurocomp.backends.emulator import emulate_tables
    from neurocomp.mapping.tables import build_core_tables
    net, steps, inputs = random_rf_network(seed)
    rng = np.random.default_rng(300 + seed)
    pops = net.neuron_populations
    n_cores = int(rng.integers(1, 4))
    mapping = {p.name: rng.integers(0, n_cores, p.size) for p in pops}
    used = sorted({int(c) for a in mapping.values() for c in a})
    mapping = {k: np.array([used.index(int(c)) for c in v]) for k, v in mapping.items()}
    tables = build_core_tables(net, mapping, len(used))
    ref = simulate_reference(net, steps, inputs, record=("spikes", "v", "u"))
    for engine in ("numba", "numpy"):
        res = emulate_tables(tables, steps, inputs, record=("spikes", "v", "u"), engine=engine)
        for pop in ref.spikes:
            assert np.array_equal(res.spikes[pop], ref.spikes[pop]), (engine, pop)
        for pop in ref.v:
            assert np.array_equal(res.v[pop], ref.v[pop]), (engine, pop, "v")     # LoihiLIF; RFZero's v
        for pop in ref.u:
            assert np.array_equal(res.u[pop], ref.u[pop]), (engine, pop, "u")
        assert set(res.payloads) == set(ref.payloads) == {"zero"}
        assert np.array_equal(res.payloads["zero"], ref.payloads["zero"]), engine


# ------------------------------------------------------------------------------ refusals
def _net(port=1, model=None):
    net = nc.Network("r")
    net.input("in", (2,))
    net.population("rf", (3,), model or RF.from_period(8, 0.1, 1.0, state_exp=6))
    net.connect("in", "rf", nc.Dense(np.ones((3, 2), np.int64)), name="re")
    net.connect("in", "rf", nc.Dense(np.ones((3, 2), np.int64)), name="im", port=port)
    return net


@pytest.mark.parametrize("target", ["loihi", "tianjic", "truenorth"])
def test_targets_without_resonators_refuse_by_name(target):
    with pytest.raises(nc.UnsupportedError, match=f"population 'rf' \\(RF\\): target '{target}' has no "
                                                  "resonate-and-fire neurons"):
        nc.compile(_net(), target)


def test_a_port_the_model_does_not_have_is_refused():
    with pytest.raises(nc.UnsupportedError, match="projection 'im': port 2, but the target 'rf' \\(RF\\) has 2 "
                                                  "input channel"):
        simulate_reference(_net(port=2), 2)
    net = nc.Network("p")
    net.input("in", (1,))
    net.population("lif", (1,), LoihiLIF(du=0, dv=0, vth=1))
    net.connect("in", "lif", nc.Dense(np.ones((1, 1), np.int64)), port=1, name="x")
    for run in (lambda: simulate_reference(net, 2), lambda: nc.compile(net, "loihi2")):
        with pytest.raises(nc.UnsupportedError, match="projection 'x': port 1, but the target 'lif' \\(LoihiLIF\\)"):
            run()
    with pytest.raises(nc.ValidationError, match="port"):
        net.connect("in", "lif", nc.Dense(np.ones((1, 1), np.int64)), port=-1)


def test_lava_refuses_per_neuron_decays_by_name():
    from neurocomp.backends.lava import lower
    model = RF(sin_decay=[100, 200, 300], cos_decay=4000, vth=10)
    with pytest.raises(nc.UnsupportedError, match="population 'rf': RF 'sin_decay' varies across neurons"):
        lower(_net(model=model), 2)


def test_ir_validation_names_the_field():
    with pytest.raises(nc.ValidationError, match="decay_bits"):
        RF(sin_decay=1, cos_decay=1, vth=1, decay_bits=40)
    with pytest.raises(nc.ValidationError, match="real0"):
        RF_IZ(sin_decay=1, cos_decay=1, vth=1, real0=2 ** 23)


def test_port_round_trips_through_the_native_format(tmp_path):
    net = _net()
    nc.save(net, tmp_path / "rf.h5")
    back = nc.load(tmp_path / "rf.h5")
    assert back == net and back.projections["im"].port == 1 and back.projections["re"].port == 0


# ------------------------------------------------------------------------------ netx
def _rf_neuron(ntype, sin, cos, vth):
    return {"type": ntype, "sinDecay": sin, "cosDecay": cos, "vThMant": vth, "gradedSpike": False}


def _netx_rf_file(path, rng):
    from test_netx import cuba, dense_layer, input_layer, write_netx
    cplx = lambda n, m, lo, hi: {"real": rng.integers(lo, hi, (n, m)) * 2.0, "imag": rng.integers(lo, hi, (n, m)) * 2.0}
    layers = [input_layer((6,), neuron=False),
              {"type": "dense", "shape": np.array([5]), "weight": cplx(5, 6, -60, 60),
               "neuron": _rf_neuron("RF_PHASE", 1200, 3700, 3)},
              {"type": "dense_comp", "shape": np.array([4]), "weight": cplx(4, 5, -30, 90),
               "neuron": _rf_neuron("RF", 800, 3900, 1)},
              dense_layer(rng.integers(-50, 50, (3, 4)) * 2.0, neuron=cuba(1024, 128, 20))]
    return write_netx(path, layers), layers


def _netx_on_lava(layers, x):
    """The process graph netx's hdf5.py builds for these layers, from lava-nc: per complex layer the RF/RF_IZ
    process with netx's constructor arguments (SLAYER's period and decay from sinDecay/cosDecay, vth =
    vThMant, state_exp 6, decay_bits 12) and two Dense (real, imag) with optimize_weight_bits; then Dense +
    LIF for the CUBA layer. Returns each layer's spikes [T, n]."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF
    from lava.proc.monitor.process import Monitor
    from lava.proc.rf.process import RF as LavaRF
    from lava.proc.rf_iz.process import RF_IZ as LavaRFIZ
    from neurocomp.io.netx import netx_weight_bits
    steps = x.shape[0]
    src = RingBuffer(data=x.T.astype(np.int32))
    prev, outs = src.s_out, []
    for lay in layers[1:]:
        nrn = lay["neuron"]
        if nrn["type"] in ("RF", "RF_PHASE"):
            s, c = nrn["sinDecay"] / 4096, nrn["cosDecay"] / 4096
            period = 1 / (np.arctan2(s, c) / 2 / np.pi)
            cls = LavaRF if nrn["type"] == "RF_PHASE" else LavaRFIZ
            proc = cls(shape=(int(lay["shape"][0]),), vth=nrn["vThMant"], period=period,
                       alpha=1 - np.sqrt(s ** 2 + c ** 2), state_exp=6, decay_bits=12)
            for part, port in (("real", proc.a_real_in), ("imag", proc.a_imag_in)):
                w, nwb, exp = netx_weight_bits(lay["weight"][part].astype(np.int64))
                syn = Dense(weights=w, weight_exp=exp, num_weight_bits=nwb, num_message_bits=0)
                prev.connect(syn.s_in)
                syn.a_out.connect(port)
        else:
            w, nwb, exp = netx_weight_bits(lay["weight"].astype(np.int64))
            proc = LIF(shape=(w.shape[0],), du=nrn["iDecay"] - 1, dv=nrn["vDecay"], vth=nrn["vThMant"], bias_exp=6)
            syn = Dense(weights=w, weight_exp=exp, num_weight_bits=nwb, num_message_bits=0)
            prev.connect(syn.s_in)
            syn.a_out.connect(proc.a_in)
        mon = Monitor()
        mon.probe(proc.s_out, steps)
        outs.append((mon, proc))
        prev = proc.s_out
    src.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    try:
        return [np.asarray(m.get_data()[p.name]["s_out"]).astype(np.uint8) for m, p in outs]
    finally:
        src.stop()


def test_netx_rf_layers_equal_netx_processes_on_lava(tmp_path):
    """A netx file with an RF_PHASE dense layer (complex weights), a dense_comp RF layer and a CUBA readout:
    the IR nc.load builds (RF / RF_IZ with the integers Lava's constructor derives, real and imaginary Dense
    on ports 0 and 1) emulates spike for spike what netx's process graph does on Lava."""
    rng = np.random.default_rng(5)
    path, layers = _netx_rf_file(tmp_path / "rf.net", rng)
    net = nc.load(path)
    kinds = {name: type(p.model).__name__ for name, p in net.populations.items()}
    assert kinds == {"input": "SpikeInput", "dense1": "RF", "dense_comp2": "RF_IZ", "dense3": "LoihiLIF"}
    assert {p.name: p.port for p in net.projections.values()} == {
        "input-dense1.real": 0, "input-dense1.imag": 1, "dense1-dense_comp2.real": 0, "dense1-dense_comp2.imag": 1,
        "dense_comp2-dense3": 0}
    assert int(net.populations["dense1"].model.vth) == 3 << 6
    steps = 60
    x = (rng.random((steps, 6)) < 0.5).astype(np.uint8)
    res = nc.emulate(nc.compile(net, "loihi2"), steps, {"input": x}, record=("spikes",), timing=False)
    lava = _netx_on_lava(layers, x)
    for name, want in zip(("dense1", "dense_comp2", "dense3"), lava):
        assert want.sum() > 0, name
        assert np.array_equal(res.spikes[name], want), name


def test_netx_rf_refusals(tmp_path):
    from neurocomp.errors import NetworkFileError
    from test_netx import input_layer, write_netx
    w = {"real": np.ones((2, 4)), "imag": np.ones((2, 4))}
    cases = [
        ({"type": "dense", "shape": np.array([2]), "weight": w, "neuron": _rf_neuron("ADRF", 1, 1, 1)},
         "neuron type 'ADRF' has no neurocomp model.*without its adaptive dynamics"),
        ({"type": "dense", "shape": np.array([2]), "weight": w, "neuron": {"type": "RF", "vThMant": 1}},
         "neuron has no 'sinDecay'"),
        ({"type": "conv", "shape": np.array([1, 2, 2]), "weight": w, "neuron": _rf_neuron("RF", 1, 1, 1)},
         "complex weights .* dense layers only"),
    ]
    for k, (layer, message) in enumerate(cases):
        path = write_netx(tmp_path / f"r{k}.net", [input_layer((4,), neuron=False), layer])
        with pytest.raises(NetworkFileError, match=message):
            nc.load(path)
