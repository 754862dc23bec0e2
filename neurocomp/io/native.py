"""neurocomp's own network file: one HDF5 file that stores a ``Network`` exactly (format_version 1).

Why a native format besides NIR: NIR cannot hold integer Loihi models, per-synapse delays,
Lava's weight options or learning rules; this file holds everything the IR holds, bit for bit
(integer weights stay integers, float64 stays float64), so ``load_native(save_native(net)) == net``.

Layout (``h5dump`` readable)::

    /                     attrs: neurocomp_format="neurocomp-network", format_version=1, name,
                                 metadata (JSON), outputs (JSON list), populations / projections
                                 (JSON lists of names, in network order)
    /populations/<name>   attrs: model (class name), shape (int array)
                          datasets: one per model parameter (scalar or per-neuron array)
    /projections/<name>   attrs: source, target, kind (Dense/Sparse/Conv2d/OneToOne), learning
                                 (JSON of LearningRule.to_dict(), absent if none), port (the
                                 target model's input channel, absent when 0)
                          dataset: delay (scalar or per-synapse)
    /projections/<name>/connectivity
                          datasets: the connectivity's arrays (weights, indptr, indices)
                          attrs: its options (shape, input_shape, stride, padding, dilation, groups,
                                 weight_exp, num_weight_bits, sign_mode = "auto" | mixed | ...,
                                 num_message_bits = "auto" | 0..24; absent in older files: "auto")

Loading rebuilds the network through the ``Network`` builder, so a hand-edited file is validated
exactly like a network built in Python. Every problem is a ``NetworkFileError`` (file-level) or a
``ValidationError`` (content) whose message names the file and the offending group or field.
"""
from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import NetworkFileError, NeurocompError, ValidationError
from ..ir import CONNECTIVITY, MODELS, LearningRule, Network, SignMode
from ..jsonable import to_jsonable

FORMAT_NAME = "neurocomp-network"
FORMAT_VERSION = 1
#: Written in place of ``sign_mode=None`` (Lava determines the sign mode from the weights) and of
#: ``num_message_bits=None`` (derived from the source's neuron model).
_AUTO_SIGN = "auto"
#: Connectivity options whose None is written as "auto" and that files written before them lack (-> None).
_AUTO_OPTIONS = ("num_message_bits",)


def _h5py():
    import h5py  # imported here so that `import neurocomp.io` stays light
    return h5py


# ---------------------------------------------------------------------------------------- saving
def save_native(net: Network, path) -> Path:
    """Write ``net`` to ``path`` (HDF5) atomically: the file appears whole or not at all."""
    if not isinstance(net, Network):
        raise ValidationError(f"save_native: expected a neurocomp Network, got {type(net).__name__}")
    path = Path(path)
    h5py = _h5py()
    try:
        metadata = json.dumps(to_jsonable(net.metadata, strict=True), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"network '{net.name}': metadata is not JSON-serialisable ({exc}); "
                              "keep metadata to strings, numbers, lists and dicts") from None
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", track_order=True) as f:
            f.attrs["neurocomp_format"] = FORMAT_NAME
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["name"] = net.name
            f.attrs["metadata"] = metadata
            f.attrs["outputs"] = json.dumps(list(net.outputs))
            f.attrs["populations"] = json.dumps(list(net.populations))
            f.attrs["projections"] = json.dumps(list(net.projections))
            pops = f.create_group("populations", track_order=True)
            for pop in net.populations.values():
                g = pops.create_group(pop.name, track_order=True)
                g.attrs["model"] = type(pop.model).__name__
                g.attrs["shape"] = np.asarray(pop.shape, dtype=np.int64)
                for key, value in pop.model.params().items():
                    g.create_dataset(key, data=np.asarray(value))
            projs = f.create_group("projections", track_order=True)
            for proj in net.projections.values():
                g = projs.create_group(proj.name, track_order=True)
                g.attrs["source"] = proj.source
                g.attrs["target"] = proj.target
                g.attrs["kind"] = type(proj.connectivity).__name__
                if proj.learning is not None:
                    g.attrs["learning"] = json.dumps(proj.learning.to_dict(), sort_keys=True,
                                                     default=to_jsonable)
                if proj.port:
                    g.attrs["port"] = int(proj.port)
                g.create_dataset("delay", data=np.asarray(proj.delay, dtype=np.int64))
                _write_connectivity(g.create_group("connectivity", track_order=True), proj.connectivity)
    return path


