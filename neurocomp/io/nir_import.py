"""Read a NIR graph (nir 1.0.8 HDF5 file) into the neurocomp IR.

What becomes what
-----------------
* ``Input`` nodes -> graph inputs (``net.input``); neuron nodes (``LIF``, ``CubaLIF``, ``IF``, ``LI``,
  ``I`` -> ``Integrator``, ``Threshold``) -> populations of the IR model of the same name, with the
  node's shape and per-neuron parameters (flattened C-order).
* Instantaneous linear nodes (``Affine``, ``Linear``, ``Scale``, ``Conv1d``, ``Conv2d``,
  ``SumPool2d``, ``AvgPool2d``, ``Flatten``, ``Delay``) between two neuron/input nodes become one
  projection per path: one ``Affine``/``Linear`` -> ``Dense`` (``[n_post, n_pre]``), one ``Scale``
  -> ``OneToOne``, one ``Conv*``/pooling node (``Flatten`` allowed) -> ``Conv2d`` (pooling is a
  grouped convolution with a ones kernel, ``/k^2`` for average pooling; ``Conv1d`` is a ``Conv2d``
  with H = 1), any longer chain -> one ``Sparse`` matrix composed with scipy.sparse
  (``M = M_k @ ... @ M_1``). A direct edge between two neuron nodes is the identity (``OneToOne``
  of ones). Several paths into one neuron node are several projections; their inputs sum.
* Biases (``Affine`` / ``Conv`` bias) are constant inputs: each bias vector is pushed through the
  linear nodes after it (``b_target = M_k @ ... @ M_{i+1} @ b_i``, counted once per route) and
  added to the target model's ``bias`` (for ``Threshold`` targets: ``theta -= b``, exact since
  ``H(x + b - theta) = H(x - (theta - b))``). A bias that is zero everywhere is stored as ``0.0``.
* ``Delay`` nodes: ``d`` seconds -> ``round(d/dt)`` steps on the projection (scalar when uniform,
  else one per synapse as ``delay_pre[pre] + delay_post[post]``); a non-integral ``d/dt`` warns.
* ``Output`` nodes mark the population that feeds them (``net.output``).
* Nested ``NIRGraph`` nodes are flattened with dotted names (``lif1.lif``); an edge to/from a
  subgraph goes to its single ``Input`` / from its single ``Output`` node. A nested graph's own
  edges must name its own nodes (nir 1.0.8 cannot resolve anything else and rejects the file);
  such files are refused with a NetworkFileError that says so (the NIR paper's
  ``braille/extras/*_subgraph.nir`` are real examples).

Latency convention (read this before comparing with NIR references)
-------------------------------------------------------------------
The IR follows Lava: every projection has a one-step synaptic latency (a spike at step ``t``
reaches the target's input at ``t + 1``). NIR feed-forward paths are instantaneous; only a
recurrent edge carries the previous step's value. For a feed-forward network plus
self-recurrence this shifts each population's trajectory by its *depth* (number of projections on
the shortest path from a graph input): ``ir[pop][t + depth] == nir[pop][t]``. The importer makes the
shift exact with biases too: each population's *onset* (``metadata["bias_onset"]``, read by
``Network.onsets``) is its depth, so it is held at its initial state, bias and leak drive off, until
its first input can arrive (without that a layer at depth d integrates its bias for d extra steps).
For longer cycles (``a -> b -> a``) the extra latency changes the dynamics, and a warning says so
(the onsets still keep every population at rest until something can reach it). The depths are
stored in ``net.metadata["latency_offset"]`` so comparisons can align traces
(``neurocomp.align``; docs/frameworks.md).

``net.metadata`` holds ``{"format": "nir", "source", "dt", "nir_version", "nir_nodes" (the NIR
node type(s) behind each IR object), "latency_offset", "bias_onset", "warnings"}``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import h5py
import networkx as nx
import nir
import numpy as np
import scipy.sparse as sp

from ..errors import NetworkFileError, NeurocompError, UnsupportedError, ValidationError
from ._warn import CollectedWarnings
from .nir_dialects import Rewrite, detect, rewrite
from ..ir.network import ONSET_KEY
from ..ir import (IF, LI, LIF, Conv2d, CubaLIF, Dense, Integrator, Network, OneToOne, Sparse, Threshold)

#: Default time step for NIR graphs (the NIR paper's LIF and Braille graphs use 1e-4 s).
DEFAULT_DT = 1e-4
#: Node metadata key written by ``to_nir``: which IR connectivity a plain NIR weight node stands
#: for (NIR has no sparse node); other tools ignore it.
CONNECTIVITY_HINT = "neurocomp_connectivity"
#: Graph metadata key written by ``to_nir``: the dt its Delay nodes were converted with.
DT_KEY = "neurocomp_dt"
#: Graph metadata key written by ``to_nir``: the network's name (else the file's stem is used).
NAME_KEY = "neurocomp_name"

NEURON_TYPES = ("LIF", "CubaLIF", "IF", "LI", "I", "Threshold")
WEIGHT_TYPES = ("Affine", "Linear", "Scale", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d")
IDENTITY_TYPES = ("Flatten", "Delay")
SUPPORTED_TYPES = ("Input", "Output", "NIRGraph") + NEURON_TYPES + WEIGHT_TYPES + IDENTITY_TYPES
_TOL = 1e-6


# ---------------------------------------------------------------------------- file reading
def _type_of(group) -> str | None:
    if not isinstance(group, h5py.Group) or "type" not in group:
        return None
    t = group["type"][()]
    return t.decode("utf8") if isinstance(t, bytes) else str(t)


def _scan(group, name: str, path: Path, missing: dict, names: set) -> None:
    """Refuse node types the IR cannot express; collect the fields nir will fill in (old files)
    into ``missing[(type, field, filled value)] = [node names]`` and the dotted node names."""
    names.add(name)
    t = _type_of(group)
    where = f"'{path}': node '{name}'" if name else f"'{path}': top-level node"
    if t is None:
        raise NetworkFileError(f"{where} has no 'type' entry; the file is not a valid NIR graph")
    if t not in SUPPORTED_TYPES:
        raise UnsupportedError(
            f"{where} has NIR type '{t}', which the neurocomp IR cannot express. Supported node types: "
            f"{', '.join(SUPPORTED_TYPES)}. Replace that node before importing")
    if t == "NIRGraph":
        if "nodes" not in group or "edges" not in group:
            raise NetworkFileError(f"{where} (NIRGraph) lacks 'nodes' or 'edges'; the file is truncated or invalid")
        if name:
            _check_nested_edges(group, name, path)
        for child in group["nodes"]:
            _scan(group["nodes"][child], f"{name}.{child}" if name else child, path, missing, names)
        return
    if t in ("Input", "Output"):
        return
    cls = getattr(nir, t)
    for f in dataclasses.fields(cls):
        if not f.init or f.name in ("input_type", "output_type", "metadata", "input_shape"):
            continue
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        if has_default and f.name not in group:
            filled = "0" if f.default is None else repr(f.default)
            missing.setdefault((t, f.name, filled), []).append(name)


def _edge_names(edges) -> list[tuple[str, str]] | None:
    """The (source, destination) names of a stored ``edges`` dataset, or None if it has another layout
    (then nir itself decides whether the file is readable)."""
    try:
        arr = np.asarray(edges[()], dtype=object)
        if arr.size == 0:
            return []
        if arr.ndim != 2 or arr.shape[1] != 2:
            return None
        dec = lambda x: x.decode("utf8") if isinstance(x, bytes) else str(x)  # noqa: E731
        return [(dec(a), dec(b)) for a, b in arr]
    except Exception:
        return None


def _check_nested_edges(group, name: str, path: Path) -> None:
    """nir 1.0.8 resolves the edges of a nested graph only against that graph's own nodes (and
    always checks them, even with ``type_check=False``), so an edge naming any other node makes the
    whole file unreadable. Say which edge, what the graph holds and what to do, before nir fails
    with a bare ValueError (e.g. the NIR paper's ``braille/extras/*_subgraph.nir``)."""
    edges = _edge_names(group["edges"])
    if edges is None:
        return
    nodes = sorted(str(k) for k in group["nodes"])
    for edge in edges:
        for end, role in ((edge[0], "source"), (edge[1], "destination")):
            if end not in nodes:
                raise NetworkFileError(
                    f"'{path}': nested graph '{name}' has edge {edge} whose {role} '{end}' is not one of its "
                    f"nodes ({', '.join(repr(n) for n in nodes)}); nir 1.0.8 cannot resolve the edges of this "
                    "nested subgraph, so the file cannot be read. Flatten the graph (one top-level graph with "
                    f"dotted node names such as '{name}.<node>' and the edges renamed to match) or re-export it "
                    "from the framework that wrote it, then import the new file")


def _read_graph(path: Path, warn) -> tuple[nir.NIRGraph, str, str | None, set]:
    """The NIRGraph, the file's NIR version, why type checking was relaxed (or None), and the
    dotted names of the nodes the file holds (nir's type inference adds Input/Output nodes to
    root/leaf nodes; those are not in the file and are dropped again)."""
    if not path.exists():
        raise NetworkFileError(f"NIR file '{path}' does not exist; check the path")
    if not path.is_file():
        raise NetworkFileError(f"NIR path '{path}' is not a file")
    try:
        with h5py.File(path, "r") as f:
            if "node" not in f:
                raise NetworkFileError(f"'{path}' is an HDF5 file but not a NIR graph (no 'node' group)")
            version = f["version"][()] if "version" in f else b"unknown"
            version = version.decode("utf8") if isinstance(version, bytes) else str(version)
            missing: dict = {}
            names: set = set()
            _scan(f["node"], "", path, missing, names)
            for (t, field, filled), where in missing.items():
                listed = ", ".join(f"'{n}'" for n in where)
                warn(f"'{path}': {t} node(s) {listed} have no '{field}' (file written with NIR {version}); "
                     f"nir 1.0.8 filled in {field} = {filled}")
    except NeurocompError:
        raise
    except Exception as exc:  # h5py raises OSError/KeyError/ValueError for truncated or foreign files
        raise NetworkFileError(f"'{path}' is not a readable NIR file (not HDF5, truncated or corrupt: "
                               f"{type(exc).__name__}: {exc})") from None
    try:
        return nir.read(path), version, None, names
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
    try:
        graph = nir.read(path, type_check=False)
    except Exception as exc:
        raise NetworkFileError(f"'{path}': nir 1.0.8 cannot read this graph ({type(exc).__name__}: {exc}); "
                               "the file is truncated, corrupt or from an incompatible NIR version") from None
    return graph, version, reason, names


# ---------------------------------------------------------------------------- graph flattening
def _flatten(graph: nir.NIRGraph, prefix: str, path: Path, keep: set):
    """Nested graphs -> one flat dict of nodes (dotted names) and edges; also the names of the
    nested Input/Output nodes, which become identity pass-throughs. Nodes not in ``keep`` (added
    by nir, not in the file) are dropped with their edges."""
    nodes, edges, passthrough = {}, [], set()
    sub_io: dict[str, tuple[list[str], list[str]]] = {}
    dropped = {name for name in graph.nodes if prefix + name not in keep}
    for name, node in graph.nodes.items():
        full = prefix + name
        if name in dropped:
            continue
        if isinstance(node, nir.NIRGraph):
            n2, e2, p2 = _flatten(node, full + ".", path, keep)
            clash = set(n2) & set(nodes)
            if clash:
                raise ValidationError(f"'{path}': nested graph '{full}' has node(s) {sorted(clash)} whose dotted "
                                      "names clash with other nodes; rename one of them")
            nodes.update(n2)
            edges += e2
            passthrough |= p2
            ins = [f"{full}.{k}" for k, v in node.nodes.items() if isinstance(v, nir.Input) and f"{full}.{k}" in n2]
            outs = [f"{full}.{k}" for k, v in node.nodes.items() if isinstance(v, nir.Output) and f"{full}.{k}" in n2]
            passthrough |= set(ins) | set(outs)
            sub_io[name] = (ins, outs)
        else:
            if full in nodes:
                raise ValidationError(f"'{path}': node name '{full}' is used twice after flattening nested graphs")
            nodes[full] = node
    where = f"graph '{prefix[:-1]}'" if prefix else "the top-level graph"

    def resolve(end, edge, role):
        if end in sub_io:
            cands = sub_io[end][0 if role == "destination" else 1]
            if len(cands) != 1:
                kind = "Input" if role == "destination" else "Output"
                raise ValidationError(f"'{path}': edge {edge} in {where} uses nested graph '{prefix}{end}' as "
                                      f"{role}, but it has {len(cands)} {kind} nodes; name one as '{end}.<node>'")
            return cands[0]
        if prefix + end in nodes:
            return prefix + end
        raise ValidationError(f"'{path}': edge {edge} in {where} refers to {role} node '{end}', which does not "
                              f"exist (nodes: {', '.join(sorted(graph.nodes))}); fix or remove the edge")

    seen = set()
    for a, b in graph.edges:
        edge = (str(a), str(b))
        if edge[0] in dropped or edge[1] in dropped:
            continue
        if edge in seen:
            raise ValidationError(f"'{path}': duplicate edge {edge} in {where}; list each edge once")
        seen.add(edge)
        edges.append((resolve(edge[0], edge, "source"), resolve(edge[1], edge, "destination")))
    return nodes, edges, passthrough


# ---------------------------------------------------------------------------- linear operators
@dataclass
class _Op:
    """One linear node applied to a given input shape."""
    name: str
    ntype: str
    out_shape: tuple
    matrix: sp.csr_matrix | None = None    # None: identity (Flatten, Delay, pass-through)
    dense: np.ndarray | None = None        # Affine / Linear weights
    scale: np.ndarray | None = None        # Scale vector
    conv: Conv2d | None = None             # Conv / pooling as an IR convolution
    bias: np.ndarray | None = None         # bias added after this node (flattened), None if zero
    delay: np.ndarray | None = None        # per-element delay in steps (Delay nodes)
    hint: str | None = None

    @property
    def is_weight(self) -> bool:
        return self.ntype in WEIGHT_TYPES


def _pair(value, name: str, where: str) -> tuple[int, int]:
    v = np.atleast_1d(np.asarray(value)).reshape(-1)
    if v.size == 1:
        v = np.repeat(v, 2)
    if v.size != 2:
        raise ValidationError(f"{where}: '{name}' = {value!r} must be one or two integers")
    return int(v[0]), int(v[1])


def _csr(conv: Conv2d) -> sp.csr_matrix:
    s = conv.to_sparse()
    return sp.csr_matrix((s.weights, s.indices, s.indptr), shape=s.shape)


def _conv_op(name, node, ntype, in_shape, where) -> _Op:
    w = np.asarray(node.weight, dtype=np.float64)
    groups = int(np.asarray(node.groups).reshape(-1)[0])
    c_in = w.shape[1] * groups
    one_d = ntype == "Conv1d"
    if one_d:
        if w.ndim != 3:
            raise ValidationError(f"{where}: Conv1d weight must be [C_out, C_in/groups, K], got {w.shape}")
        w = w[:, :, None, :]
        declared = None if node.input_shape is None else (1, int(np.asarray(node.input_shape).reshape(-1)[0]))
        stride, dil = (1, _pair(node.stride, "stride", where)[0]), (1, _pair(node.dilation, "dilation", where)[0])
        pad_raw = node.padding
    else:
        if w.ndim != 4:
            raise ValidationError(f"{where}: Conv2d weight must be [C_out, C_in/groups, kh, kw], got {w.shape}")
        declared = None if node.input_shape is None else tuple(int(x) for x in np.asarray(node.input_shape).reshape(-1))
        stride, dil = _pair(node.stride, "stride", where), _pair(node.dilation, "dilation", where)
        pad_raw = node.padding
    size = int(np.prod(in_shape))
    flowing = tuple(in_shape)
    if len(flowing) == (2 if one_d else 3):
        if flowing[0] != c_in:
            raise ValidationError(f"{where}: receives {flowing[0]} channels (shape {flowing}) but its weight "
                                  f"{tuple(np.asarray(node.weight).shape)} with groups={groups} needs {c_in}")
        spatial = (1, flowing[1]) if one_d else flowing[1:]
    elif declared is not None and c_in * int(np.prod(declared)) == size:
        spatial = declared
    else:
        raise ValidationError(f"{where}: receives shape {flowing} ({size} values) but needs "
                              f"({c_in}, {'L' if one_d else 'H, W'}){'' if declared is None else f' = {declared}'}")
    if declared is not None and tuple(declared) != tuple(spatial):
        raise ValidationError(f"{where}: declared input_shape {tuple(declared)} disagrees with the inferred "
                              f"spatial input {tuple(spatial)} (input shape {flowing})")
    if isinstance(pad_raw, (str, bytes)):
        mode = pad_raw.decode() if isinstance(pad_raw, bytes) else pad_raw
        if mode == "valid":
            pad = (0, 0)
        else:  # 'same' is exact only with stride 1 and an even total padding
            tot = [d * (k - 1) for d, k in zip(dil, w.shape[2:])]
            if stride != (1, 1) or any(t % 2 for t in tot):
                raise UnsupportedError(f"{where}: padding='same' with stride {stride} and kernel {w.shape[2:]} "
                                       "pads asymmetrically; the IR's Conv2d pads symmetrically. Give explicit padding")
            pad = (tot[0] // 2, tot[1] // 2)
    else:
        pad = (0, _pair(pad_raw, "padding", where)[0]) if one_d else _pair(pad_raw, "padding", where)
    try:
        conv = Conv2d(w, (c_in, *spatial), stride=stride, padding=pad, dilation=dil, groups=groups)
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc}") from None
    c_out, h_out, w_out = conv.output_shape
    out_shape = (c_out, w_out) if one_d else (c_out, h_out, w_out)
    bias = None
    b = np.asarray(node.bias, dtype=np.float64).reshape(-1)
    if b.size and np.any(b != 0):
        if b.size != c_out:
            raise ValidationError(f"{where}: bias has {b.size} entries for {c_out} output channels")
        bias = np.repeat(b, h_out * w_out)
    return _Op(name, ntype, out_shape, matrix=_csr(conv), conv=conv, bias=bias)


def _pool_op(name, node, ntype, in_shape, where) -> _Op:
    if len(in_shape) != 3:
        raise ValidationError(f"{where}: pooling needs a (C, H, W) input, got shape {tuple(in_shape)}")
    kh, kw = _pair(node.kernel_size, "kernel_size", where)
    c = in_shape[0]
    value = 1.0 if ntype == "SumPool2d" else 1.0 / (kh * kw)
    try:
        conv = Conv2d(np.full((c, 1, kh, kw), value), tuple(in_shape), stride=_pair(node.stride, "stride", where),
                      padding=_pair(node.padding, "padding", where), groups=c)
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc}") from None
    return _Op(name, ntype, conv.output_shape, matrix=_csr(conv), conv=conv)


