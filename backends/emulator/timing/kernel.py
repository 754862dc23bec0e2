"""Numba engine of the message-level timing model: ``spec.simulate_step`` for every step of a run, over
flat arrays, message for message the same (tests/test_timing_cycle.py holds them equal).

Differences of form only: a binary heap of ``(injection time, core)`` (one entry per core); times run on
across steps (step t starts where step t-1 ended, per-step state is reset to that time); each buffer keeps
the departure times of its last ``depth`` messages in a ring (all the credit and FIFO rules need); router
outputs are computed from the destination's tile.
"""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, inline="always")
def _soma_prefix(x, fired_before, n, active, fired_total, idle, act):
    nf = n - fired_total
    extra = active - fired_total
    if extra < 0:
        extra = 0
    spread = (extra * (x - fired_before)) // nf if nf > 0 else 0
    return x * idle + (fired_before + spread) * (act - idle)


@numba.njit(cache=True, nogil=True, inline="always")
def _soma_next(c, now, ev_src, core_ptr, route_ptr, ev_lo, ev_hi, ci, rr, rend, qq, ff, soma_end, active, learn,
               lat):
    """``spec``'s ``soma_next``: the ready time of core c's next message (its route entry is ``rr[c] - 1``),
    or -1 when the soma has finished (then ``soma_end[c]`` is set). ``ci``: its current fired neuron (event
    index), ``rr``/``rend``: the route entries left, ``qq``: the next neuron position, ``ff``: fired so far."""
    n_c = core_ptr[c + 1] - core_ptr[c]
    fired = ev_hi[c] - ev_lo[c]
    while True:
        if ci[c] >= ev_lo[c] and rr[c] < rend[c]:
            rr[c] += 1
            return now + lat[3]
        if ci[c] + 1 >= ev_hi[c]:
            soma_end[c] = (now + _soma_prefix(n_c, ff[c], n_c, active, fired, lat[2], lat[1])
                           - _soma_prefix(qq[c], ff[c], n_c, active, fired, lat[2], lat[1]) + learn * lat[6])
            return -1
        ci[c] += 1
        s = ev_src[ci[c]]
        pos = s - core_ptr[c]
        now = (now + _soma_prefix(pos, ff[c], n_c, active, fired, lat[2], lat[1])
               - _soma_prefix(qq[c], ff[c], n_c, active, fired, lat[2], lat[1]) + lat[1] + lat[4])
        qq[c] = pos + 1
        ff[c] += 1
        rr[c] = route_ptr[s]
        rend[c] = route_ptr[s + 1]


@numba.njit(cache=True, nogil=True, inline="always")
def _push(ht, hc, n, t, c):
    i = n
    while i > 0:
        par = (i - 1) >> 1
        if ht[par] < t or (ht[par] == t and hc[par] < c):
            break
        ht[i] = ht[par]
        hc[i] = hc[par]
        i = par
    ht[i] = t
    hc[i] = c
    return n + 1


@numba.njit(cache=True, nogil=True, inline="always")
def _pop(ht, hc, n):
    """Remove the root; returns (time, core, new size)."""
    t0, c0 = ht[0], hc[0]
    n -= 1
    t, c = ht[n], hc[n]
    i = 0
    while True:
        k = 2 * i + 1
        if k >= n:
            break
        if k + 1 < n and (ht[k + 1] < ht[k] or (ht[k + 1] == ht[k] and hc[k + 1] < hc[k])):
            k += 1
        if t < ht[k] or (t == ht[k] and c < hc[k]):
            break
        ht[i] = ht[k]
        hc[i] = hc[k]
        i = k
    if n > 0:
        ht[i] = t
        hc[i] = c
    return t0, c0, n


@numba.njit(cache=True, nogil=True, inline="always")
def _enter(b, t, ring, cnt, wpos, depth, buf_peak):
    """``spec.occupancy`` + peak update for a message entering buffer b at t (no division: the machine is
    shared and a modulo per scanned slot was the kernel's main cost)."""
    n = 1
    lim = depth - 1 if depth - 1 < cnt[b] else cnt[b]
    base = b * depth
    i = wpos[b]
    for _ in range(lim):
        i = i - 1 if i > 0 else depth - 1
        if ring[base + i] <= t:
            break
        n += 1
    if n > buf_peak[b]:
        buf_peak[b] = n


@numba.njit(cache=True, nogil=True, inline="always")
def _credit(b, t0, ring, cnt, wpos, depth):
    """Departure of the message ``depth`` places ahead (the slot the next one takes), or the step start."""
    return ring[b * depth + wpos[b]] if cnt[b] >= depth else t0


@numba.njit(cache=True, nogil=True, inline="always")
def _last(b, t0, ring, cnt, wpos, depth):
    """Departure of the previous message from buffer b (FIFO), or the step start."""
    return ring[b * depth + (wpos[b] - 1 if wpos[b] > 0 else depth - 1)] if cnt[b] > 0 else t0


