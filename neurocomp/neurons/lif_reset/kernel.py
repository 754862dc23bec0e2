"""LIFReset's numba step (equal to ``spec.step``, tests): the periodic clear, then LoihiLIF's ``update``."""
from __future__ import annotations

import numpy as np
from numba import njit

from ..lif_common import lif_params
from ..loihi_lif.kernel import update

#: Rows of the kernel's parameter matrix and of its state matrix.
P_DU, P_DV, P_VTH6, P_BIAS, P_INTERVAL, P_OFFSET = range(6)
S_U, S_V, S_PHASE = range(3)


def prepare(params: dict) -> np.ndarray:
    """int64 [6, N]: du, dv, vth << 6, bias, reset_interval, reset_offset % reset_interval."""
    p = lif_params(params, vth="vth")
    interval = np.asarray(params["reset_interval"], np.int64)
    # the tables hold 0 for neurons of other models: keep their (unused) rows finite
    offset = np.asarray(params["reset_offset"], np.int64) % np.maximum(interval, 1)
    return np.ascontiguousarray(np.stack([p.du, p.dv, p.vth << 6, p.bias(), interval, offset]).astype(np.int64))


@njit(cache=True, inline="always")
def step(j, a, P, S):
    """The registry's kernel contract: neuron j with input ``a``; ``P`` from :func:`prepare`, ``S`` [3, N]."""
    phase = (S[S_PHASE, j] + 1) % P[P_INTERVAL, j]
    S[S_PHASE, j] = phase
    u, v = S[S_U, j], S[S_V, j]
    if phase == P[P_OFFSET, j]:
        u = 0
        v = 0
    uu, vv, s = update(u, v, a, P[P_DU, j], P[P_DV, j], P[P_VTH6, j], P[P_BIAS, j])
    S[S_U, j] = uu
    S[S_V, j] = vv
    return s
