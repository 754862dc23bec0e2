"""LIFReset: LoihiLIF with a periodic clear of u and v, exactly Lava 0.10's fixed-point ``LIFReset``
(``lava.proc.lif.models.PyLifResetModelBitAcc``). ``model.py`` (IR dataclass and equation), ``spec.py``
(numpy step), ``kernel.py`` (numba step), ``lava.py`` (process factory and refusals); registered here."""
from ..registry import NeuronKind, register
from .model import LIFReset

KIND = register(NeuronKind(
    model=LIFReset,
    params=("du", "dv", "vth", "bias_mant", "bias_exp", "reset_interval", "reset_offset"),
    state=("u", "v", "reset_phase"),
    initial={"u": "u0", "v": "v0", "reset_phase": "reset_phase0"},
    spec="neurocomp.neurons.lif_reset.spec:step",
    kernel="neurocomp.neurons.lif_reset.kernel:step",
    lava="neurocomp.neurons.lif_reset.lava:make_process",
    lava_check="neurocomp.neurons.lif_reset.lava:check",
    sample="neurocomp.neurons.lif_reset.sample:sample",
    cost_ops=("neuron_update_active", "neuron_update_idle", "spike_out"),
))

__all__ = ["LIFReset", "KIND"]
