"""``nc.Simulator``: a live simulation you run, inspect, change and continue, on any backend with sessions.

::

    with nc.Simulator(art, backend="emulator") as sim:      # or backend="lava"
        r1 = sim.run(100, inputs={"in": x[:100]})            # steps 1..100
        w = sim.weights["plastic"]                           # learned weights, readable ...
        sim.weights["plastic"] = np.clip(w, 0, 200)          # ... and writable (validated)
        r2 = sim.run(50, on_step=policy)                     # steps 101..150, closed loop
        sim.save("ckpt.npz")                                 # atomic, versioned, tied to the artifact
    sim = nc.Simulator.load("ckpt.npz")                      # continues at step 150

A run continues from the state the last one left: neuron state, synaptic delay buffers, learning
traces, tags, weights and random streams, the clock (learning epochs, reset intervals). So one run of
N steps equals any split of it into shorter runs, bit for bit, on each backend, and the emulator
equals Lava across split runs (tests/test_simulator.py).

``run(steps, inputs=None, record=("spikes", "v"), *, on_step=None, populations=None, observe=None)``:

* ``inputs``: as for ``nc.emulate`` (``{graph input: [T, *shape]}``, ``T >= steps``), or an iterable of
  such chunks (streaming: each chunk runs as its own run, so a long run never holds all inputs;
  ``steps`` may then be None: every chunk runs);
* ``on_step``: a closed loop instead of inputs: ``on_step(t, outputs)`` is called before each step
  t + 1 with what the ``observe`` populations sent at step t (``{population: [n]}``; zeros at t = 0)
  and returns that step's inputs (``{graph input: one step's values}``, a reward input's value too;
  missing inputs are silent). Nothing is replayed: the network steps once;
* ``record``/``populations``: what this run records, of which populations.

Each Result's report carries ``t_start``/``t_end``; ``sim.totals`` sums steps, energy and latency
over every run since the start (or the last ``reset``). Backends without sessions raise BackendError.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import fields, is_dataclass
from enum import Enum
from pathlib import Path

import numpy as np

from .atomic import atomic_file
from .backend import get_backend, load_artifact
from .errors import ArtifactError, ValidationError
from .result import Result

CHECKPOINT_FORMAT = "neurocomp-checkpoint"
CHECKPOINT_VERSION = 1


class Simulator:
    """A live simulation of one compiled artifact on one backend (see the module docstring)."""

    def __init__(self, compiled, backend: str = "emulator", **options):
        self.backend = backend
        self._path = str(Path(compiled).resolve()) if isinstance(compiled, (str, os.PathLike)) else None
        self._art = load_artifact(compiled)
        self._session = get_backend(backend, who="Simulator").open(self._art, **options)
        self._options = options
        self._fingerprint = None
        self.weights = Weights(self)
        self._totals = _zero_totals()
        self._costs_itself = hasattr(self._session, "cost_totals")   # it accumulates the cost model's inputs

    # ------------------------------------------------------------------ running
    @property
    def t(self) -> int:
        """Steps run so far (the next run starts at step ``t + 1``)."""
        return self._session.t

    def run(self, steps: int | None = None, inputs=None, record=("spikes", "v"), *, on_step=None, populations=None,
            observe=None) -> Result:
        """Run on from the current state; see the module docstring. Returns this run's Result."""
        if inputs is not None and not isinstance(inputs, dict):
            return self._stream(steps, inputs, record, populations)
        if steps is None:
            raise ValidationError("steps: give the number of steps to run (None only with an iterable of input chunks)")
        t0 = self.t
        res = self._session.run(steps, inputs, record, on_step=on_step, populations=populations, observe=observe)
        self._account(res, t0)
        return res

    def _stream(self, steps, chunks, record, populations) -> Result:
        """Run chunk after chunk of inputs (each ``{name: [t_i, ...]}``), as many runs; one merged Result."""
        try:
            it = iter(chunks)
        except TypeError:
            raise ValidationError(f"inputs must be a dict {{input name: [T, *shape]}}, an iterable of such chunks, "
                                  f"or None; got {type(chunks).__name__}") from None
        parts, left = [], steps
        for i, chunk in enumerate(it):
            if left is not None and left <= 0:
                break
            if not isinstance(chunk, dict) or not chunk:
                raise ValidationError(f"inputs: chunk {i} must be a non-empty dict {{input name: [t, *shape]}}, "
                                      f"got {type(chunk).__name__}")
            n = int(np.shape(next(iter(chunk.values())))[0])
            n = n if left is None else min(n, left)
            parts.append(self.run(n, chunk, record, populations=populations))
            left = None if left is None else left - n
        if not parts or (left is not None and left > 0):
            raise ValidationError(f"inputs: the chunks ran out after {sum(p.steps for p in parts)} of {steps} steps")
        return merge_results(parts)

    def _account(self, res: Result, t0: int) -> None:
        rep = res.report
        rep["t_start"] = t0
        rep["t_end"] = t0 + res.steps
        tot = self._totals
        tot["runs"] += 1
        tot["steps"] += res.steps
        if self._costs_itself:
            return
        for key in ("energy_j", "latency_s"):
            val = res.report.get(key)
            if isinstance(val, dict) and tot[key] is not None:
                tot[key] += float(val["total"])
            else:
                tot[key] = None

    @property
    def totals(self) -> dict:
        """Runs, steps, energy (J) and latency (s) since the start or the last :meth:`reset` (None: not modelled).
        The emulator costs the runs' accumulated counters when this is read (one cost-model pass)."""
        tot = dict(self._totals)
        costs = getattr(self._session, "cost_totals", None)
        if costs is not None and tot["runs"]:
            for key, val in zip(("energy_j", "latency_s"), costs()):
                tot[key] = None if val is None or tot[key] is None else tot[key] + val
        return tot

    def reset(self) -> None:
        """Back to step 0: the initial state, the initial weights, zero totals."""
        self._session.reset()
        self._totals = _zero_totals()

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Stop the backend (Lava's runtime and worker processes); the Simulator cannot run after this."""
        self._session.close()

    def __enter__(self) -> "Simulator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Simulator '{self.backend}' of network '{self._art.network.name}' at t={self.t}>"

    # ------------------------------------------------------------------ checkpoints
    @property
    def fingerprint(self) -> str:
        """SHA-256 of the artifact's network and per-core tables (what a checkpoint belongs to)."""
        if self._fingerprint is None:
            self._fingerprint = artifact_fingerprint(self._art)
        return self._fingerprint

    def save(self, path) -> Path:
        """Write a checkpoint (one .npz, atomically): the backend's whole state, the totals, the artifact's
        fingerprint and path. :meth:`load` continues from it bit-exactly."""
        arrays, meta = self._session.state_dict()
        head = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "backend": self.backend,
                "artifact_sha256": self.fingerprint, "artifact_path": self._path, "t": self.t,
                "totals": self.totals, "options": _jsonable_options(self._options), "state": meta}
        buf = io.BytesIO()
        np.savez(buf, **{f"a/{k}": np.asarray(v) for k, v in arrays.items()},
                 meta=np.frombuffer(json.dumps(head).encode(), np.uint8))
        path = Path(path)
        with atomic_file(path) as fh:
            fh.write(buf.getvalue())
        return path

    @classmethod
    def load(cls, path, compiled=None, backend: str | None = None, **options) -> "Simulator":
        """A Simulator at the checkpoint's step. ``compiled``: the artifact (default: the path the checkpoint
        names); it must be the one the checkpoint was made of (same fingerprint), else ArtifactError.
        ``backend``: default the checkpoint's (a checkpoint loads only into the backend that wrote it)."""
        head, arrays = read_checkpoint(path)
        backend = backend or head["backend"]
        if backend != head["backend"]:
            raise ValidationError(f"{path}: a checkpoint of the '{head['backend']}' backend cannot be loaded into "
                                  f"'{backend}' (their states differ: the emulator's per-kind state rows and delay "
                                  "rings do not map 1:1 onto Lava's process Vars and delay buffers, and no conversion "
                                  f"is implemented); load it with backend='{head['backend']}'")
        if compiled is None:
            compiled = head.get("artifact_path")
            if compiled is None:
                raise ValidationError(f"{path}: the checkpoint's simulator was made from an in-memory artifact; pass "
                                      "it: Simulator.load(path, compiled)")
        sim = cls(compiled, backend, **{**head.get("options", {}), **options})
        try:
            if sim.fingerprint != head["artifact_sha256"]:
                raise ArtifactError(f"{path}: this checkpoint belongs to another artifact (fingerprint "
                                    f"{head['artifact_sha256'][:12]}..., this one is {sim.fingerprint[:12]}...); load it "
                                    f"with the artifact it was saved from{_named(head)}")
            sim._session.load_state_dict(arrays, head["state"])
            sim._totals = dict(head["totals"])
        except BaseException:
            sim.close()
            raise
        return sim


