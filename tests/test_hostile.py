"""Generated hostile inputs over every command (issue 20): each case must end with exit 0 or a clean
``error:`` (exit 2), never an internal error (exit 1), a traceback, a hang or a crash signal, and must
leave every input byte-identical.

The cases are generated from a small valid network, target, rules file, artifact, input file and
result: every dataset of the network file, every number of the hardware model, every array of the
per-core tables, every key of mapping.json/report.json, the input .npz and the command-line numbers are
replaced by hostile values (wrong type, shape, sign, NaN, huge, empty, truncated, deep nesting), plus
the output-path cases (an output that is, is inside or contains an input). They run in-process through
``neurocomp.cli.main`` (fast); FIFOs run in a thread that is unblocked if it hangs, and two cases run in
a subprocess to see crash signals. Each group asserts its own case count (> 500 in all).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import neurocomp as nc
from neurocomp.cli import main
from neurocomp.io.native import save_native
from test_bad_inputs import small_net

REPO = Path(__file__).resolve().parents[1]
TARGET_TOML = REPO / "hw_models" / "loihi2.toml"
HANG_S = 20


def with_dataset(src: Path, ds: str, bad, path: Path) -> Path:
    """A copy of HDF5 file ``src`` at ``path`` with dataset ``ds`` replaced by ``bad``."""
    shutil.copy(src, path)
    with h5py.File(path, "r+") as f:
        del f[ds]
        f.create_dataset(ds, data=bad)
    return path


RULES = '[projections.w_in]\nrule = "stdp"\na_plus = 0.25\ntau_plus = 10\n'


def run_cli(argv) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, err.getvalue()


def snapshot(paths) -> dict:
    """sha256 of every file under ``paths`` (files or directories), to see that inputs are untouched."""
    state = {}
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file():
                    state[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
        elif p.is_file():
            state[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif os.path.lexists(p):
            state[str(p)] = "special"
    return state


def check(argv, inputs=(), failures=None) -> tuple[int, str]:
    """Run one case; append a description of what went wrong to ``failures``."""
    before = snapshot(inputs)
    rc, err = run_cli(argv)
    problems = []
    if rc not in (0, 2):
        problems.append(f"exit {rc}")
    if "Traceback" in err or "internal error" in err:
        problems.append("traceback/internal error")
    if rc == 2 and not any(line.startswith("error:") for line in err.splitlines()):
        problems.append("no error: line of its own")
    if snapshot(inputs) != before:
        problems.append("an input changed")
    if problems:
        failures.append(f"{' '.join(map(str, argv))}: {', '.join(problems)}: {err.strip()[-400:]}")
    return rc, err


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A valid network file, rules file, target, artifact, input .npz and result."""
    d = tmp_path_factory.mktemp("hostile")
    net = save_native(small_net(), d / "net.h5")
    (d / "rules.toml").write_text(RULES)
    shutil.copy(TARGET_TOML, d / "target.toml")
    rc, err = run_cli(["compile", net, "--target", d / "target.toml", "-o", d / "art"])
    assert rc == 0, err
    np.savez(d / "in.npz", **{"in": (np.random.default_rng(0).random((6, 4)) < 0.5).astype(np.uint8)})
    rc, err = run_cli(["emulate", d / "art", "--steps", 6, "--input", d / "in.npz", "-o", d / "res"])
    assert rc == 0, err
    return d


def case_dir(base: Path, name: str) -> Path:
    d = base / "cases" / name
    d.mkdir(parents=True)
    return d


def finish(failures, n, minimum):
    assert not failures, f"{len(failures)} of {n} cases failed:\n" + "\n".join(failures[:30])
    assert n >= minimum, f"only {n} cases generated"
    print(f"{n} hostile cases held")


