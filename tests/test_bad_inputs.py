"""Bad inputs, through the API and the CLI: the right exception type, a message that names the
offending file/node/parameter, exit code 2 with ``error:`` and no traceback, and no partial output."""
import json
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

import neurocomp as nc
from neurocomp.cli import load_inputs
from neurocomp.io import load, save
from neurocomp.io.native import save_native


def small_net() -> nc.Network:
    net = nc.Network("bad")
    net.input("in", (4,))
    net.population("hid", (3,), nc.LIF(tau=2e-3, v_threshold=0.1))
    net.population("lo", (3,), nc.LoihiLIF(du=100, dv=200, vth=10))
    net.connect("in", "hid", nc.Dense(np.ones((3, 4))), name="w_in")
    net.connect("hid", "lo", nc.OneToOne(np.array([1, 2, 3])), name="w_lo")
    net.output("lo")
    return net


@pytest.fixture
def good_file(tmp_path):
    return save_native(small_net(), tmp_path / "good.h5")


def edited(path, fn):
    """Apply ``fn(h5file)`` to a saved network file in place and return its path."""
    with h5py.File(path, "r+") as f:
        fn(f)
    return path


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "neurocomp.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def assert_user_error(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stderr.startswith("error:") or "\nerror:" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


# ============================================================================ network files (API)
def test_missing_file(tmp_path):
    with pytest.raises(nc.NetworkFileError, match=r"nope\.h5: no such file"):
        load(tmp_path / "nope.h5")


def test_missing_file_unknown_extension(tmp_path):
    with pytest.raises(nc.NetworkFileError, match=r"nope\.bin: no such file"):
        load(tmp_path / "nope.bin")


def test_directory_instead_of_file(tmp_path):
    d = tmp_path / "adir.h5"
    d.mkdir()
    with pytest.raises(nc.NetworkFileError, match=r"adir\.h5: is a directory"):
        load(d)


def test_text_file_with_h5_extension(tmp_path):
    p = tmp_path / "text.h5"
    p.write_text("this is not HDF5\n")
    with pytest.raises(nc.NetworkFileError, match=r"text\.h5: is not an HDF5 file"):
        load(p)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.h5"
    p.write_bytes(b"")
    with pytest.raises(nc.NetworkFileError, match=r"empty\.h5: is empty"):
        load(p)


def test_truncated_file(tmp_path, good_file):
    data = good_file.read_bytes()
    p = tmp_path / "trunc.h5"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(nc.NetworkFileError, match=r"trunc\.h5: .*(truncated|damaged)"):
        load(p)


