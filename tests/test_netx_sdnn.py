"""lava-dl's PilotNet SDNN (tests/data/netx/pilotnet_sdnn, see PROVENANCE.md there) compiled for Loihi 2 and
emulated: its published output reproduced exactly, through the Python API and the user's CLI flow.

Step alignment (lava-dl's test_hdf5.py::test_pilotnet_sdnn): a RingBuffer feeds the frame straight into the
input layer's Delta (``in_layer.neuron.a_in``) at every step and a sink records the Sigma output of steps
1..9. neurocomp runs that Delta on the host (``read_netx(sdnn_input="host")``, ``netx_input``): input row t-1
is what netx's Delta sends at step t, so every layer runs step for step with netx and
``payloads["dense9"][t-1] == output.npy[0, t-1]`` with no shift.

It is compiled for one Loihi 2 chip: loihi2 stores each conv kernel slice once per core
(``core.synapse_encoding.shared_conv_weights``, tests/test_conv_sharing.py) and the baseline fills cores by
receptive field: a conv layer position by position, all output channels of a position on one core, so it takes
23 of the chip's 128 cores (670 when every conv synapse was stored; 41 when a position's channels were spread).
"""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.cli import main as cli
from neurocomp.errors import ValidationError
from neurocomp.io import netx, netx_input
from neurocomp.io.netx import from_lava, layer_positions
from neurocomp.target import write_multichip

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "netx" / "pilotnet_sdnn"
STEPS = 9                    # lava-dl runs len(net.layers) steps


