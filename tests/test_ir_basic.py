import numpy as np
import pytest

import neurocomp as nc


def test_builder_api_shape():
    net = nc.Network("demo")
    inp = net.input("in", shape=(100,))
    hid = net.population("hid", shape=(50,), model=nc.LoihiLIF(du=410, dv=200, vth=100, bias_mant=0, bias_exp=0))
    w = np.random.default_rng(0).integers(-128, 128, (50, 100)).astype(np.int8)
    net.connect(inp, hid, nc.Dense(weights=w, weight_exp=0), delay=0)
    net.output("hid")
    assert net.n_neurons == 50 and net.inputs == ["in"] and net.outputs == ["hid"]
    assert net.n_synapses == np.count_nonzero(w)


def test_shape_mismatch_is_refused():
    net = nc.Network("x")
    net.input("in", (10,))
    net.population("p", (5,), nc.LIF(tau=1e-3, v_threshold=1.0))
    with pytest.raises(nc.ValidationError, match="shape mismatch"):
        net.connect("in", "p", nc.Dense(np.ones((10, 5))))
