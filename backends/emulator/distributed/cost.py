"""The cost model (``costmodel.py``) of a distributed run: each rank prices the messages that land on its cores
from its own shard, rank 0 sums the parts and applies the rest of the model.

A message (spike event x route entry) lives on the rank that holds its route entry: the rank of its
destination core. That rank knows everything it costs: the destination axon's synapses, the payload scale of
the route, the source core (its own neuron's core, ``Shard.foreign_core`` for another rank's neuron, the
destination for a graph-input channel) and every core's mesh position (``shards.json``). So each rank
computes, for the events delivered into its cores, the terms of ``costmodel.message_totals_numpy`` and rank 0
combines them:

* integer grids and counts (synaptic reads, messages in/out, spikes out, hops, syn_ops after the run): sums,
  exact;
* the longest message of a step (``path``): a max over ranks, exact;
* link contention: each rank counts its messages' packets per (step, directed link); rank 0 sums the counts
  and takes the per-step max of ``(load - 1) x link latency`` (``costmodel.loads_from_keys``), exact;
* the per-step spike_out and network energies and the per-core message energy: each rank sums its messages'
  integer moments (``costmodel.MOMENT_FIELDS``: counts, hops, payload bits x hops) per step and per sending
  core; rank 0 adds the integers and applies ``costmodel.energy_from_moments``, the same float formula one
  process applies to its own moments, so every energy is bit-identical to one process (``tests/test_mpi.py``).

Memory per rank: O(messages landing on its cores) (the numpy spec's one row per message, not the numba pass).
"""
from __future__ import annotations

import numpy as np

from .. import costmodel as CM


def rank_totals(shard, rows: np.ndarray, sids: np.ndarray, steps: int) -> dict:
    """This rank's part of the message totals: ``rows``/``sids`` are every spike event delivered into its
    cores (0-based step, the shard's source id): its own neurons' spikes, the received remote spikes and the
    graph-input channels routed here."""
    tables, meta, target = shard.tables, shard.meta, shard.target
    n_cores = int(meta["n_cores"])
    phys = np.asarray(meta["physical_core"], np.int64)
    rows, sids = np.asarray(rows, np.int64), np.asarray(sids, np.int64)
    n_r = tables.n_neurons
    src_gid = np.concatenate([shard.neuron_gid, shard.foreign_src])
    src_core = np.concatenate([shard.core_gid[tables.neuron_core()], shard.foreign_core])
    ev, r = CM.message_routes(tables, sids)
    m_step, m_sid = rows[ev], sids[ev]
    m_dst = shard.core_gid[np.asarray(tables.route_core, np.int64)[r]]
    axon = np.asarray(tables.route_axon, np.int64)[r]
    asp = np.asarray(tables.axon_syn_ptr, np.int64)
    m_nsyn = asp[axon + 1] - asp[axon]
    from_neuron = src_gid[m_sid] < int(meta["n_neurons"])
    m_src = np.where(from_neuron, src_core[m_sid], m_dst)
    ew, ns, ic = CM.pair_hops(target.mesh, phys, m_src, m_dst)
    bits, packet = CM.route_payload_bits(target, tables)
    m_bits = bits[r]
    m_lat = CM.message_latency(target, ew, ns, ic, from_neuron, 1.0 + m_bits / packet if packet
                               else np.ones(m_bits.size))
    loc_dst = np.asarray(tables.route_core, np.int64)[r]
    recv = m_step + 1 < steps
    c_r = int(tables.n_cores)

    def grid(step, core, weights=None):            # [steps, this rank's cores]
        return np.bincount(step * c_r + core, weights=weights, minlength=steps * c_r).reshape(steps, c_r)

    own = sids < n_r
    n_links = CM.link_table(target.mesh, {k: q.value for k, q in target.costs.latency.items()})[5].size
    link_keys, link_loads = CM.step_link_loads(target.mesh, m_step, phys[m_src], phys[m_dst], n_links)
    out_keys, out_cnt = np.unique(m_step[from_neuron] * n_cores + m_src[from_neuron], return_counts=True)
    return {"cores": shard.core_gid,
            "neurons_per_core": np.diff(np.asarray(tables.core_neuron_ptr, np.int64)),
            "axons_per_core": np.diff(np.asarray(tables.core_axon_ptr, np.int64)),
            "syn_ops": grid(m_step[recv] + 1, loc_dst[recv], m_nsyn[recv]).astype(np.int64),
            "msgs_in": grid(m_step[recv] + 1, loc_dst[recv]).astype(np.int64),
            "spikes_out": grid(rows[own], tables.neuron_core()[sids[own]]).astype(np.int64),
            "msgs_out": (out_keys, out_cnt), "links": (link_keys, link_loads),
            "path": CM._segment_max(m_lat, m_step, steps),
            "moments": CM.moment_sums(CM.message_moment_rows(ew, ns, ic, from_neuron, m_bits), m_step, m_src,
                                      steps, n_cores),
            "ints": np.array([m_nsyn[~recv].sum(), ew.sum(), ns.sum(), ic.sum(), m_step.size, (~from_neuron).sum()],
                             np.int64)}


