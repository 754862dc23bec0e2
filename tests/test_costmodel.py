"""Cost model: energy and latency pinned on hand-computed cases with the shipped targets' numbers."""
from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import neurocomp as nc
from neurocomp.backends.emulator.costmodel import estimate, link_loads, link_loads_numpy, link_table
from neurocomp.errors import NeurocompError, TargetError, ValidationError
from neurocomp.mapping.tables import build_core_tables
from neurocomp.target import Mesh, load_target
from netgen import random_mapped_run

LOIHI = load_target("loihi")
E = {k: q.value for k, q in LOIHI.costs.energy.items()}
L = {k: q.value for k, q in LOIHI.costs.latency.items()}
P_STATIC = LOIHI.costs.static_power_w.value


def _core(tx, ty, k=0, chip=0, mesh=LOIHI.mesh):
    return ((chip * mesh.tiles_y + ty) * mesh.tiles_x + tx) * mesh.cores_per_tile + k


def _barrier(tiles):
    return 113e-9 + (tiles - 1) * (465e-9 - 113e-9) / 31


def _two_pops(n_a=1, n_b=3, n_in=0):
    """a (n_a neurons, core 0) -> b (n_b neurons, core 1), all-ones dense; optional input -> b."""
    net = nc.Network("t")
    if n_in:
        net.input("in", (n_in,))
    net.population("a", (n_a,), nc.LoihiLIF(du=0, dv=0, vth=10))
    net.population("b", (n_b,), nc.LoihiLIF(du=0, dv=0, vth=10))
    net.connect("a", "b", nc.Dense(np.ones((n_b, n_a), np.int64)))
    if n_in:
        net.connect("in", "b", nc.Dense(np.ones((n_b, n_in), np.int64)))
    return build_core_tables(net, {"a": np.zeros(n_a, int), "b": np.ones(n_b, int)}, 2)


def _run(tables, phys, events, active, steps, target=LOIHI, learn=None):
    ev = np.array(events, np.int64).reshape(-1, 2)
    return estimate(target, tables, np.array(phys), ev[:, 0], ev[:, 1], np.array(active, np.int64), steps, learn)


# ------------------------------------------------------------------------------- one spike, k hops
def test_one_spike_over_k_hops_energy_and_latency():
    tb = _two_pops()
    dst = _core(3, 2)                        # 3 east-west + 2 north-south hops from tile (0, 0)
    active = [[1, 0], [0, 3]]                # a spikes at step 0; b's 3 neurons get input at step 1
    r = _run(tb, [0, dst], [(0, 0)], active, 2)
    c = r["counters"]
    assert c["syn_ops"] == [0, 3] and c["total_messages"] == 1
    assert c["hops"] == {"ew": 3, "ns": 2, "interchip": 0, "total": 5}
    assert c["span"] == {"tiles": 12, "chips": 1}

    barrier = _barrier(12)
    lat0 = max(1 * L["neuron_update_active"], 3 * L["neuron_update_idle"]) \
        + (L["spike_within_tile"] + 3 * L["hop_ew"] + 2 * L["hop_ns"]) + barrier
    lat1 = max(L["neuron_update_idle"], 3 * L["syn_op"] + 3 * L["neuron_update_active"]) + barrier
    np.testing.assert_allclose(r["per_step"]["latency_s"], [lat0, lat1], rtol=1e-12)
    np.testing.assert_allclose(r["latency_s"]["total"], lat0 + lat1, rtol=1e-12)

    msg = 1.7e-12 + 3 * 3.0e-12 + 2 * 4.0e-12
    dyn = 3 * 23.6e-12 + 4 * 81e-12 + 4 * 52e-12 + msg
    static = 0.104 * (lat0 + lat1)
    by = r["energy_j"]["by_class"]
    np.testing.assert_allclose(by["messages"], msg, rtol=1e-12)
    np.testing.assert_allclose(by["static"], static, rtol=1e-12)
    np.testing.assert_allclose(r["energy_j"]["total"], dyn + static, rtol=1e-12)
    # Per core: the message is the sender's; per-core energy is dynamic only.
    np.testing.assert_allclose(r["energy_j"]["per_core"],
                               [81e-12 + 52e-12 + msg, 3 * 23.6e-12 + 3 * 81e-12 + 3 * 52e-12], rtol=1e-12)
    np.testing.assert_allclose(sum(r["energy_j"]["per_core"]) + static, r["energy_j"]["total"], rtol=1e-12)
    # Links on the X-then-Y path: (0,0)E (1,0)E (2,0)E then (3,0)N (3,1)N.
    got = sorted((tuple(v["from"]), v["dir"], v["total"]) for v in r["links"].values())
    assert got == [((0, 0), "E", 1), ((1, 0), "E", 1), ((2, 0), "E", 1), ((3, 0), "N", 1), ((3, 1), "N", 1)]
    json.dumps(r)


