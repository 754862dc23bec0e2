"""Per-core tables: the compiled form the emulator executes (DESIGN.md §5-6).

Given an INTEGER network (every neuron population ``LoihiLIF``, every projection integer weights) and a
core for every neuron, lay out flat structure-of-arrays tables for all cores at once:

* neurons, numbered core by core (then population order, then neuron index), with LIF parameters;
* sources = neurons (ids 0..N-1) then graph-input channels (ids N..N+M-1);
* a multicast routing table: for each source, the distinct destination cores and the axon on each;
* per destination core, its input axons and each axon's synapses (post neuron on that core,
  effective weight, delay, projection).

Weights are the *effective* integers Lava multiplies with (clip + truncate applied, see
``neurocomp.semantics.fixedpoint.effective_weights``), so a backend executing the tables needs no knowledge of
sign modes. The per-projection ``weight_exp`` shift is applied to each projection's *sum* of one
send step (as Lava does; with delays, each send step's sum is shifted on its own, as DelayDense
does), which is why every synapse carries its projection index.

Building (1M neurons / 100M synapses in seconds and in little more memory than the tables): the
axons come from the partitioner's per-source CSR (``SynapseGraph``: each source's distinct destination
cores, counted in one numba pass, are its routes; a second pass numbers them into axons by a counting
sort on the core, writing straight into arrays allocated in the tables' narrow dtypes: no int64 copy of
the per-route arrays), then the synapses are streamed projection by projection, in chunks, straight
into their axon's slots (preallocated int32/int8 arrays; peak = the tables + one chunk's temporaries). No argsort over synapse keys; the layout is exactly the one a stable sort of the
synapses (in projection order) by (core, source) would give.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field, fields

import numba
import numpy as np

from ..errors import ArtifactError, CapacityError, UnsupportedError, ValidationError
from ..ir import Network
from ..neurons import kind_of, table_params
from ..semantics.synapses import (GRADED_WRAP, check_ports, iter_projection_synapses, lava_connection, message_bits,
                                  uses_lava_conv)
from .graph import conv_plane
from .limits import core_ids



@dataclass
class CoreTables:
    n_cores: int
    pop_names: list
    #: the neuron model of each population (its registered kind's name, ``neurocomp.neurons``)
    pop_models: list
    input_names: list
    proj_names: list
    core_neuron_ptr: np.ndarray
    neuron_pop: np.ndarray
    neuron_index: np.ndarray
    #: per-neuron parameters, one int64 array per field of the registered neuron models
    #: (``neurocomp.neurons.table_params()``; LoihiLIF: du, dv, vth, bias_mant, bias_exp, u0, v0), each
    #: saved under its own name
    neuron_params: dict
    input_ptr: np.ndarray
    route_ptr: np.ndarray
    route_core: np.ndarray
    route_axon: np.ndarray
    core_axon_ptr: np.ndarray
    axon_syn_ptr: np.ndarray
    axon_source: np.ndarray
    syn_post: np.ndarray
    syn_weight: np.ndarray
    syn_delay: np.ndarray
    syn_proj: np.ndarray
    proj_weight_exp: np.ndarray
    proj_wrap24: np.ndarray
    proj_max_delay: np.ndarray
    proj_target_pop: np.ndarray
    #: Lava's num_message_bits of each projection (0: binary spikes; >0: the source's payloads multiply
    #: the weights), ``neurocomp.semantics.synapses.message_bits``
    proj_message_bits: np.ndarray
    #: the target model's input channel each projection feeds (``Projection.port``; RF: 0 real, 1 imaginary)
    proj_port: np.ndarray
    #: each population's onset step (``Network.onsets``: held at its initial state, drive off, before it)
    pop_onset: np.ndarray = None
    #: split dendrites (``neurocomp.mapping.split``): partial-sum route i forwards, every step, the
    #: partial sum of the synapses on core ``psum_core[i]`` to neuron ``psum_neuron[i]`` (table id) on its
    #: soma core; routes grouped by segment core (``core_psum_ptr`` [C+1]). Empty when nothing is split:
    #: then every synapse sits on its post neuron's core.
    psum_core: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    psum_neuron: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    core_psum_ptr: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    #: the Lava process each projection runs as (``neurocomp.semantics.synapses.lava_connection``: Dense,
    #: Sparse, DelayDense, DelaySparse, Conv, LearningDense), which fixes where a graded sum wraps to int32
    proj_lava_kinds: list = field(default_factory=list)
    #: per projection, the output plane (H_out * W_out) of a Conv2d, 0 for other connectivities: a conv's
    #: post neuron i is output channel ``i // plane`` at position ``i % plane``; the emulator's plan lays
    #: those dendrites out channel-minor so one input event's adds are contiguous runs (a layout hint: any
    #: value gives the same sums)
    proj_conv_plane: np.ndarray = None
    pop_gid: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.pop_onset is None:
            self.pop_onset = np.zeros(len(self.pop_names), np.int64)
        if self.proj_conv_plane is None:              # tables written before the field: no conv layout hint
            self.proj_conv_plane = np.zeros(len(self.proj_names), np.int64)
        if len(self.proj_lava_kinds) != len(self.proj_names):
            # tables written before the field: Conv or Sparse wrap semantics (exact unless a graded
            # DelayDense sum overflows int32)
            self.proj_lava_kinds = ["Conv" if w else ("DelaySparse" if d > 0 else "Sparse")
                                    for w, d in zip(self.proj_wrap24, self.proj_max_delay)]

    @property
    def n_neurons(self) -> int:
        return int(self.core_neuron_ptr[-1])

    @property
    def n_sources(self) -> int:
        return int(self.route_ptr.size - 1)

    @property
    def n_axons(self) -> int:
        return int(self.axon_syn_ptr.size - 1)

    @property
    def n_synapses(self) -> int:
        return int(self.syn_post.size)

    @property
    def n_psum(self) -> int:
        """Partial-sum routes (segment core -> soma core of a split neuron); 0 when nothing is split."""
        return int(self.psum_core.size)

    @property
    def nbytes(self) -> int:
        """Bytes of the tables' arrays (per-neuron parameters included)."""
        arrays = [v for v in vars(self).values() if isinstance(v, np.ndarray)] + list(self.neuron_params.values())
        return int(sum(np.asarray(a).nbytes for a in arrays))

    def neuron_core(self) -> np.ndarray:
        """Soma core of every neuron (table ids)."""
        return np.repeat(np.arange(self.n_cores, dtype=np.int64), np.diff(self.core_neuron_ptr))

    def synapse_core(self) -> np.ndarray:
        """Core of every synapse (its axon's core; a segment core for a split neuron's synapse)."""
        axon_core = np.repeat(np.arange(self.n_cores, dtype=np.int64), np.diff(self.core_axon_ptr))
        return np.repeat(axon_core, np.diff(self.axon_syn_ptr))

    def input_sources(self, name: str) -> np.ndarray:
        """Source ids of the channels of graph input ``name``."""
        i = self.input_names.index(name)
        return self.n_neurons + np.arange(self.input_ptr[i], self.input_ptr[i + 1])

    # ---------------------------------------------------------------- persistence
    def save(self, path) -> None:
        """One .npz (uncompressed: deterministic bytes, fast to load)."""
        arrays = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "pop_gid":
                continue
            if f.name == "neuron_params":
                arrays.update({k: np.asarray(v) for k, v in value.items()})
            elif isinstance(value, list):
                arrays[f.name] = np.array(value, dtype=np.str_) if value else np.zeros(0, dtype="<U1")
            else:
                arrays[f.name] = np.asarray(value)
        with open(path, "wb") as fh:
            fh.write(_deterministic_npz(arrays))

    @classmethod
    def load(cls, path) -> "CoreTables":
        """Read tables written by :meth:`save`; every array is checked (``validate.check_loaded_tables``)
        before anything uses it, and a damaged file is an ArtifactError naming the file and field."""
        from ..safeio import read_npz, reading
        from .validate import check_loaded_tables
        what = "per-core tables (recompile the network)"
        data = read_npz(path, error=ArtifactError)  # each header checked: a damaged zip or an absurd size stops here
        files = list(data)
        with reading(path, what, ArtifactError):
            optional = ("pop_gid", "neuron_params", "proj_message_bits", "pop_models", "proj_port", "pop_onset",
                        "proj_lava_kinds", "proj_conv_plane", *PSUM_FIELDS)           # older tables: defaults below
            missing = [f.name for f in fields(cls) if f.name not in optional and f.name not in files]
            if missing:
                raise ArtifactError(f"{path}: per-core tables are missing or damaged (no {', '.join(missing)}); "
                                    "recompile the network")
            kwargs = {}
            for f in fields(cls):
                if f.name == "pop_gid":
                    continue
                if f.name == "neuron_params":
                    kwargs[f.name] = {k: data[k] for k in table_params() if k in files}
                    continue
                if f.name == "proj_port" and f.name not in files:
                    kwargs[f.name] = np.zeros(len(data["proj_names"]), np.int32)   # older tables: port 0
                    continue
                if f.name == "pop_onset" and f.name not in files:
                    kwargs[f.name] = np.zeros(len(data["pop_names"]), np.int64)   # older tables: no onsets
                    continue
                if f.name in PSUM_FIELDS and f.name not in files:     # older tables: nothing split
                    kwargs[f.name] = np.zeros(int(data["n_cores"]) + 1 if f.name == "core_psum_ptr" else 0, np.int64)
                    continue
                if f.name == "proj_message_bits" and f.name not in files:
                    kwargs[f.name] = np.zeros(len(data["proj_names"]), np.int32)   # older tables: binary
                    continue
                if f.name in ("proj_lava_kinds", "proj_conv_plane") and f.name not in files:
                    continue                        # older tables: __post_init__ derives them
                if f.name == "pop_models" and f.name not in files:
                    # tables written before the neuron-model registry held LoihiLIF populations only
                    kwargs[f.name] = ["LoihiLIF"] * len(data["pop_names"])
                    continue
                arr = data[f.name]
                if f.name.endswith(("_names", "_models")):
                    if arr.dtype.kind != "U" or arr.ndim != 1:
                        raise ArtifactError(f"{path}: field '{f.name}' is not a list of names; recompile the network")
                    kwargs[f.name] = [str(s) for s in arr]
                elif f.name == "proj_lava_kinds":
                    kinds = [str(s) for s in arr] if arr.dtype.kind == "U" and arr.ndim == 1 else None
                    if kinds is None or len(kinds) != len(data["proj_names"]) or not set(kinds) <= set(GRADED_WRAP):
                        raise ArtifactError(f"{path}: field 'proj_lava_kinds' is not one Lava connection process per "
                                            f"projection (one of {sorted(GRADED_WRAP)}); recompile the network")
                    kwargs[f.name] = kinds
                elif f.name == "n_cores":
                    if arr.ndim != 0 or arr.dtype.kind not in "iu":
                        raise ArtifactError(f"{path}: field 'n_cores' is not one integer; recompile the network")
                    kwargs[f.name] = int(arr)
                else:
                    kwargs[f.name] = arr
        tables = cls(**kwargs)
        check_loaded_tables(tables, str(path))
        tables.pop_gid = _pop_gid(tables)
        return tables


