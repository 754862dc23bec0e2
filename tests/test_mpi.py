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


def mpiexec(n: int, *argv, timeout=120):
    assert MPIEXEC.is_file(), f"{MPIEXEC} missing: `make setup` installs the mpich wheel (pyproject dev extras)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "MPI_", "HYDRA_"))}
    return subprocess.run([str(MPIEXEC), "-n", str(n), *map(str, argv)], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("ranks, seeds", [(2, (0, 3)), (3, (3, 5))])
def test_ranks_bit_identical_to_one_process(ranks, seeds):
    """Random nets (every connectivity, delays, a layered conv) and random multi-model nets (graded
    payloads): spikes, v, payloads and every per-core counter equal one process."""
    p = mpiexec(ranks, sys.executable, HERE / "mpi" / "ranks_equal.py", *seeds)
    assert p.returncode == 0, p.stdout + p.stderr
    done = [line.split()[1] for line in p.stdout.splitlines() if line.startswith("OK ")]
    want = [f"{k}{s}" for s in range(*seeds) for k in ("random", "models")]
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


def test_cli_shards_equal_one_process(art):
    cli = BIN / "neurocomp"
    one = subprocess.run([str(cli), "emulate", art / "art", "--steps", "30", "--input", art / "in.npz", "-o",
                          art / "one"], capture_output=True, text=True)
    assert one.returncode == 0, one.stderr
    sh = subprocess.run([str(cli), "shard", art / "art", "--ranks", "2", "-o", art / "shards"], capture_output=True,
                        text=True)
    assert sh.returncode == 0, sh.stderr
    p = mpiexec(2, cli, "emulate", art / "shards", "--steps", "30", "--input", art / "in.npz", "-o", art / "two")
    assert p.returncode == 0, p.stdout + p.stderr
    a, b = np.load(art / "one" / "result.npz"), np.load(art / "two" / "result.npz")
    assert sorted(a.files) == sorted(b.files) and a.files
    for k in a.files:
        assert np.array_equal(a[k], b[k]), k
    assert sum(int(a[k].sum()) for k in a.files if k.startswith("spikes/")) > 0     # the run is not silent
    # without mpiexec a shard directory is refused with what to run
    solo = subprocess.run([str(cli), "emulate", art / "shards", "--steps", "3", "-o", art / "x"], capture_output=True,
                          text=True)
    assert solo.returncode == 2 and "mpiexec -n 2" in solo.stderr


def test_dying_rank_ends_every_rank(art, tmp_path):
    """Rank 1's shard is damaged: it fails on load while rank 0 goes on to the exchange; the run must end
    on both ranks (Abort), naming the rank and the reason, not hang."""
    cli = BIN / "neurocomp"
    shards = tmp_path / "shards"
    assert subprocess.run([str(cli), "shard", art / "art", "--ranks", "2", "-o", shards]).returncode == 0
    (shards / "rank1.tables.npz").write_bytes(b"not a zip")
    p = mpiexec(2, cli, "emulate", shards, "--steps", "5", "-o", tmp_path / "res", timeout=60)
    assert p.returncode != 0
    assert "rank 1 of 2 failed" in p.stderr and "rank1.tables.npz" in p.stderr, p.stderr
    assert not (tmp_path / "res").exists()
