"""Where the NIR paper networks live (``shared/data/nir``: graphs, inputs, reference outputs).

They are not shipped with the package (their licence travels with them, see PROVENANCE.md there);
tests, examples and benchmarks find them beside the repository (``<repo>/../shared/data/nir``, the
layout of a checkout and of CI) or where ``NEUROCOMP_NIR_DATA`` points.

List the graphs with :func:`paper_nir_files` (not a ``*.nir`` glob): ``extras/`` folders hold
deliberately malformed files (:func:`malformed_nir_files`) that must be refused, not loaded.
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


#: Sub-folder (of any graph folder) holding deliberately malformed NIR files: real-world inputs that
#: nir 1.0.8 rejects and the importer must refuse cleanly. They are not paper graphs.
MALFORMED_DIR = "extras"


def _nir_files(root: Path | None) -> list[tuple[Path, bool]]:
    root = nir_data_dir() if root is None else Path(root)
    return [(p, MALFORMED_DIR in p.relative_to(root).parts[:-1]) for p in sorted(root.rglob("*.nir"))]


def paper_nir_files(root: Path | None = None) -> list[Path]:
    """Every loadable NIR graph of the data folder (``root``, default :func:`nir_data_dir`), sorted;
    everything under an ``extras/`` folder (the malformed files, :func:`malformed_nir_files`) is left
    out. Use this instead of globbing ``*.nir``, so new paper graphs are picked up and the malformed
    ones are not."""
    return [p for p, malformed in _nir_files(root) if not malformed]


def malformed_nir_files(root: Path | None = None) -> list[Path]:
    """The NIR files under an ``extras/`` folder of the data folder, sorted: real-world malformed
    graphs (e.g. ``braille/extras/*_subgraph.nir``, nested subgraphs whose edges nir 1.0.8 cannot
    resolve) that every reader must refuse with a NetworkFileError."""
    return [p for p, malformed in _nir_files(root) if malformed]