PSUM_FIELDS = ("psum_core", "psum_neuron", "core_psum_ptr")


def _deterministic_npz(arrays: dict) -> bytes:
    """np.savez writes zip entries with the current time; write them with a fixed date instead."""
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arrays[name], order="C"), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def _pop_gid(tables: CoreTables) -> dict:
    out = {}
    for p, name in enumerate(tables.pop_names):
        mine = np.nonzero(tables.neuron_pop == p)[0]
        gid = np.empty(mine.size, dtype=np.int64)
        gid[tables.neuron_index[mine]] = mine
        out[name] = gid
    return out


@numba.njit(cache=True)
def _count_routes(out_ptr, out_post, tcore, src_of_tid, n_cores):
    """First pass of the routes: per table source its number of distinct destination cores (``route_ptr``),
    per core its number of axons (``core_axon_ptr``), and the largest count. ``tcore[g]``: core of graph
    neuron g; ``src_of_tid[t]``: the graph source of table source t."""
    n_src = src_of_tid.size
    mark = np.zeros(n_cores, np.int32)          # last table source seen + 1
    route_ptr = np.zeros(n_src + 1, np.int64)
    core_axon_ptr = np.zeros(n_cores + 1, np.int64)
    maxd = 1
    for t in range(n_src):
        s = src_of_tid[t]
        nd = 0
        for e in range(out_ptr[s], out_ptr[s + 1]):
            c = tcore[out_post[e]]
            if mark[c] != t + 1:
                mark[c] = t + 1
                nd += 1
                core_axon_ptr[c + 1] += 1
        route_ptr[t + 1] = route_ptr[t] + nd
        if nd > maxd:
            maxd = nd
    for c in range(n_cores):
        core_axon_ptr[c + 1] += core_axon_ptr[c]
    return route_ptr, core_axon_ptr, maxd


