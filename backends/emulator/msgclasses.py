"""The cost model's message pass per *class of sources*, for runs whose per-core counters the kernel kept.

``costmodel.message_totals`` walks every message (spike event x route entry): ~45 ns each, a third of a
busy dense chain's emulation again. Most of that work repeats: every neuron of a Dense layer's core sends
to the same destination cores, so its messages have the same hops, payload bits, latencies and link paths.
Here sources are grouped into classes with identical ``(sending core, [(route_core, payload bits)])``
(graph-input channels: sending core -1), and per class, once per run:

* ``M[c]``: the ``MOMENT_FIELDS`` sums of one spike's messages (energies come from moments, exactly);
* ``maxlat[c]``: its longest message latency (the same float formula as the per-message pass);
* its link footprint: the packets one spike puts on each directed link (X-then-Y walks, summed).

The event pass then costs O(1) per spike event plus, per step, O(moments + footprint) per class that
fired. What depends on each route's *axon* (synaptic reads per destination core, messages in/out, spikes
out) is what the numba kernel already counts per core and step (``kernels.COUNTER_NAMES``); it is taken
from those counters, shifted by the one step between a spike and its synaptic read. Every field equals
``message_totals``' bit for bit (integer sums in any order; maxima of the same floats):
tests/test_costmodel_classes.py. Classes are found by hashing each source's route list and then checking
every member against its class's first source, so a hash collision only splits a class, never merges two.

A quick run (``session.QuickRuns``) need not list its spike events at all (:func:`traced_totals`): where all
neurons of a core are of one class, as in a Dense layer's core, the class fires as often as the kernel's
``spikes_out`` counter says; only the neurons of cores of several classes are read from the recorded spikes.
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from ...mapping import mesh as geometry
from ...mapping.mesh import tile_hops, walk_route
from .costmodel import _add_moment_row, _close_links, energies, route_payload_bits
from .tablecache import derived

#: The kernel counters (``kernels.COUNTER_NAMES``) this pass reads.
COUNTS = ("syn_ops", "packets_in", "packets_out", "spikes_out")

_MIX1 = np.uint64(0x9E3779B97F4A7C15)
_MIX2 = np.uint64(0xFF51AFD7ED558CCD)


@numba.njit(cache=True, nogil=True)
def _route_hashes(route_ptr, route_core, bits, src_core):
    """Per source: a 64-bit hash of its sending core and its routes' (destination core, payload bits)."""
    n = src_core.size
    h = np.empty(n, np.uint64)
    for s in range(n):
        x = np.uint64(src_core[s] + 2) * _MIX1
        for r in range(route_ptr[s], route_ptr[s + 1]):
            x = (x ^ np.uint64(route_core[r])) * _MIX2
            x = (x ^ np.uint64(bits[r])) * _MIX1
            x ^= x >> np.uint64(29)
        h[s] = x
    return h


@numba.njit(cache=True, nogil=True)
def _same_routes(s, q, route_ptr, route_core, bits, src_core):
    if src_core[s] != src_core[q]:
        return False
    a, b = route_ptr[s], route_ptr[q]
    n = route_ptr[s + 1] - a
    if route_ptr[q + 1] - b != n:
        return False
    for i in range(n):
        if route_core[a + i] != route_core[b + i] or bits[a + i] != bits[b + i]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _assign_classes(order, h, route_ptr, route_core, bits, src_core):
    """``(class of each source, first source of each class)``; ``order`` sorts the sources by hash. A
    source joins the current class only if its routes equal the class's first source's."""
    n = order.size
    cls = np.empty(n, np.int64)
    rep = np.empty(n, np.int64)
    n_cls = 0
    q = -1
    for i in range(n):
        s = order[i]
        if q >= 0 and h[s] == h[q] and _same_routes(s, q, route_ptr, route_core, bits, src_core):
            cls[s] = n_cls - 1
        else:
            q = s
            rep[n_cls] = s
            cls[s] = n_cls
            n_cls += 1
    return cls, rep[:n_cls]


