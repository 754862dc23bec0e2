"""Run per-core tables for T steps: input encoding, state layout, recording, counters, budget checks.

``emulate_tables`` is the whole backend on a ``CoreTables``; ``emulate`` adds the CompiledNetwork
(input shapes, learning check); ``emulate_batch`` runs many independent inferences (each from the initial
state) with one plan, and ``summarize_batch`` gives their per-inference energy/latency statistics. The
arithmetic lives in ``kernels.py`` (numba kernel + numpy spec).

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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ...errors import BackendError, ValidationError
from ...result import Result
from . import kernels as K
from . import learning as L
from ...semantics import learning as S
from ...neurons.loihi_lif.spec import LifParams
from ...semantics.reference import PER_STEP, check_input_keys, learning_summary

RECORDABLE = ("spikes", "v", "u", "weights")
#: Fraction of the currently available RAM that recording and counters may use.
MEMORY_FRACTION = 0.5


# ----------------------------------------------------------------------------------- plan
@dataclass
class Plan:
    """Arrays derived from the tables once per run: dendrites and their rings, ring modes, and the
    synapses copied per route (``route_syn_ptr`` [R+1]; ``syn_ring``: ring cell of the synapse's
    dendrite; ``syn_delay``/``syn_proj`` are empty when every projection is mode 0)."""
    neuron_core: np.ndarray
    vth6: np.ndarray
    bias: np.ndarray
    dend_ptr: np.ndarray
    dend_proj: np.ndarray
    dend_off: np.ndarray
    proj_len: np.ndarray
    proj_mode: np.ndarray
    route_syn_ptr: np.ndarray
    syn_ring: np.ndarray
    syn_weight: np.ndarray
    syn_delay: np.ndarray
    syn_proj: np.ndarray
    ring_size: int
    scratch_size: int

    @property
    def all_direct(self) -> bool:
        return bool(np.all(self.proj_mode == K.MODE_DIRECT))

    @property
    def nbytes(self) -> int:
        arrays = (self.neuron_core, self.vth6, self.bias, self.dend_ptr, self.dend_proj, self.dend_off,
                  self.route_syn_ptr, self.syn_ring, self.syn_weight, self.syn_delay, self.syn_proj)
        # + run state: u, v, ring (+ scratch, flags, touched lists) and the spike list
        return sum(a.nbytes for a in arrays) + 16 * self.neuron_core.size + 8 * self.ring_size \
            + 33 * self.scratch_size + 8 * self.route_syn_ptr.size


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
        if tables.syn_weight.dtype.itemsize > 4:
            bad("syn_weight must be int32 (Lava's weight dtype)")
    # a packet lands on an axon of the core it is sent to, and an axon only feeds neurons of its core
    axon_core = np.repeat(np.arange(c, dtype=np.int64), np.diff(tables.core_axon_ptr))
    wrong = np.nonzero(axon_core[tables.route_axon] != tables.route_core)[0]
    if wrong.size:
        bad(f"route {int(wrong[0])} sends to core {int(tables.route_core[wrong[0]])} but names axon "
            f"{int(tables.route_axon[wrong[0]])} of core {int(axon_core[tables.route_axon[wrong[0]]])}")
    neuron_core = np.repeat(np.arange(c, dtype=np.int64), np.diff(tables.core_neuron_ptr))
    i, core = K.first_foreign_synapse(tables.axon_syn_ptr, axon_core, tables.syn_post, neuron_core)
    if i >= 0:
        bad(f"synapse {int(i)} on core {int(core)} targets neuron {int(tables.syn_post[i])} "
            f"of core {int(neuron_core[tables.syn_post[i]])}")


def make_plan(tables) -> Plan:
    """Lay out one dendrite per (neuron, projection into its population), each with a delay ring."""
    check_tables(tables)
    n = tables.n_neurons
    n_pop = len(tables.pop_names)
    target = np.asarray(tables.proj_target_pop, np.int64)
    n_proj = target.size
    order = np.argsort(target, kind="stable")          # projections grouped by target population
    n_in = np.bincount(target, minlength=n_pop).astype(np.int64)
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

    proj_len = np.asarray(tables.proj_max_delay, np.int64) + 1
    exp = np.asarray(tables.proj_weight_exp, np.int64)
    wrap = np.asarray(tables.proj_wrap24, bool)
    proj_mode = np.where(proj_len == 1, K.MODE_DIRECT,
                         np.where((exp >= 0) & ~wrap, K.MODE_LINEAR, K.MODE_SCRATCH)).astype(np.int64)
    dend_len = proj_len[dend_proj]
    dend_off = np.concatenate([[0], np.cumsum(dend_len)[:-1]]).astype(np.int64) if dend_len.size else \
        np.zeros(0, np.int64)
    ring_size = int(dend_len.sum())
    scratch_size = ring_size if np.any(proj_mode == K.MODE_SCRATCH) else 0
    neuron_core = np.repeat(np.arange(int(tables.n_cores), dtype=np.int64), np.diff(tables.core_neuron_ptr))
    vth6 = np.asarray(tables.neuron_params["vth"], np.int64) << 6

    # synapses copied in route order: route r -> synapses of axon route_axon[r] (one numba pass)
    ax = np.asarray(tables.route_axon, np.int64)
    lo, hi = tables.axon_syn_ptr[ax], tables.axon_syn_ptr[ax + 1]
    route_syn_ptr = np.concatenate([[0], np.cumsum(hi - lo)]).astype(np.int64)
    n_copy = int(route_syn_ptr[-1])
    ring_dtype = np.int32 if ring_size < 2 ** 31 else np.int64
    direct = bool(np.all(proj_mode == K.MODE_DIRECT))
    syn_ring = np.empty(n_copy, ring_dtype)
    syn_weight = np.empty(n_copy, np.int32)
    syn_delay = np.empty(0 if direct else n_copy, np.int16)
    syn_proj = np.empty(0 if direct else n_copy, np.int32)
    K.plan_synapses(ax, tables.axon_syn_ptr, tables.syn_post, tables.syn_proj,
                    np.asarray(tables.syn_weight, np.int32), np.asarray(tables.syn_delay, np.int16), dend_ptr,
                    dend_off, proj_rank, route_syn_ptr, syn_ring, syn_weight, syn_delay, syn_proj)
    bias = LifParams(*(np.asarray(tables.neuron_params[k], np.int64)
                      for k in ("du", "dv", "vth", "bias_mant", "bias_exp"))).bias()
    return Plan(neuron_core, vth6, bias, dend_ptr, dend_proj, dend_off,
                proj_len, proj_mode, route_syn_ptr, syn_ring, syn_weight, syn_delay, syn_proj,
                ring_size, scratch_size)


# ----------------------------------------------------------------------------------- inputs
def encode_inputs(tables, inputs, steps: int, shapes: dict | None = None, rewards=()):
    """Graph inputs -> per-step event lists ``(in_ptr [steps+1], in_src)`` of source ids.

    ``rewards``: names of third-factor inputs: they must be given like any input but are not spikes
    (validated by the learning setup, never routed).

    Same rules as ``neurocomp.semantics.reference.check_inputs``: ``inputs=None`` leaves every graph input
    silent; a dict must name every graph input (zeros for a silent one) and nothing else;
    ``inputs[name]`` is ``[T, *shape]`` (or ``[T, n]``; any trailing shape of n channels when ``shapes``
    does not name the input) of 0/1 with ``T >= steps`` (later rows unused).
    Row t-1 fires at step t.
    """
    names = list(tables.input_names)
    n = tables.n_neurons
    if inputs is None:
        inputs = {}
    else:
        check_input_keys(inputs, names, "the network")
    rows_l, src_l = [], []
    for i, name in enumerate(names):
        if name not in inputs or name in rewards:
            continue
        n_ch = int(tables.input_ptr[i + 1] - tables.input_ptr[i])
        shape = tuple(shapes[name]) if shapes and name in shapes else (n_ch,)
        arr = np.asarray(inputs[name])
        ok_shape = tuple(arr.shape[1:]) in (shape, (n_ch,)) if shapes and name in shapes else \
            arr.ndim >= 2 and int(np.prod(arr.shape[1:])) == n_ch       # shape unknown: any with n_ch channels
        if arr.ndim == 0 or not ok_shape:
            raise ValidationError(f"input '{name}': shape {arr.shape} must be [T, *{shape}] (T time steps first)")
        if arr.shape[0] < steps:
            raise ValidationError(f"input '{name}': {arr.shape[0]} time steps given but {steps} requested; "
                                  "give at least as many rows as steps")
        arr = arr[:steps].reshape(steps, n_ch)
        if arr.dtype.kind not in "biuf" or not np.all((arr == 0) | (arr == 1)):
            raise ValidationError(f"input '{name}': values must be spikes 0/1 (got other values); "
                                  "graded inputs are not supported")
        r, ch = np.nonzero(arr)
        rows_l.append(r.astype(np.int64))
        src_l.append(n + int(tables.input_ptr[i]) + ch.astype(np.int64))
    rows = np.concatenate(rows_l) if rows_l else np.zeros(0, np.int64)
    src = np.concatenate(src_l) if src_l else np.zeros(0, np.int64)
    order = np.lexsort((src, rows))
    rows, src = rows[order], src[order]
    in_ptr = np.searchsorted(rows, np.arange(steps + 1)).astype(np.int64)
    return in_ptr, src


# ----------------------------------------------------------------------------------- recording
def _record_layout(tables, record, populations):
    record = (record,) if isinstance(record, str) else tuple(record or ())
    bad = [r for r in record if r not in RECORDABLE]
    if bad:
        raise ValidationError(f"record: unknown variable(s) {bad}; choose from {list(RECORDABLE)}")
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
    return record, rec_col, cols, off


def available_memory() -> int:
    """Bytes of RAM available now (os.sysconf; 0 if unknown)."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 0


