"""Learning semantics: Lava 0.10's fixed-point LearningDense (``PyLearningDenseModelBitApproximate``), bit-exact.

One :class:`LearningState` per learning projection holds dense ``[n_post, n_pre]`` weights/tag_1/
tag_2, the pre traces x1, x2 with the within-epoch spike times ``tx``, the post traces y1..y3 with
``ty``, and Lava's five random streams. Per step ``t`` (1-based), in Lava's order
(../shared/reference/lava.md §7, lava/magma/core/model/py/connection.py)::

    a_next = shift(W[:, pre].sum(1), weight_exp)     # activation()  (delivered at t+1, W before learning)
    spk_phase(state, t, pre, post_bap, reward)       # traces' repeat-spike impulses, tx/ty, RNG advances
    lrn_phase(state, t)                              # only when t % t_epoch == 0

SPK phase (``recv_traces``; ``add(x, r) = clip(x + I + (r < F), 0, 127)``, I/F the impulse's
integer part and 8-bit fraction, ``ets = t % t_epoch or t_epoch``)::

    m = (tx > 0) & pre;  x1[m] = add(x1[m], 0);  x2[m] = add(x2[m], 0);  tx[pre] = ets
    advance x and y streams
    m = (ty > 0) & bap;  y[:, m] = add(y[:, m], ri_y);  ty[bap] = ets
    3F: y1, y2, y3 = reward values of this step (overwritten)
    advance x and y streams

LRN phase (``run_lrn``)::

    c = next synapse-stream draw;  x0 = tx > 0;  y0 = ty > 0;  u = (t // t_epoch) % 2^k == 0
    H[0] = trace;  H[h] = floor(q) + (rd < q % 1), q = exp(-1/tau) * H[h-1]  (0 if tau == 0)
             H[h][:, t_spike == h] = add(H[h][...], ri)                    for h = 1..t_epoch
    x = Hx[-1];  2F: y = Hy[-1]
    per target (dw -> weights, dd -> tag_2, dt -> tag_1), all from the values before the update:
        acc = var << 7
        per product: p = dep * prod(clip(f + c, -2^width, 2^width - 1)) * m   (int32, wrapping)
                     p = clip((p >> max(0, sum(width) + 4 - 15)) << s_exp, -32769, 32767)
                     acc = clip(acc + p, -32769, 32767)
        weights: EXCITATORY max(acc, 0), INHIBITORY min(acc, 0); tag_2 max(acc, 0)
        var = floor(acc / 128) + (c < (acc / 128) % 1)
        weights -> Lava clip_weights(var, sign_mode, 8); tag_2 -> [0, 255]; tag_1 -> [-257, 255]
    tx = ty = 0

Traces in a product are read at the dependency's time: x0 -> H[tx] of the pre neuron, y0 -> H[ty]
of the post neuron, u -> H[-1]. The streams are ``np.random.default_rng``: x decay rng_seed,
x impulse rng_seed+1, y decay rng_seed+2, y impulse rng_seed+3, synapse 2; each draws once when
built and again on every advance, with exactly Lava's numpy calls (one scalar serves every neuron).

This module is the readable spec (``lrn_phase_numpy``); the emulator's ``lrn_phase``
(``neurocomp.backends.emulator.learning``) runs the same with numba kernels over flat product tables,
and a test holds them equal. The Lava backend and the compiler use the setup half (sign mode, reward
checks) from here. ``counters`` counts learning epochs and synapse
updates (one per synapse and updated variable per epoch) for the energy model.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import UnsupportedError, ValidationError
from .fixedpoint import clip_weights, truncate_weights
from ..ir import SignMode
from ..rules.constraints import check_learning_projection  # noqa: F401  (re-exported for the backends)
from ..rules.grammar import FACTOR_WIDTH, ParsedRule, parse_rule

TRACE_MAX = 127
#: 16-bit accumulator: values are shifted left by 16 - 9 = 7 bits before the products are added.
ACC_SHIFT = 7
ACC_MIN, ACC_MAX = -(2 ** 15) - 1, 2 ** 15 - 1            # Lava's off-by-one lower bound
TRACE_FRAC_BITS = 8
SYN_SEED = 2                                              # ConnVarRandom's fixed seed
TARGET_CODE = {"dw": 0, "dd": 1, "dt": 2}
DEP_CODE = {"x0": 0, "y0": 1, "u": 2}
VAR_CODE = {"x0": 0, "y0": 1, "x1": 2, "x2": 3, "y1": 4, "y2": 5, "y3": 6, "w": 7, "d": 8, "t": 9, "C": 10}
#: Values the third-factor (reward) input may carry: Lava's 7-bit y ports.
REWARD_MIN, REWARD_MAX = 0, 127


# ----------------------------------------------------------------------------------- setup
def learning_sign_mode(conn, rule) -> SignMode:
    """The sign mode a learning projection runs with (shared by the emulator and the Lava lowering).

    The connectivity's explicit ``sign_mode`` wins; otherwise the rule's bounds decide (``w_min >= 0``:
    EXCITATORY, ``w_max <= 0``: INHIBITORY), otherwise MIXED, Lava LearningDense's default (it does
    not auto-detect). NULL is refused: Lava's learning model cannot saturate NULL weights.
    """
    mode = conn.sign_mode
    if mode is None:
        if rule.w_min is not None and rule.w_min >= 0:
            mode = SignMode.EXCITATORY
        elif rule.w_max is not None and rule.w_max <= 0:
            mode = SignMode.INHIBITORY
        else:
            mode = SignMode.MIXED
    if mode == SignMode.NULL:
        raise UnsupportedError(f"learning rule '{rule.name}': sign_mode NULL cannot learn in Lava (its learning "
                               "model has no saturation for it); use mixed, excitatory or inhibitory")
    return SignMode(mode)


@dataclass(frozen=True)
class ProductTable:
    """All products of a rule as flat arrays (numba input). Targets in Lava's order dw, dd, dt."""
    targets: np.ndarray        # [n_t] target codes
    prod_ptr: np.ndarray       # [n_t+1] products of target k: prod_ptr[k]:prod_ptr[k+1]
    dep: np.ndarray            # [P] dependency code
    mant: np.ndarray           # [P] scale mantissa
    s_exp: np.ndarray          # [P] stored (biased) exponent, the left shift
    shift: np.ndarray          # [P] right shift (bit loss)
    fac_ptr: np.ndarray        # [P+1]
    fac_var: np.ndarray        # [F] variable code
    fac_const: np.ndarray      # [F] float64 constant (0 when absent)
    fac_sgn: np.ndarray        # [F] bool
    fac_width: np.ndarray      # [F]

    @classmethod
    def build(cls, parsed: ParsedRule) -> "ProductTable":
        targets, prod_ptr, dep, mant, s_exp, shift, fac_ptr = [], [0], [], [], [], [], [0]
        fvar, fconst, fsgn, fwidth = [], [], [], []
        for name, expr in parsed.expressions.items():
            targets.append(TARGET_CODE[name])
            for p in expr.products:
                dep.append(DEP_CODE[p.dependency])
                mant.append(p.s_mantissa)
                s_exp.append(p.s_exp)
                shift.append(p.shift)
                for f in p.factors:
                    fvar.append(VAR_CODE[f.var])
                    fconst.append(0.0 if f.const is None else float(f.const))
                    fsgn.append(f.is_sgn)
                    fwidth.append(FACTOR_WIDTH[f.var])
                fac_ptr.append(len(fvar))
            prod_ptr.append(len(dep))
        i64 = lambda v: np.asarray(v, dtype=np.int64)
        return cls(i64(targets), i64(prod_ptr), i64(dep), i64(mant), i64(s_exp), i64(shift), i64(fac_ptr),
                   i64(fvar), np.asarray(fconst, dtype=np.float64), np.asarray(fsgn, dtype=np.bool_), i64(fwidth))


