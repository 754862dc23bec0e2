"""Hardware models: the shipped files load with sources; mesh, encoding and barrier arithmetic on
hand-computed cases; malformed files fail with the key path in the message."""
from __future__ import annotations

import json
import re
from dataclasses import asdict
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from neurocomp.errors import TargetError
from neurocomp.target import (COST_KEYS, STATUSES, Mesh, Quantity, SynapseEncoding, Target, list_targets,
                              load_target)

SHIPPED = ["loihi", "loihi2", "tianjic", "truenorth"]


def _loihi_text() -> str:
    return (resources.files("neurocomp.hw_models") / "loihi.toml").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------- shipped files
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_targets_load(name):
    t = load_target(name)
    assert t.name == name
    assert Path(t.path).is_file() and Path(t.path).name == f"{name}.toml"
    assert t.mesh.chips == 1
    assert t.assumptions, "every model documents its timing/energy assumptions"
    json.dumps(t.to_dict())  # JSON-able


def test_list_targets_names_and_core_counts():
    ts = list_targets()
    assert [t.name for t in ts] == SHIPPED
    assert {t.name: t.mesh.n_cores for t in ts} == {"loihi": 128, "loihi2": 128, "tianjic": 156, "truenorth": 4096}
    assert {t.name: t.mesh.n_tiles for t in ts} == {"loihi": 32, "loihi2": 32, "tianjic": 156, "truenorth": 4096}


@pytest.mark.parametrize("name", SHIPPED)
def test_every_quantity_has_source_and_valid_status(name):
    t = load_target(name)
    qs = {f"energy.{k}": q for k, q in t.costs.energy.items()}
    qs.update({f"latency.{k}": q for k, q in t.costs.latency.items()})
    for extra in ("static_power_w", "clock_hz"):
        if getattr(t.costs, extra) is not None:
            qs[extra] = getattr(t.costs, extra)
    for k in COST_KEYS:
        assert f"energy.{k}" in qs and f"latency.{k}" in qs, k
    for key, q in qs.items():
        assert isinstance(q, Quantity)
        assert q.source.strip(), key
        assert q.status in STATUSES, key
        assert q.value >= 0 and np.isfinite(q.value), key
    for src, status in t.costs.barrier_sources + t.costs.barrier_chip_sources:
        assert src.strip() and status in STATUSES


@pytest.mark.parametrize("name", SHIPPED)
def test_every_plain_number_has_a_source(name):
    t = load_target(name)
    expected = {f"mesh.{k}" for k in asdict(t.mesh)}
    expected |= {f"core.{k}" for k, v in asdict(t.core).items() if not isinstance(v, dict) and v is not None}
    expected |= {f"core.synapse_encoding.{k}" for k in asdict(t.core.synapse_encoding)}
    expected |= {f"formats.{k}" for k in asdict(t.formats)}
    assert expected <= set(t.sources), sorted(expected - set(t.sources))
    for kp, (src, status) in t.sources.items():
        assert src.strip() and status in STATUSES, kp


