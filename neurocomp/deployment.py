"""``deploy``: run a compiled artifact on a deployment backend (today: Lava's fixed-point CPU simulation).

The artifact's quantized integer network is lowered as a whole (Lava maps processes itself); the
per-core tables are the emulator's business. The same process graph is what Lava's own extensions
would place on Loihi.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import BackendError
from .ir import Network
from .semantics.reference import check_inputs, check_record
from .result import Result


def _run_lava(net: Network, steps: int, inputs, record) -> Result:
    from .backends.lava import run_lava
    return run_lava(net, steps, inputs, record)


#: backend name -> runner(network, steps, inputs, record) -> Result
BACKENDS = {"lava": _run_lava}


def _network_of(art) -> Network:
    if isinstance(art, Network):
        return art
    if isinstance(art, (str, os.PathLike, Path)):
        from .mapping.artifact import load_compiled
        art = load_compiled(art)
    net = getattr(art, "network", None)
    if not isinstance(net, Network):
        raise BackendError(f"deploy: expected a compiled artifact directory or CompiledNetwork, got "
                           f"{type(art).__name__}; compile the network first (neurocomp compile)")
    return net


def deploy(art, backend: str = "lava", steps: int = 100, inputs: dict | None = None,
           record=("spikes", "v")) -> Result:
    """Run ``art`` (an artifact directory, a CompiledNetwork, or an integer Network) for ``steps`` steps.

    ``inputs``: ``{graph input: 0/1 array [T, *shape]}`` with ``T >= steps`` (row t-1 drives step t);
    a learning rule's third-factor (reward) input takes ints 0..127 as ``[T]``, ``[T, 1]`` or
    ``[T, n_post]``. None leaves every input silent. ``record``: any of "spikes", "v", "u", "weights".
    Learning projections return their final weights in ``Result.weights[proj]`` (with "weights"
    recorded also ``weights[proj + ".per_step"]`` [T, n_post, n_pre]) and their final tags/traces in
    ``report["learning"][proj]``, as ``neurocomp.emulate`` does. Returns the backend's Result.
    """
    if backend not in BACKENDS:
        raise BackendError(f"deploy: unknown backend {backend!r}; choose one of {sorted(BACKENDS)} "
                           "(use `neurocomp emulate` for the cycle-level emulator)")
    net = _network_of(art)
    record = check_record(record)
    check_inputs(net, steps, inputs)          # clear errors before any backend starts
    return BACKENDS[backend](net, steps, inputs, record)
