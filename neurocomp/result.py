"""The one result type every backend returns, and its on-disk form (``RES/result.npz`` + ``RES/report.json``).

``result.npz`` keys: ``spikes/<population>`` uint8 ``[T, n]`` and ``v/<population>`` int ``[T, n]``
(integer models; row t is the state after step t+1, i.e. after the reset, as Lava's monitors see it),
optionally ``u/<population>`` and ``weights/<projection>``. A population that sends graded payloads
(SigmaDelta, Delta, Sigma) has ``spikes`` = 1 where it sent a message and its integer payloads in
``payloads/<population>`` int64 ``[T, n]``; the state variables of other models (e.g. ``sigma``,
``act``, ``residue``, ``error``) are in ``state/<variable>/<population>`` int64 ``[T, n]``. ``report.json`` holds what the backend
measured (energy, latency, counters) or says plainly that it does not measure them.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_dir, recover
from .errors import ArtifactError
from .jsonable import to_jsonable


#: the key prefixes of result.npz
GROUPS = ("spikes", "v", "u", "weights", "payloads", "state")


@dataclass
class Result:
    spikes: dict[str, np.ndarray] = field(default_factory=dict)
    v: dict[str, np.ndarray] = field(default_factory=dict)
    u: dict[str, np.ndarray] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    report: dict = field(default_factory=dict)
    steps: int = 0
    #: graded populations: population -> int64 [T, n] payloads (0: no message)
    payloads: dict[str, np.ndarray] = field(default_factory=dict)
    #: other state variables: variable -> population -> int64 [T, n]
    state: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for prefix, group in (("spikes", self.spikes), ("v", self.v), ("u", self.u), ("weights", self.weights),
                              ("payloads", self.payloads)):
            for name, arr in group.items():
                out[f"{prefix}/{name}"] = arr
        for var, group in self.state.items():
            for name, arr in group.items():
                out[f"state/{var}/{name}"] = arr
        return out


    def save(self, directory) -> Path:
        """Write ``result.npz`` and ``report.json`` into ``directory`` atomically."""
        from .outpaths import check_replaceable
        directory = check_replaceable(directory, "result", "result directory")
        with atomic_dir(directory) as tmp:
            buf = io.BytesIO()
            np.savez_compressed(buf, **self.arrays())
            (tmp / "result.npz").write_bytes(buf.getvalue())
            (tmp / "report.json").write_text(json.dumps(to_jsonable(self.report), indent=2, sort_keys=True))
        return directory

    @classmethod
    def load(cls, directory) -> "Result":
        directory = Path(directory)
        recover(directory)
        npz, rep = directory / "result.npz", directory / "report.json"
        if not npz.is_file() or not rep.is_file():
            raise ArtifactError(f"{directory}: not a result directory (needs result.npz and report.json); "
                                "create one with `neurocomp emulate` or `neurocomp deploy`")
        from .safeio import read_json, read_npz, regular_file
        regular_file(npz, "result file", ArtifactError)
        report = read_json(rep, "result report", ArtifactError)
        if not isinstance(report, dict):
            raise ArtifactError(f"{rep}: holds a {type(report).__name__}, not a JSON object; rerun emulate/deploy")
        data = read_npz(npz, error=ArtifactError)
        res = cls(report=report)
        steps = None
        for key, arr in data.items():
            shape, dtype = arr.shape, arr.dtype
            prefix, _, name = key.partition("/")
            if prefix not in GROUPS or not name or (prefix == "state" and "/" not in name):
                raise ArtifactError(f"{npz}: unknown entry '{key}' (entries are {', '.join(GROUPS)}/<name>); "
                                    "is it a result written by neurocomp?")
            ndim_ok = len(shape) >= 1 if prefix == "weights" else len(shape) == 2
            if dtype.kind not in "biuf" or not ndim_ok:
                raise ArtifactError(f"{npz}: entry '{key}' has shape {shape} and dtype {dtype}; expected a numeric "
                                    "[T, n] array")
            if prefix != "weights":
                if steps is not None and shape[0] != steps:
                    raise ArtifactError(f"{npz}: entry '{key}' has {shape[0]} steps, another entry {steps}")
                steps = shape[0]
        for key, arr in data.items():
            prefix, _, name = key.partition("/")
            if prefix == "state":
                var, _, name = name.partition("/")
                res.state.setdefault(var, {})[name] = arr
            else:
                getattr(res, prefix)[name] = arr
        res.steps = max((a.shape[0] for a in res.spikes.values()), default=0)
        return res
