"""Run per-core tables for T steps: input encoding, state layout, recording, counters, budget checks.

``emulate_tables`` is the whole backend on a ``CoreTables``, in readable pieces: the plan (``make_plan``:
the kernel's static containers, reusable), the run's setup (``_setup_run``: input events, recording
layout, budget, recordings, counters, learning projections), one of the two engines (``_run_numba``:
the kernel ``kernels.run_steps``; ``_run_numpy``: the spec ``kernels.step_numpy``), the learning hooks
between steps (``_learn_step``) and the Result (``_assemble_result``). Inputs, steps and record are
validated by :mod:`neurocomp.semantics.inputs`, as in every backend. ``emulate`` (the registered
``"emulator"`` backend, ``backend.py``) adds the CompiledNetwork (input shapes, learning check, cost
model); ``emulate_batch`` runs many independent inferences (each from the initial state) with one
plan, and ``summarize_batch`` gives their per-inference energy/latency statistics. The arithmetic
lives in ``kernels.py`` (numba kernel + numpy spec).

A run starts from an :class:`EngineState` (``initial_state``, or the one a ``Simulator`` session
carries, ``session.py``) and advances it: neuron state, delay rings, learning states, the clock ``t``.
The kernel follows the simulation's clock while the run's own arrays start at row 0, so a run of N
steps equals any split of it. ``_run_closed_loop`` steps once per call and asks a :class:`ClosedLoop`
(``on_step``) for each step's inputs. A state keeps the kernel's containers bound across runs
(``EngineState.bound``) and calls the compiled kernel without numba's per-call typing
(``EngineState.run_kernel``); recording layouts are memoised per plan, and runs whose inputs are one
spike input as uint8/bool take ``quickrun`` (validation and encoding in one numba pass), so the fixed
cost of a short run stays small (docs/sessions.md).

Timing conventions (Lava's, lava.md §1): steps are 1-based; a spike of step t (neuron, or graph-input
row t-1) reaches its targets' input at step ``t + 1 + delay``; recorded row t-1 is the state after
step t (after the reset), as Lava's monitors see it.

Learning projections (``learning=`` in ``emulate_tables``; ``emulate`` takes them from the artifact's
network) keep all ``n_post x n_pre`` synapses in the tables and one
:class:`~neurocomp.semantics.learning.LearningState` each. The kernel then runs one step at a
time; after step t (whose spikes were routed with the weights before learning, Lava's order)::

    spk_phase(state, t, pre spikes of step t, target spikes of step t, reward row t-1)
    if lrn_phase(state, t): scatter the new weights into the run's copy of the synapse weights

so step t+1 routes with the learned weights. A third-factor (reward) input is not routed: its
values (0..127) only reach the rule. Learning synapse updates per core and step go to the cost
model (energy class "learning").
"""
from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property

import numba
import numpy as np

from ...errors import BackendError, ValidationError
from ...result import Result
from . import compile_once, kernels as K
from . import learning as L
from ...neurons import DRIVE_PARAMS, NEURONS
from ...neurons.registry import MAX_INPUTS
from ...semantics import learning as S
from ...semantics.reference import PER_STEP, learning_summary
from ...semantics.inputs import (SMALL_RUN_BYTES, InputSpec, check_input_rows, check_record, check_run,
                                 check_step_inputs, reward_rows)
from .input_events import spike_events
from .quickrun import QuickInputs, event_list, events_of, quick_events
from .tablecache import derived
from .zerofill import aligned_copy, zeroed
from ...safeio import available_memory
from ...mapping.tables import index_dtype, narrowest_int

#: Fraction of the currently available RAM that recording and counters may use.
MEMORY_FRACTION = 0.5
#: The dtype of a run's own weight copy when a learning rule writes it: every value a rule can produce
#: (Lava's LearningDense clips to the 8-bit range -256..255, ``semantics.learning``; ``Simulator.set_weights``
#: checks written weights against that range) fits int16.
LEARNED_WEIGHT_DTYPE = narrowest_int(-256, 255)


# ----------------------------------------------------------------------------------- plan
@dataclass
class Plan:
    """What a run derives from the tables once (``emulate_batch`` reuses it across runs): the numba
    kernel's static containers. ``dendrites``: one dendrite per (neuron, incoming projection) with its
    ring and the ring mode of each projection; ``routes``: the synapses copied per route
    (``route_syn_ptr`` [R+1]; ``syn_ring``: ring cell of the synapse's dendrite; ``syn_delay``/``syn_proj``
    empty when every projection is mode 0). A run never writes to them (learning runs copy
    ``routes.syn_weight``)."""
    neuron_core: np.ndarray
    kind: np.ndarray              # int64 [N]: each neuron's model (the registry's order)
    P: tuple                      # per kind: its kernel parameter rows (the kind's ``prepare``)
    dendrites: K.DendriteArrays
    routes: K.RouteArrays
    ring_size: int
    scratch_size: int
    psums: K.PartialSumArrays = None     # split dendrites' partial-sum routes (``partial_sum_plan``)
    ring_dtype: np.dtype = np.dtype(np.int64)    # int32 where the inputs only need the sums modulo 2^32
    #: what runs of these tables derive again and again (recording layouts), computed once
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    def memoised(self, key, compute):
        """``compute()`` the first time ``key`` is asked of this plan, then the value it returned."""
        value = self.memo.get(key)
        if value is None:
            value = self.memo[key] = compute()
        return value

    @property
    def all_direct(self) -> bool:
        return bool(self.dendrites.all_direct)

    @cached_property
    def nbytes(self) -> int:
        """Bytes of the plan and of one run's state (neuron state rows, rings, scratch, spike lists); the
        tables it runs on are ``CoreTables.nbytes``."""
        d, r, p = self.dendrites, self.routes, self.psums
        arrays = (self.neuron_core, self.kind, *self.P, d.dend_ptr, d.dend_mid, d.dend_proj, d.dend_off,
                  r.route_syn_ptr, r.syn_ring, r.syn_weight, r.syn_delay, r.syn_proj, r.split_syn, r.route_run_ptr,
                  r.run_start, r.run_len, r.run_cell, r.run_weight, r.count_row, r.count_syn, p.syn_psum, p.psum_src,
                  p.psum_dst)
        state = 8 * self.neuron_core.size * sum(len(k.state) for i, k in enumerate(NEURONS.values())
                                                 if i in self.kinds)
        n_sources = r.route_ptr.size - 1                 # the kernel's spiked and payload lists
        rings = self.ring_dtype.itemsize * self.ring_size
        return sum(a.nbytes for a in arrays) + state + rings + 33 * self.scratch_size + 16 * n_sources

    def neurons(self, tables, S: tuple) -> K.NeuronArrays:
        """The kernel's neurons with the state ``S`` (per kind int64 [m, N], advanced in place)."""
        v_row, u_row = self.memoised("state_rows", lambda: (_state_rows("v"), _state_rows("u")))
        return K.NeuronArrays(tables.core_neuron_ptr, *self.segments(tables), self.P, S, v_row, u_row)

    def segments(self, tables):
        """``(core_seg_ptr, seg_ptr, seg_kind)``: the runs of consecutive neurons of one core and one kind
        (computed once per plan)."""
        return self.memoised("segments", lambda: self._segments(tables))

    def _segments(self, tables):
        n, c = tables.n_neurons, int(tables.n_cores)
        cut = np.zeros(n, bool)
        if n:
            cut[0] = True
            cut[1:] = (self.kind[1:] != self.kind[:-1]) | (self.neuron_core[1:] != self.neuron_core[:-1])
        starts = np.nonzero(cut)[0].astype(np.int64)
        seg_ptr = np.concatenate([starts, [n]]).astype(np.int64)
        core_seg_ptr = np.searchsorted(self.neuron_core[starts], np.arange(c + 1), side="left").astype(np.int64) \
            if n else np.zeros(c + 1, np.int64)
        return core_seg_ptr, seg_ptr, self.kind[starts].astype(np.int64)

    def work_arrays(self) -> K.WorkArrays:
        """Fresh work space of one run: empty rings and scratch."""
        m = max(self.scratch_size, 1)
        return K.WorkArrays(zeroed(self.ring_size, self.ring_dtype), np.zeros(m, np.int64), np.zeros(m, np.uint8),
                            np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(m, np.int64),
                            np.ones(max(self.routes.route_ptr.size - 1, 1), np.int64))

    def initial_state(self, tables) -> tuple:
        """Per kind its state rows at the start (each model's initial-value parameters, e.g. u0/v0): fresh
        copies of :meth:`initial_rows`, each starting on a cache line (the neuron loops are vectors over them)."""
        return tuple(aligned_copy(rows) for rows in self.initial_rows(tables))

    def initial_rows(self, tables) -> tuple:
        """The rows of :meth:`initial_state`, stacked once per plan (a batch or a run with onsets asks for
        them again and again): read them, never write. A kind none of the plan's neurons runs gets rows of no
        columns: every registered kind's rows over all N neurons were ~200 bytes a neuron, of which a one-model
        network reads 16-32."""
        return self.memoised("initial_state", lambda: tuple(
            np.stack([np.asarray(tables.neuron_params[k.initial[var]], np.int64) for var in k.state])
            .reshape(len(k.state), tables.n_neurons) if i in self.kinds else np.zeros((len(k.state), 0), np.int64)
            for i, k in enumerate(NEURONS.values())))

    @property
    def kinds(self) -> tuple:
        """The registered kinds (ids) the plan's neurons run."""
        return self.memoised("kinds", lambda: tuple(int(k) for k in np.unique(self.kind)))


def state_vars(record) -> tuple:
    """The model state variables in ``record`` recorded besides spikes, v and u (into ``Result.state``)."""
    return tuple(r for r in record if r not in ("spikes", "v", "u", "weights"))


def _state_rows(name: str) -> np.ndarray:
    """Per registered kind, the state row recorded as ``name`` ("v", "u"), or -1."""
    return np.array([k.state.index(name) if name in k.state else -1 for k in NEURONS.values()], np.int64)


def state_var(kind: np.ndarray, S: tuple, name: str) -> np.ndarray:
    """The state variable ``name`` of every neuron (0 where its model has none), from the per-kind rows."""
    out = np.zeros(kind.size, np.int64)
    for i, row in enumerate(_state_rows(name)):
        if row >= 0 and S[i].shape[1]:          # (a kind no neuron runs has rows of no columns)
            mine = kind == i
            out[mine] = S[i][row, mine]
    return out


def kind_of_pop(tables, population: str):
    """The registered neuron kind of a population of the tables."""
    model = tables.pop_models[tables.pop_names.index(population)]
    return next(k for k in NEURONS.values() if k.name == model)


def neuron_kinds(tables) -> np.ndarray:
    """Each neuron's model id (the registry's order) from the tables' population models."""
    ids = {k.name: i for i, k in enumerate(NEURONS.values())}
    unknown = sorted(set(tables.pop_models) - set(ids))
    if unknown:
        raise BackendError(f"per-core tables: neuron model(s) {unknown} are not registered in this neurocomp "
                           f"(known: {', '.join(ids)}); recompile the network with this version")
    pop_kind = np.array([ids[m] for m in tables.pop_models], np.int64)
    return pop_kind[np.asarray(tables.neuron_pop, np.int64)] if pop_kind.size else np.zeros(0, np.int64)


def kernel_params(tables, kind: np.ndarray) -> tuple:
    """Per registered kind, its kernel parameter rows over all N neurons (``prepare`` of the kind's kernel);
    a kind none of the neurons has gets its rows with no columns (the kernel reads a kind's rows only at its
    own neurons: int64 rows of every registered kind over all N cost ~350 bytes per neuron)."""
    out = []
    present = np.bincount(kind, minlength=len(NEURONS)) > 0
    for i, k in enumerate(NEURONS.values()):
        if not present[i]:
            rows = np.asarray(k.kernel_prepare({p: np.zeros(0, np.int64) for p in k.params}))
            out.append(np.zeros((rows.shape[0] if rows.ndim == 2 else 0, 0), np.int64))
            continue
        params = {p: np.asarray(tables.neuron_params[p], np.int64) for p in k.params}
        rows = np.ascontiguousarray(k.kernel_prepare(params), np.int64)
        # no neurons (a rank of a distributed run may hold none): the row count is unknown and never read
        out.append(rows.reshape(-1, tables.n_neurons) if tables.n_neurons else np.zeros((0, 0), np.int64))
    return tuple(out)