def _write_connectivity(g, conn) -> None:
    for key, value in conn.fields_dict().items():
        if isinstance(value, np.ndarray):       # integers as int64, whatever width the IR holds (Sparse: int32)
            g.create_dataset(key, data=value.astype(np.int64) if value.dtype.kind == "i" else value)
        elif key == "sign_mode":
            g.attrs[key] = _AUTO_SIGN if value is None else SignMode(value).name.lower()
        elif key in _AUTO_OPTIONS and value is None:
            g.attrs[key] = _AUTO_SIGN
        elif isinstance(value, tuple):
            g.attrs[key] = np.asarray(value, dtype=np.int64)
        else:
            g.attrs[key] = value


# ---------------------------------------------------------------------------------------- loading
def is_native(path) -> bool:
    """True if ``path`` is an HDF5 file carrying our root attribute (cheap: reads one attribute)."""
    h5py = _h5py()
    try:
        if not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r") as f:
            return "neurocomp_format" in f.attrs
    except OSError:
        return False


def load_native(path) -> Network:
    """Read a network written by :func:`save_native`; validate it again through the builder."""
    path = Path(path)
    h5py = _h5py()
    _check_readable_file(path)
    if not h5py.is_hdf5(path):
        size = path.stat().st_size
        what = "is empty" if size == 0 else "is not an HDF5 file"
        raise NetworkFileError(f"{path}: {what}; a neurocomp network file (.h5) or a NIR file (.nir) is expected")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise NetworkFileError(f"{path}: cannot be opened as HDF5 ({_first_line(exc)}); the file is probably "
                               "truncated or corrupt; save the network again") from None
    try:
        with f:
            return _read(f, path)
    except NeurocompError:
        raise
    except (KeyError, OSError, RuntimeError, ValueError, TypeError) as exc:
        # h5py raises these for damaged object headers, datatypes or data blocks inside an openable file.
        raise NetworkFileError(f"{path}: damaged or truncated HDF5 data ({_first_line(exc)}); "
                               "save the network again") from None


