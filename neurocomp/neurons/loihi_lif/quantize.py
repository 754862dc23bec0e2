"""LoihiLIF's quantize rule for a population that is already integer: its parameters must fit the
target's number formats (``neurocomp.passes.quantize`` derives the formats from the target TOML; the
physical models LIF/CubaLIF/IF/LI are mapped onto LoihiLIF by the quantize pass itself)."""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError


def check_target(pop, fm) -> None:
    """Refuse, naming the population and parameter, values outside the target's formats ``fm``
    (``vth_max``, bias mantissa ``b_lo..b_hi``, bias exponent ``be_min..be_max``)."""
    m = pop.model
    for pname, lo, hi in (("vth", 0, fm.vth_max), ("bias_mant", fm.b_lo, fm.b_hi), ("bias_exp", fm.be_min, fm.be_max)):
        arr = np.asarray(getattr(m, pname))
        if arr.size and (arr.min() < lo or arr.max() > hi):
            raise UnsupportedError(f"population '{pop.name}' (LoihiLIF): {pname} range [{int(arr.min())}, "
                                   f"{int(arr.max())}] exceeds the target's [{lo}, {hi}]; rescale it")