def onset_segments(tables, first: int, last: int):
    """Steps ``first..last`` of the simulation cut at the populations' onsets (``Network.onsets``,
    ``tables.pop_onset``): per segment ``(first, last, held, restart)``: in its steps the neurons in ``held``
    run with their drive parameters (``DRIVE_PARAMS``) at 0; the neurons in ``restart`` start its first step
    from their initial state. One segment (no masks) when no population has an onset. A run continued
    from saved state (``Simulator``) asks for its own window: the cuts are the same as in one run."""
    onset = np.asarray(tables.pop_onset, np.int64)
    if not onset.size or not onset.any():                # no population waits: one segment
        return [(first, last, None, None)]
    onset = onset[np.asarray(tables.neuron_pop, np.int64)]
    cuts = sorted({int(o) for o in onset if first <= o < last})
    starts = [first] + [o + 1 for o in cuts]
    ends = cuts + [last]
    return [(a, b, onset >= a, (onset == a - 1) if a > 1 else None) for a, b in zip(starts, ends)]


def held_tables(tables, held):
    """``tables`` with the drive parameters of the ``held`` neurons at 0 (None: unchanged)."""
    if held is None or not held.any():
        return tables
    params = {k: (np.where(held, 0, v).astype(np.asarray(v).dtype) if k in DRIVE_PARAMS else v)
              for k, v in tables.neuron_params.items()}
    return replace(tables, neuron_params=params)


def restart(plan: "Plan", tables, S: tuple, mask) -> None:
    """Set the state of the neurons in ``mask`` to their initial values (in place): the rows of the models the
    plan's neurons run (another model's rows of a neuron are never read or written)."""
    if mask is None or not mask.any():
        return
    init = plan.initial_rows(tables)
    for k in plan.kinds:
        S[k][:, mask] = init[k][:, mask]


def check_tables(tables) -> None:
    """Index bounds of every table (numba does not bounds-check: a bad table must not crash)."""
    n, c, s = tables.n_neurons, int(tables.n_cores), tables.n_sources
    a, y, p = tables.n_axons, tables.n_synapses, len(tables.proj_names)

    def bad(what, fix="recompile the network"):
        raise BackendError(f"per-core tables: {what}; the tables are inconsistent ({fix})")

    ptrs = (("core_neuron_ptr", tables.core_neuron_ptr, c, n), ("route_ptr", tables.route_ptr, s, None),
            ("core_axon_ptr", tables.core_axon_ptr, c, a), ("axon_syn_ptr", tables.axon_syn_ptr, a, y))
    for name, ptr, count, total in ptrs:
        if ptr.shape != (count + 1,) or ptr[0] != 0 or np.any(np.diff(ptr) < 0) or \
                (total is not None and ptr[-1] != total):
            bad(f"'{name}' must be {count + 1} non-decreasing offsets from 0 to {total}")
    r = int(tables.route_ptr[-1])
    if tables.route_core.shape != (r,) or tables.route_axon.shape != (r,):
        bad(f"'route_core'/'route_axon' must have {r} entries")
    if s != n + int(tables.input_ptr[-1]):
        bad(f"{s} sources but {n} neurons + {int(tables.input_ptr[-1])} input channels")
    for name, arr, hi in (("route_core", tables.route_core, c), ("route_axon", tables.route_axon, a),
                          ("syn_post", tables.syn_post, n), ("syn_proj", tables.syn_proj, p),
                          ("neuron_pop", tables.neuron_pop, len(tables.pop_names)),
                          ("proj_target_pop", tables.proj_target_pop, len(tables.pop_names))):
        if arr.size and (arr.min() < 0 or arr.max() >= hi):
            bad(f"'{name}' has entries outside 0..{hi - 1}")
    for name in ("syn_weight", "syn_delay", "syn_proj"):
        if getattr(tables, name).shape != (y,):
            bad(f"'{name}' must have one entry per synapse ({y})")
    if y:
        if tables.syn_delay.min() < 0:
            bad("negative synaptic delays")
        i = K.first_delay_over(tables.syn_delay, tables.syn_proj, np.asarray(tables.proj_max_delay))
        if i >= 0:
            k = int(tables.syn_proj[i])
            bad(f"projection '{tables.proj_names[k]}' has a synapse delay above its proj_max_delay "
                f"{int(tables.proj_max_delay[k])}")
    if tables.syn_weight.dtype.kind != "i" or tables.syn_weight.dtype.itemsize > 4:
        bad(f"syn_weight is {tables.syn_weight.dtype}; it must be int8, int16 or int32 (Lava's weights are int32)")
    # a packet lands on an axon of the core it is sent to, and an axon only feeds neurons of its core
    axon_core = np.repeat(np.arange(c, dtype=np.int64), np.diff(tables.core_axon_ptr))
    wrong = np.nonzero(axon_core[tables.route_axon] != tables.route_core)[0]
    if wrong.size:
        bad(f"route {int(wrong[0])} sends to core {int(tables.route_core[wrong[0]])} but names axon "
            f"{int(tables.route_axon[wrong[0]])} of core {int(axon_core[tables.route_axon[wrong[0]]])}")
    neuron_core = np.repeat(np.arange(c, dtype=np.int64), np.diff(tables.core_neuron_ptr))
    i, core = K.first_foreign_synapse(tables.axon_syn_ptr, axon_core, tables.syn_post, neuron_core)
    if i >= 0 and tables.n_psum:         # a split dendrite: allowed where a partial-sum route serves the neuron
        i, core = _first_unserved_synapse(tables, axon_core, neuron_core)
    if i >= 0:
        bad(f"synapse {int(i)} on core {int(core)} targets neuron {int(tables.syn_post[i])} "
            f"of core {int(neuron_core[tables.syn_post[i]])}")


def _first_unserved_synapse(tables, axon_core, neuron_core) -> tuple[int, int]:
    """``(i, core)``: the first synapse off its neuron's core that no partial-sum route forwards, or (-1, -1)."""
    n, c = max(tables.n_neurons, 1), int(tables.n_cores)
    pc, pn, ptr = (np.asarray(a, np.int64) for a in (tables.psum_core, tables.psum_neuron, tables.core_psum_ptr))
    if ptr.shape != (c + 1,) or pc.shape != pn.shape or ptr[-1] != pc.size or pc.min() < 0 or pc.max() >= c \
            or pn.min() < 0 or pn.max() >= n or np.any(np.diff(pc * n + pn) <= 0):
        raise BackendError("per-core tables: the partial-sum routes (psum_core, psum_neuron, core_psum_ptr) are "
                           "malformed; the tables are inconsistent (recompile the network)")
    syn_core = np.repeat(axon_core, np.diff(tables.axon_syn_ptr))
    foreign = np.nonzero(syn_core != neuron_core[tables.syn_post])[0]
    bad = foreign[~np.isin(syn_core[foreign] * n + tables.syn_post[foreign], pc * n + pn)]
    return (int(bad[0]), int(syn_core[bad[0]])) if bad.size else (-1, -1)


def make_plan(tables, copies: bool = True, count_rows: bool = True) -> Plan:
    """Lay out one dendrite per (neuron, projection into its population), each with a delay ring, and copy
    the synapses per route. Where they form long runs of consecutive ring cells (``cell_runs``: a conv's output
    channels at one position, laid out channel-minor by ``cell_layout``; a dense layer's posts), the kernel
    walks the runs instead of the copies. It falls back to the per-copy walk with delays (any projection not
    mode 0), a DelayDense's wrapped products or binary and graded projections mixed, split dendrites (the
    partial-sum counters are per copy), runs shorter than ``RUN_MIN`` copies on average, and a run whose
    weights learning rewrites (``EngineState.bound``). A plan with runs keeps no per-copy columns where nothing
    can rewrite them: graded projections (no learning rule runs on graded messages), or ``copies=False``, which
    a caller passes when the run has no learning projection (5 bytes per synapse copy less: an int32 ring cell
    and the weight). ``count_rows``: the counters' per-core rows of the sources reaching many cores
    (``kernels.count_rows``); a caller that counts nothing passes False (a counted run without them walks
    the routes instead, with the same counts)."""
    check_tables(tables)
    n = tables.n_neurons
    n_pop = len(tables.pop_names)
    target = np.asarray(tables.proj_target_pop, np.int64)
    n_proj = target.size
    port = np.asarray(tables.proj_port, np.int64)
    order = np.lexsort((port, target))                 # projections grouped by target population, then port
    n_in = np.bincount(target, minlength=n_pop).astype(np.int64)
    n_port0 = np.bincount(target[port == 0], minlength=n_pop).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(n_in)[:-1]])
    proj_rank = np.empty(n_proj, np.int64)
    proj_rank[order] = np.arange(n_proj) - first[target[order]]
    incoming = np.full((n_pop, max(int(n_in.max(initial=0)), 1)), -1, np.int64)
    incoming[target[order], proj_rank[order]] = order

    npop = np.asarray(tables.neuron_pop, np.int64)
    counts = n_in[npop]
    dend_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    owner = np.repeat(np.arange(n, dtype=np.int64), counts)
    dend_proj = incoming[npop[owner], np.arange(owner.size) - dend_ptr[owner]].astype(np.int64)
    dend_mid = dend_ptr[:-1] + n_port0[npop]           # neuron j: port-0 dendrites, then port-1 ones

    proj_len = np.asarray(tables.proj_max_delay, np.int64) + 1
    exp = np.asarray(tables.proj_weight_exp, np.int64)
    proj_xf, proj_graded = K.projection_codes(tables.proj_lava_kinds, tables.proj_message_bits)
    proj_mode = np.where(proj_len == 1, K.MODE_DIRECT,
                         np.where((exp >= 0) & (proj_xf != K.XF_CAST24), K.MODE_LINEAR, K.MODE_SCRATCH)).astype(np.int64)
    dend_len = proj_len[dend_proj]
    neuron_core = np.repeat(np.arange(int(tables.n_cores), dtype=np.int64), np.diff(tables.core_neuron_ptr))
    # conv projections without delays: their dendrites' cells channel-minor (``cell_layout``)
    conv_plane = np.where(proj_len == 1, np.asarray(tables.proj_conv_plane, np.int64), 0)
    dend_off = cell_layout(dend_len, dend_proj, dend_ptr, proj_rank, conv_plane, neuron_core, npop,
                           np.asarray(tables.neuron_index, np.int64))
    ring_size = int(dend_len.sum())
    scratch_size = ring_size if np.any(proj_mode == K.MODE_SCRATCH) else 0
    idx = index_dtype(max(ring_size, dend_proj.size + 1))       # the dendrites' offsets and pointers
    dend_ptr, dend_mid, dend_off = dend_ptr.astype(idx), dend_mid.astype(idx), dend_off.astype(idx)
    dend_proj = dend_proj.astype(index_dtype(n_proj))

    # synapses copied in route order: route r -> synapses of axon route_axon[r] (one numba pass)
    ax = tables.route_axon
    lo, hi = tables.axon_syn_ptr[ax], tables.axon_syn_ptr[ax + 1]
    route_syn_ptr = np.concatenate([[0], np.cumsum(hi - lo)]).astype(np.int64)
    n_copy = int(route_syn_ptr[-1])
    if n_copy >= 1 << 32:     # the kernel sums a core's synaptic ops of a step in 32 bits (``K.PACKET_ONE``)
        raise BackendError(f"the emulator's plan would hold {n_copy} synapse copies, more than its per-step "
                           "counters can sum (2**32 - 1): run it over MPI ranks, each holding its share "
                           "(neurocomp shard, docs/mpi.md)")
    route_syn_ptr = route_syn_ptr.astype(index_dtype(n_copy + 1))
    graded = bool(np.any(proj_graded != K.SYN_BINARY))        # some projection multiplies its weights by payloads
    direct = bool(np.all(proj_mode == K.MODE_DIRECT))
    # the copy is what the kernel streams: the tables' own weight dtype (int8/int16 where the weights fit), an
    # int32 ring cell; delays and projections int16 (at most a few kernel specialisations: numba compiles one
    # per dtype combination)
    syn_ring = np.empty(n_copy, index_dtype(ring_size))
    syn_weight = np.empty(n_copy, tables.syn_weight.dtype)
    syn_delay = np.empty(0 if direct and not graded else n_copy, np.int16)    # graded: the kernel needs the
    syn_proj = np.empty(0 if direct and not graded else n_copy, narrowest_int(0, max(n_proj, 2 ** 8)))
    K.plan_synapses(ax, tables.axon_syn_ptr, tables.syn_post, tables.syn_proj, tables.syn_weight, tables.syn_delay,
                    dend_ptr, dend_off, proj_rank, route_syn_ptr, syn_ring, syn_weight, syn_delay, syn_proj,
                    (conv_plane > 0).astype(np.uint8))
    kind = neuron_kinds(tables)
    psums = partial_sum_plan(tables, ax, neuron_core)
    dendrites = K.DendriteArrays(dend_ptr, dend_mid, dend_proj, dend_off, proj_len, exp, proj_xf, proj_mode, direct)
    split = K.phase3_split(tables.route_ptr, tables.route_core, route_syn_ptr, int(tables.n_cores), psums.enabled)
    no_runs = np.zeros(0, np.int64)
    runs = (no_runs, no_runs, np.zeros(0, np.int32), no_runs, syn_weight[:0].copy())
    if direct and not psums.enabled and (not graded or np.all(proj_graded == K.SYN_GRADED)):
        core_cell = K.core_first_cells(tables.core_neuron_ptr, dend_ptr, dend_off, ring_size)
        pads = route_pads(tables.route_ptr, tables.route_core, syn_ring, route_syn_ptr, core_cell)
        found = cell_runs(syn_ring, syn_weight, route_syn_ptr, min_mean=RUN_MIN, pads=pads)
        if found is not None:                      # long runs: the kernel walks them, not the copies' cells
            runs = found
            if graded or not copies:     # no learning rule rewrites the copies: nothing reads them
                syn_ring, syn_weight, syn_delay, syn_proj = (a[:0].copy() for a in (syn_ring, syn_weight, syn_delay,
                                                                                     syn_proj))
    # the rows depend on the tables alone: kept for the next counted run of the same tables (~5 ms for Brunel's
    # 6,000 x 487, a tenth of what its 1000 counted steps add to a run)
    count = derived("count_rows", tables, (K.COUNT_ROW_DENSITY, K.COUNT_ROW_BYTES), lambda: K.count_rows(
        tables.route_ptr, tables.route_core, route_syn_ptr, int(tables.n_cores))) if count_rows \
        else (np.zeros(0, np.int32), np.zeros((0, 0), np.uint8))
    # a source's runs joined across its routes, where that at least halves them (``kernels.fuse_runs``)
    fused = (no_runs, no_runs, np.zeros(0, np.int32), no_runs)
    if runs[0].size:
        joined = K.fuse_runs(np.asarray(tables.route_ptr, np.int64), *runs[:4])
        if 2 * joined[1].size <= runs[1].size:
            fused = joined
    routes = K.RouteArrays(neuron_core, tables.route_ptr, tables.route_core, route_syn_ptr, syn_ring, syn_weight,
                           syn_delay, syn_proj, graded, proj_graded, split, *runs, *count, *fused,
                           *K.one_runs(*fused))
    bound = sum_bounds(tables, (proj_mode == K.MODE_DIRECT) & (exp < 0) & (proj_xf == K.XF_SHIFT)
                       & (proj_graded == K.SYN_BINARY), copies, dend_ptr, dend_proj, proj_rank)
    return Plan(neuron_core, kind, kernel_params(tables, kind), dendrites, routes, ring_size, scratch_size, psums,
                K.ring_dtype(proj_mode, exp, proj_xf, bound))


