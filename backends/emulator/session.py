"""The emulator's side of a :class:`neurocomp.Simulator`: one plan, one :class:`~.engine.EngineState`
carried from run to run (neuron state, delay rings, learning traces/tags/weights and their random
streams), the target's cost model applied to each run.

A run of N steps equals any split of it into shorter runs, bit for bit, because nothing of a run
restarts: the kernel's clock ``t`` continues (ring slots, learning epochs), only the run's own arrays
(inputs, recordings, counters) are indexed from 0 (``run_steps``' ``t_base``).
"""
from __future__ import annotations

import numpy as np

from ...backend import load_artifact
from ...errors import ValidationError
from ...lazyreport import LazyReport
from . import learning as L
from .costmodel import carried_reads, estimate
from .engine import (_resolve, _synapse_positions, cost_report, emulate_tables, initial_state, learning_slots,
                     make_plan)
from .workload import workload_metrics

#: Layout of the emulator's checkpoint arrays (bump when it changes).
STATE_VERSION = 1


class EmulatorSession:
    """A live emulation of one artifact; see :class:`neurocomp.simulator.Simulator` for the contract."""

    def __init__(self, compiled, who: str = "Simulator", progress: bool = False, counters: bool = True, memory_budget=None,
                 timing: bool | str = True, engine: str = "numba"):
        art = load_artifact(compiled)
        self.tables, self.spec, self.target, self.physical_core, self.learning = _resolve(art, who)
        self.network = art.network
        self.plan = make_plan(self.tables)
        self.engine = engine
        self.progress, self.counters, self.memory_budget = progress, counters, memory_budget
        from .backend import timing_mode
        self.timing_mode = timing_mode(timing)         # 'analytic', 'cycle' or None
        self.timing = (self.timing_mode is not None and counters and self.target is not None
                       and self.physical_core is not None)
        self.state = initial_state(self.tables, self.plan, self.learning, engine)
        self._costs = CostAccumulator(self)

    # ------------------------------------------------------------------ runs
    @property
    def t(self) -> int:
        return self.state.t

    def run(self, steps: int, inputs=None, record=("spikes", "v"), on_step=None, populations=None, observe=None):
        carried = self.state.last_src          # who sent at step t: their synapses are read at this run's step 1
        res = emulate_tables(self.tables, steps, inputs, record, self.progress, populations=populations,
                             counters=self.counters, events=self.timing, engine=self.engine,
                             memory_budget=self.memory_budget, plan=self.plan, learning=self.learning,
                             input_spec=self.spec, state=self.state, on_step=on_step, observe=observe)
        if self.counters:
            if self.timing:
                self._costs.add(res.report, res.steps, carried)
            res.report = LazyReport(res.report, self._filler(res.steps, carried))
        return res

    def _filler(self, steps: int, carried):
        """The report's costly part, computed when first read: NeuroBench workload metrics and the target's
        cost model (``cost_report``, charged the synaptic reads of the spikes ``carried`` in)."""
        def fill(report):
            report["workload"] = workload_metrics(self.tables, report["counters"], steps, self.network)
            if self.timing:
                cost_report(report, self.target, self.tables, self.physical_core, steps, self.timing_mode,
                            syn_ops_in=carried_reads(self.tables, carried))
        return fill

    def cost_totals(self) -> tuple:
        """``(energy J, latency s)`` of every run since the start, the last reset or load (None, None without
        the cost model); computed now from the counters accumulated run by run."""
        return self._costs.totals() if self.timing else (None, None)

    def reset(self) -> None:
        self.state = initial_state(self.tables, self.plan, self.learning, self.engine)
        self._costs = CostAccumulator(self)

    def close(self) -> None:
        pass

    # ------------------------------------------------------------------ weights
    def weight_names(self) -> list[str]:
        return [p.name for p in self.learning]

    def get_weights(self, name: str) -> np.ndarray:
        return self.state.learning[name].weights.copy()

    def set_weights(self, name: str, w: np.ndarray) -> None:
        """Write validated weights (:func:`check_weights`) into the learning state and the engine's copy."""
        st = self.state.learning[name]
        st.weights = np.asarray(w, np.int64).copy()
        slots = learning_slots(self.tables, self.tables.proj_names.index(name), *st.shape,
                               _synapse_positions(self.tables, self.engine == "numba"))
        L.scatter_weights(st, self.state.syn_weight, slots)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> tuple[dict, dict]:
        """``(arrays, meta)``: everything :meth:`load_state_dict` needs, as numpy arrays and JSON values."""
        st = self.state
        arrays = {f"S/{i}": a for i, a in enumerate(st.S)}
        if st.work is not None:
            arrays["ring"] = st.work.ring
        if st.arrive is not None:
            arrays["arrive"] = st.arrive
        if st.syn_weight is not None:
            arrays["syn_weight"] = st.syn_weight
        arrays["last_src"], arrays["last_val"] = st.last_src, st.last_val
        meta = {"state_version": STATE_VERSION, "engine": st.engine, "t": st.t, "learning": {}}
        for name, ls in st.learning.items():
            for var in ("weights", "tag_1", "tag_2", "x", "y", "tx", "ty"):
                arrays[f"learning/{name}/{var}"] = getattr(ls, var)
            meta["learning"][name] = {"rng": rng_state(ls), "counters": dict(ls.counters)}
        return arrays, meta

    def load_state_dict(self, arrays: dict, meta: dict) -> None:
        if meta.get("state_version") != STATE_VERSION or meta.get("engine") != self.engine:
            raise ValidationError(f"checkpoint: emulator state version {meta.get('state_version')} of the "
                                  f"{meta.get('engine')} engine; this emulator reads version {STATE_VERSION} of the "
                                  f"{self.engine} engine")
        st = initial_state(self.tables, self.plan, self.learning, self.engine)
        for i, a in enumerate(st.S):
            _fill(a, arrays[f"S/{i}"], f"S/{i}")
        if st.work is not None:
            _fill(st.work.ring, arrays["ring"], "ring")
        if st.arrive is not None:
            _fill(st.arrive, arrays["arrive"], "arrive")
        if st.syn_weight is not None:
            _fill(st.syn_weight, arrays["syn_weight"], "syn_weight")
        st.last_src, st.last_val = np.asarray(arrays["last_src"], np.int64), np.asarray(arrays["last_val"], np.int64)
        for name, ls in st.learning.items():
            for var in ("weights", "tag_1", "tag_2", "x", "y", "tx", "ty"):
                _fill(getattr(ls, var), arrays[f"learning/{name}/{var}"], f"learning/{name}/{var}")
            set_rng_state(ls, meta["learning"][name]["rng"])
            ls.counters = dict(meta["learning"][name]["counters"])
        st.t = int(meta["t"])
        self.state = st
        self._costs = CostAccumulator(self)


