"""SigmaDelta on Lava: one ``lava.proc.sdn.process.SigmaDelta`` per population (flat shape (n,), one vth,
act_mode, cum_error, spike_exp, state_exp per process, per-neuron bias). The initial states are set on the
process's Vars (Lava's constructor starts them at 0). Lava is imported only when a process is built.

The helpers here serve Delta and Sigma too: :func:`check_scalars` (fields Lava takes once per process) and
:func:`set_initial` (the ``*0`` fields onto the Vars)."""
from __future__ import annotations

import numpy as np

from ..lava_util import per_process

#: Fields Lava's SigmaDelta takes once per process.
PER_PROCESS = ("vth", "act_mode", "cum_error", "spike_exp", "state_exp")


def check_scalars(pop, names, process: str) -> None:
    for name in names:
        per_process(pop, name, process)


def set_initial(proc, pop, kind) -> None:
    """Write the model's initial-state fields (``kind.initial``: Lava Var -> field) onto the process's Vars."""
    for var, field in kind.initial.items():
        getattr(proc, var).init = pop.model.broadcast(field, pop.size).astype(np.int32)


def check(pop) -> None:
    """Refuse, naming the population, what Lava's SigmaDelta process cannot express."""
    check_scalars(pop, PER_PROCESS, "SigmaDelta")


def make_process(pop):
    """The Lava SigmaDelta process of population ``pop`` (ports ``a_in``, ``s_out``; graded output)."""
    from lava.proc.sdn.process import ActivationMode, SigmaDelta
    from . import KIND
    m, n = pop.model, pop.size
    v = {name: per_process(pop, name, "SigmaDelta") for name in PER_PROCESS}
    proc = SigmaDelta(shape=(n,), vth=v["vth"], bias=m.broadcast("bias", n).astype(np.int64),
                      act_mode=ActivationMode(v["act_mode"]), cum_error=bool(v["cum_error"]),
                      spike_exp=v["spike_exp"], state_exp=v["state_exp"], name=pop.name)
    set_initial(proc, pop, KIND)
    return proc
