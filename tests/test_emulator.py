"""Emulator: numba kernel == numpy spec (step_numpy) == reference (Lava fixed_pt semantics), mapping
invariance, counters, input validation and the memory budget."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import neurocomp as nc
from neurocomp.backends.emulator import COUNTER_NAMES, emulate, emulate_tables, make_plan
from neurocomp.neurons.loihi_lif.spec import LifParams, lif_step
from neurocomp.semantics.reference import simulate_reference
from neurocomp.mapping.tables import build_core_tables

from netgen import STEPS, assert_same, random_inputs, random_mapping, random_network



network_params = st.tuples(st.integers(0, 2 ** 31), st.integers(1, 4), st.integers(0, 2), st.booleans(),
                           st.integers(1, 8))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network_params)
def test_kernel_equals_spec_and_reference(params):
    seed, n_pops, n_inputs, conv, n_cores = params
    net = random_network(seed, n_pops, n_inputs, conv and seed % 3 == 0)
    inputs = random_inputs(net, seed)
    tables = build_core_tables(net, random_mapping(net, seed, n_cores), n_cores)
    rec = ("spikes", "v", "u")
    fast = emulate_tables(tables, STEPS, inputs, rec)
    spec = emulate_tables(tables, STEPS, inputs, rec, engine="numpy")
    ref = simulate_reference(net, STEPS, inputs, rec)
    assert_same(fast, spec)
    assert_same(fast, ref)
    for name in COUNTER_NAMES + ("spikes_per_source",):
        np.testing.assert_array_equal(fast.report["counters"][name], spec.report["counters"][name], err_msg=name)


def _active_network():
    """Feed-forward + recurrent E/I net with delays and negative exponents, busy enough to test mapping."""
    rng = np.random.default_rng(7)
    net = nc.Network("busy")
    net.input("in", (40,))
    net.population("e", (120,), nc.LoihiLIF(du=400, dv=300, vth=rng.integers(20, 60, 120), bias_mant=3, bias_exp=3))
    net.population("i", (30,), nc.LoihiLIF(du=800, dv=500, vth=30))
    net.connect("in", "e", nc.Dense(rng.integers(0, 255, (120, 40)) * (rng.random((120, 40)) < 0.2)), delay=1)
    rec = nc.Sparse.from_dense(rng.integers(-60, 200, (120, 120)) * (rng.random((120, 120)) < 0.1), weight_exp=-1)
    net.connect("e", "e", rec, delay=rng.integers(0, 5, rec.n_synapses))
    net.connect("e", "i", nc.Dense(rng.integers(0, 255, (30, 120)), weight_exp=-2))
    net.connect("i", "e", nc.Dense(-rng.integers(0, 255, (120, 30)), weight_exp=-3), delay=2)
    inputs = {"in": (rng.random((60, 40)) < 0.2).astype(np.uint8)}
    return net, inputs


def test_mapping_invariance():
    net, inputs = _active_network()
    n = net.n_neurons
    one_each = {"e": np.arange(120), "i": 120 + np.arange(30)}
    few = {"e": np.arange(120) // 7, "i": np.arange(30) % 5}
    single = {"e": np.zeros(120, int), "i": np.zeros(30, int)}
    results = [emulate_tables(build_core_tables(net, m, c), 60, inputs, ("spikes", "v", "u"))
               for m, c in ((one_each, n), (few, 18), (single, 1))]
    assert sum(int(s.sum()) for s in results[0].spikes.values()) > 100      # the test is not vacuous
    for r in results[1:]:
        assert_same(results[0], r)
    # counters change with the mapping, their totals of neuron work do not
    for r in results:
        c = r.report["counters"]
        assert int(c["neurons_active"].sum() + c["neurons_idle"].sum()) == 60 * n
        assert int(c["spikes_out"].sum()) == sum(int(s.sum()) for s in r.spikes.values())
    assert results[2].report["counters"]["packets_in"].sum() < results[0].report["counters"]["packets_in"].sum()


def test_corrupt_routing_shows_as_wrong_spikes():
    """The emulator runs the routing tables: dropping one route changes the result."""
    net, inputs = _active_network()
    tables = build_core_tables(net, {"e": np.arange(120) // 10, "i": 12 + np.arange(30) // 10}, 15)
    good = emulate_tables(tables, 60, inputs)
    gid = tables.pop_gid["e"][0]
    lo, hi = tables.route_ptr[gid], tables.route_ptr[gid + 1]
    assert hi > lo
    # send neuron e[0]'s packets to another axon of the same core (a wrong routing table)
    bad_axon = tables.route_axon.copy()
    core = tables.route_core[lo]
    ax_lo, ax_hi = tables.core_axon_ptr[core], tables.core_axon_ptr[core + 1]
    bad_axon[lo] = ax_lo + (bad_axon[lo] - ax_lo + 1) % (ax_hi - ax_lo)
    tables.route_axon = bad_axon
    bad = emulate_tables(tables, 60, inputs)
    assert any(not np.array_equal(good.spikes[p], bad.spikes[p]) or not np.array_equal(good.v[p], bad.v[p])
               for p in ("e", "i"))


# ------------------------------------------------------------------ LIF arithmetic against lava.md §2
def _lif_scalar(u, v, a, du, dv, vth, bias):
    """lava.md §2 transcribed with Python ints (independent of numpy dtypes)."""
    def wrap32(x):
        return (x + 2 ** 31) % 2 ** 32 - 2 ** 31

    def trunc0(x, k):
        return -((-x) >> k) if x < 0 else x >> k
    u1 = wrap32(wrap32(trunc0(u * (4096 - (du + 1)), 12)) + wrap32(wrap32(a) << 6))
    u = u1 - 2 ** 24 if u1 > 2 ** 23 else (u1 + 2 ** 24 if u1 <= -(2 ** 23) else u1)
    v = wrap32(trunc0(v * (4096 - dv), 12) + u + bias)
    v = max(-(2 ** 23 - 1), min(2 ** 23 - 1, v))
    s = v > vth << 6
    return u, (0 if s else v), s


@settings(max_examples=300, deadline=None)
@given(st.integers(-2 ** 24, 2 ** 24), st.integers(-2 ** 23 + 1, 2 ** 23 - 1), st.integers(-2 ** 27, 2 ** 27),
       st.integers(0, 4095), st.integers(0, 4095), st.integers(0, 2 ** 17 - 1), st.integers(-2 ** 20, 2 ** 20))
def test_lif_matches_lava_doc(u, v, a, du, dv, vth, bias):
    arr = lambda x: np.array([x], np.int64)
    got = lif_step(arr(u), arr(v), arr(a), LifParams(arr(du), arr(dv), arr(vth), arr(bias), arr(0)))
    assert tuple(int(x[0]) for x in got) == tuple(int(x) for x in _lif_scalar(u, v, a, du, dv, vth, bias))


def test_lif_hand_example_and_timing():
    """One neuron, bias only: v grows by bias each step (dv=0, du irrelevant); spikes when v > vth<<6."""
    net = nc.Network("one")
    net.population("n", (1,), nc.LoihiLIF(du=0, dv=0, vth=1, bias_mant=25, bias_exp=0))
    res = emulate_tables(build_core_tables(net, {"n": np.zeros(1, int)}, 1), 6, record=("spikes", "v"))
    # v: 25, 50, 75 > 64 -> spike, reset to 0; 25, 50, 75 -> spike
    assert res.v["n"][:, 0].tolist() == [25, 50, 0, 25, 50, 0]
    assert res.spikes["n"][:, 0].tolist() == [0, 0, 1, 0, 0, 1]


def test_input_latency_and_delay():
    """Input row t-1 fires at step t and reaches u at step t+1+delay; weight 10 -> u = 640."""
    net = nc.Network("lat")
    net.input("in", (1,))
    net.population("n", (2,), nc.LoihiLIF(du=4095, dv=4095, vth=10 ** 5))
    net.connect("in", "n", nc.Sparse.from_dense(np.array([[10], [10]]), sign_mode="excitatory"),
                delay=np.array([0, 3]))
    x = np.zeros((8, 1), np.uint8)
    x[1] = 1                                              # fires at step 2
    res = emulate_tables(build_core_tables(net, {"n": np.array([0, 1])}, 2), 8, {"in": x}, record=("u",))
    assert np.nonzero(res.u["n"][:, 0])[0].tolist() == [2]          # step 3 (row 2)
    assert np.nonzero(res.u["n"][:, 1])[0].tolist() == [5]          # step 6
    assert res.u["n"][2, 0] == 640


def test_delayed_negative_exponent_shifts_each_send_step():
    """Lava's DelayDense shifts each (send step, delay) sum before buffering: 1>>1 + 1>>1 = 0, not 1."""
    net = nc.Network("shift")
    net.input("in", (2,))
    net.population("n", (1,), nc.LoihiLIF(du=4095, dv=4095, vth=10 ** 5))
    net.connect("in", "n", nc.Dense(np.array([[1, 1]]), weight_exp=-1, sign_mode="excitatory"),
                delay=np.array([[1, 0]]))
    x = np.zeros((5, 2), np.uint8)
    x[0, 0] = 1                         # step 1, delay 1 -> arrives step 3
    x[1, 1] = 1                         # step 2, delay 0 -> arrives step 3
    tables = build_core_tables(net, {"n": np.zeros(1, int)}, 1)
    for engine in ("numba", "numpy"):
        res = emulate_tables(tables, 5, {"in": x}, record=("u",), engine=engine)
        assert res.u["n"][:, 0].tolist() == [0, 0, 0, 0, 0]
    x[1, 1], x[1, 0] = 0, 1             # both from step 2 arrive at steps 3 and 4 separately: 1>>1 = 0
    x[0, 1] = 1                         # step 1 delay 0 and nothing else: 0
    x[2, :] = 1; x[3, 0] = 1            # step 3: w0 (d1 -> 5), w1 (d0 -> 4); step 4: w0 (d1 -> 6)
    ref = simulate_reference(net, 5, {"in": x}, ("u",))
    assert_same(emulate_tables(tables, 5, {"in": x}, record=("u",)), ref, ("u",))


