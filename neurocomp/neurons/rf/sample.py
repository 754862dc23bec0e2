"""Random RF / RF_IZ parameters for the randomized exactness tests (``NeuronKind.sample``, ``neurons/sampling.py``):
Lava's constructor rule (:meth:`Resonator.from_period`) on random periods 2.2..30 steps, damping 0..0.3,
netx's decay_bits 12 and others; sin/cos decays, decay_bits, state_exp and vth one per Lava process."""
from .. import sampling as S
from .model import RF


def resonator(cls, rng, n: int):
    """A random ``cls`` (RF or RF_IZ), the ``tests/test_rf.py`` ranges: thresholds a few inputs reach."""
    state_exp = S.choice(rng, 0, 6, 6, 3)
    vth = float(rng.uniform(-0.5, 3)) if state_exp else int(rng.integers(-5, 200))
    return cls.from_period(rng.uniform(2.2, 30), rng.uniform(0, 0.3), vth, decay_bits=S.choice(rng, 12, 12, 8, 15),
                           state_exp=state_exp, **S.states(rng, n, "real0", "imag0"))


def sample(rng, n: int) -> RF:
    return resonator(RF, rng, n)
