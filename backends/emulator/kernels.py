"""The emulator's step: a readable numpy spec (``step_numpy``) and the numba kernel (``run_steps``).

Both execute the per-core tables (``neurocomp.tables.CoreTables``), never the graph, with Lava 0.10's
fixed-point semantics (../shared/reference/lava.md §1-5). One step t (1-based) is:

1. **Dendrites.** Each neuron j reads its synaptic input for step t,
   ``a_j = wrap32( sum of contributions that arrive at t )``.
   A *contribution* is one projection's sum for one post neuron, one send step and one delay,
   transformed as Lava's connection process does before it buffers it::

       c = wrap24(raw)                       # Conv2d (Lava's signed_clamp)
       c = raw << e  if e > 0 else raw >> -e # Dense/Sparse/OneToOne, e = weight_exp (floor)

   ``raw`` = sum of the effective weights of the projection's synapses to j with delay d whose
   source spiked at step t-1-d. (DelayDense shifts each (send step, delay) column separately
   before adding it to its buffer, so contributions from different send steps are *not* summed
   before the shift.) Channel sums are int32 in Lava, hence the wrap32 of the total.
2. **LIF** (PyLifModelBitAcc, lava.md §2), in int32/int64 exactly as numpy evaluates it::

       u = int32(trunc0(u * (4096 - (du + 1)), 12)) + int32(a << 6)       # int32 wrap
       u = u - 2^24 if u > 2^23 else (u + 2^24 if u <= -2^23 else u)     # one conditional wrap
       v = clip(int32(trunc0(v * (4096 - dv), 12)) + u + bias, -(2^23-1), 2^23-1)
       s = v > vth << 6;  v[s] = 0

3. **Routing.** Every source that spiked at t (neurons now; graph-input channel c of input i if
   row t-1 of the input has a 1) sends one packet per entry ``route_ptr[src]..route_ptr[src+1]``
   to ``route_core``; the destination core walks axon ``route_axon``'s synapses and adds their
   weights into the contribution for arrival step ``t + 1 + delay``.

The kernel walks the synapses of route r (axon ``route_axon[r]`` on core ``route_core[r]``) from a
copy laid out per route, so a spike's synapses on all its destination cores are adjacent in memory
(the tables group them by core: walking those directly costs a cache miss per destination core).
A wrong ``route_axon`` still delivers the wrong synapses: the routing tables are never bypassed.

The kernel stores pending contributions per *dendrite* (one per (post neuron, incoming
projection)) in a ring of ``max_delay + 1`` slots. Three ways to fill it, all equal to the spec:
mode 0 (no delays): the ring has one slot holding the raw sum, transformed when read; mode 1
(delays, shift e >= 0, no wrap24): the transform is linear mod 2^32, so ``w << e`` is added
straight into slot ``(t+1+d) % L``; mode 2 (delays with a floor shift or a wrap24): raw sums go
to a per-step scratch (one cell per dendrite and delay), transformed and moved into the ring once
all spikes of the step are delivered.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ...fixedpoint import signed_clamp24, wrap32
from ...reference import LifParams, lif_step

#: Projection ring modes (see module docstring).
MODE_DIRECT, MODE_LINEAR, MODE_SCRATCH = 0, 1, 2

#: Indices of the per-core, per-step counters (``counters[k, t, core]``).
COUNTER_NAMES = ("syn_ops", "neurons_active", "neurons_idle", "spikes_out", "packets_out", "packets_in")
C_SYNOPS, C_ACTIVE, C_IDLE, C_SPIKES, C_PK_OUT, C_PK_IN = range(6)

_U_MAX = 2 ** 23                  # Lava's max_uv_val
_V_LIM = 2 ** 23 - 1


# ----------------------------------------------------------------------------------- numpy spec
def transform_np(raw, weight_exp, wrap24):
    """A connection's per-(send step, delay) transform of its raw weight sums (vectorised)."""
    raw = np.asarray(raw, np.int64)
    e = np.asarray(weight_exp, np.int64)
    shifted = np.where(e >= 0, raw << np.maximum(e, 0), raw >> np.maximum(-e, 0))
    return np.where(wrap24, signed_clamp24(raw), shifted)