class TraceRandom:
    """Lava's TraceRandom: a decay stream (floats) and an impulse stream (ints 0..127), same numpy calls."""

    def __init__(self, seed_decay: int, seed_impulse: int):
        self._dec = np.random.default_rng(seed=seed_decay)
        self._imp = np.random.default_rng(seed=seed_impulse)
        self.advance()

    def advance(self) -> None:
        self.rd = float(self._dec.random(1)[0])
        self.ri = int(self._imp.integers(0, 2 ** 7, size=1, dtype=int)[0])


class SynapseRandom:
    """Lava's ConnVarRandom: one float per learning epoch for the accumulator's stochastic rounding."""

    def __init__(self, seed: int = SYN_SEED):
        self._rng = np.random.default_rng(seed=seed)
        self.advance()

    def advance(self) -> None:
        self.c = float(self._rng.random(1)[0])


def decompose_impulses(impulses) -> tuple[np.ndarray, np.ndarray]:
    """Lava's _decompose_impulses: integer part and round(fraction * 256) (numpy's round-half-even)."""
    imp = np.asarray(impulses, dtype=np.float64)
    whole = np.floor(imp)
    frac = np.round((imp - whole) * 2 ** TRACE_FRAC_BITS)
    return whole.astype(np.int64), frac.astype(np.int64)