def test_spike_on_last_step_is_not_processed():
    tb = _two_pops()
    r = _run(tb, [0, 1], [(1, 0)], [[0, 0], [1, 0]], 2)
    assert r["counters"]["syn_ops"] == [0, 0] and r["counters"]["syn_ops_after_run"] == 3
    assert r["counters"]["total_messages"] == 1     # the message is still sent (step 1)


def test_input_spikes_enter_at_the_destination_router():
    tb = _two_pops(n_in=2)
    src = tb.n_neurons + 1
    r = _run(tb, [0, _core(7, 3)], [(0, src)], [[0, 0], [0, 3]], 2, )
    assert r["counters"]["hops"]["total"] == 0 and r["counters"]["input_messages"] == 1
    assert r["counters"]["messages_in"] == [0, 1] and r["counters"]["spikes_out"] == [0, 0]
    np.testing.assert_allclose(r["energy_j"]["by_class"]["messages"], E["spike_within_tile"], rtol=1e-12)
    assert r["energy_j"]["by_class"]["spike_out"] == 0.0
    assert r["links"] == {}


# ------------------------------------------------------------------------------- contention
def test_two_packets_contend_for_one_link():
    tb = _two_pops(n_a=2)
    east = _core(1, 0)
    same = _run(tb, [0, east], [(0, 0), (0, 1)], [[0, 0]], 1)
    apart = _run(tb, [0, east], [(0, 0), (1, 1)], [[0, 0], [0, 0]], 2)
    path = L["spike_within_tile"] + L["hop_ew"]
    busy = 3 * L["neuron_update_idle"]
    np.testing.assert_allclose(same["per_step"]["latency_s"], [busy + path + L["hop_ew"] + _barrier(2)], rtol=1e-12)
    np.testing.assert_allclose(apart["per_step"]["latency_s"][0], busy + path + _barrier(2), rtol=1e-12)
    (link,) = same["links"].values()
    assert link == {"from": [0, 0], "to": [1, 0], "dir": "E", "total": 2, "max_per_step": 2}
    (link,) = apart["links"].values()
    assert link["total"] == 2 and link["max_per_step"] == 1
    # Contention costs time, not energy (apart from static power).
    dyn = lambda r: r["energy_j"]["total"] - r["energy_j"]["by_class"]["static"]
    # apart runs one more step: 5 more idle updates, and the step-0 spike is processed (3 syn ops).
    np.testing.assert_allclose(dyn(same) + 5 * 52e-12 + 3 * 23.6e-12, dyn(apart), rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_numba_link_kernel_equals_numpy_spec(seed):
    rng = np.random.default_rng(seed)
    mesh = Mesh(4, 2, 2, int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 3)))
    lat = {"hop_ew": 4.1e-9, "hop_ns": 6.5e-9, "hop_interchip": 65e-9}
    *_, link_lat = link_table(mesh, lat)
    n, steps = int(rng.integers(0, 200)), int(rng.integers(1, 6))
    phys = rng.permutation(mesh.n_cores)
    src, dst = rng.integers(0, mesh.n_cores, n), rng.integers(0, mesh.n_cores, n)
    m_step = np.sort(rng.integers(0, steps, n))
    want = link_loads_numpy(mesh, m_step, phys[src], phys[dst], link_lat, steps)
    got = link_loads(mesh, m_step, src, dst, phys, link_lat, steps)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)


