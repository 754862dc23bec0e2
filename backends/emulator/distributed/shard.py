"""Rank shards of an artifact: the per-core tables cut into N pieces that each MPI rank loads alone.

Ranks take the logical cores in placement order (whole chips, then tiles, then cores on a tile: the
artifact's ``core_coord``), cut into N contiguous runs of about equal work (synapses + neurons), so
spikes between neighbouring cores mostly stay on one rank. A shard is an ordinary ``CoreTables`` of
its own cores, numbered locally:

* neurons 0..N_r-1: the rank's neurons (global table order), with their parameters;
* sources: those neurons, then the *foreign* sources (neurons of other ranks and graph-input
  channels) that have a route to one of its cores, in global id order; the tables carry them as
  the channels of one pseudo graph input (:data:`FOREIGN`), so the plan and kernel run it unchanged;
* routes, axons and synapses: only those landing on the rank's cores.

Beside the tables, each shard keeps what the exchange needs: for each of its neurons the ranks its
spikes must reach and its source id there (``dest_*``), how many of its routes leave the rank
(``remote_routes``: its ``packets_out`` counter), the global ids of its cores, neurons and
foreign sources, and the global core of each foreign neuron (``foreign_core``: where the cost model's
messages start). ``shards.json`` has every core's mesh position (``physical_core``) and ``target.toml``
the hardware model, so each rank computes its cost terms alone (``cost.py``). No rank holds another
rank's synapses or routes; what every shard repeats is O(cores + populations + projections)
(``shards.json``).

Not supported (refused with a clear error): split dendrites (partial-sum routes) and learning rules.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ....errors import ArtifactError, UnsupportedError, ValidationError
from ....mapping.tables import CoreTables
from ..kernels import ranges

#: Name of the pseudo graph input whose channels are a shard's foreign sources.
FOREIGN = "__other_ranks__"
META = "shards.json"
SCHEMA = "neurocomp-rank-shards"
MAP_FIELDS = ("core_gid", "neuron_gid", "neuron_index", "foreign_src", "foreign_core", "remote_routes", "dest_ptr",
              "dest_rank", "dest_sid")
#: The hardware model file beside the shards (a copy of the artifact's; the per-rank cost model reads it).
TARGET_FILE = "target.toml"


@dataclass
class Shard:
    """One rank's piece of the network (see the module docstring); ``meta``: the global facts every rank
    shares (``shards.json``)."""
    rank: int
    tables: CoreTables
    core_gid: np.ndarray        # [C_r] global core id of each local core
    neuron_gid: np.ndarray      # [N_r] global neuron id of each local neuron
    neuron_index: np.ndarray    # [N_r] index of each local neuron in its population
    foreign_src: np.ndarray     # [F_r] global source id of local sources N_r..N_r+F_r-1
    foreign_core: np.ndarray    # [F_r] global core of each foreign source that is a neuron, -1 for input channels
    remote_routes: np.ndarray   # [N_r] routes of each local neuron to cores of other ranks
    dest_ptr: np.ndarray        # [N_r+1] ranks that need neuron j's spikes: dest_rank[dest_ptr[j]:dest_ptr[j+1]]
    dest_rank: np.ndarray
    dest_sid: np.ndarray        # neuron j's source id on that rank
    meta: dict
    target: object = None       # the hardware model (Target) for the per-rank cost model, None if unknown

    @property
    def n_ranks(self) -> int:
        return int(self.meta["ranks"])


def rank_of_cores(tables: CoreTables, core_coord, ranks: int) -> np.ndarray:
    """The rank of each logical core: cores in placement order (chip, tile x, tile y, core; table order
    without coordinates) cut into ``ranks`` contiguous runs of about equal synapses + neurons."""
    if ranks < 1:
        raise ValidationError(f"ranks must be >= 1, got {ranks}")
    c = int(tables.n_cores)
    coord = None if core_coord is None else np.asarray(core_coord)
    order = np.arange(c) if coord is None or coord.shape[0] != c else \
        np.lexsort(tuple(coord[:, k] for k in range(coord.shape[1] - 1, -1, -1)))
    syn_per_axon = np.diff(np.asarray(tables.axon_syn_ptr, np.int64))
    axon_core = np.repeat(np.arange(c), np.diff(np.asarray(tables.core_axon_ptr, np.int64)))
    work = np.bincount(axon_core, weights=syn_per_axon, minlength=c) + np.diff(tables.core_neuron_ptr) + 1.0
    w = work[order]
    mid = np.cumsum(w) - w / 2                      # a core goes to the rank its work's midpoint falls in
    rank_sorted = np.minimum((mid * ranks / w.sum()).astype(np.int64), ranks - 1) if c else np.zeros(0, np.int64)
    out = np.empty(c, np.int64)
    out[order] = rank_sorted
    return out


def make_shards(tables: CoreTables, core_rank: np.ndarray, ranks: int | None = None, *,
                learning: bool = False) -> list[Shard]:
    """Cut ``tables`` into one :class:`Shard` per rank (``core_rank``: rank of each core; ``ranks``: at least
    one more than its largest, default exactly that; a rank without cores gets an empty shard). The caller
    holds the whole tables once (the compile side); each shard then lives on its own."""
    if tables.n_psum:
        raise UnsupportedError("distributed emulation: this network has split dendrites (partial-sum routes); "
                               "ranks cannot split them yet: compile without splitting (a larger core) or run on "
                               "one process")
    if learning:
        raise UnsupportedError("distributed emulation: this network has learning rules; they run on one process "
                               "only (run without mpiexec)")
    ranks = max(int(core_rank.max(initial=0)) + 1, ranks or 1)
    n, c, s = tables.n_neurons, int(tables.n_cores), tables.n_sources
    core_rank = np.asarray(core_rank, np.int64)
    neuron_core = tables.neuron_core()
    neuron_rank = core_rank[neuron_core]
    route_src = np.repeat(np.arange(s, dtype=np.int64), np.diff(tables.route_ptr))
    route_rank = core_rank[np.asarray(tables.route_core, np.int64)]
    locals_, foreign = [], []
    for r in range(ranks):
        mine = np.nonzero(neuron_rank == r)[0]
        srcs = np.unique(route_src[route_rank == r])
        foreign.append(srcs[(srcs >= n) | (neuron_rank[np.minimum(srcs, max(n - 1, 0))] != r)] if n else srcs)
        locals_.append(mine)
    # where each neuron's spikes must go: the (source, rank) pairs of its routes to other ranks
    cross = (route_src < n) & (route_rank != neuron_rank[np.minimum(route_src, max(n - 1, 0))]) if n else \
        np.zeros(route_src.size, bool)
    remote_routes = np.bincount(route_src[cross], minlength=n).astype(np.int64)
    pairs = np.unique(route_src[cross] * ranks + route_rank[cross])
    pair_src, pair_rank = pairs // ranks, pairs % ranks
    pair_sid = np.empty(pairs.size, np.int64)
    for r in range(ranks):
        on = pair_rank == r
        pair_sid[on] = locals_[r].size + np.searchsorted(foreign[r], pair_src[on])
    meta = _meta(tables, core_rank, ranks)
    meta["exchange_every"] = exchange_every(tables, np.nonzero(cross)[0])
    return [_shard(tables, r, core_rank, locals_[r], foreign[r], route_src, route_rank, remote_routes, pair_src,
                   pair_rank, pair_sid, meta) for r in range(ranks)]


#: Most steps whose spikes one exchange may carry (bounds the buffered events).
MAX_EVERY = 256


def exchange_every(tables: CoreTables, cross_routes: np.ndarray) -> int:
    """How many steps' spikes may wait for one exchange: min delay + 1 over the synapses that cross ranks (a
    spike of step t with delay d is read at step t + 1 + d, so it may be delivered after step t + d),
    1 if one of them is on a projection whose per-(step, delay) sum is transformed non-linearly (ring mode 2:
    local and remote parts of one sum must be delivered together), MAX_EVERY if none crosses."""
    from ..kernels import XF_CAST24, projection_codes
    ax = np.asarray(tables.route_axon, np.int64)[cross_routes]
    asp = np.asarray(tables.axon_syn_ptr, np.int64)
    syn = ranges(asp[ax], asp[ax + 1])
    if not syn.size:
        return MAX_EVERY
    xf, _ = projection_codes(tables.proj_lava_kinds, tables.proj_message_bits)
    exp = np.asarray(tables.proj_weight_exp, np.int64)
    mode2 = (np.asarray(tables.proj_max_delay) > 0) & ((exp < 0) | (xf == XF_CAST24))
    if np.any(mode2[np.asarray(tables.syn_proj, np.int64)[syn]]):
        return 1
    return int(min(int(np.asarray(tables.syn_delay)[syn].min()) + 1, MAX_EVERY))


def _meta(tables: CoreTables, core_rank: np.ndarray, ranks: int) -> dict:
    pop_size = np.bincount(np.asarray(tables.neuron_pop, np.int64), minlength=len(tables.pop_names))
    return {"schema": SCHEMA, "ranks": ranks, "n_cores": int(tables.n_cores), "n_neurons": tables.n_neurons,
            "n_sources": tables.n_sources, "n_synapses": tables.n_synapses,
            "pop_names": list(tables.pop_names), "pop_models": list(tables.pop_models),
            "pop_sizes": [int(x) for x in pop_size], "input_names": list(tables.input_names),
            "input_ptr": [int(x) for x in tables.input_ptr], "core_rank": [int(x) for x in core_rank]}


def _shard(tables, r, core_rank, gid, foreign, route_src, route_rank, remote_routes, pair_src, pair_rank, pair_sid,
           meta) -> Shard:
    n = tables.n_neurons
    cores = np.nonzero(core_rank == r)[0].astype(np.int64)
    core_loc = np.full(int(tables.n_cores), -1, np.int64)
    core_loc[cores] = np.arange(cores.size)
    neuron_loc = np.full(n, -1, np.int64)
    neuron_loc[gid] = np.arange(gid.size)
    cnp = np.asarray(tables.core_neuron_ptr, np.int64)
    cap = np.asarray(tables.core_axon_ptr, np.int64)
    asp = np.asarray(tables.axon_syn_ptr, np.int64)
    axons = ranges(cap[cores], cap[cores + 1])
    axon_loc = np.full(tables.n_axons, -1, np.int64)
    axon_loc[axons] = np.arange(axons.size)
    syn = ranges(asp[axons], asp[axons + 1])
    post = neuron_loc[np.asarray(tables.syn_post, np.int64)[syn]]
    if post.size and post.min() < 0:
        raise ArtifactError("rank shards: a synapse targets a neuron of another rank (its axon's core is not its "
                            "neuron's core); the tables are inconsistent (recompile the network)")
    n_r = gid.size

    def sid_of(src):                               # global source ids -> this shard's source ids
        out = np.where(src < n, neuron_loc[np.minimum(src, max(n - 1, 0))] if n else -1, -1)
        far = out < 0
        out[far] = n_r + np.searchsorted(foreign, src[far])
        return out

    rr = np.nonzero(route_rank == r)[0]
    r_sid = sid_of(route_src[rr])
    order = np.argsort(r_sid, kind="stable")
    rr, r_sid = rr[order], r_sid[order]
    n_src = n_r + foreign.size
    route_ptr = np.concatenate([[0], np.cumsum(np.bincount(r_sid, minlength=n_src))]).astype(np.int64)
    pop = np.asarray(tables.neuron_pop, np.int64)[gid]
    index = np.asarray(tables.neuron_index, np.int64)[gid]
    local_index = np.empty(n_r, np.int64)          # index among this rank's neurons of the population
    by_pop = np.lexsort((index, pop))
    starts = np.searchsorted(pop[by_pop], pop[by_pop])
    local_index[by_pop] = np.arange(n_r) - starts
    axon_src = np.asarray(tables.axon_source, np.int64)[axons]
    shard_tables = replace(
        tables, n_cores=int(cores.size), input_names=[FOREIGN],
        core_neuron_ptr=np.concatenate([[0], np.cumsum(cnp[cores + 1] - cnp[cores])]).astype(tables.core_neuron_ptr.dtype),
        neuron_pop=np.asarray(tables.neuron_pop)[gid], neuron_index=local_index.astype(tables.neuron_index.dtype),
        neuron_params={k: np.asarray(v)[gid] for k, v in tables.neuron_params.items()},
        input_ptr=np.array([0, foreign.size], np.asarray(tables.input_ptr).dtype),
        route_ptr=route_ptr.astype(np.asarray(tables.route_ptr).dtype),
        route_core=core_loc[np.asarray(tables.route_core, np.int64)[rr]].astype(np.asarray(tables.route_core).dtype),
        route_axon=axon_loc[np.asarray(tables.route_axon, np.int64)[rr]].astype(np.asarray(tables.route_axon).dtype),
        core_axon_ptr=np.concatenate([[0], np.cumsum(cap[cores + 1] - cap[cores])]).astype(tables.core_axon_ptr.dtype),
        axon_syn_ptr=np.concatenate([[0], np.cumsum(asp[axons + 1] - asp[axons])]).astype(tables.axon_syn_ptr.dtype),
        axon_source=sid_of(axon_src).astype(np.asarray(tables.axon_source).dtype),
        syn_post=post.astype(np.asarray(tables.syn_post).dtype), syn_weight=np.asarray(tables.syn_weight)[syn],
        syn_delay=np.asarray(tables.syn_delay)[syn], syn_proj=np.asarray(tables.syn_proj)[syn],
        psum_core=np.zeros(0, np.int32), psum_neuron=np.zeros(0, np.int64),
        core_psum_ptr=np.zeros(cores.size + 1, np.int64), pop_gid={})
    from ....mapping.tables import _pop_gid
    shard_tables.pop_gid = _pop_gid(shard_tables)
    mine = np.isin(pair_src, gid) if n_r else np.zeros(pair_src.size, bool)
    d_src, d_rank, d_sid = pair_src[mine], pair_rank[mine], pair_sid[mine]
    d_loc = neuron_loc[d_src]
    o = np.argsort(d_loc, kind="stable")
    dest_ptr = np.concatenate([[0], np.cumsum(np.bincount(d_loc, minlength=n_r))]).astype(np.int64)
    foreign = foreign.astype(np.int64)
    foreign_core = np.where(foreign < n, np.searchsorted(cnp, foreign, side="right") - 1, -1)
    return Shard(r, shard_tables, cores, gid.astype(np.int64), index, foreign, foreign_core,
                 remote_routes[gid], dest_ptr, d_rank[o].astype(np.int64), d_sid[o].astype(np.int64), meta)


# ----------------------------------------------------------------------------------- files
def write_shards(shards: list[Shard], directory) -> Path:
    """Write ``shards`` to ``directory`` atomically: ``shards.json`` and per rank ``rank<r>.tables.npz``
    (its CoreTables) and ``rank<r>.maps.npz`` (its global ids and exchange lists)."""
    from ....atomic import atomic_dir
    from ....outpaths import check_replaceable
    directory = check_replaceable(directory, "shards", "-o")
    with atomic_dir(directory) as tmp:
        (tmp / META).write_text(json.dumps(shards[0].meta, sort_keys=True, indent=1) + "\n")
        for sh in shards:
            sh.tables.save(tmp / f"rank{sh.rank}.tables.npz")
            np.savez(tmp / f"rank{sh.rank}.maps.npz", **{k: getattr(sh, k) for k in MAP_FIELDS})
        model = getattr(shards[0].target, "path", None)
        if model and Path(model).is_file():
            (tmp / TARGET_FILE).write_bytes(Path(model).read_bytes())
    return Path(directory)


def is_shard_dir(path) -> bool:
    return (Path(path) / META).is_file()


def read_meta(directory) -> dict:
    path = Path(directory) / META
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: cannot read the rank shards' description ({exc}); write them again with "
                            "`neurocomp shard ART --ranks N -o DIR`") from None
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
        raise ArtifactError(f"{path}: not a rank-shard description (schema {SCHEMA!r}); write the shards with "
                            "`neurocomp shard ART --ranks N -o DIR`")
    return meta


def load_shard(directory, rank: int) -> Shard:
    """Rank ``rank``'s shard of ``directory`` (only its own files are read)."""
    from ....safeio import read_npz
    directory = Path(directory)
    meta = read_meta(directory)
    if not 0 <= rank < int(meta["ranks"]):
        raise ValidationError(f"{directory}: the shards are for {meta['ranks']} ranks; rank {rank} has none "
                              f"(run with mpiexec -n {meta['ranks']}, or shard again with --ranks N)")
    tables = CoreTables.load(directory / f"rank{rank}.tables.npz")
    path = directory / f"rank{rank}.maps.npz"
    maps = read_npz(path, error=ArtifactError)
    missing = [k for k in MAP_FIELDS if k not in maps]
    if missing:
        raise ArtifactError(f"{path}: rank shard is missing {missing}; write the shards again")
    arrays = {k: np.asarray(maps[k], np.int64) for k in MAP_FIELDS}
    _check_maps(path, tables, arrays, meta)
    target = None
    if (directory / TARGET_FILE).is_file():
        from ....target import load_target_file
        target = load_target_file(directory / TARGET_FILE)
    return Shard(rank, tables, meta=meta, target=target, **arrays)


