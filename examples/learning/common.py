"""Shared pieces of the on-chip learning examples: compile + emulate with learning, energy, tables, figures.

Every workload builds an IR ``Network`` whose plastic projection carries a ``nc.rules`` rule, compiles
it with ``nc.compile(net, "loihi2")`` and runs it on the emulated chip (``emulate``): the learning
engine there is bit-exact with Lava 0.10's fixed-point LearningDense, and the target's cost model
charges one ``learning_update`` per plastic synapse per learning epoch (energy class "learning").
Final weights come back in ``Result.weights[projection]``.

Energies are model estimates from the per-operation figures in ``hw_models/loihi2.toml`` (Loihi 1's
Davies 2018 numbers reused where Loihi 2 publishes none), not measurements.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurocomp.cli import positive_int  # noqa: F401  (argparse type shared with the CLI)
from neurocomp.errors import ValidationError
from neurocomp.report import markdown_table, pyplot  # noqa: F401  (shared with the report)

ROOT = Path(__file__).resolve().parents[2]
#: Default output root (git-ignored ``out/``).
DEFAULT_OUT = ROOT / "out" / "learning"
TARGET = "loihi2"
#: Energy classes of the cost model's report (``report["energy_j"]["by_class"]``).
ENERGY_CLASSES = ("syn_op", "neuron_active", "neuron_idle", "spike_out", "messages", "learning", "static")


@dataclass
class ChipRun:
    """One run on the emulated chip: the artifact it ran and the emulator's Result."""
    art: object
    result: object

    @property
    def energy(self) -> dict:
        """``report["energy_j"]`` (total, per_step, by_class, per_core)."""
        e = self.result.report.get("energy_j")
        if not isinstance(e, dict):
            raise ValidationError("the run has no energy report: emulate with counters and timing on (the defaults)")
        return e

    @property
    def energy_by_class(self) -> dict:
        return {k: float(self.energy["by_class"].get(k, 0.0)) for k in ENERGY_CLASSES}

    @property
    def learning_updates(self) -> int:
        """Synapse updates the learning engine made (one per plastic synapse per epoch and variable)."""
        c = self.result.report.get("counters", {}).get("learning_updates")
        return 0 if c is None else int(np.asarray(c).sum())


def run_on_chip(net, steps: int, inputs: dict, record=("spikes",), target: str = TARGET, seed: int = 0) -> ChipRun:
    """``nc.compile(net, target)`` then ``emulate`` for ``steps`` steps, learning on the emulated chip.

    ``inputs``: spikes per graph input and, for a three-factor rule, its reward/teacher input (ints
    0..127). A rule or projection the chip cannot run raises the compiler's or emulator's own error.
    """
    import neurocomp as nc
    from neurocomp.backends.emulator import emulate
    art = nc.compile(net, target, seed=seed)
    res = emulate(art, int(steps), inputs, record=record)
    return ChipRun(art, res)


def lava_agrees(chip: ChipRun, steps: int, inputs: dict, projections) -> dict:
    """Run the same artifact through Lava (``deploy(art, "lava")``, fixed-point CPU simulation) and say,
    per population and per learning projection, whether spikes and final weights are identical to
    the emulator's: ``{"spikes": {pop: bool}, "weights": {proj: bool}}``. Lava is slow: keep it small."""
    from neurocomp.deployment import deploy
    lava = deploy(chip.art, "lava", steps=int(steps), inputs=inputs, record=("spikes",))
    return {"spikes": {p: bool(np.array_equal(lava.spikes[p], chip.result.spikes[p])) for p in chip.result.spikes},
            "weights": {p: bool(np.array_equal(lava.weights[p], chip.result.weights[p])) for p in projections}}


# --------------------------------------------------------------------------- output helpers
def out_dir(path, default_name: str) -> Path:
    """The output directory (created): ``path`` or ``out/learning/<default_name>``."""
    p = Path(path) if path is not None else DEFAULT_OUT / default_name
    p.mkdir(parents=True, exist_ok=True)
    return p


def save_figure(fig, path: Path) -> Path:
    """Save a matplotlib figure atomically (write, then rename) and close it."""
    from neurocomp.atomic import atomic_path
    import matplotlib.pyplot as plt
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    return path


def fmt_energy(joules: float) -> str:
    """Energy with an SI prefix (e.g. '3.2 uJ')."""
    for scale, unit in ((1, "J"), (1e-3, "mJ"), (1e-6, "uJ"), (1e-9, "nJ"), (1e-12, "pJ")):
        if abs(joules) >= scale:
            return f"{joules / scale:.3g} {unit}"
    return f"{joules:.3g} J"
