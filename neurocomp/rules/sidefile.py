"""Attach learning rules to a network from a small TOML side file.

NIR has no learning rules, so a network loaded from NIR gets them here (or through the Python API:
``net.connect(..., learning=nc.rules.stdp(...))``). The file names projections of the network and
the rule for each; it may also add graph inputs for third factors (reward signals)::

    [inputs]                      # optional: extra graph inputs, name = shape
    reward = [7]

    [projections.fc1]             # a projection of the network, by name (quote names with dots)
    rule = "stdp"                 # stdp | hebbian | rstdp | custom
    a_plus = 0.25                 # any keyword of the constructor (nc.rules.stdp, ...)
    tau_plus = 10

    [projections.fc2]
    rule = "rstdp"
    third_factor = "reward"

    [projections."lif1.w_rec"]
    rule = "custom"               # the LearningRule fields themselves (Lava's grammar)
    dw = "2^-2*x1*y0 - 2^-2*y1*x0"
    x1_impulse = 16
    x1_tau = 10
"""
from __future__ import annotations

from pathlib import Path

from ..errors import NetworkFileError, ValidationError
from ..ir import LearningRule, Network
from .constructors import hebbian, rstdp, stdp
from .grammar import parse_rule

CONSTRUCTORS = {"stdp": stdp, "hebbian": hebbian, "rstdp": rstdp, "custom": LearningRule}


def read_rules_file(path) -> dict:
    """The parsed TOML document; NetworkFileError naming the file (and line) when it cannot be read."""
    from ..safeio import parse_toml, regular_file
    path = Path(path)
    regular_file(path, "rules file", NetworkFileError, fix="give the path of a TOML file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NetworkFileError(f"{path}: rules file cannot be read ({exc.strerror or exc})") from None
    doc = parse_toml(data, f"{path}", NetworkFileError)
    unknown = sorted(set(doc) - {"inputs", "projections"})
    if unknown:
        raise ValidationError(f"{path}: unknown section(s) {unknown}; a rules file has [inputs] and "
                              "[projections.<name>] sections")
    return doc


def attach_rules(net: Network, path) -> Network:
    """A new Network: ``net`` plus the inputs and learning rules of the side file at ``path``."""
    from ..safeio import reading
    path = Path(path)
    doc = read_rules_file(path)
    with reading(path, "rules file"):
        return _attach(net, path, doc)


def _attach(net: Network, path: Path, doc: dict) -> Network:
    new_inputs = doc.get("inputs", {})
    specs = doc.get("projections", {})
    if not isinstance(new_inputs, dict) or not isinstance(specs, dict):
        raise ValidationError(f"{path}: [inputs] and [projections.<name>] must be tables")
    unknown = sorted(set(specs) - set(net.projections))
    if unknown:
        raise ValidationError(f"{path}: projection(s) {unknown} are not in network '{net.name}' (its projections: "
                              f"{sorted(net.projections)}); `neurocomp info` lists them")
    rules = {name: _rule(path, name, spec) for name, spec in specs.items()}
    out = Network(net.name)
    for pop in net.populations.values():
        out.population(pop.name, pop.shape, pop.model)
    for name, shape in new_inputs.items():
        try:
            out.input(name, shape)
        except ValidationError as exc:
            raise ValidationError(f"{path}: [inputs] {name}: {exc}") from None
    for proj in net.projections.values():
        learning = rules.get(proj.name, proj.learning)
        try:
            out.connect(proj.source, proj.target, proj.connectivity, proj.delay, name=proj.name, learning=learning,
                        port=proj.port)
        except ValidationError as exc:
            raise ValidationError(f"{path}: [projections.{proj.name}]: {exc}") from None
    for name in net.outputs:
        out.output(name)
    out.metadata = dict(net.metadata, rules_file=path.name)
    return out


def _rule(path: Path, name: str, spec) -> LearningRule:
    where = f"{path}: [projections.{name}]"
    if not isinstance(spec, dict) or "rule" not in spec:
        raise ValidationError(f"{where}: give rule = one of {sorted(CONSTRUCTORS)}")
    params = dict(spec)
    kind = params.pop("rule")
    if not isinstance(kind, str) or kind not in CONSTRUCTORS:
        raise ValidationError(f"{where}: unknown rule {kind!r}; choose one of {sorted(CONSTRUCTORS)}")
    if kind == "custom":
        params.setdefault("name", name)
    try:
        rule = CONSTRUCTORS[kind](**params)
        parse_rule(rule)          # refuse a bad expression here, with its position and token
        return rule
    except TypeError as exc:
        raise ValidationError(f"{where}: {exc}; see the parameters of nc.rules.{kind}" if kind != "custom" else
                              f"{where}: {exc}; see the fields of neurocomp.LearningRule") from None
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc}") from None