def _check_maps(path, tables, m: dict, meta: dict) -> None:
    """Index bounds of a shard's maps (the kernel and the exchange index with them)."""
    n_r, ranks = tables.n_neurons, int(meta["ranks"])
    checks = (("core_gid", m["core_gid"].size == tables.n_cores, m["core_gid"], meta["n_cores"]),
              ("neuron_gid", m["neuron_gid"].size == n_r, m["neuron_gid"], meta["n_neurons"]),
              ("foreign_src", m["foreign_src"].size == tables.n_sources - n_r, m["foreign_src"], meta["n_sources"]),
              ("foreign_core", m["foreign_core"].size == m["foreign_src"].size, m["foreign_core"] + 1,
               meta["n_cores"] + 1),
              ("remote_routes", m["remote_routes"].size == n_r, m["remote_routes"], None),
              ("dest_ptr", m["dest_ptr"].size == n_r + 1 and m["dest_ptr"][-1] == m["dest_rank"].size
               and m["dest_rank"].size == m["dest_sid"].size, m["dest_ptr"], None),
              ("dest_rank", True, m["dest_rank"], ranks), ("dest_sid", True, m["dest_sid"], None))
    for name, shape_ok, arr, hi in checks:
        if not shape_ok or (arr.size and (arr.min() < 0 or (hi is not None and arr.max() >= hi))):
            raise ArtifactError(f"{path}: field '{name}' is damaged (wrong size or ids out of range); write the "
                                "shards again with `neurocomp shard`")
