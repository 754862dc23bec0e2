"""Bias onset (issue 21): a feed-forward NIR graph with biases is an exact shift of NIR in float, and
every integer backend (reference, emulator numba + numpy, Lava) holds a population at rest until its onset.

The NIR side is ``nir_sim.simulate_nir``, a numpy simulator of the NIR graph itself (instantaneous
edges); the IR side is ``neurocomp.passes.float_reference.simulate_float`` on the discretized network."""
from __future__ import annotations

import warnings

import nir
import numpy as np
import pytest

import neurocomp as nc
from neurocomp.align import align_result, pad_inputs, run_aligned
from neurocomp.backends.emulator import emulate
from neurocomp.backends.emulator.engine import emulate_tables
from neurocomp.errors import NeurocompWarning, ValidationError
from neurocomp.io.nir_import import read_nir
from neurocomp.passes.discretize import Discretize
from neurocomp.passes.float_reference import simulate_float
from neurocomp.semantics.reference import simulate_reference
from nir_sim import simulate_nir

DT = 1e-3


def random_ff_graph(seed: int, cuba: bool = False, self_loop: bool = False, v_reset: float = 0.0,
                    uniform: bool = False) -> nir.NIRGraph:
    """Input -> (Affine -> LIF/CubaLIF/IF) x depth 2..4 -> Output, biases everywhere, random sizes."""
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(2, 5))
    sizes = [int(rng.integers(3, 9)) for _ in range(depth + 1)]
    nodes = {"input": nir.Input(input_type={"input": np.array([sizes[0]])})}
    edges, prev = [], "input"
    for i in range(depth):
        n_in, n = sizes[i], sizes[i + 1]
        w = rng.normal(0.2, 1.5, (n, n_in))
        b = rng.normal(0.4, 0.4, n)                        # biases: some neurons fire from bias alone
        nodes[f"fc{i}"] = nir.Affine(weight=w, bias=b)
        kind = ["lif", "cuba", "if"][i % 3] if cuba else ["lif", "if"][i % 2]
        tau = np.full(n, rng.uniform(5e-3, 2e-2)) if uniform else rng.uniform(5e-3, 2e-2, n)   # Lava: one per pop
        th = np.full(n, rng.uniform(0.5, 1.0)) if uniform else rng.uniform(0.5, 1.0, n)
        if kind == "lif":
            nodes[f"n{i}"] = nir.LIF(tau=tau, r=np.ones(n), v_leak=rng.normal(0, 0.05, n), v_threshold=th,
                                     v_reset=np.full(n, v_reset))
        elif kind == "cuba":
            nodes[f"n{i}"] = nir.CubaLIF(tau_syn=tau / 2, tau_mem=tau, r=np.full(n, 2.0), v_leak=np.zeros(n),
                                         v_threshold=th, v_reset=np.zeros(n), w_in=np.ones(n))
        else:
            nodes[f"n{i}"] = nir.IF(r=np.full(n, 0.1), v_threshold=th, v_reset=np.zeros(n))
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"n{i}")]
        if self_loop and i == 0:
            nodes["rec"] = nir.Linear(weight=rng.normal(0, 0.3, (n, n)))
            edges += [(f"n{i}", "rec"), ("rec", f"n{i}")]
        prev = f"n{i}"
    nodes["output"] = nir.Output(output_type={"output": np.array([sizes[-1]])})
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges)


def _load(graph, tmp_path, name="g"):
    path = tmp_path / f"{name}.nir"
    nir.write(path, graph)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurocompWarning)
        return read_nir(path, dt=DT)


def _input(graph, steps, seed):
    n = int(graph.nodes["input"].input_type["input"][0])
    return (np.random.default_rng(seed + 100).random((steps, n)) < 0.3).astype(np.float64)


