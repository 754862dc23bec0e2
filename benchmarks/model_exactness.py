"""Emulator vs Lava fixed_pt on random networks mixing every registered neuron model: counts mismatches (goal 0).

    .venv/bin/python benchmarks/model_exactness.py --networks 500 [--seed 0] [--batch 4] [--max-kinds 4]
        [--log out.jsonl]

Each network (``tests/modelnet.py``, driven by the neuron-model registry: every registered kind with a
sampler joins) has 3 to ``--max-kinds`` populations of different models (each kind in turn leads, so
every kind is mixed with the others), graph inputs of binary spikes or graded integers, Dense / Sparse /
OneToOne / Conv2d (Lava's Conv and Conv-as-Sparse) projections, binary or graded with num_message_bits
in 1..24 (or derived from the source), every sign mode, weight_exp, num_weight_bits, scalar and
per-synapse delays, recurrence; every other network is in the overflow regime (graded sums leave
int32). The emulator runs the per-core tables on a random mapping onto 1-4 cores (numba kernel), the
reference runs the network, Lava runs it with ``Loihi2SimCfg(select_tag="fixed_pt")``; every step's
spikes / payloads (what ``s_out`` sends) and every state variable the Lava process has a Var of are
compared. ``--batch`` networks run side by side in one Lava run (names prefixed). A network counts as a
mismatch when any compared array differs anywhere (emulator vs Lava; reference vs Lava counted apart).

Lava dominates the runtime (~5-10 s per network on 2 shared cores: one OS process per Lava process and
monitor, so batching saves little); ``--log`` appends one JSON line per network as it goes.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from modelnet import (RECORD, emulator_states, lava_states, mismatches, random_mapping,  # noqa: E402
                      random_model_network, union)


def run_batch(seeds, max_kinds):
    """Networks of ``seeds`` (odd seeds in the overflow regime) in one Lava run: one record per network."""
    from neurocomp.backends.emulator import emulate_tables
    from neurocomp.mapping.tables import build_core_tables
    from neurocomp.semantics.inputs import InputSpec
    from neurocomp.semantics.reference import simulate_reference
    nets = [random_model_network(s, overflow=bool(s % 2), max_kinds=max_kinds) for s in seeds]
    steps = max(n[1] for n in nets)
    big, prefixes = union(nets)
    inputs = {}
    for (net, t, x), pre in zip(nets, prefixes):
        for name, arr in x.items():             # shorter networks idle (zero input) to the longest one's end
            inputs[pre + name] = np.concatenate([arr, np.zeros((steps - t, *arr.shape[1:]), arr.dtype)])
    t0 = time.perf_counter()
    lava = lava_states(big, steps, inputs)
    lava_s = time.perf_counter() - t0
    out = []
    for seed, (net, _, x), pre in zip(seeds, nets, prefixes):
        x = {name: inputs[pre + name] for name in x}
        mapping, n_cores = random_mapping(net, seed)
        tables = build_core_tables(net, mapping, n_cores)
        spec = InputSpec.of_network(net)
        emu = emulator_states(emulate_tables(tables, steps, x, record=RECORD, input_spec=spec), net)
        ref = emulator_states(simulate_reference(net, steps, x, record=RECORD), net)
        mine = {k: v for k, v in lava.items() if k[0].startswith(pre)}
        out.append({
            "seed": int(seed), "overflow": bool(seed % 2), "cores": n_cores,
            "models": sorted({type(p.model).__name__ for p in net.neuron_populations}),
            "bits": sorted({-1 if p.connectivity.num_message_bits is None else int(p.connectivity.num_message_bits)
                            for p in net.projections.values()}),
            "compared_arrays": len(mine), "compared_values": int(sum(v.size for v in mine.values())),
            "events": int(sum(np.count_nonzero(v) for k, v in mine.items() if k[1] == "spikes")),
            "emulator_vs_lava": [list(map(str, m)) for m in mismatches(emu, mine, pre)],
            "reference_vs_lava": [list(map(str, m)) for m in mismatches(ref, mine, pre)],
            "lava_s": lava_s / len(seeds),
        })
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0, help="first network seed (seeds seed..seed+networks-1)")
    ap.add_argument("--batch", type=int, default=4, help="networks per Lava run")
    ap.add_argument("--max-kinds", type=int, default=4, help="models per network: 3..max-kinds")
    ap.add_argument("--log", default=None, help="append one JSON line per network here")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")             # scipy's SparseEfficiencyWarning inside Lava's Sparse
    t0 = time.perf_counter()
    seeds = list(range(args.seed, args.seed + args.networks))
    totals = {"networks": 0, "emulator_mismatches": 0, "reference_mismatches": 0, "values": 0, "events": 0,
              "overflow": 0}
    models, bits = {}, set()
    for b in range(0, len(seeds), args.batch):
        for rec in run_batch(seeds[b:b + args.batch], args.max_kinds):
            totals["networks"] += 1
            totals["emulator_mismatches"] += bool(rec["emulator_vs_lava"])
            totals["reference_mismatches"] += bool(rec["reference_vs_lava"])
            totals["values"] += rec["compared_values"]
            totals["events"] += rec["events"]
            totals["overflow"] += rec["overflow"]
            for m in rec["models"]:
                models[m] = models.get(m, 0) + 1
            bits |= set(rec["bits"])
            if rec["emulator_vs_lava"] or rec["reference_vs_lava"]:
                print(f"MISMATCH seed {rec['seed']}: emulator {rec['emulator_vs_lava']} reference "
                      f"{rec['reference_vs_lava']}", flush=True)
            if args.log:
                with open(args.log, "a") as fh:
                    fh.write(json.dumps(rec) + "\n")
        print(f"{totals['networks']} networks, {totals['emulator_mismatches']} emulator / "
              f"{totals['reference_mismatches']} reference mismatches, {time.perf_counter() - t0:.0f} s", flush=True)
    totals["seconds"] = round(time.perf_counter() - t0, 1)
    totals["networks_per_model"] = dict(sorted(models.items()))
    totals["num_message_bits_seen"] = sorted(bits)
    print(json.dumps(totals))
    return 1 if totals["emulator_mismatches"] or totals["reference_mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
