"""Message-level ("cycle") timing model of a run, beside the analytic estimate of ``costmodel``.

Every message of a step is simulated: each core's soma unit updates its neurons in order and injects one
message per route entry of a fired neuron into its router; messages, in injection order, follow the
X-then-Y route through router input buffers of finite depth (a full buffer back-pressures the link before
it and, at the injection port, stalls the sending soma), each link carries one message at a time for its
flit time, and the destination core's input unit reads each message's synapses, one message at a time;
partial sums of split dendrites are a second wave of messages. The step ends when every unit is idle (the
network is then drained), plus the barrier. ``spec.py`` states the semantics in plain Python (one step);
``kernel.py`` runs every step in numba, message for message the same;
``model.py`` turns a run into their inputs and their results into the report section; ``timeline.py``
draws one step.

Parameters: ``[latency]`` of the hardware model (per-op and per-hop latencies), its ``[timing]`` section
(buffer depth, flits per message, flit time, per-spike soma time; see hw_models/*.toml) and the barrier.
"""
from .model import TICK, cycle_report, params, simulate

__all__ = ["TICK", "cycle_report", "params", "simulate"]
