"""Helpers shared by the neuron models' Lava factories (``neurons/*/lava.py``)."""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedError


def per_process(pop, name: str, process: str) -> int:
    """Field ``name`` of ``pop``'s model as the one int a Lava ``process`` takes per process, or a refusal
    naming the population (Lava's neuron processes take some parameters once, not per neuron)."""
    values = np.unique(np.asarray(getattr(pop.model, name)))
    if values.size != 1:
        raise UnsupportedError(
            f"population '{pop.name}': {type(pop.model).__name__} '{name}' varies across neurons ({values.size} "
            f"distinct values) but Lava's {process} takes one {name} per process; split the population by {name}")
    return int(values[0])
