"""Readable reference of the message-level timing model: one step, plain Python (heapq, deques, dicts).

``kernel.simulate_run`` (numba, flat arrays, all steps) is held equal to this, event for event, by
tests/test_timing_cycle.py. The semantics are written in the package docstring (``timing/__init__.py``);
in short, per step, all times integer ticks (1 ps) from the step's start:

* **soma unit** of each core walks its neurons in order: a non-fired neuron costs ``idle`` or ``active``
  (the core's count of active non-fired neurons spread evenly over its non-fired neurons, integer
  floor), a fired neuron ``active + gen``; each of its messages (route entries, in order) then costs
  ``out`` and is injected into the core's router input port. A full port stalls the soma until a slot
  frees. After the last neuron: ``learn`` per learning update.
* **network**: a message at the head of a router input buffer, ready (arrived), leaves on the output of
  its X-then-Y route when the output link is free and the next buffer has a free slot (taken at
  departure, credit style); the oldest ready head (arrival, then message id) wins an output. Leaving
  frees its slot; the link is busy for ``occ`` ticks; the head arrives ``lat[link]`` ticks later. The
  last output is the ejection into the destination core's input queue (latency 0, same ``occ``).
* **input unit** of each core takes its queue's head when idle: ``win + nsyn * syn`` ticks (the message
  is read and its synapses accumulated into the dendrite for the next step). Host (graph-input)
  messages are queued before the step starts and processed first.
* the step's latency is the time the last soma or input unit finishes (every message has then been
  processed, so the network is drained); the caller adds the barrier.
"""
from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

from ....mapping.mesh import DX, DY

SOMA, ROUTER, CORE = 0, 1, 2
#: Interval kinds of a step's trace (``simulate_step(..., trace=True)``).
TRACE_SOMA, TRACE_STALL, TRACE_INPUT, TRACE_LINK = 0, 1, 2, 3


@dataclass
class Params:
    """Latencies in ticks and the NoC geometry, as ``model.params`` builds them."""
    syn: int
    act: int
    idle: int
    out: int
    gen: int
    win: int
    learn: int
    occ: int
    depth: int
    link_lat: list           # ticks per mesh link id
    gx_n: int                # global tile grid columns
    gy_n: int
    core_x: list             # global tile of each logical core
    core_y: list


@dataclass
class StepInput:
    """One step's work. ``fired[c]``: ``[(position in core, [(dst core, nsyn), ...]), ...]`` in neuron
    order; ``host[c]``: nsyn of each host message for core c, in order."""
    n_neurons: list
    active: list
    learn: list
    fired: list
    host: list


@dataclass
class StepOutput:
    latency: int = 0
    soma_end: list = field(default_factory=list)
    in_end: list = field(default_factory=list)
    sender_stall: list = field(default_factory=list)     # ticks each soma waited for its router port
    link_busy: dict = field(default_factory=dict)        # mesh link id -> ticks occupied
    link_stall: dict = field(default_factory=dict)       # mesh link id -> ticks heads waited for it
    buf_peak: dict = field(default_factory=dict)         # buffer id -> peak occupancy (see buffer ids)
    n_messages: int = 0
    trace: list = field(default_factory=list)            # (kind, id, start, end) if traced


def soma_prefix(x, fired_before, n, active, fired_total, idle, act):
    """Ticks the soma spends on neurons 0..x-1, ``fired_before`` of which fired (see module doc)."""
    nf = n - fired_total
    extra = max(active - fired_total, 0)
    spread = (extra * (x - fired_before)) // nf if nf > 0 else 0
    return x * idle + (fired_before + spread) * (act - idle)


def route_output(p: Params, n_links: int, x: int, y: int, dst: int) -> int:
    """Output id at router (x, y) of a message for logical core ``dst``: a mesh link id, or
    ``n_links + dst`` (ejection into the core)."""
    bx, by = p.core_x[dst], p.core_y[dst]
    if bx != x:
        d = 0 if bx > x else 1
    elif by != y:
        d = 2 if by > y else 3
    else:
        return n_links + dst
    return (y * p.gx_n + x) * 4 + d


