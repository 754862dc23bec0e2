"""ATRLIF's step in plain numpy: the spec (``lava/proc/atrlif/models.py``, ``PyATRLIFModelFixed``).

Lava's i/v update is LoihiLIF's u/v update with ``du = delta_i``, ``dv = delta_v`` (its float product
``i * (4096 - delta_i*4096 - 1)`` is exact: |i| < 2^24, factor < 2^13); theta and r are int32 arrays
decayed with the same rounding toward zero and never clipped, so they wrap like int32.
"""
from __future__ import annotations

import numpy as np

from ...semantics.fixedpoint import trunc0, wrap32
from ..lif_common import lif_params
from ..loihi_lif.spec import ALIGN_SHIFT, DECAY_SHIFT, DECAY_UNITY, lif_step


def threshold_step(theta, r, v, theta0_6, step6, decay_theta, decay_r):
    """theta's decay toward ``theta0_6``, r's decay, the spike test and the post-spike update (int64 arrays
    holding int32 values; ``decay_*`` = 4096 - delta_*). Returns (theta, r, s)."""
    theta = wrap32(wrap32(trunc0(wrap32(theta - theta0_6) * decay_theta, DECAY_SHIFT)) + theta0_6)
    r = wrap32(trunc0(r * decay_r, DECAY_SHIFT))
    s = wrap32(v - r) >= theta
    return np.where(s, wrap32(theta + step6), theta), np.where(s, wrap32(r + 2 * theta), r), s


def step(params: dict, state: dict, a: np.ndarray):
    """The registry's spec contract: ``params``/``state`` by name -> (new state, spikes)."""
    p = {k: np.asarray(v, np.int64) for k, v in params.items()}
    i, v, _ = lif_step(state["i"], state["v"], a, lif_params(p, du="delta_i", dv="delta_v"))
    theta, r, s = threshold_step(state["theta"], state["r"], v, p["theta_0"] << ALIGN_SHIFT,
                                 p["theta_step"] << ALIGN_SHIFT, DECAY_UNITY - p["delta_theta"],
                                 DECAY_UNITY - p["delta_r"])
    return {"i": i, "v": v, "theta": theta, "r": r}, s
