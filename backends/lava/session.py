"""Lava's side of a :class:`neurocomp.Simulator`: one process graph kept alive between runs.

Lava 0.10 continues a started runtime on every ``run(RunSteps(k))``: neuron Vars, DelayDense buffers,
LearningDense traces, tags, weights and random streams, and the clock (``time_step``) all carry on.
The graph is lowered once, at the first run, with ring-buffer sources and probes of ``length`` steps
(:func:`~neurocomp.backends.lava.lower.lower` with ``length``): before each run of at most ``length``
steps the sources' ``data`` Vars get the run's inputs at columns ``(t - 1) % length``, after it the
probes' ``data`` Vars are read back at the same columns. A longer run is several Lava runs.

Closed loops (``on_step``): Lava 0.10 has no host callback inside a run, so the exact mechanism is
one Lava run per step: write the step's inputs into the sources' ``data`` Vars, ``run(RunSteps(1))``,
read the observed populations' spike probes. Each step costs a few Var messages and a run-start
handshake with every worker process (``benchmarks/sessions.py`` measures it). ``weights`` writes
set the LearningDense ``weights`` Var. The runtime is stopped by ``close()`` (the Simulator's context
manager) or, at the latest, when the session is garbage-collected.

Checkpoints (:meth:`LavaSession.state_dict`): every Var of the graph's neuron and connection processes
(``Var.get``: u, v, the thresholds and drive, the delay buffers ``a_buff``, ...) and the session's
clock. A loaded session builds a fresh graph at its first run and gives each of those Vars its saved
value as the initial one (``Var.init``) before Lava starts. The new runtime's ``time_step`` starts at
0 again, so the session keeps the step its graph started at (``origin``): the ring-buffer sources and
probes are indexed by Lava's own clock ``t - origin``, and a ``LIFReset`` population is built with its
``reset_offset`` shifted by ``-origin`` (Lava reads the offset from its process parameters, not a Var:
``(t - origin) % I == (offset - origin) % I`` exactly when ``t % I == offset % I``). Refused: networks
with learning rules (a LearningDense's epoch phase ``time_step % t_epoch`` and its random generators
are model attributes, not Vars, and a new runtime cannot be given them).
"""
from __future__ import annotations

import weakref
from dataclasses import replace

import numpy as np

from ...backend import network_of
from ...errors import BackendError, NeurocompError, ValidationError
from ...ir import Network
from ...semantics.inputs import InputSpec, check_input_rows, check_record, check_run, check_step_inputs, reward_rows
from ...semantics.synapses import graded_populations
from .run import DEFAULT_TIMEOUT_S, _report, _run_guarded, start_held, store_probe

#: Steps the ring-buffer sources and probes hold (a run longer than this is several Lava runs).
DEFAULT_LENGTH = 256


