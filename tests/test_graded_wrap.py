"""The emulator wraps graded (multi-bit) sums to int32 where Lava's connection process does (issue 14): every
Dense/Sparse/Conv, delay and weight_exp case of the Delta -> projection -> Sigma chain of test_sdnn (whose sums
overflow int32; the reference equals Lava on them there), numba kernel and numpy spec == reference. The same
cases pin the plan's ring dtype: int32 rings (wrapping as they add) wherever the inputs need the sums only
modulo 2^32, int64 where an undelayed projection shifts right or casts like Conv (``kernels.ring_dtype``)."""
from __future__ import annotations

import numpy as np
import pytest

from neurocomp.backends.emulator import emulate_tables, make_plan
from neurocomp.mapping.tables import build_core_tables
from neurocomp.semantics.inputs import InputSpec
from neurocomp.semantics.reference import simulate_reference
from neurocomp.semantics.synapses import lava_connection

from test_sdnn import _graded_chain

CASES = [(k, d, e) for k in ("dense", "sparse") for d in (0, 1, 2) for e in (-3, 0, 2)] + [("conv", 0, 0)]


@pytest.mark.parametrize("kind,delay,wexp", CASES)
def test_emulator_wraps_graded_sums_like_lava(kind, delay, wexp):
    net, inputs = _graded_chain(kind, delay, wexp)
    ref = simulate_reference(net, 6, inputs, record=("spikes", "sigma"))
    assert np.abs(ref.payloads["d"]).max() >= 2 ** 29                 # the sums leave int32
    n_cores = 2 if kind != "conv" else 1
    mapping = {p.name: np.arange(p.size) % n_cores for p in net.neuron_populations}
    tables = build_core_tables(net, mapping, n_cores)
    assert tables.proj_lava_kinds[tables.proj_names.index("p")] == lava_connection(net.projections["p"])
    whole = delay == 0 and (wexp < 0 or kind == "conv")         # the raw sum's high bits reach the input
    assert make_plan(tables).ring_dtype == (np.int64 if whole else np.int32)
    for engine in ("numba", "numpy"):
        res = emulate_tables(tables, 6, inputs, record=("spikes",), engine=engine, input_spec=InputSpec.of_network(net))
        for pop in ref.payloads:
            assert np.array_equal(res.payloads[pop], ref.payloads[pop]), (engine, pop)


def test_loaded_tables_refuse_an_unknown_lava_process(tmp_path):
    """proj_lava_kinds decides where the emulator wraps graded sums: a damaged value is refused on load by name."""
    from neurocomp.errors import ArtifactError
    from neurocomp.mapping.tables import CoreTables
    net, _ = _graded_chain("dense", 0, 0)
    tables = build_core_tables(net, {p.name: np.zeros(p.size, int) for p in net.neuron_populations}, 1)
    tables.save(tmp_path / "t.npz")
    assert CoreTables.load(tmp_path / "t.npz").proj_lava_kinds == tables.proj_lava_kinds
    with np.load(tmp_path / "t.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays["proj_lava_kinds"] = np.array(["Bogus"] * len(tables.proj_names))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ArtifactError, match="proj_lava_kinds"):
        CoreTables.load(tmp_path / "bad.npz")


def test_right_shifting_binary_projection_keeps_int32_rings_within_its_bound(monkeypatch):
    """A binary Dense shifting its sums right (weight_exp < 0) needs their high bits, so its rings are int32 only
    while no dendrite can receive 2^31 in a step (``engine.sum_bounds``: the largest per-post sum of |weight| of
    that projection, learned weights taken at their bound; a second projection into the same neurons is not
    counted); the run then equals the spec and the reference."""
    import neurocomp as nc
    from neurocomp.backends.emulator import engine as E, kernels as K
    rng = np.random.default_rng(2)
    w = rng.integers(-100, 101, (70, 30))
    net = nc.Network("shift")
    net.input("in", (30,))
    net.input("in2", (20,))
    net.population("a", (70,), nc.LoihiLIF(du=900, dv=300, vth=rng.integers(50, 400, 70)))
    net.connect("in2", "a", nc.Dense(rng.integers(-100, 101, (70, 20))))
    net.connect("in", "a", nc.Dense(w, weight_exp=-2), name="shifted")
    tables = build_core_tables(net, {"a": np.arange(70) % 3}, 3)
    shifted = tables.proj_names.index("shifted")
    bounds = []                                  # what make_plan computes, with its own dendrites and ranks
    real = E.sum_bounds
    monkeypatch.setattr(E, "sum_bounds", lambda *args: bounds.append(real(*args)) or bounds[-1])
    plan = make_plan(tables, copies=False)
    make_plan(tables, copies=True)
    per_post, count = {}, {}                     # the tables' (quantized) weights, summed per post one by one
    for post, proj, weight in zip(tables.syn_post.tolist(), tables.syn_proj.tolist(), tables.syn_weight.tolist()):
        if proj == shifted:
            per_post[post] = per_post.get(post, 0) + abs(weight)
            count[post] = count.get(post, 0) + 1
    plain, learned = bounds
    assert 1000 < plain[shifted] == max(per_post.values()) and np.isinf(plain[1 - shifted])
    assert learned[shifted] == E.LEARNED_WEIGHT_BOUND * max(count.values())       # every |w| <= 100 here
    assert plan.ring_dtype == np.int32
    d = plan.dendrites
    for bound, want in ((2.0 ** 31 - 1, np.int32), (2.0 ** 31, np.int64), (np.inf, np.int64)):
        b = np.zeros(2)
        b[shifted] = bound
        assert K.ring_dtype(d.proj_mode, d.proj_exp, d.proj_xf, b) == want
    inputs = {name: (rng.random((40, n)) < 0.3).astype(np.uint8) for name, n in (("in", 30), ("in2", 20))}
    ref = simulate_reference(net, 40, inputs, record=("spikes", "v"))
    assert 0.02 < ref.spikes["a"].mean() < 0.6
    for engine in ("numba", "numpy"):
        res = emulate_tables(tables, 40, inputs, record=("spikes", "v"), engine=engine)
        np.testing.assert_array_equal(res.spikes["a"], ref.spikes["a"])
        np.testing.assert_array_equal(res.v["a"], ref.v["a"])
