"""Reading a user's file without trusting it: regular files only, bounded nesting, bounded sizes, and
every failure of a parser turned into a neurocomp error that names the file.

* :func:`regular_file` refuses FIFOs, devices, sockets and directories before anything opens them
  (opening a FIFO blocks until a writer comes; a device may never end);
* :func:`parse_json` / :func:`parse_toml` bound the nesting depth (a 100k-deep document makes the
  parsers recurse until Python gives up) and name the file on every syntax or encoding error;
* :func:`reading` wraps the loading of one file: any exception a parser or a library raises on
  malformed content (KeyError, TypeError, IndexError, EOFError, zip/HDF5 errors, ...) becomes the
  given NeurocompError type with the file's path, so the CLI prints ``error: <file>: ...``;
* :func:`npz_members` reads the headers of an .npz (shape, dtype) without loading the arrays and
  :func:`read_npz` reads the arrays, each header checked first, so a header declaring 10^12 elements
  is refused before any allocation.
"""
from __future__ import annotations

import contextlib
import json
import os
import stat
import zipfile
from pathlib import Path

from .errors import NeurocompError, ValidationError

#: deepest nesting of lists/tables accepted in JSON and TOML documents
MAX_NESTING = 64
#: largest array an .npz member may declare before it is read (elements); NEUROCOMP_MAX_ELEMENTS raises it
MAX_ELEMENTS_DEFAULT = 2_000_000_000


#: share of the available RAM one allocation-heavy step (a run's per-step arrays, a Conv expansion) may take
RUN_MEMORY_FRACTION = 0.5


def available_memory() -> int:
    """Bytes of RAM available now (os.sysconf; 0 if unknown)."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 0


def max_elements() -> int:
    try:
        return int(os.environ.get("NEUROCOMP_MAX_ELEMENTS", MAX_ELEMENTS_DEFAULT))
    except ValueError:
        return MAX_ELEMENTS_DEFAULT


def regular_file(path, what: str, error=ValidationError, fix: str = "", where: str | None = None) -> Path:
    """``path`` if it is a regular file (symlinks followed); else ``error`` saying what it is instead.
    Messages start with ``where`` (default: the path)."""
    path = Path(path)
    where = str(path) if where is None else where
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{where}: {what} not found{'; ' + fix if fix else ''}") from None
    except OSError as exc:
        raise error(f"{where}: {what} cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISREG(st.st_mode):
        if not os.access(path, os.R_OK):
            raise error(f"{where}: {what} cannot be read (permission denied); check its permissions")
        return path
    kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode)
            else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
    raise error(f"{where}: is {kind}, not a {what}; give the path of a regular file")


def _depth(obj, limit: int) -> int:
    """Nesting depth of parsed JSON/TOML, iteratively (stops counting past ``limit``)."""
    stack, deepest = [(obj, 1)], 0
    while stack:
        o, d = stack.pop()
        if isinstance(o, (dict, list)):
            deepest = max(deepest, d)
            if deepest > limit:
                return deepest
            stack.extend((v, d + 1) for v in (o.values() if isinstance(o, dict) else o))
    return deepest


def _nesting_prescan(text: str, limit: int) -> bool:
    """Cheap upper bound of bracket nesting (strings not excluded, so it can only over-count); True if
    it may exceed ``limit``: the exact check then runs on the parsed document or the parser's error."""
    import numpy as np
    if text.count("[") + text.count("{") <= limit:
        return False
    b = np.frombuffer(text.encode("utf-8", "replace"), np.uint8)
    step = np.isin(b, (ord("["), ord("{"))).astype(np.int32) - np.isin(b, (ord("]"), ord("}")))
    return int(np.cumsum(step).max(initial=0)) > limit


def _too_deep(where: str, error):
    return error(f"{where}: nested more than {MAX_NESTING} levels deep; this is not a file neurocomp wrote "
                 "(or it was damaged)")


