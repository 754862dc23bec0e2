"""The ``discretize`` pass: continuous-time neuron models -> per-step (forward Euler) updates for a ``dt``.

Every physical-unit model becomes one :class:`DiscreteModel`, a two-state linear update that all of
them share (x[t] = weighted synaptic input arriving at step t)::

    u[t] = (1 - decay_u) * u[t-1] + gain_u * x[t] + bias_u
    v[t] = (1 - decay_v) * v[t-1] + gain_v * u[t] + bias_per_step      # the NEW u, as NIR's CubaLIF
    spiking: s[t] = v[t] > v_th (strict);  v[s] = v_reset

Models without a current state have ``decay_u = 1, gain_u = 1, bias_u = 0`` (so u[t] = x[t]).
With NIR's forward-Euler convention (../shared/reference/nir.md, "one step")::

    LIF/LI      decay_v = dt/tau, gain_v = dt/tau*r, bias_per_step = dt/tau*(v_leak + r*bias)
    CubaLIF     decay_u = dt/tau_syn, gain_u = dt/tau_syn*w_in, bias_u = dt/tau_syn*w_in*bias,
                decay_v = dt/tau_mem, gain_v = dt/tau_mem*r, bias_per_step = dt/tau_mem*v_leak
    IF/Integr.  decay_v = 0, gain_v = r, bias_per_step = r*bias
    Threshold   decay_v = 1, gain_v = 1 (v = x: spike iff x > theta)

The Network itself is not changed (its models are physical and fixed by the IR); the pass returns a
:class:`DiscretizedNetwork` holding a copy of it, ``dt`` and the discrete models. Integer
populations (``LoihiLIF``) and graph inputs have no entry: they are already per-step.

``integration="exact"`` (``compile --integration exact``) replaces every ``dt/tau`` above by
``1 - exp(-dt/tau)``: each state decays exactly as its ODE would without input, and the input/bias
gains keep the ``decay * (...)`` form (so the steady state is unchanged). This is the discrete-time
update of snnTorch (``beta = exp(-dt/tau)``), Sinabs and Rockpool, not the exact zero-order-hold
solution of the coupled CubaLIF ODE (that would mix both exponentials in v's input gain).

Forward Euler is only meaningful for ``dt < tau`` (at ``dt = tau`` the decay is 0, beyond it the state
flips sign each step): ``dt >= tau`` is refused, ``dt > tau/2`` warns. The report gives, per
population and time constant, the relative error of the Euler decay ``1 - dt/tau`` against the exact
``exp(-dt/tau)``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .base import Pass, PassReport, register_pass
from ..errors import NeurocompWarning, ValidationError
from ..ir import IF, LI, LIF, CubaLIF, Integrator, Network, NeuronModel, Population, Threshold


@dataclass(frozen=True, eq=False)
class DiscreteModel:
    """Per-step parameters of one population (arrays of one value per neuron, float64; see module doc).

    ``kind`` is the source model's class name. ``v_leak`` is the resting potential inside
    ``bias_per_step`` (whose leak part is ``decay_v * v_leak``; the rest is input bias), kept apart so
    that quantize can pair the leak with the decay it really gets.
    """
    kind: str
    decay_u: np.ndarray
    decay_v: np.ndarray
    gain_u: np.ndarray
    gain_v: np.ndarray
    v_th: np.ndarray
    v_reset: np.ndarray
    bias_per_step: np.ndarray
    bias_u: np.ndarray
    v_leak: np.ndarray
    has_current_state: bool
    spiking: bool

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in ("decay_u", "decay_v", "gain_u", "gain_v", "v_th", "v_reset",
                                              "bias_per_step", "bias_u", "v_leak")}

    def __eq__(self, other):
        if not isinstance(other, DiscreteModel):
            return NotImplemented
        return (self.kind == other.kind and self.has_current_state == other.has_current_state
                and self.spiking == other.spiking
                and all(np.array_equal(a, b) for a, b in zip(self.arrays().values(), other.arrays().values())))

    __hash__ = None


@dataclass(frozen=True, eq=False)
class DiscretizedNetwork:
    """A Network (a private copy) plus the time step and the per-step models of its float populations."""
    network: Network
    dt: float
    models: dict[str, DiscreteModel]
    integration: str = "euler"

    def __eq__(self, other):
        return (isinstance(other, DiscretizedNetwork) and self.dt == other.dt and self.network == other.network
                and self.models == other.models and self.integration == other.integration)

    __hash__ = None

    def __repr__(self):
        return f"DiscretizedNetwork(dt={self.dt}, {len(self.models)} discretized, {self.network!r})"


def copy_network(net: Network) -> Network:
    """A re-validated copy sharing the (read-only) arrays: later edits of ``net`` cannot reach it."""
    return Network.from_parts(net.name, list(net.populations.values()), list(net.projections.values()),
                              list(net.outputs), dict(net.metadata))


# --------------------------------------------------------------------------- per-model rules
_Rule = Callable[[NeuronModel, int, float, Callable], dict]
#: model type -> function(model, n, dt, k) giving the DiscreteModel fields and the time constants used;
#: ``k(dt, tau)`` is the per-step decay fraction of the chosen integration (:data:`INTEGRATIONS`).
DISCRETIZERS: dict[type, _Rule] = {}


def _register(cls):
    def deco(fn):
        DISCRETIZERS[cls] = fn
        return fn
    return deco


def _no_current(n):
    return dict(decay_u=np.ones(n), gain_u=np.ones(n), bias_u=np.zeros(n), has_current_state=False,
                tau_u=None)


@_register(LIF)
@_register(LI)
def _leaky(m, n, dt, frac):
    b = lambda k: m.broadcast(k, n)
    k = frac(dt, b("tau"))
    spiking = isinstance(m, LIF)
    return dict(_no_current(n), decay_v=k, gain_v=k * b("r"), bias_per_step=k * (b("v_leak") + b("r") * b("bias")),
                v_th=b("v_threshold") if spiking else np.full(n, np.inf),
                v_reset=b("v_reset") if spiking else np.zeros(n), spiking=spiking, tau_v=b("tau"), v_leak=b("v_leak"))


@_register(CubaLIF)
def _cuba(m, n, dt, frac):
    b = lambda k: m.broadcast(k, n)
    ku, kv = frac(dt, b("tau_syn")), frac(dt, b("tau_mem"))
    return dict(decay_u=ku, gain_u=ku * b("w_in"), bias_u=ku * b("w_in") * b("bias"), has_current_state=True,
                decay_v=kv, gain_v=kv * b("r"), bias_per_step=kv * b("v_leak"), v_th=b("v_threshold"),
                v_reset=b("v_reset"), spiking=True, tau_u=b("tau_syn"), tau_v=b("tau_mem"), v_leak=b("v_leak"))


@_register(IF)
@_register(Integrator)
def _integrate(m, n, dt, frac):
    b = lambda k: m.broadcast(k, n)
    spiking = isinstance(m, IF)
    return dict(_no_current(n), decay_v=np.zeros(n), gain_v=b("r"), bias_per_step=b("r") * b("bias"),
                v_th=b("v_threshold") if spiking else np.full(n, np.inf),
                v_reset=b("v_reset") if spiking else np.zeros(n), spiking=spiking, tau_v=None, v_leak=np.zeros(n))


@_register(Threshold)
def _threshold(m, n, dt, frac):
    return dict(_no_current(n), decay_v=np.ones(n), gain_v=np.ones(n), bias_per_step=np.zeros(n),
                v_th=m.broadcast("theta", n), v_reset=np.zeros(n), spiking=True, tau_v=None, v_leak=np.zeros(n))


#: integration name -> per-step decay fraction ``k(dt, tau)`` (the state keeps ``1 - k`` of itself).
INTEGRATIONS: dict[str, Callable] = {
    "euler": lambda dt, tau: dt / tau,                       # NIR's forward Euler
    "exact": lambda dt, tau: -np.expm1(-dt / tau),           # 1 - exp(-dt/tau), each state's exact decay
}


def euler_decay_error(dt: float, tau: np.ndarray) -> np.ndarray:
    """|(1 - dt/tau) - exp(-dt/tau)| / exp(-dt/tau): Euler's per-step decay against the exact one."""
    exact = np.exp(-dt / tau)
    return np.abs((1.0 - dt / tau) - exact) / exact


