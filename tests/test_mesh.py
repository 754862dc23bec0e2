"""Mesh geometry (neurocomp.mapping.mesh): one link numbering, and every form of a route's links agrees.

The numpy spec ``route_link_ids`` is checked against a hand-made path (it must step from tile to
neighbouring tile, X first, and end at the destination), then the numba walker and the difference-array
form are held equal to it on random multi-chip meshes; finally mapping.json (route pass) and
report.json (cost model) of a compiled multi-chip network name the same links by the same ids.
"""
from __future__ import annotations

import json
from pathlib import Path

import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import neurocomp as nc
from neurocomp.mapping import mesh as G
from neurocomp.target import Mesh, load_target

HW = Path(__file__).resolve().parents[1] / "hw_models"


def _random_mesh(rng) -> Mesh:
    cx, cy = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    return Mesh(cx * cy, cx, cy, int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 3)))


def _random_pairs(rng, mesh, n):
    return rng.integers(0, mesh.n_cores, n), rng.integers(0, mesh.n_cores, n)


@numba.njit(cache=True)
def _walk_each(sx, sy, dx, dy, gx_n, n_links):
    """Walk every route with ``walk_route``: (per-link loads, links first touched per route, touched order)."""
    cur = np.zeros(n_links, np.int64)
    touched = np.empty(n_links + 1, np.int64)
    walked = np.zeros(sx.size, np.int64)
    for m in range(sx.size):
        one = np.zeros(n_links, np.int64)
        walked[m] = G.walk_route(sx[m], sy[m], dx[m], dy[m], 1, gx_n, one, touched, 0)
        G.walk_route(sx[m], sy[m], dx[m], dy[m], 1, gx_n, cur, touched, 0)
    return cur, walked


@numba.njit(cache=True)
def _diff_loads(sx, sy, dx, dy, w, gx_n, gy_n):
    """The route pass's difference-array accumulation with ``route_runs`` (ints and floats)."""
    dX = np.zeros((gy_n, gx_n + 1, 2), np.int64)
    dY = np.zeros((gy_n + 1, gx_n, 2), np.int64)
    rX = np.zeros((gy_n, gx_n + 1, 2), np.float64)
    rY = np.zeros((gy_n + 1, gx_n, 2), np.float64)
    for m in range(sx.size):
        x_dir, x_lo, x_hi, y_dir, y_lo, y_hi = G.route_runs(sx[m], sy[m], dx[m], dy[m])
        if x_lo < x_hi:
            dX[sy[m], x_lo, x_dir] += 1
            dX[sy[m], x_hi, x_dir] -= 1
            rX[sy[m], x_lo, x_dir] += w[m]
            rX[sy[m], x_hi, x_dir] -= w[m]
        if y_lo < y_hi:
            dY[y_lo, dx[m], y_dir - G.NORTH] += 1
            dY[y_hi, dx[m], y_dir - G.NORTH] -= 1
            rY[y_lo, dx[m], y_dir - G.NORTH] += w[m]
            rY[y_hi, dx[m], y_dir - G.NORTH] -= w[m]
    return dX, dY, rX, rY


@numba.njit(cache=True)
def _numba_hops(ax, ay, acx, acy, bx, by, bcx, bcy):
    out = np.empty((3, ax.size), np.int64)
    for i in range(ax.size):
        out[0, i], out[1, i], out[2, i] = G.tile_hops(ax[i], ay[i], acx[i], acy[i], bx[i], by[i], bcx[i], bcy[i])
    return out


# ----------------------------------------------------------------------------------------- numbering
def test_link_ids_round_trip_and_neighbours():
    mesh = Mesh(6, 3, 2, 3, 2, 2)
    gx_n, gy_n = G.grid_size(mesh)
    assert (gx_n, gy_n) == (9, 4) and G.n_links(mesh) == 9 * 4 * 4
    ids = np.arange(G.n_links(mesh))
    x, y, d = G.link_coords(ids, gx_n)
    np.testing.assert_array_equal(G.link_id.py_func(x, y, d, gx_n), ids)
    assert G.link_id(5, 2, G.WEST, gx_n) == (2 * 9 + 5) * 4 + 1
    assert G.link_coords(G.link_id(5, 2, G.SOUTH, gx_n), gx_n) == (5, 2, 3)
    lx, ly, lx2, ly2, ld, on_grid, interchip = G.link_geometry(mesh)
    np.testing.assert_array_equal(np.stack([lx, ly, ld]), np.stack([x, y, d]))
    assert np.all(np.abs(lx2 - lx) + np.abs(ly2 - ly) == 1)
    assert [G.DIRECTIONS[k] for k in ld[:4]] == ["E", "W", "N", "S"]
    assert on_grid.sum() == 2 * ((gx_n - 1) * gy_n + gx_n * (gy_n - 1))
    # a link crosses a chip boundary iff its two tiles are on different chips (chip = tile // tiles per chip)
    np.testing.assert_array_equal(interchip, (lx // 3 != lx2 // 3) | (ly // 2 != ly2 // 2))
    assert interchip[G.link_id(2, 0, G.EAST, gx_n)] and not interchip[G.link_id(1, 0, G.EAST, gx_n)]
    lat = {"hop_ew": 1.0, "hop_ns": 2.0, "hop_interchip": 10.0}
    *geom, link_lat = G.link_table(mesh, lat)
    np.testing.assert_array_equal(link_lat, np.where(ld < 2, 1.0, 2.0) + 10.0 * interchip)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000))
