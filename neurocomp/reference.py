"""Plain-numpy reference simulator of Lava 0.10's fixed-point (``fixed_pt``) semantics: the readable spec.

This module is what a newcomer reads to learn exactly what an integer network computes. Every
formula below is taken from Lava 0.10's CPU process models (../shared/reference/lava.md and the
lava source, which wins); the numba emulator is tested against :func:`step`, and the Lava backend
is tested against :func:`simulate_reference`.

One step ``t`` (1-based; the first step is t=1), in Lava's phase order::

    # 1. every projection delivers what it computed earlier (slot 0 of its delay buffer)
    a[pop]  = wrap32(sum over incoming projections of buf[proj][:, 0])
    # 2. every LoihiLIF population updates (lif_step) and emits spikes s_t
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

Learning projections (Dense, no delay; Lava's ``LearningDense``) carry a
:class:`neurocomp.backends.emulator.learning.LearningState` and use the engine's numpy spec
(``activation``, ``spk_phase``, ``lrn_phase_numpy``). At step t, after the neurons::

    buf[proj][:, 0] = shift(W[:, pre_t].sum(1), weight_exp)     # W before this step's learning
    spk_phase(state, t, pre_t, post_t, reward_t)                 # post_t: the target's spikes of step t
    lrn_phase_numpy(state, t)                                    # when t % t_epoch == 0

``reward_t`` is row t-1 of the graph input named by the rule's ``third_factor``: ints 0..127, one
value for all post neurons or one per post neuron. Such a *third-factor input* is not a spike
source (it may not feed any projection); it only sets y2 (Lava's ``s_in_y2`` port).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .errors import UnsupportedError
from .fixedpoint import (STATE_LIMIT, conv_uses_lava_conv, effective_weights, shift_floor, signed_clamp24, trunc0,
                         wrap24_lava, wrap32)
from .ir import Conv2d, Dense, LoihiLIF, Network, OneToOne, Sparse
from .result import Result
from .semantics.inputs import (RECORDABLE, check_input_keys, check_inputs, check_record,  # noqa: F401  (public here)
                               reward_rows, third_factor_inputs)

DECAY_SHIFT = 12
DECAY_UNITY = 2 ** DECAY_SHIFT
#: Threshold and synaptic input are MSB-aligned to the 24-bit state by a left shift of 6.
ALIGN_SHIFT = 6
#: Suffix of the per-step weight recordings in ``Result.weights`` (``record`` includes "weights").
PER_STEP = ".per_step"
#: Learning state returned per projection in ``Result.report["learning"]`` (final values).
LEARNING_VARS = ("tag_1", "tag_2", "x1", "x2", "y1", "y2", "y3", "tx", "ty")


# --------------------------------------------------------------------------- the LIF step
@dataclass(frozen=True)
class LifParams:
    """Per-neuron LoihiLIF parameters as int64 vectors (length n)."""
    du: np.ndarray
    dv: np.ndarray
    vth: np.ndarray
    bias_mant: np.ndarray
    bias_exp: np.ndarray

    @classmethod
    def from_model(cls, model: LoihiLIF, n: int) -> "LifParams":
        return cls(*(model.broadcast(k, n).astype(np.int64) for k in ("du", "dv", "vth", "bias_mant", "bias_exp")))

    def bias(self) -> np.ndarray:
        """``bias_mant << bias_exp`` (``>> -bias_exp`` for negative exponents) in int32, as Lava every step."""
        m = self.bias_mant
        shifted = np.where(self.bias_exp >= 0, m << np.maximum(self.bias_exp, 0), m >> np.maximum(-self.bias_exp, 0))
        return wrap32(shifted)


def lif_step(u: np.ndarray, v: np.ndarray, a: np.ndarray, p: LifParams):
    """One Lava fixed-point LIF step. ``u``, ``v``, ``a`` int64 vectors holding int32 values.

    Returns new ``(u, v, s)`` with ``s`` a bool vector; ``v`` is after the reset (as Lava's monitors see it).
    """
    a_aligned = wrap32(wrap32(a) << ALIGN_SHIFT)                      # int32 left shift
    decayed_u = wrap32(trunc0(u * (DECAY_UNITY - (p.du + 1)), DECAY_SHIFT))
    u = wrap32(wrap24_lava(wrap32(decayed_u + a_aligned)))
    decayed_v = wrap32(trunc0(v * (DECAY_UNITY - p.dv), DECAY_SHIFT))
    v = np.clip(wrap32(decayed_v + u + p.bias()), -(STATE_LIMIT - 1), STATE_LIMIT - 1)
    s = v > (p.vth << ALIGN_SHIFT)                                     # strict >
    v = np.where(s, 0, v)
    return u, v, s


# --------------------------------------------------------------------------- the compiled tables
@dataclass(frozen=True)
class SynapseTable:
    """One projection ready to simulate.

    ``stack`` is a CSR matrix of shape ``((max_delay + 1) * n_post, n_pre)``: rows ``k*n_post ..
    (k+1)*n_post - 1`` hold the effective weights of synapses with delay k (Lava's delay-weights layout).
    ``conv_wrap``: raw-weight Lava Conv semantics (no shift, 24-bit wrap of the sum).
    """
    name: str
    source: str
    target: str
    n_post: int
    n_slots: int
    stack: sp.csr_matrix
    weight_exp: int
    conv_wrap: bool

    def schedule(self, buf: np.ndarray, spikes: np.ndarray) -> np.ndarray:
        """Advance the delay buffer by one step and add this step's spikes (Lava's ``update_act``)."""
        acc = (self.stack @ spikes.astype(np.int64)).reshape(self.n_slots, self.n_post).T
        acc = signed_clamp24(acc) if self.conv_wrap else shift_floor(acc, self.weight_exp)
        out = np.zeros_like(buf)
        out[:, :-1] = buf[:, 1:]                                      # slot 0 was delivered; shift left
        return wrap32(out + acc)


@dataclass(frozen=True)
class ReferenceModel:
    """The static part of a simulation: per-population LIF parameters, per-projection synapse tables."""
    network: Network
    lif: dict[str, LifParams]
    synapses: list[SynapseTable]
    inputs: dict[str, int]            # graph input name -> size (spike inputs only)
    learning: dict = field(default_factory=dict)   # learning projection name -> Projection
    rewards: dict = field(default_factory=dict)    # third-factor input name -> [learning projections]


@dataclass
class ReferenceState:
    """Everything that changes from step to step (int64 arrays holding Lava's int32 values).

    ``t``: steps done so far. ``buf[proj]``: [n_post, max_delay + 1] pending synaptic input; slot 0 is
    delivered at the next step. ``spikes[pop]``: the spikes emitted at step ``t``.
    """
    model: ReferenceModel
    t: int
    u: dict[str, np.ndarray]
    v: dict[str, np.ndarray]
    spikes: dict[str, np.ndarray]
    buf: dict[str, np.ndarray] = field(default_factory=dict)
    learn: dict = field(default_factory=dict)      # learning projection name -> LearningState


def _refuse_reason(net: Network) -> None:
    for pop in net.neuron_populations:
        if not isinstance(pop.model, LoihiLIF):
            raise UnsupportedError(
                f"population '{pop.name}': model {type(pop.model).__name__} is not an integer LoihiLIF; "
                "run the quantize pass (neurocomp compile) first, or use LoihiLIF directly")
    for proj in net.projections.values():
        if not proj.connectivity.integer:
            raise UnsupportedError(
                f"projection '{proj.name}': weights are floats ({proj.connectivity.weights.dtype}); integer "
                "weights are required, run the quantize pass (neurocomp compile) first")
        if proj.learning is not None:
            from .backends.emulator.learning import check_learning_projection, learning_sign_mode
            check_learning_projection(proj)
            learning_sign_mode(proj.connectivity, proj.learning)
    third_factor_inputs(net)


def projection_coo(net: Network, proj) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """``(post, pre, effective_weight, delay, conv_wrap)`` of every synapse that can carry current.

    Effective weights are what Lava uses (clip + truncation, or raw for a Lava-Conv-lowered Conv2d).
    """
    conn = proj.connectivity
    n_pre = net.populations[proj.source].size
    delay = proj.delay
    if isinstance(conn, Dense):
        w = effective_weights(conn.weights, conn.sign_mode, conn.num_weight_bits)
        d = np.broadcast_to(delay, w.shape)
        post, pre = np.nonzero(w)
        return post, pre, w[post, pre], d[post, pre], False
    if isinstance(conn, Conv2d):
        conv = conv_uses_lava_conv(conn, delay)
        conn_s = conn.to_sparse()
        w = wrap32(conn_s.weights) if conv else effective_weights(conn_s.weights, conn.sign_mode, conn.num_weight_bits)
        post = np.repeat(np.arange(conn_s.shape[0]), np.diff(conn_s.indptr))
        return post, conn_s.indices, w, np.broadcast_to(delay, w.shape), conv
    if isinstance(conn, OneToOne):
        raw = np.broadcast_to(conn.weights, (n_pre,))
        idx = np.arange(n_pre)
        w = effective_weights(raw, conn.sign_mode, conn.num_weight_bits)
        return idx, idx, w, np.broadcast_to(delay, (n_pre,)), False
    if isinstance(conn, Sparse):
        w = effective_weights(conn.weights, conn.sign_mode, conn.num_weight_bits)
        post = np.repeat(np.arange(conn.shape[0]), np.diff(conn.indptr))
        return post, conn.indices, w, np.broadcast_to(delay, w.shape), False
    raise UnsupportedError(f"projection '{proj.name}': connectivity {type(conn).__name__} is not supported")


def build_model(net: Network) -> ReferenceModel:
    """Check the network is integer and build the static tables (refusals name the population/projection)."""
    _refuse_reason(net)
    lif = {p.name: LifParams.from_model(p.model, p.size) for p in net.neuron_populations}
    synapses = []
    for proj in net.projections.values():
        post, pre, w, d, conv = projection_coo(net, proj)
        n_post, n_pre = net.populations[proj.target].size, net.populations[proj.source].size
        n_slots = int(d.max()) + 1 if d.size else 1
        n_slots = max(n_slots, proj.max_delay + 1)
        stack = sp.csr_matrix((w.astype(np.int64), (d.astype(np.int64) * n_post + post, pre)),
                              shape=(n_slots * n_post, n_pre))
        synapses.append(SynapseTable(proj.name, proj.source, proj.target, n_post, n_slots, stack,
                                     proj.connectivity.weight_exp, conv))
    rewards = third_factor_inputs(net)
    learning = {p.name: p for p in net.projections.values() if p.learning is not None}
    return ReferenceModel(net, lif, synapses, {name: net.populations[name].size for name in net.inputs
                                               if name not in rewards}, learning, rewards)


def initial_state(model: ReferenceModel) -> ReferenceState:
    """State before step 1: u0/v0 from the models, empty delay buffers, no spikes."""
    net = model.network
    u, v, spikes = {}, {}, {}
    for pop in net.neuron_populations:
        u[pop.name] = pop.model.broadcast("u0", pop.size).astype(np.int64)
        v[pop.name] = pop.model.broadcast("v0", pop.size).astype(np.int64)
    for pop in net.populations.values():
        spikes[pop.name] = np.zeros(pop.size, dtype=bool)
    buf = {s.name: np.zeros((s.n_post, s.n_slots), dtype=np.int64) for s in model.synapses}
    learn = {}
    if model.learning:
        from .backends.emulator.learning import state_for_projection
        learn = {name: state_for_projection(proj, use_numba=False) for name, proj in model.learning.items()}
    return ReferenceState(model, 0, u, v, spikes, buf, learn)


def step(state: ReferenceState, spikes_in: dict[str, np.ndarray] | None = None) -> ReferenceState:
    """Advance one step (Lava's SPK phase); returns a new state and leaves ``state`` untouched.

    ``spikes_in[name]``: the 0/1 vector (flattened) graph input ``name`` emits at this step (for step t,
    row t-1 of the user's input array); for a third-factor input, its reward values (a scalar, [1] or
    [n_post] ints 0..127). Missing inputs are silent (reward 0). Learning states are copied, not shared.
    """
    import copy
    from .backends.emulator import learning as L
    model = state.model
    spikes_in = spikes_in or {}
    # 1. deliver slot 0 of every projection; Lava's InPort sums the int32 messages
    a = {name: np.zeros(p.du.size, dtype=np.int64) for name, p in model.lif.items()}
    for syn in model.synapses:
        a[syn.target] = wrap32(a[syn.target] + state.buf[syn.name][:, 0])
    # 2. neurons
    u, v, spikes = {}, {}, {}
    for name, params in model.lif.items():
        u[name], v[name], spikes[name] = lif_step(state.u[name], state.v[name], a[name], params)
    for name, n in model.inputs.items():
        s = np.asarray(spikes_in.get(name, np.zeros(n)))
        spikes[name] = s.reshape(-1).astype(bool)
    # 3. projections read this step's spikes (learning ones with their weights before this step's update)
    t = state.t + 1
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
    return ReferenceState(model, t, u, v, spikes, buf, learn)


# --------------------------------------------------------------------------- the driver
def simulate_reference(net: Network, steps: int, inputs: dict[str, np.ndarray] | None = None,
                       record=("spikes", "v", "u")) -> Result:
    """Simulate an integer network for ``steps`` steps with Lava 0.10's fixed-point semantics.

    Returns a Result with ``spikes[pop]`` uint8 [T, n] and ``v[pop]``/``u[pop]`` int64 [T, n] (row t-1 is
    the state after step t, v after the reset) for every non-input population, as requested by ``record``.
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
                                    dtype=np.uint8 if kind == "spikes" else np.int64) for name in pops}
              for kind in record if kind != "weights"}
    per_step = {name: np.zeros((steps, *ls.shape), np.int64) for name, ls in state.learn.items()} \
        if "weights" in record else {}
    for t in range(steps):
        state = step(state, {name: r[t] for name, r in rows.items()})
        for kind, group in traces.items():
            src = state.spikes if kind == "spikes" else getattr(state, kind)
            for name in pops:
                group[name][t] = src[name]
        for name, arr in per_step.items():
            arr[t] = state.learn[name].weights
    report = {"backend": "reference", "note": "plain-numpy Lava 0.10 fixed_pt semantics; no energy or latency model"}
    weights = {}
    if state.learn:
        report["learning"] = {name: learning_summary(ls) for name, ls in state.learn.items()}
        weights = {name: ls.weights.copy() for name, ls in state.learn.items()}
        weights.update({name + PER_STEP: arr for name, arr in per_step.items()})
    return Result(spikes=traces.get("spikes", {}), v=traces.get("v", {}), u=traces.get("u", {}), weights=weights,
                  report=report, steps=steps)


def learning_summary(state) -> dict:
    """Final tags/traces (:data:`LEARNING_VARS`, int64 arrays) and counters of one LearningState."""
    out = {"tag_1": state.tag_1, "tag_2": state.tag_2, "x1": state.x[0], "x2": state.x[1], "y1": state.y[0],
           "y2": state.y[1], "y3": state.y[2], "tx": state.tx, "ty": state.ty}
    out = {k: np.asarray(v, np.int64).copy() for k, v in out.items()}
    out.update({k: int(v) for k, v in state.counters.items()})
    return out
