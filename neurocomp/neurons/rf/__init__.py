"""RF: Lava's resonate-and-fire neuron (``lava.proc.rf``), phase spiking, in integer units: exactly Lava 0.10's
fixed-point model (``PyRFModelFixed``). Two state components (``real``, ``imag``) and two inputs: Lava's
``a_real_in``/``a_imag_in``, the projections with ``port`` 0 and 1 (a complex connection is two projections,
as netx's ComplexDense is two Dense processes). RF_IZ (``neurons/rf_iz``) shares the resonator update.
"""
from ..registry import NeuronKind, register
from .model import RF

KIND = register(NeuronKind(
    model=RF,
    params=("sin_decay", "cos_decay", "decay_bits", "state_exp", "vth"),
    state=("real", "imag"),
    initial={"real": "real0", "imag": "imag0"},
    spec="neurocomp.neurons.rf.spec:step",
    kernel="neurocomp.neurons.rf.kernel:step",
    lava="neurocomp.neurons.rf.lava:make_process",
    lava_check="neurocomp.neurons.rf.lava:check",
    cost_ops=("neuron_update_active", "neuron_update_idle", "spike_out"),
    inputs=("a_real_in", "a_imag_in"),
    target_check="neurocomp.neurons.rf.quantize:check_target",
    sample="neurocomp.neurons.rf.sample:sample",
))

__all__ = ["RF", "KIND"]
