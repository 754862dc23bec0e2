"""The neuron-level synapse graph every mapping stage works on: a two-way CSR over global neuron ids.

Global ids number the neuron populations' neurons in population order (``pop_offset``), then the
graph inputs' channels (``n_neurons + input_offset``). ``in_*`` is by post neuron (what a core must
receive; dropped after the partition pass, ``SynapseGraph.by_source_only``), ``out_*`` by source (what a
spike must reach: its hyperedge). Each synapse carries flags
(bit 0: has a delay, bit 1: learns; bit 2 marks the partial-sum edges of a split neuron's
compartment graph, ``neurocomp.mapping.split``; bit 3 a synapse of a shared kernel) that price it in
synapse memory. A projection whose weights are a kernel shared by its post neurons (Conv2d, not
learning: ``Connectivity.kernel_slices``) also gives each post neuron the *kernel key* of its slice
(``key_ptr``/``key_id`` by neuron, ``key_entries``/``key_delay`` by key): a target that shares kernels
(``SynapseEncoding.shared_conv_weights``) stores each key once per core instead of those synapses.
Built from the projections' synapse enumerators (``neurocomp.semantics.synapses``) in chunks, in two passes
(count per post neuron and per source, then write each synapse into both CSRs): the peak is the graph
itself (10 bytes per synapse with int32 ids) plus one chunk's temporaries, so 400M synapses fit.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numba
import numpy as np

from ..ir import Conv2d, Network
from ..semantics.synapses import iter_projection_synapses

FLAG_DELAY = 1
FLAG_LEARN = 2
#: a partial-sum edge of a split neuron's compartment graph (segment -> soma, ``neurocomp.mapping.split``)
FLAG_PSUM = 4
#: a synapse whose weight is an entry of a shared kernel (see the module docstring)
FLAG_SHARED = 8


@dataclass
class SynapseGraph:
    pop_names: list
    pop_offset: np.ndarray      # int64[P+1], global neuron id of each population's first neuron
    input_names: list
    input_offset: np.ndarray    # int64[I+1], relative to n_neurons
    n_neurons: int
    n_sources: int
    in_ptr: np.ndarray
    in_src: np.ndarray | None           # None after ``by_source_only``
    in_flag: np.ndarray | None
    out_ptr: np.ndarray
    out_post: np.ndarray
    out_flag: np.ndarray
    proj_max_delay: dict
    key_ptr: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))   # int64[n_neurons+1] or empty
    key_id: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    key_entries: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # kernel weights per key
    key_delay: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))       # its projection has a delay
    #: int64[P]: a population's output plane H_out * W_out when every projection into it is a Conv2d with that
    #: plane (its neuron i is channel ``i // plane`` at position ``i % plane``), else 0; empty: unknown
    pop_plane: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def n_synapses(self) -> int:
        return int(self.out_post.size)

    @property
    def by_post(self) -> bool:
        """False when ``in_src`` / ``in_flag`` were dropped (``by_source_only``)."""
        return self.in_src is not None

    def by_source_only(self) -> "SynapseGraph":
        """This graph without ``in_src`` and ``in_flag`` (None; ``in_ptr`` stays): only the partition pass
        reads synapses by post neuron, placement, routing, the tables and the usage counts read them by
        source. What the partition hands on, so the later passes do not hold 5 bytes per synapse they never
        read (the tables pass, where a 1M-neuron random net's peak is, holds the network, this graph and the
        tables at once)."""
        return replace(self, in_src=None, in_flag=None)

    def split(self, flat: np.ndarray) -> dict:
        """A per-neuron array (global ids) as ``{population: array}``."""
        return {name: flat[self.pop_offset[i]:self.pop_offset[i + 1]]
                for i, name in enumerate(self.pop_names)}

    def join(self, per_pop: dict, dtype=np.int64) -> np.ndarray:
        """``{population: array}`` as one array over global neuron ids."""
        if not self.pop_names:
            return np.zeros(0, dtype)
        return np.concatenate([np.asarray(per_pop[name], dtype).reshape(-1) for name in self.pop_names])


@numba.njit(cache=True)
def _bucket(key, n_keys, val, flag):
    """Stable counting sort of (val, flag) by key in 0..n_keys-1 -> (ptr, val, flag)."""
    ptr = np.zeros(n_keys + 1, np.int64)
    for i in range(key.size):
        ptr[key[i] + 1] += 1
    for i in range(n_keys):
        ptr[i + 1] += ptr[i]
    pos = ptr[:-1].copy()
    out_val = np.empty_like(val)
    out_flag = np.empty_like(flag)
    for i in range(key.size):
        k = key[i]
        p = pos[k]
        out_val[p] = val[i]
        out_flag[p] = flag[i]
        pos[k] = p + 1
    return ptr, out_val, out_flag


@numba.njit(cache=True)
def _count_ends(in_cnt, out_cnt, pre, post, base, dbase):
    """First pass: count one chunk's synapses per post neuron (slot g+1 of the in-CSR's pointer) and per source."""
    for i in range(pre.size):
        in_cnt[post[i] + dbase + 1] += 1
        out_cnt[pre[i] + base + 1] += 1


#: ``_scatter`` writes a chunk's by-source side through a stable counting sort by blocks of 2**SCATTER_SHIFT
#: sources when its sources span at least SCATTER_SPAN ids (and it fits the buffers): then each block's write
#: cursors and target lines stay in cache; a random 1M-neuron net's sources span them all, and each synapse's
#: ``out_pos`` update and ``out_post`` / ``out_flag`` writes missed the cache (measured ~1/3 less time on its
#: synapses). Chunks of local sources (a layered net's window) keep the direct writes. Same arrays either way.
SCATTER_SHIFT = 12
SCATTER_SPAN = 1 << 18
SCATTER_BUFFER = 1 << 22


@numba.njit(cache=True)
def _scatter(in_pos, in_src, in_flag, out_pos, out_post, out_flag, pre, post, delay, base, dbase, extra,
             tmp_s, tmp_g, tmp_f, cnt, span):
    """Second pass: write one chunk's synapses at their post neuron's and their source's next slots (in
    enumeration order: the stable counting sort by post, and by source, of all synapses). The by-source
    side goes through the buffers ``tmp_*`` (a stable sort of the chunk by source block, ``cnt``: one
    counter per block + 1) where the chunk's sources span at least ``span`` ids (SCATTER_SHIFT); the arrays
    written are the same either way."""
    smin = out_pos.size
    smax = -1
    for i in range(pre.size):
        s = pre[i] + base
        g = post[i] + dbase
        f = (1 if delay[i] > 0 else 0) | extra
        p = in_pos[g]
        in_pos[g] = p + 1
        in_src[p] = s
        in_flag[p] = f
        smin = min(smin, s)
        smax = max(smax, s)
    if pre.size > tmp_s.size or smax - smin < span:
        for i in range(pre.size):
            s = pre[i] + base
            q = out_pos[s]
            out_pos[s] = q + 1
            out_post[q] = post[i] + dbase
            out_flag[q] = (1 if delay[i] > 0 else 0) | extra
        return
    b0 = smin >> SCATTER_SHIFT
    nb = (smax >> SCATTER_SHIFT) - b0 + 1
    cnt[:nb + 1] = 0
    for i in range(pre.size):
        cnt[((pre[i] + base) >> SCATTER_SHIFT) - b0 + 1] += 1
    for b in range(nb):
        cnt[b + 1] += cnt[b]
    for i in range(pre.size):
        s = pre[i] + base
        b = (s >> SCATTER_SHIFT) - b0
        k = cnt[b]
        cnt[b] = k + 1
        tmp_s[k] = s
        tmp_g[k] = post[i] + dbase
        tmp_f[k] = (1 if delay[i] > 0 else 0) | extra
    for k in range(pre.size):
        s = tmp_s[k]
        q = out_pos[s]
        out_pos[s] = q + 1
        out_post[q] = tmp_g[k]
        out_flag[q] = tmp_f[k]


def synapse_graph(network: Network) -> SynapseGraph:
    """Build the two-way CSR of ``network`` (any network: float weights are read as their nonzeros)."""
    pops = network.neuron_populations
    pop_offset = np.concatenate([[0], np.cumsum([p.size for p in pops])]).astype(np.int64)
    pop_index = {p.name: i for i, p in enumerate(pops)}
    inputs = [network.populations[n] for n in network.inputs]
    input_offset = np.concatenate([[0], np.cumsum([p.size for p in inputs])]).astype(np.int64)
    input_index = {p.name: i for i, p in enumerate(inputs)}
    n = int(pop_offset[-1])
    s = n + int(input_offset[-1])
    idt = np.int32 if s < 2 ** 31 - 1 else np.int64

    # Two passes over the projections' synapse enumerators (``iter_projection_synapses``: the synapses the
    # tables store, or a float network's nonzero weights, in chunks): count the synapses per post neuron
    # and per source, then write each straight into both CSRs. Nothing of the size of all synapses exists
    # but the graph itself (a concatenated (source, post, flag) list and its two sorts needed ~2x as much).
    key_post, key_l, key_entries, key_delay = [], [], [], []
    proj_max_delay = {}
    plan = []
    pop_plane = np.full(len(pops), -1, np.int64)
    for proj in network.projections.values():
        src_pop, dst_pop = network.populations[proj.source], network.populations[proj.target]
        i = pop_index[proj.target]
        plane = conv_plane(proj.connectivity)
        pop_plane[i] = plane if pop_plane[i] in (-1, plane) else 0
        base = (n + input_offset[input_index[proj.source]]) if src_pop.is_input else pop_offset[pop_index[proj.source]]
        dbase = pop_offset[pop_index[proj.target]]
        learn = FLAG_LEARN if proj.learning is not None else 0
        slices = None if learn else proj.connectivity.kernel_slices(dst_pop.size)
        if slices is not None:
            sl, entries = slices
            n_keys = int(sl.max()) + 1 if sl.size else 0
            key_post.append(np.arange(dst_pop.size, dtype=np.int64) + dbase)
            key_l.append(sl + len(key_entries))
            key_entries.extend([entries] * n_keys)
            key_delay.extend([proj.max_delay > 0] * n_keys)
        plan.append((proj, src_pop.size, dst_pop.size, int(base), int(dbase),
                     learn | (FLAG_SHARED if slices is not None else 0)))
        proj_max_delay[proj.name] = proj.max_delay
    in_ptr = np.zeros(max(n, 0) + 1, np.int64)
    out_ptr = np.zeros(s + 1, np.int64)
    scratch = {}                       # the chunks' arrays, reused (each chunk is consumed at once)
    for proj, n_pre, n_post, base, dbase, _ in plan:
        for part in iter_projection_synapses(proj, n_pre, n_post, buffers=scratch):
            _count_ends(in_ptr, out_ptr, np.asarray(part[0]), np.asarray(part[1]), base, dbase)
    np.cumsum(in_ptr, out=in_ptr)
    np.cumsum(out_ptr, out=out_ptr)
    n_syn = int(in_ptr[-1])
    in_src, in_flag = np.empty(n_syn, idt), np.empty(n_syn, np.uint8)
    out_post, out_flag = np.empty(n_syn, idt), np.empty(n_syn, np.uint8)
    in_pos, out_pos = in_ptr[:-1].copy(), out_ptr[:-1].copy()
    span = SCATTER_SPAN                                    # read at call time (tests shrink it)
    big = s >= span and n_syn >= span                      # buffers only where a chunk can use them
    buf = min(SCATTER_BUFFER, n_syn) if big else 0
    tmp_s, tmp_g, tmp_f = np.empty(buf, idt), np.empty(buf, idt), np.empty(buf, np.uint8)
    cnt = np.zeros(((s >> SCATTER_SHIFT) + 2) if big else 1, np.int64)
    for proj, n_pre, n_post, base, dbase, extra in plan:
        for part in iter_projection_synapses(proj, n_pre, n_post, buffers=scratch):
            _scatter(in_pos, in_src, in_flag, out_pos, out_post, out_flag, np.asarray(part[0]), np.asarray(part[1]),
                     np.asarray(part[-1]), base, dbase, extra, tmp_s, tmp_g, tmp_f, cnt, span)
    del in_pos, out_pos, tmp_s, tmp_g, tmp_f, scratch
    keys = {}
    if key_l:
        key_ptr, key_id, _ = _bucket(np.concatenate(key_post), n, np.concatenate(key_l),
                                     np.zeros(sum(k.size for k in key_l), np.uint8))
        keys = dict(key_ptr=key_ptr, key_id=key_id, key_entries=np.asarray(key_entries, np.int64),
                    key_delay=np.asarray(key_delay, bool))
    return SynapseGraph([p.name for p in pops], pop_offset, [p.name for p in inputs], input_offset, n, s,
                        in_ptr, in_src, in_flag, out_ptr, out_post, out_flag, proj_max_delay, **keys,
                        pop_plane=np.maximum(pop_plane, 0))


def conv_plane(conn) -> int:
    """A Conv2d's output plane H_out * W_out, else 0 (``SynapseGraph.pop_plane``, ``CoreTables.proj_conv_plane``)."""
    return int(np.prod(conn.output_shape[1:])) if isinstance(conn, Conv2d) else 0
