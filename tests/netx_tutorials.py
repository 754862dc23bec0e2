"""What lava-dl's netx tutorials do around their network, in numpy (tests/test_netx_tutorials.py and
benchmarks/netx_tutorials.py use it; data in tests/data/netx/oxford and mnist, see PROVENANCE.md there).

- Oxford (``tutorials/lava/lib/dl/netx/oxford/run.ipynb``): ``slayer.io.read_np_spikes('input.npy')`` then
  ``.to_tensor(dim=(1, 200, 2000))``: events ``(x, c, t)`` binned as SLAYER's ``fill_tensor`` does
  (``np.round`` of x and t, "OR" binning, events outside the tensor dropped); a ``RingBuffer`` sends column
  t-1 at step t.
- MNIST (``tutorials/lava/lib/dl/netx/mnist/run.ipynb``): its ``PyInpImgToSpkModel`` rate encoder, float64
  as there: at step t (1-based) ``run_spk`` first clears the image and v when ``t % n_ts == 1``, then
  ``v += image; spike = v > 1; v[spike] = 0``; ``run_post_mgmt`` (same condition, after ``run_spk``) loads
  the next image / 255 and clears v. So step 1 sends nothing and image k is encoded on steps
  ``k * n_ts + 2 .. (k + 1) * n_ts + 1`` minus that last step, which is cleared again.
"""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "netx"
OXFORD_STEPS = 2000           # the tutorial's RunSteps and to_tensor length
MNIST_PERIOD = 32             # the tutorial's n_tsteps = reset_interval ("a power of 2 on Loihi 2")


def unpack_net(name: str, folder: Path) -> Path:
    """``tests/data/netx/<name>/network.net.gz`` unpacked into ``folder``; the path of the .net file."""
    path = Path(folder) / f"{name}.net"
    with gzip.open(DATA / name / "network.net.gz", "rb") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def slayer_spikes(events: np.ndarray, n: int, steps: int) -> np.ndarray:
    """SLAYER's ``read_np_spikes`` (xypt, 3 columns: x, c, t in ms) + ``to_tensor(dim=(1, n, steps))`` of a
    1-D event array, as bool ``(n, steps)``."""
    x = events[:, 0].astype(int)                           # read_np_spikes: astype('int')
    c = np.round(events[:, 1]).astype(int)
    t = np.round(events[:, 2]).astype(int)
    keep = (x >= 0) & (x < n) & (c == 0) & (t >= 0) & (t < steps)
    out = np.zeros((n, steps), bool)
    out[x[keep], t[keep]] = True
    return out


def oxford_data() -> tuple[np.ndarray, np.ndarray]:
    """(input spikes (200, 2000) as the tutorial's RingBuffer holds them, SLAYER's reference output spikes
    (200, 2000), binned the same way as the tutorial's ``read_np_spikes('ground_truth.npy')``)."""
    with np.load(DATA / "oxford" / "tutorial.npz") as d:
        return (slayer_spikes(d["input"], 200, OXFORD_STEPS),
                slayer_spikes(d["ground_truth"], 200, OXFORD_STEPS))


def mnist_encode(images: np.ndarray, steps: int, n_ts: int = MNIST_PERIOD) -> np.ndarray:
    """The MNIST tutorial's rate encoder over ``steps`` steps: uint8 spikes ``[steps, 784]`` (row t-1 = step t);
    ``images`` uint8 ``[k, 784]``, one per ``n_ts`` steps, as ``MnistDataset().test_images`` are."""
    img = np.zeros(784)
    v = np.zeros(784)
    k = 0
    out = np.zeros((steps, 784), np.uint8)
    for t in range(1, steps + 1):
        if t % n_ts == 1:                                   # run_spk: clear before the new image
            img, v = np.zeros(784), np.zeros(784)
        v = v + img
        spike = v > 1
        v[spike] = 0
        out[t - 1] = spike
        if t % n_ts == 1:                                   # run_post_mgmt: the next image
            img, v = images[k] / 255, np.zeros(784)
            k += 1
    return out


def random_digits(seed: int, k: int) -> np.ndarray:
    """``k`` random 28x28 uint8 "images" (20 % of pixels lit, random grey levels): MNIST itself is not in this
    repository (Lava's ``MnistDataset`` downloads it), so the Lava comparison runs on these."""
    rng = np.random.default_rng(seed)
    return ((rng.random((k, 784)) < 0.2) * rng.integers(1, 256, (k, 784))).astype(np.uint8)
