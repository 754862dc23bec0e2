"""Lower a learning projection to Lava 0.10's ``LearningDense`` and run small learning nets in Lava.

A ``neurocomp.ir.LearningRule`` becomes ``Loihi2FLearningRule`` (post traces y1..y3 follow the
target's spikes) or, when it names a ``third_factor`` graph input, ``Loihi3FLearningRule`` (y1..y3
are whatever arrives on the ``s_in_y1..3`` ports each step; the reward goes to ``s_in_y2``, see
:data:`REWARD_PORT`). Wiring (lava.md §2, §7)::

    source.s_out  -> LearningDense.s_in
    LearningDense.a_out -> post LIF.a_in
    post LIF.s_out -> LearningDense.s_in_bap      # LearningLIF's s_out_bap is never sent: do not use it
    reward RingBuffer.s_out -> LearningDense.s_in_y2   (3F only; data [n_post, T] ints 0..127)

Weights go in raw (int32) with ``num_weight_bits``, ``weight_exp`` and the explicit sign mode of
:func:`neurocomp.semantics.learning.learning_sign_mode`, so Lava does its own truncation
and both backends use the same mode (LearningDense would otherwise default to MIXED).
"""
from __future__ import annotations

import numpy as np

from ._mp import ensure_lava_importable
from ...errors import BackendError, NeurocompError, ValidationError
from ...rules.grammar import parse_rule
from ...semantics.learning import check_learning_projection, check_reward, learning_sign_mode

#: The LearningDense port that carries a three-factor rule's reward (y1 and y3 stay unconnected = 0).
REWARD_PORT = "s_in_y2"
#: Vars read back after a run, in bulk.
STATE_VARS = ("weights", "tag_1", "tag_2", "x1", "x2", "y1", "y2", "y3", "tx", "ty")


def to_lava_rule(rule):
    """A Loihi2F/Loihi3F learning rule object with the IR rule's fields (parsed first, so errors are ours)."""
    ensure_lava_importable()
    from lava.magma.core.learning.learning_rule import Loihi2FLearningRule, Loihi3FLearningRule
    parsed = parse_rule(rule)
    common = dict(dw=rule.dw, dd=rule.dd, dt=rule.dt, x1_impulse=rule.x1_impulse, x1_tau=rule.x1_tau,
                  x2_impulse=rule.x2_impulse, x2_tau=rule.x2_tau, t_epoch=rule.t_epoch, rng_seed=rule.rng_seed)
    if parsed.three_factor:
        return Loihi3FLearningRule(**common)
    return Loihi2FLearningRule(**common, y1_impulse=rule.y1_impulse, y1_tau=rule.y1_tau,
                               y2_impulse=rule.y2_impulse, y2_tau=rule.y2_tau,
                               y3_impulse=rule.y3_impulse, y3_tau=rule.y3_tau)


def make_learning_dense(proj, rule=None, name: str | None = None):
    """``(LearningDense process, Lava rule)`` for an IR projection with a learning rule.

    ``rule`` defaults to ``proj.learning``. Refuses (UnsupportedError) non-Dense connectivity, delays,
    float weights and the NULL sign mode. The caller wires ``s_in``, ``a_out``, ``s_in_bap`` (from the
    target LIF's ``s_out``) and, for 3F rules, :data:`REWARD_PORT`.
    """
    ensure_lava_importable()
    from lava.proc.dense.process import LearningDense
    from lava.utils.weightutils import SignMode as LavaSignMode
    rule = proj.learning if rule is None else rule
    if rule is None:
        raise ValidationError(f"projection '{proj.name}' has no learning rule to lower")
    check_learning_projection(proj if proj.learning is rule else _with_rule(proj, rule))
    conn = proj.connectivity
    lava_rule = to_lava_rule(rule)
    mode = learning_sign_mode(conn, rule)
    proc = LearningDense(weights=conn.weights.astype(np.int32), learning_rule=lava_rule,
                         weight_exp=int(conn.weight_exp), num_weight_bits=int(conn.num_weight_bits),
                         sign_mode=LavaSignMode(int(mode)), name=name or proj.name)
    return proc, lava_rule


def _with_rule(proj, rule):
    from dataclasses import replace
    return replace(proj, learning=rule)


def run_learning_net_lava(weights, rule, pre_spikes, lif: dict, reward=None, sign_mode=None,
                          num_weight_bits: int = 8, weight_exp: int = 0, timeout_s: float = 120.0) -> dict:
    """Run ``RingBuffer -> LearningDense -> LIF`` (LIF s_out -> s_in_bap) in Lava fixed point.

    ``weights`` int [n_post, n_pre]; ``pre_spikes`` 0/1 [T, n_pre] (step t sends row t-1);
    ``lif``: du, dv, vth, bias_mant, bias_exp (scalars) of the post LIF; ``reward`` [T, n_post]
    ints 0..127 for a three-factor rule. ``sign_mode`` is a neurocomp SignMode (None: MIXED, the
    LearningDense default). Returns the final ``STATE_VARS`` and ``spikes`` [T, n_post] uint8.
    The runtime is always stopped.
    """
    ensure_lava_importable()
    from lava.proc.dense.process import LearningDense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF
    from lava.proc.monitor.process import Monitor
    from lava.utils.weightutils import SignMode as LavaSignMode
    from .run import _run_guarded

    w = np.asarray(weights, dtype=np.int32)
    n_post, n_pre = w.shape
    pre = np.asarray(pre_spikes)
    steps = pre.shape[0]
    parsed = parse_rule(rule)
    if parsed.three_factor and reward is None:
        raise ValidationError(f"learning rule '{rule.name}' is three-factor: pass reward [T, n_post]")
    kwargs = dict(weight_exp=int(weight_exp), num_weight_bits=int(num_weight_bits))
    if sign_mode is not None:
        kwargs["sign_mode"] = LavaSignMode(int(sign_mode))
    src = RingBuffer(data=np.ascontiguousarray(pre.T.astype(np.int32)))
    conn = LearningDense(weights=w, learning_rule=to_lava_rule(rule), **kwargs)
    post = LIF(shape=(n_post,), du=int(lif["du"]), dv=int(lif["dv"]), vth=int(lif["vth"]),
               bias_mant=np.full(n_post, int(lif.get("bias_mant", 0)), np.int32),
               bias_exp=np.full(n_post, int(lif.get("bias_exp", 0)), np.int32))
    src.s_out.connect(conn.s_in)
    conn.a_out.connect(post.a_in)
    post.s_out.connect(conn.s_in_bap)
    if parsed.three_factor:
        r = check_reward(reward, rule.third_factor, steps, n_post)
        rsrc = RingBuffer(data=np.ascontiguousarray(r.T.astype(np.int32)))
        rsrc.s_out.connect(getattr(conn, REWARD_PORT))
    mon = Monitor()
    mon.probe(post.s_out, steps)
    out: dict = {}
    try:
        _run_guarded(post, steps, timeout_s)
        out["spikes"] = np.asarray(mon.get_data()[post.name]["s_out"]).astype(np.uint8)
        for var in STATE_VARS:
            out[var] = np.asarray(getattr(conn, var).get()).astype(np.int64)
    except NeurocompError:
        raise
    except Exception as exc:
        raise BackendError(f"Lava failed while running a learning net: {type(exc).__name__}: {exc}") from exc
    finally:
        post.stop()
    return out