def test_counters_hand_example():
    """Input channel 0 -> 3 neurons on 2 cores: one packet per destination core, one op per synapse."""
    net = nc.Network("cnt")
    net.input("in", (1,))
    net.population("n", (3,), nc.LoihiLIF(du=0, dv=0, vth=0))
    net.connect("in", "n", nc.Dense(np.array([[5], [5], [5]])))
    x = np.zeros((3, 1), np.uint8)
    x[0] = 1
    res = emulate_tables(build_core_tables(net, {"n": np.array([0, 1, 1])}, 2), 3, {"in": x})
    c = res.report["counters"]
    assert c["packets_in"][0].tolist() == [1, 1] and c["syn_ops"][0].tolist() == [1, 2]
    assert c["packets_out"].sum() == 0                                  # inputs come from off-chip
    assert c["spikes_out"][1].tolist() == [1, 2]                         # 5<<6 = 320 > 0: all spike at step 2
    assert c["neurons_active"][0].tolist() == [0, 0] and c["neurons_idle"][0].tolist() == [1, 2]
    assert c["spikes_out"][2].tolist() == [1, 2]                         # u stays ~320: they keep firing
    assert c["spikes_per_source"].tolist() == [2, 2, 2, 1]              # 3 neurons (steps 2, 3) + the input
    assert res.report["synaptic_events"] == 3