@dataclass
class LearningState:
    """Everything one learning projection carries between steps (see the module docstring)."""
    parsed: ParsedRule
    table: ProductTable
    sign_mode: SignMode
    weight_exp: int
    weights: np.ndarray          # [n_post, n_pre] int64 (int32 values)
    tag_1: np.ndarray
    tag_2: np.ndarray
    x: np.ndarray                # [2, n_pre]  x1, x2
    y: np.ndarray                # [3, n_post] y1, y2, y3
    tx: np.ndarray               # [n_pre] within-epoch spike step, 0 = none
    ty: np.ndarray               # [n_post]
    x_imp_int: np.ndarray
    x_imp_frac: np.ndarray
    x_decay: np.ndarray          # [2] exp(-1/tau), 0 where tau == 0
    x_tau_on: np.ndarray         # [2] bool tau != 0
    y_imp_int: np.ndarray
    y_imp_frac: np.ndarray
    y_decay: np.ndarray
    y_tau_on: np.ndarray
    x_rng: TraceRandom
    y_rng: TraceRandom
    syn_rng: SynapseRandom
    use_numba: bool = True
    counters: dict = field(default_factory=lambda: {"learning_epochs": 0, "synapse_updates": 0})

    @property
    def t_epoch(self) -> int:
        return self.parsed.rule.t_epoch

    @property
    def three_factor(self) -> bool:
        return self.parsed.three_factor

    @property
    def shape(self) -> tuple[int, int]:
        return self.weights.shape


def _decay_factors(taus) -> tuple[np.ndarray, np.ndarray]:
    """exp(-1/tau) computed with numpy as Lava does (so numba and numpy see the same double)."""
    taus = np.asarray(taus, dtype=np.float64)
    on = taus != 0
    dec = np.zeros_like(taus)
    dec[on] = np.exp(-1 / taus[on])
    return dec, on


def make_learning_state(rule, weights, sign_mode=None, num_weight_bits: int = 8, weight_exp: int = 0,
                        tag_1=None, tag_2=None, use_numba: bool = True) -> LearningState:
    """Build the state of one learning projection exactly as Lava's LearningDense starts.

    ``weights`` int [n_post, n_pre] (the IR's raw integer weights); they are truncated once to
    ``num_weight_bits`` as Lava's first ``run_spk`` does (no 8-bit clip). ``sign_mode`` defaults to
    MIXED (Lava's LearningDense default); pass :func:`learning_sign_mode`'s choice for IR projections.
    """
    parsed = parse_rule(rule) if not isinstance(rule, ParsedRule) else rule
    w = np.asarray(weights)
    if w.ndim != 2 or w.dtype.kind not in "iu":
        raise ValidationError(f"learning rule '{parsed.rule.name}': weights must be a 2-D integer array "
                              f"[n_post, n_pre], got {w.dtype} shape {w.shape}")
    mode = SignMode.MIXED if sign_mode is None else SignMode(sign_mode)
    n_post, n_pre = w.shape
    w = truncate_weights(w, mode, num_weight_bits).astype(np.int64)
    tags = [np.zeros(w.shape, np.int64) if v is None else np.trunc(np.asarray(v, dtype=np.float64)).astype(np.int64)
            for v in (tag_1, tag_2)]
    x_int, x_frac = decompose_impulses([imp for imp, _ in parsed.x_params()])
    y_int, y_frac = decompose_impulses([imp for imp, _ in parsed.y_params()])
    x_dec, x_on = _decay_factors([tau for _, tau in parsed.x_params()])
    y_dec, y_on = _decay_factors([tau for _, tau in parsed.y_params()])
    seed = parsed.rule.rng_seed
    return LearningState(
        parsed=parsed, table=ProductTable.build(parsed), sign_mode=mode, weight_exp=int(weight_exp),
        weights=w, tag_1=tags[0], tag_2=tags[1],
        x=np.zeros((2, n_pre), np.int64), y=np.zeros((3, n_post), np.int64),
        tx=np.zeros(n_pre, np.int64), ty=np.zeros(n_post, np.int64),
        x_imp_int=x_int, x_imp_frac=x_frac, x_decay=x_dec, x_tau_on=x_on,
        y_imp_int=y_int, y_imp_frac=y_frac, y_decay=y_dec, y_tau_on=y_on,
        x_rng=TraceRandom(seed, seed + 1), y_rng=TraceRandom(seed + 2, seed + 3), syn_rng=SynapseRandom(),
        use_numba=use_numba)


