"""CPU seconds per numba kernel (and a few Python drivers) of each compile pass, on one ``compile_scaling`` net.

Every numba dispatcher in the mapping and pass modules (and ``synapse_graph``, ``evaluate``, ``recount``,
``repair_usage``, ``routes_and_axons``, ``effective_weights``) is wrapped in the module namespace so that each
call's process CPU time is summed; nested wrappers count in both (``synapse_graph`` includes ``_scatter``).
Also prints the mapping's violations at each ``evaluate`` call of the partition pass (the repair rounds).
The wrappers find only what the running tree has: run it on an old tree for the same table of that tree.

    .venv/bin/python benchmarks/compile_kernels.py random 1000000
    PYTHONPATH=<old tree> .venv/bin/python benchmarks/compile_kernels.py random 1000000
"""
from __future__ import annotations

import collections
import dataclasses
import importlib
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

MODULES = ["neurocomp.mapping.graph", "neurocomp.mapping.limits", "neurocomp.mapping.tables",
           "neurocomp.passes.partition", "neurocomp.passes.place", "neurocomp.passes.route",
           "neurocomp.semantics.synapses", "neurocomp.semantics.fixedpoint"]
DRIVERS = {"synapse_graph", "evaluate", "recount", "repair_usage", "routes_and_axons", "effective_weights", "_fill"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    kind, n = argv[0], int(argv[1])
    import compile_scaling as cs
    total, calls = collections.defaultdict(float), collections.Counter()

    def wrap(name, f):
        def timed(*a, **k):
            t = time.process_time()
            try:
                return f(*a, **k)
            finally:
                total[name] += time.process_time() - t
                calls[name] += 1
        return timed

    for m in MODULES:
        mod = importlib.import_module(m)
        for k, v in list(vars(mod).items()):
            if isinstance(v, numba.core.registry.CPUDispatcher) or k in DRIVERS:
                setattr(mod, k, wrap(f"{m.split('.')[-1]}.{k}", v))
    import neurocomp.passes.partition as pp
    evaluate = pp.evaluate

    def evaluate_and_print(graph, core, limits):
        use = evaluate(graph, core, limits)
        bad = use.violations(limits)
        print(f"   evaluate: {use.n_cores} cores, over a limit: {({k: int(v.sum()) for k, v in bad.items()})}",
              flush=True)
        return use
    pp.evaluate = evaluate_and_print
    from neurocomp.passes.discretize import Discretize
    from neurocomp.passes.partition import Partition
    from neurocomp.passes.place import Place
    from neurocomp.passes.quantize import Quantize
    from neurocomp.passes.route import Route
    from neurocomp.passes.tables import BuildTables
    from neurocomp.target import load_target
    tgt = load_target("loihi2")
    chips = max(1, -(-n // 2500))
    cx = int(np.ceil(np.sqrt(chips)))
    tgt = dataclasses.replace(tgt, mesh=dataclasses.replace(tgt.mesh, chips=cx * -(-chips // cx), chips_x=cx,
                                                            chips_y=-(-chips // cx)))
    obj = cs.build(kind, n)
    for p in (Discretize(1e-4), Quantize(), Partition("hypergraph"), Place(), Route(), BuildTables()):
        total.clear()
        calls.clear()
        t, c = time.perf_counter(), time.process_time()
        obj, _ = p.run(obj, tgt)
        print(f"== {p.name}: {time.perf_counter() - t:.2f} s wall, {time.process_time() - c:.2f} s CPU", flush=True)
        for k, v in sorted(total.items(), key=lambda x: -x[1]):
            if v > 0.05:
                print(f"   {k:40s} {v:7.2f} s  x{calls[k]}")


if __name__ == "__main__":
    main()
