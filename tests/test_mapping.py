"""Mapping passes: partition under every per-core limit, place, route (neurocomp.passes.*)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.errors import CapacityError, ValidationError
from neurocomp.mapping import graph as G
from neurocomp.mapping import limits as LM
from neurocomp.passes import partition as P
from neurocomp.passes.place import place_cores, snake_order
from neurocomp.passes.route import link_loads
from neurocomp.target import load_target
from neurocomp.mapping.validate import check_mapping

LIF = dict(du=100, dv=200, vth=100)


def layered(n_in=32, sizes=(120, 120, 40), fan=12, seed=0, delay=0):
    rng = np.random.default_rng(seed)
    net = nc.Network("layered")
    prev = net.input("inp", (n_in,))
    for li, n in enumerate(sizes):
        pop = net.population(f"l{li}", (n,), nc.LoihiLIF(**LIF))
        m = prev.size
        centre = (np.arange(n) * m) // n
        pre = (np.repeat(centre, fan) + rng.integers(-fan, fan, n * fan)) % m
        key = np.unique(np.repeat(np.arange(n), fan) * m + pre)
        w = rng.integers(1, 60, key.size).astype(np.int64)
        net.connect(prev, pop, nc.Sparse.from_coo(key // m, key % m, w, (n, m)), delay=delay)
        prev = pop
    net.output(prev)
    return net


def modular(modules=6, size=40, fan=15, seed=1):
    """One recurrent population whose modules are interleaved (neuron i is in module i % modules):
    sequential filling mixes every module on every core, a hypergraph partitioner can separate them."""
    rng = np.random.default_rng(seed)
    n = modules * size
    net = nc.Network("modular")
    inp = net.input("inp", (modules,))
    pop = net.population("pop", (n,), nc.LoihiLIF(**LIF))
    post = np.repeat(np.arange(n), fan)
    mod = post % modules
    pre = rng.integers(0, size, post.size) * modules + mod
    key = np.unique(post * n + pre)
    net.connect(pop, pop, nc.Sparse.from_coo(key // n, key % n, np.full(key.size, 3, np.int64), (n, n)))
    net.connect(inp, pop, nc.Sparse.from_coo(np.arange(n), np.arange(n) % modules, np.full(n, 5, np.int64), (n, modules)))
    return net


def small_target(name="loihi", **core):
    t = load_target(name)
    return dataclasses.replace(t, core=dataclasses.replace(t.core, **core)) if core else t


def run_partition(net, target, **opts):
    cn, report = P.Partition(**opts).run(net, target)
    return cn, report


# ----------------------------------------------------------------------------------------- partition
@pytest.mark.parametrize("partitioner", P.PARTITIONERS)
def test_every_partitioner_respects_every_limit(partitioner):
    net = layered()
    target = small_target(max_input_axons=60, max_output_axons=150, synapse_memory_bits=6000)
    cn, rep = run_partition(net, target, partitioner=partitioner, max_neurons_per_core=48)
    assert check_mapping(cn) == []
    use = cn.usage
    assert use.neurons.max() <= 48 and use.input_axons.max() <= 60
    assert use.output_axons.max() <= 150 and use.synapse_bits.max() <= 6000
    assert rep.summary["cores_used"] <= rep.summary["baseline"]["cores_used"]
    assert sum(a.size for a in cn.core_of_neuron.values()) == net.n_neurons


def test_limits_bind_in_turn():
    """Each limit, made tight, raises the core count of the sequential baseline above the neuron bound."""
    net = layered()
    loose = run_partition(net, small_target(), partitioner="sequential")[0].n_cores
    for field, value in (("max_input_axons", 40), ("synapse_memory_bits", 4000), ("max_output_axons", 40),
                         ("max_neurons", 30)):
        cn, _ = run_partition(net, small_target(**{field: value}), partitioner="sequential")
        assert cn.n_cores > loose, field
        assert check_mapping(cn) == [], field


def test_learning_and_delay_synapses_cost_more_memory():
    target = small_target()
    plain = run_partition(layered(), target, partitioner="sequential")[0].usage.synapse_bits.sum()
    delayed = run_partition(layered(delay=3), target, partitioner="sequential")[0].usage.synapse_bits.sum()
    assert delayed > plain
    lut = LM.encoding_lut(target.core.synapse_encoding, 10)
    assert np.all(lut[G.FLAG_LEARN] >= lut[0]) and lut[G.FLAG_LEARN].sum() > lut[0].sum()
    assert np.all(lut[G.FLAG_DELAY] >= lut[0]) and np.all(lut[:, 0] == 0)


def test_neuron_that_cannot_fit_names_the_limit():
    net = layered(n_in=64, sizes=(10,), fan=40)
    with pytest.raises(CapacityError, match=r"neuron l0\[\d+\] alone needs \d+ input axons > 20 .*loihi.*fan-in"):
        run_partition(net, small_target(max_input_axons=20))
    with pytest.raises(CapacityError, match=r"alone needs \d+ bits of synapse memory > 100"):
        run_partition(net, small_target(synapse_memory_bits=100))
    with pytest.raises(CapacityError, match=r"input synapses > 5 \(core.max_fan_in\)"):
        run_partition(net, small_target(max_fan_in=5))
    with pytest.raises(CapacityError, match=r"delay of 9 steps > 4 \(core.max_delay\)"):
        run_partition(layered(delay=9), small_target(max_delay=4))


def test_output_axon_limit_and_fan_out():
    net = layered(n_in=8, sizes=(8, 200), fan=8)
    cn, _ = run_partition(net, small_target(max_output_axons=30), max_neurons_per_core=16, partitioner="sequential")
    assert cn.usage.output_axons.max() <= 30 and check_mapping(cn) == []
    with pytest.raises(CapacityError, match=r"sends to \d+ cores > 1 \(core.max_fan_out\)"):
        run_partition(net, small_target(max_fan_out=1), max_neurons_per_core=16, partitioner="sequential")


def test_bad_options():
    with pytest.raises(ValidationError, match="partitioner 'kl'"):
        run_partition(layered(), small_target(), partitioner="kl")
    with pytest.raises(ValidationError, match="max_neurons_per_core"):
        run_partition(layered(), small_target(), max_neurons_per_core=0)
    with pytest.raises(ValidationError, match="rates: 'nope'"):
        run_partition(layered(), small_target(), rates={"nope": 1.0})


def test_hypergraph_beats_sequential_on_modular_net():
    net = modular()
    cn, rep = run_partition(net, small_target(), max_neurons_per_core=40)
    s = rep.summary
    assert s["chosen"] == "hypergraph"
    assert s["cores_used"] <= s["baseline"]["cores_used"]
    assert s["messages_per_step_all_fire"] <= 0.5 * s["baseline"]["messages_per_step_all_fire"]
    assert check_mapping(cn) == []


def test_kahypar_runs_and_is_deterministic():
    net = modular()
    graph = G.synapse_graph(net)
    vertex, w, _ = P.vertex_blocks(graph)
    _, ew = P.source_weights(graph, None)
    index, pins, hw, info = P.build_hypergraph(graph, vertex, w.size, ew, 0)
    assert hw.sum() == info["hyperedges_raw"] and index[-1] == pins.size
    a = P.kahypar_partition(w.size, index, pins, hw, w, 6, 40, seed=3)
    b = P.kahypar_partition(w.size, index, pins, hw, w, 6, 40, seed=3)
    assert np.array_equal(a, b) and np.bincount(a).max() <= 40
    # modules are separated: each block holds one module
    mods = np.arange(graph.n_neurons) % 6
    assert all(np.unique(mods[a == blk]).size == 1 for blk in range(6))


def test_metis_order_and_large_k(monkeypatch):
    """Small hyperedges (the modular net): METIS runs first on the neurons and separates the modules; large
    ones (every input feeds the whole population): KaHyPar's stages first, METIS last. Above MAX_K only METIS
    runs, above MAX_K_METIS the baseline is kept with the reason; every result is valid and repeatable."""
    assert P.schedule_of("hypergraph", 8, 800, 10.0)[0] is None
    large = P.schedule_of("hypergraph", 8, 800, 1000.0)
    assert large[-1] is None and large[0] == 100
    net = modular()
    graph = G.synapse_graph(net)
    limits = LM.core_limits(small_target(), graph, 40)
    lower = int(np.count_nonzero(np.diff(graph.out_ptr)))      # every source on one core: modules separated
    res = P.partition_graph(graph, limits, budget_s=float("inf"))
    assert res.info["attempts"][0]["run"] == "metis" and res.info["attempts"][0]["messages"] == lower
    monkeypatch.setattr(P, "MAX_K", 2)
    only = P.partition_graph(graph, limits)
    again = P.partition_graph(graph, limits)
    assert [a["run"] for a in only.info["attempts"]] == ["metis"] and only.chosen == "hypergraph"
    assert np.array_equal(only.core, again.core) and only.usage.messages == lower
    assert not any(v.any() for v in LM.evaluate(graph, only.core, limits).violations(limits).values())
    monkeypatch.setattr(P, "MAX_K_METIS", 2)
    kept = P.partition_graph(graph, limits)
    assert kept.chosen == "sequential" and "MAX_K_METIS" in kept.info["kept_baseline_because"]


def test_metis_graph_equals_its_numpy_spec():
    """The METIS input built by the numba pass equals the numpy sorts', on neurons and on vertex blocks, with
    and without rate weights."""
    for net in (modular(), layered(), layered(delay=2)):
        graph = G.synapse_graph(net)
        _, ew = P.source_weights(graph, None)
        rw = np.random.default_rng(0).integers(0, 1000, ew.size)
        for vmax in (10**9, 100, 7):
            vertex, w, _ = P.vertex_blocks(graph, vmax)
            for weight in (ew, rw):
                want = P.metis_graph_np(graph, vertex, w.size, weight)
                got = P.metis_graph(graph, vertex, w.size, weight)
                assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(want, got))


def test_metis_on_vertex_blocks_above_the_synapse_threshold(monkeypatch):
    """Above METIS_NEURON_SYNAPSES METIS partitions the vertex blocks (its graph built before the run, its
    estimate from that graph's size): the result is valid, repeatable and reported; below, on the neurons."""
    net = modular()
    graph = G.synapse_graph(net)
    limits = LM.core_limits(small_target(), graph, 40)
    monkeypatch.setattr(P, "MAX_K", 2)                       # METIS only
    below = P.partition_graph(graph, limits)
    assert "metis_on" not in below.info
    monkeypatch.setattr(P, "METIS_NEURON_SYNAPSES", 0)
    monkeypatch.setattr(P, "MAX_VERTICES", 60)
    monkeypatch.setattr(P, "vertex_blocks", lambda g, max_vertices=60: VB(g, max_vertices))
    a, b = P.partition_graph(graph, limits), P.partition_graph(graph, limits)
    assert "vertex blocks of 4 neurons" in a.info["metis_on"] and a.info["attempts"][0]["run"] == "metis"
    assert np.array_equal(a.core, b.core) and a.usage.n_cores <= a.baseline_usage.n_cores
    assert not any(v.any() for v in LM.evaluate(graph, a.core, limits).violations(limits).values())
    monkeypatch.setattr(P, "METIS_EDGE_S", 1e9)              # its estimate exceeds the budget: nothing runs
    kept = P.partition_graph(graph, limits)
    assert kept.chosen == "sequential" and "no hypergraph run fitted" in kept.info["kept_baseline_because"]


VB = P.vertex_blocks


def test_recount_equals_a_full_count():
    """``limits.recount`` (only the changed cores and their sources counted again) equals ``evaluate``; so does
    every repair round, recounted or not."""
    rng = np.random.default_rng(3)
    for net, target in ((modular(), small_target()), (layered(delay=1), small_target()),
                        (modular(), small_target("loihi2"))):
        graph = G.synapse_graph(net)
        limits = LM.core_limits(target, graph)
        for trial in range(6):
            core = P.compact(rng.integers(0, 9, graph.n_neurons))
            use = LM.evaluate(graph, core, limits)
            changed = rng.random(use.n_cores) < 0.3
            new = core.copy()
            moved = np.nonzero(changed[core])[0]
            new[moved] = use.n_cores + rng.integers(0, 4, moved.size)     # split / merge the changed cores
            if trial % 2:
                new[moved] = core[moved] * 0 + core[moved[0]] if moved.size else new[moved]
            new = P.compact(new)
            want, got = LM.evaluate(graph, new, limits), LM.recount(graph, core, use, new, changed, limits)
            for name in ("neurons", "input_axons", "output_axons", "synapse_bits", "synapses", "fanout"):
                assert np.array_equal(getattr(want, name), getattr(got, name)), name


def test_repair_recounted_or_not_gives_the_same_mapping(monkeypatch):
    net = modular(modules=8, size=30)
    graph = G.synapse_graph(net)
    limits = LM.core_limits(small_target(max_output_axons=30), graph, 12)
    out = []
    for frac in (-1.0, 1.0):
        monkeypatch.setattr(P, "RECOUNT_FRACTION", frac)
        core, rounds, use = P.repair_usage(graph, np.arange(graph.n_neurons) // 25, limits)
        out.append((core, rounds, use))
    (a, ra, ua), (b, rb, ub) = out
    assert ra == rb >= 2 and np.array_equal(a, b)
    want = LM.evaluate(graph, b, limits)
    for name in ("neurons", "input_axons", "output_axons", "synapse_bits", "synapses", "fanout"):
        assert np.array_equal(getattr(ua, name), getattr(ub, name)) and np.array_equal(getattr(want, name), getattr(ub, name))


def test_kahypar_stage_that_needs_more_cores_ends_the_kahypar_stages(monkeypatch):
    """A KaHyPar stage whose every retry needs more cores than the baseline ends the KaHyPar stages (a larger
    sample would break the same limits); METIS, scheduled last, still runs and its mapping is kept."""
    net = modular()
    graph = G.synapse_graph(net)
    limits = LM.core_limits(small_target(), graph, 40)
    monkeypatch.setattr(P, "METIS_FIRST_HYPEREDGE", 0)
    monkeypatch.setattr(P, "kahypar_partition", lambda n, index, pins, w, nw, k, cap, seed: np.arange(n) % (k + 1))
    res = P.partition_graph(graph, limits, budget_s=float("inf"), max_pins=800)
    assert [a["run"] for a in res.info["attempts"]] == ["kahypar", "metis"]
    assert res.info["attempts"][0]["cores"] == 7 and res.chosen == "hypergraph" and res.usage.n_cores <= 6


def test_identical_hyperedges_are_merged():
    net = nc.Network("dense")
    inp = net.input("inp", (9,))
    pop = net.population("pop", (20,), nc.LoihiLIF(**LIF))
    net.connect(inp, pop, nc.Dense(np.ones((20, 9), np.int64)))
    graph = G.synapse_graph(net)
    vertex, w, _ = P.vertex_blocks(graph)
    _, ew = P.source_weights(graph, None)
    index, pins, hw, info = P.build_hypergraph(graph, vertex, w.size, ew, 0)
    assert info["hyperedges_raw"] == 9 and info["hyperedges"] == 1 and hw.tolist() == [9]
    assert np.array_equal(pins, np.arange(20))


def test_coarsening_and_sampling_stay_valid(monkeypatch):
    net = modular(modules=4, size=60)
    target = small_target(max_input_axons=200)
    monkeypatch.setattr(P, "MAX_VERTICES", 50)
    graph = G.synapse_graph(net)
    vertex, w, block = P.vertex_blocks(graph, 50)
    assert block == 5 and w.sum() == graph.n_neurons and np.all(np.diff(vertex) >= 0)
    _, ew = P.source_weights(graph, None)
    _, _, _, info = P.build_hypergraph(graph, vertex, w.size, ew, 0, max_pins=100)
    assert info["sampled"] < 1 and info["pins"] <= 200
    cn, _ = run_partition(net, target, max_neurons_per_core=60)
    assert check_mapping(cn) == []


def test_rates_weight_the_objective():
    net = modular()
    cn, rep = run_partition(net, small_target(), max_neurons_per_core=40, rates={"pop": 0.1, "inp": 0.0})
    s = rep.summary
    assert s["messages_per_step_rates"] == pytest.approx(0.1 * (s["messages_per_step_all_fire"] - 6 * 1) , rel=0.2)
    assert check_mapping(cn) == []


def test_core_stats_match_a_plain_count():
    net = layered()
    graph = G.synapse_graph(net)
    rng = np.random.default_rng(0)
    core = rng.integers(0, 7, graph.n_neurons)
    limits = LM.core_limits(small_target(), graph)
    use = LM.evaluate(graph, core, limits)
    src = np.repeat(np.arange(graph.n_sources), np.diff(graph.out_ptr))
    dst_core = core[graph.out_post]
    pairs = np.unique(src * 7 + dst_core)
    assert use.messages == pairs.size
    assert np.array_equal(use.input_axons, np.bincount(pairs % 7, minlength=7))
    neuron_src = pairs // 7 < graph.n_neurons
    assert np.array_equal(use.output_axons, np.bincount(core[pairs[neuron_src] // 7], minlength=7))


# ----------------------------------------------------------------------------------------- place / route
def test_place_lowers_cost_and_uses_distinct_cores():
    net = modular(modules=8, size=30)
    target = small_target()
    cn, _ = run_partition(net, target, max_neurons_per_core=10, partitioner="sequential")
    graph = cn.graph
    core = graph.join(cn.core_of_neuron)
    pos, info = place_cores(graph, core, cn.n_cores, target, np.ones(graph.n_sources), seed=0)
    assert np.unique(pos).size == pos.size and info["cost_final"] <= info["cost_initial"]
    with pytest.raises(CapacityError, match="needs 24 cores but target 'loihi' has 8"):
        tiny = dataclasses.replace(target, mesh=dataclasses.replace(target.mesh, tiles_x=2, tiles_y=1))
        place_cores(graph, core, cn.n_cores, tiny, np.ones(graph.n_sources))


def test_snake_order_is_a_permutation():
    mesh = load_target("loihi").mesh
    order = snake_order(mesh)
    assert np.array_equal(np.sort(order), np.arange(mesh.n_cores))


def test_link_loads_match_walking_each_route():
    rng = np.random.default_rng(0)
    gw, gh = 5, 4
    sx, sy, dx, dy = (rng.integers(0, m, 30) for m in (gw, gh, gw, gh))
    w = rng.integers(1, 5, 30).astype(float)
    loads = link_loads(sx, sy, dx, dy, w, gw, gh)
    ref = {d: np.zeros_like(a) for d, a in loads.items()}
    for x0, y0, x1, y1, wt in zip(sx, sy, dx, dy, w):
        x, y = x0, y0
        while x != x1:
            if x1 > x:
                ref["E"][y, x] += wt
                x += 1
            else:
                ref["W"][y, x - 1] += wt
                x -= 1
        while y != y1:
            if y1 > y:
                ref["N"][x, y] += wt
                y += 1
            else:
                ref["S"][x, y - 1] += wt
                y -= 1
    for d in loads:
        assert np.allclose(loads[d], ref[d]), d


# ----------------------------------------------------------------------------------------- scale kernels
def _plain_pairs(graph, core):
    """(source, destination core) multicast pairs by np.unique: the reference the numba kernels must match."""
    n_cores = int(core.max()) + 1
    src = np.repeat(np.arange(graph.n_sources), np.diff(graph.out_ptr))
    key = np.unique(src * n_cores + core[graph.out_post])
    return key // n_cores, key % n_cores, n_cores


def test_core_traffic_and_streamed_cost_match_a_plain_count():
    from neurocomp.passes.place import core_traffic, placement_cost, slot_grid, streamed_cost, traffic_entries
    net = modular(modules=8, size=30)
    graph = G.synapse_graph(net)
    rng = np.random.default_rng(3)
    core = rng.integers(0, 9, graph.n_neurons)
    w = rng.random(graph.n_sources)
    s, b, n_cores = _plain_pairs(graph, core)
    neuron = (s < graph.n_neurons)
    a, b, ws = core[s[neuron]], b[neuron], w[s[neuron]]
    keep = a != b
    dense = np.zeros((n_cores, n_cores))
    np.add.at(dense, (a[keep], b[keep]), ws[keep])
    assert traffic_entries(graph, core, n_cores) == np.count_nonzero(dense)
    sym = dense + dense.T
    ptr, nbr, wt = core_traffic(graph, core, w, n_cores)
    got = np.zeros_like(sym)
    got[np.repeat(np.arange(n_cores), np.diff(ptr)), nbr] = wt
    assert np.allclose(got, sym) and np.all(np.diff(nbr[ptr[0]:ptr[1]]) > 0)
    mesh = small_target().mesh
    gx, gy, cx, cy = (np.ascontiguousarray(v, np.int64) for v in slot_grid(mesh))
    pos = rng.permutation(mesh.n_cores)[:n_cores].astype(np.int64)
    args = (pos, gx, gy, cx, cy, 1.0, 1.5, 7.0)
    assert streamed_cost(graph.out_ptr, graph.out_post, LM.core_ids(core), graph.n_neurons, w, *args) == pytest.approx(
        placement_cost(ptr, nbr, wt, *args))


def test_route_loads_match_link_loads_of_every_message():
    from neurocomp.passes.route import route_links
    net = modular(modules=8, size=30)
    graph = G.synapse_graph(net)
    target = small_target()
    mesh = dataclasses.replace(target.mesh, chips=4, chips_x=2, chips_y=2)
    rng = np.random.default_rng(5)
    core = rng.integers(0, 11, graph.n_neurons)
    phys = rng.permutation(mesh.n_cores)[:11].astype(np.int64)
    rate = rng.random(graph.n_sources)
    links, summary = route_links(graph, core, phys, mesh, rate)
    s, b, _ = _plain_pairs(graph, core)
    inp = s >= graph.n_neurons
    a = np.where(inp, -1, core[np.minimum(s, graph.n_neurons - 1)])
    assert summary["messages_per_step_all_fire"] == s.size and summary["input_messages"] == inp.sum()
    assert summary["local_messages"] == np.sum(a == b)
    m = ~inp & (a != b)
    gx, gy = mesh.global_tile(phys)
    ref = link_loads(gx[a[m]], gy[a[m]], gx[b[m]], gy[b[m]], np.ones(m.sum()), mesh.chips_x * mesh.tiles_x,
                     mesh.chips_y * mesh.tiles_y)
    ref_r = link_loads(gx[a[m]], gy[a[m]], gx[b[m]], gy[b[m]], rate[s[m]], mesh.chips_x * mesh.tiles_x,
                       mesh.chips_y * mesh.tiles_y)
    ew, ns, chips = mesh.hops(phys[a[m]], phys[b[m]])
    assert summary["hops_total_all_fire"] == int(np.sum(ew + ns))
    assert summary["interchip_crossings_all_fire"] == int(np.sum(chips))
    assert len(links) == sum(int(np.count_nonzero(v)) for v in ref.values())
    for e in links:
        x, y = e["from"]
        d = e["dir"]
        i, j = {"E": (y, x), "W": (y, x - 1), "N": (x, y), "S": (x, y - 1)}[d]
        assert e["load"] == ref[d][i, j] and e["load_rates"] == pytest.approx(ref_r[d][i, j])


def _argsort_layout(net, assign, n_cores):
    """The tables' (core, source)-sorted synapse layout computed the plain way (a stable argsort)."""
    from neurocomp.semantics.synapses import projection_synapses
    pops = net.neuron_populations
    flat_core = np.concatenate([assign[p.name] for p in pops])
    order = np.argsort(flat_core, kind="stable")
    gid = np.empty(order.size, np.int64)
    gid[order] = np.arange(order.size)
    off = dict(zip([p.name for p in pops], np.cumsum([0] + [p.size for p in pops])))
    inputs = list(net.inputs)
    ioff = dict(zip(inputs, np.cumsum([0] + [net.populations[i].size for i in inputs])))
    rows = []
    for k, proj in enumerate(net.projections.values()):
        pre, post, w, d = projection_synapses(proj, net.populations[proj.source].size,
                                              net.populations[proj.target].size)
        src = (order.size + ioff[proj.source] + pre) if proj.source in ioff else gid[off[proj.source] + pre]
        g = gid[off[proj.target] + post]
        rows.append(np.stack([flat_core[order][g], src, g, w, d, np.full(g.size, k)], 1))
    allr = np.concatenate(rows)
    return allr[np.argsort(allr[:, 0] * (order.size + 1000) + allr[:, 1], kind="stable")]


def test_streamed_tables_have_the_sorted_layout(monkeypatch):
    """The counting-sort / streaming tables builder (chunks forced small) lays synapses out exactly as a
    stable sort by (core, source) of the projection-ordered synapses would (the routes' transpose in two
    blocks of cores: ``ROUTE_BLOCK`` forced below the 6 cores)."""
    from neurocomp.mapping import tables as T
    from neurocomp.semantics import synapses
    monkeypatch.setattr(T, "ROUTE_BLOCK", 4)
    net = layered(sizes=(120, 90, 60), fan=10, delay=2)
    net.connect("l0", "l2", nc.Sparse.from_coo(np.arange(60), np.arange(60) * 2, np.arange(60) % 7 - 3, (60, 120)))
    rng = np.random.default_rng(2)
    assign = {p.name: rng.integers(0, 6, p.size) for p in net.neuron_populations}
    monkeypatch.setattr(synapses, "CHUNK", 50)
    t = T.build_core_tables(net, assign, 6)
    want = _argsort_layout(net, assign, 6)
    axon = np.repeat(np.arange(t.n_axons), np.diff(t.axon_syn_ptr))
    have = np.stack([np.repeat(np.arange(6), np.diff(t.core_axon_ptr))[axon], t.axon_source[axon], t.syn_post,
                     t.syn_weight, t.syn_delay, t.syn_proj], 1)
    assert np.array_equal(have, want)
    with pytest.raises(ValidationError, match="synapse graph"):
        T.build_core_tables(net, assign, 6, graph=G.synapse_graph(layered()))


def test_bounded_run_returns_or_is_stopped_at_its_cpu_budget():
    from neurocomp.mapping import bounded
    out, used = bounded.run_within(lambda: np.arange(5) * 3, 5.0)
    assert out.tolist() == [0, 3, 6, 9, 12] and used < 5.0

    def spin():
        while True:
            pass
    out, used = bounded.run_within(spin, 0.2)
    if bounded.BOUNDED:
        assert out is None and 0.2 <= used < 2.0


def test_search_budget_keeps_the_baseline_or_the_best_found_in_time(monkeypatch):
    """Budget 0: the baseline, with the reason; unbounded: METIS, then every KaHyPar stage, samples growing;
    a run stopped after the first: that run's mapping (valid, no worse than the baseline), reported as stopped."""
    net = modular(modules=6, size=120)
    cn, rep = run_partition(net, small_target(), max_neurons_per_core=120, budget_s=0.0)
    s = rep.summary
    assert s["chosen"] == "sequential" and "time budget" in s["kept_baseline_because"]
    assert s["messages_per_step_all_fire"] == s["baseline"]["messages_per_step_all_fire"]
    graph = G.synapse_graph(net)
    limits = LM.core_limits(small_target(), graph, 120)
    full = P.partition_graph(graph, limits, budget_s=float("inf"), max_pins=800)
    runs = [a["run"] for a in full.info["attempts"]]
    pins = [a["pins"] for a in full.info["attempts"]]
    assert runs[0] == "metis" and pins[0] is None and set(runs[1:]) == {"kahypar"}
    assert len(set(pins[1:])) == P.STAGES and pins[1:] == sorted(pins[1:]) and "budget_stopped" not in full.info
    real, calls = P.run_within, []

    def first_only(fn, cpu_s):                  # the second run "uses up" the budget
        calls.append(cpu_s)
        return real(fn, cpu_s) if len(calls) == 1 else (None, cpu_s)
    monkeypatch.setattr(P, "run_within", first_only)
    one = P.partition_graph(graph, limits, budget_s=1e6, max_pins=800)
    assert len(calls) == 2 and "exceeded the CPU-time budget" in one.info["budget_stopped"]
    assert one.chosen == "hypergraph" and one.info["attempts"][0]["pins"] == pins[0]
    assert one.usage.messages <= one.baseline_usage.messages
    assert not any(v.any() for v in LM.evaluate(graph, one.core, limits).violations(limits).values())


def test_bounded_child_dies_with_a_killed_compile():
    """kill -9 of the compiling process must not leave a KaHyPar child running."""
    import os, signal, subprocess, sys, time
    from neurocomp.mapping import bounded
    if not bounded.BOUNDED:
        pytest.skip("no fork")
    code = "from neurocomp.mapping import bounded\nbounded.run_within(lambda: [0 for _ in iter(int, 1)], 1e6)\n"
    proc = subprocess.Popen([sys.executable, "-c", code])
    child = None
    for _ in range(300):
        time.sleep(0.05)
        kids = open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()
        if kids:
            child = int(kids[0])
            break
    assert child is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for _ in range(100):
        try:
            state = open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            state = "gone"
        if state in ("Z", "X", "gone"):
            break
        time.sleep(0.05)
    assert state in ("Z", "X", "gone")


def test_bounded_child_that_blocks_is_stopped_by_the_wall_clock(monkeypatch):
    """A child blocked without using CPU (a lock inherited through fork) must not hang the compile."""
    import time
    from neurocomp.mapping import bounded
    if not bounded.BOUNDED:
        pytest.skip("no fork")
    monkeypatch.setattr(bounded, "WALL_EXTRA_S", 0.3)
    t = time.perf_counter()
    out, _ = bounded.run_within(lambda: time.sleep(60), 0.01)
    assert out is None and time.perf_counter() - t < 10


def test_default_search_is_repeatable_whatever_the_clock_says(monkeypatch):
    """The default budget's schedule comes from estimates of the graph, not from measured time: with the
    CPU clock (the parent's and the child's) scaled by 0.3x or 3x and a thread burning CPU beside it, the
    same runs happen and the mapping is identical; the estimated budget, not all stages, decided where the
    search stopped; and nothing was killed."""
    import threading
    import time as _time
    from neurocomp.mapping import bounded
    net = modular(modules=6, size=120)
    graph = G.synapse_graph(net)
    limits = LM.core_limits(small_target(), graph, 120)
    full = P.partition_graph(graph, limits, budget_s=float("inf"), max_pins=800)
    est = [a["estimate_s"] for a in full.info["attempts"]]
    assert len(est) >= 3
    monkeypatch.setattr(P, "BUDGET_RATIO", 0.0)
    monkeypatch.setattr(P, "MIN_BUDGET_S", est[0] + est[1] + 0.5 * est[2])   # room for exactly two runs
    real_pt, real_cpu, real_run = _time.process_time, bounded._cpu_of, P.run_within
    runs = []
    for scale in (1.0, 0.3, 3.0):
        monkeypatch.setattr(_time, "process_time", lambda s=scale: s * real_pt())
        monkeypatch.setattr(bounded, "_cpu_of", lambda pid, s=scale: s * real_cpu(pid))
        monkeypatch.setattr(P, "run_within", lambda fn, cpu_s, s=scale: (lambda r: (r[0], s * r[1]))(real_run(fn, cpu_s)))
        stop = threading.Event()
        burner = threading.Thread(target=lambda: [sum(range(1000)) for _ in iter(stop.is_set, True)], daemon=True)
        burner.start()
        try:
            runs.append(P.partition_graph(graph, limits, max_pins=800))
        finally:
            stop.set()
            burner.join()
    first = runs[0]
    assert first.info["attempts"] == full.info["attempts"][:2] and "budget_stopped" not in first.info
    for other in runs[1:]:
        assert np.array_equal(other.core, first.core) and other.info == first.info
    # through the pass (default max_pins, default budget): the same core arrays twice under different clocks
    monkeypatch.undo()
    cores = []
    for scale in (0.3, 3.0):
        monkeypatch.setattr(_time, "process_time", lambda s=scale: s * real_pt())
        cn, _ = run_partition(net, small_target(), max_neurons_per_core=120)
        cores.append(cn.core_of_neuron)
    assert cores[0].keys() == cores[1].keys() and all(np.array_equal(cores[0][k], cores[1][k]) for k in cores[0])


def test_safety_net_kill_is_reported_as_machine_dependent(monkeypatch):
    """A run the safety net kills (here: every run, as if the machine were far slower than the estimate)
    leaves the baseline, said to be machine-dependent; the kill is SAFETY x the estimate + SAFETY_MIN_S,
    or sooner when an explicit ``budget_s`` runs out, never with ``budget_s=inf``."""
    net = modular(modules=6, size=120)
    graph = G.synapse_graph(net)
    limits = LM.core_limits(small_target(), graph, 120)
    kills = []
    monkeypatch.setattr(P, "run_within", lambda fn, cpu_s: (kills.append(cpu_s), (None, cpu_s))[1])
    res = P.partition_graph(graph, limits, max_pins=800)
    assert len(kills) == 1 and kills[0] > P.SAFETY_MIN_S
    assert res.chosen == "sequential" and "exceeded the CPU-time budget" in res.info["budget_stopped"]
    res = P.partition_graph(graph, limits, max_pins=800, budget_s=0.05)     # an explicit budget_s bounds the kill
    assert len(kills) == 2 and 0 < kills[1] <= 0.05 and "budget_stopped" in res.info
    P.partition_graph(graph, limits, max_pins=800, budget_s=float("inf"))   # unbounded: never killed
    assert kills[2] == float("inf")