class Weights:
    """``sim.weights[name]``: the current weights of a plastic projection (int64 [n_post, n_pre], a copy);
    assigning validates them against the chip's weight format and writes them into the live state."""

    def __init__(self, sim: Simulator):
        self._sim = sim

    def _check_name(self, name: str):
        names = self._sim._session.weight_names()
        if name not in names:
            proj = self._sim._art.network.projections.get(name)
            why = ("its weights are compiled into the per-core tables; change the network and compile again"
                   if proj is not None else "no such projection")
            raise ValidationError(f"weights['{name}']: only plastic (learning) projections are live state "
                                  f"({', '.join(names) or 'none in this network'}); {why}")
        return self._sim._art.network.projections[name]

    def __getitem__(self, name: str) -> np.ndarray:
        self._check_name(name)
        return self._sim._session.get_weights(name)

    def __setitem__(self, name: str, value) -> None:
        from .semantics.learning import check_live_weights
        proj = self._check_name(name)
        self._sim._session.set_weights(name, check_live_weights(proj, value, self._sim.t))

    def keys(self) -> list[str]:
        return list(self._sim._session.weight_names())

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return f"<Weights of {self.keys()}>"


# ----------------------------------------------------------------------------------- helpers
def _zero_totals() -> dict:
    return {"runs": 0, "steps": 0, "energy_j": 0.0, "latency_s": 0.0}


