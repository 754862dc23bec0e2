"""Write a neurocomp IR network as a NIR graph (nir 1.0.8) that means the same network.

What becomes what (the inverse of ``nir_import``; ``read_nir(write_nir(net))`` gives back an equal
IR for every network ``read_nir`` produces):

* graph inputs -> ``Input``; physical-unit populations -> ``LIF``/``CubaLIF``/``IF``/``LI``/
  ``I``/``Threshold`` with per-neuron parameters in the population's shape; probed populations
  feed an ``Output`` node. ``LoihiLIF`` (integer Loihi units) and integer weights are refused:
  NIR has no integer neuron or weight format; export the network before ``quantize``.
* ``Dense`` -> ``Linear`` (``Affine`` when it carries a bias, see below); ``Sparse`` -> ``Linear``
  with the dense matrix; ``OneToOne`` -> ``Scale``; ``Conv2d`` -> ``Conv2d`` (``Conv1d`` when the
  source is ``(C, L)``; ``SumPool2d``/``AvgPool2d`` when it is exactly a pooling), followed by
  ``Flatten`` when the target is flat. The weight node carries
  the projection's name; ``Sparse`` (and an ``OneToOne`` that must carry a bias as an ``Affine``)
  are tagged in the node's metadata (``neurocomp_connectivity``) so neurocomp reads them back as
  the same connectivity; other tools see a plain Linear/Affine.
* Bias: NIR neurons have no bias; an IR model's ``bias`` b is a constant input, which is exactly an
  ``Affine`` bias on ONE incoming projection (a Dense one first, else a Conv2d if the bias is
  uniform per channel, else Sparse, else OneToOne; by name within a kind). A biased population without incoming projections
  is refused (NIR has no constant source). ``Threshold`` has no bias (the importer folds it into
  ``theta``).
* Delays (steps) -> ``Delay`` nodes of ``steps * dt`` seconds (``dt`` = ``net.metadata["dt"]``,
  default 1e-4 s, recorded in the graph metadata with the network's name): a uniform delay after
  the weight node; a delay that depends only on the post (pre) neuron as a per-channel Delay
  after (before) it. Other per-synapse delay patterns are refused.
* The IR's one-step synaptic latency per projection is implicit: a NIR simulator runs feed-forward
  paths instantaneously (see ``nir_import``'s latency convention).
"""
from __future__ import annotations

from pathlib import Path

import nir
import numpy as np

from ..atomic import atomic_path
from ..errors import UnsupportedError
from ..ir import IF, LI, LIF, Conv2d, CubaLIF, Dense, Integrator, Network, OneToOne, Sparse, Threshold
from ..ir.models import SpikeInput
from .nir_import import CONNECTIVITY_HINT, DEFAULT_DT, DT_KEY, NAME_KEY


def write_nir(net: Network, path) -> None:
    """Write ``net`` to NIR file ``path`` atomically (the file appears whole or not at all)."""
    graph = to_nir(net)
    with atomic_path(Path(path)) as tmp:
        nir.write(tmp, graph)


def to_nir(net: Network) -> nir.NIRGraph:
    """The NIR graph of ``net`` (see the module docstring)."""
    dt = float(net.metadata.get("dt", DEFAULT_DT))
    taken = set(net.populations) | set(net.projections)
    nodes: dict[str, nir.NIRNode] = {}
    edges: list[tuple[str, str]] = []
    for pop in net.populations.values():
        nodes[pop.name] = _neuron_node(pop)
    carriers = _bias_carriers(net)
    for proj in net.projections.values():
        _emit_projection(net, proj, carriers.get(proj.name), dt, nodes, edges, taken)
    for name in net.outputs:
        out = _unique("output" if len(net.outputs) == 1 else f"output_{name}", taken)
        nodes[out] = nir.Output(output_type=np.array(net.populations[name].shape))
        edges.append((name, out))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={DT_KEY: dt, NAME_KEY: net.name}, type_check=False)


def _unique(base: str, taken: set) -> str:
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}.{k}"
    taken.add(name)
    return name


