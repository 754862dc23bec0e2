"""RF_IZ's step in plain numpy: the spec (``lava/proc/rf_iz/models.py``, ``PyRF_IZModelFixed``)::

    real', imag' = resonate(...)                 # RF's update (neurocomp.neurons.rf.spec)
    s = imag' >= vth;  real = real' * (1 - s);  imag = s * (vth - 1) + (1 - s) * imag'
"""
from __future__ import annotations

import numpy as np

from ..rf.spec import resonate


def step(params: dict, state: dict, a: np.ndarray):
    """The registry's spec contract for a two-input kind: ``a`` is int64 [2, n] -> (new state, spikes)."""
    real, imag = resonate(params, state, a)
    s = imag >= params["vth"]
    return {"real": np.where(s, 0, real), "imag": np.where(s, params["vth"] - 1, imag)}, s
