"""A Sparse projection holds its indices and integer weights as int32 where they fit (the compile's peak
memory, issue 19): it runs like the same weights held as int64 (its Dense twin keeps int64), weights and
indices beyond int32 stay int64, the saved network keeps its int64 datasets, bad input is refused as
before and the IR stays read-only."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

import neurocomp as nc
from neurocomp.errors import ValidationError
from neurocomp.io import load_native, save_native
from neurocomp.passes.quantize import Quantize
from neurocomp.semantics.reference import simulate_reference
from neurocomp.semantics.synapses import projection_synapses
from neurocomp.target import load_target

from test_sdnn import _graded_chain

EXTREMES = np.array([[2 ** 31 - 1, 255, -2 ** 31, 200, 3, -1], [-256, 254, -2, 2 ** 30, 7, 1]])


def test_sparse_holds_int32_read_only():
    s = nc.Sparse(np.array([0, 2, 3]), np.array([0, 4, 1], np.int64), np.array([7, -2 ** 31, 2 ** 31 - 1]),
                  shape=(2, 5))
    assert (s.indptr.dtype, s.indices.dtype, s.weights.dtype) == (np.int64, np.int32, np.int32)
    for arr in (s.indptr, s.indices, s.weights):
        with pytest.raises(ValueError):
            arr[0] = 1
    assert s.to_dense().dtype == np.int64                  # what Dense holds, whatever width is stored
    assert nc.Sparse([0, 1], [0], [0.5], shape=(1, 1)).weights.dtype == np.float64


def test_beyond_int32_stays_int64():
    assert nc.Sparse([0, 1], [0], [-2 ** 31 - 1], shape=(1, 1)).weights.dtype == np.int64
    s = nc.Sparse([0, 2], [1, 2 ** 31 + 3], [2 ** 40, 1], shape=(1, 2 ** 31 + 4))
    assert s.indices.dtype == np.int64 and s.weights.dtype == np.int64 and s.indices[1] == 2 ** 31 + 3
    wide, narrow = nc.Sparse.from_dense([[2 ** 40, -3]]), nc.Dense([[2 ** 40, -3]])
    for a, b in zip(_synapses(wide), _synapses(narrow)):
        assert np.array_equal(a, b)


def test_frozen_input_is_shared_and_a_writeable_base_is_copied():
    s = nc.Sparse([0, 3], [0, 1, 2], [1, 2, 3], shape=(1, 3))
    assert np.shares_memory(s.with_weights(np.array([4, 5, 6])).indices, s.indices)
    base = np.array([0, 1, 2], np.int32)
    view = base[:]
    view.setflags(write=False)
    t = nc.Sparse([0, 3], view, [1, 1, 1], shape=(1, 3))
    base[0] = 2
    assert t.indices[0] == 0


@pytest.mark.parametrize("indices,match", [([0, 3], "above its maximum 2"), ([-1, 0], "below its minimum 0"),
                                           ([0.5, 1], "must be integers"), (["a", "b"], "must be integers")])
def test_bad_indices_are_still_refused(indices, match):
    with pytest.raises(ValidationError, match=match):
        nc.Sparse([0, 2], indices, [1, 1], shape=(1, 3))


def _synapses(conn):
    net = nc.Network("n")
    net.input("x", (conn.shape[1],))
    net.population("p", (conn.shape[0],), nc.LoihiLIF(du=0, dv=0, vth=10))
    return projection_synapses(net.connect("x", "p", conn), conn.shape[1], conn.shape[0])


@pytest.mark.parametrize("bits", [8, 3])
def test_int32_weights_give_the_effective_weights_of_int64(bits):
    """The 8-bit clip and the truncation read int32 extremes (|-2^31| does not fit int32) as int64 does."""
    sparse, dense = nc.Sparse.from_dense(EXTREMES, num_weight_bits=bits), nc.Dense(EXTREMES, num_weight_bits=bits)
    assert sparse.weights.dtype == np.int32 and dense.weights.dtype == np.int64
    for a, b in zip(_synapses(sparse), _synapses(dense)):
        assert np.array_equal(a, b)


def test_int32_sparse_runs_like_its_int64_dense_twin():
    """Graded sums that leave int32 (test_graded_wrap's chain, weights at the 8-bit edges): the reference
    results of the int32 Sparse equal those of its int64 Dense twin (both run as Lava processes that wrap
    the int32 sum)."""
    results = []
    for kind in ("sparse", "dense"):
        net, inputs = _graded_chain(kind, 0, 0)
        results.append(simulate_reference(net, 6, inputs, record=("spikes", "sigma")))
    assert np.abs(results[0].payloads["d"]).max() >= 2 ** 29
    for pop in results[1].payloads:
        assert np.array_equal(results[0].payloads[pop], results[1].payloads[pop])


def test_quantize_names_the_worst_int32_weight():
    net = nc.Network("q")
    net.input("x", (6,))
    net.population("p", (2,), nc.LoihiLIF(du=0, dv=0, vth=10))
    net.connect("x", "p", nc.Sparse.from_dense(EXTREMES))
    with pytest.warns(Warning):
        _, report = Quantize().run(net, load_target("loihi2"))
    assert report.clips[0]["worst"] == -2 ** 31 and report.clips[0]["count"] == 3


def test_saved_network_keeps_int64_datasets(tmp_path):
    net = nc.Network("s")
    net.input("x", (6,))
    net.population("p", (2,), nc.LoihiLIF(du=0, dv=0, vth=10))
    net.connect("x", "p", nc.Sparse.from_dense(EXTREMES), name="e")
    path = save_native(net, tmp_path / "n.h5")
    with h5py.File(path, "r") as f:
        conn = f["projections/e/connectivity"]
        assert {k: conn[k].dtype for k in ("indptr", "indices", "weights")} == {k: np.int64 for k in
                                                                              ("indptr", "indices", "weights")}
    back = load_native(path)
    assert back == net and back.projections["e"].connectivity.weights.dtype == np.int32
