"""partition: split the neurons into core-sized pieces under every per-core limit of the target.

Objective (DESIGN.md §4.3): fewest inter-core spike messages. A spike is multicast — it costs one
message per *distinct destination core* — so with each source's set of post neurons as a hyperedge,
the messages per step when every source fires once are ``sum_e lambda(e)`` (lambda = cores the
hyperedge touches), i.e. KaHyPar's connectivity objective ``km1 = sum_e (lambda(e) - 1)`` plus a
constant. Optional firing rates weight each hyperedge (traffic-aware partitioning).

Strategies (``partitioner=``):

* ``sequential`` — the baseline existing toolchains use: walk the neurons in network order and fill
  a core until the next neuron would break a limit. Also fixes ``k``: no other strategy may use more
  cores than this baseline.
* ``hypergraph`` (default) — KaHyPar (km1, direct k-way) with ``k`` = the baseline's core count and a
  per-block neuron cap, plus one METIS run on the neuron-level synapse graph (edge cut, a weaker proxy but
  ~20x cheaper per synapse and whole-graph: first where hyperedges are small, last where they are large,
  ``schedule_of``); the best valid mapping wins. ``metis`` — METIS alone.

Partitioners balance sizes but know nothing of axon or memory limits, so every result is CHECKED
against every limit and REPAIRED (an over-full core is refilled greedily into several; a core with
too many output routes is halved) until it is valid; if the repaired hypergraph mapping would need
more cores than the baseline, or sends more messages, the baseline mapping is kept (the report says
which was chosen and both costs). An invalid mapping is never returned: what cannot fit raises a
``CapacityError`` naming the binding limit, the worst neuron and the fix.

Per-core quantities (the same definitions ``neurocomp.mapping.tables`` lays out and ``neurocomp.mapping.validate``
recounts): an *input axon* is one (source, destination core) pair; its synapse-memory cost is the
target's ``SynapseEncoding.axon_bits(n_synapses, has_delay, learning)``; a core's *output axons* are
the sum over its neurons of their distinct destination cores.

Large networks: above ``MAX_VERTICES`` neurons the hypergraph is coarsened — each population is cut
into contiguous blocks of ``B`` neurons, one vertex each (neighbouring neurons of a layer usually
share inputs and targets, so little is lost) — and identical hyperedges are merged; above
``MAX_PINS`` pins a seeded uniform sample of hyperedges (weights scaled by 1/p, an unbiased estimate of
the objective) is partitioned. The limits are always checked on the full neuron-level graph.
METIS runs on the neurons (no coarsening, no sampling) up to ``METIS_NEURON_SYNAPSES`` synapses, on the
same vertex blocks above (its graph built in one numba pass, ``metis_graph``: 1M neurons / 100M synapses
in ~0.4 s and ~360k adjacency entries for a layered net, where METIS on the neurons took ~72 s; the report
says ``metis_on``). Above ``MAX_K`` baseline cores only METIS runs; above
``MAX_K_METIS`` (e.g. 1M neurons on loihi2: 5,000-28,000 cores) nothing runs and the sequential mapping
is kept; the pass report says so (``kept_baseline_because``) and warns.

Compile-time budget (issue 19: KaHyPar once took 490 s where the baseline took 1 s) — deterministic:
the stage schedule is decided from work estimates computed from the graph, never from the clock, so
the same network, options and seed give the same mapping on any machine at any load. A KaHyPar run on
a sample of ``pins`` pins into ``k`` blocks is estimated at ``PIN_S x pins x log2(k)`` CPU seconds,
a METIS run at ``METIS_S x synapses x log2(k)`` on the neurons or ``METIS_EDGE_S x adjacency entries x log2(k)``
on the vertex blocks (whose graph, built before the run, is charged as the pass to the baseline), the pass up
to the baseline at ``SYNAPSE_S x (synapses + neurons)``;
the constants were calibrated once on the development machine (benchmarks/RESULTS.md, "Partition
budget"). The search may spend ``BUDGET_RATIO`` x the baseline's estimate (at least ``MIN_BUDGET_S``;
option ``budget_s``) of estimated time: METIS once and KaHyPar on hyperedge samples of ``MAX_PINS / 2**(STAGES-1)``
... ``MAX_PINS`` pins in turn, and a run (stage or retry with fewer blocks) starts only if its estimate
fits in what is left; the best valid mapping so far is kept. As a safety net each run is a forked child
killed after ``SAFETY`` x its estimate + ``SAFETY_MIN_S`` CPU seconds (and when an explicit ``budget_s``
is spent; ``neurocomp.mapping.bounded``): only if that fires does the mapping depend on the machine,
and it is reported (``budget_stopped``) and warned about.

The synapse graph is built from the projections in chunks (``tables.iter_projection_synapses``) and
every count (``core_stats``, greedy fill) is a numba pass over the flat CSR with int32 ids and its per-core /
per-source counters in one cache line (benchmarks/RESULTS.md, "Compile time and peak at 1M"); a repair round
that changed cores receiving at most ``RECOUNT_FRACTION`` of the synapses recounts only those cores and their
sources' fan-outs (``limits.recount``, equal to a full count).
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field

import numba
import numpy as np

from ..errors import CapacityError, ValidationError
from ..ir import Network
from ..mapping.bounded import run_within
from ..mapping.graph import FLAG_LEARN, FLAG_PSUM, SynapseGraph, synapse_graph  # noqa: F401  (re-exported)
from ..mapping.split import oversized
from ..mapping.stages import Partitioned
from ..mapping.limits import (LIMIT_NAMES, CoreUsage, Limits, core_limits, core_stats,  # noqa: F401
                              encoding_lut, evaluate, recount)
from .base import Pass, PassReport, register_pass

#: Hypergraph vertices above which neurons are grouped into blocks (see module docstring).
MAX_VERTICES = 40_000
#: Pins (vertex memberships of hyperedges) above which hyperedges are sampled. KaHyPar's run time
#: grows with pins and hyperedge size: 100k pins of 100-pin edges take ~5-10 s on one core.
MAX_PINS = 100_000
#: Above this many cores the direct k-way hypergraph run is too slow; the baseline is kept (reported).
MAX_K = 1024
#: Budget of the hypergraph/METIS search, in estimated CPU seconds: this many times the estimate of the
#: pass up to the sequential baseline, at least MIN_BUDGET_S (issue 19: the default compile stays within 10x
#: the sequential one). Estimates, not measured time, so the schedule (and the mapping) is repeatable.
BUDGET_RATIO = 12.0
MIN_BUDGET_S = 0.25
#: Estimated CPU seconds of the pass up to the baseline per synapse + neuron (calibrated once, see above).
SYNAPSE_S = 2.0e-7
#: Estimated CPU seconds of one KaHyPar run per pin x log2(k) (calibrated once, see above).
PIN_S = 5.0e-6
#: Estimated CPU seconds of one METIS run (graph build included) per synapse x log2(k): measured 1.2-1.8e-7
#: on the modular nets of 4k-200k neurons (k = 16-1118), see benchmarks/RESULTS.md "Mapping quality within
#: the time bound". METIS is ~20x cheaper than KaHyPar per synapse and, on the edge-cut proxy, within
#: ~10 % of KaHyPar's messages on the modular nets (worse on the CNN: both run when the budget allows).
METIS_S = 2.0e-7
#: Above this many cores not even METIS runs (the baseline is kept, reported): measured up to 2,237 cores (400k
#: neurons, 9.4M synapses on loihi2: 0.247x the messages, 2.6x the sequential compile's CPU, under 4.5 GB).
MAX_K_METIS = 2500
#: Above this many synapses METIS runs on the vertex blocks (``vertex_blocks``, as KaHyPar does), not on every
#: neuron: its graph is then built in one numba pass (``metis_graph``) and is ~B x smaller. Below, METIS on the
#: neurons, measured better on the modular nets (blocks of contiguous neurons can mix modules) up to 9.4M
#: synapses; above, METIS on 1M neurons / 100M synapses took ~72 s (issue 19's goal: the whole compile <= 30 s).
METIS_NEURON_SYNAPSES = 16_000_000
#: Estimated CPU seconds of one METIS run on the vertex blocks per entry of its adjacency (both directions of
#: each vertex pair) x log2(k); the build of that graph is estimated as the pass to the baseline (SYNAPSE_S per
#: synapse + neuron). Measured 2.0-3.0e-7 (layered 1M, 25-neuron blocks, k = 1024-2070; 2e-8 at k = 154) and
#: 0.7-2.3e-7 (random 300k, 8-neuron blocks, 58M entries, k = 500-2000) at load 5; see benchmarks/RESULTS.md
#: "1M / 100M compile under 30 s".
METIS_EDGE_S = 5.0e-7
#: METIS runs before KaHyPar where the merged hyperedges average at most this many pins (modular nets: 23-43,
#: METIS 0.25-0.29x the baseline's messages within budget against KaHyPar's 0.46-0.66x on a sample), after it
#: otherwise (the NIR CNN: 98, few large hyperedges, KaHyPar 0.23x against METIS 0.47-0.59x). Measured, see
#: benchmarks/RESULTS.md "Mapping quality within the time bound".
METIS_FIRST_HYPEREDGE = 64
#: Safety net: a run is killed after SAFETY x its estimate + SAFETY_MIN_S CPU seconds (a machine much slower
#: than the calibration one, or a pathological graph); the result then depends on the machine and is reported.
SAFETY = 4.0
SAFETY_MIN_S = 1.0
#: Hypergraph stages: hyperedge samples of MAX_PINS / 2**(STAGES-1) ... MAX_PINS pins, each run if time is left.
STAGES = 4
#: Partitioner runs with decreasing k when the repaired mapping needs more cores than the baseline.
ATTEMPTS = 3
#: A repair round's usage is recounted only where it changed (``limits.recount``: the changed cores from the
#: in-CSR, the fan-out of their sources) when those cores receive at most this fraction of the synapses,
#: else counted whole (``evaluate``); equal either way. The 1M-neuron random net's baseline needs 3 rounds
#: after the first count, changing 3,154 (~13 % of the synapses), 51 and 2 of 24,391-27,598 cores: 0.74 s
#: for the three recounts against 1.2 s for each full count (benchmarks/compile_kernels.py).
RECOUNT_FRACTION = 0.25
PARTITIONERS = ("hypergraph", "metis", "sequential")


# ----------------------------------------------------------------------------------------- greedy fill
@numba.njit(cache=True)
def _greedy_fill(order, group_start, in_ptr, in_src, in_flag, lut, n_sources, max_n, max_in, max_bits,
                 first_core, core_out, psum_axons, shared_mask, key_ptr, key_id, key_bits):
    """Fill cores with the neurons of ``order`` in turn; open a new core when the next neuron would break
    the neuron, input-axon or synapse-memory limit, or where ``group_start`` is set. Synapse memory is
    ``core_stats``' (synapses flagged in ``shared_mask`` are not stored; each kernel key of the core's
    neurons costs ``key_bits`` once: cores are filled one after another, so a key's last core suffices).

    Returns (last core id used, -1, 0, 0) or, if one neuron alone does not fit an empty core,
    (-1, neuron, limit code 1=input axons 2=synapse bits, amount needed).
    """
    # per source, one int32 row (cache line) of: [0] core whose axon table holds it + 1, [1] its stored synapses
    # there, [2] their flags, [3] neuron whose distinct sources are being gathered + 1, [4] its stored synapses
    # from it, [5] their flags (a random net touches a random source per synapse: one row, one miss)
    st = np.zeros((n_sources, 8), np.int32)
    maxdeg = 1
    for i in range(order.size):
        d = in_ptr[order[i] + 1] - in_ptr[order[i]]
        if d > maxdeg:
            maxdeg = d
    tl = np.empty(maxdeg, np.int64)
    kmark = np.full(key_bits.size, -1, np.int64)   # last core holding kernel key k
    has_keys = key_ptr.size > 0 and key_bits.size > 0
    cur = first_core - 1
    n_cur = max_n  # forces a new core for the first neuron
    ax_cur = 0
    bits_cur = 0
    for idx in range(order.size):
        j = order[idx]
        nd = 0
        for e in range(in_ptr[j], in_ptr[j + 1]):
            s = in_src[e]
            if st[s, 3] != j + 1:
                st[s, 3] = j + 1
                st[s, 4] = 0
                st[s, 5] = 0
                tl[nd] = s
                nd += 1
            if (in_flag[e] & shared_mask) == 0:
                st[s, 4] += 1
            st[s, 5] |= in_flag[e]
        if group_start[idx]:
            cur += 1
            n_cur = 0
            ax_cur = 0
            bits_cur = 0
        new_ax = 0
        dbits = 0
        for attempt in range(2):
            new_ax = 0
            dbits = 0
            for i in range(nd):
                s = tl[i]
                on = 0
                of = 0
                here = st[s, 0] == cur + 1
                if here:
                    on = st[s, 1]
                    of = st[s, 2]
                nf = of | st[s, 5]
                dbits += lut[nf, on + st[s, 4]] - lut[of, on]
                if not here and (psum_axons or (st[s, 5] & 4) == 0):   # 4: FLAG_PSUM
                    new_ax += 1
            if has_keys:
                for q in range(key_ptr[j], key_ptr[j + 1]):
                    if kmark[key_id[q]] != cur:
                        dbits += key_bits[key_id[q]]
            if n_cur + 1 <= max_n and ax_cur + new_ax <= max_in and bits_cur + dbits <= max_bits:
                break
            if n_cur == 0:
                if new_ax > max_in:
                    return -1, j, 1, new_ax
                return -1, j, 2, dbits
            cur += 1
            n_cur = 0
            ax_cur = 0
            bits_cur = 0
        for i in range(nd):
            s = tl[i]
            if st[s, 0] != cur + 1:
                st[s, 0] = cur + 1
                st[s, 1] = 0
                st[s, 2] = 0
            st[s, 1] += st[s, 4]
            st[s, 2] |= st[s, 5]
        if has_keys:
            for q in range(key_ptr[j], key_ptr[j + 1]):
                kmark[key_id[q]] = cur
        n_cur += 1
        ax_cur += new_ax
        bits_cur += dbits
        core_out[j] = cur
    return cur, -1, 0, 0


def _neuron_name(graph: SynapseGraph, gid: int) -> str:
    if gid >= int(graph.pop_offset[-1]):     # a split neuron's segment compartment (mapping/split.py)
        return f"segment compartment {gid - int(graph.pop_offset[-1])} of a split neuron"
    p = int(np.searchsorted(graph.pop_offset, gid, side="right") - 1)
    return f"{graph.pop_names[p]}[{gid - int(graph.pop_offset[p])}]"


def _fill(graph: SynapseGraph, limits: Limits, order: np.ndarray, group_start: np.ndarray, core: np.ndarray,
          first_core: int) -> int:
    """Run the greedy filler; raise a CapacityError naming the neuron that cannot fit an empty core."""
    last, bad, code, need = _greedy_fill(order.astype(np.int64), group_start, graph.in_ptr, graph.in_src,
                                         graph.in_flag, limits.lut, graph.n_sources, limits.neurons,
                                         limits.input_axons, limits.synapse_bits, first_core, core,
                                         limits.psum_axons, limits.shared_mask, graph.key_ptr, graph.key_id,
                                         limits.key_bits)
    if last < 0:
        name = _neuron_name(graph, int(bad))
        if code == 1:
            raise CapacityError(
                f"neuron {name} alone needs {need} input axons > {limits.input_axons} "
                f"(core.max_input_axons) on {limits.target_name}: it receives from {need} distinct sources; "
                "reduce its fan-in or split the projection(s) into it")
        raise CapacityError(
            f"neuron {name} alone needs {need} bits of synapse memory > {limits.synapse_bits} "
            f"(core.synapse_memory_bits) on {limits.target_name}: reduce its fan-in, drop delays/learning on "
            "the projections into it, or split the projection(s)")
    return int(last)


def compact(core: np.ndarray) -> np.ndarray:
    """Renumber cores 0..k-1 in order of their first (lowest global id) neuron: a canonical form,
    so that equal mappings have equal arrays whatever the partitioner's block numbering."""
    if core.size == 0:
        return core.astype(np.int64)
    uniq, first, inv = np.unique(core, return_index=True, return_inverse=True)
    rank = np.empty(uniq.size, np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(uniq.size)
    return rank[inv]


def check_intrinsic(graph: SynapseGraph, limits: Limits) -> None:
    """Limits no mapping can fix: per-neuron fan-in, delays, a neuron's unavoidable fan-out."""
    if limits.fan_in is not None and graph.n_neurons:
        fan_in = np.diff(graph.in_ptr)
        psum = (np.asarray(graph.in_flag) & FLAG_PSUM) != 0          # a split neuron's partial-sum inputs
        if psum.any():                                                # are not crossbar synapses
            fan_in = fan_in - np.bincount(np.repeat(np.arange(graph.n_neurons), fan_in)[psum],
                                          minlength=graph.n_neurons)
        worst = int(np.argmax(fan_in))
        if fan_in[worst] > limits.fan_in:
            raise CapacityError(
                f"neuron {_neuron_name(graph, worst)} has {int(fan_in[worst])} input synapses > {limits.fan_in} "
                f"(core.max_fan_in) on {limits.target_name}; reduce its fan-in or split the projection(s) into it")
    for name, d in graph.proj_max_delay.items():
        if d > limits.max_delay:
            raise CapacityError(
                f"projection '{name}' has a delay of {d} steps > {limits.max_delay} (core.max_delay) on "
                f"{limits.target_name}; shorten the delays, or chain relay neurons to add delay")


def repair(graph: SynapseGraph, core: np.ndarray, limits: Limits, max_rounds: int = 500) -> tuple[np.ndarray, int]:
    """Make ``core`` valid: refill cores over the neuron/axon/memory limits, halve cores over the
    output-axon limit, until none is over any limit. Returns (compact core array, rounds)."""
    core, rounds, _ = repair_usage(graph, core, limits, max_rounds)
    return core, rounds


def repair_usage(graph: SynapseGraph, core: np.ndarray, limits: Limits, max_rounds: int = 500,
                 order: np.ndarray | None = None) -> tuple[np.ndarray, int, CoreUsage]:
    """``repair``, also returning the valid mapping's ``CoreUsage`` (saves a recount at scale). A core is
    refilled or halved in ``order`` (the fill order that made it; default: neuron id), so a halved core of a
    convolution filled by position keeps each position's channels together."""
    core = compact(np.asarray(core, np.int64))
    rank_of = None
    if order is not None:
        rank_of = np.empty(graph.n_neurons, np.int64)
        rank_of[np.asarray(order, np.int64)] = np.arange(graph.n_neurons, dtype=np.int64)
    use = None
    for rounds in range(max_rounds):
        use = evaluate(graph, core, limits) if use is None else use
        bad = use.violations(limits)
        bad_in = bad["neurons"] | bad["input_axons"] | bad["synapse_bits"]
        bad_out = bad["output_axons"] & ~bad_in
        if not bad_in.any() and not bad_out.any():
            _check_fanout(graph, use, limits)
            return core, rounds, use
        new = core.copy()
        next_id = use.n_cores
        if bad_in.any():
            members = np.nonzero(bad_in[core])[0]
            members = members[np.lexsort((members if rank_of is None else rank_of[members], core[members]))]
            starts = np.ones(members.size, np.bool_)
            starts[1:] = core[members[1:]] != core[members[:-1]]
            next_id = _fill(graph, limits, members, starts, new, next_id) + 1
        if bad_out.any():
            members = np.nonzero(bad_out[core])[0]
            c = core[members]
            by = np.lexsort((members if rank_of is None else rank_of[members], c))
            members, c = members[by], c[by]
            first = np.searchsorted(c, c, side="left")
            rank = np.arange(members.size) - first
            size = use.neurons[c]
            singles = members[size == 1]
            if singles.size:
                worst = int(singles[np.argmax(use.fanout[singles])])
                raise CapacityError(
                    f"neuron {_neuron_name(graph, worst)} alone needs {int(use.fanout[worst])} output axons "
                    f"(destination cores) > {limits.output_axons} (core.max_output_axons) on {limits.target_name}; "
                    "reduce its fan-out or raise max_neurons_per_core so its targets share fewer cores")
            upper = rank >= size // 2
            cores_out = np.unique(c)
            new_id = np.full(use.n_cores, -1, np.int64)
            new_id[cores_out] = next_id + np.arange(cores_out.size)
            new[members[upper]] = new_id[c[upper]]
        new = compact(new)
        changed = bad_in | bad_out
        if use.synapses[changed].sum() <= RECOUNT_FRACTION * graph.n_synapses:
            use = recount(graph, core, use, new, changed, limits)
        else:
            use = None
        core = new
    raise CapacityError(f"could not repair the mapping within {max_rounds} rounds on {limits.target_name}; "
                        "the network is close to the per-core limits: lower max_neurons_per_core")


def rebalance(core: np.ndarray, k: int, cap: int) -> np.ndarray:
    """Move the highest-id neurons of cores over ``cap`` neurons into cores with room (in core order).

    Partitioners balance within a tolerance (METIS: 3 %), which can overshoot a hard neuron limit;
    moving the overflow keeps the core count at ``k`` where a split would add cores.
    """
    core = np.asarray(core, np.int64).copy()
    counts = np.bincount(core, minlength=k)
    if counts.max(initial=0) <= cap or counts.sum() > cap * max(k, counts.size):
        return core
    order = np.lexsort((np.arange(core.size), core))
    c = core[order]
    rank = np.arange(c.size) - np.searchsorted(c, c, side="left")
    movers = order[rank >= cap]
    room = np.maximum(cap - counts, 0)
    dest = np.repeat(np.arange(counts.size), room)[:movers.size]
    core[movers[:dest.size]] = dest
    return core


def _check_fanout(graph: SynapseGraph, use: CoreUsage, limits: Limits) -> None:
    if limits.fan_out is None or graph.n_neurons == 0:
        return
    fo = use.fanout[:graph.n_neurons]
    worst = int(np.argmax(fo))
    if fo[worst] > limits.fan_out:
        raise CapacityError(
            f"neuron {_neuron_name(graph, worst)} sends to {int(fo[worst])} cores > {limits.fan_out} "
            f"(core.max_fan_out) on {limits.target_name}; reduce its fan-out so its targets fit "
            f"{limits.fan_out} core(s), or add relay neurons")


def sequential(graph: SynapseGraph, limits: Limits) -> tuple[np.ndarray, int]:
    """The baseline: fill cores in network order, then repair the output-axon limit."""
    core, rounds, _ = sequential_usage(graph, limits)
    return core, rounds


def sequential_usage(graph: SynapseGraph, limits: Limits, order: np.ndarray | None = None
                     ) -> tuple[np.ndarray, int, CoreUsage]:
    """``sequential``, also returning its ``CoreUsage``; ``order``: the fill order (default: network order)."""
    core = np.zeros(graph.n_neurons, np.int64)
    if graph.n_neurons:
        starts = np.zeros(graph.n_neurons, np.bool_)
        starts[0] = True
        _fill(graph, limits, np.arange(graph.n_neurons, dtype=np.int64) if order is None else order, starts, core, 0)
    return repair_usage(graph, core, limits, order=order)


def field_order(graph: SynapseGraph) -> np.ndarray:
    """Vertices by (population, first source, id): neurons whose receptive fields start at the same source
    become neighbours; a convolution's output population by (position, channel), so the output channels
    at one position (one input window) fill one core. The fill order of a split network's baseline
    (``neurocomp.mapping.split``); segment compartments count as one more population."""
    n = graph.n_neurons
    pop = np.searchsorted(graph.pop_offset, np.arange(n), side="right") - 1
    pop = np.where(np.arange(n) >= graph.pop_offset[-1], len(graph.pop_names), pop)
    deg = np.diff(graph.in_ptr)
    first = np.full(n, -1, np.int64)
    has = deg > 0
    first[has] = np.minimum.reduceat(np.asarray(graph.in_src, np.int64), graph.in_ptr[:-1][has]) if has.any() else 0
    # a convolution's output (``pop_plane``) goes by (position, channel) outright: its channels' first sources
    # differ wherever their kernels' first weights are zero, which would scatter one position over cores
    ids = np.arange(n, dtype=np.int64)
    plane = np.append(np.asarray(graph.pop_plane, np.int64), 0)[np.minimum(pop, graph.pop_plane.size)] \
        if graph.pop_plane.size else np.zeros(n, np.int64)
    conv = plane > 0
    local = ids - graph.pop_offset[pop]
    first = np.where(conv, local % np.maximum(plane, 1), first)
    minor = np.where(conv, local // np.maximum(plane, 1), ids)
    return np.lexsort((minor, first, pop)).astype(np.int64)


# ----------------------------------------------------------------------------------------- hypergraph
def vertex_blocks(graph: SynapseGraph, max_vertices: int = MAX_VERTICES) -> tuple[np.ndarray, np.ndarray, int]:
    """Coarsening: contiguous blocks of ``B`` neurons of one population form one vertex.

    Returns (vertex of each neuron, weight (neurons) of each vertex, B). ``B = 1`` when the network has
    at most ``max_vertices`` neurons.
    """
    n = graph.n_neurons
    b = max(1, -(-n // max_vertices))
    offset = graph.pop_offset
    if n > offset[-1]:       # a split network's segment compartments follow the neurons: one more group
        offset = np.append(offset, n)
    local = np.concatenate([np.arange(offset[i + 1] - offset[i]) // b
                            for i in range(offset.size - 1)]) if n else np.zeros(0, np.int64)
    pop = np.repeat(np.arange(offset.size - 1), np.diff(offset))
    blocks_per_pop = -(-np.diff(offset) // b)
    base = np.concatenate([[0], np.cumsum(blocks_per_pop)])
    vertex = (base[pop] + local).astype(np.int64)
    weight = np.bincount(vertex, minlength=int(base[-1])).astype(np.int64)
    return vertex, weight, b


@numba.njit(cache=True)
def _hyperedges(out_ptr, out_post, vertex, n_vertices):
    """Distinct target vertices of each source (sorted), plus two independent 64-bit hashes per edge."""
    n_src = out_ptr.size - 1
    mark = np.full(n_vertices, -1, np.int64)
    ptr = np.zeros(n_src + 1, np.int64)
    for s in range(n_src):
        k = 0
        for e in range(out_ptr[s], out_ptr[s + 1]):
            v = vertex[out_post[e]]
            if mark[v] != s:
                mark[v] = s
                k += 1
        ptr[s + 1] = ptr[s] + k
    pins = np.empty(ptr[-1], np.int64)
    mark[:] = -1
    h1 = np.zeros(n_src, np.uint64)
    h2 = np.zeros(n_src, np.uint64)
    for s in range(n_src):
        k = ptr[s]
        for e in range(out_ptr[s], out_ptr[s + 1]):
            v = vertex[out_post[e]]
            if mark[v] != s:
                mark[v] = s
                pins[k] = v
                k += 1
        pins[ptr[s]:ptr[s + 1]] = np.sort(pins[ptr[s]:ptr[s + 1]])
        a = np.uint64(1469598103934665603)
        b = np.uint64(7)
        for i in range(ptr[s], ptr[s + 1]):
            x = np.uint64(pins[i] + 1)
            a = (a ^ x) * np.uint64(1099511628211)
            b = b * np.uint64(6364136223846793005) + x * np.uint64(1442695040888963407)
        h1[s] = a
        h2[s] = b
    return ptr, pins, h1, h2


def build_hypergraph(graph: SynapseGraph, vertex: np.ndarray, n_vertices: int, weight: np.ndarray, seed: int,
                     max_pins: int = MAX_PINS):
    """Hyperedges (one per source, its distinct target vertices) with integer weights.

    Hyperedges of one pin cannot be cut and are dropped; identical hyperedges are merged (weights
    summed); above ``max_pins`` pins a seeded uniform sample is kept with weights scaled by 1/p.
    Returns (index_vector, pins, edge_weights, info dict).
    """
    ptr, pins, h1, h2 = _hyperedges(graph.out_ptr, graph.out_post, vertex, n_vertices)
    size = np.diff(ptr)
    keep = (size > 1) & (weight > 0)
    ids = np.nonzero(keep)[0]
    info = {"sources": int(size.size), "hyperedges_raw": int(ids.size)}
    if ids.size == 0:
        return np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), {**info, "hyperedges": 0,
                                                                                      "pins": 0, "sampled": 1.0}
    order = np.lexsort((ids, h2[ids], h1[ids], size[ids]))
    ids = ids[order]
    key_s, key_1, key_2 = size[ids], h1[ids], h2[ids]
    new = np.ones(ids.size, np.bool_)
    new[1:] = (key_s[1:] != key_s[:-1]) | (key_1[1:] != key_1[:-1]) | (key_2[1:] != key_2[:-1])
    group = np.cumsum(new) - 1
    reps = ids[new]
    w = np.bincount(group, weights=weight[ids]).astype(np.int64)
    sampled = 1.0
    total = int(size[reps].sum())
    info.update(pins_merged=total, hyperedges_merged=int(reps.size))
    if total > max_pins:
        sampled = max_pins / total
        rng = np.random.default_rng(seed)
        pick = rng.random(reps.size) < sampled
        reps, w = reps[pick], np.maximum(1, np.round(w[pick] / sampled)).astype(np.int64)
    reps_order = np.argsort(reps, kind="stable")  # sources in network order: deterministic input
    reps, w = reps[reps_order], w[reps_order]
    lens = size[reps]
    index = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    starts = ptr[reps]
    flat = np.repeat(starts - index[:-1], lens) + np.arange(int(index[-1]))
    info.update(hyperedges=int(reps.size), pins=int(index[-1]), sampled=float(sampled))
    return index, pins[flat], w, info


#: KaHyPar configuration: the km1 direct k-way preset (kKaHyPar, sea20 family) made lighter for
#: compile-time use: no flow-based refinement, no Louvain community detection, one initial
#: partitioning run (recursive bisection) and k-way FM refinement on the km1 objective with a
#: short stopping rule (20 moves without gain). Issue 19: against a pool of 5 initial runs and 100
#: moves this halves KaHyPar's time for the same messages within ~2 % (modular net, 12k pins).
#: kahypar's python package ships no configuration; this is written to a temp file for each call.
KAHYPAR_KM1_INI = """\
mode=direct
objective=km1
seed=-1
cmaxnet=1000
vcycles=0
p-use-sparsifier=true
p-sparsifier-min-median-he-size=28
p-sparsifier-max-hyperedge-size=1200
p-sparsifier-max-cluster-size=10
p-sparsifier-min-cluster-size=2
p-sparsifier-num-hash-func=5
p-sparsifier-combined-num-hash-func=100
p-detect-communities=false
p-detect-communities-in-ip=false
p-reuse-communities=false
p-max-louvain-pass-iterations=100
p-min-eps-improvement=0.0001
p-louvain-edge-weight=hybrid
c-type=ml_style
c-s=1
c-t=160
c-rating-score=heavy_edge
c-rating-use-communities=false
c-rating-heavy_node_penalty=no_penalty
c-rating-acceptance-criterion=best_prefer_unmatched
c-fixed-vertex-acceptance-criterion=fixed_vertex_allowed
i-mode=recursive
i-technique=multi
i-c-type=ml_style
i-c-s=1
i-c-t=150
i-c-rating-score=heavy_edge
i-c-rating-use-communities=false
i-c-rating-heavy_node_penalty=no_penalty
i-c-rating-acceptance-criterion=best_prefer_unmatched
i-c-fixed-vertex-acceptance-criterion=fixed_vertex_allowed
i-algo=pool
i-runs=1
i-bp-algorithm=worst_fit
i-bp-heuristic-prepacking=false
i-bp-early-restart=true
i-bp-late-restart=true
i-r-type=twoway_fm
i-r-runs=-1
i-r-fm-stop=simple
i-r-fm-stop-i=20
r-type=kway_fm_km1
r-runs=-1
r-fm-stop=adaptive_opt
r-fm-stop-alpha=1
r-fm-stop-i=20
"""


def kahypar_partition(n_vertices: int, index: np.ndarray, pins: np.ndarray, edge_w: np.ndarray,
                      node_w: np.ndarray, k: int, cap: int, seed: int) -> np.ndarray:
    """KaHyPar km1 partition into ``k`` blocks of at most ``cap`` node weight each (deterministic for a seed)."""
    import kahypar
    n_edges = int(index.size - 1)
    hg = kahypar.Hypergraph(int(n_vertices), n_edges, index.tolist(), pins.tolist(), int(k),
                            edge_w.tolist(), node_w.tolist())
    ctx = kahypar.Context()
    fd, path = tempfile.mkstemp(prefix="neurocomp-kahypar-", suffix=".ini")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(KAHYPAR_KM1_INI)
        ctx.loadINIconfiguration(path)
    finally:
        os.unlink(path)
    ctx.setK(int(k))
    ctx.setEpsilon(0.03)
    ctx.setCustomTargetBlockWeights([int(cap)] * int(k))
    ctx.setSeed(int(seed))
    ctx.suppressOutput(True)
    kahypar.partition(hg, ctx)
    return np.fromiter((hg.blockID(v) for v in range(n_vertices)), np.int64, n_vertices)


def metis_graph_np(graph: SynapseGraph, vertex: np.ndarray, n_vertices: int, weight: np.ndarray):
    """The METIS input (xadj, adjncy, edge weights; int64) by numpy sorts over all synapses: the spec of
    ``metis_graph``. The vertex-level synapse graph, symmetrised (an edge per pair of vertices joined by a
    synapse of a neuron source either way, no self loops), weight = the summed source weights (at least 1)."""
    n = graph.n_neurons
    src = np.repeat(np.arange(n, dtype=np.int64), np.diff(graph.out_ptr[:n + 1]))
    post = graph.out_post[:graph.out_ptr[n]].astype(np.int64)
    a, b, w = vertex[src], vertex[post], weight[src]
    keep = a != b
    a, b, w = np.concatenate([a[keep], b[keep]]), np.concatenate([b[keep], a[keep]]), np.concatenate([w[keep], w[keep]])
    key, inv = np.unique(a * n_vertices + b, return_inverse=True)
    ew = np.maximum(1, np.bincount(inv, weights=w)).astype(np.int64)
    ra, rb = key // n_vertices, key % n_vertices
    xadj = np.searchsorted(ra, np.arange(n_vertices + 1)).astype(np.int64)
    return xadj, rb.astype(np.int64), ew


@numba.njit(cache=True, inline="always")
def _merge_edges(v, nbr, w, a, b, mark, acc, adj, k):
    """Add the edges ``nbr[a:b]`` (weights ``w``) to vertex v's list ``adj[..k]``: a neighbour first seen is
    appended, its weight summed in ``acc``; returns the new end of the list."""
    for j in range(a, b):
        u = nbr[j]
        if mark[u] != v:
            mark[u] = v
            acc[u] = 0
            adj[k] = u
            k += 1
        acc[u] += w[j]
    return k


@numba.njit(cache=True)
def _metis_graph(out_ptr, out_post, vertex, order, vstart, weight, n_vertices):
    """``metis_graph_np`` in two passes over the synapses and none over a sort of them: the directed
    vertex edges (per vertex, its neuron sources' distinct target vertices and summed weights), their
    transpose, then per vertex the merge of both, sorted. ``order``: the neuron sources by vertex,
    ``vstart``: each vertex's first position in it."""
    mark = np.full(n_vertices, -1, np.int64)
    acc = np.zeros(n_vertices, np.int64)
    dptr = np.zeros(n_vertices + 1, np.int64)
    for v in range(n_vertices):
        k = 0
        for i in range(vstart[v], vstart[v + 1]):
            s = order[i]
            for e in range(out_ptr[s], out_ptr[s + 1]):
                u = vertex[out_post[e]]
                if u != v and mark[u] != v:
                    mark[u] = v
                    k += 1
        dptr[v + 1] = dptr[v] + k
    du = np.empty(dptr[-1], np.int64)
    dw = np.empty(dptr[-1], np.int64)
    mark[:] = -1
    tcount = np.zeros(n_vertices + 1, np.int64)
    for v in range(n_vertices):
        k = dptr[v]
        for i in range(vstart[v], vstart[v + 1]):
            s = order[i]
            for e in range(out_ptr[s], out_ptr[s + 1]):
                u = vertex[out_post[e]]
                if u == v:
                    continue
                if mark[u] != v:
                    mark[u] = v
                    acc[u] = 0
                    du[k] = u
                    k += 1
                acc[u] += weight[s]
        for j in range(dptr[v], dptr[v + 1]):
            dw[j] = acc[du[j]]
            tcount[du[j] + 1] += 1
    for v in range(n_vertices):
        tcount[v + 1] += tcount[v]
    tu = np.empty(dptr[-1], np.int64)
    tw = np.empty(dptr[-1], np.int64)
    cur = tcount[:-1].copy()
    for v in range(n_vertices):
        for j in range(dptr[v], dptr[v + 1]):
            u = du[j]
            tu[cur[u]] = v
            tw[cur[u]] = dw[j]
            cur[u] += 1
    xadj = np.zeros(n_vertices + 1, np.int64)
    adj = np.empty(2 * dptr[-1], np.int64)
    ew = np.empty(2 * dptr[-1], np.int64)
    mark[:] = -1
    k = 0
    for v in range(n_vertices):
        k0 = k
        k = _merge_edges(v, du, dw, dptr[v], dptr[v + 1], mark, acc, adj, k)      # v's own edges
        k = _merge_edges(v, tu, tw, tcount[v], tcount[v + 1], mark, acc, adj, k)  # and those into v
        adj[k0:k] = np.sort(adj[k0:k])
        for j in range(k0, k):
            ew[j] = max(1, acc[adj[j]])
        xadj[v + 1] = k
    return xadj, adj[:k].copy(), ew[:k].copy()


def metis_graph(graph: SynapseGraph, vertex: np.ndarray, n_vertices: int, weight: np.ndarray):
    """The METIS input of ``metis_partition`` (equal to ``metis_graph_np``, its spec), by a numba pass."""
    n = graph.n_neurons
    vx = np.ascontiguousarray(vertex[:n], np.int64)
    order = np.argsort(vx, kind="stable").astype(np.int64)
    vstart = np.searchsorted(vx[order], np.arange(n_vertices + 1)).astype(np.int64)
    return _metis_graph(graph.out_ptr, graph.out_post, np.ascontiguousarray(vertex, np.int64), order, vstart,
                        np.ascontiguousarray(weight, np.int64), int(n_vertices))


def metis_partition(graph: SynapseGraph, vertex: np.ndarray, n_vertices: int, node_w: np.ndarray, k: int,
                    seed: int, weight: np.ndarray, csr=None) -> np.ndarray:
    """METIS k-way on the (vertex-level, symmetrised) synapse graph; edge weight = source rate weight.
    ``csr``: its ``metis_graph`` if the caller built it already."""
    import pymetis
    xadj, adjncy, ew = metis_graph(graph, vertex, n_vertices, weight) if csr is None else csr
    _, parts = pymetis.part_graph(int(k), pymetis.CSRAdjacency(xadj, adjncy), vweights=node_w, eweights=ew,
                                  options=pymetis.Options(seed=int(seed), ufactor=30))
    return np.asarray(parts, np.int64)


# ----------------------------------------------------------------------------------------- driver
def source_weights(graph: SynapseGraph, rates: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """(float rate per source, integer hyperedge weight per source). No rates: every source fires once.

    ``rates[name]`` (population or graph input) is spikes per step: a scalar or one per neuron;
    missing names default to 1.
    """
    rate = np.ones(graph.n_sources, np.float64)
    if rates:
        known = set(graph.pop_names) | set(graph.input_names)
        for name, value in rates.items():
            if name not in known:
                raise ValidationError(f"rates: '{name}' is not a population or input of the network "
                                      f"(known: {', '.join(sorted(known))})")
            if name in graph.pop_names:
                i = graph.pop_names.index(name)
                lo, hi = graph.pop_offset[i], graph.pop_offset[i + 1]
            else:
                i = graph.input_names.index(name)
                lo, hi = graph.n_neurons + graph.input_offset[i], graph.n_neurons + graph.input_offset[i + 1]
            v = np.asarray(value, np.float64).reshape(-1)
            if v.size not in (1, hi - lo) or not np.all(np.isfinite(v)) or (v.size and v.min() < 0):
                raise ValidationError(f"rates['{name}']: give a finite rate >= 0 (spikes per step), a scalar or "
                                      f"{hi - lo} values")
            rate[lo:hi] = v
    if not rates:
        return rate, np.ones(rate.size, np.int64)
    top = rate.max() if rate.size else 0.0
    if top <= 0:
        return rate, np.zeros(rate.size, np.int64)
    w = np.where(rate > 0, np.maximum(1, np.round(rate / top * 1000)), 0).astype(np.int64)
    return rate, w


@dataclass
class PartitionResult:
    core: np.ndarray          # logical core of each neuron (global id order)
    usage: CoreUsage
    baseline_core: np.ndarray
    baseline_usage: CoreUsage
    chosen: str
    info: dict


def _budget(graph: SynapseGraph, budget_s: float | None) -> float:
    """Estimated CPU seconds the search may spend: ``budget_s``, or BUDGET_RATIO x the estimate of the pass
    up to the baseline (SYNAPSE_S per synapse + neuron), at least MIN_BUDGET_S. From the graph only."""
    if budget_s is not None:
        return float(budget_s)
    return max(MIN_BUDGET_S, BUDGET_RATIO * SYNAPSE_S * (graph.n_synapses + graph.n_neurons))


def run_estimate(graph: SynapseGraph, hyper, k: int, csr=None) -> float:
    """Estimated CPU seconds of one partitioner run into ``k`` blocks: KaHyPar PIN_S x pins x log2(k), METIS
    (``hyper`` None) METIS_S x synapses x log2(k) on the neurons, METIS_EDGE_S x adjacency entries x log2(k)
    on the vertex blocks (``csr``: their ``metis_graph``). Decides the schedule, so it must depend on the
    graph only."""
    if hyper is None and csr is not None:
        return METIS_EDGE_S * int(csr[1].size) * np.log2(max(k, 2))
    if hyper is None:
        return METIS_S * graph.n_synapses * np.log2(max(k, 2))
    return PIN_S * int(hyper[1].size) * np.log2(max(k, 2))


def schedule_of(partitioner: str, k: int, max_pins: int, mean_hyperedge: float = 0.0) -> list:
    """The runs the search may make, in order (each only if its estimate fits what is left of the budget):
    None = METIS on the synapse graph, an int = KaHyPar on a hyperedge sample of at most that many pins.
    ``hypergraph``: KaHyPar on growing samples and one METIS run; METIS first where the (merged) hyperedges
    average at most METIS_FIRST_HYPEREDGE pins (there the edge cut is a fair proxy of the messages and METIS
    sees the whole graph for the price of a small KaHyPar sample), last otherwise. Above MAX_K: METIS only."""
    if partitioner == "metis" or k > MAX_K:
        return [None]
    stages = [max(1, max_pins >> s) for s in range(STAGES - 1, -1, -1)]
    return [None] + stages if mean_hyperedge <= METIS_FIRST_HYPEREDGE else stages + [None]


def _partition_once(graph, vertex, n_vertices, node_w, hyper, ew, k, cap, seed, cpu_s, csr=None):
    """One KaHyPar (``hyper`` given) or METIS run into ``k`` blocks within ``cpu_s`` CPU seconds:
    (blocks or None if stopped, CPU seconds used). ``csr``: METIS's graph if already built."""
    if hyper is None:
        return run_within(lambda: metis_partition(graph, vertex, n_vertices, node_w, k, seed, ew, csr), cpu_s)
    index, pins, w, _ = hyper
    if pins.size == 0:
        return np.arange(n_vertices) * k // max(n_vertices, 1), 0.0
    return run_within(lambda: kahypar_partition(n_vertices, index, pins, w, node_w, k, cap, seed), cpu_s)


def partition_graph(graph: SynapseGraph, limits: Limits, partitioner: str = "hypergraph", seed: int = 0,
                    rates: dict | None = None, order: np.ndarray | None = None, budget_s: float | None = None,
                    max_pins: int = MAX_PINS) -> PartitionResult:
    """Partition ``graph`` under ``limits`` (see the module docstring); ``order``: the baseline's fill order;
    ``budget_s``: CPU seconds the hypergraph/METIS search may take, in estimates for the schedule and
    measured for the kill (default: ``_budget``, from the graph alone, so the result is repeatable)."""
    if partitioner not in PARTITIONERS:
        raise ValidationError(f"partitioner '{partitioner}' is not one of {', '.join(PARTITIONERS)}")
    check_intrinsic(graph, limits)
    rate, ew = source_weights(graph, rates)
    base, rounds, base_use = sequential_usage(graph, limits, order)
    info = {"baseline_repair_rounds": rounds, "k": base_use.n_cores}
    if order is None and limits.key_bits.any():
        # shared kernels: a core pays for each kernel slice once, and the neurons of one position (all output
        # channels) share their input window, so filling by receptive field usually needs far fewer cores
        # (PilotNet SDNN on loihi2: 41 instead of 670); keep whichever baseline is smaller
        alt, alt_rounds, alt_use = sequential_usage(graph, limits, field_order(graph))
        if (alt_use.n_cores, alt_use.messages) < (base_use.n_cores, base_use.messages):
            base, base_use = alt, alt_use
            info = {"baseline_repair_rounds": alt_rounds, "k": alt_use.n_cores}
        info["baseline_order"] = "receptive field" if base is alt else "network"
    if partitioner == "sequential" or base_use.n_cores <= 1:
        return PartitionResult(base, base_use, base, base_use, "sequential", info)
    k = base_use.n_cores
    if k > MAX_K_METIS:
        info["kept_baseline_because"] = (f"k = {k} cores > MAX_K_METIS = {MAX_K_METIS}: a direct k-way "
                                         f"{partitioner} run would exceed the compile-time budget")
        return PartitionResult(base, base_use, base, base_use, "sequential", info)
    vertex, node_w, block = vertex_blocks(graph)
    n_vertices = int(node_w.size)
    info.update(vertices=n_vertices, block=block)
    budget = _budget(graph, budget_s)
    bounded_by_user = budget_s is not None and np.isfinite(budget_s)
    search_start, children_cpu = time.process_time(), 0.0
    first = None                                   # the first KaHyPar stage's sample; its totals order the runs
    if partitioner == "hypergraph" and k <= MAX_K:
        first = build_hypergraph(graph, vertex, n_vertices, ew, seed, max(1, max_pins >> (STAGES - 1)))
    mean = first[3].get("pins_merged", 0) / max(first[3].get("hyperedges_merged", 1), 1) if first else 0.0
    schedule = schedule_of(partitioner, k, max_pins, mean)
    csr, neuron_csr, spent = None, None, 0.0
    if None in schedule and graph.n_synapses > METIS_NEURON_SYNAPSES:
        # METIS on the vertex blocks: its graph is built here (deterministic, ~ the pass to the baseline) so
        # that the run's estimate can count its edges
        csr = metis_graph(graph, vertex, n_vertices, ew)
        spent = SYNAPSE_S * (graph.n_synapses + graph.n_neurons)
        info["metis_on"] = f"vertex blocks of {block} neurons ({n_vertices} vertices, {int(csr[1].size)} adjacency entries)"
    # Anytime search over estimates: one METIS run (first or last, schedule_of) and KaHyPar stages on ever larger
    # hyperedge samples (each about twice the work of the one before); a run starts only if its estimate fits in
    # the budget left (a KaHyPar stage that does not fit ends the KaHyPar stages, not METIS), so which runs
    # happen depends on the graph, never on the clock. Each run is a child killed at SAFETY x its estimate
    # (and at the rest of an explicit budget_s): only that kill makes the result machine-dependent.
    # The partitioner balances neurons only; a block that breaks an axon or memory limit is split by
    # the repair, which can add cores. Then retry with fewer blocks (at most ATTEMPTS runs per stage)
    # and keep the best result over all stages that fits in the baseline's core count.
    best, attempts, last_pins, stopped, kahypar_done = None, [], -1, None, False
    first_cap = max(1, max_pins >> (STAGES - 1))
    for pins_cap in schedule:
        hyper = None
        if pins_cap is not None:
            if kahypar_done:
                continue
            hyper = first if pins_cap == first_cap else build_hypergraph(graph, vertex, n_vertices, ew, seed, pins_cap)
            if hyper[3]["pins"] == last_pins:      # the whole hypergraph already fitted a smaller stage
                kahypar_done = True
                continue
            last_pins = hyper[3]["pins"]
        # METIS runs on the neurons themselves (no coarsening: contiguous blocks can mix modules) up to
        # METIS_NEURON_SYNAPSES, on the vertex blocks above (``csr``); KaHyPar on the vertex blocks
        vx, nv, nw = (vertex, n_vertices, node_w) if hyper is not None or csr is not None else (
            np.arange(graph.n_neurons, dtype=np.int64), graph.n_neurons, np.ones(graph.n_neurons, np.int64))
        kk, done, fitted = k, False, False
        for _ in range(ATTEMPTS):
            cap = int(min(limits.neurons, max(int(nw.max()), np.ceil(graph.n_neurons / kk * 1.03))))
            cap = max(cap, -(-graph.n_neurons // kk))
            est = run_estimate(graph, hyper, kk, csr)
            if spent + est > budget:
                done = True                        # deterministic: the estimated budget is spent
                break
            spent += est
            kill = SAFETY * est + SAFETY_MIN_S if budget < float("inf") else float("inf")   # inf: never killed
            if bounded_by_user:
                kill = min(kill, budget_s - (time.process_time() - search_start) - children_cpu)
            if hyper is None and csr is None and neuron_csr is None:
                # METIS's graph is built here, not in the child: a numba kernel compiled there (a cold cache)
                # would count against the run's kill and make the result depend on the cache
                neuron_csr = metis_graph(graph, vx, nv, ew)
            raw, used = _partition_once(graph, vx, nv, nw, hyper, ew, kk, cap, seed, kill,
                                        csr if csr is not None else neuron_csr)
            children_cpu += used
            if raw is None:
                stopped = "a run exceeded the CPU-time budget and was stopped"
                break
            core, rounds, use = repair_usage(graph, rebalance(raw[vx], kk, limits.neurons), limits)
            attempts.append({"run": "metis" if hyper is None else "kahypar", "k": kk, "cap": cap,
                             "cores": use.n_cores, "messages": use.messages,
                             "repair_rounds": rounds, "pins": None if hyper is None else hyper[3]["pins"],
                             "estimate_s": round(est, 4)})
            if hyper is not None:
                info.update(hyper[3])
            if use.n_cores <= k and (best is None or use.weighted_messages(rate) < best[1].weighted_messages(rate)):
                best = (core, use)
                info["best_run"] = len(attempts) - 1          # index into attempts of the mapping kept
            if use.n_cores <= k:
                fitted = True
                break
            nk = kk - (use.n_cores - k)
            if nk < 2 or nk * limits.neurons < graph.n_neurons or nk == kk:
                break
            kk = nk
        if stopped:
            break
        # KaHyPar stages only grow, so one that does not fit the budget ends them; so does one whose every retry
        # needed more cores than the baseline (a larger sample of the same hyperedges balances neurons the same
        # way and breaks the same memory/axon limits: NIR CNN on loihi2, 6 runs, all 26 cores > 18): METIS may
        # still fit what is left
        kahypar_done = kahypar_done or (hyper is not None and (done or not fitted))
    info["search_estimate_s"] = {"budget": round(budget, 4), "spent": round(spent, 4)}
    if stopped:      # only then does the result depend on the machine's speed: say so, with the budget
        info["budget_stopped"] = f"{stopped} (budget {budget:.3g} CPU s; option budget_s)"
    if not attempts:
        info["kept_baseline_because"] = (f"no {partitioner} run fitted or finished within the time budget of "
                                         f"{budget:.3g} estimated CPU s ({BUDGET_RATIO:g}x the estimate of the pass to "
                                         f"the baseline, at least {MIN_BUDGET_S:g} s; option budget_s)")
        return PartitionResult(base, base_use, base, base_use, "sequential", info)
    info["attempts"] = attempts
    last = attempts[-1]
    info.update(raw_cores=last["cores"], raw_messages=last["messages"])
    if best is None:
        info["kept_baseline_because"] = (f"{partitioner} needed {last['cores']} cores > baseline {k} "
                                         f"after {len(attempts)} attempt(s)")
        return PartitionResult(base, base_use, base, base_use, "sequential", info)
    core, use = best
    info["raw_weighted_messages"] = use.weighted_messages(rate)
    if use.weighted_messages(rate) > base_use.weighted_messages(rate):
        info["kept_baseline_because"] = (f"{partitioner} sent {use.weighted_messages(rate):g} messages/step > "
                                         f"baseline {base_use.weighted_messages(rate):g}")
        return PartitionResult(base, base_use, base, base_use, "sequential", info)
    return PartitionResult(core, use, base, base_use, partitioner, info)


def learning_usage(graph: SynapseGraph, core: np.ndarray, network: Network) -> dict | None:
    """Where the learning synapses sit: the cores that run learning and their learning synapses.

    A learning synapse is stored (and updated every learning epoch) on its post neuron's core; its
    memory is already priced with the learning bits (``axon_bits(..., learning=True)``) in
    ``synapse_bits``. None when nothing learns.
    """
    names = [p.name for p in network.projections.values() if p.learning is not None]
    if not names:
        return None
    post = np.repeat(np.arange(graph.n_neurons, dtype=np.int64), np.diff(graph.in_ptr))
    learn = (np.asarray(graph.in_flag) & FLAG_LEARN) != 0
    n_cores = int(core.max()) + 1 if core.size else 0
    per_core = np.bincount(np.asarray(core, np.int64)[post[learn]], minlength=n_cores)
    cores = np.nonzero(per_core)[0]
    return {"projections": names, "cores": [int(c) for c in cores],
            "synapses_per_core": {str(int(c)): int(per_core[c]) for c in cores},
            "synapses": int(learn.sum())}


def split_summary(split, use: CoreUsage) -> dict:
    """The split's numbers for the pass report: segments, and the all-fire messages per step cut into
    spike messages (neurons and inputs) and partial-sum messages (segments off their soma's core)."""
    n, m = split.n_neurons, int(split.seg_neuron.size)
    seg_core, soma_core = split.comp_core[n:n + m], split.comp_core[split.seg_neuron]
    off = seg_core != soma_core          # one route per (segment core, neuron): segments sharing a core merge
    psum = int(np.unique(seg_core[off] * max(n, 1) + split.seg_neuron[off]).size)
    return {**split.info, "partial_sums_per_step": psum, "spike_messages_per_step_all_fire": use.messages - m}


def _network_of(obj) -> Network:
    if isinstance(obj, Network):
        return obj
    net = getattr(obj, "network", None)
    if isinstance(net, Network):
        return net
    raise ValidationError(f"partition: expected an integer Network (the quantize pass's output) or a mapping stage, "
                          f"got {type(obj).__name__}")


@register_pass
@dataclass(frozen=True)
class Partition(Pass):
    """Assign every neuron to a logical core (see the module docstring). Options: ``partitioner`` in
    hypergraph/metis/sequential, ``max_neurons_per_core`` (lower than the target's), ``seed``,
    ``rates`` ({population or input: spikes per step}) to weight the traffic, ``split`` (hypergraph /
    contiguous): how the dendrite of a neuron that fits no core alone is cut into segments on a target
    with partial sums (``neurocomp.mapping.split``; networks where every neuron fits are not split),
    ``budget_s``: CPU seconds the hypergraph/METIS search may take (default: BUDGET_RATIO x the estimated
    time to the baseline, from the graph, so repeatable; ``float("inf")``: every stage, no kill)."""
    partitioner: str = "hypergraph"
    max_neurons_per_core: int | None = None
    seed: int = 0
    rates: dict | None = None
    split: str = "hypergraph"
    budget_s: float | None = None
    name = "partition"

    def run(self, obj, target):
        from .split import split_hint, split_neurons
        net = _network_of(obj)
        graph = obj.graph if isinstance(obj, Partitioned) and obj.graph.by_post else synapse_graph(net)
        limits = core_limits(target, graph, self.max_neurons_per_core)
        split, pgraph = None, graph
        big = oversized(graph, limits)
        if big.any():
            if not target.partial_sums.supported:
                try:
                    check_intrinsic(graph, limits)
                    sequential(graph, limits)
                except CapacityError as exc:
                    raise CapacityError(f"{exc}; {split_hint(target)}") from None
            split = split_neurons(graph, limits, big, net, target, self.split, self.seed)
            pgraph = split.graph
            limits = core_limits(target, pgraph, self.max_neurons_per_core)
        res = partition_graph(pgraph, limits, self.partitioner, self.seed, self.rates,
                              order=None if split is None else field_order(pgraph), budget_s=self.budget_s)
        rate, _ = source_weights(pgraph, self.rates)
        if split is not None:
            split = split.placed(res.core)
        dt = getattr(obj, "dt", None) if not isinstance(obj, Network) else net.metadata.get("dt")
        cn = Partitioned(network=net, target=target, dt=dt,
                         core_of_neuron={k: v.copy() for k, v in graph.split(res.core).items()},
                         graph=graph.by_source_only(), usage=res.usage, limits=limits, rates=self.rates,
                         source_rate=rate, split=split)
        u, b = res.usage, res.baseline_usage
        summary = {
            "partitioner": self.partitioner, "chosen": res.chosen, "seed": self.seed,
            "neurons": graph.n_neurons, "synapses": graph.n_synapses, "cores_used": u.n_cores,
            "messages_per_step_all_fire": u.messages,
            "baseline": {"cores_used": b.n_cores, "messages_per_step_all_fire": b.messages},
            "limits": limits.as_dict(), "neuron_limit_from": limits.neurons_source, **res.info,
        }
        learn = learning_usage(graph, res.core[:graph.n_neurons], net)
        if learn is not None:
            summary["learning"] = learn
        if split is not None:
            summary["split"] = split_summary(split, res.usage)
        if self.rates:
            summary["messages_per_step_rates"] = u.weighted_messages(rate)
            summary["baseline"]["messages_per_step_rates"] = b.weighted_messages(rate)
        warnings = []
        if "kept_baseline_because" in res.info:
            warnings.append(f"partition: kept the sequential mapping because {res.info['kept_baseline_because']}")
        elif "budget_stopped" in res.info:
            warnings.append(f"partition: the {self.partitioner} search stopped early: {res.info['budget_stopped']}; "
                            "the best mapping found in time is used")
        return cn, PassReport(self.name, summary=summary, warnings=warnings)
