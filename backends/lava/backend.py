"""Lava as a registered backend (``get_backend("lava")``; see :mod:`neurocomp.backend`).

Importing this module does not import Lava: the lowering imports it when a network is run.
"""
from __future__ import annotations

from ...backend import Backend, register_backend
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
    #: options of a live session (``open``): the run timeout, what its graph probes, its ring-buffer length
    session_options = {"timeout_s": DEFAULT_TIMEOUT_S, "probes": ("spikes", "v"), "length": 256}

    def open(self, compiled, who: str = "Simulator", **options):
        """A live Lava process graph (:class:`~neurocomp.backends.lava.session.LavaSession`)."""
        from ...errors import BackendError
        from .session import LavaSession
        unknown = sorted(set(options) - set(self.session_options))
        if unknown:
            raise BackendError(f"Simulator on 'lava': unknown option(s) {unknown}; it takes "
                               f"{sorted(self.session_options)}")
        return LavaSession(compiled, who, **{**self.session_options, **options})

    def run(self, compiled, steps: int, inputs: dict | None = None, record=("spikes", "v"), **options) -> Result:
        """One run of a fresh session whose ring buffers hold the whole run (one Lava run), then stopped."""
        from ...semantics.inputs import check_record, check_steps
        o = self.resolve_options(options)
        session = self.open(compiled, "lava", timeout_s=o["timeout_s"], probes=check_record(record),
                            length=check_steps(steps))
        try:
            return session.run(steps, inputs, record)
        finally:
            session.close()