def discretize_population(pop: Population, dt: float, report: PassReport | None = None,
                          integration: str = "euler") -> DiscreteModel:
    """The DiscreteModel of one float population; checks ``dt`` against its time constants."""
    rule = DISCRETIZERS.get(type(pop.model))
    if rule is None:
        raise ValidationError(f"population '{pop.name}': model {type(pop.model).__name__} has no discretization "
                              f"rule (known: {', '.join(c.__name__ for c in DISCRETIZERS)})")
    if integration not in INTEGRATIONS:
        raise ValidationError(f"discretize: integration {integration!r} is not one of {', '.join(INTEGRATIONS)}")
    fields_ = rule(pop.model, pop.size, dt, INTEGRATIONS[integration])
    for state, tau_name in (("u", "tau_syn"), ("v", "tau_mem" if isinstance(pop.model, CubaLIF) else "tau")):
        tau = fields_.pop(f"tau_{state}")
        if tau is None:
            continue
        ratio = dt / tau
        worst = int(np.argmax(ratio))
        if integration == "euler" and ratio[worst] >= 1.0:
            raise ValidationError(
                f"population '{pop.name}' ({type(pop.model).__name__}): dt = {dt:g} s is not below {tau_name} = "
                f"{tau[worst]:g} s (neuron {worst}); forward Euler is unstable/meaningless for dt >= tau. "
                f"Use dt < {tau.min():g} s (ideally <= tau/10), or --integration exact")
        if integration == "euler" and ratio[worst] > 0.5:
            msg = (f"population '{pop.name}': dt = {dt:g} s is more than half of {tau_name} = {tau[worst]:g} s; "
                   f"forward Euler's decay 1 - dt/tau = {1 - ratio[worst]:.3g} is far from exp(-dt/tau) = "
                   f"{np.exp(-ratio[worst]):.3g} (--integration exact uses the latter)")
            warnings.warn(msg, NeurocompWarning, stacklevel=3)
            if report is not None:
                report.warnings.append(msg)
        if report is not None:
            err = float(euler_decay_error(dt, tau).max())
            report.groups.append({"population": pop.name, "param": f"decay_{state}", "tau": tau_name,
                                  "dt_over_tau_max": float(ratio.max()),
                                  "rel_error": err if integration == "euler" else 0.0,
                                  "euler_vs_exact": err,
                                  "error_of": "forward-Euler decay vs exp(-dt/tau)" if integration == "euler" else
                                  "exact decay exp(-dt/tau) used; euler_vs_exact is what forward Euler would lose"})
    return DiscreteModel(kind=type(pop.model).__name__, **{k: (np.asarray(v, dtype=np.float64)
                                                               if isinstance(v, np.ndarray) else v)
                                                           for k, v in fields_.items()})


