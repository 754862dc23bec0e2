"""RF_IZ: Lava's resonate-and-fire Izhikevich neuron (``lava.proc.rf_iz``), exactly its fixed-point model
(``PyRF_IZModelFixed``): RF's resonator with a threshold on the imaginary part and a reset. Two inputs
(``a_real_in``/``a_imag_in``: projections with ``port`` 0 and 1), like RF (``neurons/rf``), whose resonator
update, kernel prepare, Lava builder and quantize rule it reuses.
"""
from ..registry import NeuronKind, register
from .model import RF_IZ

KIND = register(NeuronKind(
    model=RF_IZ,
    params=("sin_decay", "cos_decay", "decay_bits", "state_exp", "vth"),
    state=("real", "imag"),
    initial={"real": "real0", "imag": "imag0"},
    spec="neurocomp.neurons.rf_iz.spec:step",
    kernel="neurocomp.neurons.rf_iz.kernel:step",
    lava="neurocomp.neurons.rf_iz.lava:make_process",
    lava_check="neurocomp.neurons.rf_iz.lava:check",
    cost_ops=("neuron_update_active", "neuron_update_idle", "spike_out"),
    inputs=("a_real_in", "a_imag_in"),
    target_check="neurocomp.neurons.rf.quantize:check_target",
    sample="neurocomp.neurons.rf_iz.sample:sample",
))

__all__ = ["RF_IZ", "KIND"]