def _neuron_node(pop) -> nir.NIRNode:
    m = pop.model
    where = f"population '{pop.name}' ({type(m).__name__})"
    if isinstance(m, SpikeInput):
        return nir.Input(input_type=np.array(pop.shape))
    if m.integer:
        raise UnsupportedError(f"{where}: integer (Loihi-unit) neuron models have no NIR equivalent (NIR 1.0.8 "
                               "has no integer LIF); export the physical-unit network before the quantize pass")
    p = lambda k: m.broadcast(k, pop.size).reshape(pop.shape)  # noqa: E731
    if isinstance(m, LIF):
        return nir.LIF(tau=p("tau"), r=p("r"), v_leak=p("v_leak"), v_threshold=p("v_threshold"), v_reset=p("v_reset"))
    if isinstance(m, CubaLIF):
        return nir.CubaLIF(tau_syn=p("tau_syn"), tau_mem=p("tau_mem"), r=p("r"), v_leak=p("v_leak"),
                           v_threshold=p("v_threshold"), v_reset=p("v_reset"), w_in=p("w_in"))
    if isinstance(m, IF):
        return nir.IF(r=p("r"), v_threshold=p("v_threshold"), v_reset=p("v_reset"))
    if isinstance(m, LI):
        return nir.LI(tau=p("tau"), r=p("r"), v_leak=p("v_leak"))
    if isinstance(m, Integrator):
        return nir.I(r=p("r"))
    if isinstance(m, Threshold):
        return nir.Threshold(threshold=p("theta"))
    raise UnsupportedError(f"{where}: no NIR node for this neuron model; supported: LIF, CubaLIF, IF, LI, "
                           "Integrator, Threshold")


def _channel_bias(conv: Conv2d, bias: np.ndarray) -> np.ndarray | None:
    """Per-channel bias if ``bias`` is uniform within each output channel of ``conv``, else None."""
    per = bias.reshape(conv.output_shape[0], -1)
    return per[:, 0].copy() if np.all(per == per[:, :1]) else None


def _bias_carriers(net: Network) -> dict[str, np.ndarray]:
    """Projection name -> the target's bias vector it carries as an Affine/Conv bias."""
    order = {Dense: 0, Conv2d: 1, Sparse: 2, OneToOne: 3}
    carriers = {}
    for pop in net.neuron_populations:
        if "bias" not in pop.model.params() or pop.model.integer:
            continue
        bias = pop.model.broadcast("bias", pop.size)
        if not np.any(bias != 0):
            continue
        cands = sorted(net.incoming(pop.name), key=lambda p: (order.get(type(p.connectivity), 9), p.name))
        for proj in cands:
            conv = proj.connectivity
            if isinstance(conv, Conv2d) and _channel_bias(conv, bias) is None:
                continue
            carriers[proj.name] = bias
            break
        else:
            raise UnsupportedError(
                f"population '{pop.name}' ({type(pop.model).__name__}) has a nonzero bias but no incoming projection "
                "that can carry it (NIR neurons have no bias and NIR has no constant source); give it an incoming "
                "Dense/Sparse projection or fold the bias into v_leak (LIF/LI: v_leak += r*bias)")
    return carriers


def _split_delay(proj, n_pre: int, n_post: int):
    """(per-pre, per-post) delay vectors in steps, or None for none; refuses other patterns."""
    d, conn = proj.delay, proj.connectivity
    if d.ndim == 0:
        return None, (np.full(n_post, int(d)) if int(d) else None)
    if np.all(d == d.reshape(-1)[0]):
        v = int(d.reshape(-1)[0])
        return None, (np.full(n_post, v) if v else None)
    if isinstance(conn, OneToOne):
        return None, d.reshape(-1)
    if isinstance(conn, Dense):
        if np.all(d == d[:, :1]):
            return None, d[:, 0].copy()
        if np.all(d == d[:1, :]):
            return d[0].copy(), None
    elif isinstance(conn, Sparse):
        rows = np.repeat(np.arange(conn.shape[0]), np.diff(conn.indptr))
        post = np.zeros(n_post, np.int64)
        post[rows] = d
        if np.array_equal(post[rows], d):
            return None, post
        pre = np.zeros(n_pre, np.int64)
        pre[conn.indices] = d
        if np.array_equal(pre[conn.indices], d):
            return pre, None
    raise UnsupportedError(f"projection '{proj.name}': its per-synapse delays depend on both the pre and the post "
                           "neuron; NIR's Delay node is per channel, so only delays that depend on the pre OR the "
                           "post neuron can be exported. Split the projection by delay value")


def _flat_in(name, src, taken) -> list:
    """NIR's Linear/Affine take a flat vector: a Flatten node in front of a shaped source."""
    if len(src.shape) <= 1:
        return []
    return [(_unique(f"{name}.flatten_in", taken),
             nir.Flatten(input_type={"input": np.array(src.shape)}, start_dim=0, end_dim=-1))]


def _dense_nodes(name, conn, src, tgt, bias, taken):
    w = conn.weights
    return _flat_in(name, src, taken) + [(name, nir.Affine(weight=w, bias=bias) if bias is not None
                                          else nir.Linear(weight=w))]


