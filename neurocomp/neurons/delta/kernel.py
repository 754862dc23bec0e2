"""Delta's numba step, inlined by the emulator kernel per neuron; equal to ``spec.step`` (tests)."""
from __future__ import annotations

import numpy as np
from numba import njit

from ..sigma_delta.kernel import delta_encode, wrap32
from ..sigma_delta.spec import scaled

#: Rows of the kernel's parameter matrix and of its state matrix.
P_VTH, P_CUM, P_SHIFT, P_STATE_EXP = range(4)
S_ACT, S_RESIDUE, S_ERROR = range(3)


def prepare(params: dict) -> np.ndarray:
    """int64 [4, N]: scaled vth, cum_error, spike_exp + state_exp, state_exp."""
    p = {k: np.asarray(v, np.int64) for k, v in params.items()}
    rows = [scaled(p["vth"], p), p["cum_error"], p["spike_exp"] + p["state_exp"], p["state_exp"]]
    return np.ascontiguousarray(np.stack(np.broadcast_arrays(*rows)).astype(np.int64))


@njit(cache=True, inline="always")
def step(j, a, P, S):
    """The registry's kernel contract: neuron j with input ``a``; ``P`` from :func:`prepare`, ``S`` [3, N]."""
    act = wrap32(wrap32(a) << P[P_SHIFT, j])
    s, residue, error = delta_encode(act, S[S_ACT, j], S[S_RESIDUE, j], S[S_ERROR, j], P[P_VTH, j], P[P_CUM, j])
    S[S_ACT, j] = act
    S[S_RESIDUE, j] = residue
    S[S_ERROR, j] = error
    return s >> P[P_STATE_EXP, j]