#: The largest |weight| a learning rule can write (Lava's ``clip_weights(..., 8)``: [-257, 255],
#: ``neurocomp.semantics.learning``), with margin.
LEARNED_WEIGHT_BOUND = 512


def sum_bounds(tables, wanted, learning: bool, dend_ptr, dend_proj, proj_rank) -> np.ndarray:
    """float64 [P]: for each ``wanted`` projection (binary: a synapse adds its weight), the largest sum of
    |weight| over one dendrite's synapses (a post neuron's of that projection: ``dend_ptr``, ``dend_proj``,
    ``proj_rank`` as in :func:`make_plan`), the most its cell can hold in a step (every weight at least
    ``LEARNED_WEIGHT_BOUND`` where ``learning`` may rewrite them); inf for the others. A right-shifting
    projection whose bound stays below 2^31 keeps ``kernels.ring_dtype``'s int32 rings exact (dense 1k x 1k:
    1000 x 100). One pass over the synapses, 8 bytes per dendrite."""
    out = np.full(len(wanted), np.inf)
    if np.any(wanted):
        floor = LEARNED_WEIGHT_BOUND if learning else 0
        K.dendrite_abs_sums(tables.syn_post, tables.syn_proj, tables.syn_weight, dend_ptr, dend_proj, proj_rank,
                            wanted, floor, out)
    return out


#: Fewest synapse copies per run, on average, for which the plan hands the kernel runs of consecutive ring
#: cells (``cell_runs``) instead of one cell per copy: below it the per-run loads cost more than they save.
RUN_MIN = 8
#: Largest hole (cells no copy of the run adds into) a run bridges with zero weights: a conv's zero weights
#: are not stored (``Conv2d.to_sparse``), and adding 0 costs less in a vectorised run than starting a new one.
RUN_GAP = 3


