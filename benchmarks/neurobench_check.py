"""Cross-check report["workload"] against the neurobench package itself on the snnTorch export.

Runs in the torch venv (torch, snntorch, neurobench 2.3 installed with --no-deps plus tqdm; neither is a
neurocomp dependency)::

    ../torchenv/bin/python benchmarks/neurobench_check.py      # prints neurobench's numbers as JSON

then ``.venv/bin/python benchmarks/neurobench_check.py --ours`` prints ours for the same network and
inputs (the float IR's effective synops/sparsity from the emulator's counters on loihi2). Both average
over the 30 inputs of tests/data/frameworks/snntorch_lif.npz.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "frameworks"


def neurobench_numbers() -> dict:
    import torch
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint
    from neurobench.metrics.workload import ActivationSparsity, MembraneUpdates, SynapticOperations
    from neurobench.models import SNNTorchModel
    import nir
    sys.path.insert(0, str(DATA))
    from make_exports import snntorch_mlp
    net = snntorch_mlp("zero")
    graph = nir.read(DATA / "snntorch_lif.nir")          # the exported weights (the readout was trained)
    with torch.no_grad():
        for key in ("0", "2"):
            getattr(net, key).weight.copy_(torch.tensor(graph.nodes[key].weight))
            getattr(net, key).bias.copy_(torch.tensor(graph.nodes[key].bias))
    with np.load(DATA / "snntorch_lif.npz") as d:
        x = torch.tensor(d["input"], dtype=torch.float32)
    ds = torch.utils.data.TensorDataset(x, torch.zeros(x.shape[0], dtype=torch.long))
    loader = torch.utils.data.DataLoader(ds, batch_size=x.shape[0], shuffle=False)
    bench = Benchmark(SNNTorchModel(net), loader, [], [lambda s: s],
                      [[Footprint, ConnectionSparsity], [ActivationSparsity, MembraneUpdates, SynapticOperations]])
    return bench.run(verbose=False)


def our_numbers() -> dict:
    import warnings
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import frameworks as F
    from neurocomp.backends.emulator import emulate
    net, ref = F.load_export("snntorch_lif")
    art = F.compile_for(net, "loihi2")
    runs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b in range(ref["input"].shape[0]):
            runs.append(emulate(art, 40, {"input": ref["input"][b]}, record=("spikes",)).report["workload"])
    mean = lambda f: float(np.mean([f(w) for w in runs]))  # noqa: E731
    return {"activation_sparsity": mean(lambda w: w["activation_sparsity"]),
            "membrane_updates": mean(lambda w: w["membrane_updates"]),
            "synaptic_operations": {k: mean(lambda w: w["synaptic_operations"][k])
                                    for k in ("Effective_ACs", "Effective_MACs", "Dense")},
            "footprint_bytes": runs[0]["footprint_bytes"], "connection_sparsity": runs[0]["connection_sparsity"]}


if __name__ == "__main__":
    print(json.dumps(our_numbers() if "--ours" in sys.argv else neurobench_numbers(), indent=1, default=float))
