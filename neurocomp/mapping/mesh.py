"""Mesh geometry: where a core sits, and which links an X-then-Y (dimension-order) route uses.

The one home of route geometry for the target model (``target.Mesh``), the place and route passes
and the emulator's cost model. ``mesh`` below is anything with the fields of ``target.Mesh``
(``chips``, ``chips_x``, ``chips_y``, ``tiles_x``, ``tiles_y``, ``cores_per_tile``); nothing here
checks ranges (``Mesh`` does, with messages that name the mesh).

Cores. Core ids fill the cores of a tile first, then tile x, then tile y, then chip::

    core = ((chip * tiles_y + tile_y) * tiles_x + tile_x) * cores_per_tile + k

Chips form a ``chips_x`` x ``chips_y`` grid (``chip = chip_y * chips_x + chip_x``), so the global
tile grid is ``GX = chips_x * tiles_x`` columns by ``GY = chips_y * tiles_y`` rows, and a core sits at
global tile ``(gx, gy) = (chip_x * tiles_x + tile_x, chip_y * tiles_y + tile_y)``; its chip column and
row are ``(cx, cy) = (gx // tiles_x, gy // tiles_y)``.

Hops. A message from tile (ax, ay) to tile (bx, by) goes along X on row ``ay`` to column ``bx``, then
along Y on column ``bx`` (cores of one tile share a router: 0 hops). It takes ``ew = |ax - bx|``
east-west and ``ns = |ay - by|`` north-south hops, counting the hops that cross a chip boundary;
those crossings are counted again as ``ic = |acx - bcx| + |acy - bcy|`` inter-chip hops (exact for a
dimension-order route), so a crossing pays a normal hop plus the inter-chip extra.

Links. A directed link leaves tile (x, y) in direction ``d`` (``DIRECTIONS``: 0 = E = +x, 1 = W = -x,
2 = N = +y, 3 = S = -y) for tile ``(x + DX[d], y + DY[d])``; its id is::

    link = (y * GX + x) * 4 + d          x = (link // 4) % GX, y = link // (4 * GX), d = link % 4

Ids run over ``0 .. GX * GY * 4 - 1``; the ids of links that would leave the grid (E of the last
column, ...) carry no traffic. The route from (x, y) to (dx, dy) uses two runs of links
(``route_runs``): the E (or W) links leaving tiles of row y between x and dx (``|dx - x|`` links, ids
of stride 4), then the N (or S) links leaving tiles of column dx between y and dy (``|dy - y|`` links,
ids of stride 4*GX), so it walks exactly ``ew + ns`` links. A link crosses a chip boundary
(``interchip``) when its two tiles lie on different chips; its latency is the hop latency of its
direction plus the inter-chip extra if it crosses. ``mapping.json``'s ``links`` (route pass) and the
cost model's ``links`` in ``report.json`` both use these ids.

Forms of one route's links, held equal by tests/test_mesh.py: ``route_link_ids`` (numpy, the readable
spec: one id per message and hop), ``walk_route`` (numba: add packets to per-link counters), and
``route_runs`` + ``loads_from_diff`` (numba: O(1) per message, +w/-w at the ends of each run in
difference arrays, then prefix sums; the route pass's form for 100M synapses).

The numba helpers are ``cache=True``; kernels in other files inline or call them, and numba's cache
of those kernels does not notice an edit here: after changing a numba helper of this file, delete the
numba cache files (``__pycache__/*.nbi``, ``*.nbc`` of neurocomp/ and backends/).
"""
from __future__ import annotations

import functools

import numba
import numpy as np

#: Link directions in id order.
DIRECTIONS = ("E", "W", "N", "S")
EAST, WEST, NORTH, SOUTH = 0, 1, 2, 3
#: Tile step of each direction.
DX = np.array([1, -1, 0, 0], np.int64)
DY = np.array([0, 0, 1, -1], np.int64)