# ------------------------------------------------------------------------------- idle core, barrier
def test_idle_core_pays_only_idle_updates_and_static():
    tb = _two_pops(n_a=5, n_b=7)
    r = _run(tb, [0, 1], [], np.zeros((3, 2)), 3)
    step = 7 * L["neuron_update_idle"] + _barrier(1)
    np.testing.assert_allclose(r["per_step"]["latency_s"], [step] * 3, rtol=1e-12)
    np.testing.assert_allclose(r["energy_j"]["per_core"], [3 * 5 * 52e-12, 3 * 7 * 52e-12], rtol=1e-12)
    by = r["energy_j"]["by_class"]
    assert {k for k, v in by.items() if v} == {"neuron_idle", "static"}
    np.testing.assert_allclose(by["static"], 0.104 * 3 * step, rtol=1e-12)
    assert r["counters"]["neuron_idle"] == [15, 21]


@pytest.mark.parametrize("phys, tiles, barrier", [([0, 1], 1, 113e-9), ([0, _core(1, 0)], 2, _barrier(2)),
                                                 ([0, _core(7, 3)], 32, 465e-9)])
def test_barrier_grows_with_the_tiles_spanned(phys, tiles, barrier):
    r = _run(_two_pops(), phys, [], np.zeros((1, 2)), 1)
    assert r["counters"]["span"]["tiles"] == tiles
    np.testing.assert_allclose(r["latency_s"]["barrier"], barrier, rtol=1e-12)
    np.testing.assert_allclose(r["latency_s"]["total"], 3 * L["neuron_update_idle"] + barrier, rtol=1e-12)


# ------------------------------------------------------------------------------- multi-chip
def test_interchip_hop_and_multichip_barrier():
    board = dataclasses.replace(LOIHI, mesh=Mesh(2, 2, 1, 8, 4, 4))
    tb = _two_pops()
    src, dst = _core(7, 0, chip=0, mesh=board.mesh), _core(0, 0, chip=1, mesh=board.mesh)
    r = _run(tb, [src, dst], [(0, 0)], [[0, 0]], 1, target=board)
    assert r["counters"]["hops"] == {"ew": 1, "ns": 0, "interchip": 1, "total": 1}
    assert r["counters"]["span"] == {"tiles": 2, "chips": 2}
    np.testing.assert_allclose(r["energy_j"]["by_class"]["messages"], 1.7e-12 + 3.0e-12 + 40e-12, rtol=1e-12)
    barrier = 14.3e-6                      # the multi-chip table dominates the 2-tile barrier
    lat = 3 * L["neuron_update_idle"] + (2.1e-9 + 4.1e-9 + 65e-9) + barrier
    np.testing.assert_allclose(r["latency_s"]["total"], lat, rtol=1e-12)
    np.testing.assert_allclose(r["energy_j"]["by_class"]["static"], 0.104 * 2 * lat, rtol=1e-12)
    (link,) = r["links"].values()
    assert link["from"] == [7, 0] and link["to"] == [8, 0]


# ------------------------------------------------------------------------------- clocked target
def test_clocked_target_reports_cycles():
    tj = load_target("tianjic")
    tb = _two_pops()
    r = _run(tb, [0, 5], [(0, 0)], [[1, 0], [0, 3]], 2, target=tj)
    assert r["cycles"]["per_step"] == [5050, 5050] and r["cycles"]["total"] == 10100
    np.testing.assert_allclose(r["energy_j"]["total"], 3 * 1.54e-12, rtol=1e-12)   # all-in syn op only
    assert "cycles" not in _run(tb, [0, 1], [], np.zeros((1, 2)), 1)