def _linear_op(name: str, node, passthrough: bool, in_shape: tuple, dt: float, path: Path, warn) -> _Op:
    """The operator of linear node ``name`` applied to ``in_shape``; checks that the shapes agree."""
    ntype = type(node).__name__
    where = f"'{path}': node '{name}' ({ntype})"
    size = int(np.prod(in_shape))
    declared = (node.input_type or {}).get("input") if isinstance(node.input_type, dict) else None
    if ntype in ("Conv1d", "Conv2d"):
        declared = None      # nir's declared Conv type ignores groups; _conv_op checks the shapes itself
    if declared is not None and np.asarray(declared).size and int(np.prod(declared)) != size:
        raise ValidationError(f"{where}: declares input shape {tuple(np.asarray(declared).tolist())} but "
                              f"receives shape {tuple(in_shape)} ({size} values)")
    if passthrough:
        return _Op(name, ntype, tuple(in_shape))
    hint = (node.metadata or {}).get(CONNECTIVITY_HINT) if isinstance(node.metadata, dict) else None
    hint = hint.decode() if isinstance(hint, bytes) else hint
    if ntype in ("Affine", "Linear"):
        w = np.asarray(node.weight, dtype=np.float64)
        if w.ndim != 2:
            raise UnsupportedError(f"{where}: weight of shape {w.shape} is batched; the IR needs a 2-D "
                                   "[out, in] matrix")
        if w.shape[1] != size:
            raise ValidationError(f"{where}: weight {w.shape} expects {w.shape[1]} inputs but receives shape "
                                  f"{tuple(in_shape)} ({size} values)")
        bias = None
        if ntype == "Affine":
            b = np.asarray(node.bias, dtype=np.float64).reshape(-1)
            if b.size not in (1, w.shape[0]):
                raise ValidationError(f"{where}: bias has {b.size} entries for {w.shape[0]} outputs")
            if np.any(b != 0):
                bias = np.broadcast_to(b, (w.shape[0],)).copy()
        return _Op(name, ntype, (w.shape[0],), matrix=sp.csr_matrix(w), dense=w, bias=bias, hint=hint)
    if ntype == "Scale":
        s = np.asarray(node.scale, dtype=np.float64)
        if s.size == 1 and s.ndim == 0:
            s = np.full(size, float(s))
        if s.size != size:
            raise ValidationError(f"{where}: scale has shape {s.shape} but receives shape {tuple(in_shape)}")
        out_shape = tuple(in_shape) if s.ndim <= 1 or tuple(s.shape) == tuple(in_shape) else tuple(s.shape)
        s = s.reshape(-1)
        return _Op(name, ntype, out_shape, matrix=sp.diags(s, format="csr"), scale=s)
    if ntype in ("Conv1d", "Conv2d"):
        return _conv_op(name, node, ntype, tuple(in_shape), where)
    if ntype in ("SumPool2d", "AvgPool2d"):
        return _pool_op(name, node, ntype, tuple(in_shape), where)
    if ntype == "Flatten":
        start, end = int(node.start_dim), int(node.end_dim)
        nd = len(in_shape)
        s0, e0 = (start % nd if nd else 0), (end % nd if nd else 0)
        if nd == 0 or s0 > e0:
            raise ValidationError(f"{where}: start_dim={start}, end_dim={end} do not fit input shape {tuple(in_shape)}")
        out = tuple(in_shape[:s0]) + (int(np.prod(in_shape[s0:e0 + 1])),) + tuple(in_shape[e0 + 1:])
        return _Op(name, ntype, out)
    if ntype == "Delay":
        d = np.asarray(node.delay, dtype=np.float64)
        if d.ndim == 0 or d.size == 1:
            d = np.full(size, float(d.reshape(-1)[0]))
        if d.size != size:
            raise ValidationError(f"{where}: delay has shape {d.shape} but receives shape {tuple(in_shape)}")
        d = d.reshape(-1)
        if not np.all(np.isfinite(d)) or np.any(d < 0):
            raise ValidationError(f"{where}: delays must be finite and >= 0 seconds")
        steps = d / dt
        rounded = np.round(steps)
        if np.any(np.abs(steps - rounded) > _TOL * np.maximum(1.0, np.abs(steps))):
            worst = steps[np.argmax(np.abs(steps - rounded))]
            warn(f"{where}: delay d/dt is not integral with dt={dt} (e.g. {worst:.4g} steps); rounded to the "
                 "nearest step")
        return _Op(name, ntype, tuple(in_shape), delay=rounded.astype(np.int64))
    raise UnsupportedError(f"{where}: not a linear node the importer handles")  # guarded by _scan


