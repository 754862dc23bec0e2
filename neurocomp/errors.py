"""One exception family for everything neurocomp refuses.

Every message names *what* is wrong, *where* (file, node, parameter, core) and *what to do*.
The CLI prints ``error: <message>`` and exits 2 for any of these, never a traceback.
"""
from __future__ import annotations


class NeurocompError(Exception):
    """Base of every error neurocomp raises on purpose."""


class NetworkFileError(NeurocompError):
    """A network file is missing, unreadable, truncated, of the wrong format or version."""


class ValidationError(NeurocompError, ValueError):
    """The network (IR) is inconsistent: shapes, names, parameters, edges, cycles."""


class UnsupportedError(NeurocompError):
    """The input is valid but has no meaning in the IR or on the chosen backend/target."""


class TargetError(NeurocompError):
    """A hardware model file is missing or malformed."""


class CapacityError(NeurocompError):
    """The network cannot be mapped onto the target under its per-core limits."""


class ArtifactError(NeurocompError):
    """A compiled artifact directory is missing, incomplete or from another schema version."""


class BackendError(NeurocompError):
    """A backend (emulator, Lava) cannot run the given artifact or inputs."""


class NeurocompWarning(UserWarning):
    """Something was filled in, relaxed or approximated; the message says what and why."""
