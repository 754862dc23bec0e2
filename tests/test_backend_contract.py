"""The backend contract (neurocomp.backend): every registered backend runs a compiled network through
``get_backend(name).run(compiled, steps, inputs, record, **options)``, validates its inputs with the same
function (neurocomp.semantics.inputs) and gives the same spikes and v; the CLI and nc.emulate/nc.deploy
go through the registry. Lava starts worker processes: its runs here are few and small."""
import multiprocessing as mp
import subprocess
import sys

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.backend import BACKENDS, Backend, backend_names, get_backend, register_backend
from neurocomp.cli import load_inputs, main
from neurocomp.errors import BackendError, ValidationError
from neurocomp.result import Result
from neurocomp.semantics.inputs import InputSpec

STEPS = 12


def _net() -> nc.Network:
    rng = np.random.default_rng(3)
    net = nc.Network("contract")
    net.input("in", (2, 3))
    net.population("h", (5,), nc.LoihiLIF(du=300, dv=200, vth=20, bias_mant=2))
    net.population("o", (3,), nc.LoihiLIF(du=500, dv=100, vth=15))
    net.connect("in", "h", nc.Dense(rng.integers(-40, 160, (5, 6)), weight_exp=-1))
    net.connect("h", "o", nc.Dense(rng.integers(0, 120, (3, 5))), delay=1)
    net.connect("o", "h", nc.Dense(-rng.integers(0, 60, (5, 3))))
    net.output("o")
    return net


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    path = tmp_path_factory.mktemp("contract") / "art"
    return nc.compile(_net(), "loihi2", max_neurons_per_core=2, out=path), path


@pytest.fixture(scope="module")
def art(compiled):
    return compiled[0]


@pytest.fixture(scope="module")
def spikes():
    return (np.random.default_rng(4).random((STEPS, 2, 3)) < 0.5).astype(np.uint8)


def test_registry_lists_both_backends_and_refuses_unknown_names():
    assert backend_names() == ["emulator", "lava"]
    for name in ("emulator", "lava"):
        backend = get_backend(name)
        assert isinstance(backend, Backend) and backend.name == name
    with pytest.raises(BackendError, match=r"unknown backend 'loihi'; registered backends: emulator, lava"):
        get_backend("loihi")
    with pytest.raises(BackendError, match=r"deploy: unknown backend 'loihi'.*emulator, lava"):
        nc.deploy(_net(), backend="loihi", steps=3)
    with pytest.raises(BackendError, match=r"backend 'lava': unknown option\(s\) \['progress'\]; it takes \['timeout_s'\]"):
        get_backend("lava").run(_net(), 3, progress=True)
    with pytest.raises(BackendError, match=r"backend 'emulator': unknown option\(s\) \['timeout_s'\]"):
        get_backend("emulator").run(_net(), 3, timeout_s=5)