def _check_readable_file(path: Path) -> None:
    if not path.exists():
        raise NetworkFileError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise NetworkFileError(f"{path}: is a directory, not a network file; give a .h5 or .nir file")
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise NetworkFileError(f"{path}: permission denied; make the file readable") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Reader:
    """Field access that turns a missing or malformed entry into an error naming file and location."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, what: str) -> NetworkFileError:
        return NetworkFileError(f"{self.path}: {where}: {what}; the file is incomplete or was not written "
                                "by neurocomp.save; save the network again")

    def attr(self, node, key: str, where: str):
        if key not in node.attrs:
            raise self.fail(where, f"missing attribute '{key}'")
        value = node.attrs[key]
        return value.decode() if isinstance(value, bytes) else value

    def json_attr(self, node, key: str, where: str):
        text = self.attr(node, key, where)
        try:
            return json.loads(text)
        except (TypeError, ValueError) as exc:
            raise self.fail(where, f"attribute '{key}' is not valid JSON ({exc})") from None

    def group(self, node, key: str, where: str):
        h5py = _h5py()
        if key not in node or not isinstance(node[key], h5py.Group):
            raise self.fail(where, f"missing group '{key}'")
        return node[key]

    def dataset(self, node, key: str, where: str) -> np.ndarray:
        h5py = _h5py()
        if key not in node or not isinstance(node[key], h5py.Dataset):
            raise self.fail(where, f"missing dataset '{key}'")
        value = np.asarray(node[key][()])
        if value.dtype.kind not in "iubf":
            raise self.fail(where, f"dataset '{key}' has dtype {value.dtype}; numbers expected")
        return value


def _read(f, path: Path) -> Network:
    r = _Reader(path)
    fmt = f.attrs.get("neurocomp_format")
    fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
    if fmt != FORMAT_NAME:
        raise NetworkFileError(f"{path}: HDF5 file without the root attribute neurocomp_format = "
                               f"'{FORMAT_NAME}'; it is not a neurocomp network file (NIR files end in .nir)")
    version = r.attr(f, "format_version", "root")
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise r.fail("root", f"format_version {version!r} is not an integer") from None
    if version != FORMAT_VERSION:
        newer = "a newer" if version > FORMAT_VERSION else "an unknown older"
        raise NetworkFileError(
            f"{path}: format_version {version} was written by {newer} neurocomp; this version reads "
            f"format_version {FORMAT_VERSION} only. Upgrade neurocomp, or re-save the network with a version "
            f"that writes format {FORMAT_VERSION} (or export it to NIR)")
    name = str(r.attr(f, "name", "root"))
    metadata = r.json_attr(f, "metadata", "root")
    outputs = r.json_attr(f, "outputs", "root")
    pop_order = r.json_attr(f, "populations", "root")
    proj_order = r.json_attr(f, "projections", "root")
    pops_g = r.group(f, "populations", "root")
    projs_g = r.group(f, "projections", "root")

    net = Network(name)
    for pname in pop_order:
        where = f"population '{pname}'"
        g = r.group(pops_g, pname, "/populations")
        model_name = str(r.attr(g, "model", where))
        if model_name not in MODELS:
            raise NetworkFileError(f"{path}: {where}: unknown neuron model '{model_name}' (known: "
                                   f"{', '.join(sorted(MODELS))}); the file needs a newer neurocomp")
        cls = MODELS[model_name]
        params = {fld.name: r.dataset(g, fld.name, where) for fld in fields(cls)}
        shape = tuple(int(s) for s in np.atleast_1d(r.attr(g, "shape", where)))
        with _located(path, where):
            net.population(pname, shape, cls(**params))
    for jname in proj_order:
        where = f"projection '{jname}'"
        g = r.group(projs_g, jname, "/projections")
        source, target = str(r.attr(g, "source", where)), str(r.attr(g, "target", where))
        conn = _read_connectivity(r, g, where)
        delay = r.dataset(g, "delay", where)
        learning = None
        if "learning" in g.attrs:
            spec = r.json_attr(g, "learning", where)
            if not isinstance(spec, dict):
                raise r.fail(where, "attribute 'learning' must be a JSON object")
            known = {fld.name for fld in fields(LearningRule)}
            unknown = sorted(set(spec) - known)
            if unknown:
                raise r.fail(where, f"learning rule has unknown field(s) {unknown}")
            with _located(path, where):
                learning = LearningRule(**spec)
        with _located(path, where):
            net.connect(source, target, conn, delay, name=jname, learning=learning,
                        port=int(np.asarray(g.attrs.get("port", 0)).reshape(-1)[0]))
    if not isinstance(outputs, list):
        raise r.fail("root", "attribute 'outputs' must be a JSON list of population names")
    for out in outputs:
        with _located(path, "outputs"):
            net.output(out)
    if not isinstance(metadata, dict):
        raise r.fail("root", "attribute 'metadata' must be a JSON object")
    net.metadata = metadata
    return net


def _read_connectivity(r: _Reader, g, where: str):
    kind = str(r.attr(g, "kind", where))
    if kind not in CONNECTIVITY:
        raise NetworkFileError(f"{r.path}: {where}: unknown connectivity kind '{kind}' (known: "
                               f"{', '.join(sorted(CONNECTIVITY))})")
    cls = CONNECTIVITY[kind]
    cg = r.group(g, "connectivity", where)
    cwhere = f"{where} connectivity ({kind})"
    kwargs = {}
    for fld in fields(cls):
        key = fld.name
        if key in cg:
            kwargs[key] = r.dataset(cg, key, cwhere)
        elif key in cg.attrs:
            value = r.attr(cg, key, cwhere)
            if key == "sign_mode" or key in _AUTO_OPTIONS:
                value = None if isinstance(value, str) and value == _AUTO_SIGN else value
            elif isinstance(value, np.ndarray):
                value = tuple(int(v) for v in value)
            elif isinstance(value, np.generic):
                value = value.item()
            kwargs[key] = value
        elif key not in _AUTO_OPTIONS:
            raise r.fail(cwhere, f"missing field '{key}'")
    with _located(r.path, cwhere):
        return cls(**kwargs)


class _located:
    """Prefix a ValidationError raised while rebuilding with the file and the group it came from."""

    def __init__(self, path: Path, where: str):
        self.path, self.where = path, where

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, ValidationError):
            raise ValidationError(f"{self.path}: {self.where}: {exc}") from None
        if exc_type is not None and issubclass(exc_type, (TypeError, ValueError)):
            raise NetworkFileError(f"{self.path}: {self.where}: malformed field ({exc}); "
                                   "save the network again") from None
        return False

