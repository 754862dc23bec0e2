"""Shared pieces of the NIR-paper examples: data paths, quiet loading, a float reference simulator,
integer -> float voltage conversion, spike comparisons and markdown tables.

Time-step conventions (read this before comparing anything)
-----------------------------------------------------------
* **NIR schedule** (what the paper's frameworks run): feed-forward projections are instantaneous and a
  recurrent edge carries the previous step's spikes, ``u[t] = W_in x[t] + W_rec z[t-1]``. Row ``t`` of
  a NIR reference is the state after consuming input row ``t``.
* **IR / hardware schedule** (Lava, Loihi, our emulator): every projection has a one-step latency,
  and input row ``t-1`` drives step ``t``. Row ``k`` of an emulator ``Result`` is the state after step
  ``k + 1``. A population at depth ``d`` (``net.metadata["latency_offset"]``, projections on the
  shortest path from a graph input) therefore shows NIR row ``t`` at emulator row ``t + d``:
  ``aligned = result[d : d + T]``. With a constant drive (bias, ``v_leak``) the population also
  integrates that drive alone during its first ``d`` steps, a real (small) difference.

:func:`simulate_float` runs the *float* IR network in either schedule, so the quantization error of
the integer pipeline can be measured apart from the latency convention: emulator vs
``simulate_float(..., schedule="ir")`` is pure quantization; ``schedule="nir"`` is the paper's float
reference (it reproduces ``lif_norse.csv`` and the snnTorch Braille raster exactly).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from neurocomp.errors import NeurocompWarning, UnsupportedError
from neurocomp.paperdata import nir_data_dir
from neurocomp.report import markdown_table  # noqa: F401  (shared with the report)
from neurocomp.ir import IF, LIF, CubaLIF, Dense, Network, OneToOne, Sparse

def data_dir() -> Path:
    """The NIR paper data folder (see neurocomp.paperdata)."""
    return nir_data_dir()


def load_quiet(path, dt: float = 1e-4) -> tuple[Network, list[str]]:
    """``neurocomp.load`` with its NeurocompWarnings captured (old files lack ``v_reset`` etc.); the
    messages are returned so the scripts can print them instead of losing them."""
    from neurocomp.io import load
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NeurocompWarning)
        net = load(path, dt=dt)
    msgs = [str(w.message) for w in caught if issubclass(w.category, NeurocompWarning)]
    return net, msgs


def compile_quiet(net: Network, target: str, **kw):
    """``neurocomp.compile`` with NeurocompWarnings silenced (the pass reports keep them)."""
    from neurocomp.compiler import compile as nc_compile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurocompWarning)
        return nc_compile(net, target, **kw)


# ----------------------------------------------------------------------------- integer -> float
def v_to_float(art, result, pop: str) -> np.ndarray:
    """Emulator/Lava integer ``v`` of ``pop`` in the float units of the source network:
    ``v_float = v_int / v_scale + v_offset`` (``metadata["quantization"][pop]``, quantize pass)."""
    q = art.network.metadata["quantization"][pop]
    return np.asarray(result.v[pop], np.float64) / float(q["v_scale"]) + np.asarray(q["v_offset"], np.float64)


def align(arr: np.ndarray, offset: int, length: int) -> np.ndarray:
    """Rows ``offset .. offset+length-1`` of an IR-schedule record = rows ``0 .. length-1`` in NIR time."""
    if arr.shape[0] < offset + length:
        raise ValueError(f"align: record has {arr.shape[0]} rows, needs offset {offset} + length {length}; "
                         "run the emulator for length + offset steps")
    return arr[offset:offset + length]


def spike_times(spikes: np.ndarray) -> list[int]:
    """Step indices of the spikes of a single neuron (1-D or [T, 1])."""
    return np.nonzero(np.asarray(spikes).reshape(len(spikes), -1)[:, 0])[0].tolist()


def mismatches(a: np.ndarray, b: np.ndarray) -> int:
    """Number of (step, neuron) entries where two 0/1 rasters differ."""
    return int(np.count_nonzero((np.asarray(a) > 0) != (np.asarray(b) > 0)))


# ----------------------------------------------------------------------------- float simulator
def _matrix(proj, n_pre: int, n_post: int):
    c = proj.connectivity
    if isinstance(c, Dense):
        return np.asarray(c.weights, np.float64)
    if isinstance(c, OneToOne):
        return np.diag(np.broadcast_to(np.asarray(c.weights, np.float64), (n_post,)))
    if isinstance(c, Sparse):
        import scipy.sparse as sp
        return sp.csr_matrix((np.asarray(c.weights, np.float64), c.indices, c.indptr), shape=c.shape)
    raise UnsupportedError(f"simulate_float: projection '{proj.name}' has {type(c).__name__} connectivity; "
                           "only Dense, Sparse and OneToOne are simulated here (use the emulator for Conv2d)")


def _flat(v, n):
    return np.broadcast_to(np.asarray(v, np.float64).reshape(-1) if np.ndim(v) else np.float64(v), (n,)).copy()


class _FloatPop:
    """Per-population float state and the forward-Euler step of its IR model (docstrings of
    neurocomp.ir.models): LIF ``v += dt/tau (v_leak - v + r x)``; CubaLIF ``I = a I + (1-a) w_in x``,
    ``v = b v + (1-b)(v_leak + r I)`` (new I, or the old one with ``old_current``); IF ``v += r x``;
    ``x`` includes the bias; spike ``v > v_th``; ``v = v_reset``."""

    def __init__(self, pop, dt: float, old_current: bool):
        m, n = pop.model, pop.size
        self.n, self.kind, self.old = n, type(m), old_current
        self.th, self.reset, self.bias = _flat(m.v_threshold, n), _flat(m.v_reset, n), _flat(m.bias, n)
        self.r = _flat(m.r, n)
        if isinstance(m, LIF):
            self.k, self.leak = dt / _flat(m.tau, n), _flat(m.v_leak, n)
        elif isinstance(m, CubaLIF):
            self.a, self.b = 1 - dt / _flat(m.tau_syn, n), 1 - dt / _flat(m.tau_mem, n)
            self.w_in, self.leak = _flat(m.w_in, n), _flat(m.v_leak, n)
        elif not isinstance(m, IF):
            raise UnsupportedError(f"simulate_float: population '{pop.name}' has model {type(m).__name__}; "
                                   "only LIF, CubaLIF and IF are simulated here")
        self.v = self.reset.copy()
        self.i = np.zeros(n)

    def step(self, x: np.ndarray) -> np.ndarray:
        x = x + self.bias
        if self.kind is LIF:
            self.v = self.v + self.k * (self.leak - self.v + self.r * x)
        elif self.kind is CubaLIF:
            i_old = self.i
            self.i = self.a * self.i + (1 - self.a) * self.w_in * x
            self.v = self.b * self.v + (1 - self.b) * (self.leak + self.r * (i_old if self.old else self.i))
        else:
            self.v = self.v + self.r * x
        s = self.v > self.th
        self.v = np.where(s, self.reset, self.v)
        return s


def simulate_float(net: Network, inputs: dict, steps: int, dt: float, *, schedule: str = "nir",
                   old_current: bool = False) -> tuple[dict, dict]:
    """Run the float IR network for ``steps`` steps; returns (spikes, v) dicts of ``[steps, n]`` arrays.

    ``schedule="nir"``: populations update in order of ``metadata["latency_offset"]``; a projection from
    a shallower population is instantaneous, any other (recurrent) one carries the previous step's
    spikes; step ``t`` reads input row ``t``. ``schedule="ir"``: every projection and every input has a
    one-step latency (step ``t`` reads input row ``t-1`` and spikes of step ``t-1``), the emulator's
    schedule (a population is held at rest before its onset, ``Network.onsets``): its row ``t`` corresponds to
    emulator row ``t``. ``old_current``: CubaLIF v uses the current of the previous step (a wrong convention, kept
    for the Braille investigation). Vectorised over neurons; the loop is over time only.
    """
    if schedule not in ("nir", "ir"):
        raise ValueError(f"simulate_float: schedule must be 'nir' or 'ir', got {schedule!r}")
    depth = net.metadata.get("latency_offset", {})
    onsets = net.onsets()
    pops = sorted(net.neuron_populations, key=lambda p: (depth.get(p.name, 0), p.name))
    state = {p.name: _FloatPop(p, dt, old_current) for p in pops}
    sizes = {name: p.size for name, p in net.populations.items()}
    mats = {pr.name: _matrix(pr, sizes[pr.source], sizes[pr.target]) for pr in net.projections.values()}
    incoming = {p.name: net.incoming(p.name) for p in pops}
    x_in = {k: np.asarray(v, np.float64).reshape(len(v), -1) for k, v in inputs.items()}
    prev = {name: np.zeros(n) for name, n in sizes.items()}
    rec_s = {p.name: np.zeros((steps, p.size), np.uint8) for p in pops}
    rec_v = {p.name: np.zeros((steps, p.size)) for p in pops}
    for t in range(steps):
        cur = {}
        for name in net.inputs:
            xs = x_in.get(name)     # row t is emitted at step t; "ir" targets read it at t + 1
            cur[name] = xs[t] if xs is not None and t < len(xs) else np.zeros(sizes[name])
        for p in pops:
            drive = np.zeros(p.size)
            if schedule == "ir" and t < onsets.get(p.name, 0):     # held at rest until its onset
                cur[p.name] = drive
                continue
            for pr in incoming[p.name]:
                if schedule == "nir":
                    same = depth.get(pr.source, 0) < depth.get(p.name, 0)
                    s = cur[pr.source] if same else prev[pr.source]
                else:
                    s = prev[pr.source]
                drive = drive + mats[pr.name] @ s
            sp = state[p.name].step(drive)
            cur[p.name] = sp.astype(np.float64)
            rec_s[p.name][t] = sp
            rec_v[p.name][t] = state[p.name].v
        prev = cur
    return rec_s, rec_v
