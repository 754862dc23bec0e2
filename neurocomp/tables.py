"""Per-core tables: the compiled form the emulator executes (DESIGN.md §5-6).

Given an INTEGER network (every neuron population ``LoihiLIF``, every projection integer weights) and a
core for every neuron, lay out flat structure-of-arrays tables for all cores at once:

* neurons, numbered core by core (then population order, then neuron index), with LIF parameters;
* sources = neurons (ids 0..N-1) then graph-input channels (ids N..N+M-1);
* a multicast routing table: for each source, the distinct destination cores and the axon on each;
* per destination core, its input axons and each axon's synapses (post neuron on that core,
  effective weight, delay, projection).

Weights are the *effective* integers Lava multiplies with (clip + truncate applied, see
``neurocomp.fixedpoint.effective_weights``), so a backend executing the tables needs no knowledge of
sign modes. The per-projection ``weight_exp`` shift is applied to each projection's *sum* of one
send step (as Lava does; with delays, each send step's sum is shifted on its own, as DelayDense
does), which is why every synapse carries its projection index.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field, fields

import numpy as np

from .errors import ArtifactError, UnsupportedError, ValidationError
from .fixedpoint import conv_uses_lava_conv, effective_weights
from .ir import Conv2d, Dense, LoihiLIF, Network, OneToOne, Sparse

NEURON_PARAMS = ("du", "dv", "vth", "bias_mant", "bias_exp", "u0", "v0")


@dataclass
class CoreTables:
    n_cores: int
    pop_names: list
    input_names: list
    proj_names: list
    core_neuron_ptr: np.ndarray
    neuron_pop: np.ndarray
    neuron_index: np.ndarray
    du: np.ndarray
    dv: np.ndarray
    vth: np.ndarray
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    u0: np.ndarray
    v0: np.ndarray
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
    pop_gid: dict = field(default_factory=dict)

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
            if isinstance(value, list):
                arrays[f.name] = np.array(value, dtype=np.str_) if value else np.zeros(0, dtype="<U1")
            else:
                arrays[f.name] = np.asarray(value)
        with open(path, "wb") as fh:
            fh.write(_deterministic_npz(arrays))

    @classmethod
    def load(cls, path) -> "CoreTables":
        try:
            with np.load(path, allow_pickle=False) as data:
                kwargs = {}
                for f in fields(cls):
                    if f.name == "pop_gid":
                        continue
                    arr = data[f.name]
                    kwargs[f.name] = [str(s) for s in arr] if f.name.endswith("_names") else (
                        int(arr) if f.name == "n_cores" else arr)
        except (OSError, KeyError, ValueError) as exc:
            raise ArtifactError(f"{path}: per-core tables are missing or damaged ({exc}); recompile the network") \
                from None
        tables = cls(**kwargs)
        tables.pop_gid = _pop_gid(tables)
        return tables


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


def uses_lava_conv(proj) -> bool:
    """True when the projection runs as Lava's Conv (raw weights, 24-bit output wrap, no shift);
    any other Conv2d runs as its equivalent Sparse projection (see fixedpoint.conv_uses_lava_conv)."""
    return isinstance(proj.connectivity, Conv2d) and conv_uses_lava_conv(proj.connectivity, proj.delay)


def projection_synapses(proj, n_pre: int, n_post: int):
    """(pre, post, weight, delay) of every stored synapse of a projection, in (post, pre) order.

    Weights are Lava's effective integers; zero weights are dropped unless the projection learns
    (a learning synapse can grow from zero). A learning Dense projection's weights are its starting
    weights in Lava's LearningDense: truncated only, with ``learning_sign_mode`` (the rule's bounds
    pick the mode when the connectivity names none). A Conv2d that runs as Lava's Conv keeps its raw weights
    (Lava's Conv neither clips nor truncates); another Conv2d is expanded to Sparse first.
    """
    conn = proj.connectivity
    learning = proj.learning is not None
    delay = proj.delay
    if isinstance(conn, Conv2d):
        sp = conn.to_sparse()
        if uses_lava_conv(proj):
            post = np.repeat(np.arange(sp.shape[0]), np.diff(sp.indptr))
            return sp.indices, post, sp.weights.astype(np.int32), np.broadcast_to(delay, post.shape)
        conn = sp
    if isinstance(conn, Dense):
        mode = conn.sign_mode
        if learning:   # the mode Lava's LearningDense runs with (explicit, else from the rule's bounds)
            from .backends.emulator.learning import learning_sign_mode
            mode = learning_sign_mode(conn, proj.learning)
        w = effective_weights(conn.weights, mode, conn.num_weight_bits, learning)
        mask = np.ones(w.shape, bool) if learning else w != 0
        post, pre = np.nonzero(mask)
        d = np.broadcast_to(delay, w.shape)[post, pre]
        return pre, post, w[post, pre], d
    if isinstance(conn, Sparse):
        post = np.repeat(np.arange(conn.shape[0]), np.diff(conn.indptr))
        w = effective_weights(conn.weights, conn.sign_mode, conn.num_weight_bits, learning)
        d = np.broadcast_to(delay, w.shape)
        keep = np.ones(w.shape, bool) if learning else w != 0
        return conn.indices[keep], post[keep], w[keep], d[keep]
    if isinstance(conn, OneToOne):
        w = np.broadcast_to(conn.weights, (n_pre,))
        w = effective_weights(w, conn.sign_mode, conn.num_weight_bits, learning)
        d = np.broadcast_to(delay, (n_pre,))
        keep = np.ones(n_pre, bool) if learning else w != 0
        idx = np.nonzero(keep)[0]
        return idx, idx, w[idx], d[idx]
    raise UnsupportedError(f"projection '{proj.name}': connectivity {type(conn).__name__} has no table form")


def build_core_tables(network: Network, core_of_neuron: dict, n_cores: int) -> CoreTables:
    """Lay out the tables of ``network`` with neuron ``i`` of population ``p`` on core ``core_of_neuron[p][i]``."""
    pops = network.neuron_populations
    pop_index = {p.name: i for i, p in enumerate(pops)}
    for pop in pops:
        if not isinstance(pop.model, LoihiLIF):
            raise UnsupportedError(f"population '{pop.name}': model {type(pop.model).__name__} is not integer; "
                                   "quantize the network first (neurocomp.compile does)")
        cores = np.asarray(core_of_neuron.get(pop.name, []))
        if cores.shape != (pop.size,) or (cores.size and (cores.min() < 0 or cores.max() >= n_cores)):
            raise ValidationError(f"population '{pop.name}': core assignment must be {pop.size} core ids in "
                                  f"0..{n_cores - 1}")

    # Neurons, ordered by (core, population, index).
    all_core = np.concatenate([np.asarray(core_of_neuron[p.name], np.int64) for p in pops]) if pops else \
        np.zeros(0, np.int64)
    all_pop = np.concatenate([np.full(p.size, i, np.int32) for i, p in enumerate(pops)]) if pops else \
        np.zeros(0, np.int32)
    all_idx = np.concatenate([np.arange(p.size, dtype=np.int64) for p in pops]) if pops else np.zeros(0, np.int64)
    order = np.lexsort((all_idx, all_pop, all_core))
    n = order.size
    gid_of_flat = np.empty(n, np.int64)
    gid_of_flat[order] = np.arange(n)
    pop_offset = np.concatenate([[0], np.cumsum([p.size for p in pops])]).astype(np.int64)
    params = {}
    for name in NEURON_PARAMS:
        flat = np.concatenate([p.model.broadcast(name, p.size) for p in pops]) if pops else np.zeros(0)
        params[name] = flat.astype(np.int64)[order]
    core_neuron_ptr = np.searchsorted(all_core[order], np.arange(n_cores + 1)).astype(np.int64)

    # Sources: neurons, then input channels.
    inputs = [network.populations[name] for name in network.inputs]
    input_ptr = np.concatenate([[0], np.cumsum([p.size for p in inputs])]).astype(np.int64)
    input_index = {p.name: i for i, p in enumerate(inputs)}
    n_sources = n + int(input_ptr[-1])

    def source_ids(pop_name: str, local: np.ndarray) -> np.ndarray:
        if pop_name in input_index:
            return n + input_ptr[input_index[pop_name]] + local
        return gid_of_flat[pop_offset[pop_index[pop_name]] + local]

    # Synapses of every projection, concatenated in projection order.
    projs = list(network.projections.values())
    src_l, post_l, w_l, d_l, p_l = [], [], [], [], []
    for k, proj in enumerate(projs):
        src_pop, dst_pop = network.populations[proj.source], network.populations[proj.target]
        if proj.connectivity.weights.dtype.kind != "i":
            raise UnsupportedError(f"projection '{proj.name}': weights are not integers; quantize first")
        pre, post, w, d = projection_synapses(proj, src_pop.size, dst_pop.size)
        src_l.append(source_ids(proj.source, np.asarray(pre, np.int64)))
        post_l.append(gid_of_flat[pop_offset[pop_index[proj.target]] + np.asarray(post, np.int64)])
        w_l.append(np.asarray(w, np.int32))
        d_l.append(np.asarray(d, np.int16))
        p_l.append(np.full(len(pre), k, np.int32))
    cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)
    syn_src, syn_post = cat(src_l, np.int64), cat(post_l, np.int64)
    syn_weight, syn_delay, syn_proj = cat(w_l, np.int32), cat(d_l, np.int16), cat(p_l, np.int32)

    # Axons: one per (destination core, source) pair; ordered by core then source.
    neuron_core = np.repeat(np.arange(n_cores, dtype=np.int64), np.diff(core_neuron_ptr))
    syn_core = neuron_core[syn_post] if syn_post.size else np.zeros(0, np.int64)
    key = syn_core * n_sources + syn_src
    perm = np.argsort(key, kind="stable")
    key, syn_post, syn_weight, syn_delay, syn_proj = (a[perm] for a in (key, syn_post, syn_weight, syn_delay,
                                                                          syn_proj))
    starts = np.nonzero(np.concatenate([[True], key[1:] != key[:-1]]))[0] if key.size else np.zeros(0, np.int64)
    axon_key = key[starts]
    axon_core, axon_source = axon_key // max(n_sources, 1), axon_key % max(n_sources, 1)
    axon_syn_ptr = np.concatenate([starts, [key.size]]).astype(np.int64)
    core_axon_ptr = np.searchsorted(axon_core, np.arange(n_cores + 1)).astype(np.int64)

    # Routes: for each source its destination cores (sorted) and the axon there.
    by_source = np.lexsort((axon_core, axon_source))
    route_core = axon_core[by_source].astype(np.int32)
    route_axon = by_source.astype(np.int64)
    route_ptr = np.searchsorted(axon_source[by_source], np.arange(n_sources + 1)).astype(np.int64)

    tables = CoreTables(
        n_cores=int(n_cores), pop_names=[p.name for p in pops], input_names=[p.name for p in inputs],
        proj_names=[p.name for p in projs], core_neuron_ptr=core_neuron_ptr,
        neuron_pop=all_pop[order], neuron_index=all_idx[order], **params, input_ptr=input_ptr,
        route_ptr=route_ptr, route_core=route_core, route_axon=route_axon, core_axon_ptr=core_axon_ptr,
        axon_syn_ptr=axon_syn_ptr, axon_source=axon_source.astype(np.int64), syn_post=syn_post,
        syn_weight=syn_weight, syn_delay=syn_delay, syn_proj=syn_proj,
        proj_weight_exp=np.array([0 if uses_lava_conv(p) else p.connectivity.weight_exp for p in projs], np.int32),
        proj_wrap24=np.array([uses_lava_conv(p) for p in projs], bool),
        proj_max_delay=np.array([p.max_delay for p in projs], np.int32),
        proj_target_pop=np.array([pop_index[p.target] for p in projs], np.int32),
    )
    tables.pop_gid = _pop_gid(tables)
    return tables
