"""``deploy``: run a compiled artifact on a registered backend (default: Lava's fixed-point CPU simulation).

A thin wrapper over the backend registry (:mod:`neurocomp.backend`): ``deploy(art, backend, ...)`` is
``get_backend(backend).run(art, ...)``. The Lava backend lowers the artifact's quantized integer
network as a whole (Lava maps processes itself); the per-core tables are the emulator's business.
The same process graph is what Lava's own extensions would place on Loihi.
"""
from __future__ import annotations

from .backend import BACKENDS, get_backend  # noqa: F401  (BACKENDS: the registry, for callers of old)
from .result import Result


def deploy(art, backend: str = "lava", steps: int = 100, inputs: dict | None = None,
           record=("spikes", "v"), **options) -> Result:
    """Run ``art`` (an artifact directory, a CompiledNetwork, or for Lava an integer Network) for ``steps`` steps.

    ``inputs``: ``{graph input: 0/1 array [T, *shape]}`` with ``T >= steps`` (row t-1 drives step t);
    a learning rule's third-factor (reward) input takes ints 0..127 as ``[T]``, ``[T, 1]`` or
    ``[T, n_post]``. None leaves every input silent. ``record``: any of "spikes", "v", "u", "weights".
    Learning projections return their final weights in ``Result.weights[proj]`` (with "weights"
    recorded also ``weights[proj + ".per_step"]`` [T, n_post, n_pre]) and their final tags/traces in
    ``report["learning"][proj]``, as ``neurocomp.emulate`` does. ``options``: the backend's own
    (``Backend.options``, e.g. Lava's ``timeout_s``). Returns the backend's Result; an unknown
    ``backend`` is a BackendError listing the registered ones.
    """
    return get_backend(backend, who="deploy").run(art, steps, inputs, record, **options)
