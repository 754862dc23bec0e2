"""NeuroBench-compatible workload metrics of one emulator run, from its counters and the tables.

Definitions follow the neurobench package (github.com/NeuroBench/neurobench, ``neurobench/metrics``,
read at commit e521c28); one emulator run is one sample, so "per sample" values are per run:

=========================  ==========================================================================
metric                     here (and how it differs from neurobench)
=========================  ==========================================================================
activation_sparsity        1 - spikes / (neurons x steps) over every neuron population, and per
                           population (``..._by_layer``); neurobench: zero outputs / all outputs of the
                           activation modules (the same for spiking layers).
synaptic_operations        ``Effective_ACs``: sum over sources (neurons and graph-input channels) of
                           spikes x fan-out synapses; ``Effective_MACs``: the same for graded (multi-bit)
                           messages; ``Dense``: every projection's dense size (n_pre x n_post; a Conv2d
                           its kernel applications incl. zero weights) x steps. neurobench binarizes the
                           float weights, so a weight that rounds to 0 on the chip counts there and not here.
membrane_updates           neurons active per step (a nonzero state or a spike: the chip's update count,
                           counter ``neurons_active``) summed over steps; neurobench counts neurons whose
                           membrane value changed (all neurons at the first step).
footprint_bytes            the emulator's tables: synapses x 18 bytes (post index int64, weight int32, delay
                           int16, projection int32) + per neuron its model's parameters and state x 8 bytes
                           (int64 columns); neurobench: the torch model's parameters and buffers at their
                           dtype (float32 weights, zeros included). A chip's own layout is in the
                           compile summary (synapse_bits per core).
connection_sparsity        1 - synapses on the chip / dense weights; neurobench: zero weights / all weights
                           of the connection layers (before quantization).
=========================  ==========================================================================
"""
from __future__ import annotations

import numpy as np

from ...neurons import NEURONS
from .tablecache import derived

#: The emulator's per-synapse table arrays (their dtypes give the footprint).
_SYN_FIELDS = ("syn_post", "syn_weight", "syn_delay", "syn_proj")


def _fanout(tables) -> tuple[np.ndarray, np.ndarray]:
    """Per source: synapses reached by one spike, split (binary, graded) by the projection's message bits
    (kept for the next run of the same tables: a graded net's count reads every synapse)."""
    return derived("fanout", tables, None, lambda: _fanout_of(tables))


def _fanout_of(tables) -> tuple[np.ndarray, np.ndarray]:
    syn_ptr = np.asarray(tables.axon_syn_ptr, np.int64)
    ax, route_ptr = np.asarray(tables.route_axon, np.int64), np.asarray(tables.route_ptr, np.int64)
    total = _segment_sums(np.diff(syn_ptr)[ax], route_ptr)
    graded_proj = np.asarray(tables.proj_message_bits) > 0
    if not graded_proj.any():            # no graded projection: skip the per-synapse pass (most of the cost)
        return total, np.zeros_like(total)
    graded = _segment_sums(_segment_sums(graded_proj[tables.syn_proj], syn_ptr)[ax], route_ptr)
    return total - graded, graded


def _segment_sums(values: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Integer sums of ``values[ptr[i]:ptr[i + 1]]`` per segment i (a CSR row sum; empty rows give 0)."""
    c = np.zeros(len(values) + 1, np.int64)
    np.cumsum(values, out=c[1:])
    return c[ptr[1:]] - c[ptr[:-1]]


def _taps(n_out: int, n_in: int, k: int, stride: int, pad: int, dil: int) -> int:
    """Kernel taps along one axis that land inside the input, summed over the output positions."""
    pos = np.arange(n_out)[:, None] * stride - pad + np.arange(k)[None, :] * dil
    return int(np.count_nonzero((pos >= 0) & (pos < n_in)))


def conv_applications(conn) -> int:
    """A Conv2d's kernel applications, zero weights included: the synapses of its all-ones copy
    (``to_sparse``, the spec; tests/test_workload_metrics.py), counted per axis without expanding them
    (expanding PilotNet's 3.6 M took ~1 s of every run's report)."""
    c_out, h_out, w_out = conn.output_shape
    c_in, h, w = conn.input_shape
    kh, kw = conn.weights.shape[2:]
    return (c_out * (c_in // conn.groups) * _taps(h_out, h, kh, conn.stride[0], conn.padding[0], conn.dilation[0])
            * _taps(w_out, w, kw, conn.stride[1], conn.padding[1], conn.dilation[1]))


def _dense_size(network, proj) -> int:
    from ...ir import Conv2d
    conn = proj.connectivity
    if isinstance(conn, Conv2d):           # kernel applications, zero weights included
        return conv_applications(conn)
    if type(conn).__name__ == "OneToOne":
        return network.populations[proj.source].size
    return network.populations[proj.source].size * network.populations[proj.target].size


def workload_metrics(tables, counters: dict, steps: int, network=None) -> dict:
    """The metrics of the module docstring from a run's ``report["counters"]`` (per-step arrays and
    ``spikes_per_source``). ``network`` (the compiled one) gives the dense sizes; without it ``Dense``
    and ``connection_sparsity`` are None."""
    spikes = np.asarray(counters["spikes_per_source"], np.int64)
    n = tables.n_neurons
    pop_of = np.asarray(tables.neuron_pop, np.int64)
    per_pop = np.bincount(pop_of, weights=spikes[:n], minlength=len(tables.pop_names))
    sizes = np.bincount(pop_of, minlength=len(tables.pop_names))
    by_layer = {name: float(1 - per_pop[i] / (sizes[i] * steps)) if sizes[i] and steps else None
                for i, name in enumerate(tables.pop_names)}
    binary, graded = _fanout(tables)
    dense = None
    if network is not None:
        dense = sum(_dense_size(network, p) for p in network.projections.values())
    cols = {k.name: len(k.params) + len(k.state) for k in NEURONS.values()}
    footprint = tables.n_synapses * sum(getattr(tables, f).dtype.itemsize for f in _SYN_FIELDS) + \
        8 * int(sum(sizes[i] * cols.get(m, 0) for i, m in enumerate(tables.pop_models)))
    active = np.asarray(counters["neurons_active"])
    return {
        "activation_sparsity": float(1 - spikes[:n].sum() / (n * steps)) if n and steps else None,
        "activation_sparsity_by_layer": by_layer,
        "synaptic_operations": {"Effective_ACs": int(spikes @ binary), "Effective_MACs": int(spikes @ graded),
                                "Dense": None if dense is None else int(dense * steps)},
        "membrane_updates": int(active.sum()),
        "footprint_bytes": int(footprint),
        "connection_sparsity": None if not dense else float(1 - tables.n_synapses / dense),
        "samples": 1,
        "definitions": "neurobench metrics (github.com/NeuroBench/neurobench, neurobench/metrics @ e521c28) from the "
                       "emulator's counters; differences in backends/emulator/workload.py and docs/frameworks.md",
    }