def step_numpy(t, tables, state, input_sources, neuron_core):
    """The spec of one emulator step, in plain numpy (the numba kernel must equal it).

    ``state``: dict with ``u``, ``v`` (int64 [N]) and ``arrive`` (int64 [Lmax, N]: the sum of the
    contributions arriving at step t' in row ``t' % Lmax``); ``vth6``/``bias`` are the precomputed
    ``vth << 6`` and ``bias_mant << bias_exp``. ``input_sources``: source ids (>= N) of the graph-input
    channels that fire at step t (row t-1); ``neuron_core``: core of each neuron. Updates ``state`` in
    place; returns the neurons' spikes (bool [N]) and this step's counters (each int64 [n_cores], plus
    ``spikes_per_source`` [S]).
    """
    n, n_cores = tables.n_neurons, int(tables.n_cores)
    arrive = state["arrive"]
    lmax = arrive.shape[0]
    a = wrap32(arrive[t % lmax])
    arrive[t % lmax] = 0
    params = LifParams(tables.du, tables.dv, tables.vth, tables.bias_mant, tables.bias_exp)
    u, v, s = lif_step(state["u"], state["v"], a, params)
    state["u"], state["v"] = u, v

    # Packets: every (spiking source, destination core) route entry names an axon on that core.
    sources = np.concatenate([np.nonzero(s)[0], np.asarray(input_sources, np.int64)])
    n_routes = tables.route_ptr[sources + 1] - tables.route_ptr[sources]
    routes = ranges(tables.route_ptr[sources], tables.route_ptr[sources + 1])
    axons = tables.route_axon[routes]
    syn = ranges(tables.axon_syn_ptr[axons], tables.axon_syn_ptr[axons + 1])
    if syn.size:
        post = tables.syn_post[syn]
        proj = tables.syn_proj[syn].astype(np.int64)
        delay = tables.syn_delay[syn].astype(np.int64)
        # raw sum per (projection, delay, post neuron), then the connection's transform
        key = (proj * lmax + delay) * n + post
        keys, inv = np.unique(key, return_inverse=True)
        raw = np.zeros(keys.size, np.int64)
        np.add.at(raw, inv, tables.syn_weight[syn].astype(np.int64))
        k_proj, k_delay, k_post = keys // (lmax * n), (keys // n) % lmax, keys % n
        contrib = transform_np(raw, tables.proj_weight_exp[k_proj], tables.proj_wrap24[k_proj])
        np.add.at(arrive, ((t + 1 + k_delay) % lmax, k_post), contrib)

    # Counters of this step, per core.
    count = lambda idx, w=None: np.bincount(idx, weights=w, minlength=n_cores).astype(np.int64)
    active = s | (u != 0) | (v != 0)
    dest = tables.route_core[routes].astype(np.int64)
    from_neuron = np.repeat(sources < n, n_routes)
    src_core = neuron_core[np.repeat(sources, n_routes)[from_neuron]]
    per_source = np.zeros(tables.n_sources, np.int64)
    per_source[sources] = 1
    counts = {
        "syn_ops": count(dest, (tables.axon_syn_ptr[axons + 1] - tables.axon_syn_ptr[axons]).astype(np.float64)),
        "neurons_active": count(neuron_core[active]),
        "neurons_idle": count(neuron_core[~active]),
        "spikes_out": count(neuron_core[s]),
        "packets_out": count(src_core),
        "packets_in": count(dest),
        "spikes_per_source": per_source,
    }
    return s, counts


def ranges(lo, hi):
    """Concatenation of ``arange(lo[i], hi[i])`` for all i, vectorised."""
    lo, hi = np.asarray(lo, np.int64), np.asarray(hi, np.int64)
    lens = hi - lo
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    return starts + np.arange(total, dtype=np.int64)


# ----------------------------------------------------------------------------------- numba kernel
@njit(cache=True, inline="always")
def _wrap32(x):
    return ((x + 2147483648) & 0xFFFFFFFF) - 2147483648


@njit(cache=True, inline="always")
def _trunc0(x, k):
    if x < 0:
        return -((-x) >> k)
    return x >> k


@njit(cache=True, inline="always")
def _transform(raw, e, wrap):
    if wrap:
        return ((raw + 8388608) & 0xFFFFFF) - 8388608
    if e >= 0:
        return raw << e
    return raw >> (-e)


