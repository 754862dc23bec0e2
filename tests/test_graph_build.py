"""The synapse graph's two-pass build (count per post/source, then write both CSRs) equals the plain numpy
spec: every synapse of every projection, in enumeration order, stably sorted by post and by source."""
import numpy as np
import pytest

from neurocomp.mapping import graph as G
from neurocomp.semantics import synapses as S
from netgen import random_network


def spec(net):
    """(in_ptr, in_src, in_flag, out_ptr, out_post, out_flag) by concatenation and stable argsort."""
    g = G.synapse_graph(net)          # only for the id bases
    pops = [p.name for p in net.neuron_populations]
    src, post, flag = [], [], []
    for proj in net.projections.values():
        sp, dp = net.populations[proj.source], net.populations[proj.target]
        base = (g.n_neurons + g.input_offset[g.input_names.index(proj.source)] if sp.is_input
                else g.pop_offset[pops.index(proj.source)])
        learn = G.FLAG_LEARN if proj.learning is not None else 0
        shared = G.FLAG_SHARED if not learn and proj.connectivity.kernel_slices(dp.size) is not None else 0
        for pre, po, _, d in S.iter_projection_synapses(proj, sp.size, dp.size):
            src.append(np.asarray(pre, np.int64) + base)
            post.append(np.asarray(po, np.int64) + g.pop_offset[pops.index(proj.target)])
            flag.append((np.asarray(d) > 0).astype(np.uint8) | learn | shared)
    src, post, flag = (np.concatenate(a) if a else np.zeros(0, np.int64) for a in (src, post, flag))
    by_post, by_src = np.argsort(post, kind="stable"), np.argsort(src, kind="stable")
    return (np.concatenate([[0], np.cumsum(np.bincount(post, minlength=g.n_neurons))]), src[by_post], flag[by_post],
            np.concatenate([[0], np.cumsum(np.bincount(src, minlength=g.n_sources))]), post[by_src], flag[by_src])


@pytest.mark.parametrize("blocked", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_two_pass_graph_equals_sorted_spec(seed, blocked, monkeypatch):
    monkeypatch.setattr(S, "CHUNK", 37)          # many chunks per projection
    if blocked:     # the by-source side through the block sort (some chunks over the buffer: direct writes)
        monkeypatch.setattr(G, "SCATTER_SPAN", 1)
        monkeypatch.setattr(G, "SCATTER_BUFFER", 30)
    net = random_network(seed, n_pops=1 + seed % 4, n_inputs=seed % 3, conv=seed % 2 == 1, max_size=60)
    g = G.synapse_graph(net)
    want = spec(net)
    got = (g.in_ptr, g.in_src, g.in_flag, g.out_ptr, g.out_post, g.out_flag)
    for name, a, b in zip(("in_ptr", "in_src", "in_flag", "out_ptr", "out_post", "out_flag"), got, want):
        assert np.array_equal(np.asarray(a, np.int64), np.asarray(b, np.int64)), name
    assert g.n_synapses == want[1].size > 0


def _chunks(net, chunk=None, buffers=None):
    out = []
    for proj in net.projections.values():
        sp, dp = net.populations[proj.source], net.populations[proj.target]
        for part in S.iter_projection_synapses(proj, sp.size, dp.size, chunk, buffers):
            out.append(tuple(np.array(x) for x in part))     # a copy: with buffers, the next chunk overwrites
    return out


@pytest.mark.parametrize("seed", range(8))
def test_numba_effective_weights_equal_the_numpy_path(seed, monkeypatch):
    """``iter_projection_synapses``' numba passes (effective weights, zeros dropped) give the arrays of the
    numpy path (``fixedpoint.effective_weights`` and boolean masks): values and dtypes, every sign mode, weight
    bits, delay form, learning; weights far outside int32 included."""
    import neurocomp as nc
    net = random_network(seed, n_pops=1 + seed % 4, n_inputs=seed % 3, conv=seed % 2 == 1, max_size=60)
    rng = np.random.default_rng(seed)
    a = net.population("big", (50,), nc.LoihiLIF(du=1, dv=1, vth=10))
    b = net.population("big2", (40,), nc.LoihiLIF(du=1, dv=1, vth=10))
    for k, mode in enumerate([None, "mixed", "excitatory", "inhibitory"]):
        w = rng.integers(-2 ** 40, 2 ** 40, (40, 50)) if k % 2 else rng.integers(-300, 300, (40, 50))
        w[rng.random(w.shape) < 0.3] = 0
        net.connect(a, b, nc.Dense(w, num_weight_bits=int(rng.integers(1, 9)), sign_mode=mode),
                    delay=rng.integers(0, 3, w.shape) if k % 2 else 1, name=f"extreme{k}")
    for k, rule in enumerate([nc.rules.stdp(w_min=0), nc.rules.stdp()]):     # learning: truncated, zeros kept
        w = rng.integers(-300, 300, (40, 50))
        w[rng.random(w.shape) < 0.3] = 0
        net.connect(a, b, nc.Dense(w, num_weight_bits=int(rng.integers(1, 9))), learning=rule, name=f"learn{k}")
    want = None
    for fast, buffers in ((False, None), (True, None), (True, {})):
        if not fast:
            monkeypatch.setattr(S, "_fast_effective", lambda *args: None)
        else:
            monkeypatch.undo()
        got = _chunks(net, 97, buffers)
        if want is None:
            want = got
            continue
        assert len(got) == len(want)
        for g, w in zip(got, want):
            for x, y in zip(g, w):
                x, y = np.asarray(x), np.asarray(y)
                assert x.dtype == y.dtype and np.array_equal(x, y)


def test_partition_hands_on_the_graph_by_source_only():
    """After the partition pass only the by-source side is held (the later passes read nothing else); the
    synapse count stays, and partitioning that record again rebuilds the by-post side it needs."""
    from neurocomp.passes.partition import Partition
    from neurocomp.target import load_target
    net = random_network(2, n_pops=3, n_inputs=1, conv=False, max_size=80)
    target = load_target("loihi2")
    part, _ = Partition("sequential").run(net, target)
    full = G.synapse_graph(net)
    assert not part.graph.by_post and full.by_post and part.graph.in_src is None
    assert part.graph.n_synapses == full.n_synapses > 0 and np.array_equal(part.graph.out_post, full.out_post)
    again, _ = Partition("sequential").run(part, target)
    for name, cores in part.core_of_neuron.items():
        assert np.array_equal(again.core_of_neuron[name], cores)
