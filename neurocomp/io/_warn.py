"""What the readers share: warnings collected for ``net.metadata["warnings"]``."""
from __future__ import annotations

import warnings

from ..errors import NeurocompWarning


class CollectedWarnings:
    """Collects warnings for ``metadata["warnings"]`` and emits each as a NeurocompWarning."""

    def __init__(self):
        self.messages: list[str] = []

    def __call__(self, msg: str) -> None:
        self.messages.append(msg)
        warnings.warn(msg, NeurocompWarning, stacklevel=4)
