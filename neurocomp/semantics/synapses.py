"""Synapse enumerators: one per connectivity type, registered by type, in one canonical order.

Every stage that needs a projection's individual synapses asks this registry, so they all agree on
which synapses exist, with which weight and delay, and in which order: the partitioner's synapse
graph (``neurocomp.mapping.graph``), the per-core tables (``neurocomp.mapping.tables``), the numpy
reference (``neurocomp.semantics.reference``), the independent validator and the Lava lowering's
sparse matrices. Adding a connectivity type means registering one enumerator here::

    @register(MyConn)
    def _my_conn(proj, conn, n_pre, n_post, chunk):
        yield pre, post, raw_weight, delay          # (post, pre) order; zeros may be included

The canonical order is (post, pre): rows of Lava's ``[n_post, n_pre]`` weight matrix, pre index
ascending within a row. An enumerator yields the projection's *raw* weights (float or integer
IR values) in chunks; :func:`iter_projection_synapses` then applies the arithmetic of the integer
network (Lava's effective weights, see ``neurocomp.semantics.fixedpoint``) and drops synapses that can
never carry current (weight 0 and not learning):

=============  =================================================================================
Dense          every (post, pre) of the matrix (whole rows per chunk)
Sparse         the CSR's entries row by row (streamed in chunks of about ``CHUNK`` synapses)
Conv2d         ``Conv2d.to_sparse()``; when Lava runs it as its ``Conv`` process
               (:func:`uses_lava_conv`) the raw weights are kept (Lava's Conv neither clips nor
               truncates) and the projection's sums wrap to 24 bits instead of being shifted
OneToOne       (i, i) for every neuron i
=============  =================================================================================

Messages (:func:`message_bits`): a projection reads binary spikes (0) or graded payloads (1..24 bits,
Lava's ``num_message_bits``): its connectivity's ``num_message_bits``, or when that is None 24 bits
if its source's neuron model emits payloads (``NeuronKind.graded``: SigmaDelta, Delta, Sigma) and 0
otherwise (graph inputs included). A graph input with a graded projection carries integer values
(:func:`graded_inputs`). :func:`lava_connection` names the Lava process a projection runs as, which
fixes where a graded sum wraps (see ``neurocomp.semantics.reference.SynapseTable``).
"""
from __future__ import annotations

from typing import Callable, Iterator

import numba
import numpy as np

from ..errors import UnsupportedError
from ..ir import Conv2d, Dense, OneToOne, Sparse
from ..ir.connectivity import GRADED_MESSAGE_BITS, SignMode
from .fixedpoint import conv_uses_lava_conv, effective_sign_mode, effective_weights

#: Synapses per chunk when a Sparse projection is streamed (bounds the temporaries of big projections).
CHUNK = 1 << 22

#: connectivity type -> enumerator(proj, conn, n_pre, n_post, chunk) yielding raw (pre, post, w, delay) chunks
ENUMERATORS: dict[type, Callable] = {}


def register(conn_type: type):
    """Register the synapse enumerator of ``conn_type`` (one per type)."""
    def deco(fn):
        if conn_type in ENUMERATORS:
            raise ValueError(f"a synapse enumerator for {conn_type.__name__} is registered already")
        ENUMERATORS[conn_type] = fn
        return fn
    return deco


def enumerator(proj) -> Callable:
    fn = ENUMERATORS.get(type(proj.connectivity))
    if fn is None:
        raise UnsupportedError(f"projection '{proj.name}': connectivity {type(proj.connectivity).__name__} has no "
                               f"synapse enumerator (known: {', '.join(t.__name__ for t in ENUMERATORS)})")
    return fn


def uses_lava_conv(proj) -> bool:
    """True when the projection runs as Lava's Conv (raw weights, 24-bit output wrap, no shift);
    any other Conv2d runs as its equivalent Sparse projection (see fixedpoint.conv_uses_lava_conv)."""
    return isinstance(proj.connectivity, Conv2d) and conv_uses_lava_conv(proj.connectivity, proj.delay)


def emits_payloads(net, population: str) -> bool:
    """True when population ``population`` of ``net`` sends graded payloads (its neuron kind is graded)."""
    from ..neurons import NEURONS
    pop = net.populations[population]
    kind = NEURONS.get(type(pop.model))
    return bool(kind is not None and kind.graded)


