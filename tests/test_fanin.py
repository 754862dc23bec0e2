"""Split dendrites (docs/fanin.md): a neuron whose fan-in does not fit a core is cut into segments on
several cores whose partial sums reach its soma in the same step. Spikes and state must be identical
to the unsplit network, on random networks, in the emulator (numba and numpy spec) and through Lava."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.errors import CapacityError, NeurocompWarning, UnsupportedError
from neurocomp.mapping.split import projection_synapse_cores
from neurocomp.mapping.validate import check_mapping
from neurocomp.passes.partition import Partition
from neurocomp.passes.place import Place
from neurocomp.passes.route import Route
from neurocomp.passes.tables import BuildTables
from neurocomp.target import load_target

from netgen import assert_same, random_inputs, random_network


def small_target(axons: int = 40, uses_input_axons: bool = True, **psum) -> object:
    """Loihi 2 with ``axons`` input axons per core (forces splits) on a 4x4-chip board; ``uses_input_axons``
    False makes partial sums enter the soma's adder (Tianjic's way) instead of an input axon."""
    t = load_target("loihi2")
    ps = dataclasses.replace(t.partial_sums, uses_input_axons=uses_input_axons, **psum)
    return dataclasses.replace(t, name="small", core=dataclasses.replace(t.core, max_input_axons=axons),
                               mesh=dataclasses.replace(t.mesh, chips=16, chips_x=4, chips_y=4), partial_sums=ps)


def forcing_axons(net) -> int:
    """Input axons per core that force the widest neurons of ``net`` to split (half their fan-in)."""
    from neurocomp.mapping.graph import synapse_graph
    g = synapse_graph(net)
    widest = max((np.unique(g.in_src[g.in_ptr[j]:g.in_ptr[j + 1]]).size for j in range(g.n_neurons)), default=0)
    return max(8, widest // 2)


def compile_plain(net, target, split="hypergraph", **opts):
    """The mapping passes only (random integer networks are already integer; no quantize)."""
    return nc.compile(net, target, pipeline=[Partition(split=split, **opts), Place(), Route(), BuildTables()])


@pytest.mark.parametrize("seed", range(6))
def test_split_emulation_identical_to_unsplit(seed):
    net = random_network(seed, 3, 2, seed % 3 == 0, max_size=120)
    whole = compile_plain(net, load_target("loihi2"))
    assert whole.tables.n_psum == 0 and whole.split is None
    split = compile_plain(net, small_target(forcing_axons(net), uses_input_axons=seed % 2 == 0), max_neurons_per_core=64,
                          split=("hypergraph", "contiguous")[seed % 2])
    assert split.split is not None and split.tables.n_psum > 0, "the small target must force a split"
    assert check_mapping(split) == []
    x = random_inputs(net, seed)
    a = nc.emulate(whole, 40, x, record=("spikes", "v", "u"))
    b = nc.emulate(split, 40, x, record=("spikes", "v", "u"))
    assert_same(a, b)
    c = b.report["cost"]
    assert c["partial_sums"]["messages"] == int(b.report["counters"]["psum_out"].sum()) > 0
    assert c["energy_j"]["by_class"]["partial_sums"] > 0


def test_split_numpy_spec_equals_kernel_counters():
    from neurocomp.backends.emulator.engine import emulate_tables
    net = random_network(4, 3, 2, False, max_size=120)
    art = compile_plain(net, small_target(40), max_neurons_per_core=64)
    x = random_inputs(net, 4)
    k = emulate_tables(art.tables, 30, x, ("spikes", "v"))
    s = emulate_tables(art.tables, 30, x, ("spikes", "v"), engine="numpy")
    assert_same(k, s, ("spikes", "v"))
    for name in ("psum_out", "psum_in", "syn_ops", "packets_in"):
        assert np.array_equal(k.report["counters"][name], s.report["counters"][name]), name
    assert k.report["counters"]["psum_out"].sum() == k.report["counters"]["psum_in"].sum() > 0


def test_split_limits_and_messages_are_reported(tmp_path):
    net = random_network(4, 3, 2, False, max_size=120)
    art = compile_plain(net, small_target(40, uses_input_axons=False), max_neurons_per_core=64)
    from neurocomp.mapping.artifact import load_compiled
    art.save(tmp_path / "art")
    with pytest.warns(NeurocompWarning, match="model changed"):     # 'small' is not a file: loihi2's is read
        back = load_compiled(tmp_path / "art")      # the partial-sum routes survive the artifact
    assert np.array_equal(back.tables.psum_neuron, art.tables.psum_neuron) and back.n_cores == art.n_cores
    s = art.stats["split"]
    assert s["neurons_split"] > 0 and s["segment_compartments"] >= s["neurons_split"]
    assert s["partial_sums_per_step"] == art.tables.n_psum
    cores = art.mapping["cores"]
    assert sum(c["n_segments"] for c in cores) == sum(c["n_partial_sums_in"] for c in cores) == art.tables.n_psum
    assert max(c["n_input_axons"] for c in cores) <= 40


def test_unsplit_network_compiles_as_before():
    net = random_network(1, 2, 1, False, max_size=60)
    art = compile_plain(net, load_target("loihi2"))
    assert art.split is None and art.tables.n_psum == 0 and "split" not in art.stats
    assert "n_segments" not in art.mapping["cores"][0]


def _wide_net(fan_in=300):
    net = nc.Network("wide")
    net.input("in", (fan_in,))
    net.population("p", (4,), nc.LoihiLIF(du=100, dv=100, vth=50))
    w = np.random.default_rng(0).integers(-100, 100, (4, fan_in))
    net.connect("in", "p", nc.Dense(w))
    return net


@pytest.mark.parametrize("target", ["truenorth", "loihi"])
def test_targets_without_partial_sums_refuse_and_name_those_with(target):
    t = load_target(target)
    t = dataclasses.replace(t, core=dataclasses.replace(t.core, max_input_axons=256, max_fan_in=256))
    with pytest.raises(CapacityError, match=r"(max_fan_in|max_input_axons).*cannot split.*targets that can: "
                                            r"loihi2, tianjic"):
        compile_plain(_wide_net(), t)


def test_delayed_partial_sums_are_refused():
    with pytest.raises(UnsupportedError, match="latency_steps = 1.*bias"):
        compile_plain(_wide_net(), small_target(64, latency_steps=1))


def test_partial_sum_wider_than_the_payload_is_refused():
    with pytest.raises(CapacityError, match="partial sum can reach .* 8-bit"):
        compile_plain(_wide_net(), small_target(64, payload_bits=8))


def test_hypergraph_split_sends_fewer_messages_than_contiguous():
    """A 1-D 'convolution': neighbours share most of their receptive field; grouping sources by KaHyPar
    cuts every field along the same boundaries, so segments of many neurons share a core's axons;
    contiguous chunks of each field do not line up (a core holds few of them): more cores, more spikes."""
    net = nc.Network("conv1d")
    n_in, k = 600, 120
    net.input("in", (n_in,))
    net.population("p", (n_in - k,), nc.LoihiLIF(du=100, dv=100, vth=50))
    w = np.zeros((n_in - k, n_in), np.int64)
    for j in range(n_in - k):
        w[j, j:j + k] = 1 + (j + np.arange(k)) % 7
    net.connect("in", "p", nc.Dense(w))
    t = small_target(50, uses_input_axons=False)
    hg = compile_plain(net, t, split="hypergraph", max_neurons_per_core=64).stats
    cg = compile_plain(net, t, split="contiguous", max_neurons_per_core=64).stats
    total = lambda s: s["split"]["spike_messages_per_step_all_fire"] + s["split"]["partial_sums_per_step"]
    assert total(hg) < 0.9 * total(cg) and hg["cores_used"] < cg["cores_used"]    # measured 3222 vs 3989, 40 vs 58


def test_lava_runs_a_split_mapping_one_process_per_segment_core():
    from neurocomp.backends.lava.lower import lower
    net = random_network(1, 2, 1, False, max_size=60, lava_compatible=True)
    art = compile_plain(net, small_target(16), max_neurons_per_core=32)
    segs = projection_synapse_cores(art.network, art.tables)
    low = lower(art.network, 20, random_inputs(net, 1, 20), segments=segs)
    assert low.segments and all(len(v) > 1 for v in low.segments.values())
    x = random_inputs(net, 1, 20)
    emu = nc.emulate(art, 20, x)
    lv = nc.deploy(art, backend="lava", steps=20, inputs=x)
    assert_same(emu, lv, ("spikes", "v"))


def test_segment_that_does_not_fit_memory_is_named_not_an_index_error():
    """Segments are sized by the input-axon limit; one that then exceeds the synapse memory is reported
    as a segment compartment (it has no population index: a lookup by population crashed here)."""
    t = small_target(64)
    t = dataclasses.replace(t, core=dataclasses.replace(t.core, synapse_memory_bits=2000))
    with pytest.raises(CapacityError, match=r"segment compartment \d+ of a split neuron .*synapse_memory_bits"):
        compile_plain(_wide_net(), t)
