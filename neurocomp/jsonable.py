"""One converter from numpy-laden Python values to what ``json.dumps`` accepts (reports, artifacts, metadata)."""
from __future__ import annotations

import numpy as np


def to_jsonable(value, strict: bool = False):
    """Plain-Python copy of ``value``: numpy scalars/arrays, tuples and enums become JSON types.

    Non-finite floats become strings ("inf", "nan"): JSON has no such numbers. Any other object
    becomes its ``str`` unless ``strict``, where it raises TypeError (for data that must round-trip).
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, strict) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, strict) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist(), strict)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if np.isfinite(v) else str(v)
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "name") and hasattr(value, "value"):  # enums (SignMode)
        return value.name
    if strict:
        raise TypeError(f"{type(value).__name__} is not JSON-serialisable")
    return str(value)