# ---------------------------------------------------------------------------- paths -> projections
def _compose(ops: list[_Op]) -> sp.csr_matrix | None:
    m = None
    for op in ops:
        if op.matrix is not None:
            m = op.matrix if m is None else (op.matrix @ m)
    return None if m is None else sp.csr_matrix(m)


def _delays(ops: list[_Op], n_pre: int, where: str):
    """(per-pre, mid scalar, per-post) delay steps around the weight nodes of a path."""
    widx = [i for i, op in enumerate(ops) if op.is_weight]
    pre, post, mid = np.zeros(n_pre, np.int64), None, 0
    for i, op in enumerate(ops):
        if op.delay is None:
            continue
        if not widx or i < widx[0]:
            pre = pre + op.delay
        elif i > widx[-1]:
            post = op.delay if post is None else post + op.delay
        else:
            if np.any(op.delay != op.delay[0]):
                raise UnsupportedError(f"{where}: Delay node '{op.name}' sits between two weight nodes with "
                                       "per-channel delays; the IR cannot express that per synapse. Move it")
            mid += int(op.delay[0])
    return pre, mid, post


def _connectivity(ops: list[_Op], n_pre: int, n_post: int, where: str, warn):
    """The IR connectivity of a path (see the module docstring for the rules)."""
    wops = [op for op in ops if op.is_weight]
    if not wops:
        return OneToOne(np.ones(n_pre))
    if len(wops) == 1:
        op = wops[0]
        if op.dense is not None:
            if op.hint == "Sparse":
                return _sparse(op.matrix)
            if op.hint == "OneToOne":
                d = op.dense
                if d.shape[0] == d.shape[1] and not np.any(d - np.diag(np.diag(d))):
                    return OneToOne(np.diag(d).copy())
                warn(f"{where}: node '{op.name}' is marked OneToOne but its weight is not diagonal; imported as Dense")
            return Dense(op.dense)
        if op.scale is not None:
            return OneToOne(op.scale)
        if op.conv is not None:
            return op.conv
    return _sparse(_compose(ops))


