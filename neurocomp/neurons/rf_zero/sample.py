"""Random RFZero parameters for the randomized exactness tests (``NeuronKind.sample``, ``neurons/sampling.py``):
Lava's constructor rule (:meth:`RFZero.from_freqs`) on random frequencies and decay times per neuron, one
``uth`` per Lava process."""
from .. import sampling as S
from .model import RFZero


def sample(rng, n: int) -> RFZero:
    return RFZero.from_freqs(rng.uniform(5, 150, n), rng.uniform(0.005, 0.3, n), uth=int(rng.integers(-50, 500)),
                             **S.states(rng, n, "u0", "v0"))
