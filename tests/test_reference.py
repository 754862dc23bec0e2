"""Hand-computed cases pinning every integer rule of the reference simulator (Lava 0.10 fixed_pt).

Each expected number is worked out in the comment next to it from ../shared/reference/lava.md §2-5.
"""
import time

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.errors import UnsupportedError, ValidationError
from neurocomp.semantics.fixedpoint import clip_weights, conv_uses_lava_conv, signed_clamp24, truncate_weights
from neurocomp.semantics.reference import build_model, check_inputs, initial_state, simulate_reference, step
from neurocomp.ir import SignMode

BIG_VTH = 2 ** 17 - 1          # vth << 6 = 8388544: nothing below saturation spikes


def one_lif(steps=3, **params):
    net = nc.Network("one")
    net.population("n", (np.size(params.get("bias_mant", 0)),), nc.LoihiLIF(**params))
    return simulate_reference(net, steps)


def driven(weights, steps, rows, du=4095, dv=4095, vth=BIG_VTH, delay=0, **conn):
    """input (n_in) -> Dense(weights) -> LIF; du=dv=4095 make u = a << 6 and v = u (for |v| < 4096)."""
    w = np.asarray(weights)
    net = nc.Network("drv")
    net.input("in", (w.shape[1],))
    net.population("n", (w.shape[0],), nc.LoihiLIF(du=du, dv=dv, vth=vth))
    net.connect("in", "n", nc.Dense(w, **conn), delay=delay)
    spikes = np.zeros((steps, w.shape[1]), dtype=np.uint8)
    for t, i in rows:
        spikes[t, i] = 1
    return simulate_reference(net, steps, {"in": spikes})


def test_du0_still_shrinks_u_and_dv0_does_not_decay_v():
    r = one_lif(steps=2, du=0, dv=0, vth=1000, u0=4096)
    # u1 = trunc0(4096 * 4095, 12) = 4095;  u2 = 4095 * 4095 >> 12 = 16769025 >> 12 = 4094
    assert r.u["n"][:, 0].tolist() == [4095, 4094]
    # dv = 0: v keeps everything: v1 = 0 + 4095, v2 = 4095 + 4094
    assert r.v["n"][:, 0].tolist() == [4095, 8189]


def test_du4095_clears_u():
    r = one_lif(steps=2, du=4095, dv=0, vth=1000, u0=1000)
    assert r.u["n"][:, 0].tolist() == [0, 0]       # 1000 * (4096 - 4096) = 0
    assert r.v["n"][:, 0].tolist() == [0, 0]


def test_negative_decays_round_toward_zero():
    # u: -101 * (4096 - 2048) / 4096 = -50.5 -> -50 (a floor would give -51)
    r = one_lif(steps=1, du=2047, dv=4095, vth=1000, u0=-101)
    assert r.u["n"][0, 0] == -50
    # v: -101 * (4096 - 2048) / 4096 = -50.5 -> -50, plus u = 0
    r = one_lif(steps=1, du=0, dv=2048, vth=1000, v0=-101)
    assert r.v["n"][0, 0] == -50


def test_u_wraps_at_2_pow_23():
    # a = 255 << 10 = 261120; a << 6 = 16711680 > 2^23, so u = 16711680 - 2^24 = -65536 (du = 4095 clears u)
    r = driven([[255]], steps=3, rows=[(0, 0)], weight_exp=10)
    assert r.u["n"][:, 0].tolist() == [0, 16711680 - 2 ** 24, 0]
    assert r.v["n"][1, 0] == -65536                    # v = 0 + u + 0