# ------------------------------------------------------------------------------------ values
def hostile_arrays(a: np.ndarray):
    """Replacements for one stored array: wrong dtype/shape/sign/size, NaN, huge."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        yield "int", np.arange(3)
        yield "empty", a.ravel()[:0]
        yield "2d", np.array([[b"a", b"b"]])
        return
    yield "float", a.astype(np.float64) + 0.5
    yield "2d", np.stack([a.ravel(), a.ravel()]) if a.size else np.zeros((2, 2))
    yield "empty", a.ravel()[:0]
    yield "neg", -np.abs(a.astype(np.int64)) - 7
    yield "huge", np.full(max(a.size, 1), 2 ** 40, np.int64)
    if a.dtype.kind == "f":
        yield "nan", np.full(a.shape, np.nan)
    yield "text", np.array([b"x"] * max(a.size, 1))
    yield "longer", np.concatenate([a.ravel(), a.ravel()[:1]]) if a.size else np.ones(3, np.int64)


def truncations(data: bytes, k: int = 6):
    for i in range(k):
        yield f"trunc{i}", data[: len(data) * i // k]


def flips(data: bytes, k: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for i in range(k):
        b = bytearray(data)
        for pos in rng.integers(0, len(b), 8):
            b[pos] ^= 0xFF
        yield f"flip{i}", bytes(b)


# ------------------------------------------------------------------------------------ groups
def test_hostile_nir_files(base):
    """Every dataset of a NIR graph (the digits example) replaced by hostile arrays: info refuses cleanly."""
    failures, n = [], 0
    src = REPO / "examples" / "networks" / "digits.nir"
    with h5py.File(src, "r") as f:
        datasets = []
        f.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None)
    for i, ds in enumerate(datasets):
        with h5py.File(src, "r") as f:
            value = f[ds][()]
        if np.ndim(value) == 0 and isinstance(value, bytes):
            variants = [("text", np.bytes_("nonsense")), ("number", np.int64(3)), ("array", np.zeros(3))]
        else:
            variants = list(hostile_arrays(np.asarray(value)))[i % 2::2]
        for label, bad in variants:
            d = case_dir(base, f"nir_{ds.replace('/', '_')}_{label}")
            path = with_dataset(src, ds, bad, d / "net.nir")
            check(["info", path], [path], failures)
            n += 1
    finish(failures, n, 40)


def test_hostile_network_files(base):
    """Every dataset/attribute of the native network file replaced, damaged bytes, wrong file kinds:
    info and compile refuse cleanly."""
    failures, n = [], 0
    src = base / "net.h5"
    with h5py.File(src, "r") as f:
        datasets = []
        f.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None)
        attrs = []
        f.visititems(lambda name, obj: attrs.extend((name, k) for k in obj.attrs))
        attrs += [("", k) for k in f.attrs]
    for ds in datasets:
        with h5py.File(src, "r") as f:
            value = f[ds][()]
        for label, bad in hostile_arrays(value):
            d = case_dir(base, f"ds_{ds.replace('/', '_')}_{label}")
            path = with_dataset(src, ds, bad, d / "net.h5")
            cmd = ["compile", path, "--target", "loihi2", "-o", d / "art"] if label in ("nan", "huge") else ["info", path]
            check(cmd, [path], failures)
            n += 1
    for obj, key in attrs:
        for label, bad in (("int", 7), ("text", "??"), ("json", "{\"a\": [1, 2"), ("deep", "[" * 5000 + "]" * 5000),
                           ("neg", np.array([-3, -1]))):
            d = case_dir(base, f"attr_{obj.replace('/', '_')}_{key}_{label}")
            path = d / "net.h5"
            shutil.copy(src, path)
            with h5py.File(path, "r+") as f:
                (f[obj] if obj else f).attrs[key] = bad
            check(["info", path], [path], failures)
            n += 1
    data = src.read_bytes()
    for label, blob in (*truncations(data, 8), *flips(data, 6), ("empty", b""), ("text", b"hello\n"),
                        ("npy", b"\x93NUMPY" + data[:64])):
        for suffix in (".h5", ".nir", ".net", ".bin"):
            d = case_dir(base, f"bytes_{label}{suffix.replace('.', '_')}")
            path = d / f"net{suffix}"
            path.write_bytes(blob)
            check(["info", path], [path], failures)
            n += 1
    d = case_dir(base, "dir_as_net")
    for argv in (["info", d], ["info", d / "missing.h5"], ["compile", d, "--target", "loihi2", "-o", d / "x"],
                 ["info", "/dev/null"]):
        check(argv, [], failures)
        n += 1
    finish(failures, n, 300)


def _toml_variants(text: str):
    """The target text with one number (or string) replaced by a hostile value, line by line."""
    lines = text.splitlines()
    values = ("-5", "0", "1e9", str(2 ** 70), "nan", "inf", '"text"', "[1, [2, [3]]]", "{a = 1}", "true")
    for i, line in enumerate(lines):
        key, sep, rest = line.partition(" = ")
        if not sep or key.startswith("#") or rest.startswith("[") and "{" not in rest or key.strip() in (
                "description", "source", "assumptions"):
            continue
        for j, v in enumerate(values):
            if (i * 7 + j) % 4:                  # a quarter of the values per line keeps the group fast
                continue
            yield f"l{i}_{j}", "\n".join(lines[:i] + [f"{key} = {v}"] + lines[i + 1:]) + "\n"


def test_hostile_targets(base):
    """Every number of the hardware model replaced by a hostile value, plus damaged files."""
    failures, n = [], 0
    text = TARGET_TOML.read_text()
    variants = list(_toml_variants(text))
    variants += [("deep", "a = " + "[" * 3000 + "]" * 3000 + "\n"), ("tables400", "".join(
        f"[{'.'.join(['t'] * (k + 1))}]\n" for k in range(400))), ("binary", None), ("empty", "")]
    variants += [(f"trunc{k}", text[: len(text) * k // 5]) for k in range(1, 5)]
    compiled = 0
    for label, body in variants:
        d = case_dir(base, f"target_{label}")
        path = d / "chip.toml"
        if body is None:
            path.write_bytes(b"name = \"\xff\xfe\"\n")
        else:
            path.write_text(body)
        rc, _ = check(["compile", base / "net.h5", "--target", path, "-o", d / "art"], [path, base / "net.h5"],
                      failures)
        compiled += rc == 0
        n += 1
    assert compiled >= 5, "no variant compiled: the group would test nothing but the parser"
    finish(failures, n, 300)


def test_hostile_rules_files(base):
    failures, n = [], 0
    bodies = {
        "nonutf8": b"[projections.w_in]\nrule = \"\xff\"\n", "list_rule": b"[projections.w_in]\nrule = [1]\n",
        "table_rule": b"[projections.w_in]\nrule = {a = 1}\n", "nan": b"[projections.w_in]\nrule = \"stdp\"\na_plus = nan\n",
        "inf": b"[projections.w_in]\nrule = \"stdp\"\ntau_plus = inf\n",
        "text": b"[projections.w_in]\nrule = \"stdp\"\ntau_plus = \"ten\"\n",
        "huge": b"[projections.w_in]\nrule = \"stdp\"\ntau_plus = 100000000000000000000\n",
        "neg": b"[projections.w_in]\nrule = \"stdp\"\ntau_plus = -3\n",
        "deep": b"a = " + b"[" * 3000 + b"]" * 3000 + b"\n", "unknown": b"[projections.nope]\nrule = \"stdp\"\n",
        "custom_bad": b"[projections.w_in]\nrule = \"custom\"\ndw = \"x1 *** y0\"\n",
        "custom_types": b"[projections.w_in]\nrule = \"custom\"\ndw = 5\nx1_tau = \"a\"\n",
        "inputs_bad": b"[inputs]\nreward = \"x\"\n", "inputs_neg": b"[inputs]\nreward = [-1]\n",
        "inputs_clash": b"[inputs]\nhid = [3]\n", "section": b"[other]\na = 1\n", "empty": b"",
        "projections_list": b"projections = [1, 2]\n", "spec_scalar": b"[projections]\nw_lo = 3\n",
        "kw_unknown": b"[projections.w_in]\nrule = \"stdp\"\nbogus = 1\n",
    }
    for label, body in bodies.items():
        for cmd in ("info", "compile"):
            d = case_dir(base, f"rules_{label}_{cmd}")
            path = d / "rules.toml"
            path.write_bytes(body)
            argv = ["info", base / "net.h5", "--rules", path] if cmd == "info" else \
                ["compile", base / "net.h5", "--target", "loihi2", "--rules", path, "-o", d / "art"]
            check(argv, [path, base / "net.h5"], failures)
            n += 1
    finish(failures, n, 40)


def _write_tables(path: Path, arrays: dict) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
            zf.writestr(f"{name}.npy", buf.getvalue())


def test_hostile_artifacts(base):
    """Every array of tables.npz, every key of mapping.json, swapped or damaged files: emulate refuses
    cleanly (no crash in a numba kernel)."""
    failures, n = [], 0
    art = base / "art"
    with np.load(art / "tables.npz") as data:
        tables = {k: data[k] for k in data.files}
    for key, value in tables.items():
        variants = list(hostile_arrays(value))
        if value.dtype.kind in "iu" and value.ndim:
            variants += [("plus1", value + 1), ("rev", value[::-1].copy()), ("big", value + 10 ** 6)]
        for label, bad in variants[len(key) % 2::2]:      # half of them, a different half per key
            d = case_dir(base, f"tables_{key}_{label}")
            shutil.copytree(art, d / "art")
            _write_tables(d / "art" / "tables.npz", dict(tables, **{key: bad}))
            check(["emulate", d / "art", "--steps", 3, "-o", d / "res"], [d / "art"], failures)
            n += 1
    mapping = json.loads((art / "mapping.json").read_text())
    edits = []
    for key in mapping:
        edits += [(f"del_{key}", lambda m, k=key: m.pop(k)), (f"str_{key}", lambda m, k=key: m.__setitem__(k, "x")),
                  (f"list_{key}", lambda m, k=key: m.__setitem__(k, [1])), (f"none_{key}", lambda m, k=key: m.__setitem__(k, None))]
    edits += [("core_coord", lambda m: m["cores"][0].__setitem__("coord", "abc")),
              ("mesh_core_big", lambda m: m["cores"][0].__setitem__("mesh_core", 10 ** 9)),
              ("mesh_core_neg", lambda m: m["cores"][0].__setitem__("mesh_core", -1)),
              ("no_cores", lambda m: m.__setitem__("cores", [])),
              ("target_name", lambda m: m["target"].__setitem__("name", "nowhere"))]
    for label, edit in edits:
        d = case_dir(base, f"mapping_{label}")
        shutil.copytree(art, d / "art")
        m = json.loads(json.dumps(mapping))
        edit(m)
        (d / "art" / "mapping.json").write_text(json.dumps(m))
        check(["emulate", d / "art", "--steps", 3, "-o", d / "res"], [d / "art"], failures)
        n += 1
    raw = {"deep": "[" * 100000 + "]" * 100000, "deep_obj": '{"a":' * 5000 + "1" + "}" * 5000, "empty": "",
           "nonutf8": b"\xff\xfe{", "number": "3", "trunc": (art / "mapping.json").read_text()[:500]}
    for fname in ("mapping.json", "timings.json"):
        for label, body in list(raw.items())[fname == "timings.json"::1 + (fname == "timings.json")]:
            d = case_dir(base, f"raw_{fname}_{label}")
            shutil.copytree(art, d / "art")
            p = d / "art" / fname
            p.write_bytes(body) if isinstance(body, bytes) else p.write_text(body)
            check(["emulate", d / "art", "--steps", 3, "-o", d / "res"], [d / "art"], failures)
            n += 1
    for fname in ("tables.npz", "network.h5", "target.toml"):
        data = (art / fname).read_bytes()
        for label, blob in (*truncations(data, 3), *flips(data, 2), ("missing", None), ("dir", "dir")):
            d = case_dir(base, f"file_{fname}_{label}")
            shutil.copytree(art, d / "art")
            p = d / "art" / fname
            p.unlink()
            if blob == "dir":
                p.mkdir()
            elif blob is not None:
                p.write_bytes(blob)
            check(["emulate", d / "art", "--steps", 3, "-o", d / "res"], [d / "art"], failures)
            n += 1
    # a network.h5 from another network swapped in
    other = small_net()
    other.population("extra", (2,), nc.LoihiLIF(du=1, dv=1, vth=1))
    d = case_dir(base, "swapped_network")
    rc, _ = run_cli(["compile", save_native(other, d / "other.h5"), "--target", "loihi2", "-o", d / "other_art"])
    assert rc == 0
    shutil.copytree(art, d / "art")
    shutil.copy(d / "other_art" / "network.h5", d / "art" / "network.h5")
    rc, err = check(["emulate", d / "art", "--steps", 3, "-o", d / "res"], [d / "art"], failures)
    assert rc == 2 and "different compilations" in err, err
    n += 1
    finish(failures, n, 300)


def test_hostile_run_inputs_and_options(base):
    """--input files and command-line numbers of emulate/deploy/compile."""
    failures, n = [], 0
    art, good = base / "art", np.load(base / "in.npz")["in"]
    inputs = {"wrong_key": {"x": good}, "wrong_shape": {"in": good[:, :3]}, "float": {"in": good + 0.5},
              "two": {"in": good * 2}, "neg": {"in": -good.astype(np.int8)}, "nan": {"in": np.full(good.shape, np.nan)},
              "1d": {"in": good[:, 0]}, "3d": {"in": good[:, :, None]}, "empty": {"in": good[:0]}, "none": {},
              "extra": {"in": good, "y": good}, "bool": {"in": good.astype(bool)}, "text": {"in": np.array(["a"])},
              "complex": {"in": good.astype(complex)}, "big_t": {"in": np.zeros((20000, 4), np.uint8)}}
    for label, arrays in inputs.items():
        d = case_dir(base, f"input_{label}")
        np.savez(d / "in.npz", **arrays)
        for cmd in (["emulate"], ["deploy", "--backend", "emulator"]):
            check([*cmd, art, "--steps", 6, "--input", d / "in.npz", "-o", d / "res"], [art, d / "in.npz"], failures)
            n += 1
    d = case_dir(base, "input_files")
    np.save(d / "plain.npy", good)
    (d / "empty.npz").write_bytes(b"")
    (d / "trunc.npz").write_bytes((base / "in.npz").read_bytes()[:100])
    (d / "text.npz").write_text("hello")
    buf = io.BytesIO()                    # a member whose header declares 10^12 elements
    buf.write(b"\x93NUMPY\x01\x00")
    header = "{'descr': '<u1', 'fortran_order': False, 'shape': (1000000, 1000000), }"
    header += " " * (((len(header) + 11) // 64 + 1) * 64 - len(header) - 11) + "\n"
    buf.write(len(header).to_bytes(2, "little") + header.encode())
    with zipfile.ZipFile(d / "huge.npz", "w") as zf:
        zf.writestr("in.npy", buf.getvalue())
    for name in ("plain.npy", "empty.npz", "trunc.npz", "text.npz", "huge.npz", "missing.npz"):
        rc, err = check(["emulate", art, "--steps", 6, "--input", d / name, "-o", d / "res"], [art, d], failures)
        n += 1
        if name == "plain.npy":
            assert "savez" in err, err
    bad_options = [["--steps", s] for s in ("0", "-1", "x", "1e3", str(2 ** 64), "1000000000000")]
    bad_options += [["--steps", 3, "--record", r] for r in ("", "nope", "spikes,,", "weights", "u,v,spikes")]
    for opts in bad_options:
        d = case_dir(base, f"opt_{n}")
        for cmd in (["emulate"], ["deploy", "--backend", "emulator"]):
            check([*cmd, art, *opts, "-o", d / "res"], [art], failures)
            n += 1
    compile_opts = [["--seed", s] for s in ("-1", str(2 ** 64), "x", "4294967295")]
    compile_opts += [["--dt", s] for s in ("0", "-1", "nan", "inf", "1e-300", "1e300")]
    compile_opts += [["--max-neurons-per-core", s] for s in ("0", "-3", str(2 ** 70), "1")]
    compile_opts += [["--partitioner", "nope"], ["--passes", "quantize"], ["--passes", "nope,tables"],
                     ["--passes", ","], ["--print-ir-after", "nope"], ["--target", "nope"], ["--target", ""]]
    for opts in compile_opts:
        d = case_dir(base, f"copt_{n}")
        argv = ["compile", base / "net.h5", *opts, "-o", d / "art"]
        if "--target" not in opts:
            argv[2:2] = ["--target", "loihi2"]
        check(argv, [base / "net.h5"], failures)
        n += 1
    finish(failures, n, 75)


def test_hostile_results_for_report(base):
    """report on damaged result.npz/report.json: refused cleanly, no PNG left behind."""
    failures, n = [], 0
    res = base / "res"
    with np.load(res / "result.npz") as data:
        arrays = {k: data[k] for k in data.files}
    report = json.loads((res / "report.json").read_text())
    cases = {"rep_list": ("report.json", "[1, 2]"), "rep_deep": ("report.json", "[" * 100000 + "]" * 100000),
             "rep_empty": ("report.json", ""), "rep_nonutf8": ("report.json", b"\xff{"),
             "rep_cost_str": ("report.json", json.dumps(dict(report, cost="x"))),
             "npz_empty": ("result.npz", b""), "npz_trunc": ("result.npz", (res / "result.npz").read_bytes()[:200]),
             "npz_text": ("result.npz", b"text")}
    for key in list(arrays)[:3]:
        for label, bad in (("1d", arrays[key][:, 0]), ("3d", arrays[key][..., None]), ("text", np.array(["a"]))):
            buf = io.BytesIO()
            np.savez(buf, **dict(arrays, **{key: bad}))
            cases[f"arr_{key.replace('/', '_')}_{label}"] = ("result.npz", buf.getvalue())
    buf = io.BytesIO()
    np.savez(buf, **dict(arrays, **{"bogus/x": np.zeros((6, 2))}))
    cases["unknown_key"] = ("result.npz", buf.getvalue())
    for label, (fname, body) in cases.items():
        d = case_dir(base, f"report_{label}")
        shutil.copytree(res, d / "res")
        for png in (d / "res").glob("*.png"):
            png.unlink()
        p = d / "res" / fname
        p.write_bytes(body) if isinstance(body, bytes) else p.write_text(body)
        rc, _ = check(["report", d / "res", "-o", d / "out"], [d / "res"], failures)
        n += 1
        if rc == 2 and (d / "out").exists() and any((d / "out").iterdir()):
            failures.append(f"report {label}: refused but left {sorted(os.listdir(d / 'out'))}")
    finish(failures, n, 15)


def test_output_paths_never_destroy_inputs(base):
    """An output that is, is inside or contains an input, an existing file, '.', '' or a foreign directory
    is refused for every command; inputs stay byte-identical."""
    failures, n = [], 0
    d = case_dir(base, "outputs")
    for name in ("net.h5", "rules.toml", "target.toml", "in.npz"):
        shutil.copy(base / name, d / name)
    shutil.copytree(base / "art", d / "art")
    shutil.copytree(base / "res", d / "res")
    (d / "file.txt").write_text("keep me")
    (d / "mine").mkdir()
    (d / "mine" / "thesis.tex").write_text("keep me too")
    os.symlink(d / "art", d / "art_link")
    compile_in = ["compile", d / "net.h5", "--target", d / "target.toml", "--rules", d / "rules.toml"]
    outs = ["", ".", "./", "..", d / "net.h5", d / "target.toml", d / "rules.toml", d / "file.txt", d / "mine", d,
            d / "res", d / "in.npz", d / "net.h5" / "sub", Path("/")]
    for out in outs:
        check([*compile_in, "-o", out], [d], failures)
        n += 1
    run_in = [d / "art", "--steps", 3, "--input", d / "in.npz"]
    outs = ["", ".", d / "art", d / "art_link", d / "art" / "sub", d / "in.npz", d / "in.npz" / "x", d, d / "file.txt",
            d / "mine", d / "art" / "network.h5"]
    for out in outs:
        for cmd in (["emulate"], ["deploy", "--backend", "emulator"]):
            rc, _ = check([*cmd, *run_in, "-o", out], [d], failures)
            n += 1
            if rc == 0:
                failures.append(f"{cmd[0]} -o {out}: accepted")
    for out in (d / "art", d / "net.h5", d / "file.txt", d / "res" / "result.npz", ".", ""):
        rc, _ = check(["report", d / "res", "-o", out], [d / "art", d / "net.h5", d / "file.txt", d / "mine",
                                                          d / "res" / "result.npz"], failures)
        n += 1
    assert (d / "file.txt").read_text() == "keep me" and (d / "mine" / "thesis.tex").exists()
    # replacing an existing output of the same kind works, as a whole, and leaves no stray
    rc, err = check(["emulate", *run_in, "-o", d / "res"], [d / "art", d / "in.npz"], failures)
    assert rc == 0, err
    assert sorted(p.name for p in d.iterdir() if p.name.startswith(".")) == []
    finish(failures, n, 40)


def _unblock_fifo(path: Path) -> None:
    """Open a FIFO for writing (non-blocking) and close it, so a reader stuck in open() returns."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def test_fifos_and_devices_do_not_hang(base):
    failures, n = [], 0
    d = case_dir(base, "fifo")
    fifo = d / "pipe"
    os.mkfifo(fifo)
    argvs = [["info", fifo], ["compile", fifo, "--target", "loihi2", "-o", d / "a"],
             ["compile", base / "net.h5", "--target", fifo, "-o", d / "a"],
             ["compile", base / "net.h5", "--target", "loihi2", "--rules", fifo, "-o", d / "a"],
             ["emulate", base / "art", "--steps", 3, "--input", fifo, "-o", d / "r"],
             ["info", "/dev/zero"], ["compile", base / "net.h5", "--target", "/dev/zero", "-o", d / "a"]]
    for argv in argvs:
        box = {}
        t = threading.Thread(target=lambda: box.setdefault("r", check(argv, [], failures)), daemon=True)
        t.start()
        t.join(HANG_S)
        if t.is_alive():
            _unblock_fifo(fifo)
            t.join(HANG_S)
            failures.append(f"{argv}: hung")
        n += 1
    finish(failures, n, 7)


@pytest.mark.parametrize("argv", [["info", "{fifo}"], ["emulate", "{art}", "--steps", "3", "--input", "{fifo}",
                                                                "-o", "{out}"]])
def test_subprocess_no_signal_no_hang(base, tmp_path, argv):
    """Through a real process: no crash signal (negative return code), no hang, exit 2."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    argv = [a.format(fifo=fifo, art=base / "art", out=tmp_path / "o") for a in argv]
    proc = subprocess.run([sys.executable, "-m", "neurocomp.cli", *argv], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "named pipe" in proc.stderr
