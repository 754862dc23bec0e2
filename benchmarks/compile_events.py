"""pytest plugin: every numba compile (a cache miss) of a test run, with its test, kernel and seconds.

What ``make test`` on a clean clone spends compiling, and where (benchmarks/RESULTS.md "Cold compile"):

    CI=true COMPILE_EVENTS=out/compile PYTHONPATH=benchmarks .venv/bin/python -m pytest -x -p no:cacheprovider \\
        -p compile_events -n auto --dist loadscope
    .venv/bin/python benchmarks/compile_events.py out/compile

Each process (pytest-xdist worker) appends one JSON line per ``numba:compile`` event to
``$COMPILE_EVENTS/<worker>-<pid>.jsonl``: test node id (``::setup`` / ``::teardown`` for fixtures), kernel,
argument types, seconds, nesting depth (0: compiled for its own call; deeper: a callee compiled on the way,
inside its caller's seconds). Run as a script on that folder, it sums the outermost events per kernel.
"""
from __future__ import annotations

import collections
import json
import os
import sys
import time
from pathlib import Path

_state = {"test": "<collection>", "depth": 0, "out": None}


def _listener():
    import numba.core.event as ev

    class Compiles(ev.Listener):
        def on_start(self, event):
            _state["depth"] += 1
            event.data["_t0"] = time.perf_counter()

        def on_end(self, event):
            seconds = time.perf_counter() - event.data["_t0"]
            _state["depth"] -= 1
            f = event.data["dispatcher"].py_func
            rec = {"test": _state["test"], "kernel": f"{f.__module__}.{f.__qualname__}",
                   "args": str(event.data["args"]), "s": round(seconds, 3), "depth": _state["depth"],
                   "pid": os.getpid()}
            _state["out"].write(json.dumps(rec) + "\n")
            _state["out"].flush()

    return Compiles()


def pytest_configure(config):
    import numba.core.event as ev
    folder = Path(os.environ.get("COMPILE_EVENTS", "compile_events"))
    folder.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    _state["out"] = open(folder / f"{worker}-{os.getpid()}.jsonl", "a")
    ev.register("numba:compile", _listener())


def pytest_runtest_setup(item):
    _state["test"] = item.nodeid + "::setup"


def pytest_runtest_call(item):
    _state["test"] = item.nodeid


def pytest_runtest_teardown(item):
    _state["test"] = item.nodeid + "::teardown"


def summarize(folder: Path, top: int = 25) -> None:
    """Seconds, signatures and processes per kernel, outermost compiles only (their callees are inside)."""
    recs = [json.loads(line) for f in sorted(folder.glob("*.jsonl")) for line in f.open()]
    outer = [r for r in recs if r["depth"] == 0]
    print(f"{len(recs)} compiles, {len(outer)} outermost, {sum(r['s'] for r in outer):.1f} s in all")
    per = collections.defaultdict(lambda: [0.0, set(), set()])
    for r in outer:
        p = per[r["kernel"]]
        p[0] += r["s"]
        p[1].add(r["args"])
        p[2].add(r["pid"])
    for kernel, (s, sigs, pids) in sorted(per.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"{s:8.1f} s  {len(sigs):2d} signature(s)  {len(pids)} process(es)  {kernel}")


if __name__ == "__main__":
    summarize(Path(sys.argv[1] if len(sys.argv) > 1 else "compile_events"))
