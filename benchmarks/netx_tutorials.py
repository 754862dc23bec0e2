"""lava-dl's netx tutorials (oxford, mnist) at full length: emulator vs Lava fixed_pt, same run.

Networks and data: tests/data/netx/oxford and mnist (PROVENANCE.md there); what the tutorials do around the
network (SLAYER's event binning, the MNIST rate encoder): tests/netx_tutorials.py. Nothing is fetched.

- ``oxford``: the tutorial's network (200 -> 256 -> 200 CUBA LIF) on its input for its 2000 steps. Every
  spike, u and v of both layers, emulator vs Lava (``backends/lava``: RingBuffer -> Dense -> LIF -> Dense ->
  LIF, the processes and parameters netx builds, ``Loihi2SimCfg(select_tag="fixed_pt")``); the output against
  the tutorial's "Slayer Reference" (``ground_truth.npy``, SLAYER's own simulation), at shifts -1, 0, 1.
- ``mnist``: the tutorial's network (784 -> 128 -> 64 -> 10, ``reset_interval=32, reset_offset=1``: LIFReset)
  fed ``--images`` random 28x28 images through the tutorial's encoder (MNIST is not in the repository), 32
  steps each; every spike, u and v, and the class the tutorial's ``OutSpkToCls`` would predict per image
  (argmax of the output spikes of steps 32k+1 .. 32k+32), on both.

Times are wall seconds of the whole call (Lava: build, run, read back; emulator: compiled artifact, cost
model on), one run each (the comparison is the point; PilotNet's per-step timing is benchmarks/pilotnet_sdnn.py).

Usage: ``.venv/bin/python benchmarks/netx_tutorials.py [--images 25] [--json out.json]``
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import neurocomp as nc
from neurocomp.backends.lava import run_lava
from neurocomp.io import netx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from netx_tutorials import (MNIST_PERIOD, OXFORD_STEPS, mnist_encode, oxford_data, random_digits,  # noqa: E402
                            unpack_net)

RECORD = ("spikes", "v", "u")


def compare(net, steps: int, inputs: dict) -> tuple:
    """Emulator vs Lava on every population's spikes, u, v: (summary with seconds and differing values, emulator
    Result, Lava Result)."""
    t0 = time.perf_counter()
    emu = nc.emulate(nc.compile(net, "loihi2"), steps, inputs, record=RECORD)
    t_emu = time.perf_counter() - t0
    t0 = time.perf_counter()
    lava = run_lava(net, steps, inputs, record=RECORD)
    t_lava = time.perf_counter() - t0
    diff = {f"{kind}/{pop}": int(np.count_nonzero(getattr(emu, kind)[pop] != getattr(lava, kind)[pop]))
            for kind in RECORD for pop in getattr(emu, kind)}
    return {"steps": steps, "emulator_s": round(t_emu, 3), "lava_s": round(t_lava, 3),
            "mismatches": sum(diff.values()), "values_compared": sum(getattr(emu, k)[p].size for k in RECORD
                                                                    for p in getattr(emu, k)),
            "spikes": {p: int(s.sum()) for p, s in emu.spikes.items()}, "by_array": diff}, emu, lava


def oxford(tmp: Path) -> dict:
    net = nc.load(unpack_net("oxford", tmp))
    x, ref = oxford_data()
    out, emu, _ = compare(net, OXFORD_STEPS, {"input": x.T.astype(np.uint8)})
    spikes = emu.spikes["dense1"].T.astype(bool)
    out["slayer_reference"] = {str(s): {"both": int((np.roll(spikes, -s, 1) & ref).sum()),
                                        "only_ours": int((np.roll(spikes, -s, 1) & ~ref).sum()),
                                        "only_slayer": int((ref & ~np.roll(spikes, -s, 1)).sum())}
                               for s in (-1, 0, 1)}
    out["slayer_reference_spikes"] = int(ref.sum())
    return out


def mnist(tmp: Path, images: int) -> dict:
    net = netx.read_netx(unpack_net("mnist", tmp), reset_interval=MNIST_PERIOD, reset_offset=1)
    steps = images * MNIST_PERIOD
    out, emu, lava = compare(net, steps, {"input": mnist_encode(random_digits(0, images), steps)})
    pred = {name: np.argmax(r.spikes["dense2"].reshape(images, MNIST_PERIOD, 10).sum(1), axis=1).tolist()
            for name, r in (("emulator", emu), ("lava", lava))}
    out["predicted_classes"] = pred
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=25, help="MNIST presentations (the tutorial's num_test_imgs: 25)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        res = {"oxford": oxford(Path(tmp)), "mnist": mnist(Path(tmp), args.images)}
    text = json.dumps(res, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0 if all(r["mismatches"] == 0 for r in res.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
