"""ATRLIF: adaptive-threshold, refractory LIF, exactly Lava 0.10's fixed-point ``ATRLIF``
(``lava.proc.atrlif.models.PyATRLIFModelFixed``). ``model.py`` (IR dataclass and equation), ``spec.py``
(numpy step), ``kernel.py`` (numba step), ``lava.py`` (process factory and refusals); registered here.

Its state variables keep Lava's names (``i``, ``v``, ``theta``, ``r``), so the Lava backend can probe each
one by name; ``i`` is what LoihiLIF calls ``u``.
"""
from ..registry import NeuronKind, register
from .model import ATRLIF

KIND = register(NeuronKind(
    model=ATRLIF,
    params=("delta_i", "delta_v", "delta_theta", "delta_r", "theta_0", "theta_step", "bias_mant", "bias_exp"),
    state=("i", "v", "theta", "r"),
    initial={"i": "i0", "v": "v0", "theta": "theta0", "r": "r0"},
    spec="neurocomp.neurons.atrlif.spec:step",
    kernel="neurocomp.neurons.atrlif.kernel:step",
    lava="neurocomp.neurons.atrlif.lava:make_process",
    lava_check="neurocomp.neurons.atrlif.lava:check",
    sample="neurocomp.neurons.atrlif.sample:sample",
    cost_ops=("neuron_update_active", "neuron_update_idle", "spike_out"),
))

__all__ = ["ATRLIF", "KIND"]