@pytest.mark.parametrize("seed,cuba,self_loop", [(s, s % 2 == 1, s % 3 == 2) for s in range(8)])
def test_float_ir_is_nir_shifted_by_depth_exactly(seed, cuba, self_loop, tmp_path):
    graph = random_ff_graph(seed, cuba, self_loop)
    net = _load(graph, tmp_path)
    steps = 60
    x = _input(graph, steps, seed)
    ref, ref_v = simulate_nir(graph, {"input": x}, steps, DT)
    depth = {p: d for p, d in net.metadata["latency_offset"].items() if p != "input"}
    assert net.onsets() == depth and max(depth.values()) >= 2
    dnet, _ = Discretize(DT).run(net)
    D = max(depth.values())
    raw = simulate_float(dnet, steps + D, pad_inputs({"input": x}, D))
    res = align_result(raw, depth, steps)
    fired = 0
    for pop, d in depth.items():
        assert np.array_equal(res.spikes[pop], ref[pop].astype(np.uint8)), pop
        np.testing.assert_allclose(res.v[pop], ref_v[pop], rtol=0, atol=1e-9)
        assert not raw.spikes[pop][:d].any() and not raw.v[pop][:d].any()        # held at rest
        fired += int(ref[pop].sum())
    assert fired > 0


def test_without_onsets_the_bias_head_start_breaks_the_shift(tmp_path):
    """The control: the same graphs with onsets removed differ from NIR (so the test above can fail)."""
    differs = 0
    for seed in range(4):
        graph = random_ff_graph(seed)
        net = _load(graph, tmp_path, f"g{seed}")
        net.metadata.pop("bias_onset")
        x = _input(graph, 40, seed)
        ref, _ = simulate_nir(graph, {"input": x}, 40, DT)
        res = simulate_float(Discretize(DT).run(net)[0], 44, pad_inputs({"input": x}, 4))
        differs += sum(not np.array_equal(res.spikes[p][d:d + 40], ref[p].astype(np.uint8))
                       for p, d in net.metadata["latency_offset"].items() if p != "input")
    assert differs > 0


def test_exact_integration_matches_nir_with_exponential_decays(tmp_path):
    graph = random_ff_graph(3, cuba=True)
    net = _load(graph, tmp_path)
    x = _input(graph, 50, 3)
    ref, _ = simulate_nir(graph, {"input": x}, 50, DT, exact=True)
    dnet = Discretize(DT, "exact").run(net)[0]
    res = run_aligned(lambda s, i: simulate_float(dnet, s, i), net, 50, {"input": x})
    for pop in net.onsets():
        assert np.array_equal(res.spikes[pop], ref[pop].astype(np.uint8)), pop
    euler = run_aligned(lambda s, i: simulate_float(Discretize(DT).run(net)[0], s, i), net, 50, {"input": x})
    assert any(not np.array_equal(euler.v[p], res.v[p]) for p in net.onsets())


def _compile(net):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurocompWarning)
        return nc.compile(net, "loihi2", partitioner="sequential")


@pytest.mark.parametrize("seed", [0, 1, 2, 5])
def test_integer_backends_hold_populations_until_their_onset(seed, tmp_path):
    graph = random_ff_graph(seed, cuba=seed % 2 == 1, self_loop=seed == 2, v_reset=-0.2 * (seed == 0))
    net = _load(graph, tmp_path)
    art = _compile(net)
    qnet = art.network
    assert qnet.onsets() == net.onsets()
    steps = 30
    x = _input(graph, steps, seed)
    ref = simulate_reference(qnet, steps, {"input": x}, record=("spikes", "v", "u"))
    for engine in ("numba", "numpy"):
        em = emulate_tables(art.tables, steps, {"input": x}, ("spikes", "v", "u"), engine=engine)
        for pop in ref.spikes:
            assert np.array_equal(em.spikes[pop], ref.spikes[pop]), (engine, pop)
            assert np.array_equal(em.v[pop], ref.v[pop]) and np.array_equal(em.u[pop], ref.u[pop]), (engine, pop)
    # onset really changes the integer run: without it the deeper populations integrate their bias early
    qnet.metadata = {**qnet.metadata, "bias_onset": {}}
    plain = simulate_reference(qnet, steps, {"input": x}, record=("v",))
    assert any(not np.array_equal(plain.v[p], ref.v[p]) for p in ref.v)


def test_onset_metadata_is_validated(tmp_path):
    net = _load(random_ff_graph(0), tmp_path)
    net.metadata["bias_onset"] = {"n0": -1}
    with pytest.raises(ValidationError, match="integer >= 0"):
        net.onsets()
    net.metadata["bias_onset"] = {"nope": 1}
    with pytest.raises(ValidationError, match="not neuron populations"):
        net.onsets()


