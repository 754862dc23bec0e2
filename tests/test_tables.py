"""The per-core tables hold every synapse exactly once, on the core of its post neuron, reachable by its route."""
import numpy as np
from hypothesis import given, settings, strategies as st

import neurocomp as nc
from neurocomp.semantics.fixedpoint import effective_weights
from neurocomp.mapping.tables import CoreTables, build_core_tables


def _net(seed):
    rng = np.random.default_rng(seed)
    net = nc.Network("t")
    net.input("in", (int(rng.integers(1, 12)),))
    sizes = rng.integers(1, 30, 3)
    for i, n in enumerate(sizes):
        net.population(f"p{i}", (int(n),), nc.LoihiLIF(du=int(rng.integers(0, 4096)), dv=100, vth=10))
    names = ["in", "p0", "p1", "p2"]
    for k in range(4):
        s, t = names[int(rng.integers(0, 4))], names[1 + int(rng.integers(0, 3))]
        w = rng.integers(-300, 300, (net.populations[t].size, net.populations[s].size))
        w[rng.random(w.shape) < 0.5] = 0
        net.connect(s, t, nc.Dense(w, weight_exp=int(rng.integers(-2, 2))), delay=rng.integers(0, 4, w.shape),
                    name=f"e{k}")
    return net, rng


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 6))
def test_every_synapse_once_on_its_post_core(seed, n_cores):
    net, rng = _net(seed)
    _check_tables(net, {p.name: rng.integers(0, n_cores, p.size) for p in net.neuron_populations}, n_cores)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 6))
def test_every_synapse_once_with_cores_in_neuron_order(seed, n_cores):
    """Cores in neuron order (the sequential baseline): no gather of source ids, and long runs of one core's
    synapses, which ``_place_synapses`` finds through its per-core axon index instead of a binary search."""
    net, rng = _net(seed)
    sizes = [p.size for p in net.neuron_populations]
    flat = np.sort(rng.integers(0, n_cores, sum(sizes)))
    parts = np.split(flat, np.cumsum(sizes)[:-1])
    _check_tables(net, {p.name: a for p, a in zip(net.neuron_populations, parts)}, n_cores)


def _check_tables(net, assign, n_cores):
    t = build_core_tables(net, assign, n_cores)
    core_of_gid = np.repeat(np.arange(n_cores), np.diff(t.core_neuron_ptr))
    # Rebuild the dense effective weight matrix of each projection from the tables.
    for k, proj in enumerate(net.projections.values()):
        src, dst = net.populations[proj.source], net.populations[proj.target]
        got = np.zeros((dst.size, src.size), np.int64)
        dly = np.zeros_like(got)
        for a in range(t.n_axons):
            sl = slice(t.axon_syn_ptr[a], t.axon_syn_ptr[a + 1])
            mine = t.syn_proj[sl] == k
            source = t.axon_source[a]
            # The axon lives on the core of all its synapses' post neurons.
            core = np.searchsorted(t.core_axon_ptr, a, side="right") - 1
            assert np.all(core_of_gid[t.syn_post[sl]] == core)
            if not mine.any():
                continue
            if src.is_input:
                pre = source - t.n_neurons - t.input_ptr[t.input_names.index(src.name)]
            else:
                pre = t.neuron_index[source]
            post_local = t.neuron_index[t.syn_post[sl][mine]]
            got[post_local, pre] += t.syn_weight[sl][mine]
            dly[post_local, pre] = t.syn_delay[sl][mine]
        c = proj.connectivity
        want = effective_weights(c.weights, c.sign_mode, c.num_weight_bits)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(dly[want != 0], proj.delay[want != 0])
    # Routes reach exactly the cores that hold the source's axons.
    for s in range(t.n_sources):
        cores = t.route_core[t.route_ptr[s]:t.route_ptr[s + 1]]
        axons = t.route_axon[t.route_ptr[s]:t.route_ptr[s + 1]]
        assert np.all(t.axon_source[axons] == s)
        assert np.all(np.diff(cores) > 0)
        for c_, a_ in zip(cores, axons):
            assert t.core_axon_ptr[c_] <= a_ < t.core_axon_ptr[c_ + 1]


