"""The RFZero IR dataclass: Lava's resonate-and-fire neuron with zero-phase spikes and graded payloads
(``lava.proc.resfire.process.RFZero``), in integer units."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ValidationError
from ...ir.models import NeuronModel
from ..lif_common import INT32, check_ranges

#: Fractional bits of Lava's ``lct``/``lst`` (``x * 2**15`` cast to int32).
DECAY_SHIFT = 15


@dataclass(frozen=True, eq=False, repr=False)
class RFZero(NeuronModel):
    """Resonate-and-fire with a zero-phase trigger and graded spikes: exactly Lava 0.10's fixed-point ``RFZero``
    (``lava.proc.resfire.models.PyRFZeroModelFixed``), in integer units.

    Two state components ``u`` (real) and ``v`` (imaginary), two inputs: ``a_u`` (Lava port ``u_in``,
    projections with ``port=0``) and ``a_v`` (``v_in``, ``port=1``). Every variable is an int32 array in Lava,
    so each product, difference and sum wraps (``w``); ``>> 15`` is numpy's floor division by 2**15. Each step::

        u' = w(w((w(u * lct) >> 15) - (w(v * lst) >> 15)) + a_u)
        v' = w(w((w(v * lct) >> 15) + (w(u * lst) >> 15)) + a_v)
        send u' if u' > uth and v' >= 0 and v < 0 else 0       # graded payload (0: no message)
        u, v = u', v'

    ``lct = int32(exp(-dt / decay_tau) * cos(2 pi freq dt) * 2**15)`` and ``lst`` likewise with sin, per neuron
    (:meth:`from_freqs` applies Lava's constructor rule); ``uth`` once per Lava process; ``u0``/``v0``
    the initial states (Lava starts at 0).
    """
    lct: object
    lst: object
    uth: object = 1
    u0: object = 0
    v0: object = 0
    integer = True

    def __post_init__(self):
        check_ranges(self, {"lct": INT32, "lst": INT32, "uth": INT32, "u0": INT32, "v0": INT32})

    @classmethod
    def from_freqs(cls, freqs, decay_tau, dt: float = 0.001, uth: int = 1, **kw):
        """The model Lava's ``RFZero(freqs=, decay_tau=, dt=, uth=)`` runs (its constructor's float rule)."""
        freqs, decay_tau = np.asarray(freqs, np.float64), np.asarray(decay_tau, np.float64)
        if not (np.all(np.isfinite(freqs)) and np.all(np.isfinite(decay_tau)) and np.all(decay_tau != 0)):
            raise ValidationError(f"RFZero: freqs {freqs.tolist()} and decay_tau {decay_tau.tolist()} must be finite, "
                                  "decay_tau != 0")
        ll = -1 / decay_tau
        lct = np.array(np.exp(dt * ll) * np.cos(dt * freqs * np.pi * 2))
        lst = np.array(np.exp(dt * ll) * np.sin(dt * freqs * np.pi * 2))
        return cls(lct=(lct * 2 ** DECAY_SHIFT).astype(np.int32).astype(np.int64),
                   lst=(lst * 2 ** DECAY_SHIFT).astype(np.int32).astype(np.int64), uth=uth, **kw)
