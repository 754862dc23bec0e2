"""lava-dl's netx block ground truths (tests/data/netx/tinynet_sdnn and dense, see PROVENANCE.md there), compiled
for Loihi 2 and emulated: the three SDN blocks of lava-dl's ``test_blocks.py::TestSDNBlocks`` and its LIF
``Dense`` block, each built in the IR with the parameters lava-dl's netx block gives its Lava process,
reproduced exactly.

lava-dl builds each block alone and drives it from a ``RingBuffer`` (``fixed_pt``); its blocks default to
``input_message_bits = 0``, so its Conv and Dense read a graded payload as a spike (payload != 0), which the IR
writes as ``num_message_bits=0``. Step alignment:

- ``test_input``: the ring buffer feeds the Delta's ``a_in`` directly (same step). neurocomp's input reaches a
  chip population through a graded OneToOne, one step later, so emulator step t + 1 == ground truth step t.
- ``test_conv``: lava-dl runs 1 step (its sink's other 15 columns are the zeros it was created with); the
  input's first column is 0, so step 1 is the bias alone through ReLU, threshold and ``spike_exp``. Only that
  step is compared, and every later ground-truth column is checked to be the unrun zeros.
- ``test_dense``: 16 steps; the payloads of ``layer1.npy`` (only its step 1 is non-zero) reach the Sigma
  through Dense one step later on Lava and on the emulator alike, so the steps compare with no shift.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.io.netx import from_lava
from test_netx import unpack

GTS = Path(__file__).resolve().parent / "data" / "netx" / "tinynet_sdnn" / "gts.npz"
SDN = {"vth": 20, "spike_exp": 6, "state_exp": 6}           # lava-dl's sdn_params


@pytest.fixture(scope="module")
def gts():
    with np.load(GTS) as d:
        return {k: d[k].astype(np.int64) for k in d.files}


def run(net, steps, inputs, pop):
    res = nc.emulate(nc.compile(net, "loihi2"), steps, inputs, record=("spikes",))
    return res.payloads[pop]


def lava_order(payloads, shape):
    """[T, n] in the IR's (C, H, W) order -> Lava's (W, H, C, T)."""
    return payloads.reshape((len(payloads),) + shape).transpose(3, 2, 1, 0)


def test_input_block_delta(gts):
    steps = 15
    bias = gts["input_bias"]                                    # (W, H, C) = (16, 16, 3)
    data = (bias[..., None] * np.sin(2 * np.pi * np.arange(steps) / steps)).astype(int)   # lava-dl's drive
    net = nc.Network("tinynet_sdnn_input")
    net.input("x", (3, 16, 16))
    net.population("d", (3, 16, 16), nc.Delta(**SDN))
    net.connect("x", "d", nc.OneToOne(1, num_message_bits=24))
    x = np.concatenate([from_lava(data), np.zeros((1, 3, 16, 16), np.int64)])
    out = lava_order(run(net, steps + 1, {"x": x}, "d"), (3, 16, 16))
    assert not out[..., 0].any()                                # the OneToOne's step
    assert np.array_equal(out[..., 1:], gts["input"])
    assert np.count_nonzero(gts["input"]) > 1000 and np.abs(gts["input"]).max() > 2000   # graded, both signs


def test_conv_block_sigma_delta(gts):
    steps = 16
    kernel = gts["layer1_kernel"]                               # Lava's (out, kx, ky, in) = (24, 5, 5, 3)
    weight = kernel.transpose(0, 3, 2, 1)[:, :, ::-1, ::-1]     # PyTorch layout (inverse of netx's flip)
    conv = nc.Conv2d(np.ascontiguousarray(weight), input_shape=(3, 16, 16), stride=2, num_message_bits=0)
    assert conv.output_shape == (24, 6, 6)
    net = nc.Network("tinynet_sdnn_conv")
    net.input("x", (3, 16, 16))
    net.population("c", (24, 6, 6), nc.SigmaDelta(act_mode="relu", bias=np.repeat(gts["layer1_bias"], 36), **SDN))
    net.connect("x", "c", conv)
    x = from_lava(gts["input"]) != 0                            # spikes, as the block's Conv reads them
    out = lava_order(run(net, steps - 1, {"x": np.concatenate([x, x[:1] * 0])}, "c"), (24, 6, 6))
    gt = gts["layer1"]
    assert np.array_equal(out[..., 0], gt[..., 0])
    assert not gt[..., 1:].any()                                # lava-dl ran 1 step: nothing to compare there
    assert 0 < np.count_nonzero(gt[..., 0]) < gt[..., 0].size  # some channels pass the threshold, some do not


def test_dense_block_sigma(gts):
    steps = 16
    data = gts["layer1"].reshape(-1, steps)                     # lava-dl's reshape([-1, 16]): Lava's flat order
    net = nc.Network("tinynet_sdnn_dense")
    net.input("x", (864,))
    net.population("s", (100,), nc.Sigma())
    net.connect("x", "s", nc.Dense(gts["layer2_weight"], num_message_bits=0))
    out = run(net, steps, {"x": (data.T != 0)}, "s")
    assert np.array_equal(out.T, gts["layer2"])
    assert not gts["layer2"][:, 0].any() and np.count_nonzero(gts["layer2"][:, 1:]) == 1500   # one step late


def test_dense_lif_block_spikes():
    """lava-dl's ``TestLIFBlocks.test_dense`` (``gts/dense``, tests/data/netx/dense): a netx Dense block of 256
    LIF neurons (vth 6, du 4095, dv 415, bias_exp 6; 8-bit weights -178..192) driven by 200 spike trains for
    2000 steps. The ring buffer's spikes of step t reach the LIF through Dense one step later on Lava and on
    the emulator alike: every step's spikes compare with no shift."""
    with np.load(GTS.parent.parent / "dense" / "gts.npz") as d:
        x, gt = unpack(d, "in"), unpack(d, "out")               # (200, 2000), (256, 2000)
        weight = d["weight"].astype(np.int64)
    net = nc.Network("lava_dl_dense_block")
    net.input("x", (200,))
    net.population("l", (256,), nc.LoihiLIF(du=4095, dv=415, vth=6, bias_exp=6))
    net.connect("x", "l", nc.Dense(weight))
    res = nc.emulate(nc.compile(net, "loihi2"), gt.shape[1], {"x": x.T}, record=("spikes",))
    assert np.array_equal(res.spikes["l"].T, gt)
    assert gt.sum() > 1000 and not np.array_equal(np.roll(gt, 1, axis=1), gt)
