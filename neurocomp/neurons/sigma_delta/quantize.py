"""The quantize rule of SigmaDelta and Delta on a target: Lava keeps ``vth`` (and SigmaDelta's ``bias``)
scaled by ``2**(spike_exp + state_exp)`` in the 24-bit state, so the scaled values must fit it."""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError


def check_target(pop, fm) -> None:
    m = pop.model
    shift = np.asarray(m.spike_exp) + np.asarray(m.state_exp)
    for pname in ("vth", "bias"):
        if not hasattr(m, pname):
            continue
        arr = np.asarray(getattr(m, pname)) << shift
        if arr.size and (arr.min() < -fm.state_lim or arr.max() > fm.state_lim):
            raise UnsupportedError(f"population '{pop.name}' ({type(m).__name__}): {pname} * 2**(spike_exp + state_exp) "
                                   f"range [{int(arr.min())}, {int(arr.max())}] exceeds the target's "
                                   f"[{-fm.state_lim}, {fm.state_lim}]; rescale it")
