"""``compile``: a network -> a CompiledNetwork, through the pass pipeline (DESIGN.md §1, §4).

discretize -> quantize -> partition -> place -> route -> tables, each a Pass timed by
``run_pipeline``; then the mapping document is built and, with ``out``, the artifact is saved.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .mapping.artifact import CompiledNetwork
from .errors import ValidationError
from .ir import Network
from .passes.base import Pass, PassReport, run_pipeline
from .passes.discretize import Discretize
from .passes.partition import PARTITIONERS, Partition
from .passes.place import Place
from .passes.quantize import Quantize
from .passes.route import Route
from .mapping.tables import build_core_tables


@dataclass(frozen=True)
class BuildTables(Pass):
    """Lay out the per-core tables (``neurocomp.mapping.tables``) of a routed mapping."""
    name = "tables"

    def run(self, obj, target):
        if not isinstance(obj, CompiledNetwork) or obj.core_of_neuron is None:
            raise ValidationError("tables: expected a partitioned CompiledNetwork; run Partition first")
        tables = build_core_tables(obj.network, obj.core_of_neuron, obj.n_cores, graph=obj.graph)
        return replace(obj, tables=tables), PassReport(self.name, summary={
            "cores": tables.n_cores, "neurons": tables.n_neurons, "axons": tables.n_axons,
            "synapses": tables.n_synapses, "routes": int(tables.route_core.size)})


def check_learning(net: Network, target) -> None:
    """Refuse, before any pass runs, learning rules the target or Lava's learning engine cannot run:
    a target without on-chip learning, a rule string that does not parse (named with its position and
    token), and learning on anything but a delay-free Dense projection."""
    from .errors import UnsupportedError
    from .rules.constraints import check_learning_projection
    from .rules.grammar import parse_rule
    plastic = [p for p in net.projections.values() if p.learning is not None]
    if plastic and not target.learning:
        raise UnsupportedError(f"projection(s) {[p.name for p in plastic]} learn, but target '{target.name}' has no "
                               "on-chip learning; choose a target with learning (e.g. loihi2) or drop the rules")
    for proj in plastic:
        try:
            parse_rule(proj.learning)
        except ValidationError as exc:
            raise ValidationError(f"projection '{proj.name}': {exc}") from None
        check_learning_projection(proj, integer=False)


def compile(net: Network, target, *, dt: float = 1e-4, partitioner: str = "hypergraph",
            max_neurons_per_core: int | None = None, seed: int = 0, out=None, progress: bool = False,
            rates: dict | None = None) -> CompiledNetwork:
    """Compile ``net`` for ``target`` (a name such as ``"loihi2"``, a .toml path or a Target).

    ``partitioner``: hypergraph (default, KaHyPar km1), metis or sequential (the baseline);
    ``max_neurons_per_core`` lowers the target's neuron limit; ``rates`` ({population or input:
    spikes per step}) weights the traffic the partitioner and placer minimise; ``out`` saves the
    artifact directory. Deterministic for a given ``seed``.
    """
    from .target import load_target
    if not isinstance(net, Network):
        raise ValidationError(f"compile: expected a neurocomp Network, got {type(net).__name__}; load a file with "
                              "neurocomp.load(path)")
    if partitioner not in PARTITIONERS:
        raise ValidationError(f"compile: partitioner '{partitioner}' is not one of {', '.join(PARTITIONERS)}")
    target = load_target(target)
    check_learning(net, target)
    passes = [Discretize(dt), Quantize(), Partition(partitioner, max_neurons_per_core, seed, rates),
              Place(seed), Route(), BuildTables()]
    obj, reports = run_pipeline(net, target, passes, progress=progress)
    cn = replace(obj, reports=reports, dt=float(dt))
    cn.build_mapping()
    if out is not None:
        cn.save(out)
    return cn