def _named(head: dict) -> str:
    return f" ({head['artifact_path']})" if head.get("artifact_path") else ""


def _jsonable_options(options: dict) -> dict:
    """The options a checkpoint keeps (to open its Simulator the same way): scalars and lists of names."""
    keep = {k: v for k, v in options.items() if isinstance(v, (bool, int, float, str, type(None)))}
    keep.update({k: list(v) for k, v in options.items()
                 if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v)})
    return keep


def read_checkpoint(path) -> tuple[dict, dict]:
    """``(header, arrays)`` of a checkpoint file; a ValidationError says what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"{path}: no such checkpoint file (write one with Simulator.save or "
                              "`neurocomp emulate --checkpoint`)")
    try:
        with np.load(path, allow_pickle=False) as data:
            head = json.loads(bytes(data["meta"]).decode())
            arrays = {k[2:]: data[k] for k in data.files if k.startswith("a/")}
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise ValidationError(f"{path}: not a neurocomp checkpoint ({type(exc).__name__}: {exc})") from None
    if head.get("format") != CHECKPOINT_FORMAT:
        raise ValidationError(f"{path}: not a neurocomp checkpoint (format {head.get('format')!r})")
    if head.get("version") != CHECKPOINT_VERSION:
        raise ValidationError(f"{path}: checkpoint version {head.get('version')}; this neurocomp reads version "
                              f"{CHECKPOINT_VERSION} (save it again with this version)")
    return head, arrays


def artifact_fingerprint(art) -> str:
    """SHA-256 over the integer network (populations, models, connectivity, rules) and, for a compiled
    artifact, its per-core tables: equal for an artifact in memory and the same one loaded from disk."""
    from .ir import Network
    h = hashlib.sha256()
    if isinstance(art, Network):
        _feed(h, art)
    else:
        _feed(h, art.network)
        _feed(h, art.tables)
    return h.hexdigest()


def _feed(h, obj) -> None:
    """Hash ``obj`` by value: dataclasses by field, mappings in key order, arrays by dtype kind and values."""
    if isinstance(obj, np.ndarray) or isinstance(obj, np.generic):
        arr = np.asarray(obj)
        kind = arr.dtype.kind
        arr = arr.astype(np.int64 if kind in "biu" else np.float64 if kind == "f" else arr.dtype)
        h.update(f"a{kind}{arr.shape}".encode())
        h.update(np.ascontiguousarray(arr).tobytes() if kind in "biuf" else repr(arr.tolist()).encode())
    elif isinstance(obj, Enum):
        h.update(f"e{obj.value!r}".encode())
    elif is_dataclass(obj):
        h.update(f"d{type(obj).__name__}".encode())
        for f in fields(obj):
            if f.name in ("graph", "usage"):
                continue
            h.update(f.name.encode())
            _feed(h, getattr(obj, f.name))
    elif isinstance(obj, dict):
        h.update(b"{")
        for k in sorted(obj, key=str):
            h.update(str(k).encode())
            _feed(h, obj[k])
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(b"[")
        for v in obj:
            _feed(h, v)
        h.update(b"]")
    elif isinstance(obj, (bool, int, float, str, type(None))):
        h.update(f"s{obj!r}".encode())
    elif hasattr(obj, "__dict__"):
        _feed(h, {k: v for k, v in vars(obj).items() if not k.startswith("_")})
    else:
        h.update(repr(obj).encode())


def merge_results(parts: list) -> Result:
    """One Result of consecutive runs: recordings concatenated in time, final weights and learning state of
    the last, energy and latency totals summed (per-run reports in ``report["runs"]``)."""
    out = Result(steps=sum(p.steps for p in parts))
    for group in ("spikes", "v", "u", "payloads"):
        for name in getattr(parts[0], group):
            getattr(out, group)[name] = np.concatenate([getattr(p, group)[name] for p in parts])
    for var, pops in parts[0].state.items():
        out.state[var] = {name: np.concatenate([p.state[var][name] for p in parts]) for name in pops}
    for name in parts[-1].weights:
        per = [p.weights[name] for p in parts] if name.endswith(".per_step") else None
        out.weights[name] = np.concatenate(per) if per else parts[-1].weights[name]
    last = parts[-1].report
    out.report = {"backend": last.get("backend"), "steps": out.steps, "t_start": parts[0].report.get("t_start"),
                  "t_end": last.get("t_end"), "runs": [p.report for p in parts]}
    if "learning" in last:
        out.report["learning"] = last["learning"]
    for key in ("energy_j", "latency_s"):
        vals = [p.report.get(key) for p in parts]
        out.report[key] = {"total": float(sum(v["total"] for v in vals))} if all(isinstance(v, dict) for v in vals) \
            else None
    return out
