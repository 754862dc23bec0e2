"""The numba kernel on several threads (cores of a step in parallel, ``kernels.run_steps``) gives the same
spikes, states, payloads and counters as on one, on random networks of every neuron kind, connection kind,
delay mode and mapping."""
import itertools
import subprocess
import sys

import numba
import numpy as np
import pytest

import neurocomp as nc
from neurocomp.backends.emulator import emulate_tables, make_plan, kernels as K
from neurocomp.backends.emulator import engine as E
from neurocomp.backends.emulator.engine import kernel_threads
from neurocomp.errors import ValidationError
from neurocomp.mapping.tables import build_core_tables
from neurocomp.semantics.inputs import InputSpec

import modelnet
from netgen import STEPS, random_inputs, random_mapping, random_network

THREADS = numba.config.NUMBA_NUM_THREADS
needs_threads = pytest.mark.skipif(THREADS < 2, reason="NUMBA_NUM_THREADS < 2: one thread only")


@pytest.fixture(autouse=True)
def _always_parallel(monkeypatch):
    """These networks are small: run them on threads all the same (no minimum size, every step in groups)."""
    monkeypatch.setattr(K, "PAR_NEURONS", 0)
    monkeypatch.setattr(K, "PAR_STEP_NS", 0.0)


def _same_run(net, tables, steps, inputs, record):
    spec = InputSpec.of_network(net)
    one = emulate_tables(tables, steps, inputs, record, threads=1, input_spec=spec)
    many = emulate_tables(tables, steps, inputs, record, threads=THREADS, input_spec=spec)
    for a, b in zip(one.arrays().items(), many.arrays().items()):
        assert a[0] == b[0]
        np.testing.assert_array_equal(a[1], b[1], err_msg=a[0])
    for name, arr in one.report["counters"].items():
        np.testing.assert_array_equal(arr, many.report["counters"][name], err_msg=name)
    # uncounted too (an undelayed network's groups deliver shares of the sources, ``by_source``, either way)
    bare = emulate_tables(tables, steps, inputs, record, threads=THREADS, input_spec=spec, counters=False)
    for a, b in zip(one.arrays().items(), bare.arrays().items()):
        np.testing.assert_array_equal(a[1], b[1], err_msg=a[0] + ", uncounted")
    return one


@needs_threads
@pytest.mark.parametrize("seed", range(6))
def test_threads_equal_one_thread_lif(seed):
    """LoihiLIF networks with delays (all ring modes), Conv, and 1-16 cores (more cores than threads)."""
    net = random_network(seed, 1 + seed % 4, seed % 3, seed % 2 == 0, max_size=300)
    n_cores = [1, 2, 3, 8, 16, 5][seed]
    tables = build_core_tables(net, random_mapping(net, seed, n_cores), n_cores)
    res = _same_run(net, tables, STEPS, random_inputs(net, seed), ("spikes", "v", "u"))
    assert sum(int(s.sum()) for s in res.spikes.values()) > 0 or seed % 3 == 0


@needs_threads
@pytest.mark.parametrize("seed", range(10))
def test_threads_equal_one_thread_all_models(seed):
    """Every registered neuron kind, graded payloads and wrap overflows (modelnet), random mappings."""
    net, steps, inputs = modelnet.random_model_network(seed, overflow=seed % 2 == 1)
    mapping, n_cores = modelnet.random_mapping(net, seed)
    tables = build_core_tables(net, mapping, n_cores)
    _same_run(net, tables, steps, inputs, modelnet.RECORD)


def test_parallel_step_rule():
    """A step takes a parallel region only with several groups and an estimated cost of at least the threshold."""
    assert not K.parallel_step(1, 10 ** 6, 10 ** 9, 6.0, 1.5, 0.0)           # one group: never
    assert K.parallel_step(2, 1000, 0, 2.0, 0.1, 2000.0)                    # 1000 neurons x 2 ns: at the line
    assert not K.parallel_step(2, 999, 0, 2.0, 0.1, 2000.0)
    assert K.parallel_step(2, 0, 20_000, 2.0, 0.1, 2000.0)                   # 20k events x 0.1 ns
    assert not K.parallel_step(2, 0, 20_000, 2.0, 0.0, 2000.0)               # events not split: not counted
    assert K.parallel_step(2, 0, 0, 2.0, 0.1, 0.0)                           # threshold 0: every step


@needs_threads
@pytest.mark.parametrize("seed", range(3))
def test_steps_switching_between_one_group_and_several_equal_one_thread(seed, monkeypatch):
    """Thresholds around these networks' step estimates (a few us), so that some steps run as one group without a
    region and others in groups, and the run switches between them: every threshold gives one thread's run."""
    net = random_network(seed + 20, 2 + seed % 2, seed % 3, True, max_size=300)
    tables = build_core_tables(net, random_mapping(net, seed, 4 + seed), 4 + seed)
    inputs = random_inputs(net, seed)
    for par_step_ns in (500.0, 2_000.0, 5_000.0, 20_000.0, 1e12):
        monkeypatch.setattr(K, "PAR_STEP_NS", par_step_ns)
        _same_run(net, tables, STEPS, inputs, ("spikes", "v"))


def test_threads_option_is_checked():
    with pytest.raises(ValidationError, match="threads=0"):
        with kernel_threads(0):
            pass
    with pytest.raises(ValidationError, match="NUMBA_NUM_THREADS"):
        with kernel_threads(THREADS + 1):
            pass
    before = numba.get_num_threads()
    with kernel_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


