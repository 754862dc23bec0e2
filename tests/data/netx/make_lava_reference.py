"""Regenerate ``tinynet/lava_noreset.npz``: tiny.net built by lava-dl's own netx loader and run on lava-nc
0.10's ``fixed_pt`` process models, *without* the per-layer resets of lava-dl's ``test_tinynet``.

Not run by the test suite (it needs lava-dl's netx, which needs torch). What was run::

    git clone https://github.com/lava-nc/lava-dl   # commit d825ac5 (src/lava/lib/dl/netx)
    .venv/bin/python tests/data/netx/make_lava_reference.py /path/to/lava-dl/src

With no torch installed the two modules netx imports only for other features (``slayer.neuron.rf``,
``netx.sequential_modules``) are stubbed below; the CUBA path uses neither.

The input layer is driven through its bias exactly as lava-dl's test does
(``net.in_layer.neuron.bias_mant.init = gts/tinynet/input_bias.npy``); every layer's output port is
recorded by a RingBuffer sink for 20 steps. The file holds ``input0``, ``conv1``, ``conv2``: bool
``(W, H, C, T)`` in Lava's order, column t = Lava step t + 1.
"""
import sys
import types
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
STEPS = 20


def _import_netx(src: str):
    sys.path.insert(0, src)
    for name in ("lava.lib.dl.slayer", "lava.lib.dl.slayer.neuron", "lava.lib.dl.slayer.neuron.rf",
                 "lava.lib.dl.netx.sequential_modules"):
        mod = types.ModuleType(name)
        mod.__path__ = []
        mod.__file__ = __file__          # Lava's compiler inspects the source file of every module
        sys.modules[name] = mod
    sys.modules["lava.lib.dl.slayer.neuron.rf"].neuron_params = lambda cfg: {}
    from lava.lib.dl import netx
    return netx


def main(src: str) -> None:
    netx = _import_netx(src)
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc import io

    net = netx.hdf5.Network(net_config=str(HERE / "tinynet" / "tiny.net"))
    sinks = []
    for layer in net.layers:
        sink = io.sink.RingBuffer(shape=layer.out.shape, buffer=STEPS)
        layer.out.connect(sink.a_in)
        sinks.append(sink)
    net.in_layer.neuron.bias_mant.init = np.load(HERE / "tinynet" / "input_bias.npy")
    net.run(condition=RunSteps(num_steps=STEPS), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    out = [s.data.get() for s in sinks]
    net.stop()
    np.savez_compressed(HERE / "tinynet" / "lava_noreset.npz",
                        **{name: (o > 0) for name, o in zip(("input0", "conv1", "conv2"), out)})


if __name__ == "__main__":
    main(sys.argv[1])
