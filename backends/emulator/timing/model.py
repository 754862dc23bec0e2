"""From a run (spike events, per-core counters, placement) to the message-level timing model's inputs and
back to seconds: parameters in ticks, per-step work, the numba run or the Python spec, the report section."""
from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from ....errors import TargetError, ValidationError
from ....lazyreport import LazyReport
from ....mapping import mesh as geometry
from ....target import TIMING_KEYS
from . import kernel, spec

#: One tick of the model (s). Every latency of the target is rounded to whole ticks.
TICK = 1e-12


def ticks(seconds: float) -> int:
    return int(round(float(seconds) / TICK))


def params(target, phys) -> spec.Params:
    """The target's latencies (``[latency]``, ``[timing]``) in ticks and the mesh geometry of the placement."""
    costs = target.costs
    missing = [k for k in TIMING_KEYS if k not in costs.timing]
    if missing:
        raise TargetError(f"hardware model {target.path or target.name}: no [timing] section ({', '.join(missing)} "
                          "missing); the cycle timing model needs buffer_depth, flits_per_message, flit_time and "
                          "spike_generation (see hw_models/loihi.toml), or use timing='analytic'")
    L = {k: q.value for k, q in costs.latency.items()}
    T = {k: q.value for k, q in costs.timing.items()}
    *_, link_lat = geometry.link_table(target.mesh, L)
    gx, gy, _, _ = geometry.tile_arrays(target.mesh, phys)
    gx_n, gy_n = geometry.grid_size(target.mesh)
    return spec.Params(
        syn=ticks(L["syn_op"]), act=ticks(L["neuron_update_active"]), idle=ticks(L["neuron_update_idle"]),
        out=ticks(L["spike_out"]), gen=ticks(T["spike_generation"]), win=ticks(L["spike_within_tile"]),
        learn=ticks(L["learning_update"]), occ=int(T["flits_per_message"]) * ticks(T["flit_time"]),
        depth=int(T["buffer_depth"]), link_lat=[ticks(v) for v in link_lat], gx_n=gx_n, gy_n=gy_n,
        core_x=gx.tolist(), core_y=gy.tolist(),
        psum=ticks(target.partial_sums.latency.value) if target.partial_sums.latency else 0)


def psum_axons(tables):
    """Split dendrites: ``(axon_psum_ptr, axon_psum)``, the partial-sum routes (``tables.psum_*`` ids) each
    axon's synapses feed, as CSR over axons (empty routes when nothing is split)."""
    n_ax = tables.n_axons
    if not tables.n_psum:
        return np.zeros(n_ax + 1, np.int64), np.zeros(0, np.int64)
    from ....mapping.tables import psum_keys
    foreign, seg_core, post = psum_keys(tables, tables.neuron_core())
    n = max(tables.n_neurons, 1)
    keys = np.asarray(tables.psum_core, np.int64) * n + np.asarray(tables.psum_neuron, np.int64)
    route = np.searchsorted(keys, seg_core * n + post)
    axon = np.repeat(np.arange(n_ax, dtype=np.int64), np.diff(np.asarray(tables.axon_syn_ptr, np.int64)))[foreign]
    pairs = np.unique(axon * max(keys.size, 1) + route)
    ax, q = pairs // max(keys.size, 1), pairs % max(keys.size, 1)
    return np.searchsorted(ax, np.arange(n_ax + 1)).astype(np.int64), q.astype(np.int64)


def sort_events(ev_step, ev_src):
    """Events by step, then source (neuron order within a core: a core's neurons have consecutive ids); events
    already in that order (the emulator records them so) are only copied to int64, not sorted again."""
    st, src = np.asarray(ev_step, np.int64), np.asarray(ev_src, np.int64)
    if st.size < 2 or not np.any((st[1:] < st[:-1]) | ((st[1:] == st[:-1]) & (src[1:] < src[:-1]))):
        return np.ascontiguousarray(st), np.ascontiguousarray(src)
    order = np.lexsort((src, st))
    return np.ascontiguousarray(st[order]), np.ascontiguousarray(src[order])