def simulate_step(p: Params, s: StepInput, trace: bool = False) -> StepOutput:
    """Event-driven simulation of one step (see module doc). Buffer ids: mesh link l -> l (the input
    port it feeds), ``n_links + c`` the injection port of core c, ``n_links + n_cores + c`` core c's
    input queue."""
    n_cores = len(p.core_x)
    n_links = p.gx_n * p.gy_n * 4
    fifo_base = n_links + n_cores
    out = StepOutput(soma_end=[0] * n_cores, in_end=[0] * n_cores, sender_stall=[0] * n_cores)
    heap: list = []
    seq = [0]
    pending_router: dict = {}
    pending_core: dict = {}

    def push(t, kind, idx):
        heapq.heappush(heap, (t, seq[0], kind, idx))
        seq[0] += 1

    # One live wake-up per router / core: the earliest one asked for. A unit re-examines everything when it
    # wakes and asks again for what it still waits on, so later requests can be dropped; an event whose
    # time is no longer the live one is stale and skipped.
    def wake_router(r, t):
        if r not in pending_router or t < pending_router[r]:
            pending_router[r] = t
            push(t, ROUTER, r)

    def wake_core(c, t):
        if c not in pending_core or t < pending_core[c]:
            pending_core[c] = t
            push(t, CORE, c)

    buffers: dict = {}           # buffer id -> deque of message ids
    blocked: set = set()         # buffers a head found full (wake their feeder when a slot frees)
    arrival: list = []           # message -> arrival time at its current buffer
    dst: list = []
    nsyn: list = []
    link_free: dict = {}

    def buf(b):
        return buffers.setdefault(b, deque())

    def enqueue(b, m, t):
        q = buf(b)
        q.append(m)
        arrival[m] = t
        if len(q) > out.buf_peak.get(b, 0):
            out.buf_peak[b] = len(q)

    def router_of(x, y):
        return y * p.gx_n + x

    tile_cores: dict = {}
    for c in range(n_cores):
        tile_cores.setdefault(router_of(p.core_x[c], p.core_y[c]), []).append(c)

    def router_inputs(r):
        x, y = r % p.gx_n, r // p.gx_n
        ins = []
        for d in range(4):       # the link arriving from the neighbour that lies opposite to direction d
            fx, fy = x - DX[d], y - DY[d]
            if 0 <= fx < p.gx_n and 0 <= fy < p.gy_n:
                ins.append((fy * p.gx_n + fx) * 4 + d)
        return ins + [n_links + c for c in tile_cores.get(r, [])]

    def router_outputs(r):
        x, y = r % p.gx_n, r // p.gx_n
        outs = [(y * p.gx_n + x) * 4 + d for d in range(4)
                if 0 <= x + DX[d] < p.gx_n and 0 <= y + DY[d] < p.gy_n]
        return outs + [n_links + c for c in tile_cores.get(r, [])]

    def free_slot(b, t):
        """A message left buffer b at t: wake whoever feeds b if it was found full."""
        if b in blocked:
            blocked.discard(b)
            if b < n_links:
                x, y = (b // 4) % p.gx_n, b // (4 * p.gx_n)
                wake_router(router_of(x, y), t)
            elif b < fifo_base:
                c = b - n_links
                if soma[c]["stalled"] is not None:
                    out.sender_stall[c] += t - soma[c]["stalled"]
                    if trace:
                        out.trace.append((TRACE_STALL, c, soma[c]["stalled"], t))
                    soma[c]["stalled"] = None
                    push(t, SOMA, c)
            else:
                c = b - fifo_base
                wake_router(router_of(p.core_x[c], p.core_y[c]), t)

    # ---- soma units
    soma = []
    for c in range(n_cores):
        st = {"items": s.fired[c], "i": -1, "r": 0, "q": 0, "f": 0, "stalled": None}
        soma.append(st)

    def soma_cost(c, x):
        st = soma[c]
        return soma_prefix(x, st["f"], s.n_neurons[c], s.active[c], len(s.fired[c]), p.idle, p.act) - \
            soma_prefix(st["q"], st["f"], s.n_neurons[c], s.active[c], len(s.fired[c]), p.idle, p.act)

    def soma_advance(c, now):
        """Time the soma of c has its next message ready, or -1 when it has finished (soma_end set)."""
        st = soma[c]
        while True:
            if st["i"] >= 0 and st["r"] < len(st["items"][st["i"]][1]):
                return now + p.out
            if st["i"] + 1 >= len(st["items"]):
                end = now + soma_cost(c, s.n_neurons[c]) + s.learn[c] * p.learn
                out.soma_end[c] = end
                if trace and end > 0:
                    out.trace.append((TRACE_SOMA, c, 0, end))
                return -1
            st["i"] += 1
            pos = st["items"][st["i"]][0]
            now = now + soma_cost(c, pos) + p.act + p.gen
            st["q"] = pos + 1
            st["f"] += 1
            st["r"] = 0

    for c in range(n_cores):
        t = soma_advance(c, 0)
        if t >= 0:
            push(t, SOMA, c)

    # ---- input units: host messages first
    busy = [0] * n_cores
    for c in range(n_cores):
        for k in s.host[c]:
            if trace:
                out.trace.append((TRACE_INPUT, c, busy[c], busy[c] + p.win + k * p.syn))
            busy[c] += p.win + k * p.syn
        out.in_end[c] = busy[c]
        if busy[c] > 0:
            wake_core(c, busy[c])

    while heap:
        now, _, kind, idx = heapq.heappop(heap)
        if kind == SOMA:
            c = idx
            st = soma[c]
            b = n_links + c
            if len(buf(b)) >= p.depth:
                st["stalled"] = now
                blocked.add(b)
                continue
            d, k = st["items"][st["i"]][1][st["r"]]
            m = len(dst)
            dst.append(d)
            nsyn.append(k)
            arrival.append(now)
            enqueue(b, m, now)
            wake_router(router_of(p.core_x[c], p.core_y[c]), now)
            st["r"] += 1
            t = soma_advance(c, now)
            if t >= 0:
                push(t, SOMA, c)
        elif kind == ROUTER:
            r = idx
            if pending_router.get(r) != now:
                continue
            del pending_router[r]
            x, y = r % p.gx_n, r // p.gx_n
            ins, outs = router_inputs(r), router_outputs(r)
            progress = True
            later = None          # earliest arrival of a head not yet there
            while progress:
                progress = False
                for o in outs:
                    best, best_key = -1, None
                    for b in ins:
                        q = buffers.get(b)
                        if q:
                            m = q[0]
                            if arrival[m] > now:
                                later = arrival[m] if later is None else min(later, arrival[m])
                            elif route_output(p, n_links, x, y, dst[m]) == o:
                                key = (arrival[m], m)
                                if best_key is None or key < best_key:
                                    best, best_key = b, key
                    if best < 0:
                        continue
                    if link_free.get(o, 0) > now:
                        wake_router(r, link_free[o])
                        continue
                    nb = o if o < n_links else fifo_base + (o - n_links)
                    if len(buf(nb)) >= p.depth:
                        blocked.add(nb)
                        continue
                    m = buffers[best].popleft()
                    link_free[o] = now + p.occ
                    if o < n_links:
                        out.link_stall[o] = out.link_stall.get(o, 0) + now - arrival[m]
                        out.link_busy[o] = out.link_busy.get(o, 0) + p.occ
                        if trace and p.occ > 0:
                            out.trace.append((TRACE_LINK, o, now, now + p.occ))
                        t_arr = now + p.link_lat[o]
                        enqueue(nb, m, t_arr)
                        wake_router(router_of(x + DX[o % 4], y + DY[o % 4]), t_arr)
                    else:
                        enqueue(nb, m, now)
                        wake_core(o - n_links, now)
                    free_slot(best, now)
                    progress = True
            if later is not None:
                wake_router(r, later)
        else:
            c = idx
            if pending_core.get(c) != now:
                continue
            del pending_core[c]
            q = buffers.get(fifo_base + c)
            if busy[c] > now:
                wake_core(c, busy[c])
                continue
            if not q:
                continue
            if arrival[q[0]] > now:
                wake_core(c, arrival[q[0]])
                continue
            m = q.popleft()
            end = now + p.win + nsyn[m] * p.syn
            if trace:
                out.trace.append((TRACE_INPUT, c, now, end))
            busy[c] = end
            out.in_end[c] = end
            wake_core(c, end)
            free_slot(fifo_base + c, now)
    out.n_messages = len(dst)
    out.latency = max(max(out.soma_end, default=0), max(out.in_end, default=0))
    return out
