"""ATRLIF's numba step (equal to ``spec.step``, tests): LoihiLIF's ``update`` for i/v without its threshold,
then theta, r and the adaptive threshold."""
from __future__ import annotations

import numpy as np
from numba import njit

from ..lif_common import NO_SPIKE_VTH6, lif_params
from ..loihi_lif.kernel import _trunc0, _wrap32, update

#: Rows of the kernel's parameter matrix and of its state matrix.
P_DI, P_DV, P_BIAS, P_DTHETA, P_DR, P_THETA0, P_STEP = range(7)
S_I, S_V, S_THETA, S_R = range(4)


def prepare(params: dict) -> np.ndarray:
    """int64 [7, N]: delta_i, delta_v, bias, 4096 - delta_theta, 4096 - delta_r, theta_0 << 6, theta_step << 6."""
    p = lif_params(params, du="delta_i", dv="delta_v")
    g = {k: np.asarray(params[k], np.int64) for k in ("delta_theta", "delta_r", "theta_0", "theta_step")}
    rows = [p.du, p.dv, p.bias(), 4096 - g["delta_theta"], 4096 - g["delta_r"], g["theta_0"] << 6,
            g["theta_step"] << 6]
    return np.ascontiguousarray(np.stack(np.broadcast_arrays(*rows)).astype(np.int64))


@njit(cache=True, inline="always")
def step(j, a, P, S):
    """The registry's kernel contract: neuron j with input ``a``; ``P`` from :func:`prepare`, ``S`` [4, N]."""
    ii, vv, _ = update(S[S_I, j], S[S_V, j], a, P[P_DI, j], P[P_DV, j], NO_SPIKE_VTH6, P[P_BIAS, j])
    th0 = P[P_THETA0, j]
    theta = _wrap32(_wrap32(_trunc0(_wrap32(S[S_THETA, j] - th0) * P[P_DTHETA, j], 12)) + th0)
    r = _wrap32(_trunc0(S[S_R, j] * P[P_DR, j], 12))
    s = _wrap32(vv - r) >= theta
    if s:
        r = _wrap32(r + 2 * theta)
        theta = _wrap32(theta + P[P_STEP, j])
    S[S_I, j] = ii
    S[S_V, j] = vv
    S[S_THETA, j] = theta
    S[S_R, j] = r
    return s