def _sparse(m: sp.csr_matrix) -> Sparse:
    m = sp.csr_matrix(m, dtype=np.float64, copy=True)
    m.sum_duplicates()
    m.eliminate_zeros()
    m.sort_indices()
    return Sparse(m.indptr, m.indices, m.data, shape=m.shape)


def _synapse_delays(conn, pre, mid, post, n_post):
    """Per-synapse delays aligned with ``conn`` (scalar when uniform); may turn a Conv2d into Sparse."""
    post = np.zeros(n_post, np.int64) if post is None else post
    if (pre.size == 0 or np.all(pre == pre[0])) and np.all(post == post[0]):
        return conn, int((pre[0] if pre.size else 0) + post[0] + mid)
    if isinstance(conn, Conv2d):   # weights are shared: per-synapse delays need explicit synapses
        conn = conn.to_sparse()
    if isinstance(conn, Dense):
        return conn, post[:, None] + pre[None, :] + mid
    if isinstance(conn, Sparse):
        rows = np.repeat(np.arange(conn.shape[0]), np.diff(conn.indptr))
        return conn, post[rows] + pre[conn.indices] + mid
    return conn, pre + post + mid  # OneToOne: one slot per neuron


# ---------------------------------------------------------------------------- neuron models
def _param(node, name):
    return np.asarray(getattr(node, name), dtype=np.float64).reshape(-1)


