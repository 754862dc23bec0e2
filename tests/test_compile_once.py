"""Processes that first call a kernel signature together compile it once (``emulator.compile_once``)."""
import os
import subprocess
import sys
import textwrap
import time

import numpy as np

from neurocomp.backends.emulator import compile_once, zerofill

# A cached function that takes a moment to compile, so that two processes released together overlap in it.
MODULE = textwrap.dedent('''
    import numpy as np
    from numba import njit

    @njit(cache=True)
    def busy(x):
        out = np.zeros_like(x)
        for i in range(x.shape[0]):
            a = x[i]
            for k in range(4):
                out[i] += np.sin(a * k) + np.cos(a + k) + np.sqrt(abs(a) + k) + np.exp(-abs(a) * k)
            if out[i] > 2.0:
                out[i] = np.log1p(out[i])
            elif out[i] < -1.0:
                out[i] = np.tanh(out[i])
        return np.sort(out)
''')

WORKER = textwrap.dedent('''
    import os, sys, time
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import busymod
    from neurocomp.backends.emulator import compile_once
    open(sys.argv[2], "w").close()                       # ready
    while not os.path.exists(sys.argv[3]):               # released together
        time.sleep(0.0005)
    entry = compile_once.entry_point(busymod.busy, (np.arange(5.0),))
    assert np.array_equal(entry(np.arange(5.0)), busymod.busy.py_func(np.arange(5.0)))
    st = busymod.busy.stats
    print(sum(st.cache_misses.values()), sum(st.cache_hits.values()))
''')


def test_processes_released_together_compile_a_signature_once(tmp_path):
    """Two processes ask for one uncompiled signature at the same moment: one compiles it (a cache miss), the
    other waits for the lock and loads it from numba's cache (a hit). Without the lock both would compile."""
    (tmp_path / "busymod.py").write_text(MODULE)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), str(tmp_path / f"ready{i}"), str(go)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    deadline = time.time() + 120
    while not all((tmp_path / f"ready{i}").exists() for i in range(2)) and time.time() < deadline:
        time.sleep(0.01)
    go.touch()
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outs]
    assert sorted(tuple(map(int, out.split())) for out, _ in outs) == [(0, 1), (1, 0)]


def test_entry_point_without_a_cache_directory_compiles_as_numba_does(monkeypatch):
    """Where no lock file can be made the signature is still compiled, and the entry point runs it."""
    from neurocomp.backends.emulator import kernels as K
    monkeypatch.setattr(compile_once, "_lock_path", lambda dispatcher, sig: None)
    entry = compile_once.entry_point(K._identity, (np.arange(4),))
    assert entry(np.arange(4)) and not entry(np.array([1, 0]))


