"""Random TernaryLIF parameters for the randomized exactness tests (``NeuronKind.sample``, ``neurons/sampling.py``)."""
from .. import sampling as S
from .model import TernaryLIF


def sample(rng, n: int) -> TernaryLIF:
    hi = int(rng.integers(-5, 60))
    return TernaryLIF(**S.decays(rng), vth_hi=hi, vth_lo=int(rng.integers(-60, hi + 1)), **S.bias(rng, n),
                      **S.states(rng, n, "u0", "v0"))
