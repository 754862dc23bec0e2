"""Random LoihiLIF parameters for the randomized exactness tests (``NeuronKind.sample``, ``neurons/sampling.py``)."""
from .. import sampling as S
from .model import LoihiLIF


def sample(rng, n: int) -> LoihiLIF:
    """Decays include du = -1 (u kept) and dv = 4096 (v = u + bias), which LoihiLIF takes from netx."""
    return LoihiLIF(du=S.choice(rng, -1, 0, 1, 500, 2048, 4095), dv=S.choice(rng, 0, 1, 300, 4095, 4096),
                    vth=int(rng.integers(0, 60)), **S.bias(rng, n), **S.states(rng, n, "u0", "v0"))
