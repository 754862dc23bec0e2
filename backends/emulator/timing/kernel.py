"""Numba engine of the message-level timing model: ``spec.simulate_step`` for every step of a run, over
flat arrays, message for message the same (tests/test_timing_cycle.py holds them equal).

Differences of form only: a tournament (loser) tree over the cores, keyed by injection time then core and
packed into one integer, used as a k-way merge (the earliest core sends; its next key replays its matches
from its leaf up, log2 of the cores); steps run in blocks on threads, within a block times run on across its
steps (a step starts where the block's previous one ended); each buffer keeps the departure times of its
last ``depth`` messages in a ring (all the credit and FIFO rules need; never reset, see ``simulate_run``); a
message follows its core pair's outputs listed once by ``route_paths``, its route entry read as one row;
the peak occupancy is counted only when it can rise; spike messages per path are counted from the events,
outside the loop. The per-message path is written out in one loop rather than in helpers taking arrays:
each array argument of a call costs two atomic reference-count updates, even for a helper numba inlines;
and it indexes arrays with unsigned integers (``_u``): numba adds the length to a negative signed index,
a test and an add at every access (docs/timing.md).
"""
from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from ....errors import ValidationError
from .spec import TRACE_INPUT, TRACE_LINK, TRACE_SOMA, TRACE_STALL


@numba.njit(cache=True, nogil=True, inline="always")
def _u(i):
    """Index ``i`` (never negative here) as unsigned: no negative-index fix-up where an array is read."""
    return np.uint64(i)


#: The key of a core with no message left (it loses every match of the tournament tree).
NEVER = np.iinfo(np.int64).max

# per-core soma state columns of ``ss`` (``_soma_next``)
LO, HI, CI, RR, REND, QQ, FF, END = range(8)


@numba.njit(cache=True, nogil=True)
def _soma_prefix(x, fired_before, n, active, fired_total, idle, act):
    nf = n - fired_total
    extra = active - fired_total
    if extra < 0:
        extra = 0
    spread = (extra * (x - fired_before)) // nf if nf > 0 else 0
    return x * idle + (fired_before + spread) * (act - idle)


@numba.njit(cache=True, nogil=True, inline="always")
def _soma_next(c, now, ev_src, core_ptr, route_ptr, ss, active, learn, lat):
    """``spec``'s ``soma_next``: the ready time of core c's next message (its route entry is ``ss[c, RR] - 1``),
    or -1 when the soma has finished (then ``ss[c, END]`` is set). ``ss[c]``: its events ``LO..HI``, current
    fired neuron (event index) ``CI``, route entries left ``RR..REND``, next neuron position ``QQ``, fired so
    far ``FF``."""
    n_c = core_ptr[c + 1] - core_ptr[c]
    fired = ss[c, HI] - ss[c, LO]
    while True:
        if ss[c, CI] >= ss[c, LO] and ss[c, RR] < ss[c, REND]:
            ss[c, RR] += 1
            return now + lat[3]
        if ss[c, CI] + 1 >= ss[c, HI]:
            ss[c, END] = (now + _soma_prefix(n_c, ss[c, FF], n_c, active, fired, lat[2], lat[1])
                          - _soma_prefix(ss[c, QQ], ss[c, FF], n_c, active, fired, lat[2], lat[1]) + learn * lat[6])
            return -1
        ss[c, CI] += 1
        s = ev_src[ss[c, CI]]
        pos = s - core_ptr[c]
        now = (now + _soma_prefix(pos, ss[c, FF], n_c, active, fired, lat[2], lat[1])
               - _soma_prefix(ss[c, QQ], ss[c, FF], n_c, active, fired, lat[2], lat[1]) + lat[1] + lat[4])
        ss[c, QQ] = pos + 1
        ss[c, FF] += 1
        ss[c, RR] = route_ptr[s]
        ss[c, REND] = route_ptr[s + 1]


@numba.njit(cache=True, nogil=True, inline="always")
def _record(tr, nt, kind, ident, a, b):
    """Row ``nt`` of the trace ``tr`` = ``(kind, id, a, b)`` if it fits (the caller sizes ``tr`` again from
    the count otherwise); returns ``nt + 1``."""
    if nt < tr.shape[0]:
        tr[nt, 0] = kind
        tr[nt, 1] = ident
        tr[nt, 2] = a
        tr[nt, 3] = b
    return nt + 1


