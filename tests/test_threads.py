"""The numba kernel on several threads (cores of a step in parallel, ``kernels.run_steps``) gives the same
spikes, states, payloads and counters as on one, on random networks of every neuron kind, connection kind,
delay mode and mapping."""
import subprocess
import sys

import numba
import numpy as np
import pytest

from neurocomp.backends.emulator import emulate_tables, kernels as K
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
    """These networks are small: run them on threads all the same (no minimum size)."""
    monkeypatch.setattr(K, "PAR_NEURONS", 0)


def _same_run(net, tables, steps, inputs, record):
    spec = InputSpec.of_network(net)
    one = emulate_tables(tables, steps, inputs, record, threads=1, input_spec=spec)
    many = emulate_tables(tables, steps, inputs, record, threads=THREADS, input_spec=spec)
    for a, b in zip(one.arrays().items(), many.arrays().items()):
        assert a[0] == b[0]
        np.testing.assert_array_equal(a[1], b[1], err_msg=a[0])
    for name, arr in one.report["counters"].items():
        np.testing.assert_array_equal(arr, many.report["counters"][name], err_msg=name)
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
            "K.PAR_NEURONS = 0\n"
            "net = nc.Network('n'); net.input('x', (3,)); net.population('p', (4,), nc.LoihiLIF(du=0, dv=0, vth=1))\n"
            "net.connect('x', 'p', nc.Dense(np.full((4, 3), 100)))\n"
            "t = build_core_tables(net, {'p': np.array([0, 0, 1, 1])}, 2)\n"
            "r = emulate_tables(t, 3, {'x': np.ones((3, 3), np.uint8)}, threads=THREADS)\n"
            "import lava.magma.runtime.message_infrastructure.multiprocessing\n"
            "print('ok', int(r.spikes['p'].sum()))\n").replace("THREADS", str(THREADS))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[0] == "ok"