# ------------------------------------------------------------------ API, validation, budget
def _small():
    net = nc.Network("small")
    net.input("in", (2, 3))
    net.population("p", (4,), nc.LoihiLIF(du=100, dv=100, vth=5))
    net.connect("in", "p", nc.Dense(np.full((4, 6), 50)))
    return net, build_core_tables(net, {"p": np.array([0, 0, 1, 1])}, 2)


def test_input_validation_messages():
    net, tables = _small()
    ok = np.ones((5, 2, 3), np.uint8)
    with pytest.raises(nc.ValidationError, match=r"inputs \['bogus'\] are not graph inputs"):
        emulate_tables(tables, 5, {"in": ok, "bogus": ok})
    with pytest.raises(nc.ValidationError, match=r"no input given for graph input\(s\) \['in'\]"):
        emulate_tables(tables, 5, {})
    with pytest.raises(nc.ValidationError, match=r"shape \(5, 7\) must be \[T, \*\(6,\)\]"):
        emulate_tables(tables, 5, {"in": np.ones((5, 7))})
    with pytest.raises(nc.ValidationError, match="4 time steps given but 5 requested"):
        emulate_tables(tables, 5, {"in": ok[:4]})
    with pytest.raises(nc.ValidationError, match="values must be spikes 0/1"):
        emulate_tables(tables, 5, {"in": ok * 2})
    with pytest.raises(nc.ValidationError, match="steps must be a positive integer"):
        emulate_tables(tables, 0)
    with pytest.raises(nc.ValidationError, match="record: unknown variable"):
        emulate_tables(tables, 5, record=("spikes", "w"))
    # shaped and flat inputs both work and agree
    a = emulate_tables(tables, 5, {"in": ok}, shapes={"in": (2, 3)})
    b = emulate_tables(tables, 5, {"in": ok.reshape(5, 6)})
    assert_same(a, b, ("spikes", "v"))


def test_memory_budget_error_says_how_much_and_what_to_do():
    net, tables = _small()
    with pytest.raises(nc.BackendError, match=r"needs .* MiB, over the budget .* Run fewer steps"):
        emulate_tables(tables, 10_000, memory_budget=100_000)
    res = emulate_tables(tables, 10_000, record=("spikes",), counters=False, memory_budget=200_000)
    assert res.spikes["p"].shape == (10_000, 4) and "counters" not in res.report


