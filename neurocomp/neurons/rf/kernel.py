"""RF's numba step, inlined by the emulator kernel per neuron; equal to ``spec.step`` (tests). The resonator
update :func:`resonate` is shared with RF_IZ."""
from __future__ import annotations

import numpy as np
from numba import njit

from ..sigma_delta.kernel import wrap32 as _wrap32

#: Rows of the kernel's parameter matrix and of its state matrix.
P_SIN, P_COS, P_BITS, P_EXP, P_VTH = range(5)
S_REAL, S_IMAG = range(2)
LIM = 2 ** 23 - 1


def prepare(params: dict) -> np.ndarray:
    """int64 [5, N]: sin_decay, cos_decay, decay_bits, state_exp, vth."""
    rows = [np.asarray(params[k], np.int64) for k in ("sin_decay", "cos_decay", "decay_bits", "state_exp", "vth")]
    return np.ascontiguousarray(np.stack(np.broadcast_arrays(*rows)).astype(np.int64))


@njit(cache=True)
def _sv(x, bits):
    return -((-x) >> bits) if x < 0 else x >> bits


@njit(cache=True)
def _clip(x):
    return -LIM if x < -LIM else (LIM if x > LIM else x)


@njit(cache=True, inline="always")
def resonate(j, a, b, P, S):
    """``(real', imag')`` of neuron j with real input ``a`` and imaginary input ``b``."""
    re = S[S_REAL, j]
    im = S[S_IMAG, j]
    bits = P[P_BITS, j]
    sin = P[P_SIN, j]
    cos = P[P_COS, j]
    e = P[P_EXP, j]
    real = _clip(_sv(cos * re, bits) - _sv(sin * im, bits) + _wrap32(a << e))
    imag = _clip(_sv(sin * re, bits) + _sv(cos * im, bits) + _wrap32(b << e))
    return real, imag


@njit(cache=True, inline="always")
def step(j, a, b, P, S):
    """The registry's kernel contract for a two-input kind: neuron j with inputs ``a`` (real), ``b`` (imag)."""
    real, imag = resonate(j, a, b, P, S)
    s = real >= P[P_VTH, j] and imag >= 0 and S[S_IMAG, j] < 0
    S[S_REAL, j] = real
    S[S_IMAG, j] = imag
    return s
