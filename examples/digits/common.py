"""Shared pieces of the digits demo: data split, spike encoding, float and integer SNN runs, readout.

The workload: scikit-learn's bundled 8x8 digits (1797 images, pixel values 0..16, no download),
classified by a 64 -> H -> 10 integrate-and-fire network that ``train.py`` converts from a ReLU MLP
and stores as ``examples/networks/digits.nir``. Everything here is deterministic (no RNG at all):
the split is fixed by its seed, the encoder is a regular integrate-and-fire encoder.

Time-step convention (the IR's, i.e. Lava's): every projection has a one-step latency. Input row
``r`` of an encoded image (0-based) is emitted at step ``r + 1``, reaches ``hid`` at step ``r + 2``
and ``out`` (through ``hid``) at step ``r + 3``. An input of ``T`` rows is therefore read out over
``T + depth`` steps (``depth`` = 2 projections here, :func:`network_depth`), so the last input row
still reaches the output. During the first ``depth`` steps a population integrates only its bias.

Readout: prediction = class whose output neuron fired most spikes over the run; ties go to the
larger membrane potential at the last step, then to the lowest class index
(:func:`predict_from_counts`). The integer (Loihi) run uses the same rule on its integer ``v``:
one voltage scale per population keeps the order of ``v`` within the output layer.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from neurocomp.errors import UnsupportedError, ValidationError
from neurocomp.ir import IF, Dense, Network, Sparse

#: Where the trained network lives (committed).
DIGITS_NIR = Path(__file__).resolve().parents[1] / "networks" / "digits.nir"
#: The fixed split: sklearn.model_selection.train_test_split(test_size=0.25, random_state=0, stratify=y).
SPLIT_SEED = 0
TEST_SIZE = 0.25
#: Largest pixel value of load_digits (images are 0..16).
PIXEL_MAX = 16
#: Input spike-train length used by the demo (rows of ``encode``); the run lasts T + depth steps.
T_STEPS = 48
#: Names of the graph input and populations in the exported network.
INPUT, HIDDEN, OUTPUT = "in", "hid", "out"


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Split:
    """The fixed train/test split. Images are uint8 pixel values 0..16, shape [N, 64]; ``idx_*`` index
    ``sklearn.datasets.load_digits()`` so anyone can find the same samples."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    idx_train: np.ndarray
    idx_test: np.ndarray


