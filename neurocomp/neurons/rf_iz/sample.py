"""Random RF_IZ parameters for the randomized exactness tests (RF's sampler, ``neurons/rf/sample.py``)."""
from ..rf.sample import resonator
from .model import RF_IZ


def sample(rng, n: int) -> RF_IZ:
    return resonator(RF_IZ, rng, n)
