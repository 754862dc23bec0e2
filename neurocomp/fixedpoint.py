"""Lava 0.10's fixed-point arithmetic helpers, shared by the tables, the reference and the backends.

Each function is the numpy transcription of the Lava function it names
(``lava/utils/weightutils.py``; ../shared/reference/lava.md §3-4). Weight arrays are int32 as in Lava.
"""
from __future__ import annotations

import numpy as np

from .ir.connectivity import SignMode, determine_sign_mode


def clip_weights(weights: np.ndarray, sign_mode: SignMode, num_bits: int = 8) -> np.ndarray:
    """MIXED -> [-2^nb, 2^nb-1], EXCITATORY/NULL -> [0, 2^nb-1], INHIBITORY -> [-(2^nb-1), 0]."""
    w = np.asarray(weights).astype(np.int32)
    mixed = int(sign_mode == SignMode.MIXED)
    inh = sign_mode == SignMode.INHIBITORY
    if inh:
        w = -w
    w = np.clip(w, (-2 ** num_bits) * mixed, 2 ** num_bits - 1)
    return -w if inh else w


def truncate_weights(weights: np.ndarray, sign_mode: SignMode, num_weight_bits: int) -> np.ndarray:
    """Drop the low ``8 - num_weight_bits + MIXED`` bits by flooring (of the magnitude for INHIBITORY)."""
    w = np.asarray(weights).astype(np.int32)
    inh = sign_mode == SignMode.INHIBITORY
    if inh:
        w = -w
    k = 8 - int(num_weight_bits) + int(sign_mode == SignMode.MIXED)
    w = (w >> k) << k
    return -w if inh else w


def effective_weights(weights: np.ndarray, sign_mode: SignMode | None, num_weight_bits: int,
                      learning: bool = False) -> np.ndarray:
    """The weights Lava's Dense/Sparse (or LearningDense) actually multiply with.

    Dense/Sparse: sign mode given or determined from the weights; clip to 8 bits, then truncate.
    LearningDense: sign mode given or MIXED (not auto-detected), truncate only, no clip.
    """
    if learning:
        mode = SignMode.MIXED if sign_mode is None else sign_mode
        return truncate_weights(weights, mode, num_weight_bits)
    mode = determine_sign_mode(weights) if sign_mode is None else sign_mode
    return truncate_weights(clip_weights(weights, mode, 8), mode, num_weight_bits)


def shift_floor(acc: np.ndarray, weight_exp: int) -> np.ndarray:
    """Lava's ``acc << e`` for e > 0 else ``acc >> -e`` (arithmetic: floors negative sums)."""
    return np.left_shift(acc, weight_exp) if weight_exp > 0 else np.right_shift(acc, -weight_exp)


def wrap24(x: np.ndarray) -> np.ndarray:
    """Lava Conv's ``signed_clamp``: wrap to 24-bit two's complement (it is a wrap, not a clamp)."""
    x = np.asarray(x).astype(np.int64)
    return (x + 2 ** 23) % 2 ** 24 - 2 ** 23
