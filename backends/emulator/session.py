"""The emulator's side of a :class:`neurocomp.Simulator`: one plan, one :class:`~.engine.EngineState`
carried from run to run (neuron state, delay rings, learning traces/tags/weights and their random
streams), the target's cost model applied to each run.

A run of N steps equals any split of it into shorter runs, bit for bit, because nothing of a run
restarts: the kernel's clock ``t`` continues (ring slots, learning epochs), only the run's own arrays
(inputs, recordings, counters) are indexed from 0 (``run_steps``' ``t_base``).

Short open-loop runs without learning (a Simulator stepping a few steps at a time) take
:class:`QuickRuns`: the same kernel call on the same state with the per-run Python work cut to what the
step needs (layout and checks once per (steps, record, populations), one numba pass for the inputs, the
report built when first read, the cost model's spike events listed only when it runs); anything else
takes ``engine.emulate_tables``. Both give the same recordings and reports (tests/test_simulator.py).
"""
from __future__ import annotations

import time
from functools import partial

import numpy as np

from ...backend import load_artifact
from ...errors import ValidationError
from ...lazyreport import LazyReport
from ...result import Result
from . import kernels as K
from . import learning as L
from .costmodel import carried_reads, estimate
from .engine import (_resolve, _segments, _synapse_positions, cost_report, emulate_tables, initial_state,
                     kernel_thread_count, learning_slots, make_plan, run_bytes, run_layout, run_report,
                     too_small_for_threads)
from .quickrun import QuickInputs, SpikeTrace, events_of, swap_threads
from ...semantics.inputs import SMALL_RUN_BYTES, check_record
from .workload import workload_metrics
from .zerofill import zeroed

#: Layout of the emulator's checkpoint arrays (bump when it changes).
STATE_VERSION = 1


class EmulatorSession:
    """A live emulation of one artifact; see :class:`neurocomp.simulator.Simulator` for the contract."""

    def __init__(self, compiled, who: str = "Simulator", progress: bool = False, counters: bool = True, memory_budget=None,
                 timing: bool | str = True, engine: str = "numba"):
        art = load_artifact(compiled)
        self.tables, self.spec, self.target, self.physical_core, self.learning = _resolve(art, who)
        self.network = art.network
        self.plan = make_plan(self.tables, copies=bool(self.learning), count_rows=counters)
        self.n_cores = int(self.tables.n_cores)
        self.engine = engine
        self.progress, self.counters, self.memory_budget = progress, counters, memory_budget
        from .backend import timing_mode
        self.timing_mode = timing_mode(timing)         # 'analytic', 'cycle' or None
        self.timing = (self.timing_mode is not None and counters and self.target is not None
                       and self.physical_core is not None)
        self.state = initial_state(self.tables, self.plan, self.learning, engine)
        self._costs = CostAccumulator(self)
        self._quick = QuickRuns(self)

    # ------------------------------------------------------------------ runs
    @property
    def t(self) -> int:
        return self.state.t

    def run(self, steps: int, inputs=None, record=("spikes", "v"), on_step=None, populations=None, observe=None):
        if on_step is None and self._quick.ok:
            res = self._quick.run(steps, inputs, record, populations)
            if res is not None:
                return res
        carried = self.state.last_src          # who sent at step t: their synapses are read at this run's step 1
        res = emulate_tables(self.tables, steps, inputs, record, self.progress, populations=populations,
                             counters=self.counters, events=self.timing, engine=self.engine,
                             memory_budget=self.memory_budget, plan=self.plan, learning=self.learning,
                             input_spec=self.spec, state=self.state, on_step=on_step, observe=observe)
        if self.counters:
            if self.timing:
                c = res.report["counters"]
                self._costs.add(res.steps, carried, res.report["spike_events"], c["neurons_active"],
                                c.get("learning_updates"), c.get("psum_out"), c.get("psum_in"))
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

    def keep_no_cost_totals(self) -> None:
        """A one-shot session (``EmulatorBackend.run``): each run's report has its own cost model and nobody
        reads :meth:`cost_totals`, so the runs' cost-model inputs are not kept."""
        self._costs.enabled = False

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
            if a.shape[1]:                       # (a kind no neuron runs: nothing to restore; a checkpoint of an
                _fill(a, arrays[f"S/{i}"], f"S/{i}")     # older neurocomp holds its unread rows over all N)
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
        #: False for a one-shot session (``EmulatorBackend.run``): each run's report has its own cost model and
        #: nobody reads the session's totals, so nothing is kept (a flush would cost the run a second time)
        self.enabled = True

    def add(self, steps: int, carried, events, active, learn, psum_out, psum_in) -> None:
        """One run's cost-model inputs; ``events``: its spike events ``{"step", "source"}``."""
        if not self.enabled:
            return
        self.parts.append((steps, carried, events, active, learn, psum_out, psum_in))
        self.rows += steps * self.s.n_cores + events["step"].size
        if self.rows > self.FLUSH_ROWS:
            self.flush()

    def add_quick(self, steps: int, carried, trace: tuple, per_core: np.ndarray) -> None:
        """A quick run's: ``trace``, the arguments of ``quickrun.event_list`` that list its spike events (its
        recorded spikes: listed when costed), and its counters ``[k, T, C]``."""
        if not self.enabled:
            return
        self.parts.append((steps, carried, trace, per_core))
        self.rows += steps * self.s.n_cores + (trace[0].size >> 4)          # ~16 bytes an event
        if self.rows > self.FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        parts, self.parts, self.rows = self.parts, [], 0
        if not parts:
            return
        s = self.s
        parts = [p if len(p) == 7 else (p[0], p[1], events_of(p[2]), p[3][K.C_ACTIVE], None, p[3][K.C_PSUM_OUT],
                                        p[3][K.C_PSUM_IN]) for p in parts]
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
        if not self.enabled:
            raise RuntimeError("cost totals of a one-shot emulation are not kept: read the run's report")
        self.flush()
        return self.energy, self.latency


