"""Randomized exactness across every registered neuron model and message width (issue 14): random networks
from ``tests/modelnet.py`` (every registered kind through its sampler, binary and graded projections with
num_message_bits 1..24, Dense/Sparse/OneToOne/Conv2d, delays, recurrence, graded sums past int32) run on the
emulator (numba kernel and numpy spec, random multi-core mappings) == the reference == Lava, on every step's
spikes, payloads and state variables. ``benchmarks/model_exactness.py`` runs 500 of them against Lava."""
from __future__ import annotations

import functools

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.backends.emulator import emulate_tables
from neurocomp.mapping.tables import build_core_tables
from neurocomp.neurons import NEURONS
from neurocomp.semantics.fixedpoint import wrap32
from neurocomp.semantics.inputs import InputSpec
from neurocomp.semantics.reference import build_model, initial_state, simulate_reference, step
from neurocomp.semantics.synapses import lava_connection

from modelnet import RECORD, emulator_states, lava_states, mismatches, random_mapping, random_model_network

SEEDS = range(8)
#: seeds also run on the numpy spec engine (slower; the numba kernel runs on all)
SPEC_SEEDS = range(3)


@pytest.mark.parametrize("kind", list(NEURONS.values()), ids=lambda k: k.name)
def test_every_registered_model_has_a_lava_runnable_sampler(kind):
    from neurocomp.neurons import kind_of
    model = kind.sampler(np.random.default_rng(0), 5)
    assert kind_of(model) is kind
    net = nc.Network("s")
    net.population("p", (5,), model)
    kind.check_lava(net.populations["p"])            # fields Lava takes once per process are one value


@functools.lru_cache(maxsize=None)
def _case(seed: int, overflow: bool):
    """``(net, steps, inputs, reference states {(pop, var): [T, n]}, graded sums past int32, models that sent)``."""
    net, steps, inputs = random_model_network(seed, overflow=overflow)
    model = build_model(net)
    st = initial_state(model)
    ref, overflowed, sent = {}, 0, set()
    for t in range(steps):
        st = step(st, {k: v[t] for k, v in inputs.items()})
        for syn in model.synapses:
            if syn.message_bits and np.abs(syn.stack @ wrap32(st.spikes[syn.source])).max(initial=0) >= 2 ** 31:
                overflowed += 1
        for pop, state in st.neurons.items():
            ref.setdefault((pop, "spikes"), []).append(np.asarray(st.spikes[pop], np.int64))
            for var, val in state.items():
                ref.setdefault((pop, var), []).append(val)
            if np.any(st.spikes[pop]):
                sent.add(type(net.populations[pop].model).__name__)
    return net, steps, inputs, {k: np.array(v) for k, v in ref.items()}, overflowed, sent


def _emulate(net, steps, inputs, seed, engine):
    mapping, n_cores = random_mapping(net, seed)
    tables = build_core_tables(net, mapping, n_cores)
    res = emulate_tables(tables, steps, inputs, record=RECORD, engine=engine, input_spec=InputSpec.of_network(net))
    return emulator_states(res, net)


@pytest.mark.parametrize("overflow", [False, True], ids=["plain", "overflow"])
@pytest.mark.parametrize("seed", SEEDS)
def test_emulator_equals_reference_on_every_model(seed, overflow):
    net, steps, inputs, ref, _, _ = _case(seed, overflow)
    for engine in ("numba", "numpy") if seed in SPEC_SEEDS else ("numba",):
        emu = _emulate(net, steps, inputs, seed, engine)
        assert set(emu) == set(ref)
        assert not mismatches(ref, emu), engine


def test_emulator_equals_lava_on_every_model():
    """A network in the overflow regime on Lava: emulator == reference == Lava (500 more in the benchmark)."""
    seed = 3
    net, steps, inputs = random_model_network(seed, overflow=True, max_kinds=3)
    lava = lava_states(net, steps, inputs)
    ref = emulator_states(simulate_reference(net, steps, inputs, record=RECORD), net)
    emu = _emulate(net, steps, inputs, seed, "numba")
    assert len(lava) >= 2 * len(net.neuron_populations)          # spikes and at least one state variable each
    assert not mismatches(ref, lava) and not mismatches(emu, lava)


def test_the_random_networks_cover_every_model_width_and_overflow():
    """The seeds above are not idle: every registered model sends, every connection kind and message-width
    class occurs, and graded sums leave int32 in the overflow regime."""
    kinds, sent, lava_kinds, widths, overflowed = set(), set(), set(), set(), 0
    for seed in SEEDS:
        for overflow in (False, True):
            net, _, _, _, n_over, models_sent = _case(seed, overflow)
            overflowed += n_over
            sent |= models_sent
            lava_kinds |= {lava_connection(p) for p in net.projections.values()}
            widths |= {"auto" if p.connectivity.num_message_bits is None else
                       "binary" if p.connectivity.num_message_bits == 0 else "graded" for p in net.projections.values()}
            kinds |= {type(p.model).__name__ for p in net.neuron_populations}
    registered = {k.name for k in NEURONS.values()}
    assert kinds == registered and sent == registered, (kinds, sent)
    assert {"Dense", "DelayDense", "Sparse", "DelaySparse", "Conv"} <= lava_kinds, lava_kinds
    assert widths == {"auto", "binary", "graded"}
    assert overflowed > 20, overflowed