def _check_budget(needed: int, steps: int, k: int, record, n_cores: int, counters: bool, budget) -> None:
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


def _learning_setup(tables, learning, inputs, steps: int, cols: dict, positions: np.ndarray,
                    per_step: bool) -> list[_Learner]:
    """Learning states, weight slots and spike/reward sources of every learning projection."""
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
        state = S.state_for_projection(proj)
        n_post, n_pre = state.shape
        slots = learning_slots(tables, k, n_post, n_pre, positions)
        if np.any(slots < 0):
            raise BackendError(f"per-core tables: learning projection '{proj.name}' holds "
                               f"{int((slots >= 0).sum())} distinct synapses of its {n_post * n_pre}; the tables do not "
                               "match the network's learning rules (each synapse once, zeros included): recompile")
        mine = np.asarray(tables.syn_proj) == k
        per_core = np.bincount(neuron_core[tables.syn_post[mine]], minlength=n_cores).astype(np.int64) \
            * len(state.table.targets)
        pre_rows = None
        if proj.source in tables.input_names:
            pre_rows = np.zeros((steps, n_pre), bool) if inputs is None else \
                np.asarray(inputs[proj.source])[:steps].reshape(steps, n_pre).astype(bool)
        tf = proj.learning.third_factor
        rewards = None
        if tf is not None:
            if tf not in tables.input_names:
                raise ValidationError(f"learning rule '{proj.learning.name}' of projection '{proj.name}': third "
                                      f"factor '{tf}' is not a graph input of the tables ({list(tables.input_names)})")
            rewards = S.check_reward(np.zeros(steps, np.int64) if inputs is None else inputs[tf], tf, steps, n_post)
        out.append(_Learner(proj, state, slots, None if pre_rows is not None else cols[proj.source], pre_rows,
                            cols[proj.target], rewards, per_core,
                            np.zeros((steps, n_post, n_pre), np.int64) if per_step else None))
    return out