def events_of_rank(shard, ev_step, ev_src):
    """``(steps, shard source ids)`` of the spike events (global source ids, a one-process run's
    ``spike_events``) that ``shard``'s rank delivers into its cores: the input of :func:`rank_totals` when a
    run is replayed rank by rank in one process (tests, ``benchmarks/mpi_cost.py``)."""
    n_r = shard.neuron_gid.size
    sid = np.full(int(shard.meta["n_sources"]), -1, np.int64)
    sid[shard.neuron_gid] = np.arange(n_r)
    sid[shard.foreign_src] = n_r + np.arange(shard.foreign_src.size)
    mine = sid[np.asarray(ev_src, np.int64)]
    return np.asarray(ev_step, np.int64)[mine >= 0], mine[mine >= 0]


def merge_totals(target, parts: list, n_cores: int, steps: int):
    """Rank 0: the ranks' :func:`rank_totals` -> ``(message totals as message_totals gives them, neurons per
    core, input axons per core)`` of the whole network."""
    link_lat = CM.link_table(target.mesh, {k: q.value for k, q in target.costs.latency.items()})[5]
    grids = {k: np.zeros((steps, n_cores), np.int64) for k in ("syn_ops", "msgs_in", "spikes_out")}
    per_core, axons = np.zeros(n_cores, np.int64), np.zeros(n_cores, np.int64)
    path = np.zeros(steps)
    mom_step, mom_core = np.zeros((steps, 9), np.int64), np.zeros((n_cores, 9), np.int64)
    ints = np.zeros(6, np.int64)
    for p in parts:
        for k in grids:
            grids[k][:, p["cores"]] = p[k]
        per_core[p["cores"]], axons[p["cores"]] = p["neurons_per_core"], p["axons_per_core"]
        np.maximum(path, p["path"], out=path)
        mom_step += p["moments"][0]
        mom_core += p["moments"][1]
        ints += p["ints"]
    out_keys = np.concatenate([p["msgs_out"][0] for p in parts])
    msgs_out = np.bincount(out_keys, weights=np.concatenate([p["msgs_out"][1] for p in parts]),
                           minlength=steps * n_cores).astype(np.int64).reshape(steps, n_cores)
    keys, inv = np.unique(np.concatenate([p["links"][0] for p in parts]), return_inverse=True)
    loads = np.bincount(inv, weights=np.concatenate([p["links"][1] for p in parts])).astype(np.int64)
    contention, link_total, link_maxstep = CM.loads_from_keys(keys, loads, link_lat, steps)
    m = dict(grids, msgs_out=msgs_out, path=path, contention=contention, link_total=link_total,
             link_maxstep=link_maxstep, **CM.energies(target, mom_step, mom_core))
    m.update(zip(("syn_after", "hops_ew", "hops_ns", "hops_ic", "n_messages", "n_input_messages"),
                 (int(x) for x in ints)))
    return m, per_core, axons


def estimate_ranks(target, parts: list, meta: dict, active, steps: int) -> dict:
    """Rank 0: ``costmodel.estimate`` of the whole run from the ranks' parts (no learning, no partial sums:
    shards refuse both)."""
    m, per_core, axons = merge_totals(target, parts, int(meta["n_cores"]), steps)
    active = np.asarray(active, np.int64)
    return CM.estimate_from_totals(target, np.asarray(meta["physical_core"], np.int64), per_core, axons, m, active,
                                   np.zeros_like(active), steps)


def can_estimate(shard) -> bool:
    """Whether the shard carries what the per-rank cost model needs (the target and every core's position)."""
    return shard.target is not None and shard.meta.get("physical_core") is not None

