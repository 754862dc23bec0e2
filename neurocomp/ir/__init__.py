"""The graph IR (DESIGN.md §3): Network, Population, Projection, neuron models, connectivity, learning."""
from .connectivity import CONNECTIVITY, Connectivity, Conv2d, Dense, OneToOne, SignMode, Sparse, determine_sign_mode
from .learning import LearningRule
from .models import IF, LI, LIF, PHYSICAL_MODELS, CubaLIF, Integrator, NeuronModel, SpikeInput, Threshold
from .network import Network, Population, Projection
from ..neurons import NEURONS as _CHIP_MODELS, LoihiLIF  # integer chip models, each defined in neurocomp/neurons/
from ..neurons import ActivationMode, Delta, Sigma, SigmaDelta  # graded (sigma-delta) chip models

#: Every neuron model by name (the file formats' registry): physical-unit models and chip models.
MODELS = {**PHYSICAL_MODELS, **{cls.__name__: cls for cls in _CHIP_MODELS}}

__all__ = ["Network", "Population", "Projection", "LearningRule", "Connectivity", "Dense", "Sparse", "Conv2d",
           "OneToOne", "SignMode", "determine_sign_mode", "NeuronModel", "SpikeInput", "LIF", "CubaLIF", "IF",
           "LI", "Integrator", "Threshold", "LoihiLIF", "MODELS", "CONNECTIVITY",
           "SigmaDelta", "Delta", "Sigma", "ActivationMode"]