@numba.njit(cache=True, nogil=True)
def _class_tables(rep, src_core, route_ptr, route_core, gx, gy, cx, cy, gx_n, lat, scale, bits, n_links):
    """Per class (first source ``rep[c]``): moments ``M[c, 9]``, longest message latency, and the link
    footprint as CSR ``(fp_ptr, fp_link, fp_cnt)`` (packets of one spike per directed link)."""
    n_cls = rep.size
    mom = np.zeros((n_cls, 9), np.int64)
    maxlat = np.zeros(n_cls)
    cur = np.zeros(n_links, np.int64)
    touched = np.empty(n_links + 1, np.int64)
    fp_ptr = np.zeros(n_cls + 1, np.int64)
    l_so, l_wt, l_ew, l_ns, l_ic = lat[0], lat[1], lat[2], lat[3], lat[4]
    lat_in = 0.0 + l_wt
    for sweep in range(2):          # 0: footprint sizes; 1: fill
        if sweep == 1:
            fp_link = np.empty(fp_ptr[n_cls], np.int32)      # int32: half the memory the event pass streams
            fp_cnt = np.empty(fp_ptr[n_cls], np.int32)       # (packets <= routes of one source)
        for c in range(n_cls):
            s = rep[c]
            a = src_core[s]
            n_touched = 0
            for r in range(route_ptr[s], route_ptr[s + 1]):
                b = route_core[r]
                sc = scale[r]
                if a >= 0:
                    n_touched = walk_route(gx[a], gy[a], gx[b], gy[b], 1, gx_n, cur, touched, n_touched)
                    if sweep == 1:      # the per-message pass's formulas (costmodel._message_kernel)
                        ew, ns, ic = tile_hops(gx[a], gy[a], cx[a], cy[a], gx[b], gy[b], cx[b], cy[b])
                        m_lat = l_so + l_wt + ew * l_ew + ns * l_ns + ic * l_ic
                        m_lat = m_lat + (sc - 1.0) * (l_wt + ew * l_ew + ns * l_ns + ic * l_ic)
                        _add_moment_row(mom[c], 1, ew, ns, ic, bits[r])
                        if m_lat > maxlat[c]:
                            maxlat[c] = m_lat
                elif sweep == 1:
                    m_lat = lat_in + (sc - 1.0) * (l_wt + 0.0 * l_ew + 0.0 * l_ns + 0.0 * l_ic)
                    _add_moment_row(mom[c], 0, 0, 0, 0, bits[r])
                    if m_lat > maxlat[c]:
                        maxlat[c] = m_lat
            if sweep == 0:
                fp_ptr[c + 1] = fp_ptr[c] + n_touched
            for j in range(n_touched):
                lid = touched[j]
                if sweep == 1:
                    fp_link[fp_ptr[c] + j] = lid
                    fp_cnt[fp_ptr[c] + j] = cur[lid]
                cur[lid] = 0
    return mom, maxlat, fp_ptr, fp_link, fp_cnt


@numba.njit(cache=True, nogil=True)
def _class_pass(ev_step, ev_src, cls, mom, maxlat, fp_ptr, fp_link, fp_cnt, fp_rows, link_lat, steps, close_all):
    """One pass over the spike events (``ev_step`` non-decreasing): per step, the classes that fired and
    how often; when the step closes, their moments, longest latency and link loads. Returns
    ``(mom_step, path, contention, link total, link max per step, spikes per class)``.

    ``close_all``: a step closes by scanning every link (``_close_all``) instead of a list of the links it
    touched; the list costs a branch per footprint entry, which dominates when each spike's footprint
    covers a good part of the mesh (``footprint_dense``); the scan costs ``n_links`` per step. ``fp_rows``
    (``footprint_rows``; shape (0, 0): none): with ``close_all``, each class's footprint as a dense row, added
    over every link (vectorised) instead of by its entries."""
    n_cls = mom.shape[0]
    n_links = link_lat.size
    out = (np.zeros((steps, 9), np.int64), np.zeros(steps), np.zeros(steps), np.zeros(n_links, np.int64),
           np.zeros(n_links, np.int64), np.zeros(n_cls, np.int64))
    cnt = np.zeros(n_cls, np.int64)
    act = np.empty(n_cls, np.int64)
    cur = np.zeros(n_links, np.int64)
    cur32 = np.zeros(n_links if fp_rows.shape[0] else 0, np.int32)
    touched = np.empty(n_links + 1, np.int64)
    n_act = 0
    step = -1
    n_ev = ev_step.size
    for e in range(n_ev + 1):
        t = ev_step[e] if e < n_ev else -2
        if t != step:
            if step >= 0:
                _close_step(step, act, n_act, cnt, mom, maxlat, fp_ptr, fp_link, fp_cnt, fp_rows, link_lat, close_all,
                            cur, cur32, touched, out)
                n_act = 0
            if e == n_ev:
                break
            step = t
        c = cls[ev_src[e]]
        if cnt[c] == 0:
            act[n_act] = c
            n_act += 1
        cnt[c] += 1
    return out