def test_published_numbers_are_the_ones_in_hardware_md():
    loihi, loihi2, tianjic, tn = (load_target(n) for n in SHIPPED)
    assert loihi.costs.energy["syn_op"].value == pytest.approx(23.6e-12)
    assert loihi.costs.energy["syn_op"].status == "pre-silicon"
    assert loihi.costs.latency["hop_ns"].value == pytest.approx(6.5e-9)
    assert loihi.costs.static_power_w.value == pytest.approx(0.104)
    assert (loihi.core.max_neurons, loihi.core.max_input_axons, loihi.core.synapse_memory_bits,
            loihi.core.max_delay) == (1024, 4096, 1_048_576, 62)
    # Loihi 2: Loihi 1 energy reused and latencies divided by Intel's speed factors, all marked assumed.
    assert loihi2.costs.energy["syn_op"].value == loihi.costs.energy["syn_op"].value
    assert loihi2.costs.latency["syn_op"].value == pytest.approx(loihi.costs.latency["syn_op"].value / 5)
    assert loihi2.costs.latency["neuron_update_active"].value == pytest.approx(8.4e-9 / 2)
    assert all(q.status == "assumed" for q in loihi2.costs.energy.values())
    assert (loihi2.core.max_neurons, loihi2.core.max_delay) == (8192, 63)
    assert tianjic.costs.clock_hz.value == pytest.approx(300e6)
    assert tianjic.costs.barrier_latency(1) == pytest.approx(5050 / 300e6, rel=1e-6)
    assert tianjic.costs.energy["syn_op"].value == pytest.approx(1 / 650e9, rel=0.01)
    # TrueNorth: 26 pJ all-in, nothing else added; one destination core per neuron; no learning.
    assert tn.costs.energy["syn_op"].value == pytest.approx(26e-12)
    assert sum(q.value for k, q in tn.costs.energy.items() if k != "syn_op") == 0.0
    assert tn.costs.static_power_w is None and tn.costs.clock_hz is None
    assert (tn.core.max_fan_out, tn.formats.weight_bits, tn.formats.state_bits, tn.learning) == (1, 9, 20, False)


def test_load_target_passes_a_target_through_and_ignores_case():
    t = load_target("loihi2")
    assert load_target(t) is t
    assert load_target("Loihi2").name == "loihi2"


def test_unknown_target_name_lists_shipped():
    with pytest.raises(TargetError) as e:
        load_target("spinnaker")
    msg = str(e.value)
    assert "spinnaker" in msg and all(n in msg for n in SHIPPED)


def test_missing_file_names_it(tmp_path):
    with pytest.raises(TargetError, match="nope.toml.*not found"):
        load_target(tmp_path / "nope.toml")


# ------------------------------------------------------------------------------- mesh arithmetic
def test_core_coord_single_chip_loihi_layout():
    m = load_target("loihi").mesh
    assert m.core_coord(0) == (0, 0, 0, 0)
    assert m.core_coord(5) == (0, 1, 0, 1)     # k = 5 % 4, tile 1 -> x 1
    assert m.core_coord(37) == (0, 1, 1, 1)    # tile 9 -> x 1, y 1
    assert m.core_coord(127) == (0, 7, 3, 3)
    chip, tx, ty, k = m.core_coord(np.array([0, 5, 37, 127]))
    assert tx.tolist() == [0, 1, 1, 7] and ty.tolist() == [0, 0, 1, 3] and k.tolist() == [0, 1, 1, 3]
    with pytest.raises(TargetError, match="core id 128 is outside"):
        m.core_coord(128)


def test_hops_single_chip():
    m = load_target("loihi").mesh
    assert m.hops(0, 3) == (0, 0, 0)           # same tile
    assert m.hops(0, 127) == (7, 3, 0)
    assert m.hops(127, 0) == (7, 3, 0)
    assert m.hops(5, 37) == (0, 1, 0)


def test_core_coord_and_hops_multi_chip():
    # 2x2 chips of 2x2 tiles of 2 cores: 8 cores per chip, 32 cores.
    m = Mesh(chips=4, chips_x=2, chips_y=2, tiles_x=2, tiles_y=2, cores_per_tile=2)
    assert (m.n_cores, m.n_tiles) == (32, 16)
    assert m.core_coord(8) == (1, 0, 0, 0)
    assert m.core_coord(31) == (3, 1, 1, 1)
    assert m.core_coord(6) == (0, 1, 1, 0)
    # global tiles: core 0 (0,0); core 6 (1,1); core 8 chip 1 -> (2,0); core 16 chip 2 -> (0,2); core 31 -> (3,3)
    assert m.hops(0, 31) == (3, 3, 2)
    assert m.hops(0, 8) == (2, 0, 1)
    assert m.hops(6, 8) == (1, 1, 1)
    assert m.hops(16, 8) == (2, 2, 2)
    assert m.hops(16, 0) == (0, 2, 1)
    ew, ns, ic = m.hops(np.array([0, 0, 6]), np.array([31, 8, 8]))
    assert ew.tolist() == [3, 2, 1] and ns.tolist() == [3, 0, 1] and ic.tolist() == [2, 1, 1]
    row = Mesh(chips=4, chips_x=4, chips_y=1, tiles_x=2, tiles_y=2, cores_per_tile=2)
    assert row.hops(0, 24) == (6, 0, 3)


