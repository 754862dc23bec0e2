"""LIFReset's step in plain numpy: the spec (``lava/proc/lif/models.py``, ``PyLifResetModelBitAcc.run_spk``).

Lava clears u and v at the start of ``run_spk`` when ``time_step % reset_interval == reset_offset %
reset_interval`` (``time_step`` is 1 at the first step) and then runs LoihiLIF's update unchanged. The
step count is kept modulo ``reset_interval`` in the state variable ``reset_phase``.
"""
from __future__ import annotations

import numpy as np

from ..lif_common import lif_params
from ..loihi_lif.spec import lif_step


def step(params: dict, state: dict, a: np.ndarray):
    """The registry's spec contract: ``params``/``state`` by name -> (new state, spikes)."""
    interval = np.asarray(params["reset_interval"], np.int64)
    phase = (state["reset_phase"] + 1) % interval
    clear = phase == np.asarray(params["reset_offset"], np.int64) % interval
    u, v, s = lif_step(np.where(clear, 0, state["u"]), np.where(clear, 0, state["v"]), a,
                       lif_params(params, vth="vth"))
    return {"u": u, "v": v, "reset_phase": phase}, s
