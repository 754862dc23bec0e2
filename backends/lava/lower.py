"""Lower an integer Network to lava-nc 0.10 processes (DESIGN.md §7).

One registry maps each IR connectivity type to one Lava process factory (nengo's builder habit):

=============  ============================================================================
IR             Lava process
=============  ============================================================================
population     the neuron model's own factory (``neurocomp.neurons``; LoihiLIF: Lava's ``LIF``)
graph input    ``io.source.RingBuffer`` (data [n, T]); inputs no projection reads are skipped
Dense          ``Dense``, or ``DelayDense`` when any delay is non-zero
Sparse         ``Sparse`` (scipy CSR), or ``DelaySparse`` with a CSR of delays
OneToOne       ``Sparse``/``DelaySparse`` on the diagonal
Conv2d         ``Conv`` when :func:`neurocomp.semantics.reference.conv_uses_lava_conv` holds (no delay,
               weight_exp 0, weights invariant under Lava's clip/truncation): the IR's (C, H, W)
               C-order neurons are viewed through reshape/transpose ports as Lava's (X, Y, C) =
               (W, H, C), and the PyTorch cross-correlation kernel becomes Lava's flipped one.
               Otherwise the equivalent ``Sparse``/``DelaySparse`` (``Conv2d.to_sparse()``).
learning rule  ``LearningDense`` (Dense only, no delay) with the rule as ``Loihi2FLearningRule`` /
               ``Loihi3FLearningRule`` (``backends.lava.learning.make_learning_dense``); the target
               LIF's ``s_out`` also feeds ``s_in_bap``; a three-factor rule's reward input becomes
               a RingBuffer (data [n_post, T], ints 0..127) on ``s_in_y2``.
=============  ============================================================================

Graded messages: every connection gets ``num_message_bits`` from
:func:`neurocomp.semantics.synapses.message_bits` (24 from a SigmaDelta/Delta/Sigma source, the
connectivity's own value when given, else 0); a graded graph input's RingBuffer sends its integers.

Raw IR weights are handed to Lava with ``weight_exp``, ``num_weight_bits`` and an explicit
``sign_mode``, so Lava applies its own clipping and truncation: this backend is the independent
check of :mod:`neurocomp.semantics.reference` and the emulator. Every refusal happens here, before Lava starts.
Probes: one ``Monitor`` per recorded variable and population (a Lava Monitor holds one Var probe
and one port probe at most), read in bulk after the run: ``s_out`` for "spikes" (a graded population's
payloads), the Lava Var of the same name for a model's state variable ("v", "sigma", ...).
"""
from __future__ import annotations

from ._mp import ensure_lava_importable

from dataclasses import dataclass, field, replace
from typing import Callable

import networkx as nx
import numpy as np
import scipy.sparse as sp

from ...errors import UnsupportedError
from ...ir import Conv2d, Dense, Network, OneToOne, Sparse
from ...neurons import kind_of
from ...semantics.fixedpoint import conv_uses_lava_conv, effective_sign_mode
from ...semantics.synapses import raw_synapses
from ...semantics.inputs import InputSpec, check_run, reward_rows
from ...semantics.synapses import check_graded, check_ports, message_bits
from .learning import REWARD_PORT, make_learning_dense
from ...semantics.learning import check_learning_projection, learning_sign_mode

#: Lava's DelayDense/DelaySparse raise for delays above 63 (Loihi 2's 6-bit delays).
LAVA_MAX_DELAY = 63
#: Lava's Conv keeps kernel size, stride, padding, dilation and groups in int8 Vars.
LAVA_CONV_PARAM_MAX = 127


@dataclass
class LoweredConnection:
    """One projection as a Lava process plus how to wire it (ports may need reshape/transpose views)."""
    process: object
    kind: str
    wire_in: Callable = lambda port: port
    wire_out: Callable = lambda port: port


@dataclass
class LoweredNetwork:
    """The Lava process graph of a Network and what to read back after the run."""
    network: Network
    steps: int
    lif: dict = field(default_factory=dict)            # population -> LIF process
    sources: dict = field(default_factory=dict)        # graph input -> RingBuffer
    connections: dict = field(default_factory=dict)    # projection -> LoweredConnection
    monitors: dict = field(default_factory=dict)       # (population, "spikes"|"v"|"u") -> Monitor
    anchors: list = field(default_factory=list)        # zero-weight links joining disconnected parts
    rewards: dict = field(default_factory=dict)        # learning projection -> reward RingBuffer (3F rules)
    segments: dict = field(default_factory=dict)       # split projection -> one LoweredConnection per core
    weight_monitors: dict = field(default_factory=dict)  # learning projection -> Monitor of its weights
    onsets: dict = field(default_factory=dict)         # onset step -> {population: {Lava Var: values set then}}

    @property
    def learning(self) -> dict:
        """Learning projection name -> its LearningDense process."""
        return {name: c.process for name, c in self.connections.items() if c.kind == "LearningDense"}

    @property
    def root(self):
        """The process ``run`` is called on; every other process is connected to it."""
        return next(iter(self.lif.values()))

    def kinds(self) -> dict[str, str]:
        return {name: c.kind for name, c in self.connections.items()}


