"""The ``neurocomp`` command line through a subprocess: help, version, info on native and NIR files,
targets, and (when the back ends are installed) compile -> emulate -> report end to end."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import neurocomp as nc
from neurocomp.paperdata import malformed_nir_files, nir_data_dir, paper_nir_files

NIR_DIR = nir_data_dir()
COMMANDS = ["info", "targets", "compile", "emulate", "deploy", "report"]


def cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "neurocomp.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)


def ok(proc):
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


# ------------------------------------------------------------------------------- help, version
def test_top_level_help_lists_every_command():
    out = ok(cli("--help")).stdout
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    out = ok(cli(command, "--help")).stdout
    assert out.startswith(f"usage: neurocomp {command}")


def test_version():
    assert ok(cli("--version")).stdout.strip() == f"neurocomp {nc.__version__}"


def test_console_script_next_to_interpreter():
    script = Path(sys.executable).parent / "neurocomp"
    if not script.exists():
        pytest.skip(f"console script {script} not installed (run `pip install -e .`)")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"neurocomp {nc.__version__}"


def test_main_returns_exit_codes_in_process(tmp_path, capsys):
    from neurocomp.cli import main
    assert main(["--version"]) == 0
    assert main(["info", str(tmp_path / "missing.h5")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.h5" in err


def test_unexpected_exception_is_an_internal_error(monkeypatch, tmp_path, capsys):
    """A bug (not a NeurocompError) exits 1 with a hint to report it, and no traceback by default."""
    import neurocomp.info
    from neurocomp.cli import main

    def broken(net):
        raise ZeroDivisionError("simulated bug")
    monkeypatch.setattr(neurocomp.info, "describe", broken)
    monkeypatch.delenv("NEUROCOMP_TRACEBACK", raising=False)
    path = nc.save(native_net(), tmp_path / "n.h5")
    assert main(["info", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("internal error: ZeroDivisionError: simulated bug") and "report" in err
    assert "Traceback" not in err


def test_neurocomp_warning_prints_as_warning_line(monkeypatch, tmp_path, capsys):
    import warnings

    import neurocomp.info
    from neurocomp.cli import main

    def warn_then_describe(net, _real=neurocomp.info.describe):
        warnings.warn("v_reset filled in with 0", nc.NeurocompWarning)
        return _real(net)
    monkeypatch.setattr(neurocomp.info, "describe", warn_then_describe)
    path = nc.save(native_net(), tmp_path / "n.h5")
    assert main(["info", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "warning: v_reset filled in with 0\n"
    assert "6 neurons" in captured.out


# ------------------------------------------------------------------------------- info (native)
def native_net() -> nc.Network:
    net = nc.Network("clinet")
    net.input("spikes", (2, 3))
    net.population("a", (4,), nc.LoihiLIF(du=100, dv=np.arange(4), vth=50))
    net.population("b", (2,), nc.LIF(tau=1e-3, v_threshold=0.2))
    w = np.array([[1, 0, 2, 0, 0, 3], [0, 0, 0, 0, 0, 0], [4, 5, 6, 7, 8, 9], [0, 0, 0, 0, 0, -1]], dtype=np.int8)
    net.connect("spikes", "a", nc.Dense(w), delay=np.where(w != 0, np.arange(24).reshape(4, 6) % 5, 9), name="in_a",
                learning=nc.LearningRule(dw="x1*y0", name="hebb"))
    net.connect("a", "b", nc.Sparse.from_dense(np.array([[0.5, 0, 0, 1], [0, 0, 0.25, 0]])), delay=3, name="a_b")
    net.connect("b", "b", nc.OneToOne(-1.0), name="b_b")
    net.output("b")
    return net


def test_info_native_json(tmp_path):
    path = nc.save(native_net(), tmp_path / "n.h5")
    d = json.loads(ok(cli("info", path, "--json")).stdout)
    assert d["totals"] == {"neurons": 6, "synapses": 10 + 3 + 2, "projections": 3, "populations": 2, "inputs": 1,
                           "input_channels": 6}
    assert d["inputs"] == [{"name": "spikes", "shape": [2, 3], "channels": 6}]
    pops = {p["name"]: p for p in d["populations"]}
    assert pops["a"]["model"] == "LoihiLIF" and pops["a"]["neurons"] == 4
    assert pops["a"]["params"]["dv"] == {"min": 0, "max": 3, "per_neuron": 4}
    assert pops["b"]["params"]["tau"] == pytest.approx(1e-3)
    projs = {j["name"]: j for j in d["projections"]}
    assert projs["in_a"]["synapses"] == 10 and projs["in_a"]["weights"] == "int"
    # delays are counted over existing synapses only (empty slots carry 9): the 10 nonzero weights of in_a sit at delays 0,2,0 | 2,3,4,0,1,2 | 3
    assert (projs["in_a"]["delay_min"], projs["in_a"]["delay_max"]) == (0, 4)
    assert projs["in_a"]["learning"] == "hebb" and projs["a_b"]["learning"] is None
    assert projs["a_b"]["delay_min"] == projs["a_b"]["delay_max"] == 3
    assert projs["b_b"]["synapses"] == 2  # scalar OneToOne: one synapse per neuron
    assert d["outputs"] == ["b"]
    assert d["learning_rules"][0]["dw"] == "x1*y0"
    assert d["recurrent"] is True and d["cycles"] == [["b"]]


def test_info_native_text(tmp_path):
    path = nc.save(native_net(), tmp_path / "n.h5")
    out = ok(cli("info", path)).stdout
    assert "6 neurons in 2 populations" in out and "15 synapses in 3 projections" in out
    assert "in_a: Dense spikes -> a, 10 synapses" in out
    assert "learning hebb" in out and "recurrent: yes" in out


def test_info_feed_forward_is_not_recurrent(tmp_path):
    net = nc.Network("ff")
    net.input("x", (2,))
    net.population("y", (2,), nc.IF(v_threshold=1.0))
    net.connect("x", "y", nc.OneToOne(np.array([1.0, 0.0])))
    d = json.loads(ok(cli("info", nc.save(net, tmp_path / "ff.h5"), "--json")).stdout)
    assert d["recurrent"] is False and d["cycles"] == []
    assert d["totals"]["synapses"] == 1


# ------------------------------------------------------------------------------- info (NIR)
def nir_graph(path):
    import nir
    try:
        return nir.read(path)
    except Exception:  # lif_rockpool.nir: inconsistent Output shape, see data/nir/README.md
        return nir.read(path, type_check=False)


def conv_matrix(weight, in_shape, stride, padding) -> sp.csr_matrix:
    """[n_out, n_in] matrix of a PyTorch-style cross-correlation, built here independently of neurocomp."""
    c_out, c_in, kh, kw = weight.shape
    _, h, w = in_shape
    h_out = (h + 2 * padding[0] - kh) // stride[0] + 1
    w_out = (w + 2 * padding[1] - kw) // stride[1] + 1
    yo, xo = np.meshgrid(np.arange(h_out), np.arange(w_out), indexing="ij")
    rows, cols, vals = [], [], []
    for co in range(c_out):
        for ci in range(c_in):
            for a in range(kh):
                for b in range(kw):
                    y, x = yo * stride[0] - padding[0] + a, xo * stride[1] - padding[1] + b
                    ok_ = (y >= 0) & (y < h) & (x >= 0) & (x < w)
                    rows.append(((co * h_out + yo) * w_out + xo)[ok_])
                    cols.append(((ci * h + y) * w + x)[ok_])
                    vals.append(np.full(ok_.sum(), weight[co, ci, a, b]))
    m = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(c_out * h_out * w_out, c_in * h * w)).tocsr()
    m.eliminate_zeros()
    return m


def sumpool_matrix(channels, h, w, k) -> sp.csr_matrix:
    eye = np.eye(channels)[:, :, None, None] * np.ones((1, 1, k, k))
    return conv_matrix(eye, (channels, h, w), (k, k), (0, 0))


def expected_nir_counts(path: Path) -> dict:
    """Neurons, synapses, inputs of each bundled NIR file, computed from the file's own arrays."""
    g = nir_graph(path)
    n = g.nodes
    if path.name.startswith("braille_"):
        # both Braille variants: Input -> fc1 -> lif1.lif <-> lif1.w_rec, lif1.lif -> fc2 -> lif2 -> Output
        # (bias_zero: 38 hidden neurons, with biases; noBias_subtract: 40 hidden, no biases)
        syn = sum(int(np.count_nonzero(n[k].weight)) for k in ("fc1", "lif1.w_rec", "fc2"))
        neurons = sum(int(np.size(n[k].tau_mem)) for k in ("lif1.lif", "lif2"))
        inputs = {"input": [int(s) for s in n["input"].input_type["input"]]}
        return {"neurons": neurons, "populations": 2, "inputs": inputs, "synapses": syn, "recurrent": True}
    if path.name == "cnn_sinabs.nir":
        c0 = conv_matrix(n["0"].weight, (2, 34, 34), n["0"].stride, n["0"].padding)
        c2 = conv_matrix(n["2"].weight, (16, 16, 16), n["2"].stride, n["2"].padding)
        c5 = conv_matrix(n["5"].weight, (16, 8, 8), n["5"].stride, n["5"].padding) @ sumpool_matrix(16, 16, 16, 2)
        c9 = sp.csr_matrix(n["9"].weight) @ sumpool_matrix(8, 8, 8, 2)
        syn = c0.nnz + c2.nnz + c5.nnz + c9.nnz + int(np.count_nonzero(n["11"].weight))
        neurons = 16 * 16 * 16 * 2 + 8 * 8 * 8 + 256 + 10
        return {"neurons": neurons, "populations": 5, "inputs": {"input": [2, 34, 34]}, "synapses": syn,
                "recurrent": False}
    weights = [node.weight for node in n.values() if hasattr(node, "weight")]
    neurons = sum(1 for node in n.values() if type(node).__name__ in ("LIF", "CubaLIF", "IF", "LI"))
    inputs = {k: [int(s) for s in node.input_type["input"]] for k, node in n.items() if type(node).__name__ == "Input"}
    return {"neurons": neurons, "populations": neurons, "inputs": inputs,
            "synapses": sum(int(np.count_nonzero(w)) for w in weights), "recurrent": False}