def cell_layout(dend_len, dend_proj, dend_ptr, proj_rank, conv_plane, neuron_core, neuron_pop, neuron_index):
    """``dend_off``: the first ring cell of each dendrite. Cells follow the dendrites (neuron by neuron, core
    by core), except that the dendrites of a conv projection (``conv_plane[p] > 0``: its output plane H*W,
    post neuron i being channel ``i // plane`` at position ``i % plane``) are ordered by (projection,
    position, channel) within their core and population: the channels of one output position are then
    consecutive cells, so an input event's synapses at one kernel offset add into one run of cells
    (``cell_runs``). Each core keeps its own cell range (phase 3's groups own disjoint cells)."""
    n_dend = dend_len.size
    if not n_dend or not np.any(conv_plane[dend_proj] > 0):
        return np.concatenate([[0], np.cumsum(dend_len)[:-1]]).astype(np.int64) if n_dend else np.zeros(0, np.int64)
    owner = np.repeat(np.arange(dend_ptr.size - 1, dtype=np.int64), np.diff(dend_ptr))
    rank = proj_rank[dend_proj]
    plane = conv_plane[dend_proj]
    conv = plane > 0
    idx = neuron_index[owner]
    pos = np.where(conv, idx % np.maximum(plane, 1), idx)
    minor = np.where(conv, idx // np.maximum(plane, 1), rank)
    order = np.lexsort((minor, pos, np.where(conv, rank, -1), neuron_pop[owner], neuron_core[owner]))
    off = np.empty(n_dend, np.int64)
    off[order] = np.concatenate([[0], np.cumsum(dend_len[order])[:-1]])
    return off


def route_pads(route_ptr, route_core, syn_ring, route_syn_ptr, core_cell, gap: int = None) -> np.ndarray:
    """int64 [2, R]: zero-weight cells each route's first run starts before its first copy (row 0) and its last
    run ends after its last copy (row 1), so that a source's rows join across a hole at a core boundary.

    A Dense row into a layer spread over consecutive cores is cut at every route; ``kernels.fuse_runs`` joins
    the pieces where one ends at the cell the next begins. A zero weight on the first or last neuron of a core
    (no synapse there) left a hole the per-route runs cannot bridge (``RUN_GAP`` holes are bridged only inside
    a route), so the row stayed two or more runs: chain_quiet's input rows averaged ~2 (1 in 90 weights is 0),
    ~35 ns a spiking source in vector-loop remainders and set-up. Here the hole between route r-1's last copy
    and route r's first (same source, at most ``gap`` cells) is given to the two routes, each padding with the
    cells of its own core (``core_cell``: ``kernels.core_first_cells``): a group still writes only its own
    cores' cells, and adding 0 leaves a cell as it is. The counters count copies (``route_syn_ptr``), never
    pads. Only holes both cores cover are padded.

    The row's two ends likewise: a source's first route starts at its core's first cell and its last route ends
    at its core's end where at most ``gap`` cells are missing there and the route covers at least
    ``END_PAD_COVER`` of its core's cells (a Dense row, not a conv's few cells). A zero first or last weight
    (1 in ~90 after quantization) gave the row a span of cells of its own, and ``kernels._deliver`` adds
    together only rows over one span: dense 1k x 1k's 100 input rows a step took ~29 passes, not 25 (an
    unscripted count)."""
    gap = RUN_GAP if gap is None else gap
    route_syn_ptr = np.asarray(route_syn_ptr, np.int64)
    n_routes = route_syn_ptr.size - 1
    pads = np.zeros((2, n_routes), np.int64)
    ring = np.asarray(syn_ring)                  # (read at a few copies a route, each cast as read: no int64 copy
    # of every synapse copy's cell)
    core = np.asarray(route_core, np.int64)
    _end_pads(np.asarray(route_ptr, np.int64), core, ring, route_syn_ptr, np.asarray(core_cell, np.int64), gap, pads)
    if n_routes < 2:
        return pads
    first, end = route_syn_ptr[:-1], route_syn_ptr[1:]
    r = np.arange(1, n_routes)
    ok = (end[r - 1] > first[r - 1]) & (end[r] > first[r])          # consecutive routes, both with copies,
    same = np.ones(n_routes, bool)
    firsts = np.asarray(route_ptr, np.int64)[:-1]
    same[firsts[firsts < n_routes]] = False                          # of one source (r not its first route)
    ok &= same[r]
    r = r[ok]
    e = ring[end[r - 1] - 1].astype(np.int64) + 1                    # past route r-1's last cell
    s = ring[first[r]].astype(np.int64)                              # route r's first cell
    hole = s - e
    trail = np.maximum(np.minimum(core_cell[core[r - 1] + 1], s) - e, 0)     # route r-1's core's cells
    lead = np.maximum(s - np.maximum(core_cell[core[r]], e), 0)              # route r's
    ok = (hole >= 1) & (hole <= gap) & (trail + lead == hole)
    pads[1, r[ok] - 1] = trail[ok]
    pads[0, r[ok]] = lead[ok]
    return pads


#: A route covering at least this share of its core's cells gets the pads to its core's ends (``route_pads``).
END_PAD_COVER = 0.75


def _end_pads(route_ptr, route_core, ring, route_syn_ptr, core_cell, gap, pads) -> None:
    """``pads[0]`` of each source's first route and ``pads[1]`` of its last: the cells up to its core's first
    cell and from its last copy to its core's end, where 1..``gap`` and the route covers ``END_PAD_COVER`` of
    the core (``route_pads``)."""
    has = route_ptr[1:] > route_ptr[:-1]
    for row, r in ((0, route_ptr[:-1][has]), (1, route_ptr[1:][has] - 1)):
        first, end = route_syn_ptr[r], route_syn_ptr[r + 1]
        r, first, end = r[end > first], first[end > first], end[end > first]
        lo, hi = core_cell[route_core[r]], core_cell[route_core[r] + 1]
        pad = ring[first].astype(np.int64) - lo if row == 0 else hi - (ring[end - 1].astype(np.int64) + 1)
        ok = (pad >= 1) & (pad <= gap) & (end - first >= END_PAD_COVER * (hi - lo))
        pads[row, r[ok]] = pad[ok]


def cell_runs(syn_ring, syn_weight, route_syn_ptr, gap: int = None, min_mean: int = 0, pads=None):
    """``(route_run_ptr, run_start, run_len, run_cell, run_weight)``: the synapse copies (cells ``syn_ring``,
    weights ``syn_weight``, route r's from ``route_syn_ptr[r]``) cut into runs of increasing cells, never
    across routes (a route's cells are one core's: a run stays in its core's range); holes of up to ``gap``
    cells (``RUN_GAP``) inside a run get weight 0, and so do a route's ``pads`` (``route_pads``; none: zeros)
    before its first run and after its last. Route r's runs are ``route_run_ptr[r]..route_run_ptr[r+1]``;
    run i adds ``run_weight[run_start[i]..+run_len[i]]`` into the consecutive cells from ``run_cell[i]``
    (``RouteArrays``); runs with equal weights share their slice (``kernels.dedup_runs``). None when the runs
    average fewer than ``min_mean`` copies: found before the weights are laid out and deduplicated, which
    cost a random sparse network ~0.3 s per 3M copies for runs the kernel would not walk.

    Two numba passes (``kernels.run_cuts``, ``kernels.run_layout``) hold only their outputs; the numpy spec,
    :func:`cell_runs_np`, held ~50 bytes per copy of temporaries (a 4M-neuron / 400M-synapse plan peaked at
    20.8 GB on this 24 GB machine, benchmarks/RESULTS.md "The plan's runs in two numba passes")."""
    gap = RUN_GAP if gap is None else gap
    route_syn_ptr = np.asarray(route_syn_ptr, np.int64)
    pads = np.zeros((2, route_syn_ptr.size - 1), np.int64) if pads is None else np.asarray(pads, np.int64)
    route_run_ptr, n_runs, total = K.run_cuts(syn_ring, route_syn_ptr, gap, pads)
    if n_runs * min_mean > syn_ring.size:
        return None
    run_weight = np.zeros(total, syn_weight.dtype)
    run_pos, run_cell = K.run_layout(syn_ring, syn_weight, route_syn_ptr, gap, pads, n_runs, run_weight)
    start, length, pool = K.dedup_runs(run_pos, run_weight)
    return route_run_ptr, start, length.astype(np.int32), run_cell, pool


def cell_runs_np(syn_ring, syn_weight, route_syn_ptr, gap: int = None, min_mean: int = 0, pads=None):
    """The numpy spec of :func:`cell_runs` (equal outputs: tests/test_threads.py)."""
    gap = RUN_GAP if gap is None else gap
    n = syn_ring.size
    route_syn_ptr = np.asarray(route_syn_ptr, np.int64)
    n_routes = route_syn_ptr.size - 1
    pads = np.zeros((2, n_routes), np.int64) if pads is None else np.asarray(pads, np.int64)
    ring = np.asarray(syn_ring, np.int64)
    step = np.diff(ring)
    cut = np.ones(n, bool)
    cut[1:] = (step < 1) | (step > gap + 1)
    starts = route_syn_ptr[:-1]
    cut[starts[starts < n]] = True
    run_start = np.nonzero(cut)[0]
    if run_start.size * min_mean > n:
        return None
    route = np.searchsorted(route_syn_ptr, np.arange(n), side="right") - 1     # each copy's route
    lead = np.zeros(n, np.int64)                    # a route's leading pad, at its first copy
    is_first = np.zeros(n, bool)
    is_first[starts[starts < n]] = True
    lead[is_first] = pads[0, route[is_first]]
    pad = np.zeros(n, np.int64)                     # zero-weight cells before copy y inside its run, or before
    pad[1:] = np.where(cut[1:], 0, step - 1)        # it as its route's leading pad and the trailing pads of the
    pad += lead                                     # routes ending just before it
    ends = route_syn_ptr[1:]
    np.add.at(pad, ends[ends < n], pads[1, ends < n])
    pos = np.arange(n, dtype=np.int64) + np.cumsum(pad)
    total = int(pos[-1]) + 1 + int(pads[1, ends >= n].sum()) if n else int(pads.sum())
    run_weight = np.zeros(total, syn_weight.dtype)
    run_weight[pos] = syn_weight
    route_run_ptr = np.searchsorted(run_start, route_syn_ptr).astype(np.int64)
    run_pos = pos[run_start] - lead[run_start]
    start, length, pool = K.dedup_runs(np.append(run_pos, total).astype(np.int64), run_weight)
    return route_run_ptr, start, length.astype(np.int32), ring[run_start] - lead[run_start], pool


def partial_sum_plan(tables, route_axon: np.ndarray, neuron_core: np.ndarray) -> K.PartialSumArrays:
    """The partial-sum route of every synapse copy (in the plan's route order; -1 for a synapse on its
    neuron's core) and each route's source and destination core. Empty when nothing is split."""
    empty = np.zeros(0, np.int64)
    if not tables.n_psum:
        return K.PartialSumArrays(False, empty, empty, empty, empty)
    n = max(tables.n_neurons, 1)
    key = np.asarray(tables.psum_core, np.int64) * n + tables.psum_neuron       # sorted (tables build it so)
    syn_core = tables.synapse_core()
    syn_key = syn_core * n + tables.syn_post
    k = np.searchsorted(key, syn_key)
    k = np.where((k < key.size) & (key[np.minimum(k, key.size - 1)] == syn_key), k, -1)
    copy_syn = K.ranges(tables.axon_syn_ptr[route_axon], tables.axon_syn_ptr[route_axon + 1])
    return K.PartialSumArrays(True, k[copy_syn].astype(np.int64), np.asarray(tables.psum_core, np.int64),
                              neuron_core[tables.psum_neuron], empty)


# ----------------------------------------------------------------------------------- inputs
def input_spec_of(tables, shapes: dict | None = None, learning=()) -> InputSpec:
    """The graph inputs of ``tables`` for :func:`neurocomp.semantics.inputs.check_input_rows`: channel
    counts from the tables, the ``shapes`` known for some of them, and the third-factor (reward)
    inputs of the ``learning`` projections (names only the network knows)."""
    sizes = {name: int(tables.input_ptr[i + 1] - tables.input_ptr[i]) for i, name in enumerate(tables.input_names)}
    rewards: dict[str, list] = {}
    for proj in learning:
        tf = proj.learning.third_factor
        if tf is None:
            continue
        if tf not in sizes:
            raise ValidationError(f"learning rule '{proj.learning.name}' of projection '{proj.name}': third "
                                  f"factor '{tf}' is not a graph input of the tables ({list(tables.input_names)})")
        rewards.setdefault(tf, []).append(int(np.shape(proj.connectivity.weights)[0]))
    return InputSpec.of_sizes("the network", sizes, shapes, rewards)


def encode_inputs(tables, rows: dict, steps: int, rewards=()) -> K.InputEvents:
    """Validated input rows (``check_input_rows``: uint8 ``[steps, n]`` per spike input, int64 per graded one) ->
    the kernel's per-step event lists: row t-1 fires at step t, as ``in_src[in_ptr[t-1]:in_ptr[t]]`` (source ids,
    channel c of input i is ``N + input_ptr[i] + c``), sorted by source within a step. ``rewards``: third-factor
    inputs, never routed. A spike input is encoded by ``input_events.spike_events`` (its numpy spec is the graded
    branch here, ``np.nonzero``, with values 1)."""
    n = tables.n_neurons
    parts = []                                    # per input: (in_ptr, src, val)
    for i, name in enumerate(tables.input_names):
        if name in rewards:
            continue
        n_ch = int(tables.input_ptr[i + 1] - tables.input_ptr[i])
        arr = rows[name]
        if arr.shape != (steps, n_ch):
            raise BackendError(f"input '{name}': the network gives it {arr.shape[1]} channels but the per-core "
                               f"tables {n_ch}; the tables are not those of this network (recompile it)")
        base = n + int(tables.input_ptr[i])
        if arr.dtype == np.uint8:
            parts.append(spike_events(arr, base)[:3])
        else:
            r, ch = np.nonzero(arr)
            in_ptr = np.zeros(steps + 1, np.int64)
            np.cumsum(np.bincount(r, minlength=steps), out=in_ptr[1:])
            parts.append((in_ptr, ch.astype(np.int64) + base,
                          np.asarray(arr[r, ch], np.int64)))       # a graded input's value (a spike's: 1)
    if len(parts) == 1:             # one input: its events are in (step, source) order already
        return K.InputEvents(*parts[0])
    if not parts:
        return K.InputEvents(np.zeros(steps + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    step_of = [np.repeat(np.arange(steps), np.diff(p[0])) for p in parts]
    rows_ev, src, val = np.concatenate(step_of), np.concatenate([p[1] for p in parts]), \
        np.concatenate([p[2] for p in parts])
    order = np.lexsort((src, rows_ev))
    in_ptr = np.zeros(steps + 1, np.int64)
    in_ptr[1:] = np.cumsum(np.sum([np.diff(p[0]) for p in parts], axis=0))
    return K.InputEvents(in_ptr, src[order], val[order])


# ----------------------------------------------------------------------------------- recording
def _record_layout(tables, record: tuple, populations):
    """Columns of the recorded neurons: ``(rec_col [N] (-1: not recorded), {population: (a, b)}, k)``."""
    pops = list(tables.pop_names) if populations is None else list(populations)
    unknown = [p for p in pops if p not in tables.pop_names]
    if unknown:
        raise ValidationError(f"populations: {unknown} are not neuron populations of the network "
                              f"(known: {list(tables.pop_names)})")
    if not record:
        pops = []
    rec_col = np.full(tables.n_neurons, -1, np.int64)
    cols, off = {}, 0
    for name in pops:
        gid = tables.pop_gid[name]
        rec_col[gid] = off + np.arange(gid.size)
        cols[name] = (off, off + gid.size)
        off += gid.size
    return rec_col, cols, off


def _check_budget(needed: int, steps: int, k: int, record, n_cores: int, counters: bool, budget) -> None:
    if budget is None and needed < SMALL_RUN_BYTES:
        return
    if budget is None:
        avail = available_memory()
        if avail <= 0:
            return
        budget = int(avail * MEMORY_FRACTION)
    if needed > budget:
        per_step = needed / max(steps, 1)
        raise BackendError(
            f"emulator: recording {list(record)} of {k:,} neurons" + (f" and counters of {n_cores} cores" if counters
                                                                        else "")
            + f" for {steps:,} steps needs {needed / 2**20:,.1f} MiB, over the budget of {budget / 2**20:,.1f} MiB "
            f"({MEMORY_FRACTION:.0%} of available RAM). Run fewer steps (at most ~{int(budget // per_step):,}), "
            "record fewer variables (e.g. record=('spikes',)) or populations (populations=[...]), "
            "or pass counters=False")


# ----------------------------------------------------------------------------------- run
@dataclass
class _Learner:
    """One learning projection during a run: its state, where its weights live, its spike sources."""
    proj: object
    state: S.LearningState
    slots: np.ndarray            # [n_post, n_pre] index into the run's synapse-weight array (-1: absent)
    pre_cols: tuple | None       # recorded columns of a population source, or None for a graph input
    pre_rows: np.ndarray | None  # [steps, n_pre] bool spikes of a graph-input source
    post_cols: tuple
    rewards: np.ndarray | None   # [steps, n_post] int64 (three-factor rules)
    per_core: np.ndarray         # [n_cores] synapse updates per learning epoch on each core
    per_step: np.ndarray | None  # [steps, n_post, n_pre] weights after each step ("weights" recorded)


def _synapse_positions(tables, plan_order: bool) -> np.ndarray:
    """Position of each table synapse in the array the engine runs on (the plan's per-route copy, or
    the tables themselves for the numpy spec)."""
    n_syn = tables.n_synapses
    if not plan_order:
        return np.arange(n_syn, dtype=np.int64)
    ax = np.asarray(tables.route_axon, np.int64)
    idx = K.ranges(tables.axon_syn_ptr[ax], tables.axon_syn_ptr[ax + 1])
    pos = np.full(n_syn, -1, np.int64)
    pos[idx] = np.arange(idx.size, dtype=np.int64)
    return pos


def learning_slots(tables, proj_index: int, n_post: int, n_pre: int, positions: np.ndarray) -> np.ndarray:
    """``slots[post, pre]``: where synapse (post, pre) of projection ``proj_index`` sits in the run's
    weight array (``positions`` maps table synapses there), -1 for a synapse the tables do not hold."""
    n = tables.n_neurons
    syn = np.nonzero(np.asarray(tables.syn_proj) == proj_index)[0]
    name = tables.proj_names[proj_index]
    if syn.size != n_post * n_pre:
        raise BackendError(f"per-core tables: projection '{name}' has {syn.size} synapses but its learning rule "
                           f"needs all {n_post} x {n_pre} (zeros included); the tables do not match the network's "
                           "learning rules: recompile the network")
    axon = np.repeat(np.arange(tables.n_axons, dtype=np.int64), np.diff(tables.axon_syn_ptr))[syn]
    src = np.asarray(tables.axon_source, np.int64)[axon]
    post = np.asarray(tables.neuron_index, np.int64)[tables.syn_post[syn]]
    from_neuron = src < n
    pre = np.empty(syn.size, np.int64)
    pre[from_neuron] = np.asarray(tables.neuron_index, np.int64)[src[from_neuron]]
    ch = src[~from_neuron] - n
    if ch.size:   # channel id -> index within its graph input
        inp = np.searchsorted(tables.input_ptr, ch, side="right") - 1
        pre[~from_neuron] = ch - np.asarray(tables.input_ptr, np.int64)[inp]
    if syn.size and (post.max() >= n_post or pre.max() >= n_pre or pre.min() < 0):
        raise BackendError(f"per-core tables: projection '{name}' addresses neurons outside its {n_post} x {n_pre} "
                           "weight matrix; the tables do not match the network's learning rules: recompile the network")
    slots = np.full((n_post, n_pre), -1, np.int64)
    slots[post, pre] = positions[syn]
    return slots


def _learning_setup(tables, learning, rows: dict, steps: int, cols: dict, positions: np.ndarray,
                    per_step: bool, states: dict) -> list[_Learner]:
    """Weight slots and spike/reward sources of every learning projection (``rows``: the validated input
    rows); ``states``: each projection's LearningState (the run's start, advanced in place)."""
    if not learning:
        return []
    n_cores = int(tables.n_cores)
    neuron_core = np.repeat(np.arange(n_cores, dtype=np.int64), np.diff(tables.core_neuron_ptr))
    out = []
    for proj in learning:
        if proj.name not in tables.proj_names:
            raise ValidationError(f"learning projection '{proj.name}' is not in the tables (projections: "
                                  f"{list(tables.proj_names)}); pass the network the tables were built from")
        k = tables.proj_names.index(proj.name)
        state = states[proj.name]
        n_post, n_pre = state.shape
        slots = learning_slots(tables, k, n_post, n_pre, positions)
        if np.any(slots < 0):
            raise BackendError(f"per-core tables: learning projection '{proj.name}' holds "
                               f"{int((slots >= 0).sum())} distinct synapses of its {n_post * n_pre}; the tables do not "
                               "match the network's learning rules (each synapse once, zeros included): recompile")
        mine = np.asarray(tables.syn_proj) == k
        per_core = np.bincount(neuron_core[tables.syn_post[mine]], minlength=n_cores).astype(np.int64) \
            * len(state.table.targets)
        pre_rows = rows[proj.source].astype(bool) if proj.source in tables.input_names else None
        out.append(_Learner(proj, state, slots, None if pre_rows is not None else cols[proj.source], pre_rows,
                            cols[proj.target], reward_rows(rows, proj, steps), per_core,
                            np.zeros((steps, n_post, n_pre), np.int64) if per_step else None))
    return out


def _learn_step(learners, t: int, row: int, rec_spk, syn_weight, learn_cnt) -> None:
    """The learning part of step t (after the kernel's step t; ``row``: its row in this run's arrays):
    traces, then the epoch's update."""
    for ln in learners:
        pre = ln.pre_rows[row] if ln.pre_rows is not None else rec_spk[row, ln.pre_cols[0]:ln.pre_cols[1]]
        post = rec_spk[row, ln.post_cols[0]:ln.post_cols[1]]
        S.spk_phase(ln.state, t, pre, post, None if ln.rewards is None else ln.rewards[row])
        if L.lrn_phase(ln.state, t):
            L.scatter_weights(ln.state, syn_weight, ln.slots)
            if learn_cnt.size:
                learn_cnt[row] += ln.per_core
        if ln.per_step is not None:
            ln.per_step[row] = ln.state.weights


@dataclass
class _Run:
    """One run's state: validated inputs as kernel events, what is recorded where, the recordings and
    counters (kernel containers, filled in place by either engine) and the learning projections."""
    steps: int
    record: tuple                 # what the engines record: the user's record, plus spikes if events/learning need them
    cols: dict                    # population -> recorded columns (a, b)
    user_record: tuple            # what the Result hands back
    user_cols: dict
    rows: dict                    # validated input rows (neurocomp.semantics.inputs.check_input_rows)
    inputs: K.InputEvents
    recorder: K.Recorder
    counters: K.Counters
    learn_cnt: np.ndarray         # [T, n_cores] learning synapse updates (or [0, 0])
    learners: list
    col_gid: np.ndarray           # the neuron id of each recorded column


def _recording(tables, record: tuple, populations, events: bool, learning: list):
    """What the engines record: ``(record, rec_col, cols, k, user_cols)``. The user's ``record`` of their
    ``populations`` (``user_cols``), widened to every neuron's spikes for the spike ``events``, or to the
    spikes of the learning projections' sources and targets, which learning reads every step."""
    rec_col, cols, k = _record_layout(tables, record, populations)
    user_cols = cols
    learn_pops = {name for p in learning for name in (p.source, p.target) if name in tables.pop_names}
    with_spikes = tuple(record) + ("spikes",) * ("spikes" not in record)
    if events and (populations is not None or "spikes" not in record):
        record = with_spikes
        rec_col, cols, k = _record_layout(tables, record, None)
    elif learn_pops and ("spikes" not in record or not learn_pops <= set(cols)):
        record = with_spikes
        pops = None if populations is None else list(populations) + sorted(learn_pops - set(populations))
        rec_col, cols, k = _record_layout(tables, record, pops)
    return record, rec_col, cols, k, user_cols


def _layout(tables, record: tuple, populations, events: bool, learning: list) -> tuple:
    """:func:`_recording` plus what the recorder needs of it: whether payloads are recorded (spikes of a
    graded population), the extra state variables and their rows per kind."""
    record, rec_col, cols, k, user_cols = _recording(tables, record, populations, events, learning)
    pay = "spikes" in record and any(kind_of_pop(tables, p).graded for p in cols)   # graded: their payloads too
    extra = state_vars(record)
    st_row = np.stack([_state_rows(v) for v in extra], axis=1) if extra else np.zeros((len(NEURONS), 0), np.int64)
    return record, rec_col, cols, k, user_cols, pay, extra, st_row, _column_gids(tables, cols)


def run_layout(tables, plan: Plan, record: tuple, populations, events: bool, learning: list) -> tuple:
    """:func:`_layout`, derived once per plan and remembered (the same layout run after run)."""
    key = ("layout", tuple(record), None if populations is None else tuple(populations), bool(events),
           tuple(p.name for p in learning))
    return plan.memoised(key, lambda: _layout(tables, record, populations, events, learning))


def run_bytes(tables, plan: Plan, steps: int, record: tuple, k: int, extra: tuple, counters: bool,
              learning: list) -> int:
    """Memory a run's recordings, counters and plan take (what :func:`_check_budget` weighs)."""
    n_cores = int(tables.n_cores)
    per_elem = ((1 if "spikes" in record else 0) + (8 if "v" in record else 0) + (8 if "u" in record else 0)
                + 8 * len(extra))
    n_learn_syn = sum(int(np.prod(np.shape(p.connectivity.weights))) for p in learning)
    return steps * k * per_elem + (len(K.COUNTER_NAMES) * steps * n_cores * 8 if counters else 0) + plan.nbytes \
        + (steps * n_cores * 8 if counters and learning else 0) \
        + (steps * n_learn_syn * 8 if "weights" in record else 0)


def _setup_run(tables, plan: Plan, steps: int, record: tuple, rows: dict, reward_names, populations, counters: bool,
               events: bool, memory_budget, learning: list, plan_order: bool, states: dict,
               in_events: K.InputEvents | None = None) -> _Run:
    """The recording layout, the budget check, zeroed recordings/counters, the learning projections
    (``states``: their LearningStates) and the input events (``in_events``: encoded already, ``rows`` None)."""
    user_record = record
    record, rec_col, cols, k, user_cols, pay, extra, st_row, col_gid = run_layout(tables, plan, record, populations,
                                                                                 events, learning)
    n_cores = int(tables.n_cores)
    _check_budget(run_bytes(tables, plan, steps, record, k, extra, counters, learning), steps, k, record, n_cores,
                  counters, memory_budget)
    none = np.zeros((0, 0), np.int64)
    recorder = K.Recorder(rec_col, zeroed((steps, k) if "spikes" in record else (0, 0), np.uint8),
                          zeroed((steps, k), np.int64) if "v" in record else none,
                          zeroed((steps, k), np.int64) if "u" in record else none,
                          zeroed((steps, k), np.int64) if pay else none,
                          "spikes" in record, "v" in record, "u" in record, pay,
                          zeroed((len(extra), steps, k) if extra else (0, 0, 0), np.int64), st_row)
    nc_ = len(K.COUNTER_NAMES)
    cnt = K.Counters(counters, zeroed((nc_, steps, n_cores) if counters else (nc_, 0, 0), np.int64),
                     np.zeros(tables.n_sources if counters else 0, np.int64))
    learn_cnt = zeroed((steps, n_cores) if counters and learning else (0, 0), np.int64)
    learners = _learning_setup(tables, learning, rows, steps, cols,
                               _synapse_positions(tables, plan_order) if learning else None, "weights" in record,
                               states)
    if in_events is None:
        in_events = encode_inputs(tables, rows, steps, reward_names)
    return _Run(steps, record, cols, user_record, user_cols, rows, in_events, recorder, cnt, learn_cnt, learners,
                col_gid)


@dataclass
class EngineState:
    """Everything a simulation carries from one run to the next: a one-shot run starts from
    :func:`initial_state`; a ``Simulator`` keeps one and continues it. ``t``: steps run so far (the
    simulation's clock: delay-ring slots, learning epochs); ``S``: per kind the neurons' state rows;
    ``work``: the numba engine's delay rings (``arrive``: the numpy engine's pending contributions);
    ``syn_weight``: the synapse weights in the engine's order when learning or a write changed them
    (None: the plan's own); ``learning``: each learning projection's LearningState; ``last_src``/
    ``last_val``: the sources that sent at step ``t`` and what (a closed loop's first observation)."""
    engine: str
    t: int
    S: tuple
    work: K.WorkArrays | None
    arrive: np.ndarray | None
    syn_weight: np.ndarray | None
    learning: dict
    last_src: np.ndarray
    last_val: np.ndarray
    _neurons: K.NeuronArrays | None = field(default=None, repr=False)
    _bound: tuple | None = field(default=None, repr=False)

    def neurons(self, tables, plan: Plan) -> K.NeuronArrays:
        """The kernel's neuron container over ``S`` (built once: the state rows are advanced in place)."""
        if self._neurons is None:
            self._neurons = plan.neurons(tables, self.S)
        return self._neurons

    def bound(self, tables, plan: Plan) -> tuple:
        """``(routes, psums, spiked)``: the kernel's containers over this state, built once and kept across
        runs (the weights, partial-sum marks and spike list are advanced or overwritten in place)."""
        if self._bound is None:
            routes = plan.routes
            if self.syn_weight is not None:       # weights written (learning): the copies, not the runs' own
                _check_copies(plan)
                # no runs: their weights emptied in the learned dtype too, so the kernel's signature is that of
                # a network compiled with weights of that width (one compile less)
                routes = routes._replace(syn_weight=self.syn_weight, route_run_ptr=routes.route_run_ptr[:0],
                                         run_weight=np.zeros(0, self.syn_weight.dtype))
            psums = plan.psums._replace(mark=np.zeros(plan.psums.psum_src.size, np.int64))
            self._bound = (routes, psums, np.zeros(max(tables.n_sources, 1), np.int64))
        return self._bound

    def run_kernel(self, *args, n_threads: int | None = None) -> int:
        """``kernels.run_steps(*args)`` (:func:`call_kernel`)."""
        if n_threads is None:
            n_threads = numba.get_num_threads()
        args = (*args, n_threads, K.ROW_BUFFER, float(K.PAR_STEP_NS))   # the step's groups of cores: one per thread
        return call_kernel(args)


#: The flag bits of an array (``ndarray.flags.num``) that numba's ``typeof`` reads: C- and F-contiguous (its
#: layout), aligned, writeable.
_TYPED_FLAGS = 0x1 | 0x2 | 0x100 | 0x400


def _arg_key(x):
    """What numba's ``typeof`` of a kernel argument depends on, read in Python at ~0.25 us an array: an array's
    dtype, dimensions, and its layout, write and alignment flags (as bits: a key finer than the layout, never
    coarser); a tuple's class and items; a scalar's class (None: an int outside int64, typed otherwise). The
    dtype object, not ``dtype.str`` (~170 ns), and one read of the flags (the digits batch's ~100 arguments a call:
    ~49 -> ~28 us)."""
    t = type(x)
    if t is np.ndarray or isinstance(x, np.ndarray):
        return x.dtype, x.ndim, x.flags.num & _TYPED_FLAGS
    if t is tuple or isinstance(x, tuple):
        items = tuple(map(_arg_key, x))
        return None if None in items else (t, items)
    if isinstance(x, int) and t is not bool and not -2 ** 63 <= x < 2 ** 63:
        return None
    return t


#: ``run_steps``'s compiled entry point per argument key (:func:`call_kernel`).
_ENTRIES: dict = {}


def call_kernel(args: tuple) -> int:
    """``kernels.run_steps(*args)``. numba's dispatcher types every argument on every call; the kernel's ~75
    arrays sit in named tuples, which its C fast path does not read, so typing them took ~0.4 ms a call (twice, with
    the entry point looked up: chain_quiet ~0.7 us of a ~8 us step over 1000 steps; a Simulator's step or a small
    batch sample: most of it). The compiled entry point of the first call's signature is kept per argument key
    (:func:`_arg_key`: what the types depend on), and a call with the same key goes straight to its machine code,
    which still unboxes the arguments by that signature. A signature this process has not got is compiled, or
    loaded from numba's cache, by :func:`compile_once.entry_point`: one process at a time, so processes that start
    together (test workers, MPI ranks) compile it once, not once each."""
    key = _arg_key(args)
    entry = _ENTRIES.get(key) if key is not None else None
    if entry is None:
        entry = compile_once.entry_point(K.run_steps, args)
        if key is not None:
            _ENTRIES[key] = entry
    return entry(*args)


def _check_copies(plan: Plan) -> None:
    """A learning run rewrites the per-synapse copies: refuse a plan that keeps none."""
    routes = plan.routes
    if routes.syn_ring.size != routes.route_syn_ptr[-1]:
        raise BackendError("emulator: this plan keeps no per-synapse copies (graded runs, or "
                           "make_plan(tables, copies=False)), so its weights cannot be rewritten; learning on "
                           "graded messages is not supported, and a learning run needs make_plan(tables)")


def initial_state(tables, plan: Plan, learning=(), engine: str = "numba") -> EngineState:
    """The state before step 1: each model's initial values, empty delay rings, the learning
    projections' initial weights (truncated as Lava's first step does) written into a copy of the weights."""
    states = {p.name: S.state_for_projection(p) for p in learning}
    numba = engine == "numba"
    weights = None
    if states:
        if numba:
            _check_copies(plan)
        weights = plan.routes.syn_weight if numba else np.asarray(tables.syn_weight)
        weights = weights.astype(np.promote_types(weights.dtype, LEARNED_WEIGHT_DTYPE))     # a copy
        positions = _synapse_positions(tables, numba)
        for p in learning:
            st = states[p.name]
            L.scatter_weights(st, weights, learning_slots(tables, tables.proj_names.index(p.name), *st.shape, positions))
    arrive = None if numba else np.zeros((MAX_INPUTS, int(plan.dendrites.proj_len.max(initial=1)), tables.n_neurons),
                                         np.int64)
    return EngineState(engine, 0, plan.initial_state(tables), plan.work_arrays() if numba else None, arrive,
                       weights, states, np.zeros(0, np.int64), np.zeros(0, np.int64))


def _run_numba(tables, plan: Plan, run: _Run, state: EngineState, chunk: int, bar) -> None:
    """The numba engine: ``kernels.run_steps`` over chunks of steps (one step at a time with learning,
    whose updates go into the state's own copy of the synapse weights), from ``state`` (advanced)."""
    routes, psums, spiked = state.bound(tables, plan)
    t0 = state.t
    n = 0
    for seg_first, seg_last, held, fresh in _segments(tables, plan, t0 + 1, t0 + run.steps):
        neurons = _segment_neurons(tables, plan, state, held, fresh)
        for first in range(seg_first, seg_last + 1, chunk):
            last = min(seg_last, first + chunk - 1)
            n = state.run_kernel(first, last, t0, neurons, plan.dendrites, state.work, routes, run.inputs,
                                 run.recorder, run.counters, spiked, psums)
            if run.learners:
                _learn_step(run.learners, first, first - 1 - t0, run.recorder.spikes, routes.syn_weight,
                            run.learn_cnt)
            bar.update(last - first + 1)
    state.t = t0 + run.steps
    state.last_src, state.last_val = spiked[:n].copy(), state.work.payload[:n].copy()


def _segments(tables, plan: Plan, first: int, last: int) -> list:
    """:func:`onset_segments`, with whether any population has an onset remembered by the plan."""
    waits = plan.memoised("onsets", lambda: bool(np.asarray(tables.pop_onset).any()))
    return onset_segments(tables, first, last) if waits else [(first, last, None, None)]


def _segment_neurons(tables, plan: Plan, state: EngineState, held, fresh) -> K.NeuronArrays:
    """The kernel's neurons for one onset segment (``onset_segments``): the ``fresh`` neurons restarted,
    the ``held`` ones with their drive at 0 (the state's own container when none is held)."""
    restart(plan, tables, state.S, fresh)
    if held is None or not held.any():
        return state.neurons(tables, plan)
    key = ("held_plan", held.tobytes())           # the same cuts in every run of a batch: prepared once
    held_plan = plan.memoised(key, lambda: replace(plan, P=kernel_params(held_tables(tables, held), plan.kind)))
    return held_plan.neurons(tables, state.S)


def _run_closed_loop(tables, plan: Plan, run: _Run, state: EngineState, loop, bar) -> None:
    """The numba engine one step at a time, each step's inputs asked of ``loop`` (a :class:`ClosedLoop`)
    with what the network sent the step before: no replay, the state simply carries on."""
    routes, psums, spiked = state.bound(tables, plan)
    t0 = state.t
    in_ptr = np.zeros(run.steps + 1, np.int64)
    all_src, all_val, counts = [], [], np.zeros(run.steps, np.int64)
    src, val = state.last_src, state.last_val
    for t in range(t0 + 1, t0 + run.steps + 1):
        row = t - 1 - t0
        rows, ev_src, ev_val = loop.step(t - 1, src, val, bool(run.learners))
        in_ptr[row], in_ptr[row + 1] = 0, ev_src.size       # the kernel reads row `row` only
        for ln in run.learners:
            if ln.pre_rows is not None:
                ln.pre_rows[row] = rows[ln.proj.source][0] != 0
            if ln.rewards is not None:
                ln.rewards[row] = rows[ln.proj.learning.third_factor][0]
        (_, _, held, fresh), = _segments(tables, plan, t, t)
        neurons = _segment_neurons(tables, plan, state, held, fresh)
        n = state.run_kernel(t, t, t0, neurons, plan.dendrites, state.work, routes,
                             K.InputEvents(in_ptr, ev_src, ev_val), run.recorder, run.counters, spiked, psums)
        if run.learners:
            _learn_step(run.learners, t, row, run.recorder.spikes, routes.syn_weight, run.learn_cnt)
        src, val = spiked[:n].copy(), state.work.payload[:n].copy()
        all_src.append(ev_src)
        all_val.append(ev_val)
        counts[row] = ev_src.size
        bar.update(1)
    state.t = t0 + run.steps
    state.last_src, state.last_val = src, val
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64)
    run.inputs = K.InputEvents(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), cat(all_src), cat(all_val))


class ClosedLoop:
    """A closed loop's side of the run: ``on_step(t, outputs) -> inputs of step t + 1``.

    ``outputs``: ``{population: int array [n]}`` for the ``observe`` populations, what each neuron sent
    at step t (1 for a spike, a graded model's payload; zeros at t = 0). The return value names any of
    the graph inputs with one step's value (``[*shape]`` or ``[n]``; a reward input: a scalar, ``[1]``
    or ``[n_post]``); missing inputs are silent, None silences all. It is validated like a run's inputs
    (``check_input_rows``), the message naming the step."""

    def __init__(self, tables, spec: InputSpec, on_step, observe):
        if not callable(on_step):
            raise ValidationError(f"on_step must be a callable f(t, outputs) -> inputs, got {type(on_step).__name__}")
        pops = list(tables.pop_names) if observe is None else list(observe)
        unknown = [p for p in pops if p not in tables.pop_names]
        if unknown:
            raise ValidationError(f"observe: {unknown} are not neuron populations of the network "
                                  f"(known: {list(tables.pop_names)})")
        self.f, self.spec, self.n, self.tables = on_step, spec, tables.n_neurons, tables
        index = {name: i for i, name in enumerate(tables.pop_names)}
        self.pops = [(name, index[name], int(tables.pop_gid[name].size),
                      np.int64 if kind_of_pop(tables, name).graded else np.uint8) for name in pops]
        self.neuron_pop = np.asarray(tables.neuron_pop, np.int64)
        self.neuron_index = np.asarray(tables.neuron_index, np.int64)
        self.zero = check_input_rows(spec, 1, None)
        self.base = {name: self.n + int(tables.input_ptr[i]) for i, name in enumerate(tables.input_names)
                     if name not in spec.rewards}
        self.quick = QuickInputs(tables, spec)

    def outputs(self, src, val) -> dict:
        mine = src < self.n
        ids, vals = src[mine], val[mine]
        pop, local = self.neuron_pop[ids], self.neuron_index[ids]
        out = {}
        for name, i, size, dtype in self.pops:
            arr = np.zeros(size, dtype)
            hit = pop == i
            arr[local[hit]] = vals[hit]
            out[name] = arr
        return out

    def step(self, t: int, src, val, rows_needed: bool) -> tuple:
        """``(rows, event sources, payloads)`` of the inputs the callback gives for step t + 1: the validated
        rows (``[1, n]`` per graph input; None when not ``rows_needed`` and the quick path took them:
        one spike input as a uint8/bool array, ``quickrun``) and the channels that fire."""
        given = self.f(t, self.outputs(src, val))
        if not rows_needed and type(given) is dict and len(given) == 1:
            (name, value), = given.items()
            if type(value) is np.ndarray:
                ev = self.quick.events(1, {name: value[None]})
                if ev is not None:
                    return None, ev.in_src, ev.in_val
        rows = check_step_inputs(self.spec, given, t, self.zero)
        return (rows, *self.events(rows))

    def events(self, rows: dict):
        """``(source ids, payloads)`` of the graph-input channels that fire (rewards are not routed)."""
        src, val = [], []
        for name, base in self.base.items():
            row = rows[name][0]
            nz = np.flatnonzero(row)
            src.append(base + nz)
            val.append(row[nz].astype(np.int64))
        if not src:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(src).astype(np.int64), np.concatenate(val)


def _run_numpy(tables, plan: Plan, run: _Run, state: EngineState, bar) -> None:
    """The readable spec engine: ``kernels.step_numpy`` step by step on the tables themselves, from
    ``state`` (advanced)."""
    if state.syn_weight is not None:
        tables = replace(tables, syn_weight=state.syn_weight)
    spec_state = {"kind": plan.kind, "S": state.S, "arrive": state.arrive}
    rec, cnt = run.recorder, run.counters
    in_ptr, in_src, in_val = run.inputs
    mine = rec.rec_col >= 0
    cols = rec.rec_col[mine]
    t0 = state.t
    s = np.zeros(0, np.int64)
    segments = {first: (held, fresh) for first, _, held, fresh in onset_segments(tables, t0 + 1, t0 + run.steps)}
    step_tables = tables
    for t in range(t0 + 1, t0 + run.steps + 1):
        if t in segments:
            held, fresh = segments[t]
            step_tables = held_tables(tables, held)
            restart(plan, tables, state.S, fresh)
        row = t - 1 - t0
        sl = slice(in_ptr[row], in_ptr[row + 1]) if row < in_ptr.size - 1 else slice(0, 0)
        ins = (in_src[sl], in_val[sl])
        s, c = K.step_numpy(t, step_tables, spec_state, ins, plan.neuron_core)     # s: payloads (1 = a spike)
        if rec.do_spikes:
            rec.spikes[row, cols] = s[mine] != 0
        if rec.do_payloads:
            rec.payloads[row, cols] = s[mine]
        if rec.do_v:
            rec.v[row, cols] = state_var(plan.kind, state.S, "v")[mine]
        if rec.do_u:
            rec.u[row, cols] = state_var(plan.kind, state.S, "u")[mine]
        for e, var in enumerate(state_vars(run.record)):
            rec.state[e, row, cols] = state_var(plan.kind, state.S, var)[mine]
        if cnt.enabled:
            for i, name in enumerate(K.COUNTER_NAMES):
                cnt.per_core[i, row] = c[name]
            cnt.per_source[:] += c["spikes_per_source"]
        if run.learners:
            _learn_step(run.learners, t, row, rec.spikes, tables.syn_weight, run.learn_cnt)
        bar.update(1)
        state.last_src = np.concatenate([np.nonzero(s)[0], ins[0]])
        state.last_val = np.concatenate([s[s != 0], ins[1]])
    state.t = t0 + run.steps


def _column_gids(tables, cols: dict) -> np.ndarray:
    """The neuron id of each recorded column (``cols``: population -> columns (a, b))."""
    out = np.empty(max((b for _, b in cols.values()), default=0), np.int64)
    for name, (a, b) in cols.items():
        out[a:b] = tables.pop_gid[name]
    return out


def spike_events_numpy(tables, run) -> dict:
    """The spec of ``quickrun.event_list``: every spike event of a run (recorded neurons and input channels)
    as ``{"step": [E], "source": [E]}`` sorted by step, then source."""
    step_l, src_l = [], []
    for name, (a, b) in run.cols.items():
        t_idx, col = np.nonzero(run.recorder.spikes[:, a:b])
        step_l.append(t_idx)
        src_l.append(tables.pop_gid[name][col])
    in_ptr, in_src, _ = run.inputs
    step_l.append(np.repeat(np.arange(in_ptr.size - 1), np.diff(in_ptr)))
    src_l.append(in_src)
    ev_step, ev_src = np.concatenate(step_l).astype(np.int64), np.concatenate(src_l).astype(np.int64)
    order = np.lexsort((ev_src, ev_step))
    return {"step": ev_step[order], "source": ev_src[order]}


def _assemble_result(tables, run: _Run, engine: str, wall: float, events: bool) -> Result:
    """The Result: the user's recordings, spike events (``events``), counters, learned weights, report."""
    rec = run.recorder
    res = Result(steps=run.steps)
    for name in run.user_cols:
        a, b = run.cols[name]
        if "spikes" in run.user_record:
            res.spikes[name] = rec.spikes[:, a:b]
        if "v" in run.user_record:
            res.v[name] = rec.v[:, a:b]
        if "u" in run.user_record:
            res.u[name] = rec.u[:, a:b]
        if rec.do_payloads and "spikes" in run.user_record and kind_of_pop(tables, name).graded:
            res.payloads[name] = rec.payloads[:, a:b]
        for e, var in enumerate(state_vars(run.record)):
            if var in kind_of_pop(tables, name).state:
                res.state.setdefault(var, {})[name] = rec.state[e, :, a:b]
    ev = None
    if events:                      # every population's spikes are recorded then (_recording)
        ev = dict(zip(("step", "source"), event_list(rec.spikes, run.col_gid, run.inputs.in_ptr, run.inputs.in_src)))
    res.report = run_report(tables, run.steps, engine, wall, run.counters, ev, run.learners, run.learn_cnt)
    for ln in run.learners:
        res.weights[ln.proj.name] = ln.state.weights.copy()
        if ln.per_step is not None:
            res.weights[ln.proj.name + PER_STEP] = ln.per_step
    return res


def run_report(tables, steps: int, engine: str, wall: float, cnt: K.Counters, events: dict | None, learners=(),
               learn_cnt=None) -> dict:
    """A run's report before the cost model: the spike ``events`` (a dict, a quick run's ``SpikeTrace``, or None:
    not listed), sizes, the counters."""
    report = counted_report(steps, engine, wall, (int(tables.n_cores), tables.n_neurons, tables.n_synapses),
                            cnt.per_core if cnt.enabled else None, cnt.per_source, events)
    if learners:
        report["learning"] = {ln.proj.name: learning_summary(ln.state) for ln in learners}
        if cnt.enabled:
            report["counters"]["learning_updates"] = learn_cnt
    return report


def counted_report(steps: int, engine: str, wall: float, sizes: tuple, per_core, per_source, events: dict | None,
                   note: str = "functional emulation; timing/energy models are applied by a later stage from "
                               "'counters'") -> dict:
    """The keys every emulator report has before the cost model, one process or MPI ranks assembled:
    ``sizes`` = (cores, neurons, synapses); ``per_core`` None: counters off (``per_source`` then unused)."""
    report = {} if events is None else {"spike_events": events}
    n_cores, n_neurons, n_synapses = sizes
    report.update({
        "backend": "emulator", "engine": engine, "steps": steps, "n_cores": n_cores,
        "n_neurons": n_neurons, "n_synapses": n_synapses, "wall_time_s": wall,
        "synaptic_events": int(per_core[K.C_SYNOPS].sum()) if per_core is not None else None,
        "energy": None, "latency": None, "note": note,
    })
    if per_core is not None:
        report["counters"] = {name: per_core[i] for i, name in enumerate(K.COUNTER_NAMES)}
        report["counters"]["spikes_per_source"] = per_source
    return report


def emulate_tables(tables, steps: int, inputs: dict | None = None, record=("spikes", "v"), progress: bool = False,
                   *, populations=None, counters: bool = True, events: bool = False, engine: str = "numba",
                   shapes: dict | None = None, memory_budget: int | None = None, plan: Plan | None = None,
                   learning=None, input_spec: InputSpec | None = None, state: EngineState | None = None,
                   on_step=None, observe=None, threads: int | None = None) -> Result:
    """Run ``tables`` for ``steps`` steps; see the module docstring for timing conventions.

    ``threads``: how many threads the numba kernel runs the cores of a step on (None: all cores, or
    ``NUMBA_NUM_THREADS``, but one for a network under 1024 neurons and 262k synapses or on a machine whose
    load average already reaches its core count: :func:`kernel_thread_count`); the results are the same for
    every number.

    ``record``: any of "spikes", "v", "u" for the ``populations`` given (default all). ``counters``:
    per-core, per-step operation counts in ``report["counters"]`` (arrays ``[T, n_cores]``, names in
    ``kernels.COUNTER_NAMES``, plus ``spikes_per_source`` [S]). ``engine="numpy"`` runs the readable
    spec (``kernels.step_numpy``) instead of the numba kernel: slow, for tests. ``events``: also return
    every spike event, neurons and graph-input channels, as ``report["spike_events"] = {"step": [E]
    (0-based), "source": [E]}`` sorted by step (the cost model's input; spikes of all populations are
    recorded internally for it). ``plan``: ``make_plan(tables)`` made earlier by the caller (``emulate_batch``
    reuses one plan for many runs); None makes it here. ``state``: an :class:`EngineState` of these tables
    and this plan (:func:`initial_state`) to continue from, advanced in place (``Simulator``); None
    starts from the tables' initial state (``u0``, ``v0``, empty delay rings, the learning projections'
    initial weights), whether or not the plan is reused (learning writes to a copy of the plan's weights).
    ``on_step``: a closed loop instead of ``inputs`` (see :class:`ClosedLoop`; ``observe``: the
    populations it is shown, default all), numba engine only.

    Inputs are validated by :func:`neurocomp.semantics.inputs.check_run` against ``input_spec`` (the
    network's :class:`~neurocomp.semantics.inputs.InputSpec`, as ``emulate`` passes it) or, without
    one, against the tables' inputs with the ``shapes`` given (an input without a shape takes any
    ``[T, ...]`` with its number of channels).

    ``learning``: the IR projections (of the network the tables were built from) that have learning
    rules. Their final weights come back in ``Result.weights[name]`` (int64 ``[n_post, n_pre]``), with
    "weights" in ``record`` also ``weights[name + ".per_step"]`` ``[T, n_post, n_pre]``; final tags and
    traces in ``report["learning"][name]``; with ``counters``, ``report["counters"]["learning_updates"]``
    ``[T, n_cores]`` (synapse updates per learning epoch, one per synapse and updated variable).
    A rule's ``third_factor`` input is given in ``inputs`` as ints 0..127, ``[T]``, ``[T, 1]`` or
    ``[T, n_post]``.
    """
    if engine not in ("numba", "numpy"):
        raise ValidationError(f"engine must be 'numba' or 'numpy', got {engine!r}")
    learning = [p for p in (learning or ()) if p.learning is not None]
    spec = input_spec if input_spec is not None else input_spec_of(tables, shapes, learning)
    if tuple(spec.names) != tuple(tables.input_names):
        raise BackendError(f"the network's graph inputs {list(spec.names)} are not those of the per-core tables "
                           f"{list(tables.input_names)}; the tables are not those of this network (recompile it)")
    events_in = None
    if on_step is None and engine == "numba" and not learning and type(steps) is int and steps >= 1 \
            and steps * (tables.n_sources + 1) * (1 + 8 * len(record or ())) < SMALL_RUN_BYTES:
        events_in = quick_events(tables, spec, steps, inputs)       # short runs: validated and encoded at once
    if events_in is None:
        steps, record, rows = check_run(spec, steps, inputs, record, tables.n_neurons)
    else:
        record, rows = check_record(record), None
    loop = None
    if on_step is not None:
        if inputs is not None:
            raise ValidationError("give a run either inputs or on_step (a closed loop computes each step's inputs), "
                                  "not both")
        if engine != "numba":
            raise ValidationError("closed loops (on_step) run on the numba engine; pass engine='numba'")
        loop = ClosedLoop(tables, spec, on_step, observe)
    if plan is None:
        plan = make_plan(tables, copies=bool(learning), count_rows=counters)
    elif not isinstance(plan, Plan) or plan.neuron_core.size != tables.n_neurons:
        raise ValidationError("plan: expected make_plan(tables) of these tables; pass plan=None to make one")
    if state is None:
        state = initial_state(tables, plan, learning, engine)
    elif state.engine != engine or (state.learning or learning) and set(state.learning) != {p.name for p in learning}:
        raise ValidationError(f"state: made for the {state.engine} engine and learning projections "
                              f"{sorted(state.learning)}; this run is {engine} with {[p.name for p in learning]}")
    # (the inputs are encoded on the run's threads: ``input_events.spike_events``)
    with kernel_threads(threads), kernel_threads(kernel_thread_count(tables, threads is not None)):
        run = _setup_run(tables, plan, steps, record, rows, set(spec.rewards), populations, counters, events,
                         memory_budget, learning, engine == "numba", state.learning, events_in)
        t0 = time.perf_counter()
        bar = _progress(steps, progress)
        if loop is not None:
            _run_closed_loop(tables, plan, run, state, loop, bar)
        elif engine == "numba":
            chunk = 1 if run.learners else (steps if not progress else max(1, math.ceil(steps / 100)))
            _run_numba(tables, plan, run, state, chunk, bar)
        else:
            _run_numpy(tables, plan, run, state, bar)
    bar.close()
    return _assemble_result(tables, run, engine, time.perf_counter() - t0, events)


def too_small_for_threads(tables) -> bool:
    """Whether ``kernel_thread_count`` runs these tables on one thread whatever numba's setting."""
    return tables.n_neurons < K.PAR_NEURONS and tables.n_synapses < K.PAR_SYNAPSES


def kernel_thread_count(tables, chosen: bool = False) -> int:
    """Threads the kernel runs on: numba's setting (``kernel_threads``), or 1 for a network of fewer than
    ``kernels.PAR_NEURONS`` neurons and ``kernels.PAR_SYNAPSES`` synapses (too little work per step to pay
    for the threads' synchronisation) and,
    unless the caller ``chosen`` a number, when the machine is already busy (1-minute load average >= its
    cores): a step's barriers then wait for descheduled threads, 5-20x slower than one thread in
    benchmarks/RESULTS.md ("Emulator threads")."""
    if too_small_for_threads(tables):
        return 1
    if not chosen and hasattr(os, "getloadavg") and os.getloadavg()[0] >= (os.cpu_count() or 1):
        return 1
    return numba.get_num_threads()


def _keep_start_method_unset() -> None:
    """numba's first parallel launch asks ``multiprocessing.get_start_method()`` for its init lock, which
    fixes the process's start method; importing Lava afterwards then fails (it calls
    ``set_start_method('fork')``: "context has already been set"). Give numba that lock first, from an
    explicit fork context (what numba itself picks on Linux), leaving the default unset. (numba 0.68's
    ``parallel._backend_init_process_lock``; tests/test_threads.py checks that Lava still imports.)"""
    from numba.np.ufunc import parallel
    if parallel._backend_init_process_lock is None and hasattr(os, "fork"):
        import multiprocessing
        parallel._backend_init_process_lock = multiprocessing.get_context("fork").RLock()


@contextmanager
def kernel_threads(threads: int | None):
    """Run the numba kernel on ``threads`` threads inside the block (None: numba's setting, all cores unless
    ``NUMBA_NUM_THREADS`` says fewer). Results do not depend on it (``kernels.run_steps``)."""
    _keep_start_method_unset()
    if threads is None:
        yield
        return
    most = numba.config.NUMBA_NUM_THREADS
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 1 <= threads <= most:
        raise ValidationError(f"threads={threads!r}: give a whole number from 1 to {most} (this process's "
                              "NUMBA_NUM_THREADS; set that variable before starting Python to allow more)")
    before = numba.get_num_threads()
    numba.set_num_threads(int(threads))
    try:
        yield
    finally:
        numba.set_num_threads(before)


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total: int, enabled: bool, unit: str = "step", desc: str = "emulate"):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm
    return tqdm(total=total, unit=unit, desc=desc)


