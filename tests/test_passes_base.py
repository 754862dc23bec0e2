"""The pass framework (PassReport, Pass, run_pipeline) and the discretize pass."""
import dataclasses
import json
import time
import warnings

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.passes import (Discretize, DiscretizedNetwork, Pass, PassReport, Quantize, euler_decay_error,
                              run_pipeline)


def small_net():
    net = nc.Network("small")
    net.input("in", 4)
    net.population("lif", 3, nc.LIF(tau=[2e-3, 4e-3, 8e-3], v_threshold=1.0, r=2.0, v_leak=0.1, bias=0.3))
    net.population("cuba", 2, nc.CubaLIF(tau_syn=5e-3, tau_mem=1e-2, v_threshold=0.5, w_in=1.5, r=2.0,
                                         v_leak=0.05, bias=0.2))
    net.population("if", 2, nc.IF(v_threshold=1.0, r=0.5, bias=0.1))
    net.population("li", 2, nc.LI(tau=1e-2, r=3.0, v_leak=0.2, bias=0.1))
    net.population("int", 2, nc.Integrator(r=0.7, bias=0.3))
    net.population("thr", 2, nc.Threshold(theta=0.25))
    net.population("loihi", 2, nc.LoihiLIF(du=100, dv=200, vth=50))
    rng = np.random.default_rng(1)
    net.connect("in", "lif", nc.Dense(rng.normal(size=(3, 4))))
    net.connect("lif", "cuba", nc.Dense(rng.normal(size=(2, 3))))
    net.connect("in", "loihi", nc.Dense(rng.integers(-5, 5, (2, 4))))
    net.output("cuba")
    return net


class Doubler(Pass):
    """A toy pass for the framework tests: returns a new list with every value doubled."""
    name = "double"

    def run(self, obj, target=None):
        time.sleep(0.002)
        return [2 * v for v in obj], PassReport(self.name, summary={"n": len(obj)})


Doubler = dataclasses.dataclass(frozen=True)(Doubler)


def test_report_is_json_and_pipeline_times_each_pass():
    data = [1, 2, 3]
    out, reports = run_pipeline(data, None, [Doubler(), Doubler()])
    assert out == [4, 8, 12] and data == [1, 2, 3]
    assert [r.name for r in reports] == ["double", "double"]
    assert all(r.seconds >= 0.002 for r in reports)
    rep = PassReport("x", 0.1, {"a": np.float32(1.5), "b": np.arange(3), "c": np.inf},
                     [{"param": "w", "rel_error": np.float64(0.25)}], [], ["w"])
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["summary"] == {"a": 1.5, "b": [0, 1, 2], "c": "inf"} and rep.max_rel_error("w") == 0.25


def test_pipeline_refuses_non_pass_and_passes_are_frozen():
    with pytest.raises(nc.ValidationError, match="pipeline entry 0"):
        run_pipeline([], None, [lambda x, t: x])
    d = Discretize(1e-3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.dt = 2e-3
    assert Discretize.name == "discretize" and Quantize.name == "quantize"


class Warner(Doubler):
    name = "warn"

    def run(self, obj, target=None):
        return obj, PassReport(self.name, warnings=["kept the sequential mapping"])


def test_pipeline_progress_goes_to_stderr(capsys):
    run_pipeline([1], None, [Doubler(), Warner()], progress=True)
    err = capsys.readouterr().err
    assert "[1/2] double" in err and "clip(s)" in err
    assert "[2/2] warn ... " in err and "1 warning(s)\nwarning: kept the sequential mapping\n" in err


def float_step_nir(model, state, x, dt):
    """NIR's forward-Euler step written straight from nir.md, independent of DiscreteModel."""
    m = model
    if isinstance(m, (nc.LIF, nc.LI)):
        v = state["v"] + dt / m.tau * (m.v_leak - state["v"] + m.r * (x + m.bias))
        return {"v": v}
    if isinstance(m, nc.CubaLIF):
        a, b = 1 - dt / m.tau_syn, 1 - dt / m.tau_mem
        i = a * state["u"] + (1 - a) * m.w_in * (x + m.bias)
        return {"u": i, "v": b * state["v"] + (1 - b) * (m.v_leak + m.r * i)}
    if isinstance(m, (nc.IF, nc.Integrator)):
        return {"v": state["v"] + m.r * (x + m.bias)}
    if isinstance(m, nc.Threshold):
        return {"v": x}
    raise AssertionError(type(m))


@pytest.mark.parametrize("pop", ["lif", "cuba", "if", "li", "int", "thr"])
def test_discrete_model_reproduces_nir_forward_euler(pop):
    net = small_net()
    dt = 1e-3
    dnet, report = Discretize(dt).run(net, None)
    dm = dnet.models[pop]
    model = net.populations[pop].model
    n = net.populations[pop].size
    rng = np.random.default_rng(7)
    ref = {"u": np.zeros(n), "v": np.zeros(n)}
    u, v = np.zeros(n), np.zeros(n)
    for _ in range(50):
        x = rng.normal(size=n)
        ref = {"u": ref["u"], **float_step_nir(model, ref, x, dt)}
        u = (1 - dm.decay_u) * u + dm.gain_u * x + dm.bias_u
        v = (1 - dm.decay_v) * v + dm.gain_v * u + dm.bias_per_step
        np.testing.assert_allclose(v, ref["v"], rtol=1e-12, atol=1e-12)   # no reset: sub-threshold check
    assert dm.spiking == model.spiking


def test_discretize_reports_euler_error_and_keeps_network():
    net = small_net()
    dnet, report = Discretize(1e-3).run(net, None)
    assert isinstance(dnet, DiscretizedNetwork) and dnet.network == net and dnet.network is not net
    assert "loihi" not in dnet.models and "in" not in dnet.models
    assert report.summary["integer_passthrough"] == ["loihi"]
    g = {(x["population"], x["param"]): x for x in report.groups}
    assert g[("lif", "decay_v")]["rel_error"] == pytest.approx(float(euler_decay_error(1e-3, np.array(2e-3))))
    assert g[("cuba", "decay_u")]["rel_error"] == pytest.approx(abs(0.8 - np.exp(-0.2)) / np.exp(-0.2))
    assert ("if", "decay_v") not in g   # no time constant, no Euler error


def test_discretize_refuses_dt_at_or_above_tau_and_warns_above_half():
    net = small_net()
    with pytest.raises(nc.ValidationError, match=r"population 'lif'.*dt = 0.002 s is not below tau = 0.002"):
        Discretize(2e-3).run(net, None)
    with pytest.raises(nc.ValidationError, match="positive"):
        Discretize(0.0).run(net, None)
    with pytest.warns(nc.NeurocompWarning, match="more than half of tau"):
        _, rep = Discretize(1.5e-3).run(net, None)
    assert any("more than half" in w for w in rep.warnings)


def test_discretize_does_not_mutate_input():
    net = small_net()
    net.metadata["k"] = 1
    before = (small_net(), dict(net.metadata))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Discretize(1e-3).run(net, None)
    assert net == before[0] and net.metadata == before[1]
