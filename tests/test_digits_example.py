"""The digits demo workload: committed NIR network, encoder, readout, float and Loihi-integer accuracy.

Training is not run here except as a 3-epoch smoke test of ``train.py --quick``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples.digits import common  # noqa: E402
from examples.digits.common import (DIGITS_NIR, T_STEPS, SNNParams, accuracy, encode, load_split,  # noqa: E402
                                    network_depth, predict_from_counts, quantize_for_loihi, simulate_float_snn,
                                    simulate_integer_snn)
from neurocomp.errors import UnsupportedError, ValidationError  # noqa: E402
from neurocomp.io.nir_export import to_nir, write_nir  # noqa: E402
from neurocomp.io.nir_import import read_nir  # noqa: E402
from neurocomp.ir import IF, Dense  # noqa: E402

N_EVAL = 100


@pytest.fixture(scope="module")
def net():
    return read_nir(DIGITS_NIR)


@pytest.fixture(scope="module")
def split():
    return load_split()


@pytest.fixture(scope="module")
def eval_spikes(split):
    return encode(split.x_test[:N_EVAL], T_STEPS), split.y_test[:N_EVAL]


# --------------------------------------------------------------------------- the committed file
def test_committed_nir_loads_as_the_documented_network(net, tmp_path):
    assert DIGITS_NIR.stat().st_size < 200_000
    assert net.inputs == ["in"] and net.outputs == ["out"]
    assert net.populations["in"].shape == (64,)
    hid, out = net.populations["hid"], net.populations["out"]
    assert isinstance(hid.model, IF) and isinstance(out.model, IF) and out.shape == (10,)
    assert 32 <= hid.size <= 128
    assert np.all(hid.model.v_reset == 0) and np.all(out.model.v_reset == 0)   # NIR IF: reset to v_reset
    w1, w2 = net.projections["in_hid"].connectivity, net.projections["hid_out"].connectivity
    assert isinstance(w1, Dense) and w1.shape == (hid.size, 64) and w2.shape == (10, hid.size)
    assert network_depth(net) == 2
    # NIR -> IR -> NIR -> IR is the identity
    assert to_nir(net).nodes.keys() >= {"in", "hid", "out", "in_hid", "hid_out"}
    write_nir(net, tmp_path / "again.nir")
    assert read_nir(tmp_path / "again.nir") == net


def test_split_is_fixed_and_stratified(split):
    again = load_split()
    assert np.array_equal(split.idx_test, again.idx_test)
    assert len(split.y_test) == 450 and len(split.y_train) == 1347
    assert np.intersect1d(split.idx_train, split.idx_test).size == 0
    per_class = np.bincount(np.concatenate([split.y_train, split.y_test]), minlength=10)
    assert np.all(np.abs(np.bincount(split.y_test, minlength=10) - 0.25 * per_class) <= 1)   # stratified


# --------------------------------------------------------------------------- encoder and readout
def test_encode_is_a_regular_rate_code():
    px = np.array([[0, 1, 4, 8, 15, 16] + [0] * 58])
    s = encode(px, 32)
    assert s.dtype == np.uint8 and s.shape == (1, 32, 64)
    assert s[0, :, :6].sum(axis=0).tolist() == [0, 2, 8, 16, 30, 32]    # floor((32*p + 8)/16)
    assert np.all(s[0, :, 5] == 1) and not s[0, :, 0].any()
    assert np.flatnonzero(s[0, :, 3]).tolist() == list(range(0, 32, 2))  # p=8: every other step, evenly
    assert np.array_equal(encode(px, 32), s)                               # deterministic


@pytest.mark.parametrize("images, T, msg", [
    (np.full((1, 64), 17), 8, "0..16"),
    (np.full((1, 64), 0.5), 8, "integers"),
    (np.zeros((1, 64)), 0, "positive integer"),
    (np.zeros((2, 3, 64)), 4, "[N, 64]"),
])
def test_encode_refuses_bad_input(images, T, msg):
    with pytest.raises(ValidationError, match=msg.replace("[", r"\[").replace("]", r"\]")):
        encode(images, T)


def test_predict_from_counts_tie_rules():
    counts = np.array([[3, 5, 5, 0], [2, 2, 2, 2], [0, 0, 0, 0], [1, 7, 2, 2]])
    v = np.array([[9., 0.1, 0.4, 0.], [0.1, 0.3, 0.3, 0.2], [0., 0., 0., 0.], [0., 0., 5., 0.]])
    assert predict_from_counts(counts).tolist() == [1, 0, 0, 1]          # lowest index among max counts
    assert predict_from_counts(counts, v).tolist() == [2, 1, 0, 1]       # then larger membrane, then lowest index
    with pytest.raises(ValidationError, match="v shape"):
        predict_from_counts(counts, v[:2])


# --------------------------------------------------------------------------- semantics of the float simulator
def _tiny():
    """in(2) -> hid IF(2) -> out IF(2). hid0 gets 0.6 per input spike; hid1 only a 0.3 bias per step."""
    return SNNParams(w_hid=np.array([[0.6, 0.0], [0.0, 0.0]]), b_hid=np.array([0.0, 0.3]), th_hid=1.0,
                     w_out=np.array([[1.5, 0.0], [0.0, 1.5]]), b_out=np.zeros(2), th_out=1.0).to_network("tiny")


def test_float_snn_follows_the_ir_latency_and_matches_the_integer_reference():
    net = _tiny()
    spikes = np.zeros((1, 8, 2), dtype=np.uint8)
    spikes[0, :, 0] = 1                                   # input 0 fires on every row
    run = simulate_float_snn(net, spikes, record_spikes=True)
    assert run.steps == 8 + 2
    steps_of = lambda pop, i: (np.flatnonzero(run.spikes[pop][0, :, i]) + 1).tolist()
    # row 0 is emitted at step 1 and reaches hid at step 2 (v = 0.6), row 1 at step 3 (v = 1.2 > 1): spike
    assert steps_of("hid", 0) == [3, 5, 7, 9]
    assert steps_of("out", 0) == [4, 6, 8, 10]            # one more step per projection
    assert steps_of("hid", 1) == [4, 8]                   # bias from step 1: 0.3, 0.6, 0.9, 1.2
    assert steps_of("out", 1) == [5, 9]
    int_net, _ = quantize_for_loihi(net)
    ref = simulate_integer_snn(int_net, spikes, record_spikes=True)
    for pop in ("hid", "out"):
        assert np.array_equal(ref.spikes[pop], run.spikes[pop]), pop


def test_float_snn_refuses_what_it_cannot_run(net):
    with pytest.raises(ValidationError, match=r"\[N, T, 64\]"):
        simulate_float_snn(net, np.zeros((1, 4, 63), dtype=np.uint8))
    int_net, _ = quantize_for_loihi(_tiny())
    with pytest.raises(UnsupportedError, match="LoihiLIF; simulate_float_snn runs IF populations only"):
        simulate_float_snn(int_net, np.zeros((1, 4, 2), dtype=np.uint8))


# --------------------------------------------------------------------------- accuracy
def test_float_snn_accuracy(net, eval_spikes):
    spikes, y = eval_spikes
    run = simulate_float_snn(net, spikes)
    acc = accuracy(predict_from_counts(run.counts["out"], run.v["out"]), y)
    assert acc >= 0.90, acc
    assert run.counts["hid"].mean() / run.steps < 0.5     # normalised: rates well below 1 spike/step


def test_quantized_loihi_accuracy(net, eval_spikes):
    spikes, y = eval_spikes
    int_net, (disc, quant) = quantize_for_loihi(net)
    assert not quant.clips
    run = simulate_integer_snn(int_net, spikes)
    pred = predict_from_counts(run.counts["out"], run.v["out"])
    acc = accuracy(pred, y)
    assert acc >= 0.88, acc
    fl = simulate_float_snn(net, spikes)
    agree = np.mean(pred == predict_from_counts(fl.counts["out"], fl.v["out"]))
    assert agree >= 0.95, agree


def test_train_quick_smoke(tmp_path, capsys):
    from examples.digits import train
    out = tmp_path / "quick.nir"
    res = train.main(["--quick", "--out", str(out), "--steps", "16"])
    assert out.is_file() and read_nir(out).populations["hid"].size == train.HIDDEN
    assert res["epochs"] == 3 and 0.0 <= res["loihi_int_acc"] <= 1.0
    assert res["ann_acc"] > 0.5                     # 3 epochs already learn something
    assert "Loihi integer accuracy" in capsys.readouterr().out
    assert common.DIGITS_NIR.is_file()              # --quick never touches the committed file's path
