"""The RF IR dataclass (Lava's resonate-and-fire ``lava.proc.rf.process.RF`` in integer units), the fields it
shares with RF_IZ, and :func:`lava_decays`, Lava's float-to-integer conversion of (period, alpha)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ValidationError
from ...ir.models import NeuronModel
from ..lif_common import check_ranges

#: Lava's fixed-point RF clips real and imag to +-(2^23 - 1) (``ri_bitwidth`` = 2 * 12-bit decays = 24).
STATE_LIM = 2 ** 23 - 1
INT32_MAX = 2 ** 31 - 1
#: Largest exponents: Lava shifts the int32 input left by ``state_exp`` and the int64 products right by
#: ``decay_bits`` (its Vars are "precision=3"; larger values are accepted here up to what the arithmetic holds).
MAX_STATE_EXP = 24
MAX_DECAY_BITS = 31
#: The valid range of each field (sin/cos decays: int32 Vars, vth: int32 with ``vth - 1`` not wrapping).
RANGES = {"sin_decay": (-INT32_MAX, INT32_MAX), "cos_decay": (-INT32_MAX, INT32_MAX),
          "decay_bits": (0, MAX_DECAY_BITS), "state_exp": (0, MAX_STATE_EXP), "vth": (-INT32_MAX, INT32_MAX),
          "real0": (-STATE_LIM, STATE_LIM), "imag0": (-STATE_LIM, STATE_LIM)}


def lava_decays(period, alpha, decay_bits: int, state_exp: int, vth) -> dict:
    """``{sin_decay, cos_decay, vth}`` as Lava's RF constructor computes them from floats:
    ``int32((1 - alpha) * sin(2 pi / period) * 2**decay_bits)`` (truncation toward 0; likewise cos) and
    ``int(vth * 2**state_exp)`` (only when state_exp > 0, as Lava: with state_exp = 0 vth must be an integer).
    ``period = inf`` (no rotation, as SLAYER's ``sinDecay = 0`` gives) is Lava's too: ``sin(2 pi / inf) = 0``."""
    period, alpha = np.asarray(period, np.float64), np.asarray(alpha, np.float64)
    if np.any(period == 0) or np.any(np.isnan(period)) or not np.all(np.isfinite(alpha)):
        raise ValidationError(f"RF: period {period.tolist()} and alpha {alpha.tolist()} must be numbers, alpha "
                              "finite, period != 0")
    if decay_bits <= 0:
        raise ValidationError(f"RF: decay_bits = {decay_bits}: Lava's constructor then keeps sin/cos decays as floats, "
                              "which its fixed-point model has no integer meaning for; give decay_bits > 0 (netx: 12)")
    sin = (1 - alpha) * np.sin(np.pi * 2 * 1 / period)
    cos = (1 - alpha) * np.cos(np.pi * 2 * 1 / period)
    sin, cos = np.int32(sin * (1 << decay_bits)), np.int32(cos * (1 << decay_bits))
    th = int(float(vth) * (1 << state_exp)) if state_exp > 0 else vth
    if float(th) != int(th):
        raise ValidationError(f"RF: vth = {vth} with state_exp = 0 is not an integer; Lava's fixed-point RF "
                              "compares against it as an int32")
    return {"sin_decay": np.asarray(sin, np.int64), "cos_decay": np.asarray(cos, np.int64), "vth": int(th)}


@dataclass(frozen=True, eq=False, repr=False)
class Resonator(NeuronModel):
    """The fields RF and RF_IZ share (Lava's RF process Vars, integer units; see :class:`RF`)."""
    sin_decay: object
    cos_decay: object
    vth: object
    decay_bits: object = 12
    state_exp: object = 0
    real0: object = 0
    imag0: object = 0
    integer = True

    def __post_init__(self):
        check_ranges(self, RANGES)

    @classmethod
    def from_period(cls, period, alpha, vth, decay_bits: int = 12, state_exp: int = 0, **kw):
        """The model Lava's ``RF``/``RF_IZ(period=, alpha=, vth=, decay_bits=, state_exp=)`` runs
        (see :func:`lava_decays`)."""
        return cls(**lava_decays(period, alpha, decay_bits, state_exp, vth), decay_bits=decay_bits,
                   state_exp=state_exp, **kw)


@dataclass(frozen=True, eq=False, repr=False)
class RF(Resonator):
    """Resonate-and-fire neuron (phase spiking): exactly Lava 0.10's fixed-point ``RF``
    (``lava.proc.rf.models.PyRFModelFixed``), in integer units.

    Two state components, ``real`` and ``imag``, and two inputs: ``a_re`` (Lava port ``a_real_in``, the
    projections with ``port=0``) and ``a_im`` (``a_imag_in``, ``port=1``). Each step t::

        sv(x)  = sign(x) * (|x| >> decay_bits)                  # int64, rounds toward 0
        real'  = clip(sv(cos_decay * real) - sv(sin_decay * imag) + wrap32(a_re << state_exp), +-(2^23-1))
        imag'  = clip(sv(sin_decay * real) + sv(cos_decay * imag) + wrap32(a_im << state_exp), +-(2^23-1))
        s      = real' >= vth  and  imag' >= 0  and  imag < 0   # imag: the value before this step
        real, imag = real', imag'                               # no reset

    ``sin_decay = int32((1 - alpha) * sin(2 pi / period) * 2**decay_bits)`` and likewise ``cos_decay``, and
    ``vth`` is Lava's stored threshold (``int(vth_float * 2**state_exp)``): the values Lava's constructor
    computes from its float ``period``, ``alpha`` and ``vth`` (:meth:`from_period` does the same).
    ``real0``/``imag0`` are the initial states (Lava starts at 0). One ``sin_decay``, ``cos_decay``,
    ``decay_bits``, ``state_exp``, ``vth`` per Lava process. The input sums are int32 in Lava (each
    channel's sum wraps, then the shift wraps).
    """
