"""The Delta IR dataclass: Lava's ``lava.proc.sdn.process.Delta`` (a delta encoder, e.g. a graded input layer)."""
from __future__ import annotations

from dataclasses import dataclass

from ...ir.models import NeuronModel
from ..sigma_delta.model import check_fields


@dataclass(frozen=True, eq=False, repr=False)
class Delta(NeuronModel):
    """Lava 0.10's Delta encoder in integer units, exactly its fixed_pt model (PyDeltaModelFixed).

    Field names are the Lava constructor's (``vth``, ``cum_error``, ``spike_exp``, ``state_exp``). Each
    step t (``a`` = synaptic input this step; int32 arithmetic, every sum and the left shift wrap)::

        VTH   = vth << (spike_exp + state_exp)                  # Lava's constructor
        act'  = a << (spike_exp + state_exp)                    # the input IS the new activation
        delta = act' - act + residue
        if cum_error:
            error = error + delta
            s = delta if |error| >= VTH else 0;  error = 0 where s != 0
        else:
            s = delta if |delta| >= VTH else 0
        residue = delta - s;  act = act'
        send s >> state_exp                                     # graded payload (0: no message)

    So the payload is the change of the input in units of ``2**-spike_exp`` (``|x|``: numpy's int32 abs,
    ``>>`` arithmetic). ``act0``, ``residue0``, ``error0`` are the initial states in Lava's (scaled)
    units; Lava starts them at 0. Lava's Delta takes one value of every field per process.
    """
    vth: object
    cum_error: object = False
    spike_exp: object = 0
    state_exp: object = 0
    act0: object = 0
    residue0: object = 0
    error0: object = 0
    integer = True

    def __post_init__(self):
        check_fields(self, "Delta", scaled=("vth",))
