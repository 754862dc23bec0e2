"""Property-based tests of IR invariants (hypothesis).

Also home of the ``networks()`` strategy that test_native_io.py uses for its round trips: small
random networks with every neuron model, every connectivity kind, int and float weights,
per-neuron parameters, per-synapse delays and learning rules.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import neurocomp as nc
from neurocomp.ir import MODELS

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=64)
positive = st.floats(1e-4, 1.0, allow_nan=False, allow_infinity=False)


@st.composite
def float_param(draw, n, elements=finite):
    """A scalar or one value per neuron."""
    if draw(st.booleans()):
        return draw(elements)
    return np.array(draw(st.lists(elements, min_size=n, max_size=n)))


@st.composite
def int_param(draw, n, lo, hi):
    if draw(st.booleans()):
        return draw(st.integers(lo, hi))
    return np.array(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)), dtype=np.int64)


@st.composite
def models(draw, n):
    kind = draw(st.sampled_from(["LoihiLIF", "LIF", "CubaLIF", "IF", "LI", "Integrator", "Threshold"]))
    if kind == "LoihiLIF":
        return nc.LoihiLIF(du=draw(int_param(n, 0, 4095)), dv=draw(int_param(n, 0, 4095)),
                           vth=draw(int_param(n, 0, 2 ** 17 - 1)), bias_mant=draw(int_param(n, -2 ** 15, 2 ** 15 - 1)),
                           bias_exp=draw(int_param(n, -16, 16)), u0=draw(int_param(n, -1000, 1000)),
                           v0=draw(int_param(n, -1000, 1000)))
    if kind == "LIF":
        return nc.LIF(tau=draw(float_param(n, positive)), v_threshold=draw(float_param(n)), r=draw(float_param(n)),
                      v_leak=draw(float_param(n)), v_reset=draw(float_param(n)), bias=draw(float_param(n)))
    if kind == "CubaLIF":
        return nc.CubaLIF(tau_syn=draw(float_param(n, positive)), tau_mem=draw(float_param(n, positive)),
                          v_threshold=draw(float_param(n)), w_in=draw(float_param(n)), bias=draw(float_param(n)))
    if kind == "IF":
        return nc.IF(v_threshold=draw(float_param(n)), r=draw(float_param(n)), v_reset=draw(float_param(n)))
    if kind == "LI":
        return nc.LI(tau=draw(float_param(n, positive)), r=draw(float_param(n)), v_leak=draw(float_param(n)))
    if kind == "Integrator":
        return nc.Integrator(r=draw(float_param(n)), bias=draw(float_param(n)))
    return nc.Threshold(theta=draw(float_param(n)))


@st.composite
def weight_matrix(draw, shape, integer):
    """A weight array with some zeros; integer ones in Lava's 8-bit range."""
    n = int(np.prod(shape))
    if integer:
        vals = draw(st.lists(st.integers(-128, 127), min_size=n, max_size=n))
        w = np.array(vals, dtype=np.int64)
    else:
        vals = draw(st.lists(st.one_of(st.just(0.0), finite), min_size=n, max_size=n))
        w = np.array(vals, dtype=np.float64)
    return w.reshape(shape)


int_options = st.fixed_dictionaries({"weight_exp": st.integers(-8, 8), "num_weight_bits": st.integers(1, 8),
                                     "sign_mode": st.sampled_from([None, "mixed", "excitatory", "inhibitory"])})


@st.composite
def learning_rules(draw, third_factor=None):
    if not draw(st.booleans()):
        return None
    return nc.LearningRule(dw=draw(st.sampled_from(["2^-2*x1*y0 - 2^-2*y1*x0", "x1*y0", "u0*x1"])),
                           dd=draw(st.sampled_from([None, "x0*y1"])),
                           x1_impulse=draw(st.floats(0, 127)), x1_tau=draw(st.floats(0, 100)),
                           y1_impulse=draw(st.floats(0, 127)), y1_tau=draw(st.floats(0, 100)),
                           t_epoch=draw(st.integers(1, 63)), rng_seed=draw(st.integers(0, 2 ** 31)),
                           third_factor=third_factor, w_min=draw(st.sampled_from([None, -10.0])),
                           w_max=draw(st.sampled_from([None, 10.0])), name=draw(st.sampled_from(["stdp", "rule"])))


