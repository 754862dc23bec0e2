"""LoihiLIF's numba step, inlined by the emulator kernel per neuron; equal to ``spec.lif_step`` (tests).

``prepare`` turns the table fields into the kernel's parameter rows once per run (``vth << 6`` and
the bias ``bias_mant << bias_exp`` are constant), ``step`` updates neuron j in place.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ...semantics.fixedpoint import wrap32_scalar as _wrap32
from .spec import LifParams

#: Rows of the kernel's parameter matrix and of its state matrix.
P_DU, P_DV, P_VTH6, P_BIAS = range(4)
S_U, S_V = range(2)


def prepare(params: dict) -> np.ndarray:
    """int64 [4, N]: du, dv, vth << 6, bias (the per-step constant of ``LifParams.bias``)."""
    p = LifParams(*(np.asarray(params[k], np.int64) for k in ("du", "dv", "vth", "bias_mant", "bias_exp")))
    return np.ascontiguousarray(np.stack([p.du, p.dv, p.vth << 6, p.bias()]).astype(np.int64))


@njit(cache=True)
def _trunc0(x, k):
    """``x / 2^k`` rounded toward zero, branch-free: a negative x gets ``2^k - 1`` added before the
    arithmetic shift (``(x + 2^k - 1) >> k == -((-x) >> k)`` for x < 0)."""
    return (x + ((x >> 63) & ((np.int64(1) << k) - 1))) >> k


@njit(cache=True)
def update(u, v, a, du, dv, vth6, bias):
    """One LIF update on scalars (int64 holding int32 values): returns (u, v, spiked)."""
    uu = _wrap32(_trunc0(u * (4095 - du), 12) + _wrap32(a << 6))
    if uu > 8388608:
        uu -= 16777216
    elif uu <= -8388608:
        uu += 16777216
    vv = _wrap32(_trunc0(v * (4096 - dv), 12) + uu + bias)
    if vv > 8388607:
        vv = 8388607
    elif vv < -8388607:
        vv = -8388607
    s = vv > vth6
    if s:
        vv = 0
    return uu, vv, s


@njit(cache=True, inline="always")
def step(j, a, P, S):
    """The registry's kernel contract: neuron j with input ``a``; ``P`` from :func:`prepare`, ``S`` [2, N]."""
    uu, vv, s = update(S[S_U, j], S[S_V, j], a, P[P_DU, j], P[P_DV, j], P[P_VTH6, j], P[P_BIAS, j])
    S[S_U, j] = uu
    S[S_V, j] = vv
    return s
