"""TernaryLIF's numba step (equal to ``spec.step``, tests): LoihiLIF's ``update`` without its threshold, then
the two thresholds. Returns the payload -1/0/+1."""
from __future__ import annotations

import numpy as np
from numba import njit

from ..lif_common import NO_SPIKE_VTH6, lif_params
from ..loihi_lif.kernel import update

#: Rows of the kernel's parameter matrix and of its state matrix.
P_DU, P_DV, P_BIAS, P_HI6, P_LO6 = range(5)
S_U, S_V = range(2)


def prepare(params: dict) -> np.ndarray:
    """int64 [5, N]: du, dv, bias, vth_hi << 6, vth_lo << 6."""
    p = lif_params(params)
    hi, lo = (np.asarray(params[k], np.int64) << 6 for k in ("vth_hi", "vth_lo"))
    return np.ascontiguousarray(np.stack([p.du, p.dv, p.bias(), hi, lo]).astype(np.int64))


@njit(cache=True, inline="always")
def step(j, a, P, S):
    """The registry's kernel contract: neuron j with input ``a``; ``P`` from :func:`prepare`, ``S`` [2, N]."""
    uu, vv, _ = update(S[S_U, j], S[S_V, j], a, P[P_DU, j], P[P_DV, j], NO_SPIKE_VTH6, P[P_BIAS, j])
    s = 0
    if vv > P[P_HI6, j]:
        s = 1
    elif vv < P[P_LO6, j]:
        s = -1
    if s != 0:
        vv = 0
    S[S_U, j] = uu
    S[S_V, j] = vv
    return s