def test_save_load_is_byte_identical(tmp_path):
    net, rng = _net(3)
    t = build_core_tables(net, {p.name: rng.integers(0, 4, p.size) for p in net.neuron_populations}, 4)
    t.save(tmp_path / "a.npz")
    CoreTables.load(tmp_path / "a.npz").save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_tables_are_narrow_and_loading_refuses_a_wide_weight(tmp_path):
    """Weights in the narrowest of int8/int16/int32 that holds them, int32 indices; a saved table keeps its
    dtypes, and a loaded syn_weight that is not int8/16/32 is refused (the emulator streams it as is)."""
    import pytest
    from neurocomp.errors import ArtifactError
    from neurocomp.mapping.tables import _fitting
    net = nc.Network("narrow")
    net.input("in", (5,))
    net.population("a", (7,), nc.LoihiLIF(du=10, dv=20, vth=5))
    net.connect("in", "a", nc.Dense(np.arange(-17, 18).reshape(7, 5)))
    t = build_core_tables(net, {"a": np.arange(7) % 2}, 2)
    assert t.syn_weight.dtype == np.int8 and t.syn_delay.dtype == np.int8 and t.syn_proj.dtype == np.int8
    for name in ("syn_post", "route_axon", "axon_source", "axon_syn_ptr"):
        assert getattr(t, name).dtype == np.int32, name
    t2, rng = _net(3)                                # weights -300..300: clipped to -256..255, int16
    assert build_core_tables(t2, {p.name: rng.integers(0, 4, p.size) for p in t2.neuron_populations},
                             4).syn_weight.dtype == np.int16
    # a chunk the bound missed widens the array and keeps what was placed
    w = _fitting(np.array([-128, 127, 5], np.int8), np.array([300, -2]))
    assert w.dtype == np.int16 and w.tolist() == [-128, 127, 5]
    t.save(tmp_path / "t.npz")
    back = CoreTables.load(tmp_path / "t.npz")
    assert back.syn_weight.dtype == np.int8 and back.syn_post.dtype == np.int32
    for dtype in (np.int64, np.uint8, np.float32):
        t.syn_weight = back.syn_weight.astype(dtype)
        t.save(tmp_path / "bad.npz")
        with pytest.raises(ArtifactError, match="syn_weight. has dtype"):
            CoreTables.load(tmp_path / "bad.npz")


def test_narrow_tables_run_like_wide_ones():
    """Narrow tables give the same spikes and v as the same tables with int32 weights and int64 indices (the
    former layout), with delays and a floor shift (ring mode 2). The wide layout runs on the numpy spec (held
    equal to the kernel elsewhere): compiling the big kernel once more for int32 weights cost ~60 s of CI."""
    from dataclasses import replace
    from neurocomp.backends.emulator import emulate_tables
    net, rng = _net(11)
    t = build_core_tables(net, {p.name: rng.integers(0, 3, p.size) for p in net.neuron_populations}, 3)
    wide = replace(t, syn_weight=t.syn_weight.astype(np.int32), syn_post=t.syn_post.astype(np.int64),
                   syn_delay=t.syn_delay.astype(np.int16), syn_proj=t.syn_proj.astype(np.int32),
                   axon_syn_ptr=t.axon_syn_ptr.astype(np.int64), route_axon=t.route_axon.astype(np.int64))
    assert t.syn_weight.dtype == np.int16
    inputs = {"in": (rng.random((40, net.populations["in"].size)) < 0.5).astype(np.uint8)}
    a = emulate_tables(t, 40, inputs, record=("spikes", "v"))
    b = emulate_tables(wide, 40, inputs, record=("spikes", "v"), engine="numpy")
    assert sum(int(s.sum()) for s in a.spikes.values()) > 0
    for p in a.spikes:
        np.testing.assert_array_equal(a.spikes[p], b.spikes[p])
        np.testing.assert_array_equal(a.v[p], b.v[p])



def test_tables_do_not_depend_on_the_place_chunk(monkeypatch):
    """``_place_synapses`` takes each chunk's arrays as the enumerator gives them (int32 Sparse indices, int64
    effective weights, broadcast delays), uncopied: any chunk size gives the same tables."""
    import dataclasses
    import neurocomp.mapping.tables as T
    from netgen import random_network
    net = random_network(5, n_pops=3, n_inputs=2, conv=True, max_size=60)
    assert any(isinstance(p.connectivity, nc.Sparse) for p in net.projections.values())
    assign = {p.name: np.arange(p.size) % 3 for p in net.neuron_populations}
    want = build_core_tables(net, assign, 3)
    monkeypatch.setattr(T, "PLACE_CHUNK", 5)
    got = build_core_tables(net, assign, 3)
    for f in dataclasses.fields(want):
        x, y = getattr(got, f.name), getattr(want, f.name)
        if isinstance(y, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), f.name
