"""Golden tests: the text dump of a few small compilations is pinned (DESIGN.md §11, the xDSL habit).

A change in partitioning, placement or the counts shows up here as a readable diff. After an
intended change, regenerate with ``NEUROCOMP_UPDATE_GOLDEN=1 pytest tests/test_golden_mappings.py``
and review the diff of tests/golden/ before committing it.
"""
import os
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc

GOLDEN = Path(__file__).parent / "golden"
DIGITS = Path(__file__).resolve().parents[1] / "examples" / "networks" / "digits.nir"


def small_integer_net():
    rng = np.random.default_rng(7)
    net = nc.Network("small")
    net.input("in", (12,))
    net.population("a", (20,), nc.LoihiLIF(du=300, dv=200, vth=40))
    net.population("b", (6,), nc.LoihiLIF(du=300, dv=200, vth=40))
    net.connect("in", "a", nc.Dense(rng.integers(-60, 120, (20, 12))), delay=rng.integers(0, 3, (20, 12)))
    net.connect("a", "b", nc.Sparse.from_dense(rng.integers(0, 90, (6, 20)) * (rng.random((6, 20)) < 0.4)))
    net.connect("b", "a", nc.Dense(-rng.integers(0, 50, (20, 6))))
    net.output("b")
    return net


CASES = {
    "digits_loihi_16": lambda: nc.compile(nc.load(DIGITS), "loihi", max_neurons_per_core=16),
    "digits_tianjic_sequential": lambda: nc.compile(nc.load(DIGITS), "tianjic", partitioner="sequential",
                                                    max_neurons_per_core=24),
    "small_loihi2_4": lambda: nc.compile(small_integer_net(), "loihi2", max_neurons_per_core=4),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_mapping_dump_matches_golden(name):
    text = CASES[name]().dump() + "\n"
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("NEUROCOMP_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"{path} missing: run with NEUROCOMP_UPDATE_GOLDEN=1 once and review it"
    assert text == path.read_text(), f"mapping of {name} changed; see the diff against {path}"
