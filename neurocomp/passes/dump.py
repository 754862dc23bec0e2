"""Text dumps of every pipeline stage (``compile --print-ir-after PASS``), one printer per stage type.

Dumps are for reading and for golden tests: deterministic, no timings, no machine paths.
"""
from __future__ import annotations

from functools import singledispatch

import numpy as np

from ..ir import Network
from ..mapping.artifact import CompiledNetwork
from ..mapping.stages import Partitioned, Routed
from .discretize import DiscretizedNetwork


@singledispatch
def dump_ir(obj) -> str:
    return repr(obj)


@dump_ir.register
def _network(net: Network) -> str:
    return describe_network(net)


@dump_ir.register
def _discretized(obj: DiscretizedNetwork) -> str:
    lines = [f"DiscretizedNetwork dt = {obj.dt}"]
    for name, dm in obj.models.items():
        params = ", ".join(f"{k}={_short(v)}" for k, v in dm.arrays().items())
        lines.append(f"  {name}: {dm.kind} -> {params}")
    return "\n".join(lines + [describe_network(obj.network)])


def describe_network(net: Network) -> str:
    from ..info import describe
    return describe(net)


def _short(v) -> str:
    a = np.asarray(v)
    if a.size == 1:
        return f"{a.reshape(()).item():.6g}" if a.dtype.kind == "f" else str(a.reshape(()).item())
    return f"[{a.min():.6g}..{a.max():.6g}]x{a.size}"


def _core_lines(obj) -> list[str]:
    use = obj.usage
    coords = getattr(obj, "core_coord", None)
    ranges: dict[int, list[str]] = {}
    for pop, cs in obj.core_of_neuron.items():
        cs = np.asarray(cs)
        cut = np.concatenate([[0], np.nonzero(np.diff(cs))[0] + 1, [cs.size]]) if cs.size else []
        for a, b in zip(cut[:-1], cut[1:]):
            ranges.setdefault(int(cs[a]), []).append(f"{pop}[{int(a)}:{int(b)}]")
    lines = []
    for c in range(obj.n_cores):
        at = f" at {tuple(int(v) for v in coords[c])}" if coords is not None else ""
        lines.append(f"core {c:3d}{at}: {int(use.neurons[c])} neurons, {int(use.input_axons[c])} in / "
                     f"{int(use.output_axons[c])} out axons, {int(use.synapses[c])} synapses = "
                     f"{int(use.synapse_bits[c])} bits: {' '.join(ranges.get(c, []))}")
    return lines


@dump_ir.register
def _partitioned(obj: Partitioned) -> str:
    head = f"{type(obj).__name__} '{obj.network.name}' for {obj.target.name}: {obj.n_cores} cores, " \
           f"{obj.usage.messages} messages/step (all fire)"
    if isinstance(obj, Routed):
        head += f", max link load {obj.route_summary.get('max_link_load', 0)}, {len(obj.links)} loaded links"
    return "\n".join([head] + _core_lines(obj))


@dump_ir.register
def _compiled(obj: CompiledNetwork) -> str:
    return (obj if obj.mapping else obj.with_mapping()).dump()


