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
    for close_all in (False, True):              # a step's links closed from the touched list / by a scan
        got = counted_totals(target, tb, phys, ev_step, ev_src, steps, link_lat, counts, close_all=close_all)
        assert set(got) == set(TOTALS)
        for k in TOTALS:
            np.testing.assert_array_equal(got[k], want[k], err_msg=f"{k} (close_all={close_all})")
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
