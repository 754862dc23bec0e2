"""Shared convolution kernels in the per-core synapse-memory accounting (issue 14, loihi2's
``core.synapse_encoding.shared_conv_weights``): hand-computed costs, the partitioner's counts equal to the
validator's independent recount, and emulation unchanged by the sharing (only the mapping moves)."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.mapping import graph as G
from neurocomp.mapping import limits as LM
from neurocomp.mapping.validate import check_mapping
from neurocomp.passes import partition as P
from neurocomp.target import load_target

LIF = dict(du=300, dv=200, vth=40)


def sharing(target="loihi2", shared=True, **core):
    t = load_target(target)
    enc = dataclasses.replace(t.core.synapse_encoding, shared_conv_weights=shared)
    return dataclasses.replace(t, core=dataclasses.replace(t.core, synapse_encoding=enc, **core))


def conv_net(seed: int) -> nc.Network:
    """Two conv layers (one with a delay), a dense readout, and a source that reaches one population both
    through a kernel and through a Dense projection (axons mixing shared and stored synapses)."""
    rng = np.random.default_rng(seed)
    c_in, h, w = int(rng.integers(1, 3)), int(rng.integers(5, 9)), int(rng.integers(5, 9))
    net = nc.Network(f"conv{seed}")
    net.input("img", (c_in, h, w))
    k1 = rng.integers(-60, 61, (int(rng.integers(2, 5)), c_in, 3, 3))
    c1 = nc.Conv2d(k1, (c_in, h, w), padding=int(rng.integers(0, 2)), sign_mode="mixed")
    net.population("c1", c1.output_shape, nc.LoihiLIF(**LIF))
    net.connect("img", "c1", c1, delay=int(rng.integers(0, 3)))
    k2 = rng.integers(-60, 61, (int(rng.integers(2, 4)), c1.output_shape[0], 3, 3))
    c2 = nc.Conv2d(k2, c1.output_shape, padding=1, sign_mode="mixed")
    net.population("c2", c2.output_shape, nc.LoihiLIF(**LIF))
    net.connect("c1", "c2", c2)
    n1, n2 = net.populations["c1"].size, net.populations["c2"].size
    dense = rng.integers(-30, 31, (n2, n1)) * (rng.random((n2, n1)) < 0.1)
    net.connect("c1", "c2", nc.Dense(dense), name="c1-c2-dense")
    net.population("out", (4,), nc.LoihiLIF(**LIF))
    net.connect("c2", "out", nc.Dense(rng.integers(-40, 41, (4, n2))))
    net.output("out")
    return net


def test_hand_computed_cost_of_one_shared_kernel():
    """2x5x5 input -> 3 channels of 3x3 (kernel 3x3, no padding), all on one core. Shared: 50 input axons x
    one 64-bit header word + 3 kernel slices of 2*3*3 8-bit weights (144 bits -> 3 words) = 3200 + 576.
    Not shared: every axon stores its synapses (loihi2's per-synapse encoding)."""
    net = nc.Network("one")
    net.input("img", (2, 5, 5))
    net.population("c", (3, 3, 3), nc.LoihiLIF(**LIF))
    net.connect("img", "c", nc.Conv2d(np.ones((3, 2, 3, 3), np.int64), (2, 5, 5)))
    cn, _ = P.Partition(partitioner="sequential").run(net, sharing())
    assert cn.n_cores == 1 and int(cn.usage.input_axons[0]) == 50
    assert int(cn.usage.synapse_bits[0]) == 50 * 64 + 3 * 192
    assert check_mapping(cn) == []
    plain, _ = P.Partition(partitioner="sequential").run(net, sharing(shared=False))
    enc = plain.target.core.synapse_encoding
    g = G.synapse_graph(net)
    per_axon = enc.axon_bits(np.diff(g.out_ptr)[g.n_neurons:], False, False)
    assert int(plain.usage.synapse_bits[0]) == int(per_axon.sum()) > int(cn.usage.synapse_bits[0])
    # a delay is stored with each kernel weight: (8 + 6) * 18 = 252 bits -> 4 words
    net.projections["img-c"] = dataclasses.replace(net.projections["img-c"], delay=np.array(2))
    cn, _ = P.Partition(partitioner="sequential").run(net, sharing())
    assert int(cn.usage.synapse_bits[0]) == 50 * 64 + 3 * 256


def _validator_bits(cn, n_cores):
    """The validator's own synapse bits of cores 0..n_cores-1 (it names at most 10), read from its
    violations with a 1-bit memory."""
    tiny = dataclasses.replace(cn, target=dataclasses.replace(
        cn.target, core=dataclasses.replace(cn.target.core, synapse_memory_bits=1)))
    got = {}
    for msg in check_mapping(tiny):
        m = re.match(r"core (\d+): (\d+) synapse memory bits", msg)
        if m:
            got[int(m.group(1))] = int(m.group(2))
    assert len(got) == n_cores
    return np.array([got[c] for c in range(n_cores)])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("partitioner", ["sequential", "hypergraph"])
def test_partitioner_counts_equal_the_validators_recount(seed, partitioner):
    """Random conv networks under tight limits on loihi2 (shared kernels): every mapping is valid, and the
    validator's independent per-core synapse memory equals the partitioner's (the limits it filled by)."""
    net = conv_net(seed)
    target = sharing(synapse_memory_bits=6000, max_input_axons=80)
    cn, rep = P.Partition(partitioner=partitioner, max_neurons_per_core=40, seed=seed).run(net, target)
    assert check_mapping(cn) == []
    assert cn.usage.synapse_bits.max() <= 6000 and cn.n_cores > 1
    k = min(cn.n_cores, 10)
    assert np.array_equal(_validator_bits(cn, k), cn.usage.synapse_bits[:k])
    # the same mapping priced per synapse is different memory (kernels are really shared), and the
    # validator agrees there too
    plain_target = sharing(shared=False, synapse_memory_bits=6000, max_input_axons=80)
    g = G.synapse_graph(net)
    plain_use = LM.evaluate(g, g.join(cn.core_of_neuron), LM.core_limits(plain_target, g))
    assert plain_use.synapse_bits.sum() > cn.usage.synapse_bits.sum()
    plain = dataclasses.replace(cn, target=plain_target)
    assert np.array_equal(_validator_bits(plain, k), plain_use.synapse_bits[:k])


def test_only_loihi2_declares_shared_kernels():
    assert load_target("loihi2").core.synapse_encoding.shared_conv_weights
    for name in ("loihi", "truenorth", "tianjic"):
        assert not load_target(name).core.synapse_encoding.shared_conv_weights, name
    t = load_target("loihi2")
    src, status = t.sources["core.synapse_encoding.shared_conv_weights"]
    assert status == "assumed" and "nengo-loihi" in src


def test_emulation_is_unchanged_by_sharing():
    """Sharing moves neurons between cores only: spikes on loihi2 with and without it are identical."""
    net = conv_net(7)
    rng = np.random.default_rng(3)
    inputs = {"img": (rng.random((12,) + net.populations["img"].shape) < 0.4).astype(np.uint8)}
    runs = []
    for shared in (True, False):
        cn = nc.compile(net, sharing(shared=shared, synapse_memory_bits=20000), partitioner="sequential",
                        max_neurons_per_core=60)
        runs.append((cn.n_cores, nc.emulate(cn, steps=12, inputs=inputs)))
    (k1, a), (k2, b) = runs
    assert k1 < k2
    for pop in ("c1", "c2", "out"):
        assert np.array_equal(a.spikes[pop], b.spikes[pop]), pop
    assert sum(int(a.spikes[p].sum()) for p in ("c1", "c2")) > 0


def test_target_file_key_is_optional_and_checked(tmp_path):
    from neurocomp.target import load_target_file
    text = Path(load_target("loihi2").path).read_text()
    plain = tmp_path / "plain.toml"
    plain.write_text(text.replace("shared_conv_weights = true", ""))
    assert not load_target_file(plain).core.synapse_encoding.shared_conv_weights
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("shared_conv_weights = true", "shared_conv_weights = 1"))
    with pytest.raises(nc.TargetError, match=r"core.synapse_encoding.shared_conv_weights: expected true or false"):
        load_target_file(bad)


