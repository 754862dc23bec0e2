"""The multicore functional emulator (DESIGN.md §6): executes a CompiledNetwork's per-core tables
step by step, bit-exact with Lava 0.10's fixed-point models, and counts per-core operations for the
timing/energy model.

``emulate(art, steps, inputs=None, record=("spikes", "v"), progress=False) -> Result``
"""
from .engine import emulate, emulate_batch, emulate_tables, make_plan, summarize_batch
from .kernels import COUNTER_NAMES, step_numpy

__all__ = ["emulate", "emulate_batch", "emulate_tables", "make_plan", "summarize_batch", "step_numpy", "COUNTER_NAMES"]
