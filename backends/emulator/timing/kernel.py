"""Numba engine of the message-level timing model: ``spec.simulate_step`` for every step of a run, over
flat arrays, message for message the same (tests/test_timing_cycle.py holds them equal).

Differences of form only: a binary heap of ``(injection time, core)`` (one entry per core), used as a k-way
merge; times run on across steps (step t starts where step t-1 ended, per-step state is reset to that
time); each buffer keeps the departure times of its last ``depth`` messages in a ring (all the credit and
FIFO rules need); router outputs are computed from the destination's tile. The per-message path is written
out in one loop rather than in helpers taking arrays: each array argument of a call costs two atomic
reference-count updates, which were most of the kernel's time.
"""
from __future__ import annotations

import numba
import numpy as np

from .spec import TRACE_INPUT, TRACE_LINK, TRACE_SOMA, TRACE_STALL

# per-core soma state columns of ``ss`` (``_soma_next``)
LO, HI, CI, RR, REND, QQ, FF, END = range(8)


@numba.njit(cache=True, nogil=True, inline="always")
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
def _push(h, n, t, c):
    """Heap ``h[0]`` times, ``h[1]`` cores, ordered by (time, core); returns the new size."""
    i = n
    while i > 0:
        par = (i - 1) >> 1
        if h[0, par] < t or (h[0, par] == t and h[1, par] < c):
            break
        h[0, i] = h[0, par]
        h[1, i] = h[1, par]
        i = par
    h[0, i] = t
    h[1, i] = c
    return n + 1


