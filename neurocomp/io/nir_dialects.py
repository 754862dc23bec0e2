"""NIR dialects: undo what a framework's exporter writes differently from NIR's own semantics.

NIR 1.0.8 means forward Euler in seconds (../shared/reference/nir.md). The exporters below write
files whose literal reading simulates something other than the framework did; ``read_nir(path,
dialect=...)`` / ``neurocomp compile --from NAME`` rewrites the nodes before the import so that the
IR simulates what the framework simulated. Each rule is taken from the exporter's source (versions
in tests/data/frameworks/versions.json) and tested on a real export (tests/test_frameworks.py).

=========  ======================================================================================
dialect    what its exporter writes, and what the dialect does
=========  ======================================================================================
snntorch   ``tau = 1e-4 / (1 - beta)``, ``r = tau / 1e-4`` (a hard-coded dt of 1e-4): exact Euler
           at dt = 1e-4, so the dialect only warns when read with another dt. snnTorch's default
           reset is by *subtraction*; the exporter writes ``v_reset = 0`` either way and the file
           does not say which was used, so it cannot be detected: the dialect warns (NIR cannot
           express subtraction, nor can Loihi's LIF; train with ``reset_mechanism="zero"``).
norse      ``tau = dt / tau_inv`` (dt = Norse's step, default 1e-3) instead of ``1 / tau_inv``: every
           tau is divided by the load's dt (give the dt Norse ran with). Norse's ``LIFCell``
           (CubaLIF) adds its input to the current *unscaled* (``i += x``, then v uses the new i,
           then i decays): the exporter writes ``w_in = 1`` where NIR needs ``w_in = tau_syn / dt``
           (so that ``(dt/tau_syn) * w_in = 1``); the dialect sets it.
sinabs     ``tau`` in *steps* and exact exponential decay (``alpha = exp(-1/tau)``): ``tau *= dt`` and
           the network is compiled with ``integration = "exact"``; Input shapes carry the sample's
           time axis (``[T, n]``): only the last axis is kept. Sinabs spikes at ``v >= threshold``,
           NIR at ``v > threshold`` (a difference only when v lands exactly on the threshold).
rockpool   exponential decays: compiled with ``integration = "exact"`` (an assumption from Rockpool's
           docs, not checked against an export here).
=========  ======================================================================================

Auto-detection: ``dialect="auto"`` (the default) uses the graph's metadata when it names the
exporter (keys ``framework``, ``exporter``, ``source`` or ``model_name``). The exporters above write
no metadata at all (nirtorch 2.6), so their files are read as plain NIR unless the dialect is given.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import ValidationError

#: snnTorch's exporter hard-codes this dt (snntorch/export_nir.py).
SNNTORCH_DT = 1e-4
_META_KEYS = ("framework", "exporter", "source", "model_name")


@dataclass
class Rewrite:
    """What a dialect changed: the nodes and edges to import, the integration the network needs
    (None: the default) and one line per change for the metadata."""
    nodes: dict
    edges: list
    integration: str | None = None
    notes: list = field(default_factory=list)


def _neurons(nodes, *types: str):
    """The nodes of the given NIR type names (names, so that the CLI can list dialects without importing nir)."""
    return {k: n for k, n in nodes.items() if type(n).__name__ in types}


def _snntorch(nodes, edges, dt, warn) -> Rewrite:
    rw = Rewrite(dict(nodes), list(edges))
    if not np.isclose(dt, SNNTORCH_DT, rtol=1e-9, atol=0):
        warn(f"snnTorch's exporter writes tau = {SNNTORCH_DT:g}/(1 - beta); read with dt = {dt:g} s the decays are "
             f"not snnTorch's. Load with dt={SNNTORCH_DT:g}")
    if _neurons(nodes, "LIF", "CubaLIF"):
        warn("snnTorch exports every reset as reset to zero (v_reset = 0); if the network was trained with "
             "snnTorch's default reset_mechanism='subtract' the spikes will differ (NIR cannot express subtraction "
             "and neither can Loihi's LIF). Train with reset_mechanism='zero' for exact agreement")
    rw.notes.append("snntorch: parameters unchanged (exact Euler at dt = 1e-4); reset mode not in the file")
    return rw


def _norse(nodes, edges, dt, warn) -> Rewrite:
    rw = Rewrite(dict(nodes), list(edges))
    for name, n in _neurons(nodes, "LIF", "LI").items():
        rw.nodes[name] = dataclasses.replace(n, tau=np.asarray(n.tau, np.float64) / dt)
    for name, n in _neurons(nodes, "CubaLIF").items():
        tau_syn = np.asarray(n.tau_syn, np.float64) / dt
        rw.nodes[name] = dataclasses.replace(n, tau_syn=tau_syn, tau_mem=np.asarray(n.tau_mem, np.float64) / dt,
                                             w_in=tau_syn / dt * np.ones_like(np.asarray(n.w_in, np.float64)))
    rw.notes.append(f"norse: tau / dt (dt = {dt:g} s); LIFCell: w_in = tau_syn/dt")
    return rw


def _sinabs(nodes, edges, dt, warn) -> Rewrite:
    rw = Rewrite(dict(nodes), list(edges), integration="exact")
    for name, n in _neurons(nodes, "LIF", "LI").items():
        rw.nodes[name] = dataclasses.replace(n, tau=np.asarray(n.tau, np.float64) * dt)
    for name, n in _neurons(nodes, "CubaLIF").items():
        rw.nodes[name] = dataclasses.replace(n, tau_syn=np.asarray(n.tau_syn, np.float64) * dt,
                                             tau_mem=np.asarray(n.tau_mem, np.float64) * dt)
    for name, n in _neurons(nodes, "Input", "Output").items():
        import nir
        key = "input" if type(n).__name__ == "Input" else "output"
        shape = np.asarray((n.input_type if key == "input" else n.output_type).get(key)).reshape(-1)
        if shape.size > 1:
            rw.nodes[name] = nir.Input(input_type={"input": shape[-1:]}) if key == "input" else \
                nir.Output(output_type={"output": shape[-1:]})
            rw.notes.append(f"sinabs: {type(n).__name__} '{name}' shape {shape.tolist()} -> {shape[-1:].tolist()} "
                            "(the sample's time axis dropped)")
    rw.notes.append(f"sinabs: tau in steps * dt (dt = {dt:g} s); exact integration")
    return rw


def _rockpool(nodes, edges, dt, warn) -> Rewrite:
    rw = Rewrite(dict(nodes), list(edges), integration="exact")
    rw.notes.append("rockpool: exact integration (assumed from Rockpool's documentation, not checked on an export)")
    return rw


#: dialect name -> rewrite(nodes, edges, dt, warn) -> Rewrite
DIALECTS: dict[str, Callable] = {"snntorch": _snntorch, "norse": _norse, "sinabs": _sinabs, "rockpool": _rockpool}


def detect(metadata) -> str | None:
    """The dialect a graph's metadata names, or None (plain NIR)."""
    if not isinstance(metadata, dict):
        return None
    for key in _META_KEYS:
        value = metadata.get(key)
        value = value.decode("utf8") if isinstance(value, bytes) else value
        if isinstance(value, str):
            for name in DIALECTS:
                if name in value.lower():
                    return name
    return None


def rewrite(dialect: str, nodes: dict, edges: list, dt: float, warn) -> Rewrite:
    if dialect not in DIALECTS:
        raise ValidationError(f"NIR dialect '{dialect}' is not one of {', '.join(['nir', 'auto', *DIALECTS])}")
    return DIALECTS[dialect](nodes, edges, dt, warn)
