"""TernaryLIF on Lava: one ``lava.proc.lif.process.TernaryLIF`` per population (flat shape (n,); one du/dv and
one vth_hi/vth_lo per process, per-neuron bias/u/v). Lava is imported only when a process is built."""
from __future__ import annotations

from ..lava_util import per_process
from ..lif_common import lava_int32

SCALARS = ("du", "dv", "vth_hi", "vth_lo")


def check(pop) -> None:
    """Refuse, naming the population, what Lava's TernaryLIF process cannot express."""
    for name in SCALARS:
        per_process(pop, name, "TernaryLIF")


def make_process(pop):
    """The Lava TernaryLIF process of population ``pop`` (ports ``a_in``, ``s_out``: payloads -1/0/+1)."""
    from lava.proc.lif.process import TernaryLIF
    m, n = pop.model, pop.size
    return TernaryLIF(shape=(n,), **{k: per_process(pop, k, "TernaryLIF") for k in SCALARS},
                      bias_mant=lava_int32(m, "bias_mant", n), bias_exp=lava_int32(m, "bias_exp", n),
                      u=lava_int32(m, "u0", n), v=lava_int32(m, "v0", n), name=pop.name)
