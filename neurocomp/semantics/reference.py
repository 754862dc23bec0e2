"""Plain-numpy reference simulator of Lava 0.10's fixed-point (``fixed_pt``) semantics: the readable spec.

This module is what a newcomer reads to learn exactly what an integer network computes. Every
formula below is taken from Lava 0.10's CPU process models (../shared/reference/lava.md and the
lava source, which wins); the numba emulator is tested against :func:`step`, and the Lava backend
is tested against :func:`simulate_reference`.

One step ``t`` (1-based; the first step is t=1), in Lava's phase order::

    # 1. every projection delivers what it computed earlier (slot 0 of its delay buffer) into input
    #    channel proj.port of its target (one channel for most models; RF's real and imaginary part)
    a[pop][c] = wrap32(sum over incoming projections with port c of buf[proj][:, 0])
    # 2. every population updates with its model's step (neurocomp.neurons; LoihiLIF below) and emits s_t
    # 3. every projection reads its source's spikes of THIS step (a LIF's s_t, or row t-1 of a
    #    graph input) and schedules them: a spike on a synapse with delay d reaches the target's
    #    a_in at step t + 1 + d (one-step synaptic latency, as Lava's Dense/DelayDense)
    buf[:, 0] = 0; buf = roll(buf, -1, axis=1)
    buf[:, k] += shift(sum_i [delay_i == k] * W_i * s_i, weight_exp)      for k = 0..max_delay

LIF (``PyLifModelBitAcc``), all arrays int32 in Lava::

    u = wrap24(int32(trunc0(u * (4096 - (du + 1)), 12)) + (a << 6))      # du=0 still decays by 1/4096
    v = clip(int32(trunc0(v * (4096 - dv), 12)) + u + bias, -(2^23-1), 2^23-1)
    s = v > (vth << 6);  v[s] = 0                                        # u is not reset
    bias = bias_mant << bias_exp  (>> -bias_exp when negative), every step

``trunc0(x, k) = sign(x) * (|x| >> k)`` rounds toward 0; ``wrap24`` is Lava's single conditional
wrap into (-2^23, 2^23]; ``>>`` is numpy's arithmetic (flooring) shift.

Weights (Dense, Sparse, OneToOne, and Conv2d lowered as Sparse): ``clip_weights`` to 8 bits for the
sign mode, then ``truncate_weights`` to ``num_weight_bits`` (MIXED drops one more LSB by flooring:
5 -> 4, -5 -> -6), and the per-projection, per-delay SUM is shifted by ``weight_exp`` (a negative
exponent floors the sum, not each weight).

Conv2d: when :func:`conv_uses_lava_conv` is true the Lava backend lowers it to Lava's ``Conv``
process, whose fixed-point model uses the raw weights (no clip/truncation, ``weight_exp`` ignored)
and wraps each output to 24 bits (``(x + 2^23) % 2^24 - 2^23``). The rule only picks Conv when the
weights are already clip/truncation-invariant and ``weight_exp == 0``, so the two agree except for
that 24-bit wrap, which this simulator reproduces. Otherwise Conv2d is lowered (and simulated) as
the equivalent Sparse projection.

Graded messages (``num_message_bits > 0``, ``neurocomp.semantics.synapses.message_bits``): the source sends
integer payloads ``p`` (SigmaDelta/Delta/Sigma, or a graded graph input) instead of 0/1 spikes and the
projection multiplies them by the effective weights. Lava's int32 arithmetic then wraps at a place that
depends on the process the projection runs as (``synapses.lava_connection``)::

    Dense, Sparse, DelaySparse:  acc_k = shift32(wrap32(sum_i [delay_i == k] W_i * p_i), weight_exp)
    DelayDense:                  acc_k = shift_floor(sum_i [delay_i == k] wrap32(W_i * p_i), weight_exp)
    Conv (raw weights):          acc   = conv_cast24(sum_i W_i * p_i)
    buf[:, k] = wrap32(buf[:, k] + acc_k)

(``shift32``: int32 shift, a left shift wraps; Dense/Sparse dot int32 vectors, DelayDense sums int32
products in int64; Conv sums in float64 and casts to int32, see ``fixedpoint.conv_cast24``). A
projection with ``num_message_bits = 0`` reads a payload as a spike (``p != 0``), as Lava's does.

Learning projections (Dense, no delay; Lava's ``LearningDense``) carry a
:class:`neurocomp.semantics.learning.LearningState` and use the engine's numpy spec
(``activation``, ``spk_phase``, ``lrn_phase_numpy``). At step t, after the neurons::

    buf[proj][:, 0] = shift(W[:, pre_t].sum(1), weight_exp)     # W before this step's learning
    spk_phase(state, t, pre_t, post_t, reward_t)                 # post_t: the target's spikes of step t
    lrn_phase_numpy(state, t)                                    # when t % t_epoch == 0

``reward_t`` is row t-1 of the graph input named by the rule's ``third_factor``: ints 0..127, one
value for all post neurons or one per post neuron. Such a *third-factor input* is not a spike
source (it may not feed any projection); it only sets y2 (Lava's ``s_in_y2`` port).

Onsets (``Network.onsets``, set by the NIR importer to each population's depth): a population with
onset ``o > 0`` steps with its drive parameters (``NeuronKind.drive``: ``bias_mant`` / ``bias``) at 0
during steps ``1..o``, and step ``o + 1`` starts from its initial state (u0/v0) with its real drive::

    params_t = params with drive = 0          if t <= o
    state    = initial state                  if t == o + 1   (before the update)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..errors import UnsupportedError
from .fixedpoint import conv_cast24, shift32, shift_floor, signed_clamp24, wrap32
from .synapses import (GRADED_WRAP, check_graded, check_ports, graded_inputs, lava_connection, message_bits,
                       projection_synapses, uses_lava_conv)
from ..ir import Network
from ..neurons import kind_of
from ..result import Result
from .inputs import (RECORDABLE, check_input_keys, check_inputs, check_record,  # noqa: F401  (public here)
                     reward_rows, third_factor_inputs)

#: Suffix of the per-step weight recordings in ``Result.weights`` (``record`` includes "weights").
PER_STEP = ".per_step"
#: Learning state returned per projection in ``Result.report["learning"]`` (final values).
LEARNING_VARS = ("tag_1", "tag_2", "x1", "x2", "y1", "y2", "y3", "tx", "ty")


# --------------------------------------------------------------------------- the compiled tables
@dataclass(frozen=True)
class SynapseTable:
    """One projection ready to simulate.

    ``stack`` is a CSR matrix of shape ``((max_delay + 1) * n_post, n_pre)``: rows ``k*n_post ..
    (k+1)*n_post - 1`` hold the effective weights of synapses with delay k (Lava's delay-weights layout).
    ``conv_wrap``: raw-weight Lava Conv semantics (no shift, 24-bit wrap of the sum). ``message_bits``: Lava's
    ``num_message_bits`` (0: binary spikes); ``lava_kind``: the Lava process it runs as (where graded sums wrap).
    """
    name: str
    source: str
    target: str
    n_post: int
    n_slots: int
    stack: sp.csr_matrix
    weight_exp: int
    conv_wrap: bool
    message_bits: int = 0
    lava_kind: str = "Dense"
    port: int = 0                     # the target's input channel (Projection.port)

    def accumulate(self, values: np.ndarray) -> np.ndarray:
        """This step's synaptic input per (slot, post) from the source's spikes or payloads (module doc)."""
        if not self.message_bits:
            acc = self.stack @ (np.asarray(values) != 0).astype(np.int64)
            return signed_clamp24(acc) if self.conv_wrap else shift_floor(acc, self.weight_exp)
        p = wrap32(values)
        wrap = GRADED_WRAP[self.lava_kind]
        if wrap == "cast":
            return conv_cast24(self.stack @ p)
        if wrap == "product":                    # np.sum of int32 products: each product wraps, the sum does not
            st = self.stack
            products = sp.csr_matrix((wrap32(st.data * p[st.indices]), st.indices, st.indptr), shape=st.shape)
            return shift_floor(products @ np.ones(st.shape[1], np.int64), self.weight_exp)
        return shift32(wrap32(self.stack @ p), self.weight_exp)

    def schedule(self, buf: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Advance the delay buffer by one step and add this step's spikes or payloads (Lava's ``update_act``)."""
        acc = self.accumulate(values).reshape(self.n_slots, self.n_post).T
        out = np.zeros_like(buf)
        out[:, :-1] = buf[:, 1:]                                      # slot 0 was delivered; shift left
        return wrap32(out + acc)


@dataclass(frozen=True)
class ReferenceModel:
    """The static part of a simulation: per-population neuron kind (``neurocomp.neurons``) and parameters,
    per-projection synapse tables."""
    network: Network
    kinds: dict                       # population -> NeuronKind
    params: dict                      # population -> {table field: int64 [n]}
    synapses: list[SynapseTable]
    inputs: dict[str, int]            # graph input name -> size (spike and graded inputs)
    learning: dict = field(default_factory=dict)   # learning projection name -> Projection
    rewards: dict = field(default_factory=dict)    # third-factor input name -> [learning projections]
    graded: frozenset = frozenset()   # graph inputs and populations that send graded payloads
    onsets: dict = field(default_factory=dict)     # population -> onset step (> 0 only; Network.onsets)


@dataclass
class ReferenceState:
    """Everything that changes from step to step (int64 arrays holding Lava's int32 values).

    ``t``: steps done so far. ``buf[proj]``: [n_post, max_delay + 1] pending synaptic input; slot 0 is
    delivered at the next step. ``spikes[pop]``: what ``pop`` sent at step ``t``: bool spikes, or int64 payloads
    for the names in ``model.graded``.
    """
    model: ReferenceModel
    t: int
    neurons: dict                     # population -> {state variable: int64 [n]} (its kind's ``state``)
    spikes: dict[str, np.ndarray]
    buf: dict[str, np.ndarray] = field(default_factory=dict)
    learn: dict = field(default_factory=dict)      # learning projection name -> LearningState

    def var(self, name: str) -> dict:
        """``{population: state variable name}`` of the populations whose model has it (e.g. "v")."""
        return {pop: st[name] for pop, st in self.neurons.items() if name in st}

    @property
    def u(self) -> dict:
        return self.var("u")

    @property
    def v(self) -> dict:
        return self.var("v")


def _refuse_reason(net: Network) -> None:
    for pop in net.neuron_populations:
        kind_of(pop.model, f"population '{pop.name}'")
    for proj in net.projections.values():
        if not proj.connectivity.integer:
            raise UnsupportedError(
                f"projection '{proj.name}': weights are floats ({proj.connectivity.weights.dtype}); integer "
                "weights are required, run the quantize pass (neurocomp compile) first")
        if proj.learning is not None:
            from .learning import check_learning_projection, learning_sign_mode
            check_learning_projection(proj)
            learning_sign_mode(proj.connectivity, proj.learning)
    check_graded(net)
    check_ports(net)
    third_factor_inputs(net)


def projection_coo(net: Network, proj) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """``(post, pre, effective_weight, delay, conv_wrap)`` of every synapse that can carry current, from the
    projection's synapse enumerator (``neurocomp.semantics.synapses``: Lava's effective weights, or the raw
    ones of a Lava-Conv-lowered Conv2d, whose sums wrap to 24 bits: ``conv_wrap``)."""
    n_pre, n_post = net.populations[proj.source].size, net.populations[proj.target].size
    pre, post, w, d = projection_synapses(proj, n_pre, n_post)
    return post, pre, np.asarray(w, np.int64), d, uses_lava_conv(proj)


def build_model(net: Network) -> ReferenceModel:
    """Check the network is integer and build the static tables (refusals name the population/projection)."""
    _refuse_reason(net)
    kinds = {p.name: kind_of(p.model) for p in net.neuron_populations}
    params = {p.name: {k: p.model.broadcast(k, p.size).astype(np.int64) for k in kinds[p.name].params}
              for p in net.neuron_populations}
    synapses = []
    for proj in net.projections.values():
        post, pre, w, d, conv = projection_coo(net, proj)
        n_post, n_pre = net.populations[proj.target].size, net.populations[proj.source].size
        n_slots = int(d.max()) + 1 if d.size else 1
        n_slots = max(n_slots, proj.max_delay + 1)
        stack = sp.csr_matrix((w.astype(np.int64), (d.astype(np.int64) * n_post + post, pre)),
                              shape=(n_slots * n_post, n_pre))
        synapses.append(SynapseTable(proj.name, proj.source, proj.target, n_post, n_slots, stack,
                                     proj.connectivity.weight_exp, conv, message_bits(net, proj), lava_connection(proj),
                                     proj.port))
    rewards = third_factor_inputs(net)
    learning = {p.name: p for p in net.projections.values() if p.learning is not None}
    graded = frozenset(graded_inputs(net)) | {name for name, kind in kinds.items() if kind.graded}
    onsets = {name: o for name, o in net.onsets().items() if o > 0}
    return ReferenceModel(net, kinds, params, synapses, {name: net.populations[name].size for name in net.inputs
                                               if name not in rewards}, learning, rewards, graded, onsets)


def _held_params(kind, params: dict) -> dict:
    """``params`` with the kind's constant drive (``NeuronKind.drive``) off: a population before its onset."""
    return {k: (np.zeros_like(v) if k in kind.drive else v) for k, v in params.items()}


def initial_state(model: ReferenceModel) -> ReferenceState:
    """State before step 1: each model's initial values (LoihiLIF: u0/v0), empty delay buffers, no spikes."""
    net = model.network
    neurons, spikes = {}, {}
    for pop in net.neuron_populations:
        kind = model.kinds[pop.name]
        neurons[pop.name] = {var: pop.model.broadcast(kind.initial[var], pop.size).astype(np.int64)
                             for var in kind.state}
    for pop in net.populations.values():
        spikes[pop.name] = np.zeros(pop.size, dtype=bool)
    buf = {s.name: np.zeros((s.n_post, s.n_slots), dtype=np.int64) for s in model.synapses}
    learn = {}
    if model.learning:
        from .learning import state_for_projection
        learn = {name: state_for_projection(proj, use_numba=False) for name, proj in model.learning.items()}
    return ReferenceState(model, 0, neurons, spikes, buf, learn)


def step(state: ReferenceState, spikes_in: dict[str, np.ndarray] | None = None) -> ReferenceState:
    """Advance one step (Lava's SPK phase); returns a new state and leaves ``state`` untouched.

    ``spikes_in[name]``: the 0/1 vector (flattened) graph input ``name`` emits at this step (for step t,
    row t-1 of the user's input array), integer payloads for a graded input; for a third-factor input, its reward values (a scalar, [1] or
    [n_post] ints 0..127). Missing inputs are silent (reward 0). Learning states are copied, not shared.
    """
    import copy
    from . import learning as L
    model = state.model
    spikes_in = spikes_in or {}
    # 1. deliver slot 0 of every projection; each Lava InPort (input channel) sums its int32 messages
    a = {name: np.zeros((kind.channels, model.network.populations[name].size), dtype=np.int64)
         for name, kind in model.kinds.items()}
    for syn in model.synapses:
        a[syn.target][syn.port] = wrap32(a[syn.target][syn.port] + state.buf[syn.name][:, 0])
    # 2. neurons: each population's model steps (its registered numpy spec; a one-input model gets a[0]);
    #    one before its onset runs without its drive, and at step onset + 1 starts again from its initial
    #    state (Network.onsets)
    t = state.t + 1
    neurons, spikes = {}, {}
    for name, kind in model.kinds.items():
        onset, params, st = model.onsets.get(name, 0), model.params[name], state.neurons[name]
        if t <= onset:
            params = _held_params(kind, params)
        elif t == onset + 1 and onset > 0:
            pop = model.network.populations[name]
            st = {var: pop.model.broadcast(kind.initial[var], pop.size).astype(np.int64) for var in kind.state}
        neurons[name], spikes[name] = kind.spec_step(params, st, a[name] if kind.channels > 1 else a[name][0])
    for name, n in model.inputs.items():
        s = np.asarray(spikes_in.get(name, np.zeros(n))).reshape(-1)
        spikes[name] = s.astype(np.int64) if name in model.graded else s.astype(bool)
    # 3. projections read this step's spikes (learning ones with their weights before this step's update)
    learn = copy.deepcopy(state.learn)
    buf = {}
    for syn in model.synapses:
        if syn.name in learn:
            buf[syn.name] = L.activation(learn[syn.name], spikes[syn.source])[:, None]
        else:
            buf[syn.name] = syn.schedule(state.buf[syn.name], spikes[syn.source])
    # 4. learning: traces see this step's pre and post spikes (and reward), then the epoch's update
    for name, ls in learn.items():
        proj = model.learning[name]
        tf = proj.learning.third_factor
        reward = None
        if tf is not None:
            reward = np.broadcast_to(np.asarray(spikes_in.get(tf, 0), np.int64).reshape(-1), (ls.shape[0],))
        L.spk_phase(ls, t, spikes[proj.source], spikes[proj.target], reward)
        L.lrn_phase_numpy(ls, t)
    return ReferenceState(model, t, neurons, spikes, buf, learn)


# --------------------------------------------------------------------------- the driver
def simulate_reference(net: Network, steps: int, inputs: dict[str, np.ndarray] | None = None,
                       record=("spikes", "v", "u")) -> Result:
    """Simulate an integer network for ``steps`` steps with Lava 0.10's fixed-point semantics.

    Returns a Result with ``spikes[pop]`` uint8 [T, n] and ``v[pop]``/``u[pop]`` int64 [T, n] (row t-1 is
    the state after step t, v after the reset) for every non-input population, as requested by ``record``;
    graded populations also ``payloads[pop]`` int64 [T, n] (with "spikes"), and any other recorded state
    variable of a model (e.g. "sigma") is in ``state[var][pop]``.
    Learning projections: final weights in ``weights[proj]`` (int64 [n_post, n_pre]), with "weights" in
    ``record`` also ``weights[proj + PER_STEP]`` [T, n_post, n_pre] (after each step's learning), and
    the final traces/tags (:data:`LEARNING_VARS`) in ``report["learning"][proj]``.
    """
    record = check_record(record)
    rows = check_inputs(net, steps, inputs)
    model = build_model(net)
    state = initial_state(model)
    pops = [p.name for p in net.neuron_populations]
    traces = {kind: {name: np.zeros((steps, net.populations[name].size),
                                    dtype=np.uint8 if kind == "spikes" else np.int64)
                     for name in pops if kind == "spikes" or kind in model.kinds[name].state}
              for kind in record if kind != "weights"}
    payloads = {name: np.zeros((steps, net.populations[name].size), np.int64) for name in pops
                if name in model.graded} if "spikes" in record else {}
    per_step = {name: np.zeros((steps, *ls.shape), np.int64) for name, ls in state.learn.items()} \
        if "weights" in record else {}
    for t in range(steps):
        state = step(state, {name: r[t] for name, r in rows.items()})
        for kind, group in traces.items():
            for name, arr in group.items():
                arr[t] = state.spikes[name] != 0 if kind == "spikes" else state.neurons[name][kind]
        for name, arr in payloads.items():
            arr[t] = state.spikes[name]
        for name, arr in per_step.items():
            arr[t] = state.learn[name].weights
    report = {"backend": "reference", "note": "plain-numpy Lava 0.10 fixed_pt semantics; no energy or latency model"}
    weights = {}
    if state.learn:
        report["learning"] = {name: learning_summary(ls) for name, ls in state.learn.items()}
        weights = {name: ls.weights.copy() for name, ls in state.learn.items()}
        weights.update({name + PER_STEP: arr for name, arr in per_step.items()})
    others = {kind: group for kind, group in traces.items() if kind not in ("spikes", "v", "u") and group}
    return Result(spikes=traces.get("spikes", {}), v=traces.get("v", {}), u=traces.get("u", {}), weights=weights,
                  report=report, steps=steps, payloads=payloads, state=others)


def learning_summary(state) -> dict:
    """Final tags/traces (:data:`LEARNING_VARS`, int64 arrays) and counters of one LearningState."""
    out = {"tag_1": state.tag_1, "tag_2": state.tag_2, "x1": state.x[0], "x2": state.x[1], "y1": state.y[0],
           "y2": state.y[1], "y3": state.y[2], "tx": state.tx, "ty": state.ty}
    out = {k: np.asarray(v, np.int64).copy() for k, v in out.items()}
    out.update({k: int(v) for k, v in state.counters.items()})
    return out
