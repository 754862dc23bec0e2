"""Make the framework NIR exports and the frameworks' own reference spikes (issue 21).

Run in a separate venv that has torch (NOT a neurocomp dependency; kept out of ``make test``)::

    python3.10 -m venv ../torchenv && ../torchenv/bin/pip install torch snntorch norse sinabs nir==1.0.8
    ../torchenv/bin/python tests/data/frameworks/make_exports.py

For every network below it writes ``<name>.nir`` (the framework's own exporter, unchanged) and
``<name>.npz`` with ``input`` (uint8 [B, T, n_in], Bernoulli spikes, seeded), ``<layer>`` (uint8 [B, T, n]:
the framework's spikes of each spiking layer, keyed by its NIR node name) and ``dt`` (the time step the
framework ran with), plus ``versions.json`` (torch and framework versions, this script's settings).
Inputs are Bernoulli spike trains of 10 classes (each class its own per-channel rates). Hidden weights
are random (seeded), scaled so that every layer spikes; the last layer is a readout trained on 200
other inputs (``fit_readout``: ridge regression on the framework's hidden spike rates, then the
output scale that the framework's own spiking layer classifies best), so that class decisions have
margins. ``<name>.npz`` also holds ``label``.

Framework settings chosen so that NIR can express them: snnTorch ``reset_mechanism="zero"`` (and
``reset_delay=False`` for ``Synaptic``); Sinabs ``SingleSpike`` + ``MembraneReset`` (its default
``MultiSpike`` / subtract cannot be expressed); Norse defaults. The exceptions are exported too:
``snntorch_lif_subtract`` (snnTorch's default reset by subtraction, which its exporter writes as reset
to zero) and ``snntorch_cuba_delay`` (``Synaptic`` with its default ``reset_delay=True``: after a spike
mem is zero for a whole step, that step's input lost). Sinabs's 0-d parameters are broadcast to the
layer size before writing (``_storable``); nothing else is changed.
"""
from __future__ import annotations

import json
from pathlib import Path

import nir
import numpy as np
import torch

HERE = Path(__file__).resolve().parent
B, T = 30, 40          # batch (30 inputs, as the issue asks) x time steps
SEED = 21


CLASSES = 10


def _class_inputs(n_in, n, seed):
    """``n`` Bernoulli spike trains [n, T, n_in] of 10 classes (labels ``i % 10``): each class has its own
    fixed per-channel rates (0.05 or 0.45, seeded), so a readout can tell them apart."""
    g = torch.Generator().manual_seed(SEED)
    proto = torch.where(torch.rand(CLASSES, n_in, generator=g) < 0.5, 0.45, 0.05)
    labels = torch.arange(n) % CLASSES
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, T, n_in, generator=g) < proto[labels][:, None, :]).float(), labels


def _bernoulli(n_in):
    """The test batch: 30 inputs, 3 per class."""
    return _class_inputs(n_in, B, SEED)[0]


def fit_readout(net, run, n_in):
    """Train the last Linear layer as a readout: ridge regression from the hidden layer's spike rates
    (the framework's own, on 200 training inputs of another seed) to one-hot labels, then the scale of
    those weights that gives the framework's spiking output layer the best accuracy (then margin) on
    the training inputs. The hidden layers stay random. Returns (training accuracy, scale)."""
    x, y = _class_inputs(n_in, 200, SEED + 1)
    out = [m for m in net.modules() if isinstance(m, torch.nn.Linear)][-1]
    layers = run(net, x)
    keys = list(layers)
    h = layers[keys[0]].float().mean(1).numpy()
    hc = np.c_[h, np.ones(len(h))]
    target = np.eye(CLASSES)[y.numpy()] - 1.0 / CLASSES
    w = np.linalg.solve(hc.T @ hc + 1e-2 * np.eye(hc.shape[1]), hc.T @ target).T
    best = None
    for scale in (0.5, 1, 2, 4, 8, 16, 32, 64):
        with torch.no_grad():
            out.weight.copy_(torch.tensor(scale * w[:, :-1], dtype=torch.float32))
            out.bias.copy_(torch.tensor(scale * w[:, -1], dtype=torch.float32))
        counts = run(net, x)[keys[-1]].float().sum(1).numpy()
        top = np.sort(counts, 1)
        score = (float((np.argmax(counts, 1) == y.numpy()).mean()), float((top[:, -1] - top[:, -2]).mean()))
        if best is None or score > best[0]:
            best = (score, scale)
    scale = best[1]
    with torch.no_grad():
        out.weight.copy_(torch.tensor(scale * w[:, :-1], dtype=torch.float32))
        out.bias.copy_(torch.tensor(scale * w[:, -1], dtype=torch.float32))
    return best[0][0], scale


