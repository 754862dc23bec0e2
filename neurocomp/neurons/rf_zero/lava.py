"""RFZero on Lava: one ``lava.proc.resfire.process.RFZero`` per population (flat shape (n,); ports ``u_in``
(projection port 0), ``v_in`` (port 1), ``s_out`` graded). The constructor derives lct/lst from float
frequencies; the factory overwrites them (and u, v) with the IR's integers. Lava is imported only here."""
from __future__ import annotations

import numpy as np

from ..lava_util import per_process


def check(pop) -> None:
    """Refuse, naming the population, what Lava's RFZero cannot express (one ``uth`` per process)."""
    per_process(pop, "uth", "RFZero")


def make_process(pop):
    """The Lava RFZero process of population ``pop`` (Lava's RFZero takes no name: the process keeps its own)."""
    from lava.proc.resfire.process import RFZero
    m, n = pop.model, pop.size
    proc = RFZero(shape=(n,), freqs=np.full(n, 10.0), decay_tau=np.full(n, 0.1), uth=per_process(pop, "uth", "RFZero"))
    for var, field in (("lct", "lct"), ("lst", "lst"), ("u", "u0"), ("v", "v0")):
        getattr(proc, var).init = m.broadcast(field, n).astype(np.int32)
    return proc
