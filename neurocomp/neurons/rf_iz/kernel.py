"""RF_IZ's numba step, inlined by the emulator kernel per neuron; equal to ``spec.step`` (tests)."""
from __future__ import annotations

from numba import njit

from ..rf.kernel import P_VTH, S_IMAG, S_REAL, prepare, resonate  # noqa: F401  (prepare: the registry's contract)


@njit(cache=True, inline="always")
def step(j, a, b, P, S):
    """Neuron j with inputs ``a`` (real) and ``b`` (imag); returns its spike."""
    real, imag = resonate(j, a, b, P, S)
    vth = P[P_VTH, j]
    s = imag >= vth
    S[S_REAL, j] = 0 if s else real
    S[S_IMAG, j] = vth - 1 if s else imag
    return s
