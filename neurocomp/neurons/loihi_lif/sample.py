"""Random LoihiLIF parameters for the randomized exactness tests (``NeuronKind.sample``, ``neurons/sampling.py``)."""
from .. import sampling as S
from .model import LoihiLIF


def sample(rng, n: int) -> LoihiLIF:
    return LoihiLIF(**S.decays(rng), vth=int(rng.integers(0, 60)), **S.bias(rng, n), **S.states(rng, n, "u0", "v0"))
