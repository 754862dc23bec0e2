"""Make Lava importable after something else fixed multiprocessing's start method.

Lava 0.10 calls ``mp.set_start_method('fork')`` (without ``force``) when its message infrastructure
module is imported. If the default context was already fixed in this process — tqdm does that when it
creates its lock for a progress bar — that import raises "context has already been set". Every entry
point of this backend calls :func:`ensure_lava_importable` before touching Lava.
"""
from __future__ import annotations

import multiprocessing as mp
import sys

_LAVA_MP = "lava.magma.runtime.message_infrastructure.multiprocessing"


def ensure_lava_importable() -> None:
    """Import Lava's multiprocessing module, letting its ``set_start_method('fork')`` take effect."""
    if _LAVA_MP in sys.modules or mp.get_start_method(allow_none=True) is None:
        return
    original = mp.set_start_method
    mp.set_start_method = lambda method, force=False: original(method, force=True)
    try:
        __import__(_LAVA_MP)
    finally:
        mp.set_start_method = original
