"""Distributed emulation over MPI ranks (backends/emulator/distributed, docs/mpi.md): 2 and 3 ranks
(oversubscribed on this machine) bit-identical to one process, the CLI path through `neurocomp shard`,
and a dying rank ending the run on every rank with a clear error. mpiexec comes from the `mpich`
wheel in the virtual environment (make setup installs it): a missing mpiexec fails, never skips."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc


HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
MPIEXEC = BIN / "mpiexec"


def mpiexec(n: int, *argv, timeout=400):
    """`mpiexec -n n argv` (generous timeout: on a fresh clone every rank may compile the numba kernels)."""
    assert MPIEXEC.is_file(), f"{MPIEXEC} missing: `make setup` installs the mpich wheel (pyproject dev extras)"
    return subprocess.run([str(MPIEXEC), "-n", str(n), *map(str, argv)], capture_output=True, text=True,
                          timeout=timeout, env=_no_mpi_env())


def _no_mpi_env() -> dict:
    """This process's environment without an enclosing MPI launcher's variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "MPI_", "HYDRA_"))}


@pytest.fixture(scope="module")
def one_rank(art):
    """ranks_equal.py as a plain process (MPI singleton: one rank, every case on one shard) before any
    mpiexec: it checks one rank against the one-process emulator, and it compiles the numba kernels once
    into the cache, which the ranks then load (on a fresh clone every rank would compile them at once, each
    slowed by the others, MPICH polling while it waits: the suite's slowest test, 229 s on a fresh clone)."""
    p = subprocess.run([sys.executable, HERE / "mpi" / "ranks_equal.py", "0", "1", art / "art", art / "in.npz"],
                       capture_output=True, text=True, timeout=400, env=_no_mpi_env())
    assert p.returncode == 0, p.stdout + p.stderr
    done = [line.split()[1] for line in p.stdout.splitlines() if line.startswith("OK ")]
    assert done == ["random0", "models0", "delayed0", "delayed0", "emulate"], p.stdout + p.stderr
    return art


@pytest.mark.parametrize("ranks, seeds", [(2, (0, 3)), (3, (3, 5))])
def test_ranks_bit_identical_to_one_process(ranks, seeds, one_rank):
    """Random nets (every connectivity, delays, a layered conv), random multi-model nets (graded payloads) and
    delayed nets (spikes exchanged every 3 and every 2 steps): spikes, v, payloads and every per-core counter
    equal one process; with 2 ranks also
    ``nc.emulate`` of a compiled artifact (it distributes itself under mpiexec)."""
    art = one_rank
    extra = (art / "art", art / "in.npz") if ranks == 2 else ()
    p = mpiexec(ranks, sys.executable, HERE / "mpi" / "ranks_equal.py", *seeds, *extra)
    assert p.returncode == 0, p.stdout + p.stderr
    done = [line.split()[1] for line in p.stdout.splitlines() if line.startswith("OK ")]
    want = [f"{k}{s}" for s in range(*seeds) for k in ("random", "models", "delayed", "delayed")] \
        + ["emulate"] * bool(extra)
    assert "every=3" in p.stdout                     # delayed nets exchange every 3 steps
    assert done == want, p.stdout + p.stderr


@pytest.fixture(scope="module")
def art(tmp_path_factory):
    rng = np.random.default_rng(0)
    net = nc.Network("layers")
    net.input("in", (40,))
    lif = nc.LoihiLIF(du=300, dv=200, vth=30)
    for name in ("a", "b", "c"):
        net.population(name, (30,), lif)
    net.connect("in", "a", nc.Dense(rng.integers(-20, 120, (30, 40))), delay=1)
    net.connect("a", "b", nc.Dense(rng.integers(-30, 120, (30, 30))), delay=rng.integers(0, 4, (30, 30)))
    net.connect("b", "c", nc.Sparse.from_dense(rng.integers(-50, 150, (30, 30)) * (rng.random((30, 30)) < 0.5)))
    net.connect("c", "a", nc.Dense(rng.integers(-60, 60, (30, 30))))
    out = tmp_path_factory.mktemp("mpi")
    nc.compile(net, "loihi2", out=out / "art", max_neurons_per_core=8)
    np.savez(out / "in.npz", **{"in": (rng.random((30, 40)) < 0.3).astype(np.uint8)})
    return out