def _linear(n_in, n_out, gain, bias=0.1, seed=0, mean=0.15):
    torch.manual_seed(seed)
    lin = torch.nn.Linear(n_in, n_out)
    with torch.no_grad():
        lin.weight.normal_(mean, gain / np.sqrt(n_in))
        lin.bias.normal_(bias, 0.1)
    return lin


# ---------------------------------------------------------------------------- snnTorch
def snntorch_mlp(reset, synaptic=False, reset_delay=True):
    """The snnTorch MLP 16-32-10 of the exports (seeded), also used by benchmarks/neurobench_check.py."""
    import snntorch as snn
    torch.manual_seed(1)
    n = (16, 32, 10)
    beta = [torch.rand(n[1]) * 0.15 + 0.8, torch.rand(n[2]) * 0.15 + 0.8]      # per-neuron beta
    th = [torch.ones(n[1]), torch.ones(n[2])]      # per-neuron: the exporter needs tau and v_th of one shape
    if synaptic:
        alpha = [torch.full((n[1],), 0.6), torch.full((n[2],), 0.5)]
        # reset_delay=False: with snnTorch's default (True) a zero reset zeroes mem for the whole step after
        # a spike (that step's input is lost to mem), which NIR cannot express (snntorch_cuba_delay shows it)
        l1 = snn.Synaptic(alpha=alpha[0], beta=beta[0], threshold=th[0], reset_mechanism=reset, init_hidden=True,
                          reset_delay=reset_delay)
        l2 = snn.Synaptic(alpha=alpha[1], beta=beta[1], threshold=th[1], reset_mechanism=reset, init_hidden=True,
                          output=True, reset_delay=reset_delay)
    else:
        l1 = snn.Leaky(beta=beta[0], threshold=th[0], reset_mechanism=reset, init_hidden=True)
        l2 = snn.Leaky(beta=beta[1], threshold=th[1], reset_mechanism=reset, init_hidden=True, output=True)
    gain = 1.0 if synaptic else 2.0       # the current integrates: less weight for the same rates
    mean = 0.0 if synaptic else 0.15
    return torch.nn.Sequential(_linear(n[0], n[1], gain, seed=2, mean=mean), l1,
                               _linear(n[1], n[2], gain, seed=3, mean=mean), l2)


def snntorch_nets():
    import snntorch as snn
    from snntorch.export_nir import export_to_nir

    def run(net, x):
        from snntorch import utils
        utils.reset(net)
        spikes = {}
        hooks = [m.register_forward_hook(lambda mod, i, o, k=k: spikes.setdefault(k, []).append(
            (o[0] if isinstance(o, tuple) else o).detach().clone()))
            for k, m in net.named_children() if isinstance(m, (snn.Leaky, snn.Synaptic))]
        with torch.no_grad():
            for t in range(x.shape[1]):
                net(x[:, t])
        for h in hooks:
            h.remove()
        return {k: torch.stack(v, 1) for k, v in spikes.items()}

    for name, reset, syn, delay in (("snntorch_lif", "zero", False, True), ("snntorch_cuba", "zero", True, False),
                                    ("snntorch_cuba_delay", "zero", True, True),
                                    ("snntorch_lif_subtract", "subtract", False, True)):
        net = snntorch_mlp(reset, syn, delay)
        fit_readout(net, run, 16)
        x = _bernoulli(16)
        yield name, export_to_nir(net, x[0, 0]), x, run(net, x), 1e-4


# ---------------------------------------------------------------------------- Norse
def norse_nets():
    from norse.torch import LIFBoxCell, LIFBoxParameters, LIFCell, LIFParameters, SequentialState
    from norse.torch.utils.export_nir import to_nir

    dt = 1e-3     # Norse's default dt, also its exporter's

    def run(net, x):
        spikes, state = {}, None
        names = [k for k, m in net.named_children() if isinstance(m, (LIFBoxCell, LIFCell))]
        with torch.no_grad():
            for t in range(x.shape[1]):
                h = x[:, t]
                new_state = []
                for i, (k, m) in enumerate(net.named_children()):
                    s = None if state is None else state[i]
                    if isinstance(m, (LIFBoxCell, LIFCell)):
                        h, s = m(h, s)
                        spikes.setdefault(k, []).append(h.clone())
                    else:
                        h = m(h)
                    new_state.append(s)
                state = new_state
        return {k: torch.stack(spikes[k], 1) for k in names}

    def box_p(n):     # per-neuron values: the exporter needs every parameter of one shape
        return LIFBoxParameters(tau_mem_inv=torch.full((n,), 100.0), v_th=torch.ones(n), v_leak=torch.zeros(n),
                                v_reset=torch.zeros(n))

    def cuba_p(n):
        return LIFParameters(tau_mem_inv=torch.full((n,), 100.0), tau_syn_inv=torch.full((n,), 200.0),
                             v_th=torch.ones(n), v_leak=torch.zeros(n), v_reset=torch.zeros(n))

    torch.manual_seed(4)
    box = SequentialState(_linear(16, 32, 25.0, bias=1.0, seed=5), LIFBoxCell(box_p(32)),
                          _linear(32, 10, 25.0, bias=1.0, seed=6), LIFBoxCell(box_p(10)))
    cuba = SequentialState(_linear(16, 32, 12.0, bias=1.0, seed=7), LIFCell(cuba_p(32)),
                           _linear(32, 10, 12.0, bias=1.0, seed=8), LIFCell(cuba_p(10)))
    for name, net in (("norse_lifbox", box), ("norse_cuba", cuba)):
        fit_readout(net, run, 16)
        x = _bernoulli(16)
        yield name, to_nir(net, x[0, 0], dt=dt), x, run(net, x), dt