class QuickRuns:
    """A session's short open-loop runs without learning (see the module docstring).

    Eligible: the numba engine, no learning projections, no onsets, no progress bar or memory budget, a
    run small enough to skip the budget check (``SMALL_RUN_BYTES``), recording any of spikes/v/u of
    populations without graded payloads or other state variables, and inputs that
    ``quickrun.QuickInputs`` takes (none, or the one spike input as a uint8/bool array). :meth:`run` returns None otherwise, and
    the caller takes the general path (which also gives the error messages).

    Per run: the input events (one numba pass), zeroed recordings and counters, the kernel call on the
    state's bound containers (on the kernel's thread count), the state's clock and last senders, the
    Result's views, a copy of the recorded spikes for the cost model, and a report filled when first
    read (``engine.run_report``, then the session's workload and cost fill), equal to the general path's."""

    #: Layouts kept (one per (steps, record, populations) seen; cleared past this many).
    MAX_LAYOUTS = 64

    def __init__(self, s: EmulatorSession):
        self.s = s
        self.ok = (s.engine == "numba" and not s.learning and not s.progress and s.memory_budget is None
                   and _segments(s.tables, s.plan, 1, 1)[0][2] is None)
        self.layouts: dict = {}
        self.inputs = QuickInputs(s.tables, s.spec)
        self.small = too_small_for_threads(s.tables)          # one thread, no load-average read per run
        self.n_sources = int(s.tables.n_sources)
        self.none = np.zeros((0, 0), np.int64)
        self.none_u8 = np.zeros((0, 0), np.uint8)
        self.no_state = np.zeros((0, 0, 0), np.int64)
        n_cnt = len(K.COUNTER_NAMES)
        self.no_counters = K.Counters(False, np.zeros((n_cnt, 0, 0), np.int64), np.zeros(0, np.int64))

    def layout(self, steps: int, record, populations):
        """What runs of ``steps`` steps recording ``record`` of ``populations`` need, or False (not eligible)."""
        s, tables = self.s, self.s.tables
        user = check_record(record)
        if not set(user) <= {"spikes", "v", "u"} \
                or steps * (tables.n_sources + 1) * (1 + 8 * len(user)) >= SMALL_RUN_BYTES:
            return False
        rec, rec_col, cols, k, user_cols, pay, extra, st_row, col_gid = run_layout(tables, s.plan, user, populations,
                                                                                   s.timing, [])
        if pay or extra or run_bytes(tables, s.plan, steps, rec, k, extra, s.counters, []) >= SMALL_RUN_BYTES:
            return False
        groups = [(g, i) for i, g in enumerate(("spikes", "v", "u")) if g in user]
        views = [(g, i, name, cols[name][0], cols[name][1]) for name in user_cols for g, i in groups]
        return ("spikes" in rec, "v" in rec, "u" in rec, k, rec_col, st_row, col_gid, views, "spikes" in user)

    def run(self, steps, inputs, record, populations):
        """One run as :meth:`EmulatorSession.run` without ``on_step``, or None (not eligible: the general path)."""
        if type(steps) is not int or steps < 1:
            return None
        try:
            key = (steps, record, populations)
            lay = self.layouts.get(key)
        except TypeError:                                      # a list: unhashable
            return None
        s = self.s
        tables = s.tables
        if lay is None:
            if len(self.layouts) >= self.MAX_LAYOUTS:
                self.layouts.clear()
            lay = self.layouts[key] = self.layout(steps, record, populations)
        if lay is False:
            return None
        events = self.inputs.events(steps, inputs)
        if events is None:
            return None
        do_s, do_v, do_u, k, rec_col, st_row, col_gid, views, shown = lay
        arrays = (zeroed((steps, k), np.uint8) if do_s else self.none_u8,
                  zeroed((steps, k), np.int64) if do_v else self.none,
                  zeroed((steps, k), np.int64) if do_u else self.none)
        recorder = K.Recorder(rec_col, arrays[0], arrays[1], arrays[2], self.none, do_s, do_v, do_u, False,
                              self.no_state, st_row)
        cnt = K.Counters(True, zeroed((len(K.COUNTER_NAMES), steps, s.n_cores), np.int64),
                         np.zeros(self.n_sources, np.int64)) if s.counters else self.no_counters
        st = s.state
        routes, psums, spiked = st.bound(tables, s.plan)
        t0 = st.t
        want = 1 if self.small else kernel_thread_count(tables)
        before = swap_threads(want)
        try:
            w0 = time.perf_counter()
            n = st.run_kernel(t0 + 1, t0 + steps, t0, st.neurons(tables, s.plan), s.plan.dendrites, st.work, routes,
                              events, recorder, cnt, spiked, psums, n_threads=want)
            wall = time.perf_counter() - w0
        finally:
            if before != want:
                swap_threads(before)
        st.t = t0 + steps
        carried = st.last_src                  # who sent at step t0: their synapses are read at this run's step 1
        st.last_src, st.last_val = spiked[:n].copy(), st.work.payload[:n].copy()
        res = Result(steps=steps)
        for group, i, name, a, b in views:
            getattr(res, group)[name] = arrays[i][:, a:b]
        trace = None
        if s.timing:                           # the spikes as recorded (a copy where the Result shows them: the
            spikes = arrays[0].copy() if shown else arrays[0]                                           # user's)
            trace = SpikeTrace(spikes, col_gid, events.in_ptr, events.in_src)
            s._costs.add_quick(steps, carried, trace, cnt.per_core)
        res.report = LazyReport({}, partial(self.fill, steps, wall, cnt, trace, carried))
        return res

    def fill(self, steps, wall, cnt, trace, carried, report) -> None:
        """A quick run's report, as the general path makes it (``run_report``, then the session's fill)."""
        s = self.s
        report.update(run_report(s.tables, steps, "numba", wall, cnt, trace))     # the cost model lists the
        if s.counters:                     # events only if it must (a trace means timing, so counters, on)
            s._filler(steps, carried)(report)


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