def test_v_saturates_at_24_bits():
    # bias = -32768 << 10 = -33554432 per step; v clips to -(2^23 - 1) and stays there
    r = one_lif(steps=2, du=0, dv=0, vth=BIG_VTH, bias_mant=[-32768], bias_exp=10)
    assert r.v["n"][:, 0].tolist() == [-(2 ** 23 - 1)] * 2
    # positive saturation 2^23 - 1 = 8388607 > vth << 6 = 8388544: spikes, v reset to 0
    r = one_lif(steps=2, du=0, dv=0, vth=BIG_VTH, bias_mant=[32767], bias_exp=10)
    assert r.spikes["n"][:, 0].tolist() == [1, 1] and r.v["n"][:, 0].tolist() == [0, 0]


def test_spike_test_is_strict_and_resets_v_not_u():
    # vth << 6 = 64; bias 64 per step: v = 64 (not > 64), 128 -> spike, v = 0, then 64, 128 ...
    r = one_lif(steps=4, du=0, dv=0, vth=1, bias_mant=[64])
    assert r.spikes["n"][:, 0].tolist() == [0, 1, 0, 1]
    assert r.v["n"][:, 0].tolist() == [64, 0, 64, 0]
    # u is not reset by a spike
    r = one_lif(steps=2, du=0, dv=4095, vth=0, u0=4096, bias_mant=[0])
    assert r.spikes["n"][:, 0].tolist() == [1, 1] and r.u["n"][:, 0].tolist() == [4095, 4094]


def test_bias_with_negative_exponent_floors():
    # -5 >> 1 = -3 (floor), 5 >> 1 = 2; dv = 0 accumulates every step
    r = one_lif(steps=3, du=0, dv=0, vth=1000, bias_mant=[-5, 5], bias_exp=-1)
    assert r.v["n"].tolist() == [[-3, 2], [-6, 4], [-9, 6]]


def test_mixed_sign_mode_drops_lsb_by_flooring():
    # MIXED, 8 bits: 5 -> 4 and -5 -> -6; input 0 fires at step 1, input 1 at step 2; arrival one step later
    r = driven([[5, -5]], steps=3, rows=[(0, 0), (1, 1)])
    assert r.u["n"][:, 0].tolist() == [0, 4 * 64, -6 * 64]
    assert r.v["n"][:, 0].tolist() == [0, 4 * 64, -6 * 64]
    assert clip_weights(np.array([300, -300]), SignMode.MIXED).tolist() == [255, -256]
    assert clip_weights(np.array([300, -300]), SignMode.INHIBITORY).tolist() == [0, -255]
    assert truncate_weights(np.array([7, -7]), SignMode.EXCITATORY, 6).tolist() == [4, -8]
    assert truncate_weights(np.array([-7]), SignMode.INHIBITORY, 6).tolist() == [-4]   # on |w|


def test_negative_weight_exp_floors_the_sum():
    # EXC [3, 3], exp -1: both fire -> (3 + 3) >> 1 = 3 (per-weight flooring would give 2)
    r = driven([[3, 3]], steps=2, rows=[(0, 0), (0, 1)], weight_exp=-1)
    assert r.u["n"][1, 0] == 3 * 64
    # INH [-3, -3]: both -> -6 >> 1 = -3 (per weight: -4); one -> -3 >> 1 = -2 (floor, not -1)
    r = driven([[-3, -3]], steps=3, rows=[(0, 0), (0, 1), (1, 0)], weight_exp=-1)
    assert r.u["n"][1:, 0].tolist() == [-3 * 64, -2 * 64]


def test_num_weight_bits_and_explicit_sign_mode():
    # EXC, 4 bits: drop 4 LSBs: 37 -> 32; explicit MIXED on a positive weight: drop 5 LSBs: 37 -> 32, 100 -> 96
    r = driven([[37]], steps=2, rows=[(0, 0)], num_weight_bits=4)
    assert r.u["n"][1, 0] == 32 * 64
    r = driven([[100]], steps=2, rows=[(0, 0)], num_weight_bits=4, sign_mode="mixed")
    assert r.u["n"][1, 0] == 96 * 64


