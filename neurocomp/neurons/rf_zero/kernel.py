"""RFZero's numba step, inlined by the emulator kernel per neuron; equal to ``spec.step`` (tests)."""
from __future__ import annotations

import numpy as np
from numba import njit

from ..sigma_delta.kernel import wrap32 as _w

P_LCT, P_LST, P_UTH = range(3)
S_U, S_V = range(2)


def prepare(params: dict) -> np.ndarray:
    """int64 [3, N]: lct, lst, uth."""
    rows = [np.asarray(params[k], np.int64) for k in ("lct", "lst", "uth")]
    return np.ascontiguousarray(np.stack(np.broadcast_arrays(*rows)).astype(np.int64))


@njit(cache=True, inline="always")
def step(j, a, b, P, S):
    """Neuron j with inputs ``a`` (u_in) and ``b`` (v_in); returns its graded payload (0: none)."""
    u = S[S_U, j]
    v = S[S_V, j]
    lct = P[P_LCT, j]
    lst = P[P_LST, j]
    new_u = _w(_w((_w(u * lct) >> 15) - (_w(v * lst) >> 15)) + a)
    new_v = _w(_w((_w(v * lct) >> 15) + (_w(u * lst) >> 15)) + b)
    S[S_U, j] = new_u
    S[S_V, j] = new_v
    return new_u if new_u > P[P_UTH, j] and new_v >= 0 and v < 0 else 0
