"""Network-parallel emulation over MPI ranks (mpi4py + the ``mpich`` wheel), bit-identical to one process.

``shard_artifact(art, ranks, out)`` cuts a compiled artifact into rank shards (``shard.py``; CLI
``neurocomp shard ART --ranks N -o DIR``); under ``mpiexec -n N``, ``emulate_ranks(DIR or art, ...)``
runs them (``run.py``; CLI ``mpiexec -n N neurocomp emulate DIR ...``) and rank 0 gets the Result.
docs/mpi.md has the design, the install and the measured scaling.
"""
from __future__ import annotations

from pathlib import Path

from .comm import guarded, launched_size, world
from .shard import Shard, is_shard_dir, load_shard, make_shards, rank_of_cores, read_meta, write_shards

__all__ = ["run_backend", "shard_artifact", "shards_of", "emulate_ranks", "world", "launched_size", "guarded", "is_shard_dir",
           "load_shard", "make_shards", "rank_of_cores", "write_shards", "Shard", "read_meta"]


def shards_of(art, ranks: int, network=None) -> list[Shard]:
    """The rank shards of a CompiledNetwork (or its directory, or bare ``CoreTables`` of ``network``), with
    the graph inputs' shapes when the network is known."""
    from ....mapping.tables import CoreTables
    from ....semantics.inputs import InputSpec
    if isinstance(art, CoreTables):
        tables, coord, net = art, None, network
    else:
        from ....backend import load_artifact
        art = load_artifact(art)
        tables, coord, net = art.tables, art.core_coord, art.network
    learning = net is not None and any(p.learning is not None for p in net.projections.values())
    shards = make_shards(tables, rank_of_cores(tables, coord, ranks), ranks, learning=learning)
    if net is not None:
        spec = InputSpec.of_network(net)
        doc = {"owner": spec.owner, "names": list(spec.names), "shapes": {k: list(v) for k, v in spec.shapes.items()},
               "loose": sorted(spec.loose), "graded": dict(spec.graded)}
        for sh in shards:
            sh.meta["input_spec"] = doc
    physical = getattr(art, "physical_core", None)
    for sh in shards:
        sh.target = getattr(art, "target", None)
        if physical is not None:
            sh.meta["physical_core"] = [int(x) for x in physical]
    return shards


def shard_artifact(art, ranks: int, out) -> Path:
    """Write the ``ranks`` shards of an artifact to directory ``out`` (atomically); returns ``out``."""
    return write_shards(shards_of(art, ranks), out)


def emulate_ranks(source, steps: int, inputs=None, record=("spikes", "v"), *, comm=None, counters: bool = True,
                  memory_budget: int | None = None, network=None, timing=None, exchange_every: int | None = None):
    """Run on every rank of ``comm`` (default ``MPI.COMM_WORLD``): ``source`` is a shard directory (each rank
    reads only its own files) or an artifact / CompiledNetwork / ``CoreTables`` of ``network`` (rank 0 cuts it
    and sends each rank its shard: rank 0 then holds the whole tables once). Rank 0 returns the Result, the
    others None. ``timing`` ("analytic"/"cycle"/None): for an artifact, rank 0 applies the target's cost model
    (and the workload metrics) to the gathered counters and spike events, as one process does; for a shard
    directory each rank prices the messages landing on its cores and rank 0 sums them (``cost.py``; the
    analytic model only: "cycle" needs the whole tables). ``exchange_every``: steps per
    spike exchange (None: the most the delays between ranks allow; 1: every step). A rank that fails prints
    why and aborts every rank (no hang)."""
    if comm is None:
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
    from .run import run_rank

    def body():
        art = None
        if isinstance(source, (str, Path)) and is_shard_dir(source):
            shard = load_shard(source, comm.Get_rank())
        else:
            if comm.Get_rank() == 0:
                from ....mapping.tables import CoreTables
                if not isinstance(source, CoreTables):
                    from ....backend import load_artifact
                    art = load_artifact(source)
            shard = comm.scatter(shards_of(art if art is not None else source, comm.Get_size(), network)
                                 if comm.Get_rank() == 0 else None, root=0)
        from .cost import can_estimate
        res = run_rank(shard, comm, steps, inputs, record, counters=counters, memory_budget=memory_budget,
                       exchange_every=exchange_every, cost=bool(timing) and art is None and can_estimate(shard))
        if res is not None:
            _finish(res, art, timing)
        return res
    return guarded(comm, body)


def _finish(res, art, timing) -> None:
    """Rank 0: what a one-process run adds from the whole artifact (``session.EmulatorSession.run``): the
    workload metrics and, with ``timing``, the target's cost model; otherwise the spike events are dropped."""
    events = res.report.get("spike_events")
    if "cost" in res.report:                      # priced per rank (shard directory)
        return
    if art is None or events is None:
        res.report.pop("spike_events", None)
        return
    from ..engine import attach_cost
    from ..workload import workload_metrics
    res.report["workload"] = workload_metrics(art.tables, res.report["counters"], res.steps, art.network)
    if timing and art.target is not None and art.physical_core is not None:
        attach_cost(res, art.target, art.tables, art.physical_core, res.steps, timing)
    else:
        res.report.pop("spike_events")


def run_backend(compiled, steps: int, inputs, record, options: dict):
    """``nc.emulate`` / ``get_backend("emulator").run`` under mpiexec: :func:`emulate_ranks` with the backend's
    options. Without an energy/latency model (a warning says so when ``timing`` asks for one)."""
    import warnings
    from ....errors import NeurocompWarning, ValidationError
    from ..backend import timing_mode
    if options.get("populations") is not None:
        raise ValidationError("populations: a distributed run (mpiexec) records every population; leave it None")
    timing = timing_mode(options.get("timing"))
    if timing and isinstance(compiled, (str, Path)) and is_shard_dir(compiled) and world().Get_rank() == 0:
        from .shard import TARGET_FILE
        if "physical_core" not in read_meta(compiled) or not (Path(compiled) / TARGET_FILE).is_file():
            warnings.warn("distributed run of rank shards without their target (shards.json has no physical_core "
                          "or target.toml is missing): energy and latency are not estimated; write the shards "
                          "from a compiled artifact (neurocomp shard ART)", NeurocompWarning, stacklevel=3)
        elif timing == "cycle":
            warnings.warn("distributed run of rank shards: timing='cycle' needs the whole tables; the analytic "
                          "cost model is applied per rank instead", NeurocompWarning, stacklevel=3)
    return emulate_ranks(compiled, steps, inputs, record, counters=options.get("counters", True),
                         memory_budget=options.get("memory_budget"), timing=timing)