# --------------------------------------------------------------------------------------------
# scalar formulas (numba; ``.py_func`` is the same formula on numpy arrays). Plain calls, not numba's
# ``inline="always"``: LLVM inlines them just the same, and numba's own inliner costs cold-compile time at
# every call site (benchmarks/RESULTS.md "Cold compile")
# --------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def core_index(chip, tile_x, tile_y, k, tiles_x, tiles_y, cores_per_tile):
    """Core id of core ``k`` of tile ``(tile_x, tile_y)`` of ``chip``."""
    return ((chip * tiles_y + tile_y) * tiles_x + tile_x) * cores_per_tile + k


@numba.njit(cache=True)
def tile_first_core(gx, gy, tiles_x, tiles_y, chips_x, cores_per_tile):
    """Core id of core 0 of global tile ``(gx, gy)``."""
    chip = (gy // tiles_y) * chips_x + gx // tiles_x
    return core_index(chip, gx % tiles_x, gy % tiles_y, 0, tiles_x, tiles_y, cores_per_tile)


@numba.njit(cache=True)
def tile_hops(ax, ay, acx, acy, bx, by, bcx, bcy):
    """``(ew, ns, ic)`` hops of the X-then-Y route between global tiles (ax, ay) and (bx, by) lying on
    chips (acx, acy) and (bcx, bcy) of the chip grid."""
    return abs(ax - bx), abs(ay - by), abs(acx - bcx) + abs(acy - bcy)


@numba.njit(cache=True)
def link_id(x, y, d, gx_n):
    """Id of the link leaving global tile (x, y) in direction d (``gx_n`` = GX columns)."""
    return (y * gx_n + x) * 4 + d


@numba.njit(cache=True)
def route_runs(x, y, dx, dy):
    """The links of the X-then-Y route (x, y) -> (dx, dy) as two runs of leaving tiles,
    ``(x_dir, x_lo, x_hi, y_dir, y_lo, y_hi)``: the X leg uses the ``x_dir`` (EAST or WEST) links leaving
    tiles ``x_lo .. x_hi - 1`` of row y, the Y leg the ``y_dir`` (NORTH or SOUTH) links leaving tiles
    ``y_lo .. y_hi - 1`` of column dx; an empty run (lo == hi) is a leg of no hops."""
    if dx >= x:
        x_dir, x_lo, x_hi = EAST, x, dx
    else:
        x_dir, x_lo, x_hi = WEST, dx + 1, x + 1
    if dy >= y:
        y_dir, y_lo, y_hi = NORTH, y, dy
    else:
        y_dir, y_lo, y_hi = SOUTH, dy + 1, y + 1
    return x_dir, x_lo, x_hi, y_dir, y_lo, y_hi


# --------------------------------------------------------------------------------------------
# cores and tiles (numpy)
# --------------------------------------------------------------------------------------------
def grid_size(mesh) -> tuple[int, int]:
    """``(GX, GY)``: columns and rows of the global tile grid."""
    return int(mesh.chips_x * mesh.tiles_x), int(mesh.chips_y * mesh.tiles_y)


def core_coord(mesh, core):
    """``(chip, tile_x, tile_y, k)`` int64 arrays (0-d for a scalar) of core ids, inverting ``core_index``."""
    c = np.asarray(core, np.int64)
    k = c % mesh.cores_per_tile
    t = c // mesh.cores_per_tile
    tx = t % mesh.tiles_x
    t = t // mesh.tiles_x
    return t // mesh.tiles_y, tx, t % mesh.tiles_y, k


def global_tile(mesh, core):
    """``(gx, gy)`` global tile coordinates of core ids (numpy scalars for a scalar)."""
    chip, tx, ty, _ = core_coord(mesh, core)
    return (chip % mesh.chips_x) * mesh.tiles_x + tx, (chip // mesh.chips_x) * mesh.tiles_y + ty


def tile_arrays(mesh, cores):
    """``(gx, gy, cx, cy)`` of each core id in ``cores``: global tile and chip column/row, contiguous
    int64 arrays (the per-core tables the numba kernels index)."""
    gx, gy = global_tile(mesh, np.asarray(cores, np.int64).reshape(-1))
    return tuple(np.ascontiguousarray(v, np.int64) for v in (gx, gy, gx // mesh.tiles_x, gy // mesh.tiles_y))


def slot_grid(mesh):
    """``tile_arrays`` of every core of the mesh (arrays over core id)."""
    return tile_arrays(mesh, np.arange(mesh.chips * mesh.tiles_x * mesh.tiles_y * mesh.cores_per_tile))


def hops(mesh, a, b):
    """``(ew, ns, ic)`` hops of the X-then-Y route from core a to core b (int64, broadcast)."""
    ax, ay = global_tile(mesh, a)
    bx, by = global_tile(mesh, b)
    return tile_hops.py_func(ax, ay, ax // mesh.tiles_x, ay // mesh.tiles_y,
                             bx, by, bx // mesh.tiles_x, by // mesh.tiles_y)


def snake_order(mesh) -> np.ndarray:
    """Core ids chip by chip, tile rows alternating direction, cores of a tile consecutive."""
    chip, ty, tx, k = np.meshgrid(np.arange(mesh.chips), np.arange(mesh.tiles_y), np.arange(mesh.tiles_x),
                                  np.arange(mesh.cores_per_tile), indexing="ij")
    tx = np.where(ty % 2 == 1, mesh.tiles_x - 1 - tx, tx)
    core = core_index.py_func(chip, tx, ty, k, mesh.tiles_x, mesh.tiles_y, mesh.cores_per_tile)
    return core.reshape(-1).astype(np.int64)


# --------------------------------------------------------------------------------------------
# links (numpy)
# --------------------------------------------------------------------------------------------
def n_links(mesh) -> int:
    """Size of the link id space, ``GX * GY * 4``."""
    gx_n, gy_n = grid_size(mesh)
    return gx_n * gy_n * 4


def link_coords(link, gx_n):
    """``(x, y, d)`` of link ids: the tile the link leaves and its direction (inverse of ``link_id``)."""
    link = np.asarray(link, np.int64)
    t = link // 4
    return t % gx_n, t // gx_n, link % 4


@functools.lru_cache(maxsize=16)
def link_geometry(mesh):
    """Per link id: from-tile ``(x, y)``, to-tile ``(x2, y2)``, direction ``d``, ``on_grid`` (the to-tile
    exists) and ``interchip`` (the two tiles lie on different chips). Kept per mesh (read-only arrays): the
    cost model asks for it on every run's report, ~10 us each time."""
    out = _link_geometry(mesh)
    for a in out:
        a.flags.writeable = False
    return out


def _link_geometry(mesh):
    gx_n, gy_n = grid_size(mesh)
    x, y, d = link_coords(np.arange(n_links(mesh), dtype=np.int64), gx_n)
    x2, y2 = x + DX[d], y + DY[d]
    on_grid = (x2 >= 0) & (x2 < gx_n) & (y2 >= 0) & (y2 < gy_n)
    interchip = (np.floor_divide(x, mesh.tiles_x) != np.floor_divide(x2, mesh.tiles_x)) | \
                (np.floor_divide(y, mesh.tiles_y) != np.floor_divide(y2, mesh.tiles_y))
    return x, y, x2, y2, d, on_grid, interchip


def link_table(mesh, lat):
    """Per link id: from-tile, to-tile, direction and latency: ``lat["hop_ew"]`` (E, W) or ``lat["hop_ns"]``
    (N, S), plus ``lat["hop_interchip"]`` if the link crosses a chip boundary."""
    x, y, x2, y2, d, _, interchip = link_geometry(mesh)
    link_lat = np.where(d < 2, lat["hop_ew"], lat["hop_ns"]) + interchip * lat["hop_interchip"]
    return x, y, x2, y2, d, link_lat


def route_link_ids(sx, sy, dx, dy, gx_n):
    """The readable spec of the route links: every directed link of the X-then-Y routes from tiles
    (sx, sy) to (dx, dy), expanded as ``(message index, link id)`` arrays in walking order.

    Message m with ``ew`` east-west then ``ns`` north-south hops yields ``ew + ns`` links: those leaving
    ``(sx + i*sign(dx - sx), sy)`` for i < ew, then ``(dx, sy + j*sign(dy - sy))`` for j < ns.
    """
    sx, sy, dx, dy = (np.asarray(v, np.int64).reshape(-1) for v in (sx, sy, dx, dy))
    ew, ns = np.abs(dx - sx), np.abs(dy - sy)
    h = ew + ns
    total = int(h.sum())
    m = np.repeat(np.arange(h.size, dtype=np.int64), h)
    i = np.arange(total, dtype=np.int64) - (np.cumsum(h) - h)[m]
    ew_m = ew[m]
    in_x = i < ew_m
    sgx = np.sign(dx - sx)[m]
    sgy = np.sign(dy - sy)[m]
    x = np.where(in_x, sx[m] + sgx * i, dx[m])
    y = np.where(in_x, sy[m], sy[m] + sgy * (i - ew_m))
    d = np.where(in_x, np.where(sgx > 0, EAST, WEST), np.where(sgy > 0, NORTH, SOUTH))
    return m, link_id.py_func(x, y, d, gx_n)


# --------------------------------------------------------------------------------------------
# walking routes (numba)
# --------------------------------------------------------------------------------------------
@numba.njit(cache=True, nogil=True, inline="always")
def _load_run(lid, stride, n, cnt, cur, touched, n_touched):
    for _ in range(n):
        k = cur[lid]
        touched[n_touched] = lid
        n_touched += k == 0
        cur[lid] = k + cnt
        lid += stride
    return n_touched


@numba.njit(cache=True, nogil=True)
def walk_route(x, y, dx, dy, cnt, gx_n, cur, touched, n_touched):
    """Add ``cnt`` packets to the counter ``cur[link]`` of every link of the X-then-Y route (x, y) -> (dx, dy)
    (each leg in increasing id order).

    Links whose counter was 0 are appended to ``touched`` (branch-free: ``touched`` needs one slot more
    than the links it can hold); returns the new ``n_touched``.
    """
    x_dir, x_lo, x_hi, y_dir, y_lo, y_hi = route_runs(x, y, dx, dy)
    n_touched = _load_run(link_id(x_lo, y, x_dir, gx_n), 4, x_hi - x_lo, cnt, cur, touched, n_touched)
    return _load_run(link_id(dx, y_lo, y_dir, gx_n), 4 * gx_n, y_hi - y_lo, cnt, cur, touched, n_touched)


def loads_from_diff(dX, dY) -> np.ndarray:
    """Per-link-id loads from difference arrays over the tiles links leave: ``dX[y, x, d]`` (GY x (GX+1)
    x 2, d = EAST, WEST) and ``dY[y, x, d - NORTH]`` ((GY+1) x GX x 2), where each run of ``route_runs``
    added +w at its ``lo`` and -w at its ``hi``. Prefix sums along each row for E/W, along each column
    for N/S; links off the grid stay 0."""
    gy_n, gx_n = dY.shape[0] - 1, dY.shape[1]
    sx, sy = np.cumsum(dX, axis=1), np.cumsum(dY, axis=0)
    load = np.zeros((gy_n, gx_n, 4), np.result_type(dX, dY))
    load[:, :-1, EAST] = sx[:, :gx_n - 1, EAST]
    load[:, 1:, WEST] = sx[:, 1:gx_n, WEST]
    load[:-1, :, NORTH] = sy[:gy_n - 1, :, NORTH - NORTH]
    load[1:, :, SOUTH] = sy[1:gy_n, :, SOUTH - NORTH]
    return load.reshape(-1)
