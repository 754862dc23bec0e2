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

    def run(self, compiled, steps: int, inputs: dict | None = None, record=("spikes", "v"), **options) -> Result:
        from ...backend import load_artifact
        from .engine import _resolve, attach_cost, emulate_tables
        o = self.resolve_options(options)
        compiled = load_artifact(compiled)
        tables, spec, target, physical_core, learning = _resolve(compiled, "emulate")
        mode = timing_mode(o["timing"])
        timing = mode is not None and o["counters"] and target is not None and physical_core is not None
        res = emulate_tables(tables, steps, inputs, record, o["progress"], populations=o["populations"],
                             counters=o["counters"], input_spec=spec, memory_budget=o["memory_budget"],
                             events=timing, learning=learning)
        if o["counters"]:
            from .workload import workload_metrics
            res.report["workload"] = workload_metrics(tables, res.report["counters"], res.steps,
                                                      getattr(compiled, "network", None))
        if timing:
            attach_cost(res, target, tables, physical_core, steps, mode)
        return res


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
