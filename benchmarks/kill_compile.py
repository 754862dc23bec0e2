"""kill -9 a large compile at many points: the previous artifact must stay loadable, and the next run
must leave no stray temp/old sibling (issue 20).

    .venv/bin/python benchmarks/kill_compile.py --points 12 --neurons 1500
    .venv/bin/python benchmarks/kill_compile.py --points 12 --neurons 1500 --fallback   # no renameat2

It writes two networks (3 populations of N neurons, all-to-all Dense, different weights), compiles the
first to ART, measures how long a compile of the second takes, then for each kill point t_k (spread
evenly over 1.5x that duration, so the last ones fall in or after the final save) starts the second compile onto ART,
sends SIGKILL at t_k, and checks: ART loads (``load_compiled``) and is the first or the second network
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
        for k in range(args.points):
            src = b if k % 2 == 0 else a           # alternate, so a completed write is visible as a change
            before = which(art)
            t_kill = duration * 1.5 * (k + 1) / args.points     # the last third: around and after the save
            proc = subprocess.Popen(compile_cmd(src, art), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(t_kill)
            proc.send_signal(signal.SIGKILL)
            rc = proc.wait()
            try:
                after = which(art)
                ok = after in (before, f"kill{1 if src == a else 2}")
            except Exception as exc:                 # the point of the benchmark: record, do not stop
                after, ok = f"UNLOADABLE ({type(exc).__name__}: {exc})", False
            bad += not ok
            rows.append({"kill_at_s": round(t_kill, 3), "returncode": rc, "before": before, "after": after,
                         "loadable": ok, "strays": len(strays(art))})
            print(f"  kill at {t_kill:6.2f} s (rc {rc}): artifact {before} -> {after}; loadable {ok}; "
                  f"{len(strays(art))} stray(s)")
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