def emulate(art, steps: int, inputs: dict | None = None, record=("spikes", "v"), progress: bool = False,
            *, populations=None, counters: bool = True, memory_budget: int | None = None,
            timing: bool | str = True, threads: int | None = None) -> Result:
    """Run a CompiledNetwork (or the path of one) on the emulator; returns a Result.

    ``get_backend("emulator").run(...)`` (:mod:`neurocomp.backend`) with these options spelled out.
    Inputs are ``{graph input name: [T, *shape] 0/1}`` (a learning rule's third-factor input: ints
    0..127, ``[T]``, ``[T, 1]`` or ``[T, n_post]``); see ``emulate_tables`` for the rest, including
    what learning projections return. With ``timing`` (default) the target's timing/energy model
    (``costmodel.estimate``) turns the run's spikes and per-core counters (learning updates included)
    into ``report["energy_j"]``, ``report["latency_s"]`` and the full breakdown in ``report["cost"]``;
    the per-step counter arrays are then summarised per core. ``timing="cycle"`` adds the message-level
    simulation of the NoC and core pipelines (``report["cost"]["cycle"]``, whose latency then is
    ``report["latency_s"]``); ``"analytic"`` equals True. ``threads``: as in
    ``emulate_tables``.
    """
    from ...backend import get_backend
    with kernel_threads(threads):
        return get_backend("emulator").run(art, steps, inputs, record, progress=progress, populations=populations,
                                           counters=counters, memory_budget=memory_budget, timing=timing)


