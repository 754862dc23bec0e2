"""The neuron-level synapse graph every mapping stage works on: a two-way CSR over global neuron ids.

Global ids number the neuron populations' neurons in population order (``pop_offset``), then the
graph inputs' channels (``n_neurons + input_offset``). ``in_*`` is by post neuron (what a core must
receive), ``out_*`` by source (what a spike must reach: its hyperedge). Each synapse carries flags
(bit 0: has a delay, bit 1: learns; bit 2 marks the partial-sum edges of a split neuron's
compartment graph, ``neurocomp.mapping.split``; bit 3 a synapse of a shared kernel) that price it in
synapse memory. A projection whose weights are a kernel shared by its post neurons (Conv2d, not
learning: ``Connectivity.kernel_slices``) also gives each post neuron the *kernel key* of its slice
(``key_ptr``/``key_id`` by neuron, ``key_entries``/``key_delay`` by key): a target that shares kernels
(``SynapseEncoding.shared_conv_weights``) stores each key once per core instead of those synapses.
Built from the projections' synapse enumerators (``neurocomp.semantics.synapses``) in chunks, so 100M synapses fit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from ..ir import Network
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
    in_src: np.ndarray
    in_flag: np.ndarray
    out_ptr: np.ndarray
    out_post: np.ndarray
    out_flag: np.ndarray
    proj_max_delay: dict
    key_ptr: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))   # int64[n_neurons+1] or empty
    key_id: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    key_entries: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # kernel weights per key
    key_delay: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))       # its projection has a delay

    @property
    def n_synapses(self) -> int:
        return int(self.in_src.size)

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
def _put(src, post, flag, at, pre, post_local, delay, base, dbase, extra):
    """Write one chunk's global (source, post) ids and flags (bit 0: a delay; ``extra``: learn/shared) at ``at``."""
    for i in range(pre.size):
        src[at + i] = pre[i] + base
        post[at + i] = post_local[i] + dbase
        flag[at + i] = (1 if delay[i] > 0 else 0) | extra


class _Triples:
    """Growable (source, post, flag) arrays of the synapses, in enumeration order."""

    def __init__(self, capacity: int, idt):
        self.n = 0
        self.src = np.empty(max(capacity, 1), idt)
        self.post = np.empty(max(capacity, 1), idt)
        self.flag = np.empty(max(capacity, 1), np.uint8)

    def add(self, pre, post, delay, base: int, dbase: int, extra: int) -> None:
        m = len(pre)
        if self.n + m > self.src.size:                      # the guess was short (e.g. a Conv2d's kernel)
            cap = max(2 * self.src.size, self.n + m)
            for name in ("src", "post", "flag"):
                old = getattr(self, name)
                new = np.empty(cap, old.dtype)
                new[:self.n] = old[:self.n]
                setattr(self, name, new)
        _put(self.src, self.post, self.flag, self.n, np.asarray(pre), np.asarray(post), np.asarray(delay),
             base, dbase, extra)
        self.n += m

    def arrays(self):
        return self.src[:self.n], self.post[:self.n], self.flag[:self.n]


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

    # the synapses' (source, post, flag), written chunk by chunk into arrays sized by a guess of the
    # synapse count (Dense/Sparse: their stored weights, an upper bound; untouched pages cost no memory)
    # that grow if it was short: no list of chunks to concatenate (a second copy of every synapse)
    buf = _Triples(sum(int(np.size(p.connectivity.weights)) for p in network.projections.values()), idt)
    key_post, key_l, key_entries, key_delay = [], [], [], []
    proj_max_delay = {}
    for proj in network.projections.values():
        src_pop, dst_pop = network.populations[proj.source], network.populations[proj.target]
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
        extra = learn | (FLAG_SHARED if slices is not None else 0)
        # the synapses the tables store (integer networks) or the nonzero weights (float networks),
        # streamed in chunks: small temporaries
        for part in iter_projection_synapses(proj, src_pop.size, dst_pop.size):
            buf.add(part[0], part[1], part[-1], int(base), int(dbase), extra)
        proj_max_delay[proj.name] = proj.max_delay
    src, post, flag = buf.arrays()
    del buf
    in_ptr, in_src, in_flag = _bucket(post, max(n, 0), src, flag)
    out_ptr, out_post, out_flag = _bucket(src, s, post, flag)
    del src, post, flag
    keys = {}
    if key_l:
        key_ptr, key_id, _ = _bucket(np.concatenate(key_post), n, np.concatenate(key_l),
                                     np.zeros(sum(k.size for k in key_l), np.uint8))
        keys = dict(key_ptr=key_ptr, key_id=key_id, key_entries=np.asarray(key_entries, np.int64),
                    key_delay=np.asarray(key_delay, bool))
    return SynapseGraph([p.name for p in pops], pop_offset, [p.name for p in inputs], input_offset, n, s,
                        in_ptr, in_src, in_flag, out_ptr, out_post, out_flag, proj_max_delay, **keys)
