"""Constructors for the common learning rules, written in Lava's expression grammar.

Each returns a ``neurocomp.ir.LearningRule`` whose strings Lava parses as written (and
:func:`neurocomp.rules.grammar.parse_rule` checks here). Scales must be exactly ``m * 2**e`` with
``-8 <= m <= 7`` and ``-7 <= e <= 8`` (Loihi's 4-bit mantissa and exponent); anything else is
refused with the nearest representable values, never rounded silently.

Fixed-point facts the docstrings rely on (lava.md §7): traces are 7-bit (0..127); a product's
value is shifted right by ``max(0, sum of factor widths + 4 - 15)`` before scaling (trace 7 bits,
w/t 9 bits), and the accumulator keeps 7 fractional bits, so ``scale * x1`` is exact but
``scale * t * y2`` is divided by 32 and ``scale * x1 * y1 * (w_max - w)`` by 4096.
"""
from __future__ import annotations

from fractions import Fraction

from ..errors import ValidationError
from ..ir import LearningRule
from .grammar import parse_rule

_REPRESENTABLE = sorted({Fraction(m) * Fraction(2) ** e for m in range(-8, 8) for e in range(-7, 9)})


def scale_literal(value, what: str) -> str:
    """``value`` (>= 0) as a Lava literal ``2^e`` / ``m*2^e`` / ``m``; ValidationError if not exact."""
    try:
        v = Fraction(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{what} = {value!r} must be a number") from None
    if v < 0:
        raise ValidationError(f"{what} = {value} must be >= 0 (the sign is part of the rule)")
    for e in range(8, -8, -1):
        m = v / Fraction(2) ** e
        if m.denominator == 1 and -8 <= m <= 7:
            m = int(m)
            if e == 0:
                return str(m)
            return f"2^{e}" if m == 1 else f"{m}*2^{e}"
    near = sorted(_REPRESENTABLE, key=lambda r: abs(r - v))[:2]
    raise ValidationError(f"{what} = {value} is not representable as m*2^e with -8 <= m <= 7, -7 <= e <= 8 "
                          f"(Loihi's scale format); nearest: {', '.join(str(float(r)) for r in near)}")


def _terms(*terms: tuple[str, object, str]) -> str:
    """Join (sign, scale, body) terms, leaving out zero scales."""
    parts = []
    for sign, scale, body, what in terms:
        if Fraction(scale) == 0:
            continue
        lit = scale_literal(scale, what)
        parts.append((sign, f"{lit}*{body}"))
    if not parts:
        return ""
    text = ("-" if parts[0][0] == "-" else "") + parts[0][1]
    return text + "".join(f" {s} {b}" for s, b in parts[1:])


def _int_bound(value, what: str) -> int:
    if value != int(value) or not -256 <= int(value) <= 255:
        raise ValidationError(f"{what} = {value} must be an integer weight in -256..255")
    return int(value)


def _sign_bound(value, what: str, name: str):
    """w_min / w_max that the sign mode enforces: None (8-bit range) or 0 (excitatory / inhibitory)."""
    if value is not None and value != 0:
        raise ValidationError(f"{name}: {what} = {value} cannot be enforced by this rule on Loihi; only 0 is "
                              f"(the excitatory/inhibitory sign mode) or None (the 8-bit range); use "
                              "nc.rules.hebbian for a soft upper bound")
    return value


def _checked(rule: LearningRule) -> LearningRule:
    parse_rule(rule)
    return rule


def stdp(a_plus=2 ** -2, a_minus=2 ** -2, tau_plus: float = 10, tau_minus: float = 10, impulse_plus: float = 16,
         impulse_minus: float = 16, t_epoch: int = 1, rng_seed: int = 0, w_min=None, w_max=None,
         name: str = "stdp") -> LearningRule:
    """Pair-based STDP: ``dw = a_plus*x1*y0 - a_minus*y1*x0``.

    Per learning epoch: each post spike (y0) adds ``a_plus * x1`` (the pre trace at that spike), each
    pre spike (x0) subtracts ``a_minus * y1`` (the post trace at that spike). x1 jumps by
    ``impulse_plus`` per pre spike and decays by ``exp(-1/tau_plus)`` per step (stochastic rounding,
    7-bit); y1 likewise with the ``_minus`` parameters. Exact in fixed point up to the final
    stochastic rounding (one trace per product: no bit loss). Weights saturate at the sign mode's
    8-bit range; ``w_min=0`` makes the projection excitatory (weights stop at 0), ``w_max=0``
    inhibitory; other bounds are refused (this rule cannot enforce them).
    """
    _sign_bound(w_min, "w_min", f"stdp '{name}'")
    _sign_bound(w_max, "w_max", f"stdp '{name}'")
    dw = _terms(("+", a_plus, "x1*y0", "a_plus"), ("-", a_minus, "y1*x0", "a_minus"))
    if not dw:
        raise ValidationError(f"stdp '{name}': a_plus and a_minus are both 0; nothing would learn")
    return _checked(LearningRule(dw=dw, x1_impulse=impulse_plus, x1_tau=tau_plus, y1_impulse=impulse_minus,
                                 y1_tau=tau_minus, t_epoch=t_epoch, rng_seed=rng_seed, w_min=w_min, w_max=w_max,
                                 name=name))


def hebbian(rate=2 ** 3, w_max=127, tau_pre: float = 10, tau_post: float = 10, impulse_pre: float = 16,
            impulse_post: float = 16, t_epoch: int = 1, rng_seed: int = 0, w_min=None,
            name: str = "hebbian") -> LearningRule:
    """Bounded Hebbian learning: ``dw = rate*u0*x1*y1*(w_max - w)``, i.e. per epoch in fixed point
    ``Δw = rate * x1 * y1 * (w_max - w) / 2^12`` (the 27-bit product is shifted right by 12).

    Weights grow with the product of the pre and post traces (correlated activity) and approach
    ``w_max`` from below without crossing it (the soft bound makes Δw -> 0; stochastic rounding
    can land one step short). ``rate = 2^3`` gives ``x1*y1*(w_max-w)/512``. ``w_max`` is an integer
    weight in -256..255; ``w_min`` may be None or 0 (excitatory). The traces are as in
    :func:`stdp` (``_pre`` -> x1, ``_post`` -> y1).
    """
    _sign_bound(w_min, "w_min", f"hebbian '{name}'")
    w_max = _int_bound(w_max, "w_max")
    body = f"u0*x1*y1*({w_max} - w)"
    dw = _terms(("+", rate, body, "rate"))
    if not dw:
        raise ValidationError(f"hebbian '{name}': rate is 0; nothing would learn")
    return _checked(LearningRule(dw=dw, x1_impulse=impulse_pre, x1_tau=tau_pre, y1_impulse=impulse_post,
                                 y1_tau=tau_post, t_epoch=t_epoch, rng_seed=rng_seed, w_min=w_min, w_max=w_max,
                                 name=name))


def rstdp(third_factor: str, lr=2 ** -4, a_plus=2 ** -1, a_minus=2 ** -3, tau_plus: float = 10, tag_decay=2 ** -3,
          impulse_plus: float = 16, t_epoch: int = 1, rng_seed: int = 0, w_min=None, w_max=None,
          name: str = "rstdp") -> LearningRule:
    """Reward-modulated STDP with an eligibility trace in tag_1 (Lava's three-factor rule)::

        dt = a_plus*x1*y0 - a_minus*x0 - tag_decay*u0*t      # eligibility t (tag_1, -257..255)
        dw = lr*u0*t*y2                                       # Δw = lr * t * y2 / 32 per epoch

    Causal pairs (pre trace x1 at a post spike) raise the eligibility, each pre spike lowers it by
    ``a_minus``, and it decays by the factor ``1 - tag_decay`` per epoch. The reward is the graph
    input named ``third_factor`` (ints 0..127 per step, one per post neuron or one for all); Lava's
    3F mode receives it on y2 every step. Why no ``y1*x0`` term: in 3F mode y1..y3 are the values
    received on the third-factor ports, not post-spike traces, and a plain LIF post population sends
    none, so the anti-causal side is the per-pre-spike ``a_minus`` depression. ``w_min``/``w_max``
    as in :func:`stdp` (None or 0).
    """
    _sign_bound(w_min, "w_min", f"rstdp '{name}'")
    _sign_bound(w_max, "w_max", f"rstdp '{name}'")
    if not isinstance(third_factor, str) or not third_factor:
        raise ValidationError(f"rstdp '{name}': third_factor must name the graph input carrying the reward")
    dt = _terms(("+", a_plus, "x1*y0", "a_plus"), ("-", a_minus, "x0", "a_minus"),
                ("-", tag_decay, "u0*t", "tag_decay"))
    if not dt or Fraction(a_plus) == 0 and Fraction(a_minus) == 0:
        raise ValidationError(f"rstdp '{name}': a_plus and a_minus are both 0; the eligibility never changes")
    dw = _terms(("+", lr, "u0*t*y2", "lr"))
    if not dw:
        raise ValidationError(f"rstdp '{name}': lr is 0; nothing would learn")
    return _checked(LearningRule(dw=dw, dt=dt, x1_impulse=impulse_plus, x1_tau=tau_plus, t_epoch=t_epoch,
                                 rng_seed=rng_seed, third_factor=third_factor, w_min=w_min, w_max=w_max, name=name))
