"""The architecture's contracts (issue 13): who may import whom, registries that are complete, a pipeline
that can be printed and changed. These are checks on the source tree, so a violation names the file."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The only modules of the compiler package that may name a backend: the public entry points, which
#: import the backend they are asked for lazily.
ENTRY_POINTS = {"neurocomp/__init__.py", "neurocomp/cli.py", "neurocomp/deployment.py", "neurocomp/backend.py"}
#: Stage folders and the stage folders each may import (data flows one way, DESIGN.md §1). A chip neuron
#: model (``neurons/``) is an IR type with its semantics attached: the IR re-exports its dataclass and the
#: reference dispatches to its spec, while its spec uses the fixed-point arithmetic of ``semantics/``.
LAYERS = {
    "ir": {"neurons"},
    "semantics": {"ir", "rules", "neurons"},
    "rules": {"ir", "semantics"},
    "neurons": {"ir", "semantics"},
    "io": {"ir", "semantics", "rules", "neurons"},
    "mapping": {"ir", "semantics", "neurons", "io", "rules"},
    "passes": {"ir", "semantics", "neurons", "mapping", "rules", "io"},
}


def _modules():
    for path in sorted((ROOT / "neurocomp").rglob("*.py")):
        yield path, "neurocomp." + ".".join(path.relative_to(ROOT / "neurocomp").with_suffix("").parts)
    for path in sorted((ROOT / "backends").rglob("*.py")):
        yield path, "neurocomp.backends." + ".".join(path.relative_to(ROOT / "backends").with_suffix("").parts)


def _imports(path: Path, module: str, top_level_only: bool):
    """Absolute names of the neurocomp modules ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    pkg = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    pkg = pkg.removesuffix(".__init__")
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[:len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.startswith("neurocomp"):
                yield name, node.lineno
                for alias in node.names:        # `from . import learning` imports a module
                    yield f"{name}.{alias.name}", node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("neurocomp"):
                    yield alias.name, node.lineno


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_only_entry_points_import_a_backend():
    bad = []
    for path, mod in _modules():
        if mod.startswith("neurocomp.backends") or _rel(path) in ENTRY_POINTS:
            continue
        bad += [f"{_rel(path)}:{line} imports {name}" for name, line in _imports(path, mod, False)
                if name.startswith("neurocomp.backends")]
    assert not bad, "the compiler imports a backend (move the shared part to neurocomp/semantics):\n" + "\n".join(bad)


def test_lava_backend_never_imports_the_emulator():
    bad = [f"{_rel(p)}:{line} imports {name}" for p, mod in _modules() if mod.startswith("neurocomp.backends.lava")
           for name, line in _imports(p, mod, False) if name.startswith("neurocomp.backends.emulator")]
    assert not bad, "\n".join(bad)


def test_stage_folders_import_only_earlier_stages():
    bad = []
    for path, mod in _modules():
        parts = mod.split(".")
        if len(parts) < 3 or parts[1] not in LAYERS:
            continue
        allowed = LAYERS[parts[1]] | {parts[1]}
        for name, line in _imports(path, mod, False):
            sub = name.split(".")
            if len(sub) >= 2 and sub[1] in LAYERS and sub[1] not in allowed:
                bad.append(f"{_rel(path)}:{line} ({parts[1]}/) imports {name}")
    assert not bad, "a stage reaches downstream:\n" + "\n".join(bad)


def test_no_import_cycles():
    """Module-level imports form a DAG (a cycle would make import order matter)."""
    known = {mod for _, mod in _modules()}
    g = nx.DiGraph()
    for path, mod in _modules():
        mod = mod.removesuffix(".__init__")
        g.add_node(mod)
        for name, _ in _imports(path, mod if path.name != "__init__.py" else mod + ".__init__", True):
            target = name if name in known or name + ".__init__" in known else None
            if target and target != mod and not mod.startswith(target + "."):   # a package's own __init__
                g.add_edge(mod, target)
    cycles = list(nx.simple_cycles(g))
    assert not cycles, f"import cycles: {cycles[:5]}"


def test_import_neurocomp_stays_light():
    """``import neurocomp`` pulls in neither Lava nor a backend (they load on first use)."""
    code = "import sys, neurocomp; print(any(m.startswith(('lava', 'neurocomp.backends')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


# ------------------------------------------------------------------------------------- registries
def test_every_connectivity_type_has_a_synapse_enumerator():
    from neurocomp.ir.connectivity import CONNECTIVITY
    from neurocomp.semantics.synapses import ENUMERATORS
    assert set(CONNECTIVITY.values()) == set(ENUMERATORS)


def test_every_registered_pass_prints_and_rebuilds():
    from neurocomp.compiler import default_pipeline
    from neurocomp.passes.base import PASSES, format_pipeline, make_pass
    pipe = default_pipeline(dt=1e-3, seed=3)
    assert [p.name for p in pipe] == ["discretize", "quantize", "partition", "place", "route", "tables"]
    assert set(PASSES) == {p.name for p in pipe}
    text = format_pipeline(pipe)
    assert "1. discretize(dt=0.001, integration='euler')" in text and "place(seed=3" in text
    assert [make_pass(p.name, dt=1e-3, seed=3) for p in pipe] == pipe
    with pytest.raises(Exception, match="unknown pass 'placee'"):
        make_pass("placee")


def test_every_connectivity_type_has_every_lowering():
    """A connectivity kind is complete when each stage knows it: IR methods (fit, delays, quantize's post
    index and re-weighting), its synapse enumerator, its NIR export and its Lava process."""
    from neurocomp.backends.lava.lower import FACTORIES
    from neurocomp.io.nir_export import WEIGHT_NODES
    from neurocomp.ir.connectivity import CONNECTIVITY, Connectivity
    from neurocomp.semantics.synapses import ENUMERATORS
    for cls in CONNECTIVITY.values():
        assert cls in ENUMERATORS and cls in WEIGHT_NODES and cls in FACTORIES, cls.__name__
        for method in ("post_index", "with_weights"):
            assert getattr(cls, method) is not getattr(Connectivity, method), f"{cls.__name__}.{method}"


def test_every_neuron_model_is_known_to_the_file_formats():
    from neurocomp.ir import MODELS
    from neurocomp.neurons import NEURONS
    assert all(MODELS[cls.__name__] is cls for cls in NEURONS)


def test_every_package_is_installed_by_pyproject():
    """``pip install .`` (not only ``-e``) ships every package folder: pyproject lists them all."""
    import tomli
    listed = set(tomli.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"neurocomp." + ".".join(p.parent.relative_to(ROOT / "neurocomp").parts) if p.parent != ROOT / "neurocomp"
             else "neurocomp" for p in (ROOT / "neurocomp").rglob("__init__.py")}
    found |= {"neurocomp.backends" + "".join("." + x for x in p.parent.relative_to(ROOT / "backends").parts)
              for p in (ROOT / "backends").rglob("__init__.py")}
    assert found <= listed, f"add to pyproject.toml [tool.setuptools] packages: {sorted(found - listed)}"
