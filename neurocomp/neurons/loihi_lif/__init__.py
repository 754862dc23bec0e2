"""LoihiLIF: Loihi's CUBA leaky integrate-and-fire neuron in integer units, exactly Lava 0.10's fixed-point
LIF (``lava.proc.lif.models.PyLifModelBitAcc``). This folder holds everything the model needs at every
stage, registered in :mod:`neurocomp.neurons.registry`:

==============  ==================================================================================
``model.py``    the IR dataclass and its discrete-time equation (this is what the user writes)
``spec.py``     the numpy step (the readable spec the reference simulator runs)
``kernel.py``   the numba step the emulator inlines per neuron (held equal to the spec by tests)
``lava.py``     the Lava process factory (``lava.proc.lif.process.LIF``) and its refusals
``quantize.py`` its quantize rule: an integer population's values must fit the target's formats
``__init__``    the registry entry: table fields, state, initial values, cost-model op classes
==============  ==================================================================================
"""
from ..registry import NeuronKind, register
from .model import STATE_BITS, LoihiLIF

KIND = register(NeuronKind(
    model=LoihiLIF,
    params=("du", "dv", "vth", "bias_mant", "bias_exp"),
    state=("u", "v"),
    initial={"u": "u0", "v": "v0"},
    spec="neurocomp.neurons.loihi_lif.spec:step",
    kernel="neurocomp.neurons.loihi_lif.kernel:step",
    lava="neurocomp.neurons.loihi_lif.lava:make_process",
    lava_check="neurocomp.neurons.loihi_lif.lava:check",
    sample="neurocomp.neurons.loihi_lif.sample:sample",
    cost_ops=("neuron_update_active", "neuron_update_idle", "spike_out"),
    target_check="neurocomp.neurons.loihi_lif.quantize:check_target",
))

__all__ = ["LoihiLIF", "STATE_BITS", "KIND"]