@numba.njit(cache=True, nogil=True)
def route_paths(src, dst, core_x, core_y, gx_n, n_links):
    """Outputs each message from core ``src[i]`` to core ``dst[i]`` takes (``spec.route_output`` at every
    router): its X-then-Y mesh links, then ``n_links + dst[i]`` (the ejection), as CSR ``(ptr, out)``. The
    kernel walks these instead of choosing a direction at every hop."""
    n = src.size
    ptr = np.zeros(n + 1, np.int64)
    for i in range(n):
        ptr[i + 1] = ptr[i] + abs(core_x[dst[i]] - core_x[src[i]]) + abs(core_y[dst[i]] - core_y[src[i]]) + 1
    out = np.empty(ptr[n], np.int64)
    for i in range(n):
        x, y, bx, by = core_x[src[i]], core_y[src[i]], core_x[dst[i]], core_y[dst[i]]
        k = ptr[i]
        while x != bx:
            out[k] = (y * gx_n + x) * 4 + (0 if bx > x else 1)
            x += 1 if bx > x else -1
            k += 1
        while y != by:
            out[k] = (y * gx_n + x) * 4 + (2 if by > y else 3)
            y += 1 if by > y else -1
            k += 1
        out[k] = n_links + dst[i]
    return ptr, out


def simulate_run(ev_step, ev_src, n_neurons, core_ptr, route_ptr, route_core, route_axon, route_cost, route_path,
                 axon_psum_ptr, axon_psum, psum_dst, psum_path, core_psum_ptr, path_ptr, path_out, active, learn,
                 lat, link_lat, n_links, steps, trace, n_threads, tr):
    """Every step of ``spec.simulate_step``; events sorted by (step, source). ``lat``: syn, act, idle, out,
    gen, win, learn, occ, depth, psum (ticks / messages). Route entry r: ``route_cost[r]`` ticks to read
    (``win + nsyn * syn``), path ``route_path[r]`` of ``route_paths`` (``path_ptr``, ``path_out``: mesh
    links, then the ejection ``n_links + core``; ``link_lat``: ticks per mesh link). Partial sums:
    ``axon_psum`` (CSR ``axon_psum_ptr``) the partial-sum routes an axon's synapses feed; route q goes to core
    ``psum_dst[q]`` by path ``psum_path[q]``, routes grouped by segment core (``core_psum_ptr``). Returns
    per-step latency, soma and input maxima, spike and partial-sum message counts, and run totals: sender
    stall per core, busy and stall per mesh link, buffer peaks; last, with ``trace``, the number of busy
    intervals that ``spec.simulate_step(..., trace=True)`` lists, written (in another order) into the first
    rows of ``tr`` that exist (kind ``spec.TRACE_*``, id, start, end; times from the start of their step).
    A step running past the tournament keys' range (``2**63 >> ceil(log2(cores))`` ticks from its start) raises
    ``ValidationError``.

    Steps are independent (each starts with the network drained and ends at the barrier), so ``n_threads``
    blocks of steps (block b: steps b, b + n, ...) run at once, each ``_run_steps`` (numba, GIL released) on
    its own scratch and its own time line from 0 (times are only compared within a step or taken from its
    start); the run totals are integer sums and maxima of the blocks' (any order gives the same), so every
    result is the one of one thread. Python threads, not a numba parallel region: with numba's OpenMP layer the
    same kernel in a ``prange`` ran 1.8x the CPU time, and there is no parallel kernel to compile. A trace runs
    as one block (its rows are appended in order)."""
    n_cores = core_ptr.size - 1
    n_out = n_links + n_cores               # outputs: mesh links, then each core's ejection
    bounds = np.searchsorted(ev_step, np.arange(steps + 1)).astype(np.int64)
    o_lat = np.zeros(n_out, np.int64)          # per output: ticks to the next buffer (ejection: 0)
    o_lat[:n_links] = link_lat
    o_buf = np.arange(n_out, dtype=np.int64) + n_cores   # per output: the buffer it feeds (mesh link l: buffer l)
    o_buf[:n_links] = np.arange(n_links)
    # each route entry as one row (first and end of its path's outputs, destination core, read cost): the
    # per-message reads in one cache line instead of four arrays and the path's pointers
    rows = np.empty((route_core.size, 4), np.int64)
    rows[:, 0] = path_ptr[route_path]
    rows[:, 1] = path_ptr[route_path + 1]
    rows[:, 2] = route_core
    rows[:, 3] = route_cost
    n_blk = 1 if trace else max(1, min(int(n_threads), steps))
    outs = [np.zeros(steps, np.int64) for _ in range(5)]      # latency, soma, input, messages, partial sums

    def block(b):
        return _run_steps(b, n_blk, steps, bounds, ev_src, n_neurons, core_ptr, route_ptr, rows, route_axon,
                          axon_psum_ptr, axon_psum, psum_dst, psum_path, core_psum_ptr,
                          path_ptr, path_out, active, learn, lat, o_lat, o_buf, n_links, trace, tr, *outs)
    if n_blk == 1:
        parts = [block(0)]
    else:
        with ThreadPoolExecutor(n_blk - 1) as pool:
            rest = [pool.submit(block, b) for b in range(1, n_blk)]
            parts = [block(0)] + [f.result() for f in rest]
    if any(p[5] for p in parts):
        sh = max(int(n_cores - 1).bit_length(), 0)
        raise ValidationError(f"cycle timing: a step ran past {NEVER >> sh} ticks from its start, the limit of the "
                              f"kernel's (time, core) keys with {n_cores} cores")
    nt, stall, sent, lstall, peak = (functools.reduce(np.maximum if k == 4 else np.add, [p[k] for p in parts])
                                     for k in range(5))
    # spike messages per path (the kernel counts the partial sums only): every route entry of each fired neuron
    own = ev_src[bounds[0]:bounds[steps]]
    fired = np.bincount(own[own < n_neurons], minlength=n_neurons)
    m = route_ptr[n_neurons]
    sent = sent + np.bincount(route_path[:m], np.repeat(fired, np.diff(route_ptr[:n_neurons + 1])),
                              path_ptr.size - 1).round().astype(np.int64)
    link_busy = np.zeros(n_out, np.int64)       # messages per path x flit time on each of its outputs
    np.add.at(link_busy, path_out, np.repeat(sent, np.diff(path_ptr)) * lat[7])
    out_lat, out_soma, out_in, out_msgs, out_psum = outs
    return (out_lat, out_soma, out_in, stall, link_busy[:n_links], lstall[:n_links], peak, out_msgs, out_psum,
            int(nt))