# ------------------------------------------------------------------------------- published anchor
def test_microbenchmark_recovers_davies18_figures():
    """Davies18-style microbenchmark: marginal energy per synaptic op and per neuron update.

    One input channel fans out to 1000 synapses on one core. The energy difference between a run
    with and without the spike, less its one within-tile message, divided by the 1000 synaptic ops
    gives the per-op figure; all-active vs all-idle runs give the neuron-update figures.
    """
    net = nc.Network("bench")
    net.input("in", (1,))
    net.population("p", (1000,), nc.LoihiLIF(du=0, dv=0, vth=10))
    net.connect("in", "p", nc.Dense(np.ones((1000, 1), np.int64)))
    tb = build_core_tables(net, {"p": np.zeros(1000, int)}, 1)
    no_static = dataclasses.replace(LOIHI, costs=dataclasses.replace(LOIHI.costs, static_power_w=None))
    idle = np.zeros((2, 1), np.int64)
    quiet = estimate(no_static, tb, np.array([0]), np.zeros(0, np.int64), np.zeros(0, np.int64), idle, 2)
    spike = estimate(no_static, tb, np.array([0]), np.array([0]), np.array([tb.n_neurons]), idle, 2)
    busy = estimate(no_static, tb, np.array([0]), np.zeros(0, np.int64), np.zeros(0, np.int64),
                    np.full((2, 1), 1000), 2)
    per_syn = (spike["energy_j"]["total"] - quiet["energy_j"]["total"] - 1.7e-12) / 1000
    np.testing.assert_allclose(per_syn, 23.6e-12, rtol=1e-9)
    np.testing.assert_allclose(quiet["energy_j"]["total"] / 2000, 52e-12, rtol=1e-9)
    np.testing.assert_allclose(busy["energy_j"]["total"] / 2000, 81e-12, rtol=1e-9)
    # Time: 1000 synaptic ops at 3.5 ns each on the one core.
    np.testing.assert_allclose(spike["per_step"]["latency_s"][1] - quiet["per_step"]["latency_s"][1],
                               1000 * 3.5e-9, rtol=1e-9)


def test_learning_updates_are_charged():
    tb = _two_pops()
    learn = np.array([[0, 4]])
    r = _run(tb, [0, 1], [], np.zeros((1, 2)), 1, learn=learn)
    np.testing.assert_allclose(r["energy_j"]["by_class"]["learning"], 4 * 120e-12, rtol=1e-12)
    np.testing.assert_allclose(r["latency_s"]["total"], 4 * 6.1e-9 + 3 * 5.3e-9 + 113e-9, rtol=1e-12)


def test_assumptions_carry_the_numbers_used():
    r = _run(_two_pops(), [0, _core(1, 0)], [], np.zeros((1, 2)), 1)
    text = "\n".join(r["assumptions"])
    assert all(a in r["assumptions"] for a in LOIHI.assumptions)
    assert "2 tile(s) on 1 chip(s)" in text and "host" in text and "0.104 W" in text


# ------------------------------------------------------------------------------- errors, speed
@pytest.mark.parametrize("kwargs, exc, words", [
    ({"physical_core": [0]}, ValidationError, "one physical mesh core per logical core"),
    ({"physical_core": [0, 0]}, ValidationError, "more than one logical core"),
    ({"physical_core": [0, 500]}, TargetError, "outside the mesh"),
    ({"spike_steps": [3]}, ValidationError, "0..1"),
    ({"spike_sources": [99]}, ValidationError, "outside 0..3"),
    ({"neuron_active": [[2, 0], [0, 0]]}, ValidationError, "core 0 holds 1 neurons"),
    ({"steps": 0}, ValidationError, "positive integer"),
])
def test_bad_inputs_name_the_problem(kwargs, exc, words):
    args = {"physical_core": [0, 1], "spike_steps": [0], "spike_sources": [0], "neuron_active": np.zeros((2, 2)),
            "steps": 2}
    args.update(kwargs)
    with pytest.raises(exc, match=words) as info:
        estimate(LOIHI, _two_pops(), np.array(args["physical_core"]), np.array(args["spike_steps"]),
                 np.array(args["spike_sources"]), np.array(args["neuron_active"], np.int64), args["steps"])
    assert isinstance(info.value, NeurocompError)


