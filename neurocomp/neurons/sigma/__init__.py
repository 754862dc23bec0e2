"""Sigma: Lava's sigma decoder (``lava.proc.sdn.process.Sigma``) in integer units, exactly Lava 0.10's
fixed-point model (``PySigmaModelFixed``): it accumulates its input and sends the sum every step as a
graded payload (the output layer of a lava-dl SDNN). Laid out like ``neurons/loihi_lif/``.
"""
from ..registry import NeuronKind, register
from .model import Sigma

KIND = register(NeuronKind(
    model=Sigma,
    params=(),
    state=("sigma",),
    initial={"sigma": "sigma0"},
    spec="neurocomp.neurons.sigma.spec:step",
    kernel="neurocomp.neurons.sigma.kernel:step",
    lava="neurocomp.neurons.sigma.lava:make_process",
    lava_check="neurocomp.neurons.sigma.lava:check",
    sample="neurocomp.neurons.sigma.sample:sample",
    cost_ops=("neuron_update_active", "neuron_update_idle", "spike_out"),
    graded=True,
))

__all__ = ["Sigma", "KIND"]
