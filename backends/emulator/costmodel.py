"""Timing, network-on-chip and energy model (DESIGN.md §6): operation counts -> joules and seconds.

The functional emulator says *which* neurons spiked *when*; this module says what that would cost on a
target chip, given where each logical core sits on the mesh. Everything is derived from the per-core
tables (routes, axons, synapses), the spike events and the per-operation figures of the target file,
so the model can be pinned by hand-computed cases (tests/test_costmodel.py).

Per step ``t`` and logical core ``c`` (``message_totals``: one numba pass over the spike events and
their route entries, accumulating straight into per-(step, core) grids, per-step maxima and per-link
loads, with no per-message array; ``message_totals_numpy`` is the readable vectorised spec it is tested
against bit for bit; an emulator run, whose kernel counted the per-core grids already, takes
``msgclasses.counted_totals`` instead: one pass per class of sources with equal routes, the same totals):

* a spike of source ``s`` at step ``t`` sends one **message** per route entry ``r`` of ``s`` (one per
  distinct destination core, multicast); the message reaches axon ``route_axon[r]`` whose synapses are
  read at step ``t + 1`` on the destination core (Lava processes a spike one step after it is sent):
  ``syn_ops[t+1, dst] += n_synapses(axon)``. Delays act later, in the dendritic accumulator, so the
  synapse read is still at ``t + 1``. Reads that would fall at step >= ``steps`` are not charged.
* graph-input channels (sources ``>= n_neurons``) are injected by the host at the destination core's
  router: 0 hops, no ``spike_out``, only ``spike_within_tile`` per destination core.
* a **graded message** (route entry ``r`` whose axon's projection carries ``b = num_message_bits > 0``,
  ``tables.proj_message_bits``) is a spike message plus ``b`` payload bits: its network part
  (``spike_within_tile`` + hops, energy and latency alike) is scaled by ``g[r] = 1 + b / P``, ``P`` =
  the target's ``formats.spike_packet_bits`` (``route_payload_scale``; ``g = 1`` for spikes or without
  ``P``). ``spike_out``, synaptic reads and link contention (packets x hop latency) are not scaled.
* neuron updates: ``active[t, c]`` given by the caller, ``idle = neurons on c - active``.
* ``busy[t, c] = syn_ops*L(syn_op) + active*L(neuron_update_active) + idle*L(neuron_update_idle)
  + messages_out*L(spike_out) + learn*L(learning_update)`` (spike_out is charged once per spike per
  destination core, as the target files say).
* a message from physical core a to b takes the X-then-Y route; its latency is
  ``L(spike_out) + L(spike_within_tile) + ew*L(hop_ew) + ns*L(hop_ns) + ic*L(hop_interchip)``
  (+ ``(g - 1)`` x the network part for a graded message).
  **Drain** of step t = max message latency + max over directed links of ``(load - 1) * L(link)``
  (a link serialises the packets crossing it in step t; ``L(link)`` = hop latency of its direction,
  plus ``hop_interchip`` if it crosses a chip boundary).
* **barrier** = ``costs.barrier_latency(tiles, chips)`` with ``tiles`` the bounding box (in global tile
  coordinates) of the tiles holding used cores, or their number where the model's ``[barrier] span`` rule
  is ``tiles_used``; ``chips`` the chips holding them.
* step latency = ``max_c busy[t, c] + drain[t] + barrier``; clocked targets also get
  ``cycles = ceil(latency * clock_hz)``.
* energy = counts x per-op energy + ``costs.message_energy`` per message (split into its spike_out part
  and the rest) + ``static_power_w * mesh.chips * step latency``. The message energies are summed as
  integer moments (``MOMENT_FIELDS``) and turned into joules by one formula (``energy_from_moments``), so
  they do not depend on the order messages are counted in (a distributed run's ranks give the same bits).

Directed link ids, hops and route walking are those of :mod:`neurocomp.mapping.mesh`: a link leaves
tile ``(gx, gy)`` (global tile coordinates, ``GX = chips_x * tiles_x`` columns) in direction ``d``
(0 = +x "east", 1 = -x "west", 2 = +y "north", 3 = -y "south"): ``link = (gy * GX + gx) * 4 + d``, the
numbering of ``mapping.json``'s ``links`` too.
"""
from __future__ import annotations

import time

import numba
import numpy as np

from ...errors import ValidationError
from ...mapping import mesh as geometry
from ...mapping.mesh import link_table, tile_hops, walk_route
from .tablecache import derived

OP_CLASSES = ("syn_op", "neuron_active", "neuron_idle", "spike_out", "messages", "learning", "static")


# ------------------------------------------------------------------------------- validation
def _int_array(a, name, ndim):
    arr = np.asarray(a)
    if arr.ndim != ndim or (arr.size and arr.dtype.kind not in "iu"):
        raise ValidationError(f"estimate: {name} must be a {ndim}-D integer array, got dtype {arr.dtype} "
                              f"shape {arr.shape}")
    return arr.astype(np.int64, copy=False)


def _check_inputs(target, tables, physical_core, spike_steps, spike_sources, neuron_active, steps, learn_ops):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValidationError(f"estimate: steps must be a positive integer, got {steps!r}")
    steps = int(steps)
    n_cores = int(tables.n_cores)
    phys = _int_array(physical_core, "physical_core", 1)
    if phys.shape != (n_cores,):
        raise ValidationError(f"estimate: physical_core has {phys.size} entries but the tables have {n_cores} "
                              "logical cores; give one physical mesh core per logical core")
    # (checked once per target and placement: a batch's samples share them)
    derived("cost_placement", target, phys.tobytes(), lambda: _check_placement(target, phys))
    st, src = _check_events(tables, spike_steps, spike_sources, steps)
    act = _int_array(neuron_active, "neuron_active", 2)
    per_core = np.diff(np.asarray(tables.core_neuron_ptr, np.int64))
    if act.shape != (steps, n_cores):
        raise ValidationError(f"estimate: neuron_active has shape {act.shape}, expected (steps, n_cores) = "
                              f"({steps}, {n_cores})")
    if act.size and (act.min() < 0 or np.any(act > per_core[None, :])):
        t, c = np.argwhere((act < 0) | (act > per_core[None, :]))[0]
        raise ValidationError(f"estimate: neuron_active[{t}, {c}] = {int(act[t, c])} is outside 0..{int(per_core[c])}"
                              f" (core {c} holds {int(per_core[c])} neurons)")
    if learn_ops is None:
        learn = np.zeros((steps, n_cores), np.int64)
    else:
        learn = _int_array(learn_ops, "learn_ops", 2)
        if learn.shape != (steps, n_cores) or (learn.size and learn.min() < 0):
            raise ValidationError(f"estimate: learn_ops must be non-negative counts of shape ({steps}, {n_cores}), "
                                  f"got shape {learn.shape}")
    return steps, n_cores, phys, st, src, act, per_core, learn