def test_populations_selection_and_result_layout():
    net, inputs = _active_network()
    tables = build_core_tables(net, {"e": np.arange(120) % 4, "i": np.arange(30) % 4}, 4)
    full = emulate_tables(tables, 60, inputs, ("spikes", "v"))
    part = emulate_tables(tables, 60, inputs, ("spikes",), populations=["i"])
    assert list(part.spikes) == ["i"] and not part.v
    np.testing.assert_array_equal(part.spikes["i"], full.spikes["i"])
    assert full.spikes["e"].dtype == np.uint8 and full.v["e"].dtype == np.int64 and full.v["e"].shape == (60, 120)
    with pytest.raises(nc.ValidationError, match="not neuron populations"):
        emulate_tables(tables, 5, inputs, populations=["in"])


def test_emulate_artifact_like_and_progress(tmp_path, capsys):
    """``emulate`` takes anything with .tables and .network (a CompiledNetwork), validates shaped inputs."""
    net, tables = _small()

    class Art:
        pass
    art = Art()
    art.tables, art.network = tables, net
    x = (np.arange(30).reshape(5, 2, 3) % 3 == 0).astype(np.uint8)
    res = emulate(art, 5, {"in": x}, progress=True)
    assert_same(res, simulate_reference(net, 5, {"in": x}), ("spikes", "v"))
    res.save(tmp_path / "res")
    assert nc.Result.load(tmp_path / "res").spikes["p"].shape == (5, 4)
    learn = nc.Network("learn")
    learn.input("in", (2,))
    learn.population("p", (2,), nc.LoihiLIF(du=1, dv=1, vth=1))
    learn.connect("in", "p", nc.Dense(np.ones((2, 2), int)), learning=nc.LearningRule(dw="x1*y0"))
    art.network = learn
    with pytest.raises(nc.BackendError, match="learning rules"):
        emulate(art, 5)


def test_corrupt_tables_are_refused_not_crashed():
    net, tables = _small()
    tables.syn_post = tables.syn_post + 100
    with pytest.raises(nc.BackendError, match="'syn_post' has entries outside"):
        emulate_tables(tables, 3)


def test_spike_events_for_the_cost_model():
    net, inputs = _active_network()
    tables = build_core_tables(net, {"e": np.arange(120) % 3, "i": np.arange(30) % 3}, 3)
    full = emulate_tables(tables, 60, inputs, ("spikes",))
    res = emulate_tables(tables, 60, inputs, ("v",), populations=["i"], events=True)
    assert list(res.v) == ["i"] and not res.spikes
    ev = res.report["spike_events"]
    assert np.all(np.diff(ev["step"]) >= 0)
    per_source = np.bincount(ev["source"], minlength=tables.n_sources)
    np.testing.assert_array_equal(per_source, full.report["counters"]["spikes_per_source"])
    for name in ("e", "i"):
        gid = tables.pop_gid[name]
        t, j = np.nonzero(full.spikes[name])
        got = {(int(a), int(b)) for a, b in zip(ev["step"], ev["source"]) if b in set(gid.tolist())}
        assert got == {(int(a), int(gid[b])) for a, b in zip(t, j)}


def test_emulate_attaches_the_targets_cost_model(tmp_path):
    """emulate(art) = functional run + costmodel.estimate on the same spikes; report.json stays small."""
    from neurocomp.backends.emulator.costmodel import estimate
    rng = np.random.default_rng(5)
    net = nc.Network("cost")
    net.input("in", (20,))
    net.population("a", (30,), nc.LoihiLIF(du=300, dv=200, vth=40))
    net.connect("in", "a", nc.Dense(rng.integers(0, 120, (30, 20))))
    net.output("a")
    art = nc.compile(net, "loihi", max_neurons_per_core=8)
    inputs = {"in": (rng.random((40, 20)) < 0.3).astype(np.uint8)}
    res = emulate(art, 40, inputs)
    raw = emulate_tables(art.tables, 40, inputs, events=True)
    ev = raw.report["spike_events"]
    want = estimate(art.target, art.tables, art.physical_core, ev["step"], ev["source"],
                    raw.report["counters"]["neurons_active"], 40)
    assert res.report["energy_j"]["total"] == pytest.approx(want["energy_j"]["total"])
    assert res.report["latency_s"]["total"] == pytest.approx(want["latency_s"]["total"])
    assert res.report["energy_j"]["total"] > 0 and art.n_cores >= 4
    assert res.report["counters"]["syn_ops"].shape == (art.tables.n_cores,)
    res.save(tmp_path / "res")
    assert (tmp_path / "res" / "report.json").stat().st_size < 200_000


