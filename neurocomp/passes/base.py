"""The pass framework: a pass is a frozen dataclass of options with a ``name`` and a ``run`` method.

``run(obj, target) -> (new_obj, PassReport)`` never mutates ``obj`` (DESIGN.md §4, the tinygrad/xDSL
habit): a pipeline of passes is then a plain fold, each stage can be saved, re-run or inspected,
and a report says what each stage did, how long it took, what it approximated and what it clipped.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, fields, replace
from typing import ClassVar


from ..errors import ValidationError
from ..jsonable import to_jsonable


@dataclass
class PassReport:
    """What one pass did.

    ``groups``: one entry per parameter group, e.g. ``{"projection": "a->b", "param": "weights",
    "rel_error": 0.004, ...}`` or ``{"population": "b", "param": "dv", ...}``; ``rel_error`` is the
    pass's documented error measure for that group. ``clips``: one entry per clipped group, ``{"object":
    name, "param": ..., "count": n, "range": [lo, hi], "worst": value}``. Nothing is clipped without an
    entry here (and a NeurocompWarning). ``seconds`` is filled in by :func:`run_pipeline`.
    """
    name: str
    seconds: float = 0.0
    summary: dict = field(default_factory=dict)
    groups: list[dict] = field(default_factory=list)
    clips: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return to_jsonable({"name": self.name, "seconds": self.seconds, "summary": self.summary,
                          "groups": self.groups, "clips": self.clips, "warnings": self.warnings})

    def max_rel_error(self, param: str | None = None) -> float:
        """Largest ``rel_error`` over the groups (of one ``param`` if given); 0.0 when there are none."""
        errs = [g["rel_error"] for g in self.groups
                if "rel_error" in g and (param is None or g.get("param") == param)]
        return float(max(errs)) if errs else 0.0


#: pass name -> Pass class (``register_pass``); the CLI and ``compile(pipeline=...)`` name passes by it.
PASSES: dict[str, type] = {}


def register_pass(cls):
    """Class decorator: register a Pass subclass under its ``name`` (one class per name)."""
    if cls.name in PASSES and PASSES[cls.name] is not cls:
        raise ValueError(f"a pass named '{cls.name}' is registered already ({PASSES[cls.name].__name__})")
    PASSES[cls.name] = cls
    return cls


@dataclass(frozen=True)
class Pass:
    """Base class. Subclasses are frozen dataclasses whose fields are the pass's options and which set
    the class attribute ``name``. ``run`` must return a new object and leave ``obj`` untouched."""
    name: ClassVar[str] = "pass"

    def run(self, obj, target) -> tuple[object, PassReport]:
        raise NotImplementedError(f"{type(self).__name__}.run")

    def __call__(self, obj, target=None):
        return self.run(obj, target)

    def __str__(self):
        opts = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return f"{self.name}({opts})"


def make_pass(name: str, **options) -> "Pass":
    """The registered pass ``name`` built with those of ``options`` that are its fields (the rest are for
    other passes), e.g. ``make_pass("partition", seed=1, dt=1e-3)`` -> ``Partition(seed=1)``."""
    cls = PASSES.get(name)
    if cls is None:
        raise ValidationError(f"unknown pass '{name}'; registered passes: {', '.join(PASSES)}")
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in options.items() if k in names})


def format_pipeline(passes) -> str:
    """The pipeline as one line per pass, e.g. ``1. discretize(dt=0.0001)``."""
    return "\n".join(f"{i + 1}. {p}" for i, p in enumerate(passes))


#: the label of the open ``[i/n] pass ...`` progress line on stderr, or "" once something ended it
_LINE_OPEN = [""]


def break_progress_line() -> None:
    """End an open progress line, so that a warning or an error printed next starts on its own line."""
    if _LINE_OPEN[0]:
        print(file=sys.stderr, flush=True)
        _LINE_OPEN[0] = ""


def _finish_progress_line(label: str, text: str) -> None:
    """Complete the progress line of ``label`` (repeating the label if a message broke the line)."""
    print(text if _LINE_OPEN[0] else f"{label}{text}", file=sys.stderr, flush=True)
    _LINE_OPEN[0] = ""


def run_pipeline(obj, target, passes: list[Pass], progress: bool = False,
                 after=None) -> tuple[object, list[PassReport]]:
    """Run ``passes`` in order, feeding each the previous output; time each one into its report.

    With ``progress`` a line per pass goes to stderr (name, seconds, clip and warning counts), then its warnings.
    ``after(pass, new_obj, report)`` is called after each pass (``--print-ir-after`` uses it).
    """
    reports: list[PassReport] = []
    for i, p in enumerate(passes):
        if not isinstance(p, Pass):
            raise ValidationError(f"pipeline entry {i} is a {type(p).__name__}, not a Pass; give pass objects "
                                  "such as Discretize(dt=1e-3), Quantize()")
        if progress:
            label = f"[{i + 1}/{len(passes)}] {p.name} ..."
            print(label, file=sys.stderr, end="", flush=True)
            _LINE_OPEN[0] = label
        t0 = time.perf_counter()
        try:
            obj, report = p.run(obj, target)
        except BaseException:
            if progress:                        # end the progress line: the error goes on its own line
                _finish_progress_line(label, " failed")
            raise
        seconds = time.perf_counter() - t0
        report = replace(report, seconds=seconds)
        reports.append(report)
        if progress:
            _finish_progress_line(label, f" {seconds:.3f} s, {len(report.clips)} clip(s), {len(report.warnings)} warning(s)")
            for text in report.warnings:        # a count alone leaves the user guessing (they are in mapping.json too)
                print(f"warning: {text}", file=sys.stderr, flush=True)
        if after is not None:
            after(p, obj, report)
    return obj, reports