def test_cli_shards_equal_one_process(one_rank, capsys):
    """`mpiexec -n 2 neurocomp emulate SHARDS`: recordings equal one process's; so is the cost section (energy,
    latency, counters, links, energies: all exactly)."""
    from neurocomp.cli import main
    art, cli = one_rank, BIN / "neurocomp"
    inputs = dict(np.load(art / "in.npz"))
    one = nc.emulate(art / "art", 30, inputs, record=("spikes", "v"), timing=False).arrays()
    sh = subprocess.run([str(cli), "shard", art / "art", "--ranks", "2", "-o", art / "shards"], capture_output=True,
                        text=True)
    assert sh.returncode == 0, sh.stderr
    p = mpiexec(2, cli, "emulate", art / "shards", "--steps", "30", "--input", art / "in.npz", "-o", art / "two")
    assert p.returncode == 0, p.stdout + p.stderr
    two = np.load(art / "two" / "result.npz")
    assert sorted(one) == sorted(two.files) and one
    for k in one:
        assert np.array_equal(one[k], two[k]), k
    assert sum(int(one[k].sum()) for k in one if k.startswith("spikes/")) > 0      # the run is not silent
    # each rank priced its cores' messages from its shard: the cost section equals one process's
    import json
    cost = nc.emulate(art / "art", 30, inputs, record=("spikes",), timing="analytic").report["cost"]
    _same_cost(json.loads(json.dumps(cost)), json.loads((art / "two" / "report.json").read_text())["cost"])
    # without mpiexec a shard directory is refused with what to run
    assert main(["emulate", str(art / "shards"), "--steps", "3", "-o", str(art / "x")]) == 2
    assert "mpiexec -n 2" in capsys.readouterr().err


def test_dying_rank_ends_every_rank(art, tmp_path):
    """Rank 1's shard is damaged: it fails on load while rank 0 goes on to the exchange; the run must end
    on both ranks (Abort), naming the rank and the reason, not hang."""
    from neurocomp.backends.emulator.distributed import shard_artifact
    shards = shard_artifact(art / "art", 2, tmp_path / "shards")
    (shards / "rank1.tables.npz").write_bytes(b"not a zip")
    p = mpiexec(2, BIN / "neurocomp", "emulate", shards, "--steps", "5", "-o", tmp_path / "res", timeout=200)
    assert p.returncode != 0
    assert "rank 1 of 2 failed" in p.stderr and "rank1.tables.npz" in p.stderr, p.stderr
    assert not (tmp_path / "res").exists()


