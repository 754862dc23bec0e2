"""``compile``: a network -> a CompiledNetwork, through the pass pipeline (DESIGN.md §1, §4).

The pipeline is a list of registered passes (``neurocomp.passes.base.PASSES``)::

    discretize -> quantize -> partition -> place -> route -> tables

each a frozen Pass timed by ``run_pipeline`` and returning a new stage object (``Network``,
``DiscretizedNetwork``, ``Network`` (integer), ``Partitioned``, ``Placed``, ``Routed``,
``CompiledNetwork``); then the mapping document is built and, with ``out``, the artifact is saved.
``default_pipeline`` is what ``compile`` runs; give ``pipeline=`` to run another list, and
``print_ir_after=`` to see a stage (``neurocomp compile --print-pipeline / --print-ir-after PASS``).
"""
from __future__ import annotations

import sys
from dataclasses import replace

from .errors import ValidationError
from .ir import Network
from .mapping.artifact import CompiledNetwork
from .passes.base import PASSES, Pass, run_pipeline

#: Time step (seconds) when neither ``compile(dt=...)`` nor the network's metadata gives one.
DEFAULT_DT = 1e-4
from .passes.discretize import Discretize
from .passes.partition import PARTITIONERS, Partition
from .passes.place import Place
from .passes.quantize import Quantize
from .passes.route import Route
from .passes.tables import BuildTables


def default_pipeline(dt: float = 1e-4, partitioner: str = "hypergraph", max_neurons_per_core: int | None = None,
                     seed: int = 0, rates: dict | None = None, integration: str = "euler") -> list[Pass]:
    """The passes ``compile`` runs, in order, with its options."""
    return [Discretize(dt, integration), Quantize(), Partition(partitioner, max_neurons_per_core, seed, rates), Place(seed),
            Route(), BuildTables()]


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


def compile(net: Network, target, *, dt: float | None = None, partitioner: str = "hypergraph",
            max_neurons_per_core: int | None = None, seed: int = 0, out=None, progress: bool = False,
            rates: dict | None = None, pipeline: list[Pass] | None = None, print_ir_after=(),
            ir_stream=None, integration: str | None = None) -> CompiledNetwork:
    """Compile ``net`` for ``target`` (a name such as ``"loihi2"``, a .toml path or a Target).

    ``dt``: the time step (seconds) of continuous-time models; None takes the one the network was
    loaded with (``net.metadata["dt"]``, e.g. ``load(path, dt=...)``), else 1e-4. ``integration``:
    "euler" (NIR's forward Euler) or "exact" (exponential decays); None takes
    ``net.metadata["integration"]`` (set by a NIR dialect, e.g. Sinabs), else "euler".

    ``partitioner``: hypergraph (default, KaHyPar km1), metis or sequential (the baseline);
    ``max_neurons_per_core`` lowers the target's neuron limit; ``rates`` ({population or input:
    spikes per step}) weights the traffic the partitioner and placer minimise; ``out`` saves the
    artifact directory. Deterministic for a given ``seed``.

    ``pipeline``: the passes to run instead of :func:`default_pipeline` (it must end in a CompiledNetwork,
    i.e. with the ``tables`` pass); ``print_ir_after``: pass names (or ``"all"``) whose output stage is
    written as text to ``ir_stream`` (default stderr) after the pass runs.
    """
    from .target import load_target
    if not isinstance(net, Network):
        raise ValidationError(f"compile: expected a neurocomp Network, got {type(net).__name__}; load a file with "
                              "neurocomp.load(path)")
    if not net.neuron_populations:
        raise ValidationError(f"compile: network '{net.name}' has no neuron population (only inputs: "
                              f"{list(net.inputs) or 'none'}); there is nothing to map onto cores")
    if partitioner not in PARTITIONERS:
        raise ValidationError(f"compile: partitioner '{partitioner}' is not one of {', '.join(PARTITIONERS)}")
    target = load_target(target)
    check_learning(net, target)
    if dt is None:
        dt = float(net.metadata.get("dt", DEFAULT_DT))
    if integration is None:
        integration = str(net.metadata.get("integration", "euler"))
    passes = default_pipeline(dt, partitioner, max_neurons_per_core, seed, rates, integration) if pipeline is None \
        else list(pipeline)
    after = _ir_printer(passes, print_ir_after, ir_stream)
    obj, reports = run_pipeline(net, target, passes, progress=progress, after=after)
    if not isinstance(obj, CompiledNetwork):
        raise ValidationError(f"compile: the pipeline ended with a {type(obj).__name__}, not a CompiledNetwork; "
                              "end it with the 'tables' pass (BuildTables)")
    dt = next((p.dt for p in passes if isinstance(p, Discretize)), dt)
    cn = replace(obj, reports=reports, dt=float(dt)).with_mapping()
    if out is not None:
        cn.save(out)
    return cn


def _ir_printer(passes, names, stream):
    """The ``after`` hook of ``run_pipeline`` that prints the chosen stages (None when none is chosen)."""
    names = [names] if isinstance(names, str) else list(names or ())
    if not names:
        return None
    known = [p.name for p in passes]
    want = set(known) if "all" in names else set(names)
    unknown = sorted(want - set(known))
    if unknown:
        raise ValidationError(f"print_ir_after: {unknown} not in the pipeline ({', '.join(known)}; registered "
                              f"passes: {', '.join(PASSES)})")

    def after(p, obj, report):
        if p.name in want:
            from .passes.dump import dump_ir
            out = stream or sys.stderr
            print(f"=== IR after {p.name} ({type(obj).__name__}) ===\n{dump_ir(obj)}", file=out, flush=True)
    return after