def _shape_of(node) -> tuple:
    ref = {"LIF": "v_threshold", "CubaLIF": "v_threshold", "IF": "v_threshold", "LI": "tau", "I": "r",
           "Threshold": "threshold"}[type(node).__name__]
    shape = tuple(int(s) for s in np.shape(getattr(node, ref)))
    return shape or (1,)


def _model(node, bias: np.ndarray | float):
    t = type(node).__name__
    p = lambda k: _param(node, k)  # noqa: E731
    if t == "LIF":
        return LIF(tau=p("tau"), v_threshold=p("v_threshold"), r=p("r"), v_leak=p("v_leak"),
                   v_reset=p("v_reset"), bias=bias)
    if t == "CubaLIF":
        return CubaLIF(tau_syn=p("tau_syn"), tau_mem=p("tau_mem"), v_threshold=p("v_threshold"), r=p("r"),
                       v_leak=p("v_leak"), v_reset=p("v_reset"), w_in=p("w_in"), bias=bias)
    if t == "IF":
        return IF(v_threshold=p("v_threshold"), r=p("r"), v_reset=p("v_reset"), bias=bias)
    if t == "LI":
        return LI(tau=p("tau"), r=p("r"), v_leak=p("v_leak"), bias=bias)
    if t == "I":
        return Integrator(r=p("r"), bias=bias)
    return Threshold(theta=p("threshold") - bias)


