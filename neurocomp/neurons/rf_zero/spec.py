"""RFZero's step in plain numpy: the spec (``lava/proc/resfire/models.py``, ``PyRFZeroModelFixed``). Lava's
variables are int32 arrays: every product and sum wraps (``wrap32``); ``// 2**15`` floors (``>> 15``)::

    u' = w(w((w(u * lct) >> 15) - (w(v * lst) >> 15)) + a_u)
    v' = w(w((w(v * lct) >> 15) + (w(u * lst) >> 15)) + a_v)
    payload = u' * (u' > uth) * (v' >= 0) * (v < 0)
"""
from __future__ import annotations

import numpy as np

from ...semantics.fixedpoint import wrap32
from .model import DECAY_SHIFT


def step(params: dict, state: dict, a: np.ndarray):
    """The registry's spec contract for a two-input kind: ``a`` is int64 [2, n] -> (new state, payloads)."""
    u, v, lct, lst = state["u"], state["v"], params["lct"], params["lst"]
    m = lambda x, y: wrap32(x * y) >> DECAY_SHIFT
    new_u = wrap32(wrap32(m(u, lct) - m(v, lst)) + np.asarray(a[0], np.int64))
    new_v = wrap32(wrap32(m(v, lct) + m(u, lst)) + np.asarray(a[1], np.int64))
    out = np.where((new_u > params["uth"]) & (new_v >= 0) & (v < 0), new_u, 0)
    return {"u": new_u, "v": new_v}, out