@st.composite
def networks(draw):
    """A small random valid Network covering every model and connectivity kind."""
    net = nc.Network(draw(st.sampled_from(["net", "demo-1", "x.y"])))
    n_inputs = draw(st.integers(1, 2))
    for i in range(n_inputs):
        net.input(f"in{i}", draw(st.sampled_from([(3,), (2, 2), (1, 3, 3)])))
    for i in range(draw(st.integers(1, 3))):
        shape = draw(st.sampled_from([(1,), (4,), (2, 3), (2, 2, 2)]))
        net.population(f"p{i}", shape, draw(models(int(np.prod(shape)))))
    names = list(net.populations)
    targets = [p.name for p in net.neuron_populations]
    for j in range(draw(st.integers(0, 4))):
        src = net.populations[draw(st.sampled_from(names))]
        kind = draw(st.sampled_from(["Dense", "Sparse", "OneToOne", "Conv2d"]))
        integer = draw(st.booleans())
        opts = draw(int_options) if integer else {}
        delay_kind = draw(st.sampled_from(["zero", "scalar", "per-synapse"]))
        if kind == "Conv2d":
            c, h, w = (src.shape if len(src.shape) == 3 else (1, 1, src.size))
            kh, kw = draw(st.integers(1, h)), draw(st.integers(1, w))
            c_out = draw(st.integers(1, 2))
            k = draw(weight_matrix((c_out, c, kh, kw), integer))
            conn = nc.Conv2d(k, input_shape=(c, h, w), **opts)
            dst = net.population(f"conv{j}", conn.output_shape, nc.IF(v_threshold=1.0))
            slots = None
        else:
            dst = net.populations[draw(st.sampled_from(targets))]
            if kind == "OneToOne":
                same = [t for t in targets if net.populations[t].size == src.size]
                if not same:
                    continue
                dst = net.populations[draw(st.sampled_from(same))]
                wts = draw(weight_matrix((src.size,), integer)) if draw(st.booleans()) else \
                    (np.int64(3) if integer else 0.5)
                conn = nc.OneToOne(wts, **opts)
                slots = src.size
            else:
                dense = draw(weight_matrix((dst.size, src.size), integer))
                conn = nc.Dense(dense, **opts) if kind == "Dense" else nc.Sparse.from_dense(dense, **opts)
                slots = conn.weights.size
        if delay_kind == "zero" or slots is None and delay_kind == "per-synapse":
            delay = 0
        elif delay_kind == "scalar":
            delay = draw(st.integers(0, 20))
        else:
            delay = np.array(draw(st.lists(st.integers(0, 20), min_size=slots, max_size=slots)), dtype=np.int64)
        third = "in0" if draw(st.booleans()) else None
        net.connect(src, dst, conn, delay=delay, learning=draw(learning_rules(third)))
        targets = [p.name for p in net.neuron_populations]
        names = list(net.populations)
    for name in draw(st.lists(st.sampled_from(targets), max_size=2, unique=True)):
        net.output(name)
    net.metadata = {"format": "test", "dt": draw(st.sampled_from([1e-4, 1e-3]))}
    return net


# ------------------------------------------------------------------------------- invariants
@SETTINGS
@given(networks())
def test_from_parts_rebuilds_an_equal_network(net):
    again = nc.Network.from_parts(net.name, net.populations.values(), net.projections.values(), net.outputs,
                                  net.metadata)
    assert again == net
    assert again.n_synapses == net.n_synapses and again.n_neurons == net.n_neurons


@SETTINGS
@given(networks())
def test_network_totals_are_sums_of_parts(net):
    assert net.n_neurons == sum(p.size for p in net.populations.values() if not p.is_input)
    for proj in net.projections.values():
        conn = proj.connectivity
        if isinstance(conn, nc.Dense):
            expect = np.count_nonzero(conn.weights)
        elif isinstance(conn, nc.Sparse):
            expect = conn.indices.size
        elif isinstance(conn, nc.Conv2d):
            expect = np.count_nonzero(conv_reference(conn))
        elif conn.weights.ndim == 0:
            continue  # scalar OneToOne: see test_scalar_one_to_one_counts_every_neuron
        else:
            expect = np.count_nonzero(conn.weights)
        assert proj.n_synapses == expect, proj.name