@pytest.mark.parametrize("scale, weight_exp", [(1, 0), (4, -2), (-8, 3)])
def test_neurons_stepped_in_blocks_equal_the_spec(scale, weight_exp, monkeypatch):
    """The kernel steps a segment's neurons in blocks of ``BLOCK`` (inputs, the model's loop, spikes): populations
    larger than a block, on one core and split over cores at odd offsets, on the one-cell input path (a Dense
    layer: one dendrite per neuron, no delays; read through its ``weight_exp`` shift, right or left) and the
    general one (two projections into a population), at one and two threads, counted or not, equal the numpy
    spec and the reference in spikes, v, u and counters."""
    from neurocomp.backends.emulator import kernels as K
    monkeypatch.setattr(K, "PAR_NEURONS", 0)          # small as it is, on two threads when asked (two groups)
    monkeypatch.setattr(K, "PAR_STEP_NS", 0.0)        # in every step
    rng = np.random.default_rng(11)
    n_a, n_b = 2 * K.BLOCK + 37, K.BLOCK + 5
    net = nc.Network("blocks")
    net.input("in", (50,))
    net.population("a", (n_a,), nc.LoihiLIF(du=rng.integers(0, 4096, n_a), dv=300, vth=150 * rng.integers(10, 80, n_a),
                                             bias_mant=rng.integers(-5, 20, n_a), bias_exp=2))
    net.population("b", (n_b,), nc.LoihiLIF(du=900, dv=rng.integers(0, 4096, n_b), vth=6000))
    w = rng.integers(-60, 120, (n_a, 50))          # the same drive at each weight_exp (scale -8: w // 8, << 3)
    net.connect("in", "a", nc.Dense(w * scale if scale > 0 else w // -scale, weight_exp=weight_exp))
    net.connect("a", "b", nc.Dense(rng.integers(-30, 60, (n_b, n_a))))
    net.connect("in", "b", nc.Dense(rng.integers(-30, 60, (n_b, 50))))
    inputs = {"in": (rng.random((40, 50)) < 0.3).astype(np.uint8)}
    rec = ("spikes", "v", "u")
    ref = simulate_reference(net, 40, inputs, rec)
    for s in ref.spikes.values():            # firing, not saturated: a wrong input shows in spikes and v
        assert 0.02 < s.mean() < 0.6
    for mapping, n_cores in (({"a": np.zeros(n_a, int), "b": np.zeros(n_b, int)}, 1),
                             ({"a": (np.arange(n_a) >= 131).astype(int), "b": 2 + (np.arange(n_b) >= 77)}, 4)):
        tables = build_core_tables(net, mapping, n_cores)
        plan = make_plan(tables)
        d = plan.dendrites
        one = K.one_cell_segments(plan.segments(tables)[1], d.dend_ptr, d.dend_mid, d.dend_off, d.dend_proj)
        assert d.all_direct and (one >= 0).sum() == (2 if n_cores > 1 else 0)   # a's cores (b has two inputs; on
        #                                                                         one core a and b are one segment)
        spec = emulate_tables(tables, 40, inputs, rec, engine="numpy")
        assert_same(spec, ref)
        for threads in (1, 2):
            fast = emulate_tables(tables, 40, inputs, rec, threads=threads)
            assert_same(fast, spec)
            for name in COUNTER_NAMES:
                np.testing.assert_array_equal(fast.report["counters"][name], spec.report["counters"][name],
                                              err_msg=name)
            # uncounted, the group's segments of one model run as one span across cores
            assert_same(emulate_tables(tables, 40, inputs, rec, threads=threads, counters=False), spec)


def test_spike_events_equal_numpy(monkeypatch):
    """The input encoder (``input_events.spike_events``: a silent 8-byte word costs one compare) is its numpy spec,
    ``np.nonzero`` by row: every width (a multiple of 8 or not), density, and arrays that are views at an odd byte
    offset or not contiguous; on one thread and in parts on several (every array, and the large ones by default:
    a row cut between two parts, parts with no whole word, rows with no event at a part's end); word by word and by
    64-byte masks. A byte that is neither 0 nor 1 is found at its first flat index, wherever it lies."""
    import numba
    from neurocomp.backends.emulator import input_events as IE
    from neurocomp.backends.emulator.engine import kernel_threads
    rng = np.random.default_rng(3)
    cases = [np.zeros((0, 5), np.uint8), np.zeros((3, 0), np.uint8), np.ones((4, 9), np.uint8)]
    for shape in ((1, 1), (7, 3), (20, 8), (33, 17), (100, 2000), (301, 333)):
        for p in (0.0, 0.003, 0.2, 1.0):
            cases.append((rng.random(shape) < p).astype(np.uint8))
    big = (rng.random(3 * 41 + 1) < 0.1).astype(np.uint8)
    cases += [big[1:].reshape(3, 41), (rng.random((9, 30)) < 0.3).astype(np.uint8)[:, ::3]]
    sparse_rows = np.zeros((50, 7), np.uint8)            # events in a few rows only: empty rows between and after
    sparse_rows[[3, 4, 30], [0, 6, 2]] = 1
    cases.append(sparse_rows)
    bads = []
    for shape, at in (((13, 11), (5, 3)), ((13, 11), (12, 10)), ((300, 240), (150, 0)), ((2, 4), (0, 0))):
        x = (rng.random(shape) < 0.2).astype(np.uint8)
        x[at] = rng.integers(2, 256)
        bads.append((x, np.ravel_multi_index(at, shape)))
    for threads, par_bytes in ((1, IE.PAR_INPUT_BYTES), (numba.config.NUMBA_NUM_THREADS, IE.PAR_INPUT_BYTES),
                               (numba.config.NUMBA_NUM_THREADS, 0)):
        for density in (IE.MASK_INPUT_DENSITY, 0.0, 2.0):     # the default choice, every input by 64-byte masks, none
            monkeypatch.setattr(IE, "PAR_INPUT_BYTES", par_bytes)
            monkeypatch.setattr(IE, "MASK_INPUT_DENSITY", density)
            with kernel_threads(threads):
                for arr in cases:
                    in_ptr, src, val, bad = IE.spike_events(arr, 17)
                    r, c = np.nonzero(arr)
                    want_ptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=arr.shape[0]))])
                    for g, w in ((in_ptr, want_ptr), (src, c + 17), (val, np.ones(c.size))):
                        assert g.dtype == np.int64
                        np.testing.assert_array_equal(g, w, err_msg=f"{arr.shape}, {threads} threads, {par_bytes}, "
                                                                    f"mask density {density}")
                    assert bad == -1
                for x, at in bads:
                    assert IE.spike_events(x, 0)[3] == at, (x.shape, threads, par_bytes, density)


