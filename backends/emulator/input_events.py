"""A spike input's rows as the kernel's per-step event lists, checked for 0/1 in the same pass.

The kernel reads step t's input spikes as ``src[in_ptr[t - 1]:in_ptr[t]]`` (``kernels.InputEvents``). Its numpy
spec is ``engine.encode_inputs``' general branch::

    rows, channels = np.nonzero(x)               # x: uint8 [T, n] of 0/1
    src = base + channels                        # base: the input's first source id
    in_ptr = [0] + cumsum(bincount(rows, minlength=T))
    val = ones                                   # what a spike sends

:func:`spike_events` computes the same in one pass over the bytes, a word (or 64 bytes) at a time, at a cost that
follows the spikes: ~0.15 ms per 2 MB of silent rows where ``np.nonzero`` takes ~4, no division, fancy index or
byte test per event. It also finds a byte that is neither 0 nor 1 (``bad``), so that a run given uint8 or bool
spikes needs no separate check and no copy (``quickrun.QuickInputs``). Large inputs are read in parts on numba's
threads (as many as the run's: the engine encodes inside ``kernel_threads``).
"""
from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange
from numba.cpython.unsafe.numbers import trailing_zeros

#: A spike input of this many bytes or more is read on numba's threads, a part each.
PAR_INPUT_BYTES = 1 << 16
#: An input with at least this fraction of its bytes nonzero is read 64 bytes a mask (``_scan``'s ``by_64``).
MASK_INPUT_DENSITY = 1 / 40


