"""Neuron models on the chip: one folder per integer model, each holding everything the model needs at
every stage (IR dataclass with its equation, table fields, numpy spec, numba step, Lava factory, cost op
classes), registered by IR type in :mod:`neurocomp.neurons.registry`. Importing this package
registers every model."""
from .registry import DRIVE_PARAMS, NEURONS, NeuronKind, kind_of, register, table_params
from .loihi_lif import LoihiLIF  # noqa: E402  (registers itself)
from .lif_reset import LIFReset  # noqa: E402
from .ternary_lif import TernaryLIF  # noqa: E402
from .atrlif import ATRLIF  # noqa: E402
from .sigma_delta import ActivationMode, SigmaDelta  # noqa: E402  (registers itself)
from .delta import Delta  # noqa: E402  (registers itself)
from .sigma import Sigma  # noqa: E402  (registers itself)
from .rf import RF  # noqa: E402  (registers itself)
from .rf_iz import RF_IZ  # noqa: E402  (registers itself)
from .rf_zero import RFZero  # noqa: E402  (registers itself)

__all__ = ["DRIVE_PARAMS", "NEURONS", "NeuronKind", "kind_of", "register", "table_params", "LoihiLIF", "LIFReset",
           "TernaryLIF", "ATRLIF", "SigmaDelta", "Delta", "Sigma", "RF", "RF_IZ", "RFZero", "ActivationMode"]
