"""Run a function under a CPU-time budget: in a forked child that is killed when the budget is spent.

Why: an external partitioner (KaHyPar, METIS) cannot be interrupted from Python, and its run time can
grow far faster than the network (issue 19: 490 s where the sequential mapping took 1 s). Forking is
copy-on-write, so the child sees the parent's arrays without copying them; only the result (one
integer array) comes back through a pipe. The budget is CPU seconds, not wall seconds, so that a
machine shared with other jobs changes how long the run takes but not what it computes (as long as the
run ends within the budget). The partition pass decides what to run from work estimates of the graph,
so that its result is repeatable, and uses this kill only as a safety net (``passes/partition.py``).
Where ``os.fork`` or ``/proc`` does not exist the function runs inline, unbounded (``BOUNDED`` is False).
"""
from __future__ import annotations

import os
import select
import signal
import time

import numpy as np

#: False where no fork or /proc exists: the budget is then not enforced (the function runs inline).
BOUNDED = hasattr(os, "fork") and os.path.exists(f"/proc/{os.getpid()}/stat")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: How often the child's CPU time is read (s of wall time).
POLL_S = 0.02
#: A child that uses no CPU (blocked, e.g. on a lock inherited through fork) is stopped after
#: WALL_FACTOR x its CPU budget + WALL_EXTRA_S of wall time, so the compile cannot hang on it.
WALL_FACTOR = 20.0
WALL_EXTRA_S = 10.0


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of a running process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def _die_with_parent(parent: int) -> None:
    """Child side: be killed when the parent dies (a kill -9 of the compile must not leave KaHyPar running)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)    # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:                                        # the parent died before prctl
        os._exit(1)


def run_within(fn, cpu_s: float) -> tuple[np.ndarray | None, float]:
    """(``fn()`` as an int64 array, CPU seconds used) if it finishes within ``cpu_s`` CPU seconds;
    (None, CPU seconds used) if it ran out of budget or the child died (the caller keeps its best so far)."""
    if not BOUNDED:
        t = time.process_time()
        return np.asarray(fn(), np.int64), time.process_time() - t
    if cpu_s <= 0:
        return None, 0.0
    r, w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:                                   # child: compute, send, leave without cleanup handlers
        code = 1
        try:
            os.close(r)
            _die_with_parent(parent)
            data = np.ascontiguousarray(fn(), np.int64).tobytes()
            view = memoryview(data)
            while view:
                view = view[os.write(w, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    chunks, done = [], False
    wall_end = time.perf_counter() + WALL_FACTOR * min(cpu_s, 1e6) + WALL_EXTRA_S
    try:
        while True:
            ready, _, _ = select.select([r], [], [], POLL_S)
            if ready:
                chunk = os.read(r, 1 << 20)
                if not chunk:
                    done = True
                    break
                chunks.append(chunk)
            elif _cpu_of(pid) > cpu_s or time.perf_counter() > wall_end:
                break
    finally:
        os.close(r)
        if not done:
            os.kill(pid, signal.SIGKILL)
        _, status, usage = os.wait4(pid, 0)
    used = usage.ru_utime + usage.ru_stime
    if not done or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None, used
    return np.frombuffer(b"".join(chunks), np.int64).copy(), used
