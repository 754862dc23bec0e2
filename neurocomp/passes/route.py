"""route: dimension-order (X then Y) routes between placed cores, and the expected load of every link.

A spike is multicast: a source sends one message to each distinct destination core (the per-core
routing table entries, laid out as the tables' ``route_core``/``route_axon``). Each message travels
from its source core's router along X to the destination's column, then along Y (cores of one tile
share a router: 0 links). Link loads are messages per step when every neuron spikes once, and, when
rates were given to ``compile``, the expected messages per step with those rates. Links are
directed, between neighbouring routers in global tile coordinates (chips tiled in their grid);
``interchip`` marks links that cross a chip boundary. Messages from graph inputs come from the
host and use no mesh link here (they are counted as ``input_messages``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import ValidationError
from .base import Pass, PassReport
from .partition import traffic_pairs

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


def route_links(graph, core: np.ndarray, physical: np.ndarray, mesh, rate: np.ndarray | None):
    """(links list for mapping.json, summary dict)."""
    n_cores = physical.size
    ones = np.ones(graph.n_sources)
    a, b, _ = traffic_pairs(graph.out_ptr, graph.out_post, np.ascontiguousarray(core, np.int64),
                            graph.n_neurons, ones)
    wr = None
    if rate is not None:
        _, _, wr = traffic_pairs(graph.out_ptr, graph.out_post, np.ascontiguousarray(core, np.int64),
                                 graph.n_neurons, np.ascontiguousarray(rate, np.float64))
    from_input = a < 0
    summary = {"messages_per_step_all_fire": int(a.size), "input_messages": int(from_input.sum()),
               "local_messages": int(((a == b) & ~from_input).sum())}
    mesh_msg = ~from_input & (a != b)
    a, b = a[mesh_msg], b[mesh_msg]
    key, inv = np.unique(a * n_cores + b, return_inverse=True)
    w_all = np.bincount(inv, minlength=key.size).astype(np.float64)
    w_rate = np.bincount(inv, weights=wr[mesh_msg], minlength=key.size) if wr is not None else None
    fa, fb = key // max(n_cores, 1), key % max(n_cores, 1)
    gx, gy = (np.asarray(v, np.int64) for v in mesh.global_tile(physical)) if n_cores else (np.zeros(0, np.int64),) * 2
    gw, gh = mesh.chips_x * mesh.tiles_x, mesh.chips_y * mesh.tiles_y
    sx, sy, dx, dy = gx[fa], gy[fa], gx[fb], gy[fb]
    ew, ns, chips = mesh.hops(physical[fa], physical[fb]) if fa.size else (np.zeros(0),) * 3
    summary["hops_total_all_fire"] = int(np.dot(w_all, np.asarray(ew) + np.asarray(ns)))
    summary["interchip_crossings_all_fire"] = int(np.dot(w_all, np.asarray(chips)))
    loads = link_loads(sx, sy, dx, dy, w_all, gw, gh)
    loads_r = link_loads(sx, sy, dx, dy, w_rate, gw, gh) if w_rate is not None else None
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
                     "load": int(round(arr[i, j]))}
            if loads_r is not None:
                entry["load_rates"] = float(loads_r[d][i, j])
            links.append(entry)
    links.sort(key=lambda e: (e["from"][1], e["from"][0], e["dir"]))
    summary["links_used"] = len(links)
    summary["max_link_load"] = max((e["load"] for e in links), default=0)
    if loads_r is not None:
        summary["max_link_load_rates"] = max((e["load_rates"] for e in links), default=0.0)
    return links, summary


@dataclass(frozen=True)
class Route(Pass):
    """Compute X-then-Y routes and link loads of a placed mapping (see the module docstring)."""
    name = "route"

    def run(self, obj, target):
        from ..artifact import CompiledNetwork
        if not isinstance(obj, CompiledNetwork) or obj.physical_core is None:
            raise ValidationError("route: expected a placed CompiledNetwork; run Partition and Place first")
        graph = obj.graph
        core = graph.join(obj.core_of_neuron)
        rate = obj.source_rate if obj.rates else None
        links, summary = route_links(graph, core, obj.physical_core, target.mesh, rate)
        summary["routing_entries_per_core_max"] = int(obj.usage.output_axons.max()) if obj.n_cores else 0
        return replace(obj, links=links, route_summary=summary), PassReport(self.name, summary=summary)