def step_inputs(tables, ev_step, ev_src, active, learn, steps: int):
    """``spec.StepInput`` of every step (events sorted by ``sort_events``)."""
    n = tables.n_neurons
    ptr = np.asarray(tables.core_neuron_ptr, np.int64)
    per_core = np.diff(ptr).tolist()
    n_cores = len(per_core)
    neuron_core = np.repeat(np.arange(n_cores), np.diff(ptr))
    rp = np.asarray(tables.route_ptr, np.int64)
    rc = np.asarray(tables.route_core, np.int64)
    ra = np.asarray(tables.route_axon, np.int64)
    asp = np.asarray(tables.axon_syn_ptr, np.int64)
    app, ap = psum_axons(tables)
    psum_src = np.asarray(tables.psum_core, np.int64)
    psum_dst = neuron_core[np.asarray(tables.psum_neuron, np.int64)]
    bounds = np.searchsorted(ev_step, np.arange(steps + 1))
    for t in range(steps):
        fired = [[] for _ in range(n_cores)]
        host = [[] for _ in range(n_cores)]
        sent = set()               # partial-sum routes whose synapses a message of this step reached
        for s in ev_src[bounds[t]:bounds[t + 1]].tolist():
            msgs = [(int(rc[r]), int(asp[ra[r] + 1] - asp[ra[r]])) for r in range(rp[s], rp[s + 1])]
            for r in range(rp[s], rp[s + 1]):
                sent.update(ap[app[ra[r]]:app[ra[r] + 1]].tolist())
            if s < n:
                c = int(neuron_core[s])
                fired[c].append((s - int(ptr[c]), msgs))
            else:
                for d, k in msgs:
                    host[d].append(k)
        psum = [[] for _ in range(n_cores)]
        for q in sorted(sent):
            psum[int(psum_src[q])].append(int(psum_dst[q]))
        yield spec.StepInput(per_core, active[t].tolist(), learn[t].tolist(), fired, host, psum)


def run_spec(p: spec.Params, tables, ev_step, ev_src, active, learn, steps: int) -> dict:
    """All steps with the Python spec; the same fields as ``run_numba``."""
    outs = [spec.simulate_step(p, s) for s in step_inputs(tables, ev_step, ev_src, active, learn, steps)]
    n_links = p.gx_n * p.gy_n * 4
    n_cores = len(p.core_x)
    n_buf = n_links + 2 * n_cores
    res = {"latency": np.array([o.latency for o in outs], np.int64),
           "soma_max": np.array([max(o.soma_end, default=0) for o in outs], np.int64),
           "input_max": np.array([max(o.in_end, default=0) for o in outs], np.int64),
           "sender_stall": np.sum([o.sender_stall for o in outs], axis=0).astype(np.int64).reshape(n_cores),
           "link_busy": np.zeros(n_links, np.int64), "link_stall": np.zeros(n_links, np.int64),
           "buf_peak": np.zeros(n_buf, np.int64),
           "n_messages": np.array([o.n_messages for o in outs], np.int64),
           "n_psum": np.array([o.n_psum for o in outs], np.int64)}
    for o in outs:
        for k, v in o.link_busy.items():
            res["link_busy"][k] += v
        for k, v in o.link_stall.items():
            res["link_stall"][k] += v
        for k, v in o.buf_peak.items():
            res["buf_peak"][k] = max(res["buf_peak"][k], v)
    return res


#: Trace rows first allocated per message and core (a second run sizes it exactly when short).
TRACE_ROWS_GUESS = 8


#: Core pairs are numbered through a flag per possible pair up to this many pairs (else by sorting).
DENSE_PAIRS = 1 << 22


