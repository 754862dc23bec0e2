"""On-chip learning rules as data, in Loihi's trace-based sum-of-products form.

The fields mirror Lava 0.10's ``Loihi2FLearningRule`` / ``Loihi3FLearningRule``
(../shared/reference/lava.md §7): update expressions ``dw``/``dd``/``dt`` in Lava's grammar
(e.g. ``"2^-2*x1*y0 - 2^-2*y1*x0"``), pre traces x1, x2 and post traces y1, y2, y3 (impulse added
per spike, decay time constant in steps), the learning epoch ``t_epoch`` and the random seed of the
stochastic rounding. ``third_factor`` names a graph input that feeds the reward / modulatory
signal (3-factor rule: it is sent on Lava's y-trace ports). ``w_min``/``w_max`` are weight bounds
(Lava clips to the 8-bit range of the sign mode; tighter bounds are enforced by the rule's form).
Parsing and execution of the expressions belong to the learning issue; here they are data,
checked only for being present.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..errors import ValidationError

TRACE_PARAMS = ("x1_impulse", "x1_tau", "x2_impulse", "x2_tau", "y1_impulse", "y1_tau",
                "y2_impulse", "y2_tau", "y3_impulse", "y3_tau")


@dataclass(frozen=True)
class LearningRule:
    dw: str | None = None
    dd: str | None = None
    dt: str | None = None
    x1_impulse: float = 0.0
    x1_tau: float = 0.0
    x2_impulse: float = 0.0
    x2_tau: float = 0.0
    y1_impulse: float = 0.0
    y1_tau: float = 0.0
    y2_impulse: float = 0.0
    y2_tau: float = 0.0
    y3_impulse: float = 0.0
    y3_tau: float = 0.0
    t_epoch: int = 1
    rng_seed: int = 0
    third_factor: str | None = None
    w_min: float | None = None
    w_max: float | None = None
    name: str = "rule"

    def __post_init__(self):
        where = f"learning rule '{self.name}'"
        if not any((self.dw, self.dd, self.dt)):
            raise ValidationError(f"{where}: give at least one of dw, dd, dt (Lava requires one)")
        for key in ("dw", "dd", "dt"):
            v = getattr(self, key)
            if v is not None and not isinstance(v, str):
                raise ValidationError(f"{where}: '{key}' must be an expression string, got {type(v).__name__}")
        for key in TRACE_PARAMS:
            v = float(getattr(self, key))
            if not np.isfinite(v) or v < 0:
                raise ValidationError(f"{where}: '{key}' = {v} must be finite and >= 0")
            object.__setattr__(self, key, v)
        if not (1 <= int(self.t_epoch) <= 63):
            raise ValidationError(f"{where}: t_epoch = {self.t_epoch} must be in 1..63 (Loihi's epoch limit)")
        object.__setattr__(self, "t_epoch", int(self.t_epoch))
        object.__setattr__(self, "rng_seed", int(self.rng_seed))
        if self.w_min is not None and self.w_max is not None and self.w_min > self.w_max:
            raise ValidationError(f"{where}: w_min {self.w_min} > w_max {self.w_max}")

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}
