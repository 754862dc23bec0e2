"""The compiled artifact (DESIGN.md §5): a mapped network, saved as a directory.

``CompiledNetwork`` holds the quantized integer ``network``, the ``target``, ``dt``, the logical
core of every neuron (``core_of_neuron``), where each logical core sits on the mesh
(``physical_core`` id and ``core_coord`` = (chip, tile_x, tile_y, k)), the per-core ``tables`` the
emulator executes, the pass ``reports``, ``stats`` and ``mapping`` (the JSON document).

On disk (written atomically, all or nothing)::

    mapping.json   human-readable, byte-identical for the same input and options: schema version,
                   target (name + full model), dt, every core (id, coord, neuron ranges, axon /
                   synapse / memory counts, utilisation of each limit), link loads, pass reports
                   (without timings), stats (cores used, messages per step vs the sequential baseline)
    timings.json   pass wall-clock seconds (the only non-deterministic output, kept apart)
    network.h5     the quantized network (neurocomp.io.native)
    tables.npz     the per-core tables (neurocomp.mapping.tables.CoreTables)
    target.toml    a copy of the hardware model file (mapping.json names it by file name and sha256, never
                   by a path of the compiling machine)
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import atomic_dir, recover
from ..errors import ArtifactError, NeurocompError, NeurocompWarning
from ..ir import Network

SCHEMA = "neurocomp-compiled"
SCHEMA_VERSION = 1
FILES = ("mapping.json", "network.h5", "tables.npz")
#: the hardware model file, copied into the artifact so that it is self-contained and names no path
#: of the compiling machine (mapping.json records its file name and sha256)
TARGET_FILE = "target.toml"
LIMITS = (("neurons", "n_neurons", "max_neurons"), ("input_axons", "n_input_axons", "max_input_axons"),
          ("output_axons", "n_output_axons", "max_output_axons"),
          ("synapse_bits", "synapse_bits", "synapse_memory_bits"))


@dataclass(frozen=True)
class CompiledNetwork:
    """The last stage: a routed mapping with its per-core tables (``neurocomp.mapping.stages`` has the
    earlier ones). Frozen: :meth:`with_mapping` returns a new object with the mapping document."""
    network: Network
    target: object
    dt: float | None
    core_of_neuron: dict
    physical_core: np.ndarray
    core_coord: np.ndarray
    tables: object
    reports: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    mapping: dict = field(default_factory=dict)
    links: list = field(default_factory=list)
    route_summary: dict = field(default_factory=dict)
    # working data of the mapping passes (not saved; rebuilt on demand)
    graph: object = field(default=None, repr=False)
    usage: object = field(default=None, repr=False)
    split: object = field(default=None, repr=False)     # neurocomp.mapping.split.SplitMapping or None

    @property
    def n_cores(self) -> int:
        if self.tables is not None:         # a split dendrite's segment core may hold no soma
            return int(self.tables.n_cores)
        tops = [int(a.max()) + 1 for a in self.core_of_neuron.values() if np.size(a)]
        return max(tops, default=0)

    # ------------------------------------------------------------------ the JSON document
    def with_mapping(self) -> "CompiledNetwork":
        """A copy with ``stats`` and ``mapping`` (the JSON document) built from the pass outputs and reports
        (called by ``compile``)."""
        from dataclasses import replace
        from ..jsonable import to_jsonable as _jsonable
        from .graph import synapse_graph
        from .limits import core_limits, evaluate
        graph = self.graph if self.graph is not None else synapse_graph(self.network)
        use = self.usage
        if use is None or use.n_cores != self.n_cores or self.graph is None:  # recount (100M synapses: ~1 s)
            if self.split is not None:
                use = evaluate(self.split.graph, self.split.comp_core, core_limits(self.target, self.split.graph))
            else:
                use = evaluate(graph, graph.join(self.core_of_neuron), core_limits(self.target, graph))
        lim = self.target.core
        cores = []
        part = next((r for r in self.reports if r.name == "partition"), None)
        for c in range(self.n_cores):
            entry = {"id": c, "coord": [int(v) for v in self.core_coord[c]],
                     "mesh_core": int(self.physical_core[c]), "ranges": [],
                     "n_neurons": int(use.neurons[c]), "n_input_axons": int(use.input_axons[c]),
                     "n_output_axons": int(use.output_axons[c]), "n_synapses": int(use.synapses[c]),
                     "synapse_bits": int(use.synapse_bits[c])}
            entry["utilisation"] = {name: round(entry[key] / getattr(lim, lk), 6) for name, key, lk in LIMITS}
            cores.append(entry)
        if self.tables is not None and self.tables.n_psum:
            _partial_sum_entries(cores, self.tables)
        for pop, cs in self.core_of_neuron.items():
            cs = np.asarray(cs)
            if cs.size == 0:
                continue
            cut = np.nonzero(np.diff(cs))[0] + 1
            starts = np.concatenate([[0], cut])
            stops = np.concatenate([cut, [cs.size]])
            for a, b in zip(starts, stops):
                cores[int(cs[a])]["ranges"].append({"population": pop, "start": int(a), "stop": int(b)})
        max_util = {name: (max(e["utilisation"][name] for e in cores) if cores else 0.0) for name, _, _ in LIMITS}
        psum = part.summary if part is not None else {}
        stats = {
            "cores_used": self.n_cores, "cores_available": int(self.target.mesh.n_cores),
            "neurons": graph.n_neurons, "synapses": graph.n_synapses,
            "messages_per_step_all_fire": use.messages,
            "baseline": dict(psum.get("baseline", {})),
            "partitioner": psum.get("partitioner"), "partitioner_chosen": psum.get("chosen"),
            "max_link_load": self.route_summary.get("max_link_load", 0),
            "max_utilisation": max_util,
        }
        for key in ("max_link_load_rates", "hops_total_all_fire", "interchip_crossings_all_fire", "input_messages",
                    "local_messages"):
            if key in self.route_summary:
                stats[key] = self.route_summary[key]
        if "messages_per_step_rates" in psum:
            stats["messages_per_step_rates"] = psum["messages_per_step_rates"]
        if "split" in psum:
            stats["split"] = psum["split"]
        reports = []
        for r in self.reports:
            d = r.to_dict()
            d.pop("seconds", None)
            reports.append(d)
        stats = _jsonable(stats)
        return replace(self, stats=stats, mapping=_jsonable({
            "schema": SCHEMA, "schema_version": SCHEMA_VERSION,
            "target": {"name": self.target.name, "model": self.target.to_dict()},
            "dt": self.dt, "network": {"name": self.network.name, "neurons": graph.n_neurons,
                                       "synapses": graph.n_synapses},
            "cores": cores, "links": self.links, "passes": reports, "stats": stats,
        }))

    # ------------------------------------------------------------------ persistence
    def save(self, directory) -> Path:
        """Write the artifact directory atomically (see the module docstring)."""
        from ..io.native import save_native
        if self.tables is None or not self.mapping:
            raise ArtifactError("save: this CompiledNetwork has no tables/mapping yet; build it with neurocomp.compile")
        from ..outpaths import check_replaceable
        directory = check_replaceable(directory, "artifact", "artifact directory")
        with atomic_dir(directory) as tmp:
            (tmp / "mapping.json").write_text(json.dumps(self.mapping, sort_keys=True, indent=1) + "\n")
            timings = {r.name: r.seconds for r in self.reports}
            (tmp / "timings.json").write_text(json.dumps(timings, sort_keys=True, indent=1) + "\n")
            save_native(self.network, tmp / "network.h5")
            self.tables.save(tmp / "tables.npz")
            model = getattr(self.target, "path", None)
            if model and Path(model).is_file():
                (tmp / TARGET_FILE).write_bytes(Path(model).read_bytes())
        return directory

    # ------------------------------------------------------------------ text
    def summary(self) -> str:
        s = self.stats
        base = s.get("baseline", {})
        lines = [f"target {self.target.name}: {s.get('cores_used')} of {s.get('cores_available')} cores used",
                 f"network '{self.network.name}': {s.get('neurons')} neurons, {s.get('synapses')} synapses, dt = {self.dt}"]
        msg, bmsg = s.get("messages_per_step_all_fire"), base.get("messages_per_step_all_fire")
        ratio = f" ({msg / bmsg:.2f}x)" if bmsg else ""
        lines.append(f"messages/step (all fire): {msg} with {s.get('partitioner_chosen')}; sequential baseline "
                     f"{bmsg} on {base.get('cores_used')} cores{ratio}")
        lines.append(f"max link load: {s.get('max_link_load')} messages/step")
        util = s.get("max_utilisation", {})
        lines.append("max utilisation: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in util.items()))
        return "\n".join(lines)

    def dump(self) -> str:
        """The mapping as readable text: the summary, then one line per core (coordinate, counts and
        the neuron ranges it holds). Golden tests pin small compilations with it."""
        lines = [self.summary()]
        for c in self.mapping.get("cores", []):
            ranges = " ".join(f"{r['population']}[{r['start']}:{r['stop']}]" for r in c["ranges"])
            lines.append(f"core {c['id']:3d} at {tuple(c['coord'])} (mesh core {c['mesh_core']}): "
                         f"{c['n_neurons']} neurons, {c['n_input_axons']} in / {c['n_output_axons']} out axons, "
                         f"{c['n_synapses']} synapses = {c['synapse_bits']} bits: {ranges}")
        return "\n".join(lines)

    def __repr__(self):
        return (f"CompiledNetwork('{self.network.name}' on {getattr(self.target, 'name', '?')}, "
                f"{self.n_cores} cores)")


def _partial_sum_entries(cores: list, tables) -> None:
    """Per core of a split mapping: its dendrite segments (partial-sum routes it sends) and the partial
    sums its somas receive; ``n_neurons`` there counts compartments (somas + segments)."""
    out = np.diff(tables.core_psum_ptr)
    into = np.bincount(tables.neuron_core()[tables.psum_neuron], minlength=tables.n_cores)
    for c, entry in enumerate(cores):
        entry["n_segments"] = int(out[c])
        entry["n_partial_sums_in"] = int(into[c])


def load_compiled(directory) -> CompiledNetwork:
    """Load an artifact written by ``CompiledNetwork.save``; missing files or another schema -> ArtifactError."""
    from ..io.native import load_native
    from .tables import CoreTables
    from ..target import load_target
    directory = Path(directory)
    recover(directory)
    if not directory.is_dir():
        raise ArtifactError(f"{directory}: not a compiled artifact directory (not found); compile the network "
                            "first (neurocomp compile NET --target T -o DIR)")
    missing = [f for f in FILES if not (directory / f).is_file()]
    if missing:
        raise ArtifactError(f"{directory}: incomplete artifact, missing {', '.join(missing)}; recompile the network")
    from ..safeio import read_json, reading
    mapping = read_json(directory / "mapping.json", "artifact mapping", ArtifactError)
    if not isinstance(mapping, dict) or mapping.get("schema") != SCHEMA:
        raise ArtifactError(f"{directory / 'mapping.json'}: not a neurocomp artifact (schema "
                            f"{mapping.get('schema') if isinstance(mapping, dict) else None!r}); recompile the network")
    if mapping.get("schema_version") != SCHEMA_VERSION:
        raise ArtifactError(f"{directory / 'mapping.json'}: schema version {mapping.get('schema_version')!r}, this "
                            f"neurocomp reads version {SCHEMA_VERSION}; recompile the network with this version")
    try:
        cores = mapping["cores"]            # the cheap checks first, the network file last
        with reading(directory / "mapping.json", "artifact mapping", ArtifactError):
            core_coord = np.array([c["coord"] for c in cores], np.int64).reshape(len(cores), 4)
            physical = np.array([c["mesh_core"] for c in cores], np.int64)
        tables = CoreTables.load(directory / "tables.npz")
        tinfo = mapping["target"]
        target = _load_target(tinfo, load_target, directory)
        network = load_native(directory / "network.h5")
    except ArtifactError:
        raise
    except NeurocompError as exc:
        raise ArtifactError(f"{directory}: cannot load the artifact ({exc})") from None
    except KeyError as exc:
        raise ArtifactError(f"{directory / 'mapping.json'}: malformed: the key {exc} is missing; recompile the "
                            "network") from None
    except (TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ArtifactError(f"{directory / 'mapping.json'}: malformed ({type(exc).__name__}: {exc}); "
                            "recompile the network") from None
    if tables.n_cores != len(cores):
        raise ArtifactError(f"{directory}: tables.npz has {tables.n_cores} cores but mapping.json lists {len(cores)}; "
                            "the files come from different compilations: recompile")
    _check_same_network(directory, network, tables, physical, target)
    owner = np.repeat(np.arange(tables.n_cores), np.diff(tables.core_neuron_ptr))
    core_of_neuron = {name: owner[tables.pop_gid[name]].astype(np.int64) for name in tables.pop_names}
    stats = mapping.get("stats", {})
    if not isinstance(stats, dict):
        raise ArtifactError(f"{directory / 'mapping.json'}: 'stats' is not a table; recompile the network")
    timings = directory / "timings.json"
    if timings.is_file():
        try:
            stats = dict(stats, timings=read_json(timings, "pass timings", ArtifactError))
        except ArtifactError as exc:      # only wall-clock seconds: say so, load the artifact anyway
            warnings.warn(f"{exc} (ignored: it holds only the pass timings)", NeurocompWarning, stacklevel=2)
    return CompiledNetwork(network=network, target=target, dt=mapping.get("dt"), core_of_neuron=core_of_neuron,
                           physical_core=physical, core_coord=core_coord, tables=tables, stats=stats,
                           mapping=mapping, links=mapping.get("links", []))


def _check_same_network(directory, network, tables, physical, target) -> None:
    """network.h5 and tables.npz must describe the same network (a file swapped in from another
    compilation is refused here, naming both files, not later in a kernel)."""
    sizes = {p.name: p.size for p in network.neuron_populations}
    counts = dict(zip(tables.pop_names, np.bincount(tables.neuron_pop, minlength=len(tables.pop_names)).tolist()))
    if sizes != counts:
        raise ArtifactError(f"{directory}: network.h5 has populations {sizes} but tables.npz {counts}; the files "
                            "come from different compilations: recompile")
    inputs = {name: network.populations[name].size for name in network.inputs}
    have = dict(zip(tables.input_names, np.diff(tables.input_ptr).tolist()))
    if inputs != have:
        raise ArtifactError(f"{directory}: network.h5 has inputs {inputs} but tables.npz {have}; the files come "
                            "from different compilations: recompile")
    if list(network.projections) != tables.proj_names:
        raise ArtifactError(f"{directory}: network.h5 and tables.npz name different projections; the files come "
                            "from different compilations: recompile")
    if physical.size and (physical.min() < 0 or physical.max() >= target.mesh.n_cores
                          or np.unique(physical).size != physical.size):
        raise ArtifactError(f"{directory / 'mapping.json'}: 'mesh_core' ids are not distinct cores of the "
                            f"{target.mesh.n_cores}-core mesh; recompile the network")


def _load_target(tinfo: dict, load_target, directory: Path):
    """The target the artifact was compiled for: the copy of its model file in the artifact
    (``target.toml``), else (artifacts written before it) the model file if still there or the shipped
    one by name; a warning if the model differs from the one recorded in mapping.json."""
    from ..target import load_target_file
    if not isinstance(tinfo, dict) or not isinstance(tinfo.get("model", {}), dict):
        raise ArtifactError(f"{directory / 'mapping.json'}: 'target' is not a table with a model; recompile")
    saved = tinfo.get("model", {})
    path = saved.get("path")
    if (directory / TARGET_FILE).exists():
        target = load_target_file(directory / TARGET_FILE)
    elif isinstance(path, str) and Path(path).is_absolute() and Path(path).is_file():
        target = load_target(path)
    else:
        target = load_target(tinfo["name"])
    now = dict(target.to_dict())
    then = dict(saved)
    for key in ("path", "sha256"):
        now.pop(key, None)
        then.pop(key, None)
    if json.loads(json.dumps(now, sort_keys=True, default=str)) != then:
        warnings.warn(f"target '{tinfo['name']}': the hardware model changed since this artifact was compiled; "
                      "its mapping.json holds the model it was compiled for", NeurocompWarning, stacklevel=3)
    return target