@numba.njit(cache=True, nogil=True)
def _class_pass_counted(spikes_out, core_cls, spikes, mix_col, mix_cls, in_ptr, in_src, cls, mom, maxlat, fp_ptr,
                        fp_link, fp_cnt, fp_rows, link_lat, close_all):
    """:func:`_class_pass` without a list of the spike events. A core whose neurons are all of one class
    (``core_cls[c] >= 0``) fires that class ``spikes_out[t, c]`` times at step t (the kernel's counter); a
    neuron of a core of several classes fires its class ``mix_cls[j]`` when its column ``mix_col[j]`` of the
    recorded ``spikes`` (uint8 [T, k]) is 1; the graph-input channels' events are step t's entries
    ``in_ptr[t]..in_ptr[t + 1]`` of ``in_src``. Each step's classes and counts are those of the event list,
    so every output is equal (integer sums; maxima of the same floats)."""
    steps, n_cores = spikes_out.shape
    n_cls = mom.shape[0]
    n_links = link_lat.size
    out = (np.zeros((steps, 9), np.int64), np.zeros(steps), np.zeros(steps), np.zeros(n_links, np.int64),
           np.zeros(n_links, np.int64), np.zeros(n_cls, np.int64))
    cnt = np.zeros(n_cls, np.int64)
    act = np.empty(n_cls + 1, np.int64)        # + 1: the branch-free append writes one past the list
    cur = np.zeros(n_links, np.int64)
    cur32 = np.zeros(n_links if fp_rows.shape[0] else 0, np.int32)
    touched = np.empty(n_links + 1, np.int64)
    n_in = in_ptr.size - 1
    # the appends to the step's list of classes are written out: an inlined helper returning the new length made
    # the event pass ~7x slower (numba 0.68)
    for t in range(steps):
        n_act = 0
        for c in range(n_cores):
            k = spikes_out[t, c]
            q = core_cls[c]
            if k > 0 and q >= 0:
                if cnt[q] == 0:
                    act[n_act] = q
                    n_act += 1
                cnt[q] += k
        for j in range(mix_col.size):          # branch-free: most columns hold 0
            k = np.int64(spikes[t, mix_col[j]])
            q = mix_cls[j]
            act[n_act] = q
            n_act += (cnt[q] == 0) & (k != 0)
            cnt[q] += k
        if t < n_in:
            for e in range(in_ptr[t], in_ptr[t + 1]):
                q = cls[in_src[e]]
                if cnt[q] == 0:
                    act[n_act] = q
                    n_act += 1
                cnt[q] += 1
        if n_act > 0:                          # (a step without events is not closed in the event pass either)
            _close_step(t, act, n_act, cnt, mom, maxlat, fp_ptr, fp_link, fp_cnt, fp_rows, link_lat, close_all, cur,
                        cur32, touched, out)
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _close_step(step, act, n_act, cnt, mom, maxlat, fp_ptr, fp_link, fp_cnt, fp_rows, link_lat, close_all, cur, cur32,
                touched, out):
    """Step ``step`` ends: its firing classes' moments, longest latency and link loads go into ``out``
    (``_class_pass``'s outputs); their counts are cleared. Dense rows (``fp_rows`` not empty, with
    ``close_all``) add into the int32 ``cur32`` (twice the lanes of int64; ``footprint_rows`` checks that no
    step's load can reach 2^31)."""
    mom_step, path, contention, total, maxstep, cls_total = out
    rows = close_all and fp_rows.shape[0] > 0
    p_max = 0.0
    n_touched = 0
    for j in range(n_act):
        c = act[j]
        k = cnt[c]
        cnt[c] = 0
        cls_total[c] += k
        for f in range(9):
            mom_step[step, f] += k * mom[c, f]
        if maxlat[c] > p_max:
            p_max = maxlat[c]
        if rows:
            r = fp_rows[c]
            k32 = np.int32(k)
            for lid in range(cur32.size):
                cur32[lid] += k32 * r[lid]
        elif close_all:
            for i in range(fp_ptr[c], fp_ptr[c + 1]):
                cur[fp_link[i]] += k * fp_cnt[i]
        else:
            for i in range(fp_ptr[c], fp_ptr[c + 1]):
                lid = fp_link[i]
                if cur[lid] == 0:
                    touched[n_touched] = lid
                    n_touched += 1
                cur[lid] += k * fp_cnt[i]
    if rows:
        contention[step] = _close_all(cur32, total, maxstep, link_lat)
    elif close_all:
        contention[step] = _close_all(cur, total, maxstep, link_lat)
    else:
        contention[step] = _close_links(touched, n_touched, cur, total, maxstep, link_lat)
    path[step] = p_max


