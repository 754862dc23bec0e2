"""Random SigmaDelta parameters for the randomized exactness tests (``NeuronKind.sample``, ``neurons/sampling.py``)."""
from .. import sampling as S
from .model import SigmaDelta


def sdn_common(rng) -> dict:
    """vth, cum_error, spike_exp, state_exp (one per Lava process), shared with Delta."""
    return dict(vth=int(rng.integers(0, 12)), cum_error=bool(rng.random() < 0.5), spike_exp=int(rng.integers(0, 4)),
                state_exp=int(rng.integers(0, 4)))


def sample(rng, n: int) -> SigmaDelta:
    return SigmaDelta(bias=S.per(rng, n, -30, 30), act_mode=int(rng.integers(0, 2)), **sdn_common(rng),
                      **S.states(rng, n, "sigma0", "act0", "residue0", "error0", lo=-40, hi=40))
