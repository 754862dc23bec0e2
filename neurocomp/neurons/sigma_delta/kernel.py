"""SigmaDelta's numba step, inlined by the emulator kernel per neuron; equal to ``spec.step`` (tests).

``prepare`` folds Lava's constructor scaling into the parameter rows (``vth``, ``bias`` times
``2**(spike_exp + state_exp)``); ``step`` updates neuron j in place and returns its payload. The
delta encoder :func:`delta_encode` is shared with Delta.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ...semantics.fixedpoint import wrap32_scalar as wrap32
from .spec import scaled

#: Rows of the kernel's parameter matrix and of its state matrix.
P_VTH, P_BIAS, P_RELU, P_CUM, P_STATE_EXP = range(5)
S_SIGMA, S_ACT, S_RESIDUE, S_ERROR = range(4)


def prepare(params: dict) -> np.ndarray:
    """int64 [5, N]: scaled vth, scaled bias, act_mode == RELU, cum_error, state_exp."""
    p = {k: np.asarray(v, np.int64) for k, v in params.items()}
    rows = [scaled(p["vth"], p), scaled(p["bias"], p), p["act_mode"], p["cum_error"], p["state_exp"]]
    return np.ascontiguousarray(np.stack(np.broadcast_arrays(*rows)).astype(np.int64))


@njit(cache=True)
def abs32(x):
    """numpy's int32 abs: -2^31 stays -2^31."""
    return x if x == -2147483648 else abs(x)


@njit(cache=True)
def delta_encode(act_new, act, residue, error, vth, cum):
    """Lava's delta encoder on scalars: returns (s, residue, error); ``s`` before ``>> state_exp``."""
    delta = wrap32(act_new - act + residue)
    if cum != 0:
        error = wrap32(error + delta)
        s = delta if abs32(error) >= vth else 0
        if abs32(s) > 0:
            error = 0
    else:
        s = delta if abs32(delta) >= vth else 0
    return s, wrap32(delta - s), error


@njit(cache=True, inline="always")
def step(j, a, P, S):
    """The registry's kernel contract: neuron j with input ``a``; ``P`` from :func:`prepare`, ``S`` [4, N]."""
    sigma = wrap32(S[S_SIGMA, j] + a)
    x = wrap32(sigma + P[P_BIAS, j])
    act = max(x, 0) if P[P_RELU, j] != 0 else x
    s, residue, error = delta_encode(act, S[S_ACT, j], S[S_RESIDUE, j], S[S_ERROR, j], P[P_VTH, j], P[P_CUM, j])
    S[S_SIGMA, j] = sigma
    S[S_ACT, j] = act
    S[S_RESIDUE, j] = residue
    S[S_ERROR, j] = error
    return s >> P[P_STATE_EXP, j]
