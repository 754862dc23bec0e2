"""LoihiLIF on Lava: one ``lava.proc.lif.process.LIF`` per population (flat shape (n,), one du/dv/vth per
process, per-neuron bias/u/v). Lava is imported only when a process is built."""
from __future__ import annotations

import numpy as np

from ..lava_util import per_process


def check(pop) -> None:
    """Refuse, naming the population, what Lava's LIF process cannot express."""
    for name in ("du", "dv", "vth"):
        per_process(pop, name, "LIF")


def make_process(pop):
    """The Lava LIF process of population ``pop`` (ports ``a_in``, ``s_out``)."""
    from lava.proc.lif.process import LIF
    m, n = pop.model, pop.size
    return LIF(shape=(n,), du=per_process(pop, "du", "LIF"), dv=per_process(pop, "dv", "LIF"), vth=per_process(pop, "vth", "LIF"),
               bias_mant=m.broadcast("bias_mant", n).astype(np.int32),
               bias_exp=m.broadcast("bias_exp", n).astype(np.int32),
               u=m.broadcast("u0", n).astype(np.int32), v=m.broadcast("v0", n).astype(np.int32), name=pop.name)
