"""The float reference: simulate a :class:`~neurocomp.passes.discretize.DiscretizedNetwork` step by step.

This is what the compiler *means* before quantization: every population's per-step float model
(``discretize``, forward Euler or exact decays) with the IR's timing, so a comparison against it
isolates the quantization error, and a comparison of it against a framework (or a NIR simulator)
isolates the semantics. Timing is the integer backends' (Lava's): a spike of step ``t`` (graph input
row ``t-1``) reaches its targets at step ``t + 1 + delay``; recorded row ``t-1`` is the state after
step ``t``. One step of a population (x = synaptic input arriving now)::

    u = (1 - decay_u) u + gain_u x + bias_u
    v = (1 - decay_v) v + gain_v u + bias_per_step;   s = v > v_th;   v[s] = v_reset

starting from ``u = v = 0``. A population with onset ``o`` (``Network.onsets``) does not update in
steps ``1..o`` (drive off, state at rest): with onset = depth, row ``t + depth`` of a feed-forward
graph equals row ``t`` of NIR's instantaneous-edge simulation. Vectorised over neurons; loops over
time only. Integer (chip-model) populations are not simulated here: use ``simulate_reference``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import UnsupportedError
from ..ir import Conv2d, Dense, OneToOne, Sparse
from ..semantics.inputs import InputSpec, check_run
from ..result import Result
from .discretize import DiscretizedNetwork


def float_matrices(proj, n_pre: int, n_post: int) -> dict[int, sp.csr_matrix]:
    """``{delay: [n_post, n_pre] float matrix}`` of a float projection (one entry per distinct delay)."""
    conn = proj.connectivity
    if isinstance(conn, Conv2d):
        conn = conn.to_sparse()
    if isinstance(conn, Dense):
        coo = sp.coo_matrix(np.asarray(conn.weights, np.float64))
        rows, cols, vals = coo.row, coo.col, coo.data
        delay = np.broadcast_to(proj.delay, conn.weights.shape)[rows, cols] if proj.delay.ndim else None
    elif isinstance(conn, Sparse):
        rows = np.repeat(np.arange(conn.shape[0]), np.diff(conn.indptr))
        cols, vals = np.asarray(conn.indices), np.asarray(conn.weights, np.float64)
        delay = np.asarray(proj.delay) if proj.delay.ndim else None
    elif isinstance(conn, OneToOne):
        rows = cols = np.arange(n_pre)
        vals = np.broadcast_to(np.asarray(conn.weights, np.float64), (n_pre,))
        delay = np.broadcast_to(proj.delay, (n_pre,)) if proj.delay.ndim else None
    else:
        raise UnsupportedError(f"float reference: projection '{proj.name}' has connectivity {type(conn).__name__}, "
                               "which it does not simulate")
    if delay is None:
        return {int(proj.delay): sp.csr_matrix((vals, (rows, cols)), shape=(n_post, n_pre))}
    return {int(d): sp.csr_matrix((vals[delay == d], (rows[delay == d], cols[delay == d])), shape=(n_post, n_pre))
            for d in np.unique(delay)}


def simulate_float(dnet: DiscretizedNetwork, steps: int, inputs: dict | None = None) -> Result:
    """Run ``dnet`` for ``steps`` steps; ``Result.spikes[pop]`` uint8 and ``Result.v[pop]`` float64 ``[T, n]``
    (``Result.u`` for models with a current state) for every discretized population."""
    net = dnet.network
    integer = [p.name for p in net.neuron_populations if p.name not in dnet.models]
    if integer:
        raise UnsupportedError(f"float reference: population(s) {integer} are integer chip models; simulate the "
                               "quantized network with neurocomp.semantics.reference.simulate_reference")
    steps, _, rows = check_run(InputSpec.of_network(net), steps, inputs, ("spikes",))
    sizes = {name: p.size for name, p in net.populations.items()}
    onsets = net.onsets()
    mats = {pr.name: float_matrices(pr, sizes[pr.source], sizes[pr.target]) for pr in net.projections.values()}
    depth = max((d for m in mats.values() for d in m), default=0) + 2
    arrive = {name: np.zeros((depth, sizes[name])) for name in dnet.models}     # ring of future inputs
    u = {name: np.zeros(sizes[name]) for name in dnet.models}
    v = {name: np.zeros(sizes[name]) for name in dnet.models}
    res = Result(steps=steps)
    for name in dnet.models:
        res.spikes[name] = np.zeros((steps, sizes[name]), np.uint8)
        res.v[name] = np.zeros((steps, sizes[name]))
        if dnet.models[name].has_current_state:
            res.u[name] = np.zeros((steps, sizes[name]))
    for t in range(1, steps + 1):
        sent = {}
        for name, m in dnet.models.items():
            x = arrive[name][t % depth].copy()
            arrive[name][t % depth] = 0.0
            if t <= onsets.get(name, 0):
                sent[name] = np.zeros(sizes[name])
                continue
            u[name] = (1.0 - m.decay_u) * u[name] + m.gain_u * x + m.bias_u
            v[name] = (1.0 - m.decay_v) * v[name] + m.gain_v * u[name] + m.bias_per_step
            s = (v[name] > m.v_th) if m.spiking else np.zeros(sizes[name], bool)
            v[name] = np.where(s, m.v_reset, v[name])
            sent[name] = s.astype(np.float64)
            res.spikes[name][t - 1] = s
            res.v[name][t - 1] = v[name]
            if name in res.u:
                res.u[name][t - 1] = u[name]
        for name in net.inputs:
            r = rows.get(name)
            sent[name] = np.asarray(r[t - 1], np.float64).reshape(-1) if r is not None else np.zeros(sizes[name])
        for pr in net.projections.values():
            if pr.target not in arrive:
                continue
            for d, m in mats[pr.name].items():
                arrive[pr.target][(t + 1 + d) % depth] += m @ sent[pr.source]
    res.report = {"backend": "float_reference", "dt": dnet.dt, "integration": dnet.integration,
                  "note": "float per-step models of the discretize pass with the IR's timing; no quantization"}
    return res