NIR_FILES = paper_nir_files(NIR_DIR)          # the loadable graphs; extras/ holds the malformed ones
MALFORMED_NIR_FILES = malformed_nir_files(NIR_DIR)


def test_nir_file_lists_cover_the_data_folder():
    """The parametrized tests below must not silently lose a graph (or run on the malformed files)."""
    assert {p.name for p in NIR_FILES} >= {"braille_noDelay_bias_zero.nir", "braille_noDelay_noBias_subtract.nir",
                                           "cnn_sinabs.nir", "lif_norse.nir", "lif_rockpool.nir",
                                           "two_lif_neurons.nir"}
    assert {p.name for p in MALFORMED_NIR_FILES} >= {"braille_noDelay_bias_zero_subgraph.nir",
                                                     "braille_noDelay_noBias_subtract_subgraph.nir"}
    assert not set(NIR_FILES) & set(MALFORMED_NIR_FILES)
    assert sorted(NIR_FILES + MALFORMED_NIR_FILES) == sorted(NIR_DIR.rglob("*.nir"))


@pytest.mark.parametrize("path", NIR_FILES, ids=lambda p: p.name)
def test_info_nir_counts(path):
    if not has_module("neurocomp.io.nir_import"):
        pytest.skip("read_nir (neurocomp/io/nir_import.py) is not written yet")
    want = expected_nir_counts(path)
    proc = ok(cli("info", path, "--json"))
    d = json.loads(proc.stdout)
    assert d["totals"]["neurons"] == want["neurons"]
    assert d["totals"]["populations"] == want["populations"]
    assert d["totals"]["synapses"] == want["synapses"]
    assert {i["name"]: i["shape"] for i in d["inputs"]} == want["inputs"]
    assert d["recurrent"] is want["recurrent"]
    assert d["format"] == "nir" and d["dt"] == pytest.approx(1e-4)
    assert all(line.startswith("warning: ") for line in proc.stderr.splitlines() if line.strip())


