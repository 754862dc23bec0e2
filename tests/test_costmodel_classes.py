"""The cost model's message pass per class of sources (backends/emulator/msgclasses.py) == the per-message
spec (``message_totals_numpy``) bit for bit, and an emulator run's cost report == the one computed without
the kernel's counters."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from neurocomp.backends.emulator.costmodel import TOTALS, estimate, expand_messages, link_table, message_totals_numpy
from neurocomp.backends.emulator.engine import emulate_tables
from neurocomp.backends.emulator.msgclasses import _assign_classes, counted_totals
from neurocomp.target import load_target
from netgen import random_mapped_run
from test_costmodel import _random_figures
from test_graded_cost import LOIHI2, _random_graded


def kernel_counts(tb, ev_step, ev_src, steps):
    """The kernel's counters as ``kernels.COUNTER_NAMES`` defines them (row = the send step), from the
    events: synaptic reads and packets in per destination core, packets and spikes out per sending core."""
    n_cores = int(tb.n_cores)
    neuron_core = np.repeat(np.arange(n_cores), np.diff(np.asarray(tb.core_neuron_ptr, np.int64)))
    m_step, m_src, m_dst, m_nsyn = expand_messages(tb, ev_step, ev_src)
    grid = lambda t, c, w=None: np.bincount(t * n_cores + c, weights=w, minlength=steps * n_cores).reshape(
        steps, n_cores).astype(np.int64)
    neuron, ev_neuron = m_src < tb.n_neurons, ev_src < tb.n_neurons
    return {"syn_ops": grid(m_step, m_dst, m_nsyn), "packets_in": grid(m_step, m_dst),
            "packets_out": grid(m_step[neuron], neuron_core[m_src[neuron]]),
            "spikes_out": grid(ev_step[ev_neuron], neuron_core[ev_src[ev_neuron]])}


def _check(target, tb, phys, steps, ev_step, ev_src):
    *_, link_lat = link_table(target.mesh, {k: q.value for k, q in target.costs.latency.items()})
    want = message_totals_numpy(target, tb, phys, ev_step, ev_src, steps, link_lat)
    counts = kernel_counts(tb, ev_step, ev_src, steps)
    # a step's links closed from the touched list / by a scan, footprints added by their entries / as dense rows
    for close_all, rows in ((False, False), (True, False), (True, True)):
        got = counted_totals(target, tb, phys, ev_step, ev_src, steps, link_lat, counts, close_all=close_all,
                             rows=rows)
        assert set(got) == set(TOTALS)
        for k in TOTALS:
            np.testing.assert_array_equal(got[k], want[k], err_msg=f"{k} (close_all={close_all}, rows={rows})")
            assert np.shape(got[k]) == np.shape(want[k]), k


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000), st.sampled_from(["loihi", "tianjic", "random"]))
def test_class_pass_equals_numpy_spec(seed, target_name):
    rng = np.random.default_rng(seed)
    mesh, tb, phys, steps, ev_step, ev_src = random_mapped_run(rng, 0.6, -3, 0.5, 7, 60)
    target = dataclasses.replace(load_target("loihi" if target_name == "random" else target_name), mesh=mesh)
    if target_name == "random":
        target = _random_figures(target, rng)
    _check(target, tb, phys, steps, np.sort(ev_step), ev_src)


@pytest.mark.parametrize("seed", range(8))
def test_class_pass_equals_numpy_spec_graded(seed):
    rng = np.random.default_rng(seed)
    tb, phys, steps, ev_step, ev_src = _random_graded(rng)
    _check(_random_figures(LOIHI2, rng), tb, phys, steps, ev_step, ev_src)


def test_footprint_rows_are_made_only_where_they_pay_and_cannot_overflow():
    """Dense rows hold each class's footprint; none where the footprints are sparse, the rows too big, a count
    over int16 or a step's load able to reach 2^31 (then the entries are added, into int64)."""
    from neurocomp.backends.emulator import msgclasses as MC
    fp_ptr, fp_link, fp_cnt = np.array([0, 2, 3]), np.array([1, 3, 0]), np.array([2, 1, 5], np.int32)
    rows = MC.footprint_rows(fp_ptr, fp_link, fp_cnt, 4, 10)
    np.testing.assert_array_equal(rows, [[0, 2, 0, 1], [5, 0, 0, 0]])
    assert MC.footprint_rows(fp_ptr, fp_link, fp_cnt, 400, 10).size == 0                 # sparse: entries
    assert MC.footprint_rows(fp_ptr, fp_link, fp_cnt, 400, 10, force=True).shape == (2, 400)
    assert MC.footprint_rows(fp_ptr, fp_link, fp_cnt * 10_000, 4, 10).size == 0          # over int16
    assert MC.footprint_rows(fp_ptr, fp_link, fp_cnt, 4, 2 ** 31 // 5 + 1).size == 0     # a step could overflow


def test_a_hash_collision_splits_a_class_never_merges_two():
    """Every source hashed alike: only sources with the same sending core and routes share a class."""
    route_ptr = np.array([0, 2, 4, 6, 7, 9])
    route_core = np.array([1, 2, 1, 2, 1, 3, 1, 1, 2])
    bits = np.array([0, 0, 0, 0, 0, 0, 0, 0, 8])
    src_core = np.array([0, 0, 0, 0, 0])
    cls, rep = _assign_classes(np.arange(5), np.zeros(5, np.uint64), route_ptr, route_core, bits, src_core)
    assert cls[0] == cls[1] and len(set(cls.tolist())) == 4     # 0 == 1; 2 (other core), 3 (shorter), 4 (bits)
    cls, _ = _assign_classes(np.arange(5), np.zeros(5, np.uint64), route_ptr, route_core, bits,
                             np.array([0, 1, 0, 0, 0]))
    assert cls[0] != cls[1]                                      # same routes, other sending core


@pytest.mark.parametrize("seed", range(6))
def test_emulator_cost_report_equals_the_counterless_estimate(seed):
    """A real run: the kernel's counters feed the class pass, and the whole estimate (energies, latencies,
    counters, links) equals ``estimate`` without them (the per-message pass)."""
    rng = np.random.default_rng(seed)
    if seed % 2:
        tb, phys, *_ = _random_graded(rng)
        target = _random_figures(LOIHI2, rng)
        n_in = tb.input_ptr[1]
    else:
        mesh, tb, phys, *_ = random_mapped_run(rng, 0.8, -1, 0.7, 3, 2)
        target = _random_figures(dataclasses.replace(load_target("loihi"), mesh=mesh), rng)
        n_in = tb.n_sources - tb.n_neurons
    steps = 12
    inputs = {"in": (rng.random((steps, n_in)) < 0.5).astype(np.uint8)} if n_in else None
    res = emulate_tables(tb, steps, inputs, record=(), events=True)
    ev, cnt = res.report["spike_events"], res.report["counters"]
    args = (target, tb, phys, ev["step"], ev["source"], cnt["neurons_active"], steps)
    want, got = estimate(*args), estimate(*args, counts=cnt)
    want.pop("wall_time_s"), got.pop("wall_time_s")
    assert got == want
    assert want["counters"]["total_messages"] > 0 or ev["step"].size == 0


def test_tablecache_keeps_the_last_value_of_the_same_tables_only():
    import gc

    from neurocomp.backends.emulator.tablecache import _SLOTS, derived

    class T:                                   # stands for CoreTables (weakly referenced)
        pass
    a, b, calls = T(), T(), []
    f = lambda: calls.append(1) or len(calls)
    assert derived("t", a, 1, f) == 1 and derived("t", a, 1, f) == 1       # same tables, same key: kept
    assert derived("t", a, 2, f) == 2 and derived("t", b, 2, f) == 3       # another key / other tables
    ref = _SLOTS["t"][0]
    del b
    gc.collect()
    assert ref() is None                       # the slot does not keep its tables alive
    assert derived("t", a, 2, f) == 4
    _SLOTS.pop("t")


def _dense_layers(rng) -> tuple:
    """A random chain of Dense layers compiled with small cores (sequential partition: a layer's tail
    shares a core with the next layer's head, so some cores hold neurons of two classes)."""
    import neurocomp as nc
    net = nc.Network("layers")
    sizes = rng.integers(3, 40, int(rng.integers(2, 4))).tolist()
    net.input("in", (int(rng.integers(4, 30)),))
    prev, n_prev = "in", net.populations["in"].size
    for i, n in enumerate(sizes):
        net.population(f"l{i}", (n,), nc.LoihiLIF(du=2000, dv=400, vth=int(rng.integers(200, 2000))))
        net.connect(prev, f"l{i}", nc.Dense(rng.integers(-30, 60, (n, n_prev))))
        prev, n_prev = f"l{i}", n
    return nc.compile(net, "loihi2", max_neurons_per_core=int(rng.integers(3, 12)), partitioner="sequential")


@pytest.mark.parametrize("seed", range(6))
def test_traced_totals_equal_the_listed_events(seed):
    """A quick run's message totals from the counters (cores of one class), the recorded spikes of the other
    cores' neurons (in any column order) and the input rows == ``counted_totals`` of its event list."""
    from neurocomp.backends.emulator.msgclasses import class_tables, traced_totals
    from neurocomp.backends.emulator.quickrun import SpikeTrace
    rng = np.random.default_rng(seed)
    art = _dense_layers(rng)
    tb, target, phys = art.tables, art.target, np.asarray(art.physical_core, np.int64)
    steps = int(rng.integers(5, 30))
    x = (rng.random((steps, int(tb.n_sources - tb.n_neurons))) < rng.uniform(0.1, 0.6)).astype(np.uint8)
    res = emulate_tables(tb, steps, {"in": x}, record=(), events=True)
    ev, counts = res.report["spike_events"], res.report["counters"]
    n = int(tb.n_neurons)
    col_gid = rng.permutation(n)
    col_of = np.argsort(col_gid)
    neuron = ev["source"] < n
    spikes = np.zeros((steps, n), np.uint8)
    spikes[ev["step"][neuron], col_of[ev["source"][neuron]]] = 1
    in_ptr = np.searchsorted(ev["step"][~neuron], np.arange(steps + 1))
    trace = SpikeTrace(spikes, col_gid, in_ptr, ev["source"][~neuron])
    *_, link_lat = link_table(target.mesh, {k: q.value for k, q in target.costs.latency.items()})
    core_cls = class_tables(target, tb, phys, link_lat.size).core_cls
    assert (core_cls >= 0).any()
    want = counted_totals(target, tb, phys, ev["step"], ev["source"], steps, link_lat, counts, close_all=False,
                          rows=False)
    for close_all, rows in ((False, False), (True, False), (True, True)):
        got = traced_totals(target, tb, phys, trace, steps, link_lat, counts, close_all=close_all, rows=rows)
        for k in TOTALS:
            np.testing.assert_array_equal(got[k], want[k], err_msg=f"{k} (close_all={close_all}, rows={rows})")
    mixed = SpikeTrace(spikes[:, 1:], col_gid[1:], in_ptr, trace.in_src)     # a neuron of a mixed core unrecorded
    if (core_cls[np.repeat(np.arange(core_cls.size), np.diff(tb.core_neuron_ptr))][col_gid[0]]) < 0:
        assert traced_totals(target, tb, phys, mixed, steps, link_lat, counts) is None


def test_a_run_whose_cores_mostly_mix_classes_lists_its_events():
    """Past half the neurons in cores of several classes, ``traced_totals`` declines (listing is cheaper) and
    the quick run's report still equals the per-message estimate."""
    import neurocomp as nc
    from neurocomp.backends.emulator.msgclasses import class_tables, traced_totals
    from neurocomp.backends.emulator.quickrun import SpikeTrace
    rng = np.random.default_rng(3)
    net = nc.Network("mixed")
    net.input("in", (20,))
    net.population("h", (30,), nc.LoihiLIF(du=2000, dv=400, vth=300))
    sparse = lambda shape: rng.integers(1, 60, shape) * (rng.random(shape) < 0.15)      # noqa: E731
    net.connect("in", "h", nc.Dense(sparse((30, 20))))
    net.connect("h", "h", nc.Dense(sparse((30, 30))))
    art = nc.compile(net, "loihi2", max_neurons_per_core=5, partitioner="sequential")
    tb, target, phys = art.tables, art.target, np.asarray(art.physical_core, np.int64)
    *_, link_lat = link_table(target.mesh, {k: q.value for k, q in target.costs.latency.items()})
    core_cls = class_tables(target, tb, phys, link_lat.size).core_cls
    assert np.diff(tb.core_neuron_ptr)[core_cls < 0].sum() > tb.n_neurons / 2
    x = (rng.random((15, 20)) < 0.4).astype(np.uint8)
    ref = emulate_tables(tb, 15, {"in": x}, record=(), events=True).report
    trace = SpikeTrace(np.zeros((15, 30), np.uint8), np.arange(30), np.zeros(16, np.int64), np.zeros(0, np.int64))
    assert traced_totals(target, tb, phys, trace, 15, link_lat, ref["counters"]) is None
    ev = ref["spike_events"]
    want = estimate(target, tb, phys, ev["step"], ev["source"], ref["counters"]["neurons_active"], 15)
    got = dict(nc.emulate(art, 15, {"in": x}, record=()).report)["cost"]
    want.pop("wall_time_s"), got.pop("wall_time_s")
    assert got == want and want["counters"]["total_messages"] > 0
