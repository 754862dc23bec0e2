"""What Lava's LIF variants (``LIFReset``, ``TernaryLIF``, ``ATRLIF``) share with LoihiLIF, in one place.

Lava 0.10 implements all of them on ``AbstractPyLifModelFixed`` (or, for ATRLIF, a transcription of its
current/voltage update), so their ``u``/``v`` (ATRLIF: ``i``/``v``) step is exactly LoihiLIF's: each
variant's spec and kernel call LoihiLIF's update with :data:`NO_SPIKE_VTH` (a threshold that ``v``
cannot pass, so the update never spikes or resets) and add its own threshold, reset and extra state.
"""
from __future__ import annotations

import numpy as np

from ..ir._checks import as_int_array
from .loihi_lif.model import STATE_BITS
from .loihi_lif.spec import ALIGN_SHIFT, LifParams

#: A LoihiLIF ``vth`` whose aligned value ``vth << 6 = 2^23`` exceeds every saturated ``v`` (at most 2^23 - 1).
NO_SPIKE_VTH = 2 ** (STATE_BITS - 1 - ALIGN_SHIFT)
#: The same threshold as the numba kernels hold it (already shifted).
NO_SPIKE_VTH6 = NO_SPIKE_VTH << ALIGN_SHIFT

_LIM = 2 ** (STATE_BITS - 1)
#: Valid ranges (inclusive) of the fields the variants take from Lava's LIF, as LoihiLIF checks them:
#: 12-bit decays, int16 bias mantissa, the current's wrap range (-2^23, 2^23] and v's saturation range.
LIF_RANGES = {"du": (0, 4095), "dv": (0, 4095), "bias_mant": (-(2 ** 15), 2 ** 15 - 1), "bias_exp": (-16, 16),
              "u0": (-_LIM + 1, _LIM), "v0": (-_LIM + 1, _LIM - 1)}
INT32 = (-(2 ** 31), 2 ** 31 - 1)


def check_ranges(model, ranges: dict) -> None:
    """Validate (and freeze as int64 arrays) the model's integer fields ``{name: (lo, hi)}``."""
    for name, (lo, hi) in ranges.items():
        object.__setattr__(model, name, as_int_array(getattr(model, name), type(model).__name__, name, lo, hi))


def lif_params(params: dict, du: str = "du", dv: str = "dv", vth=NO_SPIKE_VTH) -> LifParams:
    """LoihiLIF's parameters from a variant's table fields (decays named ``du``/``dv`` there), with ``vth``
    a field name or a constant (default: the unreachable :data:`NO_SPIKE_VTH`)."""
    th = np.asarray(params[vth] if isinstance(vth, str) else vth, np.int64)
    return LifParams(*(np.asarray(params[k], np.int64) for k in (du, dv)), th,
                     *(np.asarray(params[k], np.int64) for k in ("bias_mant", "bias_exp")))


def lava_int32(model, name: str, n: int) -> np.ndarray:
    """Per-neuron field ``name`` as the int32 array a Lava process Var takes."""
    return model.broadcast(name, n).astype(np.int32)