def test_mesh_validates_its_shape():
    with pytest.raises(TargetError, match="mesh.chips = 3"):
        Mesh(chips=3, chips_x=2, chips_y=1, tiles_x=2, tiles_y=2, cores_per_tile=1)
    with pytest.raises(TargetError, match="mesh.tiles_x"):
        Mesh(chips=1, chips_x=1, chips_y=1, tiles_x=0, tiles_y=2, cores_per_tile=1)


def test_message_energy_loihi():
    c = load_target("loihi").costs
    assert c.message_energy(2, 1) == pytest.approx(1.7e-12 + 2 * 3.0e-12 + 4.0e-12)
    assert np.allclose(c.message_energy(np.array([0, 1]), np.array([0, 0]), np.array([0, 1])),
                       [1.7e-12, 1.7e-12 + 3.0e-12 + 40e-12])


# ------------------------------------------------------------------------------- synapse memory
def test_axon_bits_loihi_hand_computed():
    enc = load_target("loihi").core.synapse_encoding  # 8 weight + 10 index (+6 delay) (+9 tag); 64/group; 10 hdr
    f = lambda n, d=False, lrn=False: enc.axon_bits(np.array(n), d, lrn).tolist()  # noqa: E731
    assert f([0, 1, 3, 4]) == [0, 64, 64, 128]            # 3*18+10 = 64 exactly; 4*18+10 = 82 -> 128
    assert f([64, 65, 100, 128], d=True) == [1600, 1664, 2496, 3200]  # 64*24+10 = 1546 -> 1600
    assert f([2], d=True, lrn=True) == [128]              # 2*33+10 = 76 -> 128
    assert enc.axon_bits(np.array([[1, 64]]), False, False).shape == (1, 2)


def test_axon_bits_crossbars():
    tn = load_target("truenorth").core.synapse_encoding
    assert tn.axon_bits(np.array([0, 1, 256, 257]), False, False).tolist() == [0, 256, 256, 512]
    tj = load_target("tianjic").core.synapse_encoding
    assert tj.axon_bits(np.array([17]), False, False).tolist() == [2048]


def test_axon_bits_rejects_negative_counts():
    enc = SynapseEncoding(8, 0, 0, 0, 4, 0, 8, 0)
    assert enc.axon_bits(np.array([5]), False, False).tolist() == [40]
    with pytest.raises(TargetError, match="negative"):
        enc.axon_bits(np.array([-1]), False, False)


# ------------------------------------------------------------------------------- barrier
def test_barrier_interpolation_and_clamping():
    c = load_target("loihi").costs
    assert c.barrier_latency(1) == pytest.approx(113e-9)
    assert c.barrier_latency(32) == pytest.approx(465e-9)
    assert c.barrier_latency(16.5) == pytest.approx((113e-9 + 465e-9) / 2)
    assert c.barrier_latency(11) == pytest.approx(113e-9 + 10 * (465e-9 - 113e-9) / 31)
    assert c.barrier_latency(100) == pytest.approx(465e-9)            # clamped, no extrapolation
    assert c.latency["barrier"].value == pytest.approx(465e-9)
    assert c.barrier_latency(4, chips=2) == pytest.approx(14.3e-6)
    assert c.barrier_latency(4, chips=385) == pytest.approx((14.3e-6 + 16.2e-6) / 2)
    assert c.barrier_latency(4, chips=5000) == pytest.approx(16.2e-6)
    with pytest.raises(TargetError, match="tiles spanned"):
        c.barrier_latency(0)


# ------------------------------------------------------------------------------- malformed files
def _mutate(text: str, old: str, new: str, count: int = 1) -> str:
    assert old in text, old
    return text.replace(old, new, count)


