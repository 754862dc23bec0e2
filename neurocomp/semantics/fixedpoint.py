"""Lava 0.10's fixed-point arithmetic, in one place: the reference, the tables, the quantizer and both
backends use these functions, so there is one transcription of each Lava rule to check.

Each function is the numpy transcription of the Lava code it names (``lava/utils/weightutils.py``,
``proc/lif/models.py``, ``proc/conv/utils.py``; ../shared/reference/lava.md §2-5). Integers are
carried as int64 and wrapped explicitly where Lava's int32 arrays would wrap.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..ir.connectivity import Conv2d, SignMode, determine_sign_mode

#: Lava's LIF state is "24 bit": u wraps into (-2^23, 2^23], v saturates to +-(2^23 - 1).
STATE_LIMIT = 2 ** 23


def wrap32(x) -> np.ndarray:
    """Two's-complement wrap to int32 (what Lava's int32 arrays and channel casts do), kept as int64."""
    x = np.asarray(x, dtype=np.int64)
    if x.ndim and x.size and x.min() >= -2 ** 31 and x.max() < 2 ** 31:
        return x.copy()             # already int32 values (weights, most sums): no 64-bit modulo per element
    return ((x + 2 ** 31) % 2 ** 32) - 2 ** 31


@njit(cache=True)
def wrap32_scalar(x):
    """:func:`wrap32` of one int64, for the numba kernels (the emulator's and the neuron models')."""
    return ((x + 2147483648) & 0xFFFFFFFF) - 2147483648


def trunc0(x: np.ndarray, k: int) -> np.ndarray:
    """``sign(x) * (|x| >> k)``: a right shift that rounds toward 0 (Lava's decay rounding)."""
    return np.sign(x) * (np.abs(x) >> k)


def wrap24_lava(x: np.ndarray) -> np.ndarray:
    """Lava's u wrap: subtract 2^24 once if x > 2^23, add 2^24 once if x <= -2^23 (range (-2^23, 2^23])."""
    y = np.where(x > STATE_LIMIT, x - 2 * STATE_LIMIT, x)
    return np.where(y <= -STATE_LIMIT, x + 2 * STATE_LIMIT, y)


def signed_clamp24(x: np.ndarray) -> np.ndarray:
    """Lava Conv's ``signed_clamp(x, 24)``: despite the name, a modular wrap into [-2^23, 2^23)."""
    return (np.asarray(x, dtype=np.int64) + STATE_LIMIT) % (2 * STATE_LIMIT) - STATE_LIMIT


def shift_floor(acc: np.ndarray, weight_exp: int) -> np.ndarray:
    """Lava's ``acc << e`` for e > 0 else ``acc >> -e`` (arithmetic: floors negative sums); applied to
    a projection's SUM, not to each weight."""
    return np.left_shift(acc, weight_exp) if weight_exp > 0 else np.right_shift(acc, -weight_exp)


def shift32(acc: np.ndarray, weight_exp: int) -> np.ndarray:
    """:func:`shift_floor` on int32 values, as numpy shifts an int32 array: a left shift wraps to int32."""
    return wrap32(shift_floor(np.asarray(acc, np.int64), weight_exp))


def conv_cast24(acc: np.ndarray) -> np.ndarray:
    """Lava Conv's output of an exact sum: ``signed_clamp(int32(float64 sum), 24)``. A sum outside int32 is
    cast by numpy to -2^31 (x86's 'integer indefinite'), whose 24-bit wrap is 0."""
    acc = np.asarray(acc, np.int64)
    return np.where((acc < -2 ** 31) | (acc >= 2 ** 31), 0, signed_clamp24(acc))


def effective_sign_mode(sign_mode: SignMode | None, weights: np.ndarray, learning: bool = False) -> SignMode:
    """The sign mode Lava uses: the given one; else Dense/Sparse determine it from the weights while
    LearningDense defaults to MIXED (lava.md §7)."""
    if sign_mode is not None:
        return SignMode(sign_mode)
    return SignMode.MIXED if learning else determine_sign_mode(weights)


def clip_weights(weights: np.ndarray, sign_mode: SignMode, num_bits: int = 8) -> np.ndarray:
    """int32 cast; MIXED -> [-2^nb, 2^nb-1], EXCITATORY -> [0, 2^nb-1], INHIBITORY -> [-(2^nb-1), 0]."""
    w = wrap32(weights)
    inh = sign_mode == SignMode.INHIBITORY
    if inh:
        w = -w
    w = np.clip(w, (-2 ** num_bits) * int(sign_mode == SignMode.MIXED), 2 ** num_bits - 1)
    return -w if inh else w


def truncate_weights(weights: np.ndarray, sign_mode: SignMode, num_weight_bits: int) -> np.ndarray:
    """Drop the low ``8 - num_weight_bits + isMixed`` bits by flooring (of |w| for INHIBITORY)."""
    w = wrap32(weights)
    inh = sign_mode == SignMode.INHIBITORY
    if inh:
        w = -w
    k = 8 - int(num_weight_bits) + int(sign_mode == SignMode.MIXED)
    w = (w >> k) << k
    return -w if inh else w


def effective_weights(weights: np.ndarray, sign_mode: SignMode | None, num_weight_bits: int,
                      learning: bool = False) -> np.ndarray:
    """The weights Lava's Dense/Sparse (or LearningDense) actually multiply with (int64 values).

    Dense/Sparse: clip to 8 bits for the sign mode, then truncate. LearningDense: truncate only.
    """
    mode = effective_sign_mode(sign_mode, weights, learning)
    if learning:
        return truncate_weights(weights, mode, num_weight_bits)
    return truncate_weights(clip_weights(weights, mode, 8), mode, num_weight_bits)


def conv_uses_lava_conv(conn: Conv2d, delay) -> bool:
    """The lowering rule for Conv2d, shared by the Lava backend, the reference and the tables.

    Lava's Conv is used only when it means the same as the IR (up to its 24-bit output wrap): no
    delay, ``weight_exp == 0``, and weights unchanged by Lava's clip + truncation for the sign mode.
    Anything else is lowered as the equivalent Sparse projection (``Conv2d.to_sparse()``).
    """
    if np.any(np.asarray(delay) != 0) or conn.weight_exp != 0:
        return False
    w = conn.weights.astype(np.int64)
    return bool(np.array_equal(effective_weights(w, conn.sign_mode, conn.num_weight_bits), w))