# ----------------------------------------------------------------------------------- SPK phase
def _add_impulse(values: np.ndarray, r: int, imp_int, imp_frac) -> np.ndarray:
    """Lava's _add_impulse: ``clip(v + I + (r < F), 0, 127)``."""
    return np.clip(values + imp_int + (r < imp_frac).astype(np.int64), 0, TRACE_MAX)


def activation(state: LearningState, pre_spikes: np.ndarray) -> np.ndarray:
    """What the projection sends at the NEXT step: ``shift(W[:, s].sum(1), weight_exp)`` with the
    weights as they are now (before this step's learning), wrapped to int32 like Lava's a_out."""
    s = np.asarray(pre_spikes).astype(bool)
    acc = state.weights[:, s].sum(axis=1)
    e = state.weight_exp
    acc = np.left_shift(acc, e) if e > 0 else np.right_shift(acc, -e)
    return ((acc + 2 ** 31) % 2 ** 32) - 2 ** 31


def spk_phase(state: LearningState, t: int, pre_spikes, post_bap, third_factor_values=None) -> None:
    """Lava's ``recv_traces`` at step ``t``: pre spikes, post bAP spikes and (3F) the reward values.

    ``third_factor_values``: ints per post neuron (or a scalar) in 0..127, sent on y2 (the y1/y3
    ports stay unconnected, i.e. 0); required for a three-factor rule, refused otherwise.
    """
    n_post, n_pre = state.shape
    pre = np.asarray(pre_spikes).astype(bool).reshape(n_pre)
    bap = np.asarray(post_bap).astype(bool).reshape(n_post)
    ets = t % state.t_epoch or state.t_epoch
    m = (state.tx > 0) & pre
    if m.any():
        state.x[:, m] = _add_impulse(state.x[:, m], 0, state.x_imp_int[:, None], state.x_imp_frac[:, None])
    state.tx[pre] = ets
    state.x_rng.advance()
    state.y_rng.advance()
    m = (state.ty > 0) & bap
    if m.any():
        state.y[:, m] = _add_impulse(state.y[:, m], state.y_rng.ri, state.y_imp_int[:, None],
                                     state.y_imp_frac[:, None])
    state.ty[bap] = ets
    if state.three_factor:
        if third_factor_values is None:
            raise ValidationError(f"learning rule '{state.parsed.rule.name}' is three-factor: give the values of "
                                  f"its third factor '{state.parsed.rule.third_factor}' at every step")
        r = np.broadcast_to(np.asarray(third_factor_values, dtype=np.int64), (n_post,))
        state.y[0] = 0
        state.y[1] = r
        state.y[2] = 0
    elif third_factor_values is not None:
        raise ValidationError(f"learning rule '{state.parsed.rule.name}' has no third factor; got reward values")
    state.x_rng.advance()
    state.y_rng.advance()


# ----------------------------------------------------------------------------------- LRN phase
def trace_history_numpy(trace, decay, tau_on, rd, ri, imp_int, imp_frac, t_spike, t_epoch) -> np.ndarray:
    """Lava's _compute_trace_histories for one trace group: H [t_epoch+1, K, n] (spec version)."""
    k, n = trace.shape
    hist = np.zeros((t_epoch + 1, k, n), np.int64)
    hist[0] = trace
    for h in range(1, t_epoch + 1):
        q = decay[tau_on][:, None] * hist[h - 1][tau_on]
        hist[h][tau_on] = (np.floor(q) + (rd < q % 1)).astype(np.int64)
        ids = np.where(t_spike == h)[0]
        hist[h][:, ids] = _add_impulse(hist[h][:, ids], ri, imp_int[:, None], imp_frac[:, None])
    return hist


