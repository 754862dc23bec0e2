"""Learning rules attached to a NIR network from a TOML side file (NIR has no learning rules)."""
import subprocess
import sys

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.paperdata import nir_data_dir
from neurocomp.rules import attach_rules

BRAILLE = nir_data_dir() / "braille" / "braille_noDelay_bias_zero.nir"
RULES = """
[inputs]
reward = [7]

[projections.fc1]
rule = "stdp"
a_plus = 0.25
tau_plus = 8

[projections.fc2]
rule = "rstdp"
third_factor = "reward"

[projections."lif1.w_rec"]
rule = "custom"
dw = "2^-2*x1*y0 - 2^-2*y1*x0"
x1_impulse = 16
x1_tau = 10
y1_impulse = 16
y1_tau = 10
"""


@pytest.fixture(scope="module")
def braille():
    with pytest.warns(nc.NeurocompWarning):
        return nc.load(BRAILLE)


def test_rules_attach_compile_and_round_trip(braille, tmp_path):
    (tmp_path / "rules.toml").write_text(RULES)
    net = attach_rules(braille, tmp_path / "rules.toml")
    assert braille.projections["fc1"].learning is None            # the input network is not changed
    assert net.projections["fc1"].learning == nc.rules.stdp(a_plus=0.25, tau_plus=8)
    assert net.projections["fc2"].learning.third_factor == "reward"
    assert net.projections["lif1.w_rec"].learning.dw == "2^-2*x1*y0 - 2^-2*y1*x0"
    assert "reward" in net.inputs and net.populations["reward"].shape == (7,)
    nc.save(net, tmp_path / "net.h5")
    assert nc.load(tmp_path / "net.h5") == net
    art = nc.compile(net, "loihi2")
    rng = np.random.default_rng(0)
    res = nc.emulate(art, 20, {"input": (rng.random((20, 12)) < 0.5).astype(np.uint8),
                               "reward": rng.integers(0, 128, (20, 7))})
    assert set(res.weights) >= {"fc1", "fc2", "lif1.w_rec"}
    assert res.report["energy_j"]["by_class"]["learning"] > 0


def test_cli_info_and_compile_take_rules(tmp_path):
    (tmp_path / "rules.toml").write_text(RULES)
    cli = [sys.executable, "-m", "neurocomp.cli"]
    out = subprocess.run(cli + ["info", str(BRAILLE), "--rules", str(tmp_path / "rules.toml")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "fc1" in out.stdout and "stdp" in out.stdout and "rstdp" in out.stdout
    out = subprocess.run(cli + ["compile", str(BRAILLE), "--target", "loihi2", "-o", str(tmp_path / "art"),
                                "--rules", str(tmp_path / "rules.toml")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert nc.load_compiled(tmp_path / "art").network.projections["fc2"].learning is not None


@pytest.mark.parametrize("text, match", [
    ('[projections.nope]\nrule = "stdp"\n', r"projection\(s\) \['nope'\] are not in network"),
    ('[projections.fc1]\nrule = "oja"\n', r"unknown rule 'oja'"),
    ('[projections.fc1]\na_plus = 0.25\n', r"\[projections.fc1\]: give rule ="),
    ('[projections.fc1]\nrule = "stdp"\nlearning_rate = 1\n', r"\[projections.fc1\]: .*learning_rate"),
    ('[projections.fc1]\nrule = "stdp"\na_plus = 0.3\n', r"\[projections.fc1\]: .*0.3"),
    ('[projections.fc2]\nrule = "rstdp"\nthird_factor = "reward"\n', r"third factor 'reward' is not"),
    ('[projections.fc1\nrule = "stdp"\n', r"invalid TOML"),
    ('[weights]\nx = 1\n', r"unknown section"),
    ('[projections."lif1.w_rec"]\nrule = "custom"\ndw = "x0*q1"\n', r"lif1.w_rec.*'q1' at position 3"),
])
def test_bad_rules_files_name_the_problem(braille, tmp_path, text, match):
    (tmp_path / "r.toml").write_text(text)
    with pytest.raises(nc.NeurocompError, match=match):
        attach_rules(braille, tmp_path / "r.toml")


def test_missing_rules_file_is_named(braille, tmp_path):
    with pytest.raises(nc.NetworkFileError, match="rules file not found"):
        attach_rules(braille, tmp_path / "absent.toml")
