"""The ATRLIF IR dataclass (integer units) and its equation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...ir.models import NeuronModel
from ..lif_common import INT32, LIF_RANGES, check_ranges

#: Lava keeps theta_0 and theta_step in 12-bit unsigned Vars; theta and r are int32 arrays (no clipping).
THETA_BITS = 12


@dataclass(frozen=True, eq=False, repr=False)
class ATRLIF(NeuronModel):
    """Adaptive-threshold, refractory LIF: exactly Lava 0.10's fixed-point ``ATRLIF``
    (``lava.proc.atrlif.models.PyATRLIFModelFixed``), in integer units.

    Each step t (``a`` = synaptic input received this step; ``wrap32`` = Lava's int32 arithmetic)::

        i = wrap24(trunc0(i * (4096 - (delta_i + 1)), 12) + (a << 6))          # = LoihiLIF's u
        v = sat24(trunc0(v * (4096 - delta_v), 12) + i + (bias_mant << bias_exp))  # = LoihiLIF's v
        theta = wrap32(trunc0(wrap32(theta - (theta_0 << 6)) * (4096 - delta_theta), 12) + (theta_0 << 6))
        r = wrap32(trunc0(r * (4096 - delta_r), 12))
        s = wrap32(v - r) >= theta                                             # >=, not >
        r[s] = wrap32(r + 2 * theta);  theta[s] = wrap32(theta + (theta_step << 6))   # v is never reset

    ``delta_*`` are decays in units of 1/4096, 0..4095: Lava's process takes them as fractions
    (``delta_i = 0.4``) and its fixed-point model multiplies by 4096, so the factory passes
    ``delta / 4096``. ``theta_0`` (baseline threshold) and ``theta_step`` (increase per spike) are
    12-bit unsigned, MSB-aligned by << 6 like LoihiLIF's vth. ``bias_*`` as in LoihiLIF. Initial
    values: ``i0``, ``v0`` (24-bit like LoihiLIF's u0/v0), ``r0`` and ``theta0`` (int32); ``theta0``
    defaults to ``theta_0 << 6``, the only value Lava runs: its fixed-point model ignores the
    process's ``theta`` and starts at ``theta_0 << 6``.
    """
    delta_i: object
    delta_v: object
    delta_theta: object
    delta_r: object
    theta_0: object
    theta_step: object
    bias_mant: object = 0
    bias_exp: object = 0
    i0: object = 0
    v0: object = 0
    theta0: object = None
    r0: object = 0
    integer = True

    def __post_init__(self):
        decay, theta = (0, 4095), (0, 2 ** THETA_BITS - 1)
        check_ranges(self, {"delta_i": decay, "delta_v": decay, "delta_theta": decay, "delta_r": decay,
                            "theta_0": theta, "theta_step": theta, "bias_mant": LIF_RANGES["bias_mant"],
                            "bias_exp": LIF_RANGES["bias_exp"], "i0": LIF_RANGES["u0"], "v0": LIF_RANGES["v0"],
                            "r0": INT32})
        if self.theta0 is None:
            object.__setattr__(self, "theta0", np.asarray(self.theta_0) << 6)
        check_ranges(self, {"theta0": INT32})