@pytest.mark.parametrize("seed", [0, 3])
def test_lava_equals_emulator_with_onsets(seed, tmp_path):
    """Lava runs to each onset, sets the held populations' bias and initial-state Vars, and continues:
    bit-identical to the emulator (v_reset != 0 in seed 0, so the restart of the state matters)."""
    from neurocomp.backends.lava.run import run_lava
    graph = random_ff_graph(seed, cuba=seed % 2 == 1, self_loop=seed == 3, v_reset=-0.2 * (seed == 0),
                            uniform=True)
    art = _compile(_load(graph, tmp_path))
    assert len(set(art.network.onsets().values())) >= 2
    x = _input(graph, 20, seed)
    em = emulate(art, 20, {"input": x}, record=("spikes", "v", "u"))
    lv = run_lava(art.network, 20, {"input": x}, record=("spikes", "v", "u"))
    for pop in em.spikes:
        assert np.array_equal(em.spikes[pop], lv.spikes[pop]), pop
        assert np.array_equal(em.v[pop], lv.v[pop]) and np.array_equal(em.u[pop], lv.u[pop]), pop
    assert sum(int(s.sum()) for s in em.spikes.values()) > 0


def test_cuba_bias_current_rise_is_reproduced_by_u0():
    """A biased CubaLIF without input: v rises as the float model's (the bias current builds up over
    tau_syn) on the chip too, because u starts at minus the current's steady state."""
    net = nc.Network("cuba")
    net.input("x", 1)
    net.population("c", 4, nc.CubaLIF(tau_syn=2e-3, tau_mem=5e-3, v_threshold=10.0, bias=[0.5, 1.0, 2.0, 3.0]))
    net.connect("x", "c", nc.Dense(np.ones((4, 1))))
    net.metadata["dt"] = DT                                   # compile takes it from there
    art = _compile(net)
    q = art.network.metadata["quantization"]["c"]
    assert np.all(np.asarray(art.network.populations["c"].model.u0) < 0)
    chip = emulate(art, 30, record=("v",)).v["c"] / q["v_scale"] + np.asarray(q["v_offset"])
    ref = simulate_float(Discretize(DT).run(net)[0], 30).v["c"]
    err = np.max(np.abs(chip - ref)) / np.abs(ref).max()
    assert err < 2e-3, err                                  # measured 2.5e-4
    # the control: with u0 = 0 (the steady state folded into v from step 1) the error is far larger
    from dataclasses import replace
    q_net = art.network
    pop = q_net.populations["c"]
    q_net.populations["c"] = replace(pop, model=replace(pop.model, u0=0))
    plain = simulate_reference(q_net, 30, record=("v",)).v["c"] / q["v_scale"] + np.asarray(q["v_offset"])
    assert np.max(np.abs(plain - ref)) / np.abs(ref).max() > 20 * err
    assert np.all(ref[0] < 0.2 * ref[-1])                  # the float v does rise slowly (the current builds up)


def test_simulator_runs_cut_anywhere_keep_the_onsets(tmp_path):
    """A Simulator continued across runs (cut before, at and after an onset) and a closed loop hold the
    populations exactly as one run does, on the emulator and on Lava (issues 17 x 21)."""
    graph = random_ff_graph(0, v_reset=-0.2, uniform=True)
    art = _compile(_load(graph, tmp_path))
    onsets = sorted({o for o in art.network.onsets().values() if o > 0})
    steps = 16
    assert onsets and onsets[-1] < steps - 2
    x = _input(graph, steps, 0)
    one = emulate(art, steps, {"input": x}, record=("spikes", "v"))
    ends = sorted({onsets[0] - 1, onsets[0], onsets[-1] + 1} - {0}) + [steps]
    for backend in ("emulator", "lava"):
        with nc.Simulator(art, backend=backend) as sim:
            parts, a = [], 0
            for b in ends:
                parts.append(sim.run(b - a, {"input": x[a:b]}, record=("spikes", "v")))
                a = b
        for pop in one.spikes:
            assert np.array_equal(np.concatenate([p.spikes[pop] for p in parts]), one.spikes[pop]), (backend, pop)
            assert np.array_equal(np.concatenate([p.v[pop] for p in parts]), one.v[pop]), (backend, pop)
    with nc.Simulator(art) as sim:
        loop = sim.run(steps, on_step=lambda t, out: {"input": x[t]} if t < steps else None, record=("spikes", "v"))
    for pop in one.spikes:
        assert np.array_equal(loop.spikes[pop], one.spikes[pop]) and np.array_equal(loop.v[pop], one.v[pop]), pop
    assert sum(int(s.sum()) for s in one.spikes.values()) > 0
