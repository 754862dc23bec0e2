"""The quantize rule of RF, RF_IZ and RFZero on a target: the target's cores must run resonate-and-fire neurons
(``formats.resonators``, Loihi 2's programmable neurons), and RF's threshold must fit its signed state."""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError


def check_target(pop, fm) -> None:
    name = type(pop.model).__name__
    if not fm.resonators:
        raise UnsupportedError(f"population '{pop.name}' ({name}): target '{fm.target}' has no resonate-and-fire "
                               "neurons (formats.resonators = false: its cores run a fixed LIF); compile it for "
                               "loihi2 or use a LIF model")
    vth = np.asarray(getattr(pop.model, "vth", 0))
    if vth.size and (vth.min() < -fm.state_lim or vth.max() > fm.state_lim):
        raise UnsupportedError(f"population '{pop.name}' ({name}): vth range [{int(vth.min())}, {int(vth.max())}] "
                               f"exceeds the target's state range [{-fm.state_lim}, {fm.state_lim}]; lower vth "
                               "or state_exp")
