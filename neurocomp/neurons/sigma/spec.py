"""Sigma's step in plain numpy: the spec (``lava/proc/sdn/models.py``, ``PySigmaModelFixed``)::

    sigma = wrap32(sigma + a);  payload = sigma
"""
from __future__ import annotations

from ...semantics.fixedpoint import wrap32


def step(params: dict, state: dict, a):
    """The registry's spec contract: ``params``/``state`` by name -> (new state, payload int64)."""
    sigma = wrap32(state["sigma"] + a)
    return {"sigma": sigma}, sigma
