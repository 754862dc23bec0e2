"""The emulator runs every registered neuron model through its generated dispatch: per-core tables on the
numba kernel and on the numpy spec engine == the reference (which is held == Lava in
tests/test_neuron_variants.py), on random networks mixing LoihiLIF, LIFReset, TernaryLIF (graded -1/+1
payloads multiply the weights) and ATRLIF, mapped onto several cores."""
from __future__ import annotations

import numpy as np
import pytest

from neurocomp.backends.emulator import emulate_tables
from neurocomp.mapping.tables import build_core_tables
from neurocomp.semantics.inputs import InputSpec
from neurocomp.semantics.reference import simulate_reference

from test_neuron_variants import random_variant_network


@pytest.mark.parametrize("seed", range(12))
def test_emulator_equals_reference_on_every_model(seed):
    net, steps, inputs = random_variant_network(seed)
    rng = np.random.default_rng(100 + seed)
    n_cores = int(rng.integers(1, 5))
    mapping = {p.name: rng.integers(0, n_cores, p.size) for p in net.neuron_populations}
    for c in range(n_cores):                     # every core holds a neuron (dense core ids)
        mapping[net.neuron_populations[0].name][0] = 0
    used = sorted({int(c) for a in mapping.values() for c in a})
    remap = {c: i for i, c in enumerate(used)}
    mapping = {k: np.array([remap[int(c)] for c in v]) for k, v in mapping.items()}
    tables = build_core_tables(net, mapping, len(used))
    ref = simulate_reference(net, steps, inputs, record=("spikes", "v", "u"))
    for engine in ("numba", "numpy"):
        res = emulate_tables(tables, steps, inputs, record=("spikes", "v", "u"), engine=engine)
        for pop in ref.spikes:
            assert np.array_equal(res.spikes[pop], ref.spikes[pop]), (engine, pop, "spikes")
        for pop in ref.v:
            assert np.array_equal(res.v[pop], ref.v[pop]), (engine, pop, "v")
        for pop in ref.u:
            assert np.array_equal(res.u[pop], ref.u[pop]), (engine, pop, "u")
        assert set(res.payloads) == set(ref.payloads)
        for pop in ref.payloads:
            assert np.array_equal(res.payloads[pop], ref.payloads[pop]), (engine, pop, "payloads")


def test_graded_payloads_reach_the_targets():
    """At least one random network sends a -1 (TernaryLIF) that changes a target's input."""
    sent = 0
    for seed in range(12):
        net, steps, inputs = random_variant_network(seed)
        ref = simulate_reference(net, steps, inputs, record=("spikes",))
        sent += int(np.sum(ref.payloads["ternary"] == -1))
    assert sent > 0


@pytest.mark.parametrize("seed", range(10))
def test_emulator_equals_reference_on_sdnn_networks(seed):
    """Sigma-delta networks (graded inputs and payloads through Dense/Sparse/Conv, delays, recurrence, a
    LoihiLIF reading graded messages) on 1-3 cores: numba kernel and numpy spec == reference."""
    from test_sdnn import sdnn_network
    net, steps, inputs = sdnn_network(seed)
    rng = np.random.default_rng(200 + seed)
    n_cores = int(rng.integers(1, 4))
    mapping = {p.name: np.arange(p.size) % n_cores for p in net.neuron_populations}
    used = sorted({int(c) for a in mapping.values() for c in a})
    mapping = {k: np.searchsorted(used, v) for k, v in mapping.items()}
    tables = build_core_tables(net, mapping, len(used))
    ref = simulate_reference(net, steps, inputs, record=("spikes", "v"))
    for engine in ("numba", "numpy"):
        res = emulate_tables(tables, steps, inputs, record=("spikes", "v"), engine=engine,
                             input_spec=InputSpec.of_network(net))
        for pop in ref.spikes:
            assert np.array_equal(res.spikes[pop], ref.spikes[pop]), (engine, pop, "spikes")
        assert set(res.payloads) == set(ref.payloads)
        for pop in ref.payloads:
            assert np.array_equal(res.payloads[pop], ref.payloads[pop]), (engine, pop, "payloads")
        for pop in ref.v:
            assert np.array_equal(res.v[pop], ref.v[pop]), (engine, pop, "v")