def _learn_step(learners, t: int, rec_spk, syn_weight, learn_cnt) -> None:
    """The learning part of step t (after the kernel's step t): traces, then the epoch's update."""
    row = t - 1
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


def emulate_tables(tables, steps: int, inputs: dict | None = None, record=("spikes", "v"), progress: bool = False,
                   *, populations=None, counters: bool = True, events: bool = False, engine: str = "numba",
                   shapes: dict | None = None, memory_budget: int | None = None, plan: Plan | None = None,
                   learning=None) -> Result:
    """Run ``tables`` for ``steps`` steps; see the module docstring for timing conventions.

    ``record``: any of "spikes", "v", "u" for the ``populations`` given (default all). ``counters``:
    per-core, per-step operation counts in ``report["counters"]`` (arrays ``[T, n_cores]``, names in
    ``kernels.COUNTER_NAMES``, plus ``spikes_per_source`` [S]). ``engine="numpy"`` runs the readable
    spec (``kernels.step_numpy``) instead of the numba kernel: slow, for tests. ``events``: also return
    every spike event, neurons and graph-input channels, as ``report["spike_events"] = {"step": [E]
    (0-based), "source": [E]}`` sorted by step (the cost model's input; spikes of all populations are
    recorded internally for it). ``plan``: ``make_plan(tables)`` made earlier by the caller (``emulate_batch``
    reuses one plan for many runs); None makes it here. The run always starts from the tables' initial
    state (``u0``, ``v0``, empty delay rings, the learning projections' initial weights), whether or not
    the plan is reused (learning writes to a copy of the plan's weights).

    ``learning``: the IR projections (of the network the tables were built from) that have learning
    rules. Their final weights come back in ``Result.weights[name]`` (int64 ``[n_post, n_pre]``), with
    "weights" in ``record`` also ``weights[name + ".per_step"]`` ``[T, n_post, n_pre]``; final tags and
    traces in ``report["learning"][name]``; with ``counters``, ``report["counters"]["learning_updates"]``
    ``[T, n_cores]`` (synapse updates per learning epoch, one per synapse and updated variable).
    A rule's ``third_factor`` input is given in ``inputs`` as ints 0..127, ``[T]``, ``[T, 1]`` or
    ``[T, n_post]``.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValidationError(f"steps must be a positive integer, got {steps!r}")
    if engine not in ("numba", "numpy"):
        raise ValidationError(f"engine must be 'numba' or 'numpy', got {engine!r}")
    steps = int(steps)
    if plan is None:
        plan = make_plan(tables)
    elif not isinstance(plan, Plan) or plan.neuron_core.size != tables.n_neurons:
        raise ValidationError("plan: expected make_plan(tables) of these tables; pass plan=None to make one")
    learning = [p for p in (learning or ()) if p.learning is not None]
    reward_names = {p.learning.third_factor for p in learning} - {None}
    in_ptr, in_src = encode_inputs(tables, inputs, steps, shapes, reward_names)
    user_record = record
    record, rec_col, cols, k = _record_layout(tables, record, populations)
    learn_pops = {name for p in learning for name in (p.source, p.target) if name in tables.pop_names}
    relaid = False
    if events and (populations is not None or "spikes" not in record):
        # events need every neuron's spikes: record them all, hand back only what was asked for
        record, rec_col, cols, k = _record_layout(tables, tuple(record) + ("spikes",) * ("spikes" not in record),
                                                  None)
        relaid = True
    elif learn_pops and ("spikes" not in record or not learn_pops <= set(cols)):
        # learning needs the spikes of its sources and targets every step
        pops = None if populations is None else list(populations) + sorted(learn_pops - set(populations))
        record, rec_col, cols, k = _record_layout(tables, tuple(record) + ("spikes",) * ("spikes" not in record),
                                                  pops)
        relaid = True
    n_cores = int(tables.n_cores)
    per_elem = ((1 if "spikes" in record else 0) + (8 if "v" in record else 0) + (8 if "u" in record else 0))
    n_learn_syn = sum(int(np.prod(np.shape(p.connectivity.weights))) for p in learning)
    needed = steps * k * per_elem + (6 * steps * n_cores * 8 if counters else 0) + plan.nbytes \
        + (steps * n_cores * 8 if counters and learning else 0) \
        + (steps * n_learn_syn * 8 if "weights" in record else 0)
    _check_budget(needed, steps, k, record, n_cores, counters, memory_budget)

    rec_spk = np.zeros((steps, k) if "spikes" in record else (0, 0), np.uint8)
    rec_v = np.zeros((steps, k) if "v" in record else (0, 0), np.int64)
    rec_u = np.zeros((steps, k) if "u" in record else (0, 0), np.int64)
    cnt = np.zeros((6, steps, n_cores) if counters else (6, 0, 0), np.int64)
    learn_cnt = np.zeros((steps, n_cores) if counters and learning else (0, 0), np.int64)
    src_spikes = np.zeros(tables.n_sources if counters else 0, np.int64)
    u = np.asarray(tables.neuron_params["u0"], np.int64).copy()
    v = np.asarray(tables.neuron_params["v0"], np.int64).copy()
    learners = _learning_setup(tables, learning, inputs, steps, cols,
                               _synapse_positions(tables, engine == "numba") if learning else None,
                               "weights" in record)

    t0 = time.perf_counter()
    chunk = 1 if learners else (steps if not progress else max(1, math.ceil(steps / 100)))
    bar = _progress(steps, progress)
    if engine == "numba":
        syn_weight = plan.syn_weight.copy() if learners else plan.syn_weight
        for ln in learners:
            L.scatter_weights(ln.state, syn_weight, ln.slots)
        ring = np.zeros(plan.ring_size, np.int64)
        m = max(plan.scratch_size, 1)
        scratch, sflag = np.zeros(m, np.int64), np.zeros(m, np.uint8)
        touched_idx, touched_proj, touched_delay = np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(m, np.int64)
        spiked = np.zeros(max(tables.n_sources, 1), np.int64)
        proj_exp = np.asarray(tables.proj_weight_exp, np.int64)
        proj_wrap = np.asarray(tables.proj_wrap24, np.bool_)
        du, dv = (np.asarray(tables.neuron_params[k], np.int64) for k in ("du", "dv"))
        for first in range(1, steps + 1, chunk):
            last = min(steps, first + chunk - 1)
            K.run_steps(first, last, tables.core_neuron_ptr, du, dv, plan.vth6, plan.bias, u, v,
                        plan.dend_ptr, plan.dend_proj, plan.dend_off, plan.proj_len, proj_exp, proj_wrap,
                        plan.proj_mode, plan.all_direct, ring, scratch, sflag, touched_idx, touched_proj,
                        touched_delay, plan.neuron_core, tables.route_ptr, tables.route_core, plan.route_syn_ptr,
                        plan.syn_ring, syn_weight, plan.syn_delay, plan.syn_proj,
                        in_ptr, in_src, rec_col, rec_spk, rec_v, rec_u,
                        "spikes" in record, "v" in record, "u" in record, counters, cnt, src_spikes, spiked)
            if learners:
                _learn_step(learners, first, rec_spk, syn_weight, learn_cnt)
            bar.update(last - first + 1)
    else:
        run_tables = tables
        if learners:
            run_tables = replace(tables, syn_weight=np.asarray(tables.syn_weight).copy())
            for ln in learners:
                L.scatter_weights(ln.state, run_tables.syn_weight, ln.slots)
        state = {"u": u, "v": v, "vth6": plan.vth6, "bias": plan.bias,
                 "arrive": np.zeros((int(plan.proj_len.max(initial=1)), tables.n_neurons), np.int64)}
        mine = rec_col >= 0
        for t in range(1, steps + 1):
            row = t - 1
            ins = in_src[in_ptr[row]:in_ptr[row + 1]] if row < in_ptr.size - 1 else in_src[:0]
            s, c = K.step_numpy(t, run_tables, state, ins, plan.neuron_core)
            if "spikes" in record:
                rec_spk[row, rec_col[mine]] = s[mine]
            if "v" in record:
                rec_v[row, rec_col[mine]] = state["v"][mine]
            if "u" in record:
                rec_u[row, rec_col[mine]] = state["u"][mine]
            if counters:
                for i, name in enumerate(K.COUNTER_NAMES):
                    cnt[i, row] = c[name]
                src_spikes += c["spikes_per_source"]
            if learners:
                _learn_step(learners, t, rec_spk, run_tables.syn_weight, learn_cnt)
            bar.update(1)
        u, v = state["u"], state["v"]
    bar.close()
    wall = time.perf_counter() - t0

    res = Result(steps=steps)
    if events:
        step_l, src_l = [], []
        for name, (a, b) in cols.items():
            t_idx, col = np.nonzero(rec_spk[:, a:b])
            step_l.append(t_idx)
            src_l.append(tables.pop_gid[name][col])
        step_l.append(np.repeat(np.arange(in_ptr.size - 1), np.diff(in_ptr)))
        src_l.append(in_src)
        ev_step, ev_src = np.concatenate(step_l).astype(np.int64), np.concatenate(src_l).astype(np.int64)
        order = np.lexsort((ev_src, ev_step))
        res.report["spike_events"] = {"step": ev_step[order], "source": ev_src[order]}
    if relaid:
        record, _, user_cols, _ = _record_layout(tables, user_record, populations)
        cols = {name: cols[name] for name in user_cols}
    for name, (a, b) in cols.items():
        if "spikes" in record:
            res.spikes[name] = rec_spk[:, a:b]
        if "v" in record:
            res.v[name] = rec_v[:, a:b]
        if "u" in record:
            res.u[name] = rec_u[:, a:b]
    res.report.update({
        "backend": "emulator", "engine": engine, "steps": steps, "n_cores": n_cores,
        "n_neurons": tables.n_neurons, "n_synapses": tables.n_synapses, "wall_time_s": wall,
        "synaptic_events": int(cnt[K.C_SYNOPS].sum()) if counters else None,
        "energy": None, "latency": None,
        "note": "functional emulation; timing/energy models are applied by a later stage from 'counters'",
    })
    if learners:
        res.report["learning"] = {ln.proj.name: learning_summary(ln.state) for ln in learners}
        for ln in learners:
            res.weights[ln.proj.name] = ln.state.weights.copy()
            if ln.per_step is not None:
                res.weights[ln.proj.name + PER_STEP] = ln.per_step
    if counters:
        res.report["counters"] = {name: cnt[i] for i, name in enumerate(K.COUNTER_NAMES)}
        res.report["counters"]["spikes_per_source"] = src_spikes
        if learners:
            res.report["counters"]["learning_updates"] = learn_cnt
    return res


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
            timing: bool = True) -> Result:
    """Run a CompiledNetwork (or the path of one) on the emulator; returns a Result.

    Inputs are ``{graph input name: [T, *shape] 0/1}`` (a learning rule's third-factor input: ints
    0..127, ``[T]``, ``[T, 1]`` or ``[T, n_post]``); see ``emulate_tables`` for the rest, including
    what learning projections return. With ``timing`` (default) the target's timing/energy model
    (``costmodel.estimate``) turns the run's spikes and per-core counters (learning updates included)
    into ``report["energy_j"]``, ``report["latency_s"]`` and the full breakdown in ``report["cost"]``;
    the per-step counter arrays are then summarised per core.
    """
    tables, shapes, target, physical_core, learning = _resolve(art, "emulate")
    timing = timing and counters and target is not None and physical_core is not None
    res = emulate_tables(tables, steps, inputs, record, progress, populations=populations, counters=counters,
                         shapes=shapes, memory_budget=memory_budget, events=timing, learning=learning)
    if timing:
        attach_cost(res, target, tables, physical_core, steps)
    return res


def _resolve(art, who: str):
    """``(tables, input shapes, target, physical_core, learning projections)`` of a CompiledNetwork or
    artifact directory."""
    if isinstance(art, (str, os.PathLike, Path)):
        from ...mapping.artifact import load_compiled
        art = load_compiled(art)
    tables = getattr(art, "tables", None)
    network = getattr(art, "network", None)
    if tables is None:
        raise BackendError(f"{who}: expected a CompiledNetwork or its directory, got {type(art).__name__}")
    shapes, learning = None, []
    if network is not None:
        from ...semantics.reference import third_factor_inputs
        learning = [p for p in network.projections.values() if p.learning is not None]
        for proj in learning:
            S.check_learning_projection(proj)
            S.learning_sign_mode(proj.connectivity, proj.learning)
        rewards = third_factor_inputs(network)
        shapes = {name: network.populations[name].shape for name in network.inputs if name not in rewards}
    return tables, shapes, getattr(art, "target", None), getattr(art, "physical_core", None), learning


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
                  memory_budget: int | None = None) -> list[Result]:
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
    against the budget after the first sample.
    """
    tables, shapes, target, physical_core, learning = _resolve(art, "emulate_batch")
    n = _batch_size(inputs_batch)
    timing = timing and counters and target is not None and physical_core is not None
    plan = make_plan(tables)
    arrays = {k: np.asarray(x) for k, x in inputs_batch.items()}
    bar = _progress(n, progress, unit="sample", desc="emulate_batch")
    out = []
    for b in range(n):
        res = emulate_tables(tables, steps, {k: x[b] for k, x in arrays.items()}, record,
                             populations=populations, counters=counters, shapes=shapes,
                             memory_budget=memory_budget, events=timing, plan=plan, learning=learning)
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


def attach_cost(res: Result, target, tables, physical_core, steps: int) -> None:
    """Apply the target's timing/energy model to a finished run and keep report.json small."""
    from .costmodel import estimate
    events = res.report.pop("spike_events")
    per_step = res.report["counters"]
    est = estimate(target, tables, np.asarray(physical_core), events["step"], events["source"],
                   per_step["neurons_active"], steps, learn_ops=per_step.get("learning_updates"))
    res.report["cost"] = est
    res.report["energy_j"] = est["energy_j"]
    res.report["latency_s"] = est["latency_s"]
    res.report["counters"] = {name: np.asarray(arr).sum(axis=0) for name, arr in per_step.items()
                              if name != "spikes_per_source"}
    res.report["note"] = ("energy and latency are model estimates from the target's per-operation figures "
                          "(see cost.assumptions and the sources in the target file), not measurements")