def test_core_coordinates_round_trip(seed):
    rng = np.random.default_rng(seed)
    mesh = _random_mesh(rng)
    ids = np.arange(mesh.n_cores)
    chip, tx, ty, k = G.core_coord(mesh, ids)
    np.testing.assert_array_equal(G.core_index.py_func(chip, tx, ty, k, mesh.tiles_x, mesh.tiles_y,
                                                       mesh.cores_per_tile), ids)
    gx, gy, cx, cy = G.slot_grid(mesh)
    np.testing.assert_array_equal(cy * mesh.chips_x + cx, chip)
    np.testing.assert_array_equal(np.stack([gx, gy]), np.stack(mesh.global_tile(ids)))
    for c in rng.integers(0, mesh.n_cores, 10):
        assert G.tile_first_core(gx[c], gy[c], mesh.tiles_x, mesh.tiles_y, mesh.chips_x,
                                 mesh.cores_per_tile) == c - k[c]
    assert np.array_equal(np.sort(G.snake_order(mesh)), ids)


# ----------------------------------------------------------------------------------------- routes
def _spec_paths_are_x_then_y(mesh, sx, sy, dx, dy):
    """route_link_ids against a plain reading of X-then-Y: consecutive links chain from the source tile
    to the destination tile, all E/W links before all N/S links."""
    gx_n = G.grid_size(mesh)[0]
    lx, ly, lx2, ly2, ld, on_grid, _ = G.link_geometry(mesh)
    m, lid = G.route_link_ids(sx, sy, dx, dy, gx_n)
    assert np.all(on_grid[lid])
    for i in range(sx.size):
        path = lid[m == i]
        at = (sx[i], sy[i])
        for link in path:
            assert (lx[link], ly[link]) == at
            at = (lx2[link], ly2[link])
        assert at == (dx[i], dy[i])
        dirs = ld[path]
        assert np.all(np.diff(dirs >= 2) >= 0)       # never back to X after Y
    return m, lid


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000))
def test_numpy_spec_numba_walker_and_difference_form_agree(seed):
    rng = np.random.default_rng(seed)
    mesh = _random_mesh(rng)
    gx_n, gy_n = G.grid_size(mesh)
    a, b = _random_pairs(rng, mesh, int(rng.integers(0, 60)))
    sx, sy = (np.asarray(v, np.int64) for v in mesh.global_tile(a))
    dx, dy = (np.asarray(v, np.int64) for v in mesh.global_tile(b))
    m, lid = _spec_paths_are_x_then_y(mesh, sx, sy, dx, dy)
    n = G.n_links(mesh)
    want = np.bincount(lid, minlength=n)
    cur, walked = _walk_each(sx, sy, dx, dy, gx_n, n)
    np.testing.assert_array_equal(cur, want)
    # hops == links walked, and the inter-chip hops are the walked links that cross a chip boundary
    ew, ns, ic = mesh.hops(a, b)
    np.testing.assert_array_equal(walked, ew + ns)
    np.testing.assert_array_equal(np.bincount(m, minlength=a.size), ew + ns)
    interchip = G.link_geometry(mesh)[-1]
    np.testing.assert_array_equal(np.bincount(m, weights=interchip[lid], minlength=a.size), ic)
    # the difference form of the route pass
    w = rng.random(a.size)
    dX, dY, rX, rY = _diff_loads(sx, sy, dx, dy, w, gx_n, gy_n)
    np.testing.assert_array_equal(G.loads_from_diff(dX, dY), want)
    np.testing.assert_allclose(G.loads_from_diff(rX, rY), np.bincount(lid, weights=w[m], minlength=n),
                               rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000))
def test_hops_numpy_numba_and_mesh_agree(seed):
    rng = np.random.default_rng(seed)
    mesh = _random_mesh(rng)
    a, b = _random_pairs(rng, mesh, 50)
    gx, gy, cx, cy = G.slot_grid(mesh)
    want = np.stack(mesh.hops(a, b))
    np.testing.assert_array_equal(np.stack(G.hops(mesh, a, b)), want)
    np.testing.assert_array_equal(_numba_hops(gx[a], gy[a], cx[a], cy[a], gx[b], gy[b], cx[b], cy[b]), want)
    assert mesh.hops(int(a[0]), int(b[0])) == tuple(int(v) for v in want[:, 0])