#: Cores per block of the routes' transpose in ``_fill_routes``: the write cursors of a block's cores (a cache
#: line of ``axon_source`` and of ``axon_syn_ptr`` each) stay in L2 (4096 x 128 B = 512 KB); one cursor per core
#: of 27,598 (1M neurons on loihi2) did not, and the scatter missed the cache on nearly every route.
ROUTE_BLOCK = 4096


@numba.njit(cache=True)
def _fill_routes(out_ptr, out_post, tcore, src_of_tid, route_ptr, core_axon_ptr, maxd,
                 route_core, route_axon, axon_source, axon_syn_ptr, block):
    """Second pass, into arrays the caller allocated in the tables' narrow dtypes (no int64 copies of the
    per-route arrays): each source's destination cores (sorted) and their axons, axons ordered by core
    then source; ``axon_syn_ptr`` (zeros) gets each axon's START in slot a+1 (the fill cursor).

    Two steps: per source its sorted cores (``route_core``) and synapses on each (held in ``route_axon``
    meanwhile); then the transpose to axons, ``block`` cores at a time (every source's routes are sorted by
    core, so each block continues where the last one stopped: one sweep over the routes in all)."""
    n_src = src_of_tid.size
    n_cores = core_axon_ptr.size - 1
    st = np.zeros((n_cores, 2), np.int32)     # per core: last table source seen + 1, its synapses there
    lst = np.empty(maxd, np.int32)
    for t in range(n_src):
        s = src_of_tid[t]
        nd = 0
        for e in range(out_ptr[s], out_ptr[s + 1]):
            c = tcore[out_post[e]]
            if st[c, 0] != t + 1:
                st[c, 0] = t + 1
                st[c, 1] = 0
                lst[nd] = c
                nd += 1
            st[c, 1] += 1
        cores = lst[:nd]
        ordered = True                  # already sorted where cores follow the neuron order (the sequential
        for i in range(1, nd):          # baseline): a scan instead of the sort
            if cores[i] < cores[i - 1]:
                ordered = False
                break
        if not ordered:
            cores.sort()                # in place: no array allocated per source
        r = route_ptr[t]
        for i in range(nd):
            route_core[r + i] = cores[i]
            route_axon[r + i] = st[cores[i], 1]
    cursor = core_axon_ptr[:-1].copy()
    pos = route_ptr[:-1].copy()
    for c0 in range(0, n_cores, block):
        c1 = c0 + block
        for t in range(n_src):
            r = pos[t]
            end = route_ptr[t + 1]
            while r < end and route_core[r] < c1:
                c = route_core[r]
                a = cursor[c]
                cursor[c] = a + 1
                axon_source[a] = t
                axon_syn_ptr[a + 1] = route_axon[r]
                route_axon[r] = a
                r += 1
            pos[t] = r
    # exclusive prefix sum shifted by one: slot a+1 holds the start of axon a (the fill cursor)
    run = 0
    for a in range(axon_syn_ptr.size - 1):
        k = axon_syn_ptr[a + 1]
        axon_syn_ptr[a + 1] = run
        run += k