def test_registering_does_not_import_lava():
    code = ("import sys\nfrom neurocomp.backend import get_backend\nb = get_backend('lava')\n"
            "print(b.name, any(m == 'lava' or m.startswith('lava.') for m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["lava", "False"]


def test_both_backends_give_identical_spikes_and_v(art, spikes):
    inputs = {"in": spikes}
    emu = get_backend("emulator").run(art, STEPS, inputs, record=("spikes", "v"))
    lav = get_backend("lava").run(art, STEPS, inputs, record=("spikes", "v"))
    assert not mp.active_children(), "Lava worker processes outlived the run"
    assert set(emu.spikes) == set(lav.spikes) == {"h", "o"} and set(emu.v) == set(lav.v) == {"h", "o"}
    for pop in ("h", "o"):
        np.testing.assert_array_equal(emu.spikes[pop], lav.spikes[pop], err_msg=pop)
        np.testing.assert_array_equal(emu.v[pop], lav.v[pop], err_msg=pop)
    assert emu.spikes["h"].sum() > 0 and emu.spikes["o"].sum() > 0          # not vacuous
    assert emu.report["backend"] == "emulator" and lav.report["backend"] == "lava"
    assert emu.report["energy_j"]["total"] > 0 and lav.report["energy_j"] is None


def test_emulate_and_deploy_are_the_registry(art, spikes):
    inputs = {"in": spikes}
    direct = get_backend("emulator").run(art, STEPS, inputs, record=("spikes", "v", "u"), populations=["o"])
    for res in (nc.emulate(art, STEPS, inputs, record=("spikes", "v", "u"), populations=["o"]),
                nc.deploy(art, backend="emulator", steps=STEPS, inputs=inputs, record=("spikes", "v", "u"),
                          populations=["o"])):
        assert list(res.spikes) == ["o"]
        for group in ("spikes", "v", "u"):
            np.testing.assert_array_equal(getattr(res, group)["o"], getattr(direct, group)["o"])
        assert res.report["energy_j"] == direct.report["energy_j"]


BAD_INPUTS = [
    ({"in": np.full((STEPS, 2, 3), 2)}, "values must be spikes 0/1"),
    ({"in": np.zeros((STEPS, 7))}, "shape"),
    ({"in": np.zeros((STEPS - 1, 6))}, "time steps given"),
    ({"in": np.zeros((STEPS, 6)), "extra": np.zeros((STEPS, 1))}, "not graph inputs"),
    ({}, "no input given"),
]


@pytest.mark.parametrize("inputs, needle", BAD_INPUTS)
def test_bad_inputs_give_the_same_message_from_every_backend(art, inputs, needle):
    """One validation function: the same message from both backends (Lava refuses before it starts)."""
    messages = []
    for name in ("emulator", "lava"):
        with pytest.raises(ValidationError) as err:
            get_backend(name).run(art, STEPS, inputs)
        messages.append(str(err.value))
    assert messages[0] == messages[1] and needle in messages[0]
    assert "network 'contract'" in messages[0] or "input 'in'" in messages[0]
    assert not mp.active_children()


def test_bad_steps_and_record_give_the_same_message_from_every_backend(art):
    for kwargs in ({"steps": 0}, {"steps": 3, "record": ("spikes", "volts")}):
        messages = []
        for name in ("emulator", "lava"):
            with pytest.raises(ValidationError) as err:
                get_backend(name).run(art, **kwargs)
            messages.append(str(err.value))
        assert messages[0] == messages[1]


def test_cli_input_file_uses_the_same_checks(tmp_path, art):
    path = tmp_path / "in.npz"
    np.savez(path, **{"in": np.full((STEPS, 2, 3), 2)})
    with pytest.raises(ValidationError) as from_file:
        load_inputs(path, expected=InputSpec.of_network(art.network))
    with pytest.raises(ValidationError) as from_backend:
        get_backend("emulator").run(art, STEPS, {"in": np.full((STEPS, 2, 3), 2)})
    assert str(from_file.value) == f"{path}: {from_backend.value}"


class _Spy(Backend):
    """Records what the CLI hands a backend and returns an empty Result."""
    options = {"progress": False}
    calls: list = []

    def run(self, compiled, steps, inputs=None, record=("spikes", "v"), **options):
        opts = self.resolve_options(options)
        _Spy.calls.append((self.name, str(compiled), steps, None if inputs is None else sorted(inputs), record, opts))
        return Result(spikes={"o": np.zeros((steps, 3), np.uint8)}, report={"backend": self.name}, steps=steps)


@pytest.mark.parametrize("command, extra, name, progress", [("emulate", [], "emulator", True),
                                                            ("deploy", ["--backend", "spy"], "spy", False)])
def test_cli_emulate_and_deploy_go_through_the_registry(monkeypatch, tmp_path, compiled, spikes, command, extra, name,
                                                        progress):
    monkeypatch.setitem(BACKENDS, "spy", None)
    monkeypatch.setitem(BACKENDS, name, None)
    register_backend(name)(type(f"Spy_{name}", (_Spy,), {}))
    _Spy.calls.clear()
    np.savez(tmp_path / "in.npz", **{"in": spikes})
    art_dir = compiled[1]
    assert main([command, str(art_dir), *extra, "--steps", "4", "--input", str(tmp_path / "in.npz"),
                 "-o", str(tmp_path / "res"), "--record", "spikes"]) == 0
    assert _Spy.calls == [(name, str(art_dir), 4, ["in"], ("spikes",), {"progress": progress})]
    assert Result.load(tmp_path / "res").report == {"backend": name}