# --------------------------------------------------------------------------- checks
def check_lowerable(net: Network) -> None:
    """Refuse, naming the population or projection, whatever Lava 0.10's fixed-point processes cannot run."""
    for pop in net.neuron_populations:
        kind_of(pop.model, f"population '{pop.name}'").check_lava(pop)   # the model's own Lava refusals
    check_graded(net)
    check_ports(net)
    for proj in net.projections.values():
        conn = proj.connectivity
        where = f"projection '{proj.name}' ({proj.source} -> {proj.target})"
        if proj.learning is not None:
            check_learning_projection(proj)
            learning_sign_mode(conn, proj.learning)
        if not conn.integer:
            raise UnsupportedError(f"{where}: weights are floats; the Lava backend runs integer weights: compile "
                                   "(quantize) the network first")
        if type(conn) not in FACTORIES:
            raise UnsupportedError(f"{where}: connectivity {type(conn).__name__} has no Lava process")
        if proj.max_delay > LAVA_MAX_DELAY:
            raise UnsupportedError(f"{where}: delay {proj.max_delay} exceeds Lava's DelayDense/DelaySparse limit "
                                   f"of {LAVA_MAX_DELAY} steps; insert relay neurons or shorten the delay")
        if isinstance(conn, Conv2d) and conv_uses_lava_conv(conn, proj.delay):
            params = [*conn.weights.shape[2:], *conn.stride, *conn.padding, *conn.dilation, conn.groups]
            if max(params) > LAVA_CONV_PARAM_MAX:
                raise UnsupportedError(f"{where}: Conv2d kernel/stride/padding/dilation/groups up to {max(params)} "
                                       f"exceed Lava Conv's int8 limit {LAVA_CONV_PARAM_MAX}")


# --------------------------------------------------------------------------- connection factories
def _lava_sign_mode(conn):
    from lava.utils.weightutils import SignMode as LavaSignMode
    return LavaSignMode(int(effective_sign_mode(conn.sign_mode, conn.weights)))


def _options(net: Network, proj) -> dict:
    conn = proj.connectivity
    return dict(weight_exp=int(conn.weight_exp), num_weight_bits=int(conn.num_weight_bits),
                sign_mode=_lava_sign_mode(conn), num_message_bits=message_bits(net, proj))


def _csr(shape, post, pre, values, dtype) -> sp.csr_matrix:
    """A CSR with exactly the given entries (explicit zeros kept, so weights and delays share one pattern)."""
    order = np.lexsort((pre, post))
    post, pre, values = post[order], pre[order], np.asarray(values)[order]
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.add.at(indptr, post + 1, 1)
    return sp.csr_matrix((values.astype(dtype), pre.astype(np.int32), np.cumsum(indptr).astype(np.int32)),
                         shape=shape)


def _sparse_process(net, proj, shape, post, pre, w, delay):
    """Sparse, or DelaySparse when a synapse has a non-zero delay (delays share the weights' pattern)."""
    from lava.proc.sparse.process import DelaySparse, Sparse as LavaSparse
    weights = _csr(shape, post, pre, w, np.int32)
    if np.any(delay != 0):
        delays = _csr(shape, post, pre, np.broadcast_to(delay, w.shape), np.int64)  # Lava checks dtype == int
        return LoweredConnection(DelaySparse(weights=weights, delays=delays, name=proj.name, **_options(net, proj)),
                                 "DelaySparse")
    return LoweredConnection(LavaSparse(weights=weights, name=proj.name, **_options(net, proj)), "Sparse")


def lower_dense(net: Network, proj) -> LoweredConnection:
    from lava.proc.dense.process import DelayDense, Dense as LavaDense
    conn = proj.connectivity
    w = conn.weights.astype(np.int32)
    if proj.max_delay > 0:
        delays = np.broadcast_to(proj.delay, w.shape).astype(np.int64).copy()  # Lava checks dtype == int
        return LoweredConnection(DelayDense(weights=w, delays=delays, name=proj.name, **_options(net, proj)),
                                 "DelayDense")
    return LoweredConnection(LavaDense(weights=w, name=proj.name, **_options(net, proj)), "Dense")