def _resolve(art, who: str):
    """``(tables, InputSpec of the network or None, target, physical_core, learning projections)`` of a
    CompiledNetwork or artifact directory."""
    from ...backend import load_artifact
    art = load_artifact(art)
    tables = getattr(art, "tables", None)
    network = getattr(art, "network", None)
    if tables is None:
        raise BackendError(f"{who}: expected a CompiledNetwork or its directory, got {type(art).__name__}")
    spec, learning = None, []
    if network is not None:
        learning = [p for p in network.projections.values() if p.learning is not None]
        for proj in learning:
            S.check_learning_projection(proj)
            S.learning_sign_mode(proj.connectivity, proj.learning)
        spec = InputSpec.of_network(network)
    return tables, spec, getattr(art, "target", None), getattr(art, "physical_core", None), learning


# ----------------------------------------------------------------------------------- batches
def _batch_size(inputs_batch) -> int:
    """The common leading size B of ``{name: [B, T, *shape]}``; a ValidationError names a bad entry."""
    if not isinstance(inputs_batch, dict) or not inputs_batch:
        raise ValidationError("emulate_batch: inputs_batch must be a non-empty dict {graph input name: array "
                              "[B, T, *shape]} (B samples first); use emulate() for a run without inputs")
    sizes = {}
    for name, arr in inputs_batch.items():
        shape = np.shape(arr)
        if len(shape) < 3:
            raise ValidationError(f"emulate_batch: input '{name}' has shape {shape}; it must be [B, T, *shape] "
                                  "(samples first, then time steps); for one sample use emulate()")
        sizes[name] = int(shape[0])
    if len(set(sizes.values())) != 1:
        raise ValidationError(f"emulate_batch: inputs disagree on the number of samples B: {sizes}; give every "
                              "graph input the same leading size")
    b = next(iter(sizes.values()))
    if b < 1:
        raise ValidationError("emulate_batch: the batch is empty (B = 0); give at least one sample")
    return b