# ---------------------------------------------------------------------------- Sinabs
def sinabs_nets():
    import sinabs.layers as sl
    from sinabs.activation import MembraneReset, SingleSpike
    from sinabs.nir import to_nir

    def run(net, x):
        spikes = {}
        hooks = [m.register_forward_hook(lambda mod, i, o, k=k: spikes.__setitem__(k, o.detach().clone()))
                 for k, m in net.named_children() if isinstance(m, (sl.LIF, sl.IAF))]
        for m in net.modules():
            if hasattr(m, "reset_states"):
                m.reset_states()
        with torch.no_grad():
            net(x)
        for h in hooks:
            h.remove()
        return spikes

    kw = dict(spike_fn=SingleSpike, reset_fn=MembraneReset())
    torch.manual_seed(9)
    lif = torch.nn.Sequential(_linear(16, 32, 8.0, bias=0.3, seed=10), sl.LIF(tau_mem=torch.tensor(8.0), **kw),
                              _linear(32, 10, 8.0, bias=0.3, seed=11), sl.LIF(tau_mem=torch.tensor(6.0), **kw))
    iaf = torch.nn.Sequential(_linear(16, 32, 0.6, bias=0.05, seed=12), sl.IAF(**kw),
                              _linear(32, 10, 0.6, bias=0.05, seed=13), sl.IAF(**kw))
    for name, net in (("sinabs_lif", lif), ("sinabs_iaf", iaf)):
        fit_readout(net, run, 16)
        x = _bernoulli(16)
        yield name, to_nir(net, x[:1]), x, run(net, x), 1.0


def _storable(graph):
    """Sinabs writes 0-d (scalar) neuron parameters, which ``nir.write`` cannot store ("Scalar datasets don't
    support chunk/filter options"): broadcast each to the layer's size (the out size of the Affine before it).
    Nothing else is changed."""
    size = {}
    for a, b in graph.edges:
        if isinstance(graph.nodes[a], nir.Affine):
            size[b] = int(np.asarray(graph.nodes[a].weight).shape[0])
    for name, node in graph.nodes.items():
        if isinstance(node, (nir.LIF, nir.IF, nir.LI, nir.CubaLIF)):
            for field in node.__dataclass_fields__:
                v = getattr(node, field)
                if isinstance(v, (np.ndarray, torch.Tensor)) and np.ndim(v) == 0:
                    setattr(node, field, np.full(size[name], float(v)))
    return graph


def main() -> int:
    import importlib.metadata as md
    versions = {p: md.version(p) for p in ("torch", "snntorch", "norse", "sinabs", "nir", "nirtorch")}
    summary = {}
    for gen in (snntorch_nets, norse_nets, sinabs_nets):
        for name, graph, x, spikes, dt in gen():
            nir.write(HERE / f"{name}.nir", _storable(graph))
            arrays = {"input": x.numpy().astype(np.uint8), "dt": np.float64(dt),
                      "label": _class_inputs(16, B, SEED)[1].numpy()}
            for k, v in spikes.items():
                arrays[f"spikes.{k}"] = (v.numpy() > 0).astype(np.uint8)
            np.savez_compressed(HERE / f"{name}.npz", **arrays)
            summary[name] = {k: float(v.float().mean()) for k, v in spikes.items()}
            last = list(spikes)[-1]
            summary[name]["accuracy"] = float((spikes[last].sum(1).argmax(1).numpy() == arrays["label"]).mean())
            print(name, "layers", list(spikes), "rates", {k: round(r, 3) for k, r in summary[name].items()})
    (HERE / "versions.json").write_text(json.dumps({"versions": versions, "batch": B, "steps": T, "seed": SEED,
                                                    "spike_rates": summary}, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
