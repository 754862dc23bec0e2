"""The graph IR: populations (and graph inputs) joined by projections, with probed outputs.

A ``Network`` is built with its methods, each of which validates what it adds (names unique,
shapes agree, parameters finite, endpoints exist), so a Network is always consistent. Populations
and projections are frozen; passes build new Networks (``Network.from_parts``) instead of editing.
Population-level structure is a networkx graph; neuron-level connectivity stays in numpy arrays.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from ._checks import as_int_array, check_shape
from .connectivity import Connectivity
from .learning import LearningRule
from .models import NeuronModel, SpikeInput
from ..errors import ValidationError

#: Steps of delay a projection may carry in the IR (targets have their own, smaller limits).
MAX_DELAY = 4096
#: Largest input channel (``Projection.port``) the IR takes; each model declares how many it has.
MAX_PORT = 7
#: ``Network.metadata`` key of the per-population onset steps (:meth:`Network.onsets`).
ONSET_KEY = "bias_onset"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True, eq=False)
class Population:
    """A named group of neurons of one model. ``model=SpikeInput()`` marks a graph input."""
    name: str
    shape: tuple
    model: NeuronModel

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def is_input(self) -> bool:
        return isinstance(self.model, SpikeInput)

    def __eq__(self, other):
        return (isinstance(other, Population) and self.name == other.name and self.shape == other.shape
                and self.model == other.model)

    def __hash__(self):
        return hash(self.name)


@dataclass(frozen=True, eq=False)
class Projection:
    """Synapses from ``source`` to ``target`` (population names) with a connectivity and delays.

    ``delay`` is in steps: a scalar for the whole projection or one per synapse (aligned with the
    connectivity's synapse order: Dense ``[n_post, n_pre]``, Sparse/Conv2d/OneToOne their stored
    synapses). A spike sent at step t arrives at the target's input at step ``t + 1 + delay``
    (Lava's one-step synaptic latency). ``port`` is the input channel of the target's neuron model the
    synapses feed (``NeuronKind.inputs``): 0 for every one-input model (Lava's ``a_in``); RF/RF_IZ take
    the real part on port 0 (``a_real_in``) and the imaginary part on port 1 (``a_imag_in``).
    """
    name: str
    source: str
    target: str
    connectivity: Connectivity
    delay: np.ndarray = field(default_factory=lambda: np.zeros((), dtype=np.int64))
    learning: LearningRule | None = None
    port: int = 0

    @property
    def max_delay(self) -> int:
        return int(self.delay.max()) if self.delay.size else 0

    @property
    def n_synapses(self) -> int:
        return self.connectivity.n_synapses

    def __eq__(self, other):
        return (isinstance(other, Projection) and self.name == other.name and self.source == other.source
                and self.target == other.target and self.connectivity == other.connectivity
                and np.array_equal(self.delay, other.delay) and self.learning == other.learning
                and self.port == other.port)

    def __hash__(self):
        return hash(self.name)


class Network:
    """A spiking network: the compiler's input. See the module docstring."""

    def __init__(self, name: str = "network"):
        self.name = str(name)
        self.populations: dict[str, Population] = {}
        self.projections: dict[str, Projection] = {}
        self.outputs: list[str] = []
        #: Free-form provenance (e.g. ``{"format": "nir", "dt": 1e-4}``); not used by the passes, except
        #: ``metadata["bias_onset"]`` (see :meth:`onsets`), which every backend honours.
        self.metadata: dict = {}

    # ------------------------------------------------------------------ building
    def _check_new_name(self, name: str, kind: str) -> str:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValidationError(f"{kind} name {name!r} is not valid: use letters, digits, '_', '.', '-' "
                                  "(not starting with '.' or '-')")
        if name in self.populations or name in self.projections:
            raise ValidationError(f"{kind} name '{name}' is already used in network '{self.name}'; names "
                                  "must be unique across populations, inputs and projections")
        return name

    def input(self, name: str, shape) -> Population:
        """Add a graph input (spike source) of the given shape."""
        return self.population(name, shape, SpikeInput())

    def population(self, name: str, shape, model: NeuronModel) -> Population:
        """Add a population of ``shape`` neurons of ``model``."""
        self._check_new_name(name, "population")
        shape = check_shape(shape, f"population '{name}'")
        if not isinstance(model, NeuronModel):
            raise ValidationError(f"population '{name}': model must be a neuron model (e.g. nc.LIF, "
                                  f"nc.LoihiLIF), got {type(model).__name__}")
        model.check_size(int(np.prod(shape)), f"population '{name}' ({type(model).__name__})")
        pop = Population(name, shape, model)
        self.populations[name] = pop
        return pop

    def connect(self, source, target, connectivity: Connectivity, delay=0, name: str | None = None,
                learning: LearningRule | None = None, port: int = 0) -> Projection:
        """Add a projection ``source -> target`` (Population objects or names) into input channel ``port``
        of the target's model (``Projection``)."""
        src, dst = self._endpoint(source, "source"), self._endpoint(target, "target")
        if name is None:
            base = f"{src.name}->{dst.name}"
            name, k = base.replace(">", ""), 1
            while name in self.projections or name in self.populations:
                k += 1
                name = f"{base.replace('>', '')}.{k}"
        self._check_new_name(name, "projection")
        where = f"projection '{name}' ({src.name} -> {dst.name})"
        if dst.is_input:
            raise ValidationError(f"{where}: target '{dst.name}' is a graph input; inputs cannot receive synapses")
        if not isinstance(connectivity, Connectivity):
            raise ValidationError(f"{where}: connectivity must be Dense, Sparse, Conv2d or OneToOne, got "
                                  f"{type(connectivity).__name__}")
        connectivity = connectivity.fit(src.size, dst.size, where)
        delay = as_int_array(delay, where, "delay", 0, MAX_DELAY)
        if delay.ndim != 0:
            delay = connectivity.shape_delay(delay, where)
        if learning is not None:
            if not isinstance(learning, LearningRule):
                raise ValidationError(f"{where}: learning must be a LearningRule, got {type(learning).__name__}")
            if learning.third_factor is not None and learning.third_factor not in self.populations:
                raise ValidationError(f"{where}: learning rule's third factor '{learning.third_factor}' is not "
                                      "a graph input of this network; add it with net.input() first")
        port = int(as_int_array(port, where, "port", 0, MAX_PORT))
        proj = Projection(name, src.name, dst.name, connectivity, delay, learning, port)
        self.projections[name] = proj
        return proj

    def output(self, population) -> None:
        """Probe a population: its spikes (and, for non-spiking readouts, its voltage) are the output."""
        pop = self._endpoint(population, "output")
        if pop.name not in self.outputs:
            self.outputs.append(pop.name)

    def _endpoint(self, ref, role: str) -> Population:
        name = ref.name if isinstance(ref, Population) else ref
        if name not in self.populations:
            known = ", ".join(sorted(self.populations)) or "none"
            raise ValidationError(f"{role} '{name}' is not a population of network '{self.name}' "
                                  f"(known: {known}); add it first")
        return self.populations[name]

    # ------------------------------------------------------------------ views
    @property
    def inputs(self) -> list[str]:
        return [p.name for p in self.populations.values() if p.is_input]

    @property
    def neuron_populations(self) -> list[Population]:
        return [p for p in self.populations.values() if not p.is_input]

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.neuron_populations)

    @property
    def n_synapses(self) -> int:
        return sum(p.n_synapses for p in self.projections.values())

    def graph(self) -> nx.MultiDiGraph:
        """Population-level graph; edges keyed by projection name."""
        g = nx.MultiDiGraph()
        for pop in self.populations.values():
            g.add_node(pop.name, population=pop)
        for proj in self.projections.values():
            g.add_edge(proj.source, proj.target, key=proj.name, projection=proj)
        return g

    def is_recurrent(self) -> bool:
        return not nx.is_directed_acyclic_graph(self.graph())

    def onsets(self) -> dict[str, int]:
        """Each neuron population's onset step (0 for those not listed in ``metadata["bias_onset"]``).

        A population with onset ``o`` is held at its initial state during steps ``1..o``: its constant
        drive (bias, leak drive) is off and whatever happened meanwhile is undone at the start of step
        ``o + 1`` (the state is set to its initial values). In a feed-forward graph nothing reaches a
        population before its depth, so onset = depth (``io.nir_import.latency_offsets``) makes the
        IR's trajectory NIR's shifted by exactly ``depth`` steps, biases included (docs/frameworks.md).
        """
        raw = self.metadata.get(ONSET_KEY) or {}
        if not isinstance(raw, dict):
            raise ValidationError(f"network '{self.name}': metadata['{ONSET_KEY}'] must map population names to "
                                  f"steps, got {type(raw).__name__}")
        out = {}
        for pop in self.neuron_populations:
            o = raw.get(pop.name, 0)
            if isinstance(o, bool) or not isinstance(o, (int, np.integer)) or o < 0:
                raise ValidationError(f"network '{self.name}': metadata['{ONSET_KEY}']['{pop.name}'] = {o!r} must be "
                                      "an integer >= 0 (steps)")
            out[pop.name] = int(o)
        unknown = sorted(set(raw) - set(out))
        if unknown:
            raise ValidationError(f"network '{self.name}': metadata['{ONSET_KEY}'] names {unknown}, which are not "
                                  "neuron populations of this network")
        return out

    def incoming(self, population: str) -> list[Projection]:
        return [p for p in self.projections.values() if p.target == population]

    @classmethod
    def from_parts(cls, name, populations, projections, outputs, metadata=None) -> "Network":
        """Rebuild (and so re-validate) a network from its parts; the passes' way to make a new IR."""
        net = cls(name)
        for pop in populations:
            net.population(pop.name, pop.shape, pop.model)
        for proj in projections:
            net.connect(proj.source, proj.target, proj.connectivity, proj.delay, name=proj.name,
                        learning=proj.learning, port=proj.port)
        for out in outputs:
            net.output(out)
        net.metadata = dict(metadata or {})
        return net

    def __eq__(self, other):
        return (isinstance(other, Network) and self.name == other.name and self.populations == other.populations
                and self.projections == other.projections and self.outputs == other.outputs)

    __hash__ = None

    def __repr__(self):
        return (f"Network('{self.name}', {len(self.neuron_populations)} populations, {len(self.inputs)} inputs, "
                f"{len(self.projections)} projections, {self.n_neurons} neurons, {self.n_synapses} synapses)")