def emulate_batch(art, steps: int, inputs_batch: dict, record=("spikes",), progress: bool = False, *,
                  populations=None, counters: bool = True, timing: bool = True,
                  memory_budget: int | None = None, threads: int | None = None) -> list[Result]:
    """Run B independent inferences of one CompiledNetwork: ``[emulate(art, steps, {k: x[b]}) for b]``.

    ``inputs_batch``: ``{graph input name: [B, T, *shape] 0/1}`` with ``T >= steps``. Every sample starts
    from the network's initial state (``u0``/``v0``, empty delay rings): samples never see each other's
    state, as for separate ``emulate`` calls, to which the results are equal (spikes, v/u, counters,
    energy, latency; only ``wall_time_s`` differs). What a batch saves is the per-run setup: the artifact
    is resolved and the kernel's plan (``make_plan``: dendrites, rings, per-route synapse copies) built
    once, then the numba kernel runs each sample. Per-sample energy and latency come from the target's
    cost model as in ``emulate`` (``timing``); :func:`summarize_batch` aggregates them per inference.

    Returns one Result per sample, in order. ``record``/``populations``/``counters``: as in ``emulate``
    (default records spikes only, to keep B results small). The memory of all B recordings is checked
    against the budget after the first sample. ``threads``: as in ``emulate_tables``.
    """
    tables, spec, target, physical_core, learning = _resolve(art, "emulate_batch")
    n = _batch_size(inputs_batch)
    timing = timing and counters and target is not None and physical_core is not None
    plan = make_plan(tables, copies=bool(learning), count_rows=counters)
    arrays = {k: np.asarray(x) for k, x in inputs_batch.items()}
    bar = _progress(n, progress, unit="sample", desc="emulate_batch")
    out = []
    for b in range(n):
        state = initial_state(tables, plan, learning)             # each sample from a fresh state
        res = emulate_tables(tables, steps, {k: x[b] for k, x in arrays.items()}, record,
                             populations=populations, counters=counters, input_spec=spec,
                             memory_budget=memory_budget, events=timing, plan=plan, learning=learning,
                             threads=threads, state=state)
        if timing:
            attach_cost(res, target, tables, physical_core, steps)
        if b == 0 and n > 1:
            _check_batch_memory(res, n, memory_budget)
        out.append(res)
        bar.update(1)
    bar.close()
    return out