@numba.njit(cache=True, nogil=True, inline="always")
def _leave(b, t, ring, cnt, wpos, depth):
    ring[b * depth + wpos[b]] = t
    cnt[b] += 1
    wpos[b] = wpos[b] + 1 if wpos[b] + 1 < depth else 0


@numba.njit(cache=True, nogil=True, inline="always")
def _deliver(c, d, cost, t, t0, occ, depth, n_links, fifo_base, gx_n, core_x, core_y, link_lat, ring, cnt, wpos,
             link_free, busy, in_end, link_busy, link_stall, buf_peak):
    """``spec``'s ``deliver``: walk one message from core c's port (injected at t) to core d, read it."""
    b = n_links + c
    a = t
    x = core_x[c]
    y = core_y[c]
    bx = core_x[d]
    by = core_y[d]
    while True:
        if bx != x:
            o = (y * gx_n + x) * 4 + (0 if bx > x else 1)
            nb = o
        elif by != y:
            o = (y * gx_n + x) * 4 + (2 if by > y else 3)
            nb = o
        else:
            o = n_links + d
            nb = fifo_base + d
        dep = a
        v = _last(b, t0, ring, cnt, wpos, depth)
        if v > dep:
            dep = v
        if link_free[o] > dep:
            dep = link_free[o]
        v = _credit(nb, t0, ring, cnt, wpos, depth)
        if v > dep:
            dep = v
        _leave(b, dep, ring, cnt, wpos, depth)
        link_free[o] = dep + occ
        _enter(nb, dep, ring, cnt, wpos, depth, buf_peak)
        if o >= n_links:
            break
        link_stall[o] += dep - a
        link_busy[o] += occ
        b = nb
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
    start = dep if dep > busy[d] else busy[d]
    _leave(nb, start, ring, cnt, wpos, depth)
    busy[d] = start + cost
    in_end[d] = busy[d]