def routes_and_axons(out_ptr, out_post, tcore, src_of_tid, n_cores: int, n_sources: int, n_syn: int):
    """Routes (per table source: its distinct destination cores, sorted) and axons (ordered by core, then
    source), from the graph's out-CSR, straight into their narrow dtypes: route_ptr, route_core,
    route_axon, core_axon_ptr, axon_source, axon_syn_ptr (holding each axon's START in slot a+1)."""
    tcore = core_ids(tcore)
    route_ptr, core_axon_ptr, maxd = _count_routes(out_ptr, out_post, tcore, src_of_tid, n_cores)
    n_ax = int(route_ptr[-1])
    route_core = np.empty(n_ax, narrowest_int(0, max(int(n_cores), 2 ** 8)))        # int16 below 32768 cores
    route_axon = np.empty(n_ax, index_dtype(n_ax))
    axon_source = np.empty(n_ax, index_dtype(n_sources))
    axon_syn_ptr = np.zeros(n_ax + 1, index_dtype(n_syn + 1))
    _fill_routes(out_ptr, out_post, tcore, src_of_tid, route_ptr, core_axon_ptr, maxd,
                 route_core, route_axon, axon_source, axon_syn_ptr, ROUTE_BLOCK)
    return route_ptr, route_core, route_axon, core_axon_ptr, axon_source, axon_syn_ptr