def test_delay_arrives_at_t_plus_1_plus_d():
    r = driven([[10]], steps=6, rows=[(0, 0)], delay=3)          # fires at step 1 -> arrives at step 5
    assert r.u["n"][:, 0].tolist() == [0, 0, 0, 0, 640, 0]


def test_input_row_t_minus_1_drives_step_t():
    r = driven([[10]], steps=5, rows=[(2, 0)])                   # row 2 = step 3 -> reaches the LIF at step 4
    assert r.u["n"][:, 0].tolist() == [0, 0, 0, 640, 0]


def test_spikes_reach_the_next_population_one_step_later():
    net = nc.Network("chain")
    net.population("a", (1,), nc.LoihiLIF(du=0, dv=4095, vth=0, bias_mant=1))   # v = 1 > 0: fires every step
    net.population("b", (1,), nc.LoihiLIF(du=4095, dv=4095, vth=BIG_VTH))
    net.connect("a", "b", nc.Dense(np.array([[7]])))
    r = simulate_reference(net, 3)
    assert r.spikes["a"][:, 0].tolist() == [1, 1, 1]
    assert r.u["b"][:, 0].tolist() == [0, 7 * 64, 7 * 64]


def test_step_is_pure_and_matches_simulate():
    rng = np.random.default_rng(3)
    net = nc.Network("p")
    net.input("in", (5,))
    net.population("a", (4,), nc.LoihiLIF(du=100, dv=200, vth=3, bias_mant=[1, 2, 3, 4]))
    net.connect("in", "a", nc.Dense(rng.integers(-50, 50, (4, 5))), delay=rng.integers(0, 3, (4, 5)))
    net.connect("a", "a", nc.Sparse.from_dense(rng.integers(-20, 20, (4, 4)), weight_exp=2))
    spikes = (rng.random((6, 5)) < 0.5).astype(np.uint8)
    state = initial_state(build_model(net))
    before = {k: v.copy() for k, v in state.buf.items()}
    vs = []
    for t in range(6):
        new = step(state, {"in": spikes[t]})
        assert new is not state and new.t == state.t + 1
        if t == 0:
            assert all(np.array_equal(before[k], state.buf[k]) for k in before)   # input state untouched
        state = new
        vs.append(state.v["a"])
    ref = simulate_reference(net, 6, {"in": spikes})
    assert np.array_equal(np.array(vs), ref.v["a"])


def test_several_projections_into_one_population_sum():
    net = nc.Network("sum")
    net.input("x", (1,))
    net.input("y", (1,))
    net.population("n", (1,), nc.LoihiLIF(du=4095, dv=4095, vth=BIG_VTH))
    net.connect("x", "n", nc.Dense(np.array([[10]]), weight_exp=1))     # 20
    net.connect("y", "n", nc.OneToOne(np.array([-3])))                   # -3
    r = simulate_reference(net, 2, {"x": np.array([[1], [0]]), "y": np.array([[1], [0]])})
    assert r.u["n"][1, 0] == (20 - 3) * 64


