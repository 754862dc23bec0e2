"""Random LIFReset parameters for the randomized exactness tests (``NeuronKind.sample``, ``neurons/sampling.py``)."""
from .. import sampling as S
from .model import LIFReset


def sample(rng, n: int) -> LIFReset:
    return LIFReset(**S.decays(rng), vth=int(rng.integers(0, 60)), reset_interval=S.choice(rng, 1, 2, 3, 5, 8),
                    reset_offset=int(rng.integers(0, 12)), **S.bias(rng, n), **S.states(rng, n, "u0", "v0"))
