"""Run a lowered network with Lava's CPU simulation in fixed point and read the probes back in bulk.

The runtime is always stopped (try/finally), also when compilation or a process model fails, so no
Lava worker process outlives the call. Lava errors are re-raised as BackendError with the cause.

Why a watchdog: when one of Lava 0.10's process models raises, its runtime service waits forever
for the other models' replies (they block on the failed model's channel), so ``run`` never returns
and ``stop`` would hang too. The run therefore happens in a daemon thread while this thread polls
the worker processes: if one reports an exception, or ``timeout_s`` passes, the workers are
terminated and the error is raised. This touches Lava 0.10 internals (the runtime's
``_messaging_infrastructure`` actors), which is why lava-nc is pinned to 0.10.0.
"""
from __future__ import annotations

from ._mp import ensure_lava_importable

import multiprocessing as mp
import threading
import time
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from ...errors import BackendError, NeurocompError
from ...ir import Network
from ...result import Result
from ...semantics.synapses import graded_populations
from .lower import LoweredNetwork, lower

#: Default wall-clock limit of one Lava run (seconds); the watchdog ends a run that exceeds it.
DEFAULT_TIMEOUT_S = 900.0
NOTE = "Lava's CPU simulation gives no energy or latency estimates; use `neurocomp emulate` for those"


def lava_version() -> str:
    try:
        return version("lava-nc")
    except PackageNotFoundError:  # pragma: no cover - lava is a hard dependency
        return "unknown"


def _report() -> dict:
    return {"backend": "lava", "lava_version": lava_version(), "energy_j": None, "latency_s": None, "note": NOTE}


def _actors(root) -> list:
    infra = getattr(root.runtime, "_messaging_infrastructure", None) if root.runtime else None
    return list(getattr(infra, "actors", []) or [])


def _failures(root) -> list[str]:
    """Tracebacks (last line) that Lava's worker processes have reported so far."""
    out = []
    for actor in _actors(root):
        exc = actor.exception
        if exc:
            out.append(str(exc[1]).strip().splitlines()[-1])
    return out


def _kill(root) -> None:
    """Terminate Lava's worker processes and mark the runtime stopped, so nothing waits on them."""
    actors = _actors(root)
    for actor in actors:
        try:
            if actor.is_alive():
                actor.terminate()
        except ValueError:      # already closed
            pass
    for actor in actors:
        try:
            mp.Process.join(actor, 5)
            if actor.is_alive():
                actor.kill()
                mp.Process.join(actor, 5)
        except ValueError:
            pass
    rt = root.runtime
    if rt is not None:
        rt._is_running = False
        rt._is_started = False
        try:
            rt._messaging_infrastructure.stop()
            rt._watchdog_manager.stop()
        except Exception:       # best effort: the workers are gone already
            pass


