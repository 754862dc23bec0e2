"""Random ATRLIF parameters for the randomized exactness tests (``NeuronKind.sample``, ``neurons/sampling.py``)."""
from .. import sampling as S
from .model import ATRLIF


def sample(rng, n: int) -> ATRLIF:
    d = S.decays(rng)
    return ATRLIF(delta_i=d["du"], delta_v=d["dv"], delta_theta=S.choice(rng, 0, 1, 400, 4095),
                  delta_r=S.choice(rng, 0, 1, 1000, 4095), theta_0=S.choice(rng, 0, 1, int(rng.integers(2, 60)), 4095),
                  theta_step=S.choice(rng, 0, 1, int(rng.integers(2, 40))), **S.bias(rng, n),
                  **S.states(rng, n, "i0", "v0"), **S.states(rng, n, "r0", lo=0))
