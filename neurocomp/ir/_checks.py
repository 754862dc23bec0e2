"""Validation helpers shared by the IR dataclasses: finite numbers, integer ranges, sizes."""
from __future__ import annotations

import numpy as np

from ..errors import ValidationError

#: Refuse shapes with more neurons than this before allocating anything (1e9: a whole Hala Point).
MAX_NEURONS = 1_000_000_000
INT32_MIN, INT32_MAX = -2 ** 31, 2 ** 31 - 1


def as_float_array(value, where: str, name: str) -> np.ndarray:
    """A float64 array (scalars stay 0-d) with every entry finite, or a ValidationError."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{where}: parameter '{name}' is not numeric ({exc}); give numbers") from None
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValidationError(
            f"{where}: parameter '{name}' has {bad} NaN/inf value(s); every parameter must be finite")
    arr = arr.copy()
    arr.setflags(write=False)
    return arr


def as_int_array(value, where: str, name: str, lo: int | None = None, hi: int | None = None,
                 narrow: bool = False) -> np.ndarray:
    """An int64 array (scalars stay 0-d) of integral values within [lo, hi], or a ValidationError.

    ``narrow``: int32 where every value fits (a 100M-synapse Sparse projection's indices and weights: 8
    bytes per synapse less, held through the whole compile). The array is read-only; one that already
    is, with the right dtype, and views nothing writeable (``_frozen``) is kept, not copied: ``with_weights``
    then shares the indices of the projection it came from."""
    raw = np.asarray(value)
    if raw.dtype.kind == "f":
        if not np.all(np.isfinite(raw)):
            raise ValidationError(f"{where}: parameter '{name}' has NaN/inf values; integers expected")
        if not np.all(raw == np.round(raw)):
            raise ValidationError(
                f"{where}: parameter '{name}' must be integers (got fractional values); "
                "use the physical-unit model (LIF/CubaLIF) or round explicitly")
    elif raw.dtype.kind not in "iub":
        raise ValidationError(f"{where}: parameter '{name}' must be integers, got dtype {raw.dtype}")
    dtype = np.dtype(np.int64)
    if raw.size:
        low, high = int(raw.min()), int(raw.max())
        if lo is not None and low < lo:
            raise ValidationError(f"{where}: parameter '{name}' = {low} is below its minimum {lo}")
        if hi is not None and high > hi:
            raise ValidationError(f"{where}: parameter '{name}' = {high} is above its maximum {hi}")
        if narrow and INT32_MIN <= low and high <= INT32_MAX:
            dtype = np.dtype(np.int32)
    elif narrow:
        dtype = np.dtype(np.int32)
    if raw.dtype == dtype and _frozen(raw):
        return raw
    arr = raw.astype(dtype)
    arr.setflags(write=False)
    return arr


def _frozen(arr: np.ndarray) -> bool:
    """True when neither ``arr`` nor any array it is a view of can be written (the chain of bases ends in
    an array that owns its data): keeping it, nobody can change the IR's values behind its back."""
    while True:
        if arr.flags.writeable:
            return False
        if arr.base is None:
            return True
        if not isinstance(arr.base, np.ndarray):
            return False
        arr = arr.base


def check_shape(shape, where: str) -> tuple[int, ...]:
    """A tuple of positive ints whose product is at most MAX_NEURONS."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValidationError(f"{where}: shape {shape!r} is not a tuple of integers") from None
    if len(shape) == 0:
        raise ValidationError(f"{where}: shape is empty; give at least one dimension, e.g. (10,)")
    if any(s <= 0 for s in shape):
        raise ValidationError(f"{where}: shape {shape} has a zero or negative size; sizes must be >= 1")
    n = 1
    for s in shape:
        n *= s
        if n > MAX_NEURONS:
            raise ValidationError(
                f"{where}: shape {shape} asks for more than {MAX_NEURONS:,} neurons; refusing before "
                "allocating. Check the shape for a typo")
    return shape


def check_broadcast(arr: np.ndarray, size: int, where: str, name: str) -> None:
    """A per-neuron parameter is a scalar or has exactly one entry per neuron."""
    if arr.size not in (1, size):
        raise ValidationError(
            f"{where}: parameter '{name}' has {arr.size} entries but the population has {size} "
            "neurons; give a scalar or one value per neuron")