def _sparse_nodes(name, conn, src, tgt, bias, taken):
    w, meta = conn.to_dense(), {CONNECTIVITY_HINT: "Sparse"}
    return _flat_in(name, src, taken) + [(name, nir.Affine(weight=w, bias=bias, metadata=meta) if bias is not None
                                          else nir.Linear(weight=w, metadata=meta))]


def _one_to_one_nodes(name, conn, src, tgt, bias, taken):
    s = np.broadcast_to(conn.weights, (src.size,)).astype(np.float64)
    if bias is not None:
        return [(name, nir.Affine(weight=np.diag(s), bias=bias, metadata={CONNECTIVITY_HINT: "OneToOne"}))]
    return [(name, nir.Scale(scale=s.reshape(src.shape)))]


def _conv2d_nodes(name, conn, src, tgt, bias, taken):
    return _conv_nodes(name, conn, src.shape, tgt.shape, bias, taken)


#: connectivity type -> the NIR node(s) carrying its weights (name, conn, src, tgt, bias, taken) -> [(name, node)]
WEIGHT_NODES = {Dense: _dense_nodes, Sparse: _sparse_nodes, OneToOne: _one_to_one_nodes, Conv2d: _conv2d_nodes}


def _emit_projection(net, proj, bias, dt, nodes, edges, taken) -> None:
    src, tgt = net.populations[proj.source], net.populations[proj.target]
    conn = proj.connectivity
    where = f"projection '{proj.name}' ({src.name} -> {tgt.name})"
    if conn.integer:
        raise UnsupportedError(f"{where}: integer weights (target units) have no NIR equivalent; export the "
                               "physical-unit network before the quantize pass")
    if proj.learning is not None:
        raise UnsupportedError(f"{where}: has a learning rule; NIR 1.0.8 cannot express on-chip learning. "
                               "Remove the rule to export the frozen network")
    pre_d, post_d = _split_delay(proj, src.size, tgt.size)
    chain: list[tuple[str, nir.NIRNode]] = []
    if pre_d is not None:
        chain.append((_unique(f"{proj.name}.delay_pre", taken), nir.Delay(delay=(pre_d * dt).reshape(src.shape))))
    chain += WEIGHT_NODES[type(conn)](proj.name, conn, src, tgt, bias, taken)
    if post_d is not None:
        chain.append((_unique(f"{proj.name}.delay", taken), nir.Delay(delay=(post_d * dt).reshape(tgt.shape))))
    prev = src.name
    for name, node in chain:
        nodes[name] = node
        edges.append((prev, name))
        prev = name
    edges.append((prev, tgt.name))


def _pool_kind(conv: Conv2d) -> str | None:
    """'SumPool2d' / 'AvgPool2d' if ``conv`` is exactly what the importer makes of that pooling node."""
    c_out, c_in = conv.weights.shape[0], conv.input_shape[0]
    kh, kw = conv.weights.shape[2:]
    if not (conv.groups == c_in == c_out and conv.weights.shape[1] == 1 and conv.dilation == (1, 1)):
        return None
    if np.all(conv.weights == 1.0):
        return "SumPool2d"
    if np.all(conv.weights == 1.0 / (kh * kw)):
        return "AvgPool2d"
    return None


def _conv_nodes(name, conv: Conv2d, src_shape, tgt_shape, bias, taken):
    c_out, h_out, w_out = conv.output_shape
    b = np.zeros(c_out) if bias is None else _channel_bias(conv, bias)
    c_in, h, w = conv.input_shape
    one_d = len(src_shape) == 2 and h == 1 and conv.weights.shape[2] == 1 and tuple(src_shape) == (c_in, w)
    pool = _pool_kind(conv) if bias is None and len(src_shape) == 3 else None
    if pool is not None:       # NIR's own pooling node (nir types grouped convolutions wrongly)
        node = getattr(nir, pool)(kernel_size=np.array(conv.weights.shape[2:]), stride=np.array(conv.stride),
                                  padding=np.array(conv.padding))
        out_shape = (c_out, h_out, w_out)
    elif one_d:
        node = nir.Conv1d(input_shape=w, weight=conv.weights[:, :, 0, :], stride=conv.stride[1],
                          padding=conv.padding[1], dilation=conv.dilation[1], groups=conv.groups, bias=b)
        out_shape = (c_out, w_out)
    else:
        node = nir.Conv2d(input_shape=(h, w), weight=conv.weights, stride=conv.stride, padding=conv.padding,
                          dilation=conv.dilation, groups=conv.groups, bias=b)
        out_shape = (c_out, h_out, w_out)
    chain = [(name, node)]
    if tuple(tgt_shape) != out_shape:
        chain.append((_unique(f"{name}.flatten", taken),
                      nir.Flatten(input_type={"input": np.array(out_shape)}, start_dim=0, end_dim=-1)))
    return chain
