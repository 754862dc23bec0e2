"""A plain numpy simulator of a NIR graph itself (not of the IR): the independent float reference.

NIR's semantics (../shared/reference/nir.md): feed-forward edges are instantaneous, an edge that
closes a cycle carries the previous step's value, forward Euler per node (``exact=True``: each state
decays by ``exp(-dt/tau)`` instead, the ``--integration exact`` convention). Nodes: Input, Output,
Affine, Linear, Scale, Flatten, LIF, CubaLIF, IF, LI, I. Node states start at 0. Returns, per neuron
node, its output per step ``[T, n]`` (spikes, or v for LI/I) and its v ``[T, n]``.
"""
from __future__ import annotations

import networkx as nx
import nir
import numpy as np


def _k(dt, tau, exact):
    tau = np.asarray(tau, np.float64).reshape(-1)
    return -np.expm1(-dt / tau) if exact else dt / tau


def simulate_nir(graph: nir.NIRGraph, inputs: dict, steps: int, dt: float, exact: bool = False):
    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    g.add_edges_from(graph.edges)
    order, back = _order(g, [n for n, v in graph.nodes.items() if isinstance(v, nir.Input)])
    preds = {n: [a for a, b in graph.edges if b == n] for n in graph.nodes}
    out_prev = {n: 0.0 for n in graph.nodes}
    state = {n: {"v": 0.0, "i": 0.0} for n in graph.nodes}
    rec, rec_v = {}, {}
    for t in range(steps):
        out = {}
        for n in order:
            node = graph.nodes[n]
            if isinstance(node, nir.Input):
                out[n] = np.asarray(inputs[n][t], np.float64).reshape(-1)
                continue
            x = 0.0
            for p in preds[n]:
                x = x + (out_prev[p] if (p, n) in back else out[p])
            out[n] = _node_step(node, np.asarray(x, np.float64).reshape(-1), state[n], dt, exact)
            if isinstance(node, (nir.LIF, nir.CubaLIF, nir.IF, nir.LI, nir.I)):
                rec.setdefault(n, np.zeros((steps, out[n].size)))[t] = out[n]
                rec_v.setdefault(n, np.zeros((steps, out[n].size)))[t] = state[n]["v"]
        out_prev = out
    return rec, rec_v


def _order(g, inputs):
    """Topological order after removing the edges that close cycles (found by DFS from the inputs)."""
    back = set()
    h = nx.DiGraph(g)
    while not nx.is_directed_acyclic_graph(h):
        cyc = nx.find_cycle(h)
        # the edge of the cycle that goes back to the node nearest an input closes it
        dist = nx.multi_source_dijkstra_path_length(h, set(inputs))
        edge = max(cyc, key=lambda e: (dist.get(e[0], 0) - dist.get(e[1], 0)))
        back.add(edge[:2])
        h.remove_edge(*edge[:2])
    return list(nx.topological_sort(h)), back


def _node_step(node, x, st, dt, exact):
    if isinstance(node, nir.Output):
        return x
    if isinstance(node, nir.Affine):
        return node.weight @ x + node.bias
    if isinstance(node, nir.Linear):
        return node.weight @ x
    if isinstance(node, nir.Scale):
        return node.scale * x
    if isinstance(node, nir.Flatten):
        return x.reshape(-1)
    if isinstance(node, (nir.LIF, nir.LI)):
        k = _k(dt, node.tau, exact)
        st["v"] = st["v"] + k * (node.v_leak.reshape(-1) - st["v"] + node.r.reshape(-1) * x)
        if isinstance(node, nir.LI):
            return st["v"]
        s = st["v"] > node.v_threshold.reshape(-1)
        st["v"] = np.where(s, node.v_reset.reshape(-1), st["v"])
        return s.astype(np.float64)
    if isinstance(node, nir.CubaLIF):
        ku, kv = _k(dt, node.tau_syn, exact), _k(dt, node.tau_mem, exact)
        st["i"] = (1 - ku) * st["i"] + ku * node.w_in.reshape(-1) * x
        st["v"] = (1 - kv) * st["v"] + kv * (node.v_leak.reshape(-1) + node.r.reshape(-1) * st["i"])
        s = st["v"] > node.v_threshold.reshape(-1)
        st["v"] = np.where(s, node.v_reset.reshape(-1), st["v"])
        return s.astype(np.float64)
    if isinstance(node, (nir.IF, nir.I)):
        st["v"] = st["v"] + node.r.reshape(-1) * x
        if isinstance(node, nir.I):
            return st["v"]
        s = st["v"] > node.v_threshold.reshape(-1)
        st["v"] = np.where(s, node.v_reset.reshape(-1), st["v"])
        return s.astype(np.float64)
    raise NotImplementedError(type(node).__name__)