def spike_events(rows: np.ndarray, base: int) -> tuple:
    """``(in_ptr [T + 1], src [k], val [k] (ones), bad)`` of a uint8 spike matrix ``rows`` ``[T, n]``: row t's
    nonzero bytes as sources ``base + channel`` in channel order, ``in_ptr[t]..in_ptr[t + 1]`` (all int64);
    ``bad``: the flat index of the first byte that is neither 0 nor 1 (the events are then not to be used), or -1.
    From ``PAR_INPUT_BYTES`` on, in parts on numba's threads, each part's events counted first so that each knows
    where its own go; below, in one numba call (a Simulator's one-step runs: a few us)."""
    steps, n_ch = rows.shape
    flat = np.ascontiguousarray(rows).reshape(-1)
    if flat.size == 0:                           # (no steps or no channels)
        return np.zeros(steps + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), -1
    if flat.size < PAR_INPUT_BYTES or get_num_threads() == 1:
        return _one_part(flat, n_ch, base, steps, MASK_INPUT_DENSITY)
    words = flat[:flat.size // 8 * 8].view(np.uint64)
    n_parts = get_num_threads()
    bounds = np.linspace(0, words.size, n_parts + 1).astype(np.int64)
    ends = 8 * bounds
    ends[-1] = flat.size
    starts = np.zeros(n_parts + 1, np.int64)
    np.cumsum([np.count_nonzero(flat[ends[c]:ends[c + 1]]) for c in range(n_parts)], out=starts[1:])
    k = int(starts[-1])
    in_ptr = np.zeros(steps + 1, np.int64)
    src = np.empty(k, np.int64)
    high = np.zeros(n_parts, np.uint64)
    _scan_parts(flat, words, bounds, starts, n_ch, base, in_ptr, src, k >= MASK_INPUT_DENSITY * flat.size, high)
    in_ptr[steps] = k
    return in_ptr, src, np.ones(k, np.int64), int(np.flatnonzero(flat > 1)[0]) if high.any() else -1


@njit(cache=True)
def _one_part(flat, n_ch, base, steps, density):
    """``spike_events`` of a non-empty ``flat`` on the calling thread (``density``: ``MASK_INPUT_DENSITY``, read in
    Python: a global read here would be frozen into the compiled code)."""
    in_ptr = np.zeros(steps + 1, np.int64)
    k = 0
    for i in range(flat.shape[0]):
        k += flat[i] != 0
    src = np.empty(k, np.int64)
    bad = -1
    words = flat[:flat.shape[0] // 8 * 8].view(np.uint64)
    if _scan(flat, words, 0, words.shape[0], True, n_ch, base, 0, in_ptr, src, k >= density * flat.shape[0]):
        for i in range(flat.shape[0]):
            if flat[i] > 1:
                bad = i
                break
    in_ptr[steps] = k
    return in_ptr, src, np.ones(k, np.int64), bad


@njit(cache=True)
def _scan(flat, words, w0, w1, tail, n_ch, base, n, in_ptr, src, by_64):
    """The nonzero bytes of words ``w0..w1`` of ``flat`` (uint8, rows of ``n_ch``; ``tail``: and the bytes past its
    last whole word) in ascending order, from entry ``n`` of ``src`` (``base`` + channel); ``in_ptr[r]`` for each
    row r that starts in these bytes (the first event at or after the row's start); ``words``: the same bytes as
    uint64 (``flat.size // 8`` of them). Returns the OR of every word's bits above each byte's lowest (nonzero:
    a byte here is neither 0 nor 1).

    A word's nonzero bytes are found by their high bits (one per nonzero byte: the low 7 bits plus 0x7F carry
    into it, or it was set), lowest first, with no test per byte. Sparse input: a word at a time, so a silent
    stretch costs one compare per 8 bytes. ``by_64`` (denser input, ``MASK_INPUT_DENSITY``): eight words' high
    bits gathered into one 64-bit mask (a multiply moves a word's 8 bits into its top byte) and walked by its
    lowest bit, so the loop that finds the events ends once per 64 bytes, not once per word, the branch
    mispredicted at ~10 % input either way (a 1000 x 1000 input at 10 %: 0.84 -> 0.44 ms; at 1 % the word loop
    stays faster, 0.09 against 0.17 ms; unscripted)."""
    hi = np.uint64(0x8080808080808080)
    above = np.uint64(0xFEFEFEFEFEFEFEFE)        # a byte's bits but its lowest
    gather = np.uint64(0x0102040810204080)       # bits 8k (k < 8) times this: bit k of the top byte
    high = np.uint64(0)
    b0 = 8 * w0
    r = b0 // n_ch                               # the row of the first byte (one division)
    row0 = r * n_ch                              # first position of row r
    if row0 == b0:                               # a row starting here: its first event is this part's first
        in_ptr[r] = n
    step = 8 if by_64 else 1
    for c in range(w0, w1, step):
        if by_64:
            m = np.uint64(0)
            for w in range(c, min(c + 8, w1)):
                x = words[w]
                high |= x & above
                b8 = ((((x & ~hi) + ~hi) | x) & hi) >> np.uint64(7)
                m |= ((b8 * gather) >> np.uint64(56)) << np.uint64(8 * (w - c))
            shift = 0
        else:
            x = words[c]
            if x == 0:
                continue
            high |= x & above
            m = (((x & ~hi) + ~hi) | x) & hi
            shift = 3
        while m != 0:
            b = 8 * c + (trailing_zeros(m) >> shift)
            m &= m - np.uint64(1)
            r, row0 = _rows_to(b, r, row0, n_ch, n, in_ptr)
            src[n] = base + b - row0
            n += 1
    end = 8 * w1
    if tail:
        end = flat.shape[0]
        for b in range(8 * words.shape[0], end):     # the bytes past the last whole word
            x = flat[b]
            if x != 0:
                high |= np.uint64(x & 0xFE)
                r, row0 = _rows_to(b, r, row0, n_ch, n, in_ptr)
                src[n] = base + b - row0
                n += 1
    _rows_to(end - 1, r, row0, n_ch, n, in_ptr)      # rows starting after the last event, before the next part
    return high


@njit(cache=True, inline="always")
def _rows_to(b, r, row0, n_ch, n, in_ptr):
    """Row r (first position ``row0``) followed up to the row of position ``b``, as the positions ascend (no
    division per event): ``in_ptr[r'] = n`` for each row r' passed into. Returns the new (r, row0)."""
    while b >= row0 + n_ch:
        r += 1
        row0 += n_ch
        in_ptr[r] = n
    return r, row0


@njit(cache=True, parallel=True)
def _scan_parts(flat, words, bounds, starts, n_ch, base, in_ptr, src, by_64, high):
    """``_scan`` of the words ``bounds[c]..bounds[c+1]`` on thread c (the last with the tail bytes), each from its
    entry ``starts[c]``: the events of the parts follow on, in one ascending order; ``high[c]``: its result."""
    n_parts = bounds.shape[0] - 1
    for c in prange(n_parts):
        high[c] = _scan(flat, words, bounds[c], bounds[c + 1], c == n_parts - 1, n_ch, base, starts[c], in_ptr,
                        src, by_64)