@pytest.mark.parametrize("path", MALFORMED_NIR_FILES, ids=lambda p: p.name)
def test_info_refuses_malformed_nir_cleanly(path):
    """The NIR paper's nested-subgraph files (nir 1.0.8 cannot resolve their edges): exit 2 with one
    ``error:`` line that names the file, says what is wrong and what to do; no traceback. The Python
    API raises the same NetworkFileError."""
    if not has_module("neurocomp.io.nir_import"):
        pytest.skip("read_nir (neurocomp/io/nir_import.py) is not written yet")
    proc = cli("info", path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and str(path) in errors[0], proc.stderr
    assert "nested" in errors[0] and "nir 1.0.8 cannot resolve" in errors[0] and "Flatten the graph" in errors[0]
    assert all(line.startswith(("warning: ", "error: ")) for line in proc.stderr.splitlines() if line.strip())
    with pytest.raises(nc.NetworkFileError, match="nested graph") as info:
        nc.load(path)
    assert str(path) in str(info.value) and isinstance(info.value, nc.NeurocompError)


def test_info_nir_dt_option():
    if not has_module("neurocomp.io.nir_import"):
        pytest.skip("read_nir (neurocomp/io/nir_import.py) is not written yet")
    path = NIR_DIR / "lif" / "lif_norse.nir"
    d = json.loads(ok(cli("info", path, "--json", "--dt", "1e-3")).stdout)
    assert d["dt"] == pytest.approx(1e-3)


def test_info_braille_text():
    if not has_module("neurocomp.io.nir_import"):
        pytest.skip("read_nir (neurocomp/io/nir_import.py) is not written yet")
    out = ok(cli("info", NIR_DIR / "braille" / "braille_noDelay_bias_zero.nir")).stdout
    assert "45 neurons in 2 populations" in out
    assert "input: shape (12,) (12 channels)" in out
    assert "CubaLIF" in out and "recurrent: yes" in out


# ------------------------------------------------------------------------------- targets
def test_targets_lists_every_shipped_model():
    out = ok(cli("targets")).stdout
    if not has_module("neurocomp.target"):
        assert out.strip() == "no hardware models found"
        return
    from neurocomp.target import list_targets
    targets = list_targets()
    lines = out.strip().splitlines()
    assert lines[0].split()[:2] == ["name", "cores"]
    assert len(lines) == 1 + len(targets)
    for t, line in zip(targets, lines[1:]):
        cols = line.split()
        assert cols[0] == t.name
        assert cols[1:4] == [str(t.mesh.n_cores), str(t.core.max_neurons), str(t.core.max_input_axons)]


# ------------------------------------------------------------------------------- end to end
def integer_net() -> nc.Network:
    net = nc.Network("e2e")
    net.input("x", (3,))
    net.population("h", (4,), nc.LoihiLIF(du=4095, dv=0, vth=1))
    net.connect("x", "h", nc.Dense(np.full((4, 3), 100, dtype=np.int64)))
    net.output("h")
    return net


def need(*modules):
    for name in modules:
        if not has_module(name):
            pytest.skip(f"{name} is not written yet")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """One small artifact shared by the end-to-end tests (read-only for them), with ``in.npz`` beside it."""
    need("neurocomp.compiler")
    tmp = tmp_path_factory.mktemp("compiled")
    net_path = nc.save(integer_net(), tmp / "n.h5")
    art = tmp / "art"
    proc = ok(cli("compile", net_path, "--target", "loihi2", "-o", art, "--partitioner", "sequential", "--seed", "1"))
    assert art.is_dir() and "loihi2" in proc.stdout
    spikes = np.zeros((6, 3), dtype=np.uint8)
    spikes[0] = 1
    np.savez(tmp / "in.npz", x=spikes)
    return art


def test_compile_then_emulate(tmp_path, compiled):
    need("neurocomp.backends.emulator")
    res = tmp_path / "res"
    proc = ok(cli("emulate", compiled, "--steps", "6", "--input", compiled.parent / "in.npz", "-o", res,
                  "--record", "spikes,v"))
    result = nc.Result.load(res)
    assert result.spikes["h"].shape == (6, 4)
    # all three inputs spike at step 0 with weight 100 > vth: every h neuron fires exactly once
    assert int(result.spikes["h"].sum()) == 4
    assert "spikes h: 4" in proc.stdout


def test_emulate_threads_option(tmp_path, compiled):
    """--threads K runs the kernel on K threads (same result); more than numba allows is a clear error."""
    need("neurocomp.backends.emulator")
    ok(cli("emulate", compiled, "--steps", "6", "--input", compiled.parent / "in.npz", "-o", tmp_path / "r1",
           "--threads", "1"))
    assert int(nc.Result.load(tmp_path / "r1").spikes["h"].sum()) == 4
    proc = cli("emulate", compiled, "--steps", "6", "-o", tmp_path / "r2", "--threads", "4096")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "threads=4096" in proc.stderr and "NUMBA_NUM_THREADS" in proc.stderr
    assert not (tmp_path / "r2").exists()


def test_report_on_emulated_result(tmp_path, compiled):
    need("neurocomp.backends.emulator", "neurocomp.report")
    res, rep = tmp_path / "res", tmp_path / "rep"
    ok(cli("emulate", compiled, "--steps", "6", "--input", compiled.parent / "in.npz", "-o", res))
    proc = ok(cli("report", res, "-o", rep))
    assert rep.is_dir() and proc.stdout.strip()


@pytest.mark.parametrize("content, needle", [
    ({"y": np.zeros((6, 3))}, "inputs ['y'] are not graph inputs"),
    ({"x": np.zeros((6, 2))}, "input 'x': shape (6, 2) must be [T, *(3,)]"),
])
def test_emulate_checks_inputs_against_the_artifact(tmp_path, compiled, content, needle):
    need("neurocomp.backends.emulator")
    np.savez(tmp_path / "bad.npz", **content)
    res = tmp_path / "res"
    proc = cli("emulate", compiled, "--steps", "6", "--input", tmp_path / "bad.npz", "-o", res)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and needle in proc.stderr
    assert "Traceback" not in proc.stderr and not res.exists()


def test_closed_pipe_stops_quietly():
    """`neurocomp info x.nir | head -1`: no 'error: Broken pipe' when the reader goes away."""
    proc = subprocess.run(f"{sys.executable} -m neurocomp.cli info {NIR_DIR / 'cnn' / 'cnn_sinabs.nir'} | head -1",
                          shell=True, capture_output=True, text=True)
    assert proc.stdout.startswith("network ")
    assert "error" not in proc.stderr.lower()
