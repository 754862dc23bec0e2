"""Where the NIR paper networks live (``shared/data/nir``: graphs, inputs, reference outputs).

They are not shipped with the package (their licence travels with them, see PROVENANCE.md there);
tests, examples and benchmarks find them beside the repository (``<repo>/../shared/data/nir``, the
layout of a checkout and of CI) or where ``NEUROCOMP_NIR_DATA`` points.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import NetworkFileError


def nir_data_dir() -> Path:
    """The folder holding ``lif/``, ``cnn/`` and ``braille/``; NetworkFileError if none is found."""
    env = os.environ.get("NEUROCOMP_NIR_DATA")
    repo = Path(__file__).resolve().parents[1]
    candidates = [Path(env)] if env else []
    candidates.append(repo.parent / "shared" / "data" / "nir")
    for path in candidates:
        if (path / "braille").is_dir() and (path / "lif").is_dir():
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise NetworkFileError(f"NIR paper data not found (tried {tried}); set NEUROCOMP_NIR_DATA to the folder "
                           "holding lif/, cnn/ and braille/")
