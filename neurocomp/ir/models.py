"""Neuron models. Each is a frozen dataclass whose docstring states the equation it means.

Physical-unit models (``LIF``, ``CubaLIF``, ``IF``, ``LI``, ``Integrator``, ``Threshold``) follow
NIR 1.0.8's continuous-time definitions; the ``discretize`` pass picks a time step and the
``quantize`` pass maps them to a target's integers. ``LoihiLIF`` is already in integer units and
means exactly Lava 0.10's fixed-point LIF (``PyLifModelBitAcc``); passes leave it untouched.

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


#: Lava's LIF keeps u and v in 24-bit two's complement.
STATE_BITS = 24


@dataclass(frozen=True, eq=False, repr=False)
class LoihiLIF(NeuronModel):
    """Loihi's CUBA LIF in integer units, exactly Lava 0.10's fixed-point LIF (PyLifModelBitAcc).

    Each step t (``a`` = synaptic input received this step)::

        u = wrap24(trunc0(u * (4096 - (du + 1)), 12) + (a << 6))
        v = sat24(trunc0(v * (4096 - dv), 12) + u + (bias_mant << bias_exp))
        s = v > (vth << 6);  v[s] = 0            # u is not reset

    ``trunc0(x, k)`` shifts |x| right by k keeping the sign (rounds toward 0). ``du``, ``dv`` in
    0..4095 (decay = du/4096 per step), ``vth`` >= 0, ``bias_mant`` int16 as in Lava, ``bias_exp``
    (negative: arithmetic right shift). ``u0``, ``v0`` are the initial states. The IR accepts what
    Lava can run; a target's narrower formats (e.g. 13-bit bias) are checked by the compiler.
    """
    du: object
    dv: object
    vth: object
    bias_mant: object = 0
    bias_exp: object = 0
    u0: object = 0
    v0: object = 0
    integer = True

    def __post_init__(self):
        lim = 2 ** (STATE_BITS - 1)
        for name, lo, hi in (("du", 0, 4095), ("dv", 0, 4095), ("vth", 0, 2 ** 17),
                             ("bias_mant", -(2 ** 15), 2 ** 15 - 1), ("bias_exp", -16, 16),
                             ("u0", -lim + 1, lim), ("v0", -lim + 1, lim - 1)):
            object.__setattr__(self, name, as_int_array(getattr(self, name), "LoihiLIF", name, lo, hi))


#: Registry by name, used by the file formats.
MODELS: dict[str, type[NeuronModel]] = {
    cls.__name__: cls for cls in (SpikeInput, LIF, CubaLIF, IF, LI, Integrator, Threshold, LoihiLIF)
}