@numba.njit(cache=True)
def _place_synapses(pre, post, w, d, k, src_base, src_is_input, dst_base, gid_of_flat, ident, n, neuron_core,
                    core_axon_ptr, axon_source, axon_syn_ptr, syn_post, syn_weight, syn_delay, syn_proj, syn_core,
                    slot):
    """Write a chunk of one projection's synapses into their axons' next free slots (in order, so each
    axon keeps the synapses' projection order). The axon of (source t, core c) is found by a branch-free
    binary search of t in core c's axons (sorted by source; consecutive synapses usually share a core, so that slice
    stays in cache), or in one step where the chunk's next synapses on core c number at least half its axons:
    then each of those axons is first written at ``slot[its source]`` (any int array of one entry per source;
    an entry is only a hint, used when it points into core c's axons at source t, so it needs no clearing).
    A 12-probe search in a 3,600-axon core (1M-neuron random net) missed L1 on most probes: 4x slower.
    ``c`` is the post neuron's core, or ``syn_core[i]`` when given (a split dendrite's
    segment core). ``ident``: ``gid_of_flat`` is the identity (cores follow the neuron order, as the sequential
    baseline fills them), so the source's id is read without a gather at random. Returns -1, or the index of a
    synapse with no axon."""
    split = syn_core.size > 0
    loaded = -1                         # the core whose axons ``slot`` indexes
    for i in range(pre.size):
        if src_is_input:
            t = n + src_base + pre[i]
        elif ident:
            t = src_base + pre[i]
        else:
            t = gid_of_flat[src_base + pre[i]]
        g = dst_base + post[i] if ident else gid_of_flat[dst_base + post[i]]
        c = syn_core[i] if split else neuron_core[g]
        lo = core_axon_ptr[c]
        end = core_axon_ptr[c + 1]
        if c != loaded:                 # index core c's axons if its run of synapses here is long enough
            need = (end - lo) >> 1
            j = i + 1
            while j < pre.size and j - i < need:
                cj = syn_core[j] if split else neuron_core[dst_base + post[j] if ident else gid_of_flat[dst_base + post[j]]]
                if cj != c:
                    break
                j += 1
            if j - i >= need:
                for a in range(lo, end):
                    slot[axon_source[a]] = a
                loaded = c
        a = slot[t] if c == loaded else -1
        if a >= lo and a < end and axon_source[a] == t:
            lo = a
        else:
            if lo >= end:
                return i
            m = end - lo                # branch-free lower bound (a select per probe, no mispredicted jump)
            while m > 1:
                half = m >> 1
                lo = lo + half if axon_source[lo + half] < t else lo
                m -= half
            if axon_source[lo] < t:
                lo += 1
            if lo >= end or axon_source[lo] != t:
                return i
        p = axon_syn_ptr[lo + 1]
        axon_syn_ptr[lo + 1] = p + 1
        syn_post[p] = g
        syn_weight[p] = w[i]
        syn_delay[p] = d[i]
        syn_proj[p] = k
    return -1


#: Synapses per chunk placed by ``_place_synapses`` (``iter_projection_synapses``' chunk; its default, 4M, is
#: the synapse graph's): a chunk's temporaries (about 50 bytes per synapse) are alive beside the network, the
#: graph and the whole tables, at the compile's peak; 1M synapses a chunk keep them near 0.5 bytes per synapse of
#: a 100M-synapse net. Each chunk's arrays go to the kernel as they are (any int dtype; it casts per element
#: as it stores), not copied to one dtype first.
PLACE_CHUNK = 1 << 20


def narrowest_int(lo: int, hi: int):
    """The narrowest of int8/int16/int32/int64 that holds ``lo..hi``."""
    for dt in (np.int8, np.int16, np.int32):
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dt)
    return np.dtype(np.int64)


def index_dtype(count: int):
    """int32 for indices into (and offsets up to) ``count`` items when they fit, else int64."""
    return np.dtype(np.int32 if count < 2 ** 31 else np.int64)


def weight_dtype(lo: int, hi: int):
    """The tables' weight dtype for weights in ``lo..hi``: int8, int16 or int32 (Lava's weights are
    int32: a wider bound stays int32, each value is checked as it is placed)."""
    dt = narrowest_int(lo, hi)
    return np.dtype(np.int32) if dt.itemsize > 4 else dt


