"""One distributed emulation: every rank steps its shard's neurons, exchanges the step's spikes, then
delivers local and remote spikes into its own synapses; rank 0 gathers the Result.

Per step t on each rank (bulk-synchronous, as Compass/NEST do every tick)::

    run_steps(t, t) with no routes       # phase 1+2: dendrites and neurons of the rank's cores
    Exchange(spiking neurons)            # Alltoallv to the ranks that hold routes for them
    deliver_events(local + graph-input + remote events)   # phase 3: packets and synapses

Every integer the kernel adds lands in the same ring cell as in one process (only the order of
additions differs, and integer sums do not depend on it), so spikes, state and every per-core counter
are bit-identical to one process: a core's counters are counted only on its rank, and ``packets_out``
of a neuron adds the routes that leave its rank (``Shard.remote_routes``).
"""
from __future__ import annotations

import time

import numpy as np

from ....errors import ValidationError
from ....result import Result
from ....semantics.inputs import InputSpec, check_run
from .. import engine as E
from .. import kernels as K
from .comm import Exchange
from .shard import FOREIGN, Shard


def input_spec(meta: dict) -> InputSpec:
    """The graph inputs of the sharded network (``shards.json``), as the single-process run checks them."""
    spec = meta.get("input_spec")
    sizes = {name: meta["input_ptr"][i + 1] - meta["input_ptr"][i] for i, name in enumerate(meta["input_names"])}
    if spec is None:
        return InputSpec.of_sizes("the network", sizes)
    return InputSpec(spec["owner"], tuple(spec["names"]), {k: tuple(v) for k, v in spec["shapes"].items()},
                     {}, frozenset(spec["loose"]), dict(spec["graded"]))


def _input_events(shard: Shard, rows: dict, steps: int):
    """Graph-input events that reach this rank (global ids mapped to the shard's source ids), per step, and
    every input event's ``(row, global source id)`` (rank 0 counts the inputs' ``spikes_per_source`` and spike
    events from them)."""
    meta = shard.meta
    n = meta["n_neurons"]
    r_l, s_l, v_l = [], [], []
    for i, name in enumerate(meta["input_names"]):
        r, ch = np.nonzero(rows[name])
        r_l.append(r.astype(np.int64))
        s_l.append(n + int(meta["input_ptr"][i]) + ch.astype(np.int64))
        v_l.append(np.asarray(rows[name][r, ch], np.int64))
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64)
    r, src, val = cat(r_l), cat(s_l), cat(v_l)
    pos = np.searchsorted(shard.foreign_src, src)
    here = (pos < shard.foreign_src.size) & (shard.foreign_src[np.minimum(pos, max(shard.foreign_src.size - 1, 0))]
                                             == src) if shard.foreign_src.size else np.zeros(src.size, bool)
    sid = shard.tables.n_neurons + pos[here]
    order = np.lexsort((sid, r[here]))
    ptr = np.searchsorted(r[here][order], np.arange(steps + 1)).astype(np.int64)
    return K.InputEvents(ptr, sid[order], val[here][order]), (r, src)