def message_paths(p: spec.Params, tables):
    """The route every message takes, once per (sending core, receiving core) pair: ``(route_path, psum_path,
    path_ptr, path_out)``, the pair of each route entry (graph-input routes: the receiving core to itself,
    never walked) and of each partial-sum route, and each pair's outputs (``kernel.route_paths``)."""
    n_cores = len(p.core_x)
    rp = np.asarray(tables.route_ptr, np.int64)
    rc = np.asarray(tables.route_core, np.int64)
    neuron_core = tables.neuron_core()
    src = np.repeat(np.arange(rp.size - 1, dtype=np.int64), np.diff(rp))
    sc = rc.copy()
    own = src < tables.n_neurons
    sc[own] = neuron_core[src[own]]
    key = np.concatenate([sc * n_cores + rc, np.asarray(tables.psum_core, np.int64) * n_cores
                          + neuron_core[np.asarray(tables.psum_neuron, np.int64)]])
    if n_cores * n_cores <= DENSE_PAIRS:        # a flag per pair instead of sorting the keys (same ids)
        used = np.zeros(n_cores * n_cores, bool)
        used[key] = True
        pairs = np.flatnonzero(used)
        which = (np.cumsum(used) - 1)[key]
    else:
        pairs, which = np.unique(key, return_inverse=True)
    ptr, out = kernel.route_paths(pairs // n_cores, pairs % n_cores, np.asarray(p.core_x, np.int64),
                                  np.asarray(p.core_y, np.int64), p.gx_n, p.gx_n * p.gy_n * 4)
    which = which.astype(np.int64).reshape(-1)
    return which[:rc.size], which[rc.size:], ptr, out


def run_numba(p: spec.Params, tables, ev_step, ev_src, active, learn, steps: int, trace: bool = False,
              threads: int | None = None) -> dict:
    """All steps with the numba kernel (``kernel.simulate_run``); with ``trace`` also ``"trace"``, the busy
    intervals (rows kind, id, start, end in ticks from the start of their step). ``threads``: blocks of steps
    run in parallel (None: ``engine.kernel_thread_count``, the emulator kernel's rule); results do not depend
    on it."""
    from ..engine import kernel_thread_count
    if threads is None:
        threads = kernel_thread_count(tables)
    lat = np.array([p.syn, p.act, p.idle, p.out, p.gen, p.win, p.learn, p.occ, p.depth, p.psum], np.int64)
    app, ap = psum_axons(tables)
    route_axon = np.asarray(tables.route_axon, np.int64)
    route_cost = p.win + np.diff(np.asarray(tables.axon_syn_ptr, np.int64))[route_axon] * p.syn
    route_path, psum_path, path_ptr, path_out = message_paths(p, tables)
    args = (ev_step, ev_src, int(tables.n_neurons), np.asarray(tables.core_neuron_ptr, np.int64),
            np.asarray(tables.route_ptr, np.int64), np.asarray(tables.route_core, np.int64), route_axon,
            route_cost, route_path, app, ap, tables.neuron_core()[np.asarray(tables.psum_neuron, np.int64)],
            psum_path, np.asarray(tables.core_psum_ptr, np.int64), path_ptr, path_out,
            np.ascontiguousarray(active, np.int64), np.ascontiguousarray(learn, np.int64), lat,
            np.asarray(p.link_lat, np.int64), p.gx_n * p.gy_n * 4, int(steps), bool(trace), int(threads))
    n_msgs = int(np.diff(np.asarray(tables.route_ptr, np.int64))[ev_src].sum()) if trace else 0   # at most
    return call_kernel(kernel.simulate_run, args, trace, TRACE_ROWS_GUESS * (n_msgs + len(p.core_x)))


