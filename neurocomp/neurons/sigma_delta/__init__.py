"""SigmaDelta: Lava's sigma-delta neuron (``lava.proc.sdn``) in integer units, exactly Lava 0.10's fixed-point
model (``PySigmaDeltaModelFixed``): it accumulates its input (sigma), applies ReLU or the identity
(act_mode) and sends the change of its activation (delta) as a graded payload once it reaches ``vth``.
Laid out like ``neurons/loihi_lif/`` (model, spec, kernel, lava, registry entry); Delta and Sigma reuse
its delta encoder and Lava helpers.
"""
from ..registry import NeuronKind, register
from .model import ActivationMode, SigmaDelta

KIND = register(NeuronKind(
    model=SigmaDelta,
    params=("vth", "bias", "act_mode", "cum_error", "spike_exp", "state_exp"),
    state=("sigma", "act", "residue", "error"),
    initial={"sigma": "sigma0", "act": "act0", "residue": "residue0", "error": "error0"},
    spec="neurocomp.neurons.sigma_delta.spec:step",
    kernel="neurocomp.neurons.sigma_delta.kernel:step",
    lava="neurocomp.neurons.sigma_delta.lava:make_process",
    lava_check="neurocomp.neurons.sigma_delta.lava:check",
    sample="neurocomp.neurons.sigma_delta.sample:sample",
    cost_ops=("neuron_update_active", "neuron_update_idle", "spike_out"),
    graded=True,
    target_check="neurocomp.neurons.sigma_delta.quantize:check_target",
))

__all__ = ["SigmaDelta", "ActivationMode", "KIND"]