def message_bits(net, proj) -> int:
    """Lava's ``num_message_bits`` of projection ``proj`` (0: binary spikes); see the module doc."""
    bits = proj.connectivity.num_message_bits
    if bits is not None:
        return int(bits)
    return GRADED_MESSAGE_BITS if emits_payloads(net, proj.source) else 0


def graded_inputs(net) -> dict[str, int]:
    """``{graph input: narrowest num_message_bits of its graded projections}`` (inputs with none are binary)."""
    out: dict[str, int] = {}
    for proj in net.projections.values():
        bits = message_bits(net, proj)
        if bits and net.populations[proj.source].is_input:
            out[proj.source] = min(bits, out.get(proj.source, bits))
    return out


def graded_populations(net) -> list[str]:
    """Neuron populations that send graded payloads."""
    return [p.name for p in net.neuron_populations if emits_payloads(net, p.name)]


def check_graded(net) -> None:
    """Refuse, by name, graded messages where Lava's processes take binary spikes only: learning projections
    (``LearningDense``) read and train on 0/1 spikes of binary source and target populations."""
    for proj in net.projections.values():
        if proj.learning is None:
            continue
        graded = [name for name in (proj.source, proj.target)
                  if not net.populations[name].is_input and emits_payloads(net, name)]
        if message_bits(net, proj) or graded:
            why = f"'{graded[0]}' sends graded payloads" if graded else "it reads graded messages (num_message_bits)"
            raise UnsupportedError(f"projection '{proj.name}': learning runs on binary spikes, but {why}; "
                                   "learn between binary-spiking populations (e.g. LoihiLIF) or drop the rule")


#: Where Lava's int32 arithmetic wraps a graded projection's sum, by the process it runs as
#: (:func:`lava_connection`; the formulas are in ``neurocomp.semantics.reference``): "sum": the int32 dot
#: product wraps, then the weight_exp shift (``shift32(wrap32(sum))``); "product": each int32 product wraps
#: and their int64 sum is shifted (``shift_floor(sum wrap32(W p))``); "cast": Conv's float64 sum is cast to
#: int32 (out of range -> -2^31) and wrapped to 24 bits (``fixedpoint.conv_cast24``).
GRADED_WRAP = {"Dense": "sum", "Sparse": "sum", "DelaySparse": "sum", "LearningDense": "sum",
               "DelayDense": "product", "Conv": "cast"}


def check_ports(net) -> None:
    """Refuse, by name, a projection into an input channel (``Projection.port``) its target's model does not
    have (``NeuronKind.inputs``: one for most models, two for RF/RF_IZ); float targets are not checked."""
    from ..neurons import NEURONS
    for proj in net.projections.values():
        kind = NEURONS.get(type(net.populations[proj.target].model))
        if kind is not None and proj.port >= kind.channels:
            raise UnsupportedError(f"projection '{proj.name}': port {proj.port}, but the target '{proj.target}' "
                                   f"({kind.name}) has {kind.channels} input channel(s) {list(kind.inputs)}; connect "
                                   f"with port in 0..{kind.channels - 1}")


def lava_connection(proj) -> str:
    """The Lava process projection ``proj`` runs as: LearningDense, Conv, Dense, DelayDense, Sparse or
    DelaySparse (OneToOne and a Conv2d that Lava's Conv cannot run are Sparse), as the Lava lowering builds it."""
    if proj.learning is not None:
        return "LearningDense"
    if uses_lava_conv(proj):
        return "Conv"
    delayed = proj.max_delay > 0
    if isinstance(proj.connectivity, Dense):
        return "DelayDense" if delayed else "Dense"
    return "DelaySparse" if delayed else "Sparse"


