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

from dataclasses import dataclass, replace

import numba
import numpy as np

from ..errors import CapacityError, ValidationError
from .base import Pass, PassReport
from .partition import traffic_pairs

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


def slot_grid(mesh):
    """Global tile coordinates and chip-grid coordinates of every physical core (arrays over core id)."""
    ids = np.arange(mesh.n_cores, dtype=np.int64)
    chip, tx, ty, _ = mesh.core_coord(ids)
    chip = np.asarray(chip, np.int64)
    cx, cy = chip % mesh.chips_x, chip // mesh.chips_x
    return cx * mesh.tiles_x + np.asarray(tx), cy * mesh.tiles_y + np.asarray(ty), cx, cy


def snake_order(mesh) -> np.ndarray:
    """Physical core ids chip by chip, tile rows alternating direction, cores of a tile consecutive."""
    chip, ty, tx, k = np.meshgrid(np.arange(mesh.chips), np.arange(mesh.tiles_y), np.arange(mesh.tiles_x),
                                  np.arange(mesh.cores_per_tile), indexing="ij")
    tx = np.where(ty % 2 == 1, mesh.tiles_x - 1 - tx, tx)
    core = ((chip * mesh.tiles_y + ty) * mesh.tiles_x + tx) * mesh.cores_per_tile + k
    return core.reshape(-1).astype(np.int64)


def core_traffic(graph, core: np.ndarray, weight: np.ndarray, n_cores: int):
    """Symmetric core-to-core traffic as CSR (ptr, neighbour, weight); inputs and same-core pairs dropped."""
    a, b, w = traffic_pairs(graph.out_ptr, graph.out_post, np.ascontiguousarray(core, np.int64),
                            graph.n_neurons, np.ascontiguousarray(weight, np.float64))
    keep = (a >= 0) & (a != b) & (w > 0)
    a, b, w = a[keep], b[keep], w[keep]
    a, b, w = np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([w, w])
    key, inv = np.unique(a * n_cores + b, return_inverse=True)
    ws = np.bincount(inv, weights=w) if key.size else np.zeros(0)
    ra, rb = key // max(n_cores, 1), key % max(n_cores, 1)
    ptr = np.searchsorted(ra, np.arange(n_cores + 1)).astype(np.int64)
    return ptr, rb.astype(np.int64), ws.astype(np.float64)


@numba.njit(cache=True)
def _dist(p, q, gx, gy, cx, cy, c_ew, c_ns, c_chip):
    return (c_ew * abs(gx[p] - gx[q]) + c_ns * abs(gy[p] - gy[q])
            + c_chip * (abs(cx[p] - cx[q]) + abs(cy[p] - cy[q])))


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
                    chip = (y // tiles_y) * chips_x + x // tiles_x
                    base = ((chip * tiles_y + (y % tiles_y)) * tiles_x + (x % tiles_x)) * cpt
                    lo = base
                    hi = base + cpt
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
    gx, gy, cx, cy = (np.ascontiguousarray(a, np.int64) for a in slot_grid(mesh))
    pos = snake_order(mesh)[:n_cores].copy()
    ptr, nbr, w = core_traffic(graph, core, weight, n_cores)
    args = (gx, gy, cx, cy, c_ew, c_ns, c_chip)
    before = placement_cost(ptr, nbr, w, pos, *args)
    occ = np.full(mesh.n_cores, -1, np.int64)
    occ[pos] = np.arange(n_cores)
    rng = np.random.default_rng(seed)
    rand = rng.integers(0, max(n_cores, 1), size=(n_cores, 4)).astype(np.int64)
    rounds = int(min(rounds, SEARCH_BUDGET // max(26 * nbr.size, 1)))
    moves = _local_search(ptr, nbr, w, pos, occ, *args, mesh.tiles_x, mesh.tiles_y, mesh.chips_x, mesh.chips_y,
                          mesh.cores_per_tile, rand, rounds) if n_cores > 1 and rounds > 0 else 0
    after = placement_cost(ptr, nbr, w, pos, *args)
    return pos, {"cost_initial": before, "cost_final": after, "moves": int(moves), "max_rounds": rounds,
                 "hop_cost_weights": {"ew": c_ew, "ns": c_ns, "interchip_extra": c_chip}}


@dataclass(frozen=True)
class Place(Pass):
    """Assign each logical core a physical core on the target's mesh (see the module docstring)."""
    seed: int = 0
    rounds: int = 20
    name = "place"

    def run(self, obj, target):
        from ..artifact import CompiledNetwork
        if not isinstance(obj, CompiledNetwork) or obj.core_of_neuron is None:
            raise ValidationError("place: expected the output of the partition pass (a CompiledNetwork with "
                                  "core_of_neuron); run Partition first")
        graph = obj.graph
        core = graph.join(obj.core_of_neuron)
        n_cores = obj.n_cores
        weight = obj.source_rate if obj.source_rate is not None else np.ones(graph.n_sources)
        pos, summary = place_cores(graph, core, n_cores, target, weight, self.seed, self.rounds)
        chip, tx, ty, k = target.mesh.core_coord(pos)
        coord = np.stack([np.asarray(chip), np.asarray(tx), np.asarray(ty), np.asarray(k)], axis=1).astype(np.int64)
        out = replace(obj, physical_core=pos, core_coord=coord.reshape(n_cores, 4))
        return out, PassReport(self.name, summary={"cores": n_cores, "mesh_cores": target.mesh.n_cores, **summary})
