"""Helpers of the models' random-parameter samplers (``NeuronKind.sample``): the randomized exactness tests
and ``benchmarks/model_exactness.py`` build random networks of every registered model from them.

A sampler ``sample(rng, n) -> model`` returns parameters Lava's process can run (fields Lava takes once
per process are one value) with lively dynamics on small random networks (thresholds low enough to fire
on a few synaptic inputs of up to 8-bit weights), initial states included.
"""
from __future__ import annotations


def per(rng, n: int, lo: int, hi: int):
    """One value in [lo, hi] for the population or one per neuron (half the time each)."""
    return rng.integers(lo, hi + 1, n) if rng.random() < 0.5 else int(rng.integers(lo, hi + 1))


def choice(rng, *values):
    """One of ``values``, uniformly (extremes such as 0 and 4095 are listed by the caller)."""
    return values[int(rng.integers(len(values)))]


def decays(rng) -> dict:
    """Lava LIF decays du, dv (one per process), extremes included."""
    return dict(du=choice(rng, 0, 1, 500, 2048, 4095), dv=choice(rng, 0, 1, 300, 4095))


def bias(rng, n: int) -> dict:
    return dict(bias_mant=per(rng, n, -60, 60), bias_exp=per(rng, n, -2, 4))


def states(rng, n: int, *names, lo: int = -3000, hi: int = 3000) -> dict:
    return {k: per(rng, n, lo, hi) for k in names}
