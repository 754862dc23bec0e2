"""TernaryLIF: LoihiLIF with two thresholds and payloads -1/0/+1 (a graded model), exactly Lava 0.10's
fixed-point ``TernaryLIF`` (``lava.proc.lif.models.PyTernLifModelFixed``). ``model.py`` (IR dataclass and
equation), ``spec.py`` (numpy step), ``kernel.py`` (numba step), ``lava.py`` (process factory and refusals);
registered here."""
from ..registry import NeuronKind, register
from .model import TernaryLIF

KIND = register(NeuronKind(
    model=TernaryLIF,
    params=("du", "dv", "vth_hi", "vth_lo", "bias_mant", "bias_exp"),
    state=("u", "v"),
    initial={"u": "u0", "v": "v0"},
    spec="neurocomp.neurons.ternary_lif.spec:step",
    kernel="neurocomp.neurons.ternary_lif.kernel:step",
    lava="neurocomp.neurons.ternary_lif.lava:make_process",
    lava_check="neurocomp.neurons.ternary_lif.lava:check",
    sample="neurocomp.neurons.ternary_lif.sample:sample",
    cost_ops=("neuron_update_active", "neuron_update_idle", "spike_out"),
    graded=True,
))

__all__ = ["TernaryLIF", "KIND"]
