"""Random Sigma parameters for the randomized exactness tests (``NeuronKind.sample``, ``neurons/sampling.py``)."""
from .. import sampling as S
from .model import Sigma


def sample(rng, n: int) -> Sigma:
    return Sigma(**S.states(rng, n, "sigma0", lo=-40, hi=40))
