"""The README's neuron-model table lists every registered model (neurocomp.neurons registry) with its step
equation, the Lava process its factory builds and what it sends, so a model added to the registry without a
README row, or a row that names another Lava process than the factory builds, fails here."""
from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

from neurocomp.neurons import NEURONS, kind_of

README = Path(__file__).resolve().parents[1] / "README.md"
ROW = re.compile(r"^\| `(\w+)` \| `(\w+)\.(\w+)` \| (.+) \| (.+) \|$")


def table() -> dict[str, tuple]:
    """README rows of the neuron-model table: model -> (Lava module, Lava class, equation, sends)."""
    text = README.read_text()
    start = text.index("| model | Lava process |")
    rows = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        m = ROW.match(line)
        assert m, f"README neuron table row does not read `Model` | `module.Class` | equation | sends: {line}"
        rows[m.group(1)] = m.groups()[1:]
    return rows


def test_every_registered_model_has_a_readme_row():
    rows = table()
    names = [model.__name__ for model in NEURONS]
    assert sorted(rows) == sorted(names), (sorted(set(names) - set(rows)), sorted(set(rows) - set(names)))
    for model in NEURONS:
        kind = kind_of(model)
        module, cls, equation, sends = rows[model.__name__]
        factory = importlib.import_module(kind.lava.split(":")[0])
        assert f"from lava.proc.{module}.process import" in inspect.getsource(factory), model.__name__
        assert re.search(rf"\b{cls}\b", inspect.getsource(factory)), model.__name__
        assert hasattr(importlib.import_module(f"lava.proc.{module}.process"), cls), (module, cls)
        assert "=" in equation, model.__name__                      # an equation, not a phrase
        assert sends.startswith("payloads" if kind.graded else "spikes"), (model.__name__, sends)
