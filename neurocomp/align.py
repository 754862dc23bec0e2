"""Align a run with a framework's time axis (NIR: instantaneous feed-forward edges).

The IR gives every projection one step of latency, so population ``p`` at depth ``d`` (the
importer's ``metadata["latency_offset"]``) shows at row ``t + d`` what the framework shows at row
``t``; its onset (``Network.onsets``) holds it at rest until then, so the shift is exact in float for
feed-forward graphs with biases (docs/frameworks.md). To compare ``T`` framework steps:

1. run ``T + D`` steps, ``D`` the deepest offset, with the inputs padded by ``D`` zero rows
   (:func:`pad_inputs`);
2. cut each population's rows ``d .. d + T`` (:func:`align_result`).

:func:`run_aligned` does both around any backend call (``neurocomp emulate --align-input``).
"""
from __future__ import annotations

import numpy as np

from .errors import ValidationError
from .result import Result

#: Result fields with one row per step.
_PER_STEP = ("spikes", "v", "u", "payloads")


def latency_offsets(net) -> dict[str, int]:
    """Each population's latency offset: the NIR importer's ``metadata["latency_offset"]``, else its
    depth computed now (``neurocomp.io.nir_import.latency_offsets``)."""
    offsets = net.metadata.get("latency_offset")
    if isinstance(offsets, dict) and offsets:
        return {k: int(v) for k, v in offsets.items()}
    from .io.nir_import import latency_offsets as depth_of
    return depth_of(net)


def pad_inputs(inputs: dict | None, pad: int) -> dict:
    """``inputs`` with ``pad`` zero rows appended to each ``[T, ...]`` array."""
    if pad < 0:
        raise ValidationError(f"pad_inputs: pad = {pad} must be >= 0")
    out = {}
    for name, arr in (inputs or {}).items():
        arr = np.asarray(arr)
        if arr.ndim < 1:
            raise ValidationError(f"input '{name}': shape {arr.shape} must be [T, ...] (time steps first)")
        out[name] = np.concatenate([arr, np.zeros((pad, *arr.shape[1:]), arr.dtype)]) if pad else arr
    return out


def align_result(result: Result, offsets: dict[str, int], steps: int) -> Result:
    """A copy of ``result`` (run for at least ``steps + max offset`` steps) with each population's rows
    ``offset .. offset + steps``: row ``t`` is then the framework's row ``t``."""
    out = Result(weights=dict(result.weights), report=dict(result.report), steps=steps,
                 state={k: dict(v) for k, v in result.state.items()})
    for field in _PER_STEP:
        for pop, arr in getattr(result, field).items():
            d = int(offsets.get(pop, 0))
            if arr.shape[0] < d + steps:
                raise ValidationError(f"align_result: population '{pop}' has {arr.shape[0]} rows, needs {d + steps} "
                                      f"(offset {d} + {steps} steps); run {d} more steps with padded inputs")
            getattr(out, field)[pop] = arr[d:d + steps]
    out.report["aligned"] = {"steps": steps, "offsets": {k: int(v) for k, v in offsets.items()},
                             "note": "rows shifted by each population's latency offset onto the framework's axis; "
                                     "counters, energy and latency are those of the whole padded run"}
    return out


def run_aligned(run, net, steps: int, inputs: dict | None = None, **kwargs) -> Result:
    """``run(steps + D, padded inputs, **kwargs)`` then :func:`align_result` (``run`` is any backend call
    taking ``(steps, inputs, **kwargs)``, e.g. ``lambda s, x, **k: nc.emulate(art, s, x, **k)``)."""
    offsets = latency_offsets(net)
    pad = max(offsets.values(), default=0)
    res = run(int(steps) + pad, pad_inputs(inputs, pad), **kwargs)
    return align_result(res, offsets, int(steps))