def test_kernel_entry_key_tells_apart_what_numba_types_apart():
    """The kernel's entry point is kept per argument key (``engine.call_kernel``): two arguments whose numba
    types differ must never share a key (the kept entry would unbox the second by the first's signature)."""
    import numba
    from neurocomp.backends.emulator.engine import _arg_key
    base = np.zeros((4, 3), np.int64)
    ro = base.copy()
    ro.flags.writeable = False
    unaligned = np.zeros(8 * 12 + 1, np.uint8)[1:].view(np.int64).reshape(4, 3)
    variants = [base, base.astype(np.int32), base[0], base.T, base[:, ::2], ro, unaligned, (base, base),
                (base, base[0]), (base, True), (base, 1), (base, 1.0), np.int64(3), 3, True, 2 ** 63]
    for i, x in enumerate(variants):
        for y in variants[i + 1:]:
            tx, ty = numba.typeof(x), numba.typeof(y)
            if tx != ty:
                assert _arg_key(x) != _arg_key(y) or _arg_key(x) is None, (tx, ty)
    assert _arg_key(2 ** 63) is None and _arg_key((base, 2 ** 64)) is None      # typed otherwise: never kept
    assert _arg_key(np.ones((4, 3), np.int64)) == _arg_key(base)


def _spec_firing_and_threads_equal(net, tables, steps, inputs, counted=(True, False)):
    """The numpy spec fires (not saturated: a wrong input shows in spikes and v) and equals the reference; the
    kernel on one thread and on two, counted and not (``counted``), equals the spec, counters included."""
    rec = ("spikes", "v")
    spec = emulate_tables(tables, steps, inputs, rec, engine="numpy")
    for s in spec.spikes.values():
        assert 0.02 < s.mean() < 0.5
    assert_same(spec, simulate_reference(net, steps, inputs, rec))
    for threads in (1, 2):
        for counters in counted:
            fast = emulate_tables(tables, steps, inputs, rec, threads=threads, counters=counters)
            assert_same(fast, spec)
            if counters:
                for name in COUNTER_NAMES:
                    np.testing.assert_array_equal(fast.report["counters"][name], spec.report["counters"][name],
                                                  err_msg=name)


