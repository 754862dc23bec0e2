"""Zero-filled output arrays for the kernel (recordings, counters, rings), made on the run's threads and
starting on a cache line.

A fresh block of memory is paid for twice before the kernel writes it: the OS zeroes each page at its first
touch (a page fault), then ``fill(0)`` writes it again. Brunel's 1000 steps of spikes, v and counters are
~50 MB, ~10-20 us of each ~100 us step, and on one thread that cost does not shrink as the kernel's threads are
added. A large array is therefore zeroed in parts on numba's threads (as many as the run's: the engine calls
``zeroed`` inside ``kernel_threads``), each part whole huge pages, so that no two threads fault on one page.
"""
from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads, njit, prange

#: An array of this many bytes or more is zeroed on numba's threads (below: one ``fill``, the threads' start
#: would cost more than they save).
PAR_FILL_BYTES = 1 << 22
#: The huge page the parts are aligned to (x86-64's 2 MiB; numpy advises huge pages for blocks of 4 MiB on).
HUGE_PAGE = 1 << 21
#: Where the arrays made here start: a cache line. The kernel walks rings and state rows with 32-byte vectors;
#: numpy's (malloc's) 16-byte alignment put a ring at 16 or 48 bytes past a line in some processes, and dense
#: 1k x 1k's one-thread step then took ~15 % longer (9.4-10.0 against 8.3-8.9 us: every other vector crossed a
#: line; benchmarks/RESULTS.md "quiet16").
ALIGN = 64


def aligned_empty(shape, dtype) -> np.ndarray:
    """``np.empty(shape, dtype)`` starting on an ``ALIGN``-byte boundary (a view into a slightly larger block).
    ~3 us (``math.prod`` and the array interface; ``np.prod`` and ``.ctypes`` took ~7.5: a batch sample of the
    digits net makes 15 of these)."""
    dtype = np.dtype(dtype)
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(map(int, shape))
    nbytes = math.prod(shape) * dtype.itemsize
    block = np.empty(nbytes + ALIGN, np.uint8)
    start = -block.__array_interface__["data"][0] % ALIGN
    return block[start:start + nbytes].view(dtype).reshape(shape)


def aligned_copy(a: np.ndarray) -> np.ndarray:
    """A C-ordered copy of ``a`` starting on an ``ALIGN``-byte boundary."""
    out = aligned_empty(a.shape, a.dtype)
    out[...] = a
    return out


def zeroed(shape, dtype) -> np.ndarray:
    """A zero-filled array: ``np.empty`` then filled, not ``np.zeros``. numpy's allocator advises huge pages for
    large blocks (``MADV_HUGEPAGE``), which calloc's fresh 4 KiB zero pages do not get: the kernel then took one
    page fault per 4 KiB it first wrote (Brunel's 1000 x 487 counters: 31 MB, ~7-26 ms against ~2-3 ms filled;
    benchmarks/RESULTS.md "Accounting: count rows read after the steps"). From ``PAR_FILL_BYTES`` on, filled in
    parts on numba's threads (``fill_parts``). Starts on a cache line (``aligned_empty``)."""
    out = aligned_empty(shape, dtype)
    n_parts = get_num_threads() if out.nbytes >= PAR_FILL_BYTES else 1
    if n_parts == 1:
        out.fill(0)
    else:
        flat = out.reshape(-1).view(np.uint8)
        _zero_parts(flat, fill_parts(flat.ctypes.data, flat.size, n_parts))
    return out


def fill_parts(address: int, size: int, n_parts: int) -> np.ndarray:
    """int64 ``[n_parts + 1]``: ``size`` bytes from ``address`` cut into ``n_parts`` about equal parts, each cut
    moved up to the next ``HUGE_PAGE`` boundary (a page faulted in by one thread only)."""
    cuts = np.arange(n_parts + 1, dtype=np.int64) * size // n_parts
    cuts = (address + cuts + HUGE_PAGE - 1) // HUGE_PAGE * HUGE_PAGE - address
    cuts[0], cuts[-1] = 0, size
    return np.minimum(np.maximum.accumulate(cuts), size)


@njit(cache=True, parallel=True)
def _zero_parts(flat, bounds):
    """Bytes ``bounds[c]..bounds[c+1]`` of ``flat`` set to 0 on thread c."""
    for c in prange(bounds.shape[0] - 1):
        flat[bounds[c]:bounds[c + 1]] = 0        # (a slice: a memset; a byte loop here was not vectorized, ~25x slower)
