"""Lava as a registered backend (``get_backend("lava")``; see :mod:`neurocomp.backend`).

Importing this module does not import Lava: the lowering imports it when a network is run.
"""
from __future__ import annotations

from ...backend import Backend, load_artifact, network_of, register_backend
from ...result import Result
from .run import DEFAULT_TIMEOUT_S


@register_backend("lava")
class LavaBackend(Backend):
    """Lava 0.10's fixed-point CPU simulation (``Loihi2SimCfg(select_tag="fixed_pt")``) of the
    artifact's integer network: the independent check of the emulator. No energy or latency.

    Options: ``timeout_s`` (wall-clock limit of the Lava run; its workers are killed past it).
    Takes an integer Network as well as an artifact.
    """
    options = {"timeout_s": DEFAULT_TIMEOUT_S}

    def run(self, compiled, steps: int, inputs: dict | None = None, record=("spikes", "v"), **options) -> Result:
        from ...mapping.split import projection_synapse_cores
        from .run import run_lava
        o = self.resolve_options(options)
        net = network_of(compiled, "lava")
        # a split mapping: each segment core's synapses become their own process into the soma's a_in
        art = compiled if compiled is net else load_artifact(compiled)
        segments = projection_synapse_cores(net, getattr(art, "tables", None))
        return run_lava(net, steps, inputs, record, timeout_s=o["timeout_s"], segments=segments)
