"""Delta's step in plain numpy: the spec (``lava/proc/sdn/models.py``, ``PyDeltaModelFixed``)::

    act' = wrap32(a << (spike_exp + state_exp))             # np.left_shift on int32
    (s, residue, error) = delta_encode(act', ...)           # SigmaDelta's encoder, VTH scaled alike
    act = act';  payload = s >> state_exp
"""
from __future__ import annotations

from ...semantics.fixedpoint import wrap32
from ..sigma_delta.spec import delta_encode, scaled


def step(params: dict, state: dict, a):
    """The registry's spec contract: ``params``/``state`` by name -> (new state, payload int64)."""
    act = scaled(wrap32(a), params)
    s, residue, error = delta_encode(act, state, scaled(params["vth"], params), params["cum_error"])
    return {"act": act, "residue": residue, "error": error}, s >> params["state_exp"]