# ------------------------------------------------------------------------------------ enumerators
@register(Dense)
def _dense(proj, conn, n_pre, n_post, chunk):
    w = conn.weights
    d = np.broadcast_to(proj.delay, w.shape)
    rows = max(1, chunk // max(w.shape[1], 1))           # whole rows per chunk: bounded temporaries
    for r0 in range(0, w.shape[0], rows):
        r1 = min(r0 + rows, w.shape[0])
        post, pre = np.divmod(np.arange((r1 - r0) * w.shape[1], dtype=np.int64), w.shape[1])
        yield pre, post + r0, w[r0:r1].reshape(-1), d[r0:r1].reshape(-1)


@register(Sparse)
def _sparse(proj, conn, n_pre, n_post, chunk):
    indptr, rows = conn.indptr, int(conn.shape[0])
    delay = np.asarray(proj.delay)
    r0 = 0
    while r0 < rows:
        r1 = int(np.searchsorted(indptr, indptr[r0] + chunk, side="right")) - 1
        r1 = min(max(r1, r0 + 1), rows)
        lo, hi = int(indptr[r0]), int(indptr[r1])
        post = np.repeat(np.arange(r0, r1, dtype=np.int64), np.diff(indptr[r0:r1 + 1]))
        d = np.broadcast_to(delay, (hi - lo,)) if delay.ndim == 0 else delay[lo:hi]
        yield conn.indices[lo:hi], post, conn.weights[lo:hi], d
        r0 = r1


@register(Conv2d)
def _conv2d(proj, conn, n_pre, n_post, chunk):
    sp = conn.to_sparse()
    post = np.repeat(np.arange(sp.shape[0], dtype=np.int64), np.diff(sp.indptr))
    d = np.asarray(proj.delay)
    yield sp.indices, post, sp.weights, np.broadcast_to(d, post.shape) if d.ndim == 0 else d


@register(OneToOne)
def _one_to_one(proj, conn, n_pre, n_post, chunk):
    idx = np.arange(n_pre, dtype=np.int64)
    yield idx, idx, np.broadcast_to(conn.weights, (n_pre,)), np.broadcast_to(proj.delay, (n_pre,))


# ------------------------------------------------------------------------------------ the arithmetic
def _sign_mode(proj, learning: bool):
    """The sign mode the projection's weights run with (Lava's LearningDense: from the rule's bounds)."""
    conn = proj.connectivity
    if learning and isinstance(conn, Dense):
        from .learning import learning_sign_mode
        return learning_sign_mode(conn, proj.learning)
    return effective_sign_mode(conn.sign_mode, conn.weights, learning)


@numba.njit(cache=True)
def _effective_chunk(w, inh, mixed, k, clip, out):
    """``fixedpoint.effective_weights`` (its spec; ``clip``: not learning) of one chunk in one pass, into
    ``out`` (int64); returns how many are 0. Per weight: wrap to int32; Dense/Sparse: clip to 8 bits for the
    sign mode; then floor the low ``k`` bits (of |w| for INHIBITORY)."""
    zeros = 0
    lo = -256 if mixed else 0
    for i in range(w.size):
        x = np.int64(w[i])
        x = ((x + 2147483648) & 0xFFFFFFFF) - 2147483648
        if inh:
            x = -x
        if clip:
            x = min(max(x, lo), 255)
        x = (x >> k) << k
        if inh:
            x = -x
        out[i] = x
        if x == 0:
            zeros += 1
        out[i] = x
    return zeros


@numba.njit(cache=True)
def _drop_zeros(pre, post, w, d, p2, q2, d2):
    """``pre[w != 0], post[w != 0], d[w != 0]`` into ``p2``, ``q2``, ``d2`` and ``w[w != 0]`` into ``w``'s
    head, in one pass."""
    j = 0
    for i in range(w.size):
        if w[i] != 0:
            p2[j] = pre[i]
            q2[j] = post[i]
            w[j] = w[i]
            d2[j] = d[i]
            j += 1


def _scratch(buffers: dict | None, name: str, n: int, dtype) -> np.ndarray:
    """An array of ``n`` ``dtype``: new, or the head of the caller's buffer ``name`` (grown when too small).
    A fresh 32 MB array per 4M-synapse chunk cost more in page faults than the pass that fills it."""
    if buffers is None:
        return np.empty(n, dtype)
    b = buffers.get(name)
    if b is None or b.size < n or b.dtype != np.dtype(dtype):
        b = buffers[name] = np.empty(n, dtype)
    return b[:n]


def _fast_effective(w, mode, num_weight_bits, learning, buffers=None):
    """``(effective weights, zeros)`` by ``_effective_chunk`` where it applies (integer weights of a known
    sign mode, a shift of 0..62 bits), else None (the caller takes the numpy path)."""
    w = np.asarray(w)
    mixed = mode == SignMode.MIXED
    k = 8 - int(num_weight_bits) + int(mixed)
    if w.dtype.kind not in "iu" or w.dtype == np.uint64 or w.ndim != 1 or not 0 <= k < 63:
        return None
    out = _scratch(buffers, "w", w.size, np.int64)
    return out, _effective_chunk(w, mode == SignMode.INHIBITORY, mixed, k, not learning, out)


def iter_projection_synapses(proj, n_pre: int, n_post: int, chunk: int | None = None,
                             buffers: dict | None = None) -> Iterator[tuple]:
    """(pre, post, weight, delay) chunks of every synapse that can carry current, in (post, pre) order.

    Integer projections: weights are Lava's effective integers (sign mode fixed on ALL weights first,
    so chunking cannot change them); zeros are dropped unless the projection learns (a learning
    synapse can grow from zero; LearningDense truncates only, with ``learning_sign_mode``). A Conv2d
    run as Lava's Conv keeps its raw int32 weights. Float projections (before quantize): the raw
    nonzero weights. The integer arithmetic and the dropping run as numba passes over each chunk
    (``_effective_chunk``, ``_drop_zeros``: equal to ``effective_weights`` and the masks; a 1M-neuron
    net's synapses are enumerated three times per compile, ~2 s each the numpy way). ``buffers``: a dict the
    caller keeps across calls; the integer path then writes into its arrays, so each chunk is valid only
    until the next one is asked for (the synapse graph's and the tables' builds consume them at once).
    """
    chunk = CHUNK if chunk is None else int(chunk)      # read at call time (tests shrink CHUNK)
    conn = proj.connectivity
    integer = conn.integer
    learning = proj.learning is not None and integer
    raw_conv = integer and uses_lava_conv(proj)
    mode = _sign_mode(proj, learning) if integer and not raw_conv else None
    for pre, post, w, d in enumerator(proj)(proj, conn, n_pre, n_post, chunk):
        fast = None
        if integer and not raw_conv:
            fast = _fast_effective(w, mode, conn.num_weight_bits, learning, buffers)
        if fast is not None:
            w, zeros = fast
            if zeros and not learning:
                pre, post, d = np.asarray(pre), np.asarray(post), np.asarray(d)
                if pre.ndim == post.ndim == d.ndim == 1 and pre.size == post.size == d.size == w.size:
                    m = w.size - zeros
                    p2, q2 = _scratch(buffers, "pre", m, pre.dtype), _scratch(buffers, "post", m, post.dtype)
                    d2 = _scratch(buffers, "d", m, d.dtype)
                    _drop_zeros(pre, post, w, d, p2, q2, d2)
                    pre, post, w, d = p2, q2, w[:m], d2
                else:
                    keep = w != 0
                    pre, post, w, d = pre[keep], post[keep], w[keep], d[keep]
            yield pre, post, w, d
            continue
        if raw_conv:
            w = np.asarray(w).astype(np.int32)
        elif integer:
            w = effective_weights(w, mode, conn.num_weight_bits, learning)
        if not learning and not (w.size and np.all(w)):
            keep = w != 0
            pre, post, w, d = pre[keep], post[keep], w[keep], d[keep]
        yield pre, post, w, d


def raw_synapses(proj, n_pre: int, n_post: int):
    """``(pre, post, raw weight, delay)`` of every stored synapse as the IR holds it (zeros included, no
    effective-weight arithmetic), in the canonical order: what a backend that applies Lava's weight
    rules itself (the Lava lowering) is given."""
    parts = list(enumerator(proj)(proj, proj.connectivity, n_pre, n_post, CHUNK))
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))


def projection_synapses(proj, n_pre: int, n_post: int):
    """All of :func:`iter_projection_synapses` at once: ``(pre, post, weight, delay)``."""
    parts = list(iter_projection_synapses(proj, n_pre, n_post))
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))