@numba.njit(cache=True, nogil=True, inline="always")
def _close_all(cur, total, maxstep, link_lat):
    """``costmodel._close_links`` over every link, without its list: an unloaded link adds 0 to its total,
    cannot raise its maximum, and its ``(0 - 1) * link_lat <= 0`` cannot raise the contention (which starts
    at 0.0), so the totals, maxima and contention equal the list's. No branch per link (a scan that built
    the list first cost Brunel's 1000 steps of 512 links ~3 ms more)."""
    cmax = 0.0
    for lid in range(cur.size):
        load = cur[lid]
        total[lid] += load
        maxstep[lid] = max(maxstep[lid], load)
        c = (load - 1) * link_lat[lid]
        if c > cmax:
            cmax = c
        cur[lid] = 0
    return cmax


#: Footprints as dense int16 rows (``footprint_rows``) where they take at most this many bytes ...
FP_ROWS_BYTES = 64 * 2 ** 20
#: ... and a class loads at least this fraction of the links on average (else its entries are fewer adds).
FP_ROWS_DENSITY = 1 / 8


def footprint_rows(fp_ptr, fp_link, fp_cnt, n_links: int, n_sources: int, force: bool = False) -> np.ndarray:
    """int16 ``[classes, n_links]``: each class's footprint (packets of one spike per link) as a dense row, which
    ``_close_step`` adds over every link in SIMD lanes where the entries are scattered adds (Brunel's 6,000
    classes x 512 links, ~100 entries each: 11.3 -> 4.3 ms per 1000 steps of its footprint adds, standalone).
    Empty (0, 0) where the rows would take over ``FP_ROWS_BYTES``, the footprints are sparser than
    ``FP_ROWS_DENSITY`` (``force``: build anyway, for tests), a count exceeds int16, or a step's load on a
    link could reach 2^31 (every source sending at most once a step: ``n_sources x`` the largest count)."""
    n_cls = fp_ptr.size - 1
    big = int(fp_cnt.max()) if fp_cnt.size else 0
    if n_cls == 0 or big > np.iinfo(np.int16).max or n_sources * big >= 2 ** 31:
        return np.zeros((0, 0), np.int16)
    if not force and (2 * n_cls * n_links > FP_ROWS_BYTES or fp_cnt.size < FP_ROWS_DENSITY * n_cls * n_links):
        return np.zeros((0, 0), np.int16)
    rows = np.zeros((n_cls, n_links), np.int16)
    rows[np.repeat(np.arange(n_cls), np.diff(fp_ptr)), fp_link] = fp_cnt
    return rows


def footprint_dense(entries: int, n_links: int, steps: int) -> bool:
    """True if a run's footprint ``entries`` (one per link a firing class loads: ``_footprint_entries``,
    ``_counted_footprint_entries``) outnumber the links scanned by closing every step over all links: the
    class pass then scans (``close_all``)."""
    return int(entries) > int(n_links) * int(steps)