def run_rank(shard: Shard, comm, steps: int, inputs: dict | None = None, record=("spikes", "v"), *,
             counters: bool = True, memory_budget: int | None = None, exchange_every: int | None = None,
             cost: bool = False) -> Result | None:
    """Run this rank's shard for ``steps`` steps with the others; rank 0 returns the gathered Result (the
    same as a one-process ``emulate(..., timing=False)``), the other ranks None. ``exchange_every``: steps
    per exchange (None: the most the cross-rank delays allow, ``shards.json``; 1: every step). ``cost``
    (needs ``counters`` and a shard with its target, ``cost.can_estimate``): every rank prices the messages
    landing on its cores and rank 0 adds energy/latency as one process's analytic model does (``cost.py``)."""
    tables, meta = shard.tables, shard.meta
    if comm.Get_size() != shard.n_ranks:
        raise ValidationError(f"the shards are for {shard.n_ranks} ranks but mpiexec started {comm.Get_size()}; "
                              f"run mpiexec -n {shard.n_ranks}, or shard again with --ranks {comm.Get_size()}")
    steps, record, rows = check_run(input_spec(meta), steps, inputs, record, tables.n_neurons)
    plan = E.make_plan(tables, count_rows=counters)
    state = E.initial_state(tables, plan)
    # the foreign sources' pseudo input is skipped like a reward input: the exchange delivers them
    run = E._setup_run(tables, plan, steps, record, {}, {FOREIGN}, None, counters, False, memory_budget, [], True, {})
    events, input_events = _input_events(shard, rows, steps)
    spike_rows, spike_src = [], []                 # this rank's neuron spike events (the cost model's input)
    cost = cost and counters
    recv_rows, recv_sids = [], []                  # remote spikes delivered here (the per-rank cost model's)
    no_routes = plan.routes._replace(route_ptr=np.zeros_like(plan.routes.route_ptr),   # no source's runs joined
                                     src_run_ptr=plan.routes.src_run_ptr[:0],     # across routes either, and
                                     count_row=plan.routes.count_row[:0])         # nothing counted
    no_inputs = K.InputEvents(np.zeros(steps + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    psums = plan.psums._replace(mark=np.zeros(0, np.int64))
    cnt = run.counters
    elsewhere = cnt._replace(per_source=np.zeros(cnt.per_source.size, np.int64))   # counted once, on the owner
    n_src = max(tables.n_sources, 1)
    spiked = np.zeros(n_src, np.int64)
    ev_src = np.zeros(n_src, np.int64)
    ev_val = np.zeros(n_src, np.int64)
    every = _exchange_every(meta, exchange_every)
    exchange = Exchange(comm, shard.dest_ptr, shard.dest_rank, shard.dest_sid, with_steps=every > 1)
    neuron_core = plan.neuron_core
    held_src, held_val, held_t = [], [], []        # spikes waiting for the next exchange (every > 1)
    t_exchange = 0.0
    comm.Barrier()
    t_start = time.perf_counter()
    for seg_first, seg_last, held, fresh in E.onset_segments(tables, 1, steps):
        neurons = E._segment_neurons(tables, plan, state, held, fresh)
        for t in range(seg_first, seg_last + 1):
            row = t - 1
            # every argument given, as EngineState.run_kernel does: one signature, one compile, its entry kept
            n = E.call_kernel((t, t, 0, neurons, plan.dendrites, state.work, no_routes, no_inputs, run.recorder, cnt,
                               spiked, psums, 1, K.ROW_BUFFER, float(K.PAR_STEP_NS)))
            loc, pay = spiked[:n].copy(), state.work.payload[:n].copy()
            if counters and n:
                np.add.at(cnt.per_core[K.C_PK_OUT, row], neuron_core[loc], shard.remote_routes[loc])
                spike_rows.append(np.full(n, row, np.int64))
                spike_src.append(shard.neuron_gid[loc])
            if every == 1:
                t1 = time.perf_counter()
                r_src, r_val, _ = exchange(loc, pay)
                t_exchange += time.perf_counter() - t1
                if cost:
                    recv_rows.append(np.full(r_src.size, row, np.int64))
                    recv_sids.append(r_src)
            else:                                  # remote spikes wait; local ones are delivered now
                r_src = r_val = loc[:0]
                held_src.append(loc)
                held_val.append(pay)
                held_t.append(np.full(n, t, np.int64))
            i0, i1 = events.in_ptr[row], events.in_ptr[row + 1]
            m = n + (i1 - i0)
            k = m + r_src.size
            ev_src[:n], ev_val[:n] = loc, pay
            ev_src[n:m], ev_val[n:m] = events.in_src[i0:i1], events.in_val[i0:i1]
            ev_src[m:k], ev_val[m:k] = r_src, r_val
            K.deliver_events(t, row, ev_src, ev_val, k, plan.dendrites, state.work, plan.routes, elsewhere, psums)
            if every > 1 and (len(held_t) == every or t == steps):
                t1 = time.perf_counter()
                r_src, r_val, r_t = exchange(np.concatenate(held_src), np.concatenate(held_val), np.concatenate(held_t))
                t_exchange += time.perf_counter() - t1
                if cost:
                    recv_rows.append(r_t - 1)
                    recv_sids.append(r_src)
                _deliver_held(t - len(held_t) + 1, t, r_src, r_val, r_t, plan, state, elsewhere, psums)
                held_src, held_val, held_t = [], [], []
    wall = time.perf_counter() - t_start
    t_compute = wall - t_exchange
    part = {"rank": shard.rank, "cores": shard.core_gid, "neuron_gid": shard.neuron_gid,
            "recorded": _recorded(shard, run), "per_core": cnt.per_core if counters else None,
            "per_source": cnt.per_source[:tables.n_neurons] if counters else None,
            "compute_s": t_compute, "exchange_s": t_exchange, "bytes_sent": exchange.bytes_sent, "rounds": exchange.rounds, "every": every,
            "n_synapses": tables.n_synapses, "plan_bytes": int(plan.nbytes),
            "events": (np.concatenate(spike_rows) if spike_rows else np.zeros(0, np.int64),
                       np.concatenate(spike_src) if spike_src else np.zeros(0, np.int64))}
    if cost:
        part["cost"] = _rank_cost(shard, spike_rows, spike_src, recv_rows, recv_sids, events, steps)
    parts = comm.gather(part, root=0)
    if comm.Get_rank() != 0:
        return None
    res = _assemble(meta, parts, steps, counters, input_events, wall)
    if cost:
        from ..engine import store_cost
        from .cost import estimate_ranks
        res.report.pop("spike_events")
        store_cost(res.report, estimate_ranks(shard.target, [p["cost"] for p in parts], meta,
                                              res.report["counters"]["neurons_active"], steps))
        res.report["mpi"]["cost"] = "per rank (backends/emulator/distributed/cost.py)"
    return res


def _rank_cost(shard: Shard, spike_rows, spike_gid, recv_rows, recv_sids, events, steps: int) -> dict:
    """This rank's message totals (``cost.rank_totals``) of every event delivered into its cores: its neurons'
    spikes, the remote spikes it received and the graph-input channels routed to it."""
    from .cost import rank_totals
    own_gid = np.concatenate(spike_gid) if spike_gid else np.zeros(0, np.int64)
    own = np.searchsorted(shard.neuron_gid, own_gid)           # neuron_gid is sorted (global table order)
    rows = np.concatenate([np.concatenate(spike_rows) if spike_rows else own_gid[:0],
                           np.repeat(np.arange(steps, dtype=np.int64), np.diff(events.in_ptr))] + recv_rows)
    sids = np.concatenate([own, np.asarray(events.in_src, np.int64)] + recv_sids)
    return rank_totals(shard, rows, sids, steps)


def _exchange_every(meta: dict, asked) -> int:
    allowed = int(meta.get("exchange_every", 1))
    if asked is None:
        return allowed
    if not isinstance(asked, (int, np.integer)) or not 1 <= asked <= allowed:
        raise ValidationError(f"exchange_every={asked!r}: this network allows 1..{allowed} steps per exchange (the "
                              "smallest delay of a synapse between ranks, + 1; 1 where a delayed sum is shifted "
                              "right or Conv-cast)")
    return int(asked)


def _deliver_held(first: int, last: int, src, val, steps, plan, state, counts, psums) -> None:
    """Phase 3 of the remote spikes of steps ``first..last``, one step at a time in their own step (their
    ring slots and counter rows), after step ``last``: every delay between ranks is >= last - first."""
    order = np.argsort(steps, kind="stable")
    src, val, steps = src[order], val[order], steps[order]
    cut = np.searchsorted(steps, np.arange(first, last + 2))
    for t in range(first, last + 1):
        a, b = cut[t - first], cut[t - first + 1]
        if b > a:
            K.deliver_events(t, t - 1, np.ascontiguousarray(src[a:b]), np.ascontiguousarray(val[a:b]), b - a,
                             plan.dendrites, state.work, plan.routes, counts, psums)


def _recorded(shard: Shard, run) -> dict:
    """Per recorded population: (indices in the population, arrays [T, k] of what was recorded)."""
    rec = run.recorder
    out = {}
    extra = E.state_vars(run.record)
    for name, (a, b) in run.cols.items():
        gid = shard.tables.pop_gid[name]
        arrays = {}
        if rec.do_spikes:
            arrays["spikes"] = rec.spikes[:, a:b]
        if rec.do_v:
            arrays["v"] = rec.v[:, a:b]
        if rec.do_u:
            arrays["u"] = rec.u[:, a:b]
        if rec.do_payloads and E.kind_of_pop(shard.tables, name).graded:
            arrays["payloads"] = rec.payloads[:, a:b]
        for e, var in enumerate(extra):
            if var in E.kind_of_pop(shard.tables, name).state:
                arrays["state/" + var] = rec.state[e, :, a:b]
        out[name] = (shard.neuron_index[gid], arrays)
    return out


def _assemble(meta: dict, parts: list, steps: int, counters: bool, input_events: tuple, wall: float) -> Result:
    """Rank 0: the one-process Result from every rank's part; with counters also ``report["spike_events"]``
    (every neuron and graph-input spike, as ``emulate_tables(events=True)`` gives them to the cost model)."""
    res = Result(steps=steps)
    sizes = dict(zip(meta["pop_names"], meta["pop_sizes"]))
    for part in parts:
        for name, (index, arrays) in part["recorded"].items():
            for key, arr in arrays.items():
                if key.startswith("state/"):
                    group = res.state.setdefault(key[6:], {})
                else:
                    group = getattr(res, key)
                if name not in group:
                    group[name] = np.zeros((steps, sizes[name]), arr.dtype)
                group[name][:, index] = arr
    n_syn = sum(p["n_synapses"] for p in parts)
    per_core = per_source = events = None
    if counters:
        per_core = np.zeros((len(K.COUNTER_NAMES), steps, meta["n_cores"]), np.int64)
        per_source = np.zeros(meta["n_sources"], np.int64)
        for part in parts:
            per_core[:, :, part["cores"]] = part["per_core"]
            per_source[part["neuron_gid"]] = part["per_source"]
        np.add.at(per_source, input_events[1], 1)
        ev_step = np.concatenate([p["events"][0] for p in parts] + [input_events[0]])
        ev_src = np.concatenate([p["events"][1] for p in parts] + [input_events[1]])
        order = np.lexsort((ev_src, ev_step))
        events = {"step": ev_step[order], "source": ev_src[order]}
    report = E.counted_report(steps, "numba-mpi", wall, (meta["n_cores"], meta["n_neurons"], n_syn), per_core,
                              per_source, events,
                              note="distributed functional emulation; energy/latency need timing on and the target "
                                   "(an artifact, or shards written from one: docs/mpi.md)")
    report["mpi"] = {"ranks": len(parts), "cores_per_rank": [int(p["cores"].size) for p in parts],
                     "synapses_per_rank": [int(p["n_synapses"]) for p in parts],
                     "plan_bytes_per_rank": [p["plan_bytes"] for p in parts],
                     "compute_s_per_rank": [p["compute_s"] for p in parts],
                     "exchange_s_per_rank": [p["exchange_s"] for p in parts],
                     "bytes_sent_per_step": sum(p["bytes_sent"] for p in parts) / max(steps, 1),
                     "exchange_every": parts[0]["every"], "exchange_rounds": parts[0]["rounds"]}
    res.report.update(report)
    return res