class CostAccumulator:
    """The cost model's inputs of the runs not yet costed (spike events, active neurons, learning updates,
    partial sums per step), appended run after run; :meth:`totals` costs them as one span, which equals
    the sum of the runs' own estimates (each charged the reads carried in from the run before; float
    rounding aside). Flushed into running sums past :data:`FLUSH_ROWS` rows, so memory stays bounded."""

    #: Steps x cores (plus events) held before they are costed.
    FLUSH_ROWS = 1 << 20

    def __init__(self, session: EmulatorSession):
        self.s = session
        self.energy, self.latency = 0.0, 0.0
        self.parts: list = []
        self.rows = 0

    def add(self, report: dict, steps: int, carried) -> None:
        c = report["counters"]
        self.parts.append((steps, carried, report["spike_events"], c["neurons_active"], c.get("learning_updates"),
                           c.get("psum_out"), c.get("psum_in")))
        self.rows += steps * int(self.s.tables.n_cores) + report["spike_events"]["step"].size
        if self.rows > self.FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        parts, self.parts, self.rows = self.parts, [], 0
        if not parts:
            return
        s = self.s
        if s.timing_mode != "analytic":        # the cycle model: run by run, as each run's report has it
            for steps, carried, ev, active, learn, po, pi in parts:
                rep = {"spike_events": ev, "counters": {"neurons_active": active, "learning_updates": learn,
                                                        "psum_out": po, "psum_in": pi}}
                rep["counters"] = {k: v for k, v in rep["counters"].items() if v is not None}
                cost_report(rep, s.target, s.tables, s.physical_core, steps, s.timing_mode,
                            syn_ops_in=carried_reads(s.tables, carried))
                self.energy += rep["energy_j"]["total"]
                self.latency += rep["latency_s"]["total"]
            return
        offsets = np.cumsum([0] + [p[0] for p in parts])
        cat = lambda i: None if parts[0][i] is None else np.concatenate([p[i] for p in parts])
        est = estimate(s.target, s.tables, np.asarray(s.physical_core),
                       np.concatenate([p[2]["step"] + o for p, o in zip(parts, offsets)]),
                       np.concatenate([p[2]["source"] for p in parts]), cat(3), int(offsets[-1]), learn_ops=cat(4),
                       psum_out=cat(5), psum_in=cat(6), syn_ops_in=carried_reads(s.tables, parts[0][1]))
        self.energy += est["energy_j"]["total"]
        self.latency += est["latency_s"]["total"]

    def totals(self) -> tuple[float, float]:
        self.flush()
        return self.energy, self.latency


def _fill(dst: np.ndarray, src, what: str) -> None:
    src = np.asarray(src)
    if src.shape != dst.shape:
        raise ValidationError(f"checkpoint: '{what}' has shape {src.shape}, this network needs {dst.shape}")
    dst[...] = src


def rng_state(ls) -> dict:
    """The five random streams of a LearningState (numpy bit-generator states and current draws), JSON."""
    return {"x": _trace_rng(ls.x_rng), "y": _trace_rng(ls.y_rng),
            "syn": {"state": ls.syn_rng._rng.bit_generator.state, "c": ls.syn_rng.c}}


def _trace_rng(r) -> dict:
    return {"dec": r._dec.bit_generator.state, "imp": r._imp.bit_generator.state, "rd": r.rd, "ri": r.ri}


def set_rng_state(ls, d: dict) -> None:
    for r, key in ((ls.x_rng, "x"), (ls.y_rng, "y")):
        r._dec.bit_generator.state = d[key]["dec"]
        r._imp.bit_generator.state = d[key]["imp"]
        r.rd, r.ri = float(d[key]["rd"]), int(d[key]["ri"])
    ls.syn_rng._rng.bit_generator.state = d["syn"]["state"]
    ls.syn_rng.c = float(d["syn"]["c"])
