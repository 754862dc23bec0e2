"""The kernel team's atomics (``backends/emulator/threadsync.py``): each does what its docstring says on one
thread, and an atomic add loses no increment when two threads hammer one counter (a plain ``+= 1`` in its place
lost ~20 % of them here)."""
import numba
import numpy as np
import pytest
from numba import njit, prange

from neurocomp.backends.emulator.threadsync import (atomic_add, atomic_load, atomic_store, compare_swap, spin,
                                                    wait_for, YIELD_AFTER)


@njit
def _one_thread(a):
    old = atomic_add(a, 1, 5)
    swapped = compare_swap(a, 2, 0, 7)
    refused = compare_swap(a, 2, 0, 9)
    atomic_store(a, 3, -4)
    return old, atomic_load(a, 1), swapped, refused, wait_for(a, 1, 6)


def test_atomics_on_one_thread():
    a = np.array([0, 2, 0, 0], np.int64)
    old, now, swapped, refused, seen = _one_thread(a)
    assert (old, now, seen) == (2, 7, 7)
    assert swapped and not refused
    np.testing.assert_array_equal(a, [0, 7, 7, -4])


def test_spin_counts_and_yields_past_its_limit():
    @njit
    def spins(n):
        k = 0
        for _ in range(n):
            k = spin(k)
        return k
    assert spins(YIELD_AFTER + 10) == YIELD_AFTER + 10


@njit(parallel=True)
def _hammer(counts, n):
    for g in prange(2):
        for _ in range(n):
            atomic_add(counts, 0, 1)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one thread only")
def test_atomic_add_loses_no_increment_on_two_threads():
    counts = np.zeros(16, np.int64)
    n = 2_000_000
    _hammer(counts, n)
    assert counts[0] == 2 * n