MALFORMED = [
    # (id, old, new, key path expected in the message)
    ("missing section", "[formats]\n", "[formats_typo]\n", "formats: missing table"),
    ("misspelt top-level key", "learning = true", "learning = true\nlearnign = false", "learnign: unknown key"),
    ("missing key", "max_neurons = 1024\n", "", "core.max_neurons"),
    ("wrong type", "max_neurons = 1024", 'max_neurons = "1024"', "core.max_neurons"),
    ("zero limit", "max_input_axons = 4096", "max_input_axons = 0", "core.max_input_axons"),
    ("negative limit", "synapse_memory_bits = 1048576", "synapse_memory_bits = -8", "core.synapse_memory_bits"),
    ("bool is not int", "tiles_x = 8", "tiles_x = true", "mesh.tiles_x"),
    ("unknown status", 'status = "pre-silicon"', 'status = "guessed"', "energy.syn_op.status"),
    ("non-SI unit", 'unit = "J"', 'unit = "pJ"', "energy.syn_op.unit"),
    ("missing cost", "[energy.hop_ns]\nvalue = 4.0e-12\n", "[energy.hop_north_south]\nvalue = 4.0e-12\n", "energy.hop_ns"),
    ("chip grid mismatch", "chips = 1 ", "chips = 2 ", "mesh.chips"),
    ("unknown key", "max_delay = 62", "max_delay = 62\nmax_dealy = 3", "core.max_dealy"),
    ("delay bits too few", "delay_bits = 6 ", "delay_bits = 5 ", "core.synapse_encoding.delay_bits"),
    ("exp range reversed", "weight_exp_min = -7", "weight_exp_min = 9", "formats.weight_exp_min"),
    ("barrier not increasing", "{ tiles = 32,", "{ tiles = 1,", "barrier.tiles[1].tiles"),
    ("bad sources key", '"core.max_neurons" = {', '"core.max_nerons" = {', 'sources."core.max_nerons"'),
    ("empty source", 'source = "Davies18 Table 2: synaptic spike op, 23.6 pJ (minimum)"', 'source = " "',
     "energy.syn_op.source"),
]


@pytest.mark.parametrize("case,old,new,key", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_model_names_file_and_key(tmp_path, case, old, new, key):
    bad = tmp_path / "bad.toml"
    bad.write_text(_mutate(_loihi_text(), old, new), encoding="utf-8")
    with pytest.raises(TargetError) as e:
        load_target(bad)
    msg = str(e.value)
    assert str(bad) in msg, msg
    assert key in msg, msg
    assert ";" in msg  # problem; what to do


def test_invalid_toml_syntax_gives_line(tmp_path):
    text = _loihi_text()
    lines = text.splitlines()
    n = next(i for i, ln in enumerate(lines) if ln.startswith("max_neurons"))
    lines[n] = "max_neurons = = 1024"
    bad = tmp_path / "syntax.toml"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(TargetError) as e:
        load_target(str(bad))
    msg = str(e.value)
    assert str(bad) in msg and "invalid TOML" in msg
    assert re.search(rf"line {n + 1}\b", msg), msg


# ------------------------------------------------------------------------------- user files
def test_user_model_from_another_cwd(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    (tmp_path / "elsewhere").mkdir()
    text = _mutate(_loihi_text(), "chips = 1 ", "chips = 2 ")
    text = _mutate(text, "chips_x = 1", "chips_x = 2")
    text = _mutate(text, 'name = "loihi"', 'name = "my_board"')
    user = tmp_path / "models" / "board.toml"
    user.write_text(text, encoding="utf-8")

    monkeypatch.chdir(tmp_path)
    rel = load_target("models/board.toml")          # relative to the current directory
    assert rel.name == "my_board" and rel.path == str(user.resolve())
    monkeypatch.chdir(tmp_path / "elsewhere")
    t = load_target(str(user))                      # absolute, from another directory
    assert t.mesh.n_cores == 256 and t.mesh.chips_x == 2
    assert t.mesh.hops(0, 128) == (8, 0, 1)         # core 0 of chip 1 sits at global tile x 8
    assert load_target("loihi").name == "loihi"      # shipped files found from any directory
    assert isinstance(t, Target)
