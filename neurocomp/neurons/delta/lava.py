"""Delta on Lava: one ``lava.proc.sdn.process.Delta`` per population (flat shape (n,), every field once per
process). Lava's Delta constructor takes no name: the process keeps Lava's default one."""
from __future__ import annotations

from ..lava_util import per_process
from ..sigma_delta.lava import check_scalars, set_initial

#: Fields Lava's Delta takes once per process.
PER_PROCESS = ("vth", "cum_error", "spike_exp", "state_exp")


def check(pop) -> None:
    """Refuse, naming the population, what Lava's Delta process cannot express."""
    check_scalars(pop, PER_PROCESS, "Delta")


def make_process(pop):
    """The Lava Delta process of population ``pop`` (ports ``a_in``, ``s_out``; graded output)."""
    from lava.proc.sdn.process import Delta
    from . import KIND
    v = {name: per_process(pop, name, "Delta") for name in PER_PROCESS}
    proc = Delta(shape=(pop.size,), vth=v["vth"], cum_error=bool(v["cum_error"]), spike_exp=v["spike_exp"],
                 state_exp=v["state_exp"])
    set_initial(proc, pop, KIND)
    return proc