def _check_placement(target, phys) -> bool:
    """Every logical core on a core of the mesh, no two on one."""
    target.mesh.core_coord(phys)   # raises TargetError naming the out-of-mesh core
    if np.unique(phys).size != phys.size:
        vals, cnt = np.unique(phys, return_counts=True)
        raise ValidationError(f"estimate: physical core {int(vals[cnt > 1][0])} holds more than one logical core; "
                              "placement must give each logical core its own physical core")
    return True


def _check_events(tables, spike_steps, spike_sources, steps: int) -> tuple:
    st = _int_array(spike_steps, "spike_steps", 1)
    src = _int_array(spike_sources, "spike_sources", 1)
    if st.shape != src.shape:
        raise ValidationError(f"estimate: spike_steps ({st.size}) and spike_sources ({src.size}) must have one "
                              "entry per spike event each")
    if st.size and (st.min() < 0 or st.max() >= steps):
        raise ValidationError(f"estimate: spike step {int(st.min() if st.min() < 0 else st.max())} is outside "
                              f"0..{steps - 1}; steps are 0-based and must be < steps = {steps}")
    if src.size and (src.min() < 0 or src.max() >= tables.n_sources):
        raise ValidationError(f"estimate: spike source {int(src.min() if src.min() < 0 else src.max())} is "
                              f"outside 0..{tables.n_sources - 1} (neurons then graph-input channels)")
    return st, src


# ------------------------------------------------------------------------------- messages
def message_routes(tables, spike_sources):
    """``(event, route entry)`` of every message, events in order: event e has route entries
    ``route_ptr[s]..route_ptr[s+1]`` of its source s (vectorised CSR expansion)."""
    rp = np.asarray(tables.route_ptr, np.int64)
    cnt = rp[spike_sources + 1] - rp[spike_sources]
    total = int(cnt.sum())
    ev = np.repeat(np.arange(spike_sources.size, dtype=np.int64), cnt)
    first = np.cumsum(cnt) - cnt
    return ev, rp[spike_sources][ev] + (np.arange(total, dtype=np.int64) - first[ev])


def expand_messages(tables, spike_steps, spike_sources):
    """One row per message (spike event x route entry): ``(step, source, dst logical core, n_synapses)``.

    (:func:`message_routes`)
    """
    ev, r = message_routes(tables, spike_sources)
    axon = np.asarray(tables.route_axon, np.int64)[r]
    asp = np.asarray(tables.axon_syn_ptr, np.int64)
    nsyn = asp[axon + 1] - asp[axon]
    return spike_steps[ev], spike_sources[ev], np.asarray(tables.route_core, np.int64)[r], nsyn


@numba.njit(cache=True, nogil=True)
def _close_links(touched, n_touched, cur, total, maxstep, link_lat):
    """End of a step: fold the step's loads of the touched links into ``total`` and ``maxstep``, reset
    them, and return the step's contention ``max (load - 1) * link_lat`` over those links."""
    cmax = 0.0
    for j in range(n_touched):
        lid = touched[j]
        load = cur[lid]
        total[lid] += load
        if load > maxstep[lid]:
            maxstep[lid] = load
        c = (load - 1) * link_lat[lid]
        if c > cmax:
            cmax = c
        cur[lid] = 0
    return cmax


@numba.njit(cache=True, nogil=True)
def _link_loads_kernel(m_step, sx, sy, dx, dy, gx_n, link_lat, steps):
    """Numba twin of ``link_loads_numpy`` (the spec): walk every message's X-then-Y path once.

    ``m_step`` must be non-decreasing. A per-link counter holds the current step's loads; the links
    touched in a step are folded into the totals and reset when the step changes, so memory is
    O(links), not O(steps x links).
    """
    n_links = link_lat.size
    cur = np.zeros(n_links, np.int64)
    total = np.zeros(n_links, np.int64)
    maxstep = np.zeros(n_links, np.int64)
    contention = np.zeros(steps, np.float64)
    touched = np.empty(n_links + 1, np.int64)
    n_touched = 0
    step = -1
    for m in range(m_step.size):
        if m_step[m] != step:
            if step >= 0:
                contention[step] = _close_links(touched, n_touched, cur, total, maxstep, link_lat)
            n_touched = 0
            step = m_step[m]
        n_touched = walk_route(sx[m], sy[m], dx[m], dy[m], 1, gx_n, cur, touched, n_touched)
    if step >= 0:
        contention[step] = _close_links(touched, n_touched, cur, total, maxstep, link_lat)
    return contention, total, maxstep


def link_loads_numpy(mesh, m_step, src_phys, dst_phys, link_lat, steps):
    """Readable spec of the link model: ``(contention[steps], total load[link], max load per step[link])``.

    ``contention[t] = max over links of (packets on the link in step t - 1) x link latency``.
    """
    return loads_from_keys(*step_link_loads(mesh, m_step, src_phys, dst_phys, link_lat.size), link_lat, steps)


