"""Regenerate ``oxford/lava_dl.npz`` and ``mnist/lava_dl.npz``: the tutorial networks built by lava-dl's own netx
loader (``netx.hdf5.Network``) and run on lava-nc 0.10's ``fixed_pt`` process models, fed as the tutorials feed
them (``tests/netx_tutorials.py``). Not run by the test suite (it needs lava-dl's source; netx imports torch
through slayer, stubbed by ``make_lava_reference._import_netx``; the CUBA path uses neither). What was run::

    git clone https://github.com/lava-nc/lava-dl   # commit d825ac5 (src/lava/lib/dl/netx)
    .venv/bin/python tests/data/netx/make_tutorial_references.py /path/to/lava-dl/src

- oxford: ``netx.hdf5.Network(net_config=network.net)``; a ``RingBuffer`` holding the tutorial's input tensor
  (200, 2000) connected to ``net.inp`` (the tutorial's ``InputAdapter`` passes it through unchanged on CPU);
  2000 steps.
- mnist: ``netx.hdf5.Network(net_config=..., reset_interval=32, reset_offset=1)`` as the tutorial builds it;
  a ``RingBuffer`` holding the tutorial encoder's spikes of 3 random images (``random_digits(0, 3)``, 96
  steps) connected to ``net.inp``; 96 steps.

Each file holds every layer's spikes (``sink`` on ``layer.out``), Lava order ``(n, T)``, column t-1 = step t,
as packed bits + ``.shape`` (unpack with ``test_netx.unpack``).
"""
import sys
from pathlib import Path

import numpy as np

from make_lava_reference import _import_netx      # lava-dl's netx with the torch-only modules stubbed

HERE = Path(__file__).resolve().parent
MNIST_IMAGES = 3


def _run(net, data: np.ndarray, steps: int) -> dict:
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc import io
    source = io.source.RingBuffer(data=data.astype(float))
    source.s_out.connect(net.inp)
    sinks = []
    for layer in net.layers:
        sink = io.sink.RingBuffer(shape=layer.out.shape, buffer=steps)
        layer.out.connect(sink.a_in)
        sinks.append(sink)
    net.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    out = [s.data.get() != 0 for s in sinks]
    net.stop()
    arrays = {}
    for k, spikes in enumerate(out):
        arrays[f"dense{k}"] = np.packbits(spikes, axis=None)
        arrays[f"dense{k}.shape"] = np.array(spikes.shape)
    return arrays


def main(src: str) -> None:
    netx = _import_netx(src)
    sys.path.insert(0, str(HERE.parents[1]))
    import tempfile
    from netx_tutorials import MNIST_PERIOD, OXFORD_STEPS, mnist_encode, oxford_data, random_digits, unpack_net
    with tempfile.TemporaryDirectory() as tmp:
        net = netx.hdf5.Network(net_config=str(unpack_net("oxford", Path(tmp))))
        np.savez_compressed(HERE / "oxford" / "lava_dl.npz", **_run(net, oxford_data()[0], OXFORD_STEPS))
        steps = MNIST_IMAGES * MNIST_PERIOD
        net = netx.hdf5.Network(net_config=str(unpack_net("mnist", Path(tmp))), reset_interval=MNIST_PERIOD,
                                reset_offset=1)
        x = mnist_encode(random_digits(0, MNIST_IMAGES), steps)
        np.savez_compressed(HERE / "mnist" / "lava_dl.npz", **_run(net, x.T, steps))


if __name__ == "__main__":
    main(sys.argv[1])
