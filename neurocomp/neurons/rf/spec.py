"""RF's step in plain numpy: the spec (``lava/proc/rf/models.py``, ``PyRFModelFixed``). The resonator update
:func:`resonate` is shared with RF_IZ (``neurocomp.neurons.rf_iz``)::

    sv(x) = sign(x) * (|x| >> decay_bits)
    real' = clip(sv(cos*real) - sv(sin*imag) + wrap32(a_re << state_exp), +-(2^23 - 1))
    imag' = clip(sv(sin*real) + sv(cos*imag) + wrap32(a_im << state_exp), +-(2^23 - 1))
    RF: s = (real' >= vth) & (imag' >= 0) & (imag < 0)
"""
from __future__ import annotations

import numpy as np

from ...semantics.fixedpoint import trunc0 as _sv, wrap32
from .model import STATE_LIM


def resonate(params: dict, state: dict, a: np.ndarray):
    """``(real', imag')`` from the state and ``a`` = int64 [2, n] (real and imaginary input)."""
    re, im, bits = state["real"], state["imag"], params["decay_bits"]
    sin, cos = params["sin_decay"], params["cos_decay"]
    a_re = wrap32(np.asarray(a[0], np.int64) << params["state_exp"])
    a_im = wrap32(np.asarray(a[1], np.int64) << params["state_exp"])
    real = np.clip(_sv(cos * re, bits) - _sv(sin * im, bits) + a_re, -STATE_LIM, STATE_LIM)
    imag = np.clip(_sv(sin * re, bits) + _sv(cos * im, bits) + a_im, -STATE_LIM, STATE_LIM)
    return real, imag


def step(params: dict, state: dict, a: np.ndarray):
    """The registry's spec contract for a two-input kind: ``a`` is int64 [2, n] -> (new state, spikes)."""
    real, imag = resonate(params, state, a)
    s = (real >= params["vth"]) & (imag >= 0) & (state["imag"] < 0)
    return {"real": real, "imag": imag}, s