def call_kernel(run, args, trace: bool, rows: int) -> dict:
    """``run(*args, tr)`` (a ``simulate_run``) as ``run_numba``'s dict; with ``trace`` a trace array of ``rows``
    rows first, sized again to the count the kernel returns when short."""
    tr = np.zeros((rows if trace else 0, 4), np.int64)
    r = run(*args, tr)
    if trace and r[-1] > tr.shape[0]:          # more intervals than guessed: run again with room for all
        tr = np.zeros((r[-1], 4), np.int64)
        r = run(*args, tr)
    keys = ("latency", "soma_max", "input_max", "sender_stall", "link_busy", "link_stall", "buf_peak", "n_messages",
            "n_psum")
    out = dict(zip(keys, r))
    if trace:
        out["trace"] = tr[:r[-1]]
    return out


class Prepared(NamedTuple):
    """A run's inputs checked as the analytic ``estimate`` checks them, events sorted (``sort_events``), each
    (step, source) once, and the target's parameters: what ``simulate`` runs and ``trace_step`` slices."""
    p: spec.Params
    steps: int
    st: np.ndarray
    src: np.ndarray
    act: np.ndarray
    learn: np.ndarray


def prepare(target, tables, physical_core, spike_steps, spike_sources, neuron_active, steps: int,
            learn_ops=None) -> Prepared:
    from ..costmodel import _check_inputs
    steps, n_cores, phys, st, src, act, per_core, learn = _check_inputs(
        target, tables, physical_core, spike_steps, spike_sources, neuron_active, steps, learn_ops)
    st, src = sort_events(st, src)
    dup = np.nonzero((st[1:] == st[:-1]) & (src[1:] == src[:-1]))[0]
    if dup.size:
        raise ValidationError(f"cycle timing: source {int(src[dup[0]])} spikes twice at step {int(st[dup[0]])}; "
                              "give each (step, source) spike event once")
    return Prepared(params(target, phys), steps, st, src, act, learn)


def _engine(engine: str):
    if engine not in ("numba", "spec"):
        raise ValidationError(f"cycle timing: engine must be 'numba' or 'spec', got {engine!r}")
    return run_numba if engine == "numba" else run_spec


def simulate(target, tables, physical_core, spike_steps, spike_sources, neuron_active, steps: int,
             learn_ops=None, engine: str = "numba", prepared: Prepared | None = None,
             threads: int | None = None) -> dict:
    """Per-step results of the message-level model in ticks (see ``run_numba``, also for ``threads``), inputs
    checked as the analytic ``estimate`` checks them (``prepare``; or ``prepared``, its result for these
    inputs)."""
    run = _engine(engine)
    q = prepared or prepare(target, tables, physical_core, spike_steps, spike_sources, neuron_active, steps,
                            learn_ops)
    if run is run_numba:
        return run_numba(q.p, tables, q.st, q.src, q.act, q.learn, q.steps, threads=threads)
    return run(q.p, tables, q.st, q.src, q.act, q.learn, q.steps)


#: The timeline of one step keeps at most this many busy intervals (the earliest) in report.json.
TRACE_MAX_INTERVALS = 20_000
#: Steps with more messages are not traced (bounds the trace's size).
TRACE_MAX_MESSAGES = 20_000
TRACE_KINDS = ("soma", "stall", "input", "link")


def trace_step(target, tables, physical_core, spike_steps, spike_sources, neuron_active, steps: int, step: int,
               learn_ops=None, engine: str = "numba", prepared: Prepared | None = None) -> dict:
    """Busy intervals of one step, from the numba kernel run on that step alone (``engine="spec"``: the Python
    spec, the same intervals): ``{"step", "intervals": [[kind, id, start_s, end_s], ...], "truncated"}``, in
    order of start, kind, id, end; kinds ``TRACE_KINDS`` (id: logical core, or mesh link). ``prepared``: the
    run's ``prepare`` result (the step's events are then a slice of its sorted events, checked once)."""
    run = _engine(engine)
    q = prepared or prepare(target, tables, physical_core, spike_steps, spike_sources, neuron_active, steps,
                            learn_ops)
    lo, hi = np.searchsorted(q.st, [step, step + 1])
    st, src, act, learn = q.st[lo:hi] - step, q.src[lo:hi], q.act[step:step + 1], q.learn[step:step + 1]
    if run is run_spec:
        one = next(step_inputs(tables, st, src, act, learn, 1))
        iv = np.array(spec.simulate_step(q.p, one, trace=True).trace, np.int64).reshape(-1, 4)
    else:
        iv = run_numba(q.p, tables, st, src, act, learn, 1, trace=True, threads=1)["trace"]
    return {"step": int(step), "kinds": list(TRACE_KINDS), "truncated": len(iv) > TRACE_MAX_INTERVALS,
            "intervals": first_intervals(iv, TRACE_MAX_INTERVALS)}