def _run_guarded(root, steps: int, timeout_s: float) -> None:
    """``root.run(RunSteps(steps))`` in fixed point, watched (see the module docstring)."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg

    box: dict = {}

    def target():
        try:
            root.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        except BaseException as exc:   # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="neurocomp-lava-run", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while thread.is_alive():
        thread.join(0.05)
        if not thread.is_alive():
            break
        failures = _failures(root)
        if failures or time.monotonic() > deadline:
            _kill(root)
            why = ("a Lava process model raised: " + " | ".join(failures)) if failures else \
                f"the run did not finish within {timeout_s:g} s (raise timeout_s for long runs)"
            raise BackendError(f"Lava run stopped: {why}")
    if "error" in box:
        raise box["error"]


def start_held(low: LoweredNetwork, onset: int) -> None:
    """After step ``onset``: the populations held until then get their drive and initial state Vars."""
    for pop, values in low.onsets.get(onset, {}).items():
        proc = low.lif[pop]
        for var, value in values.items():
            getattr(proc, var).set(np.asarray(value).astype(np.int32))


def _run_onsets(low: LoweredNetwork, timeout_s: float) -> None:
    """Run all steps; with onsets (``Network.onsets``) in segments: run to an onset, set the held
    populations' drive (built at 0) and initial state Vars, continue. Exact (the same integer
    semantics as the reference), at the cost of one more ``run`` call and a few Var writes per
    distinct onset (each Var write is a round trip to the Lava runtime)."""
    done = 0
    for onset in sorted(low.onsets):
        _run_guarded(low.root, onset - done, timeout_s)
        done = onset
        start_held(low, onset)
    if low.steps > done:
        _run_guarded(low.root, low.steps - done, timeout_s)


def _read_learning(low: LoweredNetwork, result: Result) -> None:
    """Final weights (``result.weights[proj]``), per-step weights if monitored, tags/traces in
    ``report["learning"][proj]`` (the keys of ``neurocomp.semantics.reference.LEARNING_VARS``); runtime still up."""
    from ...semantics.reference import LEARNING_VARS, PER_STEP
    learning = low.learning
    if not learning:
        return
    result.report["learning"] = {}
    for name, proc in learning.items():
        result.weights[name] = np.asarray(proc.weights.get()).astype(np.int64)
        result.report["learning"][name] = {var: np.asarray(getattr(proc, var).get()).astype(np.int64)
                                           for var in LEARNING_VARS}
        mon = low.weight_monitors.get(name)
        if mon is not None:
            data = np.asarray(mon.get_data()[proc.name]["weights"])
            result.weights[name + PER_STEP] = data.reshape(low.steps, *result.weights[name].shape).astype(np.int64)


def store_probe(result: Result, pop: str, kind: str, data, graded: bool) -> None:
    """Put one probe's recording ``[T, n]`` into the Result: spikes (a graded population's payloads too),
    v/u, or another state variable."""
    data = np.asarray(data)
    if kind == "spikes" and graded:
        result.payloads[pop] = data.astype(np.int64)
        result.spikes[pop] = (data != 0).astype(np.uint8)
    elif kind == "spikes":
        result.spikes[pop] = data.astype(np.uint8)
    elif kind in ("v", "u"):
        getattr(result, kind)[pop] = data.astype(np.int64)
    else:
        result.state.setdefault(kind, {})[pop] = data.astype(np.int64)


def execute(low: LoweredNetwork, timeout_s: float = DEFAULT_TIMEOUT_S) -> Result:
    """Run ``low`` for its steps with ``Loihi2SimCfg(select_tag="fixed_pt")`` and collect the monitors.

    The runtime is stopped before this returns or raises; Lava failures become BackendError.
    """
    ensure_lava_importable()
    result = Result(report=_report(), steps=low.steps)
    if not low.lif:
        return result
    root = low.root
    try:
        _run_onsets(low, timeout_s)
        graded = set(graded_populations(low.network))
        for (pop, kind), mon in low.monitors.items():
            proc = low.lif[pop]
            var = "s_out" if kind == "spikes" else kind
            data = np.asarray(mon.get_data()[proc.name][var])          # [T, n] float64, exact for int32 values
            store_probe(result, pop, kind, data, pop in graded)
        _read_learning(low, result)
    except NeurocompError:
        raise
    except Exception as exc:
        raise BackendError(f"Lava failed while running network '{low.network.name}': "
                           f"{type(exc).__name__}: {exc}") from exc
    finally:
        root.stop()
    return result


def run_lava(net: Network, steps: int, inputs: dict | None = None, record=("spikes", "v"),
             timeout_s: float = DEFAULT_TIMEOUT_S, segments: dict | None = None) -> Result:
    """Lower ``net`` (an integer Network) to Lava processes, run ``steps`` steps, return a Result.

    ``inputs[name]``: 0/1 array [T, *shape] per graph input (step t sends row t-1; integers for a graded
    input); ``record`` any of "spikes", "v", "u", "weights" or a model's state variable ("sigma", ...).
    Spikes are uint8 [T, n], v/u int64 [T, n] (after the reset) for every non-input population that has
    them; graded populations' payloads int64 [T, n] in ``payloads``, other state variables in ``state``. Learning projections (LearningDense) return their final weights in
    ``weights[proj]`` (int64 [n_post, n_pre]; with "weights" recorded also ``weights[proj + ".per_step"]``)
    and final tags/traces in ``report["learning"][proj]``; a three-factor rule's reward input is
    ints 0..127 ([T], [T, 1] or [T, n_post]). ``timeout_s`` bounds the Lava run (the workers are
    killed past it). ``segments``: a split mapping's per-core synapse groups (see ``lower``).
    """
    return execute(lower(net, steps, inputs, record, segments), timeout_s)
