"""On-chip learning: grammar == Lava's parser, constructors, engine (numba == numpy spec == Lava LearningDense)."""
from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neurocomp as nc
from neurocomp.backends.emulator import learning as L
from neurocomp.semantics import learning as S
from neurocomp.errors import NeurocompWarning, UnsupportedError, ValidationError
from neurocomp.rules import parse_rule, parse_rule_expression

lava_symbolic = pytest.importorskip("lava.magma.core.learning.symbolic_equation")
from lava.magma.core.learning.product_series import ProductSeries  # noqa: E402


# ----------------------------------------------------------------------------------- grammar
def lava_products(text, target="dw"):
    """Lava's own parse as comparable tuples, or None when Lava raises (any exception)."""
    try:
        ps = ProductSeries(lava_symbolic.SymbolicEquation(target, text))
    except Exception:
        return None
    return [(p.dependency, p.s_mantissa, p.s_exp, tuple((f.state_var, f.const, f.is_sgn) for f in p.factors),
             p.decimate_exponent) for p in ps.products]


def our_products(text, target="dw"):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NeurocompWarning)
            pe = parse_rule_expression(text, target)
    except ValidationError:
        return None
    return [(p.dependency, p.s_mantissa, p.s_exp, tuple((f.var, f.const, f.is_sgn) for f in p.factors),
             p.decimate_exponent) for p in pe.products]


FIXED_CASES = [
    "2^-2*x1*y0 - 2^-2*y1*x0", "u0*t*y2", "u10*x1", "(w-2)*x0", "(2-w)*y0*x1", "sgn(w+3)*x0", "sgn(-w)*x0",
    "(w*2)*x0", "(w-2*x1)*x0", "(x0)*y0", "x0*(-w)", "x0*(-2)", "x0*(2^3)", "3*2^2*x0", "16*x0", "x0*16*2^-8",
    "x0*99", "", "()", "x0*()", "x0*(w", "x0*(w-)", "x0 y1", "x0*", "*x0", "+x0", "--x0", "x0-", "x0*-y1",
    "x0*01", "x0*2^-01", "x0*00", "x0*(w+2^-1)", "x0*(u1+2)", "u1*x0 + u2*y0", "x0*u1*y0", "x0*x0*y0",
    "sgn(x1)*x0", "x0*4^2", "x0*2^9", "x0*2^-8", "x0*7*2^8", "x0*8", "x0*-8", "x0*(0-8)", "x0\t*y1", "X0",
    "x0*sgn()", "x0*((w))", "x0*(w+1)(t-2)", "x0*(2+3)", "x0*(w+x1)", "u1", "u9*w", "x0*(y0-1)",
    "y0*(d+255)*sgn(t-2)", "x0*y1 - q", "2^3*u0*x1*y1*(127 - w)", "x0*(-128+w)", "y0 * 2 ^ 3", "x0*12*2^-4",
    "x0*14", "x0*-(w)", "x0*sgn(d)*sgn(t+1)*(x2-3)", "u3*x1 - u3*y2 + u3", "x0*(w-2)*(w+2)*(t-1)*(d+1)",
]
TOKENS = ["x0", "y0", "u0", "u1", "u3", "x1", "x2", "y1", "y2", "y3", "w", "d", "t", "+", "-", "*", "*", "(", ")",
          "sgn(", "2^-2", "3", "2^3", "3*2^-1", "7", "16", " ", "q", "0", "^", "2", "-1", "(w-3)", "(5-t)"]


@pytest.mark.parametrize("text", FIXED_CASES)
def test_grammar_matches_lava_on_fixed_strings(text):
    assert our_products(text) == lava_products(text)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=9), st.sampled_from(["dw", "dd", "dt"]))
def test_grammar_matches_lava_on_random_token_strings(tokens, target):
    text = "".join(tokens)
    assert our_products(text, target) == lava_products(text, target)


def test_parsed_products_carry_scale_and_shift():
    pe = parse_rule_expression("2^-2*x1*y0 - 3*2^-3*y1*x0*w")
    a, b = pe.products
    assert (a.dependency, a.s_mantissa, a.s_exp - 7, a.shift) == ("y0", 1, -2, 0)
    assert (b.dependency, b.s_mantissa, b.s_exp - 7, b.shift) == ("x0", -3, -3, 7 + 9 + 4 - 15)
    assert [f.var for f in b.factors] == ["y1", "w"]
    assert a.scale == 0.25 and b.scale == -0.375