@numba.njit(cache=True, nogil=True)
def _footprint_entries(fp_ptr, cls, ev_src):
    """The footprint entries of the events ``ev_src``, summed (one pass: the numpy gathers of two event-long
    temporaries took ~4 ms of a busy chain's 1000 steps, 607k events)."""
    n = 0
    for e in range(ev_src.size):
        c = cls[ev_src[e]]
        n += fp_ptr[c + 1] - fp_ptr[c]
    return n


@numba.njit(cache=True, nogil=True)
def _counted_footprint_entries(spikes_out, core_cls, spikes, mix_col, mix_cls, in_ptr, in_src, cls, fp_ptr):
    """:func:`_footprint_entries` of the events :func:`_class_pass_counted` reads (the same sum)."""
    steps, n_cores = spikes_out.shape
    n = 0
    for c in range(n_cores):
        q = core_cls[c]
        if q >= 0:
            k = 0
            for t in range(steps):
                k += spikes_out[t, c]
            n += k * (fp_ptr[q + 1] - fp_ptr[q])
    for j in range(mix_col.size):
        q = mix_cls[j]
        k = 0
        for t in range(steps):
            k += spikes[t, mix_col[j]]
        n += k * (fp_ptr[q + 1] - fp_ptr[q])
    for e in range(in_ptr[min(steps, in_ptr.size - 1)] if in_ptr.size else 0):
        q = cls[in_src[e]]
        n += fp_ptr[q + 1] - fp_ptr[q]
    return n


@numba.njit(cache=True, nogil=True)
def _core_classes(cls, core_neuron_ptr):
    """Per core: the class of all its neurons, or -1 if they are of several classes (or it has none)."""
    n_cores = core_neuron_ptr.size - 1
    out = np.full(n_cores, -1, np.int64)
    for c in range(n_cores):
        a, b = core_neuron_ptr[c], core_neuron_ptr[c + 1]
        if b > a:
            q = cls[a]
            for i in range(a + 1, b):
                if cls[i] != q:
                    q = -1
                    break
            out[c] = q
    return out


@numba.njit(cache=True, nogil=True)
def _core_moments(cls_total, mom, core_of, rep, route_ptr, route_core, bits, n_cores):
    """Per sending core, int64 ``[n_cores, 9]``: the moments of the run's messages. A neuron class's
    messages are its core's; a host input's (sending core -1), each destination core's (one message,
    its payload bits: host inputs travel 0 hops)."""
    out = np.zeros((n_cores, 9), np.int64)
    for c in range(cls_total.size):
        k = cls_total[c]
        if k == 0:
            continue
        a = core_of[c]
        if a >= 0:
            for f in range(9):
                out[a, f] += k * mom[c, f]
        else:
            s = rep[c]
            for r in range(route_ptr[s], route_ptr[s + 1]):
                out[route_core[r], 1] += k
                out[route_core[r], 5] += k * bits[r]
    return out


def source_classes(target, tables, phys):
    """``(cls, rep, src_core, bits, packet)``: each source's class, each class's first source, the sending
    core of each source (-1: graph-input channel) and the routes' payload bits (``route_payload_bits``)."""
    route_ptr = np.asarray(tables.route_ptr, np.int64)
    route_core = np.asarray(tables.route_core, np.int64)
    per_core = np.diff(np.asarray(tables.core_neuron_ptr, np.int64))
    src_core = np.full(int(tables.n_sources), -1, np.int64)
    src_core[:tables.n_neurons] = np.repeat(np.arange(phys.size, dtype=np.int64), per_core)
    bits, packet = route_payload_bits(target, tables)
    h = _route_hashes(route_ptr, route_core, bits, src_core)
    cls, rep = _assign_classes(np.argsort(h, kind="stable"), h, route_ptr, route_core, bits, src_core)
    return cls, rep, src_core, bits, packet