def _weight_bounds(projs) -> tuple[int, int]:
    """A bound on every projection's effective weights, from its raw weights (``effective_weights``: Lava's
    8-bit clip unless learning or a raw Conv, then a floor by at most ``2^k - 1``, ``k = 9 - num_weight_bits``).
    Only a guess for the array's dtype: ``_fitting`` checks each placed chunk."""
    lo, hi = 0, 0
    for proj in projs:
        conn = proj.connectivity
        w = np.asarray(conn.weights)
        if not w.size:
            continue
        a, b = int(w.min()), int(w.max())
        if not uses_lava_conv(proj):
            a -= (1 << max(9 - int(getattr(conn, "num_weight_bits", 8)), 0)) - 1
            if proj.learning is None:               # Dense/Sparse clip to [-256, 255] first
                a, b = max(a, -256), min(b, 255)
        lo, hi = min(lo, a), max(hi, b)
    return lo, hi


def _fitting(syn_weight: np.ndarray, w) -> np.ndarray:
    """``syn_weight``, widened (a copy) if a chunk's weights ``w`` do not fit its dtype."""
    w = np.asarray(w)
    info = np.iinfo(syn_weight.dtype)
    if w.size and (int(w.min()) < info.min or int(w.max()) > info.max):
        return syn_weight.astype(weight_dtype(min(int(w.min()), info.min), max(int(w.max()), info.max)))
    return syn_weight


