"""The neuron-model registry (issue 13): every registered chip model has every piece, and its numba step
equals its numpy spec on random and extreme states."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numba import njit

from neurocomp.neurons import NEURONS, kind_of, table_params
from neurocomp.target import COST_KEYS

KINDS = list(NEURONS.values())


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_every_model_has_every_piece(kind):
    fields = {f.name for f in dataclasses.fields(kind.model)}
    assert set(kind.params) <= fields and set(kind.initial.values()) <= fields
    assert set(kind.initial) == set(kind.state)
    assert kind.model.__doc__ and "::" in kind.model.__doc__, "the docstring carries the discrete-time equation"
    assert callable(kind.spec_step) and callable(kind.check_lava) and callable(kind.lava_process)
    assert kind.check_target is None or callable(kind.check_target)
    assert hasattr(kind.kernel_step, "py_func"), "the kernel step is a numba function"
    assert set(kind.cost_ops) <= set(COST_KEYS), "cost op classes must be priced by every target"
    assert set(kind.params) | set(kind.initial.values()) <= set(table_params())
    assert kind_of(kind.model) is kind


def test_a_float_model_is_refused_by_name():
    import neurocomp as nc
    with pytest.raises(nc.UnsupportedError, match="population 'p': model LIF is not an integer chip model"):
        kind_of(nc.LIF(tau=1e-3, v_threshold=1.0), "population 'p'")


# Not cached: a signature with a function argument is keyed by its dispatcher's type, which differs in every
# process, so each run compiled anyway and appended one more cache file per kind (90 had piled up), and a
# worker re-saving the index could fail on an entry whose dispatcher had gone ("underlying object has vanished").
@njit
def _run_kernel(step, a, P, S):
    out = np.zeros(a.size, np.int64)           # spikes (0/1) or a graded model's payload
    for j in range(a.size):
        out[j] = step(j, a[j], P, S)
    return out


@njit
def _run_kernel2(step, a, b, P, S):
    """``_run_kernel`` for a two-input kind (RF, RF_IZ): ``a``/``b`` are input channels 0 and 1."""
    out = np.zeros(a.size, np.int64)
    for j in range(a.size):
        out[j] = step(j, a[j], b[j], P, S)
    return out


def run_kernel(kind, a, P, S):
    """The kind's numba step on every neuron: ``a`` is int64 [n] (one input) or [channels, n]."""
    if kind.channels > 1:
        return _run_kernel2(kind.kernel_step, np.ascontiguousarray(a[0]), np.ascontiguousarray(a[1]), P, S)
    return _run_kernel(kind.kernel_step, a, P, S)


def _random_rf(kind, rng, n):
    """RF / RF_IZ: decays from Lava's constructor rule on random periods (12 fractional bits, as netx) and
    raw random int32-range decays, exponents, thresholds and states anywhere in the clip range."""
    lim = 2 ** 23 - 1
    bits = rng.choice([0, 1, 6, 12, 15, 31], n)
    sin = rng.integers(-2 ** 31 + 1, 2 ** 31, n) >> rng.integers(0, 31, n)
    cos = rng.integers(-2 ** 31 + 1, 2 ** 31, n) >> rng.integers(0, 31, n)
    lava = kind.model.from_period(rng.uniform(2.5, 40), rng.uniform(0, 0.2), 1.1, 12, 6)
    pick = rng.random(n) < 0.5
    sin, cos = np.where(pick, lava.sin_decay, sin), np.where(pick, lava.cos_decay, cos)
    bits = np.where(pick, 12, bits)
    vth = np.where(rng.random(n) < 0.5, rng.integers(-100, 5000, n), rng.integers(-2 ** 31 + 1, 2 ** 31, n))
    return kind.model(sin_decay=sin, cos_decay=cos, vth=vth, decay_bits=bits, state_exp=rng.integers(0, 25, n),
                      real0=rng.integers(-lim, lim + 1, n), imag0=rng.integers(-lim, lim + 1, n))


