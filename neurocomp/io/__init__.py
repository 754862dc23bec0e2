"""Network files in and out: ``load(path)`` and ``save(net, path)`` pick the format for the user.

By extension: ``.nir`` is NIR (``nir_import.read_nir`` / ``nir_export.write_nir``); ``.net`` is a
lava-dl netx network (``netx.read_netx``, read only); ``.h5``, ``.hdf5`` (and so ``.nc.h5``) are
neurocomp's native format (``native.py``), or netx when such a file has netx's layout and no native
marker. Any other name is sniffed: an HDF5 file with the root attribute ``neurocomp_format`` is
native, one with netx's ``layer/0/type`` layout is netx, any other HDF5 file is tried as NIR (NIR
files are HDF5 too), and anything else is refused with a NetworkFileError. The NIR modules are
imported only when a NIR file is met, so native use never imports ``nir``.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import NetworkFileError, NeurocompError
from ..ir import Network
from .native import is_native, load_native, save_native

NATIVE_SUFFIXES = (".h5", ".hdf5")
NIR_SUFFIX = ".nir"
NETX_SUFFIX = ".net"

__all__ = ["load", "save", "load_native", "save_native"]


def load(path, *, dt: float = 1e-4, dialect: str = "auto") -> Network:
    """Read a network file. ``dt`` (seconds) is the time step recorded for NIR input (NIR graphs are
    continuous-time); native and netx files are discrete-time and ignore it. ``dialect``: for NIR, the
    framework that exported it (``neurocomp.io.nir_dialects``: snntorch, norse, sinabs, rockpool), "nir"
    for the file as written, "auto" for the one its metadata names."""
    from ..safeio import regular_file
    path = Path(path)
    if path.exists() or path.is_symlink():     # a missing file gets each reader's own message
        regular_file(path, "network file", NetworkFileError)
    try:
        return _load(path, dt, dialect)
    except NeurocompError as exc:            # every message names the file (e.g. NaN weights of a node)
        if str(path) in str(exc) or path.name in str(exc):
            raise
        raise type(exc)(f"{path}: {exc}") from None


def _load(path: Path, dt: float, dialect: str = "auto") -> Network:
    from ..safeio import reading
    with reading(path, "network file", NetworkFileError):
        suffix = path.suffix.lower()
        if suffix == NIR_SUFFIX:
            return _read_nir(path, dt, dialect)
        if suffix == NETX_SUFFIX:
            return _read_netx(path)
        if suffix in NATIVE_SUFFIXES:
            if _is_foreign_netx(path):
                return _read_netx(path)
            return load_native(path)
        return _sniff(path, dt, dialect)


def save(net: Network, path) -> Path:
    """Write ``net``: NIR for a ``.nir`` name (only what NIR can express), native HDF5 otherwise."""
    path = Path(path)
    if path.suffix.lower() == NIR_SUFFIX:
        from .nir_export import write_nir
        write_nir(net, path)
        return path
    return save_native(net, path)


def _read_nir(path: Path, dt: float, dialect: str = "auto") -> Network:
    if not path.exists():
        raise NetworkFileError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise NetworkFileError(f"{path}: is a directory, not a network file; give a .nir or .h5 file")
    from .nir_import import read_nir
    return read_nir(path, dt=dt, dialect=dialect)


def _read_netx(path: Path) -> Network:
    from .netx import read_netx
    return read_netx(path)


def _is_netx(path: Path) -> bool:
    from .netx import is_netx
    return is_netx(path)


def _is_foreign_netx(path: Path) -> bool:
    """A netx file under a native name (.h5); any doubt (a damaged file) leaves it to the native reader,
    whose messages say what is wrong."""
    try:
        return path.is_file() and not is_native(path) and _is_netx(path)
    except Exception:
        return False


def _sniff(path: Path, dt: float, dialect: str = "auto") -> Network:
    import h5py
    if not path.exists() or path.is_dir():
        return load_native(path)  # raises the precise missing-file / directory error
    try:
        hdf5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise NetworkFileError(f"{path}: cannot be read ({exc})") from None
    if not hdf5:
        raise NetworkFileError(
            f"{path}: not a network file (neither neurocomp's HDF5 format, NIR nor lava-dl netx); give a .nir "
            "file, a netx .net file or a neurocomp .h5 file written by neurocomp.save")
    if is_native(path):
        return load_native(path)
    if _is_netx(path):
        return _read_netx(path)
    try:
        return _read_nir(path, dt, dialect)
    except NetworkFileError as exc:
        raise NetworkFileError(
            f"{path}: an HDF5 file that is not a neurocomp network file (no 'neurocomp_format' root attribute) "
            f"and could not be read as NIR either: {exc}") from None