class ClassTables(NamedTuple):
    """The source classes of some tables on a placement (:func:`class_tables`)."""
    cls: np.ndarray          # class of each source
    rep: np.ndarray          # first source of each class
    src_core: np.ndarray     # sending core of each source (-1: graph-input channel)
    bits: np.ndarray         # payload bits of each route
    mom: np.ndarray          # per class, ``_class_tables``' moments ...
    maxlat: np.ndarray       # ... longest message latency ...
    fp_ptr: np.ndarray       # ... and link footprint, CSR
    fp_link: np.ndarray
    fp_cnt: np.ndarray
    core_cls: np.ndarray     # per core, the class of all its neurons or -1 (``_core_classes``)
    fp_rows: np.ndarray      # the footprints as dense rows, or (0, 0) (``footprint_rows``)

    def footprints(self) -> tuple:
        """``(mom, maxlat, fp_ptr, fp_link, fp_cnt)``: what the class passes take per class."""
        return self.mom, self.maxlat, self.fp_ptr, self.fp_link, self.fp_cnt


def class_tables(target, tables, phys, n_links: int) -> ClassTables:
    """:class:`ClassTables` of these tables on ``phys`` (``source_classes``, ``_class_tables``,
    ``_core_classes``, ``footprint_rows``); kept for the next run of the same tables (``tablecache``)."""
    def compute():
        cls, rep, src_core, bits, packet = source_classes(target, tables, phys)
        scale = 1.0 + bits / packet if packet else np.ones(bits.size)
        keys = ("spike_out", "spike_within_tile", "hop_ew", "hop_ns", "hop_interchip")
        lat = np.array([target.costs.latency[k].value for k in keys], np.float64)
        gx, gy, cx, cy = geometry.tile_arrays(target.mesh, phys)
        mom, maxlat, fp_ptr, fp_link, fp_cnt = _class_tables(
            rep, src_core, np.asarray(tables.route_ptr, np.int64), np.asarray(tables.route_core, np.int64), gx, gy,
            cx, cy, geometry.grid_size(target.mesh)[0], lat, scale, bits, int(n_links))
        return ClassTables(cls, rep, src_core, bits, mom, maxlat, fp_ptr, fp_link, fp_cnt,
                           _core_classes(cls, np.asarray(tables.core_neuron_ptr, np.int64)),
                           footprint_rows(fp_ptr, fp_link, fp_cnt, int(n_links), int(tables.n_sources))), target
    # the target by identity, kept alive (so its id is not reused) by the value the slot holds
    key = (id(target), np.asarray(phys, np.int64).tobytes(), int(n_links))
    return derived("message_classes", tables, key, compute)[0]


def counted_totals(target, tables, phys, ev_step, ev_src, steps: int, link_lat, counts: dict,
                   close_all=None, rows=None) -> dict:
    """``costmodel.message_totals`` (same fields, equal values) from the kernel's per-core ``counts``
    (``COUNTS``, ``[steps, n_cores]`` each) and one pass over the spike events by source class.
    ``close_all``: how ``_class_pass`` closes a step (None: by ``footprint_dense``); ``rows``: whether it adds
    the footprints as dense rows there (None: where ``footprint_rows`` made them). Tests force each way."""
    link_lat = np.ascontiguousarray(link_lat, np.float64)
    ct = class_tables(target, tables, phys, link_lat.size)
    ev_step, ev_src = np.ascontiguousarray(ev_step, np.int64), np.ascontiguousarray(ev_src, np.int64)
    if close_all is None:
        close_all = footprint_dense(_footprint_entries(ct.fp_ptr, ct.cls, ev_src), link_lat.size, steps)
    passed = _class_pass(ev_step, ev_src, ct.cls, *ct.footprints(), _rows(ct, rows, link_lat.size, tables), link_lat,
                         int(steps), bool(close_all))
    return _totals(target, tables, phys, ct, passed, counts)


def _rows(ct: ClassTables, rows, n_links: int, tables) -> np.ndarray:
    """The dense footprint rows a pass uses: the class tables' (``rows`` None), none (False), or built now
    (True, tests)."""
    if rows is None:
        return ct.fp_rows
    if not rows:
        return np.zeros((0, 0), np.int16)
    return footprint_rows(ct.fp_ptr, ct.fp_link, ct.fp_cnt, n_links, int(tables.n_sources), force=True)


