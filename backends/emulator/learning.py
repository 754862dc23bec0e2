"""The emulator's learning engine: numba kernels of Lava 0.10's LearningDense LRN phase, bit-exact with
the numpy spec in :mod:`neurocomp.semantics.learning` (which defines the state, the SPK phase and what
an epoch computes; a test holds ``lrn_phase`` equal to ``lrn_phase_numpy``).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from ...semantics.learning import (ACC_SHIFT, LearningState, _begin_epoch, _decimation_u, _end_epoch, activation,
                                   check_reward, finish_target, lrn_phase_numpy, make_learning_state, spk_phase)


# ----------------------------------------------------------------------------------- numba kernels
@nb.njit(cache=True)
def _trace_history_nb(trace, decay, tau_on, rd, ri, imp_int, imp_frac, t_spike, t_epoch):
    k, n = trace.shape
    hist = np.zeros((t_epoch + 1, k, n), np.int64)
    hist[0] = trace
    for h in range(1, t_epoch + 1):
        for a in range(k):
            for j in range(n):
                if tau_on[a]:
                    q = decay[a] * hist[h - 1, a, j]
                    fl = np.floor(q)
                    hist[h, a, j] = np.int64(fl) + (1 if rd < q - fl else 0)
                if t_spike[j] == h:
                    v = hist[h, a, j] + imp_int[a] + (1 if ri < imp_frac[a] else 0)
                    hist[h, a, j] = min(max(v, 0), 127)
    return hist


@nb.njit(cache=True)
def _w32(x):
    return ((x + 2147483648) & 4294967295) - 2147483648


@nb.njit(cache=True)
def _apply_nb(p_lo, p_hi, dep_a, mant_a, sexp_a, shift_a, fac_ptr, fac_var, fac_const, fac_sgn, fac_width,
              acc, hx, hy, tx, ty, u, w, d, tt):
    n_post, n_pre = w.shape
    te = hx.shape[0] - 1
    for i in range(n_post):
        for j in range(n_pre):
            a = acc[i, j]
            for p in range(p_lo, p_hi):
                dep = dep_a[p]
                if dep == 0:
                    cur = np.int64(1 if tx[j] > 0 else 0)
                    hidx = tx[j]
                elif dep == 1:
                    cur = np.int64(1 if ty[i] > 0 else 0)
                    hidx = ty[i]
                else:
                    cur = np.int64(u)
                    hidx = te
                for f in range(fac_ptr[p], fac_ptr[p + 1]):
                    var = fac_var[f]
                    if var == 0:
                        raw = 1 if tx[j] > 0 else 0
                    elif var == 1:
                        raw = 1 if ty[i] > 0 else 0
                    elif var <= 3:
                        raw = hx[hidx, var - 2, j]
                    elif var <= 6:
                        raw = hy[hidx, var - 4, i]
                    elif var == 7:
                        raw = w[i, j]
                    elif var == 8:
                        raw = d[i, j]
                    else:
                        raw = tt[i, j]
                    val = np.float64(raw) + fac_const[f]
                    if fac_sgn[f]:
                        val = 1.0 if val > 0 else (-1.0 if val < 0 else 0.0)
                    lo = -(2.0 ** fac_width[f])
                    hi = 2.0 ** fac_width[f] - 1.0
                    val = min(max(val, lo), hi)
                    cur = _w32(cur * np.int64(val))         # int64(val) truncates toward 0 like astype
                cur = _w32(cur * mant_a[p])
                cur = _w32((cur >> shift_a[p]) << sexp_a[p])
                cur = min(max(cur, -32769), 32767)
                a = min(max(a + cur, -32769), 32767)
            acc[i, j] = a
    return acc


def lrn_phase(state: LearningState, t: int) -> bool:
    """Lava's ``run_lrn`` when ``t % t_epoch == 0`` (numba kernels; ``use_numba=False`` runs the spec)."""
    if not state.use_numba:
        return lrn_phase_numpy(state, t)
    if t % state.t_epoch != 0:
        return False
    _begin_epoch(state)
    te = state.t_epoch
    hx = _trace_history_nb(state.x, state.x_decay, state.x_tau_on, state.x_rng.rd, state.x_rng.ri,
                           state.x_imp_int, state.x_imp_frac, state.tx, te)
    hy = _trace_history_nb(state.y, state.y_decay, state.y_tau_on, state.y_rng.rd, state.y_rng.ri,
                           state.y_imp_int, state.y_imp_frac, state.ty, te)
    u = _decimation_u(state, t)
    old = (state.weights, state.tag_2, state.tag_1)
    tb = state.table
    updated = []
    for pos, code in enumerate(tb.targets):
        acc = old[code] << ACC_SHIFT
        acc = _apply_nb(tb.prod_ptr[pos], tb.prod_ptr[pos + 1], tb.dep, tb.mant, tb.s_exp, tb.shift, tb.fac_ptr,
                        tb.fac_var, tb.fac_const, tb.fac_sgn, tb.fac_width, acc, hx, hy, state.tx, state.ty, u,
                        *old)
        updated.append((code, finish_target(code, acc, state.sign_mode, state.syn_rng.c)))
    _end_epoch(state, hx, hy, updated)
    return True