def test_scalar_one_to_one_counts_every_neuron():
    net = nc.Network()
    net.input("a", (4,))
    net.population("b", (4,), nc.IF(v_threshold=1.0))
    net.connect("a", "b", nc.OneToOne(0.5))
    assert net.n_synapses == 4


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 6), st.booleans(), st.data())
def test_dense_n_synapses_is_nonzero_count(n_post, n_pre, integer, data):
    w = data.draw(weight_matrix((n_post, n_pre), integer))
    assert nc.Dense(w).n_synapses == np.count_nonzero(w)


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 6), st.booleans(), st.data())
def test_sparse_from_dense_round_trip(n_post, n_pre, integer, data):
    w = data.draw(weight_matrix((n_post, n_pre), integer))
    sp = nc.Sparse.from_dense(w)
    back = sp.to_dense()
    assert back.dtype.kind == w.dtype.kind
    np.testing.assert_array_equal(back, w)
    assert sp.n_synapses == np.count_nonzero(w)
    # rows are post neurons, each row's pre indices sorted
    for r in range(n_post):
        idx = sp.indices[sp.indptr[r]:sp.indptr[r + 1]]
        assert np.all(np.diff(idx) > 0)


def conv_reference(conn: nc.Conv2d) -> np.ndarray:
    """Dense [n_post, n_pre] matrix of a Conv2d by explicit loops (PyTorch cross-correlation)."""
    c_in, h, w = conn.input_shape
    c_out, h_out, w_out = conn.output_shape
    kh, kw = conn.weights.shape[2:]
    cg_in, cg_out = c_in // conn.groups, c_out // conn.groups
    (sh, sw), (ph, pw), (dh, dw) = conn.stride, conn.padding, conn.dilation
    dense = np.zeros((c_out * h_out * w_out, c_in * h * w), dtype=conn.weights.dtype)
    for co in range(c_out):
        for yo in range(h_out):
            for xo in range(w_out):
                post = (co * h_out + yo) * w_out + xo
                for ci in range(cg_in):
                    cin = (co // cg_out) * cg_in + ci
                    for a in range(kh):
                        for b in range(kw):
                            y, x = yo * sh - ph + a * dh, xo * sw - pw + b * dw
                            if 0 <= y < h and 0 <= x < w:
                                dense[post, (cin * h + y) * w + x] += conn.weights[co, ci, a, b]
    return dense


@st.composite
def convs(draw):
    groups = draw(st.integers(1, 2))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    assume(h + 2 * padding[0] - dilation[0] * (kh - 1) - 1 >= 0)
    assume(w + 2 * padding[1] - dilation[1] * (kw - 1) - 1 >= 0)
    k = draw(weight_matrix((c_out, c_in // groups, kh, kw), draw(st.booleans())))
    return nc.Conv2d(k, input_shape=(c_in, h, w), stride=stride, padding=padding, dilation=dilation, groups=groups)


@SETTINGS
@given(convs())
def test_conv2d_to_sparse_equals_loop_reference(conn):
    np.testing.assert_array_equal(conn.to_sparse().to_dense(), conv_reference(conn))
    assert conn.n_synapses == np.count_nonzero(conv_reference(conn))


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 3), st.integers(1, 3), st.data())
def test_conv2d_matches_scipy_correlate(h, w, kh, kw, data):
    """Single channel, stride 1, no padding: scipy's 'valid' cross-correlation is the same map."""
    signal = pytest.importorskip("scipy.signal")
    assume(kh <= h and kw <= w)
    k = data.draw(weight_matrix((1, 1, kh, kw), False))
    conn = nc.Conv2d(k, input_shape=(1, h, w))
    x = np.array(data.draw(st.lists(st.integers(0, 1), min_size=h * w, max_size=h * w)), dtype=np.float64)
    ours = conn.to_sparse().to_dense() @ x
    ref = signal.correlate(x.reshape(h, w), k[0, 0], mode="valid").reshape(-1)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(st.integers(1, 8), st.booleans(), st.data())
def test_one_to_one_to_sparse_is_diagonal(n, integer, data):
    w = data.draw(weight_matrix((n,), integer))
    dense = nc.OneToOne(w).to_sparse(n).to_dense()
    np.testing.assert_array_equal(dense, np.diag(w))


# ------------------------------------------------------------------------------- builder
@SETTINGS
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.integers(1, 6))
def test_dense_shape_check_accepts_iff_shapes_agree(n_src, n_dst, rows, cols):
    net = nc.Network()
    net.input("a", (n_src,))
    net.population("b", (n_dst,), nc.IF(v_threshold=1.0))
    conn = nc.Dense(np.ones((rows, cols)))
    if (rows, cols) == (n_dst, n_src):
        net.connect("a", "b", conn)
        assert net.n_synapses == rows * cols
    else:
        with pytest.raises(nc.ValidationError, match="shape mismatch"):
            net.connect("a", "b", conn)
        assert not net.projections


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 6))
def test_one_to_one_accepts_iff_sizes_agree(n_src, n_dst):
    net = nc.Network()
    net.input("a", (n_src,))
    net.population("b", (n_dst,), nc.IF(v_threshold=1.0))
    if n_src == n_dst:
        net.connect("a", "b", nc.OneToOne(1.0))
    else:
        with pytest.raises(nc.ValidationError, match="OneToOne needs equal sizes"):
            net.connect("a", "b", nc.OneToOne(1.0))


