"""The graph IR (DESIGN.md §3): Network, Population, Projection, neuron models, connectivity, learning."""
from .connectivity import CONNECTIVITY, Connectivity, Conv2d, Dense, OneToOne, SignMode, Sparse, determine_sign_mode
from .learning import LearningRule
from .models import (IF, LI, LIF, MODELS, CubaLIF, Integrator, LoihiLIF, NeuronModel, SpikeInput, Threshold)
from .network import Network, Population, Projection

__all__ = ["Network", "Population", "Projection", "LearningRule", "Connectivity", "Dense", "Sparse", "Conv2d",
           "OneToOne", "SignMode", "determine_sign_mode", "NeuronModel", "SpikeInput", "LIF", "CubaLIF", "IF",
           "LI", "Integrator", "Threshold", "LoihiLIF", "MODELS", "CONNECTIVITY"]