def test_shards_cut_by_placement_and_round_trip(tmp_path):
    """Ranks take contiguous runs of cores in placement order (chip, tile, core); every synapse and route lands on
    exactly one rank; a shard written and read back is the same; a rank outside the shards is refused."""
    from netgen import random_mapping, random_network
    from neurocomp.backends.emulator.distributed import load_shard, make_shards, rank_of_cores, write_shards
    from neurocomp.errors import ValidationError
    from neurocomp.mapping.tables import build_core_tables
    net = random_network(1, 3, 2, conv=False)
    tables = build_core_tables(net, random_mapping(net, 1, 8), 8)
    coord = np.array([[c // 4, (c // 2) % 2, 1 - c % 2, 0] for c in range(8)])        # 2 chips of 2x2 tiles
    rank = rank_of_cores(tables, coord, 3)
    order = np.lexsort((coord[:, 3], coord[:, 2], coord[:, 1], coord[:, 0]))
    assert np.all(np.diff(rank[order]) >= 0) and set(rank) == {0, 1, 2}
    shards = make_shards(tables, rank, 3)
    assert sum(s.tables.n_synapses for s in shards) == tables.n_synapses
    assert sum(s.tables.route_ptr[-1] for s in shards) == tables.route_ptr[-1]
    assert sorted(np.concatenate([s.neuron_gid for s in shards]).tolist()) == list(range(tables.n_neurons))
    write_shards(shards, tmp_path / "sh")
    back = load_shard(tmp_path / "sh", 2)
    for k in ("core_gid", "neuron_gid", "foreign_src", "remote_routes", "dest_ptr", "dest_rank", "dest_sid"):
        assert np.array_equal(getattr(back, k), getattr(shards[2], k)), k
    assert np.array_equal(back.tables.syn_weight, shards[2].tables.syn_weight)
    with pytest.raises(ValidationError, match="mpiexec -n 3"):
        load_shard(tmp_path / "sh", 3)


@pytest.mark.parametrize("weight_exp, every", [(1, 3), (-1, 1)])
def test_exchange_interval_from_crossing_delays(weight_exp, every):
    """Spikes may wait min delay + 1 steps for the exchange when every crossing synapse sits on a linear ring
    (a left shift); a delayed right shift (ring mode 2) must be delivered whole: every step."""
    from neurocomp.backends.emulator.distributed import make_shards
    from neurocomp.mapping.tables import build_core_tables
    net = nc.Network("cross")
    net.input("in", (4,))
    net.population("a", (4,), nc.LoihiLIF(du=0, dv=0, vth=1))
    net.population("b", (4,), nc.LoihiLIF(du=0, dv=0, vth=1))
    net.connect("in", "a", nc.Dense(np.ones((4, 4), int)))
    net.connect("a", "b", nc.Dense(np.full((4, 4), 2), weight_exp=weight_exp), delay=np.array([2, 3] * 8))
    tables = build_core_tables(net, {"a": np.zeros(4, int), "b": np.ones(4, int)}, 2)
    assert make_shards(tables, np.array([0, 1]))[0].meta["exchange_every"] == every


def _same_cost(one: dict, many: dict, where=""):
    """Every figure of two cost reports exactly equal (``==``), energies included: the ranks add integer
    message moments (backends/emulator/distributed/cost.py)."""
    if isinstance(one, dict):
        assert sorted(one) == sorted(many), where
        for k in one:
            if k != "wall_time_s":
                _same_cost(one[k], many[k], f"{where}.{k}")
    elif isinstance(one, list):
        assert len(one) == len(many), where
        for i, (a, b) in enumerate(zip(one, many)):
            _same_cost(a, b, f"{where}[{i}]")
    else:
        assert one == many, where


@pytest.mark.parametrize("seed", [0, 3, 2])
def test_rank_cost_terms_sum_to_one_process(seed, tmp_path):
    """Each shard prices the messages landing on its cores; the parts of 2 and 3 ranks, summed on "rank 0", give
    the one-process estimate exactly (==): every latency, counter, hop, link and energy figure.
    Random networks (every connectivity, delays) and random multi-model networks (graded payloads), placed at
    random on a 2x2-chip Loihi 2 (hops between chips, link contention), in-process (no MPI)."""
    from modelnet import random_mapping as model_mapping, random_model_network
    from netgen import random_inputs, random_mapping, random_network
    from neurocomp.backends.emulator import emulate_tables
    from neurocomp.backends.emulator.costmodel import estimate
    from neurocomp.backends.emulator.distributed import make_shards, rank_of_cores
    from neurocomp.backends.emulator.distributed.cost import estimate_ranks, events_of_rank, rank_totals
    from neurocomp.mapping.tables import build_core_tables
    from neurocomp.semantics.inputs import InputSpec
    from neurocomp.target import load_target, write_multichip
    target = load_target(write_multichip("loihi2", 2, 2, tmp_path / "x4.toml"))
    rng = np.random.default_rng(seed)
    if seed != 2:
        net = random_network(seed, 3, 2, conv=seed == 0)
        n_cores, steps, inputs = 7, 30, random_inputs(net, seed, 30)
        tables = build_core_tables(net, random_mapping(net, seed, n_cores), n_cores)
    else:
        net, steps, inputs = random_model_network(seed)
        mapping, n_cores = model_mapping(net, seed)
        tables = build_core_tables(net, mapping, n_cores)
    cores_per_chip = target.mesh.n_cores // 4
    phys = rng.permutation(np.arange(n_cores) % 4) * cores_per_chip + rng.choice(cores_per_chip, n_cores, replace=False)
    res = emulate_tables(tables, steps, inputs, record=("spikes",), events=True, input_spec=InputSpec.of_network(net))
    ev, active = res.report["spike_events"], res.report["counters"]["neurons_active"]
    one = estimate(target, tables, phys, ev["step"], ev["source"], active, steps)
    assert one["counters"]["total_messages"] > 0 and one["counters"]["hops"]["interchip"] > 0
    assert max(link["max_per_step"] for link in one["links"].values()) > 1         # contention is exercised
    for ranks in (2, 3):
        shards = make_shards(tables, rank_of_cores(tables, None, ranks), ranks)
        parts = []
        for sh in shards:
            sh.target, sh.meta["physical_core"] = target, phys.tolist()
            parts.append(rank_totals(sh, *events_of_rank(sh, ev["step"], ev["source"]), steps))
        _same_cost(one, estimate_ranks(target, parts, shards[0].meta, active, steps))


def test_shard_dir_cost_equals_one_process_3_ranks(art, tmp_path):
    """`mpiexec -n 3 neurocomp emulate SHARDS`: energy, latency and the whole cost section equal one process's
    exactly, energies included; the shard directory carries the target and the cores' mesh positions;
    `neurocomp report` summarises the result with its MPI figures."""
    import json
    from neurocomp.backends.emulator.distributed import shard_artifact
    inputs = dict(np.load(art / "in.npz"))
    one = nc.emulate(art / "art", 30, inputs, record=("spikes",), timing="analytic").report
    shards = shard_artifact(art / "art", 3, tmp_path / "shards")
    assert (shards / "target.toml").is_file()
    p = mpiexec(3, BIN / "neurocomp", "emulate", shards, "--steps", "30", "--input", art / "in.npz", "-o",
                tmp_path / "three")
    assert p.returncode == 0, p.stdout + p.stderr
    three = json.loads((tmp_path / "three" / "report.json").read_text())
    assert three["timing"] == "analytic" and three["latency_s"]["total"] == one["latency_s"]["total"]
    _same_cost(json.loads(json.dumps(one["cost"])), three["cost"])
    from neurocomp.report import make_report                  # `neurocomp report` reads the distributed result
    text = make_report(tmp_path / "three")
    assert "distributed over 3 MPI ranks" in text and "priced per rank" in text and "energy: total" in text, text
