"""The emulator's step: a readable numpy spec (``step_numpy``) and the numba kernel (``run_steps``).

Both execute the per-core tables (``neurocomp.mapping.tables.CoreTables``), never the graph, with Lava 0.10's
fixed-point semantics (../shared/reference/lava.md §1-5). One step t (1-based) is:

1. **Dendrites.** Each neuron j reads its synaptic input for step t,
   ``a_j = wrap32( sum of contributions that arrive at t )``, one such sum per input channel (a
   projection's ``port``; RF/RF_IZ have two, the real and the imaginary part, as Lava's two InPorts).
   A *contribution* is one projection's sum for one post neuron, one send step and one delay,
   transformed as Lava's connection process does before it buffers it::

       c = wrap24(raw)                       # Conv2d (Lava's signed_clamp); graded: 0 if raw is outside int32
       c = raw << e  if e > 0 else raw >> -e # Dense/Sparse/OneToOne, e = weight_exp (floor)
       c = shift(wrap32(raw), e)             # graded Dense/Sparse/DelaySparse: the int32 dot product wraps first

   ``raw`` = sum of the effective weights of the projection's synapses to j with delay d whose
   source spiked at step t-1-d; on a graded projection each weight times its source's payload
   (wrapped to int32 one by one on a DelayDense, whose int32 products are summed in int64;
   ``neurocomp.semantics.synapses.GRADED_WRAP``). (DelayDense shifts each (send step, delay) column separately
   before adding it to its buffer, so contributions from different send steps are *not* summed
   before the shift.) Channel sums are int32 in Lava, hence the wrap32 of the total. Every transform but
   the Conv cast and a right shift is linear modulo 2^32, so int64 sums (wrapping past 2^63 included)
   may be taken before it; those two see the exact per-(step, delay) sum.
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
Where every projection is undelayed and binary or plainly graded, and the copies fall into long runs
of consecutive ring cells (a conv layer's output channels at one position, laid out channel-minor by the
plan; a dense layer's posts), the kernel walks those runs (``RouteArrays.run_cell``): a contiguous,
vectorised add of the run's weights x payload, no per-copy cell.

The kernel stores pending contributions per *dendrite* (one per (post neuron, incoming
projection)) in a ring of ``max_delay + 1`` slots. Three ways to fill it, all equal to the spec:
mode 0 (no delays): the ring has one slot holding the raw sum, transformed when read; mode 1
(delays, shift e >= 0, no wrap24): the transform is linear mod 2^32, so ``w << e`` is added
straight into slot ``(t+1+d) % L``; mode 2 (delays with a floor shift or a wrap24): raw sums go
to a per-step scratch (one cell per dendrite and delay), transformed and moved into the ring once
all spikes of the step are delivered.

Every neuron input is ``wrap32`` of the sum of its dendrites' cells (read through the mode-0 transform where there
is one). Where that transform is the identity modulo 2^32 (no mode-0 projection shifts right or casts like Lava's
Conv), only the cells' values modulo 2^32 matter, so the rings are int32 and wrap as they add
(``ring_dtype``): half the bytes the synapse walk and the neuron reads move, the same inputs bit for bit.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from llvmlite import ir as llvm_ir
from numba import njit, prange, types as nb_types
from numba.core import cgutils
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

from ...semantics.fixedpoint import conv_cast24, wrap32, wrap32_scalar as _wrap32
from ...semantics.synapses import GRADED_WRAP
from ...neurons import NEURONS
from .neuron_dispatch import neuron_steps
from .threadsync import (YIELD_AFTER, atomic_add, atomic_load, atomic_store, compare_swap, item_pointer, spin,
                         wait_for)

#: Projection ring modes (see module docstring).
MODE_DIRECT, MODE_LINEAR, MODE_SCRATCH = 0, 1, 2
#: A projection's transform of its raw sums: the weight_exp shift; Lava Conv's cast (int32, then 24-bit wrap);
#: wrap32 then shift (graded Dense/Sparse).
XF_SHIFT, XF_CAST24, XF_WRAP32 = 0, 1, 2
#: What a projection's synapses add: the weight (binary); weight x payload; wrap32(weight x payload) (DelayDense).
SYN_BINARY, SYN_GRADED, SYN_GRADED_WRAP = 0, 1, 2


def projection_codes(lava_kinds, message_bits):
    """``(transform codes, synapse codes)`` (int64 [P] each) of projections running as Lava's ``lava_kinds``
    with ``message_bits`` (``neurocomp.semantics.synapses.GRADED_WRAP`` says where a graded sum wraps)."""
    wrap = [GRADED_WRAP[k] for k in lava_kinds]
    graded = np.asarray(message_bits, np.int64) > 0
    cast = np.array([w == "cast" for w in wrap], bool).reshape(-1)
    xf = np.where(cast, XF_CAST24, np.where(graded & np.array([w == "sum" for w in wrap], bool).reshape(-1),
                                            XF_WRAP32, XF_SHIFT))
    product = np.array([w == "product" for w in wrap], bool).reshape(-1)
    syn = np.where(graded, np.where(product, SYN_GRADED_WRAP, SYN_GRADED), SYN_BINARY)
    return xf.astype(np.int64), syn.astype(np.int64)

#: Smallest network the engine runs the kernel on threads for (``engine.kernel_thread_count``): PAR_NEURONS
#: neurons (phase 1+2's work) or PAR_SYNAPSES synapses (phase 3's: a 1k x 1k Dense layer has only 1000
#: neurons but 1M synapses); below both, a step's parallel regions (start + barrier, and on a loaded
#: machine a wait for a descheduled thread) cost more than they save.
PAR_NEURONS = 1024
PAR_SYNAPSES = 1 << 18
#: A step's groups of cores (``step_groups``) balance an estimate of their work in synaptic events: a neuron's
#: update costs about NEURON_WORK events (~12 ns vs ~2 ns on one thread, benchmarks/RESULTS.md "Parallel phase
#: 3"; approximate), a synapse copy ``activity`` events, the running fraction of copies reached per step
#: (starting at ACTIVITY_PRIOR, moved by ACTIVITY_GAIN of the difference each step). Only the balance depends
#: on them, never the results.
NEURON_WORK = 6.0
ACTIVITY_PRIOR = 0.01
ACTIVITY_GAIN = 0.125
#: A step runs on several groups only where its estimated one-thread cost reaches PAR_STEP_NS
#: (``parallel_step``), else as one group while the team's other threads wait: with a parallel region a step
#: (its fork and join ~1.5-3 us at two threads) this was 20 us (chain_quiet 4.0 -> 7.2 us at 0.25 % input on
#: two groups: benchmarks/RESULTS.md "quiet9"); the team's threads meet in ~0.1 us ("quiet11").
#: The estimate, one thread on this project's 2-core machine (approximate, only the speed depends on it): a
#: neuron STEP_NS_NEURON (STEP_NS_NEURON_ONE on the one-cell input path: chain_quiet's idle step, 3.2 us for
#: 1500), a synaptic event of the previous step's sources STEP_NS_EVENT (STEP_NS_RUN_EVENT as a contiguous
#: add in a run; Brunel's scattered ones ~1.5). Brunel (5k neurons, 43k scattered events: ~95 us) and PilotNet
#: (33k neurons, 1.4M events in runs), dense (~12 us) and chain_quiet at 1.5 % input (~7 us) run on groups,
#: chain_quiet's near-idle steps (~3 us at 0.25 %) as one.
PAR_STEP_NS = 5_000.0
STEP_NS_NEURON = 6.0
STEP_NS_NEURON_ONE = 2.0
STEP_NS_EVENT = 1.5
STEP_NS_RUN_EVENT = 0.1

#: Pieces of a step's by-source delivery per thread (``_cut_sources``, halving in work): a thread delivers its
#: own, then the others' still open (``_claim_next``). One share a thread, equal in synapse copies, left
#: chain_busy's two threads 23-28 us a step apart (its sources' copies are not equal in cost; benchmarks/RESULTS.md
#: "quiet12").
PIECES_PER_THREAD = 4
#: A spiking source's lookups, in synapse copies' worth, where ``_cut_sources`` shares a step's sources out.
SOURCE_WORK = 16

#: Indices of the per-core, per-step counters (``counters[k, t, core]``).
COUNTER_NAMES = ("syn_ops", "neurons_active", "neurons_idle", "spikes_out", "packets_out", "packets_in",
                 "psum_out", "psum_in")
C_SYNOPS, C_ACTIVE, C_IDLE, C_SPIKES, C_PK_OUT, C_PK_IN, C_PSUM_OUT, C_PSUM_IN = range(8)
#: A destination core's packets in (high 32 bits) and synaptic ops (low 32) of one step, summed in one int64:
#: one add per route, or per core of a count row (``count_rows``), instead of two. Exact while a core's synapse
#: copies stay below 2**32 (``engine.make_plan`` refuses more than 2**32 - 1 copies in all).
PACKET_ONE = np.int64(1) << np.int64(32)
SYN_MASK = PACKET_ONE - np.int64(1)
#: ``RouteArrays.src_one``: a source's span in the bits from ONE_SHIFT, its weights' start below.
ONE_SHIFT = 40
ONE_MASK = (np.int64(1) << np.int64(ONE_SHIFT)) - np.int64(1)
#: Spikes of count-row sources ``run_steps`` buffers before their rows are added (two int32 per entry: 8 MB);
#: a call of fewer steps buffers them all. At least two steps' worth in any case.
ROW_BUFFER = 1 << 20
#: Neurons stepped together (``neuron_steps``): their inputs, then the model's step as one loop, then their
#: spikes. Small enough that a group's scratch (3 x 8 bytes each) stays in L1, large enough for the loop to run.
BLOCK = 128



# ----------------------------------------------------------------------------------- numpy spec
def transform_np(raw, weight_exp, xf):
    """A connection's per-(send step, delay) transform of its raw sums (vectorised; ``xf``: XF_* codes)."""
    raw = np.asarray(raw, np.int64)
    e = np.asarray(weight_exp, np.int64)
    x = np.where(xf == XF_WRAP32, wrap32(raw), raw)
    shifted = np.where(e >= 0, x << np.maximum(e, 0), x >> np.maximum(-e, 0))
    return np.where(xf == XF_CAST24, conv_cast24(raw), shifted)


def step_numpy(t, tables, state, input_sources, neuron_core):
    """The spec of one emulator step, in plain numpy (the numba kernel must equal it).

    ``state``: dict with ``kind`` (int64 [N]: each neuron's model, the registry's order), ``S`` (per kind
    its state rows, int64 [m, N]) and ``arrive`` (int64 [channels, Lmax, N]: the sum of the contributions arriving
    at step t' into input channel c (the projection's port) in ``[c, t' % Lmax]``). Each model steps with its
    numpy spec. ``input_sources``: ``(source ids (>= N), payloads)`` of the graph-input channels that fire at
    step t (row t-1); ``neuron_core``: core of each neuron. Updates ``state`` in place; returns what the neurons
    send (int64 [N]: 0 nothing, 1 a spike, a graded model its payload) and this step's counters (each int64
    [n_cores], plus ``spikes_per_source`` [S]).
    """
    n, n_cores = tables.n_neurons, int(tables.n_cores)
    arrive = state["arrive"]
    lmax = arrive.shape[1]
    a = wrap32(arrive[:, t % lmax])                          # [channels, N]: each input channel's int32 sum
    arrive[:, t % lmax] = 0
    out, active = neuron_spec_steps(tables, state["kind"], state["S"], a)
    s = out != 0
    pay = np.ones(tables.n_sources, np.int64)                # what each source sends
    pay[:n] = out
    src_in, val_in = input_sources
    pay[src_in] = val_in

    # Packets: every (spiking source, destination core) route entry names an axon on that core.
    sources = np.concatenate([np.nonzero(s)[0], np.asarray(src_in, np.int64)])
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
        syn_src = np.repeat(np.repeat(sources, n_routes), tables.axon_syn_ptr[axons + 1] - tables.axon_syn_ptr[axons])
        xf, syn_code = projection_codes(tables.proj_lava_kinds, tables.proj_message_bits)
        code = syn_code[proj]                                     # binary projections: weight x 1
        value = tables.syn_weight[syn].astype(np.int64) * np.where(code != SYN_BINARY, pay[syn_src], 1)
        np.add.at(raw, inv, np.where(code == SYN_GRADED_WRAP, wrap32(value), value))
        k_proj, k_delay, k_post = keys // (lmax * n), (keys // n) % lmax, keys % n
        contrib = transform_np(raw, tables.proj_weight_exp[k_proj], xf[k_proj])
        port = np.asarray(tables.proj_port, np.int64)[k_proj]
        np.add.at(arrive, (port, (t + 1 + k_delay) % lmax, k_post), contrib)

    # Counters of this step, per core.
    count = lambda idx, w=None: np.bincount(idx, weights=w, minlength=n_cores).astype(np.int64)
    dest = tables.route_core[routes].astype(np.int64)
    from_neuron = np.repeat(sources < n, n_routes)
    src_core = neuron_core[np.repeat(sources, n_routes)[from_neuron]]
    per_source = np.zeros(tables.n_sources, np.int64)
    per_source[sources] = 1
    psum_out, psum_in = partial_sum_counts_np(tables, syn, axons, tables.axon_syn_ptr, neuron_core, n_cores)
    counts = {
        "psum_out": psum_out, "psum_in": psum_in,
        "syn_ops": count(dest, (tables.axon_syn_ptr[axons + 1] - tables.axon_syn_ptr[axons]).astype(np.float64)),
        "neurons_active": count(neuron_core[active]),
        "neurons_idle": count(neuron_core[~active]),
        "spikes_out": count(neuron_core[s]),
        "packets_out": count(src_core),
        "packets_in": count(dest),
        "spikes_per_source": per_source,
    }
    return out, counts


