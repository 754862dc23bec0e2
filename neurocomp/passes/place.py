"""place: put the logical cores of a partition onto physical cores of the mesh.

Objective: hop-weighted traffic ``sum over core pairs (a, b) of T[a,b] * d(pos a, pos b)`` where
``T[a,b]`` = messages per step from core a to core b (every source fires once, or its rate) and ``d``
is the X-then-Y route cost ``c_ew*|dx| + c_ns*|dy| + c_chip*(chip boundaries crossed)`` with the
target's per-hop energies (``costs.energy.hop_ew/hop_ns/hop_interchip``; an inter-chip crossing pays
its extra cost on top of the normal hop, as the target model defines). Messages from graph inputs
enter from the host and are not placed.

Method (greedy + local swaps): logical cores, already numbered in network order by the partitioner,
fill the mesh along a snake (chip by chip, tile rows alternating direction, cores of a tile
together), so consecutive pieces of a layer and neighbouring layers start close. Then rounds of
local search: each core is tried at the tile nearest the traffic-weighted centroid of its partners
and the tiles around it (swapping with the core there, or moving into a free core), plus a few
seeded random swaps; a move is kept if it lowers the cost. Deterministic for a seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ..errors import CapacityError, ValidationError
from ..mapping.limits import core_ids
from ..mapping.mesh import slot_grid, snake_order, tile_first_core, tile_hops
from .base import Pass, PassReport, register_pass

#: Distance evaluations the local search may spend (a round costs about 26 x traffic-graph entries);
#: dense traffic graphs (random nets on thousands of cores) get fewer rounds, or only the snake.
SEARCH_BUDGET = 2e8
#: Inter-chip extra cost relative to an east-west hop when the target prices neither.
DEFAULT_INTERCHIP = 10.0


def hop_costs(target) -> tuple[float, float, float]:
    """(east-west, north-south, inter-chip extra) cost weights, normalised to an east-west hop."""
    energy = getattr(getattr(target, "costs", None), "energy", None) or {}
    get = lambda k: float(energy[k].value) if k in energy else 0.0
    ew, ns, chip = get("hop_ew"), get("hop_ns"), get("hop_interchip")
    if ew <= 0:  # the target prices no hops: count them
        return 1.0, 1.0, DEFAULT_INTERCHIP
    return 1.0, (ns / ew if ns > 0 else 1.0), (chip / ew if chip > 0 else DEFAULT_INTERCHIP)


@numba.njit(cache=True)
def _neurons_by_core(core, n_cores):
    """Counting sort of neuron ids by core: (ptr over cores, neuron ids in core order)."""
    ptr = np.zeros(n_cores + 1, np.int64)
    for i in range(core.size):
        ptr[core[i] + 1] += 1
    for c in range(n_cores):
        ptr[c + 1] += ptr[c]
    pos = ptr[:-1].copy()
    ids = np.empty(core.size, np.int64)
    for i in range(core.size):
        c = core[i]
        ids[pos[c]] = i
        pos[c] += 1
    return ptr, ids


@numba.njit(cache=True)
def _directed_traffic(out_ptr, out_post, core, weight, nptr, nids, n_cores, count_only):
    """Directed core-to-core traffic T[a, b] = sum of w[s] over neurons s on a with a synapse on b != a
    (each source counted once per destination core: multicast). One pass over the synapses with a
    dense per-core accumulator; no sort. ``count_only``: just the number of nonzero (a, b) entries."""
    smark = np.full(n_cores, -1, np.int64)   # per source: destination cores seen
    amark = np.full(n_cores, -1, np.int64)   # per core a: partner cores seen
    acc = np.zeros(n_cores, np.float64)
    lst = np.empty(n_cores, np.int64)
    ptr = np.zeros(n_cores + 1, np.int64)
    for a in range(n_cores):
        nd = 0
        for i in range(nptr[a], nptr[a + 1]):
            s = nids[i]
            for e in range(out_ptr[s], out_ptr[s + 1]):
                b = core[out_post[e]]
                if b != a and smark[b] != s:
                    smark[b] = s
                    if amark[b] != a:
                        amark[b] = a
                        nd += 1
        ptr[a + 1] = ptr[a] + nd
    if count_only:
        return ptr, np.zeros(0, np.int64), np.zeros(0, np.float64)
    nbr = np.empty(ptr[n_cores], np.int64)
    w = np.empty(ptr[n_cores], np.float64)
    smark[:] = -1
    amark[:] = -1
    for a in range(n_cores):
        nd = 0
        for i in range(nptr[a], nptr[a + 1]):
            s = nids[i]
            for e in range(out_ptr[s], out_ptr[s + 1]):
                b = core[out_post[e]]
                if b != a and smark[b] != s:
                    smark[b] = s
                    if amark[b] != a:
                        amark[b] = a
                        acc[b] = 0.0
                        lst[nd] = b
                        nd += 1
                    acc[b] += weight[s]
        row = np.sort(lst[:nd])
        for j in range(nd):
            nbr[ptr[a] + j] = row[j]
            w[ptr[a] + j] = acc[row[j]]
    return ptr, nbr, w


@numba.njit(cache=True)
def _symmetrise(ptr, nbr, w, n_cores):
    """CSR of T + T^T with zero entries dropped, rows sorted by neighbour."""
    cnt = np.zeros(n_cores + 1, np.int64)
    for e in range(nbr.size):
        cnt[nbr[e] + 1] += 1
    for c in range(n_cores):
        cnt[c + 1] += cnt[c]
    tptr = cnt.copy()
    pos = cnt[:-1].copy()
    tnbr = np.empty(nbr.size, np.int64)
    tw = np.empty(nbr.size, np.float64)
    for a in range(n_cores):       # rows in order: each transposed row comes out sorted
        for e in range(ptr[a], ptr[a + 1]):
            b = nbr[e]
            tnbr[pos[b]] = a
            tw[pos[b]] = w[e]
            pos[b] += 1
    optr = np.zeros(n_cores + 1, np.int64)
    onbr = np.empty(2 * nbr.size, np.int64)
    ow = np.empty(2 * nbr.size, np.float64)
    k = 0
    for a in range(n_cores):       # merge two sorted rows
        i, j = ptr[a], tptr[a]
        ie, je = ptr[a + 1], tptr[a + 1]
        while i < ie or j < je:
            if j >= je or (i < ie and nbr[i] < tnbr[j]):
                b, x = nbr[i], w[i]
                i += 1
            elif i >= ie or tnbr[j] < nbr[i]:
                b, x = tnbr[j], tw[j]
                j += 1
            else:
                b, x = nbr[i], w[i] + tw[j]
                i += 1
                j += 1
            if x > 0:
                onbr[k] = b
                ow[k] = x
                k += 1
        optr[a + 1] = k
    return optr, onbr[:k].copy(), ow[:k].copy()


def core_traffic(graph, core: np.ndarray, weight: np.ndarray, n_cores: int):
    """Symmetric core-to-core traffic as CSR (ptr, neighbour, weight); inputs and same-core pairs dropped."""
    core = core_ids(core)
    nptr, nids = _neurons_by_core(core, n_cores)
    ptr, nbr, w = _directed_traffic(graph.out_ptr, graph.out_post, core, np.ascontiguousarray(weight, np.float64),
                                    nptr, nids, n_cores, False)
    return _symmetrise(ptr, nbr, w, n_cores)


def traffic_entries(graph, core: np.ndarray, n_cores: int) -> int:
    """Nonzero entries of the directed core traffic (an upper bound on half the symmetric CSR's size)."""
    core = core_ids(core)
    nptr, nids = _neurons_by_core(core, n_cores)
    ptr, _, _ = _directed_traffic(graph.out_ptr, graph.out_post, core, np.ones(1), nptr, nids, n_cores, True)
    return int(ptr[-1])


@numba.njit(cache=True)
def streamed_cost(out_ptr, out_post, core, n_neurons, weight, pos, gx, gy, cx, cy, c_ew, c_ns, c_chip):
    """The placement cost computed straight from the synapses (no traffic matrix): the sum over neuron
    sources of w[s] * d(core of s, each distinct other destination core)."""
    n_cores = 0
    for i in range(core.size):
        if core[i] + 1 > n_cores:
            n_cores = core[i] + 1
    mark = np.full(max(n_cores, 1), -1, np.int64)
    total = 0.0
    for s in range(n_neurons):
        a = core[s]
        for e in range(out_ptr[s], out_ptr[s + 1]):
            b = core[out_post[e]]
            if b != a and mark[b] != s:
                mark[b] = s
                total += weight[s] * _dist(pos[a], pos[b], gx, gy, cx, cy, c_ew, c_ns, c_chip)
    return total


@numba.njit(cache=True)
def _dist(p, q, gx, gy, cx, cy, c_ew, c_ns, c_chip):
    ew, ns, ic = tile_hops(gx[p], gy[p], cx[p], cy[p], gx[q], gy[q], cx[q], cy[q])
    return c_ew * ew + c_ns * ns + c_chip * ic


@numba.njit(cache=True)
def placement_cost(ptr, nbr, w, pos, gx, gy, cx, cy, c_ew, c_ns, c_chip):
    """Hop-weighted traffic (each undirected pair counted once)."""
    total = 0.0
    for a in range(ptr.size - 1):
        for e in range(ptr[a], ptr[a + 1]):
            total += w[e] * _dist(pos[a], pos[nbr[e]], gx, gy, cx, cy, c_ew, c_ns, c_chip)
    return total / 2.0


@numba.njit(cache=True)
def _move_delta(a, new_pos, skip, ptr, nbr, w, pos, gx, gy, cx, cy, c_ew, c_ns, c_chip):
    d = 0.0
    for e in range(ptr[a], ptr[a + 1]):
        j = nbr[e]
        if j == skip:
            continue
        d += w[e] * (_dist(new_pos, pos[j], gx, gy, cx, cy, c_ew, c_ns, c_chip)
                     - _dist(pos[a], pos[j], gx, gy, cx, cy, c_ew, c_ns, c_chip))
    return d


@numba.njit(cache=True)
def _local_search(ptr, nbr, w, pos, occ, gx, gy, cx, cy, c_ew, c_ns, c_chip, tiles_x, tiles_y, chips_x,
                  chips_y, cpt, rand_cand, rounds):
    k = ptr.size - 1
    gw = tiles_x * chips_x
    gh = tiles_y * chips_y
    moves = 0
    for r in range(rounds):
        improved = 0
        for a in range(k):
            sw = 0.0
            sx = 0.0
            sy = 0.0
            for e in range(ptr[a], ptr[a + 1]):
                sw += w[e]
                sx += w[e] * gx[pos[nbr[e]]]
                sy += w[e] * gy[pos[nbr[e]]]
            if sw <= 0:
                continue
            tx0 = int(np.floor(sx / sw + 0.5))
            ty0 = int(np.floor(sy / sw + 0.5))
            n_tile = 9
            for t in range(n_tile + rand_cand.shape[1]):
                if t < n_tile:
                    x = tx0 + (t % 3) - 1
                    y = ty0 + (t // 3) - 1
                    if x < 0 or y < 0 or x >= gw or y >= gh:
                        continue
                    lo = tile_first_core(x, y, tiles_x, tiles_y, chips_x, cpt)
                    hi = lo + cpt
                else:
                    lo = pos[rand_cand[a, t - n_tile]]
                    hi = lo + 1
                for q in range(lo, hi):
                    if q == pos[a]:
                        continue
                    b = occ[q]
                    if b < 0:
                        delta = _move_delta(a, q, -1, ptr, nbr, w, pos, gx, gy, cx, cy, c_ew, c_ns, c_chip)
                        if delta < -1e-9:
                            occ[pos[a]] = -1
                            occ[q] = a
                            pos[a] = q
                            improved += 1
                        continue
                    pa = pos[a]
                    delta = (_move_delta(a, q, b, ptr, nbr, w, pos, gx, gy, cx, cy, c_ew, c_ns, c_chip)
                             + _move_delta(b, pa, a, ptr, nbr, w, pos, gx, gy, cx, cy, c_ew, c_ns, c_chip))
                    if delta < -1e-9:
                        pos[a] = q
                        pos[b] = pa
                        occ[q] = a
                        occ[pa] = b
                        improved += 1
        moves += improved
        if improved == 0:
            break
    return moves


def place_cores(graph, core: np.ndarray, n_cores: int, target, weight: np.ndarray, seed: int = 0,
                rounds: int = 20) -> tuple[np.ndarray, dict]:
    """Physical core id of each logical core, and a summary (initial and final cost)."""
    mesh = target.mesh
    if n_cores > mesh.n_cores:
        raise CapacityError(f"the mapping needs {n_cores} cores but target '{target.name}' has {mesh.n_cores} "
                            f"({mesh.chips} chip(s) x {mesh.tiles_x}x{mesh.tiles_y} tiles x {mesh.cores_per_tile}); "
                            "use a target with more chips (mesh.chips in its .toml) or a smaller network")
    c_ew, c_ns, c_chip = hop_costs(target)
    gx, gy, cx, cy = slot_grid(mesh)
    pos = snake_order(mesh)[:n_cores].copy()
    core = core_ids(core)
    weight = np.ascontiguousarray(weight, np.float64)
    args = (gx, gy, cx, cy, c_ew, c_ns, c_chip)
    # A round costs about 26 x (symmetric traffic entries) distance evaluations: count the entries
    # first (one cheap pass) and build the traffic matrix only if at least one round fits the budget.
    entries = traffic_entries(graph, core, n_cores) if n_cores > 1 else 0
    rounds = int(min(rounds, SEARCH_BUDGET // max(26 * 2 * entries, 1)))
    if n_cores > 1 and rounds > 0:
        ptr, nbr, w = core_traffic(graph, core, weight, n_cores)
        before = placement_cost(ptr, nbr, w, pos, *args)
        occ = np.full(mesh.n_cores, -1, np.int64)
        occ[pos] = np.arange(n_cores)
        rng = np.random.default_rng(seed)
        rand = rng.integers(0, max(n_cores, 1), size=(n_cores, 4)).astype(np.int64)
        moves = _local_search(ptr, nbr, w, pos, occ, *args, mesh.tiles_x, mesh.tiles_y, mesh.chips_x,
                              mesh.chips_y, mesh.cores_per_tile, rand, rounds)
        after = placement_cost(ptr, nbr, w, pos, *args)
    else:  # snake only: the traffic is too dense for local search within the budget (or one core)
        moves = 0
        before = after = streamed_cost(graph.out_ptr, graph.out_post, core, graph.n_neurons, weight, pos, *args)
    return pos, {"cost_initial": float(before), "cost_final": float(after), "moves": int(moves),
                 "max_rounds": rounds, "traffic_entries": entries,
                 "hop_cost_weights": {"ew": c_ew, "ns": c_ns, "interchip_extra": c_chip}}


@register_pass
@dataclass(frozen=True)
class Place(Pass):
    """Assign each logical core a physical core on the target's mesh (see the module docstring)."""
    seed: int = 0
    rounds: int = 20
    name = "place"

    def run(self, obj, target):
        from ..mapping.stages import Partitioned, Placed, fields_of
        if not isinstance(obj, Partitioned):
            raise ValidationError(f"place: expected the partition pass's output (Partitioned), got "
                                  f"{type(obj).__name__}; run Partition first")
        graph, core = obj.placement_graph()
        n_cores = obj.n_cores
        weight = obj.source_rate if obj.source_rate is not None else np.ones(graph.n_sources)
        pos, summary = place_cores(graph, core, n_cores, target, weight, self.seed, self.rounds)
        chip, tx, ty, k = target.mesh.core_coord(pos)
        coord = np.stack([np.asarray(chip), np.asarray(tx), np.asarray(ty), np.asarray(k)], axis=1).astype(np.int64)
        out = Placed(**fields_of(obj, Partitioned), physical_core=pos, core_coord=coord.reshape(n_cores, 4))
        return out, PassReport(self.name, summary={"cores": n_cores, "mesh_cores": target.mesh.n_cores, **summary})
