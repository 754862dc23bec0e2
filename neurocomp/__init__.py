"""neurocomp: compile spiking networks (NIR, native) to neuromorphic cores; emulate or deploy to Lava.

The IR classes are imported eagerly; the heavier entry points (file formats, compiler, backends)
are imported on first use so that ``import neurocomp`` stays fast and does not pull in Lava.
"""
from importlib import import_module

from . import kernel_cache  # noqa: F401  (first: numba picks a cached function's stamp when it is defined)
from .errors import (NeurocompWarning, ArtifactError, BackendError, CapacityError, NetworkFileError, NeurocompError, TargetError,
                     UnsupportedError, ValidationError)
from .ir import (IF, LI, LIF, Conv2d, CubaLIF, Dense, Integrator, LearningRule, LoihiLIF, Network, OneToOne,
                 Population, Projection, SignMode, Sparse, SpikeInput, Threshold)
from .ir import ActivationMode, Delta, Sigma, SigmaDelta  # graded (sigma-delta) chip models
from .result import Result

__version__ = "0.1.0"

#: name -> module that defines it (loaded lazily by __getattr__).
_LAZY = {
    "load": "neurocomp.io",
    "save": "neurocomp.io",
    "load_target": "neurocomp.target",
    "list_targets": "neurocomp.target",
    "compile": "neurocomp.compiler",
    "load_compiled": "neurocomp.mapping.artifact",
    "CompiledNetwork": "neurocomp.mapping.artifact",
    "emulate": "neurocomp.backends.emulator",
    "emulate_batch": "neurocomp.backends.emulator",
    "deploy": "neurocomp.deployment",
    "Simulator": "neurocomp.simulator",
    "Backend": "neurocomp.backend",
    "get_backend": "neurocomp.backend",
    "register_backend": "neurocomp.backend",
    "rules": "neurocomp.rules",
}


def __getattr__(name):
    if name in _LAZY:
        module = import_module(_LAZY[name])
        return getattr(module, name, module)
    raise AttributeError(f"module 'neurocomp' has no attribute '{name}'")
