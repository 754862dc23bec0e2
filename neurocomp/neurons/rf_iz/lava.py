"""RF_IZ on Lava: ``lava.proc.rf_iz.process.RF_IZ``, built as RF's (``neurons/rf/lava.py``)."""
from __future__ import annotations

from ..rf.lava import build, check  # noqa: F401  (check: the registry's refusals, RF's)


def make_process(pop):
    """The Lava RF_IZ process of population ``pop`` (ports ``a_real_in``, ``a_imag_in``, ``s_out``)."""
    from lava.proc.rf_iz.process import RF_IZ
    return build(pop, RF_IZ)