def _wrap32(x):
    return ((x + 2 ** 31) % 2 ** 32) - 2 ** 31


def _factor_values_numpy(var: int, dep: int, hx, hy, tx, ty, x0, y0, w, d, tt, n_post, n_pre):
    """The [n_post, n_pre] (broadcastable) values of a factor variable read at the dependency's time."""
    if var == 0:
        return x0[None, :].astype(np.int64)
    if var == 1:
        return y0[:, None].astype(np.int64)
    if 2 <= var <= 3:
        k = var - 2
        if dep == 0:
            return hx[tx, k, np.arange(n_pre)][None, :]
        if dep == 1:
            return hx[ty, k][:, :]                          # [n_post, n_pre]
        return hx[-1, k][None, :]
    if 4 <= var <= 6:
        k = var - 4
        if dep == 0:
            return hy[tx, k].T                              # [n_post, n_pre]
        if dep == 1:
            return hy[ty, k, np.arange(n_post)][:, None]
        return hy[-1, k][:, None]
    return (w, d, tt)[var - 7]


def apply_products_numpy(table: ProductTable, target_pos: int, acc, hx, hy, tx, ty, u, w, d, tt):
    """Lava's LearningRuleApplierBitApprox.apply for the target at ``target_pos`` (spec version)."""
    n_post, n_pre = w.shape
    x0, y0 = tx > 0, ty > 0
    acc = acc.copy()
    for p in range(table.prod_ptr[target_pos], table.prod_ptr[target_pos + 1]):
        dep = table.dep[p]
        cur = np.ones((n_post, n_pre), np.int64) * (x0[None, :] if dep == 0 else y0[:, None] if dep == 1 else u)
        for f in range(table.fac_ptr[p], table.fac_ptr[p + 1]):
            val = _factor_values_numpy(table.fac_var[f], dep, hx, hy, tx, ty, x0, y0, w, d, tt, n_post, n_pre)
            val = val.astype(np.float64) + table.fac_const[f]
            if table.fac_sgn[f]:
                val = np.sign(val)
            width = table.fac_width[f]
            val = np.trunc(np.clip(val, -(2 ** width), 2 ** width - 1)).astype(np.int64)
            cur = _wrap32(cur * val)
        cur = _wrap32(cur * table.mant[p])
        cur = _wrap32(np.right_shift(cur, table.shift[p]) << table.s_exp[p])
        cur = np.clip(cur, ACC_MIN, ACC_MAX)
        acc = np.clip(acc + cur, ACC_MIN, ACC_MAX)
    return acc


def finish_target(code: int, acc: np.ndarray, sign_mode: SignMode, c: float) -> np.ndarray:
    """Accumulator -> new variable: sign saturation, stochastic rounding with ``c``, final clipping."""
    if code == 0:
        if sign_mode == SignMode.EXCITATORY:
            acc = np.maximum(acc, 0)
        elif sign_mode == SignMode.INHIBITORY:
            acc = np.minimum(acc, 0)
    elif code == 1:
        acc = np.maximum(acc, 0)
    q = acc / 2.0 ** ACC_SHIFT
    var = (np.floor(q) + (c < q % 1)).astype(np.int64)
    if code == 0:
        return clip_weights(var, sign_mode, 8).astype(np.int64)
    if code == 1:
        return np.clip(var, 0, 255)
    return np.clip(var, -257, 255)


def _decimation_u(state: LearningState, t: int) -> int:
    k = state.parsed.decimate_exponent
    if k is None:
        return 0
    return 1 if int(t / state.t_epoch) % 2 ** k == 0 else 0


def _begin_epoch(state: LearningState):
    state.syn_rng.advance()
    state.counters["learning_epochs"] += 1
    state.counters["synapse_updates"] += state.weights.size * len(state.table.targets)


def _end_epoch(state: LearningState, hx, hy, updated):
    state.x = hx[-1].copy()
    if not state.three_factor:
        state.y = hy[-1].copy()
    for code, value in updated:
        if code == 0:
            state.weights = value
        elif code == 1:
            state.tag_2 = value
        else:
            state.tag_1 = value
    state.tx[:] = 0
    state.ty[:] = 0