def _bounded_parse(data, where: str, error, loads, syntax_error, what: str, fix: str):
    """``loads`` of UTF-8 ``data`` (bytes or str) with the file named in every error and nesting bounded."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    if _nesting_prescan(data, 4 * MAX_NESTING):
        raise _too_deep(where, error)
    try:
        doc = loads(data)
    except RecursionError:
        raise _too_deep(where, error) from None
    except syntax_error as exc:
        raise error(f"{where}: {what} ({exc}){fix}") from None
    if _depth(doc, MAX_NESTING) > MAX_NESTING:
        raise _too_deep(where, error)
    return doc


def parse_json(text, where: str, error=ValidationError):
    """json.loads with the file named in every error and nesting bounded by MAX_NESTING."""
    return _bounded_parse(text, where, error, json.loads, json.JSONDecodeError, "not valid JSON", "")


def read_json(path, what: str, error=ValidationError):
    """A JSON file: regular, UTF-8, bounded nesting."""
    regular_file(path, what, error)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise error(f"{path}: {what} cannot be read ({exc.strerror or exc})") from None
    return parse_json(data, str(path), error)


def parse_toml(data: bytes, where: str, error=ValidationError):
    """tomli.loads of UTF-8 bytes with the file named in every error and nesting bounded."""
    import tomli
    return _bounded_parse(data, where, error, tomli.loads, tomli.TOMLDecodeError, "invalid TOML",
                          "; fix the syntax at that line")


#: exceptions a parser or library raises on malformed content (not bugs of the caller)
CONTENT_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError, AssertionError, EOFError,
                  RecursionError, UnicodeDecodeError, OverflowError, zipfile.BadZipFile, OSError,
                  NotImplementedError, LookupError)


@contextlib.contextmanager
def reading(path, what: str, error=ValidationError):
    """Turn any content error raised while reading ``path`` into ``error`` naming the file (neurocomp's
    own errors pass through unchanged)."""
    try:
        yield
    except NeurocompError:
        raise
    except MemoryError:
        raise error(f"{path}: {what} needs more memory than there is; is it damaged?") from None
    except CONTENT_ERRORS as exc:
        detail = f"{exc.strerror}" if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
        if len(detail) > 300:
            detail = detail[:300] + "..."
        raise error(f"{path}: {what} is malformed or damaged ({detail})") from None


def _npz_walk(path, where: str, error, load: bool) -> dict:
    """Read the .npy members of an .npz one by one, each header checked before its data is read."""
    import numpy as np
    out = {}
    limit = max_elements()
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                key = info.filename[:-4]
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
                    else:
                        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
                    n = 1
                    for s in shape:
                        n *= int(s)
                    if n > limit:
                        raise error(f"{where}: member '{key}' declares shape {tuple(shape)} = {n:,} elements, more "
                                    f"than the limit {limit:,} (set NEUROCOMP_MAX_ELEMENTS to raise it)")
                    if dtype.hasobject:
                        raise error(f"{where}: member '{key}' holds Python objects; only plain numeric arrays are "
                                    "read")
                    if not load:
                        out[key] = (tuple(int(s) for s in shape), dtype)
                        continue
                    data = fh.read(n * dtype.itemsize)
                    if len(data) != n * dtype.itemsize:
                        raise error(f"{where}: member '{key}' is truncated ({len(data)} of {n * dtype.itemsize} "
                                    "bytes)")
                    arr = np.frombuffer(data, dtype=dtype)
                    arr = arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)
                    out[key] = arr.copy() if not arr.flags.writeable else arr
    except NeurocompError:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError, NotImplementedError) as exc:
        raise error(f"{where}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    return out


def npz_members(path, where: str | None = None, error=ValidationError) -> dict:
    """``{key: (shape, dtype)}`` of an .npz from its member headers, without reading the data; refuses a
    file that is no zip of .npy members and a member declaring more than :func:`max_elements` items."""
    return _npz_walk(path, where or str(path), error, load=False)


def read_npz(path, where: str | None = None, error=ValidationError) -> dict:
    """``{key: array}`` of an .npz (no pickles), every member's header checked (size, no objects) before
    its data is read: a damaged zip, a truncated member or a header declaring 10^12 elements is ``error``."""
    return _npz_walk(path, where or str(path), error, load=True)