def test_zeroed_in_parts_on_huge_page_cuts():
    """``zerofill.zeroed``: every byte 0 whatever memory it got, parts cut at huge-page boundaries, in order."""
    parts = zerofill.fill_parts(3 * zerofill.HUGE_PAGE - 100, 10 * zerofill.HUGE_PAGE, 3)
    assert parts[0] == 0 and parts[-1] == 10 * zerofill.HUGE_PAGE and np.all(np.diff(parts) >= 0)
    assert np.all((3 * zerofill.HUGE_PAGE - 100 + parts[1:-1]) % zerofill.HUGE_PAGE == 0)
    tiny = zerofill.fill_parts(4096, 1000, 2)            # smaller than a huge page: one part does it all
    assert tiny[0] == 0 and tiny[-1] == 1000 and np.all(np.diff(tiny) >= 0)
    for shape, dtype in (((3, 5), np.int64), ((zerofill.PAR_FILL_BYTES // 8 + 13,), np.int64),
                         ((7, zerofill.PAR_FILL_BYTES // 7 + 1), np.uint8)):
        for _ in range(2):                               # a block freed and taken again holds old bytes
            junk = np.full(shape, 7, dtype)
            del junk
            z = zerofill.zeroed(shape, dtype)
            assert z.shape == shape and z.dtype == dtype and not z.any()
            assert z.ctypes.data % zerofill.ALIGN == 0 and z.flags.c_contiguous and z.flags.writeable


def test_rings_and_state_rows_start_on_a_cache_line():
    """The arrays the kernel walks with vectors start on a line (``zerofill.ALIGN``): a ring 16 bytes past one made
    dense's step ~15 % slower in some processes. Checked on many allocations of odd sizes, and on a run's state."""
    for n in range(1, 200, 7):
        for dtype in (np.int32, np.int64, np.uint8):
            a = zerofill.aligned_copy(np.arange(n, dtype=dtype).reshape(1, n))
            assert a.ctypes.data % zerofill.ALIGN == 0 and np.array_equal(a[0], np.arange(n, dtype=dtype))
    from neurocomp.backends.emulator import engine, warm
    tables = warm.small_tables()
    for _ in range(5):
        st = engine.initial_state(tables, engine.make_plan(tables))
        assert st.work.ring.ctypes.data % zerofill.ALIGN == 0
        assert all(rows.ctypes.data % zerofill.ALIGN == 0 for rows in st.S if rows.size)   # (a model no neuron
        # runs: rows of no columns, nothing to walk)


def test_warm_signatures_are_those_of_real_runs():
    """``warm.kernel_args`` differ from a real run's kernel arguments in the ring's and the weights' dtypes only,
    and give each of the four signatures: what ``make test`` compiles first is what the runs then ask for."""
    import numba
    import neurocomp as nc
    from neurocomp.backends.emulator import warm
    from neurocomp.mapping.tables import build_core_tables
    rng = np.random.default_rng(0)
    net = nc.Network("real")
    net.input("x", (6,))
    net.population("p", (5,), nc.LoihiLIF(du=100, dv=200, vth=10))
    net.connect("x", "p", nc.Dense(rng.integers(-100, 100, (5, 6)), weight_exp=-1))
    tables = build_core_tables(net, {"p": np.array([0, 1, 1, 2, 2])}, 3)
    args = warm.caught_args(tables, 7, {"x": (rng.random((7, 6)) < 0.5).astype(np.uint8)}, ("spikes", "v"))
    real = tuple(numba.typeof(a) for a in args)
    ring = next(a.ring.dtype for a in args if hasattr(a, "scratch"))
    weights = next(a.syn_weight.dtype for a in args if hasattr(a, "run_weight"))
    sigs = {r_w: tuple(numba.typeof(a) for a in warm.kernel_args(*r_w)) for r_w in warm.SIGNATURES}
    assert len(set(sigs.values())) == 4
    assert sigs[(ring.type, weights.type)] == real


def test_numba_cache_entries_are_saved_data_first_under_a_lock(tmp_path, monkeypatch):
    """``kernel_cache`` replaces numba's ``IndexDataCacheFile.save``: the index names an entry only once its data
    file is written, a new entry takes a name the index on disk does not hold, and the index file is locked."""
    import fcntl
    from numba.core import caching
    from neurocomp import kernel_cache
    assert caching.IndexDataCacheFile.save is kernel_cache._locked_save
    files = caching.IndexDataCacheFile(str(tmp_path), "f", ("stamp",))
    seen = []
    save_index = files._save_index

    def checked(overloads):
        lock = os.open(files._index_path + ".lock", os.O_RDWR)
        try:                                  # held: another open file description cannot take it now
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = False
            except BlockingIOError:
                held = True
        finally:
            os.close(lock)
        seen.append((held, all((tmp_path / name).exists() for name in overloads.values())))
        save_index(overloads)
    monkeypatch.setattr(files, "_save_index", checked)
    files.save("a", ("data a",))
    other = caching.IndexDataCacheFile(str(tmp_path), "f", ("stamp",))      # another process's view, made earlier
    other.save("b", ("data b",))
    files.save("a", ("data a2",))                                          # an entry saved again keeps its name
    assert seen == [(True, True)]                                          # (other's index save is numba's own)
    assert files.load("a") == ("data a2",) and files.load("b") == ("data b",)
    assert sorted(files._load_index().values()) == ["f.1.nbc", "f.2.nbc"]