def partial_sum_counts_np(tables, syn, axons, axon_syn_ptr, neuron_core, n_cores):
    """Partial-sum messages of one step (split dendrites): one per partial-sum route (segment core,
    neuron) whose synapses received a spike, counted out of the segment core and into the soma's."""
    zero = np.zeros(n_cores, np.int64)
    if not tables.n_psum or syn.size == 0:
        return zero, zero.copy()
    syn_axon = np.repeat(axons, axon_syn_ptr[axons + 1] - axon_syn_ptr[axons])
    axon_core = np.repeat(np.arange(n_cores, dtype=np.int64), np.diff(tables.core_axon_ptr))
    core, post = axon_core[syn_axon], np.asarray(tables.syn_post, np.int64)[syn]
    foreign = core != neuron_core[post]
    pairs = np.unique(core[foreign] * tables.n_neurons + post[foreign])
    return (np.bincount(pairs // tables.n_neurons, minlength=n_cores).astype(np.int64),
            np.bincount(neuron_core[pairs % tables.n_neurons], minlength=n_cores).astype(np.int64))


def neuron_spec_steps(tables, kind, S, a):
    """Every neuron steps with its model's numpy spec (``neurocomp.neurons``) on its input channels ``a``
    (int64 [channels, N]); ``S`` is updated in place.
    Returns each neuron's payload (int64 [N], 0: nothing sent) and whether it was active (sent, or
    holds a nonzero state)."""
    out = np.zeros(kind.size, np.int64)
    active = np.zeros(kind.size, bool)
    for i, k in enumerate(NEURONS.values()):
        idx = np.nonzero(kind == i)[0]
        if not idx.size:
            continue
        params = {p: np.asarray(tables.neuron_params[p], np.int64)[idx] for p in k.params}
        a_k = a[:k.channels, idx] if k.channels > 1 else a[0, idx]
        new, o = k.spec_step(params, {var: S[i][r, idx] for r, var in enumerate(k.state)}, a_k)
        for r, var in enumerate(k.state):
            S[i][r, idx] = new[var]
        out[idx] = np.asarray(o, np.int64)
        active[idx] = (out[idx] != 0) | np.any(S[i][:, idx] != 0, axis=0)
    return out, active


def ranges(lo, hi):
    """Concatenation of ``arange(lo[i], hi[i])`` for all i, vectorised."""
    lo, hi = np.asarray(lo, np.int64), np.asarray(hi, np.int64)
    lens = hi - lo
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    return starts + np.arange(total, dtype=np.int64)


# ----------------------------------------------------------------------------------- kernel containers
# The numba kernel's state, grouped by what it describes. Named tuples of arrays: numba passes them as
# plain structs (no per-field cost in the loops) and caches the compiled kernel per field types. Their
# fields, in the order run_steps takes the containers, are the kernel's former 44 positional arguments
# in their former order: LLVM then emits the same machine code for the kernel's body (checked: identical
# instruction for instruction), so grouping costs no speed.
class NeuronArrays(NamedTuple):
    """Neurons, global ids core by core, each of a registered model (``kind``, the registry's order): per
    kind its kernel parameter rows ``P[kind]`` (the kind's ``prepare``) and state rows ``S[kind]``
    (int64 [n_rows, N], all N columns; a neuron uses the columns of its own kind; updated in place);
    ``v_row``/``u_row``: the state row recorded as "v"/"u" per kind (-1: the model has none)."""
    core_neuron_ptr: np.ndarray     # [C+1] neurons of core c: core_neuron_ptr[c]..core_neuron_ptr[c+1]
    core_seg_ptr: np.ndarray        # [C+1] segments (runs of neurons of one kind) of core c
    seg_ptr: np.ndarray             # [G+1] neurons of segment g: seg_ptr[g]..seg_ptr[g+1]
    seg_kind: np.ndarray            # [G] the kind of segment g
    P: tuple                        # per kind: int64 [k, N]
    S: tuple                        # per kind: int64 [m, N]
    v_row: np.ndarray               # int64 [K]
    u_row: np.ndarray               # int64 [K]


class DendriteArrays(NamedTuple):
    """One dendrite per (neuron, incoming projection), each with a delay ring of ``proj_len`` cells
    at ``dend_off``; per projection its length, shift, transform (XF_*) and ring mode (module docstring). A
    neuron's dendrites into input channel 0 come first (``dend_ptr[j]..dend_mid[j]``), then those into
    channel 1 (two-input models: RF, RF_IZ), each channel summed into its own input."""
    dend_ptr: np.ndarray            # [N+1] dendrites of neuron j
    dend_mid: np.ndarray            # [N] first of neuron j's dendrites into input channel 1 (port 1)
    dend_proj: np.ndarray           # [D] projection of each dendrite
    dend_off: np.ndarray            # [D] first ring cell of each dendrite
    proj_len: np.ndarray            # [P] max_delay + 1
    proj_exp: np.ndarray            # [P] weight_exp
    proj_xf: np.ndarray             # [P] XF_SHIFT / XF_CAST24 / XF_WRAP32
    proj_mode: np.ndarray           # [P] MODE_DIRECT / MODE_LINEAR / MODE_SCRATCH
    all_direct: bool                # every projection is mode 0


class RouteArrays(NamedTuple):
    """Routing: a neuron's packets leave from core ``neuron_core[j]``; route r of a source goes to core
    ``route_core[r]``; its axon's synapses, laid out per route by the plan, are
    ``route_syn_ptr[r]..route_syn_ptr[r+1]`` (``syn_delay``/``syn_proj`` are empty when every projection
    is mode 0)."""
    neuron_core: np.ndarray         # [N]
    route_ptr: np.ndarray           # [S+1] routes of source s
    route_core: np.ndarray          # [R]
    route_syn_ptr: np.ndarray       # [R+1]
    syn_ring: np.ndarray            # ring cell of each synapse copy's dendrite
    syn_weight: np.ndarray          # the tables' dtype: int8/int16/int32 (a learning run's copy: int16 or wider)
    syn_delay: np.ndarray           # int16
    syn_proj: np.ndarray            # int16 (int32 past 32767 projections)
    graded: bool                    # some projection carries payloads (then syn_proj is always copied)
    proj_graded: np.ndarray         # int64 [P] SYN_*: projection multiplies its weights by the source's payload
    split_syn: np.ndarray           # int64 [C+1] synapse copies on cores < c (phase 3 split by destination core;
                                    # empty: not splittable, see ``phase3_split``)
    route_run_ptr: np.ndarray       # int64 [R+1] runs of route r (``engine.cell_runs``), or empty: no runs
    run_start: np.ndarray           # int64 [runs] run i adds run_weight[run_start[i]..+run_len[i]] ...
    run_len: np.ndarray             # int32 [runs]
    run_cell: np.ndarray            # int64 [runs] ... into the consecutive ring cells from run_cell[i]
    run_weight: np.ndarray          # syn_weight's dtype: the runs' weights, 0 in a run's holes; runs with the
                                    # same weights share one slice (a conv kernel's: ``dedup_runs``)
    count_row: np.ndarray           # int32 [S]: source s's row of count_syn, -1 none (empty: no rows at all)
    count_syn: np.ndarray           # uint8 [rows, C]: synapse copies of the source's route into each core (0: no
                                    # route), for the counters (``count_rows``)
    src_run_ptr: np.ndarray         # int64 [S+1] source s's fused runs (``fuse_runs``), or empty: none
    frun_start: np.ndarray          # int64 [fused runs] as run_start, run_len, run_cell: a source's runs into
    frun_len: np.ndarray            # int32             consecutive cells of consecutive cores, with their weights
    frun_cell: np.ndarray           # int64             consecutive in run_weight, joined into one
    src_one: np.ndarray             # int64 [S] a source of one joined run: its weights' start | its span <<
                                    # ONE_SHIFT, -1 else (``one_runs``); or empty: none
    span_cell: np.ndarray           # int64 [spans] the cells of span k: span_cell[k]..+span_len[k] (the distinct
    span_len: np.ndarray            # int64 [spans]  cells of the one-run sources' runs)


class InputEvents(NamedTuple):
    """Graph-input channels that fire: row t-1 -> ``in_src[in_ptr[t-1]:in_ptr[t]]`` (source ids >= N), each
    with its payload ``in_val`` (1 for a spike; a graded input's integer value)."""
    in_ptr: np.ndarray
    in_src: np.ndarray
    in_val: np.ndarray


def ring_dtype(proj_mode, proj_exp, proj_xf, proj_bound):
    """int32 where every ring cell is read only into a ``wrap32`` sum through a transform that is the identity
    modulo 2^32 (module docstring), or holds sums that never leave int32. The first fails for a mode-0
    projection that casts like Lava's Conv (``XF_CAST24``: out of the int32 range is 0) or shifts its raw sum
    right (``weight_exp < 0``: the high bits come down); such a projection still fits where ``proj_bound`` (the
    largest sum of |weight x payload| one dendrite can receive in a step, ``engine.sum_bounds``; inf where
    unknown) is below 2^31. Mode 1 adds ``w << e`` (e >= 0) and mode 2 adds sums transformed in the int64
    scratch: both linear modulo 2^32. Otherwise int64, the raw sums kept whole. (int32 halves the bytes moved;
    the chain_quiet step at 1 % input 9.2 -> 8.0 us, benchmarks/RESULTS.md "int32 rings".)"""
    mode0 = np.asarray(proj_mode) == MODE_DIRECT
    modular = (np.asarray(proj_xf) != XF_CAST24) & (np.asarray(proj_exp) >= 0)
    exact = ~mode0 | modular | (np.asarray(proj_bound, np.float64) < 2.0 ** 31)
    return np.dtype(np.int32) if bool(np.all(exact)) else np.dtype(np.int64)


class WorkArrays(NamedTuple):
    """Per-run work space: the delay rings, mode-2 scratch with its touched list (the list of this
    step's spiking sources, ``spiked``, is the kernel's last argument)."""
    ring: np.ndarray                # int32 or int64 [ring_size] (``ring_dtype``)
    scratch: np.ndarray             # int64 [max(scratch_size, 1)]
    sflag: np.ndarray               # uint8, same size
    touched_idx: np.ndarray
    touched_proj: np.ndarray
    touched_delay: np.ndarray
    payload: np.ndarray             # int64 [max(S, 1)]: what each of this step's spiking sources sends


class Recorder(NamedTuple):
    """``rec_col[gid]``: column of neuron gid in the recordings (-1: not recorded); what to record."""
    rec_col: np.ndarray
    spikes: np.ndarray              # uint8 [T, k] (or [0, 0]), zeroed by the caller: the kernel writes the 1s
    v: np.ndarray                   # int64 [T, k] (or [0, 0])
    u: np.ndarray
    payloads: np.ndarray            # int64 [T, k] what each neuron sent (graded populations), or [0, 0]
    do_spikes: bool
    do_v: bool
    do_u: bool
    do_payloads: bool
    state: np.ndarray               # int64 [E, T, k]: E more state variables (e.g. "sigma"), or [0, 0, 0]
    state_row: np.ndarray           # int64 [K, E]: per kind, the state row recorded as variable e (-1: none)


class Counters(NamedTuple):
    """Per-core, per-step counters ``per_core[k, t, core]`` (k: ``COUNTER_NAMES``) and spikes per source."""
    enabled: bool
    per_core: np.ndarray            # int64 [8, T, C] (or [8, 0, 0])
    per_source: np.ndarray          # int64 [S] (or [0])


class PartialSumArrays(NamedTuple):
    """Split dendrites (``CoreTables.psum_*``), for the partial-sum counters: ``syn_psum[y]``: the
    partial-sum route of synapse copy y (-1: the synapse is on its neuron's core); route k goes from
    core ``psum_src[k]`` to core ``psum_dst[k]``; ``mark[k]``: last step route k was counted. The sums
    themselves need no extra work: a segment's synapses add into the soma's dendrite cells, the same
    integer sum in another order (``neurocomp.mapping.split``)."""
    enabled: bool
    syn_psum: np.ndarray            # int64 [copies] (or [0])
    psum_src: np.ndarray            # int64 [K]
    psum_dst: np.ndarray            # int64 [K]
    mark: np.ndarray                # int64 [K]


# ----------------------------------------------------------------------------------- numba kernel
@intrinsic
def _prefetch(typingctx, arr, idx):
    """Ask the CPU to bring ``arr[idx]``'s cache line in (LLVM's ``prefetch``: a hint, never a fault)."""
    def codegen(context, builder, signature, args):
        ptr = item_pointer(context, builder, signature, args)
        i8p = llvm_ir.IntType(8).as_pointer()
        i32 = llvm_ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, llvm_ir.FunctionType(llvm_ir.VoidType(),
                                                                                 [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    return nb_types.void(arr, nb_types.intp), codegen


# The scalar helpers below are plain numba calls, not ``inline="always"``: LLVM inlines them just the same
# (Brunel and dense ran as fast), and numba's own inliner, run at every call site, made ``run_steps`` take
# twice as long to compile from a cold cache (benchmarks/RESULTS.md "Cold compile").
@njit(cache=True)
def _u(i):
    """An index known to be >= 0, as unsigned: numba then skips the negative-index wraparound (a compare
    and select per access; ~15 % of the synapse walk's time, benchmarks/RESULTS.md "Parallel phase 3")."""
    return np.uint64(i)


@njit(cache=True)
def _source_copies(src, route_ptr, route_syn_ptr):
    """The synapse copies source ``src``'s spike reaches: its routes' copies, adjacent in the plan."""
    return route_syn_ptr[route_ptr[src + 1]] - route_syn_ptr[route_ptr[src]]


@njit(cache=True)
def _transform(raw, e, xf):
    if xf == XF_CAST24:                          # float64 -> int32 cast: out of range is -2^31, wrapped to 0
        if raw < -2147483648 or raw > 2147483647:
            return np.int64(0)
        return ((raw + 8388608) & 0xFFFFFF) - 8388608
    if xf == XF_WRAP32:
        raw = _wrap32(raw)
    if e >= 0:
        return raw << e
    return raw >> (-e)


@njit(cache=True)
def run_steps(t_first, t_last, t_base, neurons, dendrites, work, routes, inputs, recorder, counts, spiked,
              psums, n_threads=1, row_buffer=ROW_BUFFER, par_step_ns=PAR_STEP_NS):
    """Advance the state through steps ``t_first..t_last`` (1-based, inclusive), in place; return how many
    sources sent at ``t_last`` (``spiked[:n]`` / ``work.payload[:n]``: who and what, for a closed loop).

    ``t`` is the simulation's own step (the delay rings' slots follow it across runs); the inputs,
    recordings and counters of this call start at step ``t_base + 1`` (their row of step t is
    ``t - 1 - t_base``), so a run continued from saved state indexes its own arrays from 0.

    The state comes in the kernel containers (:class:`NeuronArrays`, :class:`DendriteArrays`,
    :class:`WorkArrays`, :class:`RouteArrays`, :class:`InputEvents`, :class:`Recorder`,
    :class:`Counters`) and ``spiked`` (int64 [max(S, 1)]: work space for this step's spiking sources),
    ``psums`` (:class:`PartialSumArrays`, split dendrites). A packet for route r goes to core ``route_core[r]``,
    axon ``route_axon[r]``.
    The plan copies that axon's synapses to ``route_syn_ptr[r]..route_syn_ptr[r+1]`` (so one source's
    synapses are adjacent in memory; the tables group them by destination core) with ``syn_ring``,
    the ring cell of each synapse's dendrite. ``all_direct``: every projection is mode 0 (weights only).

    **Threads** (``numba.get_num_threads()``, set by ``engine.kernel_threads``; ``n_threads``: the same
    number, passed by the caller: read in here it would keep numba from caching the kernel; results
    identical for any number): ``n_threads`` groups of consecutive cores about equal in estimated work
    (``step_groups``), run by a team of as many threads that stays in one parallel region for the whole call
    (``_team``) and meets at atomic counters between the phases of a step (``threadsync``, ~0.1 us against ~1.5
    us for a region's fork and join; benchmarks/RESULTS.md "quiet11"). A core's neurons own a contiguous range of
    ring (and mode-2 scratch) cells and a source's routes are sorted by core, so group g first delivers step
    t-1's spikes (phase 3) by walking the sub-range of each source's routes into its own cores, writing only its
    own cells and destination counters (no atomics; integer sums commute, so the cells end equal to one
    thread's), then steps its own cores' neurons at t (phase 1+2 reads only the core's own cells): no barrier
    between the two phases. Its spikes go into its own slice of a second spike list (``spiked`` is
    double-buffered: the groups still read step t-1's), compacted in core order by the thread that finishes
    the step last (``_advance``: the one-thread order), which then sets up and publishes the next step. A call
    of T steps runs T + 1 steps of the team (the last delivers step t_last alone); one group runs the same loop
    on the calling thread without a region (and so does a call whose steps at the prior activity are estimated
    under twice ``par_step_ns``), and a step whose estimated work is below ``par_step_ns`` runs as
    one group while the other threads wait (``parallel_step``; 0: every step on ``n_threads`` groups). Split
    dendrites (a segment core writes the soma core's cells) and routes not sorted by core deliver as one
    group, serially in ``_advance``; their neurons still run in groups. An undelayed run (``by_source``) splits
    phase 3 by sources instead: first the threads deliver pieces of the spiking sources (``PIECES_PER_THREAD`` a
    thread, an equal share of synapse copies each, halving within it: ``_cut_sources``; a thread takes its own,
    then the others' still open: ``_claim_next``), every route, into a ring copy (and, counted, counter rows) of
    the thread's own (``_deliver_share``); once all are in, each group adds the copies' cells and counts of its
    own cores in (``_fold_copies``, ``_fold_counts``) and steps its neurons. No source's lookups repeated per
    group and no cache line written by two threads (Brunel's two threads 1.3 -> 1.5x with regions, 1.5-1.6x as a team).

    **Free team** (``_launch``'s ``free``): where the cores fall into groups apart, no neuron's route reaching from
    one to another (``free_cuts``: a Dense layer fed by graph inputs alone, or unconnected sub-networks on their own
    cores; a group's work within ``FREE_IMBALANCE`` of an even share: ``free_groups``), each thread runs the whole
    call over its own cores as one group runs it, with a ring copy, spike lists and count-row buffer of its own,
    and meets no other thread: no meeting a step, so a call whose steps are too short for the team (dense 1k x 1k,
    ~10 us) still runs on threads (benchmarks/RESULTS.md "quiet13").

    **Count rows** (``count_rows``): a counted run does not add a spiking source's row of per-core synapse
    copies while it delivers. Its (row, step) goes into a buffer (``row_buffer`` entries, at least two steps'
    worth), which the groups add up over their own cores in the region after it fills and in the call's last
    region (``_flush_rows``). Inside the delivery the rows were read cold, the synapse walk evicting them between
    spikes (Brunel: ~43 us of a ~100 us step); read back to back they stay cached (benchmarks/RESULTS.md
    "Accounting: count rows read after the steps"). The counters are the same integer sums.

    Speed (Brunel 5k neurons / 3M synapses: 0.27 -> 0.13 ms/step, results unchanged): the ring slots
    ``t % L`` and ``(t+1) % L`` are computed once per step and projection (no division per dendrite
    or synapse); a source's synapses on all its routes are walked as one flat range; a mode-0 ring
    cell is transformed on read only when the transform is not the identity, and with no delays and
    no transform at all (``plain``) dendrite k's cell is simply ``ring[k]``; the branches on the
    input being 0 and on a neuron being active are gone (unpredictable at ~15 Hz). A network whose
    projections are all graded and undelayed (SDNN) takes the same one-line walk, weight x payload
    (benchmarks/pilotnet_sdnn.py).
    """
    core_neuron_ptr, core_seg_ptr, seg_ptr, seg_kind, P, S, v_row, u_row = neurons
    dend_ptr, dend_mid, dend_off = dendrites.dend_ptr, dendrites.dend_mid, dendrites.dend_off
    proj_len, proj_exp, proj_xf, proj_mode, all_direct = dendrites[4:]
    ring, payload = work.ring, work.payload
    graded, proj_graded, split_syn = routes.graded, routes.proj_graded, routes.split_syn
    count_row, count_syn = routes.count_row, routes.count_syn
    do_count, counters, src_spikes = counts
    n_cores = core_neuron_ptr.shape[0] - 1
    # count rows read after the steps (see the docstring): (row of count_syn, counter row) per spike of such a
    # source, flushed by the groups once the next step's spikes might not fit, and at the end
    n_crows = count_syn.shape[0] if do_count and count_row.shape[0] > 0 else 0   # at most one entry each a step
    defer = n_crows > 0
    buf_cap = max(2 * n_crows, min(row_buffer, (t_last - t_first + 1) * n_crows)) if defer else 0
    n_neurons = core_neuron_ptr[n_cores]
    n_proj = proj_len.shape[0]
    # mode-0 projections whose transform is not the identity modulo 2^32 (a shift, or the Conv cast) apply
    # it when the ring is read; other modes were transformed when they were written
    xform = np.zeros(n_proj, np.bool_)
    for p in range(n_proj):
        xform[p] = proj_mode[p] == 0 and (proj_xf[p] == XF_CAST24 or proj_exp[p] != 0)
    # no delays and no transform: dendrite k's only ring cell is k (dend_off[k] == k unless the plan laid a
    # conv's cells out channel-minor)
    plain = all_direct and not np.any(xform) and _identity(dend_off)
    # no delays and every projection graded with an unwrapped product (sigma-delta networks on Dense/Sparse/Conv):
    # weight x payload straight into the ring; the wrap32 / Conv cast of the sum is applied on read as on the
    # general path (a DelayDense's per-product wrap takes the general path)
    direct_graded = all_direct and graded and np.all(proj_graded == SYN_GRADED)
    # undelayed segments whose neurons each read one channel-0 ring cell of one projection, the cells in neuron
    # order (a Dense layer's neurons): their inputs are read as one vector per block, through its transform
    seg_one = one_cell_segments(seg_ptr, dend_ptr, dend_mid, dend_off, dendrites.dend_proj) if all_direct \
        else np.zeros(0, np.int64)
    split = split_syn.shape[0] == n_cores + 1            # phase 3 splits by destination core (``phase3_split``)
    total_syn = split_syn[n_cores] if split else 0
    # a step's estimated one-thread cost (``parallel_step``): per neuron (the one-cell segments' at their own
    # rate), and per event of its spiking sources where the groups split the delivery
    n_one = 0
    for g in range(seg_one.shape[0]):
        if seg_one[g] >= 0:
            n_one += seg_ptr[g + 1] - seg_ptr[g]
    ns_neuron = (n_one * STEP_NS_NEURON_ONE + (n_neurons - n_one) * STEP_NS_NEURON) / max(n_neurons, 1)
    ns_event = (STEP_NS_RUN_EVENT if routes.route_run_ptr.shape[0] > 0 else STEP_NS_EVENT) if split else 0.0
    # ---- the team: one thread per group, in one parallel region for the whole call (``_team``); one group
    # runs the loop on the calling thread, without a region. A team only where a step at the prior activity is
    # estimated at twice ``par_step_ns``: the waiting threads' polling costs the working one ~2 us a step (the
    # counters' cache lines cross between the cores), which a network whose steps mostly run as one group pays
    # for nothing (chain_quiet at 0.25 % input: 5.7 -> 7.8 us on two threads; benchmarks/RESULTS.md "quiet11").
    # Without one, one group: no group arrays, cell ranges or ring copies to set up
    n_groups = max(1, min(n_threads, n_cores))
    # cores apart (no neuron's route reaches across a cut: ``free_cuts``; a Dense layer fed by graph inputs alone) run
    # as a free team: each thread steps its own cores through the whole call and meets no other thread, so only
    # the call's work need pay for the region and the ring copies (``FREE_CALL_STEPS``, ``FREE_CELL_NS``)
    free_core = np.zeros(n_groups + 1, np.int64)
    call_ns = (t_last - t_first + 1) * (n_neurons * ns_neuron + ACTIVITY_PRIOR * total_syn * ns_event)
    start_ns = par_step_ns + FREE_CELL_NS * ring.shape[0] if par_step_ns > 0 else 0.0    # (0: threads always)
    free = n_groups > 1 and split and not psums.enabled and call_ns >= FREE_CALL_STEPS * start_ns and \
        free_groups(n_groups, free_cuts(core_neuron_ptr, routes.route_ptr, routes.route_core), split_syn,
                    ACTIVITY_PRIOR, core_neuron_ptr, free_core)
    if not free and not parallel_step(n_groups, n_neurons, ACTIVITY_PRIOR * total_syn, ns_neuron, ns_event,
                                      2.0 * par_step_ns):
        n_groups = 1
    # each group's first ring cell: O(dendrites), so only where there are groups (a 1-step call runs this too)
    core_cell = core_first_cells(core_neuron_ptr, dend_ptr, dend_off, ring.shape[0]) if n_groups > 1 \
        else np.zeros(n_cores + 1, np.int64)
    # sources split among the groups (``_deliver_share``): where every projection is undelayed (a cell is read in
    # the step it is written) and no dendrite is split, each group delivers a share of the spiking sources whole
    # into a ring copy of its own, and each group folds the copies' sums into its own cells before its neurons
    # read them. No group repeats a source's lookups (split by destination, each did: Brunel's two threads ~1.4x)
    # and no two threads write near one cache line (dense's rows on one ring: 1.45x in thread_ceiling.py, 1.89x
    # with a ring per thread). Integer sums commute: the cells end equal to one thread's.
    by_source = not free and n_groups > 1 and split and all_direct and not psums.enabled
    ring_copies = np.zeros((n_groups - 1 if by_source else 0, ring.shape[0]), ring.dtype)
    src_cut = np.zeros(PIECES_PER_THREAD * n_groups + 1, np.int64)
    # counted, each group's packets in and synaptic ops per destination core too (``_deliver_share``: its own
    # packed sums and its own counter rows 0 and 5 of one step), added up by the groups over their own cores
    n_cnt = n_groups if by_source and do_count else 0
    pk_copies = np.zeros((n_cnt, n_cores), np.int64)
    cnt_copies = np.zeros((n_cnt, counters.shape[0], 1, n_cores), np.int64)
    shares = (src_cut, ring_copies, pk_copies, cnt_copies)
    params = (t_first, t_last, t_base, n_crows, buf_cap, by_source, split, direct_graded, defer, plain, ns_neuron,
              ns_event, par_step_ns, total_syn)
    # the loop's arrays (``_loop_row``): one row, the team's, or a free team's row per thread (its cores' loop
    # state, clock, spike lists, count-row buffer, group arrays, and a ring copy), each row ``ROW_PAD`` words from
    # the next, as its loop writes them every step
    n_rows = n_groups if free else 1
    n_g = 1 if free else n_groups                # the groups a row's steps are cut into
    sts = np.zeros((n_rows, ST_SIZE + ROW_PAD), np.int64)
    acts = np.full((n_rows, 1 + ROW_PAD), ACTIVITY_PRIOR)    # synaptic events per synapse copy and step (running)
    syncs = np.zeros((n_rows, SY_CLAIMS + SY_LINE * (1 + PIECES_PER_THREAD) * n_g + ROW_PAD), np.int64)
    # double-buffered spike list: step t's neurons write theirs while the groups still deliver step t-1's
    # (and each spike's synapse copies, written where they are counted: ``_cut_sources`` reads them in a row)
    lists = np.empty((6, n_rows, spiked.shape[0] + ROW_PAD), np.int64)
    # per step and projection: ring slot read at t, which is also the slot of arrival of step t-1's spikes
    # with delay 0 (``_deliver``'s ``nxt``); a delay d < L lands in slot nxt + d, less L if past the end (no
    # division per synapse or dendrite)
    slots = np.zeros((n_rows, n_proj + ROW_PAD), np.int64)
    pks = np.zeros((n_rows, n_cores + ROW_PAD), np.int64)    # a step's packets in and synaptic ops per core, packed
    bks = np.empty((n_rows, buf_cap + 2 * ROW_PAD), np.int32)
    brs = np.empty((n_rows, buf_cap + 2 * ROW_PAD), np.int32)
    # (padded per group too: two groups' blocks, on two threads, were adjacent, and a boundary line written by both
    # at every block of a step)
    blks = np.zeros((3, n_rows, n_g, BLOCK + ROW_PAD), np.int64)
    smalls = np.zeros((4, n_rows, n_g + 1 + ROW_PAD), np.int64)  # group_core, group_cell, group_fired, group_events
    rings = np.empty((n_rows if free else 0, ring.shape[0]), ring.dtype)   # (a thread touches its own cells only)
    rows = (sts, acts, syncs, lists, slots, pks, bks, brs, blks, smalls, seg_one, xform, core_cell,
            span_ends(seg_kind, seg_one, seg_ptr, dend_ptr, dend_off))
    st, act, sync, spk_lists, per_call, blocks, groups = _loop_row(0, rows)
    if free:
        for m in range(n_groups):
            sts[m, ST_CLO] = free_core[m]
            sts[m, ST_CHI] = free_core[m + 1]
            for k in range(core_cell[free_core[m]], core_cell[free_core[m + 1]]):
                rings[m, k] = ring[k]
    else:
        st[ST_CHI] = n_cores                     # every core
    if n_groups > 1:
        _launch(n_groups, free, rows, params, core_neuron_ptr, core_seg_ptr, seg_ptr, seg_kind, P, S, v_row, u_row,
                dendrites, work, rings, routes, inputs, recorder, counts, psums, shares)
    else:
        _team(np.int64(0), np.int64(1), st, act, sync, params, spk_lists,
              (core_neuron_ptr, core_seg_ptr, seg_ptr, seg_kind, P, S, v_row, u_row), dendrites, work, routes,
              inputs, recorder, counts, psums, per_call, blocks, groups, shares)
    if free:
        for m in range(n_groups):                # the cells back
            for k in range(core_cell[free_core[m]], core_cell[free_core[m + 1]]):
                ring[k] = rings[m, k]
    # the last step's list into the caller's arrays: each row's neurons' spikes in core order, then the graph
    # inputs', which every row of a free team holds (one thread's order). (Plain loops, not slice assignments: when
    # this function was parallel=True, numba (0.68) turned ``payload[:n] = ...`` into a parfor and then dropped it
    # as dead code, ``payload`` being unpacked from the ``work`` tuple and not seen as an alias of an argument: a
    # distributed rank sent wrong graded payloads)
    in_ptr = inputs.in_ptr
    row = t_last - 1 - t_base
    n_in = in_ptr[row + 1] - in_ptr[row] if n_rows > 1 and 0 <= row < in_ptr.shape[0] - 1 else 0
    n = 0
    for k in range(n_rows):
        b = 2 * sts[k, ST_PARITY]                # the last list: the double buffer's previous
        for i in range(sts[k, ST_NPREV] - n_in):
            spiked[n] = lists[b, k, i]
            payload[n] = lists[b + 1, k, i]
            n += 1
    b = 2 * sts[0, ST_PARITY]
    for i in range(sts[0, ST_NPREV] - n_in, sts[0, ST_NPREV]):    # (a free team: the inputs', once)
        spiked[n] = lists[b, 0, i]
        payload[n] = lists[b + 1, 0, i]
        n += 1
    return n


#: A free team (``run_steps``) where a call's estimated work at the prior activity is at least this many times what
#: starting it costs, once a call (a team's meetings cost every step): a region, ``par_step_ns``, and the ring cells
#: copied in and out, ``FREE_CELL_NS`` a cell (an estimate: a closed loop's one-step calls of a large network keep
#: the team).
FREE_CALL_STEPS = 10
FREE_CELL_NS = 1.0
#: A free team (``free_groups``) only where no group's estimated work exceeds an even share by more than this: the
#: team's per-step cut keeps an uneven network's threads busy, at one meeting a step.
FREE_IMBALANCE = 1.25


@njit(cache=True)
def free_cuts(core_neuron_ptr, route_ptr, route_core):
    """bool [n_cores + 1]: whether cut c leaves the cores below it and those from it on apart, no neuron's route
    reaching from one side to the other (graph inputs reach any core: their spikes are known to every thread). A
    source's routes are sorted by core (``run_steps``' ``split``), so its first and last route bound where it
    reaches. O(neurons + cores)."""
    n_cores = core_neuron_ptr.shape[0] - 1
    lo = np.empty(n_cores, np.int64)             # the lowest and highest core reached from core c (itself at least)
    hi = np.empty(n_cores, np.int64)
    for c in range(n_cores):
        a = c
        b = c
        for j in range(core_neuron_ptr[c], core_neuron_ptr[c + 1]):
            if route_ptr[j + 1] > route_ptr[j]:
                a = min(a, np.int64(route_core[route_ptr[j]]))
                b = max(b, np.int64(route_core[route_ptr[j + 1] - 1]))
        lo[c] = a
        hi[c] = b
    ok = np.ones(n_cores + 1, np.bool_)
    reach = -1                                   # nothing below c reaches c or above
    for c in range(n_cores):
        reach = max(reach, hi[c])
        ok[c + 1] = reach < c + 1
    reach = n_cores                              # nothing from c on reaches below c
    for c in range(n_cores - 1, -1, -1):
        reach = min(reach, lo[c])
        ok[c] = ok[c] and reach >= c
    return ok


@njit(cache=True)
def free_groups(n_groups, ok, split_syn, activity, core_neuron_ptr, group_core):
    """Cut the cores into ``n_groups`` groups apart (``ok``: ``free_cuts``), each cut the free one nearest to the
    balanced one at ``activity`` (``step_groups``' or the core before it, whichever leaves the groups more even),
    into ``group_core``; False where the cuts are too few or a group's estimated work exceeds ``FREE_IMBALANCE``
    even shares."""
    n_cores = core_neuron_ptr.shape[0] - 1
    step_groups(n_groups, split_syn, activity, core_neuron_ptr, np.zeros(n_cores + 1, np.int64), group_core,
                np.zeros(n_groups, np.int64))
    w_syn = activity if split_syn.shape[0] == n_cores + 1 else 0.0
    total = _work_below(n_cores, core_neuron_ptr, split_syn, w_syn)
    for g in range(1, n_groups):
        target = group_core[g]
        # the cut nearer an even share of the two around it (``step_groups`` takes the first core whose work
        # before it reaches the share, a team's cut each step: dense 1k x 1k's 512 / 488 neurons, here 496 / 504)
        share = total * g / n_groups
        if target - 1 > group_core[g - 1] and abs(_work_below(target - 1, core_neuron_ptr, split_syn, w_syn) - share) \
                < abs(_work_below(target, core_neuron_ptr, split_syn, w_syn) - share):
            target -= 1
        lo = group_core[g - 1] + 1               # cuts increase, and leave a core to each group after g
        hi = n_cores - (n_groups - g)
        k = -1
        for d in range(n_cores + 1):
            if lo <= target - d <= hi and ok[target - d]:
                k = target - d
            elif lo <= target + d <= hi and ok[target + d]:
                k = target + d
            if k >= 0:
                break
        if k < 0:
            return False
        group_core[g] = k
    for g in range(n_groups):
        work = _work_below(group_core[g + 1], core_neuron_ptr, split_syn, w_syn) - \
            _work_below(group_core[g], core_neuron_ptr, split_syn, w_syn)
        if work > FREE_IMBALANCE * total / n_groups:
            return False
    return True


@njit(cache=True, inline="always")
def _loop_row(k, rows):
    """Row ``k`` of ``run_steps``' loop arrays: ``(st, act, sync, spk_lists, per_call, blocks, groups)``, each an
    array's first entries (the rest pads it from the next row)."""
    sts, acts, syncs, lists, slots, pks, bks, brs, blks, smalls, seg_one, xform, core_cell, seg_span = rows
    n_src = lists.shape[2] - ROW_PAD
    n_g = blks.shape[2]
    cap = bks.shape[1] - 2 * ROW_PAD
    spk_lists = (lists[0, k, :n_src], lists[1, k, :n_src], lists[2, k, :n_src], lists[3, k, :n_src],
                 lists[4, k, :n_src], lists[5, k, :n_src])
    per_call = (seg_one, xform, slots[k, :slots.shape[1] - ROW_PAD], pks[k, :pks.shape[1] - ROW_PAD], bks[k, :cap],
                brs[k, :cap], seg_span)
    blocks = (blks[0, k], blks[1, k], blks[2, k])
    groups = (smalls[0, k, :n_g + 1], smalls[1, k, :n_g], core_cell, smalls[2, k, :n_g], smalls[3, k, :n_g])
    return sts[k, :ST_SIZE], acts[k, :1], syncs[k], spk_lists, per_call, blocks, groups


@njit(cache=True, parallel=True)
def _launch(n_members, free, rows, params, core_neuron_ptr, core_seg_ptr, seg_ptr, seg_kind, P, S, v_row, u_row,
            dendrites, work, rings, routes, inputs, recorder, counts, psums, shares):
    """The team's one parallel region (``run_steps``): ``n_members`` threads, each running ``_team`` on the team's
    loop arrays (``rows``' row 0, ``_loop_row``), or, a free team (``free``), each the whole loop of its own cores
    on its own row and ring copy (``rings[m]``), as one group runs it on the calling thread. A function of its own
    so that ``run_steps``' set-up compiles without ``parallel=True``, which turns every array expression and
    allocation there into a parfor of its own (no faster to compile, 53-56 s cold in all, but no parfor semantics
    in the set-up: benchmarks/RESULTS.md "quiet11"); one for both teams (a second region cost ~18 s of compiling).
    The neuron arrays come one by one and are bundled in the loop: numba 0.68 cannot pass a parfor a tuple that
    holds tuples, as ``NeuronArrays`` holds P and S."""
    for m in prange(n_members):
        st, act, sync, spk_lists, per_call, blocks, groups = _loop_row(np.int64(m) if free else np.int64(0), rows)
        neurons = (core_neuron_ptr, core_seg_ptr, seg_ptr, seg_kind, P, S, v_row, u_row)
        if free:
            own = WorkArrays(rings[m], work.scratch, work.sflag, work.touched_idx, work.touched_proj,
                             work.touched_delay, work.payload)
            _team(np.int64(0), np.int64(1), st, act, sync, params, spk_lists, neurons, dendrites, own, routes, inputs,
                  recorder, counts, psums, per_call, blocks, groups, shares)
        else:
            _team(np.int64(m), n_members, st, act, sync, params, spk_lists, neurons, dendrites, work, routes, inputs,
                  recorder, counts, psums, per_call, blocks, groups, shares)


#: ``run_steps``' state between two steps (int64 ``st``), written by ``_advance`` before it publishes a step;
#: ``ST_CLO``/``ST_CHI``: the cores the loop steps (all of them, but for a thread of a free team: its own).
ST_T, ST_ROW, ST_LAST, ST_FLUSH, ST_NBUF, ST_NPREV, ST_PREV_EVENTS, ST_PARITY, ST_NUSE, ST_SHARE, ST_STOP, \
    ST_TARGET_A, ST_TARGET_B, ST_PIECES, ST_CLO, ST_CHI = range(16)
ST_SIZE = 16
#: The team's counters (int64 ``sync``), each on a cache line of its own (SY_LINE int64): steps published (the
#: team's clock, 1 at the first), the pieces of phase A (by-source delivery) and tasks of phase B (groups) done
#: since the call began; then one claim word per group task and per piece, ``SY_CLAIMS + SY_LINE * task`` and
#: ``SY_CLAIMS + SY_LINE * (n_groups + piece)``: 2g while it is open in published step g, 2g + 1 once a thread has
#: claimed it.
SY_LINE = 8
SY_GEN, SY_DONE_A, SY_DONE_B = 0, SY_LINE, 2 * SY_LINE
SY_CLAIMS = 3 * SY_LINE
#: The padding after each thread's row of ``run_steps``' loop arrays, in elements (512 bytes of int64; the int32
#: count-row buffers get twice as many): a cache line (8) kept two threads' rows off each other's lines, yet dense
#: 1k x 1k's free team ran its two threads closer to their speed alone with 64 (benchmarks/RESULTS.md "quiet19");
#: presumably the hardware prefetchers of a thread writing up to its row's end fetched the next lines, which the
#: other thread writes every step.
ROW_PAD = 64


@njit(cache=True, inline="always")
def _ordered_lists(spk_lists, parity):
    """(previous spikes, their payloads, this step's spikes, payloads, the previous spikes' synapse copies, this
    step's): the double buffer at ``parity``."""
    a, pa, b, pb, ca, cb = spk_lists
    if parity == 0:
        return (a, pa, b, pb, ca, cb)
    return (b, pb, a, pa, cb, ca)


@njit(cache=True, inline="always")
def _advance(first, n_members, st, act, sync, params, spk_lists, core_neuron_ptr, dendrites, work, routes, inputs,
             counts, psums, per_call, groups, shares):
    """The serial part of ``run_steps``' loop, run by one thread between two steps (the team's last to finish
    one: ``_team``): step t's spike list (the groups' slices compacted in core order, the graph inputs after),
    its source counts and count-row buffer, the activity estimate; then step t+1's setup (``first``: step
    ``t_first``'s alone): its ring slots, a delivery that is not split (as one group), its groups and whether
    they run, the by-source cut, and the tasks of the step opened for claiming. Sets ``ST_STOP`` past the end."""
    t_first, t_last, t_base, n_crows, buf_cap, by_source, split, direct_graded, defer = params[:9]
    ns_neuron, ns_event, par_step_ns, total_syn = params[10:]
    proj_len = dendrites.proj_len
    all_direct = dendrites.all_direct
    route_ptr, route_syn_ptr, count_row, split_syn = routes.route_ptr, routes.route_syn_ptr, routes.count_row, \
        routes.split_syn
    neuron_core = routes.neuron_core
    in_ptr, in_src, in_val = inputs
    do_count, counters, src_spikes = counts
    seg_one, xform, slot, pk_syn, buf_k, buf_row = per_call[:6]
    group_core, group_cell, core_cell, group_fired, group_events = groups
    src_cut = shares[0]
    n_cores = core_neuron_ptr.shape[0] - 1
    n_neurons = core_neuron_ptr[n_cores]
    n_buf = st[ST_NBUF]
    if first:                                    # (``_team``'s variable: this code is inlined there once)
        t = t_first
    else:                                        # ---- the end of step t
        t = st[ST_T]
        if st[ST_FLUSH]:
            n_buf = 0
            st[ST_NBUF] = 0
        if st[ST_LAST]:
            st[ST_STOP] = 1
            return
        row = st[ST_ROW]
        n_use = st[ST_NUSE]
        lists = _ordered_lists(spk_lists, st[ST_PARITY])
        cur_spk, cur_pay, cur_cps = lists[2], lists[3], lists[5]
        # the spike list of step t: the groups' slices compacted in core order (one thread's order)
        n_spk = 0
        step_events = 0
        for gi in range(n_use):
            g0 = core_neuron_ptr[group_core[gi]]
            for i in range(group_fired[gi]):     # n_spk <= g0 + i: moving left never overwrites an unread entry
                cur_spk[n_spk] = cur_spk[g0 + i]
                cur_pay[n_spk] = cur_pay[g0 + i]
                cur_cps[n_spk] = cur_cps[g0 + i]
                n_spk += 1
            step_events += group_events[gi]
        n_own = n_spk
        # graph-input channels firing this step, with the synapse copies each reaches where a team's estimates and
        # cut read them (``parallel_step``, ``_cut_sources``): one thread, or a free team's, never splits a step,
        # and the two route lookups an input were ~0.6 us of dense 1k x 1k's ~10 us step (its 100 inputs a step;
        # cycle counters, unscripted)
        if row < in_ptr.shape[0] - 1:
            e0 = in_ptr[row]
            e1 = in_ptr[row + 1]
            for e in range(e0, e1):
                cur_spk[n_spk + e - e0] = in_src[e]
                cur_pay[n_spk + e - e0] = in_val[e]
            if n_members > 1:
                for e in range(e0, e1):
                    c = _source_copies(in_src[e], route_ptr, route_syn_ptr)
                    cur_cps[n_spk + e - e0] = c
                    step_events += c
            n_spk += e1 - e0
        # what the sources send: counted once, not per group (a free team's thread counts its own neurons, and
        # the one with core 0 the graph inputs too: every thread's list holds them)
        n_counted = n_spk if st[ST_CLO] == 0 else n_own
        if do_count and n_counted:
            _count_sources(row, cur_spk, n_counted, n_neurons, route_ptr, neuron_core, counters, src_spikes)
        if defer:                                # what they receive, for the sources with a count row
            for i in range(n_spk):
                k = count_row[cur_spk[i]]
                if k >= 0:
                    if n_buf == buf_cap:         # never, by the flush rule below (a source sends once a step);
                        _flush_rows(buf_k, buf_row, n_buf, st[ST_CLO], st[ST_CHI], routes.count_syn, counters,
                                    pk_syn)
                        n_buf = 0                # kept so that no write can overrun the buffer
                    buf_k[n_buf] = k
                    buf_row[n_buf] = row
                    n_buf += 1
        if total_syn > 0:
            act[0] += ACTIVITY_GAIN * (step_events / total_syn - act[0])
        st[ST_PARITY] ^= 1
        st[ST_NPREV] = n_spk
        st[ST_PREV_EVENTS] = step_events
        st[ST_NBUF] = n_buf
        t += 1
    # ---- the setup of step t (t_last + 1: phase 3 of t_last alone: the rings then hold every spike sent when the
    # call returns)
    row = t - 1 - t_base
    last = t > t_last
    n_prev = st[ST_NPREV]
    if last and n_prev == 0 and n_buf == 0:
        st[ST_STOP] = 1
        return
    flush = n_buf > 0 and (last or n_buf > buf_cap - n_crows)  # the next step's spikes might not fit
    if 0 <= row < in_ptr.shape[0] - 1 and in_ptr[row + 1] > in_ptr[row]:   # the inputs this step's end reads,
        e1 = in_ptr[row + 1] - 1                 # on their way meanwhile (every line: the last entry's too): read
        for e in range(in_ptr[row], e1 + 8, 8):  # cold, dense 1k x 1k's 100 a step took ~0.6 us (cycle counters,
            _prefetch(in_src, min(e, e1))        # unscripted)
            _prefetch(in_val, min(e, e1))
    if not all_direct:
        for p in range(proj_len.shape[0]):
            slot[p] = t % proj_len[p]            # == the slot of arrival for step t-1's delay 0 (its ``nxt``)
    lists = _ordered_lists(spk_lists, st[ST_PARITY])
    prev_spk, prev_pay = lists[0], lists[1]
    if n_prev and not split:                     # phase 3 of t-1 as one group (cells of other cores written)
        _deliver_call(t - 1, row - 1, prev_spk, prev_pay, n_prev, np.int64(0), n_cores, np.int64(0),
                      work.ring.shape[0], np.bool_(True), dendrites, work, routes, counts, psums, direct_graded, slot,
                      pk_syn, defer)          # (no literal argument: a call typed as a group's, one compiled copy)
    n_use = n_members if parallel_step(n_members, n_neurons, st[ST_PREV_EVENTS], ns_neuron, ns_event,
                                       par_step_ns) else 1
    share = by_source and n_use > 1 and n_prev > 0   # phase 3 of t-1 by sources, each group into its own ring
    # copy; then by cores, without a delivery: the groups' cores then cut by their neurons alone
    if n_use == 1:                               # one group: every core the loop steps
        group_core[0] = st[ST_CLO]
        group_core[1] = st[ST_CHI]
        group_cell[0] = core_cell[st[ST_CLO]]
    else:
        step_groups(n_use, split_syn if split and not share else split_syn[:0], act[0], core_neuron_ptr, core_cell,
                    group_core, group_cell)
    n_pieces = min(PIECES_PER_THREAD * n_use, n_prev) if share else 0
    if share:
        _cut_sources(lists[4], n_prev, st[ST_PREV_EVENTS], n_pieces, n_use, src_cut)
    st[ST_T] = t
    st[ST_ROW] = row
    st[ST_LAST] = last
    st[ST_FLUSH] = flush
    st[ST_NUSE] = n_use
    st[ST_SHARE] = share
    st[ST_PIECES] = n_pieces
    # the step's pieces and tasks, open for claiming at the team's next clock value (published by the caller's
    # atomic add)
    g = atomic_load(sync, SY_GEN) + 1
    n_groups = group_fired.shape[0]
    for p in range(n_pieces):
        atomic_store(sync, SY_CLAIMS + SY_LINE * (n_groups + p), 2 * g)
    st[ST_TARGET_A] += n_pieces
    for k in range(n_use):
        atomic_store(sync, SY_CLAIMS + SY_LINE * k, 2 * g)
        st[ST_TARGET_B] += 1


@njit(cache=True)
def _cut_sources(cps, n, copies, n_pieces, n_runs, cut):
    """``cut[:n_pieces + 1]``: the ``n`` spiking sources (reaching ``cps[:n]`` synapse copies each, ``copies`` in
    all) cut into ``n_pieces`` consecutive pieces by work, a source's synapse copies plus ``SOURCE_WORK`` (its
    lookups). ``PIECES_PER_THREAD`` pieces for each of ``n_runs`` threads (``_claim_next``'s runs): each run an
    equal share, its pieces halving in work (8/15, 4/15, 2/15, 1/15 of it), so that a thread's first piece is its
    largest and the pieces another thread takes from the back are the smallest (guided self-scheduling: chain_busy's
    thread that waited for a piece taken from it idled ~10 us a step in phase A, now ~3.4; Brunel's two 4.1-5.6 us
    in all, now 3.1; cycle counters, unscripted). Fewer pieces (few spikes): equal pieces. The copies come with the
    spike list, counted where the spikes were made: looked up here, each spike's two route pointers were ~0.6-1 us
    of Brunel's serial ~1.2 us a step. A count cut left dense's shares one thread's work (its neurons' spikes, which
    reach nothing, come first in the list and its 100 input rows of 1000 copies after)."""
    total = copies + SOURCE_WORK * n
    halving = n_runs > 0 and n_runs * PIECES_PER_THREAD == n_pieces
    cut[0] = 0
    gi = 1
    target = _piece_start(gi, n_pieces, n_runs, halving, total)
    acc = 0
    for q in range(n):
        while gi < n_pieces and acc >= target:
            cut[gi] = q
            gi += 1
            target = _piece_start(gi, n_pieces, n_runs, halving, total)
        acc += SOURCE_WORK + cps[q]
    while gi <= n_pieces:
        cut[gi] = n
        gi += 1


@njit(cache=True, inline="always")
def _piece_start(gi, n_pieces, n_runs, halving, total):
    """The work before piece ``gi`` (``_cut_sources``): in run m of ``n_runs`` equal runs, piece i starts after
    1 - 2^-i of the run's share (in ``PIECES_PER_THREAD`` halving pieces, out of 2^P - 1 parts); else after gi
    equal pieces."""
    if not halving:
        return total * gi / n_pieces
    m = gi // PIECES_PER_THREAD
    i = gi % PIECES_PER_THREAD
    full = (1 << PIECES_PER_THREAD) - 1
    return total * (m + (full - ((1 << (PIECES_PER_THREAD - i)) - 1)) / full) / n_runs


@njit(cache=True, _nrt=False)
def _team(member, n_members, st, act, sync, params, spk_lists, neurons, dendrites, work, routes, inputs, recorder,
          counts, psums, per_call, blocks, groups, shares):
    """One thread of ``run_steps``' team (``member`` of ``n_members``), for the whole call: at each step the team
    publishes (``SY_GEN``), the pieces of the by-source delivery (phase A, ``_claim_pieces``) if the step has them,
    then, once all are done, the groups' steps (phase B, ``_task``); the thread that finishes the step's last group
    runs ``_advance`` and publishes the next step. No fork or join per step: the threads meet at atomic counters
    (``threadsync``), ~0.1 us, against ~1.5 us for a parallel region (benchmarks/RESULTS.md "quiet11").

    Work is claimed, never assigned: a thread claims its own group's task first (its cells stay in its cache),
    then any task still open, at once if it had one of its own, else after ``threadsync.YIELD_AFTER`` spins (a
    thread whose partner was descheduled takes its work); phase A's pieces likewise, all claimable at once. No
    thread ever waits on work nobody holds, so the team finishes whatever numba's scheduler does with its threads,
    even one thread running every member in turn. Member 0 sets up and publishes the call's first step (the others
    wait for it as for any step)."""
    first = np.int64(1) if member == 0 else np.int64(0)     # member 0 sets up and publishes the call's first step
    advance = member == 0
    seen = np.int64(0)
    while True:
        if advance:                              # (one call site: ``_advance`` and ``_step_group`` are inlined
            # into this loop, once each, not called: a call passing their ~100 arrays was ~0.3 us a step)
            _advance(first, n_members, st, act, sync, params, spk_lists, neurons[0], dendrites, work, routes,
                     inputs, counts, psums, per_call, groups, shares)
            atomic_add(sync, SY_GEN, 1)          # publish it (the state above first: release)
            if st[ST_STOP]:
                return
            first = np.int64(0)
        g = wait_for(sync, SY_GEN, seen + 1)     # the next step published (or a later one: this thread was away)
        seen = g
        if st[ST_STOP]:
            return
        n_use = st[ST_NUSE]
        if st[ST_SHARE]:                         # phase A, then wait until every piece is in
            _claim_pieces(member, n_members, g, st, sync, params, spk_lists, dendrites, work, routes, counts, psums,
                          per_call, shares)
        advance = _claim_tasks(member, n_use, g, st[ST_TARGET_B], sync, st, params, spk_lists, neurons, dendrites,
                               work, routes, recorder, counts, psums, per_call, blocks, groups, shares)


@njit(cache=True, inline="always")
def _claim_next(sync, base, g, member, n_members, n_items):
    """Claim an item still open in published step ``g`` (its word ``base + SY_LINE * item``: 2g while open, 2g + 1
    once claimed) and return it, or -1 where none is. Member m's own items are the m-th of ``n_members`` equal
    runs (consecutive sources: what it reads follows on, and each step's split is about the same), taken front to
    back; then the others' still open, back to front (their owner meets it in the middle). (The groups' tasks are
    claimed by a loop of their own, ``_claim_tasks``: through this function, chain_busy's two threads took 4-6 us
    a step longer, 95-99 -> 99-108 us, A/B unscripted; not found why.)"""
    for j in range(n_members):
        o = (member + j) % n_members
        lo = (o * n_items + n_members - 1) // n_members
        hi = ((o + 1) * n_items + n_members - 1) // n_members
        for i in range(hi - lo):
            p = lo + i if j == 0 else hi - 1 - i
            w = base + SY_LINE * p
            if atomic_load(sync, w) == 2 * g and compare_swap(sync, w, 2 * g, 2 * g + 1):
                return p
    return -1


@njit(cache=True, _nrt=False)
def _claim_pieces(member, n_members, g, st, sync, params, spk_lists, dendrites, work, routes, counts, psums,
                  per_call, shares):
    """Phase A of published step ``g`` (``_team``): deliver pieces of the by-source delivery (``_deliver_share``,
    into this thread's ring copy), its own first, then the others' still open (``_claim_next``), then wait until
    all are done."""
    direct_graded, defer = params[7], params[8]
    lists = _ordered_lists(spk_lists, st[ST_PARITY])
    base = SY_CLAIMS + SY_LINE * n_members        # (after the groups' words: a group a member)
    done = 0
    while True:
        p = _claim_next(sync, base, g, member, n_members, st[ST_PIECES])
        if p < 0:
            break
        _deliver_share(member, p, st[ST_T], shares, lists[0], lists[1], dendrites, work, routes, counts, psums,
                       direct_graded, per_call[2], defer)
        done += 1
    if done:                                     # one add for all: every piece it claimed is in
        atomic_add(sync, SY_DONE_A, done)
    wait_for(sync, SY_DONE_A, st[ST_TARGET_A])


@njit(cache=True, inline="always")
def _claim_tasks(member, n_use, g, target, sync, st, params, spk_lists, neurons, dendrites, work, routes, recorder,
                 counts, psums, per_call, blocks, groups, shares):
    """Claim and run the group tasks ``0..n_use-1`` of published step ``g`` (``_team``) until their done counter
    reaches ``target``; returns whether this thread finished the step's last task."""
    done_at = SY_DONE_B
    base = SY_CLAIMS
    last = False
    eager = member < n_use                       # its own task first
    k = member if eager and compare_swap(sync, base + SY_LINE * member, 2 * g, 2 * g + 1) else -1
    n = 0
    while True:
        if k >= 0:                               # (one call site: the task is inlined once)
            _task(k, st, params, spk_lists, neurons, dendrites, work, routes, recorder, counts, psums, per_call,
                  blocks, groups, shares)
            last = atomic_add(sync, done_at, 1) + 1 == target
            k = -1
        if atomic_load(sync, done_at) >= target:
            return last
        if eager or n >= YIELD_AFTER:            # then any task still open
            for j in range(n_use):
                w = base + SY_LINE * j
                if atomic_load(sync, w) == 2 * g and compare_swap(sync, w, 2 * g, 2 * g + 1):
                    k = j
                    break
        if k < 0:
            n = spin(n)


@njit(cache=True, inline="always")
def _task(gi, st, params, spk_lists, neurons, dendrites, work, routes, recorder, counts, psums, per_call, blocks,
          groups, shares):
    """Task ``gi`` of a step: group gi's step (the ring copies' and counts' sums into its cells first where the step
    shared its delivery by sources, then ``_step_group``)."""
    split, direct_graded, defer, plain = params[6:10]
    ring_copies, pk_copies, cnt_copies = shares[1:]
    group_core, group_cell, core_cell = groups[:3]
    t = st[ST_T]
    row = st[ST_ROW]
    share = st[ST_SHARE] != 0
    n_prev = st[ST_NPREV]
    lists = _ordered_lists(spk_lists, st[ST_PARITY])
    if share:                                    # the ring copies' sums into the group's own cells (every
        # member's: any may have delivered a piece), and counted, the members' counts into its own cores' (t-1)
        _fold_copies(work.ring, ring_copies, ring_copies.shape[0], group_cell[gi], core_cell[group_core[gi + 1]])
        if pk_copies.shape[0]:
            _fold_counts(counts[1], row - 1, cnt_copies, cnt_copies.shape[0], group_core[gi], group_core[gi + 1])
    _step_group(gi, t, row, st[ST_LAST] != 0, st[ST_FLUSH] != 0, st[ST_NBUF], 0 if share else n_prev, split,
                defer, plain, direct_graded, neurons, dendrites, work, routes, recorder, counts, psums, per_call,
                lists, blocks, groups)


@njit(cache=True, inline="always")
def _deliver_share(member, piece, t, shares, prev_spk, prev_pay, dendrites, work, routes, counts, psums,
                   direct_graded, slot, defer):
    """Piece ``piece`` of phase 3 of step t-1 by sources (``run_steps``' ``by_source``), delivered by team member
    ``member`` (``_claim_pieces``): the spiking sources ``src_cut[piece]..src_cut[piece+1]`` delivered whole, every
    route, into the member's ring (member 0: the state's own ring, member m > 0: ``ring_copies[m - 1]``), and
    counted, into its own packed sums ``pk_copies[member]`` and counter rows ``cnt_copies[member]``
    (``_fold_counts``; a source with a count row is counted by ``_flush_rows`` as on one thread). Only for
    undelayed runs without split dendrites: no slot, scratch or partial-sum mark is written. Through
    ``_deliver_call``, with the same argument types as a group's delivery: one compiled copy of ``_deliver``."""
    src_cut, ring_copies, pk_copies, cnt_copies = shares
    qa = src_cut[piece]
    qb = src_cut[piece + 1]
    ring = work.ring if member == 0 else ring_copies[member - 1]
    own = WorkArrays(ring, work.scratch, work.sflag, work.touched_idx, work.touched_proj, work.touched_delay,
                     work.payload)
    do_count = pk_copies.shape[0] > 0
    pk = pk_copies[member] if do_count else pk_copies.reshape(-1)          # (uncounted: empty, never read)
    cnt = cnt_copies[member] if do_count else counts[1]
    _deliver_call(t - 1, np.int64(0), prev_spk[qa:qb], prev_pay[qa:qb], qb - qa, np.int64(0),
                  routes.split_syn.shape[0] - 1, np.int64(0), ring.shape[0], np.bool_(True), dendrites, own, routes,
                  Counters(do_count, cnt, counts.per_source), psums, direct_graded, slot, pk, defer)


@njit(cache=True, inline="always")
def _fold_counts(counters, row, cnt_copies, n, c_lo, c_hi):
    """The packets in and synaptic ops (counter rows 0 and 5) the ``n`` groups counted for cores ``c_lo..c_hi-1``
    (``_deliver_share``) added into step row ``row`` and zeroed."""
    for e in range(n):
        for k in (0, 5):
            for c in range(c_lo, c_hi):
                counters[k, row, c] += cnt_copies[e, k, 0, c]
                cnt_copies[e, k, 0, c] = 0


@njit(cache=True, inline="always")
def _fold_copies(ring, ring_copies, n, c0, c1):
    """Cells ``c0..c1-1`` of the first ``n`` ring copies added into ``ring`` and zeroed (``_deliver_share``)."""
    for e in range(n):
        cp = ring_copies[e]
        for k in range(c0, c1):
            ring[_u(k)] += cp[_u(k)]
            cp[_u(k)] = 0


@njit(cache=True, inline="always")
def _step_group(gi, t, row, last, flush, n_buf, n_prev, split, defer, plain, direct_graded, neurons,
                dendrites, work, routes, recorder, counts, psums, per_call, lists, blocks, groups):
    """Group ``gi``'s share of one step of ``run_steps`` (read it there): the buffered count rows over its cores,
    phase 3 of step t-1 into its cells (split delivery), then phase 1+2 of its cores' neurons at t, their spikes
    into its slice of ``cur_spk``; ``group_fired[gi]``/``group_events[gi]``: how many, and the synapse copies they
    reach. A task of ``run_steps``' team (``_task``), inlined into ``_team``'s loop at its one call site: a call
    passes each of its ~100 arrays as some 7-9 words (~1.4 ns an array, ~0.15 us a step and group; with numba's
    reference counting, an atomic increment and decrement per array besides, ~1-1.5 us). ``per_call``,
    ``lists``, ``blocks``, ``groups``: ``run_steps``' arrays, bundled (CPython compiles a call of 30 or more
    arguments as one of ``*args``)."""
    core_neuron_ptr, core_seg_ptr, seg_ptr, seg_kind, P, S, v_row, u_row = neurons
    dend_ptr, dend_mid, dend_proj, dend_off = dendrites[:4]
    proj_exp, proj_xf, all_direct = dendrites.proj_exp, dendrites.proj_xf, dendrites.all_direct
    ring = work.ring
    route_ptr, route_syn_ptr, count_syn = routes.route_ptr, routes.route_syn_ptr, routes.count_syn
    neuron_core = routes.neuron_core
    rec_col, rec_spk, rec_v, rec_u, rec_pay, do_spk, do_v, do_u, do_pay, rec_st, st_row = recorder
    n_extra = rec_st.shape[0]
    rec_state = do_pay or do_v or do_u or n_extra > 0
    do_count, counters = counts[:2]
    seg_one, xform, slot, pk_syn, buf_k, buf_row, seg_span = per_call
    prev_spk, prev_pay, cur_spk, cur_pay = lists[:4]
    cur_cps = lists[5]
    blk_a, blk_b, blk_o = blocks
    group_core, group_cell, core_cell, group_fired, group_events = groups
    c_lo = group_core[gi]
    c_hi = group_core[gi + 1]
    if flush:                              # the buffered count rows over the group's cores
        _flush_rows(buf_k, buf_row, n_buf, c_lo, c_hi, count_syn, counters, pk_syn)
    if n_prev and split:                   # (every route where the group is every core)
        _deliver_call(t - 1, row - 1, prev_spk, prev_pay, n_prev, c_lo, c_hi, group_cell[gi], core_cell[c_hi],
                      c_lo == 0 and c_hi == core_neuron_ptr.shape[0] - 1, dendrites, work, routes, counts, psums,
                      direct_graded, slot, pk_syn, defer)
    base = core_neuron_ptr[c_lo]           # the group's spikes from here on, in core order
    Ag = blk_a[gi]                         # the group's block scratch: inputs, payloads
    Bg = blk_b[gi]
    Og = blk_o[gi]
    fired = 0
    events = 0
    # the group's segments as one span, consecutive segments of one model (and input path) stepped together, so
    # blocks run across cores (54 cores of ~28 neurons: ~30 ns a core of vector loop remainders, chain_quiet's 1500
    # neurons ~1.6 us a step, were spent so); counted, each block's counts go to the cores it overlaps
    c_cnt = c_lo                               # the core of the block's first neuron (counted runs)
    g = core_seg_ptr[c_lo]
    g_end = core_seg_ptr[c_hi] if not last else g
    while g < g_end:
        kd = seg_kind[g]                   # one model per span: its rows are looked up once
        Pk = P[kd]
        Sk = S[kd]
        n_rows = Sk.shape[0]
        vr = v_row[kd]
        ur = u_row[kd]
        one = seg_one[g] if all_direct else -1       # the projection of one-cell reads (-1: none)
        h = min(seg_span[g], g_end)        # the span: segments g..h-1 (``span_ends``)
        j_lo = seg_ptr[g]
        j_hi = seg_ptr[h]
        g = h
        # in blocks of BLOCK neurons: (1) their inputs into A/B, (2) the model's step over the block
        # (``neuron_steps``: one loop, vectorized where the model allows), (3) their spikes, recording
        # and activity; a neuron's own cells only, so the order of the steps is one neuron's as before
        for j0 in range(j_lo, j_hi, BLOCK):
            m = min(BLOCK, j_hi - j0)
            if one >= 0:                     # one channel-0 cell per neuron, in neuron order
                k0 = dend_off[dend_ptr[j0]]
                e = proj_exp[one]
                if not xform[one]:
                    for i in range(m):
                        Ag[i] = _wrap32(ring[_u(k0 + i)])
                        ring[_u(k0 + i)] = 0
                        Bg[i] = 0
                elif proj_xf[one] == XF_SHIFT and e < 0:   # weight_exp < 0: a floor shift, as one vector
                    for i in range(m):
                        Ag[i] = _wrap32(np.int64(ring[_u(k0 + i)]) >> -e)
                        ring[_u(k0 + i)] = 0
                        Bg[i] = 0
                else:
                    for i in range(m):
                        Ag[i] = _wrap32(_transform(ring[_u(k0 + i)], e, proj_xf[one]))
                        ring[_u(k0 + i)] = 0
                        Bg[i] = 0
            else:
                for i in range(m):
                    # input channel 0 (every model), then channel 1 (two-input models), each an int32
                    # sum; written out here: an inline helper for the two sums made Brunel 2x slower
                    j = j0 + i
                    mid = dend_mid[j]
                    a = np.int64(0)
                    b = np.int64(0)
                    if plain:                # one ring cell per dendrite, raw sum = input
                        for k in range(dend_ptr[j], mid):
                            a += ring[_u(k)]
                            ring[_u(k)] = 0
                        for k in range(mid, dend_ptr[j + 1]):
                            b += ring[_u(k)]
                            ring[_u(k)] = 0
                    else:
                        for k in range(dend_ptr[j], dend_ptr[j + 1]):
                            pk = dend_proj[k]
                            idx = _u(dend_off[k] + slot[pk])
                            x = ring[idx]
                            ring[idx] = 0
                            if xform[pk]:    # the transform of 0 is 0: no test on x
                                x = _transform(x, proj_exp[pk], proj_xf[pk])
                            if k < mid:
                                a += x
                            else:
                                b += x
                    Ag[i] = _wrap32(a)
                    Bg[i] = _wrap32(b)
            neuron_steps(kd, j0, m, Ag, Bg, Pk, Sk, Og)   # the model's step (generated dispatch)
            sent = np.int64(0)               # a block sends nothing on most steps of a quiet net: one
            for i in range(m):               # vector OR, not a test per neuron, tells
                sent |= Og[i]
            if sent != 0:                    # the senders, 64 neurons at a time: a bit mask of them (a vector
                for c0 in range(0, m, 64):   # compare), walked by its lowest bit: no test and branch per neuron,
                    mask = np.uint64(0)      # mispredicted at each spike (a quiet net's 1.6 % firing puts one
                    for i in range(c0, min(c0 + 64, m)):          # in most blocks of 128)
                        mask |= np.uint64(Og[_u(i)] != 0) << np.uint64(i - c0)
                    while mask != 0:
                        i = c0 + np.int64(trailing_zeros(mask))
                        mask &= mask - np.uint64(1)
                        j = j0 + i
                        # the copies it reaches: the next step's estimate (``parallel_step``, ``step_groups``) and
                        # cut (``_cut_sources``); loaded on one thread too, where only the next step's delivery
                        # reads them: skipped, the loads moved there and Brunel's step took 3-5 % longer (A/B,
                        # unscripted)
                        c = _source_copies(j, route_ptr, route_syn_ptr)
                        cur_spk[base + fired] = j
                        cur_pay[base + fired] = Og[i]
                        cur_cps[base + fired] = c
                        fired += 1
                        events += c
                        # spikes recorded as the 1s only, O(spikes) (the array comes zeroed): a group writing
                        # every byte of its neurons' columns shared each cache line with the other group where a
                        # mapping interleaves them (Brunel, 2 threads: 0.7x one thread); a test per neuron cost a
                        # spikes-only recording ~10 us of Brunel's ~100 us step
                        if do_spk:
                            col = rec_col[j]
                            if col >= 0:
                                rec_spk[row, col] = 1
                        if do_count:
                            counters[3, row, neuron_core[j]] += 1
            if rec_state:                    # (spikes: above, per spike)
                for i in range(m):
                    j = _u(j0 + i)
                    col = rec_col[j]
                    if col >= 0:
                        if do_pay:
                            rec_pay[row, col] = Og[i]
                        if do_v and vr >= 0:
                            rec_v[row, col] = Sk[vr, j]
                        if do_u and ur >= 0:
                            rec_u[row, col] = Sk[ur, j]
                        for e in range(n_extra):
                            r = st_row[kd, e]
                            if r >= 0:
                                rec_st[e, row, col] = Sk[r, j]
            if do_count:                     # active: it sent, or any state is nonzero (branch-free), into B
                if n_rows == 2:              # most models: a loop without an inner one, which LLVM vectorizes
                    for i in range(m):       # (with the rows' loop inside: ~1.4 ns a neuron, chain_quiet's
                        j = _u(j0 + i)       # counted step ~2 us of ~6)
                        Bg[i] = (Og[i] != 0) | (Sk[0, j] != 0) | (Sk[1, j] != 0)
                else:
                    for i in range(m):
                        j = _u(j0 + i)
                        act = Og[i] != 0
                        for r in range(n_rows):
                            act |= Sk[r, j] != 0
                        Bg[i] = act
                i = 0                        # then summed over each core the block overlaps
                while i < m:
                    while core_neuron_ptr[c_cnt + 1] <= j0 + i:
                        c_cnt += 1
                    e = min(m, core_neuron_ptr[c_cnt + 1] - j0)
                    active = np.int64(0)
                    for k in range(i, e):
                        active += Bg[k]
                    counters[1, row, c_cnt] += active
                    counters[2, row, c_cnt] += e - i - active
                    i = e
    group_fired[gi] = fired
    group_events[gi] = events


@njit(cache=True)
def span_ends(seg_kind, seg_one, seg_ptr, dend_ptr, dend_off):
    """int64 [segments]: for segment g, the end h of the longest run of segments g..h-1 that ``_step_group`` steps
    as one span: one model, and one-cell reads of one projection (``seg_one``, empty: none) with their cells
    following on from segment to segment. Once a call: looked up per segment and step, the chain of loads was
    ~0.3 us of every step of dense 1k x 1k's 64 cores, whatever the activity."""
    n = seg_kind.shape[0]
    reads = seg_one.shape[0] > 0
    end = np.empty(n, np.int64)
    end[n - 1:] = n
    for h in range(n - 2, -1, -1):               # segment h's span goes on into h + 1's where they join
        k = h + 1
        one = seg_one[k] if reads else -1
        joins = seg_kind[k] == seg_kind[h] and one == (seg_one[h] if reads else -1) and \
            (one < 0 or dend_off[dend_ptr[seg_ptr[k]]] == dend_off[dend_ptr[seg_ptr[k] - 1]] + 1)
        end[h] = end[k] if joins else k
    return end


@njit(cache=True)
def one_cell_segments(seg_ptr, dend_ptr, dend_mid, dend_off, dend_proj):
    """int64 per segment of an undelayed network (a dendrite's only ring cell is ``dend_off``): projection p where
    each of its neurons has exactly one dendrite, into channel 0 (``dend_ptr[j + 1] == dend_ptr[j] + 1 ==
    dend_mid[j]``), of projection p, and neuron j0 + i of the segment reads cell ``dend_off[dend_ptr[j0]] + i``;
    else -1. Its inputs are then read as one vector per block, through p's transform (``_step_group``)."""
    out = np.full(seg_ptr.shape[0] - 1, -1, np.int64)
    for g in range(out.shape[0]):
        j_lo = seg_ptr[g]
        if seg_ptr[g + 1] == j_lo:
            continue
        k_lo = dend_ptr[j_lo]
        ok = True
        for j in range(j_lo, seg_ptr[g + 1]):
            k = dend_ptr[j]
            if dend_ptr[j + 1] != k + 1 or dend_mid[j] != k + 1 or dend_proj[k] != dend_proj[k_lo] or \
                    dend_off[k] != dend_off[k_lo] + (j - j_lo):
                ok = False
                break
        if ok:
            out[g] = dend_proj[k_lo]
    return out


@njit(cache=True)
def _identity(a):
    """``a[k] == k`` for every k."""
    for k in range(a.shape[0]):
        if a[k] != k:
            return False
    return True


@njit(cache=True, inline="always")
def _count_sources(row, spiked, n_spk, n_neurons, route_ptr, neuron_core, counters, src_spikes):
    """The source side of step t's counters: spikes per source, packets out of each neuron's core."""
    for q in range(n_spk):
        src = spiked[q]
        src_spikes[src] += 1
        if src < n_neurons:
            counters[4, row, neuron_core[src]] += route_ptr[src + 1] - route_ptr[src]


@njit(cache=True)
def core_first_cells(core_neuron_ptr, dend_ptr, dend_off, ring_size):
    """int64 [n_cores + 1]: entry c is the lowest ring cell of the cores >= c (``ring_size`` past the last): a
    core's dendrites own a contiguous range of cells, in any order within it (``engine.cell_layout``), and the
    ranges follow the cores. Where a step's group starting at core c owns its cells from (``step_groups``)."""
    n_cores = core_neuron_ptr.shape[0] - 1
    out = np.full(n_cores + 1, ring_size, np.int64)
    for c in range(n_cores - 1, -1, -1):
        lo = out[c + 1]
        for k in range(dend_ptr[core_neuron_ptr[c]], dend_ptr[core_neuron_ptr[c + 1]]):
            lo = min(lo, dend_off[k])
        out[c] = lo
    return out


@njit(cache=True)
def parallel_step(n_groups, n_neurons, events, ns_neuron, ns_event, par_step_ns):
    """Whether a step runs its ``n_groups`` groups in a parallel region: its estimated one-thread cost,
    ``ns_neuron`` per neuron and ``ns_event`` per synaptic event its sources reach, is at least ``par_step_ns``
    nanoseconds (``PAR_STEP_NS``); else one group runs it without a region."""
    return n_groups > 1 and n_neurons * ns_neuron + events * ns_event >= par_step_ns


@njit(cache=True)
def step_groups(n_groups, split_syn, activity, core_neuron_ptr, core_cell, group_core, group_cell):
    """Fill ``group_core`` [n_groups + 1] and ``group_cell`` [n_groups]: a step's groups of consecutive cores,
    about equal in estimated work, ``NEURON_WORK`` per neuron plus ``activity`` per synapse copy
    (``split_syn``: cumulative copies per destination core, ``RouteArrays.split_syn``; empty: phase 3 is not
    split, neurons alone). Group g owns cores ``group_core[g]..group_core[g+1]`` and so the ring and scratch
    cells from ``group_cell[g]`` up to the next group's (``core_cell``: ``core_first_cells``).
    O(groups x log cores): recomputed every step as the activity estimate moves."""
    n_cores = core_neuron_ptr.shape[0] - 1
    w_syn = activity if split_syn.shape[0] == n_cores + 1 else 0.0
    total = _work_below(n_cores, core_neuron_ptr, split_syn, w_syn)
    group_core[0] = 0
    group_core[n_groups] = n_cores
    group_cell[0] = 0
    lo = 0
    for g in range(1, n_groups):
        target = total * g / n_groups
        hi = n_cores                              # first core c >= lo whose work before it reaches the target
        while lo < hi:
            mid = (lo + hi) // 2
            if _work_below(mid, core_neuron_ptr, split_syn, w_syn) < target:
                lo = mid + 1
            else:
                hi = mid
        group_core[g] = lo
        group_cell[g] = core_cell[lo]


@njit(cache=True, inline="always")
def _work_below(c, core_neuron_ptr, split_syn, w_syn):
    """The estimated work of the cores below core c (``step_groups``): ``NEURON_WORK`` a neuron, ``w_syn`` a
    synapse copy delivered to them (``split_syn``: cumulative; read only where ``w_syn`` > 0)."""
    return NEURON_WORK * core_neuron_ptr[c] + (w_syn * split_syn[c] if w_syn > 0 else 0.0)


@njit(cache=True, inline="always")
def _add_row(row, acc):
    """A count row (a source's synapse copies per core, 0: no route) into the cores' packed sums ``acc``:
    packets in the high 32 bits (1 where it has copies), synaptic ops in the low. Both are 1-D views: in a
    parallel region, the same loop indexing the 2-D arrays ran ~4x slower (standalone, Brunel's 1000 steps of
    rows: ~35 against ~8-11 ms)."""
    for c in range(acc.size):
        x = np.int64(row[c])
        acc[c] += x + (np.int64(x != 0) << 32)


@njit(cache=True, inline="always")
def _store_counts(packets, syn_ops, acc):
    """One step's packed sums ``acc`` added into its ``packets`` in / ``syn_ops`` counters (views of the same
    cores), and zeroed."""
    for c in range(acc.size):
        v = acc[c]
        packets[c] += v >> 32
        syn_ops[c] += v & SYN_MASK
        acc[c] = 0


@njit(cache=True, inline="always")
def _flush_rows(buf_k, buf_row, n_buf, c_lo, c_hi, count_syn, counters, pk_syn):
    """The buffered spikes' count rows (``buf_k[i]``, sent at counter row ``buf_row[i]``, rows in order) into
    the counters of cores ``c_lo..c_hi-1``: summed per step in ``pk_syn`` (zero on entry and on return)."""
    acc = pk_syn[c_lo:c_hi]
    i = 0
    while i < n_buf:
        row = buf_row[i]
        while i < n_buf and buf_row[i] == row:
            _add_row(count_syn[buf_k[i], c_lo:c_hi], acc)
            i += 1
        _store_counts(counters[5, row, c_lo:c_hi], counters[0, row, c_lo:c_hi], acc)


@njit(cache=True, inline="always")
def _lower_bound(a, lo, hi, x):
    """The first index in ``lo..hi`` of the sorted ``a`` whose value is >= x (``hi`` if none)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _route_range(route_core, r0, r1, c_lo, c_hi):
    """Routes ``r0..r1`` of one source are sorted by core: the sub-range going to cores ``c_lo..c_hi-1``, by
    binary search (a source reaching every core of 64 cost a group ~48 reads per spike by a linear scan: ~15 %
    of Brunel's step, benchmarks/RESULTS.md "A quiet machine, 2026-12-05")."""
    a = _lower_bound(route_core, r0, r1, c_lo)
    return a, _lower_bound(route_core, a, r1, c_hi)


@njit(cache=True, inline="always")
def _run_cut(cell, a, n, cut, cell0, cell1):
    """A run of ``n`` cells from ``cell`` (weights from ``a``), ``cut`` to the cells ``cell0..cell1-1``: its
    (first cell, first weight, length), the length <= 0 where none of its cells is there."""
    if cut:
        lo = max(cell, cell0)
        return lo, a + (lo - cell), min(cell + n, cell1) - lo
    return cell, a, np.int64(n)


@njit(cache=True, inline="always")
def _prefetch_run(src, src_run_ptr, start, length, cell, cut, cell0, cell1, run_weight):
    """Ask for the first joined run of source ``src``'s weights (its part in cells ``cell0..cell1-1`` where
    ``cut``; up to 2 KiB), ahead of its delivery."""
    if src_run_ptr[src + 1] > src_run_ptr[src]:
        i = src_run_ptr[src]
        _, a, n = _run_cut(cell[i], start[i], length[i], cut, cell0, cell1)
        for o in range(0, min(n, 2048), 64):
            _prefetch(run_weight, a + o)


@njit(cache=True, _nrt=False)
def _deliver_call(t, row, spiked, payload, n_spk, c_lo, c_hi, cell0, cell1, whole, dendrites, work, routes, counts,
                  psums, direct_graded, nxt, pk_syn, rows_deferred):
    """``_deliver``, compiled once as a function of its own for all of ``run_steps``' callers: its groups
    (``_step_group``), its serial set-up (``_advance``) and the by-source pieces (``_deliver_share``). The first two
    are inlined into ``_team``'s loop, and a delivery inlined there twice nearly doubled the kernel's compile time.
    A call passes ~50 arrays, ~70 ns: once a group (or piece) and step, where spikes were sent."""
    _deliver(t, row, spiked, payload, n_spk, c_lo, c_hi, cell0, cell1, whole, dendrites, work, routes, counts, psums,
             direct_graded, nxt, pk_syn, rows_deferred)


@njit(cache=True, inline="always")
def _deliver(t, row, spiked, payload, n_spk, c_lo, c_hi, cell0, cell1, whole, dendrites, work, routes, counts,
             psums, direct_graded, nxt, pk_syn, rows_deferred):
    """Phase 3 of step t, for the destination cores ``c_lo..c_hi-1`` (``whole``: every route, one group), of
    the sources ``spiked[:n_spk]`` (each sending ``payload[q]``): their packets in, the synapse walk into
    the rings (``nxt``: each projection's slot of arrival t + 1), the destination counters, then the mode-2
    scratch moved into the rings, its touched list from entry ``cell0`` (the group's first cell: a cell is
    touched once a step, so the group's entries stay in its own cells' range). Writes only the group's
    cells ``cell0..cell1-1`` and cores' counters: groups run in parallel with the same result as one. A
    source's joined runs (``fuse_runs``) are walked cut to those cells where they are as few as the group's
    share of the per-route runs. The source-side counters are ``_count_sources``'s; ``rows_deferred``: a source
    with a count row is counted by ``_flush_rows``. Inlined into ``_deliver_call`` (``run_steps``' one copy) and
    ``deliver_events``."""
    # containers, not their fields, are the arguments: CPython passes a call of over 30 arguments as *args,
    # which numba's inliner refuses
    proj_len, proj_exp, proj_xf, proj_mode, all_direct = dendrites[4:]
    ring, scratch, sflag, touched_idx, touched_proj, touched_delay = work[:6]
    route_ptr, route_core, route_syn_ptr, syn_ring, syn_weight, syn_delay, syn_proj, graded, proj_graded = routes[1:10]
    route_run_ptr, run_start, run_len, run_cell, run_weight, count_row, count_syn = routes[11:18]
    src_run_ptr, frun_start, frun_len, frun_cell, src_one, span_cell, span_len = routes[18:25]
    runs = route_run_ptr.shape[0] > 0
    joined = runs and src_run_ptr.shape[0] > 0              # a source's runs joined across its routes
    one = joined and not graded and src_one.shape[0] > 0    # and a source of one such run its word
    count_rows = count_row.shape[0] > 0
    do_count, counters = counts[:2]
    count_psum = do_count and psums.enabled
    syn_psum, psum_src, psum_dst, psum_mark = psums.syn_psum, psums.psum_src, psums.psum_dst, psums.mark
    n_touched = cell0
    # ---- pass A: the sources of one joined run each (``src_one``: binary runs), up to four over the same cells
    # added in one pass (a Dense layer's inputs): the ring's cells loaded and stored once for all their weights (a
    # single row's pass is bound by the store port; integer sums in another order, the same cells), from one word a
    # source (no route, count or fused-run lookup), cut to the group's cells. A loop stepping by the batch, not
    # one over every source that skips the batch's others (~10-30 ns more a batch in probes of this loop alone,
    # unscripted; in the kernel, the pass as a function of its own measured the same as written out here)
    # pass B walks q_b0..q_b1-1: every source where pass A does not run or every one is counted, else from the
    # first to the last source pass A left (a free team's own neurons' spikes, before the graph inputs: its ~100
    # inputs a step were otherwise each looked at again by every thread)
    q_b0 = np.int64(0)
    q_b1 = np.int64(0)
    if one:
        q = 0
        while q < n_spk:
            o = src_one[spiked[q]]
            if o < 0:
                if q_b1 == 0:
                    q_b0 = q
                q_b1 = q + 1
                q += 1
                continue
            sp = o >> ONE_SHIFT
            cell, a, n = _run_cut(span_cell[sp], o & ONE_MASK, span_len[sp], not whole, cell0, cell1)
            off = a - (o & ONE_MASK)             # the cut's first weight, the same in every run of the span
            m = 1
            a2 = a3 = a4 = np.int64(0)
            while m < 4 and q + m < n_spk:
                o2 = src_one[spiked[q + m]]
                if o2 < 0 or (o2 >> ONE_SHIFT) != sp:
                    break
                b = (o2 & ONE_MASK) + off
                if m == 1:
                    a2 = b
                elif m == 2:
                    a3 = b
                else:
                    a4 = b
                m += 1
            m = 4 if m == 4 else 2 if m >= 2 else 1
            if q + m < n_spk:                    # a later batch's word on its way (its weights: not asked for,
                _prefetch(src_one, spiked[min(q + m + 4, n_spk - 1)])  # dense 1k x 1k's step 5.3 -> 5.1 us
            if m == 4:
                for k in range(n):
                    ring[_u(cell + k)] += (np.int64(run_weight[_u(a + k)]) + run_weight[_u(a2 + k)]) + \
                        (np.int64(run_weight[_u(a3 + k)]) + run_weight[_u(a4 + k)])
            elif m == 2:
                for k in range(n):
                    ring[_u(cell + k)] += np.int64(run_weight[_u(a + k)]) + run_weight[_u(a2 + k)]
            else:
                for k in range(n):
                    ring[_u(cell + k)] += run_weight[_u(a + k)]
            q += m
    # ---- pass B: every other source's synapses, and, counted, every source's counts
    if not one or do_count:
        q_b0 = 0
        q_b1 = n_spk
    for q in range(q_b0, q_b1):
        src = spiked[q]
        if one and src_one[src] >= 0 and (not do_count or rows_deferred and count_rows and count_row[src] >= 0):
            continue                             # added in pass A, nothing to count here (a count row's spikes are
            # counted by ``_flush_rows``; walked through the counts below, dense's counted split took ~0.4 us a
            # step and group more than with the counts beside its batches)
        if joined and graded and q + 1 < n_spk:  # the next source's first run of weights on its way (binary runs:
            # below, after the counts)
            _prefetch_run(spiked[q + 1], src_run_ptr, frun_start, frun_len, frun_cell, not whole, cell0, cell1,
                          run_weight)
        r0 = route_ptr[src]
        r1 = route_ptr[src + 1]
        if r0 == r1:                             # a source that reaches nothing (an output layer's neuron): nothing
            continue                             # to deliver or count here (its spike: ``_count_sources``)
        # the source's joined runs, cut to the group's cells where it is one of several, where they are as few as
        # the group's share of the per-route runs (its share of the cores; pk_syn has one entry a core): then
        # only the counters need the group's own routes (no binary search). One joined run is never more walking
        # than its per-route runs, whatever the group: no need to read their count (two loads a spike, on lines
        # no other spike shares: dense's split work 1.44-1.46 -> 1.32, benchmarks/RESULTS.md "quiet17")
        j0 = src_run_ptr[src] if joined else 0
        j1 = src_run_ptr[src + 1] if joined else 0
        n_joined = j1 - j0
        use_joined = joined and (whole or n_joined <= 1 or n_joined * pk_syn.shape[0]
                                 <= (route_run_ptr[r1] - route_run_ptr[r0]) * (c_hi - c_lo))
        k = count_row[src] if do_count and count_rows else -1
        # the group's own routes, where its runs or its counts need them (not a count row added after the steps)
        if not whole and (not use_joined or do_count and (k < 0 or not rows_deferred)):
            r0, r1 = _route_range(route_core, r0, r1, c_lo, c_hi)
        if do_count:                     # a packet (high 32 bits) and its synapses (low) per destination core
            if k >= 0:                   # a source reaching many cores: its row over the group's cores (SIMD)
                if not rows_deferred:
                    _add_row(count_syn[k, c_lo:c_hi], pk_syn[c_lo:c_hi])
            else:                        # one add per route
                ya = route_syn_ptr[r0]
                for r in range(r0, r1):
                    yb = route_syn_ptr[r + 1]
                    pk_syn[_u(route_core[r])] += PACKET_ONE + (yb - ya)
                    ya = yb
        if count_psum:                   # each partial-sum route reached counts once per step (split dendrites)
            for y in range(route_syn_ptr[r0], route_syn_ptr[r1]):   # (written out: a nested inline helper breaks
                # numba's inliner)
                k = syn_psum[y]
                if k >= 0 and psum_mark[k] != t:
                    psum_mark[k] = t
                    counters[6, row, psum_src[k]] += 1
                    counters[7, row, psum_dst[k]] += 1
        pq = payload[q]                      # what the source sends (1: a spike)
        if runs:                             # runs of consecutive cells: contiguous adds (SIMD)
            # a payload that fits 32 bits (every chip message: <= 24 bits) times a <= 32-bit weight: LLVM
            # multiplies sign-extended 32-bit lanes (vpmuldq), ~2x faster than a full 64-bit product
            # (a range test, not ``p32 == pq``: from that equality LLVM would put pq back in the loop)
            p32 = np.int64(np.int32(pq))
            # (a Dense row over two groups' cores: one joined run cut in two, not 32 per-route runs each)
            if use_joined:
                rs, rl, rc = frun_start, frun_len, frun_cell
                i0 = j0
                i1 = j1
            else:
                rs, rl, rc = run_start, run_len, run_cell
                i0 = route_run_ptr[r0]
                i1 = route_run_ptr[r1]
            cut = use_joined and not whole
            # the payload's case chosen once per source, not per run (kernel_ab, two A/Bs: pilotnet 2-9 % faster than
            # the branch inside the run loop, dense and Brunel the same)
            if not graded:
                if one and src_one[src] >= 0:    # (added in pass A; counted above)
                    continue
                if joined and q + 1 < n_spk:            # the next source: its weights on their way
                    _prefetch_run(spiked[q + 1], src_run_ptr, frun_start, frun_len, frun_cell, not whole, cell0,
                                  cell1, run_weight)
                for i in range(i0, i1):
                    cell, a, n = _run_cut(rc[i], rs[i], rl[i], cut, cell0, cell1)
                    for k in range(n):
                        ring[_u(cell + k)] += run_weight[_u(a + k)]
            elif -2147483648 <= pq <= 2147483647:
                for i in range(i0, i1):
                    cell, a, n = _run_cut(rc[i], rs[i], rl[i], cut, cell0, cell1)
                    for k in range(n):
                        ring[_u(cell + k)] += np.int64(run_weight[_u(a + k)]) * p32
            else:
                for i in range(i0, i1):
                    cell, a, n = _run_cut(rc[i], rs[i], rl[i], cut, cell0, cell1)
                    for k in range(n):
                        ring[_u(cell + k)] += np.int64(run_weight[_u(a + k)]) * pq
            continue
        # a source's routes are consecutive, and so are their synapse copies: one flat walk (its bounds read here,
        # not before the runs, which need none: two loads less in a chain a spike waits on; dense's two-thread step at
        # 20 % input 10.06-10.29 against 10.45-10.69 us, benchmarks/RESULTS.md "quiet16")
        y0 = route_syn_ptr[r0]
        y1 = route_syn_ptr[r1]
        if all_direct and not graded:
            for y in range(y0, y1):
                ring[_u(syn_ring[y])] += syn_weight[y]
            continue
        if direct_graded:
            for y in range(y0, y1):
                ring[_u(syn_ring[y])] += np.int64(syn_weight[y]) * pq
            continue
        for y in range(y0, y1):
            p = syn_proj[y]
            mode = proj_mode[p]
            w = np.int64(syn_weight[y])
            if graded:
                g = proj_graded[p]
                if g != SYN_BINARY:          # a graded projection multiplies by the payload
                    w *= pq
                    if g == SYN_GRADED_WRAP:
                        w = _wrap32(w)
            if mode == 0:
                ring[_u(syn_ring[y])] += w
            elif mode == 1:
                sl = nxt[p] + syn_delay[y]
                if sl >= proj_len[p]:
                    sl -= proj_len[p]
                ring[_u(syn_ring[y] + sl)] += w << proj_exp[p]
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
    if do_count:
        _store_counts(counters[5, row, c_lo:c_hi], counters[0, row, c_lo:c_hi], pk_syn[c_lo:c_hi])
    # ---- mode-2 contributions: transform each (dendrite, delay) sum, move it into the ring
    for i in range(cell0, n_touched):
        idx = touched_idx[i]
        p = touched_proj[i]
        d = touched_delay[i]
        sl = nxt[p] + d
        if sl >= proj_len[p]:
            sl -= proj_len[p]
        ring[idx - d + sl] += _transform(scratch[idx], proj_exp[p], proj_xf[p])
        scratch[idx] = 0
        sflag[idx] = 0


@njit(cache=True)
def deliver_events(t, row, src, val, n, dendrites, work, routes, counts, psums):
    """Phase 3 of step ``t`` alone, for the events ``src[:n]`` (shard source ids) sending ``val[:n]``:
    what ``run_steps`` does after its neurons, for a rank of a distributed run (``distributed/``) that has
    gathered this step's local and remote spikes. ``row``: the step's row in the counters."""
    proj_len, all_direct = dendrites.proj_len, dendrites.all_direct
    graded, proj_graded = routes.graded, routes.proj_graded
    n_cores = counts.per_core.shape[2] if counts.enabled else 0
    n_neurons = routes.neuron_core.shape[0]
    nxt = np.zeros(proj_len.shape[0], np.int64)
    for p in range(proj_len.shape[0]):
        nxt[p] = (t + 1) % proj_len[p]
    direct_graded = all_direct and graded and np.all(proj_graded == SYN_GRADED)
    pk_syn = np.zeros(n_cores, np.int64)
    if counts.enabled:
        _count_sources(row, src, n, n_neurons, routes.route_ptr, routes.neuron_core, counts.per_core,
                       counts.per_source)
    _deliver(t, row, src, val, n, 0, n_cores, 0, work.ring.shape[0], True, dendrites, work, routes, counts, psums,
             direct_graded, nxt, pk_syn, False)


# ----------------------------------------------------------------------------------- plan helpers
def phase3_split(route_ptr, route_core, route_syn_ptr, n_cores: int, split_dendrites: bool) -> np.ndarray:
    """``RouteArrays.split_syn``: the cumulative synapse copies per destination core, by which ``run_steps``
    splits phase 3 into groups of consecutive cores (``step_groups``); empty when it cannot be split:
    a source's routes not sorted by core (each group walks one sub-range of them), or split dendrites (a
    segment core's synapses write the soma core's cells and the partial-sum counters are shared)."""
    route_core = np.asarray(route_core, np.int64)
    step = np.diff(route_core)
    first = np.asarray(route_ptr[1:-1], np.int64)              # a new source's first route may go to any core
    step[first[(first > 0) & (first < route_core.size)] - 1] = 0
    if split_dendrites or np.any(step < 0):
        return np.zeros(0, np.int64)
    per_core = np.bincount(route_core, weights=np.diff(np.asarray(route_syn_ptr, np.int64)).astype(np.float64),
                           minlength=n_cores)[:n_cores]
    return np.concatenate([[0], np.cumsum(per_core.astype(np.int64))]).astype(np.int64)


#: A source gets a row of per-core synapse counts (``count_rows``) when it routes to at least this fraction of
#: the cores: adding its row then reads fewer bytes than its routes (487 vs ~1,900 for a Brunel spike) and
#: vectorises, where each route is a scattered add (standalone loops: ~0.1-0.3 ns per core against ~1.6 ns per
#: route). ``run_steps`` adds the rows after the steps (``_flush_rows``), benchmarks/RESULTS.md "Accounting".
COUNT_ROW_DENSITY = 1 / 8
#: ... and while the rows take at most this many bytes per synapse copy in all (densest sources first).
COUNT_ROW_BYTES = 1.0


def count_rows(route_ptr, route_core, route_syn_ptr, n_cores: int):
    """``RouteArrays.count_row, count_syn``: for the sources whose routes reach at least COUNT_ROW_DENSITY of
    the cores (densest first, within COUNT_ROW_BYTES per synapse copy), a uint8 row per source of the synapse
    copies each core receives from it, so the counted kernel adds one row per spike (vectorised over the
    cores) instead of one scattered add per route: Brunel's 487 cores, ~320 routes per spike, see
    benchmarks/RESULTS.md "Accounting: per-core count rows". A source keeps its routes' loop if one of its
    routes has no synapse or over 255, or two go to one core (a row could not say so). Empty arrays: none."""
    route_ptr = np.asarray(route_ptr, np.int64)
    n_routes = np.diff(route_ptr)
    n_copy = int(route_syn_ptr[-1]) if len(route_syn_ptr) else 0
    dense = np.flatnonzero(n_routes >= COUNT_ROW_DENSITY * n_cores)
    dense = dense[n_routes[dense] > 0]
    budget = int(COUNT_ROW_BYTES * n_copy) // max(n_cores, 1)
    if dense.size > budget:                     # the densest sources first (stable: lowest id on ties)
        dense = np.sort(dense[np.argsort(-n_routes[dense], kind="stable")[:budget]])
    none = (np.zeros(0, np.int32), np.zeros((0, 0), np.uint8))
    if dense.size == 0:
        return none
    table = np.zeros((dense.size, n_cores), np.uint8)
    ok = _fill_count_rows(route_ptr, route_core, route_syn_ptr, dense, table)
    if not ok.any():
        return none
    row = np.full(n_routes.size, -1, np.int32)
    row[dense[ok]] = np.arange(int(ok.sum()), dtype=np.int32)
    return row, (table if ok.all() else table[ok])


@njit(cache=True)
def _fill_count_rows(route_ptr, route_core, route_syn_ptr, sources, table):
    """Row k of ``table``: source ``sources[k]``'s synapse copies per destination core; bool [k]: the row says
    exactly what its routes do (every route has 1..255 copies, no two routes to one core)."""
    ok = np.ones(sources.size, np.bool_)
    for k in range(sources.size):
        s = sources[k]
        for r in range(route_ptr[s], route_ptr[s + 1]):
            c = route_core[r]
            n = route_syn_ptr[r + 1] - route_syn_ptr[r]
            if n < 1 or n > 255 or table[k, c] != 0:
                ok[k] = False
            else:
                table[k, c] = n
    return ok


@njit(cache=True)
def first_delay_over(syn_delay, syn_proj, proj_max_delay):
    """Index of the first synapse whose delay exceeds its projection's ``proj_max_delay``, or -1
    (one pass instead of numpy temporaries of the synapse count)."""
    for i in range(syn_delay.shape[0]):
        if np.int64(syn_delay[i]) > np.int64(proj_max_delay[syn_proj[i]]):
            return i
    return -1


@njit(cache=True)
def first_foreign_synapse(axon_syn_ptr, axon_core, syn_post, neuron_core):
    """``(i, core)``: the first synapse i whose post neuron is not on the core ``core`` of its axon,
    or ``(-1, -1)``."""
    for a in range(axon_syn_ptr.shape[0] - 1):
        c = axon_core[a]
        for i in range(axon_syn_ptr[a], axon_syn_ptr[a + 1]):
            if neuron_core[syn_post[i]] != c:
                return i, c
    return -1, -1


@njit(cache=True)
def _copy_axon(a, y, axon_syn_ptr, syn_post, syn_proj, syn_weight, syn_delay, dend_ptr, dend_off, proj_rank,
               out_ring, out_weight, out_delay, out_proj, proj_sort):
    copy_dp = out_delay.shape[0] > 0
    y0 = y
    for s in range(axon_syn_ptr[a], axon_syn_ptr[a + 1]):
        k = syn_proj[s]
        out_ring[y] = dend_off[dend_ptr[syn_post[s]] + proj_rank[k]]
        out_weight[y] = syn_weight[s]
        if copy_dp:
            out_delay[y] = syn_delay[s]
            out_proj[y] = k
        y += 1
    # a sorted projection's copies (an axon holds each projection's synapses as one block) in cell order
    b = y0
    while b < y:
        k = syn_proj[axon_syn_ptr[a] + b - y0]
        e = b + 1
        while e < y and syn_proj[axon_syn_ptr[a] + e - y0] == k:
            e += 1
        if proj_sort[k] and e - b > 1:
            _sort_copies(b, e, out_ring, out_weight, out_delay, copy_dp)
        b = e


@njit(cache=True, inline="always")
def _joins(run_start, run_len, run_cell, i, i0, length):
    """Run i continues run i - 1 of the same source (both from ``i0`` on): its cells and weight positions begin
    where the other's end, and the joined run, ``length`` copies so far, stays below 2**31."""
    return i > i0 and run_cell[i - 1] + run_len[i - 1] == run_cell[i] and \
        run_start[i - 1] + run_len[i - 1] == run_start[i] and length + run_len[i] < 2 ** 31


@njit(cache=True)
def fuse_runs(route_ptr, route_run_ptr, run_start, run_len, run_cell):
    """``(src_run_ptr, start, len, cell)``: each source's runs (``engine.cell_runs``, cut at every route) joined
    where one ends at the cell and weight position the next begins (``_joins``): a Dense row into a layer spread
    over consecutive cores is then one run, not one per core (chain_quiet's input rows: 44 runs of 23 copies, whose
    per-run cost was most of a quiet step's synapse walk). A delivery of every route at once (one group) walks
    them whole; each of several groups walks them cut to its own cells (``_deliver``). One pass into arrays of
    the per-route runs' length (joining never adds a run), then trimmed."""
    n_src = route_ptr.shape[0] - 1
    ptr = np.empty(n_src + 1, np.int64)
    start = np.empty(run_start.shape[0], np.int64)
    lens = np.empty(run_start.shape[0], np.int32)
    cell = np.empty(run_start.shape[0], np.int64)
    k = -1
    for s in range(n_src):
        ptr[s] = k + 1
        i0 = route_run_ptr[route_ptr[s]]
        length = np.int64(0)
        for i in range(i0, route_run_ptr[route_ptr[s + 1]]):
            if _joins(run_start, run_len, run_cell, i, i0, length):
                length += run_len[i]
            else:
                k += 1
                start[k] = run_start[i]
                cell[k] = run_cell[i]
                length = np.int64(run_len[i])
            lens[k] = length
    ptr[n_src] = k + 1
    return ptr, start[:k + 1].copy(), lens[:k + 1].copy(), cell[:k + 1].copy()


def one_runs(src_run_ptr, frun_start, frun_len, frun_cell):
    """``(src_one, span_cell, span_len)`` (``RouteArrays``): for each source of exactly one joined run
    (``fuse_runs``), one int64 word: its weights' start, and in the bits from ``ONE_SHIFT`` the index of its
    cells' span, the distinct ``(cell, length)`` pairs of those runs; -1 for the other sources. A Dense layer's
    inputs share one span, so ``_deliver`` (its pass A) batches a spike list's rows from one word a spike. A
    source whose start or span does not fit the word's bits (past 2^40 weights, 2^32 ring cells or 2^23 spans)
    gets -1 too, and is walked as any source; empty arrays where no source has a word."""
    none = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    if src_run_ptr.size < 2:
        return none
    single = np.flatnonzero(np.diff(src_run_ptr) == 1)
    j = src_run_ptr[single]
    fits = (frun_start[j] <= ONE_MASK) & (frun_cell[j] < 1 << 32)    # (else walked as any source: always so
    single, j = single[fits], j[fits]                                # below 2^40 weights and 2^32 ring cells)
    if j.size == 0:
        return none
    key = (frun_cell[j].astype(np.int64) << 31) | frun_len[j].astype(np.int64)   # a fused length is < 2^31
    spans, which = np.unique(key, return_inverse=True)
    keep = which < 1 << (63 - ONE_SHIFT)         # spans past the word's bits: walked as any source
    one = np.full(src_run_ptr.size - 1, -1, np.int64)
    one[single[keep]] = frun_start[j[keep]].astype(np.int64) | (which[keep].astype(np.int64) << ONE_SHIFT)
    return one, spans >> 31, spans & ((1 << 31) - 1)


def dedup_runs_np(run_w, run_weight):
    """Spec of ``dedup_runs``: each distinct weight vector once, in order of first use."""
    seen, start, chunks, o = {}, [], [], 0
    for i in range(run_w.size - 1):
        w = run_weight[run_w[i]:run_w[i + 1]]
        key = w.tobytes()
        if key not in seen:
            seen[key] = o
            chunks.append(w)
            o += w.size
        start.append(seen[key])
    pool = np.concatenate(chunks) if chunks else run_weight[:0].copy()
    return np.asarray(start, np.int64), np.diff(np.asarray(run_w, np.int64)), pool.astype(run_weight.dtype)


@njit(cache=True)
def _run_hash(w, a, b):
    """FNV-1a of the weights ``w[a:b]`` and their count."""
    h = np.uint64(14695981039346656037)
    for k in range(a, b):
        h = (h ^ np.uint64(np.int64(w[k]) & 0xFFFFFFFF)) * np.uint64(1099511628211)
    return (h ^ np.uint64(b - a)) * np.uint64(1099511628211)


@njit(cache=True)
def _same_run(w, a, b, c, d):
    if b - a != d - c:
        return False
    for k in range(b - a):
        if w[a + k] != w[c + k]:
            return False
    return True


@njit(cache=True, inline="always")
def _run_step(syn_ring, y, y0, gap):
    """How many cells copy y (of a route whose first copy is y0) moves its run on, or 0 where it starts one:
    a route's first copy, or a cell not 1..gap+1 past the previous copy's. Both passes of ``cell_runs`` cut
    with it, so the second fills exactly what the first sized."""
    if y == y0:
        return np.int64(0)
    step = np.int64(syn_ring[y]) - np.int64(syn_ring[y - 1])
    return step if 1 <= step <= gap + 1 else np.int64(0)


@njit(cache=True)
def run_cuts(syn_ring, route_syn_ptr, gap, pads):
    """First pass of ``engine.cell_runs``: ``(route_run_ptr, runs, cells)``; a run's cells include its holes,
    and a route's first run the ``pads[0, r]`` cells before its first copy, its last run the ``pads[1, r]``
    after its last (``engine.route_pads``)."""
    n_routes = route_syn_ptr.shape[0] - 1
    route_run_ptr = np.empty(n_routes + 1, np.int64)
    n_runs = 0
    total = 0
    for r in range(n_routes):
        route_run_ptr[r] = n_runs
        y0 = route_syn_ptr[r]
        for y in range(y0, route_syn_ptr[r + 1]):
            step = _run_step(syn_ring, y, y0, gap)
            n_runs += step == 0
            total += max(step, 1)
        total += pads[0, r] + pads[1, r]
    route_run_ptr[n_routes] = n_runs
    return route_run_ptr, n_runs, total


@njit(cache=True)
def run_layout(syn_ring, syn_weight, route_syn_ptr, gap, pads, n_runs, run_weight):
    """Second pass of ``engine.cell_runs``: each copy's weight into ``run_weight`` (zeroed, of ``run_cuts``'
    size: holes and pads stay 0); returns ``(run_pos, run_cell)``: each run's first position in ``run_weight``
    (then its size) and first cell."""
    run_pos = np.empty(n_runs + 1, np.int64)
    run_cell = np.empty(n_runs, np.int64)
    k = 0
    p = -1
    for r in range(route_syn_ptr.shape[0] - 1):
        y0 = route_syn_ptr[r]
        for y in range(y0, route_syn_ptr[r + 1]):
            step = _run_step(syn_ring, y, y0, gap)
            if step == 0:
                p += 1
                run_pos[k] = p
                run_cell[k] = syn_ring[y]
                if y == y0:                    # the route's first run: its leading pad
                    run_cell[k] -= pads[0, r]
                    p += pads[0, r]
                k += 1
            else:
                p += step
            run_weight[p] = syn_weight[y]
        p += pads[1, r]                        # its last run's trailing pad
    run_pos[n_runs] = run_weight.size
    return run_pos, run_cell


@njit(cache=True)
def dedup_runs(run_w, run_weight):
    """``(run_start, run_len, pool)``: runs laid out one after another (run i: ``run_weight[run_w[i]..
    run_w[i+1]]``) with identical weight vectors stored once (a conv kernel's weights at one offset, repeated
    at every position of the layer: PilotNet SDNN 4.9 M run weights -> 0.4 M, which stay in cache), each
    distinct vector in order of its first run. Runs sorted by a hash of their weights; equal hashes are
    compared weight by weight, so a collision only costs a copy (``dedup_runs_np`` is the spec)."""
    n = run_w.shape[0] - 1
    h = np.empty(n, np.uint64)
    for i in range(n):
        h[i] = _run_hash(run_weight, run_w[i], run_w[i + 1])
    order = np.argsort(h, kind="mergesort")   # stable: a hash group in run order, its first run first
    rep = np.arange(n)                         # each run's representative: its first run with equal weights
    i = 0
    while i < n:
        j = i + 1
        while j < n and h[order[j]] == h[order[i]]:
            j += 1
        for x in range(i + 1, j):
            r = order[x]
            for y in range(i, x):
                c = order[y]
                if rep[c] == c and _same_run(run_weight, run_w[c], run_w[c + 1], run_w[r], run_w[r + 1]):
                    rep[r] = c
                    break
        i = j
    start = np.empty(n, np.int64)
    length = np.empty(n, np.int64)
    total = 0
    for i in range(n):
        length[i] = run_w[i + 1] - run_w[i]
        if rep[i] == i:
            total += length[i]
    pool = np.empty(total, run_weight.dtype)
    o = 0
    for i in range(n):
        if rep[i] == i:
            start[i] = o
            for k in range(length[i]):
                pool[o + k] = run_weight[run_w[i] + k]
            o += length[i]
        else:
            start[i] = start[rep[i]]           # rep[i] < i: placed already
    return start, length, pool


@njit(cache=True)
def _sort_copies(b, e, out_ring, out_weight, out_delay, copy_dp):
    """Sort copies ``b..e`` by ring cell (numba's ``argsort`` of the run, applied by loops: fancy indexing
    costs seconds of cold compile for its shape checks)."""
    o = np.argsort(out_ring[b:e])
    ring = out_ring[b:e].copy()
    weight = out_weight[b:e].copy()
    delay = out_delay[b:e].copy() if copy_dp else out_delay[:0]
    for i in range(e - b):
        out_ring[b + i] = ring[o[i]]
        out_weight[b + i] = weight[o[i]]
        if copy_dp:
            out_delay[b + i] = delay[o[i]]


@njit(cache=True)
def dendrite_abs_sums(syn_post, syn_proj, syn_weight, dend_ptr, dend_proj, proj_rank, wanted, floor, out):
    """``engine.sum_bounds``' pass: per dendrite of a ``wanted`` projection the sum of max(|weight|, ``floor``)
    over its synapses, then per such projection the largest of its dendrites' sums into ``out``."""
    acc = np.zeros(dend_proj.shape[0], np.int64)
    for y in range(syn_post.shape[0]):
        p = syn_proj[y]
        if wanted[p]:
            acc[dend_ptr[syn_post[y]] + proj_rank[p]] += max(abs(np.int64(syn_weight[y])), floor)
    for p in range(wanted.shape[0]):
        if wanted[p]:
            out[p] = 0.0
    for d in range(acc.shape[0]):
        p = dend_proj[d]
        if wanted[p] and acc[d] > out[p]:
            out[p] = acc[d]


@njit(cache=True)
def plan_synapses(route_axon, axon_syn_ptr, syn_post, syn_proj, syn_weight, syn_delay, dend_ptr, dend_off,
                  proj_rank, route_syn_ptr, out_ring, out_weight, out_delay, out_proj, proj_sort):
    """Copy the synapses of axon ``route_axon[r]`` to ``route_syn_ptr[r]..`` for every route r, with
    the ring cell of each synapse's dendrite (``dend_off[dend_ptr[post] + proj_rank[proj]]``); the
    delays and projections are copied too unless ``out_delay`` is empty (every projection mode 0). The
    copies of a projection with ``proj_sort[p]`` (a conv laid out channel-minor) are sorted by cell within
    each axon, so they form runs of consecutive cells (the learning rules' positions, ``engine._synapse_positions``,
    assume table order: learning projections are dense, never sorted).

    When each axon is named by at most one route (compiled tables), the tables are read in their own
    axon order and each copy written where its route puts it: sequential reads, scattered writes
    (a gather in route order misses the cache once per route: ~2x slower)."""
    n_ax = axon_syn_ptr.shape[0] - 1
    start = np.full(n_ax, -1, np.int64)        # where axon a's copy begins (-1: no route names it)
    for r in range(route_axon.shape[0]):
        start[route_axon[r]] = route_syn_ptr[r]
    shared = False
    for r in range(route_axon.shape[0]):
        if start[route_axon[r]] != route_syn_ptr[r]:
            shared = True
            break
    if shared:                                  # an axon named by several routes: copy it for each
        for r in range(route_axon.shape[0]):
            _copy_axon(np.int64(route_axon[r]), np.int64(route_syn_ptr[r]), axon_syn_ptr, syn_post, syn_proj,
                       syn_weight, syn_delay, dend_ptr, dend_off, proj_rank, out_ring, out_weight, out_delay, out_proj,
                       proj_sort)
        return
    for a in range(n_ax):
        if start[a] >= 0:
            _copy_axon(a, start[a], axon_syn_ptr, syn_post, syn_proj, syn_weight, syn_delay, dend_ptr,
                       dend_off, proj_rank, out_ring, out_weight, out_delay, out_proj, proj_sort)
