"""RFZero: Lava's resonate-and-fire neuron that spikes at the zero-phase crossing with a graded payload (the
oscillation's amplitude), ``lava.proc.resfire``, exactly its fixed-point model (``PyRFZeroModelFixed``). Two
inputs (Lava's ``u_in``/``v_in``: projections with ``port`` 0 and 1) like RF; sends graded payloads like
SigmaDelta, so it needs a target with graded messages and resonators (loihi2)."""
from ..registry import NeuronKind, register
from .model import RFZero

KIND = register(NeuronKind(
    model=RFZero,
    params=("lct", "lst", "uth"),
    state=("u", "v"),
    initial={"u": "u0", "v": "v0"},
    spec="neurocomp.neurons.rf_zero.spec:step",
    kernel="neurocomp.neurons.rf_zero.kernel:step",
    lava="neurocomp.neurons.rf_zero.lava:make_process",
    lava_check="neurocomp.neurons.rf_zero.lava:check",
    cost_ops=("neuron_update_active", "neuron_update_idle", "spike_out"),
    graded=True,
    inputs=("u_in", "v_in"),
    target_check="neurocomp.neurons.rf.quantize:check_target",
    sample="neurocomp.neurons.rf_zero.sample:sample",
))

__all__ = ["RFZero", "KIND"]