@pytest.fixture(scope="module")
def pilot(tmp_path_factory):
    """The network file, the target file and the CLI-compiled artifact (compiled once for every test)."""
    tmp = tmp_path_factory.mktemp("pilotnet_sdnn")
    net_path = tmp / "pilotnet_sdnn.net"
    with gzip.open(DATA / "network.net.gz", "rb") as src, open(net_path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    art = tmp / "art"
    assert cli(["compile", str(net_path), "--target", "loihi2", "--partitioner", "sequential", "-o", str(art)]) == 0
    return tmp, net_path, art


def test_pilotnet_fits_one_loihi2_chip(pilot):
    """Shared conv kernels: one chip (the validator's recount of such mappings: tests/test_conv_sharing.py;
    on this network it takes ~15 s, so it runs in benchmarks/pilotnet_sdnn.py instead)."""
    compiled = nc.load_compiled(pilot[2])
    assert compiled.target.mesh.chips == 1 and compiled.n_cores <= 128


def test_pilotnet_conv_positions_stay_on_one_core(pilot):
    """The fill goes by (position, channel): every output position's channels share one core, except the
    positions where a core filled up (two cores), so an input event reaches few cores and the emulator adds
    a position's channels as one run of cells."""
    compiled = nc.load_compiled(pilot[2])
    t = compiled.tables
    core = np.repeat(np.arange(t.n_cores), np.diff(t.core_neuron_ptr))
    for p, name in enumerate(t.pop_names):
        plane = int(t.proj_conv_plane[list(t.proj_target_pop).index(p)])
        if not plane:
            continue
        mine = np.asarray(t.neuron_pop) == p
        pos = np.asarray(t.neuron_index)[mine] % plane
        pairs = np.unique(pos * t.n_cores + core[mine])
        per_pos = np.bincount(pairs // t.n_cores, minlength=plane)
        assert per_pos.max() <= 2 and (per_pos == 2).sum() <= np.unique(core[mine]).size, name


def test_host_delta_encoder_layout(pilot):
    _, net_path, _ = pilot
    net = nc.load(net_path)
    assert "input0" not in net.populations and net.inputs == ["input"]
    conv = net.incoming("conv1")[0]
    assert conv.source == "input" and conv.connectivity.num_message_bits == 16
    enc = net.metadata["netx"]["input"]["encoder"]
    assert enc == {"model": "Delta", "vth": 0, "cum_error": False, "spike_exp": 6, "state_exp": 6, "message_bits": 16}
    assert layer_positions(net)["conv1"] == 1 and layer_positions(net)["dense9"] == 8   # the Delta stays block 0
    assert net.metadata["netx"]["input_latency"] == 0
    # on the chip instead: input0 (Delta) fed by a graded OneToOne, one step behind netx
    chip = netx.read_netx(net_path, sdnn_input="chip")
    assert type(chip.populations["input0"].model).__name__ == "Delta"
    assert chip.incoming("input0")[0].connectivity.num_message_bits == 24
    assert layer_positions(chip) == layer_positions(net) | {"input0": 0}
    assert chip.metadata["netx"]["input_latency"] == 1


def test_netx_inputs_is_lavas_delta_on_the_ring_buffer(pilot):
    """Host encoding = Lava's Delta fed every step by the RingBuffer: all of the first step's change is sent,
    then nothing (a constant frame); the payload is frame << 6 (spike_exp), the column cycles."""
    _, net_path, _ = pilot
    net = nc.load(net_path)
    x = np.load(DATA / "input.npy")
    rows = netx_input.netx_inputs(net, x, STEPS)["input"]
    assert rows.shape == (STEPS, 3, 33, 100)
    assert np.array_equal(rows[0], from_lava(x)[0] << 6) and not rows[1:].any()
    two = np.concatenate([x, x + 1], axis=-1)               # two frames: step 2 sends the difference
    rows2 = netx_input.netx_inputs(net, two, 4)["input"]
    assert np.all(rows2[1] == 64) and np.all(rows2[2] == -64) and np.all(rows2[3] == 64)


def test_pilotnet_sdnn_reproduces_lava_dl_output_exactly(pilot):
    _, net_path, art = pilot
    net = nc.load(net_path)
    x, gt = np.load(DATA / "input.npy"), np.load(DATA / "output.npy")
    res = nc.emulate(nc.load_compiled(art), steps=STEPS, inputs=netx_input.netx_inputs(net, x, STEPS))
    out = res.payloads["dense9"][:, 0]
    assert np.array_equal(out, gt[0]), (out, gt[0])
    assert np.count_nonzero(gt) == 8                          # not a trivial output
    # every population sends from step 1 (bias) on, the frame reaches the output 8 layers later: any
    # other alignment or a wrong message differs
    assert not np.array_equal(np.roll(out, 1), gt[0])


def test_cli_flow_matches_ground_truth(pilot, capsys):
    """The issue's Done-when: netx_input -> compile -> emulate -> report, as a user runs it."""
    tmp, net_path, art = pilot
    npz, res = tmp / "in.npz", tmp / "res"
    assert netx_input.main([str(net_path), str(DATA / "input.npy"), "--steps", str(STEPS), "-o", str(npz)]) == 0
    assert cli(["emulate", str(art), "--input", str(npz), "--steps", str(STEPS), "-o", str(res)]) == 0
    assert cli(["report", str(res)]) == 0
    out = capsys.readouterr().out
    assert "dense9" in out and "energy: total" in out
    assert "status: energy and latency are model estimates" in out            # the loihi2 figures' status
    assert "assumed: per-operation energies are NOT published for Loihi 2" in out
    with np.load(res / "result.npz") as data:
        assert np.array_equal(data["payloads/dense9"][:, 0], np.load(DATA / "output.npy")[0])


def test_wrong_input_layouts_are_refused_clearly(pilot, tmp_path, capsys):
    _, net_path, art = pilot
    net = nc.load(net_path)
    x = np.load(DATA / "input.npy")
    with pytest.raises(ValidationError, match=r"looks like neurocomp's \[T, 3, 33, 100\] order"):
        netx_input.netx_inputs(net, from_lava(x), STEPS)
    with pytest.raises(ValidationError, match=r"not Lava's \(W, H, C, T\) order .*\(100, 33, 3\)"):
        netx_input.netx_inputs(net, x[:50], STEPS)
    with pytest.raises(ValidationError, match="integers"):
        netx_input.netx_inputs(net, x + 0.5, STEPS)
    bad = tmp_path / "frames.npy"
    np.save(bad, x.transpose(1, 0, 2, 3))
    assert netx_input.main([str(net_path), str(bad), "--steps", "3", "-o", str(tmp_path / "o.npz")]) == 2
    assert "(33, 100, 3, 1) is not Lava's (W, H, C, T) order" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()
    # the raw (W, H, C, T) frames given to emulate: the shape error names the input and the expected order
    np.savez(tmp_path / "raw.npz", input=x)
    assert cli(["emulate", str(art), "--input", str(tmp_path / "raw.npz"), "--steps", "1", "-o",
                str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "must be [T, *(3, 33, 100)]" in err
    assert "compiled from the lava-dl netx file" in err and "python -m neurocomp.io.netx_input" in err   # the way out
    np.save(tmp_path / "frames.npy", x)                       # lava-dl's input.npy itself, not an .npz
    assert cli(["emulate", str(art), "--input", str(tmp_path / "frames.npy"), "--steps", "1", "-o",
                str(tmp_path / "r")]) == 2
    assert "python -m neurocomp.io.netx_input" in capsys.readouterr().err


def test_write_multichip(tmp_path):
    t = nc.load_target(write_multichip("loihi2", 2, 3, tmp_path / "x6.toml"))
    one = nc.load_target("loihi2")
    assert (t.name, t.mesh.chips, t.mesh.chips_x, t.mesh.chips_y) == ("loihi2_x6", 6, 2, 3)
    assert t.mesh.n_cores == 6 * one.mesh.n_cores and t.costs == one.costs and t.core == one.core
    with pytest.raises(nc.TargetError, match="unknown target 'loihi9'"):
        write_multichip("loihi9", 2, 1, tmp_path / "y.toml")
    with pytest.raises(nc.TargetError, match="must be >= 1"):
        write_multichip("loihi2", 0, 1, tmp_path / "z.toml")
