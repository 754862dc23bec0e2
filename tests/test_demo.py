"""The digits classifier on the emulated chip: batched emulation, run_chip.py, and `make demo` (examples/demo.py)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import neurocomp as nc  # noqa: E402
from neurocomp.backends.emulator.engine import emulate, emulate_batch, summarize_batch  # noqa: E402
from neurocomp.errors import ValidationError  # noqa: E402
from examples.digits.common import (DIGITS_NIR, OUTPUT, T_STEPS, accuracy, network_depth,  # noqa: E402
                                    predict_from_counts, simulate_integer_snn)
from examples.digits import run_chip  # noqa: E402


@pytest.fixture(scope="module")
def net():
    return nc.load(DIGITS_NIR)


@pytest.fixture(scope="module")
def art(net):
    # 10 cores: routes between cores and mesh links take part in the batch comparison
    return nc.compile(net, "loihi2", max_neurons_per_core=8)


@pytest.fixture(scope="module")
def work(net):
    return run_chip.make_workload(6, T_STEPS, network_depth(net))


# --------------------------------------------------------------------------- emulate_batch
def _same(a, b):
    assert a.spikes.keys() == b.spikes.keys() and a.v.keys() == b.v.keys()
    for k in a.spikes:
        np.testing.assert_array_equal(a.spikes[k], b.spikes[k])
        np.testing.assert_array_equal(a.v[k], b.v[k])
    for k in a.report["counters"]:
        np.testing.assert_array_equal(a.report["counters"][k], b.report["counters"][k])
    assert a.report["energy_j"] == b.report["energy_j"]
    assert a.report["latency_s"] == b.report["latency_s"]
    assert a.report["synaptic_events"] == b.report["synaptic_events"]


def test_batch_equals_separate_emulate_calls(art, work):
    x = work.spikes
    batch = emulate_batch(art, work.steps, {"in": x}, record=("spikes", "v"))
    assert len(batch) == len(x)
    for i, res in enumerate(batch):
        _same(res, emulate(art, work.steps, {"in": x[i]}, record=("spikes", "v")))
    # every sample starts from rest: a different order of the same images gives the same per-image runs
    rev = emulate_batch(art, work.steps, {"in": x[::-1]}, record=("spikes", "v"))
    for a, b in zip(batch, rev[::-1]):
        _same(a, b)
    # the images differ, so the runs must too (the comparison above is not vacuous)
    assert any(not np.array_equal(batch[0].spikes[OUTPUT], r.spikes[OUTPUT]) for r in batch[1:])


def test_batch_without_timing_and_populations(art, work):
    res = emulate_batch(art, work.steps, {"in": work.spikes[:2]}, record=("spikes",), populations=[OUTPUT],
                        timing=False)
    assert list(res[0].spikes) == [OUTPUT] and "energy_j" not in res[0].report
    one = emulate(art, work.steps, {"in": work.spikes[1]}, record=("spikes",), populations=[OUTPUT], timing=False)
    np.testing.assert_array_equal(res[1].spikes[OUTPUT], one.spikes[OUTPUT])
    s = summarize_batch(res)
    assert "energy_j" not in s and s["samples"] == 2


def test_summarize_batch(art, work):
    res = emulate_batch(art, work.steps, {"in": work.spikes})
    s = summarize_batch(res)
    e = [r.report["energy_j"]["total"] for r in res]
    lat = [r.report["latency_s"]["total"] for r in res]
    assert s["samples"] == len(res) and s["steps"] == work.steps
    assert s["energy_j"]["mean"] == pytest.approx(np.mean(e))
    assert s["energy_j"]["max"] == max(e) and s["latency_s"]["min"] == min(lat)
    assert s["latency_s"]["p50"] <= s["latency_s"]["p99"] <= s["latency_s"]["max"]
    assert s["synaptic_events"]["mean"] == pytest.approx(np.mean([r.report["synaptic_events"] for r in res]))
    with pytest.raises(ValidationError, match="no results"):
        summarize_batch([])


def test_batch_input_errors(art, work):
    with pytest.raises(ValidationError, match=r"input 'in' has shape \(50, 64\).*\[B, T, \*shape\]"):
        emulate_batch(art, work.steps, {"in": work.spikes[0]})
    with pytest.raises(ValidationError, match="non-empty dict"):
        emulate_batch(art, work.steps, {})
    with pytest.raises(ValidationError, match="B = 0"):
        emulate_batch(art, work.steps, {"in": work.spikes[:0]})
    with pytest.raises(ValidationError, match="not graph inputs"):
        emulate_batch(art, work.steps, {"in": work.spikes, "other": work.spikes})
    with pytest.raises(ValidationError, match="time steps given"):
        emulate_batch(art, work.steps + 1, {"in": work.spikes})


# --------------------------------------------------------------------------- run_chip helpers
def test_float_ann_predict_matches_unnormalised_ann():
    from examples.digits import train
    from examples.digits.common import load_split

    split = load_split()
    x_tr = split.x_train / 16
    params = train.init_params(64, 16, 10, np.random.default_rng(3))
    params["b1"] = np.random.default_rng(4).normal(0, 0.1, 16)
    params["b2"] = np.random.default_rng(5).normal(0, 0.1, 10)
    snn_net = train.convert(params, x_tr).to_network()
    want = np.argmax(train.forward(params, split.x_test / 16)[1], axis=1)
    np.testing.assert_array_equal(run_chip.float_ann_predict(snn_net, split.x_test), want)


def test_make_workload_pads_and_checks():
    w = run_chip.make_workload(3, 10, 2)
    assert w.spikes.shape == (3, 12, 64) and w.steps == 12
    assert not w.spikes[:, 10:].any() and w.spikes[:, :10].any()
    with pytest.raises(ValidationError, match="between 1 and 450"):
        run_chip.make_workload(451, 10, 2)


def test_run_chip_small(tmp_path, capsys):
    rep = run_chip.main(["--images", "12", "--lava-images", "2", "--reference", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rep["images"] == 12 and rep["lava"]["images"] == 2
    assert rep["lava"]["spikes_identical"] and rep["lava"]["v_identical"] and rep["lava"]["predictions_identical"]
    assert rep["reference_agreement"] == 1.0 and rep["reference_acc"] == rep["emu_acc"]
    assert re.search(rf"^\| \*\*emulator accuracy \(loihi2\)\*\* +\| \*\*{rep['emu_acc']:.4f}\*\* \|$", out, re.M)
    assert "identical predictions/spikes/v: yes" in out
    assert (tmp_path / "art" / "mapping.json").is_file()
    assert {p.name for p in (tmp_path / "report").glob("*.png")} >= {"raster.png", "mesh.png", "energy.png"}


# --------------------------------------------------------------------------- demo
def test_demo_main(tmp_path, capsys, art):
    from examples import demo

    rep = demo.main(["--images", "20", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    m = re.search(r"^accuracy: (\d\.\d{4}) \((\d+)/20\)$", out, re.M)
    assert m, out
    # the printed accuracy is the exact integer reference's on the same 20 images
    work = run_chip.make_workload(20, T_STEPS, network_depth(art.network))
    ir = simulate_integer_snn(art.network, work.spikes, steps=work.steps)
    ref_acc = accuracy(predict_from_counts(ir.counts[OUTPUT], ir.v[OUTPUT]), work.labels)
    assert float(m.group(1)) == pytest.approx(ref_acc, abs=1e-4) == rep["accuracy"]
    assert re.search(r"^cores: 10$", out, re.M)
    assert re.search(r"^energy per inference: [\d.]+ [munp]?J mean", out, re.M)
    assert re.search(r"^latency per inference: [\d.]+ [munp]?s mean", out, re.M)
    assert (tmp_path / "art" / "mapping.json").is_file()
    pngs = [tmp_path / "report" / f"{n}.png" for n in ("raster", "mesh", "links", "energy", "timeline")]
    for p in pngs:
        assert p.is_file() and p.stat().st_size > 1000, p
        assert str(p) in out
