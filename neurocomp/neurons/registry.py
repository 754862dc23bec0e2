"""The neuron-model registry: integer chip model (IR type) -> everything every stage needs of it.

A model is one folder under ``neurocomp/neurons/`` whose ``__init__`` registers a :class:`NeuronKind`:
its IR dataclass (with the discrete-time equation in the docstring), the per-neuron table fields, the
state variables with the parameters that hold their initial values, and where its numpy spec step,
numba step and Lava factory live (``"module:attribute"``, imported on first use so that
``import neurocomp`` loads neither numba kernels nor Lava), plus the cost-model op classes its
updates are charged to. The per-core tables, the reference simulator, the emulator kernel and the
Lava lowering all dispatch through :func:`kind_of`; ``tests/test_neurons.py`` checks that every
registered model has every piece and that its numba step equals its spec.

The step contracts (``P``: the model's params in ``params`` order, ``S``: its state in ``state``
order, ``a``: the synaptic input of this step, all int64):

* spec   ``step(P: dict[name, int64[n]], S: dict[name, int64[n]], a: int64[n]) -> (S', out[n])``
* kernel ``step(j, a, P: int64[n_params, N], S: int64[n_state, N]) -> out`` (numba, updates S[:, j])

A kind with two input channels (``inputs``: its Lava InPorts, e.g. RF's ``a_real_in``/``a_imag_in``) gets
``a`` as int64 [2, n] in its spec and ``step(j, a, b, P, S)`` in its kernel (``b``: channel 1). A projection
feeds channel ``Projection.port`` of its target; each channel's sum wraps to int32 on its own, as each of
Lava's InPorts does. The emulator kernel accumulates at most :data:`MAX_INPUTS` channels.

``out`` is what the neuron sends this step: a binary model returns spikes (bool / 0-1); a model with
``graded=True`` returns its integer payload (0 = no message), which the connections multiply by
their weights (Lava's ``num_message_bits > 0``). ``P`` rows are the kernel's own parameters, built
once per run by the kernel module's ``prepare(params: dict) -> int64[k, N]``.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from ..errors import UnsupportedError

#: Most input channels a kind may declare: the emulator kernel accumulates two per neuron.
MAX_INPUTS = 2

#: IR type -> NeuronKind, in registration order (the kernel's model ids).
NEURONS: dict[type, "NeuronKind"] = {}


def _resolve(ref: str):
    module, _, attr = ref.partition(":")
    return getattr(import_module(module), attr)


@dataclass(frozen=True)
class NeuronKind:
    model: type
    params: tuple
    state: tuple
    initial: dict
    spec: str
    kernel: str
    lava: str
    lava_check: str
    cost_ops: tuple
    graded: bool = False             # sends multi-bit payloads (graded spikes) instead of binary spikes
    target_check: str | None = None  # quantize rule: "module:function"(pop, formats) refusing what the target can't hold
    sample: str | None = None        # "module:function"(rng, n) -> a random Lava-runnable model (neurons/sampling.py)
    inputs: tuple = ("a_in",)        # the Lava InPorts of its input channels (projection port i feeds inputs[i])

    @property
    def name(self) -> str:
        return self.model.__name__

    @property
    def channels(self) -> int:
        """How many input channels (Lava InPorts) the model has."""
        return len(self.inputs)

    @property
    def drive(self) -> tuple:
        """The parameters that are a constant drive (bias), switched off before a population's onset
        (``Network.onsets``): ``bias_mant`` or ``bias``, whichever the model has."""
        return tuple(p for p in self.params if p in DRIVE_PARAMS)

    @property
    def spec_step(self):
        return _resolve(self.spec)

    @property
    def kernel_step(self):
        return _resolve(self.kernel)

    @property
    def kernel_prepare(self):
        """The kernel module's ``prepare(params) -> int64[k, N]`` (beside its ``step``)."""
        return _resolve(self.kernel.partition(":")[0] + ":prepare")

    @property
    def lava_process(self):
        return _resolve(self.lava)

    @property
    def check_lava(self):
        return _resolve(self.lava_check)

    @property
    def sampler(self):
        """The model's random-parameter sampler ``sample(rng, n) -> model`` (randomized exactness tests)."""
        if self.sample is None:
            raise UnsupportedError(f"neuron model {self.name} has no sampler: register sample='module:function' "
                                   "(see neurocomp/neurons/sampling.py) so the randomized exactness tests cover it")
        return _resolve(self.sample)

    @property
    def check_target(self):
        """The model's quantize rule (None: any integer values pass)."""
        return _resolve(self.target_check) if self.target_check else None


#: Table fields that are a constant drive in every model that has them (``NeuronKind.drive``).
DRIVE_PARAMS = ("bias_mant", "bias")


def register(kind: NeuronKind) -> NeuronKind:
    if kind.model in NEURONS:
        raise ValueError(f"neuron model {kind.name} is registered already")
    if not 1 <= kind.channels <= MAX_INPUTS:
        raise ValueError(f"neuron model {kind.name}: {kind.channels} input channels; the emulator kernel "
                         f"accumulates 1..{MAX_INPUTS}")
    NEURONS[kind.model] = kind
    return kind


def kind_of(model, where: str = "") -> NeuronKind:
    """The registered kind of a neuron model instance (or class); a clear refusal for a float model."""
    cls = model if isinstance(model, type) else type(model)
    kind = NEURONS.get(cls)
    if kind is None:
        prefix = f"{where}: " if where else ""
        raise UnsupportedError(f"{prefix}model {cls.__name__} is not an integer chip model "
                               f"({', '.join(k.name for k in NEURONS.values())}); run the quantize pass "
                               "(neurocomp compile) first")
    return kind


def table_params() -> tuple:
    """Every registered model's table fields, once each, in registration order (the tables' columns)."""
    out = []
    for kind in NEURONS.values():
        out += [p for p in (*kind.params, *kind.initial.values()) if p not in out]
    return tuple(out)