def load_split(seed: int = SPLIT_SEED, test_size: float = TEST_SIZE) -> Split:
    """load_digits() split with ``train_test_split(test_size, random_state=seed, stratify=y)`` on indices."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.data.astype(np.uint8)          # 0..16, exact (load_digits stores integral floats)
    y = digits.target.astype(np.int64)
    idx = np.arange(len(y))
    i_tr, i_te = train_test_split(idx, test_size=test_size, random_state=seed, stratify=y)
    return Split(x[i_tr], y[i_tr], x[i_te], y[i_te], i_tr, i_te)


# --------------------------------------------------------------------------- encoding
def encode(images, T: int = T_STEPS) -> np.ndarray:
    """Deterministic rate code: uint8 spikes ``[N, T, 64]`` from pixel values 0..16 ``[N, 64]``.

    A regular integrate-and-fire encoder per pixel: the cumulative spike count after ``k`` steps is
    ``floor((k*p + 8) / 16)``, so pixel p fires ``round(T*p/16)``-ish spikes (exactly the rate p/16 per
    step, spread evenly, phase-centred by the +8); p = 16 fires every step, p = 0 never. No RNG.
    """
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValidationError(f"encode: T = {T!r} must be a positive integer number of steps (e.g. {T_STEPS})")
    x = np.asarray(images)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.dtype.kind not in "biuf":
        raise ValidationError(f"encode: images must be a numeric array [N, 64] of pixel values 0..{PIXEL_MAX}, "
                              f"got shape {x.shape} dtype {x.dtype}")
    if x.size and (x.min() < 0 or x.max() > PIXEL_MAX or np.any(x != np.round(x))):
        raise ValidationError(f"encode: pixel values must be integers in 0..{PIXEL_MAX} (load_digits' range); got "
                              f"[{x.min()}, {x.max()}]. Pass the raw load_digits().data, not scaled images")
    p = x.astype(np.int64)
    k = np.arange(int(T) + 1, dtype=np.int64)
    cum = (k[None, :, None] * p[:, None, :] + PIXEL_MAX // 2) // PIXEL_MAX
    return np.diff(cum, axis=1).astype(np.uint8)


# --------------------------------------------------------------------------- readout
def predict_from_counts(counts, v=None) -> np.ndarray:
    """Class per sample from output spike counts ``[N, 10]``: argmax count; ties -> larger final
    membrane ``v`` ``[N, 10]`` (if given) -> lowest index."""
    c = np.asarray(counts)
    if c.ndim != 2:
        raise ValidationError(f"predict_from_counts: counts must be [N, classes], got shape {c.shape}")
    best = c == c.max(axis=1, keepdims=True)
    if v is None:
        return np.argmax(best, axis=1)
    v = np.asarray(v, dtype=np.float64)
    if v.shape != c.shape:
        raise ValidationError(f"predict_from_counts: v shape {v.shape} must equal counts shape {c.shape}")
    return np.argmax(np.where(best, v, -np.inf), axis=1)


def accuracy(pred, labels) -> float:
    return float(np.mean(np.asarray(pred) == np.asarray(labels)))


# --------------------------------------------------------------------------- the network
@dataclass(frozen=True)
class SNNParams:
    """A converted 64 -> H -> 10 IF network in IR units (thresholds 1 after normalisation, biases per step)."""
    w_hid: np.ndarray      # [H, 64]
    b_hid: np.ndarray      # [H]
    th_hid: float
    w_out: np.ndarray      # [10, H]
    b_out: np.ndarray      # [10]
    th_out: float

    def to_network(self, name: str = "digits") -> Network:
        """The IR: input 'in' (64,) -> IF 'hid' -> IF 'out' (probed), Dense float weights, IF ``bias``
        as the constant input (reset to 0, r = 1)."""
        net = Network(name)
        net.input(INPUT, (self.w_hid.shape[1],))
        net.population(HIDDEN, (self.w_hid.shape[0],), _if_model(self.th_hid, self.b_hid))
        net.population(OUTPUT, (self.w_out.shape[0],), _if_model(self.th_out, self.b_out))
        net.connect(INPUT, HIDDEN, Dense(np.asarray(self.w_hid, dtype=np.float64)), name="in_hid")
        net.connect(HIDDEN, OUTPUT, Dense(np.asarray(self.w_out, dtype=np.float64)), name="hid_out")
        net.output(OUTPUT)
        return net


def _if_model(threshold: float, bias) -> IF:
    """IF with per-neuron parameters, written the way ``read_nir`` reads them back (a bias that is zero
    everywhere as the scalar 0.0), so an exported network re-imports ``==`` to itself."""
    b = np.asarray(bias, dtype=np.float64).reshape(-1)
    n = b.size
    return IF(v_threshold=np.full(n, float(threshold)), r=np.ones(n), v_reset=np.zeros(n),
              bias=b if np.any(b != 0) else 0.0)


def network_depth(net: Network) -> int:
    """Projections on the longest path from a graph input to an output (the readout latency in steps)."""
    g = nx.DiGraph()
    g.add_nodes_from(net.populations)
    g.add_edges_from((p.source, p.target) for p in net.projections.values())
    if not nx.is_directed_acyclic_graph(g):
        raise UnsupportedError(f"network '{net.name}' is recurrent; the digits readout needs a feed-forward net")
    longest = {n: 0 for n in g}
    for n in nx.topological_sort(g):
        for m in g.successors(n):
            longest[m] = max(longest[m], longest[n] + 1)
    return max((longest[o] for o in net.outputs), default=0)


def _check_spikes(net: Network, spikes) -> tuple[str, np.ndarray]:
    if len(net.inputs) != 1:
        raise UnsupportedError(f"network '{net.name}' has graph inputs {net.inputs}; the digits runs need exactly one")
    name = net.inputs[0]
    n_in = net.populations[name].size
    s = np.asarray(spikes)
    if s.ndim != 3 or s.shape[2] != n_in:
        raise ValidationError(f"spikes must be [N, T, {n_in}] (as encode() returns) for input '{name}', got shape "
                              f"{s.shape}")
    return name, s


def _float_weights(net: Network, proj):
    conn = proj.connectivity
    where = f"projection '{proj.name}'"
    if conn.integer:
        raise UnsupportedError(f"{where}: integer weights; simulate_float_snn runs the float IR (before quantize). "
                               "Use simulate_integer_snn for a quantized network")
    if proj.max_delay != 0:
        raise UnsupportedError(f"{where}: delays are not simulated here (the digits network has none)")
    if isinstance(conn, Dense):
        return conn.weights
    if isinstance(conn, Sparse):
        return conn.to_dense()
    raise UnsupportedError(f"{where}: connectivity {type(conn).__name__} is not simulated here (Dense/Sparse only)")


@dataclass(frozen=True)
class SNNRun:
    """Spike counts ``[N, n]`` per population over the run and its membrane potential after the last step;
    ``spikes[pop]`` uint8 ``[N, steps, n]`` (row t-1 = step t) when recording was asked for."""
    counts: dict
    v: dict
    steps: int
    spikes: dict | None = None


def simulate_float_snn(net_or_params, spikes, steps: int | None = None, record_spikes: bool = False) -> SNNRun:
    """Float simulation of an IF network with the IR's semantics, batched over samples.

    ``spikes``: uint8 ``[N, T, n_in]`` for the single graph input. Per step t = 1..steps (NIR's IF
    forward-Euler step plus the IR's one-step latency per projection)::

        a[p] = sum over projections q -> p of W_q @ s_q[t-1]     # s_in[t] = spikes[:, t-1]
        v[p] += r * (a[p] + bias);  s_p[t] = v[p] > v_th;  v[p][s_p[t]] = v_reset

    ``v`` starts at 0. ``steps`` defaults to ``T + network_depth(net)``; ``T < steps`` pads the input with
    silence.
    """
    net = net_or_params.to_network() if isinstance(net_or_params, SNNParams) else net_or_params
    if not isinstance(net, Network):
        raise ValidationError(f"simulate_float_snn: expects a Network or SNNParams, got {type(net).__name__}")
    in_name, s_in = _check_spikes(net, spikes)
    n, T = s_in.shape[:2]
    steps = T + network_depth(net) if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValidationError(f"simulate_float_snn: steps = {steps!r} must be a positive integer")
    steps = int(steps)
    pops = net.neuron_populations
    par = {}
    for p in pops:
        if not isinstance(p.model, IF):
            raise UnsupportedError(f"population '{p.name}': model {type(p.model).__name__}; simulate_float_snn runs "
                                   "IF populations only (the digits network)")
        par[p.name] = {k: p.model.broadcast(k, p.size) for k in ("v_threshold", "r", "v_reset", "bias")}
    projs = [(pr.source, pr.target, _float_weights(net, pr).T.astype(np.float64)) for pr in net.projections.values()]
    v = {p.name: np.zeros((n, p.size)) for p in pops}
    counts = {p.name: np.zeros((n, p.size), dtype=np.int64) for p in pops}
    prev = {name: np.zeros((n, pop.size)) for name, pop in net.populations.items()}
    raster = {p.name: np.zeros((n, steps, p.size), dtype=np.uint8) for p in pops} if record_spikes else None
    for t in range(1, steps + 1):
        a = {p.name: np.zeros((n, p.size)) for p in pops}
        for src, dst, wt in projs:
            a[dst] += prev[src] @ wt
        new = {}
        for p in pops:
            q = par[p.name]
            vp = v[p.name] + q["r"] * (a[p.name] + q["bias"])
            s = vp > q["v_threshold"]
            v[p.name] = np.where(s, q["v_reset"], vp)
            counts[p.name] += s
            new[p.name] = s.astype(np.float64)
            if raster is not None:
                raster[p.name][:, t - 1] = s
        new[in_name] = s_in[:, t - 1].astype(np.float64) if t - 1 < T else np.zeros((n, s_in.shape[2]))
        prev = new
    return SNNRun(counts, v, steps, raster)


def simulate_integer_snn(int_net: Network, spikes, steps: int | None = None, record_spikes: bool = False) -> SNNRun:
    """Exact Loihi integer run of a quantized network, one sample at a time with
    ``neurocomp.semantics.reference.simulate_reference`` (Lava 0.10 fixed-point semantics); same layout as
    :func:`simulate_float_snn`, ``v`` in integer units (``v_int = S*v`` per population)."""
    from neurocomp.semantics.reference import simulate_reference

    in_name, s_in = _check_spikes(int_net, spikes)
    n, T = s_in.shape[:2]
    steps = T + network_depth(int_net) if steps is None else int(steps)
    pad = np.zeros((n, max(steps, T), s_in.shape[2]), dtype=np.uint8)
    pad[:, :T] = s_in
    pops = [p.name for p in int_net.neuron_populations]
    counts = {p: np.zeros((n, int_net.populations[p].size), dtype=np.int64) for p in pops}
    v = {p: np.zeros((n, int_net.populations[p].size), dtype=np.int64) for p in pops}
    raster = ({p: np.zeros((n, steps, int_net.populations[p].size), dtype=np.uint8) for p in pops}
              if record_spikes else None)
    for i in range(n):
        res = simulate_reference(int_net, steps, {in_name: pad[i]}, record=("spikes", "v"))
        for p in pops:
            counts[p][i] = res.spikes[p].sum(axis=0)
            v[p][i] = res.v[p][-1]
            if raster is not None:
                raster[p][i] = res.spikes[p]
    return SNNRun(counts, v, steps, raster)


def quantize_for_loihi(net: Network, dt: float = 1e-3):
    """``Discretize(dt)`` then ``Quantize(load_target('loihi2'))``: the integer network and both reports.
    IF has no time constant, so ``dt`` only labels the steps."""
    from neurocomp.passes import Discretize, Quantize, run_pipeline
    from neurocomp.target import load_target

    target = load_target("loihi2")
    return run_pipeline(net, target, [Discretize(dt=dt), Quantize(target)])
