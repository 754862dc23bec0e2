"""Frozen records of the mapping stages: what each mapping pass returns (tinygrad's immutable stages).

    Network (integer) --partition--> Partitioned --place--> Placed --route--> Routed --tables--> CompiledNetwork

Each record holds everything the earlier stages decided plus its own result, and nothing is filled in
later: a stage is told by its type, not by which fields are still ``None``. The working data of the
mapping passes (the synapse graph, the limits, the per-core usage, the traffic weights) travels with
the records so later passes need not rebuild it; it is not part of the saved artifact.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..ir import Network


@dataclass(frozen=True, kw_only=True)
class Partitioned:
    """Every neuron on a logical core: ``core_of_neuron[population]`` int64 [size], cores 0..n_cores-1."""
    network: Network
    target: object
    dt: float | None
    core_of_neuron: dict
    graph: object = field(repr=False)         # neurocomp.mapping.graph.SynapseGraph of ``network``, by source only
    limits: object = field(repr=False)        # neurocomp.mapping.limits.Limits the partition respected
    usage: object = field(repr=False)         # neurocomp.mapping.limits.CoreUsage of this assignment
    rates: dict | None = field(default=None, repr=False)
    source_rate: np.ndarray | None = field(default=None, repr=False)   # traffic weight per source
    #: neurocomp.mapping.split.SplitMapping when some neuron's dendrite is split over cores, else None
    split: object = field(default=None, repr=False)

    @property
    def n_cores(self) -> int:
        tops = [int(a.max()) + 1 for a in self.core_of_neuron.values() if np.size(a)]
        if self.split is not None and self.split.comp_core.size:
            tops.append(int(self.split.comp_core.max()) + 1)
        return max(tops, default=0)

    def placement_graph(self):
        """``(graph, core of each of its vertices)`` that placement and routing work on: the neuron graph,
        or a split network's compartment graph (its partial-sum edges are messages too)."""
        if self.split is not None:
            return self.split.graph, self.split.comp_core
        return self.graph, self.graph.join(self.core_of_neuron)

    @property
    def tables(self):
        """No tables before the tables pass (the validator accepts any stage)."""
        return None


@dataclass(frozen=True, kw_only=True)
class Placed(Partitioned):
    """Logical core c sits on mesh core ``physical_core[c]`` at ``core_coord[c]`` = (chip, tile_x, tile_y, k)."""
    physical_core: np.ndarray
    core_coord: np.ndarray


@dataclass(frozen=True, kw_only=True)
class Routed(Placed):
    """X-then-Y routes: per-link loads (``links``, the mapping.json list) and their summary."""
    links: list
    route_summary: dict


def fields_of(obj, stage: type) -> dict:
    """The fields of ``stage`` taken from ``obj`` (a record of that stage or a later one), to build the next."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(stage)}


def stage_name(obj) -> str:
    """The stage a pipeline object is at, for messages and IR dumps."""
    return type(obj).__name__
