"""The cost model charges a graded message by its payload: (1 + b / spike_packet_bits) x a spike message's
network energy and latency (hw_models/loihi2.toml, backends/emulator/costmodel.py). Targets without graded
messages refuse graded networks by name: tests/test_sdnn.py::test_targets_without_graded_messages_refuse."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.backends.emulator.costmodel import (TOTALS, estimate, link_table, message_totals,
                                                   message_totals_numpy, route_payload_scale)
from neurocomp.errors import TargetError
from neurocomp.mapping.tables import build_core_tables
from neurocomp.target import Quantity, load_target

LOIHI2 = load_target("loihi2")
E = {k: q.value for k, q in LOIHI2.costs.energy.items()}
L = {k: q.value for k, q in LOIHI2.costs.latency.items()}
PACKET = LOIHI2.formats.spike_packet_bits


def _core(tx, ty, mesh=LOIHI2.mesh):
    return (ty * mesh.tiles_x + tx) * mesh.cores_per_tile


def _graded_pair(bits):
    """SigmaDelta a (core 0) -> LoihiLIF-free Sigma b (core 1), 3 synapses; input 'in' -> b at 16 bits."""
    net = nc.Network("g")
    net.input("in", (2,))
    net.population("a", (1,), nc.SigmaDelta(vth=1, bias=0))
    net.population("b", (3,), nc.Sigma())
    net.connect("a", "b", nc.Dense(np.ones((3, 1), np.int64), num_message_bits=bits))
    net.connect("in", "b", nc.Dense(np.ones((3, 2), np.int64), num_message_bits=16))
    return build_core_tables(net, {"a": np.zeros(1, int), "b": np.ones(3, int)}, 2)


def test_packet_bits_is_an_assumed_loihi2_figure():
    assert PACKET == 32
    assert LOIHI2.sources["formats.spike_packet_bits"][1] == "assumed"
    for name in ("loihi", "tianjic", "truenorth"):        # no graded messages: no figure
        assert load_target(name).formats.spike_packet_bits == 0


@pytest.mark.parametrize("bits", [None, 0, 8, 24])
def test_graded_message_costs_its_payload(bits):
    tb = _graded_pair(bits)
    b = 24 if bits is None else bits                        # None: a graded source's 24-bit width
    g = 1 + b / PACKET
    assert np.allclose(route_payload_scale(LOIHI2, tb), [g, 1 + 16 / PACKET, 1 + 16 / PACKET][:tb.route_core.size])
    src_in = tb.n_neurons + 1
    r = estimate(LOIHI2, tb, np.array([0, _core(3, 2)]), np.array([0, 0]), np.array([0, src_in]),
                 np.array([[1, 0], [0, 3]]), 2)
    net_part = E["spike_within_tile"] + 3 * E["hop_ew"] + 2 * E["hop_ns"]
    want = net_part * g + E["spike_within_tile"] * (1 + 16 / PACKET)          # a's message + the input's
    np.testing.assert_allclose(r["energy_j"]["by_class"]["messages"], want, rtol=1e-12)
    assert r["counters"]["syn_ops"] == [0, 6]               # reads are not scaled
    path = L["spike_out"] + (L["spike_within_tile"] + 3 * L["hop_ew"] + 2 * L["hop_ns"]) * g
    np.testing.assert_allclose(r["latency_s"]["parts_mean"]["path"], path / 2, rtol=1e-12)


def test_without_packet_bits_a_graded_message_costs_a_spike():
    tb = _graded_pair(24)
    flat = dataclasses.replace(LOIHI2, formats=dataclasses.replace(LOIHI2.formats, spike_packet_bits=0))
    assert np.all(route_payload_scale(flat, tb) == 1.0)
    ev = (np.array([0]), np.array([0]))
    a = estimate(flat, tb, np.array([0, 1]), *ev, np.array([[1, 0], [0, 3]]), 2)
    b = estimate(LOIHI2, tb, np.array([0, 1]), *ev, np.array([[1, 0], [0, 3]]), 2)
    np.testing.assert_allclose(b["energy_j"]["by_class"]["messages"],
                               a["energy_j"]["by_class"]["messages"] * (1 + 24 / PACKET), rtol=1e-12)


def _random_graded(rng):
    net = nc.Network("r")
    net.input("in", (int(rng.integers(1, 5)),))
    pops = []
    for i in range(int(rng.integers(1, 4))):
        n = int(rng.integers(1, 6))
        model = nc.SigmaDelta(vth=1, bias=0) if rng.random() < 0.6 else nc.LoihiLIF(du=0, dv=0, vth=5)
        net.population(f"p{i}", (n,), model)
        pops.append((f"p{i}", n))
    srcs = [("in", net.populations["in"].size)] + pops
    for src, n_src in srcs:
        for dst, n_dst in pops:
            if rng.random() < 0.6:
                bits = [None, 0, int(rng.integers(1, 25))][int(rng.integers(0, 3))]
                if src == "in" and bits is None:
                    bits = 0
                w = rng.integers(-3, 4, (n_dst, n_src)) * (rng.random((n_dst, n_src)) < 0.6)
                net.connect(src, dst, nc.Dense(w.astype(np.int64), num_message_bits=bits))
    n_cores = int(rng.integers(1, 6))
    tb = build_core_tables(net, {name: rng.integers(0, n_cores, n) for name, n in pops}, n_cores)
    phys = rng.permutation(LOIHI2.mesh.n_cores)[:n_cores]
    steps = int(rng.integers(1, 6))
    n_ev = int(rng.integers(0, 50))
    return tb, phys, steps, np.sort(rng.integers(0, steps, n_ev)), rng.integers(0, tb.n_sources, n_ev)


@pytest.mark.parametrize("seed", range(12))
def test_graded_kernel_equals_numpy_spec(seed):
    rng = np.random.default_rng(seed)
    keys = ("spike_out", "spike_within_tile", "hop_ew", "hop_ns", "hop_interchip")
    c = LOIHI2.costs
    target = dataclasses.replace(LOIHI2, costs=dataclasses.replace(
        c, energy=dict(c.energy, **{k: Quantity(float(rng.uniform(1e-13, 1e-10)), "J", "t", "assumed") for k in keys}),
        latency=dict(c.latency, **{k: Quantity(float(rng.uniform(1e-10, 1e-7)), "s", "t", "assumed") for k in keys})))
    tb, phys, steps, ev_step, ev_src = _random_graded(rng)
    *_, link_lat = link_table(target.mesh, {k: q.value for k, q in target.costs.latency.items()})
    want = message_totals_numpy(target, tb, phys, ev_step, ev_src, steps, link_lat)
    for pair_mode in (True, False):
        got = message_totals(target, tb, phys, ev_step, ev_src, steps, link_lat, pair_mode=pair_mode)
        for k in TOTALS:
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def test_packet_bits_refused_without_graded_messages(tmp_path):
    text = open(load_target("loihi").path).read()
    text = text.replace("spike_packet_bits = 0", "spike_packet_bits = 32", 1)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(TargetError, match="spike_packet_bits.*while graded_messages is false"):
        load_target(path)