@numba.njit(cache=True, nogil=True)
def simulate_run(ev_step, ev_src, n_neurons, core_ptr, route_ptr, route_core, route_axon, axon_syn_ptr,
                 axon_psum_ptr, axon_psum, psum_dst, core_psum_ptr, active, learn, lat, link_lat, gx_n, gy_n,
                 core_x, core_y, steps):
    """Every step of ``spec.simulate_step``; events sorted by (step, source). ``lat``: syn, act, idle, out,
    gen, win, learn, occ, depth, psum (ticks / messages). Partial sums: ``axon_psum`` (CSR ``axon_psum_ptr``)
    the partial-sum routes an axon's synapses feed; route q goes to core ``psum_dst[q]``, routes grouped by
    segment core (``core_psum_ptr``). Returns per-step latency, soma and input maxima, spike and partial-sum
    message counts, and run totals: sender stall per core, busy and stall per mesh link, buffer peaks."""
    L_SYN, L_OUT, L_WIN, OCC, DEPTH, L_PSUM = lat[0], lat[3], lat[5], lat[7], lat[8], lat[9]
    n_cores = core_x.size
    n_links = gx_n * gy_n * 4
    fifo_base = n_links + n_cores
    n_buf = n_links + 2 * n_cores
    bounds = np.searchsorted(ev_step, np.arange(steps + 1))

    ring = np.zeros(n_buf * DEPTH, np.int64)
    cnt = np.zeros(n_buf, np.int64)
    wpos = np.zeros(n_buf, np.int64)       # ring slot of the next departure (cnt % depth)
    link_free = np.zeros(n_links + n_cores, np.int64)
    busy = np.zeros(n_cores, np.int64)
    in_end = np.zeros(n_cores, np.int64)
    soma_end = np.zeros(n_cores, np.int64)
    ev_lo = np.zeros(n_cores, np.int64)
    ev_hi = np.zeros(n_cores, np.int64)
    ci = np.zeros(n_cores, np.int64)
    rr = np.zeros(n_cores, np.int64)
    rend = np.zeros(n_cores, np.int64)
    qq = np.zeros(n_cores, np.int64)
    ff = np.zeros(n_cores, np.int64)
    ready = np.zeros(n_cores, np.int64)
    ht = np.zeros(max(n_cores, 1), np.int64)
    hc = np.zeros(max(n_cores, 1), np.int64)
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

    t0 = 0
    for t in range(steps):
        e0, e1 = bounds[t], bounds[t + 1]
        cnt[:] = 0
        wpos[:] = 0
        link_free[:] = t0
        for c in range(n_cores):
            ev_lo[c] = e0 + np.searchsorted(ev_src[e0:e1], core_ptr[c])
            ev_hi[c] = e0 + np.searchsorted(ev_src[e0:e1], core_ptr[c + 1])
            ci[c] = ev_lo[c] - 1
            rr[c] = 0
            rend[c] = 0
            qq[c] = 0
            ff[c] = 0
            soma_end[c] = t0
            busy[c] = t0
        # ---- input units: host messages first
        for e in range(e0, e1):
            s = ev_src[e]
            if s >= n_neurons:
                for r in range(route_ptr[s], route_ptr[s + 1]):
                    a = route_axon[r]
                    busy[route_core[r]] += L_WIN + (axon_syn_ptr[a + 1] - axon_syn_ptr[a]) * L_SYN
                    for j in range(axon_psum_ptr[a], axon_psum_ptr[a + 1]):
                        mark[axon_psum[j]] = t
        hn = 0
        for c in range(n_cores):
            in_end[c] = busy[c]
            nxt = _soma_next(c, t0, ev_src, core_ptr, route_ptr, ev_lo, ev_hi, ci, rr, rend, qq, ff, soma_end,
                             active[t, c], learn[t, c], lat)
            if nxt >= 0:
                ready[c] = nxt
                hn = _push(ht, hc, hn, max(nxt, _credit(n_links + c, t0, ring, cnt, wpos, DEPTH)), c)
        # ---- wave 1: spike messages in injection order. A popped core keeps sending while it stays the
        # earliest (a k-way merge: the same order as one pop per message, with fewer heap operations).
        n_msg = 0
        while hn > 0:
            tin, c, hn = _pop(ht, hc, hn)
            while True:
                sender_stall[c] += tin - ready[c]
                _enter(n_links + c, tin, ring, cnt, wpos, DEPTH, buf_peak)
                r = rr[c] - 1
                a = route_axon[r]
                _deliver(c, route_core[r], L_WIN + (axon_syn_ptr[a + 1] - axon_syn_ptr[a]) * L_SYN, tin, t0, OCC,
                         DEPTH, n_links, fifo_base, gx_n, core_x, core_y, link_lat, ring, cnt, wpos, link_free, busy,
                         in_end, link_busy, link_stall, buf_peak)
                for j in range(axon_psum_ptr[a], axon_psum_ptr[a + 1]):
                    mark[axon_psum[j]] = t
                n_msg += 1
                nxt = _soma_next(c, tin, ev_src, core_ptr, route_ptr, ev_lo, ev_hi, ci, rr, rend, qq, ff, soma_end,
                                 active[t, c], learn[t, c], lat)
                if nxt < 0:
                    break
                ready[c] = nxt
                tin = max(nxt, _credit(n_links + c, t0, ring, cnt, wpos, DEPTH))
                if hn > 0 and (ht[0] < tin or (ht[0] == tin and hc[0] < c)):
                    hn = _push(ht, hc, hn, tin, c)
                    break
        # ---- wave 2: partial sums, each segment core once its reads of the step's spikes are done
        n_ps = 0
        if n_psum > 0:
            for c in range(n_cores):
                q = core_psum_ptr[c]
                while q < core_psum_ptr[c + 1] and mark[q] != t:
                    q += 1
                pq[c] = q
                if q < core_psum_ptr[c + 1]:
                    ready[c] = in_end[c] + L_OUT
                    hn = _push(ht, hc, hn, max(ready[c], _credit(n_links + c, t0, ring, cnt, wpos, DEPTH)), c)
            while hn > 0:
                tin, c, hn = _pop(ht, hc, hn)
                sender_stall[c] += tin - ready[c]
                _enter(n_links + c, tin, ring, cnt, wpos, DEPTH, buf_peak)
                _deliver(c, psum_dst[pq[c]], L_PSUM, tin, t0, OCC, DEPTH, n_links, fifo_base, gx_n, core_x, core_y,
                         link_lat, ring, cnt, wpos, link_free, busy, in_end, link_busy, link_stall, buf_peak)
                n_ps += 1
                q = pq[c] + 1
                while q < core_psum_ptr[c + 1] and mark[q] != t:
                    q += 1
                pq[c] = q
                if q < core_psum_ptr[c + 1]:
                    ready[c] = tin + L_OUT
                    hn = _push(ht, hc, hn, max(ready[c], _credit(n_links + c, t0, ring, cnt, wpos, DEPTH)), c)
        sm = 0
        im = 0
        for c in range(n_cores):
            if soma_end[c] - t0 > sm:
                sm = soma_end[c] - t0
            if in_end[c] - t0 > im:
                im = in_end[c] - t0
        out_soma[t] = sm
        out_in[t] = im
        out_lat[t] = sm if sm > im else im
        out_msgs[t] = n_msg
        out_psum[t] = n_ps
        t0 += out_lat[t]
    return out_lat, out_soma, out_in, sender_stall, link_busy, link_stall, buf_peak, out_msgs, out_psum