def test_lava_imports_after_a_threaded_run():
    """numba's first parallel launch must not fix multiprocessing's start method: Lava sets it on import."""
    code = ("import numpy as np, neurocomp as nc\n"
            "from neurocomp.backends.emulator import emulate_tables, kernels as K\n"
            "from neurocomp.mapping.tables import build_core_tables\n"
            "K.PAR_NEURONS = 0; K.PAR_STEP_NS = 0.0\n"
            "net = nc.Network('n'); net.input('x', (3,)); net.population('p', (4,), nc.LoihiLIF(du=0, dv=0, vth=1))\n"
            "net.connect('x', 'p', nc.Dense(np.full((4, 3), 100)))\n"
            "t = build_core_tables(net, {'p': np.array([0, 0, 1, 1])}, 2)\n"
            "r = emulate_tables(t, 3, {'x': np.ones((3, 3), np.uint8)}, threads=THREADS)\n"
            "import lava.magma.runtime.message_infrastructure.multiprocessing\n"
            "print('ok', int(r.spikes['p'].sum()))\n").replace("THREADS", str(THREADS))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[0] == "ok"


def _step_groups(tables, n_threads, activity=K.ACTIVITY_PRIOR):
    plan = make_plan(tables)
    d = plan.dendrites
    n_groups = max(1, min(n_threads, tables.n_cores))
    cores, cells = np.zeros(n_groups + 1, np.int64), np.zeros(n_groups, np.int64)
    core_cell = K.core_first_cells(tables.core_neuron_ptr, d.dend_ptr, d.dend_off, plan.ring_size)
    K.step_groups(n_groups, plan.routes.split_syn, activity, tables.core_neuron_ptr, core_cell, cores, cells)
    return cores, cells


def test_step_groups_balance_neurons_and_synapses_and_own_their_cells():
    """The random multi-core networks above really run in several groups: consecutive cores, about equal in
    estimated work (NEURON_WORK per neuron + activity per synapse copy; neurons alone at activity 0, synapses
    dominating at a high one), each group's first ring cell the lowest of its cores'."""
    net = random_network(3, 4, 2, False, max_size=300)
    tables = build_core_tables(net, random_mapping(net, 3, 8), 8)
    plan = make_plan(tables)
    split = plan.routes.split_syn
    copies = np.diff(plan.routes.route_syn_ptr.astype(np.int64))
    assert split.size == 9 and split[-1] == copies.sum() > 0
    np.testing.assert_array_equal(np.diff(split), np.bincount(tables.route_core.astype(np.int64), copies, 8))
    nrn = np.asarray(tables.core_neuron_ptr, np.int64)
    for activity in (0.0, 0.01, 1e6):
        work = K.NEURON_WORK * nrn + activity * split
        for k in (2, 3, 8, 20):
            cores, cells = _step_groups(tables, k, activity)
            assert cores.size - 1 == min(k, 8) and cores[0] == 0 and cores[-1] == 8 and np.all(np.diff(cores) >= 0)
            d = plan.dendrites
            for g in range(1, cores.size - 1):       # the lowest cell of the group's cores and every later one
                first = d.dend_ptr[tables.core_neuron_ptr[cores[g]]]
                assert cells[g] == (d.dend_off[first:].min() if first < d.dend_off.size else plan.ring_size)
                # the cut is the first core whose work before it reaches g / groups of the total
                assert work[cores[g]] >= work[-1] * g / (cores.size - 1) > work[cores[g] - 1]
    # no events: the cut balances neurons; very many: it balances synapse copies
    lo, hi = _step_groups(tables, 2, 0.0)[0][1], _step_groups(tables, 2, 1e6)[0][1]
    assert lo == np.searchsorted(K.NEURON_WORK * nrn, K.NEURON_WORK * nrn[-1] / 2)
    assert hi == np.searchsorted(split, split[-1] / 2)


def test_phase3_split_refuses_unsorted_routes_and_split_dendrites():
    route_ptr = np.array([0, 2, 3, 5])
    syn_ptr = np.arange(6) * 2
    assert K.phase3_split(route_ptr, np.array([0, 2, 1, 0, 1]), syn_ptr, 3, False).tolist() == [0, 4, 8, 10]
    assert K.phase3_split(route_ptr, np.array([2, 0, 1, 0, 1]), syn_ptr, 3, False).size == 0   # source 0: 2, 0
    assert K.phase3_split(route_ptr, np.array([0, 2, 1, 0, 1]), syn_ptr, 3, True).size == 0


@needs_threads
def test_threads_equal_one_thread_learning():
    """Learning runs (one kernel call per step, weights rewritten between) on many cores: phase 3 in groups."""
    rng = np.random.default_rng(7)
    net = nc.Network("rstdp")
    net.input("in", (6,))
    net.input("rew", (1,))
    net.population("p", (4,), nc.LoihiLIF(du=200, dv=300, vth=8, bias_mant=3))
    net.population("q", (3,), nc.LoihiLIF(du=100, dv=100, vth=5))
    net.connect("in", "p", nc.Dense(rng.integers(0, 120, (4, 6)), sign_mode=nc.SignMode.MIXED),
                name="plastic", learning=nc.rules.rstdp("rew", lr=2 ** -1, t_epoch=2))
    net.connect("p", "q", nc.Dense(rng.integers(-20, 100, (3, 4))), delay=rng.integers(0, 3, (3, 4)), name="pq")
    net.connect("q", "p", nc.Dense(rng.integers(-50, 50, (4, 3)), sign_mode=nc.SignMode.MIXED), name="qp",
                learning=nc.rules.stdp(t_epoch=1, rng_seed=5))
    inputs = {"in": (rng.random((30, 6)) < 0.5).astype(np.uint8), "rew": rng.integers(0, 128, 30)}
    art = nc.compile(net, "loihi2", max_neurons_per_core=1)
    assert _step_groups(art.tables, THREADS)[0].size > 2
    one = nc.emulate(art, 30, inputs, record=("spikes", "v", "weights"), threads=1)
    many = nc.emulate(art, 30, inputs, record=("spikes", "v", "weights"), threads=THREADS)
    assert one.spikes["p"].any() and not np.array_equal(one.weights["plastic"], net.projections["plastic"]
                                                        .connectivity.weights)
    for (name, a), (_, b) in zip(one.arrays().items(), many.arrays().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)


