"""ATRLIF on Lava: one ``lava.proc.atrlif.process.ATRLIF`` per population (flat shape (n,); one set of decays,
theta_0 and theta_step per process, per-neuron bias/i/v/r). Lava is imported only when a process is built."""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError
from ..lava_util import per_process
from ..lif_common import lava_int32

DECAYS = ("delta_i", "delta_v", "delta_theta", "delta_r")
SCALARS = (*DECAYS, "theta_0", "theta_step")


def check(pop) -> None:
    """Refuse, naming the population, what Lava's ATRLIF process cannot express."""
    for name in SCALARS:
        per_process(pop, name, "ATRLIF")
    m = pop.model
    if np.any(m.theta0 != np.asarray(m.theta_0) << 6):
        raise UnsupportedError(f"population '{pop.name}': ATRLIF 'theta0' differs from theta_0 << 6, but Lava's "
                               "fixed-point ATRLIF ignores the initial theta and starts every neuron at "
                               "theta_0 << 6; leave theta0 at its default")


def make_process(pop):
    """The Lava ATRLIF process of population ``pop`` (ports ``a_in``, ``s_out``).

    The decays go in as the fractions Lava's process expects (``delta / 4096``, exact in float64), so the
    fixed-point model's ``delta * 4096`` gives back the integer; theta_0/theta_step as ints."""
    from lava.proc.atrlif.process import ATRLIF
    m, n = pop.model, pop.size
    decays = {k: per_process(pop, k, "ATRLIF") / 4096 for k in DECAYS}
    return ATRLIF(shape=(n,), **decays, theta_0=per_process(pop, "theta_0", "ATRLIF"),
                  theta_step=per_process(pop, "theta_step", "ATRLIF"),
                  bias_mant=lava_int32(m, "bias_mant", n), bias_exp=lava_int32(m, "bias_exp", n),
                  i=lava_int32(m, "i0", n), v=lava_int32(m, "v0", n), theta=lava_int32(m, "theta0", n),
                  r=lava_int32(m, "r0", n), name=pop.name)