# ---------------------------------------------------------------------------- main entry
def read_nir(path, dt: float = DEFAULT_DT, dialect: str = "auto") -> Network:
    """Read NIR file ``path`` into an IR ``Network`` (see the module docstring for the mapping).

    ``dt`` (seconds) converts Delay nodes to steps and is recorded in ``net.metadata["dt"]``.
    ``dialect``: "nir" (the file as written), a framework whose exporter deviates from NIR
    (``neurocomp.io.nir_dialects.DIALECTS``: snntorch, norse, sinabs, rockpool), or "auto" (the
    one the file's metadata names, else plain NIR).
    Raises NetworkFileError (missing/unreadable file), UnsupportedError (a node type or structure
    the IR cannot express) or ValidationError (dangling edges, shapes that disagree).
    """
    path = Path(path)
    dt = float(dt)
    if not np.isfinite(dt) or dt <= 0:
        raise ValidationError(f"read_nir('{path}'): dt = {dt} must be a positive number of seconds (e.g. 1e-4)")
    warn = CollectedWarnings()
    graph, version, relaxed, keep = _read_graph(path, warn)
    nodes, edges, passthrough = _flatten(graph, "", path, keep)
    if relaxed is not None:
        warn(f"'{path}' fails nir's type check ({relaxed}); read it with type_check=False and inferred the shapes "
             "here instead")
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    file_dt, name = meta.get(DT_KEY), meta.get(NAME_KEY)
    name = name.decode("utf8") if isinstance(name, bytes) else name
    if file_dt is not None and not np.isclose(float(file_dt), dt, rtol=1e-9, atol=0):
        warn(f"'{path}' was written by neurocomp with dt = {float(file_dt)} s but is read with dt = {dt} s; "
             "its Delay nodes convert to different step counts")
    net_name = str(name) if isinstance(name, str) and name else (path.stem or "nir")
    chosen = detect(meta) if dialect == "auto" else (None if dialect == "nir" else dialect)
    rw = rewrite(chosen, nodes, edges, dt, warn) if chosen else Rewrite(nodes, edges)
    net = _build(path, net_name, dt, version, rw.nodes, rw.edges, passthrough, warn)
    net.metadata["dialect"] = chosen or "nir"
    if rw.integration:
        net.metadata["integration"] = rw.integration
    if rw.notes:
        net.metadata["dialect_notes"] = rw.notes
    return net


