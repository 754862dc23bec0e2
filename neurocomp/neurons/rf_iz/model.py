"""The RF_IZ IR dataclass: Lava's resonate-and-fire Izhikevich neuron (``lava.proc.rf_iz``) in integer units."""
from __future__ import annotations

from dataclasses import dataclass

from ..rf.model import Resonator


@dataclass(frozen=True, eq=False, repr=False)
class RF_IZ(Resonator):
    """Resonate-and-fire Izhikevich neuron (threshold on the imaginary part, with reset): exactly Lava 0.10's
    fixed-point ``RF_IZ`` (``lava.proc.rf_iz.models.PyRF_IZModelFixed``), in integer units.

    Fields, inputs (``a_re`` on port 0 = ``a_real_in``, ``a_im`` on port 1 = ``a_imag_in``) and the resonator
    update are RF's (:class:`neurocomp.neurons.rf.RF`); the spike and reset differ. Each step t::

        real', imag' = RF's resonator update of (real, imag) with (a_re, a_im)     # clipped to +-(2^23-1)
        s     = imag' >= vth
        real  = 0        if s else real'
        imag  = vth - 1  if s else imag'

    netx's ``RF`` neuron type (lava-dl) is this process; its ``RF_PHASE`` is :class:`RF`.
    """
