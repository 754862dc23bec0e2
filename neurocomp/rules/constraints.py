"""What a learning projection must be for Loihi's learning engine as Lava exposes it (LearningDense)."""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedError
from ..ir import Dense


def check_learning_projection(proj, integer: bool = True) -> None:
    """Refuse what Lava's LearningDense cannot express: non-Dense connectivity, delays, and (when
    ``integer``, i.e. after quantization) float weights."""
    where = f"projection '{proj.name}' (learning rule '{proj.learning.name}')"
    if not isinstance(proj.connectivity, Dense):
        raise UnsupportedError(f"{where}: learning runs on Dense projections only (Lava LearningDense); "
                               f"got {type(proj.connectivity).__name__}")
    if np.any(np.asarray(proj.delay) != 0):
        raise UnsupportedError(f"{where}: learning projections cannot have delays (LearningDense has none)")
    if integer and not proj.connectivity.integer:
        raise UnsupportedError(f"{where}: weights are floats; quantize to integers first")
