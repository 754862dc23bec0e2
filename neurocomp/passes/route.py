"""route: dimension-order (X then Y) routes between placed cores, and the expected load of every link.

A spike is multicast: a source sends one message to each distinct destination core (the per-core
routing table entries, laid out as the tables' ``route_core``/``route_axon``). Each message travels
from its source core's router along X to the destination's column, then along Y (cores of one tile
share a router: 0 links). Link loads are messages per step when every neuron spikes once, and, when
rates were given to ``compile``, the expected messages per step with those rates. Links are
directed, between neighbouring routers in global tile coordinates (chips tiled in their grid);
``interchip`` marks links that cross a chip boundary. Messages from graph inputs come from the
host and use no mesh link here (they are counted as ``input_messages``).

The loads are accumulated in one numba pass over the synapses (each source's distinct destination
cores, each message adding +w/-w at the ends of its X and Y legs in per-row difference arrays, then
a prefix sum): O(synapses + links), no sort or list of core pairs, so 100M synapses take seconds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ..errors import ValidationError
from .base import Pass, PassReport, register_pass

DIRECTIONS = ("E", "W", "N", "S")


def _interval_add(acc: np.ndarray, row: np.ndarray, lo: np.ndarray, hi: np.ndarray, w: np.ndarray) -> None:
    """acc[row, lo:hi] += w for every flow, via a difference array (vectorised)."""
    if row.size == 0:
        return
    diff = np.zeros((acc.shape[0], acc.shape[1] + 1))
    np.add.at(diff, (row, lo), w)
    np.add.at(diff, (row, hi), -w)
    acc += np.cumsum(diff, axis=1)[:, :-1]


def link_loads(src_x, src_y, dst_x, dst_y, w, gw: int, gh: int) -> dict:
    """Per-direction load arrays of X-then-Y routes.

    ``E[y, x]``: link (x, y) -> (x+1, y); ``W[y, x]``: (x+1, y) -> (x, y); ``N[x, y]``: (x, y) -> (x, y+1);
    ``S[x, y]``: (x, y+1) -> (x, y). The X leg runs on row ``src_y``, the Y leg on column ``dst_x``.
    """
    loads = {"E": np.zeros((gh, max(gw - 1, 0))), "W": np.zeros((gh, max(gw - 1, 0))),
             "N": np.zeros((gw, max(gh - 1, 0))), "S": np.zeros((gw, max(gh - 1, 0)))}
    east, west = dst_x > src_x, dst_x < src_x
    _interval_add(loads["E"], src_y[east], src_x[east], dst_x[east], w[east])
    _interval_add(loads["W"], src_y[west], dst_x[west], src_x[west], w[west])
    north, south = dst_y > src_y, dst_y < src_y
    _interval_add(loads["N"], dst_x[north], src_y[north], dst_y[north], w[north])
    _interval_add(loads["S"], dst_x[south], dst_y[south], src_y[south], w[south])
    return loads


@numba.njit(cache=True)
def _route_loads(out_ptr, out_post, core, n_neurons, gx, gy, tiles_x, tiles_y, gw, gh, rate, use_rate):
    """Difference arrays of the X-then-Y link loads (all fire, and rate-weighted) and message counts.

    Returns (dE, dW, dN, dS, rE, rW, rN, rS, counts) with counts = [messages, input messages, local
    messages, hops, inter-chip crossings]; d*/r* rows are the arrays of ``link_loads`` plus one column.
    """
    n_src = out_ptr.size - 1
    n_cores = 0
    for i in range(core.size):
        if core[i] + 1 > n_cores:
            n_cores = core[i] + 1
    mark = np.full(max(n_cores, 1), -1, np.int64)
    dE = np.zeros((gh, gw), np.int64)
    dW = np.zeros((gh, gw), np.int64)
    dN = np.zeros((gw, gh), np.int64)
    dS = np.zeros((gw, gh), np.int64)
    rr = 1 if use_rate else 0
    rE = np.zeros((gh * rr, gw), np.float64)
    rW = np.zeros((gh * rr, gw), np.float64)
    rN = np.zeros((gw * rr, gh), np.float64)
    rS = np.zeros((gw * rr, gh), np.float64)
    counts = np.zeros(5, np.int64)
    for s in range(n_src):
        a = core[s] if s < n_neurons else -1
        for e in range(out_ptr[s], out_ptr[s + 1]):
            b = core[out_post[e]]
            if mark[b] == s:
                continue
            mark[b] = s
            counts[0] += 1
            if a < 0:
                counts[1] += 1
                continue
            if a == b:
                counts[2] += 1
                continue
            sx, sy, dx, dy = gx[a], gy[a], gx[b], gy[b]
            counts[3] += abs(dx - sx) + abs(dy - sy)
            counts[4] += abs(sx // tiles_x - dx // tiles_x) + abs(sy // tiles_y - dy // tiles_y)
            w = rate[s] if use_rate else 0.0
            if dx > sx:
                dE[sy, sx] += 1
                dE[sy, dx] -= 1
                if use_rate:
                    rE[sy, sx] += w
                    rE[sy, dx] -= w
            elif dx < sx:
                dW[sy, dx] += 1
                dW[sy, sx] -= 1
                if use_rate:
                    rW[sy, dx] += w
                    rW[sy, sx] -= w
            if dy > sy:
                dN[dx, sy] += 1
                dN[dx, dy] -= 1
                if use_rate:
                    rN[dx, sy] += w
                    rN[dx, dy] -= w
            elif dy < sy:
                dS[dx, dy] += 1
                dS[dx, sy] -= 1
                if use_rate:
                    rS[dx, dy] += w
                    rS[dx, sy] -= w
    return dE, dW, dN, dS, rE, rW, rN, rS, counts


def route_links(graph, core: np.ndarray, physical: np.ndarray, mesh, rate: np.ndarray | None):
    """(links list for mapping.json, summary dict)."""
    n_cores = physical.size
    core = np.ascontiguousarray(core, np.int64)
    gx, gy = (np.ascontiguousarray(v, np.int64) for v in mesh.global_tile(physical)) if n_cores else \
        (np.zeros(0, np.int64),) * 2
    gw, gh = mesh.chips_x * mesh.tiles_x, mesh.chips_y * mesh.tiles_y
    use_rate = rate is not None
    rate_arr = np.ascontiguousarray(rate if use_rate else np.zeros(1), np.float64)
    dE, dW, dN, dS, rE, rW, rN, rS, counts = _route_loads(
        graph.out_ptr, graph.out_post, core, graph.n_neurons, gx, gy, mesh.tiles_x, mesh.tiles_y, gw, gh,
        rate_arr, use_rate)
    summary = {"messages_per_step_all_fire": int(counts[0]), "input_messages": int(counts[1]),
               "local_messages": int(counts[2]), "hops_total_all_fire": int(counts[3]),
               "interchip_crossings_all_fire": int(counts[4])}
    prefix = lambda d: np.cumsum(d, axis=1)[:, :-1]
    loads = {"E": prefix(dE), "W": prefix(dW), "N": prefix(dN), "S": prefix(dS)}
    loads_r = {"E": prefix(rE), "W": prefix(rW), "N": prefix(rN), "S": prefix(rS)} if use_rate else None
    links = []
    for d in DIRECTIONS:
        arr = loads[d]
        for i, j in zip(*np.nonzero(arr > 0)):
            if d in ("E", "W"):
                y, x = int(i), int(j)
                frm, to = ((x, y), (x + 1, y)) if d == "E" else ((x + 1, y), (x, y))
                inter = (x + 1) % mesh.tiles_x == 0
            else:
                x, y = int(i), int(j)
                frm, to = ((x, y), (x, y + 1)) if d == "N" else ((x, y + 1), (x, y))
                inter = (y + 1) % mesh.tiles_y == 0
            entry = {"from": list(frm), "to": list(to), "dir": d, "interchip": bool(inter),
                     "load": int(arr[i, j])}
            if loads_r is not None:
                entry["load_rates"] = float(loads_r[d][i, j])
            links.append(entry)
    links.sort(key=lambda e: (e["from"][1], e["from"][0], e["dir"]))
    summary["links_used"] = len(links)
    summary["max_link_load"] = max((e["load"] for e in links), default=0)
    if loads_r is not None:
        summary["max_link_load_rates"] = max((e["load_rates"] for e in links), default=0.0)
    return links, summary


@register_pass
@dataclass(frozen=True)
class Route(Pass):
    """Compute X-then-Y routes and link loads of a placed mapping (see the module docstring)."""
    name = "route"

    def run(self, obj, target):
        from ..mapping.stages import Placed, Routed, fields_of
        if not isinstance(obj, Placed):
            raise ValidationError(f"route: expected the place pass's output (Placed), got {type(obj).__name__}; "
                                  "run Partition and Place first")
        graph = obj.graph
        core = graph.join(obj.core_of_neuron)
        rate = obj.source_rate if obj.rates else None
        links, summary = route_links(graph, core, obj.physical_core, target.mesh, rate)
        summary["routing_entries_per_core_max"] = int(obj.usage.output_axons.max()) if obj.n_cores else 0
        return Routed(**fields_of(obj, Placed), links=links, route_summary=summary), \
            PassReport(self.name, summary=summary)