def test_parse_errors_name_position_and_token():
    with pytest.raises(ValidationError) as e:
        parse_rule_expression("x0*y1 - q", "dw")
    assert str(e.value).startswith("dw: unexpected token 'q' at position 8 in 'x0*y1 - q'; allowed: x0, y0")
    with pytest.raises(ValidationError, match=r"^dt: unexpected token 'x3' at position 3 in 'y0\*x3'"):
        parse_rule_expression("y0*x3", "dt")
    with pytest.raises(ValidationError, match=r"^dw: product '\+ x1' at position 6 has no dependency in "
                                              r"'x0\*y1 \+ x1'; start each product with x0, y0 or uk"):
        parse_rule_expression("x0*y1 + x1")
    with pytest.raises(ValidationError, match=r"bracket opened at position 3 is never closed in 'x0\*\(w-2'"):
        parse_rule_expression("x0*(w-2")
    with pytest.raises(ValidationError, match=r"scale mantissa 9 \(scale 9\*2\^0\) is outside -8..7"):
        parse_rule_expression("9*x0")
    with pytest.raises(ValidationError, match=r"sgn\(..\) applies only to w, d or t"):
        parse_rule_expression("x0*sgn(x1+1)")
    with pytest.raises(ValidationError, match=r"^dd: empty expression at position 0"):
        parse_rule_expression("", "dd")
    with pytest.raises(ValidationError, match=r"learning rule 'r1': dw: unexpected token 'z'"):
        parse_rule(nc.LearningRule(dw="x0*z", name="r1"))


def test_quirks_warn_but_parse_like_lava():
    with pytest.warns(NeurocompWarning, match="only 'w-2' is used"):
        pe = parse_rule_expression("x0*(w-2*x1)")
    assert pe.products[0].factors[0].const == -2 and len(pe.products[0].factors) == 1
    with pytest.warns(NeurocompWarning, match="minus"):
        parse_rule_expression("x0*(-w)")


def test_rule_level_checks():
    with pytest.raises(ValidationError, match="different decimation dependencies"):
        parse_rule(nc.LearningRule(dw="u1*x1", dt="u2*t"))
    assert parse_rule(nc.LearningRule(dw="u1*x1", dt="u1*t")).decimate_exponent == 1
    with pytest.raises(ValidationError, match=r"set \['y1_tau'\] to 0"):
        parse_rule(nc.LearningRule(dw="u0*t*y2", y1_tau=4, third_factor="r"))


# ----------------------------------------------------------------------------------- constructors
def test_constructors_write_lava_literals():
    r = nc.rules.stdp(a_plus=0.25, a_minus=0.375, tau_plus=8, tau_minus=12)
    assert r.dw == "2^-2*x1*y0 - 3*2^-3*y1*x0" and (r.x1_tau, r.y1_tau) == (8, 12)
    assert nc.rules.stdp(a_plus=0, a_minus=0.5).dw == "-2^-1*y1*x0"
    assert nc.rules.hebbian(rate=2 ** 3, w_max=100).dw == "2^3*u0*x1*y1*(100 - w)"
    rs = nc.rules.rstdp("reward", lr=2 ** -4, a_plus=0.5, a_minus=0.125, tag_decay=0.125)
    assert rs.dt == "2^-1*x1*y0 - 2^-3*x0 - 2^-3*u0*t" and rs.dw == "2^-4*u0*t*y2"
    assert rs.third_factor == "reward" and parse_rule(rs).three_factor
    h = parse_rule(nc.rules.hebbian(w_max=-5)).expressions["dw"].products[0]
    assert (h.s_mantissa, h.factors[-1]) == (-1, nc.rules.Factor("w", 5))      # -(w + 5) = -5 - w
    for fn in (nc.rules.stdp, nc.rules.hebbian, nc.rules.rstdp):
        assert "=" in fn.__doc__.split("\n\n")[0] or "dw =" in fn.__doc__


def test_constructor_refusals():
    with pytest.raises(ValidationError, match=r"a_plus = 0.3 is not representable .* nearest: 0.3125, 0.25"):
        nc.rules.stdp(a_plus=0.3)
    with pytest.raises(ValidationError, match="w_max = 300 must be an integer weight"):
        nc.rules.hebbian(w_max=300)
    with pytest.raises(ValidationError, match="third_factor must name"):
        nc.rules.rstdp("")
    with pytest.raises(ValidationError, match="both 0"):
        nc.rules.stdp(a_plus=0, a_minus=0)
    with pytest.raises(ValidationError, match=r"stdp 'stdp': w_max = 100 cannot be enforced"):
        nc.rules.stdp(w_max=100)