def test_graph_knows_each_conv_output_plane():
    """``pop_plane``: H_out * W_out where every projection into a population is a Conv2d of that plane; 0 where
    one is not (c2 also receives a Dense) and for the dense readout."""
    net = conv_net(1)
    g = G.synapse_graph(net)
    c1 = net.incoming("c1")[0].connectivity
    assert list(g.pop_plane) == [int(np.prod(c1.output_shape[1:])), 0, 0]
    net.projections.pop("c1-c2-dense")
    c2 = net.incoming("c2")[0].connectivity
    assert list(G.synapse_graph(net).pop_plane) == [c1.output_shape[1] * c1.output_shape[2],
                                                     c2.output_shape[1] * c2.output_shape[2], 0]


def test_field_order_fills_a_conv_position_by_position():
    """A conv output population is filled by (position, channel): each position's channels are neighbours in
    the order whatever the kernels' zeros (which move a channel's first source); other populations keep
    (first source, id)."""
    net = nc.Network("zeros")
    net.input("img", (2, 6, 6))
    k = np.random.default_rng(0).integers(1, 9, (5, 2, 3, 3))
    k[1, 0, 0, 0] = k[3, :, 0, :] = 0                 # channels 1 and 3 start their windows later
    conv = nc.Conv2d(k, (2, 6, 6))
    net.population("c", conv.output_shape, nc.LoihiLIF(**LIF))
    net.connect("img", "c", conv)
    net.population("out", (3,), nc.LoihiLIF(**LIF))
    net.connect("c", "out", nc.Dense(np.ones((3, 80), np.int64)))
    g = G.synapse_graph(net)
    order = P.field_order(g)
    plane = 16
    assert np.array_equal(order[:80], [ch * plane + pos for pos in range(plane) for ch in range(5)])
    assert np.array_equal(order[80:], [80, 81, 82])


def test_repair_halves_a_core_in_its_fill_order():
    """A core over the output-axon limit is halved along the fill order, not the neuron ids: filled by
    position, its halves still hold whole positions."""
    net = conv_net(2)
    g = G.synapse_graph(net)
    limits = LM.core_limits(sharing(), g)
    order = P.field_order(g)
    n1 = net.populations["c1"].size
    plane = int(g.pop_plane[0])
    core = np.zeros(g.n_neurons, np.int64)
    core[n1:] = 1                                         # c1 alone on core 0, sending to core 1
    out0 = int(LM.evaluate(g, core, limits).output_axons[0])
    tight = dataclasses.replace(limits, output_axons=out0 - 1)
    repaired, rounds, _ = P.repair_usage(g, core, tight, order=order)
    assert rounds >= 1 and np.unique(repaired[:n1]).size >= 2
    c1_core = repaired[:n1].reshape(-1, plane)            # [channel, position]
    assert (c1_core == c1_core[0]).all(), "a position's channels were split"
    by_id, _, _ = P.repair_usage(g, core, tight)          # by neuron id: channel-major halves
    assert not (by_id[:n1].reshape(-1, plane) == by_id[:n1].reshape(-1, plane)[0]).all()