def build_core_tables(network: Network, core_of_neuron: dict, n_cores: int, graph=None, split=None,
                      payload_bits: int = 0) -> CoreTables:
    """Lay out the tables of ``network`` with neuron ``i`` of population ``p`` on core ``core_of_neuron[p][i]``.

    ``graph``: the network's ``neurocomp.passes.partition.SynapseGraph`` if the caller has it (the
    compiler does); otherwise it is built here. ``split``: a placed ``neurocomp.mapping.split.SplitMapping``
    when some dendrites are split: their synapses go to their segments' cores, with one partial-sum
    route per (segment core, neuron); ``payload_bits``: the target's partial-sum width, checked against
    each partial sum's worst case.
    """
    pops = network.neuron_populations
    pop_index = {p.name: i for i, p in enumerate(pops)}
    for pop in pops:
        kind_of(pop.model, f"population '{pop.name}'")
        cores = np.asarray(core_of_neuron.get(pop.name, []))
        if cores.shape != (pop.size,) or (cores.size and (cores.min() < 0 or cores.max() >= n_cores)):
            raise ValidationError(f"population '{pop.name}': core assignment must be {pop.size} core ids in "
                                  f"0..{n_cores - 1}")
    onsets = network.onsets()
    projs = list(network.projections.values())
    for proj in projs:
        if proj.connectivity.weights.dtype.kind != "i":
            raise UnsupportedError(f"projection '{proj.name}': weights are not integers; quantize first")
    check_ports(network)

    # Neurons, ordered by (core, population, index) = a stable sort of the flat (population, index)
    # order by core.
    all_core = np.concatenate([np.asarray(core_of_neuron[p.name], np.int64) for p in pops]) if pops else \
        np.zeros(0, np.int64)
    all_pop = np.concatenate([np.full(p.size, i, np.int32) for i, p in enumerate(pops)]) if pops else \
        np.zeros(0, np.int32)
    all_idx = np.concatenate([np.arange(p.size, dtype=np.int64) for p in pops]) if pops else np.zeros(0, np.int64)
    order = np.argsort(all_core, kind="stable")
    n = order.size
    gid_of_flat = np.empty(n, index_dtype(n))       # gathered at random per synapse: int32 halves the misses
    gid_of_flat[order] = np.arange(n)
    ident = bool(np.array_equal(order, np.arange(n)))
    pop_offset = np.concatenate([[0], np.cumsum([p.size for p in pops])]).astype(np.int64)
    params = {}
    for name in table_params():
        flat = np.concatenate([p.model.broadcast(name, p.size) if hasattr(p.model, name) else np.zeros(p.size)
                               for p in pops]) if pops else np.zeros(0)   # a model without it: 0
        col = flat.astype(np.int64)[order]          # each column in the narrowest int that holds it
        params[name] = col.astype(narrowest_int(int(col.min()), int(col.max()))) if col.size else col
    core_neuron_ptr = np.searchsorted(all_core[order], np.arange(n_cores + 1)).astype(np.int64)
    neuron_core = np.repeat(np.arange(n_cores, dtype=np.int64), np.diff(core_neuron_ptr))

    # Sources: neurons, then input channels.
    inputs = [network.populations[name] for name in network.inputs]
    input_ptr = np.concatenate([[0], np.cumsum([p.size for p in inputs])]).astype(np.int64)
    input_index = {p.name: i for i, p in enumerate(inputs)}
    n_sources = n + int(input_ptr[-1])

    # Routes and axons from the graph's per-source CSR (graph ids: flat neurons, then inputs).
    if graph is None:
        from .graph import synapse_graph
        graph = synapse_graph(network)
    if graph.n_neurons != n or graph.n_sources != n_sources:
        raise ValidationError(f"tables: the synapse graph ({graph.n_neurons} neurons, {graph.n_sources} sources) "
                              f"is not this network's ({n}, {n_sources}); rebuild it with synapse_graph(network)")
    rgraph, rcore, m = graph, all_core, 0
    if split is not None:              # routes over the compartment graph: synapses sit on segment cores
        rgraph, rcore, m = split.graph, split.comp_core, int(split.seg_neuron.size)
    src_of_tid = np.concatenate([order, np.arange(n + m, n_sources + m, dtype=np.int64)])
    n_syn = graph.n_synapses
    route_ptr, route_core, route_axon, core_axon_ptr, axon_source, axon_syn_ptr = routes_and_axons(
        rgraph.out_ptr, rgraph.out_post, rcore, src_of_tid, max(int(n_cores), 1), n_sources, n_syn)
    core_axon_ptr = core_axon_ptr[:n_cores + 1] if n_cores else np.zeros(1, np.int64)

    # Synapses, streamed into their axons' slots in projection order.
    if split is not None:
        from .split import synapse_cores
        all_syn_core = synapse_cores(network, graph, split)
    no_core = np.zeros(0, np.int64)
    slot = np.zeros(n_sources, index_dtype(axon_source.size))      # _place_synapses' per-core axon index
    syn_post = np.empty(n_syn, index_dtype(n))
    syn_weight = np.empty(n_syn, weight_dtype(*_weight_bounds(projs)))
    syn_delay = np.empty(n_syn, narrowest_int(0, max([p.max_delay for p in projs], default=0)))
    syn_proj = np.empty(n_syn, narrowest_int(0, len(projs) - 1))
    placed = 0
    scratch = {}                       # the chunks' arrays, reused (each chunk is consumed at once)
    for k, proj in enumerate(projs):
        src_pop, dst_pop = network.populations[proj.source], network.populations[proj.target]
        is_input = proj.source in input_index
        src_base = int(input_ptr[input_index[proj.source]]) if is_input else int(pop_offset[pop_index[proj.source]])
        dst_base = int(pop_offset[pop_index[proj.target]])
        for pre, post, w, d in iter_projection_synapses(proj, src_pop.size, dst_pop.size, PLACE_CHUNK, scratch):
            if placed + len(pre) > n_syn:
                raise ValidationError(f"tables: projection '{proj.name}' has more synapses than the synapse graph; "
                                      "the graph is not this network's")
            chunk_core = no_core if split is None else all_syn_core[placed:placed + len(pre)]
            syn_weight = _fitting(syn_weight, w)       # a weight the bound missed widens the array, never wraps
            bad = _place_synapses(np.asarray(pre), np.asarray(post), np.asarray(w),
                                  np.asarray(d), k, src_base, is_input, dst_base, gid_of_flat, ident, n,
                                  neuron_core, core_axon_ptr, axon_source, axon_syn_ptr, syn_post,
                                  syn_weight, syn_delay, syn_proj, chunk_core, slot)
            if bad >= 0:
                raise ValidationError(f"tables: synapse {int(pre[bad])} -> {int(post[bad])} of projection "
                                      f"'{proj.name}' is not in the synapse graph; the graph is not this network's")
            placed += len(pre)
    if placed != n_syn:
        raise ValidationError(f"tables: the network has {placed} synapses, the synapse graph {n_syn}; rebuild the graph")

    tables = CoreTables(
        n_cores=int(n_cores), pop_names=[p.name for p in pops], pop_models=[type(p.model).__name__ for p in pops], input_names=[p.name for p in inputs],
        proj_names=[p.name for p in projs], core_neuron_ptr=core_neuron_ptr,
        neuron_pop=all_pop[order], neuron_index=all_idx[order], neuron_params=params, input_ptr=input_ptr,
        route_ptr=route_ptr, route_core=route_core, route_axon=route_axon, core_axon_ptr=core_axon_ptr,
        axon_syn_ptr=axon_syn_ptr, axon_source=axon_source, syn_post=syn_post,
        syn_weight=syn_weight, syn_delay=syn_delay, syn_proj=syn_proj,
        proj_weight_exp=np.array([0 if uses_lava_conv(p) else p.connectivity.weight_exp for p in projs], np.int32),
        proj_wrap24=np.array([uses_lava_conv(p) for p in projs], bool),
        proj_max_delay=np.array([p.max_delay for p in projs], np.int32),
        proj_target_pop=np.array([pop_index[p.target] for p in projs], np.int32),
        proj_message_bits=np.array([message_bits(network, p) for p in projs], np.int32),
        proj_port=np.array([p.port for p in projs], np.int32),
        pop_onset=np.array([onsets[p.name] for p in pops], np.int64),
        proj_lava_kinds=[lava_connection(p) for p in projs],
        proj_conv_plane=np.array([conv_plane(p.connectivity) for p in projs], np.int64),
    )
    if split is not None:
        _add_partial_sums(tables, neuron_core, payload_bits)
    tables.pop_gid = _pop_gid(tables)
    return tables