class LavaSession:
    """A live Lava process graph of one network; see :class:`neurocomp.simulator.Simulator`."""

    def __init__(self, compiled, who: str = "Simulator", timeout_s: float = DEFAULT_TIMEOUT_S,
                 probes=("spikes", "v"), length: int = DEFAULT_LENGTH):
        from ...backend import load_artifact
        from ...mapping.split import projection_synapse_cores
        self.network: Network = network_of(compiled, who)
        # a split mapping: each segment core's synapses become their own process into the soma's a_in
        art = compiled if compiled is self.network else load_artifact(compiled)
        self.segments = projection_synapse_cores(self.network, getattr(art, "tables", None))
        # populations held at rest until their onset (Network.onsets): a Lava run ends at each onset
        self.onsets = sorted({o for o in self.network.onsets().values() if o > 0})
        self.spec = InputSpec.of_network(self.network)
        self.timeout_s = timeout_s
        self.probes = tuple(dict.fromkeys(("spikes", *check_record(probes))))
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValidationError(f"length must be a positive integer (steps of the ring buffers), got {length!r}")
        self.length = length
        self.graded = set(graded_populations(self.network))
        self._low = None
        self._t = 0
        self._origin = 0                 # the step the live graph's time_step counts from (a loaded checkpoint)
        self._restore: dict | None = None  # saved Var values for the next graph (a loaded checkpoint)
        self._stopper = None
        self._pending_weights: dict = {}
        self._last = {p.name: np.zeros(p.size, np.int64) for p in self.network.neuron_populations}

    # ------------------------------------------------------------------ lifetime
    @property
    def t(self) -> int:
        return self._t

    def _build(self, rows: dict, steps: int):
        from .lower import lower
        first = {k: v[:min(steps, self.length)] for k, v in rows.items()}
        net = self.network if not self._origin else clock_shifted(self.network, self._origin)
        self._low = lower(net, min(steps, self.length), first, self.probes, segments=self.segments,
                          length=self.length)
        self._stopper = weakref.finalize(self, _stop, self._low.root)
        if self._restore is not None:
            vars_ = dict(_state_vars(self._low))
            for key, value in self._restore.items():
                var = vars_.get(key)
                if var is None or np.shape(value) != tuple(var.shape):
                    raise ValidationError(f"checkpoint: Lava Var '{key}' "
                                          + ("is not in this network's graph" if var is None else
                                             f"has shape {np.shape(value)}, the graph's is {tuple(var.shape)}")
                                          + "; load the checkpoint with the artifact it was saved from")
                var.init = np.asarray(value).astype(np.asarray(var.init).dtype)
            self._restore = None

    @property
    def lava_t(self) -> int:
        """Lava's own clock: the live graph's ``time_step`` (steps since it was built)."""
        return self._t - self._origin

    def close(self) -> None:
        if self._stopper is not None:
            self._stopper()
        self._low, self._stopper = None, None

    def reset(self) -> None:
        self.close()
        self._t = self._origin = 0
        self._restore = None
        self._pending_weights = {}
        self._last = {k: np.zeros_like(v) for k, v in self._last.items()}

    # ------------------------------------------------------------------ runs
    def run(self, steps: int, inputs=None, record=("spikes", "v"), on_step=None, populations=None, observe=None):
        steps, record, rows = check_run(self.spec, steps, inputs, record)
        missing = [r for r in record if r not in self.probes]
        if missing:
            raise ValidationError(f"record {missing}: this Lava simulator probes only {list(self.probes)} (its graph "
                                  f"is built once); open it with probes={list(dict.fromkeys(self.probes + tuple(missing)))}")
        pops = [p.name for p in self.network.neuron_populations]
        populations = pops if populations is None else list(populations)
        unknown = [p for p in populations if p not in pops]
        if unknown:
            raise ValidationError(f"populations: {unknown} are not neuron populations of the network (known: {pops})")
        if on_step is not None and inputs is not None:
            raise ValidationError("give a run either inputs or on_step (a closed loop computes each step's inputs), "
                                  "not both")
        loop = _LavaLoop(self, on_step, observe) if on_step is not None else None
        if not pops:                                   # nothing for Lava to run
            self._t += steps
            from ...result import Result
            return Result(report=_report(), steps=steps)
        try:
            out = self._run(steps, rows, loop)
        except NeurocompError:
            raise
        except Exception as exc:
            self.close()
            raise BackendError(f"Lava failed while running network '{self.network.name}': "
                               f"{type(exc).__name__}: {exc}") from exc
        return self._result(steps, record, populations, *out)

    def _run(self, steps: int, rows: dict, loop):
        recs: dict = {}
        weights_rec: dict = {}
        chunk = 1 if loop is not None else self.length
        done = 0
        while done < steps:
            k = min(chunk, steps - done)
            k = min(k, next((o - self._t for o in self.onsets if o > self._t), k))
            part = {name: r[done:done + k] for name, r in rows.items()}
            if loop is not None:
                part = loop.inputs(self._t)
            if self._low is None:
                self._build(part, k)
                self._apply_pending_weights()
            else:
                self._write_inputs(part, k)
            _run_guarded(self._low.root, k, self.timeout_s)
            self._t += k
            done += k
            start_held(self._low, self._t)
            if loop is not None:
                loop.observed()
            if loop is None or done == steps or done % self.length == 0:
                n_read = k if loop is None else (done - 1) % self.length + 1
                self._read(n_read, recs, weights_rec)
        for (pop, kind), parts in recs.items():
            if kind == "spikes":
                self._last[pop] = parts[-1][-1].astype(np.int64)
        return recs, weights_rec

    def _cols(self, k: int) -> np.ndarray:
        """Ring columns of the last ``k`` steps (``t - 1`` modulo the length)."""
        return (np.arange(self.lava_t - k, self.lava_t)) % self.length

    def _write_inputs(self, part: dict, k: int) -> None:
        cols = (np.arange(self.lava_t, self.lava_t + k)) % self.length
        low = self._low
        for name, src in low.sources.items():
            data = np.zeros((part[name].shape[1], self.length), np.int32)
            data[:, cols] = part[name].T
            src.data.set(data)
        for proj_name, ring in low.rewards.items():
            proj = self.network.projections[proj_name]
            r = reward_rows(part, proj, k)
            data = np.zeros((r.shape[1], self.length), np.int32)
            data[:, cols] = r.T
            ring.data.set(data)

    def _read(self, k: int, recs: dict, weights_rec: dict) -> None:
        cols = self._cols(k)
        for key, probe in self._low.monitors.items():
            data = np.asarray(probe.data.get())                    # [n, length]
            recs.setdefault(key, []).append(data[:, cols].T.astype(np.int64))
        for name, probe in self._low.weight_monitors.items():
            data = np.asarray(probe.data.get())                    # [n_post, n_pre, length]
            weights_rec.setdefault(name, []).append(np.moveaxis(data[..., cols], -1, 0).astype(np.int64))

    def _result(self, steps, record, populations, recs, weights_rec):
        from ...result import Result
        from ...semantics.reference import LEARNING_VARS, PER_STEP
        res = Result(report=_report(), steps=steps)
        for (pop, kind), parts in recs.items():
            if pop not in populations or kind not in record:
                continue
            store_probe(res, pop, kind, np.concatenate(parts), pop in self.graded)
        learning = self._low.learning if self._low is not None else {}
        if learning:
            res.report["learning"] = {}
            for name, proc in learning.items():
                res.weights[name] = np.asarray(proc.weights.get()).astype(np.int64)
                res.report["learning"][name] = {var: np.asarray(getattr(proc, var).get()).astype(np.int64)
                                                for var in LEARNING_VARS}
                if "weights" in record and name in weights_rec:
                    res.weights[name + PER_STEP] = np.concatenate(weights_rec[name])
        return res

    # ------------------------------------------------------------------ weights
    def weight_names(self) -> list[str]:
        return [p.name for p in self.network.projections.values() if p.learning is not None]

    def get_weights(self, name: str) -> np.ndarray:
        if name in self._pending_weights:
            return self._pending_weights[name].copy()
        if self._low is None:
            from ...semantics.learning import state_for_projection
            return state_for_projection(self.network.projections[name]).weights.copy()
        return np.asarray(self._low.learning[name].weights.get()).astype(np.int64)

    def set_weights(self, name: str, w: np.ndarray) -> None:
        self._pending_weights[name] = np.asarray(w, np.int64).copy()
        if self._low is not None:
            self._apply_pending_weights()

    def _apply_pending_weights(self) -> None:
        """Weights written before the graph exists become its processes' initial values; later ones are set
        on the live runtime."""
        for name, w in self._pending_weights.items():
            proc = self._low.learning[name]
            if proc.runtime is None:
                proc.weights.init = w.astype(np.int32)
            else:
                proc.weights.set(w.astype(np.int32))
        self._pending_weights = {}

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> tuple[dict, dict]:
        """``(arrays, meta)``: every Var of the neuron and connection processes (``Var.get``), the last
        spikes (a closed loop's first observation) and the clock; see the module docstring."""
        self._check_restorable()
        if self._low is not None:
            arrays = {f"var/{key}": np.asarray(var.get()) for key, var in _state_vars(self._low)}
        else:                                   # not built (yet): the initial values, or the checkpoint loaded
            arrays = {f"var/{k}": v for k, v in (self._restore or {}).items()}
        built = self._low is not None or self._restore is not None
        arrays.update({f"last/{k}": v for k, v in self._last.items()})
        return arrays, {"state_version": LAVA_STATE_VERSION, "t": self._t, "built": built}

    def load_state_dict(self, arrays: dict, meta: dict) -> None:
        self._check_restorable()
        if meta.get("state_version") != LAVA_STATE_VERSION:
            raise ValidationError(f"checkpoint: Lava state version {meta.get('state_version')}; this neurocomp reads "
                                  f"version {LAVA_STATE_VERSION}")
        self.reset()
        self._t = self._origin = int(meta["t"])
        self._restore = {k[4:]: v for k, v in arrays.items() if k.startswith("var/")} if meta.get("built") else None
        for name in self._last:
            if f"last/{name}" in arrays:
                self._last[name] = np.asarray(arrays[f"last/{name}"], np.int64)

    def _check_restorable(self) -> None:
        learning = self.weight_names()
        if learning:
            raise BackendError(f"checkpoints of a Lava simulator of a network with learning rules ({', '.join(learning)}) "
                               "are not supported: a LearningDense's epoch phase (time_step % t_epoch) and its random "
                               "generators (TraceRandom for the x and y traces, ConnVarRandom: numpy generators seeded "
                               "from rng_seed when the model starts, lava/magma/core/model/py/connection.py) are "
                               "attributes of its process model, not Vars, and a new Lava runtime cannot be given "
                               "them. The emulator is bit-exact with Lava: checkpoint an emulator Simulator "
                               "(backend='emulator') instead")