def _kind(name, node, passthrough) -> str:
    t = type(node).__name__
    if name in passthrough:
        return "linear"
    if t == "Input":
        return "input"
    if t == "Output":
        return "output"
    return "neuron" if t in NEURON_TYPES else "linear"


def _build(path, net_name, dt, version, nodes, edges, passthrough, warn) -> Network:
    kinds = {n: _kind(n, node, passthrough) for n, node in nodes.items()}
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        succ[a].append(b)
    shapes: dict[str, tuple] = {}
    for n, node in nodes.items():
        if kinds[n] == "input":
            shp = node.input_type.get("input")
            if shp is None:
                raise ValidationError(f"'{path}': Input node '{n}' has no shape")
            shapes[n] = tuple(int(s) for s in np.asarray(shp).reshape(-1)) or (1,)
        elif kinds[n] == "neuron":
            shapes[n] = _shape_of(node)

    # every path source -> linear* -> neuron / Output
    paths, out_marks, visited = [], [], set()

    def walk(src, cur, chain):
        for nxt in succ[cur]:
            k = kinds[nxt]
            if k == "neuron":
                paths.append((src, chain, nxt))
            elif k == "output":
                if any(c not in passthrough and type(nodes[c]).__name__ != "Flatten" for c in chain):
                    raise UnsupportedError(
                        f"'{path}': Output node '{nxt}' is fed by '{chain[-1]}' ({type(nodes[chain[-1]]).__name__}), "
                        "not by a neuron or Input node; the IR can only probe populations. Put a neuron node "
                        "(e.g. an LI readout) before the Output")
                out_marks.append((src, nxt))
            elif k == "input":
                raise ValidationError(f"'{path}': edge ('{cur}', '{nxt}') feeds graph Input node '{nxt}'; "
                                      "inputs cannot receive edges")
            else:
                if nxt in chain:
                    raise ValidationError(f"'{path}': linear nodes {chain[chain.index(nxt):] + [nxt]} form a cycle "
                                          "without a neuron node; such an algebraic loop has no meaning")
                visited.add(nxt)
                if not succ[nxt]:
                    warn(f"'{path}': node '{nxt}' ({type(nodes[nxt]).__name__}) leads to no neuron or Output "
                         "node; ignored")
                walk(src, nxt, chain + [nxt])

    sources = [n for n in nodes if kinds[n] in ("input", "neuron")]
    for s in sources:
        walk(s, s, [])
    for n in nodes:
        if kinds[n] == "linear" and n not in visited:
            raise ValidationError(f"'{path}': node '{n}' ({type(nodes[n]).__name__}) is not reachable from any "
                                  "Input or neuron node; connect it (add an Input node) or remove it")

    ops_cache: dict = {}

    def op_of(name, in_shape):
        key = (name, tuple(in_shape))
        if key not in ops_cache:
            ops_cache[key] = _linear_op(name, nodes[name], name in passthrough, tuple(in_shape), dt, path, warn)
        return ops_cache[key]

    net = Network(net_name)
    nir_nodes: dict[str, str] = {}
    bias_acc = {n: np.zeros(int(np.prod(shapes[n]))) for n in nodes if kinds[n] == "neuron"}
    seen_bias, built = set(), []
    for src, chain, tgt in paths:
        shape, ops = shapes[src], []
        for name in chain:
            op = op_of(name, shape)
            ops.append(op)
            shape = op.out_shape
        n_pre, n_post = int(np.prod(shapes[src])), int(np.prod(shapes[tgt]))
        route = " -> ".join([src] + chain + [tgt])
        if int(np.prod(shape)) != n_post:
            raise ValidationError(
                f"'{path}': path {route}: '{chain[-1] if chain else src}' gives shape {tuple(shape)} "
                f"({int(np.prod(shape))} values) but neuron node '{tgt}' ({type(nodes[tgt]).__name__}) has shape "
                f"{shapes[tgt]} ({n_post} neurons)")
        for i, op in enumerate(ops):
            key = (op.name, tuple(o.name for o in ops[i + 1:]), tgt)
            if op.bias is not None and key not in seen_bias:
                seen_bias.add(key)
                rest = _compose(ops[i + 1:])
                bias_acc[tgt] = bias_acc[tgt] + (op.bias if rest is None else rest @ op.bias)
        where = f"'{path}': path {route}"
        conn = _connectivity(ops, n_pre, n_post, where, warn)
        pre, mid, post = _delays(ops, n_pre, where)
        conn, delay = _synapse_delays(conn, pre, mid, post, n_post)
        wnames = [op.name for op in ops if op.is_weight]
        base = "-".join(wnames) if wnames else f"{src}-{tgt}"
        built.append((base, src, tgt, conn, delay, " -> ".join(type(nodes[n]).__name__ for n in chain) or "edge"))

    for n, node in nodes.items():
        try:
            if kinds[n] == "input":
                net.input(n, shapes[n])
            elif kinds[n] == "neuron":
                b = bias_acc[n]
                net.population(n, shapes[n], _model(node, b if np.any(b != 0) else 0.0))
            else:
                continue
        except ValidationError as exc:
            raise ValidationError(f"'{path}': node '{n}' ({type(node).__name__}): {exc}") from None
        nir_nodes[n] = type(node).__name__
    for base, src, tgt, conn, delay, types in built:
        name, k = base, 1
        while name in net.populations or name in net.projections:
            k += 1
            name = f"{base}.{k}"
        try:
            net.connect(src, tgt, conn, delay=delay, name=name)
        except ValidationError as exc:
            raise ValidationError(f"'{path}': path into '{tgt}' through {base}: {exc}") from None
        nir_nodes[name] = types
    marked = set()
    for src, out in out_marks:
        declared = nodes[out].output_type.get("output")
        if declared is not None and int(np.prod(declared)) != net.populations[src].size:
            raise ValidationError(f"'{path}': Output node '{out}' declares shape "
                                  f"{tuple(np.asarray(declared).tolist())} but '{src}' has shape {shapes[src]}")
        marked.add(src)
    for n in net.populations:      # deterministic order: population order
        if n in marked:
            net.output(n)
    depth = latency_offsets(net, warn)
    net.metadata = {"format": "nir", "source": Path(path).name, "dt": dt, "nir_version": version,
                    "nir_nodes": nir_nodes, "latency_offset": depth,
                    ONSET_KEY: {n: d for n, d in depth.items() if d > 0 and not net.populations[n].is_input}, "warnings": warn.messages}
    return net


