"""Neuron models. Each is a frozen dataclass whose docstring states the equation it means.

Physical-unit models (``LIF``, ``CubaLIF``, ``IF``, ``LI``, ``Integrator``, ``Threshold``) follow
NIR 1.0.8's continuous-time definitions; the ``discretize`` pass picks a time step and the
``quantize`` pass maps them to a target's integers. Integer chip models (``LoihiLIF``, exactly Lava
0.10's fixed-point LIF) live with everything else they need in ``neurocomp.neurons``; passes leave
them untouched.

Parameters may be scalars or one value per neuron (flattened population order).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ._checks import as_float_array, as_int_array, check_broadcast
from ..errors import ValidationError


class NeuronModel:
    """Common behaviour: validation on construction, per-neuron broadcasting, equality by value."""

    #: Does the neuron emit spikes (False: a readout whose voltage is the output).
    spiking: bool = True
    #: Parameters in integer target units (True) or physical units (False).
    integer: bool = False

    def params(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def check_size(self, n: int, where: str) -> None:
        for name, value in self.params().items():
            check_broadcast(np.asarray(value), n, where, name)

    def broadcast(self, name: str, n: int) -> np.ndarray:
        """Parameter ``name`` as a length-``n`` array."""
        return np.broadcast_to(np.asarray(getattr(self, name)).reshape(-1), (n,)).copy()

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        return all(np.array_equal(a, b) for a, b in zip(self.params().values(), other.params().values()))

    def __hash__(self):
        return hash(type(self).__name__)

    def __repr__(self):
        def short(v):
            v = np.asarray(v)
            return repr(v.item()) if v.ndim == 0 else f"array[{v.size}]"
        inner = ", ".join(f"{k}={short(v)}" for k, v in self.params().items())
        return f"{type(self).__name__}({inner})"


def _floats(obj, where, names, positive=()):
    for name in names:
        arr = as_float_array(getattr(obj, name), where, name)
        if name in positive and arr.size and arr.min() <= 0:
            raise ValidationError(f"{where}: parameter '{name}' must be > 0 (got {arr.min()})")
        object.__setattr__(obj, name, arr)


@dataclass(frozen=True, eq=False, repr=False)
class SpikeInput(NeuronModel):
    """A graph input: a spike source driven from outside, one 0/1 (or graded) value per step."""

    def __post_init__(self):
        pass


@dataclass(frozen=True, eq=False, repr=False)
class LIF(NeuronModel):
    """Leaky integrate-and-fire, NIR's LIF: ``tau dv/dt = (v_leak - v) + r*I``.

    Forward Euler for step ``dt`` (seconds): ``v += dt/tau * (v_leak - v + r*x)``; spike when
    ``v > v_threshold`` (strict), then ``v = v_reset``. ``bias`` is a constant input current added to
    ``x`` every step.
    """
    tau: object
    v_threshold: object
    r: object = 1.0
    v_leak: object = 0.0
    v_reset: object = 0.0
    bias: object = 0.0

    def __post_init__(self):
        _floats(self, "LIF", ["tau", "v_threshold", "r", "v_leak", "v_reset", "bias"], positive=("tau",))


@dataclass(frozen=True, eq=False, repr=False)
class CubaLIF(NeuronModel):
    """Current-based LIF (the Loihi neuron), NIR's CubaLIF.

    ``tau_syn dI/dt = -I + w_in*x``; ``tau_mem dv/dt = (v_leak - v) + r*I``. One step:
    ``I = a*I + (1-a)*w_in*x`` then ``v = b*v + (1-b)*(v_leak + r*I)`` with the new I,
    ``a = 1 - dt/tau_syn``, ``b = 1 - dt/tau_mem``; spike if ``v > v_threshold``; ``v = v_reset``.
    ``bias`` is a constant input current added to ``x`` every step.
    """
    tau_syn: object
    tau_mem: object
    v_threshold: object
    r: object = 1.0
    v_leak: object = 0.0
    v_reset: object = 0.0
    w_in: object = 1.0
    bias: object = 0.0

    def __post_init__(self):
        _floats(self, "CubaLIF", ["tau_syn", "tau_mem", "v_threshold", "r", "v_leak", "v_reset", "w_in", "bias"],
                positive=("tau_syn", "tau_mem"))


@dataclass(frozen=True, eq=False, repr=False)
class IF(NeuronModel):
    """Integrate-and-fire, NIR's IF: ``dv/dt = r*I``; one step ``v += r*x``; spike if
    ``v > v_threshold``; then ``v = v_reset``. ``bias`` is added to ``x`` every step."""
    v_threshold: object
    r: object = 1.0
    v_reset: object = 0.0
    bias: object = 0.0

    def __post_init__(self):
        _floats(self, "IF", ["v_threshold", "r", "v_reset", "bias"])


@dataclass(frozen=True, eq=False, repr=False)
class LI(NeuronModel):
    """Leaky integrator (non-spiking readout), NIR's LI: ``tau dv/dt = (v_leak - v) + r*I``.
    One step ``v += dt/tau * (v_leak - v + r*x)``; no spikes, ``v`` is the output."""
    tau: object
    r: object = 1.0
    v_leak: object = 0.0
    bias: object = 0.0
    spiking = False

    def __post_init__(self):
        _floats(self, "LI", ["tau", "r", "v_leak", "bias"], positive=("tau",))


@dataclass(frozen=True, eq=False, repr=False)
class Integrator(NeuronModel):
    """Non-leaky integrator (non-spiking), NIR's Integrator: ``dv/dt = r*I``; one step ``v += r*x``."""
    r: object = 1.0
    bias: object = 0.0
    spiking = False

    def __post_init__(self):
        _floats(self, "Integrator", ["r", "bias"])


@dataclass(frozen=True, eq=False, repr=False)
class Threshold(NeuronModel):
    """Stateless spike generator, NIR's Threshold: ``s = H(x - theta)``, i.e. spike iff ``x > theta``."""
    theta: object

    def __post_init__(self):
        _floats(self, "Threshold", ["theta"])


#: Registry by name of the physical-unit models, used by the file formats (``neurocomp.ir.MODELS`` adds the
#: integer chip models of ``neurocomp.neurons``).
PHYSICAL_MODELS: dict[str, type[NeuronModel]] = {
    cls.__name__: cls for cls in (SpikeInput, LIF, CubaLIF, IF, LI, Integrator, Threshold)
}
