"""LoihiLIF's step in plain numpy: the spec (``lava/proc/lif/models.py``, ``PyLifModelBitAcc``; lava.md §2).

    u = wrap24(int32(trunc0(u * (4096 - (du + 1)), 12)) + (a << 6))      # du=0 still decays by 1/4096
    v = clip(int32(trunc0(v * (4096 - dv), 12)) + u + bias, -(2^23-1), 2^23-1)
    s = v > (vth << 6);  v[s] = 0                                        # u is not reset
    bias = bias_mant << bias_exp  (>> -bias_exp when negative), every step
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...semantics.fixedpoint import STATE_LIMIT, trunc0, wrap24_lava, wrap32

DECAY_SHIFT = 12
DECAY_UNITY = 2 ** DECAY_SHIFT
#: Threshold and synaptic input are MSB-aligned to the 24-bit state by a left shift of 6.
ALIGN_SHIFT = 6


@dataclass(frozen=True)
class LifParams:
    """Per-neuron LoihiLIF parameters as int64 vectors (length n)."""
    du: np.ndarray
    dv: np.ndarray
    vth: np.ndarray
    bias_mant: np.ndarray
    bias_exp: np.ndarray

    @classmethod
    def from_model(cls, model, n: int) -> "LifParams":
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


def step(params: dict, state: dict, a: np.ndarray):
    """The registry's spec contract: ``params``/``state`` by name -> (new state, spikes)."""
    p = LifParams(*(np.asarray(params[k], np.int64) for k in ("du", "dv", "vth", "bias_mant", "bias_exp")))
    u, v, s = lif_step(state["u"], state["v"], a, p)
    return {"u": u, "v": v}, s
