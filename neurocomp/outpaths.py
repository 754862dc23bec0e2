"""One output-path policy for every command: an output never destroys an input or anything else.

``check_output(out, inputs, kind)`` is called by each CLI command before it does any work (and
:func:`check_replaceable` by the writers of the Python API). It refuses, with a ValidationError that
names both paths:

* an empty output, ``.``, or a directory that holds the working directory (replacing it as a whole
  would delete the place the command runs in);
* an output that is, is inside, or contains one of the command's inputs (network, --target, --rules,
  artifact, --input file), after resolving symlinks;
* an existing output that is not a directory (a file, a pipe, a device);
* an existing non-empty directory that is not an output of the same kind: a compiled artifact is
  replaced only by an artifact, a result only by a result, and any other directory never (it may be
  a user's data). The ``report`` kind writes files into a directory, which may be the result itself.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import ValidationError

#: kind -> (what it is called, the file that marks a directory of that kind)
KINDS = {"artifact": ("compiled artifact", "mapping.json"), "result": ("result", "result.npz"),
         "report": ("report directory", None), "shards": ("rank-shard directory", "shards.json")}


def _real(p) -> Path:
    return Path(os.path.realpath(os.fspath(p)))


def _kind_of_dir(d: Path) -> str | None:
    for kind, (_, marker) in KINDS.items():
        if marker and (d / marker).exists():
            return kind
    return None


def check_replaceable(out, kind: str, option: str = "-o") -> Path:
    """Refuse an output that is empty/``.``, holds the working directory, is not a directory, or is a
    non-empty directory of another kind; returns the output as a Path."""
    what, _ = KINDS[kind]
    text = os.fspath(out) if out is not None else ""
    if text.strip() in ("", ".", "./"):
        raise ValidationError(f"{option} {text!r}: give a new or existing {what} directory by name, not the "
                              "current directory")
    out = Path(text)
    real = _real(out)
    cwd = _real(os.getcwd())
    if real == cwd or real in cwd.parents:
        raise ValidationError(f"{option} {out}: holds the working directory {cwd}; replacing it would delete it. "
                              f"Choose a new {what} directory")
    if os.path.lexists(out) and not out.is_dir():
        raise ValidationError(f"{option} {out}: exists and is not a directory; a {what} is a directory. Choose "
                              "another name (the file is left as it is)")
    if out.is_dir() and kind == "report" and _kind_of_dir(out) == "artifact":
        raise ValidationError(f"{option} {out}: is a compiled artifact; write the report elsewhere (the artifact "
                              "is left as it is)")
    if out.is_dir() and kind != "report":
        found = _kind_of_dir(out)
        try:
            empty = not any(os.scandir(out))
        except OSError as exc:
            raise ValidationError(f"{option} {out}: cannot be listed ({exc.strerror}); choose another directory") \
                from None
        if not empty and found != kind:
            is_what = f"a {KINDS[found][0]}" if found else "a non-empty directory that neurocomp did not write"
            raise ValidationError(f"{option} {out}: is {is_what}; a {what} replaces only a {what} (as a whole). "
                                  "Choose a new or empty directory")
    return out


def check_output(out, inputs: dict, kind: str, option: str = "-o", allow_same=()) -> Path:
    """``check_replaceable`` plus: ``out`` is not, is not inside and does not contain any of ``inputs``
    (``{role: path}``; None paths are skipped). ``allow_same``: roles ``out`` may equal (report: RES)."""
    out = check_replaceable(out, kind, option)
    real = _real(out)
    for role, path in inputs.items():
        if path is None or not os.path.lexists(path):
            continue
        p = _real(path)
        if real == p and role in allow_same:
            continue
        if real == p:
            rel = "is"
        elif real in p.parents:
            rel = "contains"
        elif p in real.parents:
            rel = "is inside"
        else:
            continue
        raise ValidationError(f"{option} {out}: {rel} the {role} {path}; writing there would destroy it. "
                              f"Choose another {KINDS[kind][0]} directory")
    return out
