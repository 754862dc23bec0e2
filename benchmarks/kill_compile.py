"""kill -9 a large compile at many points: the previous artifact must stay loadable, and the next run
must leave no stray temp/old sibling (issue 20).

    .venv/bin/python benchmarks/kill_compile.py --points 12 --neurons 1500
    .venv/bin/python benchmarks/kill_compile.py --points 12 --neurons 1500 --fallback   # no renameat2

It writes two networks (3 populations of N neurons, all-to-all Dense, different weights), compiles the
first to ART, measures how long a compile of the second takes, then for each kill point starts a
compile of the network ART does not hold onto ART and sends SIGKILL: half of the
points spread over the passes, half at fixed delays after the writer's temp sibling appears (inside the
save, around the swap, after it). It checks: ART loads (``load_compiled``) and is the first or the second network
whole (never a mix, never missing); strays (``.ART.*``) are counted. After the kills one more compile
runs to completion and the strays must be gone. ``--fallback`` sets NEUROCOMP_NO_RENAMEAT2=1 (the
two-rename journal path of neurocomp/atomic.py instead of renameat2 RENAME_EXCHANGE).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


#: kill delays (seconds) after the writer's temp sibling appears: inside the save, at the swap, after it
SAVE_DELAYS = (0.0, 0.03, 0.1, 0.3, 1.0, 3.0, 6.0)


def network(n: int, seed: int):
    import neurocomp as nc
    rng = np.random.default_rng(seed)
    net = nc.Network(f"kill{seed}")
    net.input("in", (n,))
    prev = "in"
    for i in range(3):
        net.population(f"p{i}", (n,), nc.LoihiLIF(du=100, dv=200, vth=100))
        net.connect(prev, f"p{i}", nc.Dense(rng.integers(-100, 100, (n, n)).astype(np.int8)), name=f"w{i}")
        prev = f"p{i}"
    net.output(prev)
    return net


def compile_cmd(net: Path, art: Path) -> list[str]:
    return [sys.executable, "-m", "neurocomp.cli", "compile", str(net), "--target", "loihi2", "-o", str(art),
            "--partitioner", "sequential"]


def strays(art: Path) -> list[str]:
    return sorted(p.name for p in art.parent.iterdir() if p.name.startswith(f".{art.name}."))


def which(art: Path) -> str:
    from neurocomp.mapping.artifact import load_compiled
    return load_compiled(art).network.name


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=12)
    ap.add_argument("--neurons", type=int, default=1500)
    ap.add_argument("--fallback", action="store_true")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.fallback:
        env["NEUROCOMP_NO_RENAMEAT2"] = "1"
        os.environ["NEUROCOMP_NO_RENAMEAT2"] = "1"
    from neurocomp.io.native import save_native
    work = Path(tempfile.mkdtemp(prefix="kill_compile."))
    try:
        a, b, art = work / "a.h5", work / "b.h5", work / "art"
        save_native(network(args.neurons, 1), a)
        save_native(network(args.neurons, 2), b)
        subprocess.run(compile_cmd(a, art), env=env, check=True, capture_output=True)
        t0 = time.perf_counter()
        subprocess.run(compile_cmd(b, work / "probe"), env=env, check=True, capture_output=True)
        duration = time.perf_counter() - t0
        shutil.rmtree(work / "probe")
        print(f"compile of {3 * args.neurons ** 2:,} synapses takes {duration:.2f} s; killing at {args.points} points"
              f"{' (journal fallback)' if args.fallback else ' (renameat2)'}")
        rows, bad = [], 0
        half = args.points // 2
        for k in range(args.points):
            before = which(art)
            src = b if before == "kill1" else a    # always the other network: a completed write shows
            proc = subprocess.Popen(compile_cmd(src, art), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if k < half:                           # during the passes: spread over the measured duration
                phase, t_kill = "passes", duration * (k + 1) / (half + 1)
                time.sleep(t_kill)
            else:                                  # during the save: after the temp sibling appears
                phase, t_kill = "save", SAVE_DELAYS[(k - half) % len(SAVE_DELAYS)]
                mine = f".{art.name}.{proc.pid}."      # this writer's temp sibling (not a dead one's)
                while not any(n.startswith(mine) for n in strays(art)) and proc.poll() is None:
                    time.sleep(0.002)
                time.sleep(t_kill)
            finished = proc.poll() is not None
            proc.send_signal(signal.SIGKILL)
            rc = proc.wait()
            try:
                after = which(art)
                ok = after in (before, f"kill{1 if src == a else 2}")
            except Exception as exc:                 # the point of the benchmark: record, do not stop
                after, ok = f"UNLOADABLE ({type(exc).__name__}: {exc})", False
            bad += not ok
            rows.append({"phase": phase, "kill_at_s": round(t_kill, 3), "finished_first": finished, "returncode": rc,
                         "before": before, "after": after, "loadable": ok, "strays": len(strays(art))})
            print(f"  {phase:6s} kill at +{t_kill:6.3f} s (rc {rc}{', had finished' if finished else ''}): artifact "
                  f"{before} -> {after}; loadable {ok}; {len(strays(art))} stray(s)")
        left = len(strays(art))
        subprocess.run(compile_cmd(a, art), env=env, check=True, capture_output=True)
        after_next = strays(art)
        print(f"strays before the next run: {left}; after it: {len(after_next)} {after_next}")
        print(f"summary: {args.points} kills, {args.points - bad} left a loadable previous/new artifact, "
              f"{len(after_next)} strays after the next run")
        print(json.dumps({"duration_s": duration, "kills": rows, "strays_after_next_run": after_next}))
        return 0 if bad == 0 and not after_next else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
