"""RF and RF_IZ on Lava: one ``lava.proc.rf.process.RF`` (``rf_iz.process.RF_IZ``) per population, flat shape
(n,), with ports ``a_real_in`` (projections with port 0), ``a_imag_in`` (port 1) and ``s_out``.

Lava's constructor computes ``sin_decay``/``cos_decay``/``vth`` from float ``period``/``alpha``/``vth``; the
factory builds the process with ``decay_bits``/``state_exp`` and writes the IR's integers onto those Vars
(and ``real0``/``imag0`` onto ``real``/``imag``). Lava is imported only when a process is built."""
from __future__ import annotations

import numpy as np

from ..lava_util import per_process

#: Fields Lava's RF takes once per process (Vars of shape (1,)).
PER_PROCESS = ("sin_decay", "cos_decay", "decay_bits", "state_exp", "vth")


def check(pop) -> None:
    """Refuse, naming the population, what Lava's RF / RF_IZ process cannot express."""
    for name in PER_PROCESS:
        per_process(pop, name, type(pop.model).__name__)


def build(pop, process_cls):
    """The process ``process_cls`` (Lava's RF or RF_IZ) holding population ``pop``'s integers."""
    m, n = pop.model, pop.size
    v = {name: per_process(pop, name, process_cls.__name__) for name in PER_PROCESS}
    # period/alpha only feed the constructor's float decays, overwritten below by the IR's integers;
    # vth=1 with state_exp > 0 keeps the constructor's int(vth * 2**state_exp) in range
    proc = process_cls(shape=(n,), period=10, alpha=0.0, state_exp=v["state_exp"], decay_bits=v["decay_bits"],
                       vth=1, name=pop.name)
    for name in ("sin_decay", "cos_decay", "vth"):
        getattr(proc, name).init = np.array([v[name]], np.int32)
    proc.real.init = m.broadcast("real0", n).astype(np.int32)
    proc.imag.init = m.broadcast("imag0", n).astype(np.int32)
    return proc


def make_process(pop):
    """The Lava RF process of population ``pop``."""
    from lava.proc.rf.process import RF
    return build(pop, RF)