@njit(cache=True)
def run_steps(t_first, t_last,
              # neurons (global ids are core by core)
              core_neuron_ptr, du, dv, vth6, bias, u, v,
              # dendrites: (neuron, incoming projection) pairs with their rings
              dend_ptr, dend_proj, dend_off, proj_len, proj_exp, proj_wrap, proj_mode, all_direct,
              ring, scratch, sflag, touched_idx, touched_proj, touched_delay,
              # routing: route r of a source -> core route_core[r]; its axon's synapses, laid out
              # per route by the plan, are route_syn_ptr[r]..route_syn_ptr[r+1]
              neuron_core, route_ptr, route_core, route_syn_ptr,
              syn_ring, syn_weight, syn_delay, syn_proj,
              # graph inputs as per-step event lists (row t-1 -> in_src[in_ptr[t-1]:in_ptr[t]])
              in_ptr, in_src,
              # recording: rec_col[gid] = column or -1
              rec_col, rec_spk, rec_v, rec_u, do_spk, do_v, do_u,
              # counters [6, T, n_cores] and spikes per source [S]
              do_count, counters, src_spikes,
              spiked):
    """Advance the state through steps ``t_first..t_last`` (1-based, inclusive), in place.

    A packet for route r goes to core ``route_core[r]``, axon ``route_axon[r]``. The plan copies
    that axon's synapses to ``route_syn_ptr[r]..route_syn_ptr[r+1]`` (so one source's synapses are
    adjacent in memory; the tables group them by destination core) with ``syn_ring``, the ring
    cell of each synapse's dendrite. ``all_direct``: every projection is mode 0 (weights only).
    """
    n_cores = core_neuron_ptr.shape[0] - 1
    n_neurons = u.shape[0]
    n_in_rows = in_ptr.shape[0] - 1
    for t in range(t_first, t_last + 1):
        row = t - 1
        n_spk = 0
        # ---- 1+2: dendrites and neurons, core by core
        for c in range(n_cores):
            active = 0
            fired = 0
            for j in range(core_neuron_ptr[c], core_neuron_ptr[c + 1]):
                a = np.int64(0)
                for k in range(dend_ptr[j], dend_ptr[j + 1]):
                    p = dend_proj[k]
                    idx = dend_off[k] + t % proj_len[p]
                    x = ring[idx]
                    if x != 0:
                        ring[idx] = 0
                        if proj_mode[p] == 0:
                            x = _transform(x, proj_exp[p], proj_wrap[p])
                        a += x
                a = _wrap32(a)
                uu = _wrap32(_trunc0(u[j] * (4095 - du[j]), 12) + _wrap32(a << 6))
                if uu > 8388608:
                    uu -= 16777216
                elif uu <= -8388608:
                    uu += 16777216
                vv = _wrap32(_trunc0(v[j] * (4096 - dv[j]), 12) + uu + bias[j])
                if vv > 8388607:
                    vv = 8388607
                elif vv < -8388607:
                    vv = -8388607
                s = vv > vth6[j]
                if s:
                    vv = 0
                    spiked[n_spk] = j
                    n_spk += 1
                    fired += 1
                u[j] = uu
                v[j] = vv
                col = rec_col[j]
                if col >= 0:
                    if do_spk:
                        rec_spk[row, col] = 1 if s else 0
                    if do_v:
                        rec_v[row, col] = vv
                    if do_u:
                        rec_u[row, col] = uu
                if do_count and (s or uu != 0 or vv != 0):
                    active += 1
            if do_count:
                counters[1, row, c] += active
                counters[2, row, c] += core_neuron_ptr[c + 1] - core_neuron_ptr[c] - active
                counters[3, row, c] += fired
        # ---- graph-input channels firing this step
        if row < n_in_rows:
            for e in range(in_ptr[row], in_ptr[row + 1]):
                spiked[n_spk] = in_src[e]
                n_spk += 1
        # ---- 3: packets and synapses
        n_touched = 0
        for q in range(n_spk):
            src = spiked[q]
            if do_count:
                src_spikes[src] += 1
                if src < n_neurons:
                    counters[4, row, neuron_core[src]] += route_ptr[src + 1] - route_ptr[src]
            for r in range(route_ptr[src], route_ptr[src + 1]):
                y0 = route_syn_ptr[r]
                y1 = route_syn_ptr[r + 1]
                if do_count:
                    dc = route_core[r]
                    counters[5, row, dc] += 1
                    counters[0, row, dc] += y1 - y0
                if all_direct:
                    for y in range(y0, y1):
                        ring[syn_ring[y]] += syn_weight[y]
                    continue
                for y in range(y0, y1):
                    p = syn_proj[y]
                    mode = proj_mode[p]
                    w = np.int64(syn_weight[y])
                    if mode == 0:
                        ring[syn_ring[y]] += w
                    elif mode == 1:
                        ring[syn_ring[y] + (t + 1 + syn_delay[y]) % proj_len[p]] += w << proj_exp[p]
                    else:
                        d = np.int64(syn_delay[y])
                        idx = syn_ring[y] + d
                        if sflag[idx] == 0:
                            sflag[idx] = 1
                            touched_idx[n_touched] = idx
                            touched_proj[n_touched] = p
                            touched_delay[n_touched] = d
                            n_touched += 1
                        scratch[idx] += w
        # ---- mode-2 contributions: transform each (dendrite, delay) sum, move it into the ring
        for i in range(n_touched):
            idx = touched_idx[i]
            p = touched_proj[i]
            d = touched_delay[i]
            ring[idx - d + (t + 1 + d) % proj_len[p]] += _transform(scratch[idx], proj_exp[p], proj_wrap[p])
            scratch[idx] = 0
            sflag[idx] = 0
