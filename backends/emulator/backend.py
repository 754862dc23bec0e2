"""The emulator as a registered backend (``get_backend("emulator")``; see :mod:`neurocomp.backend`)."""
from __future__ import annotations

from ...backend import Backend, register_backend
from ...errors import ValidationError
from ...result import Result


@register_backend("emulator")
class EmulatorBackend(Backend):
    """The multicore functional emulator: runs the artifact's per-core tables (numba), bit-exact with
    Lava 0.10's fixed-point models, with per-core counters and the target's timing/energy model.

    Options: ``progress`` (a progress bar), ``populations`` (record only these), ``counters``
    (per-core operation counts), ``memory_budget`` (bytes recording may use; default half the free
    RAM), ``timing`` (apply the target's cost model: ``report["energy_j"]``, ``["latency_s"]``,
    ``["cost"]``; ``"cycle"`` also runs the message-level model, ``["cost"]["cycle"]``); with counters also
    NeuroBench-style ``report["workload"]`` (``workload.py``). See :func:`neurocomp.backends.emulator.engine.emulate_tables` for the rest.
    """
    options = {"progress": False, "populations": None, "counters": True, "memory_budget": None, "timing": True}

    def open(self, compiled, who: str = "Simulator", **options):
        """A live emulation (:class:`~neurocomp.backends.emulator.session.EmulatorSession`); ``populations``
        is chosen per run."""
        from .session import EmulatorSession
        o = self.resolve_options(options)
        o.pop("populations")
        return EmulatorSession(compiled, who=who, **o)

    def run(self, compiled, steps: int, inputs: dict | None = None, record=("spikes", "v"), **options) -> Result:
        """One run of a fresh session; under ``mpiexec -n N`` (N > 1) a distributed run over the N ranks
        (``distributed/``, docs/mpi.md), whose Result rank 0 gets (the other ranks: None)."""
        from .distributed import launched_size
        if launched_size() > 1:
            from .distributed import run_backend
            return run_backend(compiled, steps, inputs, record, self.resolve_options(options))
        populations = self.resolve_options(options)["populations"]
        session = self.open(compiled, "emulate", **{k: v for k, v in options.items() if k != "populations"})
        session.keep_no_cost_totals()
        try:
            return session.run(steps, inputs, record, populations=populations)
        finally:
            session.close()


#: Accepted values of the ``timing`` option: True / "analytic" (the cost model's estimate), "cycle" (also
#: the message-level model, backends/emulator/timing), False / None (no timing).
TIMING_MODES = ("analytic", "cycle")


def timing_mode(value) -> str | None:
    """``"analytic"``, ``"cycle"`` or None (no timing) from the ``timing`` option."""
    if value is True:
        return "analytic"
    if value is False or value is None:
        return None
    if isinstance(value, str) and value in TIMING_MODES:
        return value
    raise ValidationError(f"emulate: timing={value!r}; use 'analytic' (default, the cost model's estimate), "
                          "'cycle' (message-level simulation of the NoC and core pipelines) or False (none)")