#: Layout of the Lava checkpoint arrays (bump when it changes).
LAVA_STATE_VERSION = 1


def _state_vars(low):
    """``(key, Var)`` of every neuron and connection process of a lowered graph (not the io sources and
    probes, which the session rewrites and reads run by run)."""
    procs = [(f"pop/{name}", proc) for name, proc in low.lif.items()]
    procs += [(f"proj/{name}", con.process) for name, con in low.connections.items()]
    procs += [(f"seg/{name}/{i}", con.process) for name, cons in low.segments.items() for i, con in enumerate(cons)]
    procs += [(f"anchor/{i}", proc) for i, proc in enumerate(low.anchors)]
    import scipy.sparse as sp
    for key, proc in procs:
        for var in proc.vars:
            if not sp.issparse(var.init):        # a Sparse process's weights: constant (no learning here)
                yield f"{key}/{var.name}", var


def clock_shifted(net, origin: int):
    """``net`` for a Lava graph whose time_step 0 is step ``origin``: LIFReset populations' ``reset_offset``
    shifted by ``-origin`` (Lava takes it from the process parameters), everything else the same."""
    pops = dict(net.populations)
    changed = False
    for name, pop in net.populations.items():
        model = pop.model
        if hasattr(model, "reset_offset") and hasattr(model, "reset_interval"):
            offset = (np.asarray(model.reset_offset, np.int64) - origin) % np.asarray(model.reset_interval, np.int64)
            pops[name] = replace(pop, model=replace(model, reset_offset=offset if offset.ndim else int(offset)))
            changed = True
    if not changed:
        return net
    import copy
    out = copy.copy(net)
    out.populations = pops
    return out