def step_link_loads(mesh, m_step, src_phys, dst_phys, n_links):
    """``(keys, loads)``: the packets on each (step, directed link) the messages' X-then-Y paths cross, keyed
    ``step * n_links + link`` (sorted, distinct). Each distinct (step, source, destination) walks its path
    once, weighted by its messages."""
    n = int(mesh.n_cores)
    pair, count = np.unique((np.asarray(m_step, np.int64) * n + src_phys) * n + dst_phys, return_counts=True)
    sx, sy = geometry.global_tile(mesh, pair // n % n)
    dx, dy = geometry.global_tile(mesh, pair % n)
    mi, lid = geometry.route_link_ids(sx, sy, dx, dy, geometry.grid_size(mesh)[0])
    keys, inv = np.unique(pair[mi] // (n * n) * n_links + lid, return_inverse=True)
    return keys, np.bincount(inv, weights=count[mi], minlength=keys.size).astype(np.int64)


def loads_from_keys(keys, loads, link_lat, steps):
    """``(contention[steps], total load[link], max load per step[link])`` of distinct ``step * n_links + link``
    keys and their packet counts (``step_link_loads``; a distributed run sums the ranks' counts first)."""
    n_links = link_lat.size
    u_step, u_link = keys // n_links, keys % n_links
    total = np.bincount(u_link, weights=loads, minlength=n_links).astype(np.int64)
    maxstep = _segment_max(loads, u_link, n_links, np.int64)
    contention = _segment_max((loads - 1) * link_lat[u_link], u_step, steps)
    return contention, total, maxstep


def link_loads(mesh, m_step, src_core, dst_core, phys, link_lat, steps):
    """Fast path of ``link_loads_numpy`` (same results) for messages between logical cores
    ``src_core -> dst_core`` placed at ``phys``; ``m_step`` non-decreasing."""
    gx, gy, _, _ = geometry.tile_arrays(mesh, phys)
    return _link_loads_kernel(np.ascontiguousarray(m_step, np.int64), gx[src_core], gy[src_core],
                              gx[dst_core], gy[dst_core], geometry.grid_size(mesh)[0],
                              np.ascontiguousarray(link_lat, np.float64), int(steps))


def _segment_max(values, seg, n, out_dtype=float):
    """max of ``values`` per segment id ``seg`` (0..n-1); 0 for empty segments."""
    out = np.zeros(n, out_dtype)
    if values.size:
        np.maximum.at(out, seg, values)
    return out


def _csr_expand(ptr_lo, counts):
    """Concatenated ranges ``ptr_lo[i] .. ptr_lo[i] + counts[i]`` (vectorised CSR gather indices)."""
    total = int(counts.sum())
    return np.repeat(ptr_lo, counts) + (np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts))


def active_from_spikes(tables, spike_steps, spike_sources, steps: int, always_active=None) -> np.ndarray:
    """``[steps, n_cores]`` count of neurons 'active' per step by the target files' definition: the neuron
    received synaptic input that step (a source spiked at step t-1 and reaches it) or spiked itself.

    ``always_active``: optional bool mask over neurons (e.g. neurons with a bias current, whose state
    changes every step) counted active at every step. For callers without the emulator's own counters;
    uses a ``[steps, n_neurons]`` bool mask.
    """
    n = tables.n_neurons
    st = np.asarray(spike_steps, np.int64)
    src = np.asarray(spike_sources, np.int64)
    rp = np.asarray(tables.route_ptr, np.int64)
    cnt = rp[src + 1] - rp[src]
    axon = np.asarray(tables.route_axon, np.int64)[_csr_expand(rp[src], cnt)]
    asp = np.asarray(tables.axon_syn_ptr, np.int64)
    ns = asp[axon + 1] - asp[axon]
    post = np.asarray(tables.syn_post, np.int64)[_csr_expand(asp[axon], ns)]
    t_in = np.repeat(np.repeat(st, cnt) + 1, ns)
    keep = t_in < steps
    mine = src < n
    mask = np.zeros((steps, n), bool)
    mask[np.concatenate([t_in[keep], st[mine]]), np.concatenate([post[keep], src[mine]])] = True
    if always_active is not None:
        mask |= np.asarray(always_active, bool)[None, :]
    cs = np.concatenate([np.zeros((steps, 1), np.int64), np.cumsum(mask, axis=1, dtype=np.int64)], axis=1)
    ptr = np.asarray(tables.core_neuron_ptr, np.int64)
    return cs[:, ptr[1:]] - cs[:, ptr[:-1]]


# ------------------------------------------------------------------------------- message totals
#: Up to this many logical-core pairs, hops come from a dense pair table (fast lookup); beyond, from
#: the distinct pairs actually used (a sort).
DENSE_PAIR_TABLE = 4_000_000
#: Up to this many logical-core pairs, the fast kernel counts each step's packets per (source core,
#: destination core) pair and walks each pair's path once per step (``n_cores**2`` counters); beyond,
#: it walks every message's path.
PAIR_COUNT_TABLE = 1 << 20

#: Fields of ``message_totals`` / ``message_totals_numpy`` (grids are ``[steps, n_cores]`` int64).
TOTALS = ("syn_ops", "msgs_in", "msgs_out", "spikes_out", "syn_after", "path", "contention", "link_total",
          "link_maxstep", "e_spike", "e_net", "e_core", "mom_step", "mom_core", "hops_ew", "hops_ns", "hops_ic", "n_messages",
          "n_input_messages")


def pair_hops(mesh, phys, src_core, dst_core):
    """(east-west, north-south, inter-chip) hops of each message from logical ``src_core`` to ``dst_core``."""
    n_cores = phys.size
    if n_cores * n_cores <= DENSE_PAIR_TABLE:
        a, b = np.meshgrid(phys, phys, indexing="ij")
        tables = [np.asarray(v, np.int64).reshape(n_cores, n_cores) for v in mesh.hops(a.ravel(), b.ravel())]
        return tuple(t[src_core, dst_core] for t in tables)
    pair, pair_inv = np.unique(src_core * n_cores + dst_core, return_inverse=True)
    return tuple(np.asarray(v, np.int64).reshape(-1)[pair_inv]
                 for v in mesh.hops(phys[pair // n_cores], phys[pair % n_cores]))


def route_payload_bits(target, tables):
    """``(bits, packet)``: per route entry, int64, the widest ``num_message_bits`` of the projections whose
    synapses its axon holds (0 for binary spikes, or a target without ``formats.spike_packet_bits``), and that
    packet size (0: none)."""
    route_axon = np.asarray(tables.route_axon, np.int64)
    packet = int(getattr(target.formats, "spike_packet_bits", 0) or 0)
    bits = np.asarray(getattr(tables, "proj_message_bits", ()), np.int64)
    if not packet or not bits.size or not bits.any():
        return np.zeros(route_axon.size, np.int64), packet
    ptr = np.asarray(tables.axon_syn_ptr, np.int64)
    syn_bits = bits[np.asarray(tables.syn_proj, np.int64)]
    axon_bits = np.zeros(ptr.size - 1, np.int64)
    full = ptr[1:] > ptr[:-1]
    if full.any():
        axon_bits[full] = np.maximum.reduceat(syn_bits, ptr[:-1][full])
    return axon_bits[route_axon], packet


def route_payload_scale(target, tables) -> np.ndarray:
    """Per route entry, float64: ``1 + b / formats.spike_packet_bits`` (``route_payload_bits``; 1.0 for binary
    spikes, or a target without the figure)."""
    bits, packet = route_payload_bits(target, tables)
    return 1.0 + bits / packet if packet else np.ones(bits.size)


# Integer moments of a set of messages, from which their energies follow (``energy_from_moments``): integer
# sums are exact in any order, so a distributed run's per-rank moments add up to one process's bit for bit.
MOMENT_FIELDS = ("from_neuron", "messages", "ew", "ns", "ic", "bits", "bits_ew", "bits_ns", "bits_ic")


def message_moment_rows(ew, ns, ic, from_neuron, m_bits) -> np.ndarray:
    """Per message, int64 ``[n, 9]``: its ``MOMENT_FIELDS`` (host inputs: 0 hops, not from a neuron)."""
    ew, ns, ic, b = (np.asarray(x, np.int64) for x in (ew, ns, ic, m_bits))
    return np.stack([np.asarray(from_neuron, np.int64), np.ones_like(ew), ew, ns, ic, b, b * ew, b * ns, b * ic],
                    axis=-1)


def energy_from_moments(target, mom):
    """``(spike_out energy, network energy)`` of the messages whose moments are ``mom[..., 9]``.

    A message costs ``spike_out`` (neurons only) plus ``(within_tile + ew*hop_ew + ns*hop_ns + ic*hop_interchip)
    x (1 + b / spike_packet_bits)`` (``message_latency`` for the latency); summed over messages that is a fixed float formula of
    the integer moments, so the totals do not depend on the order the messages were counted in."""
    E = {k: q.value for k, q in target.costs.energy.items()}
    packet = int(getattr(target.formats, "spike_packet_bits", 0) or 0)
    m = np.asarray(mom, np.int64).astype(np.float64)
    wt, hew, hns, hic = E["spike_within_tile"], E["hop_ew"], E["hop_ns"], E["hop_interchip"]
    net = m[..., 1] * wt + m[..., 2] * hew + m[..., 3] * hns + m[..., 4] * hic
    if packet:
        net = net + (m[..., 5] * wt + m[..., 6] * hew + m[..., 7] * hns + m[..., 8] * hic) / packet
    return m[..., 0] * E["spike_out"], net


def message_latency(target, ew, ns, ic, from_neuron, m_scale):
    """Per message: its latency from its hops, whether a neuron sent it (host-injected inputs travel 0 hops,
    their source core := destination core) and its payload scale (energies: ``energy_from_moments``)."""
    L = {k: q.value for k, q in target.costs.latency.items()}
    m_lat = (np.where(from_neuron, L["spike_out"], 0.0) + L["spike_within_tile"]
             + ew * L["hop_ew"] + ns * L["hop_ns"] + ic * L["hop_interchip"])
    # a graded message's network part costs m_scale times a spike's (module doc)
    return m_lat + (m_scale - 1.0) * (L["spike_within_tile"] + ew * L["hop_ew"] + ns * L["hop_ns"]
                                      + ic * L["hop_interchip"])


def message_totals_numpy(target, tables, phys, ev_step, ev_src, steps: int, link_lat) -> dict:
    """Readable spec of everything ``estimate`` needs from the messages (fields ``TOTALS``).

    One row per message (spike event x route entry) is materialised, then reduced with ``np.bincount``
    and segment maxima: per-(step, core) synaptic reads (at ``t + 1``), messages in/out, spikes out;
    per step the longest message latency (``path``), the link contention, the spike_out and network
    energies; per core the message energy charged to the sender; per link the loads. ``ev_step`` must be
    non-decreasing. Memory: O(messages) — ``message_totals`` computes the same without it.
    """
    mesh = target.mesh
    n_cores, n_neurons = phys.size, tables.n_neurons
    neuron_core = np.repeat(np.arange(n_cores, dtype=np.int64), np.diff(np.asarray(tables.core_neuron_ptr, np.int64)))
    m_step, m_src, m_dst, m_nsyn = expand_messages(tables, ev_step, ev_src)
    bits, packet = route_payload_bits(target, tables)
    m_bits = bits[message_routes(tables, ev_src)[1]]
    m_scale = 1.0 + m_bits / packet if packet else np.ones(m_bits.size)
    from_neuron = m_src < n_neurons
    m_srccore = m_dst.copy()
    m_srccore[from_neuron] = neuron_core[m_src[from_neuron]]
    # Hops of each distinct (source core, destination core) pair, by the mesh's own definition.
    ew, ns, ic = pair_hops(mesh, phys, m_srccore, m_dst)
    m_lat = message_latency(target, ew, ns, ic, from_neuron, m_scale)

    def grid(step, core, weights=None):
        key = step * n_cores + core
        return np.bincount(key, weights=weights, minlength=steps * n_cores).reshape(steps, n_cores)

    recv = m_step + 1 < steps
    ev_neuron = ev_src < n_neurons
    contention, link_total, link_maxstep = link_loads_numpy(mesh, m_step, phys[m_srccore], phys[m_dst],
                                                            link_lat, steps)
    return {
        "syn_ops": grid(m_step[recv] + 1, m_dst[recv], m_nsyn[recv]).astype(np.int64),
        "msgs_in": grid(m_step[recv] + 1, m_dst[recv]).astype(np.int64),
        "msgs_out": grid(m_step[from_neuron], m_srccore[from_neuron]).astype(np.int64),
        "spikes_out": grid(ev_step[ev_neuron], neuron_core[ev_src[ev_neuron]]).astype(np.int64),
        "syn_after": int(m_nsyn[~recv].sum()),
        "path": _segment_max(m_lat, m_step, steps),
        "contention": contention, "link_total": link_total, "link_maxstep": link_maxstep,
        **moment_energies(target, message_moment_rows(ew, ns, ic, from_neuron, m_bits), m_step, m_srccore,
                          steps, n_cores),
        "hops_ew": int(ew.sum()), "hops_ns": int(ns.sum()), "hops_ic": int(ic.sum()),
        "n_messages": int(m_step.size), "n_input_messages": int((~from_neuron).sum()),
    }


def moment_sums(rows, m_step, m_srccore, steps, n_cores):
    """Per step and per source core, int64: the sums of the messages' moment ``rows``."""
    def per(key, n):
        out = np.zeros((n, rows.shape[1]), np.int64)
        np.add.at(out, key, rows)
        return out
    return per(m_step, steps), per(m_srccore, n_cores)


def energies(target, mom_step, mom_core) -> dict:
    """The energy fields of the totals (per step spike_out / network, per sending core message energy)
    from integer moments (``energy_from_moments``)."""
    e_spike, e_net = energy_from_moments(target, mom_step)
    c_spike, c_net = energy_from_moments(target, mom_core)
    return {"e_spike": e_spike, "e_net": e_net, "e_core": c_spike + c_net,
            "mom_step": np.asarray(mom_step, np.int64), "mom_core": np.asarray(mom_core, np.int64)}


def moment_energies(target, rows, m_step, m_srccore, steps, n_cores) -> dict:
    """``energies`` of messages given one moment row each."""
    return energies(target, *moment_sums(rows, m_step, m_srccore, steps, n_cores))


@numba.njit(cache=True, nogil=True, inline="always")
def _deliver(t, recv, core, axon, axon_syn_ptr, syn_ops, msgs_in):
    """One message reaches ``core``'s ``axon``: its synapses are read at step t+1 (Lava's latency).
    Returns the synaptic reads that fall after the last step (not charged), else 0."""
    nsyn = axon_syn_ptr[axon + 1] - axon_syn_ptr[axon]
    if recv:
        syn_ops[t + 1, core] += nsyn
        msgs_in[t + 1, core] += 1
        return 0
    return nsyn


@numba.njit(cache=True, nogil=True, inline="always")
def _add_moment_row(row, from_neuron, ew, ns, ic, b):
    row[0] += from_neuron
    row[1] += 1
    row[2] += ew
    row[3] += ns
    row[4] += ic
    row[5] += b
    row[6] += b * ew
    row[7] += b * ns
    row[8] += b * ic


@numba.njit(cache=True, nogil=True, inline="always")
def _add_moments(mom_step, t, mom_core, core, from_neuron, ew, ns, ic, b):
    """One message's ``MOMENT_FIELDS`` added to its step's and its sending core's sums."""
    _add_moment_row(mom_step[t], from_neuron, ew, ns, ic, b)
    _add_moment_row(mom_core[core], from_neuron, ew, ns, ic, b)


@numba.njit(cache=True, nogil=True)
def _message_kernel(ev_step, ev_src, n_neurons, neuron_core, route_ptr, route_core, route_axon, axon_syn_ptr,
                    gx, gy, cx, cy, gx_n, lat, link_lat, steps, n_cores, pair_mode, scale, bits):
    """One pass over spike events -> route entries (messages), accumulating straight into the totals
    of ``message_totals_numpy`` (integer moments for the energies, so those are exact in any order).

    ``gx, gy``: global tile of each logical core; ``cx, cy``: its chip column / row. ``lat``:
    (spike_out, spike_within_tile, hop_ew, hop_ns, hop_interchip) latency. ``scale``/``bits``: per route entry,
    the graded message's network cost factor and payload bits (``route_payload_scale``/``route_payload_bits``). ``pair_mode``: count
    a step's packets per (source, destination) core pair and walk each pair's path once when the step
    ends (same loads; needs ``n_cores**2`` counters), else walk every message's path.
    """
    syn_ops = np.zeros((steps, n_cores), np.int64)
    msgs_in = np.zeros((steps, n_cores), np.int64)
    msgs_out = np.zeros((steps, n_cores), np.int64)
    spikes_out = np.zeros((steps, n_cores), np.int64)
    path = np.zeros(steps)
    contention = np.zeros(steps)
    mom_step = np.zeros((steps, 9), np.int64)     # MOMENT_FIELDS
    mom_core = np.zeros((n_cores, 9), np.int64)
    n_links = link_lat.size
    cur = np.zeros(n_links, np.int64)
    total = np.zeros(n_links, np.int64)
    maxstep = np.zeros(n_links, np.int64)
    touched = np.empty(n_links + 1, np.int64)   # +1: the branch-free append writes one slot ahead
    n_pair_slots = n_cores * n_cores if pair_mode else 0
    pair_cnt = np.zeros(n_pair_slots, np.int64)
    pair_list = np.empty(n_pair_slots + 1, np.int64)
    l_so, l_wt, l_ew, l_ns, l_ic = lat[0], lat[1], lat[2], lat[3], lat[4]
    # Host-injected input messages: 0 hops, no spike_out (the spec's formulas with zero hops).
    lat_in = 0.0 + l_wt
    n_touched = 0
    n_pairs = 0
    # The step's longest message lives in a local while the step runs and is stored when it closes.
    p_max = 0.0
    syn_after = 0
    h_ew = 0
    h_ns = 0
    h_ic = 0
    n_msg = 0
    n_in = 0
    step = -1
    n_ev = ev_step.size
    for e in range(n_ev + 1):
        t = ev_step[e] if e < n_ev else -2
        if t != step:
            if step >= 0:      # close the step: pending pair paths, then fold and reset its link loads
                for j in range(n_pairs):
                    p = pair_list[j]
                    a = p // n_cores
                    b = p - a * n_cores
                    n_touched = walk_route(gx[a], gy[a], gx[b], gy[b], pair_cnt[p], gx_n, cur, touched, n_touched)
                    pair_cnt[p] = 0
                n_pairs = 0
                contention[step] = _close_links(touched, n_touched, cur, total, maxstep, link_lat)
                n_touched = 0
                path[step] = p_max
                p_max = 0.0
            if e == n_ev:
                break
            step = t
        s = ev_src[e]
        r0, r1 = route_ptr[s], route_ptr[s + 1]
        n_msg += r1 - r0
        recv = t + 1 < steps
        if s < n_neurons:
            a = neuron_core[s]
            spikes_out[t, a] += 1
            msgs_out[t, a] += r1 - r0
            ax_, ay_, acx, acy = gx[a], gy[a], cx[a], cy[a]
            p_base = a * n_cores
            for r in range(r0, r1):
                b = route_core[r]
                syn_after += _deliver(t, recv, b, route_axon[r], axon_syn_ptr, syn_ops, msgs_in)
                ew, ns, ic = tile_hops(ax_, ay_, acx, acy, gx[b], gy[b], cx[b], cy[b])
                h_ew += ew
                h_ns += ns
                h_ic += ic
                sc = scale[r]
                m_lat = l_so + l_wt + ew * l_ew + ns * l_ns + ic * l_ic
                m_lat = m_lat + (sc - 1.0) * (l_wt + ew * l_ew + ns * l_ns + ic * l_ic)
                if m_lat > p_max:
                    p_max = m_lat
                _add_moments(mom_step, t, mom_core, a, 1, ew, ns, ic, bits[r])
                if pair_mode:      # branch-free append of a first-seen pair (a 0-hop pair walks no link)
                    p = p_base + b
                    k = pair_cnt[p]
                    pair_list[n_pairs] = p
                    n_pairs += k == 0
                    pair_cnt[p] = k + 1
                else:
                    n_touched = walk_route(ax_, ay_, gx[b], gy[b], 1, gx_n, cur, touched, n_touched)
        else:
            n_in += r1 - r0
            for r in range(r0, r1):
                b = route_core[r]
                sc = scale[r]
                m_lat = lat_in + (sc - 1.0) * (l_wt + 0.0 * l_ew + 0.0 * l_ns + 0.0 * l_ic)
                if m_lat > p_max:
                    p_max = m_lat
                syn_after += _deliver(t, recv, b, route_axon[r], axon_syn_ptr, syn_ops, msgs_in)
                _add_moments(mom_step, t, mom_core, b, 0, 0, 0, 0, bits[r])
    ints = np.array([syn_after, h_ew, h_ns, h_ic, n_msg, n_in], np.int64)
    return (syn_ops, msgs_in, msgs_out, spikes_out, path, contention, total, maxstep, mom_step, mom_core, ints)


def message_totals(target, tables, phys, ev_step, ev_src, steps: int, link_lat, pair_mode=None) -> dict:
    """``message_totals_numpy`` (the spec; same fields, bit-identical values) in one numba pass over the
    spike events and their route entries, with no per-message array: memory O(steps x cores + links).
    ``ev_step`` must be non-decreasing. ``pair_mode``: None = automatic (``PAIR_COUNT_TABLE``)."""
    mesh, costs = target.mesh, target.costs
    keys = ("spike_out", "spike_within_tile", "hop_ew", "hop_ns", "hop_interchip")
    lat = np.array([costs.latency[k].value for k in keys], np.float64)
    n_cores = int(phys.size)
    per_core = np.diff(np.asarray(tables.core_neuron_ptr, np.int64))
    neuron_core = np.repeat(np.arange(n_cores, dtype=np.int64), per_core)
    gx, gy, cx, cy = geometry.tile_arrays(mesh, phys)
    if pair_mode is None:
        pair_mode = n_cores * n_cores <= PAIR_COUNT_TABLE
    bits, packet = route_payload_bits(target, tables)
    (syn_ops, msgs_in, msgs_out, spikes_out, path, contention, total, maxstep, mom_step, mom_core,
     ints) = _message_kernel(
        np.ascontiguousarray(ev_step, np.int64), np.ascontiguousarray(ev_src, np.int64), int(tables.n_neurons),
        neuron_core, np.asarray(tables.route_ptr), np.asarray(tables.route_core), np.asarray(tables.route_axon),
        np.asarray(tables.axon_syn_ptr), gx, gy, cx, cy, geometry.grid_size(mesh)[0], lat, np.ascontiguousarray(link_lat, np.float64), int(steps), n_cores,
        bool(pair_mode), 1.0 + bits / packet if packet else np.ones(bits.size), bits)
    return {"syn_ops": syn_ops, "msgs_in": msgs_in, "msgs_out": msgs_out, "spikes_out": spikes_out,
            "syn_after": int(ints[0]), "path": path, "contention": contention, "link_total": total,
            "link_maxstep": maxstep, **energies(target, mom_step, mom_core),
            "hops_ew": int(ints[1]), "hops_ns": int(ints[2]), "hops_ic": int(ints[3]),
            "n_messages": int(ints[4]), "n_input_messages": int(ints[5])}


# ------------------------------------------------------------------------------- model
def partial_sum_costs(target, tables, phys, psum_out, psum_in) -> dict:
    """Split dendrites (``docs/fanin.md``): what the partial-sum messages of a run cost, per step and core.

    ``psum_out``/``psum_in``: the emulator's counters ``[steps, n_cores]`` (messages sent by each segment
    core, received by each soma core). A message costs ``partial_sums.energy`` (accumulation at the soma)
    plus a spike message's transport (``Costs.message_energy`` over its hops); a segment core's messages
    are charged the mean hops of its partial-sum routes (the emulator counts per core, not per route).
    Time: the soma core is busy ``partial_sums.latency`` per message received, and a step with partial
    sums waits for the slowest of them (the longest route of every sending segment core) after the spike
    drain: a second wave inside the same step (no overlap; link contention of partial sums not modelled).
    """
    ps, mesh, costs = target.partial_sums, target.mesh, target.costs
    L = {k: q.value for k, q in costs.latency.items()}
    n_cores = phys.size
    src = np.asarray(tables.psum_core, np.int64)
    dst = tables.neuron_core()[np.asarray(tables.psum_neuron, np.int64)]
    ew, ns, ic = (np.asarray(v, np.float64) for v in pair_hops(mesh, phys, src, dst))
    routes = np.bincount(src, minlength=n_cores).astype(np.float64)
    mean = lambda x: np.bincount(src, weights=x, minlength=n_cores) / np.maximum(routes, 1)
    e_msg = costs.message_energy(mean(ew), mean(ns), mean(ic)) + (ps.energy.value if ps.energy else 0.0)
    lat = L["spike_out"] + L["spike_within_tile"] + ew * L["hop_ew"] + ns * L["hop_ns"] + ic * L["hop_interchip"]
    route_lat = np.zeros(n_cores)
    np.maximum.at(route_lat, src, lat)
    out = np.asarray(psum_out, np.float64)
    return {"energy_step": out @ e_msg, "energy_core": out.sum(0) * e_msg,
            "busy": np.asarray(psum_in, np.float64) * (ps.latency.value if ps.latency else 0.0),
            "path": np.where(out > 0, route_lat[None, :], 0.0).max(axis=1, initial=0.0),
            "messages": int(out.sum()), "per_core_out": np.asarray(psum_out).sum(0).tolist(),
            "per_core_in": np.asarray(psum_in).sum(0).tolist(),
            "hops": float((np.asarray(psum_out).sum(0) * mean(ew + ns)).sum()),
            "payload_bits": int(ps.payload_bits)}


def carried_reads(tables, sources) -> np.ndarray:
    """Synaptic reads per core (int64 [n_cores]) that the spikes of ``sources`` (neuron ids, graph-input
    channels >= N) sent at a run's last step cause at the step after it: what a run continuing that one
    charges at its first step (``estimate``'s ``syn_ops_in``)."""
    src = np.asarray(sources, np.int64)
    ptr = np.asarray(tables.route_ptr, np.int64)
    r = _csr_expand(ptr[src], ptr[src + 1] - ptr[src])
    axon = np.asarray(tables.route_axon)[r].astype(np.int64)     # the few routes only, not the whole tables
    syn_ptr = np.asarray(tables.axon_syn_ptr)
    n_syn = syn_ptr[axon + 1].astype(np.int64) - syn_ptr[axon]
    return np.bincount(np.asarray(tables.route_core)[r].astype(np.int64), weights=n_syn,
                       minlength=int(tables.n_cores)).astype(np.int64)


def estimate(target, tables, physical_core, spike_steps, spike_sources, neuron_active, steps: int,
             learn_ops=None, psum_out=None, psum_in=None, syn_ops_in=None, counts=None, trace=None) -> dict:
    """Energy (J), latency (s), per-core counters and per-link loads of a run; see the module doc.

    ``physical_core[c]``: mesh core id of logical core c. ``spike_steps``/``spike_sources``: one entry per
    spike event (0-based step, source id; graph-input channels are ids >= ``tables.n_neurons``).
    ``neuron_active``: int ``[steps, n_cores]``; ``learn_ops``: int ``[steps, n_cores]`` learning synapse
    updates (None: none); ``psum_out``/``psum_in``: int ``[steps, n_cores]`` partial-sum messages of a
    split mapping (``partial_sum_costs``; None: none). ``syn_ops_in``: int [n_cores] synaptic reads at step 0
    of spikes sent before the run (``carried_reads``: a run continuing another one charges them, so the
    energies and latencies of split runs add up to those of one run). ``counts``: the emulator kernel's
    per-step counters of this run (``report["counters"]``); with them the message pass runs per class of
    sources (``msgclasses``, the same values, several times faster). ``trace``: instead of ``spike_steps``
    and ``spike_sources`` (then None), a quick run's ``quickrun.SpikeTrace`` (its recorded spikes and input
    events), listed only where the counters cannot stand in for the neurons' events
    (``msgclasses.traced_totals``). Returns a JSON-able dict (lists and floats only).
    """
    t_wall = time.perf_counter()
    if trace is not None:                      # its events are the kernel's own: checked when listed
        spike_steps = spike_sources = np.zeros(0, np.int64)
    steps, n_cores, phys, ev_step, ev_src, active, per_core, learn = _check_inputs(
        target, tables, physical_core, spike_steps, spike_sources, neuron_active, steps, learn_ops)
    link_lat = _links(target)[5]
    from .msgclasses import counted_totals, traced_totals, usable_counts
    counted = usable_counts(counts, steps, n_cores)
    m = None
    if trace is not None and counted:
        m = traced_totals(target, tables, phys, trace, steps, link_lat, counts)
    if m is None:
        if trace is not None:
            ev_step, ev_src = _check_events(tables, *trace.listed(), steps)
        # ---- messages (events sorted by step, so messages are too): one numba pass, see message_totals_numpy
        if ev_step.size and np.any(ev_step[1:] < ev_step[:-1]):
            order = np.argsort(ev_step, kind="stable")
            ev_step, ev_src = ev_step[order], ev_src[order]
        if counted:
            m = counted_totals(target, tables, phys, ev_step, ev_src, steps, link_lat, counts)
        else:
            m = message_totals(target, tables, phys, ev_step, ev_src, steps, link_lat)
    if syn_ops_in is not None and steps:
        m["syn_ops"][0] += np.asarray(syn_ops_in, m["syn_ops"].dtype)
    psum = None
    if tables.n_psum and psum_out is not None:
        psum = partial_sum_costs(target, tables, phys, psum_out, psum_in)
    return estimate_from_totals(target, phys, per_core, np.diff(np.asarray(tables.core_axon_ptr, np.int64)), m,
                                active, learn, steps, psum, t_wall)


def estimate_from_totals(target, phys, per_core, axons_per_core, m: dict, active, learn, steps: int, psum=None,
                         t_wall=None) -> dict:
    """The rest of :func:`estimate` once the message totals ``m`` (fields ``TOTALS``) are known: barrier,
    step latency, energy classes and the JSON-able report. Split off so a distributed run can sum the
    ranks' message totals and apply the same model (``distributed/cost.py``). ``per_core``/``axons_per_core``:
    neurons and input axons of each logical core; ``psum``: ``partial_sum_costs`` or None."""
    t_wall = time.perf_counter() if t_wall is None else t_wall
    mesh, costs = target.mesh, target.costs
    E = {k: q.value for k, q in costs.energy.items()}
    L = {k: q.value for k, q in costs.latency.items()}
    lx, ly, lx2, ly2, ldir, link_lat = _links(target)
    syn_ops, msgs_in, msgs_out, spikes_out = m["syn_ops"], m["msgs_in"], m["msgs_out"], m["spikes_out"]
    path, contention, link_total, link_maxstep = m["path"], m["contention"], m["link_total"], m["link_maxstep"]
    drain = path + contention
    # ---- barrier over the span of the used cores
    per_core, axons_per_core = np.asarray(per_core, np.int64), np.asarray(axons_per_core, np.int64)
    tiles, chips, barrier, cores, assumptions = derived(
        "cost_layout", target, (phys.tobytes(), per_core.tobytes(), axons_per_core.tobytes()),
        lambda: _layout(target, phys, per_core, axons_per_core))

    # ---- time
    lat = np.array([L["syn_op"], L["neuron_update_active"], L["neuron_update_idle"], L["spike_out"],
                    L["learning_update"]])
    i64 = lambda a: np.ascontiguousarray(a, np.int64)   # noqa: E731  (one kernel signature)
    busy_max, busy_core, per_step, per_core_sum = busy_sums(
        i64(syn_ops), i64(active), i64(per_core), i64(msgs_out), i64(learn), lat,
        np.ascontiguousarray(psum["busy"], np.float64) if psum is not None else np.zeros((0, 0)))
    if psum is not None:
        drain = drain + psum["path"]
    step_lat = busy_max + drain + barrier
    total_time = float(step_lat.sum())

    # ---- energy
    e_cls_step = {
        "syn_op": per_step[0] * E["syn_op"],
        "neuron_active": per_step[1] * E["neuron_update_active"],
        "neuron_idle": per_step[2] * E["neuron_update_idle"],
        "spike_out": m["e_spike"],
        "messages": m["e_net"],
        "learning": per_step[3] * E["learning_update"],
        "static": step_lat * (costs.static_power_w.value if costs.static_power_w else 0.0) * mesh.chips,
    }
    if psum is not None:
        e_cls_step["partial_sums"] = psum["energy_step"]
    e_step = sum(e_cls_step.values())
    per_core_e = (per_core_sum[0] * E["syn_op"] + per_core_sum[1] * E["neuron_update_active"]
                  + per_core_sum[2] * E["neuron_update_idle"] + per_core_sum[3] * E["learning_update"]
                  + m["e_core"] + (psum["energy_core"] if psum is not None else 0.0))

    p50, p99 = np.percentile(step_lat, [50, 99])           # (one call: the same values as two, half the time)
    out = {
        "target": target.name,
        "steps": steps,
        "energy_j": {
            "total": float(e_step.sum()),
            "per_step": float(e_step.mean()),
            "by_class": {c: float(v.sum()) for c, v in e_cls_step.items()},
            "per_core": per_core_e.tolist(),
        },
        "latency_s": {
            "per_step": {"mean": float(step_lat.mean()), "p50": float(p50), "p99": float(p99),
                         "max": float(step_lat.max())},
            "total": total_time,
            "barrier": barrier,
            "per_core_busy_total": busy_core.tolist(),
            "parts_mean": {"max_core_busy": float(busy_max.mean()), "path": float(path.mean()),
                           "contention": float(contention.mean()), "barrier": barrier},
            # Lower bound if compute and communication overlapped fully (Timcheck's max-form model):
            # max(slowest core, drain) + barrier. The reported latency is the no-overlap sum.
            "overlapped_mean": float((np.maximum(busy_max, drain) + barrier).mean()),
        },
        "counters": {
            "syn_ops": per_core_sum[0].tolist(), "neuron_active": per_core_sum[1].tolist(),
            "neuron_idle": per_core_sum[2].tolist(), "spikes_out": spikes_out.sum(0).tolist(),
            "messages_out": msgs_out.sum(0).tolist(), "messages_in": msgs_in.sum(0).tolist(),
            "learning": per_core_sum[3].tolist(),
            "total_messages": m["n_messages"], "input_messages": m["n_input_messages"],
            "syn_ops_after_run": m["syn_after"],
            "hops": {"ew": m["hops_ew"], "ns": m["hops_ns"], "interchip": m["hops_ic"],
                     "total": m["hops_ew"] + m["hops_ns"]},
            "span": {"tiles": tiles, "chips": chips},
        },
        "cores": [dict(c, tile=list(c["tile"])) for c in cores],     # (copies: the report is the caller's)
        "links": {str(int(i)): {"from": [int(lx[i]), int(ly[i])], "to": [int(lx2[i]), int(ly2[i])],
                                "dir": geometry.DIRECTIONS[int(ldir[i])], "total": int(link_total[i]),
                                "max_per_step": int(link_maxstep[i])}
                  for i in np.nonzero(link_total)[0]},
        "per_step": {"energy_j": e_step.tolist(), "latency_s": step_lat.tolist()},
        "assumptions": list(assumptions),
    }
    if psum is not None:
        out["partial_sums"] = {k: psum[k] for k in ("messages", "per_core_out", "per_core_in", "hops", "payload_bits")}
        out["partial_sums"]["path_mean_s"] = float(psum["path"].mean())
    if costs.clock_hz is not None:
        cyc = np.ceil(np.round(step_lat * costs.clock_hz.value, 6)).astype(np.int64)
        out["cycles"] = {"clock_hz": costs.clock_hz.value, "per_step": cyc.tolist(), "total": int(cyc.sum()),
                         "mean": float(cyc.mean())}
    out["wall_time_s"] = time.perf_counter() - t_wall
    return out


def busy_sums_np(syn_ops, active, per_core, msgs_out, learn, lat, psum_busy):
    """The spec of :func:`busy_sums`, in numpy: each core's busy time per step, ``busy[t, c] = syn_ops x L(syn_op)
    + active x L(neuron_update_active) + idle x L(neuron_update_idle) + msgs_out x L(spike_out) + learn x
    L(learning_update)`` (``lat``: those five latencies in that order; ``idle = per_core - active``; plus
    ``psum_busy`` where it is not empty). Returns ``(busy.max(1), busy.sum(0), per-step sums [4, T],
    per-core sums [4, C])``, the sums of syn_ops, active, idle and learn."""
    idle = per_core[None, :] - active
    busy = syn_ops * lat[0] + active * lat[1] + idle * lat[2] + msgs_out * lat[3] + learn * lat[4]
    if psum_busy.size:
        busy = busy + psum_busy
    counts = (syn_ops, active, idle, learn)
    return (busy.max(axis=1), busy.sum(0), np.array([a.sum(1) for a in counts]).reshape(4, -1),
            np.array([a.sum(0) for a in counts]).reshape(4, -1))


@numba.njit(cache=True, nogil=True)
def busy_sums(syn_ops, active, per_core, msgs_out, learn, lat, psum_busy):
    """:func:`busy_sums_np` in one pass over the [steps, cores] counters, without numpy's temporaries (Brunel,
    1000 steps x 487 cores: ~10 arrays of 3.9 MB each, most of the cost model's time past the message pass). The
    same floating-point operations in the same order: equal to the spec bit for bit."""
    steps, n_cores = syn_ops.shape
    busy_max = np.full(steps, -np.inf)
    busy_core = np.zeros(n_cores)
    per_step = np.zeros((4, steps), np.int64)
    per_core_sum = np.zeros((4, n_cores), np.int64)
    with_psum = psum_busy.size > 0
    for t in range(steps):
        hi = -np.inf
        for c in range(n_cores):
            s = syn_ops[t, c]
            a = active[t, c]
            i = per_core[c] - a
            q = learn[t, c]
            b = s * lat[0] + a * lat[1] + i * lat[2] + msgs_out[t, c] * lat[3] + q * lat[4]
            if with_psum:
                b = b + psum_busy[t, c]
            hi = max(hi, b)
            busy_core[c] += b
            per_step[0, t] += s
            per_step[1, t] += a
            per_step[2, t] += i
            per_step[3, t] += q
            per_core_sum[0, c] += s
            per_core_sum[1, c] += a
            per_core_sum[2, c] += i
            per_core_sum[3, c] += q
        busy_max[t] = hi
    return busy_max, busy_core, per_step, per_core_sum


#: How each ``[barrier] span`` rule counts tiles (``target.BARRIER_SPANS``).
SPAN_TEXT = {"bounding_box": "bounding box of the tiles holding used cores",
             "tiles_used": "number of tiles holding used cores"}


def _links(target) -> tuple:
    """``mesh.link_table`` of the target's mesh and link latencies, kept for the last target."""
    return derived("cost_links", target, None, lambda: link_table(
        target.mesh, {k: q.value for k, q in target.costs.latency.items()}))


def _layout(target, phys, per_core, axons_per_core) -> tuple:
    """What a report takes from the target and the placement alone, the same for every sample of a batch (kept
    for the last target and placement by :func:`estimate_from_totals`): the span of the used cores (tiles, chips)
    and its barrier latency, each core's place on the mesh, and the model's assumptions with those numbers."""
    mesh, costs = target.mesh, target.costs
    chip, _, _, k = (np.asarray(v) for v in mesh.core_coord(phys))
    cgx, cgy = (np.asarray(v) for v in mesh.global_tile(phys))
    used = (per_core > 0) | (axons_per_core > 0)
    if used.any():
        gx, gy = cgx[used].astype(np.int64), cgy[used].astype(np.int64)
        tiles = (int(np.unique(gy * (gx.max() + 1) + gx).size) if costs.barrier_span == "tiles_used"
                 else int((gx.max() - gx.min() + 1) * (gy.max() - gy.min() + 1)))
        chips = int(np.unique(chip[used]).size)
    else:
        tiles, chips = 1, 1
    barrier = costs.barrier_latency(tiles, chips)
    cores = tuple({"id": c, "physical": int(phys[c]), "chip": int(chip[c]), "tile": (int(cgx[c]), int(cgy[c])),
                   "k": int(k[c])} for c in range(int(phys.size)))
    return tiles, chips, barrier, cores, tuple(target.assumptions) + tuple(model_assumptions(target, tiles, chips,
                                                                                               barrier))


def model_assumptions(target, tiles: int, chips: int, barrier: float) -> list[str]:
    """The cost model's own modelling choices, each with the number it used for this run."""
    E = {k: q.value for k, q in target.costs.energy.items()}
    L = {k: q.value for k, q in target.costs.latency.items()}
    p = target.costs.static_power_w
    return [
        "cost model: a spike of a source at step t is read from synapse memory at step t+1 on each destination "
        "core (Lava's timing: one syn_op per stored synapse of the reached axon; delays act afterwards in the "
        "dendrite); reads that would fall at or after the last step are not charged (counters.syn_ops_after_run).",
        f"cost model: graph-input spikes are injected by the host at the destination core's router: 0 hops, no "
        f"spike_out, one spike_within_tile per destination core ({E['spike_within_tile']:.3g} J, "
        f"{L['spike_within_tile']:.3g} s).",
        f"cost model: core busy time = syn_ops x {L['syn_op']:.3g} s + active x {L['neuron_update_active']:.3g} s "
        f"+ idle x {L['neuron_update_idle']:.3g} s + messages out x {L['spike_out']:.3g} s + learning updates x "
        f"{L['learning_update']:.3g} s; idle = neurons on the core - active.",
        f"cost model: network drain of a step = the longest message latency of that step + max over directed links "
        f"of (packets on the link - 1) x the link's hop latency (E-W {L['hop_ew']:.3g} s, N-S {L['hop_ns']:.3g} s, "
        f"+{L['hop_interchip']:.3g} s if the link crosses a chip boundary); messages of a step are sent and "
        "delivered within that step.",
        f"cost model: barrier span = {SPAN_TEXT[target.costs.barrier_span]} (cores with neurons or input axons; "
        f"[barrier] span: {target.costs.barrier_span_source[0]}) = {tiles} tile(s) on {chips} chip(s) -> "
        f"{barrier:.4g} s per step, every step.",
        f"cost model: static power {p.value if p else 0.0:.3g} W x {target.mesh.chips} chip(s) x each step's "
        "latency; per-core energies are dynamic only (static is chip-wide); a message's energy is charged to its "
        "source core (host inputs: to the destination core).",
        "cost model: step latency = slowest core busy time + network drain + barrier (a sum, i.e. no overlap "
        "of compute and communication; an upper bound where the chip pipelines them).",
    ] + (["cost model: cycles per step = ceil(step latency x clock_hz "
          f"{target.costs.clock_hz.value:.4g} Hz)."] if target.costs.clock_hz is not None else [])
