"""The last value derived from a run's tables, kept for the next run of the same tables.

A batch (``emulate_batch``) or a Simulator runs the same tables again and again, and each run's report
derives the same per-table arrays (the cost model's message classes, the workload metrics' fan-outs, the
counters' count rows of ``kernels.count_rows``). One slot per name holds the last one: its tables weakly (a
slot never keeps tables alive) and a key of whatever else it was derived from, compared by value.
"""
from __future__ import annotations

import weakref

_SLOTS: dict = {}


def derived(name: str, tables, key, compute):
    """``compute()``, or the value the last call of this ``name`` with these very ``tables`` (``is``; any object
    that takes weak references: a target too) and an equal ``key`` returned."""
    slot = _SLOTS.get(name)
    if slot is not None and slot[0]() is tables and slot[1] == key:
        return slot[2]
    value = compute()
    try:
        _SLOTS[name] = (weakref.ref(tables), key, value)
    except TypeError:                            # (an object without weak references: not kept)
        pass
    return value