def traced_totals(target, tables, phys, trace, steps: int, link_lat, counts: dict, close_all=None, rows=None):
    """:func:`counted_totals` of a quick run without the list of its spike events (``trace``: its
    ``quickrun.SpikeTrace``; ``close_all``, ``rows``: as there). A core whose neurons are all of one class (a
    Dense layer's core: they send to the same cores) gives its class's spikes by the kernel's ``spikes_out``
    counter; only the neurons of cores of several classes are read from the recorded spikes, and the
    graph-input channels' events from the run's input rows. None where listing is the cheaper way (more than
    half the neurons are in such cores: each step then reads their columns one by one, where the list reads
    its rows twice, branch-free; Brunel's random net, every core mixed: 24-27 ms against 19-21 per 1000 steps)
    or the recording lacks one of those neurons' columns: the caller lists the events then. Equal to
    ``counted_totals`` (tests/test_costmodel_classes.py)."""
    link_lat = np.ascontiguousarray(link_lat, np.float64)
    ct = class_tables(target, tables, phys, link_lat.size)
    cls, core_cls = ct.cls, ct.core_cls
    spikes_out = np.ascontiguousarray(counts["spikes_out"], np.int64)
    spikes = trace.spikes
    n = int(tables.n_neurons)
    mixed = np.flatnonzero(core_cls[ct.src_core[:n]] < 0)
    if 2 * mixed.size > n:
        return None
    col_of = np.full(n, -1, np.int64)
    col_gid = np.asarray(trace.col_gid, np.int64)
    col_of[col_gid] = np.arange(col_gid.size)
    mix_col = col_of[mixed]
    if spikes_out.shape[0] != steps or spikes.shape[0] != steps or np.any(mix_col < 0):
        return None
    args = (spikes_out, core_cls, spikes, mix_col, cls[mixed], np.ascontiguousarray(trace.in_ptr, np.int64),
            np.ascontiguousarray(trace.in_src, np.int64), cls)
    if close_all is None:
        close_all = footprint_dense(_counted_footprint_entries(*args, ct.fp_ptr), link_lat.size, steps)
    passed = _class_pass_counted(*args, *ct.footprints(), _rows(ct, rows, link_lat.size, tables), link_lat,
                                 bool(close_all))
    return _totals(target, tables, phys, ct, passed, counts)


def _totals(target, tables, phys, ct: ClassTables, passed, counts: dict) -> dict:
    """The fields of ``costmodel.message_totals`` from a class pass's outputs and the kernel's counters."""
    rep, src_core, bits, mom = ct.rep, ct.src_core, ct.bits, ct.mom
    mom_step, path, contention, total, maxstep, cls_total = passed
    route_ptr = np.asarray(tables.route_ptr, np.int64)
    route_core = np.asarray(tables.route_core)           # its own int dtype: no copy of every route
    mom_core = _core_moments(cls_total, mom, src_core[rep], rep, route_ptr, route_core, bits, int(phys.size))
    syn, pk_in = (np.asarray(counts[k], np.int64) for k in ("syn_ops", "packets_in"))
    later = lambda a: np.concatenate([np.zeros_like(a[:1]), a[:-1]])
    syn_ops, msgs_in = later(syn), later(pk_in)              # read at t + 1 (costmodel module doc)
    n_msg = int(mom_step[:, 1].sum())
    return {"syn_ops": syn_ops, "msgs_in": msgs_in, "msgs_out": np.asarray(counts["packets_out"], np.int64),
            "spikes_out": np.asarray(counts["spikes_out"], np.int64), "syn_after": int(syn[-1].sum()),
            "path": path, "contention": contention, "link_total": total, "link_maxstep": maxstep,
            **energies(target, mom_step, mom_core),
            "hops_ew": int(mom_step[:, 2].sum()), "hops_ns": int(mom_step[:, 3].sum()),
            "hops_ic": int(mom_step[:, 4].sum()), "n_messages": n_msg,
            "n_input_messages": n_msg - int(mom_step[:, 0].sum())}


def usable_counts(counts, steps: int, n_cores: int) -> bool:
    """True if ``counts`` holds the kernel counters this pass needs, one row per step of the run."""
    return counts is not None and all(k in counts and np.shape(counts[k]) == (steps, n_cores) for k in COUNTS)
