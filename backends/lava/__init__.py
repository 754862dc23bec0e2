"""Lava backend (DESIGN.md §7): lower an integer Network to lava-nc 0.10 processes and run them with
Lava's fixed-point CPU simulation (``Loihi2SimCfg(select_tag="fixed_pt")``).

Lava is imported only when a network is lowered, so importing this package stays cheap.
"""
from .lower import FACTORIES, LoweredConnection, LoweredNetwork, check_lowerable, lower
from .run import execute, lava_version, run_lava

__all__ = ["lower", "run_lava", "execute", "check_lowerable", "LoweredNetwork", "LoweredConnection", "FACTORIES",
           "lava_version"]
