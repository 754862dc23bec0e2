"""make_report: PNGs and a text summary from a result directory (emulator with costs; Lava without)."""
from __future__ import annotations

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.backends.emulator.costmodel import estimate
from neurocomp.errors import ArtifactError
from neurocomp.report import find_estimate, make_report
from neurocomp.result import Result
from neurocomp.mapping.tables import build_core_tables
from neurocomp.target import load_target


def _estimate(steps=40, seed=0):
    rng = np.random.default_rng(seed)
    net = nc.Network("r")
    net.input("in", (8,))
    net.population("a", (60,), nc.LoihiLIF(du=0, dv=0, vth=10))
    net.population("b", (40,), nc.LoihiLIF(du=0, dv=0, vth=10))
    net.connect("in", "a", nc.Dense((rng.random((60, 8)) < 0.3).astype(np.int64)))
    net.connect("a", "b", nc.Dense((rng.random((40, 60)) < 0.2).astype(np.int64)))
    tb = build_core_tables(net, {"a": np.arange(60) // 10, "b": 6 + np.arange(40) // 10}, 10)
    spikes = {"a": (rng.random((steps, 60)) < 0.1).astype(np.uint8), "b": (rng.random((steps, 40)) < 0.05)
              .astype(np.uint8)}
    ev = [np.nonzero(spikes[p]) for p in ("a", "b")]
    st = np.concatenate([e[0] for e in ev])
    src = np.concatenate([tb.pop_gid[p][e[1]] for p, e in zip(("a", "b"), ev)])
    per_core = np.diff(tb.core_neuron_ptr)
    active = np.minimum(rng.integers(0, 5, (steps, 10)), per_core)
    phys = np.array([0, 4, 8, 12, 33, 37, 70, 90, 110, 127])
    return estimate(load_target("loihi"), tb, phys, st, src, active, steps), spikes


def test_report_writes_every_png_and_a_summary(tmp_path):
    est, spikes = _estimate()
    res = Result(spikes=spikes, report={"backend": "emulator", "cost": est}, steps=40)
    res.save(tmp_path / "res")
    text = make_report(tmp_path / "res", tmp_path / "out")
    for name in ("raster.png", "mesh.png", "links.png", "energy.png", "timeline.png", "report.json"):
        f = tmp_path / "out" / name
        assert f.is_file() and f.stat().st_size > 1000, name
        if name.endswith(".png"):
            assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "energy: total" in text and "p99" in text and "busiest core" in text and "hottest link" in text
    hot = max(est["links"].values(), key=lambda v: v["total"])
    assert f"{hot['total']} packets" in text


def test_lava_result_gets_raster_only(tmp_path):
    spikes = {"a": np.eye(5, dtype=np.uint8)}
    Result(spikes=spikes, report={"backend": "lava", "energy_j": None, "latency_s": None,
                                  "note": "Lava's CPU simulation gives no energy or latency estimates"},
           steps=5).save(tmp_path / "res")
    text = make_report(tmp_path / "res")
    assert (tmp_path / "res" / "raster.png").stat().st_size > 1000
    assert not (tmp_path / "res" / "energy.png").exists() and not (tmp_path / "res" / "mesh.png").exists()
    assert "no energy/latency" in text and "Lava" in text


def test_graded_population_counts_messages_not_spikes(tmp_path):
    out = np.zeros((4, 3), np.int64)
    out[1, 2] = 700
    Result(spikes={"sd": (out != 0).astype(np.uint8), "lif": np.eye(4, 3, dtype=np.uint8)},
           payloads={"sd": out}, report={"backend": "lava", "note": "none"}, steps=4).save(tmp_path / "res")
    first = make_report(tmp_path / "res").splitlines()[0]
    assert "sd 1 messages" in first and "lif 3 spikes" in first


def test_find_estimate_locations():
    est, _ = _estimate(steps=3)
    assert find_estimate({"cost": est}) is est
    assert find_estimate(est) is est
    assert find_estimate({"energy_j": None}) is None


def test_missing_result_dir_is_an_artifact_error(tmp_path):
    with pytest.raises(ArtifactError, match="not a result directory"):
        make_report(tmp_path / "nope")