def _random_params(kind, rng, n):
    """Random valid parameters of the model (its dataclass validates them), extremes included."""
    if kind.name == "LoihiLIF":
        lim = 2 ** 23 - 1
        return kind.model(du=rng.integers(0, 4096, n), dv=rng.integers(0, 4096, n),
                          vth=rng.integers(0, 2 ** 17, n), bias_mant=rng.integers(-2 ** 15, 2 ** 15, n),
                          bias_exp=rng.integers(-16, 17, n), u0=rng.integers(-lim, lim, n), v0=rng.integers(-lim, lim, n))
    lim = 2 ** 23 - 1
    lif = lambda: dict(du=rng.integers(0, 4096, n), dv=rng.integers(0, 4096, n),
                       bias_mant=rng.integers(-2 ** 15, 2 ** 15, n), bias_exp=rng.integers(-16, 17, n),
                       u0=rng.integers(-lim, lim, n), v0=rng.integers(-lim, lim, n))
    if kind.name == "LIFReset":
        interval = rng.choice([1, 2, 3, 7, 2 ** 31 - 1], n)
        return kind.model(**lif(), vth=rng.integers(0, 2 ** 17, n), reset_interval=interval,
                          reset_offset=rng.integers(0, 2 ** 31, n), reset_phase0=rng.integers(0, interval))
    if kind.name == "TernaryLIF":
        hi = rng.integers(-2 ** 23, 2 ** 23, n)
        lo = np.where(rng.random(n) < 0.5, hi, rng.integers(-2 ** 23, hi + 1))
        return kind.model(**lif(), vth_hi=hi, vth_lo=lo)
    if kind.name == "ATRLIF":
        p = {k: v for k, v in lif().items() if k.startswith("bias")}
        theta_0 = rng.integers(0, 4096, n)
        return kind.model(**p, **{f"delta_{k}": rng.integers(0, 4096, n) for k in ("i", "v", "theta", "r")},
                          theta_0=theta_0, theta_step=rng.integers(0, 4096, n), i0=rng.integers(-lim, lim, n),
                          v0=rng.integers(-lim, lim, n), r0=rng.integers(-2 ** 31, 2 ** 31, n),
                          theta0=np.where(rng.random(n) < 0.5, theta_0 << 6, rng.integers(-2 ** 31, 2 ** 31, n)))
    if kind.name in ("SigmaDelta", "Delta", "Sigma"):
        return _random_sdn(kind, rng, n)
    if kind.name in ("RF", "RF_IZ"):
        return _random_rf(kind, rng, n)
    if kind.name == "RFZero":
        lava = kind.model.from_freqs(rng.uniform(1, 200, n), rng.uniform(0.001, 1, n))
        pick = rng.random(n) < 0.5
        i32 = lambda: rng.integers(-2 ** 31, 2 ** 31, n) >> rng.integers(0, 31, n)
        return kind.model(lct=np.where(pick, lava.lct, i32()), lst=np.where(pick, lava.lst, i32()),
                          uth=np.where(rng.random(n) < 0.5, rng.integers(-100, 1000, n), i32()), u0=i32(), v0=i32())
    pytest.fail(f"add a random-parameter generator for {kind.name}")


def _random_sdn(kind, rng, n):
    """SigmaDelta / Delta / Sigma: exponents, thresholds and biases up to what int32 holds, states anywhere
    in int32 (the registry test's inputs span all of int32, so every wrap is exercised)."""
    states = {f: rng.integers(-2 ** 31, 2 ** 31, n) for f in ("sigma0", "act0", "residue0", "error0")}
    states["error0"][:n // 4] = 0
    if kind.name == "Sigma":
        return kind.model(sigma0=states["sigma0"])
    spike_exp, state_exp = rng.integers(0, 8, n), rng.integers(0, 8, n)
    room = 2 ** (31 - spike_exp - state_exp)
    vth = (rng.random(n) ** 4 * room).astype(np.int64)
    common = dict(vth=vth, cum_error=rng.integers(0, 2, n), spike_exp=spike_exp, state_exp=state_exp,
                  act0=states["act0"], residue0=states["residue0"], error0=states["error0"])
    if kind.name == "Delta":
        return kind.model(**common)
    bias = ((rng.random(n) * 2 - 1) * room).astype(np.int64)
    return kind.model(bias=bias, act_mode=rng.integers(0, 2, n), sigma0=states["sigma0"], **common)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_kernel_step_equals_spec(kind):
    rng = np.random.default_rng(0)
    n = 4000
    model = _random_params(kind, rng, n)
    params = {k: model.broadcast(k, n).astype(np.int64) for k in kind.params}
    state = {v: model.broadcast(kind.initial[v], n).astype(np.int64) for v in kind.state}
    P = kind.kernel_prepare(params)
    S = np.stack([state[v] for v in kind.state]).astype(np.int64)
    sent = 0
    for _ in range(5):
        a = rng.integers(-2 ** 31, 2 ** 31, (kind.channels, n))
        a[:, :50] = rng.choice([-2 ** 31, 2 ** 31 - 1, 0, 1, -1], (kind.channels, 50))
        a[:, 50:n // 2] >>= rng.integers(0, 32, (kind.channels, n // 2 - 50))   # small inputs too
        a = a if kind.channels > 1 else a[0]
        want_state, want_s = kind.spec_step(params, state, a)
        got_s = run_kernel(kind, a, P, S)
        sent += np.count_nonzero(got_s)
        if kind.graded:
            assert np.count_nonzero(got_s) > n // 10, "the payloads are exercised"
        assert np.array_equal(got_s, want_s)
        for i, v in enumerate(kind.state):
            assert np.array_equal(S[i], want_state[v]), v
        state = want_state
    assert sent > 0, "the spikes are exercised"


def test_emulator_dispatch_is_generated_from_the_registry():
    """backends/emulator/neuron_dispatch.py is what gen_dispatch renders from the registry (run
    ``python -m neurocomp.backends.emulator.gen_dispatch`` after registering a model)."""
    from neurocomp.backends.emulator import gen_dispatch
    assert gen_dispatch.TARGET.read_text() == gen_dispatch.render()