def lrn_phase_numpy(state: LearningState, t: int) -> bool:
    """Lava's ``run_lrn`` when ``t % t_epoch == 0`` (readable numpy spec); returns whether it ran."""
    if t % state.t_epoch != 0:
        return False
    _begin_epoch(state)
    te = state.t_epoch
    hx = trace_history_numpy(state.x, state.x_decay, state.x_tau_on, state.x_rng.rd, state.x_rng.ri,
                             state.x_imp_int, state.x_imp_frac, state.tx, te)
    hy = trace_history_numpy(state.y, state.y_decay, state.y_tau_on, state.y_rng.rd, state.y_rng.ri,
                             state.y_imp_int, state.y_imp_frac, state.ty, te)
    u = _decimation_u(state, t)
    old = (state.weights, state.tag_2, state.tag_1)
    updated = []
    for pos, code in enumerate(state.table.targets):
        acc = old[code] << ACC_SHIFT
        acc = apply_products_numpy(state.table, pos, acc, hx, hy, state.tx, state.ty, u, *old)
        updated.append((code, finish_target(code, acc, state.sign_mode, state.syn_rng.c)))
    _end_epoch(state, hx, hy, updated)
    return True


# ----------------------------------------------------------------------------------- IR glue
def check_reward(values, name: str, steps: int, n_post: int) -> np.ndarray:
    """Validate a third-factor input: ints 0..127, shape [T] / [T, 1] / [T, n_post]; returns [steps, n_post]."""
    arr = np.asarray(values)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] not in (1, n_post) or arr.shape[0] < steps:
        raise ValidationError(f"third-factor input '{name}': shape {np.shape(values)} must be [T], [T, 1] or "
                              f"[T, {n_post}] with T >= {steps}")
    if arr.dtype.kind not in "biuf" or not np.all(np.mod(arr, 1) == 0) or arr.min(initial=0) < REWARD_MIN \
            or arr.max(initial=0) > REWARD_MAX:
        raise ValidationError(f"third-factor input '{name}': values must be integers in {REWARD_MIN}..{REWARD_MAX} "
                              "(Lava's 7-bit y ports)")
    return np.broadcast_to(arr[:steps].astype(np.int64), (steps, n_post)).copy()


def state_for_projection(proj, use_numba: bool = True) -> LearningState:
    """The learning state of an IR projection (Dense, no delay, integer weights, with ``proj.learning``)."""
    check_learning_projection(proj)
    conn, rule = proj.connectivity, proj.learning
    return make_learning_state(rule, conn.weights, learning_sign_mode(conn, rule), conn.num_weight_bits,
                               conn.weight_exp, use_numba=use_numba)


def check_live_weights(proj, w, t: int) -> np.ndarray:
    """``w`` as the int64 ``[n_post, n_pre]`` weights of learning projection ``proj``, or a ValidationError
    saying what the chip's format allows: integers within the sign mode's 8-bit range (what Lava's
    LearningDense keeps), and before the first step also on the ``num_weight_bits`` grid (Lava
    truncates them once at step 1)."""
    conn = proj.connectivity
    shape = tuple(np.shape(conn.weights))
    arr = np.asarray(w)
    where = f"weights['{proj.name}']"
    if arr.shape != shape:
        raise ValidationError(f"{where}: shape {arr.shape}, the projection's weights are {shape} [n_post, n_pre]")
    if arr.dtype.kind not in "biuf" or (arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr)))):
        raise ValidationError(f"{where}: weights must be integers (got {arr.dtype})")
    arr = arr.astype(np.int64)
    mode = learning_sign_mode(conn, proj.learning)
    bad = clip_weights(arr, mode, 8) != arr
    if bad.any():
        lo, hi = {SignMode.EXCITATORY: (0, 255), SignMode.INHIBITORY: (-255, 0)}.get(mode, (-256, 255))
        raise ValidationError(f"{where}: value {int(arr[bad].flat[0])} is outside {lo}..{hi}, the range of its "
                              f"{mode.name.lower()} 8-bit weights ({int(bad.sum())} entries); clip them first")
    if t == 0:
        bad = truncate_weights(arr, mode, conn.num_weight_bits) != arr
        if bad.any():
            k = 8 - int(conn.num_weight_bits) + int(mode == SignMode.MIXED)
            raise ValidationError(f"{where}: before the first step weights must be multiples of {2 ** k} "
                                  f"(num_weight_bits={conn.num_weight_bits}, {mode.name.lower()}); value "
                                  f"{int(arr[bad].flat[0])} is not ({int(bad.sum())} entries)")
    return arr
