"""The SigmaDelta IR dataclass (Lava's ``lava.proc.sdn.process.SigmaDelta`` in integer units) and the pieces
Delta and Sigma share with it: the activation modes, the field checks and the 2**(spike_exp + state_exp)
scaling of ``vth`` and ``bias`` that Lava applies in the process constructor."""
from __future__ import annotations

import enum
from dataclasses import dataclass, fields

import numpy as np

from ...errors import ValidationError
from ...ir._checks import as_int_array
from ...ir.models import NeuronModel

#: Lava's fixed_pt SDN models keep every variable in an int32 array (annotated "precision=24", not enforced).
INT32_MIN, INT32_MAX = -(2 ** 31), 2 ** 31 - 1
#: Largest ``spike_exp + state_exp``: Lava scales vth and bias by ``1 << (spike_exp + state_exp)`` into int32.
MAX_SCALE_SHIFT = 30


class ActivationMode(enum.IntEnum):
    """Lava's ``lava.proc.sdn.process.ActivationMode``, same names and values."""
    UNIT = 0
    RELU = 1


def as_act_mode(value, where: str) -> np.ndarray:
    """``act_mode`` as int64 (0 UNIT, 1 RELU): accepts "relu"/"unit" (any case), 0/1 or Lava's ActivationMode."""
    raw = np.asarray(value, dtype=object) if isinstance(value, str) else np.asarray(value)
    if raw.dtype.kind in "OUS":
        try:
            mapped = np.vectorize(lambda v: int(ActivationMode[str(v).upper()]) if isinstance(v, str) else int(v),
                                  otypes=[np.int64])(raw)
        except (KeyError, TypeError, ValueError):
            raise ValidationError(f"{where}: parameter 'act_mode' must be 'relu' or 'unit' (or Lava's "
                                  f"ActivationMode.RELU/UNIT, 1/0), got {value!r}") from None
        raw = mapped
    return as_int_array(raw, where, "act_mode", 0, 1)


def scale_shift(model) -> np.ndarray:
    """``spike_exp + state_exp`` per neuron (int64, broadcast as the fields are)."""
    return np.asarray(model.spike_exp) + np.asarray(model.state_exp)


#: The range of every field of the sigma-delta models (the ``*0`` initial states: anything int32 holds).
RANGES = {"vth": (0, INT32_MAX), "bias": (INT32_MIN, INT32_MAX), "act_mode": (0, 1), "cum_error": (0, 1),
          "spike_exp": (0, MAX_SCALE_SHIFT), "state_exp": (0, MAX_SCALE_SHIFT)}


def check_fields(model, where: str, scaled=()) -> None:
    """Validate the integer fields of ``model`` in declaration order (so the first bad field is named).

    Ranges from :data:`RANGES` (``*0`` states: int32); ``act_mode`` and ``cum_error`` are normalised.
    ``scaled``: fields Lava multiplies by ``2**(spike_exp + state_exp)``; the product must fit int32.
    """
    for f in fields(model):
        lo, hi = RANGES.get(f.name, (INT32_MIN, INT32_MAX))
        value = getattr(model, f.name)
        arr = as_act_mode(value, where) if f.name == "act_mode" else as_int_array(value, where, f.name, lo, hi)
        object.__setattr__(model, f.name, arr)
    if not scaled:
        return
    shift = scale_shift(model)
    if shift.size and shift.max() > MAX_SCALE_SHIFT:
        raise ValidationError(f"{where}: spike_exp + state_exp = {int(shift.max())} exceeds {MAX_SCALE_SHIFT}; "
                              "Lava scales vth and bias by 2**(spike_exp + state_exp) into int32")
    for name in scaled:
        value = np.asarray(getattr(model, name)) << shift
        if value.size and (value.min() < INT32_MIN or value.max() > INT32_MAX):
            bad = int(value.max() if value.max() > INT32_MAX else value.min())
            raise ValidationError(f"{where}: {name} * 2**(spike_exp + state_exp) = {bad} does not fit Lava's int32 "
                                  f"state; lower {name} or the exponents")


@dataclass(frozen=True, eq=False, repr=False)
class SigmaDelta(NeuronModel):
    """Lava 0.10's SigmaDelta neuron in integer units, exactly its fixed_pt model (PySigmaDeltaModelFixed).

    Field names are the Lava constructor's (``vth``, ``bias``, ``act_mode``, ``cum_error``, ``spike_exp``,
    ``state_exp``) with the same meaning: Lava scales ``vth`` and ``bias`` by ``2**(spike_exp + state_exp)``
    once, in the constructor. Each step t (``a`` = synaptic input this step; int32 arithmetic, every
    sum wraps)::

        VTH = vth << (spike_exp + state_exp);  BIAS = bias << (spike_exp + state_exp)
        sigma = sigma + a                                       # sigma decoder
        x     = sigma + BIAS
        act'  = max(x, 0) if act_mode == RELU else x            # activation
        delta = act' - act + residue                            # delta encoder
        if cum_error:
            error = error + delta
            s = delta if |error| >= VTH else 0;  error = 0 where s != 0
        else:
            s = delta if |delta| >= VTH else 0
        residue = delta - s;  act = act'
        send s >> state_exp                                     # graded payload (0: no message)

    ``|x|`` is numpy's int32 abs (|-2^31| stays negative, so such a delta is never sent and resets no
    error); ``>>`` is arithmetic. The payload carries ``spike_exp`` fractional bits: the receiving
    connection's ``weight_exp`` usually removes them. ``sigma0``, ``act0``, ``residue0``, ``error0`` are
    the initial states in Lava's (scaled) units; Lava starts them at 0. One ``vth``, ``act_mode``,
    ``cum_error``, ``spike_exp``, ``state_exp`` per Lava process; ``bias`` may differ per neuron.
    """
    vth: object
    bias: object = 0
    act_mode: object = ActivationMode.RELU
    cum_error: object = False
    spike_exp: object = 0
    state_exp: object = 0
    sigma0: object = 0
    act0: object = 0
    residue0: object = 0
    error0: object = 0
    integer = True

    def __post_init__(self):
        check_fields(self, "SigmaDelta", scaled=("vth", "bias"))