def first_intervals(iv: np.ndarray, n: int) -> list:
    """The ``n`` first rows of trace ``iv`` (kind, id, start, end in ticks) in order of start, kind, id, end, as
    ``[kind, id, start_s, end_s]`` lists. Only rows that start no later than the n-th earliest start are sorted
    (a partition finds it)."""
    if len(iv) > n:
        iv = iv[iv[:, 2] <= np.partition(iv[:, 2], n - 1)[n - 1]]
    keep = iv[np.lexsort((iv[:, 3], iv[:, 1], iv[:, 0], iv[:, 2]))[:n]]
    return list(map(list, zip(keep[:, 0].tolist(), keep[:, 1].tolist(), (keep[:, 2] * TICK).tolist(),
                              (keep[:, 3] * TICK).tolist())))


def cycle_report(target, tables, physical_core, spike_steps, spike_sources, neuron_active, steps: int,
                 analytic: dict, learn_ops=None, timeline: bool = True) -> dict:
    """The ``cost["cycle"]`` section: per-step latency, per-link busy/stall, buffer peaks, sender stalls and
    the difference to the analytic estimate ``analytic`` (``costmodel.estimate`` of the same run). With
    ``timeline``, its ``"timeline"`` (``trace_step`` of the slowest step of at most ``TRACE_MAX_MESSAGES``
    messages) is traced when first read (a ``LazyReport`` deferring that key only; not in ``wall_time_s``)."""
    t0 = time.perf_counter()
    q = prepare(target, tables, physical_core, spike_steps, spike_sources, neuron_active, steps, learn_ops)
    r = simulate(target, tables, physical_core, spike_steps, spike_sources, neuron_active, steps, prepared=q)
    barrier = analytic["latency_s"]["barrier"]
    lat = r["latency"] * TICK + barrier
    an = np.asarray(analytic["per_step"]["latency_s"], float)
    n_links = r["link_busy"].size
    n_cores = len(physical_core)
    _, _, x2, y2, _, _, _ = geometry.link_geometry(target.mesh)
    lx, ly, _ = geometry.link_coords(np.arange(n_links), geometry.grid_size(target.mesh)[0])
    used = np.nonzero(r["link_busy"] + r["buf_peak"][:n_links])[0]
    out = {
        "model": "message-level simulation, messages in injection order (backends/emulator/timing); see assumptions",
        "tick_s": TICK,
        "latency_s": {"per_step": {"mean": float(lat.mean()), "p50": float(np.median(lat)),
                                   "p99": float(np.percentile(lat, 99)), "max": float(lat.max())},
                      "total": float(lat.sum()), "barrier": barrier},
        "per_step": {"latency_s": lat.tolist(), "soma_s": (r["soma_max"] * TICK).tolist(),
                     "input_s": (r["input_max"] * TICK).tolist(), "messages": r["n_messages"].tolist(),
                     "partial_sums": r["n_psum"].tolist()},
        "vs_analytic": {"per_step_ratio_p50": float(np.median(lat / np.where(an > 0, an, 1.0))),
                        "total_ratio": float(lat.sum() / an.sum()) if an.sum() > 0 else None,
                        "analytic_total_s": float(an.sum())},
        "links": {str(int(i)): {"from": [int(lx[i]), int(ly[i])], "to": [int(x2[i]), int(y2[i])],
                                "dir": geometry.DIRECTIONS[int(i % 4)], "busy_s": float(r["link_busy"][i] * TICK),
                                "stall_s": float(r["link_stall"][i] * TICK),
                                "buffer_peak": int(r["buf_peak"][i])} for i in used},
        "cores": {"sender_stall_s": (r["sender_stall"] * TICK).tolist(),
                  "injection_buffer_peak": r["buf_peak"][n_links:n_links + n_cores].tolist(),
                  "input_queue_peak": r["buf_peak"][n_links + n_cores:].tolist()},
        "parameters": {k: q.to_dict() for k, q in target.costs.timing.items()},
        "assumptions": assumptions(target),
    }
    if target.costs.clock_hz is not None:
        hz = target.costs.clock_hz.value
        cyc = np.ceil(np.round(lat * hz, 6)).astype(np.int64)
        out["cycles"] = {"clock_hz": hz, "per_step": cyc.tolist(), "total": int(cyc.sum()),
                         "phases_max": {"soma": int(np.ceil(r["soma_max"].max() * TICK * hz)),
                                        "synapse_input": int(np.ceil(r["input_max"].max() * TICK * hz)),
                                        "barrier_round": int(np.ceil(round(barrier * hz, 6)))}}
    out["wall_time_s"] = time.perf_counter() - t0
    small = r["n_messages"] <= TRACE_MAX_MESSAGES
    if not (timeline and small.any()):
        return out
    step = int(np.argmax(np.where(small, r["latency"], -1)))   # the slowest step of bounded size

    def fill(section):                                          # when "timeline" is first read (or the whole)
        section["timeline"] = trace_step(target, tables, physical_core, spike_steps, spike_sources, neuron_active,
                                         steps, step, prepared=q)
    return LazyReport(out, fill, keys=("timeline",))


