"""Atomic integers and a spin wait for the kernel's threads (``kernels.run_steps``' team of threads).

numba has no atomics, and a ``prange`` loop is a fork and a join: ~1.5 us a region on this project's 2-core
machine, two regions a step (benchmarks/RESULTS.md "quiet11"). A team of threads that stays in one region for a
whole call and meets at counters instead needs atomic read-modify-writes, which LLVM has: these intrinsics emit
them on an element of an int64 array (``seq_cst`` read-modify-writes, ``acquire`` loads), so a thread's plain
writes before an ``atomic_add`` are seen by a thread whose ``atomic_load`` reads its result.

What a thread does while it waits (``wait_for``): the CPU's ``pause`` (the spin stays off the other hardware
thread's execution units), and after ``YIELD_AFTER`` spins ``sched_yield`` on every spin, so that on a machine with
more runnable threads than cores (a test run with a worker per core) the thread it waits for gets the core.
"""
from __future__ import annotations

import platform

from llvmlite import ir as llvm_ir
from numba import njit, types as nb_types
from numba.core import cgutils
from numba.extending import intrinsic

#: Spins (``pause``, ~40-140 cycles each: ~5-15 us in all) before a waiting thread yields its core on every spin: a
#: step's waits (the serial part, a group's imbalance) are shorter; a longer one means the thread waited for is
#: not running (more threads than cores, as a test run with a worker per core), and spinning on holds it off.
YIELD_AFTER = 256
#: ``pause`` is an x86 instruction; elsewhere a spin is an empty loop turn.
_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


def item_pointer(context, builder, signature, args):
    """In an intrinsic's codegen: the address of ``args[0][args[1]]`` (an array and an index, no wraparound)."""
    aryty = signature.args[0]
    ary = context.make_array(aryty)(context, builder, args[0])
    return cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)


def _int64_array(arr) -> bool:
    return isinstance(arr, nb_types.Array) and arr.dtype == nb_types.int64 and arr.ndim == 1


@intrinsic
def atomic_add(typingctx, arr, idx, val):
    """``arr[idx] += val`` as one atomic step (sequentially consistent); returns the value before."""
    if not _int64_array(arr):
        return None

    def codegen(context, builder, signature, args):
        return builder.atomic_rmw("add", item_pointer(context, builder, signature, args), args[2], "seq_cst")
    return nb_types.int64(arr, nb_types.intp, nb_types.int64), codegen


@intrinsic
def atomic_load(typingctx, arr, idx):
    """``arr[idx]``, read with acquire order: writes made before the atomic write it reads are visible after."""
    if not _int64_array(arr):
        return None

    def codegen(context, builder, signature, args):
        return builder.load_atomic(item_pointer(context, builder, signature, args), "acquire", 8)
    return nb_types.int64(arr, nb_types.intp), codegen


@intrinsic
def compare_swap(typingctx, arr, idx, expected, new):
    """Atomically: if ``arr[idx] == expected``, set it to ``new`` and return True; else return False."""
    if not _int64_array(arr):
        return None

    def codegen(context, builder, signature, args):
        pair = builder.cmpxchg(item_pointer(context, builder, signature, args), args[2], args[3], "seq_cst",
                               "seq_cst")
        return builder.extract_value(pair, 1)
    return nb_types.boolean(arr, nb_types.intp, nb_types.int64, nb_types.int64), codegen


@intrinsic
def _cpu_pause(typingctx):
    """x86 ``pause``: a spinning thread's hint to the core (no effect on what the program computes)."""
    def codegen(context, builder, signature, args):
        if _X86:
            fn = cgutils.get_or_insert_function(builder.module, llvm_ir.FunctionType(llvm_ir.VoidType(), []),
                                                "llvm.x86.sse2.pause")
            builder.call(fn, [])
        return context.get_dummy_value()
    return nb_types.void(), codegen


@intrinsic
def _sched_yield(typingctx):
    """libc's ``sched_yield`` (resolved by name in the process, so the kernel still caches)."""
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, llvm_ir.FunctionType(llvm_ir.IntType(32), []),
                                            "sched_yield")
        builder.call(fn, [])
        return context.get_dummy_value()
    return nb_types.void(), codegen


@njit(cache=True)
def spin(n):
    """One spin of a wait loop that has spun ``n`` times before; returns ``n + 1``."""
    if n < YIELD_AFTER:
        _cpu_pause()
    else:
        _sched_yield()
    return n + 1


@njit(cache=True)
def wait_for(arr, idx, target):
    """Spin until ``arr[idx] >= target`` (read atomically); returns the value read."""
    n = 0
    x = atomic_load(arr, idx)
    while x < target:
        n = spin(n)
        x = atomic_load(arr, idx)
    return x


@intrinsic
def atomic_store(typingctx, arr, idx, val):
    """``arr[idx] = val`` with release order: writes before it are visible to whoever reads this value."""
    if not _int64_array(arr):
        return None

    def codegen(context, builder, signature, args):
        builder.store_atomic(args[2], item_pointer(context, builder, signature, args), "release", 8)
        return context.get_dummy_value()
    return nb_types.void(arr, nb_types.intp, nb_types.int64), codegen
