"""Sigma on Lava: one ``lava.proc.sdn.process.Sigma`` per population (flat shape (n,)). Lava's Sigma
constructor takes only the shape: the process keeps Lava's default name."""
from __future__ import annotations

from ..sigma_delta.lava import set_initial


def check(pop) -> None:
    """Lava's Sigma runs every Sigma population (nothing to refuse)."""


def make_process(pop):
    """The Lava Sigma process of population ``pop`` (ports ``a_in``, ``s_out``; sends sigma every step)."""
    from lava.proc.sdn.process import Sigma
    from . import KIND
    proc = Sigma(shape=(pop.size,))
    set_initial(proc, pop, KIND)
    return proc