@register_pass
@dataclass(frozen=True)
class Discretize(Pass):
    """Continuous models -> per-step decays for ``dt`` seconds (``integration``: "euler", NIR's
    forward Euler, or "exact", each state's exact exponential decay)."""
    dt: float = 1e-4
    integration: str = "euler"
    name = "discretize"

    def run(self, obj, target=None) -> tuple[DiscretizedNetwork, PassReport]:
        dt = float(self.dt)
        if not np.isfinite(dt) or dt <= 0:
            raise ValidationError(f"discretize: dt = {self.dt!r} must be a positive number of seconds (e.g. 1e-4)")
        if isinstance(obj, DiscretizedNetwork):
            obj = obj.network
        if not isinstance(obj, Network):
            raise ValidationError(f"discretize: expects a Network, got {type(obj).__name__}")
        report = PassReport(self.name)
        models: dict[str, DiscreteModel] = {}
        passthrough = []
        for pop in obj.neuron_populations:
            if pop.model.integer:
                passthrough.append(pop.name)
                continue
            models[pop.name] = discretize_population(pop, dt, report, self.integration)
        report.summary = {"dt": dt, "integration": self.integration, "discretized": sorted(models),
                          "integer_passthrough": passthrough, "max_euler_decay_error": report.max_rel_error()}
        return DiscretizedNetwork(copy_network(obj), dt, models, self.integration), report
