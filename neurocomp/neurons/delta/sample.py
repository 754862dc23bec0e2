"""Random Delta parameters for the randomized exactness tests (``NeuronKind.sample``, ``neurons/sampling.py``)."""
from .. import sampling as S
from .model import Delta
from ..sigma_delta.sample import sdn_common


def sample(rng, n: int) -> Delta:
    return Delta(**sdn_common(rng), **S.states(rng, n, "act0", "residue0", "error0", lo=-40, hi=40))