@pytest.mark.parametrize("layers", [1, 2])
def test_runs_joined_across_cores_equal_the_spec(layers, monkeypatch):
    """A Dense row into a layer spread over consecutive cores is one run once joined (``kernels.fuse_runs``),
    walked whole when one group delivers every route, cut at the groups' cell boundary when two do (one layer
    over every core: wherever ``step_groups`` puts the boundary, it is inside the joined rows). All equal the
    spec."""
    from neurocomp.backends.emulator import kernels as K, make_plan
    monkeypatch.setattr(K, "PAR_NEURONS", 0)          # small as it is, on two threads when asked (two groups)
    monkeypatch.setattr(K, "PAR_STEP_NS", 0.0)        # in every step
    rng = np.random.default_rng(5)
    net = nc.Network("joined")
    net.input("in", (40,))
    net.population("x", (300,), nc.LoihiLIF(du=1000, dv=rng.integers(0, 4096, 300),
                                             vth=rng.integers(2000, 6000, 300)))
    net.connect("in", "x", nc.Dense(rng.integers(-50, 120, (300, 40))))
    if layers == 2:
        net.population("y", (200,), nc.LoihiLIF(du=3000, dv=200, vth=2000))
        net.connect("x", "y", nc.Dense(rng.integers(-40, 60, (200, 300))))
        tables = build_core_tables(net, {"x": np.arange(300) // 100, "y": 3 + np.arange(200) // 100}, 5)
    else:
        tables = build_core_tables(net, {"x": np.arange(300) // 75}, 4)
    plan = make_plan(tables)
    routes = plan.routes
    assert 0 < 2 * routes.frun_start.size <= routes.run_start.size      # 3 to 4 runs a row, joined into 1
    inputs = {"in": (rng.random((50, 40)) < 0.3).astype(np.uint8)}
    if layers == 1:              # every boundary two groups can have cuts the joined input rows
        d = plan.dendrites
        core_cell = K.core_first_cells(tables.core_neuron_ptr, d.dend_ptr, d.dend_off, plan.ring_size)
        inner = core_cell[1:-1]
        assert routes.split_syn.size == 5 and np.all(inner > 0) and np.all(inner < plan.ring_size)
        assert np.all([np.any((routes.frun_cell < b) & (b < routes.frun_cell + routes.frun_len)) for b in inner])
    _spec_firing_and_threads_equal(net, tables, 50, inputs)


def test_rows_joined_across_holes_at_core_boundaries(monkeypatch):
    """A zero weight on a core's first or last neuron (no synapse there) leaves a hole between two routes of a
    Dense row; ``engine.route_pads`` gives each route the hole's cells of its own core (zero weights), so the row
    is still one joined run. A hole wider than ``RUN_GAP`` is not bridged. A zero on the layer's first or last
    neuron (the row's ends) is padded too, so every one-run row has the same span of cells (``src_one``), which
    pass A adds together. Spikes, v and counters equal the spec on one and two groups (each group's cut writes
    only its own cells)."""
    from neurocomp.backends.emulator import engine as E, kernels as K, make_plan
    monkeypatch.setattr(K, "PAR_NEURONS", 0)
    monkeypatch.setattr(K, "PAR_STEP_NS", 0.0)
    rng = np.random.default_rng(11)
    w = rng.integers(-50, 120, (300, 40))
    w[w == 0] = 1                       # no zero weight but the holes below
    w[74, 3:] = 0                       # last neuron of core 0: a hole of 1 in core 0
    w[150:152, 3:20] = 0                # first two of core 2: a hole of 2 in core 2
    w[148:150, 20:] = 0                 # last two of core 1 and
    w[150, 20:] = 0                     # the first of core 2: a hole of 3 over both
    w[224:228, :3] = 0                  # 4 > RUN_GAP cells: rows 0..2 stay cut there
    w[0, 5] = w[:3, 6] = 0              # the rows' first cells: padded from the core's first cell
    w[299, 7] = w[297:, 8] = 0          # and their last: to the core's end
    w[:4, 9] = 0                        # 4 > RUN_GAP cells: not padded, a span of its own
    net = nc.Network("holes")
    net.input("in", (40,))
    net.population("x", (300,), nc.LoihiLIF(du=1000, dv=rng.integers(0, 4096, 300), vth=rng.integers(2000, 6000, 300)))
    net.connect("in", "x", nc.Dense(w))
    tables = build_core_tables(net, {"x": np.arange(300) // 75}, 4)
    plan = make_plan(tables)
    r = plan.routes
    n_runs = np.diff(r.src_run_ptr)[300:]               # the input channels' rows (sources after the neurons)
    assert E.RUN_GAP == 3 and list(n_runs) == [2] * 3 + [1] * 37
    spans = r.src_one[300:][3:] >> K.ONE_SHIFT          # the one-run rows' spans: all (0, 300) but row 9's
    assert [(int(r.span_cell[k]), int(r.span_len[k])) for k in spans] == [(0, 300)] * 6 + [(4, 296)] + [(0, 300)] * 30
    d = plan.dendrites
    core_cell = K.core_first_cells(tables.core_neuron_ptr, d.dend_ptr, d.dend_off, plan.ring_size)
    ends = r.route_run_ptr[1:][np.diff(r.route_run_ptr) > 0] - 1
    for run, c in zip(ends, np.asarray(r.route_core)[np.diff(r.route_run_ptr) > 0]):     # pads stay in the core
        assert core_cell[c] <= r.run_cell[run] and r.run_cell[run] + r.run_len[run] <= core_cell[c + 1]
    inputs = {"in": (rng.random((50, 40)) < 0.3).astype(np.uint8)}
    _spec_firing_and_threads_equal(net, tables, 50, inputs, counted=(True,))


@pytest.mark.parametrize("recurrent", [False, True])
def test_rows_over_the_same_cells_added_together_equal_the_spec(recurrent, monkeypatch):
    """Consecutive spiking sources whose rows are one joined run each over the same cells (a Dense layer's inputs)
    are added in one pass, four or two at a time (``kernels._deliver``'s pass A, from each source's one word
    ``src_one``: its span of cells and its weights' start); the batch ends at a source over other cells (the next
    input's layer) or at one with several runs (the third input's rows, cut by a hole). Spikes, v and counters equal
    the spec on one thread and on two (a free team cutting the rows, or, recurrent, the team's sources split
    whole)."""
    from neurocomp.backends.emulator import kernels as K, make_plan
    monkeypatch.setattr(K, "PAR_NEURONS", 0)
    monkeypatch.setattr(K, "PAR_STEP_NS", 0.0)
    rng = np.random.default_rng(3)
    net = nc.Network("batched")
    for name, n in (("a", 20), ("b", 12), ("c", 10)):
        net.input(name, (n,))
    net.population("x", (160,), nc.LoihiLIF(du=1000, dv=rng.integers(0, 4096, 160), vth=rng.integers(3000, 8000, 160)))
    net.population("y", (96,), nc.LoihiLIF(du=2000, dv=300, vth=rng.integers(2000, 5000, 96)))
    wa, wb = rng.integers(-60, 120, (160, 20)), rng.integers(-60, 120, (96, 12))
    wa[wa == 0] = wb[wb == 0] = 1            # (a zero weight is no synapse: a hole, which may cut a row)
    net.connect("a", "x", nc.Dense(wa))
    net.connect("b", "y", nc.Dense(wb))
    net.population("z", (64,), nc.LoihiLIF(du=1000, dv=500, vth=3000))
    w = rng.integers(1, 120, (64, 10))
    w[20:30] = 0                             # no synapse: a hole in c's rows, each then two runs
    net.connect("c", "z", nc.Dense(w))
    if recurrent:
        net.connect("x", "y", nc.Dense(rng.integers(-30, 50, (96, 160))))
    tables = build_core_tables(net, {"x": np.arange(160) // 40, "y": 4 + np.arange(96) // 48, "z": np.full(64, 6)},
                               7)
    r = make_plan(tables).routes
    n_runs = np.diff(r.src_run_ptr)[320:]             # the input channels' rows (after the neurons'), a, b, c
    first = r.frun_cell[r.src_run_ptr[320:-1]]
    assert np.all(n_runs[:32] == 1) and np.all(n_runs[32:] > 1)
    assert len(set(first[:20])) == 1 and len(set(first[20:32])) == 1 and first[0] != first[20]
    one, j = r.src_one[320:], r.src_run_ptr[320:352]  # a one-run source's word: its run's span and start
    span = one[:32] >> K.ONE_SHIFT
    assert np.all(one[32:] == -1) and len(set(span[:20])) == 1 and len(set(span[20:])) == 1 and span[0] != span[20]
    np.testing.assert_array_equal(one[:32] & K.ONE_MASK, r.frun_start[j])
    np.testing.assert_array_equal(r.span_cell[span], r.frun_cell[j])
    np.testing.assert_array_equal(r.span_len[span], r.frun_len[j])
    inputs = {name: (rng.random((60, n)) < 0.45).astype(np.uint8) for name, n in (("a", 20), ("b", 12), ("c", 10))}
    assert (inputs["a"].sum(1) >= 4).mean() > 0.8 and (inputs["b"].sum(1) % 4 >= 2).any()
    _spec_firing_and_threads_equal(net, tables, 60, inputs)


def test_span_ends_equal_a_walk_over_the_segments():
    """``kernels.span_ends`` (once a call) gives each segment the end of the span ``_step_group`` steps from it: what
    a walk from the segment finds, one model and, with one-cell reads, one projection whose cells follow on."""
    from neurocomp.backends.emulator.kernels import span_ends
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        seg_kind = rng.integers(0, 2, n)
        reads = rng.random() < 0.6
        seg_one = rng.integers(-1, 2, n) if reads else np.zeros(0, np.int64)
        seg_ptr = np.concatenate([[0], np.cumsum(rng.integers(1, 4, n))])
        dend_ptr = np.arange(seg_ptr[-1] + 1)
        dend_off = np.cumsum(rng.integers(1, 3, seg_ptr[-1]))      # cells following on, or one apart
        ends = span_ends(seg_kind, seg_one, seg_ptr, dend_ptr, dend_off)
        for g in range(n):
            one = seg_one[g] if reads else -1
            h = g + 1
            while h < n and seg_kind[h] == seg_kind[g] and (seg_one[h] if reads else -1) == one and \
                    (one < 0 or dend_off[dend_ptr[seg_ptr[h]]] == dend_off[dend_ptr[seg_ptr[h] - 1]] + 1):
                h += 1
            assert ends[g] == h
