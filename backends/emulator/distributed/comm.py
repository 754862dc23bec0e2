"""MPI plumbing of a distributed run: finding the world, the per-step spike exchange, failing loudly.

mpi4py is imported only when the process was started by an MPI launcher (``mpiexec``/``mpirun`` set
``PMI_SIZE``, ``OMPI_COMM_WORLD_SIZE`` or similar), so a plain run never initialises MPI. The
``mpich`` wheel puts ``mpiexec`` in the virtual environment's ``bin/`` and ``libmpi.so.12`` in its
``lib/``, where mpi4py 4 finds it by itself (``MPI4PY_LIBMPI`` overrides; docs/mpi.md).
"""
from __future__ import annotations

import os
import sys
import time
import traceback

import numpy as np

from ..kernels import ranges

#: Seconds a failing rank waits, its message written and flushed, before ``Abort`` (see :func:`guarded`).
ABORT_GRACE_S = 0.5

#: Environment variables an MPI launcher sets to the number of ranks (MPICH/Hydra, Open MPI, Slurm PMI).
SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "PMIX_SIZE")


def launched_size() -> int:
    """The number of ranks the launcher started (1 when none did), read from the environment."""
    for var in SIZE_VARS:
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    return 1


def world():
    """``MPI.COMM_WORLD`` when this process is one of several MPI ranks, else None."""
    if launched_size() <= 1:
        return None
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    return comm if comm.Get_size() > 1 else None


def guarded(comm, fn, *args, **kwargs):
    """Run ``fn`` on this rank; if it raises, print which rank failed and why, then ``Abort`` every rank
    (the others may be waiting in a collective: without it the run would hang)."""
    try:
        return fn(*args, **kwargs)
    except BaseException as exc:              # noqa: BLE001 - any failure must end every rank
        from ....errors import NeurocompError
        rank, size = comm.Get_rank(), comm.Get_size()
        what = f"{exc}" if isinstance(exc, NeurocompError) else f"{type(exc).__name__}: {exc}"
        sys.stderr.write(f"error: rank {rank} of {size} failed: {what}; aborting every rank\n")
        if not isinstance(exc, NeurocompError) and os.environ.get("NEUROCOMP_TRACEBACK", "") not in ("", "0"):
            traceback.print_exc()
        sys.stderr.flush()
        # the launcher forwards a rank's stderr on its own time and Abort kills its forwarding too: on a loaded
        # machine the message was lost (tests/test_mpi.py, empty stderr once in CI). A moment for it to go out.
        time.sleep(ABORT_GRACE_S)
        comm.Abort(2 if isinstance(exc, NeurocompError) else 1)
        raise                                  # not reached: Abort ends the process


class Exchange:
    """The spike exchange of one rank: each spiking neuron's (source id on the receiving rank, payload) pairs,
    or (step, source id, payload) triples when one exchange carries several steps, go to the ranks that hold
    routes for it, with ``Alltoall`` (counts) then ``Alltoallv`` (int64). Only ranks that need a spike get it."""

    def __init__(self, comm, dest_ptr, dest_rank, dest_sid, with_steps: bool = False):
        from mpi4py import MPI
        self.comm, self.type = comm, MPI.INT64_T
        self.size = comm.Get_size()
        self.dest_ptr, self.dest_rank, self.dest_sid = dest_ptr, dest_rank, dest_sid
        self.width = 3 if with_steps else 2
        self.scount = np.zeros(self.size, np.int64)
        self.rcount = np.zeros(self.size, np.int64)
        self.bytes_sent = 0
        self.rounds = 0

    def __call__(self, spiked: np.ndarray, payload: np.ndarray, steps: np.ndarray | None = None):
        """The remote events for this rank: ``(source ids, payloads, steps)`` (int64; ``steps`` None without)."""
        if self.size == 1:
            return spiked[:0], payload[:0], (None if steps is None else steps[:0])
        cnt = self.dest_ptr[spiked + 1] - self.dest_ptr[spiked]
        idx = ranges(self.dest_ptr[spiked], self.dest_ptr[spiked + 1])
        q = self.dest_rank[idx]
        order = np.argsort(q, kind="stable")
        w = self.width
        send = np.empty(w * idx.size, np.int64)
        send[0::w] = self.dest_sid[idx][order]
        send[1::w] = np.repeat(payload, cnt)[order]
        if w == 3:
            send[2::w] = np.repeat(steps, cnt)[order]
        self.scount[:] = w * np.bincount(q, minlength=self.size)
        self.comm.Alltoall(self.scount, self.rcount)
        recv = np.empty(int(self.rcount.sum()), np.int64)
        sdisp = np.concatenate([[0], np.cumsum(self.scount)[:-1]])
        rdisp = np.concatenate([[0], np.cumsum(self.rcount)[:-1]])
        self.comm.Alltoallv([send, (self.scount, sdisp), self.type], [recv, (self.rcount, rdisp), self.type])
        self.bytes_sent += send.nbytes
        self.rounds += 1
        return recv[0::w], recv[1::w], (recv[2::w] if w == 3 else None)
