"""The Sigma IR dataclass: Lava's ``lava.proc.sdn.process.Sigma`` (a sigma decoder, e.g. an SDNN's output)."""
from __future__ import annotations

from dataclasses import dataclass

from ...ir.models import NeuronModel
from ..sigma_delta.model import check_fields


@dataclass(frozen=True, eq=False, repr=False)
class Sigma(NeuronModel):
    """Lava 0.10's Sigma decoder in integer units, exactly its fixed_pt model (PySigmaModelFixed).

    Lava's constructor takes only the shape. Each step t (``a`` = synaptic input this step)::

        sigma = wrap32(sigma + a)
        send sigma                                              # every step (0: no message)

    ``sigma0`` is the initial sigma (Lava starts it at 0).
    """
    sigma0: object = 0
    integer = True

    def __post_init__(self):
        check_fields(self, "Sigma")
