"""Where the NIR paper networks live (``shared/data/nir``: graphs, inputs, reference outputs).

They are not shipped with the package (their licence travels with them, see PROVENANCE.md there);
tests, examples and benchmarks find them where ``NEUROCOMP_NIR_DATA`` points, beside the repository
(``<repo>/../shared/data/nir``, the layout of a checkout and of CI), or, for a clone of a local checkout
(``git clone <checkout> <elsewhere>``), beside the checkout it was cloned from.

List the graphs with :func:`paper_nir_files` (not a ``*.nir`` glob): ``extras/`` folders hold
deliberately malformed files (:func:`malformed_nir_files`) that must be refused, not loaded.
"""
from __future__ import annotations

import configparser
import os
from pathlib import Path

from .errors import NetworkFileError


def nir_data_dir() -> Path:
    """The folder holding ``lif/``, ``cnn/`` and ``braille/``; NetworkFileError if none is found."""
    env = os.environ.get("NEUROCOMP_NIR_DATA")
    repo = Path(__file__).resolve().parents[1]
    candidates = [Path(env)] if env else []
    candidates.append(repo.parent / "shared" / "data" / "nir")
    origin = _local_origin(repo)
    if origin is not None:
        candidates.append(origin.parent / "shared" / "data" / "nir")
    for path in candidates:
        if (path / "braille").is_dir() and (path / "lif").is_dir():
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise NetworkFileError(f"NIR paper data not found (tried {tried}); set NEUROCOMP_NIR_DATA to the folder "
                           "holding lif/, cnn/ and braille/")


def _local_origin(repo: Path) -> Path | None:
    """The checkout ``repo`` was cloned from, when its git origin is a folder on this machine (else None)."""
    parser = configparser.ConfigParser(strict=False)
    try:
        parser.read(repo / ".git" / "config")
        url = parser.get('remote "origin"', "url", fallback="")
    except (configparser.Error, OSError):
        return None
    if url.startswith("file://"):
        url = url[len("file://"):]
    elif not url or "://" in url or ":" in url.split("/")[0]:
        return None                            # a remote (https://, ssh://, user@host:path), not a folder
    path = Path(url) if Path(url).is_absolute() else repo / url
    return path.resolve() if path.is_dir() else None


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
