"""TernaryLIF's step in plain numpy: the spec (``lava/proc/lif/models.py``, ``PyTernLifModelFixed``).

LoihiLIF's u/v update (``AbstractPyLifModelFixed.subthr_dynamics``), then two thresholds::

    s = (v > (vth_hi << 6)) - (v < (vth_lo << 6));  v[s != 0] = 0
"""
from __future__ import annotations

import numpy as np

from ..lif_common import lif_params
from ..loihi_lif.spec import ALIGN_SHIFT, lif_step


def step(params: dict, state: dict, a: np.ndarray):
    """The registry's spec contract: ``params``/``state`` by name -> (new state, payload -1/0/+1 int64)."""
    u, v, _ = lif_step(state["u"], state["v"], a, lif_params(params))
    s = (v > (np.asarray(params["vth_hi"], np.int64) << ALIGN_SHIFT)).astype(np.int64) \
        - (v < (np.asarray(params["vth_lo"], np.int64) << ALIGN_SHIFT))
    return {"u": u, "v": np.where(s != 0, 0, v)}, s