def assumptions(target) -> list[str]:
    """The message-level model's choices, with the numbers it used."""
    T = {k: q.value for k, q in target.costs.timing.items()}
    return [
        "cycle model: a spike sent at step t is read (synaptic ops) on its destination core within step t, as "
        "messages arrive, into the dendrite for step t+1 (the hardware order; the analytic mode charges the "
        "reads at t+1). Spikes of the last step are therefore charged too.",
        "cycle model: each core has a soma unit (neurons in order: idle/active update, fired: + spike_generation "
        f"{T['spike_generation']:.3g} s, then spike_out per message, injected into its router) and an input unit "
        "(per message: spike_within_tile + n_synapses x syn_op, one message at a time) working in parallel; the "
        "neurons active without firing are spread evenly over the non-fired neurons of the core.",
        f"cycle model: X-then-Y routing; router input ports and core input queues hold {int(T['buffer_depth'])} "
        f"messages; a message of {int(T['flits_per_message'])} flit(s) holds a link for {T['flit_time']:.3g} s per "
        "flit and reaches the next router after the hop latency; a full next buffer back-pressures (credit taken "
        "at departure); a full injection port stalls the soma. Messages claim links and buffers in injection "
        "order (age-based arbitration, whole route at injection), not by router-level arbitration: one injected "
        "earlier goes first at every link even if it arrives there later; cores read messages in that order.",
        "cycle model: partial sums of split dendrites are messages: one per route a spike of the step reached, "
        "sent by the segment core after its last read of the step (spike_out each), read by the soma core "
        "(partial_sums.latency each), claiming the network after the step's spike messages.",
        "cycle model: graph-input (host) messages are queued at their cores before the step and processed first.",
        "cycle model: step latency = the time the last soma or input unit finishes + the barrier of the analytic "
        "model; latencies are rounded to 1 ps ticks. Energy is the analytic model's (its static part uses the "
        "analytic latency).",
    ]