def psum_keys(tables, neuron_core: np.ndarray):
    """Per synapse whose core is not its post neuron's: (synapse index, segment core, post neuron)."""
    syn_core = tables.synapse_core()
    foreign = np.nonzero(syn_core != neuron_core[tables.syn_post])[0]
    return foreign, syn_core[foreign], np.asarray(tables.syn_post, np.int64)[foreign]


def psum_bound(tables, foreign, seg_core) -> tuple[int, int]:
    """``(largest |partial sum|, its partial-sum route's synapse)``: the worst case of one partial-sum
    message, the raw sum (before the projection's shift) of one (segment core, neuron, projection,
    delay) group, every source sending its largest payload (1 for a spike)."""
    if foreign.size == 0:
        return 0, -1
    bits = np.asarray(tables.proj_message_bits, np.int64)
    proj = np.asarray(tables.syn_proj, np.int64)[foreign]
    pay = np.where(bits[proj] > 0, np.left_shift(np.int64(1), np.maximum(bits[proj] - 1, 0)), 1)
    mag = np.abs(np.asarray(tables.syn_weight, np.int64)[foreign]) * pay
    key = np.stack([seg_core, np.asarray(tables.syn_post, np.int64)[foreign], proj,
                    np.asarray(tables.syn_delay, np.int64)[foreign]], 1)
    _, inv = np.unique(key, axis=0, return_inverse=True)
    total = np.bincount(inv.reshape(-1), weights=mag.astype(np.float64))
    worst = int(np.argmax(total))
    return int(total[worst]), int(foreign[np.nonzero(inv.reshape(-1) == worst)[0][0]])


def _add_partial_sums(tables: CoreTables, neuron_core: np.ndarray, payload_bits: int) -> None:
    """The partial-sum routes of a split mapping, and the refusal of a partial sum too wide for the target."""
    foreign, seg_core, post = psum_keys(tables, neuron_core)
    pairs = np.unique(seg_core * max(tables.n_neurons, 1) + post)
    tables.psum_core = (pairs // max(tables.n_neurons, 1)).astype(np.int32)
    tables.psum_neuron = (pairs % max(tables.n_neurons, 1)).astype(np.int64)
    tables.core_psum_ptr = np.searchsorted(tables.psum_core, np.arange(tables.n_cores + 1)).astype(np.int64)
    worst, syn = psum_bound(tables, foreign, seg_core)
    if payload_bits and worst > (1 << (payload_bits - 1)) - 1:
        p = tables.pop_names[int(tables.neuron_pop[tables.syn_post[syn]])]
        raise CapacityError(f"neuron {p}[{int(tables.neuron_index[tables.syn_post[syn]])}]: a partial sum can reach "
                            f"{worst} (projection '{tables.proj_names[int(tables.syn_proj[syn])]}'), which does not fit "
                            f"the target's {payload_bits}-bit partial-sum messages (partial_sums.payload_bits); "
                            "lower the weights' magnitude or use a target with wider partial sums")
