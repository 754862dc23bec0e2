"""The emulator's quick ways in and out of short runs (a Simulator stepping a few steps at a time).

The general path validates a run's inputs (``semantics.inputs.check_run``: shapes, 0/1 values, one
uint8 copy per input) and then encodes them as the kernel's event lists (``engine.encode_inputs``),
a dozen numpy calls whose fixed cost dominates a one-step run. :func:`quick_events` does both in one
numba pass (``input_events.spike_events``) for the common case: no inputs, or the network's one graph input
given as a uint8/bool array of its exact shape. Anything else, or a value that is not 0/1, returns None
and the caller takes the general path, which gives the messages (tests/test_simulator.py holds the two equal).

On the way out, the cost model's spike events (every neuron's and input channel's spikes, sorted by
step then source) are listed by one numba pass too (:func:`event_list`; its numpy spec is the general
branch of ``engine._assemble_result``, held equal by the same tests). A Simulator's short runs keep their
recorded spikes and list the events only when the cost model needs them (``session.QuickRuns``).

:func:`swap_threads` sets numba's thread count for the kernel call: numba's public ``set_num_threads``/
``get_num_threads`` take its process-wide launch lock on every call (~15 us for the set-and-restore of a
run); once the threads are launched, the same C functions are called directly.
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numba import njit
from numba.np.ufunc import parallel as _parallel

from . import kernels as K
from .input_events import spike_events


class SpikeTrace(NamedTuple):
    """A quick run's spike events as the kernel left them: ``spikes`` (uint8 [T, k], column c is neuron
    ``col_gid[c]``) and the input events (step t's are ``in_ptr[t]..in_ptr[t + 1]`` of ``in_src``). Listed
    (:func:`event_list`) only when asked: the cost model reads the neurons' spikes from the kernel's
    counters where it can (``msgclasses.traced_totals``)."""
    spikes: np.ndarray
    col_gid: np.ndarray
    in_ptr: np.ndarray
    in_src: np.ndarray

    def listed(self) -> tuple:
        """``(steps, sources)``: :func:`event_list`."""
        return event_list(*self)


def events_of(events) -> dict:
    """``{"step", "source"}`` of a run's spike events: ``events`` itself, or a :class:`SpikeTrace` listed now."""
    return events if type(events) is dict else dict(zip(("step", "source"), events.listed()))


def event_list(spikes, col_gid, in_ptr, in_src):
    """``(steps, sources)`` of all spike events of a run, sorted by step then source id: the recorded spikes
    ``spikes`` (uint8 [T, k], column c is neuron ``col_gid[c]``) and the input events (rows of ``in_ptr``).
    The arrays come from numpy, which advises huge pages for large blocks: made inside numba, a busy run's
    list took a page fault per 4 KiB (chain_busy, 607k events: ~2 of its ~5 ms)."""
    n = _count_events(spikes, in_ptr)
    ev_step = np.empty(n, np.int64)
    ev_src = np.empty(n + 1, np.int64)     # + 1: the branch-free filter writes one past the last event
    _fill_events(spikes, col_gid, in_ptr, in_src, ev_step, ev_src)
    return ev_step, ev_src[:n]


@njit(cache=True)
def _count_events(spikes, in_ptr):
    steps, k = spikes.shape
    n = 0
    for t in range(steps):
        for c in range(k):
            n += spikes[t, c] != 0
    n_in = in_ptr.shape[0] - 1
    return n + (in_ptr[min(steps, n_in)] if n_in > 0 else 0)


@njit(cache=True)
def _fill_events(spikes, col_gid, in_ptr, in_src, ev_step, ev_src):
    steps, k = spikes.shape
    n_in = in_ptr.shape[0] - 1
    by_id = np.argsort(col_gid)        # columns in id order: a step's events come out sorted (a row is cache-sized)
    gid = col_gid[by_id]
    in_order = K._identity(by_id)
    e = 0
    for t in range(steps):
        a = e
        if in_order:                       # every column written, the cursor moved by a spike: no branch to
            for c in range(k):             # mispredict at busy rates (1000 steps x 2500 columns at 25 %: 7.8 -> 2.4 ms)
                ev_src[e] = gid[c]
                e += spikes[t, c] != 0
        else:
            for i in range(k):
                ev_src[e] = gid[i]
                e += spikes[t, by_id[i]] != 0
        if t < n_in:
            for i in range(in_ptr[t], in_ptr[t + 1]):
                ev_src[e] = in_src[i]
                e += 1
        ordered = True                 # inputs (ids >= every neuron's) in order too: no sort
        for i in range(a + 1, e):
            ordered &= ev_src[i - 1] <= ev_src[i]
        if not ordered:
            ev_src[a:e].sort()
        ev_step[a:e] = t


class QuickInputs:
    """:func:`quick_events` for one network: what its checks need, looked up once."""

    def __init__(self, tables, spec):
        self.ok = not (spec.rewards or spec.graded)      # (a loose input: its [T, n] form, as the general path)
        self.name = spec.names[0] if len(spec.names) == 1 else None
        n = int(tables.input_ptr[1]) if self.name is not None else 0
        self.shapes = {spec.shapes[self.name], (n,)} if self.name is not None else set()
        if self.name is not None and int(np.prod(spec.shapes[self.name])) != n:
            self.ok = False                                # not these tables' input: the general path says so
        self.n, self.base = n, int(tables.n_neurons)
        self.empty = np.zeros(0, np.int64)

    def events(self, steps: int, inputs) -> K.InputEvents | None:
        if not self.ok:
            return None
        if inputs is None:
            return K.InputEvents(np.zeros(steps + 1, np.int64), self.empty, self.empty)
        if len(inputs) != 1 or self.name is None:
            return None
        arr = inputs.get(self.name)
        if type(arr) is not np.ndarray or arr.dtype.char not in "B?" or not arr.ndim or arr.shape[0] < steps \
                or arr.shape[1:] not in self.shapes:
            return None
        rows = (arr if arr.shape[0] == steps else arr[:steps]).reshape(steps, self.n)
        if rows.dtype.char == "?":
            rows = rows.view(np.uint8)
        if not rows.flags.c_contiguous:
            rows = np.ascontiguousarray(rows)
        in_ptr, src, val, bad = spike_events(rows, self.base)
        return None if bad >= 0 else K.InputEvents(in_ptr, src, val)


def quick_events(tables, spec, steps: int, inputs) -> K.InputEvents | None:
    """The kernel's input events of a run in the common case (see the module docstring), or None."""
    return QuickInputs(tables, spec).events(steps, inputs)


def swap_threads(n: int) -> int:
    """Set the calling thread's numba thread count to ``n`` (1..NUMBA_NUM_THREADS, as ``engine.kernel_threads``
    checks); returns the count before, to restore with another call."""
    if not _parallel._is_initialized:
        from .engine import _keep_start_method_unset
        _keep_start_method_unset()
        before = numba.get_num_threads()
        numba.set_num_threads(n)
        return before
    before = _parallel._get_num_threads()
    if before != n:
        _parallel._set_num_threads(n)
    return before
