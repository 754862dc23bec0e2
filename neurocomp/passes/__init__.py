"""Compiler passes (DESIGN.md §4): frozen dataclasses of options, ``run(obj, target) -> (new, PassReport)``.

``run_pipeline`` runs them in order and times each. Passes never mutate their input.
"""
from .base import PASSES, Pass, PassReport, format_pipeline, register_pass, run_pipeline
from .discretize import DISCRETIZERS, DiscreteModel, Discretize, DiscretizedNetwork, euler_decay_error
from .partition import Partition
from .place import Place
from .quantize import Quantize
from .route import Route
from .tables import BuildTables

__all__ = ["PASSES", "Pass", "PassReport", "format_pipeline", "register_pass", "run_pipeline", "Discretize",
           "DiscretizedNetwork", "DiscreteModel", "DISCRETIZERS", "euler_decay_error", "Quantize", "Partition",
           "Place", "Route", "BuildTables"]
