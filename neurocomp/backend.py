"""The backend contract: every way of running a compiled network is a :class:`Backend` in one registry.

::

    from neurocomp.backend import get_backend
    result = get_backend("emulator").run(art, steps=100, inputs={"in": spikes}, record=("spikes", "v"))
    result = get_backend("lava").run(art, steps=100, inputs={"in": spikes})

``run(compiled, steps, inputs=None, record=("spikes", "v"), **options) -> Result`` for every backend:

* ``compiled``: a compiled artifact directory or a CompiledNetwork (the Lava backend also takes an
  integer Network);
* ``steps``, ``inputs``, ``record``: validated by :mod:`neurocomp.semantics.inputs` (the same
  function, so the same message, in every backend) before anything runs;
* ``options``: the backend's own keyword options (:attr:`Backend.options`, with their defaults);
  an unknown one is a BackendError that lists them;
* the Result has ``spikes``/``v``/``u`` ``[T, n]`` per neuron population (row t-1: after step t),
  learned weights in ``weights`` and what the backend measured in ``report``.

Registered: ``"emulator"`` (:mod:`neurocomp.backends.emulator.backend`) and ``"lava"``
(:mod:`neurocomp.backends.lava.backend`). The registry maps a name to ``"module:Class"`` until the
backend is first used, so registering (and ``import neurocomp``) never imports an implementation,
least of all Lava. ``neurocomp.emulate`` and ``neurocomp.deploy`` are thin wrappers over it, and the
registered backends' ``run`` is one run of a fresh session (:meth:`Backend.open`, what ``nc.Simulator``
drives).
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from importlib import import_module
from pathlib import Path

from .errors import BackendError
from .result import Result

#: backend name -> its class, or ``"module:Class"`` until first used (see :func:`register_backend`).
BACKENDS: dict[str, type | str] = {}


class Backend(ABC):
    """One way of running a compiled network. Subclasses set :attr:`options` and implement :meth:`run`."""

    #: the name the backend is registered under (set by :func:`register_backend`)
    name: str = ""
    #: keyword options ``run`` takes beyond the common arguments, with their defaults
    options: dict = {}

    @abstractmethod
    def run(self, compiled, steps: int, inputs: dict | None = None, record=("spikes", "v"), **options) -> Result:
        """Run ``compiled`` for ``steps`` steps driven by ``inputs``; record ``record``; return a Result."""

    def open(self, compiled, who: str = "Simulator", **options):
        """A live session of ``compiled`` that runs on from its state (what ``nc.Simulator`` drives):
        ``run(steps, inputs, record, on_step=, populations=, observe=)``, ``t``, ``reset()``, ``close()``,
        ``weight_names()``/``get_weights``/``set_weights``, ``state_dict()``/``load_state_dict``.
        ``who`` names the caller in messages. A backend without sessions says so."""
        raise BackendError(f"backend '{self.name}' has no live sessions (nc.Simulator); use its run() for "
                           "one-shot runs")

    def resolve_options(self, options: dict) -> dict:
        """``options`` completed with the defaults of :attr:`options`; a BackendError names unknown ones."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise BackendError(f"backend '{self.name}': unknown option(s) {unknown}; it takes "
                               f"{sorted(self.options) or 'none'}")
        return {**self.options, **options}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.name}'>"


def register_backend(name: str, path: str | None = None):
    """Register a backend under ``name``.

    As a class decorator (``@register_backend("mine")``) it registers the class and sets its ``name``.
    With ``path`` (``"package.module:Class"``) it registers lazily: the module is imported the first
    time :func:`get_backend` asks for ``name`` (its decorator then replaces the path by the class).
    """
    if not isinstance(name, str) or not name:
        raise BackendError(f"register_backend: the name must be a non-empty string, got {name!r}")
    if path is not None:
        if not isinstance(path, str) or ":" not in path:
            raise BackendError(f"register_backend('{name}'): path must be 'module:Class', got {path!r}")
        BACKENDS[name] = path
        return None

    def decorate(cls):
        if not (isinstance(cls, type) and issubclass(cls, Backend)):
            raise BackendError(f"register_backend('{name}'): {cls!r} is not a Backend subclass")
        cls.name = name
        BACKENDS[name] = cls
        return cls
    return decorate


def backend_names() -> list[str]:
    """The registered backend names, sorted."""
    return sorted(BACKENDS)


def get_backend(name: str, who: str = "backend") -> Backend:
    """A ready instance of the backend registered as ``name`` (importing it on first use).

    An unknown name is a BackendError that lists the registered ones (``who`` prefixes the message).
    """
    entry = BACKENDS.get(name) if isinstance(name, str) else None
    if entry is None:
        raise BackendError(f"{who}: unknown backend {name!r}; registered backends: {', '.join(backend_names())}")
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        cls = getattr(import_module(module), attr)
        BACKENDS[name] = cls
        if cls.name != name:        # registered by path only (no decorator): name it here
            cls.name = name
        entry = cls
    return entry()


# ----------------------------------------------------------------------------------- helpers for backends
def load_artifact(art):
    """``art`` itself, or the CompiledNetwork stored in the artifact directory ``art`` (a path)."""
    if isinstance(art, (str, os.PathLike, Path)):
        from .mapping.artifact import load_compiled
        return load_compiled(art)
    return art


def network_of(art, who: str):
    """The integer Network of ``art`` (an artifact directory, a CompiledNetwork, or a Network)."""
    from .ir import Network
    if isinstance(art, Network):
        return art
    net = getattr(load_artifact(art), "network", None)
    if not isinstance(net, Network):
        raise BackendError(f"{who}: expected a compiled artifact directory or CompiledNetwork, got "
                           f"{type(art).__name__}; compile the network first (neurocomp compile)")
    return net


register_backend("emulator", "neurocomp.backends.emulator.backend:EmulatorBackend")
register_backend("lava", "neurocomp.backends.lava.backend:LavaBackend")