@SETTINGS
@given(st.integers(-3, 6), st.integers(1, 6))
def test_per_synapse_delay_count_must_match(n_delays, n):
    net = nc.Network()
    net.input("a", (n,))
    net.population("b", (n,), nc.IF(v_threshold=1.0))
    if n_delays < 0:
        with pytest.raises(nc.ValidationError, match="delay"):
            net.connect("a", "b", nc.Dense(np.ones((n, n))), delay=n_delays)
    elif n_delays == n * n:
        net.connect("a", "b", nc.Dense(np.ones((n, n))), delay=np.arange(n_delays))
    elif n_delays > 0:
        with pytest.raises(nc.ValidationError, match="per-synapse delays"):
            net.connect("a", "b", nc.Dense(np.ones((n, n))), delay=np.arange(n_delays))


@SETTINGS
@given(st.lists(st.sampled_from(["a", "b", "c", "a.b", "x-1"]), min_size=1, max_size=6))
def test_names_unique_across_populations(names):
    net = nc.Network()
    seen = set()
    for name in names:
        if name in seen:
            with pytest.raises(nc.ValidationError, match=f"'{name}' is already used"):
                net.population(name, (1,), nc.IF(v_threshold=1.0))
        else:
            net.population(name, (1,), nc.IF(v_threshold=1.0))
            seen.add(name)
    assert set(net.populations) == seen


@SETTINGS
@given(st.sampled_from(sorted(set(MODELS) - {"SpikeInput", "LoihiLIF"})), st.sampled_from([np.nan, np.inf, -np.inf]))
def test_every_float_model_refuses_non_finite(model_name, bad):
    from dataclasses import fields
    cls = MODELS[model_name]
    kwargs = {f.name: 0.5 for f in fields(cls)}
    first = fields(cls)[0].name
    kwargs[first] = np.array([0.5, bad])
    with pytest.raises(nc.ValidationError, match=f"'{first}'"):
        cls(**kwargs)


# ------------------------------------------------------------------------------- equality
@SETTINGS
@given(networks())
def test_equality_is_reflexive_and_detects_changes(net):
    assert net == net
    other = nc.Network.from_parts(net.name + "x", net.populations.values(), net.projections.values(), net.outputs)
    assert other != net  # a different name
    pop = net.neuron_populations[0]
    replacement = nc.IF(v_threshold=123.25)
    base = nc.Network.from_parts(net.name, net.populations.values(), [], [])
    changed = nc.Network.from_parts(
        net.name, [p if p is not pop else nc.Population(p.name, p.shape, replacement) for p in net.populations.values()],
        [], [])
    assert (changed == base) == (pop.model == replacement)
    assert changed != net or not net.projections and not net.outputs and pop.model == replacement


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 5), st.data())
def test_int_and_float_weights_are_not_equal(n_post, n_pre, data):
    w = data.draw(weight_matrix((n_post, n_pre), True))
    assert nc.Dense(w) == nc.Dense(w.copy())
    assert nc.Dense(w) != nc.Dense(w.astype(np.float64))  # integer units are not physical units
    assert nc.Sparse.from_dense(w) != nc.Sparse.from_dense(w.astype(np.float64))


@SETTINGS
@given(st.integers(0, 4095), st.integers(0, 4095))
def test_model_equality_by_value(a, b):
    assert (nc.LoihiLIF(du=a, dv=0, vth=1) == nc.LoihiLIF(du=b, dv=0, vth=1)) == (a == b)
    assert nc.LoihiLIF(du=a, dv=0, vth=1) != nc.LIF(tau=1.0, v_threshold=1.0)