def test_route_pass_loads_are_the_spec_by_link_id():
    from neurocomp.mapping.graph import synapse_graph
    from neurocomp.passes.route import route_links
    rng = np.random.default_rng(11)
    net = nc.Network("r")
    net.input("in", (5,))
    net.population("a", (40,), nc.LoihiLIF(du=0, dv=0, vth=10))
    net.connect("in", "a", nc.Dense(rng.integers(0, 3, (40, 5))))
    net.connect("a", "a", nc.Dense(rng.integers(0, 2, (40, 40)) * (rng.random((40, 40)) < 0.2)))
    graph = synapse_graph(net)
    mesh = Mesh(6, 3, 2, 2, 3, 2)
    core = rng.integers(0, 12, graph.n_neurons)
    phys = rng.permutation(mesh.n_cores)[:12]
    rate = rng.random(graph.n_sources)
    links, _ = route_links(graph, core, phys, mesh, rate)
    # every (source neuron, distinct destination core) message, the plain way
    src = np.repeat(np.arange(graph.n_sources), np.diff(graph.out_ptr))
    key = np.unique(src * 12 + core[graph.out_post])
    s, dst = key // 12, key % 12
    s, dst = s[s < graph.n_neurons], dst[s < graph.n_neurons]
    gx, gy = mesh.global_tile(phys)
    m, lid = G.route_link_ids(gx[core[s]], gy[core[s]], gx[dst], gy[dst], G.grid_size(mesh)[0])
    load = np.bincount(lid, minlength=G.n_links(mesh))
    assert [e["id"] for e in links] == list(np.nonzero(load)[0])
    lx, ly, lx2, ly2, ld, _, interchip = G.link_geometry(mesh)
    for e in links:
        i = e["id"]
        assert e["load"] == load[i] and e["load_rates"] == pytest.approx(np.sum(rate[s[m[lid == i]]]))
        assert (e["from"], e["to"], e["dir"], e["interchip"]) == (
            [lx[i], ly[i]], [lx2[i], ly2[i]], G.DIRECTIONS[ld[i]], bool(interchip[i]))


# ----------------------------------------------------------------------------------------- artifacts
def _board_model(tmp_path) -> Path:
    """loihi2 on a 2x2 board of chips with 2x2 tiles of one core: small nets span several chips."""
    text = (HW / "loihi2.toml").read_text()
    mesh = text[text.index("[mesh]"):text.index("[core]")]
    board = "[mesh]\nchips = 4\nchips_x = 2\nchips_y = 2\ntiles_x = 2\ntiles_y = 2\ncores_per_tile = 1\n\n"
    path = tmp_path / "board.toml"
    path.write_text(text.replace(mesh, board))
    return path


def test_mapping_json_and_report_json_number_links_alike(tmp_path):
    target = load_target(_board_model(tmp_path))
    assert target.mesh.chips == 4
    rng = np.random.default_rng(2)
    net = nc.Network("board")
    net.input("in", (10,))
    net.population("a", (24,), nc.LoihiLIF(du=300, dv=200, vth=40))
    net.population("b", (8,), nc.LoihiLIF(du=300, dv=200, vth=40))
    net.connect("in", "a", nc.Dense(rng.integers(20, 120, (24, 10))))
    net.connect("a", "b", nc.Dense(rng.integers(0, 90, (8, 24))))
    net.connect("b", "a", nc.Dense(rng.integers(0, 40, (24, 8))))
    net.output("b")
    art = nc.compile(net, target, max_neurons_per_core=3)
    art.save(tmp_path / "art")
    res = nc.emulate(tmp_path / "art", 30, {"in": (rng.random((30, 10)) < 0.5).astype(np.uint8)})
    res.save(tmp_path / "res")
    mapping = json.loads((tmp_path / "art" / "mapping.json").read_text())
    report = json.loads((tmp_path / "res" / "report.json").read_text())
    chips = {c["coord"][0] for c in mapping["cores"]}
    assert len(chips) > 1, "the example must span several chips"
    m_links = {e["id"]: e for e in mapping["links"]}
    r_links = report["cost"]["links"]
    assert r_links and any(e["interchip"] for e in m_links.values())
    # every link the run used is a link of the all-fire routes, named by the same id with the same ends
    for key, e in r_links.items():
        m = m_links[int(key)]
        assert (m["from"], m["to"], m["dir"]) == (e["from"], e["to"], e["dir"])
        assert G.link_coords(int(key), G.grid_size(target.mesh)[0]) == (
            e["from"][0], e["from"][1], G.DIRECTIONS.index(e["dir"]))
    ids = [e["id"] for e in mapping["links"]]
    assert ids == sorted(ids)