@numba.njit(cache=True, nogil=True, inline="always")
def _sift_root(h, n, t, c):
    """Put ``(t, c)`` at the root of the heap of size ``n`` and restore the order (one sift-down: replacing
    the earliest core's key costs half a pop and a push)."""
    i = 0
    while True:
        k = 2 * i + 1
        if k >= n:
            break
        if k + 1 < n and (h[0, k + 1] < h[0, k] or (h[0, k + 1] == h[0, k] and h[1, k + 1] < h[1, k])):
            k += 1
        if t < h[0, k] or (t == h[0, k] and c < h[1, k]):
            break
        h[0, i] = h[0, k]
        h[1, i] = h[1, k]
        i = k
    h[0, i] = t
    h[1, i] = c


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
def simulate_run(ev_step, ev_src, n_neurons, core_ptr, route_ptr, route_core, route_axon, axon_syn_ptr,
                 axon_psum_ptr, axon_psum, psum_dst, core_psum_ptr, active, learn, lat, link_lat, gx_n, gy_n,
                 core_x, core_y, steps, trace, tr):
    """Every step of ``spec.simulate_step``; events sorted by (step, source). ``lat``: syn, act, idle, out,
    gen, win, learn, occ, depth, psum (ticks / messages). Partial sums: ``axon_psum`` (CSR ``axon_psum_ptr``)
    the partial-sum routes an axon's synapses feed; route q goes to core ``psum_dst[q]``, routes grouped by
    segment core (``core_psum_ptr``). Returns per-step latency, soma and input maxima, spike and partial-sum
    message counts, and run totals: sender stall per core, busy and stall per mesh link, buffer peaks; last,
    with ``trace``, the number of busy intervals that ``spec.simulate_step(..., trace=True)`` lists, written
    (in another order) into the first rows of ``tr`` that exist (kind ``spec.TRACE_*``, id, start, end; times
    from the start of their step)."""
    L_SYN, L_OUT, L_WIN, OCC, DEPTH, L_PSUM = lat[0], lat[3], lat[5], lat[7], lat[8], lat[9]
    n_cores = core_x.size
    n_links = gx_n * gy_n * 4
    fifo_base = n_links + n_cores
    n_buf = n_links + 2 * n_cores
    bounds = np.searchsorted(ev_step, np.arange(steps + 1))

    # buffer b: departure times of its last DEPTH messages in ring[b * DEPTH:], next slot wpos[b], count cnt[b]
    ring = np.zeros(n_buf * DEPTH, np.int64)
    cnt = np.zeros(n_buf, np.int64)
    wpos = np.zeros(n_buf, np.int64)
    link_free = np.zeros(n_links + n_cores, np.int64)
    busy = np.zeros(n_cores, np.int64)
    in_end = np.zeros(n_cores, np.int64)
    ss = np.zeros((n_cores, 8), np.int64)
    ready = np.zeros(n_cores, np.int64)
    heap = np.zeros((2, max(n_cores, 1)), np.int64)
    n_psum = psum_dst.size
    mark = np.full(n_psum, -1, np.int64)
    pq = np.zeros(n_cores, np.int64)        # next partial-sum route of each segment core

    out_lat = np.zeros(steps, np.int64)
    out_soma = np.zeros(steps, np.int64)
    out_in = np.zeros(steps, np.int64)
    out_msgs = np.zeros(steps, np.int64)
    out_psum = np.zeros(steps, np.int64)
    sender_stall = np.zeros(n_cores, np.int64)
    link_busy = np.zeros(n_links, np.int64)
    link_stall = np.zeros(n_links, np.int64)
    buf_peak = np.zeros(n_buf, np.int64)
    nt = 0

    t0 = 0
    for t in range(steps):
        e0, e1 = bounds[t], bounds[t + 1]
        cnt[:] = 0
        wpos[:] = 0
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
                    cost = L_WIN + (axon_syn_ptr[a + 1] - axon_syn_ptr[a]) * L_SYN
                    if trace:
                        nt = _record(tr, nt, TRACE_INPUT, route_core[r], busy[route_core[r]] - t0,
                                     busy[route_core[r]] + cost - t0)
                    busy[route_core[r]] += cost
                    for j in range(axon_psum_ptr[a], axon_psum_ptr[a + 1]):
                        mark[axon_psum[j]] = t
        for c in range(n_cores):
            in_end[c] = busy[c]
        n_msg = 0
        n_ps = 0
        # ---- wave 0: spike messages; wave 1: partial sums (each segment core once its reads are done).
        # In injection order; a popped core keeps sending while it stays the earliest (k-way merge).
        for wave in range(2):
            if wave == 1 and n_psum == 0:
                break
            hn = 0
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
                        nxt = in_end[c] + L_OUT
                if nxt >= 0:
                    ready[c] = nxt
                    p = n_links + c
                    if cnt[p] >= DEPTH and ring[p * DEPTH + wpos[p]] > nxt:
                        nxt = ring[p * DEPTH + wpos[p]]
                    hn = _push(heap, hn, nxt, c)
            # the earliest core is the heap's root; its next message replaces its key (one sift-down)
            while hn > 0:
                tin = heap[0, 0]
                c = heap[1, 0]
                sender_stall[c] += tin - ready[c]
                if trace and tin > ready[c]:
                    nt = _record(tr, nt, TRACE_STALL, c, ready[c] - t0, tin - t0)
                if wave == 0:
                    r = ss[c, RR] - 1
                    ax = route_axon[r]
                    d = route_core[r]
                    cost = L_WIN + (axon_syn_ptr[ax + 1] - axon_syn_ptr[ax]) * L_SYN
                else:
                    d = psum_dst[pq[c]]
                    cost = L_PSUM
                # -- deliver: walk from core c's port (entered at tin) to core d; rules of spec.deliver.
                # Each pass: the message enters buffer nb at dep (its occupancy, spec.occupancy), then,
                # unless nb is d's input queue, leaves it on the next output of its route.
                nb = n_links + c
                dep = tin
                a = tin
                o = -1
                x = core_x[c]
                y = core_y[c]
                bx = core_x[d]
                by = core_y[d]
                while True:
                    # occupancy (spec.occupancy) only when it can raise the peak P: the departures in a
                    # buffer's ring never decrease, so it exceeds P iff the P-th latest one is after dep
                    pk = buf_peak[nb]
                    lim = DEPTH - 1 if DEPTH - 1 < cnt[nb] else cnt[nb]
                    if pk == 0 or (pk <= lim and ring[nb * DEPTH + (wpos[nb] - pk if wpos[nb] >= pk
                                                                   else wpos[nb] - pk + DEPTH)] > dep):
                        n = 1
                        i = wpos[nb]
                        for _ in range(lim):
                            i = i - 1 if i > 0 else DEPTH - 1
                            if ring[nb * DEPTH + i] <= dep:
                                break
                            n += 1
                        buf_peak[nb] = n
                    if o >= n_links:
                        break
                    if o >= 0:                   # it came over mesh link o
                        link_stall[o] += dep - a
                        link_busy[o] += OCC
                        if trace and OCC > 0:
                            nt = _record(tr, nt, TRACE_LINK, o, dep - t0, dep + OCC - t0)
                        a = dep + link_lat[o]
                        dd = o & 3
                        if dd == 0:
                            x += 1
                        elif dd == 1:
                            x -= 1
                        elif dd == 2:
                            y += 1
                        else:
                            y -= 1
                    b = nb
                    if bx != x:
                        o = (y * gx_n + x) * 4 + (0 if bx > x else 1)
                        nb = o
                    elif by != y:
                        o = (y * gx_n + x) * 4 + (2 if by > y else 3)
                        nb = o
                    else:
                        o = n_links + d
                        nb = fifo_base + d
                    # leave b at max(arrival, previous departure from b, link free, credit of nb)
                    dep = a
                    if cnt[b] > 0:
                        v = ring[b * DEPTH + (wpos[b] - 1 if wpos[b] > 0 else DEPTH - 1)]
                        if v > dep:
                            dep = v
                    if link_free[o] > dep:
                        dep = link_free[o]
                    if cnt[nb] >= DEPTH:
                        v = ring[nb * DEPTH + wpos[nb]]
                        if v > dep:
                            dep = v
                    ring[b * DEPTH + wpos[b]] = dep
                    cnt[b] += 1
                    wpos[b] = wpos[b] + 1 if wpos[b] + 1 < DEPTH else 0
                    link_free[o] = dep + OCC
                start = dep if dep > busy[d] else busy[d]
                ring[nb * DEPTH + wpos[nb]] = start
                cnt[nb] += 1
                wpos[nb] = wpos[nb] + 1 if wpos[nb] + 1 < DEPTH else 0
                busy[d] = start + cost
                in_end[d] = busy[d]
                if trace:
                    nt = _record(tr, nt, TRACE_INPUT, d, start - t0, start + cost - t0)
                # -- the core's next message
                if wave == 0:
                    for j in range(axon_psum_ptr[ax], axon_psum_ptr[ax + 1]):
                        mark[axon_psum[j]] = t
                    n_msg += 1
                    nxt = _soma_next(c, tin, ev_src, core_ptr, route_ptr, ss, active[t, c], learn[t, c], lat)
                else:
                    n_ps += 1
                    q = pq[c] + 1
                    while q < core_psum_ptr[c + 1] and mark[q] != t:
                        q += 1
                    pq[c] = q
                    nxt = tin + L_OUT if q < core_psum_ptr[c + 1] else -1
                if nxt < 0:                     # the core is done: its key leaves the heap
                    hn -= 1
                    if hn > 0:
                        _sift_root(heap, hn, heap[0, hn], heap[1, hn])
                    continue
                ready[c] = nxt
                p = n_links + c
                if cnt[p] >= DEPTH and ring[p * DEPTH + wpos[p]] > nxt:
                    nxt = ring[p * DEPTH + wpos[p]]
                _sift_root(heap, hn, nxt, c)
        sm = 0
        im = 0
        for c in range(n_cores):
            if trace and ss[c, END] - t0 > 0:
                nt = _record(tr, nt, TRACE_SOMA, c, 0, ss[c, END] - t0)
            if ss[c, END] - t0 > sm:
                sm = ss[c, END] - t0
            if in_end[c] - t0 > im:
                im = in_end[c] - t0
        out_soma[t] = sm
        out_in[t] = im
        out_lat[t] = sm if sm > im else im
        out_msgs[t] = n_msg
        out_psum[t] = n_ps
        t0 += out_lat[t]
    return out_lat, out_soma, out_in, sender_stall, link_busy, link_stall, buf_peak, out_msgs, out_psum, nt
