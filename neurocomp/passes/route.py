"""route: dimension-order (X then Y) routes between placed cores, and the expected load of every link.

A spike is multicast: a source sends one message to each distinct destination core (the per-core
routing table entries, laid out as the tables' ``route_core``/``route_axon``). Each message travels
from its source core's router along X to the destination's column, then along Y (cores of one tile
share a router: 0 links). Link loads are messages per step when every neuron spikes once, and, when
rates were given to ``compile``, the expected messages per step with those rates. Links are
directed, between neighbouring routers in global tile coordinates (chips tiled in their grid), and
listed in ``mapping.json`` by the link id of :mod:`neurocomp.mapping.mesh` (the cost model's
``report.json`` uses the same ids) with their from/to tiles and direction; ``interchip`` marks links
that cross a chip boundary. Messages from graph inputs come from the host and use no mesh link here
(they are counted as ``input_messages``).

The loads are accumulated in one numba pass over the synapses (each source's distinct destination
cores, each message adding +w/-w at the ends of its X and Y legs, ``mapping.mesh.route_runs``, in
difference arrays, then a prefix sum): O(synapses + links), no sort or list of core
pairs, so 100M synapses take seconds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ..errors import ValidationError
from ..mapping import mesh as mesh_geometry
from ..mapping.limits import core_ids
from ..mapping.mesh import NORTH, route_runs, tile_hops
from .base import Pass, PassReport, register_pass

def link_loads(src_x, src_y, dst_x, dst_y, w, gw: int, gh: int) -> dict:
    """Per-direction load grids of X-then-Y routes (the spec ``mapping.mesh.route_link_ids``, summed).

    ``E[y, x]``: link (x, y) -> (x+1, y); ``W[y, x]``: (x+1, y) -> (x, y); ``N[x, y]``: (x, y) -> (x, y+1);
    ``S[x, y]``: (x, y+1) -> (x, y). The X leg runs on row ``src_y``, the Y leg on column ``dst_x``.
    """
    m, lid = mesh_geometry.route_link_ids(src_x, src_y, dst_x, dst_y, gw)
    load = np.bincount(lid, weights=np.asarray(w, np.float64).reshape(-1)[m], minlength=gw * gh * 4)
    load = load.reshape(gh, gw, 4)
    return {"E": load[:, :-1, 0], "W": load[:, 1:, 1], "N": load[:-1, :, 2].T, "S": load[1:, :, 3].T}


@numba.njit(cache=True)
def _route_loads(out_ptr, out_post, core, n_neurons, gx, gy, cx, cy, gw, gh, rate, use_rate):
    """Difference arrays (``mapping.mesh.loads_from_diff``) of the X-then-Y link loads, all fire and
    rate-weighted, and message counts.

    Returns (dX, dY, rX, rY, counts) with counts = [messages, input messages, local messages, hops,
    inter-chip crossings]; rX, rY are empty unless ``use_rate``.
    """
    n_src = out_ptr.size - 1
    n_cores = 0
    for i in range(core.size):
        if core[i] + 1 > n_cores:
            n_cores = core[i] + 1
    mark = np.full(max(n_cores, 1), -1, np.int64)
    dX = np.zeros((gh, gw + 1, 2), np.int64)
    dY = np.zeros((gh + 1, gw, 2), np.int64)
    rr = 1 if use_rate else 0
    rX = np.zeros((gh * rr, gw + 1, 2), np.float64)
    rY = np.zeros(((gh + 1) * rr, gw, 2), np.float64)
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
            ew, ns, ic = tile_hops(sx, sy, cx[a], cy[a], dx, dy, cx[b], cy[b])
            counts[3] += ew + ns
            counts[4] += ic
            # +w where each leg's run of leaving tiles starts, -w one past its end
            x_dir, x_lo, x_hi, y_dir, y_lo, y_hi = route_runs(sx, sy, dx, dy)
            y_dir -= NORTH
            w = rate[s] if use_rate else 0.0
            if x_lo < x_hi:
                dX[sy, x_lo, x_dir] += 1
                dX[sy, x_hi, x_dir] -= 1
                if use_rate:
                    rX[sy, x_lo, x_dir] += w
                    rX[sy, x_hi, x_dir] -= w
            if y_lo < y_hi:
                dY[y_lo, dx, y_dir] += 1
                dY[y_hi, dx, y_dir] -= 1
                if use_rate:
                    rY[y_lo, dx, y_dir] += w
                    rY[y_hi, dx, y_dir] -= w
    return dX, dY, rX, rY, counts


def route_links(graph, core: np.ndarray, physical: np.ndarray, mesh, rate: np.ndarray | None):
    """(links list for mapping.json, in link id order; summary dict)."""
    core = core_ids(core)
    gx, gy, cx, cy = mesh_geometry.tile_arrays(mesh, physical)
    gw, gh = mesh_geometry.grid_size(mesh)
    use_rate = rate is not None
    rate_arr = np.ascontiguousarray(rate if use_rate else np.zeros(1), np.float64)
    dX, dY, rX, rY, counts = _route_loads(graph.out_ptr, graph.out_post, core, graph.n_neurons, gx, gy, cx, cy,
                                          gw, gh, rate_arr, use_rate)
    summary = {"messages_per_step_all_fire": int(counts[0]), "input_messages": int(counts[1]),
               "local_messages": int(counts[2]), "hops_total_all_fire": int(counts[3]),
               "interchip_crossings_all_fire": int(counts[4])}
    load = mesh_geometry.loads_from_diff(dX, dY)
    load_r = mesh_geometry.loads_from_diff(rX, rY) if use_rate else None
    x, y, x2, y2, d, _, interchip = mesh_geometry.link_geometry(mesh)
    links = []
    for i in np.nonzero(load > 0)[0]:
        entry = {"id": int(i), "from": [int(x[i]), int(y[i])], "to": [int(x2[i]), int(y2[i])],
                 "dir": mesh_geometry.DIRECTIONS[int(d[i])], "interchip": bool(interchip[i]), "load": int(load[i])}
        if load_r is not None:
            entry["load_rates"] = float(load_r[i])
        links.append(entry)
    summary["links_used"] = len(links)
    summary["max_link_load"] = max((e["load"] for e in links), default=0)
    if load_r is not None:
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
        graph, core = obj.placement_graph()
        rate = obj.source_rate if obj.rates else None
        links, summary = route_links(graph, core, obj.physical_core, target.mesh, rate)
        summary["routing_entries_per_core_max"] = int(obj.usage.output_axons.max()) if obj.n_cores else 0
        return Routed(**fields_of(obj, Placed), links=links, route_summary=summary), \
            PassReport(self.name, summary=summary)
