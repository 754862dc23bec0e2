"""Readable reference of the message-level timing model: one step, plain Python (heapq, lists, dicts).

``kernel.simulate_run`` (numba, flat arrays, all steps) is held equal to this by tests/test_timing_cycle.py.
Per step, all times integer ticks (1 ps) from the step's start:

* **soma unit** of each core walks its neurons in order: a non-fired neuron costs ``idle`` or ``active``
  (the core's count of active non-fired neurons spread evenly over its non-fired neurons, integer
  floor), a fired neuron ``active + gen``; each of its messages (route entries, in order) then costs
  ``out`` and is injected into the core's router port. After the last neuron: ``learn`` per learning update.
* **messages claim the network in injection order** (time, then sending core; each core's messages in
  order). A message walks its X-then-Y route at once, every resource in closed form:
  it leaves a buffer at ``max(arrival, the previous message's departure from that buffer (FIFO),
  the output link's next free time, the departure from the next buffer of the message depth places
  ahead of it there (credit: the slot it takes at departure))``; the link is then busy ``occ`` ticks and
  the message reaches the next router ``lat[link]`` later. A full injection port stalls the soma: the
  message is injected when the message ``depth`` places ahead of it has left the port. The last output is
  the ejection into the destination core's input queue (latency 0, same ``occ``).
* **input unit** of each core reads its queue in that order, one message at a time: a spike message
  costs ``win + nsyn * syn`` (its synapses accumulated into the dendrite for the next step), a partial
  sum ``psum``. Host (graph-input) messages are queued before the step and read first.
* **partial sums** (split dendrites): a segment core sends one message per partial-sum route whose
  synapses received a spike this step, to the soma core, once its input unit has read all of the
  step's spike messages (``out`` each, in route order, through its router port). They claim the network
  after all spike messages of the step (a second wave).
* the step's latency is the time the last soma or input unit finishes (every message has then been
  read, so the network is drained); the caller adds the barrier.

Claiming in injection order rather than simulating each router's arbitration event by event is the
model's deliberate simplification (docs/timing.md): it is age-based arbitration with the whole route
reserved at injection, so a message that reaches a link later but was injected earlier goes first
(the link may wait idle for it). It costs O(hops) per message.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from ....mapping.mesh import DX, DY

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
    psum: int = 0            # ticks the soma core spends on one partial-sum message


@dataclass
class StepInput:
    """One step's work. ``fired[c]``: ``[(position in core, [(dst core, nsyn), ...]), ...]`` in neuron
    order; ``host[c]``: nsyn of each host message for core c, in order; ``psum[c]``: the soma core of each
    partial-sum message segment core c sends this step, in route order."""
    n_neurons: list
    active: list
    learn: list
    fired: list
    host: list
    psum: list = None


@dataclass
class StepOutput:
    latency: int = 0
    soma_end: list = field(default_factory=list)
    in_end: list = field(default_factory=list)
    sender_stall: list = field(default_factory=list)     # ticks each core's sender waited for its router port
    link_busy: dict = field(default_factory=dict)        # mesh link id -> ticks occupied
    link_stall: dict = field(default_factory=dict)       # mesh link id -> ticks messages waited for it
    buf_peak: dict = field(default_factory=dict)         # buffer id -> peak occupancy (see buffer ids)
    n_messages: int = 0
    n_psum: int = 0
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


def occupancy(deps: list, depth: int, t: int) -> int:
    """Messages in a FIFO buffer when one enters at ``t``: itself plus those ahead of it (at most depth - 1,
    by the credit rule) that leave after ``t``; ``deps``: departure times so far, in order."""
    n = 1
    for v in reversed(deps[len(deps) - min(depth - 1, len(deps)):]):
        if v <= t:
            break
        n += 1
    return n


def simulate_step(p: Params, s: StepInput, trace: bool = False) -> StepOutput:
    """One step (see module doc). Buffer ids: mesh link l -> l (the input port it feeds), ``n_links + c`` the
    injection port of core c, ``n_links + n_cores + c`` core c's input queue."""
    n_cores = len(p.core_x)
    n_links = p.gx_n * p.gy_n * 4
    fifo_base = n_links + n_cores
    out = StepOutput(soma_end=[0] * n_cores, in_end=[0] * n_cores, sender_stall=[0] * n_cores)
    deps: dict = {}              # buffer id -> departure times of the messages that passed it, in order
    link_free: dict = {}         # output id -> time it is free again
    busy = [0] * n_cores         # input unit free again

    def enter(b, t):
        occ_now = occupancy(deps.setdefault(b, []), p.depth, t)
        out.buf_peak[b] = max(out.buf_peak.get(b, 0), occ_now)

    def credit(b):
        d = deps.get(b, [])
        return d[len(d) - p.depth] if len(d) >= p.depth else 0

    def deliver(c, d, cost, t):
        """Walk one message from core c's port (injected at t) to core d and read it (``cost`` ticks)."""
        b, a = n_links + c, t
        x, y = p.core_x[c], p.core_y[c]
        while True:
            o = route_output(p, n_links, x, y, d)
            nb = o if o < n_links else fifo_base + d
            prev = deps[b][-1] if deps[b] else 0
            dep = max(a, prev, link_free.get(o, 0), credit(nb))
            deps[b].append(dep)
            link_free[o] = dep + p.occ
            enter(nb, dep)
            if o >= n_links:
                break
            out.link_stall[o] = out.link_stall.get(o, 0) + dep - a
            out.link_busy[o] = out.link_busy.get(o, 0) + p.occ
            if trace and p.occ > 0:
                out.trace.append((TRACE_LINK, o, dep, dep + p.occ))
            b, a = nb, dep + p.link_lat[o]
            x, y = x + DX[o % 4], y + DY[o % 4]
        start = max(dep, busy[d])
        deps[nb].append(start)
        busy[d] = out.in_end[d] = start + cost
        if trace:
            out.trace.append((TRACE_INPUT, d, start, start + cost))

    def inject_time(c, ready):
        return max(ready, credit(n_links + c))

    def run_wave(heap, nxt):
        """Pop the earliest injection (time, core), deliver it, ask the core for its next message."""
        while heap:
            t, c, ready, d, cost = heapq.heappop(heap)
            if t > ready:
                out.sender_stall[c] += t - ready
                if trace:
                    out.trace.append((TRACE_STALL, c, ready, t))
            enter(n_links + c, t)
            deliver(c, d, cost, t)
            n = nxt(c, t)
            if n is not None:
                heapq.heappush(heap, (inject_time(c, n[0]), c) + n)

    # ---- soma units
    soma = [{"i": -1, "r": 0, "q": 0, "f": 0} for _ in range(n_cores)]

    def soma_cost(c, x):
        st = soma[c]
        return soma_prefix(x, st["f"], s.n_neurons[c], s.active[c], len(s.fired[c]), p.idle, p.act) - \
            soma_prefix(st["q"], st["f"], s.n_neurons[c], s.active[c], len(s.fired[c]), p.idle, p.act)

    def soma_next(c, now):
        """(ready time, dst core, read cost) of core c's next spike message, or None when its soma has
        finished (soma_end set)."""
        st = soma[c]
        items = s.fired[c]
        while True:
            if st["i"] >= 0 and st["r"] < len(items[st["i"]][1]):
                d, k = items[st["i"]][1][st["r"]]
                st["r"] += 1
                return now + p.out, d, p.win + k * p.syn
            if st["i"] + 1 >= len(items):
                end = now + soma_cost(c, s.n_neurons[c]) + s.learn[c] * p.learn
                out.soma_end[c] = end
                if trace and end > 0:
                    out.trace.append((TRACE_SOMA, c, 0, end))
                return None
            st["i"] += 1
            pos = items[st["i"]][0]
            now = now + soma_cost(c, pos) + p.act + p.gen
            st["q"] = pos + 1
            st["f"] += 1
            st["r"] = 0

    # ---- input units: host messages first
    for c in range(n_cores):
        for k in s.host[c]:
            if trace:
                out.trace.append((TRACE_INPUT, c, busy[c], busy[c] + p.win + k * p.syn))
            busy[c] += p.win + k * p.syn
        out.in_end[c] = busy[c]

    heap = []
    for c in range(n_cores):
        n = soma_next(c, 0)
        if n is not None:
            heap.append((inject_time(c, n[0]), c) + n)
    heapq.heapify(heap)
    run_wave(heap, soma_next)
    out.n_messages = sum(len(deps.get(n_links + c, [])) for c in range(n_cores))

    # ---- partial sums: each segment core sends once its reads of the step's spikes are done
    psum = s.psum or [[] for _ in range(n_cores)]
    left = [list(v) for v in psum]

    def psum_next(c, now):
        if not left[c]:
            return None
        return now + p.out, left[c].pop(0), p.psum

    heap = []
    for c in range(n_cores):
        n = psum_next(c, out.in_end[c])
        if n is not None:
            heap.append((inject_time(c, n[0]), c) + n)
    heapq.heapify(heap)
    run_wave(heap, psum_next)
    out.n_psum = sum(len(v) for v in psum)
    out.latency = max(max(out.soma_end, default=0), max(out.in_end, default=0))
    return out
