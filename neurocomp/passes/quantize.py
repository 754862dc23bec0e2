"""The ``quantize`` pass: a DiscretizedNetwork -> an all-integer Network (LoihiLIF + integer weights).

Target arithmetic is Lava 0.10's fixed-point LIF and Dense (../shared/reference/lava.md §2-4)::

    a = floor(sum_i W_i s_i * 2**weight_exp)               # per projection, W = clip+truncate(mantissa)
    u = trunc0(u * (4096 - (du + 1)), 12) + (a << 6)
    v = trunc0(v * (4096 - dv), 12) + u + (bias_mant << bias_exp);   spike v > vth << 6;  v = 0

Mapping from the per-step float model (see ``discretize``)::

    u[t] = (1 - decay_u) u[t-1] + gain_u x[t] + bias_u
    v[t] = (1 - decay_v) v[t-1] + gain_v u[t] + bias_per_step,   spike v > v_th, v = v_reset

One scale ``S`` per population maps voltage: ``v_int = S * (v - v_reset)`` (so ``v_float = v_int / S +
v_offset`` with ``v_offset = v_reset``; Loihi resets to 0, the shift makes ``v_reset != 0`` exact, with
``v0 = -S*v_reset``). The current maps as ``u_int = S * gain_v * u`` (CubaLIF) or ``u_int = S*gain_v*x``
(no current state, ``du = 4095`` clears u each step), so one unit of float weight ``w`` from i to j
becomes ``a = w * S * gain_v_j * gain_u_j / 64``: that product is quantized to an integer mantissa
with one ``weight_exp`` per projection. Then ``du = round(4096*decay_u) - 1`` (Lava adds 1),
``dv = round(4096*decay_v)``, ``vth = round(S*(v_th - v_reset)/64)``. Bias: the leak part
``decay_v*(v_leak - v_reset)`` uses the *quantized* decay (so the resting level is exact); the
input-bias part is exact for LIF/IF; for CubaLIF a bias current (``bias_u``) is folded into v at its
steady state ``gain_v*bias_u/decay_u`` per step (Loihi has no bias into u) and u starts at minus that
steady state (``u0``), so ``u + bias`` rises exactly as the float bias current does (up to the 12-bit du).

Scale choice (documented bound, ``volley_fraction`` = f, default 1). For post neuron j let ``P_j``/``N_j``
be f times the sum of the positive/negative parts of its incoming float weights times its gain
(``gain_v*gain_u``): the change of v (or u) in float units when every presynaptic neuron of every
incoming projection spikes in the same step ("all inputs spiking once"), starting from rest. With
``L = 2**(state_bits-1) - 1`` S is the largest value that keeps
  * u from wrapping: ``S * max(P, N) <= L``;
  * v from saturating: spiking ``S * (v_th' + P + |b|) <= L`` above (v is at most one step past the
    threshold) and ``S * (N*H + B + |v_reset|) <= L`` below, with ``H = 1/decay_u`` for CubaLIF (all the
    charge one volley delivers) else 1, ``b`` the per-step bias and ``B`` its resting level;
    readouts ``S * (max(P, N)*H/decay_v + B) < vth_max << 6`` (leaky: the steady state with every input
    spiking every step, a true bound; Integrator: one volley, since it has none);
  * the threshold mantissa within ``vth_bits``, every weight within the mantissa range at the largest
    ``weight_exp`` (Conv2d: ``weight_exp = 0``, Lava's Conv ignores it), every bias within its
    mantissa/exponent range.
For spiking populations S is then lowered to make ``vth`` of the largest threshold an exact integer.
Denser or longer bursts than one volley can still saturate v or wrap u: raise the bound with
``volley_fraction > 1`` for such inputs.

Weights: mantissas are rounded to the grid Lava will really use — MIXED projections with 8 magnitude
bits lose their LSB in ``truncate_weights`` (k = 8 - nwb + 1), so they are rounded to even numbers; the
reported error is that of ``effective_weights(...) * 2**weight_exp`` against the exact value. Errors:
weights ``rel_error = max|eff - exact| / max|exact|`` per projection (full-scale relative; the
element-wise worst case and the number of non-zero weights rounded to 0 are reported too); ``du``,
``dv`` the relative error of the effective decay ``(du+1)/4096``, ``dv/4096``; ``vth`` and ``bias``
the relative error of the effective value. Every value outside a range is clipped only with a
``clips`` entry and a NeurocompWarning.

Integer chip models pass through unchanged, checked against the target: LoihiLIF's vth/bias within
``vth_bits``/``bias_mant_bits``/``bias_exp``; SigmaDelta and Delta (graded models) need a target with
``formats.graded_messages``, and their scaled ``vth << (spike_exp + state_exp)`` (and SigmaDelta's bias)
must fit the signed ``state_bits``; Sigma needs graded messages only. Every projection that carries graded
messages (``neurocomp.semantics.synapses.message_bits`` > 0) needs ``graded_messages`` and at most
``max_message_bits``; graded messages into a float (physical-unit) population are refused, since the
scale bound above assumes 0/1 spikes.

Non-spiking readouts (LI, Integrator) get ``vth = 2**vth_bits - 1`` (the largest the format holds) and a
scale that keeps their v below it, so an LI readout never spikes and an Integrator does not under the
bound above. (``vth = 2**17`` would make spiking impossible outright since v saturates at 2**23 - 1,
but the IR caps vth at 2**17 - 1.)
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .base import Pass, PassReport, register_pass
from .discretize import DiscreteModel, DiscretizedNetwork, copy_network
from ..errors import CapacityError, NeurocompWarning, TargetError, UnsupportedError, ValidationError
from ..semantics.fixedpoint import effective_weights
from ..ir import Conv2d, LoihiLIF, Network, OneToOne, Projection, SignMode, determine_sign_mode
from ..neurons import kind_of
from ..semantics.synapses import check_ports, message_bits
from ..neurons.loihi_lif import STATE_BITS

#: Lava's LIF decays are fractions of 4096 (12 bits), fixed in its fixed-point model.
DECAY_ONE = 4096


# --------------------------------------------------------------------------- target formats
@dataclass(frozen=True)
class _Formats:
    """The numbers quantize needs from a target, with derived ranges."""
    w_lo: int           # mantissa range for MIXED (signed) weights, e.g. [-256, 255]
    w_hi: int
    nwb: int            # Lava num_weight_bits (magnitude bits, <= 8)
    e_min: int
    e_max: int
    state_lim: int      # 2**(state_bits-1) - 1
    vth_max: int
    b_lo: int
    b_hi: int
    be_min: int
    be_max: int
    signed: bool
    max_delay: int | None
    target: str = "?"      # the target's name, for messages
    graded: bool = False   # formats.graded_messages
    resonators: bool = False  # formats.resonators (RF / RF_IZ)
    message_bits: int = 0  # formats.max_message_bits

    @classmethod
    def of(cls, target) -> "_Formats":
        try:
            f = target.formats
            wb, signed = int(f.weight_bits), bool(f.signed_weights)
            mag = wb - 1 if signed else wb
            if int(f.decay_bits) != 12:
                raise UnsupportedError(f"target '{getattr(target, 'name', '?')}': decay_bits = {f.decay_bits}, but "
                                       "LoihiLIF (Lava's fixed-point LIF) has 12-bit decays; quantize targets "
                                       "Loihi-style cores only")
            core = getattr(target, "core", None)
            return cls(w_lo=-(2 ** mag) if signed else 0, w_hi=2 ** mag - 1, nwb=min(8, mag),
                       e_min=int(f.weight_exp_min), e_max=int(f.weight_exp_max),
                       state_lim=2 ** (min(int(f.state_bits), STATE_BITS) - 1) - 1,
                       vth_max=min(2 ** int(f.vth_bits) - 1, 2 ** 17 - 1),
                       b_lo=-(2 ** (int(f.bias_mant_bits) - 1)), b_hi=2 ** (int(f.bias_mant_bits) - 1) - 1,
                       be_min=int(f.bias_exp_min), be_max=int(f.bias_exp_max), signed=signed,
                       max_delay=None if core is None else int(core.max_delay), target=getattr(target, "name", "?"),
                       graded=bool(getattr(f, "graded_messages", False)),
                       message_bits=int(getattr(f, "max_message_bits", 0)),
                       resonators=bool(getattr(f, "resonators", False)))
        except AttributeError as e:
            raise TargetError(f"quantize: the target lacks a number format field ({e}); give a Target from "
                              "neurocomp.target.load_target (formats.weight_bits, weight_exp_min/max, state_bits, "
                              "decay_bits, vth_bits, bias_mant_bits, bias_exp_min/max, signed_weights)") from None


def _grid(mode: SignMode, fm: _Formats, conv: bool) -> tuple[int, int, int]:
    """(lo, hi, step) of the mantissas Lava really applies for a sign mode.

    Dense/Sparse/OneToOne: Lava clips to 8 bits ([-256,255] / [0,255] / [-255,0]) then truncates
    ``k = 8 - nwb + MIXED`` low bits, so only multiples of ``2**k`` survive. Conv2d: raw weights (no
    clip/truncate in Lava's Conv); the target's mantissa range still applies.
    """
    mixed = mode == SignMode.MIXED
    step = 1 if conv else 2 ** (8 - fm.nwb + int(mixed))
    lo = fm.w_lo if mixed else (-fm.w_hi if mode == SignMode.INHIBITORY else 0)
    hi = 0 if mode == SignMode.INHIBITORY else fm.w_hi
    return -((-lo) // step) * step, (hi // step) * step, step


# --------------------------------------------------------------------------- helpers
def _compact(arr: np.ndarray):
    """A scalar when all entries are equal (the IR broadcasts), else the array."""
    arr = np.asarray(arr)
    return arr.reshape(-1)[0].item() if arr.size and np.all(arr == arr.reshape(-1)[0]) else arr


def _plain(v):
    """JSON-friendly: arrays become lists."""
    return v.tolist() if isinstance(v, np.ndarray) else v


def _warn_clip(report: PassReport, entry: dict, msg: str) -> None:
    report.clips.append(entry)
    report.warnings.append(msg)
    warnings.warn(msg, NeurocompWarning, stacklevel=4)


def _rel(eff: np.ndarray, exact: np.ndarray) -> float:
    """max |eff - exact| / |exact| over entries with exact != 0 (0 where exact is 0 and eff is 0)."""
    eff, exact = np.asarray(eff, float), np.asarray(exact, float)
    nz = exact != 0
    err = float(np.max(np.abs(eff[nz] - exact[nz]) / np.abs(exact[nz]))) if nz.any() else 0.0
    if np.any(eff[~nz] != 0):
        err = math.inf
    return err


@dataclass
class _Incoming:
    """A float projection into a population: its exact weights at S = 1 (``unit``, in units of ``a``)."""
    proj: Projection
    conn: object
    unit: np.ndarray
    pos: np.ndarray     # per post neuron: sum of positive unit weights (float v units, i.e. * 64)
    neg: np.ndarray


def _incoming(proj: Projection, gain: np.ndarray, n_post: int, report: PassReport) -> _Incoming:
    """Scale a float projection's weights by the post gain; sums for the volley bound."""
    conn = proj.connectivity
    if isinstance(conn, Conv2d):
        c_out = conn.output_shape[0]
        g = gain.reshape(c_out, -1)
        if not np.all(g == g[:, :1]):
            msg = (f"projection '{proj.name}': the target's gain (parameters) differ within a Conv2d output "
                   "channel, so the shared kernel cannot carry it; expanded to Sparse (weight sharing lost)")
            report.warnings.append(msg)
            warnings.warn(msg, NeurocompWarning, stacklevel=4)
            conn = conn.to_sparse()
        else:
            unit = conn.weights * g[:, 0][:, None, None, None] / 64.0
            k = unit.reshape(c_out, -1)
            per_ch_pos = np.clip(k, 0, None).sum(1) * 64.0  # upper bound: ignores padding at the edges
            per_ch_neg = np.clip(-k, 0, None).sum(1) * 64.0
            n_sp = n_post // c_out
            return _Incoming(proj, conn, unit, np.repeat(per_ch_pos, n_sp), np.repeat(per_ch_neg, n_sp))
    post = conn.post_index(n_post)
    unit = conn.weights * gain[post] / 64.0
    if isinstance(conn, OneToOne) and conn.weights.ndim == 0:
        unit = conn.weights * gain / 64.0  # vector (gain may vary)
        post = np.arange(n_post)
    flat_u, flat_p = unit.reshape(-1), np.broadcast_to(post, unit.shape).reshape(-1)
    pos = np.bincount(flat_p, np.clip(flat_u, 0, None), minlength=n_post) * 64.0
    neg = np.bincount(flat_p, np.clip(-flat_u, 0, None), minlength=n_post) * 64.0
    return _Incoming(proj, conn, unit, pos, neg)


#: a projection that loses more than this fraction of its non-zero weights to rounding (or whose
#: weight rel_error exceeds LOSS_REL_ERROR) gets a warning naming it and a ``lossy`` report entry
LOSS_ZEROED_FRACTION = 0.5
LOSS_REL_ERROR = 0.5


def _weight_grid(inc: _Incoming, scale: float, fm: _Formats):
    """The mantissa grid of ``inc``'s weights at voltage scale ``scale``: (exact, mode, lo, hi, step, e, raw)."""
    conn, proj = inc.conn, inc.proj
    exact = inc.unit * scale
    is_conv = isinstance(conn, Conv2d)
    learning = proj.learning is not None
    mode = SignMode.MIXED if learning else determine_sign_mode(exact)
    if mode == SignMode.MIXED and not fm.signed:
        raise UnsupportedError(f"projection '{proj.name}': mixed-sign weights, but the target has unsigned "
                               "weights only; split the projection into an excitatory and an inhibitory one")
    lo, hi, step = _grid(mode, fm, is_conv)
    top = max(float(exact.max(initial=0.0)) / hi if hi > 0 else 0.0,
              float(-exact.min(initial=0.0)) / -lo if lo < 0 else 0.0)
    if is_conv:
        e = 0
    elif top == 0:
        e = min(max(0, fm.e_min), fm.e_max)
    else:  # smallest exponent at which every exact/2**e lies within [lo, hi] (rounding cannot leave it)
        # (1e-9: a scale aligned to top * S == 2**e must not lose a bit to float rounding in log2)
        e = min(max(int(math.ceil(math.log2(top) - 1e-9)), fm.e_min), fm.e_max)
    raw = np.round(exact / 2.0 ** e / step) * step
    return exact, mode, lo, hi, step, e, raw


def _effective(inc: _Incoming, mant, mode, e, fm: _Formats) -> np.ndarray:
    if isinstance(inc.conn, Conv2d):  # Lava's Conv multiplies the raw integers
        return mant.astype(np.float64)
    return effective_weights(mant, mode, fm.nwb, learning=inc.proj.learning is not None).astype(np.float64) * 2.0 ** e


def _weight_loss(inc: _Incoming, scale: float, fm: _Formats) -> float:
    """The loss of ``inc``'s weights quantized at ``scale``: their full-scale rel_error (what
    _quantize_weights reports) plus the fraction of non-zero weights rounded to 0."""
    exact, mode, lo, hi, _, e, raw = _weight_grid(inc, scale, fm)
    eff = _effective(inc, np.clip(raw, lo, hi).astype(np.int64), mode, e, fm)
    top = float(np.max(np.abs(exact))) if exact.size else 0.0
    nz = exact != 0
    if top == 0 or not nz.any():
        return 0.0
    return float(np.max(np.abs(eff - exact)) / top) + float(np.count_nonzero(nz & (eff == 0)) / np.count_nonzero(nz))


def _quantize_weights(inc: _Incoming, scale: float, fm: _Formats, report: PassReport):
    """Integer connectivity for ``inc`` at voltage scale ``scale``; records error and clips."""
    conn, proj = inc.conn, inc.proj
    is_conv = isinstance(conn, Conv2d)
    exact, mode, lo, hi, step, e, raw = _weight_grid(inc, scale, fm)
    out = (raw < lo) | (raw > hi)
    if out.any():
        worst = float(raw.flat[np.argmax(np.abs(raw) * out)]) * 2.0 ** e
        _warn_clip(report, {"object": proj.name, "param": "weights", "count": int(out.sum()),
                            "range": [lo * 2.0 ** e, hi * 2.0 ** e], "worst": worst},
                   f"projection '{proj.name}': {int(out.sum())} weight(s) outside the mantissa range [{lo}, {hi}] "
                   f"at weight_exp {e} (worst {worst:g}); clipped. Lower the weights or the target's gain")
    mant = np.clip(raw, lo, hi).astype(np.int64)
    eff = _effective(inc, mant, mode, e, fm)
    scale_max = float(np.max(np.abs(exact))) if exact.size else 0.0
    nz = exact != 0
    report.groups.append({
        "projection": proj.name, "param": "weights", "weight_exp": e, "sign_mode": mode.name,
        "num_weight_bits": fm.nwb if not is_conv else 8, "mantissa_range": [lo, hi], "mantissa_step": step,
        "rel_error": float(np.max(np.abs(eff - exact)) / scale_max) if scale_max > 0 else 0.0,
        "elementwise_rel_error": _rel(eff[nz], exact[nz]) if nz.any() else 0.0,
        "zeroed": int(np.count_nonzero(nz & (eff == 0))), "max_abs_mantissa": int(np.abs(mant).max(initial=0)),
        "error_of": "effective weight (after Lava's clip/truncate) * 2**weight_exp vs exact, / max|exact|"})
    _check_loss(report, proj.name, report.groups[-1], int(np.count_nonzero(nz)))
    opts = dict(weight_exp=e, num_weight_bits=fm.nwb, sign_mode=mode)
    if isinstance(conn, OneToOne):
        mant = np.asarray(_compact(mant), dtype=np.int64)      # one shared value stays a scalar
    if is_conv:     # Lava's Conv runs raw weights: no shift or truncation to carry (see _grid)
        opts = dict(weight_exp=0, num_weight_bits=8, sign_mode=None)
    new = conn.with_weights(mant, **opts)
    return Projection(proj.name, proj.source, proj.target, new, proj.delay, proj.learning, proj.port)


def _check_loss(report: PassReport, name: str, group: dict, nonzero: int) -> None:
    """Warn (and mark the report entry ``lossy``) when quantization destroys a projection: more than
    LOSS_ZEROED_FRACTION of its non-zero weights rounded to 0, or a rel_error above LOSS_REL_ERROR."""
    zeroed, rel = group["zeroed"], group["rel_error"]
    if not nonzero or (zeroed <= LOSS_ZEROED_FRACTION * nonzero and rel <= LOSS_REL_ERROR):
        return
    group["lossy"] = True
    msg = (f"projection '{name}': quantization keeps only {nonzero - zeroed:,} of its {nonzero:,} non-zero weights "
           f"({zeroed:,} rounded to 0), weight rel_error {rel:.2f}: the target's {group['mantissa_range']} mantissa at "
           f"weight_exp {group['weight_exp']} cannot hold them at this population's scale. See the quantize "
           "report's scale_bound; a smaller bias, threshold range or fewer inputs per neuron leave more resolution")
    report.warnings.append(msg)
    warnings.warn(msg, NeurocompWarning, stacklevel=4)


def _encode_bias(b: np.ndarray, fm: _Formats, name: str, report: PassReport):
    """Per-neuron bias (int v units per step) -> (mant, exp) with mant * 2**exp ~ b."""
    mag = np.abs(b)
    need = np.where(mag > 0, np.ceil(np.log2(np.maximum(mag, 1e-300) / fm.b_hi)), fm.be_min)
    # negative exponents only coarsen an integer bias (Lava floors mant >> -exp): start at 0 when allowed
    exp = np.clip(need, min(max(fm.be_min, 0), fm.be_max), fm.be_max).astype(np.int64)
    raw = np.round(b / 2.0 ** exp)
    # rounding can overshoot the mantissa range by one step at the boundary: use one more exponent bit
    bump = ((raw > fm.b_hi) | (raw < fm.b_lo)) & (exp < fm.be_max)
    exp = exp + bump
    raw = np.round(b / 2.0 ** exp)
    out = (raw > fm.b_hi) | (raw < fm.b_lo)
    if out.any():
        worst = float(b[np.argmax(np.abs(b) * out)])
        rng = [fm.b_lo * 2.0 ** fm.be_max, fm.b_hi * 2.0 ** fm.be_max]
        _warn_clip(report, {"object": name, "param": "bias", "count": int(out.sum()), "range": rng, "worst": worst},
                   f"population '{name}': {int(out.sum())} bias value(s) outside {rng} (worst {worst:g} integer "
                   "units per step); clipped. Lower the bias/v_leak drive")
    mant = np.clip(raw, fm.b_lo, fm.b_hi).astype(np.int64)
    eff = np.where(exp >= 0, mant * 2.0 ** exp, np.floor(mant * 2.0 ** exp))
    return mant, exp, eff


#: Full-mantissa alignment may lower S only while the largest threshold keeps at least this many units
#: (its resolution then stays far finer than the weights' 7-8 bits).
MIN_VTH_FOR_ALIGN = 1024


def _mantissa_top(inc: _Incoming, fm: _Formats) -> float:
    """max over weights of exact/hi (or exact/lo) at S = 1: the weight range is used fully when
    ``S * top == 2**weight_exp``."""
    mode = SignMode.MIXED if inc.proj.learning is not None else determine_sign_mode(inc.unit)
    lo, hi, _ = _grid(mode, fm, isinstance(inc.conn, Conv2d))
    return max(float(inc.unit.max(initial=0.0)) / hi if hi > 0 else 0.0,
               float(-inc.unit.min(initial=0.0)) / -lo if lo < 0 else 0.0)


def _align_to_mantissa(incoming: list[_Incoming], s_max: float, fm: _Formats, th_ref) -> tuple[float, str]:
    """Lower ``s_max`` (by < 2x) so the biggest non-conv projection's largest weight fills the mantissa;
    returns the scale and a note ('' when unchanged)."""
    cands = [i for i in incoming if not isinstance(i.conn, Conv2d) and np.any(i.unit != 0)]
    if not cands:
        return s_max, ""
    main = max(cands, key=lambda i: int(np.count_nonzero(i.unit)))
    top = _mantissa_top(main, fm)
    e = math.ceil(math.log2(top * s_max))
    if top * s_max >= 2.0 ** e * (1 - 1e-12) or e - 1 < fm.e_min or e > fm.e_max:
        return s_max, ""
    s_al = 2.0 ** (e - 1) / top
    if th_ref is not None and th_ref > 0 and th_ref * s_al / 64.0 < MIN_VTH_FOR_ALIGN:
        return s_max, ""
    return s_al, f"; lowered x{s_al / s_max:.3f} to fill the weight mantissa of '{main.proj.name}'"


#: scales tried between the bias bound and the next bound when the bias binds (geometric steps)
_TRADE_STEPS = 25


def _trade_bias_for_weights(s_bias: float, hard: list, incoming: list, bias: np.ndarray, fm: _Formats,
                            th_max: float | None):
    """The bias range is the only bound that clipping can honour (a clipped bias is one value per neuron,
    said in a warning; weights rounded to 0 are a projection destroyed in silence): when it binds, choose
    S between it and the next bound to minimise the total error = per incoming projection its weights'
    full-scale rel_error + the fraction of its non-zero weights rounded to 0, + the bias's relative clip
    error (worst neuron) + the threshold's rounding error (``th_max``: largest threshold of a spiking
    population; a scale that puts it below 1 unit is excluded). Returns (S, binding)."""
    s_hard = min((c[1] for c in hard), default=2.0 ** 16) * (1.0 - 1e-9)
    if s_hard <= s_bias:
        return s_bias, "bias mantissa/exponent"
    bmax = fm.b_hi * 2.0 ** fm.be_max
    top = float(bias.max(initial=0.0))

    def cost(scale):
        clip = max(top * scale - bmax, 0.0) / (top * scale) if top > 0 else 0.0
        vth = th_max * scale / 64.0 if th_max else None
        if vth is not None and vth < 1:
            return math.inf
        return sum(_weight_loss(inc, scale, fm) for inc in incoming) + clip + (0.5 / vth if vth else 0.0)

    cands = np.geomspace(s_bias, s_hard, _TRADE_STEPS)
    costs = [cost(c) for c in cands]
    best = int(np.argmin(costs))
    if best == 0 or not math.isfinite(costs[best]):
        return s_bias, "bias mantissa/exponent"
    was = f"{costs[0]:.3g}" if math.isfinite(costs[0]) else "a threshold below 1 unit"
    return float(cands[best]), (f"bias mantissa/exponent relaxed x{cands[best] / s_bias:.3g} (the bias is clipped: "
                                f"total weight+bias+threshold error {costs[best]:.3g} instead of {was})")


# --------------------------------------------------------------------------- one population
def _population(name: str, dm: DiscreteModel, n: int, incoming: list[_Incoming], fm: _Formats,
                volley: float, report: PassReport, dt: float):
    """Choose S for one population; return (LoihiLIF, scale, metadata)."""
    gain_v = dm.gain_v
    lim = float(fm.state_lim)
    v_off = dm.v_reset if dm.spiking else np.zeros(n)
    th = dm.v_th - v_off
    if dm.spiking and np.any(th < 0):
        j = int(np.argmin(th))
        raise UnsupportedError(
            f"population '{name}' ({dm.kind}): v_threshold {dm.v_th[j]:g} is below v_reset {v_off[j]:g} (neuron "
            f"{j}); Loihi resets to 0 and needs a threshold >= 0 above it. Raise v_threshold or lower v_reset")
    # decays, quantized first (the bias uses the effective leak)
    if dm.has_current_state:
        du_raw = np.round(DECAY_ONE * dm.decay_u) - 1
    else:
        du_raw = np.full(n, DECAY_ONE - 1.0)  # u = a << 6 each step: no memory
    dv_raw = np.round(DECAY_ONE * dm.decay_v)
    no_mem_v = dm.decay_v >= 1.0              # Threshold: 4095 is the closest Loihi gets to "no memory"
    dv_raw = np.where(no_mem_v, DECAY_ONE - 1.0, dv_raw)
    for pname, raw in (("du", du_raw), ("dv", dv_raw)):
        out = (raw < 0) | (raw > DECAY_ONE - 1)
        if out.any():
            _warn_clip(report, {"object": name, "param": pname, "count": int(out.sum()), "range": [0, DECAY_ONE - 1],
                                "worst": float(raw[np.argmax(np.abs(raw - 2048) * out)])},
                       f"population '{name}': {pname} {float(raw[np.argmax(out)]):g} outside [0, 4095] (time constant "
                       f"too long or too short for dt = {dt:g} s at 12 bits); clipped")
    du = np.clip(du_raw, 0, DECAY_ONE - 1).astype(np.int64)
    dv = np.clip(dv_raw, 0, DECAY_ONE - 1).astype(np.int64)
    du_eff = (du + 1) / DECAY_ONE
    dv_eff = dv / DECAY_ONE
    report.groups.append({"population": name, "param": "du", "rel_error": _rel(du_eff, dm.decay_u) if
                          dm.has_current_state else 0.0,
                          "note": "" if dm.has_current_state else "du = 4095: u holds only this step's input"})
    g = {"population": name, "param": "dv", "rel_error": _rel(dv_eff, dm.decay_v)}
    if no_mem_v.any():
        g["note"] = "no-memory v approximated by dv = 4095: trunc(v/4096) of the previous v remains"
        g["rel_error"] = _rel(dv_eff[no_mem_v], dm.decay_v[no_mem_v])
    report.groups.append(g)

    # bias per step in float v units: input part exact, leak part with the effective decay
    leak_part = dm.decay_v * dm.v_leak
    b_in = dm.bias_per_step - leak_part
    approx_bias = False
    if dm.has_current_state and np.any(dm.bias_u != 0):
        b_in = b_in + gain_v * dm.bias_u / dm.decay_u
        approx_bias = True
    b = b_in + np.where(no_mem_v, 0.0, dv_eff) * (dm.v_leak - v_off)
    rest = np.where(dv_eff > 0, np.abs(b) / np.maximum(dv_eff, 1e-300), np.abs(b))

    # ---- scale bound (see module doc); each entry: (name, S_max)
    pos = sum((i.pos for i in incoming), np.zeros(n)) * volley
    neg = sum((i.neg for i in incoming), np.zeros(n)) * volley
    H = 1.0 / du_eff if dm.has_current_state else np.ones(n)
    caps: list[tuple[str, float]] = []

    def cap(label, coef, limit):
        coef = np.asarray(coef, float)
        if np.any(coef > 0):
            caps.append((label, float(limit / coef.max())))

    cap("u range (one volley)", np.maximum(pos, neg), lim)
    vth_ro = fm.vth_max
    if dm.spiking:
        cap("v range above threshold", th + pos + np.abs(b), lim)
        cap("v range below rest", neg * H + np.maximum(rest, np.abs(b)) + np.abs(v_off), lim)
        cap("threshold mantissa (vth_bits)", th, 64.0 * fm.vth_max)
    else:
        # a readout's v is its output and its input keeps coming: bound the leaky ones by their steady state
        # under every input spiking EVERY step (max(P, N) / decay_v); integrators (no leak) by one volley
        sustained = np.where(dv_eff > 0, 1.0 / np.maximum(dv_eff, 1e-300), 1.0)
        cap("readout v below the never-spike threshold (sustained input)",
            np.maximum(pos, neg) * H * sustained + np.maximum(rest, np.abs(b)), 64.0 * vth_ro - 1)
    for inc in incoming:
        mode = SignMode.MIXED if inc.proj.learning is not None else determine_sign_mode(inc.unit)
        lo, hi, _ = _grid(mode, fm, isinstance(inc.conn, Conv2d))
        e_top = 0 if isinstance(inc.conn, Conv2d) else fm.e_max
        if hi > 0:
            cap(f"weights of '{inc.proj.name}' (weight_exp {e_top})", np.clip(inc.unit, 0, None).max(initial=0),
                hi * 2.0 ** e_top)
        if lo < 0:
            cap(f"weights of '{inc.proj.name}' (weight_exp {e_top})", np.clip(-inc.unit, 0, None).max(initial=0),
                (-lo) * 2.0 ** e_top)
    hard = list(caps)
    cap("bias mantissa/exponent", np.abs(b), fm.b_hi * 2.0 ** fm.be_max)
    if caps:
        binding, s_max = min(caps, key=lambda c: c[1])
        s_max *= 1.0 - 1e-9
    else:
        binding, s_max = "unconstrained (no input, bias or threshold): S = 2**16", 2.0 ** 16
    if binding == "bias mantissa/exponent" and incoming:
        s_max, binding = _trade_bias_for_weights(s_max, hard, incoming, np.abs(b), fm,
                                                 float(th.max()) if dm.spiking and th.size else None)

    # ---- full mantissa: S may drop by < 2x so that the largest projection's biggest weight lands on the
    # top of the mantissa range instead of anywhere in (hi/2, hi] (up to one more bit of weight precision)
    s_max, note = _align_to_mantissa(incoming, s_max, fm, th.max() if dm.spiking else None)
    binding += note

    # ---- threshold: make the largest one an exact integer
    if dm.spiking:
        ref = float(th.max())
        if ref > 0:
            vref = math.floor(ref * s_max / 64.0)
            if vref < 1:
                raise UnsupportedError(
                    f"population '{name}' ({dm.kind}): cannot represent its threshold {ref:g}: the bound '{binding}' "
                    f"allows only S = {s_max:.3g}, which puts vth below 1. Lower its input weights or bias "
                    f"relative to the threshold, or use volley_fraction < 1")
            scale = 64.0 * vref / ref
        else:
            scale = s_max
        vth_raw = np.round(th * scale / 64.0)
        vth = np.clip(vth_raw, 0, fm.vth_max).astype(np.int64)
        report.groups.append({"population": name, "param": "vth", "rel_error": _rel(vth * 64.0 / scale, th)})
    else:
        scale = s_max
        vth = np.full(n, vth_ro, dtype=np.int64)
        if np.any(dv_eff == 0):
            msg = (f"population '{name}' ({dm.kind}): a non-leaky readout's v is unbounded; the integer v "
                   f"represents |v| < {64.0 * vth_ro / scale:.4g} (sized for one input volley), beyond that it "
                   "spikes and resets. Use volley_fraction > 1 to widen it (at lower resolution)")
            report.warnings.append(msg)
            warnings.warn(msg, NeurocompWarning, stacklevel=3)
        report.groups.append({"population": name, "param": "vth", "rel_error": 0.0,
                              "note": f"non-spiking readout: vth = {vth_ro} (max), v stays below it under the bound"})

    mant, bexp, beff = _encode_bias(b * scale, fm, name, report)
    bg = {"population": name, "param": "bias", "rel_error": _rel(beff, b * scale)}
    if approx_bias:
        bg["note"] = ("CubaLIF bias current folded into v at its steady state, with u0 = minus that steady state so "
                      "that the rise of the current is reproduced too (exact up to the 12-bit du and rounding)")
    report.groups.append(bg)
    v0 = np.round(-v_off * scale).astype(np.int64)
    # CubaLIF bias current: v gets its steady state every step, so the current must start at minus that
    # steady state (in u units, S*gain_v*bias_u/decay_u): u then decays to 0 exactly as the float bias
    # current rises from 0, and gain_v*u + bias is the float drive at every step (up to rounding)
    u0 = np.round(-scale * gain_v * dm.bias_u / dm.decay_u).astype(np.int64) if approx_bias else np.zeros(n, np.int64)
    model = LoihiLIF(du=_compact(du), dv=_compact(dv), vth=_compact(vth), bias_mant=_compact(mant),
                     bias_exp=_compact(bexp), u0=_compact(u0), v0=_compact(v0))
    meta = {"model": dm.kind, "v_scale": scale, "v_offset": _plain(_compact(v_off)),
            "u_scale": _plain(_compact(scale * gain_v)) if dm.has_current_state else None,
            "spiking": dm.spiking, "scale_bound": binding, "volley_fraction": volley,
            "note": "v_float ~= v_int / v_scale + v_offset" + ("; I_float ~= u_int / u_scale"
                                                             if dm.has_current_state else "")}
    return model, scale, meta


# --------------------------------------------------------------------------- integer checks
def _check_integer_population(pop, fm: _Formats) -> None:
    """An integer chip model on this target: graded models need graded messages, and the model's own
    quantize rule (``NeuronKind.target_check``, in its folder) refuses values the target cannot hold."""
    kind = kind_of(pop.model, f"population '{pop.name}'")
    if kind.graded and not fm.graded:
        raise UnsupportedError(f"population '{pop.name}' ({kind.name}) sends graded messages, but target "
                               f"'{fm.target}' has binary spikes only (formats.graded_messages = false); compile it "
                               "for a target with graded spikes (loihi2) or use a binary-spiking model")
    if kind.check_target is not None:
        kind.check_target(pop, fm)


def _check_messages(net: Network, fm: _Formats) -> None:
    """Every graded projection needs a target with graded messages at least as wide as its num_message_bits;
    every projection feeds an input channel its target's model has."""
    check_ports(net)
    for proj in net.projections.values():
        bits = message_bits(net, proj)
        if bits and not fm.graded:
            raise UnsupportedError(f"projection '{proj.name}' carries graded messages (num_message_bits = {bits}), "
                                   f"but target '{fm.target}' has binary spikes only (formats.graded_messages = "
                                   "false); compile it for a target with graded spikes (loihi2) or set "
                                   "num_message_bits=0")
        if bits > fm.message_bits and fm.graded:
            raise UnsupportedError(f"projection '{proj.name}': num_message_bits = {bits} exceeds target "
                                   f"'{fm.target}''s max_message_bits = {fm.message_bits}; use narrower messages")


def _check_delays(net: Network, fm: _Formats) -> None:
    if fm.max_delay is None:
        return
    for proj in net.projections.values():
        if proj.max_delay > fm.max_delay:
            raise CapacityError(f"projection '{proj.name}': max delay {proj.max_delay} steps exceeds the target's "
                                f"limit of {fm.max_delay} (core.max_delay); shorten the delays or insert relay "
                                "neurons")


@register_pass
@dataclass(frozen=True)
class Quantize(Pass):
    """DiscretizedNetwork -> integer Network for ``target`` (see the module doc for the mapping).

    ``target`` may be given here or to ``run``; ``volley_fraction`` scales the input bound that fixes
    each population's voltage scale (1: every presynaptic neuron spikes in one step).
    """
    target: object = None
    volley_fraction: float = 1.0
    name = "quantize"

    def run(self, obj, target=None) -> tuple[Network, PassReport]:
        target = target if target is not None else self.target
        if target is None:
            raise TargetError("quantize: no target given; pass one, e.g. Quantize(load_target('loihi2'))")
        if not (self.volley_fraction > 0 and math.isfinite(self.volley_fraction)):
            raise ValidationError(f"quantize: volley_fraction = {self.volley_fraction} must be a positive number")
        fm = _Formats.of(target)
        report = PassReport(self.name)
        if isinstance(obj, Network):
            float_pops = [p.name for p in obj.neuron_populations if not p.model.integer]
            float_projs = [p.name for p in obj.projections.values() if not p.connectivity.integer]
            if float_pops or float_projs:
                raise ValidationError(
                    f"quantize: network '{obj.name}' has float populations/projections "
                    f"({', '.join((float_pops + float_projs)[:5])}); run Discretize(dt=...) first")
            _check_delays(obj, fm)
            for pop in obj.neuron_populations:
                _check_integer_population(pop, fm)
            _check_messages(obj, fm)
            self._report_lava_clips(obj, report)
            report.summary = {"passthrough": True, "note": "already an integer network: returned unchanged"}
            return copy_network(obj), report
        if not isinstance(obj, DiscretizedNetwork):
            raise ValidationError(f"quantize: expects a DiscretizedNetwork (from Discretize) or an integer "
                                  f"Network, got {type(obj).__name__}")
        net = obj.network
        _check_delays(net, fm)
        for pop in net.neuron_populations:
            if pop.model.integer:
                _check_integer_population(pop, fm)
        _check_messages(net, fm)
        new_pops, new_projs = {}, {}
        meta: dict[str, dict] = {}
        for pop in net.populations.values():
            incoming = net.incoming(pop.name)
            if pop.is_input or pop.model.integer:
                for proj in incoming:
                    if not proj.connectivity.integer:
                        raise UnsupportedError(
                            f"projection '{proj.name}': float weights into integer population '{pop.name}' "
                            f"({type(pop.model).__name__}); its weights must be integers in the target's units")
                    new_projs[proj.name] = proj
                new_pops[pop.name] = pop
                continue
            dm = obj.models[pop.name]
            gain = dm.gain_v * dm.gain_u
            incs = []
            for proj in incoming:
                if proj.connectivity.integer:
                    raise UnsupportedError(
                        f"projection '{proj.name}': integer weights into float population '{pop.name}' "
                        f"({dm.kind}); integer weights are target units, only meaningful into LoihiLIF. "
                        "Give float weights (e.g. w.astype(float))")
                if message_bits(net, proj):
                    raise UnsupportedError(
                        f"projection '{proj.name}': graded messages into float population '{pop.name}' ({dm.kind}); "
                        "the quantizer sizes a population for 0/1 spikes. Give it an integer model (e.g. "
                        "SigmaDelta) with integer weights, or binary inputs")
                src = net.populations[proj.source]
                if not src.is_input and not src.model.spiking:
                    msg = (f"projection '{proj.name}': source '{src.name}' is a non-spiking readout; on the chip "
                           "it emits no spikes, so this projection carries nothing")
                    report.warnings.append(msg)
                    warnings.warn(msg, NeurocompWarning, stacklevel=2)
                incs.append(_incoming(proj, gain, pop.size, report))
            model, scale, m = _population(pop.name, dm, pop.size, incs, fm, self.volley_fraction, report, obj.dt)
            new_pops[pop.name] = pop.__class__(pop.name, pop.shape, model)
            meta[pop.name] = m
            for inc in incs:
                new_projs[inc.proj.name] = _quantize_weights(inc, scale, fm, report)
        out = Network.from_parts(net.name, [new_pops[k] for k in net.populations],
                                 [new_projs[k] for k in net.projections], net.outputs,
                                 {**net.metadata, "dt": obj.dt, "quantization": meta})
        report.summary = {"passthrough": False, "dt": obj.dt, "populations": len(meta),
                          "projections": sum(1 for p in net.projections.values() if not p.connectivity.integer),
                          "clips": len(report.clips), "max_weight_rel_error": report.max_rel_error("weights"),
                          "scales": {k: {"v_scale": v["v_scale"], "bound": v["scale_bound"]} for k, v in meta.items()}}
        return out, report

    @staticmethod
    def _report_lava_clips(net: Network, report: PassReport) -> None:
        """Integer weights outside Lava's 8-bit range are clipped by Lava itself: say so, loudly."""
        for proj in net.projections.values():
            c = proj.connectivity
            if isinstance(c, Conv2d):
                continue
            w = c.weights
            mode = c.effective_sign_mode()
            lo, hi = (-256, 255) if mode == SignMode.MIXED else ((-255, 0) if mode == SignMode.INHIBITORY else (0, 255))
            out = (w < lo) | (w > hi)
            if out.any():                       # int64: a Sparse's int32 |-2^31| would wrap
                worst = int(w.flat[np.argmax(np.abs(w.astype(np.int64)) * out)])
                _warn_clip(report, {"object": proj.name, "param": "weights", "count": int(out.sum()),
                                    "range": [lo, hi], "worst": worst},
                           f"projection '{proj.name}': {int(out.sum())} integer weight(s) outside Lava's 8-bit range "
                           f"[{lo}, {hi}] for sign mode {mode.name}; Lava's Dense clips them")