def latency_offsets(net: Network, warn=None) -> dict[str, int]:
    """Each population's depth: projections on the shortest path from a graph input or from a
    population without incoming projections (a leak/bias-driven source), back-edges never being
    shorter; 0 where no such start reaches (see the module docstring). Warns (via ``warn``) when a
    cycle longer than a self-loop exists."""
    g = nx.DiGraph()
    g.add_nodes_from(net.populations)
    g.add_edges_from((p.source, p.target) for p in net.projections.values())
    depth: dict[str, int] = {}
    starts = [n for n in g if g.in_degree(n) == 0]
    if starts:
        depth = dict(nx.multi_source_dijkstra_path_length(g, set(starts)))  # unit edge weights
    for n in net.populations:
        depth.setdefault(n, 0)
    if warn is not None:
        loops = nx.DiGraph(g)
        loops.remove_edges_from(list(nx.selfloop_edges(loops)))
        if not nx.is_directed_acyclic_graph(loops):
            cyc = nx.find_cycle(loops)
            warn(f"network '{net.name}' has a cycle longer than a self-loop ({' -> '.join(a for a, _ in cyc)} -> "
                 f"{cyc[0][0]}); the IR's one-step latency per projection changes its dynamics relative to NIR's "
                 "instantaneous feed-forward edges")
    return {n: int(depth[n]) for n in net.populations}
