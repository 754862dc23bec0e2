"""LIFReset on Lava: one ``lava.proc.lif.process.LIFReset`` per population (flat shape (n,); one du/dv/vth and
one reset_interval/reset_offset per process, per-neuron bias/u/v). Lava is imported only when a process is built."""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError
from ..lava_util import per_process
from ..lif_common import lava_int32

SCALARS = ("du", "dv", "vth", "reset_interval", "reset_offset")


def check(pop) -> None:
    """Refuse, naming the population, what Lava's LIFReset process cannot express."""
    for name in SCALARS:
        per_process(pop, name, "LIFReset")
    if np.any(pop.model.reset_phase0 != 0):
        raise UnsupportedError(f"population '{pop.name}': LIFReset 'reset_phase0' is not 0, but Lava counts the "
                               "reset phase from its own time step, which starts at 0 on every run; use reset_offset")


def make_process(pop):
    """The Lava LIFReset process of population ``pop`` (ports ``a_in``, ``s_out``)."""
    from lava.proc.lif.process import LIFReset
    m, n = pop.model, pop.size
    return LIFReset(shape=(n,), **{k: per_process(pop, k, "LIFReset") for k in SCALARS},
                    bias_mant=lava_int32(m, "bias_mant", n), bias_exp=lava_int32(m, "bias_exp", n),
                    u=lava_int32(m, "u0", n), v=lava_int32(m, "v0", n), name=pop.name)
