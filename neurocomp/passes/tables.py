"""tables: lay out the per-core tables (``neurocomp.mapping.tables``) of a routed mapping: the last pass,
whose output (``CompiledNetwork``) is what the backends run and ``compile(out=...)`` saves."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ValidationError
from ..mapping.artifact import CompiledNetwork
from ..mapping.stages import Routed
from ..mapping.tables import build_core_tables
from .base import Pass, PassReport, register_pass


@register_pass
@dataclass(frozen=True)
class BuildTables(Pass):
    """Routed -> CompiledNetwork: neurons, axons, synapses and routes as flat per-core arrays."""
    name = "tables"

    def run(self, obj, target):
        if not isinstance(obj, Routed):
            raise ValidationError(f"tables: expected the route pass's output (Routed), got {type(obj).__name__}; "
                                  "run Partition, Place and Route first")
        tables = build_core_tables(obj.network, obj.core_of_neuron, obj.n_cores, graph=obj.graph, split=obj.split,
                                   payload_bits=target.partial_sums.payload_bits)
        cn = CompiledNetwork(network=obj.network, target=obj.target, dt=obj.dt, core_of_neuron=obj.core_of_neuron,
                             physical_core=obj.physical_core, core_coord=obj.core_coord, tables=tables,
                             links=obj.links, route_summary=obj.route_summary, graph=obj.graph, usage=obj.usage,
                             split=obj.split)
        summary = {"cores": tables.n_cores, "neurons": tables.n_neurons, "axons": tables.n_axons,
                   "synapses": tables.n_synapses, "routes": int(tables.route_core.size)}
        if tables.n_psum:
            summary["partial_sum_routes"] = tables.n_psum
        return cn, PassReport(self.name, summary=summary)
