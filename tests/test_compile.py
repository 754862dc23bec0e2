"""compile(): the pipeline, the saved artifact (mapping.json schema, determinism, load) and validation."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.mapping.artifact import SCHEMA_VERSION, load_compiled
from neurocomp.compiler import compile
from neurocomp.errors import ArtifactError, CapacityError, ValidationError
from neurocomp.mapping.validate import check_mapping

ROOT = Path(__file__).resolve().parents[1]

NET_SRC = '''
import numpy as np, neurocomp as nc
def build():
    rng = np.random.default_rng(7)
    net = nc.Network("small")
    inp = net.input("inp", (16,))
    a = net.population("a", (50,), nc.LoihiLIF(du=300, dv=100, vth=80, bias_mant=3))
    b = net.population("b", (30,), nc.LoihiLIF(du=300, dv=100, vth=60))
    net.connect(inp, a, nc.Dense(rng.integers(-20, 60, (50, 16)) * (rng.random((50, 16)) < 0.4)))
    sp = nc.Sparse.from_dense(rng.integers(-30, 60, (30, 50)) * (rng.random((30, 50)) < 0.2))
    net.connect(a, b, sp, delay=rng.integers(0, 4, sp.n_synapses))
    net.connect(b, a, nc.Dense(rng.integers(-10, 10, (50, 30))))
    net.output(b)
    return net
'''


def small_net():
    ns: dict = {}
    exec(NET_SRC, ns)
    return ns["build"]()


def test_compile_end_to_end_is_valid(tmp_path):
    net = small_net()
    cn = compile(net, "loihi", max_neurons_per_core=16, out=tmp_path / "art")
    assert check_mapping(cn) == []
    assert [r.name for r in cn.reports] == ["discretize", "quantize", "partition", "place", "route", "tables"]
    assert cn.tables.n_cores == cn.n_cores == cn.stats["cores_used"] >= 5
    assert cn.stats["cores_used"] <= cn.stats["baseline"]["cores_used"]
    assert sorted(os.listdir(tmp_path / "art")) == ["mapping.json", "network.h5", "tables.npz", "target.toml", "timings.json"]
    text = cn.summary()
    assert "target loihi" in text and "sequential baseline" in text and "max utilisation" in text


@pytest.mark.parametrize("partitioner", ["hypergraph", "metis", "sequential"])
def test_partitioner_options(partitioner):
    cn = compile(small_net(), "loihi2", partitioner=partitioner, max_neurons_per_core=20)
    assert cn.stats["partitioner"] == partitioner
    assert check_mapping(cn) == []


def test_mapping_json_schema(tmp_path):
    net = small_net()
    cn = compile(net, "loihi", max_neurons_per_core=16, out=tmp_path / "art")
    m = json.loads((tmp_path / "art" / "mapping.json").read_text())
    assert m == json.loads(json.dumps(cn.mapping))
    assert m["schema_version"] == SCHEMA_VERSION and m["target"]["name"] == "loihi"
    assert m["target"]["model"]["core"]["max_neurons"] == 1024 and m["dt"] == 1e-4
    assert set(m) >= {"cores", "links", "passes", "stats", "target", "dt"}
    covered = {p.name: np.zeros(p.size, int) for p in net.neuron_populations}
    for c in m["cores"]:
        assert set(c) >= {"id", "coord", "ranges", "n_neurons", "n_input_axons", "n_output_axons", "synapse_bits",
                          "utilisation"}
        assert set(c["utilisation"]) == {"neurons", "input_axons", "output_axons", "synapse_bits"}
        assert len(c["coord"]) == 4 and all(0 <= v <= 1 for v in c["utilisation"].values())
        assert sum(r["stop"] - r["start"] for r in c["ranges"]) == c["n_neurons"]
        for r in c["ranges"]:
            covered[r["population"]][r["start"]:r["stop"]] += 1
    assert all(np.all(v == 1) for v in covered.values())  # every neuron on exactly one core
    s = m["stats"]
    assert {"cores_used", "messages_per_step_all_fire", "max_link_load", "baseline"} <= set(s)
    assert {"cores_used", "messages_per_step_all_fire"} <= set(s["baseline"])
    assert all("seconds" not in p for p in m["passes"])
    assert set(json.loads((tmp_path / "art" / "timings.json").read_text())) == {r.name for r in cn.reports}
    for link in m["links"]:
        assert link["load"] > 0 and abs(link["from"][0] - link["to"][0]) + abs(link["from"][1] - link["to"][1]) == 1


def test_artifact_roundtrip_and_errors(tmp_path):
    cn = compile(small_net(), "loihi", max_neurons_per_core=16, out=tmp_path / "art")
    back = load_compiled(tmp_path / "art")
    assert back.network == cn.network and back.target.name == "loihi"
    assert all(np.array_equal(back.core_of_neuron[k], cn.core_of_neuron[k]) for k in cn.core_of_neuron)
    assert np.array_equal(back.core_coord, cn.core_coord) and check_mapping(back) == []
    assert back.mapping == json.loads(json.dumps(cn.mapping))
    m = json.loads((tmp_path / "art" / "mapping.json").read_text())
    m["schema_version"] = SCHEMA_VERSION + 1
    (tmp_path / "art" / "mapping.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactError, match="schema version"):
        load_compiled(tmp_path / "art")
    cn.save(tmp_path / "art2")
    (tmp_path / "art2" / "tables.npz").unlink()
    with pytest.raises(ArtifactError, match="missing tables.npz"):
        load_compiled(tmp_path / "art2")
    with pytest.raises(ArtifactError, match="not found"):
        load_compiled(tmp_path / "nothing")


def _bytes(d: Path) -> tuple[bytes, bytes]:
    return (d / "mapping.json").read_bytes(), (d / "tables.npz").read_bytes()


def test_deterministic_bytes_across_runs_and_hash_seeds(tmp_path):
    compile(small_net(), "loihi", max_neurons_per_core=16, out=tmp_path / "a")
    compile(small_net(), "loihi", max_neurons_per_core=16, out=tmp_path / "b")
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")
    script = NET_SRC + f'''
from neurocomp.compiler import compile
compile(build(), "loihi", max_neurons_per_core=16, out={str(tmp_path / "c")!r})
'''
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=ROOT, timeout=300)
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "c")


def test_compile_float_network():
    net = nc.Network("float")
    inp = net.input("x", (8,))
    h = net.population("h", (40,), nc.LIF(tau=2e-2, v_threshold=1.0))
    net.connect(inp, h, nc.Dense(np.random.default_rng(0).normal(0, 0.5, (40, 8))))
    net.output(h)
    cn = compile(net, "loihi2", dt=1e-3, max_neurons_per_core=10)
    assert cn.n_cores == 4 and check_mapping(cn) == [] and cn.dt == 1e-3


def test_compile_errors():
    with pytest.raises(ValidationError, match="partitioner 'best'"):
        compile(small_net(), "loihi", partitioner="best")
    with pytest.raises(ValidationError, match="expected a neurocomp Network"):
        compile("net.nir", "loihi")
    net = nc.Network("wide")
    inp = net.input("x", (5000,))
    h = net.population("hid", (3,), nc.LoihiLIF(du=1, dv=1, vth=10))
    net.connect(inp, h, nc.Dense(np.ones((3, 5000), np.int64)))
    with pytest.raises(CapacityError, match=r"neuron hid\[0\] alone needs 5000 input axons > 4096 .*on loihi"):
        compile(net, "loihi")
    with pytest.raises(CapacityError, match=r"neuron hid\[0\] has 5000 input synapses > 256 \(core.max_fan_in\)"):
        compile(net, "truenorth")


def test_rates_give_rate_weighted_loads():
    net = small_net()
    cn = compile(net, "loihi", max_neurons_per_core=16, rates={"a": 0.5, "b": 0.0, "inp": 0.2})
    assert "messages_per_step_rates" in cn.stats and "max_link_load_rates" in cn.stats
    assert all("load_rates" in link for link in cn.links)
    assert cn.stats["max_link_load_rates"] <= 0.5 * cn.stats["max_link_load"] + 1e-9


def test_validator_catches_broken_mappings():
    cn = compile(small_net(), "loihi", max_neurons_per_core=16)
    a = cn.core_of_neuron["a"].copy()
    a[:] = 0
    broken = type(cn)(**{**cn.__dict__, "core_of_neuron": {**cn.core_of_neuron, "a": a}})
    errs = check_mapping(broken)
    assert any("tables: neurons of 'a'" in e for e in errs)
    cn.tables.syn_weight[0] += 1
    assert any("synapses differ" in e for e in check_mapping(cn))


def test_compile_refuses_bad_learning_before_any_pass():
    """A rule that does not parse, learning on a target without learning, learning on Sparse: refused by name."""
    import pytest
    w = np.ones((2, 3), int)

    def net_with(conn, rule):
        net = nc.Network("learn")
        net.input("i", (3,))
        net.population("a", (2,), nc.LoihiLIF(du=0, dv=0, vth=5))
        net.connect("i", "a", conn, name="plastic", learning=rule)
        return net
    with pytest.raises(nc.ValidationError, match=r"projection 'plastic'.*'q1' at position 3"):
        nc.compile(net_with(nc.Dense(w), nc.LearningRule(dw="x0*q1")), "loihi2")
    with pytest.raises(nc.UnsupportedError, match=r"\['plastic'\] learn, but target 'truenorth' has no on-chip"):
        nc.compile(net_with(nc.Dense(w), nc.rules.stdp()), "truenorth")
    with pytest.raises(nc.UnsupportedError, match=r"projection 'plastic'.*Dense projections only"):
        nc.compile(net_with(nc.Sparse.from_dense(w), nc.rules.stdp()), "loihi2")


def test_artifacts_do_not_depend_on_the_machine(tmp_path):
    """The same compile from two locations (network, own target file, rules) gives byte-identical
    mapping.json and network metadata, with no absolute path in them; the artifact carries its model."""
    import json
    import shutil
    import h5py
    from neurocomp.cli import main
    from test_bad_inputs import small_net
    docs = []
    for where in ("one", "two/deeper"):
        d = tmp_path / where
        d.mkdir(parents=True)
        nc.save(small_net(), d / "net.h5")
        shutil.copy(Path(__file__).resolve().parents[1] / "hw_models" / "loihi2.toml", d / "chip.toml")
        (d / "rules.toml").write_text('[projections.w_in]\nrule = "stdp"\n')
        assert main(["compile", str(d / "net.h5"), "--target", str(d / "chip.toml"), "--rules", str(d / "rules.toml"),
                     "-o", str(d / "art")]) == 0
        text = (d / "art" / "mapping.json").read_text()
        with h5py.File(d / "art" / "network.h5") as f:
            meta = f.attrs["metadata"]
        assert str(tmp_path) not in text and str(tmp_path) not in meta
        assert (d / "art" / "target.toml").read_bytes() == (d / "chip.toml").read_bytes()
        docs.append((text, meta))
    assert docs[0] == docs[1]
    assert json.loads(docs[0][0])["target"]["model"]["path"] == "chip.toml"