def lower_sparse(net: Network, proj) -> LoweredConnection:
    """Sparse, OneToOne, and a Conv2d Lava's Conv cannot run: Lava's Sparse/DelaySparse over the projection's
    stored synapses (the canonical enumerator, ``neurocomp.semantics.synapses.raw_synapses``), raw weights."""
    n_pre, n_post = net.populations[proj.source].size, net.populations[proj.target].size
    pre, post, w, d = raw_synapses(proj, n_pre, n_post)
    return _sparse_process(net, proj, (n_post, n_pre), post, pre, w, d)


def lower_conv2d(net: Network, proj) -> LoweredConnection:
    conn = proj.connectivity
    if not conv_uses_lava_conv(conn, proj.delay):
        return lower_sparse(net, proj)
    from lava.proc.conv.process import Conv
    c_in, h, w = conn.input_shape
    c_out, h_out, w_out = conn.output_shape
    # IR [C_out, C_in/g, kh, kw] cross-correlation -> Lava (C_out, Kx, Ky, C_in/g), applied flipped.
    weight = np.ascontiguousarray(conn.weights.transpose(0, 3, 2, 1)[:, ::-1, ::-1, :]).astype(np.int32)
    swap = lambda pair: (int(pair[1]), int(pair[0]))         # IR (h, w) -> Lava (x, y) = (w, h)
    proc = Conv(weight=weight, input_shape=(w, h, c_in), padding=swap(conn.padding), stride=swap(conn.stride),
                dilation=swap(conn.dilation), groups=int(conn.groups), num_message_bits=message_bits(net, proj),
                name=proj.name)
    n_out = c_out * h_out * w_out
    return LoweredConnection(
        proc, "Conv",
        wire_in=lambda port: port.reshape((c_in, h, w)).transpose([2, 1, 0]),
        wire_out=lambda port: port.transpose([2, 1, 0]).reshape((n_out,)))


def lower_learning(net: Network, proj) -> LoweredConnection:
    """A learning projection -> ``LearningDense`` with its rule (the caller wires bAP and reward)."""
    proc, _ = make_learning_dense(proj)
    return LoweredConnection(proc, "LearningDense")


#: IR connectivity type -> Lava process factory.
FACTORIES: dict[type, Callable] = {Dense: lower_dense, Sparse: lower_sparse, OneToOne: lower_sparse,
                                   Conv2d: lower_conv2d}


# --------------------------------------------------------------------------- the whole network
def segment_linear(proj) -> bool:
    """Per-segment processes of a split projection sum to the whole exactly when the projection's
    transform distributes over the sum: Lava left-shifts each process's sum (weight_exp >= 0) but floors a
    right shift per process, and Lava's Conv wraps per process; those are lowered whole."""
    return proj.connectivity.weight_exp >= 0 and not isinstance(proj.connectivity, Conv2d)


def lower_segments(net: Network, proj, core: np.ndarray) -> list:
    """A split projection (``docs/fanin.md``): one Sparse/DelaySparse per core holding its synapses, each
    connected into the target's input port (``a_in``), which Lava sums, as a soma adds its segments'
    partial sums."""
    n_pre, n_post = net.populations[proj.source].size, net.populations[proj.target].size
    pre, post, w, d = raw_synapses(proj, n_pre, n_post)
    d = np.broadcast_to(np.asarray(d), np.shape(w))
    out = []
    for c in np.unique(core):
        m = core == c
        out.append(_sparse_process(net, proj, (n_post, n_pre), post[m], pre[m], w[m], d[m]))
    return out


