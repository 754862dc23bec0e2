"""The LIFReset IR dataclass (integer units) and its equation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ValidationError
from ...ir.models import NeuronModel
from ..lif_common import INT32, LIF_RANGES, check_ranges


@dataclass(frozen=True, eq=False, repr=False)
class LIFReset(NeuronModel):
    """LoihiLIF whose u and v are cleared every ``reset_interval`` steps: exactly Lava 0.10's fixed-point
    ``LIFReset`` (``lava.proc.lif.models.PyLifResetModelBitAcc``).

    Step t = 1, 2, ... (``a`` = synaptic input received this step)::

        reset_phase = (reset_phase + 1) % reset_interval                  # = t % reset_interval
        if reset_phase == reset_offset % reset_interval:  u = 0;  v = 0   # before this step's input
        u = wrap24(trunc0(u * (4096 - (du + 1)), 12) + (a << 6))
        v = sat24(trunc0(v * (4096 - dv), 12) + u + (bias_mant << bias_exp))
        s = v > (vth << 6);  v[s] = 0                                     # u is not reset

    i.e. LoihiLIF's step after a periodic clear; with the defaults of Lava (interval 1, offset 0) the
    neuron forgets everything every step. ``du``, ``dv``, ``vth``, ``bias_*``, ``u0``, ``v0`` as in
    :class:`~neurocomp.neurons.LoihiLIF`. ``reset_interval`` >= 1, ``reset_offset`` >= 0 (Lava's
    checks). ``reset_phase0`` (0 <= it < reset_interval) is the step count modulo ``reset_interval``
    before step 1: 0 for a fresh run, which is all Lava can run.
    """
    du: object
    dv: object
    vth: object
    reset_interval: object = 1
    reset_offset: object = 0
    bias_mant: object = 0
    bias_exp: object = 0
    u0: object = 0
    v0: object = 0
    reset_phase0: object = 0
    integer = True

    def __post_init__(self):
        check_ranges(self, {**LIF_RANGES, "vth": (0, 2 ** 17), "reset_interval": (1, INT32[1]),
                            "reset_offset": (0, INT32[1]), "reset_phase0": (0, INT32[1] - 1)})
        if np.any(self.reset_phase0 >= self.reset_interval):
            raise ValidationError("LIFReset: parameter 'reset_phase0' must be below 'reset_interval' (it is the "
                                  "step count modulo reset_interval)")