# ----------------------------------------------------------------------------------- random nets
def _literal(draw):
    m = draw(st.integers(1, 7))
    e = draw(st.integers(-7, 2))
    return f"{m}*2^{e}"


@st.composite
def random_expression(draw, uk):
    """A valid expression mixing every construct: dependencies, traces, w/d/t, brackets, sgn."""
    products = []
    for _ in range(draw(st.integers(1, 3))):
        dep = draw(st.sampled_from(["x0", "y0", uk]))
        facs = []
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.integers(0, 3))
            var = draw(st.sampled_from(["x1", "x2", "y1", "y2", "y3", "w", "d", "t", "x0", "y0"]))
            c = draw(st.integers(-200, 200))
            if kind == 0:
                facs.append(var)
            elif kind == 1:
                facs.append(f"({var}{c:+d})")
            elif kind == 2:
                facs.append(f"({abs(c)}-{var})")
            else:
                facs.append(f"sgn({draw(st.sampled_from(['w', 'd', 't']))}{c:+d})")
        sign = draw(st.sampled_from(["+", "-"]))
        products.append(f"{sign} {_literal(draw)}*{dep}*" + "*".join(facs) if facs else f"{sign} {_literal(draw)}*{dep}")
    text = " ".join(products).lstrip("+ ")
    return text


@st.composite
def learning_case(draw):
    n_pre, n_post = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    steps = draw(st.integers(4, 30))
    t_epoch = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 1000))
    kind = draw(st.sampled_from(["stdp", "hebbian", "rstdp", "random"]))
    imp = lambda: draw(st.sampled_from([0.0, 1.0, 5.5, 16.0, 20.3, 40.75, 127.9, 3.1]))
    tau = lambda: draw(st.sampled_from([0, 1, 2, 4.5, 8, 20]))
    if kind == "stdp":
        rule = nc.rules.stdp(a_plus=draw(st.sampled_from([0.25, 0.375, 1, 3])), a_minus=draw(st.sampled_from([0, 0.5, 2])),
                             tau_plus=tau(), tau_minus=tau(), impulse_plus=imp(), impulse_minus=imp(),
                             t_epoch=t_epoch, rng_seed=seed)
    elif kind == "hebbian":
        rule = nc.rules.hebbian(rate=draw(st.sampled_from([1, 4, 8, 32])), w_max=draw(st.integers(-50, 200)),
                                tau_pre=tau(), tau_post=tau(), impulse_pre=imp(), impulse_post=imp(),
                                t_epoch=t_epoch, rng_seed=seed)
    elif kind == "rstdp":
        rule = nc.rules.rstdp("reward", lr=draw(st.sampled_from([2 ** -4, 2 ** -1, 2])), tau_plus=tau(),
                              impulse_plus=imp(), t_epoch=t_epoch, rng_seed=seed)
    else:
        uk = draw(st.sampled_from(["u0", "u1", "u2"]))           # one decimation k per rule (Lava's rule)
        texts = {k: draw(random_expression(uk)) if draw(st.booleans()) or k == "dw" else None
                 for k in ("dw", "dd", "dt")}
        rule = nc.LearningRule(**texts, x1_impulse=imp(), x1_tau=tau(), x2_impulse=imp(), x2_tau=tau(),
                               y1_impulse=imp(), y1_tau=tau(), y2_impulse=imp(), y2_tau=tau(), y3_impulse=imp(),
                               y3_tau=tau(), t_epoch=t_epoch, rng_seed=seed)
    mode = draw(st.sampled_from([None, nc.SignMode.MIXED, nc.SignMode.EXCITATORY, nc.SignMode.INHIBITORY]))
    lo, hi = {None: (-256, 255), nc.SignMode.MIXED: (-256, 255), nc.SignMode.EXCITATORY: (0, 255),
              nc.SignMode.INHIBITORY: (-255, 0)}[mode]
    rng = np.random.default_rng(seed)
    weights = rng.integers(lo, hi + 1, size=(n_post, n_pre))
    pre = (rng.random((steps, n_pre)) < draw(st.sampled_from([0.2, 0.5, 0.9]))).astype(np.uint8)
    reward = rng.integers(0, 128, size=(steps, draw(st.sampled_from([1, n_post])))) if rule.third_factor else None
    lif = dict(du=draw(st.integers(0, 4095)), dv=draw(st.integers(0, 4095)), vth=draw(st.integers(0, 150)),
               bias_mant=draw(st.integers(-10, 80)), bias_exp=draw(st.integers(0, 3)))
    return dict(weights=weights, rule=rule, pre_spikes=pre, lif=lif, reward=reward, sign_mode=mode,
                num_weight_bits=draw(st.integers(5, 8)), weight_exp=draw(st.integers(-2, 2)))