def lower(net: Network, steps: int, inputs: dict | None = None, record=("spikes", "v"),
          segments: dict | None = None, length: int | None = None) -> LoweredNetwork:
    """Build the Lava process graph for ``steps`` steps of ``net`` driven by ``inputs`` (validated by
    :func:`neurocomp.semantics.inputs.check_run`, as in every backend). ``segments``: a split mapping's
    ``{projection: core of each synapse}`` (``neurocomp.mapping.split.projection_synapse_cores``): such a
    projection becomes one process per core (``lower_segments``) where that is exact (``segment_linear``).

    ``length`` (a live session, ``backends.lava.session``): the graph runs on for any number of runs.
    Inputs and probes are then ring buffers of ``length`` steps indexed by Lava's own clock,
    ``(t - 1) % length``: sources are RingBuffers of ``length`` columns (their ``data`` Var is rewritten
    before each run), probes are ``io.sink.RingBuffer`` (spikes) and ``io.sink.Read`` (Vars) instead of
    Monitors (whose buffers are indexed by the absolute step and cannot outlast one run).

    Nothing runs here; :func:`neurocomp.backends.lava.run.run_lava` runs it. Raises UnsupportedError
    (naming the population/projection) for anything Lava's fixed-point process set cannot express.
    """
    steps, record, rows = check_run(InputSpec.of_network(net), steps, inputs, record,   # before Lava is imported
                                    sum(p.size for p in net.neuron_populations))
    check_lowerable(net)
    ensure_lava_importable()
    from lava.proc.dense.process import Dense as LavaDense
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor

    def columns(data: np.ndarray) -> np.ndarray:     # [steps, n] -> Lava's [n, T] (T = length when live)
        out = np.zeros((data.shape[1], length or data.shape[0]), np.int32)
        out[:, :data.shape[0]] = data.T
        return out

    def probe(target, n_steps: int, port: bool):
        if length is None:
            mon = Monitor()
            mon.probe(target, n_steps)
            return mon
        from lava.proc.io.sink import Read, RingBuffer as Sink
        if port:
            sink = Sink(shape=target.shape, buffer=length)
            target.connect(sink.a_in)
            return sink
        read = Read(buffer=length)
        read.connect_var(target)
        return read

    low = LoweredNetwork(net, int(steps))
    onsets = net.onsets()
    for pop in net.neuron_populations:
        kind = kind_of(pop.model)
        if 0 < onsets[pop.name] and (onsets[pop.name] < steps or length is not None) and kind.drive:
            # held before its onset: built with its drive at 0; at the onset the runtime sets the real
            # drive and the initial state (backends.lava.run.execute)
            held = replace(pop, model=replace(pop.model, **{p: 0 for p in kind.drive}))
            low.lif[pop.name] = kind.lava_process(held)
            values = {p: pop.model.broadcast(p, pop.size) for p in kind.drive}
            values.update({var: pop.model.broadcast(kind.initial[var], pop.size) for var in kind.state})
            low.onsets.setdefault(onsets[pop.name], {})[pop.name] = values
        else:
            low.lif[pop.name] = kind.lava_process(pop)
    used_inputs = {proj.source for proj in net.projections.values() if net.populations[proj.source].is_input}
    for name in net.inputs:
        if name in used_inputs:
            low.sources[name] = RingBuffer(data=columns(rows[name]))
    segments = segments or {}
    for proj in net.projections.values():
        src = low.sources.get(proj.source) or low.lif[proj.source]
        target_port = kind_of(net.populations[proj.target].model).inputs[proj.port]   # a_in; RF: a_real/imag_in
        if proj.name in segments and proj.learning is None and segment_linear(proj):
            low.segments[proj.name] = lower_segments(net, proj, segments[proj.name])
            for con in low.segments[proj.name]:
                src.s_out.connect(con.process.s_in)
                con.process.a_out.connect(getattr(low.lif[proj.target], target_port))
            continue
        if proj.learning is not None:
            con = lower_learning(net, proj)
        else:
            con = FACTORIES[type(proj.connectivity)](net, proj)
        con.wire_in(src.s_out).connect(con.process.s_in)
        con.wire_out(con.process.a_out).connect(getattr(low.lif[proj.target], target_port))
        low.connections[proj.name] = con
        if proj.learning is not None:
            # post spikes drive the post traces (LIF.s_out, not LearningLIF.s_out_bap: that port is never sent)
            low.lif[proj.target].s_out.connect(con.process.s_in_bap)
            reward = reward_rows(rows, proj, int(steps))
            if reward is not None:
                ring = RingBuffer(data=columns(reward))
                ring.s_out.connect(getattr(con.process, REWARD_PORT))
                low.rewards[proj.name] = ring
            if "weights" in record:
                low.weight_monitors[proj.name] = probe(con.process.weights, int(steps), port=False)
    for pop_name, proc in low.lif.items():
        state = kind_of(net.populations[pop_name].model).state
        for kind in record:
            if kind != "spikes" and kind not in state:     # "weights", or a variable this model does not have
                continue
            low.monitors[(pop_name, kind)] = probe(proc.s_out if kind == "spikes" else getattr(proc, kind),
                                                   int(steps), port=kind == "spikes")
    # Lava runs the processes connected to the one `run` is called on: join disconnected parts through
    # zero-weight Dense links into a one-neuron hub LIF that nothing reads (O(n) memory per link).
    if low.lif:
        graph = nx.Graph()
        graph.add_nodes_from(low.lif)
        graph.add_edges_from((p.source, p.target) for p in net.projections.values())
        parts = list(nx.connected_components(graph))
        if len(parts) > 1:
            from lava.proc.lif.process import LIF
            hub = LIF(shape=(1,), du=0, dv=0, vth=0, name="_hub")
            for comp in parts:
                rep = next(name for name in low.lif if name in comp)
                link = LavaDense(weights=np.zeros((1, low.lif[rep].s_out.shape[0]), dtype=np.int32),
                                 name=f"_hub_link_{rep}")
                low.lif[rep].s_out.connect(link.s_in)
                link.a_out.connect(hub.a_in)
                low.anchors.append(link)
            low.anchors.append(hub)
    return low