@needs_threads
def test_threads_equal_one_thread_split_dendrites():
    """Split dendrites (partial sums): phase 3 stays one group, phase 1+2 runs in parallel; same results."""
    from test_fanin import compile_plain, forcing_axons, small_target
    net = random_network(4, 3, 2, False, max_size=120)
    art = compile_plain(net, small_target(forcing_axons(net)), max_neurons_per_core=64)
    assert art.tables.n_psum > 0 and make_plan(art.tables).routes.split_syn.size == 0
    x = random_inputs(net, 4)
    one = emulate_tables(art.tables, 30, x, ("spikes", "v"), threads=1)
    many = emulate_tables(art.tables, 30, x, ("spikes", "v"), threads=THREADS)
    for (name, a), (_, b) in zip(one.arrays().items(), many.arrays().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    for name, arr in one.report["counters"].items():
        np.testing.assert_array_equal(arr, many.report["counters"][name], err_msg=name)


def _conv_sdnn(seed):
    """Graded conv layers without delays (stride, padding, groups, zero weights), then Dense -> Sigma: the
    plan walks runs of consecutive ring cells (``engine.cell_runs``)."""
    rng = np.random.default_rng(seed)
    net = nc.Network(f"convruns{seed}")
    shape = (2, int(rng.integers(4, 8)), int(rng.integers(4, 8)))
    net.input("x", shape)
    net.population("d", shape, nc.Delta(vth=int(rng.integers(0, 4))))
    net.connect("x", "d", nc.OneToOne(1, num_message_bits=24))
    prev = "d"
    for layer in range(2):
        c_in, h, w = net.populations[prev].shape
        groups = int(rng.choice([1, 2])) if c_in % 2 == 0 else 1
        c_out = groups * int(rng.integers(1, 4))
        k = int(rng.integers(1, min(3, h, w) + 1))
        kern = rng.integers(-60, 60, (c_out, c_in // groups, k, k)) * (rng.random((c_out, c_in // groups, k, k)) < 0.7)
        conv = nc.Conv2d(2 * kern, input_shape=net.populations[prev].shape, stride=int(rng.integers(1, 3)),
                         padding=int(rng.integers(0, 2)), groups=groups, sign_mode="mixed")
        name = f"c{layer}"
        net.population(name, conv.output_shape, nc.SigmaDelta(vth=int(rng.integers(0, 6)), act_mode=1,
                                                              bias=rng.integers(-20, 20, conv.shape[0])))
        net.connect(prev, name, conv)
        prev = name
    n = net.populations[prev].size
    net.population("o", (3,), nc.Sigma())
    net.connect(prev, "o", nc.Dense(rng.integers(-50, 50, (3, n))))
    steps = 8
    x = rng.integers(-40, 40, (steps, *shape)) * (rng.random((steps, *shape)) < 0.6)
    return net, steps, {"x": x}


@pytest.mark.parametrize("seed", range(8))
def test_cell_runs_equal_their_numpy_spec(seed):
    """``engine.cell_runs`` (two numba passes) gives the arrays of its numpy spec ``cell_runs_np``, dtypes
    included: routes of 0 or more copies, cells rising by 1, by holes up to ``gap`` and past it, repeating
    and falling, int8/int16/int32 weights; and None where both find the runs too short."""
    rng = np.random.default_rng(seed)
    n_routes = int(rng.integers(1, 40))
    per = rng.integers(0, 30, n_routes) * (rng.random(n_routes) < 0.8)
    ptr = np.concatenate([[0], np.cumsum(per)]).astype(np.int64)
    n = int(ptr[-1])
    steps = rng.choice([1, 1, 1, 2, 3, 5, 0, -4], n)
    cells = (rng.integers(0, 50) + np.cumsum(steps)).astype(np.int32)
    cells -= min(0, int(cells.min(initial=0)))
    dtype = [np.int8, np.int16, np.int32][seed % 3]
    weights = rng.integers(-100, 100, n).astype(dtype)
    # zero-weight cells before a route's first run and after its last (``route_pads``: routes with copies only)
    pads = rng.integers(0, 4, (2, n_routes)) * (np.diff(ptr) > 0) * (rng.random((2, n_routes)) < 0.5)
    for gap, min_mean, pad in itertools.product((0, 1, 3), (0, 2, 50), (None, pads)):
        got = E.cell_runs(cells, weights, ptr, gap=gap, min_mean=min_mean, pads=pad)
        want = E.cell_runs_np(cells, weights, ptr, gap=gap, min_mean=min_mean, pads=pad)
        assert (got is None) == (want is None), (gap, min_mean)
        if got is None:
            continue
        for g, w in zip(got, want):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)
        if pad is not None:          # the pads widen each route's first run to the left and its last to the right
            bare = E.cell_runs_np(cells, weights, ptr, gap=gap, min_mean=min_mean)
            rr = want[0]
            has = np.diff(rr) > 0
            first, last = rr[:-1][has], rr[1:][has] - 1
            lead, tail = np.zeros(rr[-1], np.int64), np.zeros(rr[-1], np.int64)
            lead[first] = pad[0][has]
            tail[last] = pad[1][has]
            grow = lead + tail               # (a route of one run: both on it)
            np.testing.assert_array_equal(want[3], bare[3] - lead)
            np.testing.assert_array_equal(want[2], bare[2] + grow)
            pool, start, length = want[4], want[1], want[2]
            for i in np.nonzero(grow)[0]:          # a pad adds 0, and the copies' weights keep their cells
                w = pool[start[i]:start[i] + length[i]]
                assert not np.any(w[:lead[i]]) and not np.any(w[length[i] - tail[i]:])
                np.testing.assert_array_equal(w[lead[i]:length[i] - tail[i]],
                                              bare[4][bare[1][i]:bare[1][i] + bare[2][i]])


def _undelayed_net(seed, n_cores):
    """Undelayed binary layers on ``n_cores`` cores: Dense rows walked as runs, Sparse copies, a recurrent
    projection; (network, tables, 40 steps of inputs)."""
    rng = np.random.default_rng(seed)
    net = nc.Network(f"bysource{seed}")
    net.input("in", (40,))
    net.population("x", (200,), nc.LoihiLIF(du=1000, dv=300, vth=rng.integers(500, 3000, 200)))
    net.connect("in", "x", nc.Dense(rng.integers(-50, 120, (200, 40))))
    net.population("y", (100,), nc.LoihiLIF(du=1000, dv=300, vth=1000))
    net.connect("x", "y", nc.Sparse.from_dense(rng.integers(-50, 120, (100, 200)) * (rng.random((100, 200)) < 0.3)))
    net.connect("y", "x", nc.Sparse.from_dense(-rng.integers(0, 80, (200, 100)) * (rng.random((200, 100)) < 0.1)))
    mapping = random_mapping(net, seed, n_cores) if seed % 2 else \
        {p.name: (np.arange(p.size) * n_cores) // p.size for p in net.neuron_populations}
    return net, build_core_tables(net, mapping, n_cores), {"in": (rng.random((40, 40)) < 0.3).astype(np.uint8)}


@needs_threads
@pytest.mark.parametrize("seed", range(4))
def test_sources_split_among_groups_equal_one_thread(seed):
    """Undelayed binary networks (Dense rows walked as runs, Sparse copies, a recurrent projection): each thread
    delivers pieces of the spiking sources into a ring copy of its own, and counts them into counter rows of its
    own, folded into the groups' cells and cores before their neurons read them (``run_steps``' ``by_source``).
    Spikes, v, u and every counter equal one thread's, counted and uncounted."""
    net, tables, inputs = _undelayed_net(seed, [2, 3, 4, 7][seed])
    plan = make_plan(tables)
    assert plan.dendrites.all_direct and plan.routes.split_syn.size == tables.n_cores + 1 and not plan.psums.enabled
    one = _same_run(net, tables, 40, inputs, ("spikes", "v", "u"))    # counted (each group's counts folded too)
    assert sum(int(s.sum()) for s in one.spikes.values()) > 100        # and uncounted
    # these sources reach most cores, so their counts come from count rows after the steps; without the rows,
    # each group counts its sources' routes while it delivers them
    walk = make_plan(tables, count_rows=False)
    assert walk.routes.count_row.size == 0
    many = emulate_tables(tables, 40, inputs, ("spikes",), threads=THREADS, plan=walk)
    for name, arr in one.report["counters"].items():
        np.testing.assert_array_equal(arr, many.report["counters"][name], err_msg=name)


@pytest.mark.parametrize("delayed", [False, True])
def test_team_finishes_with_fewer_threads_than_groups(delayed, monkeypatch):
    """``run_steps``' team claims its tasks, so one thread running every member in turn (more groups than numba
    threads) still finishes, with one thread's results: the first member takes every piece of the by-source
    delivery and every task of every step (the other members' too) and runs every ``_advance``, the others find the
    call over. Undelayed (by sources, two phases a step) and delayed (by destination cores, one phase)."""
    if delayed:
        net = random_network(0, 3, 1, False, max_size=200)
        tables = build_core_tables(net, random_mapping(net, 0, 6), 6)
        steps, inputs = STEPS, random_inputs(net, 0)
    else:
        net, tables, inputs = _undelayed_net(1, 6)
        steps = 40
    assert make_plan(tables).dendrites.all_direct != delayed
    spec = InputSpec.of_network(net)
    one = emulate_tables(tables, steps, inputs, ("spikes", "v"), threads=1, input_spec=spec)
    run_kernel = E.EngineState.run_kernel                    # numba runs one thread, the kernel 4 groups
    monkeypatch.setattr(E.EngineState, "run_kernel", lambda self, *args, n_threads=None: run_kernel(self, *args,
                                                                                                      n_threads=4))
    many = emulate_tables(tables, steps, inputs, ("spikes", "v"), threads=1, input_spec=spec)
    assert sum(int(s.sum()) for s in one.spikes.values()) > 0
    for a, b in zip(one.arrays().items(), many.arrays().items()):
        np.testing.assert_array_equal(a[1], b[1], err_msg=a[0])
    for name, arr in one.report["counters"].items():
        np.testing.assert_array_equal(arr, many.report["counters"][name], err_msg=name)


@needs_threads
@pytest.mark.parametrize("seed", range(6))
def test_conv_runs_equal_copies_spec_and_threads(seed, monkeypatch):
    """The run walk (conv cells channel-minor, zero-weight holes bridged) == the per-copy walk == the numpy
    spec, on 1 and 2 threads: payloads, states and every counter; whole-population and scattered mappings."""
    net, steps, inputs = _conv_sdnn(seed)
    n_cores = [1, 2, 3, 5, 8, 4][seed]
    if seed % 2:
        mapping = random_mapping(net, seed, n_cores)
    else:              # consecutive neurons share a core: a conv position's channels may straddle two
        mapping = {p.name: (np.arange(p.size) * n_cores) // p.size for p in net.neuron_populations}
    tables = build_core_tables(net, mapping, n_cores)
    record = ("spikes", "v")
    spec = emulate_tables(tables, steps, inputs, record, engine="numpy", input_spec=InputSpec.of_network(net))
    monkeypatch.setattr(E, "RUN_MIN", 0)
    assert make_plan(tables).routes.run_cell.size > 0
    runs = _same_run(net, tables, steps, inputs, record)
    monkeypatch.setattr(E, "RUN_MIN", 1 << 40)
    plan = make_plan(tables)
    assert plan.routes.run_cell.size == 0 and plan.routes.syn_ring.size > 0
    copies = _same_run(net, tables, steps, inputs, record)
    for other in (copies, spec):
        for (name, a), (_, b) in zip(runs.arrays().items(), other.arrays().items()):
            np.testing.assert_array_equal(a, b, err_msg=name)
        for name, arr in runs.report["counters"].items():
            np.testing.assert_array_equal(arr, other.report["counters"][name], err_msg=name)
    assert any(np.count_nonzero(p) for p in runs.payloads.values())


@pytest.mark.parametrize("seed", range(4))
def test_dedup_runs_equals_its_spec(seed):
    """Runs with repeated weight vectors (a conv kernel at every position) share one slice of the pool:
    the numba dedup == the numpy spec, and every run still reads its own weights."""
    rng = np.random.default_rng(seed)
    vocab = [rng.integers(-3, 4, int(rng.integers(0, 6))).astype(np.int16) for _ in range(5)]
    runs = [vocab[int(rng.integers(0, 5))] if rng.random() < 0.7 else rng.integers(-3, 4, 3).astype(np.int16)
            for _ in range(60)]
    run_w = np.concatenate([[0], np.cumsum([r.size for r in runs])]).astype(np.int64)
    flat = np.concatenate(runs).astype(np.int16)
    start, length, pool = K.dedup_runs(run_w, flat)
    s_np, l_np, p_np = K.dedup_runs_np(run_w, flat)
    np.testing.assert_array_equal(start, s_np)
    np.testing.assert_array_equal(length, l_np)
    np.testing.assert_array_equal(pool, p_np)
    assert pool.dtype == flat.dtype and pool.size < flat.size
    for i, r in enumerate(runs):
        np.testing.assert_array_equal(pool[start[i]:start[i] + length[i]], r)


def test_runs_take_payloads_past_32_bits_exactly(monkeypatch):
    """The run walk multiplies a 32-bit payload in 32-bit lanes; a wider one (not a chip message, but the kernel
    must not truncate it) takes the 64-bit product: rings equal to the per-copy walk's for both."""
    net, _, _ = _conv_sdnn(3)
    n_cores = 3
    mapping = {p.name: (np.arange(p.size) * n_cores) // p.size for p in net.neuron_populations}
    tables = build_core_tables(net, mapping, n_cores)
    d_ids = np.nonzero(np.asarray(tables.neuron_pop) == list(tables.pop_names).index("d"))[0]
    src = d_ids.astype(np.int64)
    rings = []
    for run_min in (0, 1 << 40):
        monkeypatch.setattr(E, "RUN_MIN", run_min)
        plan = make_plan(tables)
        assert (plan.routes.run_cell.size > 0) == (run_min == 0)
        for val in (np.full(src.size, 7, np.int64), np.where(src % 2, 3 << 40, -(5 << 33)).astype(np.int64)):
            work = plan.work_arrays()
            counts = K.Counters(False, np.zeros((8, 0, 0), np.int64), np.zeros(0, np.int64))
            K.deliver_events(1, 0, src, val, src.size, plan.dendrites, work, plan.routes, counts, plan.psums)
            rings.append(work.ring.copy())
    assert np.array_equal(rings[0], rings[2]) and np.array_equal(rings[1], rings[3])
    assert np.abs(rings[3]).max() > 2 ** 40


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_spike_list_returned_after_odd_and_even_calls(steps):
    """``run_steps`` returns step t_last's spiking sources in the caller's ``spiked`` / ``work.payload`` (a closed
    loop and a distributed rank read them) for an odd number of steps too, when the list ends in the kernel's
    second buffer and is copied back: the graded payloads equal the recorded ones (regression: numba dropped
    the copy of the payloads as dead code, and the ranks of tests/test_mpi.py sent 1 for every payload)."""
    net, _, _ = modelnet.random_model_network(0)
    mapping, n_cores = modelnet.random_mapping(net, 0)
    tables = build_core_tables(net, mapping, n_cores)
    plan = make_plan(tables)
    state = E.initial_state(tables, plan)
    run = E._setup_run(tables, plan, steps, ("spikes",), {}, set(tables.input_names), None, False, False, None,
                       [], True, {})
    assert run.recorder.do_payloads
    no_inputs = K.InputEvents(np.zeros(steps + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    spiked = np.zeros(max(tables.n_sources, 1), np.int64)
    n = K.run_steps(1, steps, 0, E._segment_neurons(tables, plan, state, None, None), plan.dendrites, state.work,
                    plan.routes, no_inputs, run.recorder, run.counters, spiked, plan.psums, 1, K.ROW_BUFFER,
                    float(K.PAR_STEP_NS))
    src, pay = spiked[:n], state.work.payload[:n]
    col = run.recorder.rec_col[src]
    assert n and (col >= 0).all()
    np.testing.assert_array_equal(run.recorder.spikes[steps - 1, col], 1)
    np.testing.assert_array_equal(pay, run.recorder.payloads[steps - 1, col])
    assert run.recorder.spikes[steps - 1].sum() == n and np.any(pay != 1)     # not spikes alone


def test_binary_runs_without_copies_when_nothing_learns():
    """A binary dense layer takes the run walk; with no learning projection the plan drops the per-copy columns
    (make_plan(copies=False): what emulate and Simulator build then) and runs the same as with them; a
    learning run refuses such a plan by name."""
    from neurocomp.backends.emulator.engine import initial_state
    from neurocomp.errors import BackendError
    rng = np.random.default_rng(3)
    net = nc.Network("dense_runs")
    net.input("in", (40,))
    net.population("p", (64,), nc.LoihiLIF(du=4095, dv=300, vth=60))
    net.connect("in", "p", nc.Dense(rng.integers(-30, 60, (64, 40))), name="w")
    tables = build_core_tables(net, {"p": np.arange(64) % 4}, 4)
    inputs = {"in": (rng.random((25, 40)) < 0.3).astype(np.uint8)}
    kept, bare = make_plan(tables), make_plan(tables, copies=False)
    assert kept.routes.run_cell.size > 0 and kept.routes.syn_ring.size == tables.n_synapses
    assert bare.routes.syn_ring.size == 0 and bare.nbytes < kept.nbytes - 4 * tables.n_synapses
    a = emulate_tables(tables, 25, inputs, ("spikes", "v"), plan=kept)
    b = emulate_tables(tables, 25, inputs, ("spikes", "v"), plan=bare)
    assert a.spikes["p"].any()
    for (name, x), (_, y) in zip(a.arrays().items(), b.arrays().items()):
        np.testing.assert_array_equal(x, y, err_msg=name)
    learn = nc.Network("dense_learn")
    learn.input("in", (40,))
    learn.population("p", (64,), nc.LoihiLIF(du=4095, dv=300, vth=60))
    learn.connect("in", "p", nc.Dense(rng.integers(0, 60, (64, 40))), name="w", learning=nc.rules.stdp(t_epoch=1))
    lt = build_core_tables(learn, {"p": np.arange(64) % 4}, 4)
    plan = make_plan(lt, copies=False)
    assert plan.routes.run_cell.size > 0
    with pytest.raises(BackendError, match="copies=False"):
        initial_state(lt, plan, [learn.projections["w"]])
    with pytest.raises(BackendError, match="copies=False"):                  # the API says it too
        emulate_tables(lt, 5, {"in": inputs["in"][:5]}, plan=plan, learning=[learn.projections["w"]])
    assert emulate_tables(lt, 5, {"in": inputs["in"][:5]}, learning=[learn.projections["w"]]).weights["w"].size


@pytest.mark.parametrize("seed", range(3))
def test_count_rows_equal_the_route_walk_and_the_spec(seed, monkeypatch):
    """Sources reaching many cores count their packets and synaptic ops from one row of per-core copies
    (``kernels.count_rows``); others, and a source with a route of over 255 copies, walk their routes. The
    counters equal the numpy spec's and a run without rows, on one thread and on two groups, with the rows
    added at the end of the call or (a buffer of two steps) in the regions along the way."""
    rng = np.random.default_rng(seed)
    net = nc.Network("count_rows")
    net.input("in", (30,))
    net.population("p", (400,), nc.LoihiLIF(du=4095, dv=300, vth=rng.integers(40, 90, 400)))
    net.population("q", (60,), nc.LoihiLIF(du=800, dv=500, vth=50))
    net.connect("in", "p", nc.Sparse.from_dense(rng.integers(-20, 80, (400, 30)) * (rng.random((400, 30)) < 0.5)))
    net.connect("p", "q", nc.Sparse.from_dense(rng.integers(-10, 40, (60, 400)) * (rng.random((60, 400)) < 0.05)))
    net.connect("in", "q", nc.Dense(rng.integers(0, 30, (60, 30))), delay=1)
    p_core = np.where(np.arange(400) < 300, 0, 1 + rng.integers(0, 15, 400))   # 300 posts on core 0: > 255 copies
    tables = build_core_tables(net, {"p": p_core, "q": 16 + rng.integers(0, 8, 60)}, 24)
    row, table = K.count_rows(tables.route_ptr, tables.route_core, make_plan(tables).routes.route_syn_ptr, 24)
    n_in = np.diff(tables.route_ptr)
    assert row.size and 0 < (row >= 0).sum() < (n_in > 0).sum()      # both ways are taken
    assert table.max() <= 255
    assert make_plan(tables, count_rows=False).routes.count_row.size == 0     # what a run without counters makes
    inputs = {"in": (rng.random((40, 30)) < 0.3).astype(np.uint8)}
    spec = InputSpec.of_network(net)
    runs = {"rows": emulate_tables(tables, 40, inputs, ("spikes",), threads=1, input_spec=spec),
            "numpy": emulate_tables(tables, 40, inputs, ("spikes",), engine="numpy", input_spec=spec)}
    if THREADS >= 2:
        runs["rows, 2 groups"] = emulate_tables(tables, 40, inputs, ("spikes",), threads=2, input_spec=spec)
    monkeypatch.setattr(K, "ROW_BUFFER", 1)               # the rows added every step or two, in the regions
    runs["rows, small buffer"] = emulate_tables(tables, 40, inputs, ("spikes",), threads=1, input_spec=spec)
    if THREADS >= 2:
        runs["rows, small buffer, 2 groups"] = emulate_tables(tables, 40, inputs, ("spikes",), threads=2,
                                                              input_spec=spec)
    monkeypatch.setattr(K, "COUNT_ROW_DENSITY", np.inf)
    runs["no rows"] = emulate_tables(tables, 40, inputs, ("spikes",), threads=1, input_spec=spec)
    ref = runs.pop("numpy").report["counters"]
    assert ref["packets_in"].sum() > 0
    for label, res in runs.items():
        for name, arr in res.report["counters"].items():
            np.testing.assert_array_equal(arr, ref[name], err_msg=f"{label}: {name}")


def test_pieces_claimed_own_first_then_the_others_from_the_back():
    """``_claim_next``: a member takes its own even run of the pieces front to back, then the other members'
    still open back to front, each piece once; nothing of another published step (a stale claim word), and -1
    once none is open."""
    g = 5

    def claims(member, n_members, n_items, taken=()):
        sync = np.zeros(K.SY_LINE * n_items, np.int64)
        for p in range(n_items):
            sync[K.SY_LINE * p] = 2 * g if p not in taken else 2 * g + 1
        out = []
        while True:
            p = K._claim_next(sync, 0, g, member, n_members, n_items)
            if p < 0:
                break
            out.append(int(p))
        assert all(sync[K.SY_LINE * p] == 2 * g + 1 for p in range(n_items))
        assert K._claim_next(sync, 0, g + 1, member, n_members, n_items) == -1
        return out

    assert claims(0, 2, 8) == [0, 1, 2, 3, 7, 6, 5, 4]
    assert claims(1, 2, 8) == [4, 5, 6, 7, 3, 2, 1, 0]
    assert claims(1, 2, 8, taken=(4, 5, 7)) == [6, 3, 2, 1, 0]
    assert claims(0, 2, 3) == [0, 1, 2] and claims(1, 2, 3) == [2, 1, 0]
    assert claims(0, 2, 1) == [0] and claims(1, 2, 1) == [0]            # one piece: member 0's
    assert claims(2, 3, 7) == [5, 6, 2, 1, 0, 4, 3]
    stale = np.full(K.SY_LINE * 4, 2 * (g - 1), np.int64)                 # open in the step before
    assert K._claim_next(stale, 0, g, 0, 2, 4) == -1


def test_sources_cut_into_pieces_halving_within_each_thread():
    """``_cut_sources``: consecutive pieces covering every spiking source once, each boundary at the first source
    whose work before it (synapse copies plus ``SOURCE_WORK`` a source, read from the copies that travel with the
    spike list) reaches its target: with ``PIECES_PER_THREAD`` pieces a thread, each thread's equal share cut in
    pieces halving in work (8/15, 4/15, 2/15, 1/15 for 4); otherwise equal pieces."""
    rng = np.random.default_rng(0)
    P = K.PIECES_PER_THREAD
    for n, n_pieces, runs in ((1, 8, 2), (3, 8, 2), (75, 8, 2), (200, 4, 1), (1000, 16, 4), (75, 3, 2),
                              (40, 6, 3), (4, 4, 2)):                  # the last two: fewer pieces than 4 a run
        cps = rng.integers(0, 1000, n) * (rng.random(n) < 0.7)     # some reach nothing (an output layer)
        cut = np.zeros(n_pieces + 1, np.int64)
        K._cut_sources(cps.astype(np.int64), n, int(cps.sum()), n_pieces, runs, cut)
        work = cps + K.SOURCE_WORK
        total = work.sum()
        before = np.concatenate([[0], np.cumsum(work)])            # work before source q
        for k in range(1, n_pieces):
            if n_pieces == P * runs:
                m, i = divmod(k, P)
                frac = (m + sum(2.0 ** (P - 1 - j) for j in range(i)) / (2 ** P - 1)) / runs
            else:
                frac = k / n_pieces
            q = cut[k]
            assert q == n or before[q] >= frac * total, (n, n_pieces, k)
            assert q == 0 or before[q - 1] < frac * total, (n, n_pieces, k)
        assert cut[0] == 0 and cut[-1] == n and np.all(np.diff(cut) >= 0)


def _apart_net(seed, n_cores=6, recurrent=True):
    """Two sides of two LoihiLIF populations each, fed by one graph input, projections (every kind, delay mode and
    weight_exp) only within a side, each side on its own cores (side 0 below side 1): the cores are apart
    (``kernels.free_cuts``) at ``split``, the first core of side 1. (network, tables, inputs, split)."""
    from netgen import _conn_options, _weights
    rng = np.random.default_rng(seed)
    net = nc.Network(f"apart{seed}")
    net.input("in", (int(rng.integers(5, 60)),))
    sizes = [int(rng.integers(20, 120)), int(rng.integers(20, 120))]
    split = int(rng.integers(1, n_cores))
    mapping = {}
    for side, cores in enumerate(((0, split), (split, n_cores))):
        pops = [f"s{side}p{i}" for i in range(2)]
        for name, n in zip(pops, sizes[::1 - 2 * side]):     # the same sizes on both sides: balanced
            net.population(name, (n,), nc.LoihiLIF(du=int(rng.integers(0, 4096)), dv=int(rng.integers(0, 4096)),
                                                   vth=rng.integers(50, 600, n), bias_mant=rng.integers(-50, 100, n)))
            mapping[name] = rng.integers(*cores, n)
        edges = [("in", pops[0]), (pops[0], pops[1])] + ([(pops[1], pops[0]), (pops[0], pops[0])] if recurrent else [])
        for src, dst in edges:
            n_pre, n_post = net.populations[src].size, net.populations[dst].size
            fed = src == "in"                            # (the input's weights excitatory: the sides spike)
            w = _weights(rng, (n_post, n_pre), "exc" if fed else str(rng.choice(["exc", "inh", "mixed"])))
            w = w * (rng.random(w.shape) < 0.4)
            opts = dict(weight_exp=int(rng.integers(0, 3))) if fed else _conn_options(rng)
            conn = nc.Dense(w, **opts) if rng.random() < 0.5 else nc.Sparse.from_dense(w, **opts)
            r = rng.random()
            delay = 0 if r < 0.4 else (int(rng.integers(0, 6)) if r < 0.6 else
                                       rng.integers(0, 6, w.size if isinstance(conn, nc.Dense) else conn.n_synapses))
            net.connect(src, dst, conn, delay=delay)
    inputs = {"in": (rng.random((STEPS, net.populations["in"].size)) < 0.3).astype(np.uint8)}
    return net, build_core_tables(net, mapping, n_cores), inputs, split


def test_free_cuts_find_the_cores_apart():
    """``free_cuts``: a cut is free where no neuron's route crosses it (graph inputs reach any core); ``free_groups``
    takes the free cut nearest to the balanced one, and refuses too few free cuts or an uneven split."""
    net, tables, _, split = _apart_net(0, n_cores=6)
    plan = make_plan(tables)
    routes = plan.routes
    ok = K.free_cuts(tables.core_neuron_ptr, routes.route_ptr, routes.route_core)
    assert ok[0] and ok[split] and ok[tables.n_cores]
    # every other cut: some neuron's route crosses it (the spec: each route's source core and destination core)
    src_core = np.repeat(routes.neuron_core[:tables.n_neurons], np.diff(routes.route_ptr[:tables.n_neurons + 1]))
    dst_core = np.asarray(routes.route_core[:routes.route_ptr[tables.n_neurons]])
    for c in range(tables.n_cores + 1):
        crosses = np.any((src_core < c) != (dst_core < c))
        assert ok[c] == (not crosses), c
    cores = np.zeros(3, np.int64)
    assert K.free_groups(2, ok, routes.split_syn, K.ACTIVITY_PRIOR, tables.core_neuron_ptr, cores)
    assert list(cores) == [0, split, tables.n_cores]
    assert not K.free_groups(3, ok, routes.split_syn, K.ACTIVITY_PRIOR, tables.core_neuron_ptr, np.zeros(4, np.int64))
    nrn = tables.core_neuron_ptr                         # the only free cut one that leaves a side few neurons
    c = max(range(1, tables.n_cores), key=lambda c: abs(nrn[c] - nrn[-1] / 2))
    assert max(nrn[c], nrn[-1] - nrn[c]) > 0.7 * nrn[-1]
    lopsided = np.zeros_like(ok)
    lopsided[[0, c, tables.n_cores]] = True
    assert not K.free_groups(2, lopsided, routes.split_syn, K.ACTIVITY_PRIOR, tables.core_neuron_ptr, cores)
    one = K.free_cuts(tables.core_neuron_ptr, routes.route_ptr, np.zeros_like(routes.route_core))  # all to core 0
    assert one[0] and one[tables.n_cores] and not one[1:tables.n_cores].any()


@pytest.mark.parametrize("n_groups", [2, 3])
def test_free_groups_take_the_cut_nearer_an_even_share(n_groups):
    """Where every cut is free, ``free_groups`` cuts where the groups' work is nearest an even share: of 64 cores
    holding 1000 neurons (the first 40 cores 16, the others 15: dense 1k x 1k round-robin), two groups of 496 and
    504 neurons, not ``step_groups``' 512 and 488 (its first core whose work before it reaches the share)."""
    nrn = np.concatenate([[0], np.cumsum([16] * 40 + [15] * 24)]).astype(np.int64)
    split_syn = nrn * 1000                               # a Dense row's copies, 1000 inputs
    ok = np.ones(65, np.bool_)
    cores = np.zeros(n_groups + 1, np.int64)
    assert K.free_groups(n_groups, ok, split_syn, K.ACTIVITY_PRIOR, nrn, cores)
    first = np.zeros(n_groups + 1, np.int64)
    K.step_groups(n_groups, split_syn, K.ACTIVITY_PRIOR, nrn, np.zeros(65, np.int64), first,
                  np.zeros(n_groups, np.int64))
    sizes = np.diff(nrn[cores])
    # the spec: each cut the core whose neurons below it are nearest g / n_groups of them (work is per neuron here)
    want = [0] + [int(np.argmin(np.abs(nrn - 1000 * g / n_groups))) for g in range(1, n_groups)] + [64]
    assert list(cores) == want and sizes.max() - sizes.min() <= 16
    if n_groups == 2:
        assert list(sizes) == [496, 504] and list(np.diff(nrn[first])) == [512, 488]


@needs_threads
@pytest.mark.parametrize("seed", range(6))
def test_free_team_equals_one_thread(seed, monkeypatch):
    """Cores apart run as a free team (``kernels._launch``'s ``free``: each thread its own cores through the whole
    call, its own ring copy, spike lists and count-row buffer): spikes, v, u and every counter equal one thread's,
    counted and uncounted, in one call and in one-step calls (the ring cells copied back and carried, delays across
    calls), and with one numba thread running both members in turn; the spike list a call returns is one
    thread's."""
    net, tables, inputs, split = _apart_net(seed, n_cores=[2, 3, 6, 8, 5, 4][seed], recurrent=seed % 3 != 2)
    plan = make_plan(tables)
    assert plan.routes.split_syn.size == tables.n_cores + 1 and not plan.psums.enabled
    cores = np.zeros(3, np.int64)                        # a free team on two threads
    assert K.free_groups(2, K.free_cuts(tables.core_neuron_ptr, plan.routes.route_ptr, plan.routes.route_core),
                         plan.routes.split_syn, K.ACTIVITY_PRIOR, tables.core_neuron_ptr, cores)
    spec = InputSpec.of_network(net)
    rec = ("spikes", "v", "u")
    one = emulate_tables(tables, STEPS, inputs, rec, threads=1, input_spec=spec)
    assert sum(int(s.sum()) for s in one.spikes.values()) > 20
    runs = [emulate_tables(tables, STEPS, inputs, rec, threads=2, input_spec=spec),
            emulate_tables(tables, STEPS, inputs, rec, threads=2, input_spec=spec, counters=False),
            emulate_tables(tables, STEPS, inputs, rec, threads=2, input_spec=spec, progress=True)]  # 1-step calls
    run_kernel = E.EngineState.run_kernel                # numba runs one thread, the kernel two members
    monkeypatch.setattr(E.EngineState, "run_kernel", lambda self, *args, n_threads=None: run_kernel(self, *args,
                                                                                                      n_threads=2))
    runs.append(emulate_tables(tables, STEPS, inputs, rec, threads=1, input_spec=spec))
    for k, many in enumerate(runs):
        for a, b in zip(one.arrays().items(), many.arrays().items()):
            np.testing.assert_array_equal(a[1], b[1], err_msg=f"{a[0]}, run {k}")
        if k != 1:
            for name, arr in one.report["counters"].items():
                np.testing.assert_array_equal(arr, many.report["counters"][name], err_msg=f"{name}, run {k}")
    monkeypatch.undo()
    lists = []                                           # the last step's sources, as a closed loop reads them
    for n_threads in (1, 2):
        state = E.initial_state(tables, plan)
        run = E._setup_run(tables, plan, STEPS, (), E.check_run(spec, STEPS, inputs, (), tables.n_neurons)[2],
                           set(), None, False, False, None, [], True, {})
        spiked = np.zeros(max(tables.n_sources, 1), np.int64)
        with kernel_threads(n_threads):
            n = K.run_steps(1, STEPS, 0, E._segment_neurons(tables, plan, state, None, None), plan.dendrites,
                            state.work, plan.routes, run.inputs, run.recorder, run.counters, spiked, plan.psums,
                            n_threads, K.ROW_BUFFER, 0.0)
        lists.append((spiked[:n].copy(), state.work.payload[:n].copy(), state.work.ring.copy()))
    for a, b in zip(*lists):
        np.testing.assert_array_equal(a, b)
    assert lists[0][0].size > 0 and (lists[0][0] >= tables.n_neurons).any()    # neurons' and inputs' spikes