KEYS = ("spikes", "weights", "tag_1", "tag_2", "x1", "x2", "y1", "y2", "y3", "tx", "ty")


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(learning_case())
def test_numba_engine_equals_numpy_spec(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurocompWarning)
        fast = L.run_learning_net(**case, use_numba=True)
        spec = L.run_learning_net(**case, use_numba=False)
    for key in KEYS:
        np.testing.assert_array_equal(fast[key], spec[key], err_msg=key)
    assert fast["counters"] == spec["counters"]


@settings(max_examples=24, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(learning_case())
def test_engine_bit_exact_with_lava_learning_dense(case):
    from neurocomp.backends.lava.learning import run_learning_net_lava
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurocompWarning)
        ours = L.run_learning_net(**case)
        lava = run_learning_net_lava(**case)
    for key in KEYS:
        np.testing.assert_array_equal(ours[key], lava[key], err_msg=f"{key} differs from Lava for rule "
                                                                      f"{case['rule']}")


def test_stdp_direction_and_counters():
    """Pre before post potentiates, post before pre depresses (sanity of the whole path, no Lava)."""
    rule = nc.rules.stdp(a_plus=1, a_minus=1, tau_plus=10, tau_minus=10, impulse_plus=40, impulse_minus=40)
    st_ = S.make_learning_state(rule, np.array([[100, 100]]), nc.SignMode.EXCITATORY)
    # step 1: pre 0 spikes; step 3: post spikes; step 5: pre 1 spikes (after the post spike)
    for t in range(1, 7):
        pre = np.array([t == 1, t == 5])
        post = np.array([t == 3])
        L.learning_step(st_, t, pre, post)
    w = st_.weights[0]
    assert w[0] > 100 and w[1] < 100
    assert st_.counters == {"learning_epochs": 6, "synapse_updates": 12}


def test_reward_and_projection_refusals():
    rule = nc.rules.rstdp("reward")
    with pytest.raises(ValidationError, match=r"values must be integers in 0..127"):
        S.check_reward(np.full((5, 2), 200), "reward", 5, 2)
    st_ = S.make_learning_state(rule, np.zeros((2, 2), int))
    with pytest.raises(ValidationError, match="three-factor"):
        S.spk_phase(st_, 1, [0, 1], [1, 0])
    net = nc.Network("n")
    net.input("a", 3)
    net.input("reward", 2)
    net.population("b", 2, nc.LoihiLIF(du=0, dv=0, vth=10))
    sparse = net.connect("a", "b", nc.Sparse.from_dense(np.ones((2, 3), dtype=np.int64)), learning=rule)
    with pytest.raises(UnsupportedError, match="projection 'a-b' .*Dense projections only.*got Sparse"):
        S.check_learning_projection(sparse)
    delayed = net.connect("a", "b", nc.Dense(np.ones((2, 3), dtype=np.int64)), learning=rule, delay=1, name="p1")
    with pytest.raises(UnsupportedError, match="projection 'p1' .*cannot have delays"):
        S.check_learning_projection(delayed)
    null = net.connect("a", "b", nc.Dense(np.ones((2, 3), dtype=np.int64)), learning=nc.rules.stdp(w_min=0),
                       name="p2")
    assert S.learning_sign_mode(null.connectivity, null.learning) == nc.SignMode.EXCITATORY
    with pytest.raises(UnsupportedError, match="sign_mode NULL"):
        S.learning_sign_mode(SimpleNamespace(sign_mode=nc.SignMode.NULL), rule)   # the IR refuses NULL itself


def test_make_learning_dense_lowers_ir_projection():
    from neurocomp.backends.lava.learning import make_learning_dense
    net = nc.Network("n")
    net.input("a", 3)
    net.input("reward", 2)
    net.population("b", 2, nc.LoihiLIF(du=0, dv=0, vth=10))
    p = net.connect("a", "b", nc.Dense(np.full((2, 3), 7, dtype=np.int64), num_weight_bits=6),
                    learning=nc.rules.rstdp("reward", w_min=0))
    proc, lava_rule = make_learning_dense(p)
    assert type(lava_rule).__name__ == "Loihi3FLearningRule"
    assert proc.proc_params["sign_mode"].value == int(nc.SignMode.EXCITATORY) and proc.proc_params["num_weight_bits"] == 6
    assert lava_rule.dw_str == "2^-4*u0*t*y2"