def learning_step(state: LearningState, t: int, pre_spikes, post_bap, third_factor_values=None) -> np.ndarray:
    """One whole step of a learning projection in Lava's order; returns the activation for step t+1.

    ``pre_spikes``: the source's spikes of step t (a graph input's row t-1); ``post_bap``: the
    target LIF's spikes of step t; ``third_factor_values``: the reward of step t (3F rules only).
    """
    a_next = activation(state, pre_spikes)
    spk_phase(state, t, pre_spikes, post_bap, third_factor_values)
    lrn_phase(state, t)
    return a_next


def run_learning_net(weights, rule, pre_spikes, lif: dict, reward=None, sign_mode=None, num_weight_bits: int = 8,
                     weight_exp: int = 0, use_numba: bool = True) -> dict:
    """``inputs -> learning projection -> LoihiLIF`` for T steps: the emulator twin of
    :func:`neurocomp.backends.lava.learning.run_learning_net_lava` (same arguments, same result keys).

    The post population uses :func:`neurocomp.semantics.reference.lif_step` (Lava's exact LIF arithmetic).
    Per step t: the LIF receives the activation computed at t-1 and spikes; then
    :func:`learning_step` runs with the input's row t-1 and those spikes.
    """
    from ...neurons.loihi_lif.spec import LifParams, lif_step
    w = np.asarray(weights)
    n_post, n_pre = w.shape
    pre = np.asarray(pre_spikes).astype(bool)
    steps = pre.shape[0]
    state = make_learning_state(rule, w, sign_mode, num_weight_bits, weight_exp, use_numba=use_numba)
    rewards = check_reward(reward, state.parsed.rule.third_factor, steps, n_post) if state.three_factor else None
    full = lambda k: np.full(n_post, int(lif.get(k, 0)), np.int64)
    params = LifParams(full("du"), full("dv"), full("vth"), full("bias_mant"), full("bias_exp"))
    u = np.zeros(n_post, np.int64)
    v = np.zeros(n_post, np.int64)
    a = np.zeros(n_post, np.int64)
    spikes = np.zeros((steps, n_post), np.uint8)
    for t in range(1, steps + 1):
        u, v, s = lif_step(u, v, a, params)
        spikes[t - 1] = s
        a = learning_step(state, t, pre[t - 1], s, None if rewards is None else rewards[t - 1])
    return {"spikes": spikes, "weights": state.weights.copy(), "tag_1": state.tag_1.copy(),
            "tag_2": state.tag_2.copy(), "x1": state.x[0].copy(), "x2": state.x[1].copy(), "y1": state.y[0].copy(),
            "y2": state.y[1].copy(), "y3": state.y[2].copy(), "tx": state.tx.copy(), "ty": state.ty.copy(),
            "counters": dict(state.counters)}


# ----------------------------------------------------------------------------------- engine glue
def scatter_weights(state: LearningState, syn_weight: np.ndarray, slots: np.ndarray) -> None:
    """Write the current weights into an engine's flat synapse-weight array.

    ``slots`` int [n_post, n_pre]: the index in ``syn_weight`` of each synapse (-1: not stored,
    e.g. a replica that does not exist). Call after every ``lrn_phase`` that returned True.
    """
    keep = slots >= 0
    syn_weight[slots[keep]] = state.weights[keep]
