"""Numba engine of the message-level timing model: ``spec.simulate_step`` for every step of a run, over
flat arrays, event for event the same (tests/test_timing_cycle.py holds them equal).

Differences of form only: one binary heap of ``(time, seq)`` keys with a payload ``kind * BIG + index``;
times run on across steps (step t starts where step t-1 ended), so link, buffer and wake-up state left by
a drained step needs no reset; circular FIFOs of ``depth`` slots per buffer; router ports as padded tables.
"""
from __future__ import annotations

import numba
import numpy as np

SOMA, ROUTER, CORE = 0, 1, 2
BIG = 1 << 40


@numba.njit(cache=True, nogil=True, inline="always")
def _soma_prefix(x, fired_before, n, active, fired_total, idle, act):
    nf = n - fired_total
    extra = active - fired_total
    if extra < 0:
        extra = 0
    spread = (extra * (x - fired_before)) // nf if nf > 0 else 0
    return x * idle + (fired_before + spread) * (act - idle)


@numba.njit(cache=True, nogil=True, inline="always")
def _soma_advance(c, now, ev_src, core_ptr, route_ptr, ev_lo, ev_hi, ci, rr, rend, qq, ff, soma_end, active,
                  learn, lat):
    """``spec.simulate_step``'s ``soma_advance``: the time core c's soma has its next message ready, or -1
    when it has finished (then ``soma_end[c]`` is set). ``ci``: its current fired neuron (event index),
    ``rr``/``rend``: the route entries left, ``qq``: the next neuron position, ``ff``: neurons fired so far."""
    n_c = core_ptr[c + 1] - core_ptr[c]
    fired = ev_hi[c] - ev_lo[c]
    while True:
        if ci[c] >= ev_lo[c] and rr[c] < rend[c]:
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


@numba.njit(cache=True, nogil=True)
def _grow(ht, hs, hp, n):
    if n < ht.size:
        return ht, hs, hp
    m = 2 * ht.size
    a, b, c = np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.int64)
    a[:n] = ht[:n]
    b[:n] = hs[:n]
    c[:n] = hp[:n]
    return a, b, c


@numba.njit(cache=True, nogil=True, inline="always")
def _push(ht, hs, hp, n, t, s, payload):
    i = n
    while i > 0:
        par = (i - 1) >> 1
        if ht[par] < t or (ht[par] == t and hs[par] < s):
            break
        ht[i] = ht[par]
        hs[i] = hs[par]
        hp[i] = hp[par]
        i = par
    ht[i] = t
    hs[i] = s
    hp[i] = payload
    return n + 1


