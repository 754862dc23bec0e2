"""What is in a network: ``summary_dict(net)`` (numbers, JSON-able) and ``describe(net)`` (its text form).

``neurocomp info NET`` prints ``describe``; ``--json`` prints ``summary_dict``. Tests check the
dict, so the text can change freely. Everything here is read from the IR's numpy arrays with
vectorised counts (Conv2d synapses are counted by expanding the convolution once).
"""
from __future__ import annotations

import json

import networkx as nx
import numpy as np

from .ir import Conv2d, Dense, Network
from .semantics.synapses import message_bits


def _param_summary(value) -> object:
    """A scalar parameter as a number; a per-neuron one as {min, max, per_neuron: n}."""
    arr = np.asarray(value)
    if arr.size == 1:
        return arr.reshape(()).item()
    return {"min": arr.min().item(), "max": arr.max().item(), "per_neuron": int(arr.size)}


def _delay_range(proj) -> tuple[int, int]:
    """Min/max delay in steps over the projection's synapses (Dense: only the nonzero weights)."""
    delay = np.asarray(proj.delay)
    if delay.ndim and isinstance(proj.connectivity, Dense):
        delay = delay[proj.connectivity.weights != 0]
    if delay.size == 0:
        return 0, 0
    return int(delay.min()), int(delay.max())


def _cycles(net: Network) -> list[list[str]]:
    """Population groups that form loops: strongly connected components of size > 1 and self-loops."""
    g = nx.DiGraph(net.graph())
    loops = []
    for comp in nx.strongly_connected_components(g):
        if len(comp) > 1 or any(g.has_edge(n, n) for n in comp):
            loops.append(sorted(comp))
    return sorted(loops)


#: Why ``info`` and ``compile`` count synapses differently.
SYNAPSE_NOTE = ("counted here as the non-zero weights of the file; compile counts those whose quantized (Lava "
                "effective) weight is non-zero, so weights that round to 0 on the target are dropped and its "
                "count can be lower")


def latency_offsets(net: Network) -> dict:
    """The NIR importer's latency offsets, else the depth from the graph inputs (``neurocomp.align``)."""
    from .align import latency_offsets as offsets
    return offsets(net)


def summary_dict(net: Network) -> dict:
    """Everything ``describe`` prints, as plain Python numbers, strings, lists and dicts."""
    offsets, onsets = latency_offsets(net), net.onsets()
    populations = [{
        "name": p.name,
        "model": type(p.model).__name__,
        "params": {k: _param_summary(v) for k, v in p.model.params().items()},
        "shape": list(p.shape),
        "neurons": p.size,
        "latency_offset": int(offsets.get(p.name, 0)),
        "onset": onsets[p.name],
    } for p in net.neuron_populations]
    inputs = [{"name": p.name, "shape": list(p.shape), "channels": p.size}
              for p in net.populations.values() if p.is_input]
    projections, rules = [], []
    for proj in net.projections.values():
        conn = proj.connectivity
        dmin, dmax = _delay_range(proj)
        entry = {
            "name": proj.name,
            "kind": type(conn).__name__,
            "source": proj.source,
            "target": proj.target,
            "synapses": proj.n_synapses,
            "weights": "int" if conn.integer else "float",
            "delay_min": dmin,
            "delay_max": dmax,
            "learning": proj.learning.name if proj.learning is not None else None,
            "message_bits": message_bits(net, proj),
            "port": proj.port,
        }
        if isinstance(conn, Conv2d):
            entry["kernel"] = list(conn.weights.shape)
            entry["stored_weights"] = int(conn.weights.size)
        projections.append(entry)
        if proj.learning is not None:
            rule = proj.learning
            rules.append({"projection": proj.name, "rule": rule.name, "dw": rule.dw, "dd": rule.dd,
                          "dt": rule.dt, "t_epoch": rule.t_epoch, "third_factor": rule.third_factor})
    cycles = _cycles(net)
    meta = net.metadata
    return {
        "name": net.name,
        "populations": populations,
        "inputs": inputs,
        "projections": projections,
        "outputs": list(net.outputs),
        "learning_rules": rules,
        "totals": {
            "neurons": net.n_neurons,
            "synapses": sum(p["synapses"] for p in projections),
            "projections": len(projections),
            "populations": len(populations),
            "inputs": len(inputs),
            "input_channels": sum(i["channels"] for i in inputs),
        },
        "synapse_count_note": SYNAPSE_NOTE,
        "max_latency_offset": max((p["latency_offset"] for p in populations), default=0),
        "recurrent": bool(cycles),
        "cycles": cycles,
        "metadata": json.loads(json.dumps(meta, default=str)),
        "format": meta.get("format"),
        "dt": meta.get("dt"),
    }


