"""Delta: Lava's delta encoder (``lava.proc.sdn.process.Delta``) in integer units, exactly Lava 0.10's
fixed-point model (``PyDeltaModelFixed``): it sends the change of its input as a graded payload once the
change reaches ``vth`` (the input layer of a lava-dl SDNN). Laid out like ``neurons/loihi_lif/``; the
delta encoder is SigmaDelta's.
"""
from ..registry import NeuronKind, register
from .model import Delta

KIND = register(NeuronKind(
    model=Delta,
    params=("vth", "cum_error", "spike_exp", "state_exp"),
    state=("act", "residue", "error"),
    initial={"act": "act0", "residue": "residue0", "error": "error0"},
    spec="neurocomp.neurons.delta.spec:step",
    kernel="neurocomp.neurons.delta.kernel:step",
    lava="neurocomp.neurons.delta.lava:make_process",
    lava_check="neurocomp.neurons.delta.lava:check",
    sample="neurocomp.neurons.delta.sample:sample",
    cost_ops=("neuron_update_active", "neuron_update_idle", "spike_out"),
    graded=True,
    target_check="neurocomp.neurons.sigma_delta.quantize:check_target",
))

__all__ = ["Delta", "KIND"]