def test_a_million_messages_is_fast():
    rng = np.random.default_rng(1)
    net = nc.Network("big")
    net.population("a", (1000,), nc.LoihiLIF(du=0, dv=0, vth=10))
    net.population("b", (3200,), nc.LoihiLIF(du=0, dv=0, vth=10))
    w = (rng.random((3200, 1000)) < 0.05).astype(np.int64)
    net.connect("a", "b", nc.Dense(w))
    tb = build_core_tables(net, {"a": np.arange(1000) // 40, "b": 25 + np.arange(3200) // 32}, 125)
    fan = np.diff(tb.route_ptr)[:1000]
    steps = 100
    n_ev = int(1_000_000 / fan.mean()) + 1
    src = rng.integers(0, 1000, n_ev)
    ev_step = rng.integers(0, steps, n_ev)
    act = np.zeros((steps, 125), np.int64)
    phys = rng.permutation(128)[:125]
    estimate(LOIHI, tb, phys, ev_step[:10], src[:10], act, steps)      # compile / load the kernel
    t0 = time.perf_counter()
    r = estimate(LOIHI, tb, phys, ev_step, src, act, steps)
    took = time.perf_counter() - t0
    assert r["counters"]["total_messages"] >= 900_000
    assert took < 3.0, f"{took:.2f} s for {r['counters']['total_messages']} messages (target < 1 s; shared CPU)"


def test_active_from_spikes_counts_receivers_and_spikers():
    from neurocomp.backends.emulator.costmodel import active_from_spikes
    tb = _two_pops(n_a=2, n_b=3, n_in=1)
    inp = tb.n_neurons
    # step 0: a0 spikes (-> all of b active at step 1); step 1: input spikes (-> b at step 2), b0 spikes.
    b0 = int(tb.pop_gid["b"][0])
    act = active_from_spikes(tb, [0, 1, 1], [int(tb.pop_gid["a"][0]), inp, b0], 3)
    np.testing.assert_array_equal(act, [[1, 0], [0, 3], [0, 3]])
    always = np.zeros(tb.n_neurons, bool)
    always[tb.pop_gid["a"]] = True
    np.testing.assert_array_equal(active_from_spikes(tb, [], [], 2, always), [[2, 0], [2, 0]])


# ------------------------------------------------------------------------------- fused kernel vs numpy spec
def _random_case(rng):
    """A random small net (1-3 populations, 0-1 input, Dense/Sparse), cores, mesh (1-4 chips), events."""
    mesh, tb, phys, steps, ev_step, ev_src = random_mapped_run(rng, 0.6, -3, 0.5, 7, 60)
    ev_step = np.sort(ev_step)
    return mesh, tb, phys, steps, ev_step, ev_src


def _random_figures(target, rng):
    """``target`` with random non-zero message energies and latencies (so the order of every float
    operation matters: the shipped files have zeros, e.g. Loihi's spike_out energy)."""
    from neurocomp.target import Quantity
    keys = ("spike_out", "spike_within_tile", "hop_ew", "hop_ns", "hop_interchip")
    c = target.costs
    energy = dict(c.energy, **{k: Quantity(float(rng.uniform(1e-13, 1e-10)), "J", "test", "assumed") for k in keys})
    latency = dict(c.latency, **{k: Quantity(float(rng.uniform(1e-10, 1e-7)), "s", "test", "assumed") for k in keys})
    return dataclasses.replace(target, costs=dataclasses.replace(c, energy=energy, latency=latency))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 100_000), st.sampled_from(["loihi", "tianjic", "random"]))