class _LavaLoop:
    """A closed loop on Lava: the observed populations' spike probes are read after every step."""

    def __init__(self, session: LavaSession, on_step, observe):
        if not callable(on_step):
            raise ValidationError(f"on_step must be a callable f(t, outputs) -> inputs, got {type(on_step).__name__}")
        pops = [p.name for p in session.network.neuron_populations]
        self.pops = pops if observe is None else list(observe)
        unknown = [p for p in self.pops if p not in pops]
        if unknown:
            raise ValidationError(f"observe: {unknown} are not neuron populations of the network (known: {pops})")
        self.s, self.f = session, on_step
        self.zero = check_input_rows(session.spec, 1, None)
        self.out = {p: session._last[p].astype(np.uint8 if p not in session.graded else np.int64) for p in self.pops}

    def inputs(self, t: int) -> dict:
        return check_step_inputs(self.s.spec, self.f(t, {k: v.copy() for k, v in self.out.items()}), t, self.zero)

    def observed(self) -> None:
        s = self.s
        col = (s.lava_t - 1) % s.length
        for p in self.pops:
            data = np.asarray(s._low.monitors[(p, "spikes")].data.get())[:, col]
            self.out[p] = data.astype(np.int64) if p in s.graded else data.astype(np.uint8)


def _stop(root) -> None:
    """Stop a Lava runtime if it was started (idempotent; also the session's finalizer)."""
    try:
        if root.runtime is not None and getattr(root.runtime, "_is_started", False):
            root.stop()
    except Exception:        # best effort at shutdown: the workers may be gone already
        pass
