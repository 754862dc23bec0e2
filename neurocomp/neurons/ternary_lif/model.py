"""The TernaryLIF IR dataclass (integer units) and its equation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ValidationError
from ...ir.models import NeuronModel
from ..lif_common import LIF_RANGES, check_ranges

#: Lava keeps vth_hi/vth_lo in 24-bit signed Vars (``LavaPyType(np.ndarray, np.int32, precision=24)``).
VTH_RANGE = (-(2 ** 23), 2 ** 23 - 1)


@dataclass(frozen=True, eq=False, repr=False)
class TernaryLIF(NeuronModel):
    """LoihiLIF with ternary output, +1 above ``vth_hi`` and -1 below ``vth_lo``: exactly Lava 0.10's
    fixed-point ``TernaryLIF`` (``lava.proc.lif.models.PyTernLifModelFixed``).

    Each step t (``a`` = synaptic input received this step)::

        u = wrap24(trunc0(u * (4096 - (du + 1)), 12) + (a << 6))
        v = sat24(trunc0(v * (4096 - dv), 12) + u + (bias_mant << bias_exp))
        s = (v > (vth_hi << 6)) - (v < (vth_lo << 6))         # +1, 0 or -1
        v[s != 0] = 0                                          # u is not reset

    A *graded* model in the registry: ``s`` is its payload, which a connection multiplies by its weights
    (Lava: the downstream Dense/Sparse/Conv needs ``num_message_bits > 0``; with 0 it casts the
    payload to bool and a -1 arrives as +1). ``du``, ``dv``, ``bias_*``, ``u0``, ``v0`` as in
    :class:`~neurocomp.neurons.LoihiLIF`; ``vth_lo <= vth_hi``, both 24-bit signed.
    """
    du: object
    dv: object
    vth_hi: object = 10
    vth_lo: object = -10
    bias_mant: object = 0
    bias_exp: object = 0
    u0: object = 0
    v0: object = 0
    integer = True

    def __post_init__(self):
        check_ranges(self, {**LIF_RANGES, "vth_hi": VTH_RANGE, "vth_lo": VTH_RANGE})
        if np.any(self.vth_lo > self.vth_hi):
            raise ValidationError("TernaryLIF: 'vth_lo' must not exceed 'vth_hi' (Lava refuses it; the neuron "
                                  "would send nothing where both thresholds are crossed)")