def _check_batch_memory(first: Result, n: int, budget) -> None:
    """Fail early if keeping ``n`` results like ``first`` would exceed the recording budget."""
    per = sum(a.nbytes for a in first.arrays().values())
    if budget is None:
        avail = available_memory()
        if avail <= 0:
            return
        budget = int(avail * MEMORY_FRACTION)
    if per * n > budget:
        raise BackendError(f"emulate_batch: keeping the recordings of {n:,} samples needs {per * n / 2**20:,.1f} MiB, "
                           f"over the budget of {budget / 2**20:,.1f} MiB ({MEMORY_FRACTION:.0%} of available RAM). "
                           "Record less (record=('spikes',), populations=[...] e.g. the output only) or run the "
                           "batch in smaller pieces")


def _stats(x) -> dict:
    x = np.asarray(x, np.float64)
    return {"mean": float(x.mean()), "p50": float(np.percentile(x, 50)), "p99": float(np.percentile(x, 99)),
            "min": float(x.min()), "max": float(x.max())}


def summarize_batch(results) -> dict:
    """Per-inference statistics (mean, p50, p99, min, max over samples) of an ``emulate_batch`` run.

    ``energy_j``: each sample's total energy (``report["energy_j"]["total"]``); ``latency_s``: each sample's
    latency = the sum of its step latencies (``report["latency_s"]["total"]``); ``synaptic_events``:
    synaptic operations per sample; ``wall_time_s``: emulator kernel time summed over samples. Energy and
    latency are present only if the runs had timing (a target and counters).
    """
    results = list(results)
    if not results:
        raise ValidationError("summarize_batch: no results (emulate_batch returns one Result per sample)")
    out = {"samples": len(results), "steps": int(results[0].steps),
           "wall_time_s": float(sum(r.report.get("wall_time_s", 0.0) for r in results))}
    syn = [r.report.get("synaptic_events") for r in results]
    if all(s is not None for s in syn):
        out["synaptic_events"] = _stats(syn)
    if all(isinstance(r.report.get("energy_j"), dict) for r in results):
        out["energy_j"] = _stats([r.report["energy_j"]["total"] for r in results])
        out["latency_s"] = _stats([r.report["latency_s"]["total"] for r in results])
    return out


def attach_cost(res: Result, target, tables, physical_core, steps: int, timing: str = "analytic",
                syn_ops_in=None) -> None:
    """Apply the target's timing/energy model to a finished run and keep report.json small
    (:func:`cost_report` on ``res.report``)."""
    cost_report(res.report, target, tables, physical_core, steps, timing, syn_ops_in)


def cost_report(report: dict, target, tables, physical_core, steps: int, timing: str = "analytic",
                syn_ops_in=None) -> None:
    """Apply the target's timing/energy model to a finished run's report (in place) and keep it small.

    ``timing="cycle"`` also runs the message-level model (``timing/``): its section is
    ``report["cost"]["cycle"]`` and ``report["latency_s"]`` is then its latency (energy stays analytic).
    ``syn_ops_in``: synaptic reads the run's first step owes to spikes sent before it
    (``costmodel.carried_reads``; a Simulator run continuing another one)."""
    from .costmodel import estimate
    events = report.pop("spike_events")
    if timing == "cycle":                      # (a quick run's SpikeTrace listed: the cycle model reads events)
        events = events_of(events)
    trace = None if type(events) is dict else events
    per_step = report["counters"]
    est = estimate(target, tables, np.asarray(physical_core), None if trace is not None else events["step"],
                   None if trace is not None else events["source"], per_step["neurons_active"], steps,
                   learn_ops=per_step.get("learning_updates"), psum_out=per_step.get("psum_out"),
                   psum_in=per_step.get("psum_in"), syn_ops_in=syn_ops_in, counts=per_step, trace=trace)
    if timing == "cycle":
        from .timing import cycle_report
        est["cycle"] = cycle_report(target, tables, np.asarray(physical_core), events["step"], events["source"],
                                    per_step["neurons_active"], steps, est, learn_ops=per_step.get("learning_updates"))
    store_cost(report, est, timing)


def store_cost(report: dict, est: dict, timing: str = "analytic") -> None:
    """Put a cost estimate (``costmodel.estimate``, with ``est["cycle"]`` for ``timing="cycle"``) into a run's
    report and sum the per-step counters over steps (as report.json keeps them)."""
    per_step = report["counters"]
    report["cost"] = est
    report["energy_j"] = est["energy_j"]
    report["latency_s"] = est["cycle"]["latency_s"] if timing == "cycle" else est["latency_s"]
    report["timing"] = timing
    report["counters"] = {name: np.asarray(arr).sum(axis=0) for name, arr in per_step.items()
                      if name != "spikes_per_source"}
    report["note"] = ("energy and latency are model estimates from the target's per-operation figures "
                      "(see cost.assumptions and the sources in the target file), not measurements")