def _fmt_params(params: dict) -> str:
    parts = []
    for key, value in params.items():
        if isinstance(value, dict):
            parts.append(f"{key}=[{value['min']:.4g}..{value['max']:.4g}]")
        else:
            parts.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
    return ", ".join(parts)


def describe(net: Network) -> str:
    """A human-readable summary of ``net`` (rendered from :func:`summary_dict`)."""
    s = summary_dict(net)
    t = s["totals"]
    lines = [f"network '{s['name']}': {t['neurons']} neurons in {t['populations']} populations, "
             f"{t['synapses']} synapses in {t['projections']} projections, {t['inputs']} inputs"]
    if s["format"] is not None or s["dt"] is not None:
        lines.append(f"  source format: {s['format'] or 'unknown'}, dt: {s['dt'] if s['dt'] is not None else 'unset'}")
    lines.append("inputs:")
    lines += [f"  {i['name']}: shape {tuple(i['shape'])} ({i['channels']} channels)" for i in s["inputs"]] \
        or ["  (none)"]
    lines.append("populations:")
    for p in s["populations"]:
        lines.append(f"  {p['name']}: {p['model']} shape {tuple(p['shape'])} ({p['neurons']} neurons), latency offset "
                     f"{p['latency_offset']}, onset {p['onset']}")
        lines.append(f"      {_fmt_params(p['params'])}")
    if not s["populations"]:
        lines.append("  (none)")
    lines.append("projections:")
    for j in s["projections"]:
        delay = f"{j['delay_min']}" if j["delay_min"] == j["delay_max"] else f"{j['delay_min']}..{j['delay_max']}"
        learn = j["learning"] or "none"
        graded = f", graded {j['message_bits']}-bit messages" if j["message_bits"] else ""
        port = f", into input channel {j['port']}" if j.get("port") else ""
        lines.append(f"  {j['name']}: {j['kind']} {j['source']} -> {j['target']}, {j['synapses']} synapses "
                     f"({j['weights']} weights), delay {delay}, learning {learn}{graded}{port}")
    if not s["projections"]:
        lines.append("  (none)")
    lines.append(f"outputs: {', '.join(s['outputs']) or '(none)'}")
    if s["learning_rules"]:
        lines.append("learning rules:")
        for r in s["learning_rules"]:
            exprs = ", ".join(f"{k}={r[k]!r}" for k in ("dw", "dd", "dt") if r[k])
            third = f", third factor from '{r['third_factor']}'" if r["third_factor"] else ""
            lines.append(f"  {r['projection']}: {r['rule']} ({exprs}, epoch {r['t_epoch']}{third})")
    else:
        lines.append("learning rules: none")
    lines.append(f"latency: population p at offset d shows at step t + d what NIR shows at t; pad inputs by "
                 f"{s['max_latency_offset']} steps (emulate --align-input)")
    lines.append(f"synapses: {SYNAPSE_NOTE}")
    if s["recurrent"]:
        lines.append("recurrent: yes (" + "; ".join(" <-> ".join(c) for c in s["cycles"]) + ")")
    else:
        lines.append("recurrent: no")
    return "\n".join(lines)