def test_conv2d_cross_correlation_and_lowering_rule():
    # 1 channel 3x3 input, 2x2 kernel: out[0, y, x] = sum_ab in[y + a, x + b] * w[a, b] (no flip)
    w = np.array([[[[1, 2], [4, 8]]]])
    conv = nc.Conv2d(w, input_shape=(1, 3, 3))
    net = nc.Network("cv")
    net.input("in", (1, 3, 3))
    net.population("o", conv.output_shape, nc.LoihiLIF(du=4095, dv=4095, vth=BIG_VTH))
    net.connect("in", "o", conv)
    frame = np.zeros((2, 1, 3, 3), dtype=np.uint8)
    frame[0, 0, 0, 0] = 1                                  # top-left pixel
    r = simulate_reference(net, 2, {"in": frame})
    # pixel (0,0) is in[y + a, x + b] only for y = x = 0, a = b = 0 -> out[0,0,0] = w[0,0] = 1
    assert (r.u["o"][1] // 64).tolist() == [1, 0, 0, 0]
    assert conv_uses_lava_conv(conv, 0)
    assert not conv_uses_lava_conv(nc.Conv2d(np.array([[[[5, -5]]]]), input_shape=(1, 1, 2)), 0)   # LSB drop
    assert not conv_uses_lava_conv(conv, np.array(1))                                               # delayed
    assert not conv_uses_lava_conv(nc.Conv2d(w, input_shape=(1, 3, 3), weight_exp=1), 0)
    assert signed_clamp24(np.array([2 ** 23, -2 ** 23 - 1])).tolist() == [-2 ** 23, 2 ** 23 - 1]


def test_refusals_name_the_culprit():
    net = nc.Network("bad")
    net.population("f", (2,), nc.LIF(tau=0.01, v_threshold=1.0))
    with pytest.raises(UnsupportedError, match="population 'f'"):
        simulate_reference(net, 1)
    net = nc.Network("bad2")
    net.population("a", (2,), nc.LoihiLIF(du=0, dv=0, vth=1))
    net.connect("a", "a", nc.Dense(np.ones((2, 2)) * 0.5), name="floaty")
    with pytest.raises(UnsupportedError, match="projection 'floaty'"):
        simulate_reference(net, 1)
    net = nc.Network("bad3")
    net.population("a", (2,), nc.LoihiLIF(du=0, dv=0, vth=1))
    net.connect("a", "a", nc.OneToOne(np.ones(2, dtype=int)), name="plastic",
                learning=nc.LearningRule(dw="x0*y1"))
    with pytest.raises(UnsupportedError, match="projection 'plastic'.*learning runs on Dense projections only"):
        simulate_reference(net, 1)


def test_input_validation():
    net = nc.Network("v")
    net.input("in", (2, 3))
    net.population("a", (1,), nc.LoihiLIF(du=0, dv=0, vth=1))
    net.connect("in", "a", nc.Dense(np.ones((1, 6), dtype=int)))
    ok = check_inputs(net, 2, {"in": np.zeros((3, 2, 3))})
    assert ok["in"].shape == (2, 6) and ok["in"].dtype == np.uint8
    assert check_inputs(net, 2, None)["in"].sum() == 0
    for bad, msg in (({"in": np.zeros((1, 2, 3))}, "1 time steps"), ({"in": np.zeros((2, 3, 2))}, "shape"),
                     ({"in": np.full((2, 2, 3), 2)}, "0/1"), ({"nope": np.zeros((2, 2, 3))}, "not graph inputs"),
                     ({}, "no input given")):
        with pytest.raises(ValidationError, match=msg):
            check_inputs(net, 2, bad)
    with pytest.raises(ValidationError, match="steps"):
        check_inputs(net, 0, None)


def test_a_few_hundred_neurons_for_200_steps_is_fast():
    rng = np.random.default_rng(0)
    net = nc.Network("big")
    net.input("in", (100,))
    net.population("h", (300,), nc.LoihiLIF(du=400, dv=300, vth=40))
    net.population("o", (100,), nc.LoihiLIF(du=400, dv=300, vth=40))
    net.connect("in", "h", nc.Dense(rng.integers(-40, 120, (300, 100))))
    net.connect("h", "o", nc.Sparse.from_dense(rng.integers(-60, 60, (100, 300)) * (rng.random((100, 300)) < 0.1)),
                delay=3)
    net.connect("o", "h", nc.Dense(rng.integers(-10, 10, (300, 100))))
    spikes = (rng.random((200, 100)) < 0.2).astype(np.uint8)
    t0 = time.perf_counter()
    r = simulate_reference(net, 200, {"in": spikes})
    elapsed = time.perf_counter() - t0
    assert r.spikes["h"].sum() > 0
    assert elapsed < 2.0, f"reference took {elapsed:.2f} s for 400 neurons x 200 steps"
