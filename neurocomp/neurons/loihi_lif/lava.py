"""LoihiLIF on Lava: one ``lava.proc.lif.process.LIF`` per population (flat shape (n,), one du/dv/vth per
process, per-neuron bias/u/v). Lava is imported only when a process is built."""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError


def _scalar(model, name: str, pop) -> int:
    values = np.unique(np.asarray(getattr(model, name)))
    if values.size != 1:
        raise UnsupportedError(
            f"population '{pop.name}': LoihiLIF '{name}' varies across neurons ({values.size} distinct values) "
            f"but Lava's LIF takes one {name} per process; split the population by {name}")
    return int(values[0])


def check(pop) -> None:
    """Refuse, naming the population, what Lava's LIF process cannot express."""
    for name in ("du", "dv", "vth"):
        _scalar(pop.model, name, pop)


def make_process(pop):
    """The Lava LIF process of population ``pop`` (ports ``a_in``, ``s_out``)."""
    from lava.proc.lif.process import LIF
    m, n = pop.model, pop.size
    return LIF(shape=(n,), du=_scalar(m, "du", pop), dv=_scalar(m, "dv", pop), vth=_scalar(m, "vth", pop),
               bias_mant=m.broadcast("bias_mant", n).astype(np.int32),
               bias_exp=m.broadcast("bias_exp", n).astype(np.int32),
               u=m.broadcast("u0", n).astype(np.int32), v=m.broadcast("v0", n).astype(np.int32), name=pop.name)
