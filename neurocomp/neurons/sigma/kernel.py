"""Sigma's numba step, inlined by the emulator kernel per neuron; equal to ``spec.step`` (tests)."""
from __future__ import annotations

import numpy as np
from numba import njit

from ..sigma_delta.kernel import wrap32

S_SIGMA = 0


def prepare(params: dict) -> np.ndarray:
    """int64 [0, N]: Sigma has no parameters (N from any given field, else 0)."""
    n = max((np.size(v) for v in params.values()), default=0)
    return np.zeros((0, n), np.int64)


@njit(cache=True, inline="always")
def step(j, a, P, S):
    """The registry's kernel contract: neuron j with input ``a``; ``S`` [1, N]."""
    sigma = wrap32(S[S_SIGMA, j] + a)
    S[S_SIGMA, j] = sigma
    return sigma