def test_damaged_files_raise_only_neurocomp_errors(tmp_path, good_file):
    """Cut the file at many points and flip random bytes: every failure is a NeurocompError naming the file."""
    data = good_file.read_bytes()
    p = tmp_path / "damaged.h5"
    rng = np.random.default_rng(1234)
    variants = [data[:cut] for cut in range(0, len(data), max(1, len(data) // 60))]
    for _ in range(60):
        b = bytearray(data)
        for pos in rng.integers(0, len(b), 4):
            b[pos] = int(rng.integers(0, 256))
        variants.append(bytes(b))
    failures = 0
    for blob in variants:
        p.write_bytes(blob)
        try:
            load(p)
        except nc.NeurocompError as exc:
            assert "damaged.h5" in str(exc)
            failures += 1
    assert failures >= 60  # at least every truncation fails


def test_foreign_hdf5_with_native_extension(tmp_path):
    p = tmp_path / "foreign.h5"
    with h5py.File(p, "w") as f:
        f["data"] = np.arange(4)
    with pytest.raises(nc.NetworkFileError, match=r"foreign\.h5: .*neurocomp_format"):
        load(p)


def test_foreign_hdf5_unknown_extension_not_nir(tmp_path):
    pytest.importorskip("neurocomp.io.nir_import", reason="read_nir (nir_import.py) not written yet")
    p = tmp_path / "foreign.dat"
    with h5py.File(p, "w") as f:
        f["data"] = np.arange(4)
    with pytest.raises(nc.NeurocompError, match=r"foreign\.dat"):
        load(p)


def test_future_format_version(good_file):
    edited(good_file, lambda f: f.attrs.__setitem__("format_version", 7))
    with pytest.raises(nc.NetworkFileError, match=r"good\.h5: format_version 7 .*newer.*reads format_version 1"
                       r".*Upgrade neurocomp"):
        load(good_file)


def test_missing_projections_group(good_file):
    edited(good_file, lambda f: f.__delitem__("projections"))
    with pytest.raises(nc.NetworkFileError, match=r"good\.h5: root: missing group 'projections'"):
        load(good_file)


def test_missing_population_group(good_file):
    edited(good_file, lambda f: f.__delitem__("populations/hid"))
    with pytest.raises(nc.NetworkFileError, match=r"good\.h5: /populations: missing group 'hid'"):
        load(good_file)


def test_missing_parameter_dataset(good_file):
    edited(good_file, lambda f: f.__delitem__("populations/hid/tau"))
    with pytest.raises(nc.NetworkFileError, match=r"population 'hid': missing dataset 'tau'"):
        load(good_file)


def test_missing_model_attribute(good_file):
    edited(good_file, lambda f: f["populations/lo"].attrs.__delitem__("model"))
    with pytest.raises(nc.NetworkFileError, match=r"population 'lo': missing attribute 'model'"):
        load(good_file)


def test_missing_connectivity_field(good_file):
    edited(good_file, lambda f: f["projections/w_in/connectivity"].attrs.__delitem__("weight_exp"))
    with pytest.raises(nc.NetworkFileError, match=r"projection 'w_in' connectivity \(Dense\): missing field "
                       r"'weight_exp'"):
        load(good_file)


def test_unknown_model_name(good_file):
    edited(good_file, lambda f: f["populations/hid"].attrs.__setitem__("model", "Izhikevich"))
    with pytest.raises(nc.NetworkFileError, match=r"population 'hid': unknown neuron model 'Izhikevich'"):
        load(good_file)


def test_unknown_connectivity_kind(good_file):
    edited(good_file, lambda f: f["projections/w_in"].attrs.__setitem__("kind", "Gaussian"))
    with pytest.raises(nc.NetworkFileError, match=r"projection 'w_in': unknown connectivity kind 'Gaussian'"):
        load(good_file)


def test_metadata_not_json(good_file):
    edited(good_file, lambda f: f.attrs.__setitem__("metadata", "{not json"))
    with pytest.raises(nc.NetworkFileError, match=r"good\.h5: root: attribute 'metadata' is not valid JSON"):
        load(good_file)


def test_learning_rule_unknown_field_in_file(good_file):
    rule = json.dumps({"dw": "x1*y0", "gamma": 3})
    edited(good_file, lambda f: f["projections/w_in"].attrs.__setitem__("learning", rule))
    with pytest.raises(nc.NetworkFileError, match=r"projection 'w_in': learning rule has unknown field.*gamma"):
        load(good_file)


def test_learning_rule_without_expression_in_file(good_file):
    rule = json.dumps({"x1_impulse": 1.0})
    edited(good_file, lambda f: f["projections/w_in"].attrs.__setitem__("learning", rule))
    with pytest.raises(nc.ValidationError, match=r"good\.h5: projection 'w_in': .*at least one of dw"):
        load(good_file)


def test_nan_parameter_in_file(good_file):
    def poison(f):
        del f["populations/hid/tau"]
        f["populations/hid/tau"] = np.array([2e-3, np.nan, 2e-3])
    edited(good_file, poison)
    with pytest.raises(nc.ValidationError, match=r"good\.h5: population 'hid': .*'tau' has 1 NaN/inf"):
        load(good_file)


def test_inf_weight_in_file(good_file):
    def poison(f):
        w = f["projections/w_in/connectivity/weights"]
        w[0, 0] = np.inf
    edited(good_file, poison)
    with pytest.raises(nc.ValidationError, match=r"projection 'w_in'.*'weights' has 1 NaN/inf"):
        load(good_file)


def test_dangling_edge_in_file(good_file):
    edited(good_file, lambda f: f["projections/w_lo"].attrs.__setitem__("target", "ghost"))
    with pytest.raises(nc.ValidationError, match=r"projection 'w_lo': target 'ghost' is not a population"):
        load(good_file)


def test_absurd_shape_in_file_refused_fast(good_file):
    edited(good_file, lambda f: f["populations/hid"].attrs.__setitem__("shape", np.array([10 ** 6, 10 ** 6])))
    t0 = time.perf_counter()
    with pytest.raises(nc.ValidationError, match=r"population 'hid'.*refusing before allocating"):
        load(good_file)
    assert time.perf_counter() - t0 < 1.0


def test_text_where_number_expected_in_file(good_file):
    def poison(f):
        del f["populations/lo/du"]
        f["populations/lo/du"] = "fast"
    edited(good_file, poison)
    with pytest.raises(nc.NetworkFileError, match=r"population 'lo': dataset 'du' has dtype"):
        load(good_file)


# ============================================================================ IR builder (API)
def test_nan_model_parameter():
    with pytest.raises(nc.ValidationError, match=r"LIF: parameter 'v_threshold' has 1 NaN/inf"):
        nc.LIF(tau=1e-3, v_threshold=np.nan)


def test_inf_weights():
    w = np.ones((2, 2))
    w[1, 1] = np.inf
    with pytest.raises(nc.ValidationError, match=r"Dense: parameter 'weights' has 1 NaN/inf"):
        nc.Dense(w)


@pytest.mark.parametrize("shape", [(0,), (3, -1)])
def test_zero_or_negative_size(shape):
    net = nc.Network()
    with pytest.raises(nc.ValidationError, match=r"population 'p'.*zero or negative size"):
        net.population("p", shape, nc.IF(v_threshold=1.0))


def test_absurd_size_refused_before_allocating():
    net = nc.Network()
    t0 = time.perf_counter()
    with pytest.raises(nc.ValidationError, match=r"population 'big'.*\(1000000, 1000000\).*refusing"):
        net.population("big", (10 ** 6, 10 ** 6), nc.LIF(tau=1e-3, v_threshold=1.0))
    with pytest.raises(nc.ValidationError, match=r"population 'huge': shape \(1000000, 1000000\)"):
        net.input("huge", (10 ** 6, 10 ** 6))
    assert time.perf_counter() - t0 < 0.5


def test_duplicate_names():
    net = small_net()
    with pytest.raises(nc.ValidationError, match=r"'hid' is already used"):
        net.population("hid", (1,), nc.IF(v_threshold=1.0))
    with pytest.raises(nc.ValidationError, match=r"'w_in' is already used"):
        net.connect("in", "hid", nc.Dense(np.ones((3, 4))), name="w_in")


def test_dangling_edge():
    net = small_net()
    with pytest.raises(nc.ValidationError, match=r"target 'nowhere' is not a population.*known: hid, in, lo"):
        net.connect("hid", "nowhere", nc.OneToOne(1.0))


def test_dense_shape_mismatch():
    net = small_net()
    with pytest.raises(nc.ValidationError, match=r"projection 'in-hid' \(in -> hid\): shape mismatch.*populations have 4 -> 3"):
        net.connect("in", "hid", nc.Dense(np.ones((4, 3))))


def test_one_to_one_size_mismatch():
    net = small_net()
    with pytest.raises(nc.ValidationError, match=r"in -> hid.*OneToOne needs equal sizes, got 4 -> 3"):
        net.connect("in", "hid", nc.OneToOne(1.0))


def test_bad_sign_mode():
    with pytest.raises(nc.ValidationError, match=r"sign_mode 'positive' is not one of"):
        nc.Dense(np.ones((2, 2), dtype=np.int64), sign_mode="positive")


def test_loihi_du_out_of_range():
    with pytest.raises(nc.ValidationError, match=r"LoihiLIF: parameter 'du' = 5000 is above its maximum 4095"):
        nc.LoihiLIF(du=5000, dv=0, vth=1)


def test_loihi_du_fractional():
    with pytest.raises(nc.ValidationError, match=r"LoihiLIF: parameter 'du' must be integers"):
        nc.LoihiLIF(du=410.5, dv=0, vth=1)


def test_negative_delay():
    net = small_net()
    with pytest.raises(nc.ValidationError, match=r"'delay' = -1 is below its minimum 0"):
        net.connect("in", "hid", nc.Dense(np.ones((3, 4))), delay=-1, name="d")


def test_wrong_delay_count():
    net = small_net()
    with pytest.raises(nc.ValidationError, match=r"projection 'd'.*5 per-synapse delays given for 12 synapse slots"):
        net.connect("in", "hid", nc.Dense(np.ones((3, 4))), delay=np.arange(5), name="d")


def test_learning_rule_without_dw():
    with pytest.raises(nc.ValidationError, match=r"learning rule 'stdp': give at least one of dw"):
        nc.LearningRule(x1_impulse=1.0, name="stdp")


def test_learning_rule_third_factor_not_an_input():
    net = small_net()
    with pytest.raises(nc.ValidationError, match=r"third factor 'reward' is not a graph input"):
        net.connect("in", "hid", nc.Dense(np.ones((3, 4))), name="d",
                    learning=nc.LearningRule(dw="x1*y0", third_factor="reward"))


def test_projection_into_a_graph_input():
    net = small_net()
    with pytest.raises(nc.ValidationError, match=r"target 'in' is a graph input"):
        net.connect("hid", "in", nc.Dense(np.ones((4, 3))))


def test_sparse_index_out_of_range():
    with pytest.raises(nc.ValidationError, match=r"Sparse: parameter 'indices' = 9 is above its maximum 2"):
        nc.Sparse(indptr=[0, 1], indices=[9], weights=[1.0], shape=(1, 3))


def test_conv_kernel_larger_than_input():
    with pytest.raises(nc.ValidationError, match=r"Conv2d: kernel \(5, 5\) is larger than the padded input"):
        nc.Conv2d(np.ones((1, 1, 5, 5)), input_shape=(1, 3, 3))


def test_save_non_network(tmp_path):
    with pytest.raises(nc.ValidationError, match=r"expected a neurocomp Network, got dict"):
        save({"not": "a network"}, tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


# ============================================================================ spike inputs (.npz)
def test_inputs_missing_key(tmp_path):
    p = tmp_path / "in.npz"
    np.savez(p, a=np.zeros((5, 4)))
    with pytest.raises(nc.ValidationError, match=r"in\.npz: no input given for graph input\(s\) \['b'\].*'b' \[T, 2, 3\]"):
        load_inputs(p, expected={"a": (4,), "b": (2, 3)})


def test_inputs_unknown_key(tmp_path):
    p = tmp_path / "in.npz"
    np.savez(p, a=np.zeros((5, 4)), typo=np.zeros((5, 4)))
    with pytest.raises(nc.ValidationError, match=r"in\.npz: inputs \['typo'\] are not graph inputs.*graph inputs: a"):
        load_inputs(p, expected={"a": (4,)})


def test_inputs_wrong_shape(tmp_path):
    p = tmp_path / "in.npz"
    np.savez(p, a=np.zeros((5, 3)))
    with pytest.raises(nc.ValidationError, match=r"in\.npz: input 'a': shape \(5, 3\) must be \[T, \*\(4,\)\]"):
        load_inputs(p, expected={"a": (4,)})


def test_inputs_without_time_axis(tmp_path):
    p = tmp_path / "in.npz"
    np.savez(p, a=np.zeros(4))
    with pytest.raises(nc.ValidationError, match=r"input 'a': shape \(4,\) must be \[T, \*shape\] \(T time steps first\)"):
        load_inputs(p)


def test_inputs_values_not_binary(tmp_path):
    p = tmp_path / "in.npz"
    x = np.zeros((5, 4))
    x[2, 1] = 0.5
    np.savez(p, a=x)
    with pytest.raises(nc.ValidationError, match=r"input 'a': values must be spikes 0/1; found value 0\.5"):
        load_inputs(p)


def test_inputs_inconsistent_steps(tmp_path):
    p = tmp_path / "in.npz"
    np.savez(p, a=np.zeros((5, 4)), b=np.zeros((6, 2)))
    with pytest.raises(nc.ValidationError, match=r"input 'b' has 6 steps but another input has 5"):
        load_inputs(p)


def test_inputs_not_npz(tmp_path):
    p = tmp_path / "in.npz"
    p.write_text("0,1,0\n")
    with pytest.raises(nc.ValidationError, match=r"in\.npz: not a readable \.npz file"):
        load_inputs(p)


def test_inputs_missing_file(tmp_path):
    with pytest.raises(nc.ValidationError, match=r"gone\.npz: input file not found"):
        load_inputs(tmp_path / "gone.npz")


def test_inputs_good_file_is_accepted(tmp_path):
    """The negative tests above are meaningful only if a correct file passes."""
    p = tmp_path / "in.npz"
    np.savez(p, a=np.eye(5, 4), b=np.ones((5, 2, 3), dtype=bool))
    out = load_inputs(p, expected={"a": (4,), "b": (2, 3)})
    assert out["a"].dtype == np.uint8 and out["b"].shape == (5, 2, 3) and int(out["a"].sum()) == 4


# ============================================================================ CLI
@pytest.mark.parametrize("kind", ["missing", "directory", "text", "empty", "truncated", "future", "nan"])
def test_cli_info_bad_file(tmp_path, good_file, kind):
    p = tmp_path / f"{kind}.h5"
    if kind == "directory":
        p.mkdir()
    elif kind == "text":
        p.write_text("hello")
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "truncated":
        p.write_bytes(good_file.read_bytes()[:1000])
    elif kind == "future":
        p = edited(good_file, lambda f: f.attrs.__setitem__("format_version", 2))
    elif kind == "nan":
        def poison(f):
            f["projections/w_in/connectivity/weights"][0, 0] = np.nan
        p = edited(good_file, poison)
    proc = cli("info", p)
    assert_user_error(proc, p.name)
    assert proc.stdout == ""


def test_cli_unknown_target_leaves_no_artifact(tmp_path, good_file):
    art = tmp_path / "art"
    proc = cli("compile", good_file, "--target", "loihi9000", "-o", art)
    assert_user_error(proc, "unknown target 'loihi9000'")
    assert not art.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["good.h5"]


def test_cli_compile_missing_network_leaves_no_artifact(tmp_path):
    art = tmp_path / "art"
    proc = cli("compile", tmp_path / "none.nir", "--target", "loihi", "-o", art)
    assert_user_error(proc, "none.nir")
    assert not art.exists()


@pytest.mark.parametrize("command", ["emulate", "deploy"])
def test_cli_bad_input_npz_leaves_no_result(tmp_path, command):
    bad = tmp_path / "in.npz"
    np.savez(bad, a=np.full((4, 3), 2))
    res = tmp_path / "res"
    extra = ["--backend", "lava"] if command == "deploy" else []
    proc = cli(command, tmp_path / "art", *extra, "--steps", "4", "--input", bad, "-o", res)
    assert_user_error(proc, "in.npz", "input 'a'", "0/1")
    assert not res.exists()


@pytest.mark.parametrize("args, needle", [
    (["emulate", "art", "--steps", "0", "-o", "res"], "--steps"),
    (["emulate", "art", "--steps", "ten", "-o", "res"], "--steps"),
    (["compile", "n.h5", "--target", "loihi", "-o", "a", "--dt", "-1"], "--dt"),
    (["compile", "n.h5", "--target", "loihi", "-o", "a", "--partitioner", "random"], "--partitioner"),
    (["compile", "n.h5", "-o", "a"], "--target"),
    (["deploy", "art", "--backend", "loihi", "--steps", "3", "-o", "r"], "--backend"),
    (["frobnicate"], "frobnicate"),
    ([], "COMMAND"),
])
def test_cli_usage_errors(tmp_path, args, needle):
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert "error:" in proc.stderr and needle in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_cli_bad_record_option(tmp_path):
    proc = cli("emulate", tmp_path / "art", "--steps", "3", "-o", tmp_path / "res", "--record", "spikes,volts")
    assert_user_error(proc, "--record", "volts")
    assert not (tmp_path / "res").exists()