@numba.njit(cache=True, nogil=True, inline="always")
def _pop(ht, hs, hp, n):
    """Remove the root; returns (time, payload, new size)."""
    t0, p0 = ht[0], hp[0]
    n -= 1
    t, s, p = ht[n], hs[n], hp[n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and (ht[c + 1] < ht[c] or (ht[c + 1] == ht[c] and hs[c + 1] < hs[c])):
            c += 1
        if t < ht[c] or (t == ht[c] and s < hs[c]):
            break
        ht[i] = ht[c]
        hs[i] = hs[c]
        hp[i] = hp[c]
        i = c
    if n > 0:
        ht[i] = t
        hs[i] = s
        hp[i] = p
    return t0, p0, n


@numba.njit(cache=True, nogil=True)
def _router_tables(gx_n, gy_n, core_x, core_y):
    """Per router: input buffer ids and output ids in the spec's order (padded with -1)."""
    n_r = gx_n * gy_n
    n_links = n_r * 4
    n_cores = core_x.size
    per = np.zeros(n_r, np.int64)
    for c in range(n_cores):
        per[core_y[c] * gx_n + core_x[c]] += 1
    width = 4 + (per.max() if n_cores else 0)
    rin = np.full((n_r, width), -1, np.int64)
    rout = np.full((n_r, width), -1, np.int64)
    nin = np.zeros(n_r, np.int64)
    nout = np.zeros(n_r, np.int64)
    dxs = (1, -1, 0, 0)
    dys = (0, 0, 1, -1)
    for r in range(n_r):
        x, y = r % gx_n, r // gx_n
        for d in range(4):
            fx, fy = x - dxs[d], y - dys[d]
            if 0 <= fx < gx_n and 0 <= fy < gy_n:
                rin[r, nin[r]] = (fy * gx_n + fx) * 4 + d
                nin[r] += 1
        for d in range(4):
            tx, ty = x + dxs[d], y + dys[d]
            if 0 <= tx < gx_n and 0 <= ty < gy_n:
                rout[r, nout[r]] = (y * gx_n + x) * 4 + d
                nout[r] += 1
    for c in range(n_cores):
        r = core_y[c] * gx_n + core_x[c]
        rin[r, nin[r]] = n_links + c
        nin[r] += 1
        rout[r, nout[r]] = n_links + c
        nout[r] += 1
    return rin, rout, nin, nout


@numba.njit(cache=True, nogil=True)
def simulate_run(ev_step, ev_src, n_neurons, core_ptr, route_ptr, route_core, route_axon, axon_syn_ptr,
                 active, learn, lat, link_lat, gx_n, gy_n, core_x, core_y, steps):
    """Every step of ``spec.simulate_step``; events sorted by (step, source). ``lat``: syn, act, idle, out,
    gen, win, learn, occ, depth (ticks / messages). Returns per-step latency, soma and input maxima,
    message counts, and run totals: sender stall per core, busy and stall per mesh link, buffer peaks."""
    L_SYN, L_ACT, L_IDLE, L_OUT, L_GEN, L_WIN, L_LEARN, OCC, DEPTH = (lat[0], lat[1], lat[2], lat[3], lat[4],
                                                                     lat[5], lat[6], lat[7], lat[8])
    n_cores = core_x.size
    n_r = gx_n * gy_n
    n_links = n_r * 4
    fifo_base = n_links + n_cores
    n_buf = n_links + 2 * n_cores
    rin, rout, nin, nout = _router_tables(gx_n, gy_n, core_x, core_y)
    dxs = np.array([1, -1, 0, 0], np.int64)
    dys = np.array([0, 0, 1, -1], np.int64)

    # messages per step (neuron sources only) to size the per-step message arrays
    bounds = np.searchsorted(ev_step, np.arange(steps + 1))
    max_msgs = 1
    for t in range(steps):
        k = 0
        for e in range(bounds[t], bounds[t + 1]):
            s = ev_src[e]
            if s < n_neurons:
                k += route_ptr[s + 1] - route_ptr[s]
        if k > max_msgs:
            max_msgs = k
    arrival = np.zeros(max_msgs, np.int64)
    mdst = np.zeros(max_msgs, np.int64)
    mnsyn = np.zeros(max_msgs, np.int64)

    fifo = np.zeros(n_buf * DEPTH, np.int64)
    fhead = np.zeros(n_buf, np.int64)
    fcnt = np.zeros(n_buf, np.int64)
    blocked = np.zeros(n_buf, np.bool_)
    link_free = np.zeros(n_links + n_cores, np.int64)
    pend_r = np.full(n_r, -1, np.int64)
    pend_c = np.full(n_cores, -1, np.int64)
    busy = np.zeros(n_cores, np.int64)
    in_end = np.zeros(n_cores, np.int64)
    soma_end = np.zeros(n_cores, np.int64)
    stalled = np.full(n_cores, -1, np.int64)
    ev_lo = np.zeros(n_cores, np.int64)
    ev_hi = np.zeros(n_cores, np.int64)
    ci = np.zeros(n_cores, np.int64)
    rr = np.zeros(n_cores, np.int64)
    rend = np.zeros(n_cores, np.int64)
    qq = np.zeros(n_cores, np.int64)
    ff = np.zeros(n_cores, np.int64)
    core_router = core_y * gx_n + core_x

    out_lat = np.zeros(steps, np.int64)
    out_soma = np.zeros(steps, np.int64)
    out_in = np.zeros(steps, np.int64)
    out_msgs = np.zeros(steps, np.int64)
    sender_stall = np.zeros(n_cores, np.int64)
    link_busy = np.zeros(n_links, np.int64)
    link_stall = np.zeros(n_links, np.int64)
    buf_peak = np.zeros(n_buf, np.int64)

    cap = 1024
    ht = np.empty(cap, np.int64)
    hs = np.empty(cap, np.int64)
    hp = np.empty(cap, np.int64)
    hn = 0
    seq = 0
    t0 = 0
    for t in range(steps):
        e0, e1 = bounds[t], bounds[t + 1]
        for c in range(n_cores):
            ev_lo[c] = e0 + np.searchsorted(ev_src[e0:e1], core_ptr[c])
            ev_hi[c] = e0 + np.searchsorted(ev_src[e0:e1], core_ptr[c + 1])
            ci[c] = ev_lo[c] - 1
            rr[c] = 0
            rend[c] = 0
            qq[c] = 0
            ff[c] = 0
            soma_end[c] = t0
        n_msg = 0
        # ---- soma units: first message of each core (soma_advance from t0)
        for c in range(n_cores):
            nxt = _soma_advance(c, t0, ev_src, core_ptr, route_ptr, ev_lo, ev_hi, ci, rr, rend, qq, ff, soma_end,
                                active[t, c], learn[t, c], lat)
            if nxt >= 0:
                ht, hs, hp = _grow(ht, hs, hp, hn)
                hn = _push(ht, hs, hp, hn, nxt, seq, SOMA * BIG + c)
                seq += 1
        # ---- input units: host messages first
        for c in range(n_cores):
            busy[c] = t0
        for e in range(e0, e1):
            s = ev_src[e]
            if s >= n_neurons:
                for r in range(route_ptr[s], route_ptr[s + 1]):
                    a = route_axon[r]
                    busy[route_core[r]] += L_WIN + (axon_syn_ptr[a + 1] - axon_syn_ptr[a]) * L_SYN
        for c in range(n_cores):
            in_end[c] = busy[c]
            if busy[c] > t0 and (pend_c[c] < 0 or busy[c] < pend_c[c]):
                pend_c[c] = busy[c]
                ht, hs, hp = _grow(ht, hs, hp, hn)
                hn = _push(ht, hs, hp, hn, busy[c], seq, CORE * BIG + c)
                seq += 1

        while hn > 0:
            now, payload, hn = _pop(ht, hs, hp, hn)
            kind = payload // BIG
            idx = payload - kind * BIG
            if kind == SOMA:
                c = idx
                b = n_links + c
                if fcnt[b] >= DEPTH:
                    stalled[c] = now
                    blocked[b] = True
                    continue
                m = n_msg
                n_msg += 1
                r = rr[c]
                a = route_axon[r]
                mdst[m] = route_core[r]
                mnsyn[m] = axon_syn_ptr[a + 1] - axon_syn_ptr[a]
                arrival[m] = now
                fifo[b * DEPTH + (fhead[b] + fcnt[b]) % DEPTH] = m
                fcnt[b] += 1
                if fcnt[b] > buf_peak[b]:
                    buf_peak[b] = fcnt[b]
                rt = core_router[c]
                if pend_r[rt] < 0 or now < pend_r[rt]:
                    pend_r[rt] = now
                    ht, hs, hp = _grow(ht, hs, hp, hn)
                    hn = _push(ht, hs, hp, hn, now, seq, ROUTER * BIG + rt)
                    seq += 1
                rr[c] += 1
                nxt = _soma_advance(c, now, ev_src, core_ptr, route_ptr, ev_lo, ev_hi, ci, rr, rend, qq, ff,
                                    soma_end, active[t, c], learn[t, c], lat)
                if nxt >= 0:
                    ht, hs, hp = _grow(ht, hs, hp, hn)
                    hn = _push(ht, hs, hp, hn, nxt, seq, SOMA * BIG + c)
                    seq += 1
            elif kind == ROUTER:
                rt = idx
                if pend_r[rt] != now:
                    continue
                pend_r[rt] = -1
                x, y = rt % gx_n, rt // gx_n
                progress = True
                later = -1
                while progress:
                    progress = False
                    for oi in range(nout[rt]):
                        o = rout[rt, oi]
                        best = -1
                        best_t = 0
                        best_m = 0
                        for bi in range(nin[rt]):
                            b = rin[rt, bi]
                            if fcnt[b] == 0:
                                continue
                            m = fifo[b * DEPTH + fhead[b]]
                            if arrival[m] > now:
                                if later < 0 or arrival[m] < later:
                                    later = arrival[m]
                                continue
                            d = mdst[m]
                            bx, by = core_x[d], core_y[d]
                            if bx != x:
                                want = (y * gx_n + x) * 4 + (0 if bx > x else 1)
                            elif by != y:
                                want = (y * gx_n + x) * 4 + (2 if by > y else 3)
                            else:
                                want = n_links + d
                            if want != o:
                                continue
                            if best < 0 or arrival[m] < best_t or (arrival[m] == best_t and m < best_m):
                                best, best_t, best_m = b, arrival[m], m
                        if best < 0:
                            continue
                        if link_free[o] > now:
                            w = link_free[o]
                            if pend_r[rt] < 0 or w < pend_r[rt]:
                                pend_r[rt] = w
                                ht, hs, hp = _grow(ht, hs, hp, hn)
                                hn = _push(ht, hs, hp, hn, w, seq, ROUTER * BIG + rt)
                                seq += 1
                            continue
                        nb = o if o < n_links else fifo_base + (o - n_links)
                        if fcnt[nb] >= DEPTH:
                            blocked[nb] = True
                            continue
                        m = best_m
                        fhead[best] = (fhead[best] + 1) % DEPTH
                        fcnt[best] -= 1
                        link_free[o] = now + OCC
                        if o < n_links:
                            link_stall[o] += now - arrival[m]
                            link_busy[o] += OCC
                            t_arr = now + link_lat[o]
                            arrival[m] = t_arr
                            fifo[nb * DEPTH + (fhead[nb] + fcnt[nb]) % DEPTH] = m
                            fcnt[nb] += 1
                            if fcnt[nb] > buf_peak[nb]:
                                buf_peak[nb] = fcnt[nb]
                            dd = o % 4
                            r2 = (y + dys[dd]) * gx_n + x + dxs[dd]
                            if pend_r[r2] < 0 or t_arr < pend_r[r2]:
                                pend_r[r2] = t_arr
                                ht, hs, hp = _grow(ht, hs, hp, hn)
                                hn = _push(ht, hs, hp, hn, t_arr, seq, ROUTER * BIG + r2)
                                seq += 1
                        else:
                            arrival[m] = now
                            fifo[nb * DEPTH + (fhead[nb] + fcnt[nb]) % DEPTH] = m
                            fcnt[nb] += 1
                            if fcnt[nb] > buf_peak[nb]:
                                buf_peak[nb] = fcnt[nb]
                            c2 = o - n_links
                            if pend_c[c2] < 0 or now < pend_c[c2]:
                                pend_c[c2] = now
                                ht, hs, hp = _grow(ht, hs, hp, hn)
                                hn = _push(ht, hs, hp, hn, now, seq, CORE * BIG + c2)
                                seq += 1
                        # free_slot(best, now)
                        if blocked[best]:
                            blocked[best] = False
                            if best < n_links:
                                wr = ((best // 4) // gx_n) * gx_n + (best // 4) % gx_n
                                if pend_r[wr] < 0 or now < pend_r[wr]:
                                    pend_r[wr] = now
                                    ht, hs, hp = _grow(ht, hs, hp, hn)
                                    hn = _push(ht, hs, hp, hn, now, seq, ROUTER * BIG + wr)
                                    seq += 1
                            else:      # an injection port (core FIFOs never feed a router input)
                                c3 = best - n_links
                                if stalled[c3] >= 0:
                                    sender_stall[c3] += now - stalled[c3]
                                    stalled[c3] = -1
                                    ht, hs, hp = _grow(ht, hs, hp, hn)
                                    hn = _push(ht, hs, hp, hn, now, seq, SOMA * BIG + c3)
                                    seq += 1
                        progress = True
                if later >= 0 and (pend_r[rt] < 0 or later < pend_r[rt]):
                    pend_r[rt] = later
                    ht, hs, hp = _grow(ht, hs, hp, hn)
                    hn = _push(ht, hs, hp, hn, later, seq, ROUTER * BIG + rt)
                    seq += 1
            else:
                c = idx
                if pend_c[c] != now:
                    continue
                pend_c[c] = -1
                b = fifo_base + c
                w = -1
                if busy[c] > now:
                    w = busy[c]
                elif fcnt[b] > 0 and arrival[fifo[b * DEPTH + fhead[b]]] > now:
                    w = arrival[fifo[b * DEPTH + fhead[b]]]
                if w >= 0:
                    if pend_c[c] < 0 or w < pend_c[c]:
                        pend_c[c] = w
                        ht, hs, hp = _grow(ht, hs, hp, hn)
                        hn = _push(ht, hs, hp, hn, w, seq, CORE * BIG + c)
                        seq += 1
                    continue
                if fcnt[b] == 0:
                    continue
                m = fifo[b * DEPTH + fhead[b]]
                fhead[b] = (fhead[b] + 1) % DEPTH
                fcnt[b] -= 1
                end = now + L_WIN + mnsyn[m] * L_SYN
                busy[c] = end
                in_end[c] = end
                if pend_c[c] < 0 or end < pend_c[c]:
                    pend_c[c] = end
                    ht, hs, hp = _grow(ht, hs, hp, hn)
                    hn = _push(ht, hs, hp, hn, end, seq, CORE * BIG + c)
                    seq += 1
                if blocked[b]:
                    blocked[b] = False
                    wr = core_router[c]
                    if pend_r[wr] < 0 or now < pend_r[wr]:
                        pend_r[wr] = now
                        ht, hs, hp = _grow(ht, hs, hp, hn)
                        hn = _push(ht, hs, hp, hn, now, seq, ROUTER * BIG + wr)
                        seq += 1
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
        t0 += out_lat[t]
    return out_lat, out_soma, out_in, sender_stall, link_busy, link_stall, buf_peak, out_msgs
