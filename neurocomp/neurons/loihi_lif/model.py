"""The LoihiLIF IR dataclass (the user-facing, integer-unit model) and its equation."""
from __future__ import annotations

from dataclasses import dataclass

from ...ir._checks import as_int_array
from ...ir.models import NeuronModel

#: Lava's LIF keeps u and v in 24-bit two's complement.
STATE_BITS = 24


@dataclass(frozen=True, eq=False, repr=False)
class LoihiLIF(NeuronModel):
    """Loihi's CUBA LIF in integer units, exactly Lava 0.10's fixed-point LIF (PyLifModelBitAcc).

    Each step t (``a`` = synaptic input received this step)::

        u = wrap24(trunc0(u * (4096 - (du + 1)), 12) + (a << 6))
        v = sat24(trunc0(v * (4096 - dv), 12) + u + (bias_mant << bias_exp))
        s = v > (vth << 6);  v[s] = 0            # u is not reset

    ``trunc0(x, k)`` shifts |x| right by k keeping the sign (rounds toward 0). ``du``, ``dv`` in
    0..4095 (decay = du/4096 per step), plus the two values Lava's LIF also computes with and lava-dl's
    netx writes: ``du = -1`` keeps ``u`` (no decay: netx's ``iDecay = 0``, e.g. its default dense neuron)
    and ``dv = 4096`` keeps nothing of ``v`` (``v = u + bias``: netx's ``vDecay = 4096``); ``vth`` >= 0, ``bias_mant`` int16 as in Lava, ``bias_exp``
    (negative: arithmetic right shift). ``u0``, ``v0`` are the initial states. The IR accepts what
    Lava can run; a target's narrower formats (e.g. 13-bit bias) are checked by the compiler.
    """
    du: object
    dv: object
    vth: object
    bias_mant: object = 0
    bias_exp: object = 0
    u0: object = 0
    v0: object = 0
    integer = True

    def __post_init__(self):
        lim = 2 ** (STATE_BITS - 1)
        for name, lo, hi in (("du", -1, 4095), ("dv", 0, 4096), ("vth", 0, 2 ** 17),
                             ("bias_mant", -(2 ** 15), 2 ** 15 - 1), ("bias_exp", -16, 16),
                             ("u0", -lim + 1, lim), ("v0", -lim + 1, lim - 1)):
            object.__setattr__(self, name, as_int_array(getattr(self, name), "LoihiLIF", name, lo, hi))
