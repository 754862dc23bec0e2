"""Every NIR paper network compiles for Loihi 2 and deploys through Lava with the same spikes and v
as the emulator (issue 5: `deploy` works on every network in shared/data/nir that Lava can express)."""
import warnings

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.backends.emulator import emulate
from neurocomp.deployment import deploy
from neurocomp.paperdata import nir_data_dir

FILES = sorted(nir_data_dir().rglob("*.nir"))
STEPS = 8


def test_all_paper_graphs_are_covered():
    assert {f.name for f in FILES} >= {"braille_noDelay_bias_zero.nir", "cnn_sinabs.nir", "lif_norse.nir",
                                       "lif_rockpool.nir", "two_lif_neurons.nir"}


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_deploy_equals_emulate(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nc.NeurocompWarning)
        net = nc.load(path)
        art = nc.compile(net, "loihi2")
    rng = np.random.default_rng(0)
    inputs = {name: (rng.random((STEPS,) + net.populations[name].shape) < 0.3).astype(np.uint8)
              for name in net.inputs}
    emu = emulate(art, STEPS, inputs, timing=False)
    lava = deploy(art, "lava", STEPS, inputs)
    assert lava.report["energy_j"] is None          # Lava gives none, and says so
    for pop in emu.spikes:
        np.testing.assert_array_equal(emu.spikes[pop], lava.spikes[pop], err_msg=f"{path.name}: spikes[{pop}]")
        np.testing.assert_array_equal(emu.v[pop], lava.v[pop], err_msg=f"{path.name}: v[{pop}]")
    assert any(np.any(v != 0) for v in emu.v.values())   # something happened
