"""Dendrite splitting, the record: a neuron whose fan-in does not fit one core becomes k *compartments* on k cores.

Why it is exact: a neuron's synaptic input of a step is an integer sum, and integer addition is
associative (mod 2^32, the width Lava accumulates in). So the synapses of a neuron can be cut into
*segments*; the core holding a segment adds up its share (the *partial sum*) and forwards it, raw
(before the projection's ``weight_exp`` shift or 24-bit wrap, which the soma applies to the whole
sum, as Lava does), to the *soma* core within the same step; the soma adds the partial sums into
its dendrite before the neuron update. Spikes and state are then bit-identical to the unsplit
network, with no step shift (``docs/fanin.md`` has the argument, tests/test_fanin.py the checks).
A target declaring ``partial_sums.latency_steps > 0`` is refused: a delayed partial sum would shift
the synaptic input but not the bias, which is not an exact transformation.

Only neurons that do not fit an empty core alone (distinct sources > input axons, synapses >
``max_fan_in``, or synapse memory) are split; every other neuron and every network with none is
mapped exactly as before.

The split is a *compartment graph*: the neuron graph's ``n`` neurons keep their ids (each is its
soma compartment; a split neuron's soma holds no synapse, only the partial-sum adder), its segments
are compartments ``n..n+M-1``,
and every segment compartment has one partial-sum edge (``FLAG_PSUM``) to its soma. The ordinary
partitioner then places compartments under every per-core limit (a segment takes a neuron slot on
its core; a partial-sum input takes an input axon where the target says so) and minimises spike
plus partial-sum messages, both of which are hyperedges of that graph.

How the segments are chosen (``method``, in ``neurocomp.passes.split``):

* ``hypergraph`` (default): per post population, the sources feeding its oversized neurons are
  partitioned into groups of at most ``cap`` sources (a core's input axons) by KaHyPar, with each
  oversized neuron's receptive field as a hyperedge (identical fields merged, weighted): the km1
  objective is then the number of extra segments, i.e. partial-sum messages. A neuron's segments are
  its synapses grouped by source group, so neurons with overlapping receptive fields get segments
  over the same sources, which pack onto one core with few input axons and few spike messages.
* ``contiguous``: the naive baseline: each oversized neuron's sorted source list is cut into
  ``ceil(sources / cap)`` equal contiguous chunks.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .graph import FLAG_PSUM, FLAG_SHARED, SynapseGraph, _bucket

@dataclass(frozen=True)
class SplitMapping:
    """A split network's compartments. ``graph``: the compartment graph (``n + M`` compartments, sources
    ``n + M + input channel``); ``seg_neuron[i]``: the neuron (global id) compartment ``n + i`` serves;
    ``entry_comp[e]``: the compartment of entry ``e`` of the neuron graph's in-CSR; ``comp_core``: the
    core of every compartment (set by the partition pass)."""
    graph: SynapseGraph = field(repr=False)
    seg_neuron: np.ndarray
    entry_comp: np.ndarray = field(repr=False)
    method: str
    info: dict
    comp_core: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_neurons(self) -> int:
        return int(self.graph.n_neurons - self.seg_neuron.size)

    def placed(self, comp_core: np.ndarray) -> "SplitMapping":
        return replace(self, comp_core=np.asarray(comp_core, np.int64))


# ----------------------------------------------------------------------------------------- who must split
def oversized(graph: SynapseGraph, limits) -> np.ndarray:
    """Bool per neuron: it does not fit an empty core alone (input axons, ``max_fan_in`` or memory): the
    per-core counts of the mapping that gives every neuron a core of its own."""
    from .limits import evaluate
    if graph.n_neurons == 0:
        return np.zeros(0, bool)
    # quick exit without a pass over the synapses: no neuron has more synapses than a core's axons, and
    # even as one-synapse axons they fit its memory (an axon of k synapses costs at most k one-synapse
    # axons; were that false for some encoding, the partitioner's own refusal still stands)
    deg = int(np.diff(graph.in_ptr).max())
    cap = limits.input_axons if limits.fan_in is None else min(limits.input_axons, limits.fan_in)
    kernel = int(limits.key_bits.max()) * int(np.diff(graph.key_ptr).max()) if limits.key_bits.size else 0
    if deg <= cap and deg * int(limits.lut[:, min(1, limits.lut.shape[1] - 1)].max()) + kernel <= limits.synapse_bits:
        return np.zeros(graph.n_neurons, bool)
    alone = evaluate(graph, np.arange(graph.n_neurons, dtype=np.int64), limits)
    big = (alone.input_axons > limits.input_axons) | (alone.synapse_bits > limits.synapse_bits)
    if limits.fan_in is not None:
        big |= alone.synapses > limits.fan_in
    return big


def compartment_graph(graph: SynapseGraph, seg_neuron: np.ndarray, entry_comp: np.ndarray) -> SynapseGraph:
    """The synapse graph over compartments: each in-entry moved to its compartment, sources renumbered
    (inputs after the M segment compartments), one ``FLAG_PSUM`` edge per segment to its soma."""
    n, m = graph.n_neurons, int(seg_neuron.size)
    src = np.asarray(graph.in_src, np.int64)
    src = np.where(src >= n, src + m, src)
    post = np.concatenate([entry_comp, seg_neuron]).astype(np.int64)
    src = np.concatenate([src, n + np.arange(m, dtype=np.int64)])
    # kernel keys are per neuron, not per compartment: a split dendrite's synapses are priced as stored
    flag = np.concatenate([graph.in_flag & np.uint8(~FLAG_SHARED & 0xFF), np.full(m, FLAG_PSUM, np.uint8)])
    in_ptr, in_src, in_flag = _bucket(post, n + m, src, flag)
    out_ptr, out_post, out_flag = _bucket(src, graph.n_sources + m, post, flag)
    # the ids in the graph's own dtype (``build_synapse_graph``: int32 below 2^31 sources), so the mapping
    # kernels see one signature, not a second one to compile for split graphs
    idt = np.promote_types(graph.in_src.dtype, np.int32 if graph.n_sources + m < 2 ** 31 - 1 else np.int64)
    in_src, out_post = in_src.astype(idt, copy=False), out_post.astype(idt, copy=False)
    return SynapseGraph(graph.pop_names, graph.pop_offset, graph.input_names, graph.input_offset, n + m,
                        graph.n_sources + m, in_ptr, in_src, in_flag, out_ptr, out_post, out_flag,
                        graph.proj_max_delay, pop_plane=graph.pop_plane)


def synapse_cores(network, graph: SynapseGraph, split: SplitMapping) -> np.ndarray:
    """Core of every synapse in the enumeration order of ``iter_projection_synapses`` (projection by
    projection, chunk by chunk), the order the tables place synapses in: the in-CSR was a stable bucket
    sort of that order by post neuron, so entry e of the CSR is synapse ``perm[e]``."""
    from ..semantics.synapses import iter_projection_synapses
    pops = network.neuron_populations
    pop_index = {p.name: i for i, p in enumerate(pops)}
    posts = []
    for proj in network.projections.values():
        src_pop, dst_pop = network.populations[proj.source], network.populations[proj.target]
        base = graph.pop_offset[pop_index[proj.target]]
        for part in iter_projection_synapses(proj, src_pop.size, dst_pop.size):
            posts.append(np.asarray(part[1], np.int64) + base)
    post = np.concatenate(posts) if posts else np.zeros(0, np.int64)
    perm = np.argsort(post, kind="stable")
    out = np.empty(post.size, np.int64)
    out[perm] = split.comp_core[split.entry_comp]
    return out


def projection_synapse_cores(network, tables) -> dict:
    """For each projection with synapses on a segment core (a split dendrite), the core of each of its
    stored synapses in the canonical order of ``raw_synapses`` (what the Lava lowering builds its
    per-segment processes from). A split keeps all synapses of one (source, neuron) pair on one core,
    so the core is looked up by that pair; a synapse the tables dropped (effective weight 0, it adds
    nothing) joins the projection's first segment core. Empty when nothing is split."""
    from ..semantics.synapses import raw_synapses
    if tables is None or not tables.n_psum:
        return {}
    n = max(tables.n_neurons, 1)
    syn_core = tables.synapse_core()
    soma = tables.neuron_core()
    post = np.asarray(tables.syn_post, np.int64)
    split_proj = np.unique(np.asarray(tables.syn_proj)[syn_core != soma[post]])
    src = tables.axon_source[np.repeat(np.arange(tables.n_axons), np.diff(tables.axon_syn_ptr))]
    projs = list(network.projections.values())
    out = {}
    for k in split_proj:
        proj = projs[int(k)]
        mine = np.nonzero(np.asarray(tables.syn_proj) == k)[0]
        key, first = np.unique(src[mine] * n + post[mine], return_index=True)
        core = syn_core[mine][first]
        sp, tp = network.populations[proj.source], network.populations[proj.target]
        pre, p_post, _, _ = raw_synapses(proj, sp.size, tp.size)
        if proj.source in tables.pop_gid:
            sid = tables.pop_gid[proj.source][np.asarray(pre, np.int64)]
        else:
            sid = tables.n_neurons + tables.input_ptr[tables.input_names.index(proj.source)] + np.asarray(pre, np.int64)
        rkey = sid * n + tables.pop_gid[proj.target][np.asarray(p_post, np.int64)]
        i = np.minimum(np.searchsorted(key, rkey), max(key.size - 1, 0))
        found = key.size > 0
        out[proj.name] = np.where(found & (key[i] == rkey), core[i], core.min() if core.size else 0).astype(np.int64)
    return out
