"""What this machine gives two independent copies of one thread's work (issue 19): the ceiling for two threads.

A workload (``emulator_speed.py``'s ``dense`` or ``brunel``, as ``thread_split.py`` builds them) is emulated on
one thread in a worker process, ``--repeats`` calls of ``--steps`` steps, the median taken (us per step, the
kernel's own time). Each round runs it **alone** (one worker), then as a **pair** (two workers, released together once
both have built and warmed their plans): no memory, cache line or lock is shared between them, so a pair's
slowdown over alone is what the machine itself (two vCPUs, their shared caches and memory, the host) takes from
two threads' halves of a step. ``slowdown`` = pair / alone (1: the two vCPUs run independent work at full speed);
``ceiling`` = 2 / slowdown: the most two threads could gain on this work, had they no split costs at all.

Usage: ``.venv/bin/python benchmarks/two_processes.py [--only dense,brunel] [--rounds 3] [--repeats 5]
[--steps 50000] [--input-rate P] [--dense-size N] [--mode none|cnt|rec]`` (``thread_split.py``'s modes: ``none``
records nothing, as its figures)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def work(name: str, mode_name: str, steps: int, repeats: int, input_rate, dense_size: int) -> None:
    """Worker: build and warm, print ``ready``, wait for a line on stdin, then run and print the median us/step
    (a median, not a min: a pair's worker whose partner has finished runs its last calls alone)."""
    sys.path.insert(0, str(HERE))
    import thread_split as TS
    from neurocomp.backends.emulator import emulate_tables, engine
    tables, inputs, plan = TS.workload(name, steps, input_rate, dense_size)
    clock = TS.KernelClock(engine)
    mode = TS.MODES[mode_name]
    emulate_tables(tables, 5, {k: v[:5] for k, v in inputs.items()}, plan=plan, threads=1, **mode)
    print("ready", flush=True)
    sys.stdin.readline()
    times = []
    for _ in range(repeats):
        clock.seconds = 0.0
        emulate_tables(tables, steps, inputs, plan=plan, threads=1, **mode)
        times.append(clock.seconds / steps * 1e6)
    clock.close()
    print(json.dumps(float(np.median(times))), flush=True)


def run_together(n: int, args) -> list[float]:
    """``n`` workers started, released together once all are ready; their us/step."""
    cmd = [sys.executable, __file__, "--worker", args.name, "--steps", str(args.steps), "--repeats", str(args.repeats),
           "--dense-size", str(args.dense_size), "--mode", args.mode]
    if args.input_rate is not None:
        cmd += ["--input-rate", str(args.input_rate)]
    procs = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(n)]
    for p in procs:
        line = p.stdout.readline()
        if line.strip() != "ready":
            raise SystemExit(f"worker failed before its run: {line!r}")
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    out = [json.loads(p.stdout.readline()) for p in procs]
    for p in procs:
        p.wait()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="dense,brunel")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=50000)
    ap.add_argument("--input-rate", type=float, default=None)
    ap.add_argument("--dense-size", type=int, default=1000)
    ap.add_argument("--mode", default="none", help="thread_split.py's modes: none, cnt, rec")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        work(args.worker, args.mode, args.steps, args.repeats, args.input_rate, args.dense_size)
        return 0
    print("| workload | round | alone, us/step | pair, us/step (each) | slowdown | ceiling |")
    print("|---|---|---|---|---|---|")
    for name in args.only.split(","):
        args.name = name
        for r in range(args.rounds):
            alone = run_together(1, args)[0]
            pair = run_together(2, args)
            slow = max(pair) / alone
            print(f"| {name} | {r + 1} | {alone:.2f} | {pair[0]:.2f} / {pair[1]:.2f} | {slow:.2f} | "
                  f"{2 / slow:.2f}x |", flush=True)
            time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
