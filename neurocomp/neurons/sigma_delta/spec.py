"""SigmaDelta's step in plain numpy: the spec (``lava/proc/sdn/models.py``, ``PySigmaDeltaModelFixed``).

Lava keeps every variable in int32 arrays, so every sum below wraps (:func:`wrap32`); ``abs32`` is
numpy's int32 ``abs`` (``abs(-2^31) == -2^31``). The delta encoder (:func:`delta_encode`) is shared
with Delta (``neurocomp.neurons.delta``)::

    VTH = vth << (spike_exp + state_exp);  BIAS = bias << (spike_exp + state_exp)   # Lava's constructor
    sigma = sigma + a;  x = sigma + BIAS;  act' = max(x, 0) (RELU) | x (UNIT)
    delta = act' - act + residue
    cum_error: error += delta; s = delta where abs32(error) >= VTH; error = 0 where abs32(s) > 0
    else:      s = delta where abs32(delta) >= VTH
    residue = delta - s;  act = act';  payload = s >> state_exp
"""
from __future__ import annotations

import numpy as np

from ...semantics.fixedpoint import wrap32
from .model import ActivationMode

INT32_MIN = -(2 ** 31)


def abs32(x: np.ndarray) -> np.ndarray:
    """numpy's ``abs`` on int32 values: -2^31 stays -2^31."""
    return np.where(x == INT32_MIN, x, np.abs(x))


def scaled(value: np.ndarray, params: dict) -> np.ndarray:
    """``value << (spike_exp + state_exp)`` in int32, as Lava's constructor stores vth and bias."""
    return wrap32(np.asarray(value, np.int64) << (params["spike_exp"] + params["state_exp"]))


def delta_encode(act_new, state: dict, vth_s, cum_error):
    """Lava's ``AbstractDeltaModel.delta_dynamics``: ``(s, residue, error)`` for the new activation.

    ``state`` holds ``act``, ``residue`` and ``error`` (int64 holding int32); ``vth_s`` the scaled threshold;
    ``cum_error`` 0/1 per neuron. ``s`` is the scaled message (before ``>> state_exp``).
    """
    delta = wrap32(act_new - state["act"] + state["residue"])
    cum = np.asarray(cum_error) != 0
    error = np.where(cum, wrap32(state["error"] + delta), state["error"])
    s = np.where(abs32(np.where(cum, error, delta)) >= vth_s, delta, 0)
    error = np.where(cum & (abs32(s) > 0), 0, error)
    return s, wrap32(delta - s), error


def step(params: dict, state: dict, a: np.ndarray):
    """The registry's spec contract: ``params``/``state`` by name -> (new state, payload int64)."""
    sigma = wrap32(state["sigma"] + a)
    x = wrap32(sigma + scaled(params["bias"], params))
    act = np.where(params["act_mode"] == ActivationMode.RELU, np.maximum(x, 0), x)
    s, residue, error = delta_encode(act, state, scaled(params["vth"], params), params["cum_error"])
    return {"sigma": sigma, "act": act, "residue": residue, "error": error}, s >> params["state_exp"]
