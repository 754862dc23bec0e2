"""Dendrite splitting, the segmentation: which synapses of an oversized neuron form each segment
(the record, the exactness argument and the methods are described in ``neurocomp.mapping.split``)."""
from __future__ import annotations

import numpy as np

from ..errors import CapacityError, UnsupportedError, ValidationError
from ..mapping.graph import SynapseGraph
from ..mapping.split import SplitMapping, compartment_graph

SPLIT_METHODS = ("hypergraph", "contiguous")


def split_hint(target) -> str:
    """The sentence naming the shipped targets that can split a dendrite (for a refusal)."""
    from ..target import list_targets
    can = [t.name for t in list_targets() if t.partial_sums.supported]
    why = target.partial_sums.source
    return (f"{target.name} cannot split a neuron's dendrite over cores (partial_sums.supported = false: {why}); "
            f"targets that can: {', '.join(can) if can else 'none shipped'}")


# ----------------------------------------------------------------------------------------- segmentation
def _segment_cap(limits) -> int:
    """Sources per segment: the core's input axons (and max_fan_in). A soma holds no synapse, only its
    k partial-sum inputs (on input axons where the target says so)."""
    return limits.input_axons if limits.fan_in is None else min(limits.input_axons, limits.fan_in)


def _contiguous_groups(srcs: np.ndarray, cap: int) -> np.ndarray:
    """Group of each of one neuron's sorted distinct sources: ceil(d / cap) equal contiguous chunks."""
    k = -(-srcs.size // cap)
    return (np.arange(srcs.size) * k) // max(srcs.size, 1)


def _hypergraph_groups(fields: list, cap: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Partition the union of ``fields`` (sorted source arrays) into groups of <= cap sources with
    KaHyPar km1 (identical fields merged into one weighted hyperedge). Returns (sources, group)."""
    from .partition import kahypar_partition      # partition imports this module
    uniq = np.unique(np.concatenate(fields))
    k = max(2, -(-uniq.size // max(1, int(cap * 0.9))))
    if uniq.size <= cap:
        return uniq, np.zeros(uniq.size, np.int64)
    merged: dict = {}
    for f in fields:
        key = f.tobytes()
        if key in merged:
            merged[key][1] += 1
        else:
            merged[key] = [f, 1]
    edges = [np.searchsorted(uniq, f) for f, _ in merged.values() if f.size > 1]
    weights = np.array([w for f, w in merged.values() if f.size > 1], np.int64)
    index = np.concatenate([[0], np.cumsum([e.size for e in edges])]).astype(np.int64)
    pins = np.concatenate(edges).astype(np.int64) if edges else np.zeros(0, np.int64)
    for _ in range(4):
        grp = kahypar_partition(uniq.size, index, pins, weights, np.ones(uniq.size, np.int64), k, cap, seed)
        if np.bincount(grp, minlength=k).max() <= cap:
            return uniq, grp
        k += 1
    raise CapacityError(f"dendrite split: could not group {uniq.size} sources into blocks of {cap}")


def split_neurons(graph: SynapseGraph, limits, big: np.ndarray, network, target, method: str = "hypergraph",
                  seed: int = 0) -> SplitMapping:
    """Cut the synapses of every neuron in ``big`` into segments that each fit a core (module docstring)."""
    if method not in SPLIT_METHODS:
        raise ValidationError(f"split '{method}' is not one of {', '.join(SPLIT_METHODS)}")
    ps = target.partial_sums
    if ps.latency_steps != 0:
        raise UnsupportedError(
            f"{target.name}: partial_sums.latency_steps = {ps.latency_steps}: a partial sum delivered a step late "
            "delays the synaptic input but not the bias, which is not an exact transformation of the network; "
            "only same-step partial sums (latency_steps = 0) are supported")
    n = graph.n_neurons
    post_of = np.repeat(np.arange(n, dtype=np.int64), np.diff(graph.in_ptr))
    pop_of = np.searchsorted(graph.pop_offset, np.arange(n), side="right") - 1
    big_ids = np.nonzero(big)[0]
    for proj in network.projections.values():
        if proj.learning is None:
            continue
        i = graph.pop_names.index(proj.target)
        if big[graph.pop_offset[i]:graph.pop_offset[i + 1]].any():
            raise UnsupportedError(f"projection '{proj.name}' learns, and neurons of '{proj.target}' need a split "
                                   f"dendrite on {target.name}: learning synapses must sit on their neuron's core; "
                                   "reduce the fan-in or use a target with larger cores")
    cap = _segment_cap(limits)
    # group id of each in-entry of a big neuron (segment = (neuron, group)); -1 elsewhere
    entry_group = np.full(graph.in_src.size, -1, np.int64)
    fields = {}
    for j in big_ids:
        lo, hi = graph.in_ptr[j], graph.in_ptr[j + 1]
        fields[int(j)] = np.unique(graph.in_src[lo:hi]).astype(np.int64)
    groups_used = 0
    if method == "contiguous":
        for j, f in fields.items():
            lo, hi = graph.in_ptr[j], graph.in_ptr[j + 1]
            entry_group[lo:hi] = _contiguous_groups(f, cap)[np.searchsorted(f, graph.in_src[lo:hi])]
    else:
        for p in np.unique(pop_of[big_ids]):
            mine = [j for j in fields if pop_of[j] == p]
            uniq, grp = _hypergraph_groups([fields[j] for j in mine], cap, seed)
            groups_used += int(grp.max()) + 1
            for j in mine:
                lo, hi = graph.in_ptr[j], graph.in_ptr[j + 1]
                entry_group[lo:hi] = grp[np.searchsorted(uniq, graph.in_src[lo:hi])]
    # segments: distinct (neuron, group), each its own compartment; the soma keeps no synapse (it only adds
    # the partial sums, so somas pack a core whatever their fields). Compartments are numbered by
    # (population, group, neuron): segments over the same sources are neighbours, which the sequential
    # baseline's fill and the coarsened hypergraph both exploit.
    sel = np.nonzero(entry_group >= 0)[0]
    n_groups = int(entry_group.max(initial=0)) + 1
    key = post_of[sel] * n_groups + entry_group[sel]
    seg_keys, seg_of_entry = np.unique(key, return_inverse=True)
    seg_post, seg_group = seg_keys // n_groups, seg_keys % n_groups
    extra = np.lexsort((seg_post, seg_group, pop_of[seg_post]))
    comp_of_seg = np.empty(seg_keys.size, np.int64)
    comp_of_seg[extra] = n + np.arange(extra.size)
    seg_neuron = seg_post[extra].astype(np.int64)
    entry_comp = post_of.copy()
    entry_comp[sel] = comp_of_seg[seg_of_entry]
    info = {"method": method, "neurons_split": int(big_ids.size), "segment_compartments": int(seg_neuron.size),
            "sources_per_segment_max": int(cap), "partial_sums_per_step": int(seg_neuron.size)}
    if method == "hypergraph":
        info["source_groups"] = groups_used
    cg = compartment_graph(graph, seg_neuron, entry_comp)
    return SplitMapping(cg, seg_neuron, entry_comp, method, info)


