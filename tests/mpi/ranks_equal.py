"""Run under ``mpiexec -n N`` by tests/test_mpi.py: random and layered networks (graded payloads, delays) on N
ranks, each compared on rank 0 with the one-process emulator (spikes, v, payloads, every counter); prints
``OK <case>`` per case. With ``ART IN.npz`` after the seeds, also ``nc.emulate(ART)`` (which distributes itself
under mpiexec) against the one-process kernel."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mpi4py import MPI  # noqa: E402

from modelnet import random_mapping as model_mapping, random_model_network  # noqa: E402
from netgen import random_inputs, random_mapping, random_network  # noqa: E402
from neurocomp.backends.emulator import emulate_tables  # noqa: E402
from neurocomp.backends.emulator.distributed import emulate_ranks  # noqa: E402
from neurocomp.mapping.tables import build_core_tables  # noqa: E402
from neurocomp.semantics.inputs import InputSpec  # noqa: E402

RANK = MPI.COMM_WORLD.Get_rank()


def same(ref, res, what):
    for group in ("spikes", "v", "payloads"):
        a, b = getattr(ref, group), getattr(res, group)
        assert a.keys() == b.keys(), (what, group, sorted(a), sorted(b))
        for k in a:
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), f"{what}: {group}[{k}] differs"
    for k, v in ref.report["counters"].items():
        assert np.array_equal(v, res.report["counters"][k]), f"{what}: counter {k} differs"
    assert ref.report["synaptic_events"] == res.report["synaptic_events"], what


def check(net, tables, steps, inputs, what, every=None):
    res = emulate_ranks(tables, steps, inputs, record=("spikes", "v"), network=net, exchange_every=every)
    if RANK == 0:
        ref = emulate_tables(tables, steps, inputs, record=("spikes", "v"), input_spec=InputSpec.of_network(net))
        same(ref, res, what)
        print(f"OK {what} spikes={sum(int(s.sum()) for s in ref.spikes.values())} "
              f"bytes/step={res.report['mpi']['bytes_sent_per_step']:.0f} every={res.report['mpi']['exchange_every']}",
              flush=True)


def delayed_network(seed):
    """Every projection delayed by >= 2 steps with a left shift (ring mode 1): ranks may exchange every 3 steps."""
    import neurocomp as nc
    rng = np.random.default_rng(seed)
    net = nc.Network(f"delayed{seed}")
    net.input("in", (30,))
    for i in range(3):
        net.population(f"p{i}", (int(rng.integers(20, 50)),), nc.LoihiLIF(du=int(rng.integers(0, 4096)), dv=300,
                                                                            vth=int(rng.integers(5, 60))))
    for src, dst in (("in", "p0"), ("p0", "p1"), ("p1", "p2"), ("p2", "p0"), ("p1", "p1")):
        n_pre, n_post = net.populations[src].size, net.populations[dst].size
        w = rng.integers(-80, 160, (n_post, n_pre)) * (rng.random((n_post, n_pre)) < 0.4)
        conn = nc.Dense(w, weight_exp=int(rng.integers(0, 3))) if rng.random() < 0.5 else \
            nc.Sparse.from_dense(w, weight_exp=int(rng.integers(0, 3)))
        slots = w.size if isinstance(conn, nc.Dense) else conn.n_synapses
        net.connect(src, dst, conn, delay=rng.integers(2, 6, slots) if rng.random() < 0.5 else int(rng.integers(2, 6)))
    return net


def main(seeds):
    for seed in seeds:
        net = random_network(seed, 3, 2, conv=seed % 2 == 0)       # delays, every connectivity, layered conv
        n_cores = 4 + seed % 5
        check(net, build_core_tables(net, random_mapping(net, seed, n_cores), n_cores), 40,
              random_inputs(net, seed), f"random{seed}")
        net, steps, inputs = random_model_network(seed)              # every neuron model, graded payloads
        mapping, n_cores = model_mapping(net, seed)
        check(net, build_core_tables(net, mapping, n_cores), steps, inputs, f"models{seed}")
        net = delayed_network(seed)                                   # spikes exchanged every 3 (and 2) steps
        tables = build_core_tables(net, random_mapping(net, seed, 6), 6)
        for every in (None, 2):
            check(net, tables, 40, random_inputs(net, seed), f"delayed{seed}", every)


def api(art, inputs_file):
    """``nc.emulate`` of an artifact directory distributes itself under mpiexec."""
    import neurocomp as nc
    from neurocomp.backend import load_artifact
    inputs = dict(np.load(inputs_file))
    from neurocomp.backends.emulator.engine import attach_cost
    from neurocomp.backends.emulator.workload import workload_metrics
    res = nc.emulate(art, 30, inputs, record=("spikes", "v"))
    if RANK == 0:
        a = load_artifact(art)
        ref = emulate_tables(a.tables, 30, inputs, record=("spikes", "v"), input_spec=InputSpec.of_network(a.network),
                             events=True)
        ref.report["workload"] = workload_metrics(a.tables, ref.report["counters"], 30, a.network)
        attach_cost(ref, a.target, a.tables, a.physical_core, 30)
        same(ref, res, "emulate")
        for key in ("energy_j", "latency_s", "workload"):           # the cost model's totals, exactly
            assert repr(ref.report[key]) == repr(res.report[key]), key
        print("OK emulate", ref.report["energy_j"]["total"], flush=True)
    else:
        assert res is None


if __name__ == "__main__":
    main(range(int(sys.argv[1]), int(sys.argv[2])))
    if len(sys.argv) > 3:
        api(sys.argv[3], sys.argv[4])
