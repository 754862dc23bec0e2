"""Per-core limits of a target and the per-core usage of a mapping (the quantities every mapping pass
budgets, ``mapping.json`` reports and ``neurocomp.mapping.validate`` recounts independently).

An *input axon* is one (source, destination core) pair; its synapse-memory cost is the target's
``SynapseEncoding.axon_bits(n_synapses, has_delay, learning)``; a core's *output axons* are the sum
over its neurons of their distinct destination cores (one routing-table entry each). On a target that
shares convolution kernels (``SynapseEncoding.shared_conv_weights``) a shared-kernel synapse
(``FLAG_SHARED``) is not stored per synapse: its axon costs a header word, and the core stores each
kernel slice its neurons use once (``kernel_bits``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from ..errors import ValidationError
from .graph import FLAG_DELAY, FLAG_LEARN, FLAG_PSUM, FLAG_SHARED, SynapseGraph


@numba.njit(cache=True)
def core_stats(out_ptr, out_post, out_flag, core, n_cores, n_neurons, lut, psum_axons, shared_mask):
    """Per-core input axons, output axons, synapse bits, synapses; per-source distinct destination cores.

    An axon is one (source, destination core) pair (a spike is multicast: one message per distinct
    destination core, received on one axon there). Its memory cost is ``lut[flags, n_stored]``,
    the target's encoding cost, with ``n_stored`` its synapses without a flag of ``shared_mask``
    (``FLAG_SHARED`` where the target shares kernels, else 0). Output axons of a core = sum over its
    neurons of their destination cores (one routing-table entry each). A partial-sum edge (``FLAG_PSUM``, split neurons only) takes
    an input axon only where ``psum_axons`` (the target's ``partial_sums.uses_input_axons``).
    """
    n_src = out_ptr.size - 1
    in_axons = np.zeros(n_cores, np.int64)
    out_axons = np.zeros(n_cores, np.int64)
    bits = np.zeros(n_cores, np.int64)
    syn = np.zeros(n_cores, np.int64)
    fanout = np.zeros(n_src, np.int64)
    # per core, one row of (last source seen + 1, stored synapses, synapses, flags): the four counters of a
    # destination share a cache line (int32: 16 bytes a core), which at 1M neurons halves the pass's time
    st = np.zeros((n_cores, 4), np.int32)
    lst = np.empty(n_cores, np.int32)
    for s in range(n_src):
        nd = 0
        for e in range(out_ptr[s], out_ptr[s + 1]):
            c = core[out_post[e]]
            f = out_flag[e]
            if st[c, 0] != s + 1:
                st[c, 0] = s + 1
                st[c, 1] = 0
                st[c, 2] = 0
                st[c, 3] = 0
                lst[nd] = c
                nd += 1
            st[c, 2] += 1
            if (f & shared_mask) == 0:
                st[c, 1] += 1
            st[c, 3] |= f
        for i in range(nd):
            c = lst[i]
            fl = st[c, 3]
            if psum_axons or (fl & FLAG_PSUM) == 0:
                in_axons[c] += 1
            syn[c] += st[c, 2]
            bits[c] += lut[fl, st[c, 1]]
        fanout[s] = nd
        if s < n_neurons:
            out_axons[core[s]] += nd
    return in_axons, out_axons, bits, syn, fanout


@numba.njit(cache=True)
def _recount(in_ptr, in_src, in_flag, out_ptr, out_post, core, members, group_ptr, n_cores, n_neurons, lut,
             psum_axons, shared_mask, in_axons, bits, syn, fanout):
    """``core_stats`` of the cores listed in ``members`` (their neurons, grouped by core at ``group_ptr``)
    from the in-CSR, written into ``in_axons``/``bits``/``syn``; then the fan-out of every source with a
    synapse on one of them (from the out-CSR, updated in ``fanout``) and all cores' output axons (returned).
    The other cores' counts and the other sources' fan-outs must be the caller's, unchanged."""
    n_src = out_ptr.size - 1
    st = np.zeros((n_src, 4), np.int32)      # per source: core being counted + 1, stored synapses, synapses, flags
    lst = np.empty(n_src, np.int32)
    hit = np.zeros(n_src, np.bool_)
    for gi in range(group_ptr.size - 1):
        x = core[members[group_ptr[gi]]]
        nd = 0
        for i in range(group_ptr[gi], group_ptr[gi + 1]):
            j = members[i]
            for e in range(in_ptr[j], in_ptr[j + 1]):
                s = in_src[e]
                f = in_flag[e]
                if st[s, 0] != x + 1:
                    st[s, 0] = x + 1
                    st[s, 1] = 0
                    st[s, 2] = 0
                    st[s, 3] = 0
                    lst[nd] = s
                    nd += 1
                st[s, 2] += 1
                if (f & shared_mask) == 0:
                    st[s, 1] += 1
                st[s, 3] |= f
        ia = 0
        b = 0
        sy = 0
        for q in range(nd):
            s = lst[q]
            fl = st[s, 3]
            if psum_axons or (fl & FLAG_PSUM) == 0:
                ia += 1
            sy += st[s, 2]
            b += lut[fl, st[s, 1]]
            hit[s] = True
        in_axons[x] = ia
        bits[x] = b
        syn[x] = sy
    mark = np.full(n_cores, -1, np.int64)
    for s in range(n_src):
        if hit[s]:
            nd = 0
            for e in range(out_ptr[s], out_ptr[s + 1]):
                c = core[out_post[e]]
                if mark[c] != s:
                    mark[c] = s
                    nd += 1
            fanout[s] = nd
    out_axons = np.zeros(n_cores, np.int64)
    for s in range(n_neurons):
        out_axons[core[s]] += fanout[s]
    return out_axons


def core_ids(core: np.ndarray) -> np.ndarray:
    """``core`` as the int32 array the per-synapse kernels gather from (``core[out_post[e]]`` at random: at 1M
    neurons int32 halves the array the gather misses the cache on). Core ids are < 2**31 (one per neuron)."""
    return np.ascontiguousarray(core, dtype=np.int32)


# ----------------------------------------------------------------------------------------- limits
LIMIT_NAMES = ("neurons", "input_axons", "output_axons", "synapse_bits")


@dataclass
class Limits:
    """The per-core limits the partitioner budgets, plus the encoding cost table.

    ``lut[flags, n]`` = memory bits of one input axon holding ``n`` synapses whose flags
    (bit 0 delay, bit 1 learning) are ``flags``: ``SynapseEncoding.axon_bits`` tabulated so that the
    numba kernels can price axons without calling back into Python. Rows with ``FLAG_PSUM`` price a
    split neuron's partial-sum input: one weight-1 synapse where ``psum_axons`` (it arrives on an
    input axon), else nothing. Rows with ``FLAG_SHARED`` add the shared-kernel axon header where the
    target shares kernels (``shared_mask``); ``key_bits[k]``: memory of kernel key k once on a core
    (all 0 on other targets, whose rows then price those synapses as stored).
    """
    target_name: str
    neurons: int
    input_axons: int
    output_axons: int
    synapse_bits: int
    fan_in: int | None
    fan_out: int | None
    max_delay: int
    lut: np.ndarray = field(repr=False)
    neurons_source: str = "core.max_neurons"
    psum_axons: bool = False
    shared_mask: int = 0
    key_bits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    def as_dict(self) -> dict:
        return {"neurons": self.neurons, "input_axons": self.input_axons, "output_axons": self.output_axons,
                "synapse_bits": self.synapse_bits}


def encoding_lut(encoding, max_n: int, psum_axons: bool = False) -> np.ndarray:
    n = np.arange(max_n + 1, dtype=np.int64)
    lut = np.zeros((2 * FLAG_SHARED, max_n + 1), np.int64)
    for flags in range(4):
        lut[flags] = np.asarray(encoding.axon_bits(n, bool(flags & FLAG_DELAY), bool(flags & FLAG_LEARN)), np.int64)
    if psum_axons:
        lut[FLAG_PSUM:FLAG_SHARED] = lut[:4]
    lut[:, 0] = 0
    lut[FLAG_SHARED:] = lut[:FLAG_SHARED]
    if encoding.shared_conv_weights:
        lut[FLAG_SHARED:] += encoding.shared_axon_bits
    return lut


def kernel_key_bits(encoding, graph: SynapseGraph) -> np.ndarray:
    """Memory of each kernel key of ``graph`` once on a core (int64; zeros unless the target shares kernels)."""
    if not encoding.shared_conv_weights:
        return np.zeros(graph.key_entries.size, np.int64)
    return encoding.kernel_bits(graph.key_entries, graph.key_delay).astype(np.int64)


def kernel_usage(graph: SynapseGraph, core: np.ndarray, key_bits: np.ndarray, n_cores: int) -> np.ndarray:
    """Per core, the bits of the distinct kernel keys its neurons use (each stored once per core)."""
    if not graph.key_id.size or not key_bits.any():
        return np.zeros(n_cores, np.int64)
    owner = np.repeat(np.arange(graph.key_ptr.size - 1, dtype=np.int64), np.diff(graph.key_ptr))
    key = np.asarray(graph.key_id, np.int64)
    pair = np.unique(np.asarray(core, np.int64)[owner] * key_bits.size + key)
    return np.bincount(pair // key_bits.size, weights=key_bits[pair % key_bits.size],
                       minlength=n_cores).astype(np.int64)


def core_limits(target, graph: SynapseGraph, max_neurons_per_core: int | None = None) -> Limits:
    core = target.core
    neurons, src = int(core.max_neurons), "core.max_neurons"
    if max_neurons_per_core is not None:
        if int(max_neurons_per_core) < 1:
            raise ValidationError(f"max_neurons_per_core = {max_neurons_per_core} must be >= 1 (or None for "
                                  f"the target's {neurons})")
        if int(max_neurons_per_core) < neurons:
            neurons, src = int(max_neurons_per_core), "max_neurons_per_core option"
    deg = np.diff(graph.out_ptr)
    max_n = int(deg.max()) if deg.size else 0
    opt = lambda v: None if v is None or int(v) <= 0 else int(v)
    psum_axons = bool(target.partial_sums.supported and target.partial_sums.uses_input_axons)
    enc = core.synapse_encoding
    return Limits(target.name, neurons, int(core.max_input_axons), int(core.max_output_axons),
                  int(core.synapse_memory_bits), opt(core.max_fan_in), opt(core.max_fan_out), int(core.max_delay),
                  encoding_lut(enc, max_n, psum_axons), src, psum_axons,
                  FLAG_SHARED if enc.shared_conv_weights else 0, kernel_key_bits(enc, graph))


# ----------------------------------------------------------------------------------------- usage
@dataclass
class CoreUsage:
    """Per-core counts of one mapping (arrays indexed by core id) and per-source fan-out."""
    neurons: np.ndarray
    input_axons: np.ndarray
    output_axons: np.ndarray
    synapse_bits: np.ndarray
    synapses: np.ndarray
    fanout: np.ndarray

    @property
    def n_cores(self) -> int:
        return int(self.neurons.size)

    @property
    def messages(self) -> int:
        """Messages per step when every source (neurons and input channels) spikes once."""
        return int(self.fanout.sum())

    def weighted_messages(self, weight: np.ndarray) -> float:
        return float(np.dot(self.fanout, weight))

    def violations(self, limits: Limits) -> dict:
        """Boolean mask of over-full cores per limit name."""
        return {name: getattr(self, name) > getattr(limits, name) for name in LIMIT_NAMES}


def recount(graph: SynapseGraph, old_core: np.ndarray, old: CoreUsage, core: np.ndarray, changed: np.ndarray,
            limits: Limits) -> CoreUsage:
    """``evaluate(graph, core, limits)`` (equal arrays) from the usage ``old`` of ``old_core``, where ``core``
    differs from it only on the neurons of the old cores flagged in ``changed`` (no neuron of another core
    moved; those cores may be renumbered): only the cores made of the changed neurons are counted again, and
    the fan-out of the sources with a synapse on them."""
    n_cores = int(core.max()) + 1 if core.size else 0
    core = np.ascontiguousarray(core, dtype=np.int64)
    moved = changed[np.asarray(old_core, np.int64)]
    idmap = np.full(old.n_cores, -1, np.int64)
    idmap[np.asarray(old_core, np.int64)] = core          # consistent on the unchanged cores
    keep = np.nonzero(~changed)[0]
    keep = keep[idmap[keep] >= 0]
    in_ax, bits, syn = (np.zeros(n_cores, np.int64) for _ in range(3))
    kb = kernel_usage(graph, np.asarray(old_core, np.int64)[:graph.n_neurons], limits.key_bits, old.n_cores)
    in_ax[idmap[keep]] = old.input_axons[keep]
    bits[idmap[keep]] = (old.synapse_bits - kb)[keep]
    syn[idmap[keep]] = old.synapses[keep]
    members = np.nonzero(moved)[0]
    members = members[np.argsort(core[members], kind="stable")]
    group_ptr = np.flatnonzero(np.diff(core[members], prepend=-1, append=-2) != 0).astype(np.int64)
    fanout = old.fanout.copy()
    out_ax = _recount(graph.in_ptr, graph.in_src, graph.in_flag, graph.out_ptr, graph.out_post, core_ids(core),
                      members.astype(np.int64), group_ptr, n_cores, graph.n_neurons, limits.lut, limits.psum_axons,
                      limits.shared_mask, in_ax, bits, syn, fanout)
    bits = bits + kernel_usage(graph, core[:graph.n_neurons], limits.key_bits, n_cores)
    return CoreUsage(np.bincount(core, minlength=n_cores).astype(np.int64), in_ax, out_ax, bits, syn, fanout)


def evaluate(graph: SynapseGraph, core: np.ndarray, limits: Limits) -> CoreUsage:
    n_cores = int(core.max()) + 1 if core.size else 0
    core = np.ascontiguousarray(core, dtype=np.int64)
    in_ax, out_ax, bits, syn, fanout = core_stats(graph.out_ptr, graph.out_post, graph.out_flag, core_ids(core), n_cores,
                                                  graph.n_neurons, limits.lut, limits.psum_axons, limits.shared_mask)
    bits = bits + kernel_usage(graph, core[:graph.n_neurons], limits.key_bits, n_cores)
    return CoreUsage(np.bincount(core, minlength=n_cores).astype(np.int64), in_ax, out_ax, bits, syn, fanout)