@numba.njit(cache=True, nogil=True)
def _run_steps(first, stride, steps, bounds, ev_src, n_neurons, core_ptr, route_ptr, rows, route_axon,
               axon_psum_ptr, axon_psum, psum_dst, psum_path, core_psum_ptr, path_ptr,
               path_out, active, learn, lat, o_lat, o_buf, n_links, trace, tr, out_lat, out_soma, out_in, out_msgs,
               out_psum):
    """Steps ``first, first + stride, ...`` of ``simulate_run`` on a time line of their own from 0 (writing their
    rows of the ``out_*`` arrays); returns the number of trace rows, this block's totals (sender stall, partial-sum
    messages per path, link stall, buffer peak: arrays of its own, allocated here like its scratch) and whether a
    tournament key overflowed (a time ``KEY_MAX`` or more after its step's start: ``simulate_run`` raises)."""
    L_OUT, OCC, DEPTH, L_PSUM = lat[3], lat[7], lat[8], lat[9]
    n_cores = core_ptr.size - 1
    n_out = n_links + n_cores
    n_buf = n_links + 2 * n_cores
    # buffer b: departure times of its last DEPTH messages in ring[b * DEPTH:], next slot wpos[b]. Never reset:
    # every departure of a step is at most its end, where the next step starts, so an old entry (or a 0 of the
    # first step) is never later than a time of this step and changes no max, credit or occupancy: it stands
    # for 'no message' without a count.
    ring = np.zeros(n_buf * DEPTH, np.int64)
    wpos = np.zeros(n_buf, np.int64)
    link_free = np.zeros(n_out, np.int64)
    busy = np.zeros(n_cores, np.int64)       # input unit free again (= its end so far)
    ss = np.zeros((n_cores, 8), np.int64)
    ready = np.zeros(n_cores, np.int64)
    SH = 0                                  # tournament tree of P = 2 ** SH >= n_cores leaves; key of core c
    while (1 << SH) < n_cores:              # ready at time x: (x - t0) << SH | c, ordered as (time, core)
        SH += 1
    P = 1 << SH
    KEY_MAX = NEVER >> SH                   # times from the step's start must stay below this
    win = np.zeros(2 * P, np.int64)         # leaves P + c, then each match's winner (the build only)
    lose = np.zeros(P, np.int64)            # the loser of each match (nodes 1..P-1)
    overflow = False
    n_psum = psum_dst.size
    mark = np.full(n_psum, -1, np.int64)
    pq = np.zeros(n_cores, np.int64)        # next partial-sum route of each segment core
    sender_stall = np.zeros(n_cores, np.int64)
    n_sent = np.zeros(path_ptr.size - 1, np.int64)
    link_stall = np.zeros(n_out, np.int64)
    buf_peak = np.zeros(n_buf, np.int64)
    nt = 0
    t0 = 0
    for t in range(first, steps, stride):
        e0, e1 = bounds[t], bounds[t + 1]
        link_free[:] = t0
        for c in range(n_cores):
            ss[c, LO] = e0 + np.searchsorted(ev_src[e0:e1], core_ptr[c])
            ss[c, HI] = e0 + np.searchsorted(ev_src[e0:e1], core_ptr[c + 1])
            ss[c, CI] = ss[c, LO] - 1
            ss[c, RR] = 0
            ss[c, REND] = 0
            ss[c, QQ] = 0
            ss[c, FF] = 0
            ss[c, END] = t0
            busy[c] = t0
        # ---- input units: host messages first
        for e in range(e0, e1):
            s = ev_src[e]
            if s >= n_neurons:
                for r in range(route_ptr[s], route_ptr[s + 1]):
                    a = route_axon[r]
                    d = rows[r, 2]
                    cost = rows[r, 3]
                    if trace:
                        nt = _record(tr, nt, TRACE_INPUT, d, busy[d] - t0, busy[d] + cost - t0)
                    busy[d] += cost
                    for j in range(axon_psum_ptr[a], axon_psum_ptr[a + 1]):
                        mark[axon_psum[j]] = t
        n_msg = 0
        n_ps = 0
        # ---- wave 0: spike messages; wave 1: partial sums (each segment core once its reads are done).
        # In injection order; a popped core keeps sending while it stays the earliest (k-way merge).
        for wave in range(2):
            if wave == 1 and n_psum == 0:
                break
            for c in range(n_cores):
                nxt = -1
                if wave == 0:
                    nxt = _soma_next(c, t0, ev_src, core_ptr, route_ptr, ss, active[t, c], learn[t, c], lat)
                else:
                    q = core_psum_ptr[c]
                    while q < core_psum_ptr[c + 1] and mark[q] != t:
                        q += 1
                    pq[c] = q
                    if q < core_psum_ptr[c + 1]:
                        nxt = busy[c] + L_OUT
                if nxt >= 0:
                    ready[c] = nxt
                    p = n_links + c
                    if ring[p * DEPTH + wpos[p]] > nxt:
                        nxt = ring[p * DEPTH + wpos[p]]
                    if nxt - t0 >= KEY_MAX:
                        overflow = True
                    win[P + c] = (nxt - t0) << SH | c
                else:
                    win[P + c] = NEVER
            for c in range(n_cores, P):
                win[P + c] = NEVER
            for i in range(P - 1, 0, -1):          # the tournament: winners up, each match's loser stays
                win[i] = min(win[2 * i], win[2 * i + 1])
                lose[i] = max(win[2 * i], win[2 * i + 1])
            key = win[1]
            # the earliest core (the tree's winner) sends; its next message replays its matches up the tree
            while key != NEVER:
                c = key & (P - 1)
                tin = (key >> SH) + t0
                rc = ready[_u(c)]
                sender_stall[_u(c)] += tin - rc
                if trace and tin > rc:
                    nt = _record(tr, nt, TRACE_STALL, c, rc - t0, tin - t0)
                if wave == 0:
                    r = ss[_u(c), RR] - 1
                    p0 = rows[_u(r), 0]
                    p1 = rows[_u(r), 1]
                    d = rows[_u(r), 2]
                    cost = rows[_u(r), 3]
                else:
                    d = psum_dst[pq[c]]
                    cost = L_PSUM
                    pth = psum_path[pq[c]]
                    p0 = path_ptr[pth]
                    p1 = path_ptr[pth + 1]
                    n_sent[pth] += 1
                # -- deliver: walk from core c's port (entered at tin) to core d; rules of spec.deliver.
                # The message enters buffer nb at dep (its occupancy, spec.occupancy); for each output o of
                # its path it leaves the buffer b it is in at max(arrival, previous departure from b, o free,
                # credit of the buffer o feeds), and enters that buffer (the last: d's input queue).
                nb = n_links + c
                nb0 = nb * DEPTH                    # nb's ring and next slot wn, carried to the next hop
                wn = wpos[_u(nb)]
                dep = tin
                a = tin
                for k in range(p0 - 1, p1):
                    if k >= p0:          # (the first pass only enters the injection port)
                        o = path_out[_u(k)]
                        b, b0, wb = nb, nb0, wn
                        nb = o_buf[_u(o)]
                        nb0 = nb * DEPTH
                        wn = wpos[_u(nb)]
                        dep = a
                        v = ring[_u(b0 + (wb - 1 if wb > 0 else DEPTH - 1))]
                        if v > dep:
                            dep = v
                        lf = link_free[_u(o)]
                        if lf > dep:
                            dep = lf
                        v = ring[_u(nb0 + wn)]
                        if v > dep:
                            dep = v
                        ring[_u(b0 + wb)] = dep
                        wpos[_u(b)] = wb + 1 if wb + 1 < DEPTH else 0
                        link_free[_u(o)] = dep + OCC
                        link_stall[_u(o)] += dep - a
                        if trace and OCC > 0 and o < n_links:
                            nt = _record(tr, nt, TRACE_LINK, o, dep - t0, dep + OCC - t0)
                        a = dep + o_lat[_u(o)]
                    # enter nb at dep: its peak occupancy (spec.occupancy), counted only when it can exceed
                    # the peak P: the departures in a buffer's ring never decrease, so the occupancy exceeds P
                    # iff the P-th latest one is after dep (the DEPTH-th latest, the credit taken, is not).
                    # Written out here: a helper taking the arrays costs their reference counts per call.
                    pk = buf_peak[_u(nb)]
                    if pk == 0 or ring[_u(nb0 + (wn - pk if wn >= pk else wn - pk + DEPTH))] > dep:
                        n = 1
                        for i in range(1, DEPTH):
                            if ring[nb0 + (wn - i if wn >= i else wn - i + DEPTH)] <= dep:
                                break
                            n += 1
                        buf_peak[nb] = n
                bd = busy[_u(d)]
                start = dep if dep > bd else bd
                ring[_u(nb0 + wn)] = start
                wpos[_u(nb)] = wn + 1 if wn + 1 < DEPTH else 0
                busy[_u(d)] = start + cost
                if trace:
                    nt = _record(tr, nt, TRACE_INPUT, d, start - t0, start + cost - t0)
                # -- the core's next message
                if wave == 0:
                    if n_psum > 0:
                        ax = route_axon[r]
                        for j in range(axon_psum_ptr[ax], axon_psum_ptr[ax + 1]):
                            mark[axon_psum[j]] = t
                    n_msg += 1
                    if r + 1 < ss[_u(c), REND]:     # the neuron's next route entry (_soma_next's first case)
                        ss[_u(c), RR] = r + 2
                        nxt = tin + L_OUT
                    else:                           # a call per fired neuron, not per message
                        nxt = _soma_next(c, tin, ev_src, core_ptr, route_ptr, ss, active[t, c], learn[t, c], lat)
                else:
                    n_ps += 1
                    q = pq[c] + 1
                    while q < core_psum_ptr[c + 1] and mark[q] != t:
                        q += 1
                    pq[c] = q
                    nxt = tin + L_OUT if q < core_psum_ptr[c + 1] else -1
                if nxt < 0:                     # the core is done: it loses every match from now on
                    key = NEVER
                else:
                    ready[_u(c)] = nxt
                    p = n_links + c
                    v = ring[_u(p * DEPTH + wpos[_u(p)])]
                    if v > nxt:
                        nxt = v
                    if nxt - t0 >= KEY_MAX:
                        overflow = True
                    key = (nxt - t0) << SH | c
                # replay core c's matches from its leaf to the root with its new key: at each node the
                # earlier key goes on, the later stays as the loser (log2(P) matches, no branch)
                i = (P + c) >> 1
                while i > 0:
                    o = lose[_u(i)]
                    lose[_u(i)] = max(o, key)
                    key = min(o, key)
                    i >>= 1
        sm = 0
        im = 0
        for c in range(n_cores):
            if trace and ss[c, END] - t0 > 0:
                nt = _record(tr, nt, TRACE_SOMA, c, 0, ss[c, END] - t0)
            if ss[c, END] - t0 > sm:
                sm = ss[c, END] - t0
            if busy[c] - t0 > im:
                im = busy[c] - t0
        out_soma[t] = sm
        out_in[t] = im
        out_lat[t] = sm if sm > im else im
        out_msgs[t] = n_msg
        out_psum[t] = n_ps
        t0 += out_lat[t]
    return nt, sender_stall, n_sent, link_stall, buf_peak, overflow
