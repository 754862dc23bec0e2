"""Cost model of a distributed run: the per-rank message totals (``distributed/cost.py``) against one process's
``costmodel.estimate`` on the same spike events, in one process (no MPI: the ranks' parts are computed one after
the other, so "slowest rank" is the largest part's time, and rank 0's merge is timed alone).

Workload: the Brunel E/I network of ``mpi_scaling.py`` (64 cores in contiguous blocks), cores placed on the
first 64 cores of one Loihi 2 chip. Checks that latency and the energy total are bit-identical. Times are minima of ``--repeats`` alternating repeats.

Usage: ``.venv/bin/python benchmarks/mpi_cost.py [--neurons 4000] [--steps 300] [--ranks 2] [--repeats 3]``
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mpi_scaling import N_CORES, tables_for  # noqa: E402
from emulator_speed import make_inputs  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--neurons", type=int, default=4000)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from neurocomp.backends.emulator import emulate_tables
    from neurocomp.backends.emulator.costmodel import estimate
    from neurocomp.backends.emulator.distributed import make_shards, rank_of_cores
    from neurocomp.backends.emulator.costmodel import estimate_from_totals
    from neurocomp.backends.emulator.distributed.cost import events_of_rank, merge_totals, rank_totals
    from neurocomp.target import load_target
    target = load_target("loihi2")
    net, rate, tables = tables_for(args.neurons)
    steps = args.steps
    res = emulate_tables(tables, steps, make_inputs(rate, steps), record=(), events=True)
    ev, active = res.report["spike_events"], res.report["counters"]["neurons_active"]
    phys = np.arange(N_CORES)
    shards = make_shards(tables, rank_of_cores(tables, None, args.ranks), args.ranks)
    inputs = []
    for sh in shards:
        sh.target, sh.meta["physical_core"] = target, phys.tolist()
        inputs.append((sh, *events_of_rank(sh, ev["step"], ev["source"])))
    t_one, t_rank, t_merge = [], [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        one = estimate(target, tables, phys, ev["step"], ev["source"], active, steps)
        t_one.append(time.perf_counter() - t0)
        parts, times = [], []
        for sh, st, sid in inputs:
            t0 = time.perf_counter()
            parts.append(rank_totals(sh, st, sid, steps))
            times.append(time.perf_counter() - t0)
        t_rank.append(max(times))
        t0 = time.perf_counter()
        m, per_core, axons = merge_totals(target, parts, N_CORES, steps)
        many = estimate_from_totals(target, phys, per_core, axons, m, np.asarray(active, np.int64),
                                    np.zeros_like(active), steps)
        t_merge.append(time.perf_counter() - t0)
    assert many["latency_s"] == one["latency_s"]
    assert many["energy_j"] == one["energy_j"]
    msgs = one["counters"]["total_messages"]
    print(f"neurons {args.neurons}, steps {steps}, ranks {args.ranks}, messages {msgs:,}, "
          f"messages per rank {[int(p['ints'][4]) for p in parts]}")
    print(f"one process estimate: {min(t_one):.3f} s; slowest rank's part: {min(t_rank):.3f} s "
          f"(x{min(t_rank) / min(t_one):.2f}); rank 0 merge + model: {min(t_merge):.3f} s")
    print("latency and energy bit-identical")


if __name__ == "__main__":
    main()