def test_fused_message_kernel_equals_numpy_spec(seed, target_name):
    """message_totals (one numba pass, both link-walk modes) == message_totals_numpy, bit for bit."""
    from neurocomp.backends.emulator.costmodel import TOTALS, message_totals, message_totals_numpy
    rng = np.random.default_rng(seed)
    mesh, tb, phys, steps, ev_step, ev_src = _random_case(rng)
    target = dataclasses.replace(LOIHI if target_name == "random" else load_target(target_name), mesh=mesh)
    if target_name == "random":
        target = _random_figures(target, rng)
    *_, link_lat = link_table(mesh, {k: q.value for k, q in target.costs.latency.items()})
    want = message_totals_numpy(target, tb, phys, ev_step, ev_src, steps, link_lat)
    assert set(want) == set(TOTALS)
    for pair_mode in (True, False):
        got = message_totals(target, tb, phys, ev_step, ev_src, steps, link_lat, pair_mode=pair_mode)
        assert set(got) == set(TOTALS)
        for k in TOTALS:     # (np.bincount of no messages gives int zeros where the kernel gives 0.0)
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)
            assert np.shape(got[k]) == np.shape(want[k]), k


def test_estimate_materialises_no_per_message_array():
    """~1M messages: the numpy heap peak stays far below one int64 per message (the kernel accumulates
    straight into per-(step, core) grids; the old expansion needed ~10 arrays of one entry per message)."""
    import tracemalloc
    rng = np.random.default_rng(3)
    net = nc.Network("fan")
    net.population("a", (200,), nc.LoihiLIF(du=0, dv=0, vth=10))
    net.population("b", (1600,), nc.LoihiLIF(du=0, dv=0, vth=10))
    net.connect("a", "b", nc.Dense((rng.random((1600, 200)) < 0.2).astype(np.int64)))
    tb = build_core_tables(net, {"a": np.arange(200) // 20, "b": 10 + np.arange(1600) // 16}, 110)
    steps = 50
    n_ev = 10_000
    ev_step, src = rng.integers(0, steps, n_ev), rng.integers(0, 200, n_ev)
    act = np.zeros((steps, 110), np.int64)
    phys = rng.permutation(128)[:110]
    estimate(LOIHI, tb, phys, ev_step[:5], src[:5], act, steps)       # compile / load the kernel
    tracemalloc.start()
    try:
        r = estimate(LOIHI, tb, phys, ev_step, src, act, steps)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    n_msg = r["counters"]["total_messages"]
    assert n_msg > 300_000
    assert peak < 8 * n_msg / 2, f"peak {peak} bytes for {n_msg} messages"


@pytest.mark.parametrize("shape", [(300, 64), (5, 1), (0, 4), (17, 33)])
def test_busy_sums_equal_their_numpy_spec_bit_for_bit(shape):
    """The cost model's per-core busy time and count sums (one numba pass, ``costmodel.busy_sums``) equal the
    numpy expression they replace, float for float, with and without partial-sum busy time."""
    from neurocomp.backends.emulator.costmodel import busy_sums, busy_sums_np
    rng = np.random.default_rng(sum(shape))
    steps, n_cores = shape
    per_core = rng.integers(0, 1024, n_cores)
    counts = (rng.integers(0, 10 ** 6, shape), np.minimum(rng.integers(0, 1024, shape), per_core),
              rng.integers(0, 500, shape), rng.integers(0, 50, shape))
    lat = rng.random(5) * 1e-8
    for psum_busy in (np.zeros((0, 0)), rng.random(shape) * 1e-6):
        got = busy_sums(counts[0], counts[1], per_core, counts[2], counts[3], lat, psum_busy)
        want = busy_sums_np(counts[0], counts[1], per_core, counts[2], counts[3], lat, psum_busy)
        for name, a, b in zip(("busy max", "busy per core", "per step", "per core"), got, want):
            assert a.dtype == b.dtype and np.array_equal(a, b), name
